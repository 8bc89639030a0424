"""The one Shapley engine: interventional SHAP values with one semantics for every model, by the fastest exact path.

Whatever the model, the value of input j for row x is its Shapley value in the game
v(S) = mean over background rows b of f(x_S, b_S̄) (interventional, Janzing et al. 2020). So for every
row ``values.sum(1) + base_value`` is the model's prediction and ``base_value`` is the mean prediction
over the background, for any family.

:class:`ShapleyEngine` chooses the algorithm ONCE per fitted model and background, from the model's
structure (``_closed_forms.py``) and the background's size, and names it with one :data:`Algorithm`
(the explain stage, the service and the reports show the same name):

- ``"closed-form linear"``: per-input scalers then a linear model (mlr), any number of inputs;
- ``"closed-form polynomial"``: per-input scalers, PolynomialFeatures (degree ≤ 2), a linear model
  (poly2), any number of inputs;
- ``"RBF product"``: per-input scalers then an RBF SVR, optionally inside an affine target transform
  (svr), up to :data:`MAX_EXACT_INPUTS` inputs;
- ``"tabulated trees"``: a tree ensemble (behind per-input scalers) whose split thresholds span a grid
  of fewer cells than enumeration would make model calls: the model is tabulated once on that grid
  (:func:`~glassline.shapley.tree_grid`, verified against its predict) and every coalition value is a
  mean of table lookups (:class:`~glassline.shapley.TabulatedGame`); exact, like enumeration;
- ``"batched exact enumeration"``: any other model up to :data:`MAX_EXACT_INPUTS` inputs, and trees
  while enumeration is cheap (see ``TREE_ENUMERATION_*``);
- ``"TreeExplainer interventional"``: trees otherwise; shap's algorithm on the tree step (after the
  scalers), background in blocks of ≤ 100 rows, checked once on the first background row against
  enumeration. Agrees with exact values to ≈ 1e-7 relative (float32 inside shap), not to 1e-8;
- ``"Permutation (approximate)"``: no exact algorithm polynomial in M and more than
  :data:`MAX_EXACT_INPUTS` inputs: shap's PermutationExplainer with the same background, its
  estimated error stated in :attr:`Attributions.estimated_error`.

The rules that weigh rows (tree tabulation, enumeration against TreeSHAP) count ``expected_rows``
rows per call, by default as many as the background has: the explain stage explains the training rows
against the training rows, and the service uses the same default, so both choose the same algorithm
for the same model and background. Predictions go through the fastest verified predictor
(:func:`~glassline.shapley.fast_predictor`: a table, compiled array operations, or the pipeline).

>>> engine = ShapleyEngine(fit.pipeline, fit.X_train, kind=fit.explainer)     # doctest: +SKIP
>>> engine.algorithm                                                          # doctest: +SKIP
'closed-form polynomial'
>>> engine.explain(fit.X_test.to_numpy()).values.shape                        # doctest: +SKIP
(11, 3)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from glassline.exceptions import DataError, did_you_mean
from glassline.shapley._closed_forms import LinearForm, QuadraticForm, RbfProduct, analyse
from glassline.shapley._coalitions import TabulatedGame, shapley_from_coalitions, shapley_weight_matrix
from glassline.shapley._compiled import FloatArray, pipeline_predict
from glassline.shapley._enumeration import enumerate_values
from glassline.shapley._predictor import Predictor, fast_predictor
from glassline.shapley._shap_paths import TreeShap, permutation_values
from glassline.shapley._tree_table import MAX_GRID_CELLS

if TYPE_CHECKING:
    from glassline.models import ExplainerKind

__all__ = [
    "MAX_BLOCK_VALUES",
    "MAX_EXACT_INPUTS",
    "TREE_CHECK_TOLERANCE",
    "TREE_ENUMERATION_BUDGET",
    "TREE_ENUMERATION_FACTOR",
    "TREE_ENUMERATION_MIN_COALITIONS",
    "TREE_TABLE_MIN_CELLS",
    "Algorithm",
    "Attributions",
    "ShapleyEngine",
    "input_array",
]

#: Every algorithm the engine uses, by the one name the explain stage, the service and the reports show.
Algorithm = Literal[
    "closed-form linear",
    "closed-form polynomial",
    "RBF product",
    "tabulated trees",
    "batched exact enumeration",
    "TreeExplainer interventional",
    "Permutation (approximate)",
]

#: Exact algorithms that are exponential in the inputs (enumeration, the RBF product, tree tables) are used up
#: to this many inputs (2^M coalitions × background rows per explained row); above it a model without a
#: closed form is explained by TreeSHAP (trees) or the permutation approximation, its error stated.
MAX_EXACT_INPUTS = 12

#: A call is explained in blocks of rows whose working set (stacked coalition rows for enumeration, table
#: lookups, coalition values) holds at most this many numbers (8 bytes each: 32 MB).
MAX_BLOCK_VALUES = 1 << 22

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
class Attributions:
    """Predictions and interventional SHAP values of rows: ``values.sum(1) + base_value == prediction``."""

    prediction: FloatArray  # (n,)
    values: FloatArray  # (n, p)
    base_value: float
    estimated_error: float | None = None  # None for exact algorithms; see permutation_values


# ----------------------------------------------------------------------------- checks
def input_array(table: Any, inputs: Sequence[str], name: str) -> FloatArray:
    """The *inputs* columns of *table* (a DataFrame) as float64, with explicit errors for what does not fit."""
    inputs = list(inputs)
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


# ----------------------------------------------------------------------------- tree rules
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
    coalitions = (1 << n_inputs) - 2
    if n_rows * coalitions * n_background <= TREE_ENUMERATION_BUDGET:
        return True
    budget = max(TREE_ENUMERATION_MIN_COALITIONS, TREE_ENUMERATION_FACTOR * _mean_depth(core) ** 2)
    return coalitions <= budget


def _table_cells(n_inputs: int, n_rows: int, n_background: int) -> int:
    """The largest tree table worth building: the rows enumeration would predict, at least TREE_TABLE_MIN_CELLS."""
    enumeration_rows = n_rows * ((1 << n_inputs) - 2) * n_background
    return min(MAX_GRID_CELLS, max(enumeration_rows, TREE_TABLE_MIN_CELLS))


# ----------------------------------------------------------------------------- the engine
#: How one block of rows is explained: rows (n, p) -> (predictions (n,), values (n, p)).
_Attribute = Callable[[FloatArray], tuple[FloatArray, FloatArray]]


class ShapleyEngine:
    """Predictions and interventional SHAP values of one fitted model against one background.

    *model*: a :class:`glassline.models.Fit` or any fitted estimator or pipeline with ``predict``.
    *background*: a DataFrame holding the model's inputs (every row is used). *kind* constrains the
    algorithm: ``"linear"`` needs a model affine in its inputs, ``"tree"`` a tree ensemble (and lets
    TreeSHAP in where measured faster), ``"exact"`` takes the fastest exact algorithm the model allows;
    default: the fit's family explainer, ``"exact"`` for a bare estimator. *inputs*: the model's input
    names in its order (default: the fit's inputs, the estimator's ``feature_names_in_``, else the
    background's columns). *expected_rows*: rows one call explains, for the rules that weigh rows
    (default: the background's size, the same for every caller). *table_cells*: the largest table of a
    tree ensemble to build (default: as many cells as enumerating *expected_rows* would predict, at least
    ``TREE_TABLE_MIN_CELLS``); an engine that lives long, such as the service's, passes
    ``MAX_GRID_CELLS``: the table is built once and every later row costs lookups only. Tabulated and
    enumerated values are the same exact values, so this changes the time, not the numbers. *fast*:
    predict with the verified fast predictor (False: with the pipeline itself, for comparison). *seed*
    drives the permutation path.

    The choice is made here, once: :attr:`algorithm`, :attr:`predictor`, :attr:`base_value` are fixed;
    :meth:`explain` takes rows (n, p) in the order of :attr:`inputs`.
    """

    def __init__(
        self,
        model: Any,
        background: pd.DataFrame,
        *,
        kind: ExplainerKind | None = None,
        seed: int = 0,
        expected_rows: int | None = None,
        table_cells: int | None = None,
        max_exact_inputs: int = MAX_EXACT_INPUTS,
        inputs: Sequence[str] | None = None,
        fast: bool = True,
    ) -> None:
        estimator, default_inputs, default_kind = _resolve(model)
        if inputs is None:
            inputs = default_inputs if default_inputs is not None else _columns(background)
        kind = default_kind if kind is None else kind
        if kind not in _KINDS:
            raise ValueError(
                f"The 'kind' parameter of ShapleyEngine must be one of {list(_KINDS)} or None. Got {kind!r} instead."
            )
        if not isinstance(max_exact_inputs, int) or isinstance(max_exact_inputs, bool) or max_exact_inputs < 1:
            raise ValueError(
                "The 'max_exact_inputs' parameter of ShapleyEngine must be an int ≥ 1. "
                f"Got {max_exact_inputs!r} instead."
            )
        if table_cells is not None and (
            not isinstance(table_cells, int) or isinstance(table_cells, bool) or table_cells < 0
        ):
            raise ValueError(
                f"The 'table_cells' parameter of ShapleyEngine must be an int ≥ 0 or None. Got {table_cells!r} instead."
            )
        if expected_rows is not None and (
            not isinstance(expected_rows, int) or isinstance(expected_rows, bool) or expected_rows < 1
        ):
            raise ValueError(
                "The 'expected_rows' parameter of ShapleyEngine must be an int ≥ 1 or None. "
                f"Got {expected_rows!r} instead."
            )
        self.inputs: tuple[str, ...] = tuple(str(name) for name in inputs)
        if not self.inputs:
            raise DataError("background: expected a pandas DataFrame of the model's inputs; got no input names")
        b = input_array(background, self.inputs, "background")
        self.kind: ExplainerKind = kind
        self.seed = seed
        self.background_rows = b.shape[0]
        self._background = b
        p, m = len(self.inputs), b.shape[0]
        rows = m if expected_rows is None else expected_rows

        structure = analyse(estimator)
        form = structure.kind if structure is not None else None
        if kind == "linear" and form != "linear":
            raise ValueError(
                f"kind='linear' needs a model affine in its inputs (scalers then a linear model); got {estimator!r}"
            )
        if kind == "tree" and form != "tree":
            raise ValueError(f"kind='tree' needs a tree ensemble (optionally behind scalers); got {estimator!r}")

        predictor: Predictor
        if fast:
            budget = _table_cells(p, rows, m) if table_cells is None else min(MAX_GRID_CELLS, table_cells)
            cells = budget if form == "tree" and p <= max_exact_inputs else 0
            predictor = fast_predictor(estimator, b, max_cells=cells, columns=self.inputs)
        else:
            predictor = Predictor(
                pipeline_predict(estimator, self.inputs), "the pipeline's predict (scikit-learn checks off)"
            )
        self.predictor: str = predictor.description
        self._predict = predictor.predict
        self.base_value = float(np.mean(self.predict(b)))

        self._weights = shapley_weight_matrix(p) if p <= max_exact_inputs else None
        # numbers one row holds while it is explained (sets the block size), and how a block is explained
        self._per_row = p
        self._attribute: _Attribute | None = None
        self.algorithm: Algorithm = "Permutation (approximate)"
        exact_limit = p <= max_exact_inputs
        if structure is None or form is None:
            if exact_limit:
                self._use_enumeration()
            return
        scale = structure.scaler()
        ZB = scale(b)
        if form in ("linear", "quadratic"):
            closed = LinearForm(structure, ZB) if form == "linear" else QuadraticForm(structure, ZB)
            self.algorithm = "closed-form linear" if form == "linear" else "closed-form polynomial"
            self._attribute = lambda x: (self._f(x), closed.values(scale(x)))
        elif form == "rbf" and exact_limit:
            rbf = RbfProduct(structure, ZB)
            self.algorithm, self._per_row = "RBF product", 2**p
            self._attribute = lambda x: (self._f(x), self._shapley(rbf.coalition_values(scale(x))))
        elif predictor.grid is not None:
            game = TabulatedGame(predictor.grid, b)
            self.algorithm, self._per_row = "tabulated trees", 2**p * m
            self._attribute = lambda x: self._from_coalitions(game.coalition_values(x))
        elif form == "tree" and (
            not exact_limit or (kind == "tree" and not _enumeration_is_cheaper(structure.core, p, rows, m))
        ):
            tree = TreeShap(structure, ZB)
            self.algorithm = "TreeExplainer interventional"
            self._attribute = lambda x: (self._f(x), tree.values(scale(x)))
            # Checked once, on the first background row, against exact enumeration: TreeSHAP has failed
            # silently before (see TREE_BACKGROUND_BLOCK); if it disagrees, every row is enumerated instead.
            if exact_limit and not self._agrees(tree.values(ZB[:1])[0], b[:1]):
                self._use_enumeration()
        elif exact_limit:
            self._use_enumeration()

    # ------------------------------------------------------------------ calls
    def predict(self, x: FloatArray) -> FloatArray:
        """Predictions (n,) for rows (n, p) in the order of :attr:`inputs`, by :attr:`predictor`."""
        return self._f(self._rows(x))

    def explain(self, x: FloatArray) -> Attributions:
        """Predictions and SHAP values for rows (n, p) in the order of :attr:`inputs`, in bounded-memory blocks.

        Rows far outside the background may overflow to non-finite values; the caller checks finiteness.
        """
        x = self._rows(x)
        p = len(self.inputs)
        with np.errstate(all="ignore"):
            if self._attribute is None:  # the permutation path: one run over all rows (its seed spans them)
                values, error = permutation_values(self._f, x, self._background, self.seed)
                return Attributions(self._f(x), values, self.base_value, error)
            if len(x) == 0:
                return Attributions(np.zeros(0), np.zeros((0, p)), self.base_value)
            block = max(1, MAX_BLOCK_VALUES // self._per_row)
            attribute = self._attribute
            if len(x) <= block:  # one block: the service's single rows
                prediction, values = attribute(x)
                return Attributions(prediction, values, self.base_value)
            parts = [attribute(x[i : i + block]) for i in range(0, len(x), block)]
        prediction = np.concatenate([part[0] for part in parts])
        values = np.vstack([part[1] for part in parts])
        return Attributions(prediction, values, self.base_value)

    def __repr__(self) -> str:
        return (
            f"ShapleyEngine(algorithm={self.algorithm!r}, inputs={list(self.inputs)}, "
            f"background_rows={self.background_rows}, predictor={self.predictor!r})"
        )

    # ------------------------------------------------------------------ internals
    def _rows(self, x: Any) -> FloatArray:
        rows = np.atleast_2d(np.asarray(x, dtype=float))
        if rows.ndim != 2 or rows.shape[1] != len(self.inputs):
            raise DataError(
                f"x: expected rows of {len(self.inputs)} inputs {list(self.inputs)}; got an array of shape {rows.shape}"
            )
        return rows

    def _f(self, x: FloatArray) -> FloatArray:
        return np.asarray(self._predict(x), dtype=float).reshape(-1)

    def _shapley(self, coalitions: FloatArray) -> FloatArray:
        return shapley_from_coalitions(coalitions, len(self.inputs), self._weights)

    def _from_coalitions(self, coalitions: FloatArray) -> tuple[FloatArray, FloatArray]:
        return coalitions[:, -1], self._shapley(coalitions)

    def _use_enumeration(self) -> None:
        self.algorithm = "batched exact enumeration"
        self._per_row = 2 ** len(self.inputs) * self.background_rows * len(self.inputs)
        self._attribute = self._enumerate

    def _enumerate(self, x: FloatArray) -> tuple[FloatArray, FloatArray]:
        f_x = self._f(x)
        coalitions = enumerate_values(self._f, x, self._background, f_x=f_x, f_background_mean=self.base_value)
        return f_x, self._shapley(coalitions)

    def _agrees(self, tree_first: FloatArray, first: FloatArray) -> bool:
        exact = self._enumerate(first)[1][0]
        return bool(np.abs(tree_first - exact).max() <= TREE_CHECK_TOLERANCE * max(np.abs(exact).max(), 1e-12))


def _resolve(model: Any) -> tuple[Any, list[str] | None, ExplainerKind]:
    """(estimator, its input names when it knows them, the default kind) of a Fit or a bare estimator."""
    from glassline.models import Fit

    if isinstance(model, Fit):
        return model.pipeline, list(model.inputs), model.explainer
    if not hasattr(model, "predict"):
        raise TypeError(
            f"model: expected a glassline Fit or a fitted estimator with predict; got {type(model).__name__}"
        )
    names = getattr(model, "feature_names_in_", None)
    return model, ([str(n) for n in names] if names is not None else None), "exact"


def _columns(background: Any) -> list[str]:
    return [str(c) for c in background.columns] if isinstance(background, pd.DataFrame) else []
