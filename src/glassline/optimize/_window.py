"""The process window of bounded surfaces over the design box: feasible shares and the desirability optimum.

**Shares.** On a grid of *points* per used factor: the share where the *predictions* meet every bound
(``predicted_feasible_fraction``) and the share where the *whole interval* does (``feasible_fraction``, the
lower end for a lower bound, the upper end for an upper bound); a grid point outside the validity domain
meets nothing.

**Recommended setting.** The grid point of the interval-feasible region (else the predicted-feasible one)
with the largest worst-case margin, each margin in its interval half-widths (or in the response's spread
when no interval is known).

**Desirability** (Derringer & Suich 1980, as in JMP's profiler). Each bound gets a one-sided desirability of
its conservative end e (the interval's lower end for a lower bound L, upper end for an upper bound U, the
prediction with ``interval=False``): for a lower bound d = 0 below L, ((e − L)/(T − L))^s between L and
T, 1 above T, with T the best e over the box (the highest; the lowest for an upper bound, mirrored). The
overall desirability is the geometric mean of the d's. Its optimum is the best grid point refined by
Powell's method inside the box and the domain; stated with each bound's prediction, interval, d and the
trade-off: how far each response is from the best the box allows.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.optimize import minimize

from glassline.exceptions import SpecError
from glassline.optimize._problem import BoolArray, FloatArray, Space, Target

__all__ = ["DesignWindow", "design_window"]


@dataclass
class DesignWindow:
    """The window's grid (``points`` rows over ``factors``), each bound's predictions and verdicts, the shares,
    the recommended grid point and the desirability optimum."""

    targets: list[Target]
    factors: tuple[str, ...]
    points: FloatArray  # (n, len(factors))
    predictions: list[FloatArray]  # per target (n,)
    lower: list[FloatArray]
    upper: list[FloatArray]
    meets: list[BoolArray]  # whole interval meets the bound
    predicted_meets: list[BoolArray]
    inside: BoolArray
    margin: FloatArray  # worst-case margin, in interval half-widths
    recommended: int | None  # row of points
    region: str  # "feasible" or "predicted_feasible"
    desirability: dict[str, Any] | None
    notes: list[str] = field(default_factory=list)

    @property
    def feasible(self) -> BoolArray:
        return np.asarray(np.logical_and.reduce(self.meets) & self.inside, dtype=bool)

    @property
    def predicted_feasible(self) -> BoolArray:
        return np.asarray(np.logical_and.reduce(self.predicted_meets) & self.inside, dtype=bool)

    @property
    def feasible_fraction(self) -> float:
        return float(self.feasible.mean()) if len(self.points) else 0.0

    @property
    def predicted_feasible_fraction(self) -> float:
        return float(self.predicted_feasible.mean()) if len(self.points) else 0.0


def _scale(target: Target) -> float:
    h = target.surface.half_width
    if h:
        return float(h)
    spread = target.surface.spread
    return float(spread) if spread else 1.0


def _ends(targets: Sequence[Target], space: Space, X: FloatArray, interval: bool) -> tuple[list[FloatArray], ...]:
    preds, lows, highs = [], [], []
    for t in targets:
        cols = [space.index(n, f"input of {t.surface.name!r}") for n in t.surface.inputs]
        p = t.surface.values(X[:, cols])
        h = (t.surface.half_width or 0.0) if interval else 0.0
        preds.append(p)
        lows.append(p - h)
        highs.append(p + h)
    return preds, lows, highs


def _conservative(t: Target, low: FloatArray, high: FloatArray) -> FloatArray:
    return low if t.low is not None else high


def _desirabilities(
    targets: Sequence[Target], ends: list[FloatArray], best: list[float], exponent: float
) -> tuple[FloatArray, list[FloatArray]]:
    ds = []
    for t, e, T in zip(targets, ends, best, strict=True):
        if t.low is not None:
            L = t.low
            span = T - L
            d = np.where(e >= L, 1.0, 0.0) if span <= 0 else np.clip((e - L) / span, 0.0, 1.0) ** exponent
        else:
            U = float(t.high)  # type: ignore[arg-type]
            span = U - T
            d = np.where(e <= U, 1.0, 0.0) if span <= 0 else np.clip((U - e) / span, 0.0, 1.0) ** exponent
        ds.append(np.asarray(np.where(np.isfinite(e), d, 0.0), dtype=float))
    overall = np.prod(np.vstack(ds), axis=0) ** (1.0 / len(ds))
    return np.asarray(overall, dtype=float), ds


def design_window(
    targets: Sequence[Target],
    space: Space,
    *,
    points: int = 21,
    interval: bool = True,
    exponent: float = 1.0,
) -> DesignWindow:
    """The process window of *targets* (one bound each; a surface may carry several) over *space*.

    Parameters
    ----------
    targets
        The bounds; each target should bound one side (a two-sided target counts as both sides).
    space
        The design box (and validity domain, if any) over the factors the surfaces use.
    points
        Grid points per used factor.
    interval
        Whether the desirability uses the interval's conservative end (True) or the prediction.
    exponent
        The desirability's shape s (1: linear).
    """
    if not targets:
        raise SpecError('process window: give at least one requirement, e.g. "adhesion_strength>=400"')
    if points < 2:
        raise SpecError(f"process window: points must be at least 2, got {points}")
    one_sided: list[Target] = []
    for t in targets:
        if t.low is not None and t.high is not None:
            one_sided += [Target(t.surface, low=t.low), Target(t.surface, high=t.high)]
        else:
            one_sided.append(t)
    used_names = {n for t in one_sided for n in t.surface.inputs}
    used = [j for j, name in enumerate(space.factors) if name in used_names]
    factors = tuple(space.factors[j] for j in used)
    axes = [np.linspace(space.low[j], space.high[j], points) for j in used]
    sub = Space(
        factors,
        tuple(space.low[j] for j in used),
        tuple(space.high[j] for j in used),
        tuple(space.units[j] for j in used),
        None,
        space.domain,
    )
    X = np.asarray(list(itertools.product(*axes)), dtype=float).reshape(-1, len(used))
    inside = np.ones(len(X), dtype=bool)
    if space.inside is not None:
        full = np.repeat(0.5 * (space.lows + space.highs)[None, :], len(X), axis=0)
        full[:, used] = X
        inside = space.contains(full)
    preds, lows, highs = _ends(one_sided, sub, X, True)
    meets, predicted, margins = [], [], []
    for t, p, lo, hi in zip(one_sided, preds, lows, highs, strict=True):
        scale = _scale(t)
        if t.low is not None:
            margin = lo - t.low
            point = p - t.low
        else:
            margin = t.high - hi  # type: ignore[operator]
            point = t.high - p  # type: ignore[operator]
        meets.append(np.asarray(margin >= 0, dtype=bool))
        predicted.append(np.asarray(point >= 0, dtype=bool))
        margins.append(margin / scale)
    margin = np.min(np.column_stack(margins), axis=1)
    window = DesignWindow(one_sided, factors, X, preds, lows, highs, meets, predicted, inside, margin, None, "", None)
    region = "feasible" if window.feasible.any() else "predicted_feasible"
    mask = window.feasible if region == "feasible" else window.predicted_feasible
    if mask.any():
        candidates = np.flatnonzero(mask)
        window.recommended = int(candidates[np.argmax(margin[candidates])])
        window.region = region
    else:
        window.notes.append("no setting in the design space meets every requirement, not even by the predictions")
    window.desirability = _optimum(one_sided, sub, space, used, X, inside, interval, exponent)
    return window


def _optimum(
    targets: list[Target],
    sub: Space,
    space: Space,
    used: list[int],
    X: FloatArray,
    inside: BoolArray,
    interval: bool,
    exponent: float,
) -> dict[str, Any]:
    _, lows, highs = _ends(targets, sub, X, interval)
    ends = [_conservative(t, lo, hi) for t, lo, hi in zip(targets, lows, highs, strict=True)]
    # T: the best conservative end over the (domain part of the) box
    pool = inside if inside.any() else np.ones(len(X), dtype=bool)
    best = [
        float(np.nanmax(e[pool]) if t.low is not None else np.nanmin(e[pool]))
        for t, e in zip(targets, ends, strict=True)
    ]
    overall, _ = _desirabilities(targets, ends, best, exponent)
    overall = np.where(inside, overall, -1.0)
    start = int(np.argmax(overall))
    x_best, d_best = X[start].copy(), float(overall[start])

    def contains(x: FloatArray) -> bool:
        if space.inside is None:
            return bool(sub.in_box(x[None, :])[0])
        full = 0.5 * (space.lows + space.highs)
        full[used] = x
        return bool(space.contains(full[None, :])[0])

    def negative(x: FloatArray) -> float:
        x = np.clip(x, sub.lows, sub.highs)
        if not contains(x):
            return 1.0
        _, lo, hi = _ends(targets, sub, x[None, :], interval)
        e = [_conservative(t, a, b) for t, a, b in zip(targets, lo, hi, strict=True)]
        value, _ = _desirabilities(targets, e, best, exponent)
        return -float(value[0])

    if d_best > 0 and len(used):
        result = minimize(
            negative,
            x_best,
            method="Powell",
            bounds=list(zip(sub.lows, sub.highs, strict=True)),
            options={"xtol": 1e-6, "ftol": 1e-9, "maxfev": 2000},
        )
        x = np.clip(np.asarray(result.x, dtype=float), sub.lows, sub.highs)
        if -negative(x) > d_best:
            x_best, d_best = x, -negative(x)
    p, lo, hi = _ends(targets, sub, x_best[None, :], True)
    e_at = [
        _conservative(t, a, b)
        for t, a, b in zip(targets, *_ends(targets, sub, x_best[None, :], interval)[1:], strict=True)
    ]
    _, ds = _desirabilities(targets, e_at, best, exponent)
    rows = []
    for t, pv, lv, hv, d, T in zip(targets, p, lo, hi, ds, best, strict=True):
        bound = t.low if t.low is not None else t.high
        rows.append(
            {
                "requirement": f"{t.surface.name} {'>=' if t.low is not None else '<='} {bound:g}",
                "response": t.surface.name,
                "predicted": float(pv[0]),
                "lower": float(lv[0]) if t.surface.half_width is not None else None,
                "upper": float(hv[0]) if t.surface.half_width is not None else None,
                "level": t.surface.level,
                "desirability": float(d[0]),
                "best_in_box": T,
                "trade_off": (T - float((lv if t.low is not None else hv)[0] if interval else pv[0]))
                * (1.0 if t.low is not None else -1.0),
            }
        )
    return {
        "method": "Derringer–Suich desirability (geometric mean of one-sided desirabilities of each bound's "
        + ("interval end" if interval else "prediction")
        + f", exponent {exponent:g}, target = the best over the box), grid optimum refined by Powell's method",
        "setting": {name: float(v) for name, v in zip(sub.factors, x_best, strict=True)},
        "desirability": d_best if d_best >= 0 else 0.0,
        "responses": rows,
    }
