"""The fastest verified way to predict with a fitted pipeline: a table, compiled array operations, or the pipeline."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from glassline.shapley._compiled import FloatArray, compile_pipeline, pipeline_predict
from glassline.shapley._tree_table import MAX_GRID_CELLS, TreeGrid, tree_grid

__all__ = ["Predictor", "fast_predictor"]


@dataclass(frozen=True)
class Predictor:
    """The fastest verified way to predict with a pipeline, and what it is."""

    predict: Callable[[FloatArray], FloatArray]
    description: str
    grid: TreeGrid | None = None  # set for a tabulated tree ensemble: attributions by table lookups


def fast_predictor(
    pipeline: Any,
    reference: FloatArray,
    *,
    max_cells: int = MAX_GRID_CELLS,
    columns: Sequence[str] | None = None,
) -> Predictor:
    """A tabulated tree ensemble (at most *max_cells* cells), else the compiled predictor, else the pipeline's own
    predict (given a DataFrame with *columns* when it was fitted on one).

    Each candidate is verified against ``pipeline.predict`` on probe rows around *reference*.
    """
    grid = tree_grid(pipeline, reference, max_cells=max_cells) if max_cells > 0 else None
    if grid is not None:
        return Predictor(grid.predict, grid.describe(), grid)
    compiled = compile_pipeline(pipeline, reference)
    if compiled is not None:
        return Predictor(compiled.predict, compiled.describe())
    return Predictor(pipeline_predict(pipeline, columns), "the pipeline's predict (scikit-learn checks off)")
