"""Nested tuning: choose a family's hyperparameters by inner cross-validation on training rows only.

The inner folds are grouped like the outer ones (replicates of a configuration stay together), so a
setting that merely memorizes configurations is not rewarded. The criterion is the pooled MSE of the
inner out-of-fold predictions (every training row predicted once), which is steadier on small folds
than the mean of per-fold scores; ties go to the candidate listed first (the simplest).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.base import clone
from sklearn.model_selection import ParameterGrid
from sklearn.pipeline import Pipeline

from glassline.models._registry import Family
from glassline.models._splits import inner_folds

__all__ = ["Tuned", "fit_tuned"]


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
) -> Tuned:
    """Tune *family* on (X, y) by inner grouped K-fold, then refit on all of (X, y).

    *seed* seeds the model, *split_seed* (default: *seed*) the inner folds. Nothing outside (X, y)
    is seen: call it with the training rows of an outer split only. The inner fits run on plain
    arrays (scikit-learn's per-call overhead with DataFrames is larger than a small model's fit); the
    final refit gets *X* as given, so a DataFrame leaves its feature names on the pipeline.
    """
    base = family.make(seed)
    candidates = list(ParameterGrid(dict(family.space))) if family.space else [{}]
    n_fits = 1
    best: dict[str, Any] = candidates[0]
    best_mse = float("nan")
    if len(candidates) > 1:
        splits = inner_folds(len(y), groups, folds=folds, seed=seed if split_seed is None else split_seed)
        inputs = np.asarray(X, dtype=float)
        target = np.asarray(y, dtype=float)
        staged = family.staged
        stages = list(family.space[staged.param]) if staged else [None]
        # One fit per (setting of the other parameters, inner fold); a staged parameter is evaluated
        # at each of its values from the fit at its largest value.
        others = {k: v for k, v in family.space.items() if staged is None or k != staged.param}
        settings = [dict(p) for p in ParameterGrid(others)]
        scores: dict[int, float] = {}
        for setting in settings:
            residuals = {stage: np.empty(len(target)) for stage in stages}
            for train, test in splits:
                fit_params = {**setting, staged.param: max(family.space[staged.param])} if staged else setting
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
