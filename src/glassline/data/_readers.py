"""Read tables (CSV, Parquet, Excel) and check them against a study, with errors that say where."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from glassline.exceptions import DataError, did_you_mean

__all__ = [
    "MISSING_MARKERS",
    "TABLE_SUFFIXES",
    "is_missing_marker",
    "read_json_object",
    "read_table",
    "require_columns",
    "require_numeric",
    "user_row",
]

#: File suffixes :func:`read_table` understands.
TABLE_SUFFIXES = (".csv", ".txt", ".parquet", ".pq", ".xlsx", ".xlsm", ".xls")
#: Cell texts that stand for "no value" (compared without case and surrounding spaces). :func:`read_table`
#: keeps them as text, so a message can quote them; :func:`require_numeric` reads them as missing.
MISSING_MARKERS = frozenset({"nan", "na", "n/a", "#n/a", "null", "none", "nat", "-nan", "<na>"})


def is_missing_marker(value: object) -> bool:
    """True for a text cell such as ``NaN``, ``n/a`` or ``NULL`` (see :data:`MISSING_MARKERS`)."""
    return isinstance(value, str) and value.strip().casefold() in MISSING_MARKERS


def read_json_object(path: Path, *, missing: str) -> dict[str, Any]:
    """The JSON object in *path*; a DataError naming the file when it is absent (with *missing* as the reason),
    not valid JSON, or not an object."""
    if not path.exists():
        raise DataError(f"{path}: {missing}")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise DataError(f"{path}: expected a JSON object")
    return data


def user_row(index: int) -> int:
    """The row number a person sees in a spreadsheet for 0-based data row *index* (row 1 is the header)."""
    return int(index) + 2


def _delimiter(path: Path) -> str:
    """The field separator of a text table: one of , ; tab | (a one-column file reads as ",")."""
    import csv

    with path.open(encoding="utf-8-sig", errors="replace") as handle:
        sample = handle.read(65536)
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


def read_table(path: str | Path, *, sheet: str | int | None = None) -> pd.DataFrame:
    """Read a CSV, Parquet or Excel table into a DataFrame with a fresh 0-based index.

    Only empty cells of text tables become missing values; texts like ``NaN`` or ``n/a`` stay as they
    are written (:func:`require_numeric` reads them as missing, or names them when a value is required).
    Raises :class:`~glassline.exceptions.DataError` naming the file for a missing or unreadable file
    or an unknown suffix, and for a table with no rows.
    """
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file")
    if path.is_dir():
        raise DataError(f"{path}: is a folder; expected a table file ({', '.join(TABLE_SUFFIXES)})")
    suffix = path.suffix.lower()
    try:
        if suffix in (".csv", ".txt"):
            frame = pd.read_csv(path, sep=_delimiter(path), encoding="utf-8-sig", keep_default_na=False, na_values=[""])
        elif suffix in (".parquet", ".pq"):
            frame = pd.read_parquet(path)
        elif suffix in (".xlsx", ".xlsm", ".xls"):
            frame = pd.read_excel(path, sheet_name=0 if sheet is None else sheet, keep_default_na=False, na_values=[""])
        else:
            raise DataError(f"{path}: unknown table format {suffix!r}; expected one of {', '.join(TABLE_SUFFIXES)}")
    except DataError:
        raise
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not a UTF-8 text file ({exc.reason} at byte {exc.start})") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError, OSError, KeyError) as exc:
        raise DataError(f"{path}: could not be read as a {suffix.lstrip('.')} table: {exc}") from None
    if frame.empty:
        raise DataError(f"{path}: the table has no data rows")
    header = _header(path, sheet) if suffix not in (".parquet", ".pq") else [str(c) for c in frame.columns]
    # an empty header cell keeps pandas' "Unnamed: i"; a written name is compared as written (stripped)
    names = [str(h).strip() or str(c).strip() for h, c in zip(header, frame.columns, strict=False)]
    names += [str(c).strip() for c in frame.columns[len(names) :]]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise DataError(
            f"{path}: column {repeated[0]!r} appears more than once in the header; each column needs its own name"
        )
    frame.columns = names
    return frame.reset_index(drop=True)


def _header(path: Path, sheet: str | int | None) -> list[str]:
    """The header as written (pandas renames a repeated ``speed`` to ``speed.1``, hiding the repeat)."""
    if path.suffix.lower() in (".csv", ".txt"):
        raw = pd.read_csv(path, sep=_delimiter(path), encoding="utf-8-sig", header=None, nrows=1, dtype=str)
    else:
        raw = pd.read_excel(path, sheet_name=0 if sheet is None else sheet, header=None, nrows=1, dtype=str)
    return ["" if pd.isna(v) else str(v) for v in raw.iloc[0].tolist()]


def require_columns(frame: pd.DataFrame, columns: Iterable[str], *, source: str) -> None:
    """Raise a DataError naming *source* and the first missing column, with a did-you-mean hint."""
    present = [str(c) for c in frame.columns]
    for column in columns:
        if column not in present:
            raise DataError(
                f"{source}: missing column {column!r}; the file has columns {present}." + did_you_mean(column, present)
            )


def require_numeric(
    frame: pd.DataFrame,
    columns: Iterable[str],
    *,
    source: str,
    ranges: Mapping[str, tuple[float | None, float | None]] | None = None,
    units: Mapping[str, str] | None = None,
    allow_missing: bool = False,
) -> pd.DataFrame:
    """Return *frame* with *columns* converted to float, or raise a DataError for the first bad cell.

    A cell that is not a number, is missing (unless *allow_missing*) or infinite, or lies outside
    ``ranges[column]`` (inclusive, either bound may be None) gets one message naming *source*, the
    row as a spreadsheet shows it, the column, what was expected and what was found. A missing value
    is named as written: an empty cell, or a marker text such as ``'NaN'`` or ``'n/a'``.
    """
    out = frame.copy()
    for column in columns:
        unit = f" [{units[column]}]" if units and units.get(column) else ""
        raw = out[column]
        if pd.api.types.is_numeric_dtype(raw):  # parsed as numbers already: no text cells, no markers
            markers = pd.Series(False, index=raw.index)
            values = raw.astype(float)
            bad = markers
        else:
            markers = raw.map(is_missing_marker).astype(bool)
            text = raw.where(~markers, None)
            values = pd.to_numeric(text, errors="coerce")
            bad = values.isna() & text.notna() & (text.astype(str).str.strip() != "")
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataError(
                f"{source}: row {user_row(i)}, column {column!r}: expected a number{unit}, found {raw.iloc[i]!r}"
            )
        array = values.to_numpy(dtype=float)
        if not allow_missing and np.isnan(array).any():
            i = int(np.flatnonzero(np.isnan(array))[0])
            found = f"{raw.iloc[i]!r} (a missing-value marker)" if markers.iloc[i] else "an empty cell"
            raise DataError(f"{source}: row {user_row(i)}, column {column!r}: expected a number{unit}, found {found}")
        if np.isinf(array).any():
            i = int(np.flatnonzero(np.isinf(array))[0])
            raise DataError(
                f"{source}: row {user_row(i)}, column {column!r}: expected a finite number{unit}, found {array[i]}"
            )
        if ranges and column in ranges:
            low, high = ranges[column]
            outside = np.zeros(array.shape, dtype=bool)
            if low is not None:
                outside |= array < low
            if high is not None:
                outside |= array > high
            outside &= ~np.isnan(array)
            if outside.any():
                i = int(np.flatnonzero(outside)[0])
                span = f"{'-∞' if low is None else f'{low:g}'} … {'∞' if high is None else f'{high:g}'}"
                raise DataError(
                    f"{source}: row {user_row(i)}, column {column!r}: expected a value in {span}{unit}, "
                    f"found {array[i]:g} ({int(outside.sum())} rows outside)"
                )
        out[column] = array
    return out
