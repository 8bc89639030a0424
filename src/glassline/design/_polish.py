"""Joint continuous polish of a design: every continuous setting moves at once (L-BFGS-B / SLSQP).

Coordinate exchange moves one setting at a time; when the runs of a design need to drift
together (nearly saturated designs, off-centre centre points) it converges slowly. A
quasi-Newton step on all coordinates with the analytic gradient finishes the job:

    ∂I/∂x_ij = −2 (B f_i) · ∂f_i/∂x_j          ∂ log det M/∂x_ij = 2 (A f_i) · ∂f_i/∂x_j

with A = M⁻¹, B = A W A and f_i the model row of run i (∂f_i/∂x_j in closed form, see
:meth:`PolynomialModel.derivatives`). Boxes use L-BFGS-B with bounds; linear constraints SLSQP.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from glassline.design._space import DesignSpace

__all__ = ["polish"]

_PENALTY = 1e12


def polish(
    points: np.ndarray,
    *,
    movable: list[int],
    W: np.ndarray | None,
    M_fixed: np.ndarray,
    matrix: Callable[[np.ndarray], np.ndarray],
    derivatives: Callable[[np.ndarray], np.ndarray],
    space: DesignSpace,
    max_iterations: int = 200,
) -> tuple[np.ndarray, float]:
    """Locally optimal continuous settings near *points* (n × k coded); returns them and the
    criterion (I, or −log det M for D: lower is better). Never returns a worse design."""
    from scipy.optimize import minimize

    points = np.array(points, dtype=float)
    if not movable or len(points) == 0:
        return points, _criterion(points, W, M_fixed, matrix)
    n = len(points)

    def unpack(z: np.ndarray) -> np.ndarray:
        P = points.copy()
        P[:, movable] = z.reshape(n, len(movable))
        return P

    def objective(z: np.ndarray) -> tuple[float, np.ndarray]:
        P = unpack(z)
        X = matrix(P)
        M = M_fixed + X.T @ X
        try:
            L = np.linalg.cholesky(M)
        except np.linalg.LinAlgError:
            return _PENALTY, np.zeros_like(z)
        Linv = np.linalg.inv(L)
        A = Linv.T @ Linv
        if W is not None:
            value = float(np.sum(A * W))
            weight = -2.0 * X @ (A @ W @ A)  # n × p
        else:
            value = -2.0 * float(np.sum(np.log(np.diag(L))))
            weight = -2.0 * X @ A
        grad = np.einsum("ip,ipj->ij", weight, derivatives(P)[:, :, movable])
        return value, grad.ravel()

    z0 = points[:, movable].ravel()
    start_value = objective(z0)[0]
    options = {"maxiter": max_iterations}
    if space.is_box:
        result = minimize(objective, z0, jac=True, method="L-BFGS-B", bounds=[(-1.0, 1.0)] * len(z0), options=options)
    else:
        G = space.G[:, movable]
        blocks = np.kron(np.eye(n), G)  # constraints of every run
        offset = np.repeat(points[None, :, :], 1, axis=0)[0] @ space.G.T - points[:, movable] @ G.T
        h = (space.h[None, :] - offset).ravel()
        constraint = {"type": "ineq", "fun": lambda z: h - blocks @ z, "jac": lambda z: -blocks}
        result = minimize(
            objective,
            z0,
            jac=True,
            method="SLSQP",
            bounds=[(-1.0, 1.0)] * len(z0),
            constraints=[constraint],
            options=options,
        )
    P = _pull_inside(space, points, unpack(np.clip(result.x, -1.0, 1.0)))
    value = objective(P[:, movable].ravel())[0]
    if not (value < start_value and space.feasible(P).all()):
        return points, start_value
    return P, value


def _pull_inside(space: DesignSpace, start: np.ndarray, moved: np.ndarray) -> np.ndarray:
    """Move each run back along its path from the feasible *start* until no constraint is violated
    (SLSQP may overshoot a face by rounding); the box is already enforced by clipping."""
    if space.is_box:
        return moved
    step = moved - start
    slack = space.h[None, :] - start @ space.G.T  # ≥ 0
    rate = step @ space.G.T
    with np.errstate(divide="ignore", invalid="ignore"):
        limit = np.where(rate > 0, slack / rate, np.inf)
    fraction = np.clip(np.min(limit, axis=1, initial=np.inf), 0.0, 1.0)
    return start + fraction[:, None] * step


def _criterion(
    points: np.ndarray, W: np.ndarray | None, M_fixed: np.ndarray, matrix: Callable[[np.ndarray], np.ndarray]
) -> float:
    X = matrix(points)
    M = M_fixed + X.T @ X
    if W is not None:
        return float(np.trace(np.linalg.solve(M, W)))
    return -float(np.linalg.slogdet(M)[1])
