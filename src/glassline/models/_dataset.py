"""Find the rows a target is modelled on: its table in DATA, its scenarios' inputs, its groups.

DATA is either the prepare stage's output (a :class:`~glassline.data.PreparedDataset` in memory, or
its folder: one tidy table per response level, ``<level>.parquet`` or ``<level>.csv``, beside
``cleaning_log.csv`` and ``metadata.json``), one CSV/Parquet/Excel table holding every column, or a
DataFrame. Every problem is a :class:`~glassline.exceptions.DataError`
naming the file and the column, with did-you-mean hints.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

from glassline.data import (
    METADATA_FILE,
    TABLE_SUFFIXES,
    PreparedDataset,
    is_missing_marker,
    is_prepared_folder,
    read_table,
    require_columns,
    require_numeric,
    user_row,
)
from glassline.exceptions import DataError, did_you_mean
from glassline.spec import MAX_FACTOR_MAGNITUDE, Study

__all__ = ["DataSource", "TargetData", "load_target"]

#: Files of a prepared dataset folder that are not response tables.
_NOT_TABLES = frozenset({"cleaning_log"})


@dataclass(frozen=True)
class TargetData:
    """The usable rows of one target: every input of its scenarios and the target, no missing values.

    ``frame`` is indexed by row id (the 0-based row of the source table; a spreadsheet shows it as
    row id + 2); ``groups`` holds the group label of each row as text, or None without a group column.
    """

    target: str
    scenarios: dict[str, tuple[str, ...]]
    frame: pd.DataFrame
    groups: npt.NDArray[np.str_] | None
    group_column: str | None
    source: str
    dropped: int
    #: what the left-out rows lack, as "row N: 'col', 'col'" (spreadsheet row numbers), in row order
    dropped_rows: tuple[str, ...] = ()
    #: the run order of each row (the study's ``[data] order`` column), or None without one
    order: npt.NDArray[np.float64] | None = None

    @property
    def n_groups(self) -> int:
        return len(np.unique(self.groups)) if self.groups is not None else len(self.frame)


def _is_prepared(path: Path) -> bool:
    """A folder written by ``prepare``: its metadata file names the levels of its tables.

    A folder with a cleaning log but no metadata file is a dataset whose writing did not finish: it is
    refused by name rather than read as a folder of loose tables.
    """
    if not path.is_dir():
        return False
    unfinished = (path / "cleaning_log.csv").is_file() or ".partial-" in path.name
    if not (path / METADATA_FILE).is_file() and unfinished:
        raise DataError(
            f"{path}: not a complete prepared dataset: {METADATA_FILE} is missing beside cleaning_log.csv "
            "(a failed or interrupted prepare?); run `glassline prepare` again"
        )
    if not is_prepared_folder(path):
        return False
    try:
        metadata = json.loads((path / METADATA_FILE).read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        return False
    # a metadata file without levels: a folder of loose tables (one per level, found by their columns)
    return isinstance(metadata, dict) and isinstance(metadata.get("levels"), dict)


class DataSource:
    """Where tables come from, read once each: a prepared dataset (in memory or its folder), one table file,
    or a DataFrame."""

    def __init__(self, data: str | Path | pd.DataFrame | PreparedDataset) -> None:
        self._cache: dict[Path, pd.DataFrame] = {}
        self.frame: pd.DataFrame | None = None
        #: level → table of a prepared dataset held in memory (named as the files its folder holds)
        self.tables: dict[str, pd.DataFrame] | None = None
        if isinstance(data, pd.DataFrame):
            self.frame = data.reset_index(drop=True)
            self.path: Path | None = None
            return
        if not isinstance(data, PreparedDataset):
            path = Path(data)
            if not path.exists():
                raise DataError(f"{path}: no such data file or folder")
            if not _is_prepared(path):
                self.path = path  # one table file, or a folder of loose tables
                return
            # a prepared dataset is read one way only: PreparedDataset.load (tables, cleaning log, metadata)
            data = PreparedDataset.load(path)
        self.path = Path(data.out_dir)
        self.tables = dict(data.tables)
        for level, frame in self.tables.items():
            self._cache[self.path / f"{level}.parquet"] = frame

    @property
    def name(self) -> str:
        return "<DataFrame>" if self.path is None else str(self.path)

    def _read(self, path: Path) -> pd.DataFrame:
        if path not in self._cache:
            self._cache[path] = read_table(path)
        return self._cache[path]

    def _folder_tables(self, folder: Path) -> dict[str, Path]:
        """Level name → table file in a dataset folder (Parquet preferred over CSV)."""
        if self.tables is not None:
            return {level: folder / f"{level}.parquet" for level in self.tables}
        tables: dict[str, Path] = {}
        for suffix in (".parquet", ".pq", *TABLE_SUFFIXES):
            for path in sorted(folder.glob(f"*{suffix}")):
                if path.stem not in _NOT_TABLES and path.stem not in tables and path.is_file():
                    tables[path.stem] = path
        return tables

    def table_for(self, study: Study, response: str) -> tuple[pd.DataFrame, str]:
        """The table holding *response*, and its name for error messages."""
        if self.path is None:
            return self.frame if self.frame is not None else pd.DataFrame(), self.name
        if self.tables is None and not self.path.is_dir():
            return self._read(self.path), self.name
        tables = self._folder_tables(self.path)
        if not tables:
            raise DataError(
                f"{self.path}: the folder holds no tables; expected one per response level "
                f"(e.g. <level>.parquet or <level>.csv), or give one table file"
            )
        level = study.response(response).level
        if level is not None:
            if level not in tables:
                raise DataError(
                    f"{self.path}: no table for level {level!r} of response {response!r} "
                    f"(expected {level}.parquet or {level}.csv); the folder has {sorted(tables)}."
                    + did_you_mean(level, tables)
                )
            path = tables[level]
            return self._read(path), str(path)
        holding = [p for p in tables.values() if response in self._read(p).columns]
        if len(holding) == 1:
            return self._read(holding[0]), str(holding[0])
        if not holding:
            every = sorted({str(c) for p in tables.values() for c in self._read(p).columns})
            raise DataError(
                f"{self.path}: no table has a column {response!r}; tables are {sorted(tables)}."
                + did_you_mean(response, every)
            )
        raise DataError(
            f"{self.path}: {len(holding)} tables have a column {response!r} ({[p.name for p in holding]}); "
            f"set 'level' of response {response!r} in the study file to say which one"
        )


def load_target(study: Study, source: DataSource, target: str, scenarios: Sequence[str]) -> TargetData:
    """The usable rows of *target* for *scenarios*, checked: columns present, numbers numeric, groups set."""
    frame, where = source.table_for(study, target)
    inputs: list[str] = []
    by_scenario: dict[str, tuple[str, ...]] = {}
    for scenario in scenarios:
        columns = study.scenarios[scenario]
        by_scenario[scenario] = tuple(columns)
        inputs.extend(c for c in columns if c not in inputs)
    for column in inputs:
        spec = study.column(column)
        if getattr(spec, "kind", "continuous") == "categorical":
            raise DataError(
                f"{where}: input {column!r} is a categorical factor; the model comparison needs numeric inputs "
                "(encode its levels as numbers in a measured column and use that in the scenario)"
            )
    group, order_column = study.data.group, study.data.order
    require_columns(frame, [target, *inputs, *([group] if group else [])], source=where)
    if order_column:
        require_columns(frame, [order_column], source=f"{where} ([data] order)")
    numeric = require_numeric(frame, [*inputs, target], source=where, units=study.units(), allow_missing=True)
    table = numeric.loc[:, [*inputs, target]]
    values = table.to_numpy(dtype=float)
    huge = np.abs(values) > MAX_FACTOR_MAGNITUDE  # squares and sums would overflow
    if huge.any():
        i, j = (int(k[0]) for k in np.nonzero(huge))
        column = str(table.columns[j])
        raise DataError(
            f"{where}: row {user_row(i)}, column {column!r}: expected a number of magnitude at most "
            f"{MAX_FACTOR_MAGNITUDE:g}, found {values[i, j]:g}"
        )
    missing = table.isna().to_numpy()
    keep: npt.NDArray[np.bool_] = ~np.asarray(missing.any(axis=1), dtype=bool)
    groups: npt.NDArray[np.str_] | None = None
    if group:
        raw = frame[group]
        marker = raw.map(is_missing_marker).astype(bool)
        empty = raw.isna() | (raw.astype(str).str.strip() == "") | marker
        bad = np.flatnonzero((empty & keep).to_numpy())
        if bad.size:
            i = int(bad[0])
            found = f"{raw.iloc[i]!r} (a missing-value marker)" if marker.iloc[i] else "an empty cell"
            raise DataError(f"{where}: row {user_row(i)}, column {group!r}: expected a group label, found {found}")
        groups = raw.astype(str).str.strip().to_numpy()[keep].astype(np.str_)
    order: npt.NDArray[np.float64] | None = None
    if order_column:  # the run order ([data] order): a number on every usable row
        ordered = require_numeric(frame, [order_column], source=f"{where} ([data] order)", allow_missing=True)
        every = ordered[order_column].to_numpy(dtype=float)
        gaps = np.flatnonzero(np.isnan(every) & keep)
        if gaps.size:
            raise DataError(
                f"{where}: row {user_row(int(gaps[0]))}, column {order_column!r} ([data] order): expected the run "
                f"order as a number, found {frame[order_column].iloc[int(gaps[0])]!r}"
            )
        order = every[keep]
    usable = table.loc[keep]
    usable.index = pd.Index(np.flatnonzero(keep), name="row_id")
    if usable.empty:
        raise DataError(f"{where}: no row has {target!r} and all of its inputs {inputs} filled in")
    return TargetData(
        target=target,
        scenarios=by_scenario,
        frame=usable,
        groups=groups,
        group_column=group,
        source=where,
        order=order,
        dropped=int((~keep).sum()),
        dropped_rows=tuple(
            f"row {user_row(int(i))}: " + ", ".join(repr(str(c)) for c in table.columns[missing[i]])
            for i in np.flatnonzero(~keep)
        ),
    )
