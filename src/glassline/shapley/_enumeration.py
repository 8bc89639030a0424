"""Exact interventional Shapley values by batched enumeration of every input coalition.

For a model f of M inputs, a row x and background rows b_1 … b_m, the interventional value of a
coalition S is

    v(S) = (1/m) Σ_b f(x_S, b_S̄)

(the inputs in S taken from x, the others from the background row), and the Shapley value of input j is

    φ_j = Σ_{S ∌ j} |S|! (M − |S| − 1)! / M! · [v(S ∪ {j}) − v(S)]

(Shapley 1953; Lundberg & Lee 2017, eq. 8, with the interventional conditional expectation of
Janzing, Minorics & Blöbaum 2020). Here every row × coalition × background row is stacked into a few
large ``predict`` calls (at most :data:`MAX_STACKED_ROWS` rows each), and the weighting is one matrix
product ``V @ W`` with the coalition weight matrix of
:func:`~glassline.shapley.shapley_weight_matrix`. The empty and full coalitions need no model call
beyond ``f(background)`` and ``f(x)``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from glassline.shapley._coalitions import coalition_masks

__all__ = ["MAX_STACKED_ROWS", "Predict", "enumerate_values"]

#: The most rows stacked into one model call (bounds memory: 12 inputs × 8 bytes × 10⁶ ≈ 100 MB).
MAX_STACKED_ROWS = 1_000_000

Predict = Callable[[np.ndarray], np.ndarray]


def enumerate_values(
    predict: Predict,
    X: np.ndarray,
    background: np.ndarray,
    *,
    f_x: np.ndarray,
    f_background_mean: float,
    max_stacked_rows: int = MAX_STACKED_ROWS,
) -> np.ndarray:
    """Coalition values V (n, 2^M) of every row of *X*, by batched model calls.

    *f_x* = predict(X) and *f_background_mean* = mean(predict(background)) fill the full and empty
    coalitions; every other coalition costs len(background) stacked rows per row of *X*.
    """
    n, m_inputs = X.shape
    n_background = background.shape[0]
    masks = coalition_masks(m_inputs)
    n_coalitions = masks.shape[0]
    values = np.empty((n, n_coalitions))
    values[:, 0] = f_background_mean
    values[:, -1] = f_x
    inner = np.arange(1, n_coalitions - 1)
    if inner.size == 0:
        return values
    row_grid, coalition_grid = np.meshgrid(np.arange(n), inner, indexing="ij")
    rows, coalitions = row_grid.ravel(), coalition_grid.ravel()
    pairs_per_call = max(1, max_stacked_rows // n_background)
    for start in range(0, rows.size, pairs_per_call):
        r = rows[start : start + pairs_per_call]
        c = coalitions[start : start + pairs_per_call]
        stacked = np.where(masks[c][:, None, :], X[r][:, None, :], background[None, :, :])
        out = np.asarray(predict(stacked.reshape(-1, m_inputs)), dtype=float).reshape(r.size, n_background)
        values[r, c] = out.mean(axis=1)
    return values
