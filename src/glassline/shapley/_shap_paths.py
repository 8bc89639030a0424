"""The two paths that run shap itself: interventional TreeSHAP for trees, and the permutation approximation.

shap is imported only when one of them is taken (it costs seconds to import, and the service explains
most models without it).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np

from glassline.shapley._closed_forms import Structure
from glassline.shapley._compiled import FloatArray

__all__ = ["TREE_BACKGROUND_BLOCK", "TreeShap", "load_shap", "permutation_values", "tree_values"]


def load_shap() -> ModuleType:
    """The shap module, imported without the matplotlib warning it raises on import."""
    with warnings.catch_warnings():
        # shap 0.51 calls matplotlib's Colormap.set_bad when imported, which matplotlib ≥ 3.10 flags as a
        # pending deprecation; not ours to fix, and fatal where warnings are errors (this project's tests).
        warnings.filterwarnings("ignore", message="The set_bad function", category=PendingDeprecationWarning)
        import shap
    module: ModuleType = shap
    return module


#: shap 0.51's interventional TreeExplainer returns wrong attributions (off by up to ~50 % of the largest
#: one, while their sum stays right) when given more than 100 background rows: measured on 100-tree
#: forests fitted to 200–1,000 rows, every background of ≤ 100 rows matched exact enumeration to 1e-6,
#: every larger one did not. Interventional values are the background-weighted mean of the values for
#: each part of the background, so the background is passed in blocks of at most this many rows.
TREE_BACKGROUND_BLOCK = 100


class TreeShap:
    """shap's interventional TreeExplainer on the tree step (after the scalers), one per background block.

    The explainers are built once for the background; each call explains scaled rows *Z*.
    """

    def __init__(self, structure: Structure, ZB: FloatArray) -> None:
        shap = load_shap()
        self._slope = structure.out_slope
        self._parts: list[tuple[Any, float]] = []
        for start in range(0, ZB.shape[0], TREE_BACKGROUND_BLOCK):
            block = ZB[start : start + TREE_BACKGROUND_BLOCK]
            explainer = shap.TreeExplainer(structure.core, data=block, feature_perturbation="interventional")
            self._parts.append((explainer, block.shape[0] / ZB.shape[0]))

    def values(self, Z: FloatArray) -> FloatArray:
        """φ (n, M) for scaled rows *Z*."""
        total = np.zeros(Z.shape)
        for explainer, weight in self._parts:
            values = explainer.shap_values(Z, check_additivity=False)
            total += np.asarray(values, dtype=float).reshape(Z.shape) * weight
        return np.asarray(self._slope * total, dtype=float)


def tree_values(structure: Structure, Z: FloatArray, ZB: FloatArray) -> FloatArray:
    """Interventional TreeSHAP values of scaled rows *Z* against scaled background rows *ZB*."""
    return TreeShap(structure, ZB).values(Z)


def permutation_values(
    predict: Callable[[FloatArray], FloatArray], X: FloatArray, B: FloatArray, seed: int
) -> tuple[FloatArray, float]:
    """shap's PermutationExplainer with every background row, and its estimated error.

    The error is the largest difference between two runs with seeds *seed* and *seed* + 1 divided by √2
    (the standard error of one run's value), relative to the largest absolute attribution.
    """
    shap = load_shap()
    masker = shap.maskers.Independent(B, max_samples=B.shape[0])
    max_evals = max(500, 10 * (2 * X.shape[1] + 1))
    runs = []
    for run_seed in (seed, seed + 1):
        explainer = shap.PermutationExplainer(predict, masker, seed=run_seed)
        runs.append(np.asarray(explainer(X, max_evals=max_evals, silent=True).values, dtype=float))
    scale = max(float(np.abs(runs[0]).max()), 1e-300)
    error = float(np.abs(runs[0] - runs[1]).max()) / math.sqrt(2.0) / scale
    return runs[0], error
