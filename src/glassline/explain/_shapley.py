"""Interventional SHAP values with one semantics for every model family: :func:`shap_values`.

Whatever the family, the value of input j for row x is its Shapley value in the game
v(S) = mean over background rows b of f(x_S, b_S̄) (interventional, Janzing et al. 2020), with the
training rows (or the background given) as b. So for every row ``values.sum(1) + base_values`` is the
model's prediction and ``base_values`` is the mean prediction over the background, for any family.

The algorithm is the fastest one that gives those values exactly (``_closed_forms.py``, ``_exact.py``);
``explanation.settings.algorithm`` names it:

- ``"closed-form linear"``: per-input scalers then a linear model (mlr), any number of inputs;
- ``"closed-form polynomial"``: per-input scalers, PolynomialFeatures (degree ≤ 2), a linear model
  (poly2), any number of inputs;
- ``"RBF product"``: per-input scalers then an RBF SVR, optionally inside an affine target transform
  (svr), up to ``max_exact_inputs`` inputs;
- ``"tabulated trees"``: a tree ensemble (behind per-input scalers) whose split thresholds span a grid
  of fewer cells than enumeration would make model calls: the model is tabulated once on that grid
  (:func:`glassline.models._fast.tree_grid`, verified against its predict) and every coalition value
  is a mean of table lookups (:class:`glassline._coalitions.TabulatedGame`); exact, like enumeration;
- ``"batched exact enumeration"``: any other model up to ``max_exact_inputs`` inputs, and trees while
  enumeration is cheap (see ``TREE_ENUMERATION_*``);
- ``"TreeExplainer interventional"``: trees otherwise; shap's algorithm on the tree step (after the
  scalers), background in blocks of ≤ 100 rows, first row spot-checked against enumeration. Agrees with
  exact values to ≈ 1e-7 relative (float32 inside shap), not to 1e-8;
- ``"Permutation (approximate)"``: no exact algorithm polynomial in M and more than ``max_exact_inputs``
  inputs: shap's PermutationExplainer with the same background, its error stated.

The returned :class:`shap.Explanation` carries a :class:`ShapSettings` as its ``settings``
attribute (algorithm, background size, estimated error, efficiency gap). Slicing an Explanation
returns a new object without it; read it before slicing.

>>> from glassline.models import load_fits
>>> fit = load_fits("results").best("adhesion_strength", "product")   # doctest: +SKIP
>>> explanation = shap_values(fit, fit.X_test)                         # doctest: +SKIP
>>> explanation.settings.algorithm                                     # doctest: +SKIP
'closed-form polynomial'
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

with warnings.catch_warnings():
    # shap 0.51 calls matplotlib's Colormap.set_bad when imported, which matplotlib ≥ 3.10 flags as a
    # pending deprecation; not ours to fix, and fatal where warnings are errors (this project's tests).
    warnings.filterwarnings("ignore", message="The set_bad function", category=PendingDeprecationWarning)
    import shap

from glassline._coalitions import TabulatedGame
from glassline.exceptions import DataError, did_you_mean
from glassline.explain._closed_forms import (
    Structure,
    analyse,
    linear_values,
    quadratic_values,
    rbf_coalition_values,
)
from glassline.explain._exact import enumerate_values, shapley_from_coalitions
from glassline.models._fast import MAX_GRID_CELLS, TreeGrid, tree_grid

__all__ = ["Algorithm", "ShapSettings", "shap_values"]

Algorithm = Literal[
    "closed-form linear",
    "closed-form polynomial",
    "RBF product",
    "tabulated trees",
    "batched exact enumeration",
    "TreeExplainer interventional",
    "Permutation (approximate)",
]

_KINDS = ("linear", "tree", "exact")

#: Tree rule. Enumeration costs 2^M − 2 stacked model calls per row and background row, each one pass
#: down every tree (∝ depth); shap's interventional TreeSHAP costs one joint walk of x and b per tree
#: whose work grows about with depth². Measured with shap 0.51 on 2 cores (20 rows explained,
#: 100-tree forest, 50-round depth-2 XGBoost, 40 or 100 background rows), the two tie near
#: 2^M − 2 ≈ 0.1–0.14 × depth² for the forest and at M = 3 for XGBoost. Enumeration is exact to
#: float64 rounding, while shap's ``tree_shap_indep`` keeps its path weights in float32 (≈ 1e-7
#: relative), so enumeration is taken while 2^M − 2 ≤ max(6, 0.25 × mean depth²): at most about 2×
#: slower than TreeSHAP, and exact.
TREE_ENUMERATION_FACTOR = 0.25
TREE_ENUMERATION_MIN_COALITIONS = 6
#: ... and whenever the enumeration is small in absolute terms (stacked rows = rows × (2^M − 2) ×
#: background rows; 250,000 take well under a second for a 100-tree forest), so the small studies
#: glassline is made for get exact tree values.
TREE_ENUMERATION_BUDGET = 250_000
#: A tree ensemble is tabulated when its grid has at most this many cells, or at most as many as the
#: rows enumeration would predict (building the table predicts one row per cell; lookups are free).
TREE_TABLE_MIN_CELLS = 20_000
#: Largest relative disagreement of TreeSHAP with enumeration on the spot-checked row: its float32 path
#: weights give ≈ 1e-6 (measured on 50-round XGBoost, 4–8 inputs); the failures it guards against were 30–140 %.
TREE_CHECK_TOLERANCE = 1e-4


@dataclass(frozen=True)
class ShapSettings:
    """How a :func:`shap_values` result was computed; attached to it as ``explanation.settings``.

    ``estimated_error`` is None for exact algorithms; for the permutation path it is the largest
    difference between two runs with different seeds divided by √2 (the standard error of one run's
    value), relative to the largest absolute attribution. ``efficiency_gap`` is the largest
    |Σ values + base − prediction| over the rows, relative to the largest |prediction| (≥ 1e-300).
    """

    algorithm: Algorithm
    kind: Literal["linear", "tree", "exact"]
    n_inputs: int
    n_rows: int
    background_size: int
    background: str
    estimated_error: float | None
    efficiency_gap: float
    seed: int


# ----------------------------------------------------------------------------- checks
def _frame(table: Any, inputs: list[str], name: str) -> np.ndarray:
    """The *inputs* columns of *table* as float64, with explicit errors for what does not fit."""
    if not isinstance(table, pd.DataFrame):
        raise DataError(f"{name}: expected a pandas DataFrame with columns {inputs}; got {type(table).__name__}")
    for column in inputs:
        if column not in table.columns:
            raise DataError(
                f"{name}: missing column {column!r} that the model needs (inputs: {inputs})."
                + did_you_mean(column, [str(c) for c in table.columns])
            )
    if table.shape[0] == 0:
        raise DataError(f"{name}: no rows; expected at least one row of {inputs}")
    selected = table.loc[:, inputs]
    for column in inputs:
        if not pd.api.types.is_numeric_dtype(selected[column]) or pd.api.types.is_bool_dtype(selected[column]):
            raise DataError(f"{name}: column {column!r} must be numeric; got dtype {selected[column].dtype}")
    values = selected.to_numpy(dtype=float)
    bad = ~np.isfinite(values)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise DataError(
            f"{name}: column {inputs[col]!r} has {int(bad[:, col].sum())} missing or infinite value(s), "
            f"first at row {selected.index[row]!r}; SHAP needs finite inputs"
        )
    return values


def _model_inputs(model: Any, X: Any) -> tuple[Any, list[str], pd.DataFrame | None, str]:
    """(estimator, inputs, default background, background label) of a Fit or a bare estimator."""
    from glassline.models import Fit

    if isinstance(model, Fit):
        return model.pipeline, list(model.inputs), model.X_train, "the fit's training rows"
    if not hasattr(model, "predict"):
        raise TypeError(
            f"model: expected a glassline Fit or a fitted estimator with predict; got {type(model).__name__}"
        )
    names = getattr(model, "feature_names_in_", None)
    if names is not None:
        inputs = [str(n) for n in names]
    elif isinstance(X, pd.DataFrame):
        inputs = [str(c) for c in X.columns]
    else:
        inputs = []
    return model, inputs, None, "given"


def _predictor(estimator: Any, inputs: list[str]) -> Callable[[np.ndarray], np.ndarray]:
    named = hasattr(estimator, "feature_names_in_")

    def predict(rows: np.ndarray) -> np.ndarray:
        data: Any = pd.DataFrame(rows, columns=inputs) if named else rows
        return np.asarray(estimator.predict(data), dtype=float).reshape(-1)

    return predict


# ----------------------------------------------------------------------------- trees
def _mean_depth(core: Any) -> float:
    """Mean depth of the trees of a fitted forest or booster (used only by the tree rule)."""
    if hasattr(core, "estimators_"):
        estimators = np.ravel(core.estimators_)
        return float(np.mean([e.get_depth() for e in estimators]))
    if hasattr(core, "tree_"):
        return float(core.get_depth())
    depth = core.get_params().get("max_depth")
    return float(depth if depth else 6)  # xgboost's default depth is 6


def _enumeration_is_cheaper(core: Any, n_inputs: int, n_rows: int, n_background: int) -> bool:
    if n_rows * (2**n_inputs - 2) * n_background <= TREE_ENUMERATION_BUDGET:
        return True
    budget = max(TREE_ENUMERATION_MIN_COALITIONS, TREE_ENUMERATION_FACTOR * _mean_depth(core) ** 2)
    return 2**n_inputs - 2 <= budget


#: shap 0.51's interventional TreeExplainer returns wrong attributions (off by up to ~50 % of the largest
#: one, while their sum stays right) when given more than 100 background rows: measured on 100-tree
#: forests fitted to 200–1,000 rows, every background of ≤ 100 rows matched exact enumeration to 1e-6,
#: every larger one did not. Interventional values are the background-weighted mean of the values for
#: each part of the background, so the background is passed in blocks of at most this many rows.
TREE_BACKGROUND_BLOCK = 100


def _tree_values(structure: Structure, Z: np.ndarray, ZB: np.ndarray) -> np.ndarray:
    total = np.zeros(Z.shape)
    for start in range(0, ZB.shape[0], TREE_BACKGROUND_BLOCK):
        block = ZB[start : start + TREE_BACKGROUND_BLOCK]
        explainer = shap.TreeExplainer(structure.core, data=block, feature_perturbation="interventional")
        values = explainer.shap_values(Z, check_additivity=False)
        total += np.asarray(values, dtype=float).reshape(Z.shape) * (block.shape[0] / ZB.shape[0])
    return structure.out_slope * total


def _tree_table(
    estimator: Any, form: str | None, n_inputs: int, max_exact_inputs: int, n_rows: int, background: np.ndarray
) -> TreeGrid | None:
    """The tabulated tree ensemble when tabulating costs fewer model rows than enumeration would."""
    if form != "tree" or n_inputs > max_exact_inputs:
        return None
    enumeration_rows = n_rows * (2**n_inputs - 2) * background.shape[0]
    return tree_grid(estimator, background, max_cells=min(MAX_GRID_CELLS, max(enumeration_rows, TREE_TABLE_MIN_CELLS)))


# ----------------------------------------------------------------------------- permutation
def _permutation_values(
    predict: Callable[[np.ndarray], np.ndarray], X: np.ndarray, B: np.ndarray, seed: int
) -> tuple[np.ndarray, float]:
    masker = shap.maskers.Independent(B, max_samples=B.shape[0])
    max_evals = max(500, 10 * (2 * X.shape[1] + 1))
    runs = []
    for run_seed in (seed, seed + 1):
        explainer = shap.PermutationExplainer(predict, masker, seed=run_seed)
        runs.append(np.asarray(explainer(X, max_evals=max_evals, silent=True).values, dtype=float))
    scale = max(float(np.abs(runs[0]).max()), 1e-300)
    error = float(np.abs(runs[0] - runs[1]).max()) / math.sqrt(2.0) / scale
    return runs[0], error


# ----------------------------------------------------------------------------- entry point
def shap_values(
    model: Any,
    X: pd.DataFrame,
    background: pd.DataFrame | None = None,
    *,
    kind: Literal["linear", "tree", "exact"] | None = None,
    max_exact_inputs: int = 12,
    seed: int = 0,
) -> shap.Explanation:
    """Interventional SHAP values of *model* for the rows of *X*, against the *background* rows.

    *model* is a :class:`glassline.models.Fit` (background defaults to all its training rows, kind to
    its family's explainer) or any fitted scikit-learn estimator or pipeline with ``predict``
    (background required, kind defaults to ``"exact"``). *kind* picks the algorithm family:
    ``"linear"`` needs a model affine in its inputs, ``"tree"`` a tree ensemble, ``"exact"`` takes
    the fastest exact algorithm the model allows and falls back to shap's PermutationExplainer (with
    its error stated) above *max_exact_inputs* inputs when none is polynomial in M.

    Returns a :class:`shap.Explanation` with ``values`` (n, M), ``base_values`` (n,) =
    mean prediction over the background, ``data`` (n, M), ``feature_names`` and ``settings``
    (a :class:`ShapSettings`). Deterministic for a given *seed*.
    """
    estimator, inputs, default_background, background_label = _model_inputs(model, X)
    if not inputs:
        raise DataError(f"X: expected a pandas DataFrame of the model's inputs; got {type(X).__name__}")
    if kind is None:
        from glassline.models import Fit

        kind = model.explainer if isinstance(model, Fit) else "exact"
    if kind not in _KINDS:
        raise ValueError(
            f"The 'kind' parameter of shap_values must be one of {list(_KINDS)} or None. Got {kind!r} instead."
        )
    if not isinstance(max_exact_inputs, int) or max_exact_inputs < 1:
        raise ValueError(
            f"The 'max_exact_inputs' parameter of shap_values must be an int ≥ 1. Got {max_exact_inputs!r} instead."
        )
    if background is None:
        if default_background is None:
            raise DataError("background: required for a bare estimator (e.g. its training rows as a DataFrame)")
        background = default_background
    else:
        background_label = "given"
    x = _frame(X, inputs, "X")
    b = _frame(background, inputs, "background")

    predict = _predictor(estimator, inputs)
    f_x = predict(x)
    base = float(predict(b).mean())
    n_inputs = len(inputs)
    structure = analyse(estimator)
    form = structure.kind if structure is not None else None

    estimated_error: float | None = None
    algorithm: Algorithm
    if kind == "linear" and form != "linear":
        raise ValueError(
            f"kind='linear' needs a model affine in its inputs (scalers then a linear model); got {estimator!r}"
        )
    if kind == "tree" and form != "tree":
        raise ValueError(f"kind='tree' needs a tree ensemble (optionally behind scalers); got {estimator!r}")

    if structure is not None and form in ("linear", "quadratic"):
        Z, ZB = structure.scaled(x, inputs), structure.scaled(b, inputs)
        if form == "linear":
            algorithm, values = "closed-form linear", linear_values(structure, Z, ZB)
        else:
            algorithm, values = "closed-form polynomial", quadratic_values(structure, Z, ZB)
    elif structure is not None and form == "rbf" and n_inputs <= max_exact_inputs:
        algorithm = "RBF product"
        coalitions = rbf_coalition_values(structure, structure.scaled(x, inputs), structure.scaled(b, inputs))
        values = shapley_from_coalitions(coalitions, n_inputs)
    elif (grid := _tree_table(estimator, form, n_inputs, max_exact_inputs, x.shape[0], b)) is not None:
        algorithm = "tabulated trees"
        values = shapley_from_coalitions(TabulatedGame(grid, b).coalition_values(x), n_inputs)
    elif (
        structure is not None
        and form == "tree"
        and (
            n_inputs > max_exact_inputs
            or (kind == "tree" and not _enumeration_is_cheaper(structure.core, n_inputs, x.shape[0], b.shape[0]))
        )
    ):
        algorithm = "TreeExplainer interventional"
        values = _tree_values(structure, structure.scaled(x, inputs), structure.scaled(b, inputs))
        if n_inputs <= max_exact_inputs:
            # Spot check of the first row against exact enumeration: TreeSHAP has failed silently
            # before (see TREE_BACKGROUND_BLOCK); if it disagrees, enumerate every row instead.
            check = enumerate_values(predict, x[:1], b, f_x=f_x[:1], f_background_mean=base)
            exact_first = shapley_from_coalitions(check, n_inputs)[0]
            if np.abs(values[0] - exact_first).max() > TREE_CHECK_TOLERANCE * max(np.abs(exact_first).max(), 1e-12):
                algorithm = "batched exact enumeration"
                coalitions = enumerate_values(predict, x, b, f_x=f_x, f_background_mean=base)
                values = shapley_from_coalitions(coalitions, n_inputs)
    elif n_inputs <= max_exact_inputs:
        algorithm = "batched exact enumeration"
        coalitions = enumerate_values(predict, x, b, f_x=f_x, f_background_mean=base)
        values = shapley_from_coalitions(coalitions, n_inputs)
    else:
        algorithm = "Permutation (approximate)"
        values, estimated_error = _permutation_values(predict, x, b, seed)

    scale = max(float(np.abs(f_x).max()), abs(base), 1e-300)
    gap = float(np.abs(values.sum(axis=1) + base - f_x).max()) / scale
    explanation = shap.Explanation(
        values=values,
        base_values=np.full(x.shape[0], base),
        data=x,
        feature_names=list(inputs),
        display_data=None,
    )
    explanation.settings = ShapSettings(
        algorithm=algorithm,
        kind=kind,
        n_inputs=n_inputs,
        n_rows=x.shape[0],
        background_size=b.shape[0],
        background=background_label,
        estimated_error=estimated_error,
        efficiency_gap=gap,
        seed=seed,
    )
    return explanation
