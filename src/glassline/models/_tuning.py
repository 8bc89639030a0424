"""Nested tuning: choose a family's hyperparameters by inner cross-validation on training rows only.

The inner folds are grouped like the outer ones (replicates of a configuration stay together), so a
setting that merely memorizes configurations is not rewarded. The criterion is the pooled MSE of the
inner out-of-fold predictions (every training row predicted once), which is steadier on small folds
than the mean of per-fold scores; ties go to the candidate listed first (the simplest).

What is searched depends on the size of the data (:func:`tuning_space`), by one rule:

* **small** — fewer than :data:`~glassline.models.SMALL_DATA_GROUPS` (300) configurations (groups; rows
  when there is no group column), the designed experiments of 17–86 rows: each family's own small
  space (:attr:`Family.space`) and 3 inner folds, exactly as before the rule existed;
* **medium** — 300 configurations or more and fewer than :data:`~glassline.models.LARGE_DATA_ROWS`
  (20,000) rows: the family's scaled space (boosting depth, learning rate and rounds; forest
  ``max_features`` / ``min_samples_leaf``; SVR ``C`` / ``gamma`` / ``epsilon``), 3 inner folds;
* **large** — 300 configurations or more and 20,000 rows or more: the scaled space for large tables
  (cheaper per fit) and 2 inner folds (each inner part still holds ≥ 8,000 rows).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.base import clone
from sklearn.model_selection import ParameterGrid
from sklearn.pipeline import Pipeline

from glassline.models._registry import LARGE_DATA_ROWS, SMALL_DATA_GROUPS, DataSize, Family
from glassline.models._splits import inner_folds

__all__ = ["Tuned", "TuningSpace", "fit_tuned", "tuning_space"]

#: Inner folds of the small and medium regimes (the small one's number is the caller's, 3 by default).
MEDIUM_INNER_FOLDS = 3
#: Inner folds of the large regime.
LARGE_INNER_FOLDS = 2


@dataclass(frozen=True)
class TuningSpace:
    """What nested tuning searches for one family on data of one size, and why."""

    family: str
    size: DataSize
    regime: Literal["small", "medium", "large"]
    space: Mapping[str, Sequence[Any]]
    folds: int
    reason: str

    @property
    def n_candidates(self) -> int:
        """How many settings the space holds."""
        count = 1
        for values in self.space.values():
            count *= len(values)
        return count

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready record (for the results folder's ``run.json``)."""
        return {
            "family": self.family,
            "rows": self.size.rows,
            "groups": self.size.groups,
            "inputs": self.size.inputs,
            "regime": self.regime,
            "inner_folds": self.folds,
            "candidates": self.n_candidates,
            "space": {k: [_plain(v) for v in values] for k, values in self.space.items()},
            "reason": self.reason,
        }


def tuning_space(family: Family, size: DataSize, *, folds: int = 3) -> TuningSpace:
    """The space and inner folds nested tuning uses for *family* on data of *size* (see the module's rule).

    *folds* is the number of inner folds of the small regime (the comparison's ``inner_folds``).
    """
    regime = size.regime
    where = f"{size.rows:,} rows, {size.groups:,} configurations, {size.inputs} inputs"
    if regime == "small" or family.scaled is None:
        if regime == "small":
            reason = (
                f"{where}: fewer than {SMALL_DATA_GROUPS} configurations, a designed experiment; the family's "
                "small space"
            )
        else:
            reason = f"{where}: the family has one space at every size"
        inner = {"small": folds, "medium": MEDIUM_INNER_FOLDS, "large": LARGE_INNER_FOLDS}[regime]
        return TuningSpace(family.name, size, regime, dict(family.space), inner, reason)
    if regime == "large":
        reason = (
            f"{where}: {SMALL_DATA_GROUPS} configurations or more and at least {LARGE_DATA_ROWS:,} rows; the "
            f"scaled space for large tables, {LARGE_INNER_FOLDS} inner folds"
        )
        return TuningSpace(family.name, size, regime, dict(family.scaled(size)), LARGE_INNER_FOLDS, reason)
    reason = (
        f"{where}: {SMALL_DATA_GROUPS} configurations or more, under {LARGE_DATA_ROWS:,} rows; the scaled space, "
        f"{MEDIUM_INNER_FOLDS} inner folds"
    )
    return TuningSpace(family.name, size, regime, dict(family.scaled(size)), MEDIUM_INNER_FOLDS, reason)


@dataclass(frozen=True)
class Tuned:
    """A pipeline refit on all given rows with the chosen hyperparameters."""

    pipeline: Pipeline
    params: dict[str, Any]
    inner_mse: float
    """Pooled inner-CV MSE of the chosen setting (NaN when nothing was tuned)."""
    n_fits: int
    """Model fits spent, the final refit included."""


def _plain(value: Any) -> Any:
    """numpy scalars to Python scalars, so params serialize to JSON."""
    return value.item() if isinstance(value, np.generic) else value


def fit_tuned(
    family: Family,
    X: pd.DataFrame | npt.NDArray[np.float64],
    y: pd.Series | npt.NDArray[np.float64],
    groups: npt.NDArray[Any] | None,
    *,
    seed: int,
    folds: int = 3,
    split_seed: int | None = None,
    space: Mapping[str, Sequence[Any]] | None = None,
) -> Tuned:
    """Tune *family* on (X, y) by inner grouped K-fold, then refit on all of (X, y).

    *space* (default: the family's small space, :attr:`Family.space`) is what is searched, e.g. a
    :func:`tuning_space`'s. *seed* seeds the model, *split_seed* (default: *seed*) the inner folds.
    Nothing outside (X, y) is seen: call it with the training rows of an outer split only. The inner fits run on plain
    arrays (scikit-learn's per-call overhead with DataFrames is larger than a small model's fit); the
    final refit gets *X* as given, so a DataFrame leaves its feature names on the pipeline.
    """
    base = family.make(seed)
    space = dict(family.space if space is None else space)
    candidates = list(ParameterGrid(space)) if space else [{}]
    n_fits = 1
    best: dict[str, Any] = candidates[0]
    best_mse = float("nan")
    if len(candidates) > 1:
        splits = inner_folds(len(y), groups, folds=folds, seed=seed if split_seed is None else split_seed)
        inputs = np.asarray(X, dtype=float)
        target = np.asarray(y, dtype=float)
        staged = family.staged if family.staged is not None and family.staged.param in space else None
        stages = list(space[staged.param]) if staged else [None]
        # One fit per (setting of the other parameters, inner fold); a staged parameter is evaluated
        # at each of its values from the fit at its largest value.
        others = {k: v for k, v in space.items() if staged is None or k != staged.param}
        settings = [dict(p) for p in ParameterGrid(others)]
        scores: dict[int, float] = {}
        for setting in settings:
            residuals = {stage: np.empty(len(target)) for stage in stages}
            for train, test in splits:
                fit_params = {**setting, staged.param: max(space[staged.param])} if staged else setting
                model = clone(base).set_params(**fit_params)
                model.fit(inputs[train], target[train])
                n_fits += 1
                for stage in stages:
                    pred = staged.predict(model, inputs[test], stage) if staged else model.predict(inputs[test])
                    residuals[stage][test] = target[test] - np.asarray(pred, dtype=float)
            for stage, residual in residuals.items():
                params = {**setting, staged.param: stage} if staged else setting
                scores[candidates.index(params)] = float(np.mean(residual**2))
        # ties go to the candidate listed first
        order = sorted(scores, key=lambda i: (scores[i], i))
        best, best_mse = candidates[order[0]], scores[order[0]]
    pipeline = clone(base).set_params(**best)
    pipeline.fit(X, y)
    return Tuned(pipeline, {k: _plain(v) for k, v in best.items()}, best_mse, n_fits)
