"""Outlier rules per group and the cleaning log that records every row dropped or changed."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from glassline.exceptions import DataError

__all__ = ["CleaningLog", "OutlierRule", "flag_outliers", "remove_outliers"]

LOG_COLUMNS = ["file", "row", "column", "group", "rule", "value", "reason", "action"]


@dataclass(frozen=True)
class OutlierRule:
    """Drop values outside ``center ± k·spread`` within each group.

    ``method="sd"``: mean ± k·standard deviation, the paper's rule with k = 1.5. ``ddof=0`` (the
    default) is the population SD that numpy and ``scipy.stats.zscore`` compute; with ``ddof=1`` and
    n values no point can lie further than (n − 1)/√n SD from the mean, so with four specimens per
    group (the paper's case) the ±1.5·SD rule could never remove anything.
    ``method="mad"``: median ± k·1.4826·MAD, robust to the outliers it looks for. ``k = 0`` disables.
    Groups with fewer than ``min_group`` values are left alone (a spread from two values means little).
    """

    method: Literal["sd", "mad"] = "sd"
    k: float = 1.5
    min_group: int = 3
    ddof: int = 0

    def __post_init__(self) -> None:
        if self.method not in ("sd", "mad"):
            raise DataError(f"outlier rule: method must be 'sd' or 'mad', got {self.method!r}")
        if not np.isfinite(self.k) or self.k < 0:
            raise DataError(f"outlier rule: k must be a finite number ≥ 0, got {self.k}")
        if self.ddof not in (0, 1):
            raise DataError(f"outlier rule: ddof must be 0 or 1, got {self.ddof}")
        if self.min_group < 2:
            raise DataError(f"outlier rule: min_group must be ≥ 2, got {self.min_group}")

    @property
    def name(self) -> str:
        return f"±{self.k:g}·{'SD' if self.method == 'sd' else 'MAD'} per group"

    def bounds(self, values: np.ndarray) -> tuple[float, float]:
        """The (low, high) band for one group's *values* (NaNs ignored)."""
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


def flag_outliers(frame: pd.DataFrame, column: str, *, group: str | None, rule: OutlierRule) -> pd.Series:
    """Boolean Series, True where *column* is outside the rule's band within its group."""
    if column not in frame.columns:
        raise DataError(f"outlier rule: no column {column!r} in the table")
    flags = pd.Series(False, index=frame.index)
    if rule.k == 0:
        return flags
    values = frame[column].to_numpy(dtype=float)
    keys = frame[group].to_numpy() if group is not None else np.zeros(len(frame))
    for key in pd.unique(keys):
        members = np.flatnonzero(keys == key)
        chunk = values[members]
        if np.count_nonzero(~np.isnan(chunk)) < rule.min_group:
            continue
        low, high = rule.bounds(chunk)
        outside = (chunk < low) | (chunk > high)
        flags.iloc[members[outside]] = True
    return flags


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
    """Drop the rows whose *column* is an outlier within its *group*, logging each one.

    ``row_column`` names a column holding the source row number (as a spreadsheet shows it); without
    it the frame's index + 2 is logged.
    """
    flags = flag_outliers(frame, column, group=group, rule=rule)
    for index in frame.index[flags.to_numpy()]:
        record = frame.loc[index]
        low, high = rule.bounds(
            frame.loc[(frame[group] == record[group]) if group else slice(None), column].to_numpy(dtype=float)
        )
        log.add(
            file=file,
            row=int(record[row_column]) if row_column else int(index) + 2,
            column=column,
            group=record[group] if group else "",
            rule=rule.name,
            value=float(record[column]),
            reason=f"outside [{low:.4g}, {high:.4g}]",
        )
    return frame.loc[~flags.to_numpy()].copy()
