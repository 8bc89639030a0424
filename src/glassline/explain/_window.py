"""The process window: where in the design space the models, with their intervals, meet every requirement.

A requirement is a bound on a response, written ``"adhesion_strength>=400"`` (operators ``>=``,
``<=``, ``>``, ``<``). Each response is predicted by its best model among the scenarios whose inputs
are all continuous factors (so the design space alone fixes the prediction), with a split-conformal
interval at *level* from its grouped-CV residuals. A grid point is *feasible* when the interval's
conservative end meets every bound (lower end for ``>=``, upper end for ``<=``). The *recommended
setting* is the feasible point with the largest worst-case margin, each margin in units of its
interval half-width (or of the response's training SD when the interval is unknown).
"""

from __future__ import annotations

import itertools
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
from glassline.models import Fit, Fits
from glassline.spec import REQUIREMENT_PATTERN, Study

__all__ = ["Requirement", "Window", "parse_requirement", "process_window"]

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
    """The grid with predictions, intervals and feasibility; the recommended setting if any."""

    requirements: list[Requirement]
    grid: pd.DataFrame
    models: dict[str, Fit]
    half_widths: dict[str, float]
    recommended: dict[str, float] | None
    notes: list[str] = field(default_factory=list)

    @property
    def feasible_fraction(self) -> float:
        return float(self.grid["feasible"].mean()) if len(self.grid) else 0.0

    def summary(self) -> dict[str, Any]:
        return {
            "requirements": [str(r) for r in self.requirements],
            "models": {k: {"scenario": f.scenario, "family": f.family} for k, f in self.models.items()},
            "interval_half_widths": self.half_widths,
            "feasible_fraction": self.feasible_fraction,
            "recommended": self.recommended,
            "notes": self.notes,
        }


def _model_for(fits: Fits, study: Study, response: str, explained: Iterable[tuple[str, str, str]] | None) -> Fit:
    factors = {f.name for f in study.factors if f.kind == "continuous"}
    results = fits.results
    rows = results[(results["target"] == response) & results["best"].astype(bool)]
    rows = rows.sort_values("cv_r2_pooled", ascending=False)
    allowed = set(explained) if explained is not None else None
    for scenario, family in rows[["scenario", "family"]].itertuples(index=False):
        key = (response, str(scenario), str(family))
        if allowed is not None and key not in allowed:
            continue
        fit = fits[key]
        if set(fit.inputs) <= factors:
            return fit
    raise SpecError(
        f"requirement on {response!r}: no fitted scenario of it uses only design factors "
        f"({sorted(factors)}); the process window needs one"
    )


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
    axes = [np.linspace(*bounds[name], points) for name in used]
    grid = pd.DataFrame(list(itertools.product(*axes)), columns=used)
    notes: list[str] = []
    half: dict[str, float] = {}
    folder = Path(results_dir) if results_dir is not None else fits.folder
    for response, fit in models.items():
        q = math.nan
        if folder is not None:
            q = conformal_quantile(cv_residuals(folder, fit), level)
        if not math.isfinite(q):
            notes.append(f"{response}: no conformal interval (too few CV residuals); using the point prediction")
            q = 0.0
        half[response] = q
        prediction = fit.predict(grid)
        grid[f"{response}_pred"] = prediction
        grid[f"{response}_lower"] = prediction - q
        grid[f"{response}_upper"] = prediction + q
    margins = []
    for r in parsed:
        scale = half[r.response] or float(models[r.response].y_train.std()) or 1.0
        edge = grid[f"{r.response}_lower"] if r.lower_bound else grid[f"{r.response}_upper"]
        margin = (edge - r.value) if r.lower_bound else (r.value - edge)
        strict = r.op in (">", "<")
        grid[f"meets: {r}"] = margin > 0 if strict else margin >= 0
        margins.append(margin / scale)
    grid["feasible"] = np.logical_and.reduce([grid[f"meets: {r}"] for r in parsed])
    grid["margin"] = np.min(np.column_stack(margins), axis=1)
    recommended = None
    if grid["feasible"].any():
        best = grid.loc[grid.loc[grid["feasible"], "margin"].idxmax()]
        recommended = {name: float(best[name]) for name in used}
        recommended.update({f"{r.response}_pred": float(best[f"{r.response}_pred"]) for r in parsed})
    else:
        notes.append("no setting in the design space meets every requirement with its interval")
    return Window(parsed, grid, models, half, recommended, notes)


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
