"""The smallest change of the settable factors that brings every bounded prediction into its requirement.

**Objective** (lexicographic): first the number of factors changed, then the weighted L1 change in range
units, ``Σ_j w_j |x_j − r_j| / (high_j − low_j)``; the answer must lie inside the box and the validity
domain, and with ``interval=True`` the whole prediction interval (``prediction ± half_width``, the
service's) must lie inside every requirement. Factors not settable keep their values.

**Supports first.** The supports (sets of changed factors) are searched by size: every support of one
factor, then of two, …; the first size with any feasible setting gives the answer, the closest of that size.

**Solvers, by model structure** (:func:`glassline.shapley.analyse`):

- *tree ensembles* (random forest, XGBoost): the prediction is constant on the cells between the split
  thresholds (:func:`glassline.shapley.tree_grid`). The point of a cell nearest to the row is the row
  clipped to the cell, so per support the candidates are the products of, per factor, the value just beyond
  each threshold (resolved to the model's float32 comparison). They are searched best-first by branch and bound
  over boxes of cells: a box's distance bound is the sum of each factor's nearest value, and for scikit-learn
  forests a box whose leaf bound (the mean over the trees of the extreme leaf each can reach in the box)
  misses a requirement is skipped whole; the search stops when no remaining box is nearer than the best cell
  (*exact*). No feasible cell: a certificate.
- *linear models*: one linear program per support (HiGHS via :func:`scipy.optimize.linprog`), *exact*; the
  program over every settable factor infeasible is the certificate.
- *the reduced quadratic* (one bounded response, at most :data:`QP_MAX_FACTORS` settable factors): the model's
  exact quadratic form (checked on the box), then per support every KKT point of ``min Σ w|Δ|`` subject to the
  bound: per orthant of the change and face of the box, the free factors solve ``∇q = μ·cost`` on the bound, a
  quadratic equation in one unknown; the nearest candidate that meets the requirement on the model itself is
  the optimum (*exact*, to 1e-6 of a range width: a root on the bound's edge is moved that far at most). A
  support whose exact extreme over its box misses the bound is skipped; the box's extreme missing it is the
  certificate.
- *anything else* (SVR, Gaussian process, several quadratic responses, a mix of families): per support a dense
  scan (one factor: 401 points, refined by bisection to 1e-9 of the range) or a scrambled Sobol sample
  (several factors), then local refinement (the segment towards the row, SLSQP, coordinate shrinking). The
  answer states that it is a search and its resolution. For an RBF SVR, interval bounds of the kernel expansion
  over boxes (each term exact over a box from its nearest and farthest distance to the support vector), by
  best-first branch and bound within :data:`CERTIFY_SECONDS`, certify a lower bound on the distance of any
  setting with as many changed factors: ``gap`` is the answer's distance minus it; with nothing found, every
  box missing the requirement is a proof. Nothing found otherwise: for a quadratic, the exact extreme of each
  bounded prediction over the box (enumeration of the box's faces) certifies infeasibility; otherwise the best
  reached is stated, not proven.

Feasibility of every answer is re-checked with the callers' own predictor and domain check.
"""

from __future__ import annotations

import heapq
import itertools
import math
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from scipy.optimize import linprog, minimize
from scipy.stats import qmc

from glassline.exceptions import SpecError, did_you_mean
from glassline.optimize._problem import BoolArray, FloatArray, Space, Surface, Target
from glassline.shapley import analyse, tree_thresholds

__all__ = ["DEFAULT_SECONDS", "Counterfactual", "counterfactual"]

#: The default time budget of one counterfactual, in seconds; a search that reaches it says so.
DEFAULT_SECONDS = 10.0
#: Points of the one-factor scan of the search solver.
SCAN_POINTS = 401
#: Quasi-random points per support of several factors in the search solver (times the support's size).
SOBOL_POINTS = 512
#: The most cells the tree solver enumerates in all (beyond: the search solver from that support size on).
MAX_CELLS = 1_000_000
#: Boxes of at most this many cells are enumerated by the tree solver; larger ones are split.
NODE_CELLS = 2048
#: Whether the tree solver skips boxes of cells whose forest leaf bound misses a requirement (exact either way).
LEAF_BOUND = True
#: The most settable factors for the exact quadratic program (its KKT enumeration grows as 4^k per support).
QP_MAX_FACTORS = 6
#: Rows predicted at once.
BATCH = 65_536

Method = Literal["unchanged", "cells", "linear program", "quadratic program", "search"]


@dataclass
class Counterfactual:
    """The answer: the new row, what changed, each bounded prediction with its interval, and how it was found.

    ``optimal`` is True when the solver proves the answer optimal (``gap`` 0), False for a search
    (``resolution`` says what the search can miss; ``gap`` is the certified bound on how much nearer an
    optimum with as many changed factors can be where one is known, an RBF SVR, else None). When infeasible,
    ``certificate`` says why no setting inside the domain meets the requirements and ``proven`` whether that is
    a proof.
    """

    feasible: bool
    row: dict[str, float]
    changes: dict[str, dict[str, Any]]
    predictions: dict[str, float]
    intervals: dict[str, tuple[float | None, float | None]]
    distance: float | None
    n_changed: int | None
    method: Method
    optimal: bool
    gap: float | None
    resolution: str
    certificate: str | None = None
    proven: bool | None = None
    seconds: float = 0.0
    evaluations: int = 0
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "feasible": self.feasible,
            "row": self.row,
            "changes": self.changes,
            "predictions": self.predictions,
            "intervals": {k: list(v) for k, v in self.intervals.items()},
            "distance": self.distance,
            "n_changed": self.n_changed,
            "certificate": self.certificate,
            "proven": self.proven,
            "method": self.method,
            "optimal": self.optimal,
            "gap": self.gap,
            "resolution": self.resolution,
            "seconds": self.seconds,
            "evaluations": self.evaluations,
            "notes": self.notes,
        }


# ---------------------------------------------------------------------------------------------- evaluation
class _Problem:
    """The bounded surfaces over the full factor vector, with evaluation counting and the time budget."""

    def __init__(
        self,
        targets: Sequence[Target],
        space: Space,
        row: FloatArray,
        free: list[int],
        cost: FloatArray,
        interval: bool,
        seconds: float,
    ) -> None:
        self.targets = list(targets)
        self.space = space
        self.row = row
        self.free = free
        self.cost = cost  # per factor: weight / range width (0 for factors not settable)
        self.interval = interval
        self.columns = [
            [space.index(name, f"input of model {t.surface.name!r}") for name in t.surface.inputs] for t in self.targets
        ]
        self.half = [(t.surface.half_width or 0.0) if interval else 0.0 for t in self.targets]
        self.evaluations = 0
        self.deadline = time.monotonic() + seconds

    def late(self) -> bool:
        return time.monotonic() > self.deadline

    def predictions(self, X: FloatArray) -> list[FloatArray]:
        self.evaluations += len(X)
        return [t.surface.values(X[:, cols]) for t, cols in zip(self.targets, self.columns, strict=True)]

    def margins(self, X: FloatArray) -> FloatArray:
        """Per row the worst requirement margin (≥ 0: every requirement met), each in the response's units
        divided by its interval half-width or 1; NaN predictions count as −inf."""
        worst = np.full(len(X), np.inf)
        for t, h, p in zip(self.targets, self.half, self.predictions(X), strict=True):
            scale = h if h > 0 else 1.0
            if t.low is not None:
                worst = np.minimum(worst, (p - h - t.low) / scale)
            if t.high is not None:
                worst = np.minimum(worst, (t.high - p - h) / scale)
        return np.where(np.isfinite(worst), worst, -np.inf)

    def meets(self, X: FloatArray) -> BoolArray:
        return np.asarray(self.margins(X) >= 0.0, dtype=bool)

    def feasible(self, X: FloatArray) -> BoolArray:
        """Meets every requirement, inside the box and the validity domain."""
        ok = self.meets(X)
        if ok.any():
            ok[ok] = self.space.contains(X[ok])
        return ok

    def distance(self, X: FloatArray) -> FloatArray:
        return np.asarray(np.abs(X - self.row) @ self.cost, dtype=float)

    def changed(self, x: FloatArray) -> list[int]:
        tol = 1e-12 * np.maximum(self.space.widths, 1.0)
        return [j for j in range(len(x)) if abs(x[j] - self.row[j]) > tol[j]]


# ---------------------------------------------------------------------------------------------- structure
def _kind(surface: Surface) -> str:
    structure = analyse(surface.estimator) if surface.estimator is not None else None
    kind = structure.kind if structure is not None else None
    return kind if kind in ("linear", "quadratic", "tree") else "general"


def _tree_edges(surface: Surface) -> list[FloatArray] | None:
    """Per input of *surface*: its split thresholds in raw units, as (just below, just above) pairs, or None."""
    if surface.estimator is None:
        return None
    p = len(surface.inputs)
    found = tree_thresholds(surface.estimator, p)
    if found is None:
        return None
    zero = np.asarray(found.transform(np.zeros((1, p))), dtype=float)[0]
    slope = np.asarray(found.transform(np.ones((1, p))), dtype=float)[0] - zero
    out: list[FloatArray] = []
    for j, edges in enumerate(found.edges):
        if not slope[j] > 0:
            return None
        e = np.asarray(edges, dtype=np.float32)
        # the model compares float32 values: two float32 steps beyond a threshold lie on either side of it
        up = np.nextafter(np.nextafter(e, np.float32(np.inf)), np.float32(np.inf)).astype(float)
        down = np.nextafter(np.nextafter(e, np.float32(-np.inf)), np.float32(-np.inf)).astype(float)
        out.append(np.stack([(down - zero[j]) / slope[j], (up - zero[j]) / slope[j]], axis=1))
    return out


# ---------------------------------------------------------------------------------------------- solvers
@dataclass
class _Found:
    x: FloatArray
    distance: float
    n_changed: int


def _batches(n: int, first: int = 256) -> list[tuple[int, int]]:
    """Row ranges of growing size (256, 1024, … up to BATCH): the nearest cells first, so an answer near the
    row costs few predictions."""
    out, start, size = [], 0, first
    while start < n:
        out.append((start, min(n, start + size)))
        start += size
        size = min(BATCH, size * 4)
    return out


def _supports(free: list[int], k: int) -> list[tuple[int, ...]]:
    return list(itertools.combinations(free, k))


@dataclass
class _Leaves:
    """Every leaf of a scikit-learn forest as a box in the model's (transformed) units: the leaf holds the points
    with ``low < z ≤ high`` per input (float32 comparisons, as the trees compare); ``starts`` is the first leaf of
    each tree."""

    low: FloatArray
    high: FloatArray
    value: FloatArray
    starts: npt.NDArray[np.intp]
    transform: Any

    def bounds(self, lo: FloatArray, hi: FloatArray) -> tuple[float, float]:
        """The lowest and highest the forest can predict on the box ``lo ≤ x ≤ hi`` (raw units of its inputs):
        the mean over the trees of the extreme leaf each tree can reach there (a bound: the trees' extremes need
        not be reached at one point)."""
        zlo = np.asarray(self.transform(lo[None, :]), dtype=float)[0].astype(np.float32).astype(float)
        zhi = np.asarray(self.transform(hi[None, :]), dtype=float)[0].astype(np.float32).astype(float)
        reach = np.all((zlo <= self.high) & (zhi > self.low), axis=1)
        top = np.maximum.reduceat(np.where(reach, self.value, -np.inf), self.starts)
        bottom = np.minimum.reduceat(np.where(reach, self.value, np.inf), self.starts)
        return float(np.mean(bottom)), float(np.mean(top))


def _leaf_table(surface: Surface) -> _Leaves | None:
    """The leaves of *surface*'s scikit-learn random forest or extra-trees (None for any other model)."""
    from sklearn.ensemble import ExtraTreesRegressor, RandomForestRegressor
    from sklearn.pipeline import Pipeline

    estimator = surface.estimator
    if estimator is None:
        return None
    steps = [s for _, s in estimator.steps] if isinstance(estimator, Pipeline) else [estimator]
    forest = steps[-1]
    if type(forest) not in (RandomForestRegressor, ExtraTreesRegressor):
        return None
    p = len(surface.inputs)
    found = tree_thresholds(estimator, p)
    if found is None:
        return None
    zero = np.asarray(found.transform(np.zeros((1, p))), dtype=float)[0]
    slope = np.asarray(found.transform(np.ones((1, p))), dtype=float)[0] - zero
    if not np.all(slope > 0):  # the box's ends must map to the transformed box's ends
        return None
    lows: list[FloatArray] = []
    highs: list[FloatArray] = []
    values: list[float] = []
    starts: list[int] = []
    for tree in forest.estimators_:
        structure = tree.tree_
        left, right = structure.children_left, structure.children_right
        feature, threshold = structure.feature, structure.threshold
        value = structure.value.reshape(structure.node_count, -1)[:, 0]
        starts.append(len(values))
        stack = [(0, np.full(p, -np.inf), np.full(p, np.inf))]
        while stack:
            node, lo, hi = stack.pop()
            if left[node] == -1:
                lows.append(lo)
                highs.append(hi)
                values.append(float(value[node]))
                continue
            f, t = int(feature[node]), float(threshold[node])
            hi_left = hi.copy()
            hi_left[f] = min(hi[f], t)
            lo_right = lo.copy()
            lo_right[f] = max(lo[f], t)
            stack.append((int(left[node]), lo, hi_left))
            stack.append((int(right[node]), lo_right, hi))
    return _Leaves(
        np.asarray(lows), np.asarray(highs), np.asarray(values), np.asarray(starts, dtype=np.intp), found.transform
    )


def _cells(problem: _Problem, edges: dict[int, list[FloatArray]]) -> tuple[_Found | None, str, bool, int | None]:
    """Exact search of the cells between split thresholds, support size by support size: the answer, how it was
    found, whether proven, and the support size at which the cell budget ran out (None: it did not).

    Per support size, a best-first branch and bound over boxes of cells (one candidate value per cell and
    factor: the value just beyond each threshold, nearest the row): a box's distance bound is the sum of each
    factor's nearest value, its prediction bound (random forests, :data:`LEAF_BOUND`) the forest's leaf bound
    over the box; a box whose prediction bound misses a requirement is skipped whole, boxes of at most
    :data:`NODE_CELLS` cells are enumerated, larger ones split in two along their longest factor, and the search
    stops when the nearest remaining box is no nearer than the best cell found. Exact: every skipped cell is
    either provably infeasible or no nearer."""
    space, row = problem.space, problem.row
    lows, highs = space.lows, space.highs
    base = row.copy()
    for j in problem.free:
        base[j] = float(np.clip(row[j], lows[j], highs[j]))
    values: dict[int, FloatArray] = {}
    for j in problem.free:
        start = base[j]
        candidates = [float(lows[j]), float(highs[j])]  # a cell may meet the box only at its end
        for pair in edges.get(j, []):
            below, above = pair[:, 0], pair[:, 1]
            candidates.extend(above[(above > start) & (above <= highs[j])].tolist())
            candidates.extend(below[(below < start) & (below >= lows[j])].tolist())
        v = np.unique(np.asarray(candidates, dtype=float))
        v = v[v != start]
        if start != row[j]:  # a clipped start is itself a change
            v = np.unique(np.concatenate([[start], v]))
        values[j] = v
    gaps = {j: problem.cost[j] * np.abs(values[j] - row[j]) for j in problem.free}
    must = [j for j in problem.free if base[j] != row[j]]  # out-of-range settable values change anyway
    tables = [_leaf_table(t.surface) for t in problem.targets] if LEAF_BOUND else []
    use_bound = bool(tables) and all(table is not None for table in tables)

    def pruned(support: tuple[int, ...], ranges: tuple[tuple[int, int], ...]) -> bool:
        if not use_bound:
            return False
        lo, hi = base.copy(), base.copy()
        for j, (a, b) in zip(support, ranges, strict=True):
            lo[j], hi[j] = values[j][a], values[j][b - 1]
        for table, target, h, cols in zip(tables, problem.targets, problem.half, problem.columns, strict=True):
            assert table is not None
            bottom, top = table.bounds(lo[cols], hi[cols])
            if target.low is not None and top - h < target.low:
                return True
            if target.high is not None and bottom + h > target.high:
                return True
        return False

    def nearest(support: tuple[int, ...], ranges: tuple[tuple[int, int], ...]) -> float:
        return float(sum(gaps[j][a:b].min() for j, (a, b) in zip(support, ranges, strict=True)))

    cells = 0
    skipped = 0
    best: _Found | None = None
    domain_blocked = 0
    for k in range(len(problem.free) + 1):
        heap: list[tuple[float, int, tuple[int, ...], tuple[tuple[int, int], ...]]] = []
        for support in _supports(problem.free, k):
            if any(j not in support for j in must) or any(len(values[j]) == 0 for j in support):
                continue
            ranges = tuple((0, len(values[j])) for j in support)
            heapq.heappush(heap, (nearest(support, ranges), len(heap), support, ranges))
        counter = len(heap)
        while heap:
            bound, _, support, ranges = heapq.heappop(heap)
            if best is not None and bound >= best.distance:
                break
            if cells > MAX_CELLS or problem.late():
                if best is None:
                    return None, f"{cells} cells enumerated before the cell budget ran out", True, k
                return best, f"{cells} cells enumerated before the cell budget ran out", False, None
            size = math.prod(b - a for a, b in ranges)
            if pruned(support, ranges):
                skipped += size
                continue
            if size > NODE_CELLS:
                widest = max(range(len(ranges)), key=lambda i: ranges[i][1] - ranges[i][0])
                a, b = ranges[widest]
                middle = (a + b) // 2
                for part in ((a, middle), (middle, b)):
                    child = (*ranges[:widest], part, *ranges[widest + 1 :])
                    heapq.heappush(heap, (nearest(support, child), counter, support, child))
                    counter += 1
                continue
            options = [values[j][a:b] for j, (a, b) in zip(support, ranges, strict=True)]
            X = np.repeat(base[None, :], size, axis=0)
            if support:
                for j, g in zip(support, np.meshgrid(*options, indexing="ij"), strict=True):
                    X[:, j] = g.ravel()
            d = problem.distance(X)
            order = np.argsort(d, kind="stable")
            X, d = X[order], d[order]
            if best is not None:
                keep = d < best.distance
                X, d = X[keep], d[keep]
            cells += len(X)
            if not len(X):
                continue
            for i in np.flatnonzero(problem.meets(X)):
                if space.contains(X[i : i + 1])[0]:
                    best = _Found(X[i].copy(), float(d[i]), k)
                    break
                domain_blocked += 1
        if best is not None:
            break
    note = f"exact: {cells} cells between the split thresholds of the settable factors enumerated"
    if skipped:
        note += f", {skipped} more skipped whole by the forest's leaf bound"
    if domain_blocked:
        note += (
            f"; {domain_blocked} nearer cells met the requirements only at points outside the validity domain's "
            "distance check, so the answer is the nearest cell point inside the domain"
        )
    return best, note, domain_blocked == 0, None


def _linear_parts(problem: _Problem) -> list[tuple[FloatArray, float]]:
    """Each surface as ``a · x + b`` over the full factor vector (exact for an affine model)."""
    p = len(problem.row)
    X = np.repeat(problem.row[None, :], p + 1, axis=0)
    X[1:] += np.diag(np.where(problem.space.widths > 0, problem.space.widths, 1.0))
    parts = []
    for cols, pred in zip(problem.columns, problem.predictions(X), strict=True):
        a = np.zeros(p)
        steps = np.where(problem.space.widths > 0, problem.space.widths, 1.0)
        for j in set(cols):
            a[j] = (pred[1 + j] - pred[0]) / steps[j]
        parts.append((a, float(pred[0] - a @ problem.row)))
    return parts


def _lp(problem: _Problem, support: tuple[int, ...], parts: list[tuple[FloatArray, float]]) -> _Found | None:
    k = len(support)
    row, lows, highs = problem.row, problem.space.lows, problem.space.highs
    fixed = row.copy()
    A_ub: list[list[float]] = []
    b_ub: list[float] = []
    for (a, b), t, h in zip(parts, problem.targets, problem.half, strict=True):
        rest = float(a @ fixed - sum(a[j] * fixed[j] for j in support)) + b
        coef = [a[j] for j in support]
        if t.low is not None:  # a·x + b − h ≥ low  →  −a_S x_S ≤ rest − h − low
            A_ub.append([-c for c in coef] + [0.0] * k)
            b_ub.append(rest - h - t.low)
        if t.high is not None:
            A_ub.append(coef + [0.0] * k)
            b_ub.append(t.high - h - rest)
    for i, j in enumerate(support):  # u ≥ |x − r|
        e = [0.0] * (2 * k)
        e[i], e[k + i] = 1.0, -1.0
        A_ub.append(e)
        b_ub.append(row[j])
        e = [0.0] * (2 * k)
        e[i], e[k + i] = -1.0, -1.0
        A_ub.append(e)
        b_ub.append(-row[j])
    c = [0.0] * k + [problem.cost[j] for j in support]
    bounds = [(lows[j], highs[j]) for j in support] + [(0.0, None)] * k
    if not A_ub:
        return None
    result = linprog(c, A_ub=np.asarray(A_ub), b_ub=np.asarray(b_ub), bounds=bounds, method="highs")
    if result.status != 0:
        return None
    x = row.copy()
    for i, j in enumerate(support):
        x[j] = float(np.clip(result.x[i], lows[j], highs[j]))
    return _Found(x, float(problem.distance(x[None, :])[0]), len(problem.changed(x)))


def _nudged(problem: _Problem, x: FloatArray) -> FloatArray | None:
    """*x* if feasible, else *x* moved a hair away from the row (a solver's answer on the bound's edge)."""
    for step in (0.0, 1e-10, 1e-8, 1e-6):
        y = x + step * np.sign(x - problem.row) * problem.space.widths
        y = np.clip(y, problem.space.lows, problem.space.highs)
        if problem.feasible(y[None, :])[0]:
            return y
    return None


def _linear(problem: _Problem) -> tuple[_Found | None, str, bool]:
    parts = _linear_parts(problem)
    for k in range(1, len(problem.free) + 1):
        found: list[_Found] = []
        blocked = False
        for support in _supports(problem.free, k):
            candidate = _lp(problem, support, parts)
            if candidate is None:
                continue
            x = _nudged(problem, candidate.x)
            if x is None:
                blocked = True
                continue
            found.append(_Found(x, float(problem.distance(x[None, :])[0]), len(problem.changed(x))))
        if found:
            note = "exact: one linear program (HiGHS) per support of the settable factors"
            if blocked:
                note += "; a nearer solution of some support lay outside the validity domain's distance check"
            return min(found, key=lambda f: (f.n_changed, f.distance)), note, not blocked
    return None, "exact: the linear program of every support of the settable factors has no solution", True


def _bracket(problem: _Problem, make: Any, lo: float, hi: float, rounds: int = 4, n: int = 16) -> float:
    """The smallest t in [lo, hi] with ``make(t)`` feasible, given ``make(hi)`` feasible and ``make(lo)`` not, to
    (hi − lo)/(n + 1)^rounds: each round one batch of *n* rows (assumes one crossing inside the bracket)."""
    for _ in range(rounds):
        ts = np.linspace(lo, hi, n + 2)[1:-1]
        ok = problem.feasible(np.vstack([make(t) for t in ts]))
        if ok.any():
            first = int(np.argmax(ok))
            hi = float(ts[first])
            lo = float(ts[first - 1]) if first > 0 else lo
        else:
            lo = float(ts[-1])
    return hi


def _toward_row(problem: _Problem, x: FloatArray, steps: int = 24) -> FloatArray:
    """The feasible point nearest the row on the segment row → *x* (x feasible), in batches of rows."""
    row = problem.row
    ts = np.linspace(0.0, 1.0, steps + 1)[1:]
    ok = problem.feasible(row + ts[:, None] * (x - row))
    first = int(np.argmax(ok)) if ok.any() else len(ts) - 1
    hi = float(ts[first])
    lo = float(ts[first - 1]) if first > 0 else 0.0
    t = _bracket(problem, lambda t: row + t * (x - row), lo, hi)
    return row + t * (x - row)


def _shrink(problem: _Problem, x: FloatArray, support: tuple[int, ...]) -> FloatArray:
    """Move each factor of the support towards the row as far as feasibility allows (batched, per factor)."""
    x = x.copy()
    for _ in range(2):
        for j in support:
            start, target = x[j], problem.row[j]

            def moved(
                f: float, j: int = j, start: float = start, target: float = target, base: FloatArray = x
            ) -> FloatArray:
                y = base.copy()
                y[j] = start + f * (target - start)
                return y

            # the largest fraction f of the way back that stays feasible: 1 − the smallest feasible 1 − f
            back = 1.0 - _bracket(problem, lambda g: moved(1.0 - g), 0.0, 1.0)
            if problem.feasible(moved(back)[None, :])[0]:
                x = moved(back)
    return x


def _polish(problem: _Problem, x: FloatArray, support: tuple[int, ...]) -> FloatArray:
    """SLSQP on the support: minimise the weighted L1 change keeping the worst margin ≥ 0 (split variables)."""
    S = list(support)
    row, lows, highs = problem.row, problem.space.lows, problem.space.highs
    width = np.where(problem.space.widths[S] > 0, problem.space.widths[S], 1.0)
    k = len(S)
    d0 = (x[S] - row[S]) / width
    z0 = np.concatenate([np.maximum(d0, 0.0), np.maximum(-d0, 0.0)])
    c = problem.cost[S] * width

    def point(z: FloatArray) -> FloatArray:
        y = row.copy()
        y[S] = row[S] + (z[:k] - z[k:]) * width
        return y

    def margin(z: FloatArray) -> float:
        return float(problem.margins(point(z)[None, :])[0])

    def slope(z: FloatArray) -> FloatArray:
        h = 1e-6
        Z = np.vstack([z, z + h * np.eye(len(z))])
        m = problem.margins(np.vstack([point(r) for r in Z]))
        g = (m[1:] - m[0]) / h
        return np.where(np.isfinite(g), g, 0.0)

    bounds = [(0.0, max(0.0, (highs[j] - row[j]) / w)) for j, w in zip(S, width, strict=True)] + [
        (0.0, max(0.0, (row[j] - lows[j]) / w)) for j, w in zip(S, width, strict=True)
    ]
    try:
        result = minimize(
            lambda z: float(np.concatenate([c, c]) @ z),
            z0,
            jac=lambda z: np.concatenate([c, c]),
            bounds=bounds,
            constraints=[{"type": "ineq", "fun": margin, "jac": slope}],
            method="SLSQP",
            options={"maxiter": 40, "ftol": 1e-10},
        )
    except (ValueError, FloatingPointError):
        return x
    y = np.clip(point(np.asarray(result.x, dtype=float)), lows, highs)
    nudged = _nudged(problem, y)
    if nudged is not None and problem.distance(nudged[None, :])[0] < problem.distance(x[None, :])[0]:
        return nudged
    return x


def _search_support(problem: _Problem, support: tuple[int, ...], seed: int) -> _Found | None:
    row, lows, highs = problem.row, problem.space.lows, problem.space.highs
    base = np.clip(row, lows, highs)
    for j in range(len(row)):
        if j not in support and base[j] != row[j]:
            return None  # an unchanged factor outside its range: this support cannot reach the domain
    S = list(support)
    if len(S) == 1:
        j = S[0]
        axis = np.unique(np.concatenate([np.linspace(lows[j], highs[j], SCAN_POINTS), [base[j]]]))
        X = np.repeat(base[None, :], len(axis), axis=0)
        X[:, j] = axis
    else:
        n = SOBOL_POINTS * len(S)
        sample = qmc.Sobol(len(S), scramble=True, seed=seed).random(1 << math.ceil(math.log2(n)))
        X = np.repeat(base[None, :], len(sample), axis=0)
        X[:, S] = lows[S] + sample * (highs[S] - lows[S])
    ok = problem.feasible(X)
    if not ok.any():
        return None
    d = problem.distance(X)
    candidates = np.flatnonzero(ok)[np.argsort(d[ok], kind="stable")][: 1 if len(S) == 1 else 3]
    # the nearest feasible point on each candidate's segment to the row; then the best of them refined
    pulled = [_toward_row(problem, X[i]) for i in candidates]
    x = min(pulled, key=lambda y: float(problem.distance(y[None, :])[0]))
    if len(S) > 1:
        x = _polish(problem, x, support)
    x = _shrink(problem, x, support)
    if not problem.feasible(x[None, :])[0]:
        x = pulled[0] if problem.feasible(pulled[0][None, :])[0] else X[candidates[0]]
    return _Found(x, float(problem.distance(x[None, :])[0]), len(problem.changed(x)))


def _search(problem: _Problem, first: int = 1) -> tuple[_Found | None, str, bool]:
    for k in range(max(1, first), len(problem.free) + 1):
        found: list[_Found] = []
        for support in _supports(problem.free, k):
            if problem.late():
                break
            candidate = _search_support(problem, support, seed=len(found))
            if candidate is not None:
                found.append(candidate)
        if found:
            return min(found, key=lambda f: (f.n_changed, f.distance)), "search", False
        if problem.late():
            return None, "late", False
    return None, "search", False


# ---------------------------------------------------------------------------------------------- exact quadratic
@dataclass
class _Quadratic:
    """One surface as ``f0 + g·y + ½ yᵀHy`` in the raw offsets ``y = x − base`` of the settable factors."""

    f0: float
    g: FloatArray
    H: FloatArray


def _quadratic_form(problem: _Problem, t: int, base: FloatArray) -> _Quadratic | None:
    """The exact quadratic form of surface *t* over the settable factors around *base* (differences of a
    quadratic are exact), checked on quasi-random points of the box; None when the surface is not quadratic
    there (to 1e-7 of its range) or there are more than :data:`QP_MAX_FACTORS` settable factors."""
    free = problem.free
    m = len(free)
    if m == 0 or m > QP_MAX_FACTORS:
        return None
    step = np.where(problem.space.widths > 0, problem.space.widths, 1.0)[free] / 2
    points = [base.copy()]
    for i in range(m):
        for s in (1.0, -1.0):
            y = base.copy()
            y[free[i]] += s * step[i]
            points.append(y)
    for i in range(m):
        for j in range(i, m):
            y = base.copy()
            y[free[i]] += step[i]
            y[free[j]] += step[j]
            points.append(y)
    lows, highs = problem.space.lows[free], problem.space.highs[free]
    check = qmc.Sobol(m, scramble=True, seed=7).random(16)
    X_check = np.repeat(base[None, :], len(check), axis=0)
    X_check[:, free] = lows + check * (highs - lows)
    X = np.vstack([np.asarray(points), X_check])
    values = problem.targets[t].surface.values(X[:, problem.columns[t]])
    problem.evaluations += len(X)
    if not np.all(np.isfinite(values)):
        return None
    f0 = float(values[0])
    plus, minus = values[1 : 1 + 2 * m : 2], values[2 : 2 + 2 * m : 2]
    g = (plus - minus) / (2 * step)
    H = np.empty((m, m))
    at = 1 + 2 * m
    for i in range(m):
        for j in range(i, m):
            H[i, j] = H[j, i] = (values[at] - plus[i] - plus[j] + f0) / (step[i] * step[j])
            at += 1
    Y = X_check[:, free] - base[free]
    model = f0 + Y @ g + 0.5 * np.einsum("ni,ij,nj->n", Y, H, Y)
    truth = values[-len(check) :]
    scale = max(1.0, float(np.ptp(values)))
    if np.max(np.abs(model - truth)) > 1e-7 * scale:
        return None
    return _Quadratic(f0, g, H)


def _qp_support(
    problem: _Problem, support: tuple[int, ...], base: FloatArray, forms: list[_Quadratic]
) -> list[FloatArray]:
    """Every KKT point of ``min Σ c_j |x_j − r_j|`` subject to the target's bounds on the quadratic, over the
    support's box (the others at *base*), each factor of the support changed: per orthant of the change and per
    face (each factor either at the far end of its orthant's interval or free), the free factors solve
    ``∇_F q = μ d`` with the constraint active, a line in ``(x_F, μ)`` on which ``q = b`` is a quadratic in
    one unknown. An optimum of the support is among the candidates: at it the constraint is active on a face
    (every cost slope is non-zero), and ``∇_F q`` is either parallel to the cost (KKT) or zero, both in the
    family."""
    row, lows, highs = problem.row, problem.space.lows, problem.space.highs
    where = {j: i for i, j in enumerate(problem.free)}
    S = list(support)
    idx = [where[j] for j in S]
    # per factor: its pieces (interval start, end, slope of the cost), and which ends are allowed as a face
    pieces: list[list[tuple[float, float, float, tuple[float, ...]]]] = []
    for j in S:
        c = float(problem.cost[j])
        b0 = 0.0
        lo, hi = float(lows[j] - base[j]), float(highs[j] - base[j])
        if base[j] != row[j]:  # outside its range at the start: changed anyway, one piece over the box
            slope = c if row[j] < base[j] else -c
            pieces.append([(lo, hi, slope, (lo, hi))])
            continue
        options: list[tuple[float, float, float, tuple[float, ...]]] = []
        if hi > b0:
            options.append((b0, hi, c, (hi,)))
        if lo < b0:
            options.append((lo, b0, -c, (lo,)))
        pieces.append(options)
    constraints: list[tuple[_Quadratic, float, float]] = []  # (form, sign, bound): sign·q ≥ bound
    target, half = problem.targets[0], problem.half[0]
    form = forms[0]
    if target.low is not None:
        constraints.append((form, 1.0, target.low + half))
    if target.high is not None:
        constraints.append((form, -1.0, -(target.high - half)))
    yb = np.zeros(len(problem.free))
    out: list[FloatArray] = []
    k = len(S)
    g_all, H_all = form.g, form.H
    for choice in itertools.product(*pieces):
        for mask in itertools.product((False, True), repeat=k):  # True: free inside its interval
            F = [i for i in range(k) if mask[i]]
            E = [i for i in range(k) if not mask[i]]
            for ends in itertools.product(*[choice[i][3] for i in E]):
                y = yb.copy()
                for i, v in zip(E, ends, strict=True):
                    y[idx[i]] = v
                if not F:
                    out.append(_row_from(base, problem.free, y))
                    continue
                fi = [idx[i] for i in F]
                d = np.array([choice[i][2] for i in F])
                HFF = H_all[np.ix_(fi, fi)]
                rhs = -(g_all[fi] + H_all[fi] @ y)  # y is zero on F, so H_F· y = H_FE y_E
                M = np.hstack([HFF, -d[:, None]])
                p, *_ = np.linalg.lstsq(M, rhs, rcond=None)
                if np.linalg.norm(M @ p - rhs) > 1e-9 * max(1.0, float(np.linalg.norm(rhs))):
                    continue  # no stationary point on this face
                _, sv, vt = np.linalg.svd(M)
                rank = int(np.sum(sv > 1e-12 * max(1.0, float(sv[0]) if len(sv) else 1.0)))
                null = vt[rank:]
                if len(null) != 1:
                    # a family of stationary points of dimension ≥ 2: it holds a direction along which both q and
                    # the cost are constant (∇q·δ = μ d·δ = 0 and δᵀHδ = δμ d·δ = 0 for δ ⊥ d), so an optimum of
                    # this face also lies on a smaller face, which the enumeration covers
                    continue
                n = null[0]
                for q, sign, bound in constraints:
                    del q
                    # q(y + w·n_y) along the line: α w² + β w + γ = bound·sign
                    y0 = y.copy()
                    y0[fi] = p[:-1]
                    dy = np.zeros_like(y)
                    dy[fi] = n[:-1]
                    gamma = float(form.f0 + form.g @ y0 + 0.5 * y0 @ form.H @ y0)
                    beta = float(form.g @ dy + y0 @ form.H @ dy)
                    alpha = float(0.5 * dy @ form.H @ dy)
                    level = sign * bound
                    roots: list[float] = []
                    if abs(alpha) > 1e-14 * max(1.0, abs(beta)):
                        disc = beta * beta - 4 * alpha * (gamma - level)
                        if disc >= 0:
                            r = math.sqrt(disc)
                            roots = [(-beta - r) / (2 * alpha), (-beta + r) / (2 * alpha)]
                    elif abs(beta) > 1e-14:
                        roots = [(level - gamma) / beta]
                    for w in roots:
                        z = y0 + w * dy
                        inside = True
                        for i in F:
                            lo_i, hi_i = choice[i][0], choice[i][1]
                            tol = 1e-9 * (hi_i - lo_i)
                            if not lo_i - tol <= z[idx[i]] <= hi_i + tol:
                                inside = False
                                break
                            z[idx[i]] = min(max(z[idx[i]], lo_i), hi_i)
                        if inside:
                            out.append(_row_from(base, problem.free, z))
    return out


def _row_from(base: FloatArray, free: list[int], y: FloatArray) -> FloatArray:
    x = base.copy()
    x[free] = base[free] + y
    return x


def _form_extreme(form: _Quadratic, idx: list[int], lo: FloatArray, hi: FloatArray, upper: bool) -> float:
    """The exact highest (*upper*) or lowest value of the quadratic form over the box ``lo ≤ y ≤ hi`` of the
    coordinates *idx* (the others 0): every face of the box (each coordinate at an end or free), the free
    ones at the face's stationary point when it lies inside; a singular face's extreme lies on a smaller face."""
    sign = 1.0 if upper else -1.0
    best = -np.inf
    k = len(idx)
    y = np.zeros(len(form.g))
    for assignment in itertools.product((0, 1, 2), repeat=k):  # free, at low, at high
        y[:] = 0.0
        open_ = [idx[i] for i, a in enumerate(assignment) if a == 0]
        for i, a in enumerate(assignment):
            if a:
                y[idx[i]] = lo[i] if a == 1 else hi[i]
        if open_:
            try:
                sol = np.linalg.solve(form.H[np.ix_(open_, open_)], -(form.g[open_] + form.H[open_] @ y))
            except np.linalg.LinAlgError:
                continue
            inside = [i for i, a in enumerate(assignment) if a == 0]
            if np.any(sol < lo[inside] - 1e-12) or np.any(sol > hi[inside] + 1e-12):
                continue
            y[open_] = sol
        best = max(best, sign * float(form.f0 + form.g @ y + 0.5 * y @ form.H @ y))
    return sign * best


def _form_misses(problem: _Problem, form: _Quadratic, support: Sequence[int], base: FloatArray) -> bool:
    """True when no setting of the *support* (the others at *base*) can meet the target: its exact extreme over
    the support's box misses a bound (with a margin of 1e-9 of the response's scale for rounding)."""
    where = {j: i for i, j in enumerate(problem.free)}
    idx = [where[j] for j in support]
    lo = np.array([problem.space.lows[j] - base[j] for j in support])
    hi = np.array([problem.space.highs[j] - base[j] for j in support])
    target, half = problem.targets[0], problem.half[0]
    slack = 1e-9 * max(1.0, abs(form.f0))
    if target.low is not None and _form_extreme(form, idx, lo, hi, True) - half < target.low - slack:
        return True
    return target.high is not None and _form_extreme(form, idx, lo, hi, False) + half > target.high + slack


def _qp(problem: _Problem) -> tuple[_Found | None, str, bool] | None:
    """The exact reduced-quadratic counterfactual (one bounded response, at most :data:`QP_MAX_FACTORS`
    settable factors): per support the KKT enumeration of :func:`_qp_support`, every candidate checked on the
    surface itself; None when the surface is not an exact quadratic over the box."""
    lows, highs = problem.space.lows, problem.space.highs
    base = np.clip(problem.row, lows, highs)
    form = _quadratic_form(problem, 0, base)
    if form is None:
        return None
    must = [j for j in problem.free if base[j] != problem.row[j]]
    if _form_misses(problem, form, problem.free, base):
        return None, "exact: the quadratic's extreme over the settable factors' box misses the requirement", True
    candidates_seen = 0
    blocked = False
    for k in range(max(1, len(must)), len(problem.free) + 1):
        found: list[_Found] = []
        for support in _supports(problem.free, k):
            if any(j not in support for j in must):
                continue
            if k < len(problem.free) and _form_misses(problem, form, support, base):
                continue
            points = _qp_support(problem, support, base, [form])
            candidates_seen += len(points)
            if not points:
                continue
            X = np.asarray(points)
            d = problem.distance(X)
            for i in np.argsort(d, kind="stable"):
                if found and d[i] >= min(f.distance for f in found):
                    break
                x = X[i]
                if not problem.meets(x[None, :])[0]:
                    x = _nudged_meets(problem, x)
                    if x is None:
                        continue
                if not problem.space.contains(x[None, :])[0]:
                    blocked = True
                    continue
                found.append(_Found(x, float(problem.distance(x[None, :])[0]), k))
                break
        if found:
            note = (
                f"exact: the KKT points of each support's quadratic program enumerated (every orthant of the change "
                f"and face of the box; {candidates_seen} candidates, each checked on the model), to 1e-6 of a "
                "range width"
            )
            if blocked:
                note += "; a nearer candidate lay outside the validity domain's distance check"
            return min(found, key=lambda f: f.distance), note, not blocked
    return None, "exact: no KKT point of any support meets the requirement", not blocked


def _nudged_meets(problem: _Problem, x: FloatArray) -> FloatArray | None:
    """A root on the bound's edge moved a hair away from the row until the model's own value meets it (the
    stated 1e-6 of a range width)."""
    for step in (1e-12, 1e-10, 1e-8, 1e-6):
        y = x + step * np.sign(x - problem.row) * problem.space.widths
        y = np.clip(y, problem.space.lows, problem.space.highs)
        if problem.meets(y[None, :])[0]:
            return y
    return None


def _extreme_quadratic(problem: _Problem, t: int, upper: bool) -> tuple[float, FloatArray] | None:
    """The exact largest (*upper*) or smallest prediction of quadratic surface *t* over the settable box, with
    where; None when there are too many settable factors to enumerate the box's faces."""
    free = problem.free
    m = len(free)
    if m > 8:
        return None
    lows, highs = problem.space.lows, problem.space.highs
    center = np.clip(problem.row, lows, highs)
    center[free] = 0.5 * (lows[free] + highs[free])
    step = np.where(problem.space.widths > 0, problem.space.widths, 1.0) / 2
    # exact gradient and Hessian of a quadratic from its values (central differences are exact for degree 2)
    points = [center]
    for i in range(m):
        for j in range(m):
            y = center.copy()
            y[free[i]] += step[free[i]]
            y[free[j]] += step[free[j]]
            points.append(y)
        for s in (1.0, -1.0):
            y = center.copy()
            y[free[i]] += s * step[free[i]]
            points.append(y)
    X = np.asarray(points)
    target = problem.targets[t]
    f = target.surface.values(X[:, problem.columns[t]])
    problem.evaluations += len(X)
    f0 = f[0]
    grid = f[1 : 1 + m * (m + 2)].reshape(m, m + 2)
    plus = grid[:, m]
    minus = grid[:, m + 1]
    g = (plus - minus) / 2  # per unit step
    H = np.empty((m, m))
    for i in range(m):
        for j in range(m):
            H[i, j] = grid[i, j] - plus[i] - plus[j] + f0
    lo = (lows[free] - center[free]) / step[free]
    hi = (highs[free] - center[free]) / step[free]
    best: tuple[float, FloatArray] | None = None
    sign = 1.0 if upper else -1.0
    candidates = []
    for assignment in itertools.product((0, 1, 2), repeat=m):  # free, at low, at high
        y = np.zeros(m)
        fixed = [i for i, a in enumerate(assignment) if a]
        open_ = [i for i, a in enumerate(assignment) if a == 0]
        for i in fixed:
            y[i] = lo[i] if assignment[i] == 1 else hi[i]
        if open_:
            Hf = H[np.ix_(open_, open_)]
            rhs = -(g[open_] + H[np.ix_(open_, fixed)] @ y[fixed])
            try:
                sol = np.linalg.solve(Hf, rhs)
            except np.linalg.LinAlgError:
                continue
            if np.any(sol < lo[open_] - 1e-9) or np.any(sol > hi[open_] + 1e-9):
                continue
            y[open_] = sol
        candidates.append(y)
    Y = np.asarray(candidates)
    X = np.repeat(center[None, :], len(Y), axis=0)
    X[:, free] = center[free] + Y * step[free]
    values = target.surface.values(X[:, problem.columns[t]])
    problem.evaluations += len(X)
    i = int(np.argmax(sign * values))
    best = (float(values[i]), X[i])
    return best


def _forest_bound(problem: _Problem, t: int, upper: bool) -> float | None:
    """A bound on a scikit-learn forest's prediction over the settable box (the highest, *upper*, or lowest):
    the mean over its trees of the extreme leaf each tree can reach there; None for any other model."""
    table = _leaf_table(problem.targets[t].surface)
    if table is None:
        return None
    cols = problem.columns[t]
    lo, hi = problem.row.copy(), problem.row.copy()
    lo[problem.free], hi[problem.free] = problem.space.lows[problem.free], problem.space.highs[problem.free]
    bottom, top = table.bounds(lo[cols], hi[cols])
    return top if upper else bottom


def _certificate(problem: _Problem, kinds: list[str], method: str) -> tuple[str, bool]:
    """Why no setting meets the requirements, and whether that is a proof."""
    half_text = "with its interval" if problem.interval else "by its prediction"
    parts: list[str] = []
    proven = False
    for t, (target, kind, h) in enumerate(zip(problem.targets, kinds, problem.half, strict=True)):
        for upper, bound in ((True, target.low), (False, target.high)):
            if bound is None:
                continue
            extreme: tuple[float, FloatArray] | None = None
            exact = False
            bound_only = False
            if kind in ("linear", "quadratic"):
                extreme, exact = _extreme_quadratic(problem, t, upper), True
            elif kind == "tree":
                limit = _forest_bound(problem, t, upper)
                if limit is not None:
                    extreme, exact, bound_only = (limit, problem.row), True, True
            if extreme is None:
                extreme, exact = _sampled_extreme(problem, t, upper), False
            value, _ = extreme
            end = value - h if upper else value + h
            misses = end < bound if upper else end > bound
            word = "highest" if upper else "lowest"
            sure = (
                "a bound: the mean over the trees of the extreme leaf each reaches in the box"
                if bound_only
                else "exactly, over every face of the box"
                if exact
                else "by search, not proven"
            )
            parts.append(
                f"{target.surface.name}: the {word} prediction over the settable factors' ranges is {value:.6g}"
                f" ({sure}){f', interval end {end:.6g}' if h else ''}, "
                + ("which misses" if misses else "which alone could meet")
                + f" the bound {bound:g}"
            )
            proven = proven or (misses and exact)
    if method == "cells":
        proven = True
        lead = "no cell between the split thresholds of the settable factors meets every requirement " + half_text
    elif method == "quadratic program":
        proven = True
        lead = (
            "no KKT point of the quadratic program of any support of the settable factors meets the requirement "
            + half_text
        )
    elif method == "linear program":
        proven = True
        lead = "the linear program over every support of the settable factors has no solution " + half_text
    elif method == "late":
        lead = "the time budget ran out before a setting meeting every requirement " + half_text + " was found"
    else:
        lead = "no setting inside the domain found that meets every requirement " + half_text
    return lead + ("" if not parts else "; " + "; ".join(parts)), proven


def _sampled_extreme(problem: _Problem, t: int, upper: bool) -> tuple[float, FloatArray]:
    free = problem.free
    lows, highs = problem.space.lows, problem.space.highs
    base = np.clip(problem.row, lows, highs)
    sample = qmc.Sobol(max(1, len(free)), scramble=True, seed=1).random(4096)
    X = np.repeat(base[None, :], len(sample), axis=0)
    if free:
        X[:, free] = lows[free] + sample[:, : len(free)] * (highs[free] - lows[free])
    target = problem.targets[t]
    values = target.surface.values(X[:, problem.columns[t]])
    problem.evaluations += len(X)
    sign = 1.0 if upper else -1.0
    i = int(np.argmax(sign * values))
    best, where = float(values[i]), X[i]
    if free:

        def negative(z: FloatArray) -> float:
            y = base.copy()
            y[free] = z
            v = float(target.surface.values(y[None, problem.columns[t]])[0])
            return -sign * v if math.isfinite(v) else math.inf

        bounds = list(zip(lows[free], highs[free], strict=True))
        result = minimize(negative, where[free], method="L-BFGS-B", bounds=bounds)
        value = -sign * float(result.fun)  # negative() is −sign·v, so v = −sign·fun
        if math.isfinite(value) and sign * value > sign * best:
            best = value
            where = base.copy()
            where[free] = result.x
    return best, where


# ---------------------------------------------------------------------------------------------- RBF kernel bound
#: Time the RBF-kernel bound of a search answer may take, in seconds (an unreachable requirement: 8 times that).
CERTIFY_SECONDS = 0.25
#: Boxes narrower than this share of every range are not split further by the certificate.
CERTIFY_WIDTH = 1e-4


@dataclass
class _Kernel:
    """An RBF support-vector regression as ``a · (Σ_i α_i exp(−γ ‖z − s_i‖²) + b) + c`` with ``z`` a per-input
    affine map of the raw inputs (its scalers) and ``a > 0`` (a scaled target)."""

    transform: Any
    vectors: FloatArray
    alpha: FloatArray
    gamma: float
    intercept: float
    scale: float
    shift: float

    def bounds(self, lo: FloatArray, hi: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Per box (rows of *lo*, *hi*, raw units): certified lowest and highest prediction. Each term is bounded
        exactly over the box by the nearest and farthest distance to its support vector."""
        zlo = np.asarray(self.transform(lo), dtype=float)
        zhi = np.asarray(self.transform(hi), dtype=float)
        s = self.vectors[None, :, :]
        a, b = zlo[:, None, :], zhi[:, None, :]
        near = np.sum(np.maximum(0.0, np.maximum(a - s, s - b)) ** 2, axis=2)
        far = np.sum(np.maximum(np.abs(s - a), np.abs(s - b)) ** 2, axis=2)
        k_near, k_far = np.exp(-self.gamma * near), np.exp(-self.gamma * far)
        positive = self.alpha > 0
        top = np.where(positive, self.alpha * k_near, self.alpha * k_far).sum(axis=1) + self.intercept
        bottom = np.where(positive, self.alpha * k_far, self.alpha * k_near).sum(axis=1) + self.intercept
        return self.scale * bottom + self.shift, self.scale * top + self.shift


def _kernel(surface: Surface) -> _Kernel | None:
    """*surface*'s model as an RBF kernel expansion (scikit-learn scalers, then ``SVR(kernel="rbf")``, optionally
    inside a ``TransformedTargetRegressor`` with a standard scaler); None for anything else."""
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import MinMaxScaler, StandardScaler
    from sklearn.svm import SVR

    estimator = surface.estimator
    if estimator is None:
        return None
    steps = [s for _, s in estimator.steps] if isinstance(estimator, Pipeline) else [estimator]
    scalers, model = steps[:-1], steps[-1]
    if not all(type(s) in (StandardScaler, MinMaxScaler) for s in scalers):
        return None
    scale, shift = 1.0, 0.0
    if isinstance(model, TransformedTargetRegressor):
        transformer: Any = getattr(model, "transformer_", None)
        if type(transformer) is not StandardScaler or getattr(model, "func", None) is not None:
            return None
        scale = float(np.ravel(transformer.scale_)[0]) if transformer.scale_ is not None else 1.0
        shift = float(np.ravel(transformer.mean_)[0]) if transformer.mean_ is not None else 0.0
        model = model.regressor_
    if type(model) is not SVR or model.kernel != "rbf" or not scale > 0:
        return None

    p = len(surface.inputs)
    ends = np.vstack([np.zeros(p), np.ones(p)])
    with warnings.catch_warnings():  # scalers fitted on named columns warn on a plain array
        warnings.simplefilter("ignore", UserWarning)
        for scaler in scalers:
            ends = np.asarray(scaler.transform(ends), dtype=float)
    zero, slope = ends[0], ends[1] - ends[0]
    if not np.all(slope > 0):
        return None

    def transform(X: FloatArray) -> FloatArray:  # each scaler is affine per input
        return np.asarray(zero + slope * np.asarray(X, dtype=float), dtype=float)

    return _Kernel(
        transform,
        np.asarray(model.support_vectors_, dtype=float),
        np.asarray(model.dual_coef_, dtype=float).ravel(),
        float(model._gamma),
        float(np.ravel(model.intercept_)[0]),
        scale,
        shift,
    )


@dataclass
class _Gap:
    lower: float  # no setting with at most `size` changed factors is nearer than this
    size: int
    fewer_excluded: bool  # every support of fewer factors is proven infeasible
    complete: bool  # every box was resolved (no box left at the width limit or by the time limit)
    boxes: int


def _kernel_gap(problem: _Problem, kernels: list[_Kernel], found: _Found | None) -> _Gap:
    """A certified lower bound on the distance of any feasible setting with at most as many changed factors as
    *found* (every settable factor when None): best-first branch and bound over boxes of each support, a box
    dropped when a kernel bound misses a requirement (or, for the answer's support size, when it is no nearer
    than the answer); what is left when the boxes reach :data:`CERTIFY_WIDTH` or :data:`CERTIFY_SECONDS` runs out
    bounds the distance from below."""
    row, lows, highs = problem.row, problem.space.lows, problem.space.highs
    base = np.clip(row, lows, highs)
    must = [j for j in problem.free if base[j] != row[j]]
    size = found.n_changed if found is not None else len(problem.free)
    widths = np.where(problem.space.widths > 0, problem.space.widths, 1.0)
    deadline = min(problem.deadline, time.monotonic() + CERTIFY_SECONDS * (1 if found is not None else 8))
    heap: list[tuple[float, int, int, FloatArray, FloatArray]] = []

    def nearest(lo: FloatArray, hi: FloatArray) -> float:
        return float(problem.cost @ np.maximum(0.0, np.maximum(lo - row, row - hi)))

    supports = (
        [tuple(problem.free)]
        if found is None
        else [s for k in range(1, size + 1) for s in _supports(problem.free, k) if all(j in s for j in must)]
    )
    for support in supports:
        lo, hi = base.copy(), base.copy()
        lo[list(support)], hi[list(support)] = lows[list(support)], highs[list(support)]
        heapq.heappush(heap, (nearest(lo, hi), len(heap), len(support), lo, hi))
    counter = len(heap)
    left: list[tuple[float, int]] = []  # (distance bound, support size) of boxes not resolved
    boxes = 0
    limit = found.distance if found is not None else math.inf
    while heap and time.monotonic() < deadline:
        batch = [heapq.heappop(heap) for _ in range(min(64, len(heap)))]
        keep = [b for b in batch if b[2] < size or b[0] < limit]
        if not keep:
            continue
        boxes += len(keep)
        LO, HI = np.asarray([b[3] for b in keep]), np.asarray([b[4] for b in keep])
        alive = np.ones(len(keep), dtype=bool)
        for kernel, target, h, cols in zip(kernels, problem.targets, problem.half, problem.columns, strict=True):
            bottom, top = kernel.bounds(LO[:, cols], HI[:, cols])
            if target.low is not None:
                alive &= top - h >= target.low
            if target.high is not None:
                alive &= bottom + h <= target.high
        for (bound, _, k, lo, hi), ok in zip(keep, alive, strict=True):
            if not ok:
                continue
            spread = (hi - lo) / widths
            j = int(np.argmax(spread))
            if spread[j] <= CERTIFY_WIDTH:
                left.append((bound, k))
                continue
            middle = 0.5 * (lo[j] + hi[j])
            for a, b in ((lo[j], middle), (middle, hi[j])):
                clo, chi = lo.copy(), hi.copy()
                clo[j], chi[j] = a, b
                heapq.heappush(heap, (nearest(clo, chi), counter, k, clo, chi))
                counter += 1
    rest = [(b[0], b[2]) for b in heap if b[2] < size or b[0] < limit] + left
    lower = min([limit, *[b for b, _ in rest]])
    return _Gap(lower, size, not any(k < size for _, k in rest), not rest, boxes)


# ---------------------------------------------------------------------------------------------- entry point
def counterfactual(
    row: Mapping[str, Any],
    targets: Sequence[Target],
    space: Space,
    *,
    settable: Sequence[str] | None = None,
    weights: Mapping[str, Any] | None = None,
    interval: bool = True,
    seconds: float = DEFAULT_SECONDS,
) -> Counterfactual:
    """The smallest change of *row* that meets every target, inside *space* (see the module docstring).

    Parameters
    ----------
    row
        Factor name → value, every factor of *space*.
    targets
        One bound per surface (several surfaces are solved jointly over their shared factors).
    space
        The box and the validity domain.
    settable
        The factors that may change (default: every factor with a range of non-zero width).
    weights
        Factor → cost weight of a change of one range width (default 1 each); larger is dearer.
    interval
        True: the whole prediction interval must meet the bounds; False: the point prediction.
    seconds
        Time budget of the search solver (exact solvers finish on their own).

    Returns
    -------
    Counterfactual
    """
    started = time.perf_counter()
    if not targets:
        raise SpecError("counterfactual: give at least one requirement")
    x0 = space.vector(row)
    chosen = (
        list(settable)
        if settable is not None
        else [f for f, w in zip(space.factors, space.widths, strict=True) if w > 0]
    )
    for name in chosen:
        space.index(name, "settable factor")
    if len(set(chosen)) != len(chosen):
        raise SpecError(f"settable: a factor is named twice in {chosen}")
    weight = np.ones(len(space.factors))
    for name, w in (weights or {}).items():
        if name not in chosen:
            raise SpecError(
                f"weights: {name!r} is not a settable factor; settable: {chosen}." + did_you_mean(str(name), chosen)
            )
        if isinstance(w, bool) or not isinstance(w, int | float) or not math.isfinite(float(w)) or float(w) <= 0:
            raise SpecError(f"weights.{name}: expected a positive finite number, got {w!r}")
        weight[space.index(name)] = float(w)
    if not math.isfinite(seconds) or seconds <= 0:
        raise SpecError(f"seconds: expected a positive time budget, got {seconds!r}")
    free = [space.index(name) for name in chosen if space.widths[space.index(name)] > 0]
    free.sort()
    widths = np.where(space.widths > 0, space.widths, 1.0)
    cost = np.zeros(len(space.factors))
    cost[free] = weight[free] / widths[free]
    problem = _Problem(targets, space, x0, free, cost, interval, seconds)
    notes: list[str] = []
    if interval:
        for t in targets:
            if t.surface.half_width is None:
                notes.append(f"{t.surface.name}: no prediction interval is known; its point prediction is bounded")
    kinds = [_kind(t.surface) for t in targets]

    found: _Found | None = None
    gap: float | None = None
    method: Method
    optimal = False
    resolution = ""
    proven: bool | None = None
    certificate: str | None = None
    outside = [
        space.factors[j] for j in range(len(x0)) if j not in free and not space.lows[j] <= x0[j] <= space.highs[j]
    ]
    if outside:
        j = space.index(outside[0])
        found, method, resolution, proven = None, "unchanged", "no search: a fixed factor lies outside its range", True
        certificate = (
            f"{outside[0]} = {x0[j]:g} is not settable and lies outside its range {space.low[j]:g} … "
            f"{space.high[j]:g}: no setting of the settable factors brings the row inside the domain"
        )
    elif problem.feasible(x0[None, :])[0]:
        found, method, optimal, resolution = (
            _Found(x0.copy(), 0.0, 0),
            "unchanged",
            True,
            "the row meets every requirement",
        )
    else:
        outcome: tuple[_Found | None, str, bool] | None = None
        solver = "search"
        if all(k == "tree" for k in kinds):
            edges: dict[int, list[FloatArray]] = {}
            usable = True
            for t, cols in zip(targets, problem.columns, strict=True):
                per_input = _tree_edges(t.surface)
                if per_input is None:
                    usable = False
                    break
                for j, e in zip(cols, per_input, strict=True):
                    edges.setdefault(j, []).append(e)
            if usable:
                found_, text_, proven_, too_many = _cells(problem, edges)
                solver = "cells"
                outcome = (found_, text_, proven_)
                if too_many is not None:
                    notes.append(
                        f"exact cell search up to {too_many - 1} changed factors ({text_}); the budget of "
                        f"{MAX_CELLS} cells ran out at {too_many} changed factors, searched from there"
                    )
                    solver = "search"
                    outcome = _search(problem, too_many)
        elif all(k == "linear" for k in kinds) and all(
            problem.space.lows[j] <= x0[j] <= problem.space.highs[j] for j in range(len(x0)) if j not in free
        ):
            outcome = _linear(problem)
            solver = "linear program"
            if outcome[0] is None and not outcome[2]:
                outcome = None
        elif (
            len(kinds) == 1
            and kinds[0] == "quadratic"
            and all(problem.space.lows[j] <= x0[j] <= problem.space.highs[j] for j in range(len(x0)) if j not in free)
        ):
            outcome = _qp(problem)
            solver = "quadratic program"
            if outcome is None:
                notes.append(
                    "the quadratic program's KKT enumeration did not apply (not an exact quadratic over the box, or "
                    f"more than {QP_MAX_FACTORS} settable factors); searched instead"
                )
            elif outcome[0] is None and not outcome[2]:
                outcome = None
        if outcome is not None and outcome[0] is None and not outcome[2] and solver != "search":
            notes.append(f"the {solver} solver was blocked by the validity domain's distance check; searched instead")
            outcome = None
        if outcome is None:
            solver = "search"
            outcome = _search(problem)
        found, text, exact = outcome
        if solver == "search":
            method = "search"
            late = text == "late" or problem.late()
            resolution = (
                f"search, not proven optimal: each one-factor support scanned at {SCAN_POINTS} points and refined by "
                f"bisection; each support of several factors sampled at {SOBOL_POINTS} quasi-random points per factor "
                "and refined locally (segment to the row, SLSQP, shrinking); a feasible region narrower than the "
                "scan or sample spacing can be missed"
            )
            if late:
                notes.append(f"the time budget of {seconds:g} s ran out; the search stopped early")
            kernels = [_kernel(t.surface) for t in targets]
            bound: _Gap | None = None
            if kernels and all(kernel is not None for kernel in kernels) and not late:
                bound = _kernel_gap(problem, [kernel for kernel in kernels if kernel is not None], found)
            if found is None:
                certificate, proven = _certificate(problem, kinds, "late" if late else "search")
                if bound is not None and bound.complete:
                    certificate = (
                        "no setting of the settable factors meets every requirement "
                        + ("with its interval" if interval else "by its prediction")
                        + f": proven by bounds of the RBF kernel expansion over {bound.boxes} boxes covering their "
                        "ranges, each of which misses a requirement"
                    )
                    proven = True
            elif bound is not None:
                gap = max(0.0, found.distance - bound.lower)
                resolution += (
                    f"; certified by bounds of the RBF kernel expansion ({bound.boxes} boxes, boxes down to "
                    f"{CERTIFY_WIDTH:g} of each range): no setting changing at most {bound.size} "
                    f"factor{'s' if bound.size > 1 else ''} is nearer "
                    f"than {bound.lower:.6g}, an optimality gap of {gap:.3g} in distance; "
                    + (
                        "no setting changing fewer factors meets the requirements"
                        if bound.fewer_excluded
                        else "a setting changing fewer factors is not excluded"
                    )
                )
        else:
            method = (
                "cells"
                if solver == "cells"
                else "linear program"
                if solver == "linear program"
                else "quadratic program"
            )
            optimal = exact
            resolution = text
            if found is None:
                certificate, proven = _certificate(problem, kinds, solver)
    if found is not None:
        x = found.x
        if not problem.feasible(x[None, :])[0]:  # pragma: no cover - every solver checks its answer
            raise RuntimeError("counterfactual: the solver's answer does not meet the requirements")
    else:
        x = x0
    predictions = [float(p[0]) for p in problem.predictions(x[None, :])]
    changed = problem.changed(x) if found is not None else []
    return Counterfactual(
        feasible=found is not None,
        row={name: float(v) for name, v in zip(space.factors, x, strict=True)},
        changes={space.factors[j]: {"from": float(x0[j]), "to": float(x[j]), "unit": space.units[j]} for j in changed},
        predictions={t.surface.name: p for t, p in zip(targets, predictions, strict=True)},
        intervals={t.surface.name: t.surface.interval(p) for t, p in zip(targets, predictions, strict=True)},
        distance=float(problem.distance(x[None, :])[0]) if found is not None else None,
        n_changed=len(changed) if found is not None else None,
        method=method,
        optimal=optimal and found is not None,
        gap=0.0 if optimal and found is not None else gap,
        resolution=resolution,
        certificate=certificate,
        proven=proven,
        seconds=time.perf_counter() - started,
        evaluations=problem.evaluations,
        notes=notes,
    )
