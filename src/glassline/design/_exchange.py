"""The exchange algorithms behind every optimal design, on many random starts at once.

Notation: M = X'X (fixed runs included), A = M⁻¹, W the moment matrix, B = A·W·A, I = tr(A·W).
For a run f added (σ = +1) or removed (σ = −1), Sherman–Morrison and the matrix determinant lemma
give, with g = A f, h = B f, q = f'A f, b = f'B f and s = σ / (1 + σ q)::

    A ← A − s g g'                                   det M ← det M · (1 + σ q)
    B ← B − s (g h' + h g') + s² b g g'              I ← I − s b

Exchanging run x for y (add y, remove x) changes the criteria by, with d·· = ·'A·, b·· = ·'B· and
r = (1 + d_yy)(1 − d_xx) + d_xy² (Fedorov's Δ: det M' = r · det M)::

    I' = I − [(1 − d_xx) b_yy + 2 d_xy b_xy − (1 + d_yy) b_xx] / r          log det M' = log det M + log r

Coordinate exchange moves one coordinate of one run. Because no model term has a power above two,
the run's model row is a quadratic in the new value t (f(t) = F0 + t F1 + t² F2), so d_yy and
b_yy are quartics and d_xy, b_xy quadratics in t: a whole grid of t values costs a few small
polynomial evaluations. All arrays carry a leading "start" axis, so S random starts advance in
the same numpy calls (the per-call overhead, not arithmetic, dominates designs of this size).

Point exchange (modified Fedorov) swaps a run for the best of a candidate list; it is used for
constrained regions, where moving one coordinate at a time stalls on a slanted boundary.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import numpy as np

__all__ = ["Batch", "Criterion", "coordinate_exchange", "point_exchange"]

Criterion = Literal["i", "d"]

_SINGULAR = 1e-9


class Batch:
    """S designs at once: model rows X (S, n, p) of the free runs, A and B, and the criterion.

    ``Q`` stacks A and B (S, 2, p, p) for the I-criterion, A alone (S, 1, p, p) for D. ``value`` is
    I (lower is better) or log det M (higher is better).
    """

    def __init__(self, X: np.ndarray, M_fixed: np.ndarray, W: np.ndarray | None) -> None:
        self.X = np.array(X, dtype=float)
        self.M_fixed = M_fixed
        self.W = W
        self.refresh()

    def take(self, index: np.ndarray) -> Batch:
        """A new batch with the starts at *index* (copies)."""
        return Batch(self.X[index], self.M_fixed, self.W)

    def refresh(self) -> None:
        """Recompute A, B and the criterion from X (stops rounding drift of the updates)."""
        M = self.M_fixed[None] + np.einsum("snp,snq->spq", self.X, self.X)
        sign, logdet = np.linalg.slogdet(M)
        self.ok = (sign > 0) & np.isfinite(logdet)
        safe = np.where(self.ok[:, None, None], M, np.eye(M.shape[1])[None])
        A = np.linalg.inv(safe)
        A = (A + np.swapaxes(A, 1, 2)) / 2
        self.logdet = np.where(self.ok, logdet, -np.inf)
        if self.W is not None:
            self.Q = np.stack([A, A @ self.W @ A], axis=1)
            self.value = np.where(self.ok, np.einsum("spq,pq->s", A, self.W), np.inf)
        else:
            self.Q = A[:, None]
            self.value = self.logdet.copy()

    @property
    def A(self) -> np.ndarray:
        return self.Q[:, 0]

    @property
    def B(self) -> np.ndarray:
        return self.Q[:, -1]

    def _gain(
        self,
        dyy: np.ndarray,
        dxy: np.ndarray,
        dxx: np.ndarray,
        byy: np.ndarray | None,
        bxy: np.ndarray | None,
        bxx: np.ndarray | None,
    ) -> np.ndarray:
        r = (1.0 + dyy) * (1.0 - dxx) + dxy * dxy
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            if self.W is None:
                out = np.log(np.maximum(r, _SINGULAR))
            else:
                out = ((1.0 - dxx) * byy + 2.0 * dxy * bxy - (1.0 + dyy) * bxx) / r  # type: ignore[operator]
        return np.where(r > _SINGULAR, out, -np.inf)

    def gains_rows(self, x: np.ndarray, V: np.ndarray) -> np.ndarray:
        """Gain (S, L) of replacing run x (S, p) by each row of V (S, L, p)."""
        VQ = V[:, None] @ self.Q  # S × q × L × p
        yy = np.einsum("sqlp,slp->sql", VQ, V)
        xy = np.einsum("sqlp,sp->sql", VQ, x)
        xx = np.einsum("sp,sqpr,sr->sq", x, self.Q, x)[:, :, None]
        if self.W is None:
            return self._gain(yy[:, 0], xy[:, 0], xx[:, 0], None, None, None)
        return self._gain(yy[:, 0], xy[:, 0], xx[:, 0], yy[:, 1], xy[:, 1], xx[:, 1])

    def polynomial(self, x: np.ndarray, F: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """For rows f(t) = F0 + t F1 + t² F2 (F: S × 3 × p) replacing run x (S × p): coefficients in
        t (lowest power first) of f'Qf (S × q × 5) and f'Qx (S × q × 3), and x'Qx (S × q)."""
        FQ = F[:, None] @ self.Q  # S × q × 3 × p
        G = FQ @ np.swapaxes(F, 1, 2)[:, None]  # S × q × 3 × 3: Gram matrix of F0, F1, F2
        yy = G.reshape(*G.shape[:2], 9) @ _GRAM_TO_QUARTIC
        xy = (FQ @ x[:, None, :, None])[..., 0]
        xx = np.einsum("sp,sqpr,sr->sq", x, self.Q, x)
        return yy, xy, xx

    def gains_polynomial(self, C: tuple[np.ndarray, np.ndarray, np.ndarray], t: np.ndarray) -> np.ndarray:
        """Gain (S, T) at coordinate values t (S, T) from :meth:`polynomial` coefficients."""
        yy, xy, xx = C
        t2 = t * t
        powers = np.stack([np.ones_like(t), t, t2, t2 * t, t2 * t2], axis=2)  # S × T × 5
        vyy = np.einsum("sqd,std->sqt", yy, powers)
        vxy = np.einsum("sqd,std->sqt", xy, powers[:, :, :3])
        xx = xx[:, :, None]
        if self.W is None:
            return self._gain(vyy[:, 0], vxy[:, 0], xx[:, 0], None, None, None)
        return self._gain(vyy[:, 0], vxy[:, 0], xx[:, 0], vyy[:, 1], vxy[:, 1], xx[:, 1])

    def swap(self, mask: np.ndarray, r: int, new_rows: np.ndarray) -> np.ndarray:
        """Replace run r by new_rows (S, p) where mask is True (and the result is non-singular):
        one rank-two (Woodbury) update. Returns where the swap was made.

        With U = [y, x], C = diag(1, −1), K = C⁻¹ + U'AU, P = AU and H = BU::

            A' = A − P K⁻¹ P'        B' = B − P K⁻¹ H' − H K⁻¹ P' + P K⁻¹ (U'BU) K⁻¹ P'
            I' = I − tr(K⁻¹ U'BU)    det M' = −det K · det M
        """
        U = np.stack([new_rows, self.X[:, r]], axis=2)  # S × p × 2
        QU = self.Q @ U[:, None]  # S × q × p × 2
        UQU = np.swapaxes(U, 1, 2)[:, None] @ QU  # S × q × 2 × 2
        K = UQU[:, 0] + np.array([[1.0, 0.0], [0.0, -1.0]])
        det = K[:, 0, 0] * K[:, 1, 1] - K[:, 0, 1] * K[:, 1, 0]
        use = mask & (-det > _SINGULAR)
        inv_det = np.where(use, 1.0 / np.where(use, det, 1.0), 0.0)
        Kinv = (
            np.stack([np.stack([K[:, 1, 1], -K[:, 0, 1]], axis=1), np.stack([-K[:, 1, 0], K[:, 0, 0]], axis=1)], axis=1)
            * inv_det[:, None, None]
        )
        P = QU[:, 0]
        PK = P @ Kinv  # S × p × 2
        A = self.Q[:, 0] - PK @ np.swapaxes(P, 1, 2)
        self.last_update = (U, Kinv, P, QU[:, -1], UQU[:, -1])
        self.logdet = self.logdet + np.where(use, np.log(np.abs(np.where(use, det, 1.0))), 0.0)
        if self.W is not None:
            H = QU[:, 1]
            UBU = UQU[:, 1]
            PKH = PK @ np.swapaxes(H, 1, 2)
            B = self.Q[:, 1] - PKH - np.swapaxes(PKH, 1, 2) + PK @ UBU @ np.swapaxes(PK, 1, 2)
            self.Q = np.stack([A, B], axis=1)
            self.value = self.value - np.einsum("sij,sji->s", Kinv, UBU)
        else:
            self.Q = A[:, None]
            self.value = self.logdet.copy()
        self.X[use, r] = new_rows[use]
        return use


#: Maps the 9 entries of the Gram matrix G of (F0, F1, F2) to the coefficients of the quartic
#: f(t)'Q f(t) = G00 + 2 G01 t + (G11 + 2 G02) t² + 2 G12 t³ + G22 t⁴.
_GRAM_TO_QUARTIC = np.zeros((9, 5))
for _a in range(3):
    for _b in range(3):
        _GRAM_TO_QUARTIC[3 * _a + _b, _a + _b] = 1.0


def coordinate_exchange(
    batch: Batch,
    points: np.ndarray,
    *,
    continuous: list[int],
    discrete: dict[int, np.ndarray],
    polynomial: Callable[[np.ndarray, int], tuple[np.ndarray, np.ndarray, np.ndarray]],
    matrix: Callable[[np.ndarray], np.ndarray],
    bounds: Callable[[np.ndarray, int], tuple[np.ndarray, np.ndarray]],
    rng: np.random.Generator,
    categorical: frozenset[int] = frozenset(),
    endpoints: frozenset[int] = frozenset(),
    grid: int = 17,
    zooms: int = 2,
    max_passes: int = 50,
    tol: float = 1e-7,
    pass_tol: float = 0.0,
) -> np.ndarray:
    """Coordinate exchange on S starts at once; returns the points (S, n, k) and updates *batch*.

    Each step takes one run r and one coordinate j for every start: a continuous coordinate is
    scanned on *grid* values over its feasible interval, then *zooms* times on a finer grid
    around the best value; a coordinate with fixed settings (``discrete[j]``: coded values, or
    level indices for a categorical factor) tries each of them, plus the ends of its feasible
    interval for j in *endpoints* (a constrained region's faces). The move is kept in the starts
    where it improves the criterion by more than *tol* (relative). A start leaves the batch after
    a full pass without a move, or whose criterion improved by less than *pass_tol* (relative) in
    the pass; the loop ends when none is left or after *max_passes*.
    """
    points = np.array(points, dtype=float)
    active = np.arange(len(points))
    for _ in range(max_passes):
        sub = batch if len(active) == len(points) else batch.take(active)
        sub_points = points[active]
        before = sub.value.copy()
        moved = _coordinate_pass(
            sub,
            sub_points,
            continuous,
            discrete,
            polynomial,
            matrix,
            bounds,
            rng,
            categorical,
            endpoints,
            grid,
            zooms,
            tol,
        )
        points[active] = sub_points
        batch.X[active] = sub.X
        with np.errstate(invalid="ignore"):
            change = np.abs(sub.value - before)
        gained = ~np.isfinite(change) | (change > pass_tol * np.maximum(1.0, np.abs(np.nan_to_num(before))))
        active = active[moved & gained]
        if len(active) == 0:
            break
    batch.refresh()
    return points


def _coordinate_pass(
    batch: Batch,
    points: np.ndarray,
    continuous: list[int],
    discrete: dict[int, np.ndarray],
    polynomial: Callable[[np.ndarray, int], tuple[np.ndarray, np.ndarray, np.ndarray]],
    matrix: Callable[[np.ndarray], np.ndarray],
    bounds: Callable[[np.ndarray, int], tuple[np.ndarray, np.ndarray]],
    rng: np.random.Generator,
    categorical: frozenset[int],
    endpoints: frozenset[int],
    grid: int,
    zooms: int,
    tol: float,
) -> np.ndarray:
    """One pass over every run and coordinate (in place); returns which starts moved."""
    S, n, _ = points.shape
    u = np.linspace(0.0, 1.0, grid)[None, :]
    fine = np.linspace(-1.0, 1.0, 9)[None, :]
    every = np.arange(S)
    moved = np.zeros(S, dtype=bool)
    for r in rng.permutation(n):
        for j in [*continuous, *discrete]:
            P = points[:, r]
            x = batch.X[:, r]
            if j in categorical:
                levels = discrete[j]
                trial = np.repeat(P[:, None, :], len(levels), axis=1)
                trial[:, :, j] = levels[None, :]
                V = matrix(trial)
                gains = batch.gains_rows(x, V)
                best = np.argmax(gains, axis=1)
                new_t = levels[best]
                new_rows = V[every, best]
            else:
                F0, F1, F2 = polynomial(P, j)
                C = batch.polynomial(x, np.stack([F0, F1, F2], axis=1))
                lo, hi = bounds(P, j)
                if j in discrete:
                    t = np.broadcast_to(discrete[j][None, :], (S, len(discrete[j])))
                    if j in endpoints:
                        t = np.concatenate([t, lo[:, None], hi[:, None]], axis=1)
                    gains = batch.gains_polynomial(C, t)
                    gains = np.where((t >= lo[:, None] - 1e-12) & (t <= hi[:, None] + 1e-12), gains, -np.inf)
                else:
                    t = lo[:, None] + (hi - lo)[:, None] * u
                    gains = batch.gains_polynomial(C, t)
                    step = (hi - lo) / (grid - 1)
                    for _zoom in range(zooms):
                        centre = t[every, np.argmax(gains, axis=1)]
                        t_fine = np.clip(centre[:, None] + step[:, None] * fine, lo[:, None], hi[:, None])
                        t = np.concatenate([t, t_fine], axis=1)
                        gains = np.concatenate([gains, batch.gains_polynomial(C, t_fine)], axis=1)
                        step = step / 4.0
                best = np.argmax(gains, axis=1)
                new_t = t[every, best]
                tt = new_t[:, None]
                new_rows = F0 + tt * F1 + tt * tt * F2
            gain = gains[every, best]
            mask = (gain > tol * np.maximum(1.0, np.abs(batch.value))) & (new_t != P[:, j])
            if mask.any():
                done = batch.swap(mask, int(r), new_rows)
                points[done, r, j] = new_t[done]
                moved |= done
    batch.refresh()
    return moved


def point_exchange(
    batch: Batch,
    points: np.ndarray,
    candidates: np.ndarray,
    F: np.ndarray,
    *,
    rng: np.random.Generator,
    max_passes: int = 30,
    tol: float = 1e-7,
) -> np.ndarray:
    """Modified Fedorov exchange on S starts: each run in turn is swapped for the best candidate.

    *candidates* (N_c, k) are coded points with model rows *F* (N_c, p). Returns the points.
    """
    points = np.array(points, dtype=float)
    S, n, _ = points.shape
    rows_all = np.arange(S)
    active = np.ones(S, dtype=bool)
    for _ in range(max_passes):
        moved = np.zeros(S, dtype=bool)
        FA = np.einsum("cp,spq->scq", F, batch.A)
        FB = np.einsum("cp,spq->scq", F, batch.B) if batch.W is not None else FA
        for r in rng.permutation(n):
            x = batch.X[:, r]
            dyy = np.einsum("scq,cq->sc", FA, F)
            dxy = np.einsum("scq,sq->sc", FA, x)
            dxx = np.einsum("sp,spq,sq->s", x, batch.A, x)[:, None]
            if batch.W is not None:
                byy = np.einsum("scq,cq->sc", FB, F)
                bxy = np.einsum("scq,sq->sc", FB, x)
                bxx = np.einsum("sp,spq,sq->s", x, batch.B, x)[:, None]
                gains = batch._gain(dyy, dxy, dxx, byy, bxy, bxx)
            else:
                gains = batch._gain(dyy, dxy, dxx, None, None, None)
            best = np.argmax(gains, axis=1)
            gain = gains[rows_all, best]
            mask = active & (gain > tol * np.maximum(1.0, np.abs(batch.value)))
            if mask.any():
                done = batch.swap(mask, int(r), F[best])
                points[done, r] = candidates[best[done]]
                moved |= done
                # the same rank-two update for the candidate products F·A and F·B
                U, Kinv, P, H, UBU = batch.last_update
                FP = FA @ U  # S × Nc × 2
                FPK = FP @ Kinv
                if batch.W is not None:
                    FH = FB @ U
                    FB = (
                        FB
                        - FPK @ np.swapaxes(H, 1, 2)
                        - (FH @ Kinv) @ np.swapaxes(P, 1, 2)
                        + (FPK @ UBU @ Kinv) @ np.swapaxes(P, 1, 2)
                    )
                    FA = FA - FPK @ np.swapaxes(P, 1, 2)
                else:
                    FA = FA - FPK @ np.swapaxes(P, 1, 2)
                    FB = FA
        batch.refresh()
        active = moved
        if not active.any():
            break
    return points
