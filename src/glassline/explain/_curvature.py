"""Curvature evidence: does a response peak (or dip) inside an input's tested range, whatever the lead model?

A straight line can win grouped cross-validation over every quadratic model while the response is curved:
a quadratic in all inputs has too many terms for 15–30 configurations and extrapolates badly onto the
held-out corner configurations, so the lead model is linear and its shapes can only be monotone. The shape
of a factor is therefore judged from the data's own curvature evidence as well as from the lead model.

:func:`curvature_test` tests one input *x* of the rows it is given (:func:`with_curvature`: every row of the
lead model's target × scenario):

1. **Configuration means.** Rows are averaged per configuration (the study's ``[data] group``; without it
   each row is its own configuration): the configuration is the unit the design varies, and its replicates
   (specimens, cells) are sub-samples of one run. Counted row by row, k replicates would shrink every
   standard error by about √k while the run-to-run scatter stays (the same reason the reduced quadratic
   eliminates terms on run means, :mod:`glassline.models._rsm`); where the pure-error lack-of-fit test
   rejects every model, that scatter is exactly what the replicates do not show.
2. **The reduced quadratic on the means.** The full quadratic in the fit's inputs (coded to [−1, 1] over
   their range) is pruned by the rsm family's hierarchical backward elimination at its α-out
   (:data:`glassline.models._rsm.DEFAULT_ALPHA`, 0.1, Design-Expert's and JMP's), then fitted by OLS on the
   G means. The test applies with at least :data:`MIN_CURVATURE_LEVELS` distinct values of x and
   :data:`MIN_CURVATURE_DF` residual degrees of freedom in the reduced model.
3. **The rule.** x has an interior ``optimum`` (``minimum``) when the reduced model keeps x², its t-test has
   p < :data:`CURVATURE_ALPHA`, and the vertex of the model's partial dependence on x (a parabola: averaged
   over the configurations, an interaction x·w adds to its slope) is a maximum (minimum) inside the tested
   range. The location is that vertex.
4. **Its uncertainty.** Configurations are resampled with replacement and the whole procedure (elimination
   included, so the interval carries the term selection's uncertainty) is refit; each refit's arg-max
   (arg-min) of its parabola over the range is taken (a range end when the refit has no interior vertex of
   that kind). The central :data:`~glassline.explain._claims.CI_LEVEL` interval of these locations is the
   location's CI; ``interior_share`` is the share of refits with an interior vertex. A claim with this shape
   is *stated* only when the CI lies strictly inside the range (:func:`curvature_confirmed`; with the usual
   grading of :mod:`glassline.explain._claims`), else it is hedged.

Each criterion guards against a different false optimum: the t-test against noise, the vertex test against a
significant but monotone bend (a parabola whose vertex lies beyond the range), the bootstrap (for a stated
claim) against a bend carried by one or two configurations. ``tests/explain/test_curvature_rule.py`` measures the rule's
false-optimum rate on seeded studies whose truth is linear, and that it finds a true interior optimum.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats

from glassline.models import Fit, FitKey
from glassline.models._rsm import DEFAULT_ALPHA, backward_eliminate, quadratic_powers

__all__ = [
    "CURVATURE_ALPHA",
    "CURVATURE_COLUMNS",
    "MIN_CURVATURE_DF",
    "MIN_CURVATURE_LEVELS",
    "Curvature",
    "curvature_confirmed",
    "curvature_test",
    "with_curvature",
]

#: Level of the square's t-test on the configuration means: 0.05, the usual test level (the same as the
#: lack-of-fit test's).
CURVATURE_ALPHA = 0.05
#: Residual degrees of freedom the curvature model must keep on the configuration means: 5, the spare
#: configurations the lack-of-fit test asks for (:data:`glassline.models._lack_of_fit.MIN_LACK_OF_FIT_DF`).
MIN_CURVATURE_DF = 5
#: Distinct values of the input below which no square is fitted: a parabola through two levels is any parabola.
MIN_CURVATURE_LEVELS = 3

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Curvature:
    """The curvature test of one input (see the module docstring); ``shape`` is ``none`` unless the rule holds."""

    factor: str
    shape: Literal["optimum", "minimum", "none"]
    #: p-value of the square's t-test on the configuration means (NaN when the test does not apply)
    p: float = math.nan
    #: coefficient of the coded square, in the response's unit (negative: bent down)
    coefficient: float = math.nan
    configurations: int = 0
    df: int = 0
    #: the fit's vertex (in the input's unit) and its bootstrap CI
    location: float = math.nan
    ci: tuple[float, float] = (math.nan, math.nan)
    #: share of refits with an interior vertex of the fit's kind
    interior_share: float = math.nan
    n_boot: int = 0
    #: why the test does not apply, or which criterion failed ("" when the rule holds; the CI is then still
    #: to be read: :func:`curvature_confirmed`)
    reason: str = ""


def _terms(z: FloatArray, powers: npt.NDArray[np.int64]) -> FloatArray:
    """The full quadratic's columns of coded inputs *z* (rows × inputs), in ``quadratic_powers`` order."""
    return np.column_stack([np.prod(z**row, axis=1) for row in powers])


@dataclass(frozen=True)
class _Surface:
    """A reduced quadratic on configuration means: its coefficients (0 for eliminated terms), p-values, df."""

    coef: FloatArray
    intercept: float
    pvalues: FloatArray
    kept: npt.NDArray[np.bool_]
    df: int


def _surface(Z: FloatArray, y: FloatArray, alpha: float) -> _Surface | None:
    kept = backward_eliminate(Z, y, alpha)
    columns = np.flatnonzero(kept)
    design = np.column_stack([np.ones(len(y)), Z[:, columns]])
    df = len(y) - design.shape[1]
    solution, _, rank, _ = np.linalg.lstsq(design, y, rcond=None)
    if rank < design.shape[1] or df < 1:
        return None
    residual = y - design @ solution
    scale = float(residual @ residual) / df
    variance = np.diag(np.linalg.pinv(design.T @ design)) * scale
    with np.errstate(divide="ignore", invalid="ignore"):
        t = solution / np.sqrt(variance)
    pvalues = np.ones(Z.shape[1])
    pvalues[columns] = np.nan_to_num(2 * stats.t.sf(np.abs(t[1:]), df), nan=1.0)
    coef = np.zeros(Z.shape[1])
    coef[columns] = solution[1:]
    return _Surface(coef, float(solution[0]), pvalues, kept, df)


def _profile(surface: _Surface, powers: npt.NDArray[np.int64], j: int, z: FloatArray) -> tuple[float, float]:
    """(b, c) of the surface's partial dependence b·x + c·x² on coded input *j*, averaged over the rows *z*."""
    b = c = 0.0
    for t, row in enumerate(powers):
        if row[j] == 0 or surface.coef[t] == 0:
            continue
        if row[j] == 2:
            c += float(surface.coef[t])
        elif row.sum() == 1:
            b += float(surface.coef[t])
        else:  # an interaction x_j·x_k: its average over the rows is linear in x_j
            k = int(np.flatnonzero((row > 0) & (np.arange(len(row)) != j))[0])
            b += float(surface.coef[t]) * float(z[:, k].mean())
    return b, c


def _extreme(b: float, c: float, sign: float) -> tuple[float, bool]:
    """The coded location in [−1, 1] of the largest value of sign·(b z + c z²), and whether it is an interior vertex."""
    if sign * c < 0:
        vertex = -b / (2.0 * c)
        if -1.0 < vertex < 1.0:
            return vertex, True
    ends = np.array([-1.0, 1.0])
    values = sign * (b * ends + c * ends**2)
    return float(ends[int(np.argmax(values))]), False


def curvature_test(
    X: pd.DataFrame,
    y: pd.Series,
    groups: pd.Series | None,
    factor: str,
    bounds: tuple[float, float],
    *,
    n_boot: int,
    seed: int,
    level: float = 0.9,
    alpha: float = CURVATURE_ALPHA,
) -> Curvature:
    """The curvature test of input *factor* of the rows *X* (inputs) and *y* (see the module docstring).

    *groups* maps each row (by *X*'s index) to its configuration (None or missing: the row is its own);
    *bounds*: the tested range of *factor*; *n_boot* refits over configurations, seeded by *seed*.
    """
    low, high = float(bounds[0]), float(bounds[1])
    labels = (groups.reindex(X.index) if groups is not None else pd.Series(np.nan, index=X.index, dtype=object)).astype(
        object
    )
    labels = labels.where(labels.notna(), pd.Series(X.index.astype(str), index=X.index))
    frame = X.astype(float).assign(_y=np.asarray(y, dtype=float))
    means = frame.groupby(labels.astype(str).to_numpy(), sort=True).mean()
    inputs = list(X.columns)
    j = inputs.index(factor)
    x = means[inputs].to_numpy(dtype=float)
    target = means["_y"].to_numpy(dtype=float)
    g = len(means)
    if not high > low:
        return Curvature(factor, "none", configurations=g, reason="the tested range is a single value")
    levels = np.unique(np.round((x[:, j] - low) / (high - low), 9)).size
    if levels < MIN_CURVATURE_LEVELS:
        return Curvature(factor, "none", configurations=g, reason=f"{levels} distinct values of the input")
    lows, highs = x.min(axis=0), x.max(axis=0)
    centre = np.where(highs > lows, (lows + highs) / 2, lows)
    half = np.where(highs > lows, (highs - lows) / 2, 1.0)
    centre[j], half[j] = (low + high) / 2, (high - low) / 2
    z = (x - centre) / half
    powers = quadratic_powers(len(inputs))
    square = int(np.flatnonzero(powers[:, j] == 2)[0])
    Z = _terms(z, powers)
    surface = _surface(Z, target, DEFAULT_ALPHA)
    if surface is None:
        return Curvature(factor, "none", configurations=g, reason="the reduced quadratic leaves no residual df")
    if surface.df < MIN_CURVATURE_DF:
        return Curvature(
            factor, "none", configurations=g, df=surface.df, reason=f"{surface.df} residual df on {g} configurations"
        )
    b, c = _profile(surface, powers, j, z)
    p = float(surface.pvalues[square]) if surface.kept[square] else 1.0
    sign = 1.0 if c <= 0 else -1.0  # the extremum sought: the maximum of a parabola bent down, else the minimum
    vertex, interior = _extreme(b, c, sign)

    def unit(coded: float) -> float:
        return float(centre[j] + coded * half[j])

    rng = np.random.default_rng(seed)
    places = np.empty(n_boot)
    inside = np.zeros(n_boot, dtype=bool)
    for r in range(n_boot):
        chosen = rng.integers(0, g, g)
        refit = _surface(Z[chosen], target[chosen], DEFAULT_ALPHA)
        if refit is None:
            places[r] = low  # a refit that cannot place a parabola counts against an interior extremum
            continue
        coded, inside[r] = _extreme(*_profile(refit, powers, j, z[chosen]), sign)
        places[r] = unit(coded)
    tail = (1.0 - level) / 2.0
    ci = (float(np.quantile(places, tail)), float(np.quantile(places, 1.0 - tail))) if n_boot else (math.nan, math.nan)
    found = Curvature(
        factor,
        "optimum" if sign > 0 else "minimum",
        p=p,
        coefficient=c,
        configurations=g,
        df=surface.df,
        location=unit(vertex),
        ci=ci,
        interior_share=float(inside.mean()) if n_boot else math.nan,
        n_boot=n_boot,
    )
    if not surface.kept[square]:
        reason = f"the reduced quadratic eliminates the square (p > {DEFAULT_ALPHA:g})"
    elif not p < alpha:
        reason = f"the square's p = {p:.2g} ≥ {alpha:g}"
    elif not interior:
        reason = "the parabola's vertex lies outside the tested range"
    else:
        return found
    return dataclasses.replace(found, shape="none", reason=reason)


#: Columns :func:`with_curvature` adds to ``uncertainty.csv`` (NaN / "" on the rows it does not test).
CURVATURE_COLUMNS = ["shape_source", "curvature_p", "curvature_share"]


def with_curvature(
    uncertainty: pd.DataFrame,
    lead: Mapping[str, Fit],
    groups: Mapping[FitKey, pd.Series | None],
    bounds: Mapping[str, tuple[float, float]],
    *,
    n_boot: int,
    seed: int,
    level: float = 0.9,
) -> pd.DataFrame:
    """*uncertainty* with the curvature test (:func:`curvature_test`) of every input of each target's lead model.

    The test runs on every row of the lead fit (its training and test rows of the paper split: the test is of
    the study's data, not of the model). Its p-value and interior share land in ``curvature_p`` and
    ``curvature_share`` of the lead model's rows. Where the rule finds an interior optimum (minimum) and the
    model's own curve does not show one, the row's ``shape``, ``optimum``, ``optimum_ci_low`` and
    ``optimum_ci_high`` become the test's and ``shape_source`` says ``curvature`` (else ``model``).
    """
    out = uncertainty.copy()
    for column in CURVATURE_COLUMNS:
        out[column] = "" if column == "shape_source" else math.nan
    if out.empty:
        return out
    out["shape_source"] = "model"
    for target, fit in lead.items():
        mine = (out["target"] == target) & (out["scenario"] == fit.scenario) & (out["family"] == fit.family)
        if not mine.any():
            continue
        X = pd.concat([fit.X_train, fit.X_test]).loc[:, list(fit.inputs)]
        y = pd.concat([fit.y_train, fit.y_test])
        X = X[~X.index.duplicated()]
        y = y[~y.index.duplicated()]
        for name in fit.inputs:
            row = mine & (out["factor"] == name)
            if not row.any():
                continue
            span = bounds.get(name) or (float(X[name].min()), float(X[name].max()))
            result = curvature_test(X, y, groups.get(fit.key), name, span, n_boot=n_boot, seed=seed, level=level)
            out.loc[row, "curvature_p"] = result.p
            out.loc[row, "curvature_share"] = result.interior_share
            own = out.loc[row, "shape"].iloc[0]
            if result.shape != "none" and own not in ("optimum", "minimum"):
                out.loc[row, "shape"] = result.shape
                out.loc[row, "optimum"] = result.location
                out.loc[row, "optimum_ci_low"] = result.ci[0]
                out.loc[row, "optimum_ci_high"] = result.ci[1]
                out.loc[row, "shape_source"] = "curvature"
    return out


def curvature_confirmed(record: Mapping[Any, Any]) -> bool:
    """Whether an optimum or minimum the curvature test found (``shape_source`` curvature) has a bootstrap
    interval strictly inside the tested range; True for every other row (its shape carries its own test)."""
    if str(record.get("shape_source", "")) != "curvature":
        return True
    low, high = float(record["range_low"]), float(record["range_high"])
    return bool(low < float(record["optimum_ci_low"]) and float(record["optimum_ci_high"]) < high)
