"""Fast interventional SHAP for serving: the same values as ``shap`` with an Independent masker, in milliseconds.

For one background set B, the interventional value of a coalition S at row x is
``v(S) = mean_b f(x_S, b_{¬S})``, and the Shapley value of input i is
``φ_i = Σ_{S ∌ i} |S|!(p−|S|−1)!/p! · (v(S ∪ {i}) − v(S))``; ``v(∅)`` is the base value and
``Σ φ_i = f(x) − v(∅)`` exactly. Everything that does not depend on x is computed once at load time:

- an *affine* model (checked numerically at load time: MLR and anything else affine in its inputs) has
  the closed form ``φ_i = β_i (x_i − mean_b x_i)``: one dot product per row;
- otherwise all 2^p coalitions are evaluated in one predict call on stacked rows (every background
  row; p ≤ 10 inputs), and φ = v @ W with a precomputed weight matrix W;
- a tree ensemble tabulated on the grid of its split thresholds (:class:`~glassline.models._fast.TreeGrid`)
  needs no model call: every f(x_S, b_¬S) is one lookup, its flat index the background's part (fixed)
  plus x's part.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from glassline._coalitions import TabulatedGame, coalition_masks, shapley_from_coalitions, shapley_weight_matrix
from glassline.models._fast import TreeGrid, probe_rows

__all__ = ["Attributions", "Attributor"]

FloatArray = npt.NDArray[np.float64]

#: Exact enumeration up to this many inputs (2^p coalitions × background rows per explained row).
MAX_EXACT_INPUTS = 10
#: A batch is explained in blocks of rows whose stacked coalition rows hold at most this many numbers.
MAX_BLOCK_VALUES = 1 << 22


@dataclass(frozen=True)
class Attributions:
    prediction: FloatArray  # (n,)
    values: FloatArray  # (n, p)
    base_value: float


class Attributor:
    """Predictions and interventional SHAP values of a model against one background sample.

    *predict* takes a float array (n, p) with the columns of *background*, in order.
    """

    def __init__(
        self,
        predict: Callable[[FloatArray], npt.ArrayLike],
        background: pd.DataFrame,
        *,
        grid: TreeGrid | None = None,
    ) -> None:
        self.inputs = [str(c) for c in background.columns]
        self._predict = predict
        p = len(self.inputs)
        bg = background.to_numpy(dtype=float)
        if p > MAX_EXACT_INPUTS:
            raise ValueError(f"exact attributions need at most {MAX_EXACT_INPUTS} inputs, got {p}")
        # every row of the published background, as the explain stage uses it: the service's attributions
        # are the report's (cost: 2^p × background rows per explained row, in bounded blocks)
        self._background = bg
        f_bg = self._f(bg)
        self.base_value = float(f_bg.mean())
        self._affine = self._fit_affine(bg)
        self._background_mean = bg.mean(axis=0)
        self._game = TabulatedGame(grid, self._background) if grid is not None and self._affine is None else None
        if self._affine is None:
            self._masks = coalition_masks(p)
            self._weights = shapley_weight_matrix(p)
            # stacked template: (2^p, n_bg, p), background where the coalition does not hold x
            self._template = np.broadcast_to(self._background, (2**p, *self._background.shape)).copy()

    @property
    def method(self) -> str:
        if self._affine is not None:
            return "closed form (affine model)"
        if self._game is not None:
            return "exact enumeration over coalitions, by lookups in the tabulated tree ensemble"
        return "exact enumeration over coalitions"

    def _f(self, values: FloatArray) -> FloatArray:
        return np.asarray(self._predict(values), dtype=float).reshape(-1)

    def _fit_affine(self, bg: FloatArray) -> FloatArray | None:
        """The coefficients (intercept first) when the model is affine on the background and probe rows around
        it (:func:`~glassline.models._fast.probe_rows`), else None."""
        probes = probe_rows(bg)
        f_probe = self._f(probes)
        design = np.column_stack([np.ones(len(probes)), probes])
        beta, *_ = np.linalg.lstsq(design, f_probe, rcond=None)
        scale = max(float(np.abs(f_probe).max()), 1.0)
        if np.abs(design @ beta - f_probe).max() > 1e-8 * scale:
            return None
        return np.asarray(beta, dtype=float)

    def explain(self, values: FloatArray) -> Attributions:
        """Predictions and SHAP values for rows (n, p) in the model's input order."""
        x = np.atleast_2d(np.asarray(values, dtype=float))
        # rows per block: the stacked coalition rows of one block stay under MAX_BLOCK_VALUES numbers
        per_row = 1 if self._affine is not None else 2 ** x.shape[1] * len(self._background) * x.shape[1]
        block = max(1, MAX_BLOCK_VALUES // per_row)
        with np.errstate(all="ignore"):  # inputs far outside the domain may overflow: the caller checks finiteness
            if len(x) <= block:
                return self._explain(x)
            parts = [self._explain(x[i : i + block]) for i in range(0, len(x), block)]
        return Attributions(
            np.concatenate([a.prediction for a in parts]), np.vstack([a.values for a in parts]), self.base_value
        )

    def _explain(self, x: FloatArray) -> Attributions:
        if self._affine is not None:
            beta = self._affine
            prediction = beta[0] + x @ beta[1:]
            phi = (x - self._background_mean) * beta[1:]
            return Attributions(prediction, phi, self.base_value)
        n, p = x.shape
        if self._game is not None:
            f = self._game.coalition_values(x)
            return Attributions(f[:, -1], shapley_from_coalitions(f, p, self._weights), self.base_value)
        n_bg = len(self._background)
        # (n, 2^p, n_bg, p): x's values where the coalition holds them, the background's elsewhere
        stacked = np.where(self._masks[None, :, None, :], x[:, None, None, :], self._template[None])
        f = self._f(stacked.reshape(-1, p)).reshape(n, 2**p, n_bg).mean(axis=2)  # v(S) per row
        return Attributions(f[:, -1], shapley_from_coalitions(f, p, self._weights), self.base_value)
