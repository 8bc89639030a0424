"""The one Shapley engine: interventional SHAP values of any fitted model, by the fastest exact algorithm.

:class:`ShapleyEngine` chooses the algorithm once per fitted model and background, from the model's
structure (closed forms for linear and degree-2 polynomial models, the RBF kernel's product structure,
tabulated tree ensembles, batched exact enumeration, shap's TreeExplainer where measured faster, and
shap's PermutationExplainer with its error stated above :data:`MAX_EXACT_INPUTS` inputs), and names it
with one :data:`Algorithm`. The explain stage (:func:`glassline.explain.shap_values`) and the inference
service both use it, so a row gets the same attributions in the report and from the service.

Its building blocks are public for benchmarks and tests: the coalition game (masks, Shapley weights,
the tabulated game), batched enumeration, the model structures with closed forms, and the verified
fast predictors (compiled array operations and tree tables, each checked against ``pipeline.predict``).

>>> from glassline.shapley import ShapleyEngine
>>> engine = ShapleyEngine(pipeline, background)          # doctest: +SKIP
>>> engine.algorithm, engine.predictor                    # doctest: +SKIP
>>> engine.explain(rows).values                           # doctest: +SKIP
"""

from glassline.shapley._closed_forms import LinearForm, QuadraticForm, RbfProduct, Structure, analyse
from glassline.shapley._coalitions import (
    TabulatedGame,
    coalition_masks,
    shapley_from_coalitions,
    shapley_weight_matrix,
)
from glassline.shapley._compiled import CompiledPredictor, compile_pipeline, pipeline_predict, probe_rows
from glassline.shapley._engine import MAX_EXACT_INPUTS, Algorithm, Attributions, ShapleyEngine, input_array
from glassline.shapley._enumeration import enumerate_values
from glassline.shapley._predictor import Predictor, fast_predictor
from glassline.shapley._shap_paths import TreeShap, permutation_values, tree_values
from glassline.shapley._tree_table import MAX_GRID_CELLS, TreeGrid, TreeThresholds, tree_grid, tree_thresholds

__all__ = [
    "MAX_EXACT_INPUTS",
    "MAX_GRID_CELLS",
    "Algorithm",
    "Attributions",
    "CompiledPredictor",
    "LinearForm",
    "Predictor",
    "QuadraticForm",
    "RbfProduct",
    "ShapleyEngine",
    "Structure",
    "TabulatedGame",
    "TreeGrid",
    "TreeShap",
    "TreeThresholds",
    "analyse",
    "coalition_masks",
    "compile_pipeline",
    "enumerate_values",
    "fast_predictor",
    "input_array",
    "permutation_values",
    "pipeline_predict",
    "probe_rows",
    "shapley_from_coalitions",
    "shapley_weight_matrix",
    "tree_grid",
    "tree_thresholds",
    "tree_values",
]
