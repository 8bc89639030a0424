"""The statistics of monitoring: a family-wise calibrated window test (resampling min-P), bootstrap-adjusted
CUSUM limits, the Bernoulli CUSUM on interval misses, and the minimum detectable shift.

Window test (Westfall & Young's single-step min-P, by permutation)
-----------------------------------------------------------------
Every row of the reference and of a window is one vector of *k* monitored quantities (each input, the
prediction, each input's signed and absolute attribution, out-of-domain, interval width). The statistic of
quantity *j* is the standardized mean difference ``T_j = |mean_window_j − mean_reference_j| / sd_reference_j``
(one-sided, increases only, for the out-of-domain rate). Its joint null distribution is simulated ``B`` times
(default 2000) by permuting the pooled reference and window rows (or whole groups of rows, when the reference
comes in groups, so within-group correlation carries over) and recomputing all *k* statistics on each split.
The observed split is ranked together with the ``B`` random ones: each quantity's p-value is the share of the
``B + 1`` splits whose statistic is at least the observed one, and its adjusted p-value is the share of splits
whose smallest p-value (over all *k* quantities jointly, each split's p-values ranked among the same ``B + 1``
splits) is at most it. In control the ``B + 1`` splits are exchangeable, so the observed split's smallest p-value
is no smaller in rank than a random split's: the family-wise false-alarm rate is at most α for any window size
and any ``B`` (ties, which few-level inputs make common, are counted against the window, which errs on the
conservative side). A permutation moves whole rows, so the joint dependence of the quantities (a prediction moves
with its attributions) is kept; there is no χ² or normal approximation. The random splits are exact: uniformly
random subsets of the pooled groups, drawn without replacement (for a window of few groups in a large pool, by
redrawing repeated indices, which keeps 10,000 reference rows well under 100 ms).

Assumptions: in control, production rows are exchangeable with the reference rows (or groups with groups):
no autocorrelation between requests beyond the grouping; the test looks at means (a change in spread alone at
constant mean is not what it tests); the reference should hold at least 30 rows. The rate is controlled over
references and windows together: against one fixed reference of *m* rows, the rate of its windows also carries
that reference's own sampling error, which grows with n/m (measured in ``benchmarks/bench_monitor.py``), so a
reference several times larger than the window (≥ 5×) keeps every reference's rate near α.

CUSUM limits (Gandy & Kvaløy 2013)
----------------------------------
A two-sided CUSUM per quantity on the standardized rows ``z = (x − μ̂)/σ̂`` with reference value ``k = 0.5``.
Its limit ``h`` is chosen so that the in-control average run length (ARL) is at least its target with
probability ``1 − γ`` despite ``μ̂, σ̂`` being estimated: for each of ``B`` Poisson-bootstrap replicates of the
reference, the limit that gives the target ARL when the chart uses the replicate's estimates while the truth
is the original estimate; ``h`` is the ``1 − γ`` quantile of those limits. The ARL is Siegmund's approximation
for normal increments. With ``K`` charts the per-chart target is ``K ×`` the family's, so that the family's
in-control ARL (any chart signalling) is at least its target.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy import sparse, stats
from scipy.sparse.linalg import spsolve

__all__ = [
    "CauseGrade",
    "CusumLimits",
    "MinPTest",
    "TestResult",
    "bernoulli_cusum",
    "bernoulli_cusum_limit",
    "confirm_cause",
    "cusum_limits",
    "cusum_paths",
    "grade_cause",
    "minimum_detectable_shift",
]

FloatArray = npt.NDArray[np.float64]

#: z of 80 % power (one-sided), for the minimum detectable shift.
_Z_POWER = float(stats.norm.ppf(0.8))
_TIE = 1e-12


@dataclass(frozen=True)
class TestResult:
    """One window's statistics, raw and family-wise adjusted p-values, and the means compared (all (k,))."""

    statistic: FloatArray
    p_value: FloatArray
    adjusted_p_value: FloatArray
    window_mean: FloatArray
    reference_mean: FloatArray


def _group_sums(values: FloatArray, groups: npt.ArrayLike | None) -> tuple[FloatArray, FloatArray]:
    """Per group: the sum of its rows (G, k) and its size (G,); every row its own group when *groups* is None."""
    if groups is None:
        return values, np.ones(len(values))
    labels = np.asarray(groups)
    if len(labels) != len(values):
        raise ValueError(f"groups: expected {len(values)} labels, got {len(labels)}")
    _, codes = np.unique(labels, return_inverse=True)
    sums = np.zeros((int(codes.max()) + 1, values.shape[1]))
    np.add.at(sums, codes, values)
    return sums, np.bincount(codes).astype(float)


def _subsets(rng: np.random.Generator, size: int, draw: int, count: int) -> npt.NDArray[np.int32]:
    """*count* uniformly random subsets of *draw* distinct indices out of ``range(size)``, as rows (count, draw).

    Few draws from many: independent draws, and every repeated index drawn again until no row repeats one.
    Whatever the indices are called, this procedure treats them alike, so every subset of *draw* indices is
    equally likely (exactly, as a random permutation would give). Otherwise (more than an eighth of the pool)
    the *draw* smallest of random keys."""
    if draw <= 0:
        return np.zeros((count, 0), dtype=np.int32)
    if size < 8 * draw:
        return np.asarray(np.argpartition(rng.random((count, size)), draw - 1, axis=1)[:, :draw], dtype=np.int32)
    index = rng.integers(0, size, size=(count, draw), dtype=np.int32)
    rows = np.arange(count)
    while True:
        ranked = np.sort(index[rows], axis=1)
        rows = rows[(ranked[:, 1:] == ranked[:, :-1]).any(axis=1)]  # the rows that repeat an index
        if not len(rows):
            break
        block = index[rows]
        order = np.argsort(block, axis=1, kind="stable")
        ranked = np.take_along_axis(block, order, axis=1)
        repeated = np.zeros(block.shape, dtype=bool)  # every position but the first of equal indices
        np.put_along_axis(repeated, order[:, 1:], ranked[:, 1:] == ranked[:, :-1], axis=1)
        block[repeated] = rng.integers(0, size, size=int(repeated.sum()), dtype=np.int32)
        index[rows] = block
    return index


@dataclass
class MinPTest:
    """The family-wise calibrated window test over the *k* columns of *reference* (m, k).

    *groups*: one label per reference row when its rows come in groups (runs, requests): whole groups are
    then permuted, and a window's rows are grouped by the labels given to :meth:`test`. *resamples*: ``B``.
    *one_sided*: column indices tested for an increase only (the out-of-domain rate).
    """

    reference: FloatArray
    groups: npt.ArrayLike | None = None
    resamples: int = 2000
    seed: int = 0
    one_sided: tuple[int, ...] = ()
    _critical: dict[tuple[int, float], FloatArray] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        ref = np.asarray(self.reference, dtype=float)
        if ref.ndim != 2 or len(ref) < 2:
            raise ValueError(f"the reference needs at least 2 rows of quantities, got shape {ref.shape}")
        if not np.isfinite(ref).all():
            raise ValueError("the reference holds non-finite values")
        self.reference = ref
        self.mean: FloatArray = ref.mean(axis=0)
        sd = ref.std(axis=0, ddof=1)
        self.constant = sd <= 1e-12 * np.maximum(1.0, np.abs(self.mean))
        self.scale: FloatArray = np.where(self.constant, 1.0, sd)
        self._sums, self._sizes = _group_sums(ref, self.groups)
        self._pool = np.hstack([self._sums, self._sizes[:, None]])  # the reference's groups: sums and sizes
        self._pool_total = self._pool.sum(axis=0)
        self._mask = np.zeros(ref.shape[1], dtype=bool)
        self._mask[list(self.one_sided)] = True

    @property
    def k(self) -> int:
        return int(self.reference.shape[1])

    def _statistic(self, difference: FloatArray) -> FloatArray:
        z = difference / self.scale
        return np.asarray(np.where(self._mask, np.maximum(z, 0.0), np.abs(z)), dtype=float)

    def _null(self, window_pool: FloatArray, rng: np.random.Generator) -> FloatArray:
        """Statistics (B, k) of B random splits of the pooled groups (the reference's and the window's
        *window_pool*: per group its sums and size, (g, k + 1)) into as many groups as the window has and the
        rest, each drawn without replacement (an exact permutation test)."""
        b = self.resamples
        pool = np.vstack([self._pool, window_pool])
        n_groups, chosen = len(pool), len(window_pool)
        complement = chosen > n_groups - chosen  # draw the smaller side: the rest, when the window is larger
        draw = n_groups - chosen if complement else chosen
        index = _subsets(rng, n_groups, draw, b)
        picker = sparse.csr_matrix(
            (np.ones(b * draw), index.ravel(), np.arange(0, b * draw + 1, draw, dtype=np.int32)), shape=(b, n_groups)
        )
        drawn = np.asarray(picker @ pool)
        total = self._pool_total + window_pool.sum(axis=0)
        if complement:
            drawn = total - drawn
        window_sum, window_n = drawn[:, :-1], drawn[:, -1:]
        rest_n = np.maximum(total[-1] - window_n, 1.0)
        return self._statistic(window_sum / window_n - (total[:-1] - window_sum) / rest_n)

    @staticmethod
    def _counts(sorted_stats: FloatArray, values: FloatArray) -> FloatArray:
        """Per column: how many rows of *sorted_stats* (r, k; each column sorted, values ≥ 0) are at least as
        large as each of *values* (q, k), ties (within a relative 1e-12) counted; one search for all columns."""
        r, k = sorted_stats.shape
        top = np.maximum(1.0, sorted_stats[-1])
        offset = 2.0 * np.arange(k)  # column j scaled into [2j, 2j + 1]: one sorted array
        flat = (sorted_stats / top + offset).T.ravel()
        queries = (values / top + offset - _TIE).T.ravel()
        below = np.searchsorted(flat, queries, side="left").reshape(k, -1).T - r * np.arange(k)
        return np.asarray(r - below, dtype=float)

    def test(self, window: FloatArray, groups: npt.ArrayLike | None = None, *, seed: int | None = None) -> TestResult:
        """Test one window (n, k) of quantities against the reference; *groups*: the window rows' group labels
        (used when the reference is grouped; each row its own group otherwise).

        The observed split is one of the B + 1 splits the p-values are ranked among (raw and min-P alike), so
        that under exchangeability the family-wise rate is at most α for any B (ties counted against the
        window)."""
        window = np.asarray(window, dtype=float)
        if window.ndim != 2 or window.shape[1] != self.k or len(window) < 1:
            raise ValueError(f"the window needs rows of {self.k} quantities, got shape {window.shape}")
        if not np.isfinite(window).all():
            raise ValueError("the window holds non-finite values")
        w_sums, w_sizes = _group_sums(window, groups if self.groups is not None else None)
        mean = window.mean(axis=0)
        statistic = self._statistic(mean - self.mean)
        rng = np.random.default_rng([self.seed if seed is None else seed, len(window)])
        splits = np.vstack([statistic[None, :], self._null(np.hstack([w_sums, w_sizes[:, None]]), rng)])
        total = float(len(splits))
        order = np.argsort(splits, axis=0)
        ranked = np.take_along_axis(splits, order, axis=0)
        p_all = np.empty(splits.shape)  # each split's raw p-values
        np.put_along_axis(p_all, order, self._counts(ranked, ranked) / total, axis=0)
        p = p_all[0]
        min_p = np.sort(p_all.min(axis=1))
        exceed = np.searchsorted(min_p, p * (1.0 + _TIE), side="right")  # splits whose smallest p is ≤ p
        adjusted = np.maximum(np.minimum(1.0, exceed / total), p)
        return TestResult(statistic, p, adjusted, mean, self.mean.copy())

    def critical_statistic(self, n: int, alpha: float) -> FloatArray:
        """Per quantity, the statistic above which a window of *n* rows alarms at family-wise level *alpha*
        (from windows of *n* reference rows, or of whole groups of the reference's mean size)."""
        key = (n, alpha)
        if key in self._critical:
            return self._critical[key]
        rng = np.random.default_rng([self.seed, n, 7])
        chosen = max(1, round(n / float(self._sizes.mean())))
        # a new window drawn from the reference (groups with replacement), against the reference mean; its
        # spread scaled from 1/n to the two-sample 1/n + 1/m
        index = rng.integers(0, len(self._sizes), size=(self.resamples, chosen))
        window_mean = self._sums[index].sum(axis=1) / self._sizes[index].sum(axis=1)[:, None]
        inflate = math.sqrt(1.0 + n / float(self._sizes.sum()))
        null = self._statistic((window_mean - self.mean) * inflate)
        sorted_stats = np.sort(null, axis=0)
        b = self.resamples
        min_p = np.sort((self._counts(sorted_stats, null) / b).min(axis=1))
        # the largest raw p whose adjusted p is ≤ α: the α quantile of the min-P distribution
        p_cut = float(min_p[min(b - 1, max(0, math.floor(alpha * (b + 1)) - 2))])
        # raw p ≤ p_cut ⇔ statistic at or above the (1 − p_cut) quantile of its null column
        q = min(b - 1, max(0, math.ceil((1.0 - p_cut) * b) - 1))
        critical = np.asarray(sorted_stats[q], dtype=float)
        self._critical[key] = critical
        return critical


@dataclass(frozen=True)
class CauseGrade:
    """How firmly a window's data name the input behind its alarms: ``stated`` (one input, *candidates* holds
    it) or ``hedged`` (*candidates*: the inputs that could be it, strongest evidence first; empty when no input
    differs even on its own). *unconfirmed*: hedged only because the window joined with the one before it
    does not single out the same input."""

    grade: Literal["stated", "hedged"]
    candidates: tuple[str, ...]
    unconfirmed: bool = False

    @property
    def cause(self) -> str | None:
        """The input named as the cause, when stated."""
        return self.candidates[0] if self.grade == "stated" else None


def grade_cause(
    p_value: FloatArray, adjusted_p_value: FloatArray, columns: Mapping[str, Sequence[int]], alpha: float
) -> CauseGrade:
    """The graded root cause of one window's test: *columns* maps each input to the columns of the p-values
    that are its own (its value, its signed and absolute attribution).

    Stated when the evidence singles one input out: its smallest adjusted p-value is at most *alpha* (a
    finding at the family-wise level) while no other input differs from the reference even on its own (every
    other input's smallest raw p-value is above *alpha*). Otherwise hedged, listing every input that is
    significant or differs on its own (raw p-value at most *alpha*), smallest p-value first. A false alarm on a
    wrong input looks in its window exactly like a shift of that input, so one window cannot tell them apart;
    :meth:`glassline.monitor.Monitor` therefore also asks the window joined with the one before it (a shift
    persists, a false alarm does not) before it states a cause."""
    adjusted = {name: float(np.min(adjusted_p_value[list(cols)])) for name, cols in columns.items()}
    raw = {name: float(np.min(p_value[list(cols)])) for name, cols in columns.items()}
    significant = [name for name in columns if adjusted[name] <= alpha]
    unusual = sorted((name for name in columns if raw[name] <= alpha), key=lambda nm: (adjusted[nm], raw[nm]))
    if len(significant) == 1 and set(unusual) <= set(significant):
        return CauseGrade("stated", (significant[0],))
    return CauseGrade("hedged", tuple(unusual))


def confirm_cause(first: CauseGrade, joined: CauseGrade) -> CauseGrade:
    """*first* (one window's grade) kept when the window joined with the one before it states the same input;
    hedged otherwise, listing both grades' candidates."""
    if first.grade != "stated" or joined.cause == first.cause:
        return first
    return CauseGrade("hedged", tuple(dict.fromkeys(first.candidates + joined.candidates)), unconfirmed=True)


def minimum_detectable_shift(test: MinPTest, n: int, alpha: float) -> FloatArray:
    """Per quantity, the mean shift (in its own unit) a window of *n* rows detects with 80 % power at
    family-wise level *alpha*: critical value plus z₀.₈ standard errors, normal approximation."""
    m = len(test.reference)
    critical = test.critical_statistic(n, alpha)
    se = math.sqrt(1.0 / n + 1.0 / m)
    shift = (critical + _Z_POWER * se) * test.scale
    return np.asarray(np.where(test.constant, 0.0, shift), dtype=float)


# ------------------------------------------------------------------------------------------------ CUSUM
def _siegmund(delta: FloatArray, b: FloatArray) -> FloatArray:
    """Siegmund's ARL of a one-sided CUSUM with normal(δ, 1) increments net of k, and limit b − 1.166."""
    small = np.abs(delta) < 1e-6
    d = np.where(small, 1.0, delta)
    arl = (np.exp(-2.0 * d * b) + 2.0 * d * b - 1.0) / (2.0 * d**2)
    return np.where(small, b**2, arl)


def _two_sided_arl(h: FloatArray, d: FloatArray, s: FloatArray, k: float) -> FloatArray:
    b = h / s + 1.166
    with np.errstate(over="ignore"):
        up = _siegmund((d - k) / s, b)
        down = _siegmund((-d - k) / s, b)
    return np.asarray(1.0 / (1.0 / up + 1.0 / down), dtype=float)


@dataclass(frozen=True)
class CusumLimits:
    """Per quantity: the chart's centre and scale (the reference's estimates), its reference value *k*, the
    bootstrap-adjusted limit *h*, the per-chart and family ARL targets and γ."""

    mean: FloatArray
    scale: FloatArray
    k: float
    h: FloatArray
    chart_target: float
    family_target: float
    gamma: float


def cusum_limits(
    reference: FloatArray,
    *,
    target_arl: float = 370.0,
    gamma: float = 0.1,
    k: float = 0.5,
    resamples: int = 300,
    seed: int = 0,
    max_rows: int = 10_000,
) -> CusumLimits:
    """Bootstrap-adjusted two-sided CUSUM limits (Gandy & Kvaløy 2013) for each column of *reference*
    (m, K): the family of K charts has an in-control ARL ≥ *target_arl* with probability ≈ 1 − *gamma*.
    References over *max_rows* rows are subsampled to it (the limits are then a little conservative)."""
    ref = np.asarray(reference, dtype=float)
    rng = np.random.default_rng(seed)
    if len(ref) > max_rows:
        ref = ref[rng.choice(len(ref), size=max_rows, replace=False)]
    m, n_q = ref.shape
    mean = ref.mean(axis=0)
    sd = ref.std(axis=0, ddof=1)
    scale = np.where(sd > 1e-12 * np.maximum(1.0, np.abs(mean)), sd, 1.0)
    weights = rng.poisson(1.0, size=(resamples, m)).astype(float)
    total = np.maximum(weights.sum(axis=1, keepdims=True), 1.0)
    boot_mean = weights @ ref / total
    boot_var = np.maximum(weights @ (ref**2) / total - boot_mean**2, 0.0) * (total / np.maximum(total - 1.0, 1.0))
    boot_sd = np.where(np.sqrt(boot_var) > 0, np.sqrt(boot_var), scale)
    d = (mean - boot_mean) / boot_sd  # in-control mean of the replicate's standardized rows
    s = scale / boot_sd  # and their sd
    chart_target = target_arl * n_q
    low = np.full(d.shape, 1e-3)
    high = np.full(d.shape, 200.0)
    for _ in range(60):
        mid = 0.5 * (low + high)
        short = _two_sided_arl(mid, d, s, k) < chart_target
        low = np.where(short, mid, low)
        high = np.where(short, high, mid)
    h = np.quantile(high, 1.0 - gamma, axis=0)
    return CusumLimits(mean, scale, k, np.asarray(h, dtype=float), chart_target, target_arl, gamma)


def cusum_paths(values: FloatArray, limits: CusumLimits) -> tuple[FloatArray, FloatArray]:
    """Upper and lower CUSUM paths (n, K) of the rows *values* (n, K) standardized by *limits*."""
    z = (np.asarray(values, dtype=float) - limits.mean) / limits.scale
    up = np.zeros_like(z)
    down = np.zeros_like(z)
    s_up = np.zeros(z.shape[1])
    s_down = np.zeros(z.shape[1])
    for t in range(len(z)):
        s_up = np.maximum(0.0, s_up + z[t] - limits.k)
        s_down = np.maximum(0.0, s_down - z[t] - limits.k)
        up[t] = s_up
        down[t] = s_down
    return up, down


# ---------------------------------------------------------------------------------------- Bernoulli CUSUM
def _bernoulli_steps(p0: float, p1: float) -> tuple[float, float]:
    return math.log(p1 / p0), math.log((1.0 - p1) / (1.0 - p0))


def _bernoulli_arl(h: float, p0: float, p1: float, cells: int = 400) -> float:
    """In-control ARL of the Bernoulli CUSUM with limit *h* (Markov chain on a grid of *cells* states: each
    state moves to two others, so the system is sparse)."""
    up, down = _bernoulli_steps(p0, p1)
    grid = np.linspace(0.0, h, cells)
    step = grid[1] - grid[0]
    rows = np.arange(cells)
    miss = grid + up
    stay = miss <= h
    hit = np.clip(np.rint(np.maximum(grid + down, 0.0) / step).astype(int), 0, cells - 1)
    q = sparse.coo_matrix(
        (
            np.concatenate([np.full(int(stay.sum()), p0), np.full(cells, 1.0 - p0)]),
            (
                np.concatenate([rows[stay], rows]),
                np.concatenate([np.clip(np.rint(miss[stay] / step).astype(int), 0, cells - 1), hit]),
            ),
        ),
        shape=(cells, cells),
    ).tocsc()
    arl = spsolve(sparse.identity(cells, format="csc") - q, np.ones(cells))
    return float(arl[0])


@functools.lru_cache(maxsize=64)
def bernoulli_cusum_limit(p0: float, *, target_arl: float = 370.0, ratio: float = 2.0) -> float:
    """The limit of a Bernoulli CUSUM on misses (tuned to detect the miss rate going from *p0* to
    *ratio*·*p0*) whose in-control ARL is *target_arl*."""
    p1 = min(0.95, ratio * p0)
    low, high = 0.05, 40.0
    for _ in range(30):
        mid = 0.5 * (low + high)
        if _bernoulli_arl(mid, p0, p1) < target_arl:
            low = mid
        else:
            high = mid
    return high


def bernoulli_cusum(misses: npt.NDArray[np.bool_], p0: float, *, ratio: float = 2.0) -> FloatArray:
    """The Bernoulli CUSUM path of a 0/1 miss sequence (in-control miss rate *p0*)."""
    up, down = _bernoulli_steps(p0, min(0.95, ratio * p0))
    path = np.zeros(len(misses))
    s = 0.0
    for t, x in enumerate(np.asarray(misses, dtype=bool).tolist()):
        s = max(0.0, s + (up if x else down))
        path[t] = s
    return path
