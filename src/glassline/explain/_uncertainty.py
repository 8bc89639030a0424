"""How sure are the explanations and predictions? Grouped bootstrap refits and conformal intervals.

*Bootstrap draws* (:func:`bootstrap_draws`): configurations (groups) are resampled with replacement and
the family's pipeline is refit with the fit's tuned hyperparameters; each refit gives every input's mean
|SHAP| over the original training rows (exact engine of :mod:`glassline.shapley`, background the
resampled rows) and its partial-dependence curve on :data:`PD_GRID_POINTS` points across the input's
design range (background: the original training rows, so that every refit's curve is comparable with the
fit's own). :mod:`glassline.explain._claims` turns them into effects, shapes and rank probabilities.

*Importance CIs* (:func:`bootstrap_importance`): configurations (groups) are resampled with
replacement, the family's pipeline is refit with the fit's tuned hyperparameters on the resampled
training rows, and the SHAP values of the original training rows are recomputed (background: the
resampled rows); MDI and normalized coefficients are recomputed from the refits too. Each input gets
the 2.5 / 97.5 % quantiles of its mean |SHAP| over the refits and the fraction of refits whose
direction equals the original fit's (``direction_agreement``).

*Prediction intervals* (:func:`prediction_interval`): split conformal on the grouped cross-
validation residuals of the same target × scenario × family (``predictions.parquet``, ``split ==
"cv"``): the interval is prediction ± q, q the ⌈(n + 1)·level⌉-th smallest |y − ŷ| of the n out-of-
fold residuals.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.base import clone

from glassline.exceptions import DataError, SpecError
from glassline.explain._importance import (
    explanation_for,
    input_range,
    mdi_importance,
    normalized_coefficients,
    shap_direction,
)
from glassline.models import Fit

__all__ = [
    "PD_GRID_POINTS",
    "BootstrapDraws",
    "bootstrap_draws",
    "bootstrap_importance",
    "conformal_quantile",
    "cv_residuals",
    "importance_intervals",
    "pd_curves",
    "prediction_interval",
    "rows_by_group",
]

#: Points of each input's partial-dependence grid in the bootstrap: 11 (a tenth of the design range apart;
#: an interior optimum is located between grid points by the vertex of the parabola through the three
#: points around the maximum). Few, because each refit predicts inputs × points × training rows.
PD_GRID_POINTS = 11

FloatArray = npt.NDArray[np.float64]


def cv_residuals(results_dir: str | Path, fit: Fit) -> npt.NDArray[np.float64]:
    """The out-of-fold residuals y − ŷ of *fit*'s target × scenario × family in RESULTS_DIR."""
    path = Path(results_dir) / "predictions.parquet"
    if not path.exists():
        raise DataError(f"{path}: missing; expected the predictions of a folder written by 'glassline fit'")
    table = pd.read_parquet(path, filters=[("target", "==", fit.target)])
    part = table[(table["scenario"] == fit.scenario) & (table["family"] == fit.family) & (table["split"] == "cv")]
    if part.empty:
        raise DataError(f"{path}: no cross-validation predictions for {fit.target} / {fit.scenario} / {fit.family}")
    return np.asarray(part["y_true"] - part["y_pred"], dtype=float)


def conformal_quantile(residuals: npt.ArrayLike, level: float) -> float:
    """The split-conformal half-width: the ⌈(n + 1)·level⌉-th smallest |residual| (∞ if n is too small)."""
    if not 0.0 < level < 1.0:
        raise SpecError(f"level: expected a coverage between 0 and 1 (e.g. 0.9), got {level}")
    r = np.sort(np.abs(np.ravel(np.asarray(residuals, dtype=float))))
    k = math.ceil((r.size + 1) * level)
    return float(r[k - 1]) if 1 <= k <= r.size else math.inf


def prediction_interval(
    fit: Fit,
    X: pd.DataFrame,
    level: float = 0.9,
    *,
    results_dir: str | Path | None = None,
    residuals: npt.ArrayLike | None = None,
) -> pd.DataFrame:
    """Prediction with a conformal interval for each row of *X*: columns ``prediction, lower, upper``.

    The residuals are the grouped-CV residuals of the fit (give *results_dir*, the folder the fit was
    loaded from, or the *residuals* themselves). Rows of *X* keep their index.
    """
    if residuals is None:
        if results_dir is None:
            raise SpecError("prediction_interval needs results_dir (the fit's results folder) or residuals")
        residuals = cv_residuals(results_dir, fit)
    missing = [c for c in fit.inputs if c not in X.columns]
    if missing:
        raise DataError(f"X: missing input column {missing[0]!r}; the model needs {list(fit.inputs)}")
    q = conformal_quantile(residuals, level)
    prediction = fit.predict(X)
    return pd.DataFrame({"prediction": prediction, "lower": prediction - q, "upper": prediction + q}, index=X.index)


@dataclass(frozen=True)
class BootstrapDraws:
    """What the grouped bootstrap refits of one fit gave (B refits, p inputs, G grid points).

    ``grid`` (p, G): each input's partial-dependence grid across its design range; ``curve`` (p, G): the
    fit's own partial dependence; ``curves`` (B, p, G): every refit's; ``importance`` (p,): the fit's mean
    |SHAP|; ``importances`` (B, p): every refit's; ``shap_same`` (p,): the share of refits whose SHAP
    direction equals the fit's; ``mdi`` / ``coef`` (B, p): MDI and normalized coefficients of the refits
    where the family has them.
    """

    fit: Fit
    grid: FloatArray
    curve: FloatArray
    curves: FloatArray
    importance: FloatArray
    importances: FloatArray
    shap_same: FloatArray
    mdi: FloatArray | None = None
    coef: FloatArray | None = None

    @property
    def n_boot(self) -> int:
        return int(self.importances.shape[0])


def pd_curves(fit: Fit, grid: FloatArray, background: pd.DataFrame | None = None) -> FloatArray:
    """Partial dependence (p, G) of every input of *fit* on its row of *grid*, in one predict call."""
    rows = (fit.X_train if background is None else background).loc[:, list(fit.inputs)]
    p, g = grid.shape
    n = len(rows)
    base = np.tile(rows.to_numpy(dtype=float), (p * g, 1))
    for j in range(p):
        base[j * g * n : (j + 1) * g * n, j] = np.repeat(grid[j], n)
    stacked = pd.DataFrame(base, columns=list(fit.inputs))
    predictions = np.asarray(fit.predict(stacked), dtype=float).reshape(p, g, n)
    return np.asarray(predictions.mean(axis=2), dtype=float)


def _refit(fit: Fit, positions: npt.NDArray[np.int_]) -> Fit:
    X = fit.X_train.iloc[positions]
    y = fit.y_train.iloc[positions]
    pipeline = clone(fit.pipeline).set_params(**fit.params)
    pipeline.fit(X, y)
    return Fit(
        target=fit.target,
        scenario=fit.scenario,
        family=fit.family,
        inputs=fit.inputs,
        pipeline=pipeline,
        params=fit.params,
        explainer=fit.explainer,
        explainable=fit.explainable,
        X_train=X.reset_index(drop=True),
        y_train=y.reset_index(drop=True),
        X_test=fit.X_test,
        y_test=fit.y_test,
    )


def rows_by_group(names: npt.NDArray[Any]) -> tuple[npt.NDArray[Any], dict[Any, npt.NDArray[np.intp]]]:
    """The sorted distinct *names* and, for each, the positions (ascending) of the rows that carry it.

    One sort, O(n log n): a comparison of every row with every name would be O(rows × groups), hours on
    100,000 rows that are each their own group.
    """
    unique, inverse, counts = np.unique(names, return_inverse=True, return_counts=True)
    order = np.argsort(inverse.ravel(), kind="stable").astype(np.intp)
    return unique, dict(zip(unique.tolist(), np.split(order, np.cumsum(counts)[:-1]), strict=True))


def bootstrap_draws(
    fit: Fit,
    groups: pd.Series,
    *,
    n_boot: int,
    seed: int = 0,
    bounds: dict[str, tuple[float, float]] | None = None,
    grid_points: int = PD_GRID_POINTS,
) -> BootstrapDraws:
    """*n_boot* grouped bootstrap refits of *fit* (see the module docstring).

    *groups* maps each training row id to its configuration; rows without one are their own group.
    *bounds*: the study's factor ranges (partial dependence spans them; other inputs span their training
    values). The same *seed* gives the same draws.
    """
    if n_boot < 1:
        raise SpecError(f"bootstrap: expected a positive number of refits, got {n_boot}")
    if grid_points < 3:
        raise SpecError(f"grid_points: expected at least 3 partial-dependence points, got {grid_points}")
    base = explanation_for(fit)
    base_values = np.asarray(base.values, dtype=float)
    data = np.asarray(base.data, dtype=float)
    p = len(fit.inputs)
    base_dir = [shap_direction(base_values[:, j], data[:, j]) for j in range(p)]
    grid = np.array([np.linspace(*input_range(fit, name, bounds), grid_points) for name in fit.inputs])
    labels = groups.reindex(fit.X_train.index)
    labels = labels.where(labels.notna(), pd.Series(fit.X_train.index.astype(str), index=fit.X_train.index))
    names = labels.astype(str).to_numpy()
    unique, by_group = rows_by_group(names)
    rng = np.random.default_rng(seed)
    importances = np.empty((n_boot, p))
    curves = np.empty((n_boot, p, grid_points))
    same = np.zeros(p)
    mdi_draws: list[FloatArray] = []
    coef_draws: list[FloatArray] = []
    for b in range(n_boot):
        chosen = rng.choice(unique, size=unique.size, replace=True)
        refit = _refit(fit, np.concatenate([by_group[g] for g in chosen]))
        values = np.asarray(explanation_for(refit, fit.X_train).values, dtype=float)
        importances[b] = np.abs(values).mean(axis=0)
        same += [shap_direction(values[:, j], data[:, j]) == base_dir[j] for j in range(p)]
        curves[b] = pd_curves(refit, grid, fit.X_train)
        mdi = mdi_importance(refit)
        if mdi is not None:
            mdi_draws.append(mdi["importance"].to_numpy(float))
        coef = normalized_coefficients(refit)
        if coef is not None:
            coef_draws.append(coef)
    return BootstrapDraws(
        fit=fit,
        grid=grid,
        curve=pd_curves(fit, grid),
        curves=curves,
        importance=np.abs(base_values).mean(axis=0),
        importances=importances,
        shap_same=same / n_boot,
        mdi=np.array(mdi_draws) if mdi_draws else None,
        coef=np.array(coef_draws) if coef_draws else None,
    )


def importance_intervals(draws: BootstrapDraws) -> pd.DataFrame:
    """method, feature, ci_low, ci_high, direction_agreement of importance.csv from bootstrap draws.

    Rows for ``shap`` (mean |SHAP|), and, where the family has them, ``mdi`` and ``coef``
    (|c / ‖c‖₂|, direction agreement = fraction of refits with the original coefficient's sign);
    the 2.5 / 97.5 % quantiles over the refits.
    """
    fit = draws.fit
    tables = [_summary("shap", fit.inputs, draws.importances, draws.shap_same)]
    if draws.mdi is not None:
        tables.append(_summary("mdi", fit.inputs, draws.mdi, None))
    base_coef = normalized_coefficients(fit)
    if draws.coef is not None and base_coef is not None:
        agreement = (np.sign(draws.coef) == np.sign(base_coef)).mean(axis=0)
        tables.append(_summary("coef", fit.inputs, np.abs(draws.coef), agreement))
    return pd.concat(tables, ignore_index=True)


def bootstrap_importance(
    fit: Fit,
    groups: pd.Series,
    *,
    n_boot: int = 50,
    seed: int = 0,
) -> pd.DataFrame:
    """method, feature, ci_low, ci_high, direction_agreement over grouped bootstrap refits.

    Rows for ``shap`` (mean |SHAP|), and, where the family has them, ``mdi`` and ``coef``
    (|c / ‖c‖₂|, direction agreement = fraction of refits with the original coefficient's sign).

    *groups* maps each training row id to its configuration; rows without one are their own group.
    """
    return importance_intervals(bootstrap_draws(fit, groups, n_boot=n_boot, seed=seed))


def _summary(
    method: str,
    inputs: tuple[str, ...],
    draws: npt.NDArray[np.float64],
    agreement: npt.NDArray[np.float64] | None,
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "method": method,
            "feature": list(inputs),
            "ci_low": np.quantile(draws, 0.025, axis=0),
            "ci_high": np.quantile(draws, 0.975, axis=0),
            "direction_agreement": agreement if agreement is not None else np.nan,
        }
    )
