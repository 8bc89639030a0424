"""Feature importance by four methods, one tidy table: SHAP, MDI, normalized coefficients, permutation.

Every method gives, per input, an ``importance`` (≥ 0, larger = more important), a ``share`` (the
importance divided by the sum over the inputs of the fit) and a ``direction``:

- ``shap``: importance = mean |SHAP value| over the training rows, in the target's unit. Direction =
  the sign of the Pearson correlation between the input's value and its SHAP value over those rows,
  and 0 ("mixed") when |r| < :data:`MIXED_BELOW` (the effect rises over part of the range and falls
  over another, or is too weak to have a sign).
- ``mdi``: the trees' mean decrease in impurity (``feature_importances_`` of a random forest or
  XGBoost, which sum to 1; the paper's Fig. 9 a, b). MDI has no sign: direction is that of the fit's
  partial dependence (see :func:`pd_direction`).
- ``coef``: a linear model's coefficients in standardized input units divided by their Euclidean
  norm, c / ‖c‖₂ (the paper's Fig. 9 c, d); importance = |c / ‖c‖₂|, direction = its sign.
- ``permutation``: the drop of R² on the held-out (paper-split test) rows when the input is shuffled
  (scikit-learn's ``permutation_importance`` draw for draw, predicted in one call: see
  :func:`permutation_draws`), any family; direction from partial dependence. Its
  ``ci_low``/``ci_high`` are the 2.5 / 97.5 % quantiles over the shuffles.

``pd_direction``: +1 when the partial dependence over the input's range ends higher than it starts
and never falls back by more than :data:`MIXED_BELOW` of its range, −1 likewise downwards, 0 otherwise.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import shap
from sklearn.metrics import r2_score
from sklearn.utils import check_random_state

from glassline.explain._shapley import shap_values
from glassline.models import Fit

__all__ = [
    "IMPORTANCE_COLUMNS",
    "MIXED_BELOW",
    "coefficient_importance",
    "explanation_for",
    "mdi_importance",
    "normalized_coefficients",
    "partial_dependence",
    "pd_direction",
    "permutation_draws",
    "permutation_table",
    "shap_direction",
    "shap_importance",
]

#: Columns of importance.csv, in order.
IMPORTANCE_COLUMNS: tuple[str, ...] = (
    "target",
    "scenario",
    "family",
    "method",
    "feature",
    "importance",
    "share",
    "ci_low",
    "ci_high",
    "rank",
    "direction",
    "direction_agreement",
    "explainable",
)

#: Below this |correlation| (SHAP) or this fraction of reversal (partial dependence) a direction is "mixed" (0).
MIXED_BELOW = 0.3

FloatArray = npt.NDArray[np.float64]


def explanation_for(fit: Fit, X: pd.DataFrame | None = None, *, seed: int = 0) -> shap.Explanation:
    """Interventional SHAP values of *fit* on *X* (default: its training rows), background its training rows."""
    rows = fit.X_train if X is None else X.loc[:, list(fit.inputs)]
    return shap_values(fit, rows, seed=seed)


def shap_direction(values: FloatArray, data: FloatArray) -> int:
    """+1 / −1: sign of corr(input value, SHAP value); 0 when |r| < MIXED_BELOW or either is constant."""
    if np.ptp(values) <= 1e-12 * max(1.0, float(np.abs(values).max())) or np.ptp(data) == 0:
        return 0
    r = float(np.corrcoef(data, values)[0, 1])
    if not np.isfinite(r) or abs(r) < MIXED_BELOW:
        return 0
    return 1 if r > 0 else -1


def shap_importance(explanation: shap.Explanation) -> pd.DataFrame:
    """feature, importance (mean |SHAP|), direction for one fit's explanation."""
    values = np.asarray(explanation.values, dtype=float)
    data = np.asarray(explanation.data, dtype=float)
    names = list(explanation.feature_names)
    return pd.DataFrame(
        {
            "feature": names,
            "importance": np.abs(values).mean(axis=0),
            "direction": [shap_direction(values[:, j], data[:, j]) for j in range(len(names))],
        }
    )


def input_range(fit: Fit, feature: str, bounds: dict[str, tuple[float, float]] | None = None) -> tuple[float, float]:
    """The range partial dependence spans: the study's factor range, else the training rows' min–max."""
    if bounds and feature in bounds:
        return bounds[feature]
    column = fit.X_train[feature].astype(float)
    return float(column.min()), float(column.max())


def partial_dependence(
    fit: Fit,
    feature: str,
    grid: npt.ArrayLike,
    background: pd.DataFrame | None = None,
) -> FloatArray:
    """Mean prediction over *background* rows (default: training rows) with *feature* set to each grid value."""
    rows = (fit.X_train if background is None else background).loc[:, list(fit.inputs)]
    values = np.asarray(grid, dtype=float)
    stacked = pd.concat([rows] * len(values), ignore_index=True)
    stacked[feature] = np.repeat(values, len(rows))
    predictions = fit.predict(stacked).reshape(len(values), len(rows))
    return np.asarray(predictions.mean(axis=1), dtype=float)


def pd_direction(curve: FloatArray) -> int:
    """+1 rising, −1 falling, 0 mixed (reverses by more than MIXED_BELOW of its range) or flat."""
    span = float(np.ptp(curve))
    if span <= 1e-12 * max(1.0, float(np.abs(curve).max())):
        return 0
    steps = np.diff(curve)
    change = float(curve[-1] - curve[0])
    sign = 1 if change > 0 else -1
    against = float(np.abs(steps[np.sign(steps) == -sign]).sum())
    if against > MIXED_BELOW * span or abs(change) < (1 - MIXED_BELOW) * span:
        return 0
    return sign


def mdi_importance(fit: Fit) -> pd.DataFrame | None:
    """feature, importance (MDI) for tree ensembles; None for families without ``feature_importances_``."""
    model = fit.pipeline.steps[-1][1]
    values = getattr(model, "feature_importances_", None)
    if values is None:
        return None
    return pd.DataFrame({"feature": list(fit.inputs), "importance": np.asarray(values, dtype=float)})


def normalized_coefficients(fit: Fit) -> FloatArray | None:
    """c / ‖c‖₂ of a linear model on standardized inputs (the paper's Fig. 9 c, d); None if not linear.

    The pipeline's own scaler standardizes the inputs, so ``coef_`` is already per standard deviation
    of each input; the Euclidean normalization makes the vector unit length.
    """
    model = fit.pipeline.steps[-1][1]
    coef = getattr(model, "coef_", None)
    if coef is None or len(fit.pipeline.steps) != 2:
        return None
    c = np.ravel(np.asarray(coef, dtype=float))
    if c.size != len(fit.inputs):
        return None
    scaler = fit.pipeline.steps[0][1]
    scale = getattr(scaler, "scale_", None)
    if scale is not None and not getattr(scaler, "with_std", True):
        c = c * np.asarray(scale, dtype=float)
    norm = float(np.linalg.norm(c))
    return c / norm if norm > 0 else c


def coefficient_importance(fit: Fit) -> pd.DataFrame | None:
    """feature, importance (|c/‖c‖|), direction (sign), signed value; None for non-linear families."""
    c = normalized_coefficients(fit)
    if c is None:
        return None
    return pd.DataFrame(
        {"feature": list(fit.inputs), "importance": np.abs(c), "direction": np.sign(c).astype(int), "value": c}
    )


def permutation_draws(
    model: Any, X: pd.DataFrame, y: npt.ArrayLike, *, n_repeats: int = 20, seed: int = 0
) -> tuple[float, npt.NDArray[np.float64]]:
    """Baseline R² of *model* on (X, y) and the R² drops of *n_repeats* permutations of each column.

    The permutations are scikit-learn's ``permutation_importance(model, X, y, n_repeats=n_repeats,
    random_state=seed, scoring="r2")``, draw for draw (the same seed stream, the same cumulative
    shuffles per column), but every permuted copy of X is stacked into one table and predicted in one
    call: a forest or a booster pays its per-call overhead once instead of once per repeat and column
    (``benchmarks/bench_permutation.py`` measures both on the demo's fits; the test checks equality).
    Returns ``(baseline, drops)`` with ``drops`` of shape (columns, repeats).
    """
    target = np.asarray(y, dtype=float)
    n, p = X.shape
    seed_stream = check_random_state(seed).randint(np.iinfo(np.int32).max + 1)
    values = X.to_numpy(copy=True)
    blocks = []
    for j in range(p):
        rng = check_random_state(seed_stream)
        shuffling = np.arange(n)
        column = values[:, j].copy()
        for _ in range(n_repeats):
            rng.shuffle(shuffling)
            column = column[shuffling]
            block = values.copy()
            block[:, j] = column
            blocks.append(block)
    stacked = pd.DataFrame(np.vstack(blocks), columns=X.columns).astype(X.dtypes.to_dict())
    predicted = np.asarray(model.predict(stacked), dtype=float).reshape(p, n_repeats, n)
    baseline = float(r2_score(target, np.asarray(model.predict(X), dtype=float)))
    scores = np.array([[r2_score(target, predicted[j, r]) for r in range(n_repeats)] for j in range(p)])
    return baseline, baseline - scores


def permutation_table(fit: Fit, *, n_repeats: int = 20, seed: int = 0) -> pd.DataFrame | None:
    """feature, importance (mean drop of test R²), ci_low, ci_high; None with fewer than 3 test rows."""
    if len(fit.X_test) < 3:
        return None
    _, draws = permutation_draws(
        fit.pipeline, fit.X_test.loc[:, list(fit.inputs)], fit.y_test, n_repeats=n_repeats, seed=seed
    )
    return pd.DataFrame(
        {
            "feature": list(fit.inputs),
            "importance": draws.mean(axis=1),
            "ci_low": np.quantile(draws, 0.025, axis=1),
            "ci_high": np.quantile(draws, 0.975, axis=1),
        }
    )


def finish(table: pd.DataFrame, fit: Fit, method: str) -> pd.DataFrame:
    """Add key columns, share and rank (1 = most important; ties share the lower rank)."""
    out = table.copy()
    out.insert(0, "method", method)
    out.insert(0, "family", fit.family)
    out.insert(0, "scenario", fit.scenario)
    out.insert(0, "target", fit.target)
    positive = out["importance"].clip(lower=0)
    total = float(positive.sum())
    out["share"] = positive / total if total > 0 else np.nan
    out["rank"] = out["importance"].rank(ascending=False, method="min").astype(int)
    for column in ("ci_low", "ci_high", "direction_agreement"):
        if column not in out:
            out[column] = np.nan
    out["explainable"] = fit.explainable
    out["direction"] = out["direction"].astype(int)
    return out.loc[:, list(IMPORTANCE_COLUMNS)]
