"""Classical designs to compare against: full factorial, central composite, Box–Behnken, Latin hypercube.

All are built in coded units on the continuous factors (pyDOE3 for CCD and Box–Behnken, scipy's
``qmc.LatinHypercube`` for the Latin hypercube) and crossed with every combination of the levels
of the categorical factors. They ignore linear constraints, so a run outside a constrained space
is an error rather than a silent drop.
"""

from __future__ import annotations

import itertools
import time
from typing import Literal

import numpy as np

from glassline.design._design import Design, SpaceLike, as_model, as_space
from glassline.design._model import ModelKind
from glassline.design._space import MAX_DESIGN_RUNS, DesignSpace
from glassline.exceptions import DesignError, did_you_mean

__all__ = [
    "CLASSICAL_KINDS",
    "ClassicalKind",
    "box_behnken",
    "central_composite",
    "classical_design",
    "full_factorial",
    "latin_hypercube",
]

ClassicalKind = Literal["full-factorial", "ccd-face", "ccd-rotatable", "box-behnken", "latin-hypercube"]
CLASSICAL_KINDS: tuple[str, ...] = ("full-factorial", "ccd-face", "ccd-rotatable", "box-behnken", "latin-hypercube")


def classical_design(
    kind: ClassicalKind | str,
    space: SpaceLike,
    *,
    levels: int = 3,
    center_points: int | None = None,
    runs: int | None = None,
    seed: int | None = None,
    model: ModelKind | str = "quadratic",
) -> Design:
    """A classical design by name: ``full-factorial`` (at *levels* levels), ``ccd-face``,
    ``ccd-rotatable``, ``box-behnken`` or ``latin-hypercube`` (*runs* runs)."""
    if kind == "full-factorial":
        return full_factorial(space, levels=levels, model=model)
    if kind in ("ccd-face", "ccd-rotatable"):
        return central_composite(
            space,
            rotatable=kind == "ccd-rotatable",
            center_points=2 if center_points is None else center_points,
            model=model,
        )
    if kind == "box-behnken":
        return box_behnken(space, center_points=3 if center_points is None else center_points, model=model)
    if kind == "latin-hypercube":
        if runs is None:
            raise DesignError("a Latin hypercube needs the number of runs (runs=...)")
        return latin_hypercube(space, runs, seed=seed, model=model)
    raise DesignError(
        f"unknown classical design {kind!r}; expected one of {list(CLASSICAL_KINDS)}."
        + did_you_mean(str(kind), CLASSICAL_KINDS)
    )


def full_factorial(space: SpaceLike, *, levels: int = 3, model: ModelKind | str = "quadratic") -> Design:
    """Every combination of *levels* equally spaced settings (categorical: every level)."""
    started = time.perf_counter()
    space = as_space(space)
    points = space.factorial_points(levels)
    return _design(space, points, f"{levels}-level full factorial", model, started)


def central_composite(
    space: SpaceLike, *, rotatable: bool = False, center_points: int = 2, model: ModelKind | str = "quadratic"
) -> Design:
    """Central composite design: face-centred (α = 1) or rotatable, inscribed so that the axial
    points sit on the factor limits and the factorial points at ±1/α (α = (2^k)^¼)."""
    started = time.perf_counter()
    space = as_space(space)
    kc = len(space.continuous)
    if kc < 2:
        raise DesignError(f"a central composite design needs at least 2 continuous factors, got {kc}")
    if center_points < 0:
        raise DesignError(f"center_points must be ≥ 0, got {center_points}")
    import pyDOE3  # imported here: it takes about a second to import

    if rotatable:
        coded = pyDOE3.ccdesign(kc, center=(0, center_points), alpha="rotatable", face="inscribed")
        name = "rotatable central composite (inscribed)"
    else:
        coded = pyDOE3.ccdesign(kc, center=(0, center_points), alpha="orthogonal", face="faced")
        name = "face-centred central composite"
    return _design(space, _cross(space, np.asarray(coded, dtype=float)), name, model, started)


def box_behnken(space: SpaceLike, *, center_points: int = 3, model: ModelKind | str = "quadratic") -> Design:
    """Box–Behnken design (edge midpoints plus centre points) for ≥ 3 continuous factors."""
    started = time.perf_counter()
    space = as_space(space)
    kc = len(space.continuous)
    if kc < 3:
        raise DesignError(f"a Box–Behnken design needs at least 3 continuous factors, got {kc}")
    import pyDOE3

    coded = pyDOE3.bbdesign(kc, center=center_points)
    return _design(space, _cross(space, np.asarray(coded, dtype=float)), "Box–Behnken", model, started)


def latin_hypercube(
    space: SpaceLike, runs: int, *, seed: int | None = None, model: ModelKind | str = "quadratic"
) -> Design:
    """A Latin hypercube of *runs* runs (scipy, optimised for the centred L2 discrepancy)."""
    started = time.perf_counter()
    space = as_space(space)
    kc = len(space.continuous)
    if kc < 1:
        raise DesignError("a Latin hypercube needs at least one continuous factor")
    if runs < 2:
        raise DesignError(f"a Latin hypercube needs at least 2 runs, got {runs}")
    if runs > MAX_DESIGN_RUNS:
        raise DesignError(f"a Latin hypercube may have at most {MAX_DESIGN_RUNS:,} runs, got {runs:,}")
    from scipy.stats import qmc

    sampler = qmc.LatinHypercube(d=kc, rng=np.random.default_rng(0 if seed is None else seed), optimization="random-cd")
    coded = 2.0 * sampler.random(runs) - 1.0
    rng = np.random.default_rng(0 if seed is None else seed)
    points = np.zeros((runs, space.k))
    points[:, space.continuous] = coded
    for j in space.categorical:
        n_levels = len(space.factors[j].levels or ())
        points[:, j] = rng.permutation(np.arange(runs) % n_levels)
    return _design(space, points, "Latin hypercube", model, started, seed=seed)


def _cross(space: DesignSpace, coded: np.ndarray) -> np.ndarray:
    """Continuous coded runs crossed with every combination of categorical levels."""
    combos = list(itertools.product(*[range(len(space.factors[j].levels or ())) for j in space.categorical]))
    blocks = []
    for combo in combos:
        block = np.zeros((len(coded), space.k))
        block[:, space.continuous] = coded
        for j, level in zip(space.categorical, combo, strict=True):
            block[:, j] = level
        blocks.append(block)
    return np.vstack(blocks)


def _design(
    space: DesignSpace, points: np.ndarray, name: str, model: ModelKind | str, started: float, seed: int | None = None
) -> Design:
    if len(points) == 0:
        raise DesignError(f"the {name} has no run inside the constrained space")
    outside = ~space.feasible(points)
    if outside.any():
        first = int(np.flatnonzero(outside)[0])
        real = space.decode(points[first : first + 1])
        row = {space.factors[j].name: float(real[space.factors[j].name].iloc[0]) for j in space.continuous}
        why = space.describe_violation(row)
        raise DesignError(
            f"{int(outside.sum())} of the {len(points)} runs of the {name} lie outside the space "
            f"(run {first + 1}: {why}); classical designs ignore constraints, use optimal_design"
        )
    return Design(
        space=space,
        model=as_model(model, space),
        points=points,
        roles=("classical",) * len(points),
        method=name,
        seed=seed,
        seconds=time.perf_counter() - started,
    )
