"""The reduced quadratic (response-surface) model: the full quadratic pruned by hierarchical backward elimination.

A full quadratic in M inputs has M(M+3)/2 terms besides the intercept (27 for 6 inputs), too many for
the 17–30 configurations of a designed experiment: it loses grouped cross-validation to the straight
line, and with it the curvature the design was built to find. Design-Expert and JMP therefore fit a
*reduced* quadratic by default: starting from the full model, the least significant term is removed
while its p-value (OLS t-test, statsmodels) exceeds the significance level α, and a main effect stays
while any square or interaction that contains it stays (model hierarchy: the surface must not change
shape when an input is shifted or rescaled).

:class:`ReducedQuadratic` is that elimination as a scikit-learn regressor. It fits on the columns of
``PolynomialFeatures(degree=2, include_bias=False)`` (its column order: the M inputs, then every
product x_i·x_k with i ≤ k in lexicographic order) and keeps a coefficient for every column, zero for
the eliminated terms. So the pipeline scale → PolynomialFeatures → ReducedQuadratic is, to every later
stage, a degree-2 polynomial with a linear core: the Shapley engine explains it by the same closed form
as ``poly2``, and publishing and serving need nothing of their own.

The p-values are those of the *runs*: rows with identical inputs (replicate specimens or cells of one
configuration) are averaged before the elimination, so that k replicates of a run count as one
observation of its mean, not as k independent runs. Counted row by row, the replicates would shrink
every standard error by about √k while the run-to-run scatter (material lots, settings as made) stays,
and the elimination would keep terms the runs do not support
(``tests/models/test_rsm.py::test_replicates_do_not_change_the_terms``). The
coefficients of the kept terms are then fitted on all rows (OLS), which for identical-input replicates
is the same fit as on the means weighted by their counts.

Selection by p-value rather than by grouped CV: the elimination runs inside every outer and inner
fold anyway, where a CV-driven search over 2^27 hierarchical term sets would cost folds × candidates
fits per task and overfit the inner folds of 12–20 configurations; α is the documented convention of
the two packages (α-out 0.1 for backward elimination).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import stats
from sklearn.base import RegressorMixin
from sklearn.linear_model._base import LinearModel
from sklearn.utils.validation import validate_data

from glassline.exceptions import SpecError

__all__ = ["DEFAULT_ALPHA", "ReducedQuadratic", "quadratic_powers"]

#: The significance level a term must reach to stay (Design-Expert's and JMP's α-out for backward elimination).
DEFAULT_ALPHA = 0.1

FloatArray = npt.NDArray[np.float64]


def quadratic_powers(n_inputs: int) -> npt.NDArray[np.int64]:
    """The exponents (terms × inputs) of ``PolynomialFeatures(degree=2, include_bias=False)`` on *n_inputs* inputs."""
    rows: list[list[int]] = []
    for j in range(n_inputs):
        row = [0] * n_inputs
        row[j] = 1
        rows.append(row)
    for i in range(n_inputs):
        for k in range(i, n_inputs):
            row = [0] * n_inputs
            row[i] += 1
            row[k] += 1
            rows.append(row)
    return np.array(rows, dtype=np.int64).reshape(len(rows), n_inputs)


def _n_inputs(n_columns: int) -> int:
    """M with M(M+3)/2 == *n_columns*; a SpecError when no M fits."""
    m = round((-3 + math.sqrt(9 + 8 * n_columns)) / 2)
    if m < 1 or m * (m + 3) // 2 != n_columns:
        raise SpecError(
            f"ReducedQuadratic: expected the columns of PolynomialFeatures(degree=2, include_bias=False), "
            f"i.e. M(M+3)/2 of them (2, 5, 9, 14, 20, 27, …), got {n_columns}"
        )
    return m


def _removable(active: npt.NDArray[np.bool_], powers: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
    """Active terms whose removal keeps the model hierarchical: no other active term contains them."""
    degree = powers.sum(axis=1)
    removable = active.copy()
    for t in np.flatnonzero(active & (degree == 1)):
        j = int(np.flatnonzero(powers[t])[0])
        if (active & (degree == 2) & (powers[:, j] > 0)).any():
            removable[t] = False
    return removable


def backward_eliminate(Z: FloatArray, y: FloatArray, alpha: float) -> npt.NDArray[np.bool_]:
    """The terms (columns of *Z*) the hierarchical backward elimination at level *alpha* keeps.

    Each step fits OLS with an intercept on the active terms and removes the removable term with the
    largest p-value if it exceeds *alpha*. A term the others already span (aliased: the design cannot
    tell them apart, e.g. a square of an input seen at two levels only) goes first, the last such
    removable term in column order. While the model is saturated (no residual degrees of freedom,
    p-values undefined) the removable term with the smallest |t| proxy, |coefficient| on the
    standardized column, goes first.

    The rows are compressed once: with the thin QR factorisation ``[1, Z] = Q·R``, every sub-model's
    design is ``Q·R[:, active]``, so its coefficients, residual sum of squares (plus the part of *y*
    outside the span of ``Q``), singular values (hence rank) and covariance come from the small matrix
    ``R[:, active]`` and ``Qᵀy`` (one QR of ``[1, Z, y]``). Each step then costs O(terms³) instead of
    O(rows · terms²): the rows are read once per fit, not three times per eliminated term. The
    p-values are those of statsmodels' OLS on the full design (``tests/models/test_rsm.py`` checks the
    kept terms against that reference).
    """
    powers = quadratic_powers(_n_inputs(Z.shape[1]))
    active = np.ones(Z.shape[1], dtype=bool)
    n = len(y)
    full = np.column_stack([np.ones(n), Z])
    compressed = _Compressed(full, y)
    while active.any():
        columns = np.flatnonzero(active)
        candidates = _removable(active, powers)[columns]
        keep = np.concatenate([[0], columns + 1])  # the intercept and the active terms' columns of `full`
        aliased = compressed.aliased(keep, candidates)
        if aliased is not None:
            worst = aliased
        elif n - len(keep) >= 1:
            pvalues = compressed.pvalues(keep)[1:]
            pvalues = np.nan_to_num(pvalues, nan=1.0)
            score = np.where(candidates, pvalues, -np.inf)
            worst = int(np.argmax(score))
            if score[worst] <= alpha:
                break
        else:
            design = full[:, keep]
            coef = np.linalg.lstsq(design, y, rcond=None)[0][1:]
            spread = Z[:, columns].std(axis=0)
            size = np.where(candidates, np.abs(coef) * spread, np.inf)
            worst = int(np.argmin(size))
        active[columns[worst]] = False
    return active


class _Compressed:
    """The rows of an OLS design ``X`` (n × k) and its target reduced to ``R`` (k × k) and ``Qᵀy``: X = QR."""

    def __init__(self, X: FloatArray, y: FloatArray) -> None:
        self.n, k = X.shape
        if self.n > k:
            # R of [X, y] holds R of X, Qᵀy and, in its last diagonal entry, the norm of y outside span(X)
            r = np.asarray(np.linalg.qr(np.column_stack([X, y]), mode="r"), dtype=float)
            self.R, self.qy, self.outside = r[:k, :k], r[:k, k], float(r[k, k] ** 2)
        else:  # no fewer columns than rows: nothing to compress
            self.R, self.qy, self.outside = X, np.asarray(y, dtype=float), 0.0
        self._last: tuple[bytes, FloatArray, FloatArray, FloatArray] | None = None

    def _svd(self, keep: npt.NDArray[np.intp]) -> tuple[FloatArray, FloatArray, FloatArray]:
        """The thin SVD of ``R[:, keep]``, the last one cached: a step's rank test and p-values share it."""
        key = keep.tobytes()
        if self._last is None or self._last[0] != key:
            u, s, vt = np.linalg.svd(self.R[:, keep], full_matrices=False)
            self._last = (key, np.asarray(u, dtype=float), np.asarray(s, dtype=float), np.asarray(vt, dtype=float))
        return self._last[1], self._last[2], self._last[3]

    def rank(self, keep: npt.NDArray[np.intp]) -> int:
        """The rank of ``X[:, keep]``, with numpy's ``matrix_rank`` tolerance for an n-row matrix."""
        s = self._svd(keep)[1]
        if s.size == 0:
            return 0
        tol = s.max() * max(self.n, len(keep)) * np.finfo(float).eps
        return int((s > tol).sum())

    def aliased(self, keep: npt.NDArray[np.intp], candidates: npt.NDArray[np.bool_]) -> int | None:
        """The last removable term (index among the terms, intercept excluded) whose removal keeps the
        design's rank, when ``X[:, keep]`` is rank-deficient; None when it has full column rank."""
        rank = self.rank(keep)
        if rank == len(keep):
            return None
        for t in reversed(np.flatnonzero(candidates).tolist()):
            if self.rank(np.delete(keep, t + 1)) == rank:
                return int(t)
        return None

    def pvalues(self, keep: npt.NDArray[np.intp]) -> FloatArray:
        """Two-sided t-test p-values of the OLS coefficients on ``X[:, keep]`` (full column rank, n > k)."""
        A = self.R[:, keep]
        u, s, vt = self._svd(keep)
        coef = vt.T @ ((u.T @ self.qy) / s)
        ssr = float(np.sum((self.qy - A @ coef) ** 2)) + self.outside
        df_resid = self.n - len(keep)
        scale = ssr / df_resid
        variance = ((vt.T / s) ** 2).sum(axis=1) * scale  # diag((AᵀA)⁻¹) · σ²
        with np.errstate(divide="ignore", invalid="ignore"):  # an exact fit: t = ±inf or 0/0
            t = coef / np.sqrt(variance)
        return np.asarray(2 * stats.t.sf(np.abs(t), df_resid), dtype=float)


class ReducedQuadratic(RegressorMixin, LinearModel):  # type: ignore[misc]  # scikit-learn is untyped
    """OLS on the quadratic terms that survive hierarchical backward elimination at level *alpha*.

    Fit it on the output of ``PolynomialFeatures(degree=2, include_bias=False)``. Learnt state:
    ``coef_`` (one per column, 0.0 for eliminated terms), ``intercept_``, ``support_`` (the kept
    columns, a boolean mask) and ``powers_`` (each column's exponents per input).
    """

    def __init__(self, alpha: float = DEFAULT_ALPHA) -> None:
        self.alpha = alpha

    def fit(self, X: Any, y: Any) -> ReducedQuadratic:
        if not 0.0 < float(self.alpha) < 1.0:
            raise SpecError(f"ReducedQuadratic: alpha must be a significance level in (0, 1), got {self.alpha!r}")
        Z, target = validate_data(self, X, y, y_numeric=True, reset=True)
        Z = np.asarray(Z, dtype=float)
        target = np.asarray(target, dtype=float).ravel()
        self.powers_ = quadratic_powers(_n_inputs(Z.shape[1]))
        unique, codes = np.unique(Z, axis=0, return_inverse=True)
        means = np.bincount(codes.ravel(), weights=target) / np.bincount(codes.ravel())
        self.support_ = backward_eliminate(unique, means, float(self.alpha))
        columns = np.flatnonzero(self.support_)
        design = np.column_stack([np.ones(len(target)), Z[:, columns]])
        solution = np.linalg.lstsq(design, target, rcond=None)[0]
        coef = np.zeros(Z.shape[1])
        coef[columns] = solution[1:]
        self.coef_ = coef
        self.intercept_ = float(solution[0])
        return self

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        return tags
