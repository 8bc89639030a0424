"""Input coalitions and their Shapley weights, and the coalition values of a tabulated tree ensemble.

Pure numpy: every exact algorithm of :class:`~glassline.shapley.ShapleyEngine` that works on coalition
values (enumeration, the RBF product, tabulated trees) ends in :func:`shapley_from_coalitions`.

For a model f of M inputs, a row x and background rows b_1 … b_m, the interventional value of a
coalition S is ``v(S) = (1/m) Σ_b f(x_S, b_S̄)`` and the Shapley value of input j is
``φ_j = Σ_{S ∌ j} |S|! (M − |S| − 1)! / M! · [v(S ∪ {j}) − v(S)]``, one matrix product ``V @ W``.
"""

from __future__ import annotations

from math import factorial

import numpy as np

from glassline.shapley._tree_table import TreeGrid

__all__ = ["MAX_LOOKUPS", "TabulatedGame", "coalition_masks", "shapley_from_coalitions", "shapley_weight_matrix"]

#: Table lookups per block of rows in :meth:`TabulatedGame.coalition_values` (bounds memory: 8 bytes each).
MAX_LOOKUPS = 1 << 22


def coalition_masks(n_inputs: int) -> np.ndarray:
    """Every coalition of *n_inputs* players as a boolean matrix (2^M, M); row s is the bit pattern of s."""
    codes = np.arange(2**n_inputs)[:, None]
    return ((codes >> np.arange(n_inputs)[None, :]) & 1).astype(bool)


def shapley_weight_matrix(n_inputs: int) -> np.ndarray:
    """W (2^M, M) with φ = V @ W for coalition values V (…, 2^M) in :func:`coalition_masks` order.

    W[S, j] = +w(|S| − 1) when j ∈ S and −w(|S|) when j ∉ S, with w(s) = s! (M − s − 1)! / M!.
    """
    masks = coalition_masks(n_inputs)
    sizes = masks.sum(axis=1)
    m = n_inputs
    weight = np.array([factorial(s) * factorial(m - s - 1) / factorial(m) for s in range(m)] + [0.0])
    plus = weight[np.clip(sizes - 1, 0, m)]
    minus = weight[sizes]
    return np.asarray(np.where(masks, plus[:, None], -minus[:, None]), dtype=float)


def shapley_from_coalitions(values: np.ndarray, n_inputs: int, weights: np.ndarray | None = None) -> np.ndarray:
    """Shapley values (n, M) from coalition values (n, 2^M); v(∅) is subtracted first for precision.

    *weights*: :func:`shapley_weight_matrix` of *n_inputs*, when the caller keeps it.
    """
    centred = values - values[:, :1]
    return np.asarray(centred @ (shapley_weight_matrix(n_inputs) if weights is None else weights), dtype=float)


class TabulatedGame:
    """Coalition values of a tabulated tree ensemble against fixed background rows, by table lookups.

    f(x_S, b_S̄) is the table entry at x's bins for the inputs in S and b's bins for the others; its
    flat index is b's part (fixed, computed here once per coalition and background row) plus x's part.
    No model call: the values are the model's own predictions, exactly (the table holds them).
    """

    def __init__(self, grid: TreeGrid, background: np.ndarray) -> None:
        background = np.atleast_2d(np.asarray(background, dtype=float))
        self.grid = grid
        masks = coalition_masks(background.shape[1])
        self._masks = masks.astype(np.int64)
        offsets = grid.bins(background) * grid.strides  # (m, M)
        self._base = (~masks).astype(np.int64) @ offsets.T  # (2^M, m): the background's part of each index

    def coalition_values(self, X: np.ndarray) -> np.ndarray:
        """V (n, 2^M) for the rows of *X* (raw inputs, the model's order)."""
        X = np.atleast_2d(np.asarray(X, dtype=float))
        own = (self.grid.bins(X) * self.grid.strides) @ self._masks.T  # (n, 2^M): x's part of each index
        block = max(1, MAX_LOOKUPS // self._base.size)
        values = np.empty(own.shape)
        for start in range(0, len(X), block):
            part = own[start : start + block]
            values[start : start + block] = self.grid.table[self._base[None, :, :] + part[:, :, None]].mean(axis=2)
        return values
