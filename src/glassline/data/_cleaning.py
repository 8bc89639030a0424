"""Outlier rules per group and the cleaning log that records every row dropped or changed."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from glassline.exceptions import DataError

__all__ = ["CleaningLog", "OutlierRule", "flag_outliers", "outlier_report", "remove_outliers"]

LOG_COLUMNS = ["file", "row", "column", "group", "rule", "value", "reason", "action"]


@dataclass(frozen=True)
class OutlierRule:
    """Which values of a group's replicates are outliers.

    ``method="pooled"`` (the study file's default): each value is compared with the mean of the
    *other* values of its group, on a scale pooled within every group of the same response
    (externally studentized residuals of the one-way model, ``N − G − 1`` degrees of freedom for N
    values in G groups of ≥ 2). Under normal noise that statistic follows Student's t exactly, so a
    value is flagged when ``|t| > t(1 − alpha/2, df)``: the per-value false-exclusion rate of one
    such test is *alpha* whatever the group size, 3, 4 or 5 replicates alike, because the scale comes
    from all groups rather than from the group's own three values. Three steps keep one gross outlier
    from hiding another by inflating the pooled scale: (1) a robust screen holds out values beyond
    ``SCREEN_Z`` pooled robust SDs (the median over groups of each group's shorth, made consistent
    per group size) of their group's median; (2) each held-out value that passes the t test against
    the rest comes back, nearest first; (3) the value kept that fails the test most clearly is removed
    and the test repeated. ``scale="relative"`` works on log values (a spread proportional to the
    level, as strengths, resistances and capacities have), ``"absolute"`` on the values; ``"auto"``
    picks relative when every value is > 0 and the groups' spread grows with their level (Theil–Sen
    slope of log spread on log level ≥ ``RELATIVE_SLOPE``); with 12 groups of 3-4 that choice is
    wrong in 10-15 % of absolute-noise tables and a third of relative-noise tables spanning a 2× range,
    so name the scale when it is known.

    Measured by seeded simulation (absolute scale, normal noise; the tests in
    ``tests/data/test_cleaning.py`` bound it by 2·alpha with a 99 % binomial interval):

    ========  ================================  ================================
    n         false exclusions, alpha = 0.1 %   false exclusions, alpha = 0.01 %
    ========  ================================  ================================
    3         0.17 % (12 of 7,200), 40 groups   0.028 % (2 of 7,200)
    4         0.083 % (8 of 9,600)              0 of 9,600
    5         0.14 % (17 of 12,000)             0.008 % (1 of 12,000)
    ========  ================================  ================================

    A 10-SD outlier in 3 of 12 groups was caught 180 times of 180 at n = 3, 4 and 5 (both alphas);
    a 10-SD outlier in *every* group (12 groups, the hardest case) in 69 / 100 / 100 % of groups at
    n = 3 / 4 / 5 with alpha = 0.1 % and 63 / 99 / 100 % with 0.01 %, with ≤ 0.2 % of good values taken
    along. On the simulated pilot line (seeds 1, 7, 11, 2023, alpha = 0.01 %) every injected gross
    adhesion outlier and defective cell was caught, with 0-2 of 311 good rows excluded (adhesion
    specimens in the simulator's heavy Student-t tails).
    A response without any within-group spread is left alone (no scale to judge by).

    ``method="sd"``: mean ± k·standard deviation of the group itself, the paper's rule with k = 1.5.
    ``ddof=0`` (the default) is the population SD that numpy and ``scipy.stats.zscore`` compute; with
    ``ddof=1`` and n values no point can lie further than (n − 1)/√n SD from the mean, so with four
    specimens per group (the paper's case) the ±1.5·SD rule could never remove anything. Even under
    normal noise it removes a fixed share of good values (about 13 % at n = 4 with ddof = 0).
    ``method="mad"``: median ± k·1.4826·MAD of the group, robust in large groups; with 3–5 values the
    MAD is itself noise (it removed 19 good rate-test values and 6 good cells of the simulated line).
    ``k = 0`` (sd, mad) or ``alpha = 0`` (pooled) disables. Groups with fewer than ``min_group``
    values are not judged (a pooled rule still uses their spread).
    """

    method: Literal["pooled", "sd", "mad"] = "sd"
    k: float = 1.5
    min_group: int = 3
    ddof: int = 0
    alpha: float = 0.0001
    scale: Literal["auto", "absolute", "relative"] = "auto"

    def __post_init__(self) -> None:
        if self.method not in ("pooled", "sd", "mad"):
            raise DataError(f"outlier rule: method must be 'pooled', 'sd' or 'mad', got {self.method!r}")
        if not np.isfinite(self.k) or self.k < 0:
            raise DataError(f"outlier rule: k must be a finite number ≥ 0, got {self.k}")
        if self.ddof not in (0, 1):
            raise DataError(f"outlier rule: ddof must be 0 or 1, got {self.ddof}")
        if self.min_group < 2:
            raise DataError(f"outlier rule: min_group must be ≥ 2, got {self.min_group}")
        if not np.isfinite(self.alpha) or not 0 <= self.alpha < 1:
            raise DataError(f"outlier rule: alpha must be a false-exclusion rate in [0, 1), got {self.alpha}")
        if self.scale not in ("auto", "absolute", "relative"):
            raise DataError(f"outlier rule: scale must be 'auto', 'absolute' or 'relative', got {self.scale!r}")

    @property
    def disabled(self) -> bool:
        return self.alpha == 0 if self.method == "pooled" else self.k == 0

    @property
    def name(self) -> str:
        if self.method == "pooled":
            return f"pooled within-group scale, {100 * self.alpha:g} % false exclusions per value"
        return f"±{self.k:g}·{'SD' if self.method == 'sd' else 'MAD'} per group"

    def bounds(self, values: np.ndarray) -> tuple[float, float]:
        """The (low, high) band of the sd or mad rule for one group's *values* (NaNs ignored)."""
        if self.method == "pooled":
            raise DataError("outlier rule: the pooled rule has a band per value, see glassline.data.outlier_report")
        values = values[~np.isnan(values)]
        if self.method == "sd":
            center = float(values.mean())
            spread = float(values.std(ddof=self.ddof))
        else:
            center = float(np.median(values))
            spread = 1.4826 * float(np.median(np.abs(values - center)))
        return center - self.k * spread, center + self.k * spread


@dataclass
class CleaningLog:
    """Every row a preparation step dropped or changed: file, row, column, group, rule, value, reason.

    It also keeps the row account of every raw table: the rows read (:meth:`received`), the rows each
    output table holds (:meth:`used`) and the rows left out on purpose in bulk (:meth:`set_aside`, one
    log line for many rows). :meth:`account` checks that every row read is in an output table or in
    the log, and raises when one vanished.
    """

    rows: list[dict[str, object]] = field(default_factory=list)
    #: file → the row numbers read (as a spreadsheet shows them)
    inputs: dict[str, list[int]] = field(default_factory=dict)
    #: file → output table → the rows of that file it holds
    uses: dict[str, dict[str, set[int]]] = field(default_factory=dict)
    #: file → rows left out in bulk (each range summarised by one log line)
    aside: dict[str, set[int]] = field(default_factory=dict)

    def received(self, file: str, rows: Iterable[int]) -> None:
        """Record the rows read from *file*: each must end up in an output table or in the log."""
        self.inputs[file] = sorted({int(r) for r in rows})

    def used(self, file: str, table: str, rows: Iterable[int]) -> None:
        """Record that output *table* holds (or was computed from) these rows of *file*."""
        self.uses.setdefault(file, {}).setdefault(table, set()).update(int(r) for r in rows)

    def set_aside(self, file: str, rows: Iterable[int], *, rule: str, reason: str) -> None:
        """Leave many rows of *file* out on purpose (e.g. sensor samples between recipe steps): one log line."""
        chosen = sorted({int(r) for r in rows})
        if not chosen:
            return
        self.aside.setdefault(file, set()).update(chosen)
        self.add(
            file=file,
            row=None,
            rule=rule,
            value=len(chosen),
            reason=f"{reason}: {len(chosen)} rows ({_ranges(chosen)})",
            action="not used",
        )

    def add(
        self,
        *,
        file: str,
        row: int | None,
        rule: str,
        reason: str,
        column: str = "",
        group: object = "",
        value: object = None,
        action: str = "dropped",
    ) -> None:
        self.rows.append(
            {
                "file": file,
                "row": row,
                "column": column,
                "group": group,
                "rule": rule,
                "value": value,
                "reason": reason,
                "action": action,
            }
        )

    def extend(self, other: CleaningLog) -> None:
        self.rows.extend(other.rows)
        self.inputs.update(other.inputs)
        for file, tables in other.uses.items():
            for table, rows in tables.items():
                self.used(file, table, rows)
        for file, rows in other.aside.items():
            self.aside.setdefault(file, set()).update(rows)

    def dropped_rows(self, file: str) -> dict[int, str]:
        """Row → rule of every row of *file* the log says was dropped."""
        return {
            int(str(r["row"])): str(r["rule"])
            for r in self.rows
            if r["file"] == file and r["action"] == "dropped" and r["row"] is not None and r["row"] == r["row"]
        }

    def account(self) -> dict[str, dict[str, Any]]:
        """Per raw table: rows read = rows in output tables + rows dropped (by rule) + rows set aside.

        Raises a DataError naming the file and the first rows when a row read is in no output table and
        not in the log, or is both kept and logged as dropped.
        """
        summary: dict[str, dict[str, Any]] = {}
        for file, read in self.inputs.items():
            rows_in = set(read)
            tables = self.uses.get(file, {})
            used = set().union(*tables.values()) if tables else set()
            dropped = self.dropped_rows(file)
            aside = self.aside.get(file, set())
            vanished = sorted(rows_in - used - set(dropped) - aside)
            if vanished:
                raise DataError(
                    f"{file}: {len(vanished)} of {len(rows_in)} rows are in no output table and not in the "
                    f"cleaning log (rows {_ranges(vanished)}); this is a bug of the layout that read the file"
                )
            twice = sorted(used & (set(dropped) | aside))
            if twice:
                raise DataError(
                    f"{file}: rows {_ranges(twice)} are both in an output table and logged as left out; "
                    "this is a bug of the layout that read the file"
                )
            unknown = sorted((used | set(dropped) | aside) - rows_in)
            if unknown:
                raise DataError(f"{file}: rows {_ranges(unknown)} are accounted for but were never read")
            by_rule: dict[str, int] = {}
            for rule in (dropped[r] for r in rows_in if r in dropped):
                by_rule[rule] = by_rule.get(rule, 0) + 1
            summary[file] = {
                "rows_in": len(rows_in),
                "used": {table: len(rows & rows_in) for table, rows in tables.items()},
                "dropped": by_rule,
                "set_aside": len(aside & rows_in),
            }
        return summary

    def __len__(self) -> int:
        return len(self.rows)

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows, columns=LOG_COLUMNS)

    def write(self, path: str | Path) -> Path:
        path = Path(path)
        self.to_frame().to_csv(path, index=False)
        return path

    def counts(self) -> dict[str, int]:
        """Number of logged rows per rule."""
        frame = self.to_frame()
        return {str(k): int(v) for k, v in frame.groupby("rule").size().items()} if len(frame) else {}


def _ranges(rows: list[int], limit: int = 6) -> str:
    """``2–5, 9, 12–14`` for sorted row numbers (the first *limit* runs, then "…")."""
    runs: list[tuple[int, int]] = []
    for r in rows:
        if runs and r == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], r)
        else:
            runs.append((r, r))
    text = ", ".join(f"{a}" if a == b else f"{a}–{b}" for a, b in runs[:limit])
    return text + (", …" if len(runs) > limit else "")


REPORT_COLUMNS = ["outlier", "low", "high", "reason"]


def outlier_report(frame: pd.DataFrame, column: str, *, group: str | None, rule: OutlierRule) -> pd.DataFrame:
    """Per row of *frame*: ``outlier`` (bool), the band ``low``/``high`` it was judged by and a ``reason``.

    The reason names the rule, the scale and the cutoff. Rows that were not judged (a missing value, a
    group smaller than ``rule.min_group``, a disabled rule) have NaN bands and an empty reason.
    """
    if column not in frame.columns:
        raise DataError(f"outlier rule: no column {column!r} in the table")
    report = pd.DataFrame(
        {"outlier": False, "low": np.nan, "high": np.nan, "reason": ""}, index=frame.index, columns=REPORT_COLUMNS
    )
    if rule.disabled:
        return report
    values = frame[column].to_numpy(dtype=float)
    keys = frame[group].to_numpy() if group is not None else np.zeros(len(frame))
    codes = pd.factorize(pd.Series(keys), use_na_sentinel=False)[0]
    if rule.method == "pooled":
        return _pooled(values, codes, rule, report)
    for code in np.unique(codes):
        members = np.flatnonzero(codes == code)
        chunk = values[members]
        if np.count_nonzero(~np.isnan(chunk)) < rule.min_group:
            continue
        low, high = rule.bounds(chunk)
        outside = (chunk < low) | (chunk > high)
        spread = "SD" if rule.method == "sd" else "1.4826·MAD"
        center = "mean" if rule.method == "sd" else "median"
        n = int(np.count_nonzero(~np.isnan(chunk)))
        report.iloc[members[outside], 0] = True
        report.iloc[members, 1] = low
        report.iloc[members, 2] = high
        report.iloc[members[outside], 3] = (
            f"outside [{low:.4g}, {high:.4g}]: {center} ± {rule.k:g}·{spread} of the {n} values of its group"
        )
    return report


#: robust z (about the group median, on the pooled shorth scale) beyond which a value is held out while
#: the pooled scale is estimated; each one held out is then judged by the exact t test against the rest
SCREEN_Z = 2.5


def _shorth(sorted_values: np.ndarray) -> np.ndarray:
    """The length of the shortest window of ⌊n/2⌋ + 1 consecutive sorted values (last axis).

    With one gross outlier among 3, 4 or 5 values the window still holds only good values (the MAD
    of 3 values with one outlier is the gap of the other two, stochastically 2.6 times too large).
    """
    n = sorted_values.shape[-1]
    h = n // 2 + 1
    return np.min(sorted_values[..., h - 1 :] - sorted_values[..., : n - h + 1], axis=-1)


@functools.cache
def _shorth_median(n: int) -> float:
    """The median of :func:`_shorth` of *n* standard normal values (seeded Monte-Carlo, 200,000 draws; fewer
    for groups of more than 100 values, at most 2·10⁷ numbers, where the shorth varies little between draws)."""
    count = max(1_000, min(200_000, 20_000_000 // max(n, 1)))
    draws = np.sort(np.random.default_rng(n).standard_normal((count, n)), axis=1)
    return float(np.median(_shorth(draws)))


def _robust_scale(y: np.ndarray, codes: np.ndarray, usable: np.ndarray) -> tuple[np.ndarray, float]:
    """Per value: its group's median; and the pooled robust SD (the median of the groups' scaled shorths)."""
    median = np.full(len(y), np.nan)
    scaled: list[float] = []
    for code in np.unique(codes[usable]):
        members = np.flatnonzero(usable & (codes == code))
        chunk = np.sort(y[members])
        median[members] = float(np.median(chunk))
        if len(chunk) >= 2:
            scaled.append(float(_shorth(chunk)) / _shorth_median(len(chunk)))
    return median, float(np.median(scaled)) if scaled else 0.0


#: "auto" works on log values when the groups' spread grows at least this fast with their level
#: (slope of log spread on log level: 1 for a constant relative spread, 0 for a constant absolute one)
RELATIVE_SLOPE = 0.5


def _spread_grows_with_level(values: np.ndarray, codes: np.ndarray, finite: np.ndarray) -> bool:
    """True when every value is > 0 and the groups' spread grows with their level (Theil–Sen slope of the log
    shorth on the log median ≥ RELATIVE_SLOPE, robust to a group with an outlier).

    Groups whose levels span less than 10 % leave both scales equivalent: relative then.
    """
    if not np.all(values[finite] > 0):
        return False
    levels, spreads = [], []
    for code in np.unique(codes[finite]):
        chunk = np.sort(values[finite & (codes == code)])
        if len(chunk) >= 2 and _shorth(chunk) > 0:
            levels.append(np.log(np.median(chunk)))
            spreads.append(np.log(_shorth(chunk) / _shorth_median(len(chunk))))
    if len(levels) < 3 or np.ptp(levels) < np.log(1.1):
        return True
    x, y = np.asarray(levels), np.asarray(spreads)
    i, j = np.triu_indices(len(x), k=1)
    apart = x[j] != x[i]
    slope = float(np.median((y[j] - y[i])[apart] / (x[j] - x[i])[apart]))  # Theil–Sen: the median pairwise slope
    return slope >= RELATIVE_SLOPE


def _pooled(values: np.ndarray, codes: np.ndarray, rule: OutlierRule, report: pd.DataFrame) -> pd.DataFrame:
    """The pooled rule (see :class:`OutlierRule`).

    1. Screen: values beyond SCREEN_Z robust SDs (pooled shorth) of their group's median are held out
       (one round: recomputing the scale without them shrinks it, and repeating that cascades).
    2. Each held-out value whose externally studentized t against the others is within the cutoff comes
       back (smallest |t| first, recomputing after each).
    3. The largest |t| beyond the cutoff among the values kept is removed, and that repeated.
    """
    from scipy import stats  # here, not at import: the CLI starts without scipy

    finite = np.isfinite(values)
    if not finite.any():
        return report
    relative = rule.scale == "relative" or (rule.scale == "auto" and _spread_grows_with_level(values, codes, finite))
    if relative and np.any(values[finite] <= 0):
        raise DataError(
            f"outlier rule: scale 'relative' needs values > 0, found {float(values[finite].min()):g}; "
            "use scale 'absolute' or 'auto'"
        )
    y = np.log(np.where(finite, values, 1.0)) if relative else np.where(finite, values, 0.0)
    groups = int(codes.max()) + 1 if len(codes) else 0
    size = np.bincount(codes[finite], minlength=groups)[codes]
    judged = finite & (size >= rule.min_group)
    median, robust = _robust_scale(y, codes, finite)  # 1. screen
    held = judged & (np.abs(y - np.where(judged, median, 0.0)) > SCREEN_Z * robust) if robust > 0 else judged & False
    active = finite & ~held

    def statistic(active: np.ndarray) -> _Pooled:
        """Each value against the mean of its group's other active values, on the pooled scale of the rest."""
        count = np.bincount(codes[active], minlength=groups).astype(float)
        total = np.bincount(codes[active], weights=y[active], minlength=groups)
        mean = np.divide(total, count, out=np.zeros(groups), where=count > 0)
        within = float(np.sum((y[active] - mean[codes[active]]) ** 2))
        spread = count >= 2
        used, spread_groups = int(count[spread].sum()), int(spread.sum())
        others = count[codes] - active
        deviation = y - mean[codes]
        residual = np.where(active, deviation * count[codes] / np.maximum(others, 1), deviation)
        rest = np.where(active, within - deviation * residual, within)
        rest = np.where(rest > 1e-12 * within, rest, 0.0)  # what rounding leaves of an exact zero is zero
        df = np.where(active, used - spread_groups - 1, used - spread_groups)
        s = np.sqrt(np.divide(rest, df, out=np.zeros(len(y)), where=df > 0))
        factor = np.sqrt(1.0 + 1.0 / np.maximum(others, 1))
        ok = judged & (others >= 1) & (s > 0) & (df >= 1)
        t = np.zeros(len(y))
        t[ok] = np.abs(residual[ok]) / (s[ok] * factor[ok])
        limit = np.full(len(y), np.inf)
        limit[ok] = stats.t.ppf(1.0 - rule.alpha / 2.0, df[ok])
        return _Pooled(t, limit, residual, s, factor, df, others, used, spread_groups)

    while held.any():  # 2. bring back the held-out values that pass the exact test, nearest first
        now = statistic(active)
        candidates = np.flatnonzero(held)
        best = candidates[int(np.argmin(now.t[candidates] - now.limit[candidates]))]
        if now.t[best] > now.limit[best]:
            break
        held[best] = False
        active[best] = True
    while True:  # 3. remove the value the exact test flags most clearly among those kept, and repeat
        now = statistic(active)
        excess = np.where(active & (now.t > now.limit), now.t - now.limit, -np.inf)
        worst = int(np.argmax(excess))
        if not np.isfinite(excess[worst]):
            break
        held[worst] = True
        active[worst] = False
    now = statistic(active)
    outlier, low_of, high_of = (
        report["outlier"].to_numpy(dtype=bool),
        report["low"].to_numpy(),
        report["high"].to_numpy(),
    )
    reasons = report["reason"].to_numpy(dtype=object)
    for position in np.flatnonzero(held):
        half = float(now.limit[position] * now.s[position] * now.factor[position])
        center = float(y[position] - now.residual[position])
        low, high = center - half, center + half
        if relative:
            low, high = float(np.exp(low)), float(np.exp(high))
            scale_text = f"pooled within-group SD {100 * float(now.s[position]):.3g} % (log scale)"
            off = f"{100 * float(np.expm1(now.residual[position])):+.3g} %"
        else:
            scale_text = f"pooled within-group SD {float(now.s[position]):.4g}"
            off = f"{float(now.residual[position]):+.4g}"
        reason = (
            f"outside [{low:.4g}, {high:.4g}]: {off} from the mean of the other {int(now.others[position])} values "
            f"of its group; {scale_text} from {now.used} values in {now.groups} groups (df {int(now.df[position])}); "
            f"|t| {float(now.t[position]):.3g} > {float(now.limit[position]):.3g}, the t cutoff for "
            f"{100 * rule.alpha:g} % false exclusions per value"
        )
        outlier[position], low_of[position], high_of[position], reasons[position] = True, low, high, reason
    return pd.DataFrame({"outlier": outlier, "low": low_of, "high": high_of, "reason": reasons}, index=report.index)


@dataclass(frozen=True)
class _Pooled:
    """The pooled rule's statistic per value (see :func:`_pooled`)."""

    t: np.ndarray
    limit: np.ndarray
    residual: np.ndarray
    s: np.ndarray
    factor: np.ndarray
    df: np.ndarray
    others: np.ndarray
    used: int
    groups: int


def flag_outliers(frame: pd.DataFrame, column: str, *, group: str | None, rule: OutlierRule) -> pd.Series:
    """Boolean Series, True where *column* is an outlier within its group under *rule*."""
    return outlier_report(frame, column, group=group, rule=rule)["outlier"].astype(bool)


def remove_outliers(
    frame: pd.DataFrame,
    column: str,
    *,
    group: str | None,
    rule: OutlierRule,
    log: CleaningLog,
    file: str,
    row_column: str | None = None,
) -> pd.DataFrame:
    """Drop the rows whose *column* is an outlier within its *group*, logging each one with its reason.

    ``row_column`` names a column holding the source row number (as a spreadsheet shows it); without
    it the frame's index + 2 is logged.
    """
    report = outlier_report(frame, column, group=group, rule=rule)
    flags = report["outlier"].to_numpy(dtype=bool)
    for position in np.flatnonzero(flags):
        record = frame.iloc[position]
        index = frame.index[int(position)]
        log.add(
            file=file,
            row=int(record[row_column]) if row_column else int(index) + 2,
            column=column,
            group=record[group] if group else "",
            rule=rule.name,
            value=float(record[column]),
            reason=str(report["reason"].iloc[position]),
        )
    return frame.loc[~flags].copy()
