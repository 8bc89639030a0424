"""The response-surface model a design is built for: its terms, model matrix and moment matrix.

A term is a product of one basis function per factor: ``1, x, x²`` for a continuous factor (coded
to [-1, 1]) and ``1`` or one effect-coded column for a categorical factor (level i → unit vector
e_i, the last level → −1 in every column; the codes sum to zero over the levels).

The moment matrix ``W = E[f(x) f(x)']`` over the uniform distribution on the region turns the
I-criterion into ``I = trace((X'X)⁻¹ W)``, the prediction variance averaged over the region (in
units of σ²). For a box it has a closed form: every entry is a product over factors of
``E[x^k] = 1/(k+1)`` for even k and 0 for odd k (continuous), or the mean over the levels of the
product of codes (categorical). With linear constraints it is estimated by quasi-Monte-Carlo
(scrambled Sobol points, rejected when infeasible).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from glassline.design._space import DesignSpace
from glassline.exceptions import DesignError

__all__ = ["MODEL_KINDS", "ModelKind", "PolynomialModel", "Term"]

ModelKind = Literal["linear", "interactions", "quadratic"]
MODEL_KINDS: tuple[str, ...] = ("linear", "interactions", "quadratic")

#: Highest power of a continuous factor in any supported model.
_MAX_POWER = 2


@dataclass(frozen=True)
class Term:
    """One model column: per factor, the power (continuous) or the code column (categorical, -1: none)."""

    name: str
    powers: tuple[int, ...]
    codes: tuple[int, ...]

    @property
    def order(self) -> int:
        """Number of factors involved, counting a square once (0 for the intercept)."""
        return sum(1 for p in self.powers if p) + sum(1 for c in self.codes if c >= 0)


def _effect_codes(n_levels: int) -> np.ndarray:
    """Effect (sum-to-zero) coding: L × (L-1)."""
    codes = np.zeros((n_levels, n_levels - 1))
    codes[: n_levels - 1] = np.eye(n_levels - 1)
    codes[n_levels - 1] = -1.0
    return codes


@dataclass(frozen=True)
class PolynomialModel:
    """The model in coded factors: ``linear`` (intercept + main effects), ``interactions``
    (+ two-factor interactions) or ``quadratic`` (+ squares of continuous factors: the full
    response-surface model, 10 terms for 3 factors)."""

    space: DesignSpace
    kind: ModelKind = "quadratic"
    terms: tuple[Term, ...] = field(init=False)
    #: per term and factor, which basis function: the power (continuous) or 1 + code column
    _local: np.ndarray = field(init=False, repr=False, compare=False)
    _codes: tuple[np.ndarray | None, ...] = field(init=False, repr=False, compare=False)
    _width: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.kind not in MODEL_KINDS:
            raise DesignError(f"model must be one of {list(MODEL_KINDS)}, got {self.kind!r}")
        object.__setattr__(self, "terms", tuple(self._build_terms()))
        local = np.empty((len(self.terms), self.space.k), dtype=int)
        for t, term in enumerate(self.terms):
            for j, f in enumerate(self.space.factors):
                local[t, j] = term.powers[j] if f.kind == "continuous" else term.codes[j] + 1
        codes = tuple(
            None
            if f.kind == "continuous"
            else np.hstack([np.ones((len(f.levels or ()), 1)), _effect_codes(len(f.levels or ()))])
            for f in self.space.factors
        )
        width = max([_MAX_POWER + 1] + [c.shape[1] for c in codes if c is not None])
        object.__setattr__(self, "_local", local)
        object.__setattr__(self, "_codes", codes)
        object.__setattr__(self, "_width", width)

    # ---------------------------------------------------------------- terms
    def _build_terms(self) -> list[Term]:
        space = self.space
        k = space.k
        zero_p, none_c = (0,) * k, (-1,) * k
        terms = [Term("intercept", zero_p, none_c)]
        mains: list[tuple[int, Term]] = []
        for j, f in enumerate(space.factors):
            if f.kind == "continuous":
                powers = list(zero_p)
                powers[j] = 1
                mains.append((j, Term(f.name, tuple(powers), none_c)))
            else:
                for c, level in enumerate((f.levels or ())[:-1]):
                    codes = list(none_c)
                    codes[j] = c
                    mains.append((j, Term(f"{f.name}[{level}]", zero_p, tuple(codes))))
        terms += [t for _, t in mains]
        if self.kind in ("interactions", "quadratic"):
            for (ja, a), (jb, b) in itertools.combinations(mains, 2):
                if ja == jb:
                    continue
                pair_powers = tuple(pa + pb for pa, pb in zip(a.powers, b.powers, strict=True))
                pair_codes = tuple(max(ca, cb) for ca, cb in zip(a.codes, b.codes, strict=True))
                terms.append(Term(f"{a.name}*{b.name}", pair_powers, pair_codes))
        if self.kind == "quadratic":
            for j, f in enumerate(space.factors):
                if f.kind == "continuous":
                    powers = list(zero_p)
                    powers[j] = 2
                    terms.append(Term(f"{f.name}^2", tuple(powers), none_c))
        return terms

    @property
    def names(self) -> list[str]:
        return [t.name for t in self.terms]

    @property
    def p(self) -> int:
        """Number of terms (columns of the model matrix)."""
        return len(self.terms)

    def min_levels(self) -> dict[str, int]:
        """Per continuous factor, the fewest distinct settings the model needs (highest power + 1)."""
        need: dict[str, int] = {}
        for j, f in enumerate(self.space.factors):
            if f.kind == "continuous":
                need[f.name] = max(t.powers[j] for t in self.terms) + 1
        return need

    def check_levels(self) -> None:
        """Raise a DesignError when a factor's fixed ``values`` cannot support its highest power."""
        for f in self.space.factors:
            if f.kind == "continuous" and f.values is not None:
                need = self.min_levels()[f.name]
                if len(f.values) < need:
                    shown = ", ".join(f"{v:g}" for v in f.values)
                    raise DesignError(
                        f"factor {f.name!r} can only be set to {len(f.values)} value(s) ({shown}) but the "
                        f"{self.kind} model has the term '{f.name}^{need - 1}', which needs at least {need} "
                        f"distinct settings; allow more values or use a model without it"
                        + (" (model='interactions')" if self.kind == "quadratic" else "")
                    )

    # ---------------------------------------------------------------- matrices
    def _basis(self, points: np.ndarray) -> np.ndarray:
        """m × k × width: per factor ``[1, x, x²]`` or ``[1, codes(level)]`` (zero padded)."""
        m, k = points.shape
        basis = np.zeros((m, k, self._width))
        basis[:, :, 0] = 1.0
        basis[:, :, 1] = points
        basis[:, :, 2] = points * points
        for j, codes in enumerate(self._codes):
            if codes is not None:
                basis[:, j, :] = 0.0
                basis[:, j, : codes.shape[1]] = codes[np.rint(points[:, j]).astype(int)]
        return basis

    def _gather(self, basis: np.ndarray) -> np.ndarray:
        """m × p × k: the basis function each term takes from each factor."""
        return basis[:, np.arange(self.space.k)[None, :], self._local]

    def matrix(self, points: np.ndarray) -> np.ndarray:
        """The model matrix X (N × p) of coded points (any leading dimensions: (..., k) → (..., p))."""
        points = np.asarray(points, dtype=float)
        lead = points.shape[:-1]
        gathered = self._gather(self._basis(points.reshape(-1, self.space.k)))
        return np.prod(gathered, axis=2).reshape(*lead, self.p)

    def coordinate_polynomial(self, points: np.ndarray, j: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Rows as polynomials in continuous coordinate *j*: ``f(t) = F0 + t·F1 + t²·F2``.

        *points* has shape (..., k); the value in column j is ignored. Exact, because no term has a
        power above 2.
        """
        points = np.asarray(points, dtype=float)
        lead = points.shape[:-1]
        flat = points.reshape(-1, self.space.k).copy()
        flat[:, j] = 1.0  # every basis function of factor j is then 1: the product is "the others"
        others = np.prod(self._gather(self._basis(flat)), axis=2)
        power = self._local[:, j]
        shape = (*lead, self.p)
        F0, F1, F2 = ((others * (power == a)).reshape(shape) for a in range(3))
        return F0, F1, F2

    def derivatives(self, points: np.ndarray) -> np.ndarray:
        """∂f/∂x_j of every model row: (N, p, k); zero for categorical factors."""
        points = np.atleast_2d(np.asarray(points, dtype=float))
        m, k = points.shape
        gathered = self._gather(self._basis(points))  # m × p × k
        ones = np.ones((m, self.p, 1))
        before = np.cumprod(np.concatenate([ones, gathered[:, :, :-1]], axis=2), axis=2)
        after = np.cumprod(np.concatenate([ones, gathered[:, :, :0:-1]], axis=2), axis=2)[:, :, ::-1]
        slope = np.zeros((m, k, self._width))  # d/dx of [1, x, x²]
        slope[:, :, 1] = 1.0
        slope[:, :, 2] = 2.0 * points
        for j, codes in enumerate(self._codes):
            if codes is not None:
                slope[:, j, :] = 0.0
        return before * after * slope[:, np.arange(k)[None, :], self._local]

    def moments(self, *, n_qmc: int = 1 << 16, seed: int = 0) -> np.ndarray:
        """The moment matrix W = E[f f'] over the region: exact for a box, QMC with rejection otherwise."""
        local = self._local
        W = np.ones((self.p, self.p))
        for j, codes in enumerate(self._codes):
            if codes is not None:
                table = codes.T @ codes / len(codes)
                W *= table[np.ix_(local[:, j], local[:, j])]
        cont = self.space.continuous
        if not cont:
            return W
        if self.space.is_box:
            for j in cont:
                total = local[:, j][:, None] + local[:, j][None, :]
                W *= np.where(total % 2 == 0, 1.0 / (total + 1.0), 0.0)
            return W
        points = self.space.sample(n_qmc, seed=seed)
        F = np.ones((len(points), self.p))
        for j in cont:
            F *= points[:, [j]] ** local[:, j][None, :]
        return W * (F.T @ F / len(points))
