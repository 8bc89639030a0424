"""Closed forms of interventional Shapley values for the model structures glassline fits.

Every form below gives exactly the values of enumeration over the 2^M coalitions (``_enumeration.py``)
with the background rows b_1 … b_m as the interventional distribution; only the cost differs.

A model is read as ``out(g(T(x)))``: T a chain of per-input affine scalers (StandardScaler,
MinMaxScaler, MaxAbsScaler, RobustScaler), g the core model, out an affine map of the output
(a :class:`~sklearn.compose.TransformedTargetRegressor` with an affine transformer). Because T acts on
each input alone, coalitions over x and over z = T(x) are the same, so the Shapley values per raw input
are the values of g on z, times the output slope.

- **Linear** g(z) = c + Σ_j β_j z_j:  φ_j = β_j (z_j − z̄_j), z̄ the background mean.
- **Quadratic** g(z) = c + Σ_j (a_j z_j + q_jj z_j²) + Σ_{i<k} p_ik z_i z_k (PolynomialFeatures(2) then a
  linear model): Shapley values are linear in the game, so each term is a game of its own. A term in one
  input gives φ_j = g_j(z_j) − mean_b g_j(b_j). A term p z_i z_k is a two-player game on the *joint*
  background (rows are drawn together): v(∅) = p E[b_i b_k], v({i}) = p z_i b̄_k, v({k}) = p b̄_i z_k,
  v({i,k}) = p z_i z_k, and φ_i = ½[v({i}) − v(∅)] + ½[v({i,k}) − v({k})].
- **RBF kernel machine** g(z) = c + Σ_s α_s exp(−γ‖z − sv_s‖²) = c + Σ_s α_s Π_j K_sj(z_j) with
  K_sj(t) = exp(−γ (t − sv_sj)²). For a coalition S,
  v(S) = c + Σ_s α_s Π_{j∈S} K_sj(z_j) · G(S̄, s),  G(R, s) = mean_b Π_{j∈R} K_sj(b_j).
  The expectation does not factorize over inputs (background rows are joint), but G does not depend on
  the row explained: it is computed once per background, and each row then costs 2^M × (support vectors)
  products instead of 2^M × m kernel evaluations of M inputs each.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.compose import TransformedTargetRegressor
from sklearn.linear_model._base import LinearModel
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, MaxAbsScaler, MinMaxScaler, PolynomialFeatures, RobustScaler
from sklearn.preprocessing import StandardScaler as _StandardScaler
from sklearn.svm import SVR

from glassline.shapley._compiled import FloatArray, Step, chain, compile_transformer, library_call

__all__ = ["LinearForm", "QuadraticForm", "RbfProduct", "Structure", "analyse"]

_AFFINE_SCALERS = (_StandardScaler, MinMaxScaler, MaxAbsScaler, RobustScaler)

#: The most float64 numbers held in one block of the RBF product computation (≈ 32 MB).
_RBF_BLOCK = 4_000_000


@dataclass(frozen=True)
class Structure:
    """A fitted model read as ``out_offset + out_slope · core(body(T(x)))``.

    ``scalers`` are the leading per-input affine steps (T), ``body`` the remaining transformers,
    ``core`` the final estimator with any affine target transform removed.
    """

    scalers: tuple[Any, ...]
    body: tuple[Any, ...]
    core: Any
    out_slope: float
    out_offset: float

    def scaler(self) -> Step:
        """z = T(x) as a function of raw rows (n, M) in the model's input order.

        ``StandardScaler`` steps run as their own array operations (the same operations, so the same
        numbers), any other scaler through its ``transform`` with scikit-learn's per-call checks off.
        """
        steps: list[Step] = []
        for step in self.scalers:
            compiled = compile_transformer(step)
            steps.append(compiled[0] if compiled is not None else library_call(step, last=False))
        scale = chain(steps)

        def scaled(X: FloatArray) -> FloatArray:
            return np.asarray(scale(np.asarray(X, dtype=float)), dtype=float)

        return scaled

    @property
    def kind(self) -> str | None:
        """``"linear"``, ``"quadratic"``, ``"rbf"``, ``"tree"`` or None (no closed form)."""
        if not self.body and isinstance(self.core, LinearModel) and np.ndim(self.core.coef_) <= 1:
            return "linear"
        if (
            len(self.body) == 1
            and isinstance(self.body[0], PolynomialFeatures)
            and int(self.body[0].powers_.sum(axis=1).max()) <= 2
            and isinstance(self.core, LinearModel)
            and np.ndim(self.core.coef_) <= 1
        ):
            return "quadratic"
        if not self.body and isinstance(self.core, SVR) and self.core.kernel == "rbf":
            return "rbf"
        if not self.body and _is_tree_model(self.core):
            return "tree"
        return None


def _is_tree_model(estimator: Any) -> bool:
    from sklearn.ensemble import ExtraTreesRegressor, GradientBoostingRegressor, RandomForestRegressor
    from sklearn.tree import DecisionTreeRegressor

    if isinstance(estimator, RandomForestRegressor | ExtraTreesRegressor | GradientBoostingRegressor):
        return True
    if isinstance(estimator, DecisionTreeRegressor):
        return True
    try:
        from xgboost import XGBRegressor
    except ImportError:  # pragma: no cover - xgboost is a dependency
        return False
    return isinstance(estimator, XGBRegressor)


def _output_affine(transformer: Any) -> tuple[float, float] | None:
    """(slope, offset) of a fitted target transformer's inverse when it is affine, else None."""
    if isinstance(transformer, FunctionTransformer) and transformer.func is None and transformer.inverse_func is None:
        return 1.0, 0.0
    if isinstance(transformer, _AFFINE_SCALERS):
        ends = np.asarray(transformer.inverse_transform(np.array([[0.0], [1.0]])), dtype=float).ravel()
        return float(ends[1] - ends[0]), float(ends[0])
    return None


def analyse(model: Any) -> Structure | None:
    """The :class:`Structure` of a fitted estimator or pipeline; None when it has none of the known shapes."""
    steps: list[Any] = []
    if isinstance(model, Pipeline):
        steps = [step for _, step in model.steps]
    elif isinstance(model, BaseEstimator):
        steps = [model]
    else:
        return None
    steps = [s for s in steps if s is not None and not (isinstance(s, str) and s == "passthrough")]
    if not steps:
        return None
    final, transformers = steps[-1], steps[:-1]
    slope, offset = 1.0, 0.0
    if isinstance(final, TransformedTargetRegressor):
        affine = _output_affine(getattr(final, "transformer_", None))
        if affine is None:
            return None
        slope, offset = affine
        final = final.regressor_
    n_scalers = 0
    for step in transformers:
        if isinstance(step, _AFFINE_SCALERS) and not getattr(step, "clip", False):
            n_scalers += 1
        else:
            break
    return Structure(
        scalers=tuple(transformers[:n_scalers]),
        body=tuple(transformers[n_scalers:]),
        core=final,
        out_slope=slope,
        out_offset=offset,
    )


class LinearForm:
    """Shapley values of a linear core, φ_j = β_j (z_j − z̄_j) times the output slope; z̄ kept from the background."""

    def __init__(self, structure: Structure, ZB: FloatArray) -> None:
        self._slope = structure.out_slope
        self._beta = np.asarray(structure.core.coef_, dtype=float).ravel()
        self._mean = ZB.mean(axis=0)

    def values(self, Z: FloatArray) -> FloatArray:
        """φ (n, M) for scaled rows *Z*."""
        return np.asarray(self._slope * (Z - self._mean) * self._beta, dtype=float)


def _quadratic_terms(structure: Structure, n_inputs: int) -> tuple[FloatArray, FloatArray, FloatArray]:
    """(a, q, P): linear and square coefficients per input and the symmetric interaction matrix."""
    poly = structure.body[0]
    powers = np.asarray(poly.powers_)
    coef = np.asarray(structure.core.coef_, dtype=float).ravel()
    a = np.zeros(n_inputs)
    q = np.zeros(n_inputs)
    P = np.zeros((n_inputs, n_inputs))
    for power, c in zip(powers, coef, strict=True):
        used = np.flatnonzero(power)
        if used.size == 1 and power[used[0]] == 1:
            a[used[0]] += c
        elif used.size == 1:
            q[used[0]] += c
        elif used.size == 2:
            i, k = used
            P[i, k] += c
            P[k, i] += c
    return a, q, P


class QuadraticForm:
    """Shapley values of a degree-2 polynomial core, term by term (see the module docstring).

    The background's moments (means, mean squares, E_b[b_i b_k] over the joint rows) are kept once.
    """

    def __init__(self, structure: Structure, ZB: FloatArray) -> None:
        self._slope = structure.out_slope
        self._a, self._q, self._P = _quadratic_terms(structure, ZB.shape[1])
        self._mean = ZB.mean(axis=0)
        self._mean_square = (ZB**2).mean(axis=0)
        second = ZB.T @ ZB / ZB.shape[0]  # E_b[b_i b_k] over the joint background rows
        self._P_mean = self._P @ self._mean
        self._P_second = (self._P * second).sum(axis=1)

    def values(self, Z: FloatArray) -> FloatArray:
        """φ (n, M) for scaled rows *Z*."""
        univariate = self._a * (Z - self._mean) + self._q * (Z**2 - self._mean_square)
        PZ = Z @ self._P
        pairs = 0.5 * (Z * self._P_mean - self._P_second + Z * PZ - self._mean * PZ)
        return np.asarray(self._slope * (univariate + pairs), dtype=float)


def _subset_products(factors: FloatArray) -> FloatArray:
    """Π_{j∈S} factors[..., j] for every coalition S in mask order: shape (..., 2^M) moved to axis -2.

    *factors* has shape (r, K, M); returns (r, 2^M, K), built by doubling: the coalitions containing
    input j are those without it times factor j.
    """
    r, k, m = factors.shape
    out = np.empty((r, 2**m, k))
    out[:, 0, :] = 1.0
    for j in range(m):
        half = 2**j
        np.multiply(out[:, :half, :], factors[:, None, :, j], out=out[:, half : 2 * half, :])
    return out


#: One block of support vectors: (support vectors s, α_s · G(S̄, s) per coalition S, rows per block).
_SupportBlock = tuple[FloatArray, FloatArray, int]


class RbfProduct:
    """Coalition values of an RBF support-vector core, by the kernel's product structure.

    G(R, s) = mean_b Π_{j∈R} K_sj(b_j) does not depend on the row explained: it is computed once and
    kept when it holds at most ``_RBF_BLOCK`` numbers (2^M × support vectors), else recomputed per call
    in blocks of support vectors, so memory stays bounded for any model.
    """

    def __init__(self, structure: Structure, ZB: FloatArray) -> None:
        svr = structure.core
        self._structure = structure
        self._gamma = float(svr._gamma)
        self._sv = np.asarray(svr.support_vectors_, dtype=float)
        self._alpha = np.asarray(svr.dual_coef_, dtype=float).ravel()
        self._intercept = float(np.asarray(svr.intercept_).ravel()[0])
        self._ZB = ZB
        self._n_coalitions = 2 ** ZB.shape[1]
        self._k_block = max(1, min(self._sv.shape[0], _RBF_BLOCK // (self._n_coalitions * 4)))
        self._kept: list[_SupportBlock] | None = None
        if self._n_coalitions * self._sv.shape[0] <= _RBF_BLOCK:
            self._kept = list(self._blocks())

    def _blocks(self) -> Iterator[_SupportBlock]:
        ZB, n_coalitions = self._ZB, self._n_coalitions
        n_background = ZB.shape[0]
        for k0 in range(0, self._sv.shape[0], self._k_block):
            s = self._sv[k0 : k0 + self._k_block]
            w = self._alpha[k0 : k0 + self._k_block]
            # G(R, s) = mean_b Π_{j∈R} K_sj(b_j), accumulated over blocks of background rows.
            G = np.zeros((n_coalitions, s.shape[0]))
            b_block = max(1, _RBF_BLOCK // (n_coalitions * s.shape[0]))
            for b0 in range(0, n_background, b_block):
                factors = np.exp(-self._gamma * (ZB[b0 : b0 + b_block, None, :] - s[None, :, :]) ** 2)
                G += _subset_products(factors).sum(axis=0)
            G /= n_background
            # v(S) needs G at the complement S̄, which is coalition 2^M − 1 − S: the reversed order.
            yield s, G[::-1] * w, b_block

    def coalition_values(self, Z: FloatArray) -> FloatArray:
        """V (n, 2^M) for scaled rows *Z*, in the model's output units; V[:, 0] is the background mean."""
        n = Z.shape[0]
        values = np.zeros((n, self._n_coalitions))
        for s, weighted, r_block in self._kept if self._kept is not None else self._blocks():
            for r0 in range(0, n, r_block):
                factors = np.exp(-self._gamma * (Z[r0 : r0 + r_block, None, :] - s[None, :, :]) ** 2)
                values[r0 : r0 + r_block] += np.einsum("rsk,sk->rs", _subset_products(factors), weighted)
        structure = self._structure
        return np.asarray(structure.out_offset + structure.out_slope * (values + self._intercept), dtype=float)
