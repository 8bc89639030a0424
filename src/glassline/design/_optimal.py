"""I- and D-optimal designs: multi-start coordinate exchange on the exact moment matrix.

How a design is found (for S random starts at once, see :mod:`glassline.design._exchange`):

1. start from random runs on the 3-level grid (or the candidate list of a constrained region);
2. improve every start by coordinate exchange restricted to the grid (under linear constraints
   also to the ends of each run's feasible interval, then, for the best starts, point exchange
   against grid points, points on the constraint faces, polytope vertices and Sobol points);
3. take the best few starts off the grid: continuous coordinate exchange, each coordinate
   scanned over its whole feasible interval, then a joint quasi-Newton polish of all settings
   (the best I-optimal designs are often slightly off the grid: for 3 factors and 17 runs the
   two centre points move off-centre and I drops from 0.32215 to 0.32204);
4. keep the best design.

Design-Expert's recipe is an option: the model points first, then ``lack_of_fit`` points that
fill the largest gaps (greedy max-min distance), then ``replicates`` chosen one by one where a
repeated run helps the criterion most.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from typing import Any, Literal

import numpy as np
import pandas as pd

from glassline._progress import ProgressCallback
from glassline.design._design import Design, SpaceLike, as_model, as_space, check_estimable
from glassline.design._exchange import Batch, coordinate_exchange, point_exchange
from glassline.design._model import ModelKind, PolynomialModel
from glassline.design._polish import polish
from glassline.design._space import MAX_DESIGN_RUNS, DesignSpace
from glassline.design._tables import coded_points
from glassline.exceptions import DesignError

__all__ = ["augment", "augment_fds", "optimal_design"]

Criterion = Literal["i", "d"]

#: Default number of random starts; the best few (``_REFINED``) are refined off the grid.
DEFAULT_STARTS = 32
_REFINED = 4
#: Under constraints, the best starts that then also get a point exchange against the candidates.
_POINT_EXCHANGED = 16
#: Under constraints, Sobol points added to the candidates.
_SOBOL_CANDIDATES = 256
#: Smallest relative gain a move off the grid must bring (smaller ones are not worth a pass).
_REFINE_TOL = 1e-6
#: ... a start stops being refined once a whole pass gains less than this (relative), or after
#: this many passes; a joint quasi-Newton polish of all settings then finishes each start.
_REFINE_PASS_TOL = 1e-5
_REFINE_PASSES = 5
#: Largest candidate list used for starts and point exchange.
_MAX_CANDIDATES = 20_000


def optimal_design(
    space: SpaceLike,
    runs: int,
    *,
    criterion: Criterion = "i",
    model: ModelKind | PolynomialModel | str = "quadratic",
    lack_of_fit: int = 0,
    replicates: int = 0,
    fixed: Design | pd.DataFrame | np.ndarray | None = None,
    seed: int | None = None,
    n_starts: int = DEFAULT_STARTS,
    off_grid: bool = True,
    progress: ProgressCallback | None = None,
) -> Design:
    """An I- or D-optimal design of *runs* runs (fixed runs included) for *model* on *space*.

    Parameters
    ----------
    space:
        A :class:`DesignSpace`, a :class:`glassline.spec.Study` or a list of factors.
    runs:
        Total number of runs, including the runs of *fixed*.
    criterion:
        ``"i"``: minimise I = trace((X'X)⁻¹W), the prediction variance averaged over the space
        (W exact for a box, quasi-Monte-Carlo under linear constraints); ``"d"``: maximise det X'X.
    model:
        ``"linear"``, ``"interactions"`` or ``"quadratic"`` (the full response-surface model).
    lack_of_fit, replicates:
        Design-Expert's recipe: ``runs - lack_of_fit - replicates`` optimal model points, then
        *lack_of_fit* space-filling points, then *replicates* repeated runs chosen by the
        criterion. With both 0 every run is chosen by the criterion (repeats allowed).
    fixed:
        Runs that must stay (augmentation): a :class:`Design`, a real-unit table with the factor
        columns, or coded points.
    seed:
        Seed of the random starts (default 0): the same seed gives the same design.
    n_starts:
        Random starts; the best few are refined off the grid.
    off_grid:
        Refine continuous settings off the 3-level grid (False keeps -1, 0, +1 coded).
    progress:
        Optional ``progress(label, done, total)`` callback.
    """
    started = time.perf_counter()
    space = as_space(space)
    model_obj = as_model(model, space)
    model_obj.check_levels()
    if criterion not in ("i", "d"):
        raise DesignError(f"criterion must be 'i' or 'd', got {criterion!r}")
    fixed_points = _fixed_points(fixed, space)
    for name, value in (
        ("runs", runs),
        ("lack_of_fit", lack_of_fit),
        ("replicates", replicates),
        ("n_starts", n_starts),
    ):
        if not isinstance(value, int | np.integer) or isinstance(value, bool) or value < 0:
            raise DesignError(f"'{name}' must be a whole number ≥ 0, got {value!r}")
    if n_starts < 1:
        raise DesignError(f"'n_starts' must be at least 1, got {n_starts}")
    if runs > MAX_DESIGN_RUNS:
        raise DesignError(f"'runs' must be at most {MAX_DESIGN_RUNS:,} for a designed experiment, got {runs:,}")
    n_fixed = len(fixed_points)
    p = model_obj.p
    n_model = runs - n_fixed - lack_of_fit - replicates
    minimum = max(p - n_fixed, 1) + n_fixed + lack_of_fit + replicates
    if runs < minimum or n_model < 1:
        parts = [f"the {model_obj.kind} model in {space.k} factor{'s' * (space.k > 1)} has {p} terms"]
        if n_fixed:
            parts.append(f"{n_fixed} runs are fixed")
        if lack_of_fit:
            parts.append(f"{lack_of_fit} lack-of-fit points")
        if replicates:
            parts.append(f"{replicates} replicates")
        raise DesignError(f"{runs} runs are too few: {', '.join(parts)}; the minimum is {minimum} runs")
    rng = np.random.default_rng(0 if seed is None else seed)
    report = progress or (lambda label, done, total: None)

    W = model_obj.moments() if criterion == "i" else None
    X_fixed = model_obj.matrix(fixed_points) if n_fixed else np.zeros((0, p))
    M_fixed = X_fixed.T @ X_fixed

    report("exchange on the level grid", 0, 3)
    with _one_blas_thread():
        free = _search(space, model_obj, n_model, W, M_fixed, rng, n_starts, off_grid, report)

    roles = ["fixed"] * n_fixed + ["augment" if n_fixed else "model"] * n_model
    points = np.vstack([fixed_points, free]) if n_fixed else free
    report("lack-of-fit points and replicates", 2, 3)
    if lack_of_fit:
        points = np.vstack([points, _space_filling(space, points, lack_of_fit, rng)])
        roles += ["lack-of-fit"] * lack_of_fit
    if replicates:
        points = np.vstack([points, _replicates(model_obj, points, replicates, W)])
        roles += ["replicate"] * replicates
    check_estimable(model_obj, points, source="the optimal design")
    report("done", 3, 3)
    name = {"i": "I-optimal", "d": "D-optimal"}[criterion]
    method = f"{name} ({'coordinate' if space.is_box else 'coordinate and point'} exchange, {n_starts} starts"
    method += ", off-grid refinement)" if off_grid else ")"
    return Design(
        space=space,
        model=model_obj,
        points=points,
        roles=tuple(roles),
        criterion=criterion,
        method=method,
        seed=seed,
        seconds=time.perf_counter() - started,
    )


def augment(
    design: Design | pd.DataFrame,
    add: int,
    *,
    space: SpaceLike | None = None,
    criterion: Criterion | None = None,
    model: ModelKind | PolynomialModel | str | None = None,
    seed: int | None = None,
    n_starts: int = DEFAULT_STARTS,
) -> Design:
    """*design* plus *add* runs chosen by the criterion; the existing runs are kept unchanged."""
    if isinstance(design, Design):
        space_obj = design.space if space is None else as_space(space)
        kind = model or design.model
        crit = criterion or design.criterion or "i"
    else:
        if space is None:
            raise DesignError("augmenting a table needs the design space (space=...)")
        space_obj = as_space(space)
        kind = model or "quadratic"
        crit = criterion or "i"
    if add < 1:
        raise DesignError(f"'add' must be at least 1, got {add}")
    fixed = _fixed_points(design, space_obj)
    return optimal_design(
        space_obj, len(fixed) + add, criterion=crit, model=kind, fixed=fixed, seed=seed, n_starts=n_starts
    )


def augment_fds(design: Design, add: int, *, n_points: int = 100_000, seed: int = 0) -> Design:
    """*design* plus *add* runs placed one by one where the prediction variance is highest.

    This is the paper's use of the FDS plot ("pinpoint the areas within the design space that may
    necessitate refinement or additional data points"): each new run goes to the point of largest
    f'(X'X)⁻¹f among *n_points* uniform points of the space and the grid points, then (X'X)⁻¹ is
    updated (Sherman–Morrison) before the next one.
    """
    if add < 1:
        raise DesignError(f"'add' must be at least 1, got {add}")
    started = time.perf_counter()
    space = design.space
    pool = np.vstack([space.sample(n_points, seed=seed), _candidates(space, np.random.default_rng(seed))])
    F = design.model.matrix(pool)
    A = design.information_inverse().copy()
    variance = np.einsum("ij,jk,ik->i", F, A, F, optimize=True)
    chosen = []
    for _ in range(add):
        best = int(np.argmax(variance))
        chosen.append(pool[best])
        g = A @ F[best]
        denom = 1.0 + F[best] @ g
        A -= np.outer(g, g) / denom
        variance -= (F @ g) ** 2 / denom
    points = np.vstack([design.points, np.array(chosen)])
    return Design(
        space=space,
        model=design.model,
        points=points,
        roles=(*design.roles, *(("augment",) * add)),
        criterion=design.criterion,
        method=f"{design.method} + {add} runs at the highest prediction variance",
        seed=design.seed,
        seconds=design.seconds + time.perf_counter() - started,
    )


# ------------------------------------------------------------------------ internals
def _one_blas_thread() -> contextlib.AbstractContextManager[object]:
    """Keep BLAS on one thread: the search does many tiny matrix operations, and a second BLAS
    thread waiting for a busy core made them 2-7x slower on a loaded 2-core machine (measured)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def _fixed_points(fixed: Design | pd.DataFrame | np.ndarray | None, space: DesignSpace) -> np.ndarray:
    if fixed is None:
        return np.zeros((0, space.k))
    if isinstance(fixed, Design):
        if fixed.space.names != space.names:
            raise DesignError(f"the fixed design has factors {fixed.space.names}, the space {space.names}")
        return fixed.points.copy()
    if isinstance(fixed, pd.DataFrame):
        return coded_points(fixed, space, source="the fixed runs")
    points = np.atleast_2d(np.asarray(fixed, dtype=float))
    if points.size == 0:
        return np.zeros((0, space.k))
    if points.shape[1] != space.k or not space.feasible(points).all():
        raise DesignError("fixed coded points must have one column per factor and lie in the space")
    return points


def _candidates(space: DesignSpace, rng: np.random.Generator) -> np.ndarray:
    """Feasible starting and exchange points.

    A box: the 3-level grid (fixed values and categorical levels where given). A constrained
    region: the 5-level grid, its points pushed along each axis onto the constraint faces, the
    polytope's vertices and edge midpoints, and some Sobol points.
    """
    levels = 3 if space.is_box else 5
    grid = _grid(space, levels, rng)
    if space.is_box:
        return grid
    extra = [grid]
    bounds = _bounds(space)
    for j in space.continuous:
        if space.factors[j].values is not None:
            continue
        lo, hi = bounds(grid, j)
        for end, box_end in ((lo, -1.0), (hi, 1.0)):
            on_face = np.abs(end - box_end) > 1e-9
            pushed = grid[on_face].copy()
            pushed[:, j] = end[on_face]
            extra.append(pushed)
    vertices = space.vertices()
    if len(vertices) > 1:
        first, second = np.triu_indices(len(vertices), 1)
        if len(first) > 2000:
            keep = rng.choice(len(first), 2000, replace=False)
            first, second = first[keep], second[keep]
        extra += [vertices, (vertices[first] + vertices[second]) / 2]
    sobol = space.sample(_SOBOL_CANDIDATES, seed=int(rng.integers(2**31)))
    extra.append(sobol)
    pool = np.vstack(extra)
    for j in space.categorical:  # vertices carry level 0: give every added point a random level
        n_levels = len(space.factors[j].levels or ())
        pool[len(grid) :, j] = rng.integers(0, n_levels, len(pool) - len(grid))
    for j, f in enumerate(space.factors):  # factors with fixed values stay on them
        settings = f.coded_values()
        if settings is not None:
            pool[:, j] = settings[np.argmin(np.abs(pool[:, [j]] - settings[None, :]), axis=1)]
    pool = np.unique(np.round(pool[space.feasible(pool)], 12), axis=0)
    if len(pool) > _MAX_CANDIDATES:
        pool = pool[rng.choice(len(pool), _MAX_CANDIDATES, replace=False)]
    return pool


def _grid(space: DesignSpace, levels: int, rng: np.random.Generator) -> np.ndarray:
    """The feasible *levels*-level grid, or a random part of it when it is too large."""
    sizes = [len(f.levels or ()) if f.kind == "categorical" else len(f.values or ()) or levels for f in space.factors]
    if float(np.prod(np.array(sizes, dtype=float))) <= _MAX_CANDIDATES:
        return space.level_grid(levels)
    draws = np.column_stack([rng.integers(0, s, _MAX_CANDIDATES) for s in sizes]).astype(float)
    for j, f in enumerate(space.factors):
        if f.kind == "continuous":
            settings = f.coded_values()
            settings = np.linspace(-1.0, 1.0, levels) if settings is None else settings
            draws[:, j] = settings[draws[:, j].astype(int)]
    return np.unique(draws[space.feasible(draws)], axis=0)


def _initial_index(F: np.ndarray, M0: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray | None:
    """A random non-singular start of *n* candidate rows; greedy (largest variance) when random fails."""
    p = F.shape[1]
    for _ in range(3):
        idx = rng.integers(0, len(F), n)
        M = M0 + F[idx].T @ F[idx]
        if np.linalg.matrix_rank(M) == p:
            return idx
    scale = max(1.0, float(np.trace(M0)) / p)
    A = np.linalg.inv(M0 + 1e-6 * scale * np.eye(p))
    idx = np.empty(n, dtype=int)
    for i in range(n):
        subset = rng.choice(len(F), size=max(1, len(F) // 2), replace=False)
        var = np.einsum("ij,jk,ik->i", F[subset], A, F[subset])
        c = int(subset[np.argmax(var + 1e-9 * rng.random(len(subset)))])
        idx[i] = c
        g = A @ F[c]
        A -= np.outer(g, g) / (1.0 + F[c] @ g)
    M = M0 + F[idx].T @ F[idx]
    return idx if np.linalg.matrix_rank(M) == p else None


def _search(
    space: DesignSpace,
    model: PolynomialModel,
    n: int,
    W: np.ndarray | None,
    M_fixed: np.ndarray,
    rng: np.random.Generator,
    n_starts: int,
    off_grid: bool,
    report: ProgressCallback,
) -> np.ndarray:
    """The best of *n_starts* exchanges: n free runs (coded points)."""
    candidates = _candidates(space, rng)
    if len(candidates) == 0:
        raise DesignError("no point of the factor grid satisfies the constraints; check 'lower'/'upper'")
    F = model.matrix(candidates)
    starts = [_initial_index(F, M_fixed, n, rng) for _ in range(n_starts)]
    good = [s for s in starts if s is not None]
    if not good:
        raise DesignError(
            f"no {n}-run design on the candidate points estimates every term of the {model.kind} model "
            f"{model.names}: the factor settings the space allows cannot separate them"
        )
    index = np.array(good)
    points = candidates[index]
    batch = Batch(F[index], M_fixed, W)
    discrete: dict[int, np.ndarray] = {}
    categorical = frozenset(space.categorical)
    for j, f in enumerate(space.factors):
        if f.kind == "categorical":
            discrete[j] = np.arange(len(f.levels or ()), dtype=float)
        else:
            values = f.coded_values()
            discrete[j] = values if values is not None else np.array([-1.0, 0.0, 1.0])
    common: dict[str, Any] = {
        "polynomial": model.coordinate_polynomial,
        "matrix": model.matrix,
        "bounds": _bounds(space),
        "rng": rng,
        "categorical": categorical,
    }
    movable = [j for j, f in enumerate(space.factors) if f.kind == "continuous" and f.values is None]
    if space.is_box:
        points = coordinate_exchange(batch, points, continuous=[], discrete=discrete, **common)
    else:  # grid values and the constraint faces, then point exchange for the best starts
        points = coordinate_exchange(
            batch, points, continuous=[], discrete=discrete, endpoints=frozenset(movable), **common
        )
        order = _ranked(batch)[: min(_POINT_EXCHANGED, len(batch.value))]
        batch = batch.take(order)
        points = point_exchange(batch, points[order], candidates, F, rng=rng)
    report("off-grid refinement" if off_grid else "exchange on the level grid", 1, 3)
    if off_grid and movable:
        order = _ranked(batch)[: min(_REFINED, len(batch.value))]
        best_batch = batch.take(order)
        fixed_settings = {j: v for j, v in discrete.items() if j not in movable}
        points = coordinate_exchange(
            best_batch,
            points[order],
            continuous=movable,
            discrete=fixed_settings,
            tol=_REFINE_TOL,
            pass_tol=_REFINE_PASS_TOL,
            max_passes=_REFINE_PASSES,
            **common,
        )
        batch = best_batch
        if not batch.ok.any():
            raise DesignError(f"every start of the exchange is singular for the {model.kind} model {model.names}")
        polished = [
            polish(
                p,
                movable=movable,
                W=W,
                M_fixed=M_fixed,
                matrix=model.matrix,
                derivatives=model.derivatives,
                space=space,
            )
            for p in points[batch.ok]
        ]
        return min(polished, key=lambda pair: pair[1])[0]
    best = int(_ranked(batch)[0])
    if not batch.ok[best]:
        raise DesignError(f"every start of the exchange is singular for the {model.kind} model {model.names}")
    return points[best]


def _ranked(batch: Batch) -> np.ndarray:
    """Start indices from best to worst (singular starts last)."""
    key = np.where(batch.ok, batch.value if batch.W is not None else -batch.value, np.inf)
    return np.argsort(key, kind="stable")


def _bounds(space: DesignSpace) -> Callable[[np.ndarray, int], tuple[np.ndarray, np.ndarray]]:
    """Per-run feasible interval of coordinate j (coded), vectorised over runs."""
    if space.is_box:

        def box(points: np.ndarray, j: int) -> tuple[np.ndarray, np.ndarray]:
            return np.full(len(points), -1.0), np.full(len(points), 1.0)

        return box
    G, h = space.G, space.h

    def constrained(points: np.ndarray, j: int) -> tuple[np.ndarray, np.ndarray]:
        g = G[:, j]
        rest = h[None, :] - points @ G.T + points[:, [j]] * g[None, :]
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = rest / g[None, :]
        pos, neg = g > 1e-12, g < -1e-12
        hi = np.minimum(1.0, np.min(np.where(pos[None, :], ratio, np.inf), axis=1))
        lo = np.maximum(-1.0, np.max(np.where(neg[None, :], ratio, -np.inf), axis=1))
        hi = np.maximum(hi, points[:, j])  # never exclude the current (feasible) value
        lo = np.minimum(lo, points[:, j])
        return lo, hi

    return constrained


def _space_filling(space: DesignSpace, existing: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """*k* points added greedily, each as far as possible (max-min distance) from all others."""
    pool = np.vstack([space.sample(4096, seed=int(rng.integers(2**31))), _candidates(space, rng), space.level_grid(5)])
    cont = space.continuous
    cat = space.categorical

    def distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        d = np.zeros((len(a), len(b)))
        if cont:
            d += ((a[:, None, cont] - b[None, :, cont]) ** 2).sum(axis=2)
        if cat:
            d += 4.0 * (a[:, None, cat] != b[None, :, cat]).sum(axis=2)
        return np.sqrt(d)

    nearest = distance(pool, existing).min(axis=1) if len(existing) else np.full(len(pool), np.inf)
    chosen = []
    for _ in range(k):
        best = int(np.argmax(nearest))
        chosen.append(pool[best])
        nearest = np.minimum(nearest, distance(pool, pool[best : best + 1])[:, 0])
    return np.array(chosen)


def _replicates(model: PolynomialModel, points: np.ndarray, r: int, W: np.ndarray | None) -> np.ndarray:
    """*r* repeats of existing runs, one at a time, each where it improves the criterion most."""
    distinct = np.unique(np.round(points, 12), axis=0)
    F = model.matrix(distinct)
    X = model.matrix(points)
    M = X.T @ X
    A = np.linalg.pinv(M) if np.linalg.matrix_rank(M) < model.p else np.linalg.inv(M)
    chosen = []
    for _ in range(r):
        FA = F @ A
        d = np.einsum("ij,ij->i", FA, F)
        # D: the log det gain is log(1 + d); I: the reduction is f'AWAf / (1 + d)
        score = d if W is None else np.einsum("ij,jk,ik->i", FA, W, FA) / (1.0 + d)
        best = int(np.argmax(score))
        chosen.append(distinct[best])
        g = FA[best]
        A = A - np.outer(g, g) / (1.0 + d[best])
    return np.array(chosen)
