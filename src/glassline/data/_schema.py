"""What a raw table must hold, column by column: numbers within limits, categories from a list, labels.

A :class:`TableSchema` is data a layout (a domain pack) declares for each raw table it reads; the core
checks a table against it with no knowledge of the domain. Every problem is one DataError naming the
file, the row as a spreadsheet shows it, the column, what was allowed and what was found; a category
written with other case or spacing (``Wet``, ``wet ``) is read as the allowed value and
the change is written to the cleaning log.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from glassline.data._cleaning import CleaningLog
from glassline.data._readers import is_missing_marker, require_columns, require_numeric, user_row
from glassline.exceptions import DataError, did_you_mean

__all__ = ["Column", "TableSchema", "check_categories", "check_labels", "indicator_columns", "normalise_category"]

ColumnKind = Literal["number", "category", "label"]


@dataclass(frozen=True)
class Column:
    """One column of a raw table.

    ``kind="number"``: a finite number within ``low``/``high`` (each inclusive unless ``low_open``/
    ``high_open``; None is unbounded), empty only when ``missing``. ``kind="category"``: one of
    ``allowed`` (or of the values given to :meth:`TableSchema.check` for this column, e.g. the segments
    a recipe lists). ``kind="label"``: a non-empty text such as a sample id. ``basis`` says where the
    limits come from.
    """

    name: str
    kind: ColumnKind = "number"
    unit: str = ""
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    missing: bool = False
    allowed: tuple[str, ...] = ()
    basis: str = ""

    def __post_init__(self) -> None:
        if self.kind not in ("number", "category", "label"):
            raise DataError(f"column {self.name!r}: kind must be number, category or label, got {self.kind!r}")
        if self.low is not None and self.high is not None and self.low > self.high:
            raise DataError(f"column {self.name!r}: low {self.low:g} is above high {self.high:g}")

    def interval(self) -> str:
        """The allowed range in interval notation, with the unit: ``(0, 1e+04] cm²``."""
        low = "-∞" if self.low is None else f"{self.low:g}"
        high = "∞" if self.high is None else f"{self.high:g}"
        opening = "(" if self.low is None or self.low_open else "["
        closing = ")" if self.high is None or self.high_open else "]"
        return f"{opening}{low}, {high}{closing}" + (f" {self.unit}" if self.unit else "")

    def outside(self, values: np.ndarray) -> np.ndarray:
        """True where a (non-missing) value lies outside the limits."""
        out = np.zeros(values.shape, dtype=bool)
        if self.low is not None:
            out |= values <= self.low if self.low_open else values < self.low
        if self.high is not None:
            out |= values >= self.high if self.high_open else values > self.high
        return out & ~np.isnan(values)


@dataclass(frozen=True)
class TableSchema:
    """The columns a raw table must have, and how few rows make it unusable (``min_rows``, with ``why``)."""

    columns: tuple[Column, ...]
    min_rows: int = 1
    why: str = ""

    def column(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(name)

    def check(
        self,
        frame: pd.DataFrame,
        *,
        source: str,
        log: CleaningLog,
        allowed: Mapping[str, Collection[str]] | None = None,
        rows: Sequence[int] | None = None,
    ) -> pd.DataFrame:
        """*frame* with numbers as floats and categories and labels as cleaned text, or a located DataError.

        ``allowed`` gives the values of category columns whose list is known only at run time; ``rows``
        the row numbers a person sees (default: the frame's order, header on row 1).
        """
        require_columns(frame, [c.name for c in self.columns], source=source)
        row_numbers = list(rows) if rows is not None else [user_row(i) for i in range(len(frame))]
        if len(frame) < self.min_rows:
            reason = f" ({self.why})" if self.why else ""
            raise DataError(
                f"{source}: {len(frame)} data row{'s' if len(frame) != 1 else ''}; "
                f"at least {self.min_rows} are needed{reason}"
            )
        out = frame.reset_index(drop=True)
        for column in self.columns:
            if column.kind == "number":
                out = require_numeric(out, [column.name], source=source, allow_missing=column.missing)
                _check_limits(out[column.name].to_numpy(dtype=float), column, source, row_numbers)
            elif column.kind == "label":
                out[column.name] = check_labels(
                    out[column.name], column=column.name, source=source, log=log, rows=row_numbers
                )
            else:
                values = column.allowed or tuple((allowed or {}).get(column.name, ()))
                if not values:
                    raise DataError(f"{source}: column {column.name!r}: the schema gives no allowed values")
                out[column.name] = check_categories(
                    out[column.name], values, column=column.name, source=source, log=log, rows=row_numbers
                )
        return out


def _check_limits(values: np.ndarray, column: Column, source: str, rows: Sequence[int]) -> None:
    outside = column.outside(values)
    if outside.any():
        i = int(np.flatnonzero(outside)[0])
        more = int(outside.sum()) - 1
        basis = f" (limits for {column.basis})" if column.basis else ""
        raise DataError(
            f"{source}: row {rows[i]}, column {column.name!r}: expected a value in {column.interval()}, "
            f"found {values[i]:g}" + (f" ({more} more rows outside)" if more else "") + basis
        )


def _is_empty(value: object) -> bool:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return True
    return isinstance(value, str) and not value.strip()


def check_labels(
    series: pd.Series, *, column: str, source: str, log: CleaningLog, rows: Sequence[int] | None = None
) -> pd.Series:
    """*series* checked for empty cells; text labels with stray spaces cleaned (logged), numbers kept as numbers.

    ``C01 `` and ``C01`` would otherwise be two groups; an empty cell or a marker such as ``NA`` is a
    DataError naming *source*, the row and the column.
    """
    rows = [user_row(i) for i in range(len(series))] if rows is None else list(rows)
    out: list[object] = []
    for i, value in enumerate(series.tolist()):
        if _is_empty(value) or is_missing_marker(value):
            found = "an empty cell" if _is_empty(value) else f"{value!r} (a missing-value marker)"
            raise DataError(f"{source}: row {rows[i]}, column {column!r}: expected a label, found {found}")
        if not isinstance(value, str):
            out.append(value)
            continue
        text = value
        clean = " ".join(text.split())
        if clean != text:
            log.add(
                file=source,
                row=int(rows[i]),
                column=column,
                rule="label spacing",
                value=text,
                reason=f"{text!r} read as {clean!r}",
                action="normalised",
            )
        out.append(clean)
    if series.dtype != object:
        return series
    return pd.Series(out, index=series.index, dtype=object)


def normalise_category(value: str, allowed: Iterable[str]) -> str | None:
    """The allowed value *value* stands for when case and spacing are ignored; None when there is none."""
    key = " ".join(value.split()).casefold()
    matches = [a for a in allowed if " ".join(a.split()).casefold() == key]
    return matches[0] if len(matches) == 1 else None


def check_categories(
    series: pd.Series,
    allowed: Collection[str],
    *,
    column: str,
    source: str,
    log: CleaningLog,
    rows: Sequence[int] | None = None,
) -> pd.Series:
    """*series* with every value one of *allowed*: exact, or normalised (case, spaces) and logged.

    Anything else is a DataError naming *source*, the row, the column, the allowed values, what was
    found and the closest allowed value. Numbers are compared as their text (``1`` for segment 1).
    """
    choices = [str(a) for a in allowed]
    exact = set(choices)
    numbers = [user_row(i) for i in range(len(series))] if rows is None else list(rows)
    out: list[str] = []
    for i, value in enumerate(series.tolist()):
        if _is_empty(value) or is_missing_marker(value):
            found = "an empty cell" if _is_empty(value) else f"{value!r} (a missing-value marker)"
            raise DataError(
                f"{source}: row {numbers[i]}, column {column!r}: expected one of {_show(choices)}, found {found}"
            )
        text = _text(value)
        if text in exact:
            out.append(text)
            continue
        match = normalise_category(text, choices)
        if match is None:
            raise DataError(
                f"{source}: row {numbers[i]}, column {column!r}: expected one of {_show(choices)}, found {text!r}."
                + did_you_mean(text.strip(), choices)
            )
        log.add(
            file=source,
            row=int(numbers[i]),
            column=column,
            rule="category spelling",
            value=text,
            reason=f"{text!r} read as {match!r}",
            action="normalised",
        )
        out.append(match)
    return pd.Series(out, index=series.index, dtype=object)


def _text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _show(choices: Sequence[str], limit: int = 12) -> str:
    shown = sorted(choices)
    return str(shown) if len(shown) <= limit else f"{shown[:limit]}… ({len(shown)} values)"


def indicator_columns(factor: str, levels: Sequence[str]) -> dict[str, str]:
    """Level → name of its 0/1 indicator column for a categorical *factor*, every level but the first
    (the reference level): ``line`` with levels ``A, B, C`` → ``{"B": "line_is_B", "C": "line_is_C"}``.

    The model comparison needs numeric inputs; a study lists these names as measured inputs and the
    prepare stage derives each from the factor's column when the table does not hold it (1 where the row
    is at that level, else 0). Names are the factor's, ``_is_`` and the level with every character
    that is not a letter or digit written as ``_``; a clash gets ``_2``, ``_3`` ….
    """
    out: dict[str, str] = {}
    used: set[str] = set()
    for position, level in enumerate(levels[1:], start=2):
        slug = "_".join(
            part for part in "".join(c if c.isascii() and c.isalnum() else "_" for c in str(level)).split("_") if part
        )
        name = f"{factor}_is_{slug or f'level{position}'}"[:80]
        base, k = name, 2
        while name in used:
            name = f"{base[: 80 - len(str(k)) - 1]}_{k}"
            k += 1
        used.add(name)
        out[str(level)] = name
    return out
