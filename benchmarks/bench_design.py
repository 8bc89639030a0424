"""I-optimal designs: glassline against pyoptex on the same cases, measured in the same run.

Cases: full quadratic model, k factors coded to [-1, 1], N runs. Both tools' designs are scored by
the same formula, I = trace((X'X)⁻¹ W) with glassline's exact moment matrix W of the cube, so the
ratio compares designs, not each tool's own estimate of its criterion.

Run alone: ``python benchmarks/bench_design.py`` prints the Markdown section.
"""

from __future__ import annotations

import contextlib
import inspect
import io
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from glassline.design import DesignSpace, PolynomialModel, full_factorial, optimal_design

CASES: tuple[tuple[int, int], ...] = ((3, 17), (4, 25), (5, 30), (6, 40))
REPEATS = 5
#: pyoptex's documented quickstart setting (examples/doe/quickstart: ``n_tries=10``).
PYOPTEX_TRIES = 10
#: Best I known for 3 factors / 17 runs on the 3-level grid (issue 3), and the goals.
GOAL_I_3_17 = 0.3222
GOAL_SECONDS_3_17 = 0.3
GOAL_I_RATIO = 1.001
DEFAULT_STARTS = inspect.signature(optimal_design).parameters["n_starts"].default


@dataclass
class Result:
    values: list[float]
    seconds: list[float]

    @property
    def i(self) -> float:
        return statistics.median(self.values)

    @property
    def best(self) -> float:
        return min(self.values)

    @property
    def time(self) -> float:
        return statistics.median(self.seconds)


def i_value(points: np.ndarray, k: int) -> float:
    """I of coded *points* for the full quadratic model on the cube, exact W (glassline's formula)."""
    model = PolynomialModel(DesignSpace.cube(k), "quadratic")
    X = model.matrix(points)
    return float(np.trace(np.linalg.solve(X.T @ X, model.moments())))


def _measure(make: Callable[[int], np.ndarray], k: int) -> Result:
    make(10_000)  # warm-up: imports, caches
    values, seconds = [], []
    for seed in range(REPEATS):
        started = time.perf_counter()
        points = make(seed)
        seconds.append(time.perf_counter() - started)
        values.append(i_value(points, k))
    return Result(values, seconds)


def glassline_case(k: int, n: int, *, off_grid: bool = True) -> Result:
    space = DesignSpace.cube(k)
    return _measure(lambda seed: optimal_design(space, n, seed=seed, off_grid=off_grid).points, k)


def pyoptex_case(k: int, n: int) -> Result | None:
    try:
        from pyoptex._seed import set_seed
        from pyoptex.doe.fixed_structure import Factor, create_fixed_structure_design, create_parameters, default_fn
        from pyoptex.doe.fixed_structure.metric import Iopt
        from pyoptex.utils.model import model2Y2X, partial_rsm_names
    except ImportError:
        return None
    factors = [Factor(f"x{i + 1}", type="continuous") for i in range(k)]
    Y2X = model2Y2X(partial_rsm_names({f.name: "quad" for f in factors}), factors)

    def make(seed: int) -> np.ndarray:
        set_seed(seed)
        fn = default_fn(factors, Iopt(), Y2X)
        params = create_parameters(factors, fn, n)
        with contextlib.redirect_stderr(io.StringIO()):  # its tqdm bar
            Y, _ = create_fixed_structure_design(params, n_tries=PYOPTEX_TRIES)
        return Y[[f.name for f in factors]].to_numpy(dtype=float)  # min −1, max 1: already coded

    return _measure(make, k)


def _in_own_process(
    function: Callable[[int, int], Result | None], cases: tuple[tuple[int, int], ...]
) -> dict[tuple[int, int], Result | None]:
    """Run *function* on every case in one fresh process, after glassline's runs: the other tool's
    threads and caches then cannot touch glassline's timings, or the reverse."""
    import multiprocessing

    with multiprocessing.get_context("spawn").Pool(1) as pool:
        results = pool.starmap(function, cases)
    return dict(zip(cases, results, strict=True))


def _version(package: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return "not installed"


def run() -> str:
    """The Markdown section for ``benchmarks/RESULTS.md``."""
    lines = [
        "## Design of experiments: I-optimal designs against pyoptex",
        "",
        f"Full quadratic model, k factors on [-1, 1], N runs; {REPEATS} seeds per tool and case, medians. "
        "Both tools' designs are scored by glassline's formula I = trace((X'X)⁻¹W) with the exact moment "
        "matrix W of the cube. Ratios are glassline / pyoptex (I ratio < 1: glassline's design predicts "
        "better on average; time ratio < 1: glassline is faster).",
        "",
        "| case | glassline I | N·I | median s | pyoptex I | N·I | median s | I ratio | time ratio |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    goals: list[str] = []
    grid_rows: list[str] = []
    mine = {case: (glassline_case(*case), glassline_case(*case, off_grid=False)) for case in CASES}
    peers = _in_own_process(pyoptex_case, CASES)
    for k, n in CASES:
        ours, grid = mine[k, n]
        peer = peers[k, n]
        if peer is None:
            lines.append(
                f"| {k} factors / {n} runs | {ours.i:.4f} | {n * ours.i:.3f} | {ours.time:.3f} | – | – | – | – | – |"
            )
            continue
        i_ratio, t_ratio = ours.i / peer.i, ours.time / peer.time
        lines.append(
            f"| {k} factors / {n} runs | {ours.i:.4f} | {n * ours.i:.3f} | {ours.time:.3f} | {peer.i:.4f} "
            f"| {n * peer.i:.3f} | {peer.time:.3f} | {i_ratio:.3f} | {t_ratio:.2f} |"
        )
        grid_rows.append(
            f"| {k} factors / {n} runs | {grid.i:.4f} (best {grid.best:.4f}) | {grid.time:.3f} "
            f"| {peer.i:.4f} (best {peer.best:.4f}) | {grid.i / peer.i:.3f} |"
        )
        worst_ratio = max(ours.values) / peer.i
        ok = max(ours.values) / peer.i <= GOAL_I_RATIO and ours.time < peer.time
        goals.append(
            f"- {k}/{n}: worst glassline seed I / median pyoptex I = {worst_ratio:.3f}, "
            f"time ratio {t_ratio:.2f} → {'met' if ok else 'NOT met'}"
        )
        if (k, n) == (3, 17):
            ok = max(ours.values) <= GOAL_I_3_17 and ours.time <= GOAL_SECONDS_3_17
            goals.insert(
                0,
                f"- 3/17: worst I {max(ours.values):.5f} (goal ≤ {GOAL_I_3_17}), median "
                f"{ours.time:.3f} s (goal ≤ {GOAL_SECONDS_3_17} s) → {'met' if ok else 'NOT met'}",
            )
    space = DesignSpace.cube(3)
    d17 = optimal_design(space, 17, seed=0)
    ff = full_factorial(space, levels=4)
    lines += [
        "",
        "Same comparison with glassline restricted to the 3-level grid (`off_grid=False`, the levels "
        "pyoptex uses), median and best of the seeds:",
        "",
        "| case | glassline I, grid only | median s | pyoptex I | I ratio |",
        "|---|---|---|---|---|",
        *grid_rows,
        "",
        "Goals of issue 3 (I within 0.1 % of pyoptex or better, in less time; 3/17: I ≤ 0.3222 in ≤ 0.3 s):",
        "",
        *goals,
        "",
        f"Computed, not typed: {len(d17)} runs instead of {len(ff)} (4-level full factorial): "
        f"N·I {d17.n_i:.2f} vs {len(ff) * ff.i_value:.2f}.",
        "",
        "Notes:",
        f"- glassline: `optimal_design(DesignSpace.cube(k), N, seed=s)`: {DEFAULT_STARTS} random starts of "
        "coordinate exchange on the 3-level grid, the best 4 refined off the grid (continuous coordinate "
        "exchange, then a joint L-BFGS-B polish), rank-two updates of (X'X)⁻¹, exact W. Off the grid it "
        "finds designs better than the 3-level ones either tool finds; the grid-only table compares the "
        "search on equal terms.",
        f"- pyoptex {_version('pyoptex')}: `create_fixed_structure_design(params, n_tries={PYOPTEX_TRIES})` "
        "with `Iopt()` (its Monte-Carlo W from 10,000 random points; continuous factors on −1, 0, 1), "
        "Cython coordinate exchange; seeded with `pyoptex._seed.set_seed(s)`.",
        "- Times are wall-clock per design after one warm-up call; glassline runs first in the benchmark's "
        "process, then pyoptex in a fresh process of its own (so neither's threads touch the other's timings); "
        "glassline keeps BLAS on one thread while it searches, pyoptex runs with its defaults (its times "
        "were the same with one BLAS thread). The machine may be shared: compare ratios, not seconds.",
        f"- Python {platform.python_version()}, numpy {_version('numpy')}, {os.cpu_count()} CPUs.",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(run())
