"""The process window: where in the design space the models, with their intervals, meet every requirement.

A requirement is a bound on a response, written ``"adhesion_strength>=400"`` (operators ``>=``,
``<=``, ``>``, ``<``). Each response is predicted by its lead model among the scenarios whose inputs
are all continuous factors (so the design space alone fixes the prediction): the scenario with the
best pooled CV R², and within it the family the lead rule picks (by pooled CV R², preferring the
families whose pure-error lack-of-fit test does not reject when some family passes it,
:func:`~glassline.models.adequate_choice`), with a split-conformal interval at *level* from its
grouped-CV residuals.

Two shares of the design grid are reported, because they answer different questions:

- ``predicted_feasible_fraction`` (grid column ``predicted_feasible``): the share where the
  *predictions* meet every requirement, the estimate of the share of the box that really does;
- ``feasible_fraction`` (grid column ``feasible``, its meaning unchanged): the share where the *whole
  interval* meets every requirement (lower end for ``>=``, upper end for ``<=``), where the models
  are sure at *level*; with intervals of ±100 kPa on adhesion it is much smaller than the first.

The *recommended setting* is the point of the interval-feasible region with the largest worst-case
margin, each margin in units of its interval half-width (or of the response's training SD when the
interval is unknown); when no point is sure, the predicted-feasible point with the largest margin,
said in the notes. ``recommendation`` in the summary gives its criterion, each requirement's
prediction with its interval, and the trade-off: for each required response what the setting gives
against the best the models predict anywhere in the predicted-feasible region, and for every other
response with a design-factor model its prediction against its range over the box.

The grid, its predictions and intervals, the verdicts, the margins, the recommended point and the
Derringer–Suich desirability optimum (``desirability`` in window.json: the setting, each requirement's
prediction, interval, desirability and trade-off) are computed by the optimiser,
:func:`glassline.optimize.design_window`, on the lead models as :class:`~glassline.optimize.Surface` objects
(:func:`fit_surface`); a strict bound (``>``, ``<``) is met on the grid as its closed form (``>=``, ``<=``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from glassline.exceptions import SpecError, did_you_mean
from glassline.explain._expectations import factor_bounds
from glassline.explain._uncertainty import conformal_quantile, cv_residuals
from glassline.models import Fit, Fits, adequate_choice
from glassline.optimize import Space, Surface, Target, design_window
from glassline.spec import REQUIREMENT_PATTERN, Study

__all__ = ["FRACTION_MEANINGS", "Requirement", "Window", "parse_requirement", "process_window"]

_PATTERN = REQUIREMENT_PATTERN


@dataclass(frozen=True)
class Requirement:
    """``response op value``: a bound a response must meet."""

    response: str
    op: Literal[">=", "<=", ">", "<"]
    value: float

    def __str__(self) -> str:
        return f"{self.response} {self.op} {self.value:g}"

    @property
    def lower_bound(self) -> bool:
        return self.op in (">=", ">")


def parse_requirement(text: str | Requirement, study: Study | None = None) -> Requirement:
    """``"adhesion_strength>=400"`` → Requirement; a SpecError names what is wrong."""
    if isinstance(text, Requirement):
        requirement = text
    else:
        match = _PATTERN.match(text)
        if match is None:
            raise SpecError(
                f"requirement {text!r}: expected RESPONSE OP NUMBER with OP one of >=, <=, >, < "
                '(e.g. "adhesion_strength>=400")'
            )
        name, op, value = match.groups()
        requirement = Requirement(name, op, float(value))  # type: ignore[arg-type]
    if study is not None and requirement.response not in study.response_names:
        raise SpecError(
            f"requirement {str(requirement)!r}: no response named {requirement.response!r}; responses are "
            f"{study.response_names}." + did_you_mean(requirement.response, study.response_names)
        )
    return requirement


@dataclass
class Window:
    """The grid with predictions, intervals and feasibility; the recommended setting if any.

    ``recommendation`` holds the recommended setting's criterion, per-requirement predictions with
    intervals and the trade-off (see the module docstring); None when no point is even predicted feasible.
    """

    requirements: list[Requirement]
    grid: pd.DataFrame
    models: dict[str, Fit]
    half_widths: dict[str, float]
    recommended: dict[str, float] | None
    notes: list[str] = field(default_factory=list)
    recommendation: dict[str, Any] | None = None
    desirability: dict[str, Any] | None = None

    @property
    def feasible_fraction(self) -> float:
        """Share of the grid where the whole interval meets every requirement (the models are sure)."""
        return float(self.grid["feasible"].mean()) if len(self.grid) else 0.0

    @property
    def predicted_feasible_fraction(self) -> float:
        """Share of the grid where the predictions meet every requirement (NaN for a grid written before it)."""
        if "predicted_feasible" not in self.grid:
            return math.nan
        return float(self.grid["predicted_feasible"].astype(bool).mean()) if len(self.grid) else 0.0

    def summary(self) -> dict[str, Any]:
        return {
            "requirements": [str(r) for r in self.requirements],
            "models": {k: {"scenario": f.scenario, "family": f.family} for k, f in self.models.items()},
            "interval_half_widths": self.half_widths,
            "feasible_fraction": self.feasible_fraction,
            "predicted_feasible_fraction": self.predicted_feasible_fraction,
            "fractions": dict(FRACTION_MEANINGS),
            "recommended": self.recommended,
            "recommendation": self.recommendation,
            "desirability": self.desirability,
            "computed_by": "glassline.optimize.design_window",
            "notes": self.notes,
        }


#: What each share in window.json means.
FRACTION_MEANINGS: Mapping[str, str] = {
    "feasible_fraction": "share of the design grid where the whole prediction interval meets every requirement",
    "predicted_feasible_fraction": "share of the design grid where the predictions meet every requirement",
}


def _model_for(fits: Fits, study: Study, response: str, explained: Iterable[tuple[str, str, str]] | None) -> Fit:
    fit = _design_model(fits, study, response, explained)
    if fit is None:
        factors = sorted(f.name for f in study.factors if f.kind == "continuous")
        raise SpecError(
            f"requirement on {response!r}: no fitted scenario of it uses only design factors "
            f"({factors}); the process window needs one"
        )
    return fit


def _design_model(
    fits: Fits, study: Study, response: str, explained: Iterable[tuple[str, str, str]] | None
) -> Fit | None:
    """The lead model of *response* among its scenarios on design factors only, or None."""
    factors = {f.name for f in study.factors if f.kind == "continuous"}
    results = fits.results
    allowed = set(explained) if explained is not None else None
    rows = results[results["target"] == response]
    keep = [
        (allowed is None or (response, str(s), str(f)) in allowed) and set(str(inputs).split(",")) <= factors
        for s, f, inputs in zip(rows["scenario"], rows["family"], rows["inputs"], strict=True)
    ]
    rows = rows.loc[np.asarray(keep, dtype=bool)]
    rows = rows[pd.to_numeric(rows["cv_r2_pooled"], errors="coerce").notna()]
    if rows.empty:
        return None
    scores = pd.to_numeric(rows["cv_r2_pooled"]).to_numpy(dtype=float)
    scenario = str(rows["scenario"].iloc[int(np.argmax(scores))])
    choice = adequate_choice(rows[rows["scenario"].astype(str) == scenario])
    return fits[(response, scenario, str(rows.loc[choice, "family"]))]


def process_window(
    fits: Fits,
    study: Study,
    requirements: Iterable[str | Requirement],
    *,
    level: float = 0.9,
    points: int = 21,
    results_dir: str | Path | None = None,
    explained: Iterable[tuple[str, str, str]] | None = None,
) -> Window:
    """Feasible region and recommended setting for *requirements* over the study's design space."""
    parsed = [parse_requirement(r, study) for r in requirements]
    if not parsed:
        raise SpecError('process window: give at least one requirement, e.g. "adhesion_strength>=400"')
    bounds = factor_bounds(study)
    explained_keys = list(explained) if explained is not None else None
    models = {r.response: _model_for(fits, study, r.response, explained_keys) for r in parsed}
    used = sorted({c for fit in models.values() for c in fit.inputs}, key=study.factor_names.index)
    notes: list[str] = []
    half: dict[str, float] = {}
    folder = Path(results_dir) if results_dir is not None else fits.folder
    surfaces: dict[str, Surface] = {}
    for response, fit in models.items():
        q = math.nan
        if folder is not None:
            q = conformal_quantile(cv_residuals(folder, fit), level)
        if not math.isfinite(q):
            notes.append(f"{response}: no conformal interval (too few CV residuals); using the point prediction")
            q = 0.0
        half[response] = q
        surfaces[response] = fit_surface(fit, q, level)
    space = Space(
        tuple(used),
        tuple(bounds[name][0] for name in used),
        tuple(bounds[name][1] for name in used),
        tuple(study.factor(name).unit for name in used),
    )
    targets = [
        Target(surfaces[r.response], low=r.value) if r.lower_bound else Target(surfaces[r.response], high=r.value)
        for r in parsed
    ]
    # the optimiser's window: grid, predictions, intervals, verdicts, margins, recommended point, desirability
    computed = design_window(targets, space, points=points)
    grid = pd.DataFrame(computed.points, columns=used)
    for response in models:
        i = next(k for k, t in enumerate(computed.targets) if t.surface.name == response)
        grid[f"{response}_pred"] = computed.predictions[i]
        grid[f"{response}_lower"] = computed.lower[i]
        grid[f"{response}_upper"] = computed.upper[i]
    for r, meets, predicted in zip(parsed, computed.meets, computed.predicted_meets, strict=True):
        grid[f"meets: {r}"] = meets
        grid[f"predicted meets: {r}"] = predicted
    grid["feasible"] = computed.feasible
    grid["predicted_feasible"] = computed.predicted_feasible
    grid["margin"] = computed.margin
    recommended = None
    recommendation = None
    region = computed.region
    if computed.recommended is not None:
        best = grid.iloc[int(computed.recommended)]
        recommended = {name: float(best[name]) for name in used}
        for r in parsed:
            recommended.update({f"{r.response}_{end}": float(best[f"{r.response}_{end}"]) for end in _ENDS})
        recommendation = _recommendation(best, grid, parsed, used, region, level, fits, study, explained_keys)
        if region == "predicted_feasible":
            notes.append(
                "no setting meets every requirement with its whole interval; the recommended setting is the "
                "predicted-feasible point with the largest worst-case margin"
            )
    notes.extend(computed.notes)
    return Window(parsed, grid, models, half, recommended, notes, recommendation, computed.desirability)


#: The columns of each required response recorded with the recommended setting.
_ENDS = ("pred", "lower", "upper")


def _recommendation(
    best: pd.Series,
    grid: pd.DataFrame,
    requirements: list[Requirement],
    used: list[str],
    region: str,
    level: float,
    fits: Fits,
    study: Study,
    explained: Iterable[tuple[str, str, str]] | None,
) -> dict[str, Any]:
    """Criterion, per-requirement prediction with interval, and the trade-off at the recommended point."""
    sure = "the whole interval" if region == "feasible" else "the prediction"
    criterion = (
        f"among the grid points where {sure} meets every requirement, the one with the largest worst-case margin "
        f"(distance of the interval's conservative end from its bound, in interval half-widths at level {level:g})"
    )
    inside = grid[grid["predicted_feasible"]] if grid["predicted_feasible"].any() else grid
    checks: list[dict[str, Any]] = []
    trade: list[dict[str, Any]] = []
    for r in requirements:
        column = f"{r.response}_pred"
        at = float(best[column])
        achievable = float(inside[column].max() if r.lower_bound else inside[column].min())
        checks.append(
            {
                "requirement": str(r),
                "predicted": at,
                "lower": float(best[f"{r.response}_lower"]),
                "upper": float(best[f"{r.response}_upper"]),
                "level": level,
                "met_by_interval": bool(best[f"meets: {r}"]),
            }
        )
        trade.append(_cost(r.response, at, achievable, "higher" if r.lower_bound else "lower"))
    required = {r.response for r in requirements}
    point = pd.DataFrame([{name: float(best[name]) for name in used}])
    for response in study.response_names:
        if response in required:
            continue
        fit = _design_model(fits, study, response, explained)
        if fit is None or not set(fit.inputs) <= set(used):
            continue
        values = fit.predict(grid)
        at = float(fit.predict(point)[0])
        low, high = float(np.min(values)), float(np.max(values))
        trade.append(
            {
                "response": response,
                "scenario": fit.scenario,
                "family": fit.family,
                "at_setting": at,
                "box_min": low,
                "box_max": high,
                "position_in_range": (at - low) / (high - low) if high > low else None,
                "cost_vs_max_pct": 100.0 * (high - at) / abs(high) if high else None,
            }
        )
    return {
        "criterion": criterion,
        "region": region,
        "setting": {name: float(best[name]) for name in used},
        "requirements": checks,
        "trade_off": trade,
    }


def _cost(response: str, at: float, achievable: float, better: str) -> dict[str, Any]:
    cost = (achievable - at) if better == "higher" else (at - achievable)
    return {
        "response": response,
        "better": better,
        "at_setting": at,
        "best_in_window": achievable,
        "cost": cost,
        "cost_pct": 100.0 * cost / abs(achievable) if achievable else None,
    }


def fit_surface(fit: Fit, half_width: float | None, level: float | None = None) -> Surface:
    """A fitted model as the optimiser's :class:`~glassline.optimize.Surface`: :meth:`Fit.predict` on rows in the
    order of its inputs, with the interval's half-width."""
    columns = list(fit.inputs)

    def predict(values: np.ndarray) -> np.ndarray:
        return np.asarray(fit.predict(pd.DataFrame(values, columns=columns)), dtype=float)

    return Surface(
        fit.target,
        tuple(columns),
        predict,
        half_width=half_width,
        estimator=fit.pipeline,
        reference=fit.X_train.loc[:, columns].to_numpy(dtype=float),
        level=level,
        spread=float(fit.y_train.std()),
    )


def window_slice(window: Window, fit: Fit, x: str, y: str, gx: np.ndarray, gy: np.ndarray) -> np.ndarray:
    """Feasibility on the x × y plane through the recommended setting (others fixed there)."""
    setting: Mapping[str, float] = window.recommended or {}
    xx, yy = np.meshgrid(gx, gy)
    ok = np.ones(xx.size, dtype=bool)
    for r in window.requirements:
        model = window.models[r.response]
        rows = pd.DataFrame({c: np.full(xx.size, setting.get(c, float(model.X_train[c].mean()))) for c in model.inputs})
        if x in rows:
            rows[x] = xx.ravel()
        if y in rows:
            rows[y] = yy.ravel()
        p = model.predict(rows)
        q = window.half_widths[r.response]
        ok &= (p - q >= r.value) if r.lower_bound else (p + q <= r.value)
    return ok
