"""How sure are the explanations and predictions? Grouped bootstrap refits and conformal intervals.

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
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.base import clone

from glassline.exceptions import DataError, SpecError
from glassline.explain._importance import explanation_for, mdi_importance, normalized_coefficients, shap_direction
from glassline.models import Fit

__all__ = ["bootstrap_importance", "conformal_quantile", "cv_residuals", "prediction_interval"]


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
    if n_boot < 1:
        raise SpecError(f"bootstrap: expected a positive number of refits, got {n_boot}")
    base = explanation_for(fit)
    base_values = np.asarray(base.values, dtype=float)
    data = np.asarray(base.data, dtype=float)
    p = len(fit.inputs)
    base_dir = [shap_direction(base_values[:, j], data[:, j]) for j in range(p)]
    labels = groups.reindex(fit.X_train.index)
    labels = labels.where(labels.notna(), pd.Series(fit.X_train.index.astype(str), index=fit.X_train.index))
    unique = np.unique(labels.astype(str).to_numpy())
    by_group = {g: np.flatnonzero(labels.astype(str).to_numpy() == g) for g in unique}
    rng = np.random.default_rng(seed)
    means = np.empty((n_boot, p))
    same = np.zeros(p)
    mdi_draws: list[npt.NDArray[np.float64]] = []
    coef_draws: list[npt.NDArray[np.float64]] = []
    base_coef = normalized_coefficients(fit)
    for b in range(n_boot):
        chosen = rng.choice(unique, size=unique.size, replace=True)
        positions = np.concatenate([by_group[g] for g in chosen])
        X = fit.X_train.iloc[positions]
        y = fit.y_train.iloc[positions]
        pipeline = clone(fit.pipeline).set_params(**fit.params)
        pipeline.fit(X, y)
        refit = Fit(
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
        values = np.asarray(explanation_for(refit, fit.X_train).values, dtype=float)
        means[b] = np.abs(values).mean(axis=0)
        same += [shap_direction(values[:, j], data[:, j]) == base_dir[j] for j in range(p)]
        mdi = mdi_importance(refit)
        if mdi is not None:
            mdi_draws.append(mdi["importance"].to_numpy(float))
        coef = normalized_coefficients(refit)
        if coef is not None:
            coef_draws.append(coef)
    tables = [_summary("shap", fit.inputs, means, same / n_boot)]
    if mdi_draws:
        tables.append(_summary("mdi", fit.inputs, np.array(mdi_draws), None))
    if coef_draws and base_coef is not None:
        draws = np.array(coef_draws)
        agreement = (np.sign(draws) == np.sign(base_coef)).mean(axis=0)
        tables.append(_summary("coef", fit.inputs, np.abs(draws), agreement))
    return pd.concat(tables, ignore_index=True)


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
