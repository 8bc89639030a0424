"""A tree ensemble as a table over the grid of its split thresholds: exact predictions by one lookup.

A tree model's prediction depends on each input only through the side of each split threshold it lies
on, so it is constant on the cells of the grid its thresholds span. :func:`tree_grid` tabulates a
pipeline of scalers and a tree ensemble (XGBoost or a scikit-learn forest) once, one prediction per
cell, and verifies the table against ``pipeline.predict`` on probe rows
(:func:`~glassline.shapley.probe_rows`). Interventional coalition values are then means of table
lookups (:class:`~glassline.shapley.TabulatedGame`), exactly the model's own predictions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from glassline.shapley._compiled import (
    RTOL,
    FloatArray,
    Step,
    chain,
    compile_transformer,
    is_forest,
    library_call,
    verified_difference,
)

__all__ = ["MAX_GRID_CELLS", "TreeGrid", "TreeThresholds", "tree_grid", "tree_thresholds"]

#: Largest grid (cells = Π (thresholds per input + 1)) tabulated at load time.
MAX_GRID_CELLS = 1 << 20


@dataclass(frozen=True)
class TreeGrid:
    """A tree ensemble as a table: constant on the cells between its split thresholds, exactly.

    A tree model's prediction depends on each input only through which side of each of its split
    thresholds the input lies, so it is constant on the cells of the grid the thresholds of every input
    span. Tabulated once (one prediction per cell), a prediction is a bin search per input and one
    lookup, and interventional SHAP values need no model call at all (see :class:`~glassline.shapley.TabulatedGame`).
    The comparison is the model's own: float32 inputs, ``z < t`` for XGBoost, ``z ≤ t`` for scikit-learn.
    """

    transform: Step  # raw inputs (n, p) -> the tree model's inputs (n, p), elementwise
    edges: tuple[npt.NDArray[np.float32], ...]  # sorted unique thresholds per input
    side: str  # numpy.searchsorted side: "right" for z < t go left (XGBoost), "left" for z ≤ t (scikit-learn)
    table: FloatArray  # flattened, C order over the bins
    strides: npt.NDArray[np.int64]  # flat index = bins @ strides
    max_difference: float

    def bins(self, values: FloatArray) -> npt.NDArray[np.int64]:
        z = np.asarray(self.transform(values), dtype=np.float32)
        return np.column_stack(
            [np.searchsorted(edges, z[:, j], side=self.side) for j, edges in enumerate(self.edges)]  # type: ignore[call-overload]
        ).astype(np.int64)

    def predict(self, values: FloatArray) -> FloatArray:
        return np.asarray(self.table[self.bins(values) @ self.strides], dtype=float)

    def describe(self) -> str:
        cells = " × ".join(str(len(e) + 1) for e in self.edges)
        return f"tabulated tree ensemble ({cells} cells; largest difference to the pipeline {self.max_difference:.3g})"


@dataclass(frozen=True)
class TreeThresholds:
    """The split thresholds of a tree-ensemble pipeline per input, in the tree model's input space (float32, as
    it compares them), the comparison side, and the elementwise transform from raw inputs to that space."""

    transform: Step
    edges: tuple[npt.NDArray[np.float32], ...]
    side: str


def tree_thresholds(pipeline: Any, n_inputs: int) -> TreeThresholds | None:
    """The thresholds of a pipeline of StandardScalers and XGBoost or a scikit-learn forest, without building
    its table (the counterfactual solver enumerates cells itself); None for any other pipeline."""
    steps = [s for _, s in pipeline.steps] if isinstance(pipeline, Pipeline) else [pipeline]
    scalers = [compile_transformer(s) for s in steps[:-1]]
    if any(s is None or type(step) is not StandardScaler for s, step in zip(scalers, steps[:-1], strict=True)):
        return None
    found = _thresholds(steps[-1], n_inputs)
    if found is None:
        return None
    thresholds, side = found
    edges = tuple(np.unique(_as_float32(t, side)) for t in thresholds)
    return TreeThresholds(chain([s[0] for s in scalers if s is not None]), edges, side)


def tree_grid(
    pipeline: Any, reference: FloatArray, *, max_cells: int = MAX_GRID_CELLS, rtol: float = RTOL
) -> TreeGrid | None:
    """The table of a tree-ensemble pipeline (scalers, then XGBoost or a scikit-learn forest), or ``None``.

    ``None`` when the pipeline is not of that form, the grid exceeds *max_cells*, or the table disagrees
    with ``pipeline.predict`` on probe rows around *reference* by more than *rtol* (relative).
    """
    steps = [s for _, s in pipeline.steps] if isinstance(pipeline, Pipeline) else [pipeline]
    scalers = [compile_transformer(s) for s in steps[:-1]]
    if any(s is None or type(step) is not StandardScaler for s, step in zip(scalers, steps[:-1], strict=True)):
        return None
    model = steps[-1]
    p = np.atleast_2d(reference).shape[1]
    found = _thresholds(model, p)
    if found is None:
        return None
    thresholds, side = found
    edges = tuple(np.unique(_as_float32(t, side)) for t in thresholds)
    shape = tuple(len(e) + 1 for e in edges)
    if math.prod(shape) > max_cells:
        return None
    # one float32-exact representative per cell, in the tree model's input space
    representatives = [_representatives(e, side) for e in edges]
    grid = np.stack(np.meshgrid(*representatives, indexing="ij"), axis=-1).reshape(-1, p).astype(float)
    table = np.asarray(library_call(model, last=True)(grid), dtype=float).reshape(-1)
    strides = np.array([math.prod(shape[j + 1 :]) for j in range(p)], dtype=np.int64)
    transform = chain([s[0] for s in scalers if s is not None])
    grid_model = TreeGrid(transform, edges, side, table, strides, 0.0)
    difference = verified_difference(grid_model.predict, pipeline, reference, 0, rtol)
    return None if difference is None else replace(grid_model, max_difference=difference)


def _as_float32(thresholds: list[float], side: str) -> npt.NDArray[np.float32]:
    """Thresholds as the float32 values the comparison is equivalent to.

    XGBoost stores float32 thresholds. scikit-learn stores float64 ones and compares float32 inputs
    ``z ≤ t``, which for a float32 z is ``z ≤ (the largest float32 not above t)``.
    """
    as32 = np.asarray(thresholds, dtype=np.float32)
    if side == "left":
        above = as32.astype(float) > np.asarray(thresholds, dtype=float)
        as32[above] = np.nextafter(as32[above], np.float32(-np.inf))
    return as32


def _representatives(edges: npt.NDArray[np.float32], side: str) -> npt.NDArray[np.float32]:
    """A value inside each of the len(edges) + 1 cells, as the model compares them (float32)."""
    if len(edges) == 0:
        return np.zeros(1, dtype=np.float32)
    below = np.nextafter(edges[0], np.float32(-np.inf))
    if side == "right":  # cells [t_k, t_{k+1}): t_k itself is inside
        return np.concatenate([[below], edges]).astype(np.float32)
    # cells (t_k, t_{k+1}]: t_k itself is in the cell below; t_{k+1} is inside
    return np.concatenate([edges, [np.nextafter(edges[-1], np.float32(np.inf))]]).astype(np.float32)


def _thresholds(model: Any, p: int) -> tuple[list[list[float]], str] | None:
    """Every split threshold per input, and the comparison side; None for a model this does not know."""
    from sklearn.tree import DecisionTreeRegressor

    per_input: list[list[float]] = [[] for _ in range(p)]
    kind = type(model)
    if kind.__module__.startswith("xgboost") and kind.__name__ == "XGBRegressor":
        import json

        if getattr(model, "booster", None) not in (None, "gbtree"):
            return None
        learner = json.loads(model.get_booster().save_raw("json"))["learner"]
        for tree in learner["gradient_booster"]["model"]["trees"]:
            if any(int(t) != 0 for t in tree.get("split_type", [])):
                return None  # categorical splits
            for left, feature, condition in zip(
                tree["left_children"], tree["split_indices"], tree["split_conditions"], strict=True
            ):
                if left != -1:
                    if not 0 <= feature < p:
                        return None
                    per_input[feature].append(condition)
        return per_input, "right"
    if kind is DecisionTreeRegressor or is_forest(model):
        trees = model.estimators_ if hasattr(model, "estimators_") else [model]
        for tree in trees:
            structure = tree.tree_
            inner = structure.feature >= 0
            for feature, threshold in zip(structure.feature[inner], structure.threshold[inner], strict=True):
                if not 0 <= feature < p:
                    return None
                per_input[int(feature)].append(float(threshold))
        return per_input, "left"
    return None
