"""Draft a study file from any table: ``glassline init DATA.csv --response NAME … --out study.toml``.

:func:`draft_study` reads one table (CSV, Excel or Parquet) and writes down what it can tell from it:

* **names and units from the headers**: ``temperature [°C]`` and ``temperature (°C)`` give the column
  ``temperature`` in ``°C``; ``temperature_C`` or ``speed_m_min`` keep their header as the name and read
  the unit from the suffix (``°C``, ``m/min``); any other header becomes a valid name (``feed rate`` →
  ``feed_rate``) with the header kept as the label, which the prepare stage matches back;
* **factors**: every other numeric column with at least two values, its range the observed minimum and
  maximum; constant columns and columns with empty cells are left out (named in a comment);
* **categorical inputs**: text columns with 2–12 levels (each level on at least two rows on average)
  become categorical factors; the model comparison sees them as 0/1 indicator columns of every level but
  the most common one (:func:`~glassline.data.indicator_columns`), which prepare derives;
* **the group column** (replicates of one configuration share its value), when not given: a column
  whose every value goes with one combination of the inputs, at least one value on two or more rows;
* **settings that follow the size**: fewer cross-validation repeats on larger tables, and no SVR from
  :data:`~glassline.models.LARGE_DATA_ROWS`-sized tables on (its fit grows with the square of the rows).

Every guess is a TOML comment in the file saying what was guessed and why. The drafted file is
validated with :func:`~glassline.spec.study_from_dict` before it is returned. Every problem with the
table or the arguments is one :class:`~glassline.exceptions.DataError` naming the file and the column.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import tomli_w

from glassline._collinearity import HARD_R_LIMIT
from glassline._output import output_path, writing
from glassline.data._prepare import _UNIT_HEADER
from glassline.data._readers import is_missing_marker, read_table, user_row
from glassline.data._schema import indicator_columns
from glassline.exceptions import DataError, did_you_mean
from glassline.spec import Models, Study, study_from_dict

__all__ = ["LARGE_TABLE_ROWS", "StudyDraft", "draft_study", "parse_header"]

#: From this many rows on a drafted study uses one cross-validation repeat and leaves SVR out (the
#: model registry's LARGE_DATA_ROWS; repeated here because the data layer sits below the models).
LARGE_TABLE_ROWS = 20_000
#: From this many rows on, two cross-validation repeats instead of five.
MEDIUM_TABLE_ROWS = 2_000
#: Bootstrap refits of a drafted study from LARGE_TABLE_ROWS rows on.
LARGE_BOOTSTRAP = 20
#: The most levels a text column may have to be read as a categorical input.
MAX_LEVELS = 12

#: Unit suffixes of headers such as ``temperature_C`` or ``speed_m_min`` (the last one to three ``_`` parts).
_UNIT_TOKENS = {
    "C": "°C",
    "degC": "°C",
    "K": "K",
    "F": "°F",
    "pct": "%",
    "percent": "%",
    "ppm": "ppm",
    "s": "s",
    "ms": "ms",
    "min": "min",
    "h": "h",
    "nm": "nm",
    "um": "µm",
    "mm": "mm",
    "cm": "cm",
    "m": "m",
    "km": "km",
    "mm2": "mm²",
    "cm2": "cm²",
    "m2": "m²",
    "cm3": "cm³",
    "m3": "m³",
    "mg": "mg",
    "g": "g",
    "kg": "kg",
    "N": "N",
    "kN": "kN",
    "Pa": "Pa",
    "kPa": "kPa",
    "MPa": "MPa",
    "GPa": "GPa",
    "bar": "bar",
    "mbar": "mbar",
    "psi": "psi",
    "V": "V",
    "mV": "mV",
    "A": "A",
    "mA": "mA",
    "W": "W",
    "kW": "kW",
    "J": "J",
    "kJ": "kJ",
    "Hz": "Hz",
    "kHz": "kHz",
    "rpm": "rpm",
    "L": "L",
    "mL": "mL",
    "ml": "mL",
    "ohm": "Ω",
    "Ohm": "Ω",
    "mAh": "mAh",
}
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
#: Header words that make a column a likely group column.
_GROUP_WORDS = ("group", "config", "configuration", "batch", "lot", "sample", "specimen", "id", "run", "recipe")


@dataclass(frozen=True)
class Header:
    """What one header says: the study name, the label to show, the unit, and how it was read."""

    header: str
    name: str
    label: str
    unit: str
    how: str


def _valid_name(text: str, fallback: str) -> str:
    name = re.sub(r"_+", "_", "".join(c if c.isascii() and c.isalnum() else "_" for c in text)).strip("_")
    if not name:
        name = fallback
    if name[0].isdigit():
        name = f"x_{name}"
    return name[:80]


def parse_header(header: str, position: int = 0) -> Header:
    """The name, label and unit a table header gives (see the module docstring for the forms read)."""
    text = str(header).strip()
    match = _UNIT_HEADER.match(text)
    if match:
        label, unit = match.group("name").strip(), match.group("unit").strip()
        return Header(text, _valid_name(label, f"column_{position + 1}"), label, unit, f"unit {unit!r} from the header")
    if _NAME.match(text):
        parts = text.split("_")
        for k in (3, 2, 1):
            if len(parts) > k and all(p in _UNIT_TOKENS for p in parts[-k:]) and all(parts[:-k]):
                unit = "/".join(_UNIT_TOKENS[p] for p in parts[-k:])
                label = " ".join(parts[:-k])
                suffix = "_" + "_".join(parts[-k:])
                return Header(text, text[:80], label, unit, f"unit {unit!r} read from the suffix {suffix!r}")
        return Header(text, text[:80], "", "", "no unit in the header")
    name = _valid_name(text, f"column_{position + 1}")
    return Header(text, name, text, "", f"the header is not a valid name; named {name!r}, the header kept as label")


@dataclass
class StudyDraft:
    """A drafted study: the TOML text (with comments), the validated :class:`Study`, and the guesses made."""

    text: str
    study: Study
    guesses: list[str] = field(default_factory=list)

    def write(self, path: str | Path) -> Path:
        """Write the study file to *path* (refusing to write into a missing folder's place or over a folder)."""
        target = output_path(path, what="study file")
        with writing(target, what="study file"):
            target.write_text(self.text, encoding="utf-8")
        return target


def _toml(value: Any) -> str:
    return tomli_w.dumps({"v": value})[4:].strip()


def _numeric(series: pd.Series) -> tuple[pd.Series, int]:
    """The column as numbers (missing markers and empty cells as NaN) and the count of cells that are text."""
    markers = series.map(is_missing_marker).astype(bool)
    text = series.where(~markers, None)
    values = pd.to_numeric(text, errors="coerce")
    bad = values.isna() & text.notna() & (text.astype(str).str.strip() != "")
    return values.astype(float), int(bad.sum())


def _empty(series: pd.Series) -> pd.Series:
    return series.isna() | series.map(is_missing_marker).astype(bool) | (series.astype(str).str.strip() == "")


def _find(frame: pd.DataFrame, given: str, headers: dict[str, Header], what: str, source: str) -> str:
    """The header *given* names: the header itself, or its parsed or cleaned name."""
    if given in frame.columns:
        return given
    for header, parsed in headers.items():
        if given in (parsed.name, parsed.label) and given:
            return header
    present = list(frame.columns)
    raise DataError(
        f"{source}: {what} {given!r}: no such column; the table has columns {present}."
        + did_you_mean(given, present + [h.name for h in headers.values()])
    )


def _level_order(values: pd.Series) -> list[str]:
    """Levels, most common first (the reference level of the indicators), ties in order of appearance."""
    counts = values.value_counts(sort=False)
    first = {v: i for i, v in enumerate(pd.unique(values))}
    return sorted(counts.index.astype(str), key=lambda v: (-int(counts[v]), first[v]))


def _guess_group(frame: pd.DataFrame, candidates: list[str], inputs: list[str]) -> tuple[str | None, str]:
    """The column that labels configurations, and why (or why none was found)."""
    # the inputs a configuration sets: categorical ones and numbers with repeated values (a measured input
    # varies within a configuration and says nothing about which rows are replicates)
    settings = [c for c in inputs if frame[c].nunique() * 2 <= len(frame)] or inputs
    keys = frame[settings].astype(str).agg("\x1f".join, axis=1) if settings else pd.Series([""] * len(frame))
    n_configs = int(keys.nunique())
    found: list[tuple[tuple[int, int], str, str]] = []
    for column in candidates:
        labels = frame[column].astype(str).str.strip()
        if _empty(frame[column]).any():
            continue
        n_labels = int(labels.nunique())
        if n_labels < 2 or n_labels == len(frame):
            continue  # one label for everything, or a row id: not a grouping
        others = [c for c in settings if c != column]
        if others:
            per_label = frame[others].astype(str).groupby(labels.to_numpy()).nunique()
            if (per_label > 1).to_numpy().any():
                continue  # a label whose rows differ in an input is not one configuration
        exact = n_labels == n_configs
        named = any(word in column.lower() for word in _GROUP_WORDS)
        if column in inputs and not named and pd.api.types.is_numeric_dtype(frame[column]):
            continue  # a numeric setting that happens to fix the others is a factor, not a label

        why = (
            f"each of its {n_labels} values goes with one combination of the inputs"
            + (" (one label per combination)" if exact else f" ({n_configs} input combinations)")
            + (", and its name says so" if named else "")
        )
        found.append(((0 if exact else 1, 0 if named else 1), column, why))
    if found:
        found.sort(key=lambda item: item[0])
        return found[0][1], found[0][2]
    if n_configs < len(frame):
        return None, (
            f"the {len(frame)} rows repeat {n_configs} combinations of the inputs, but no column labels them; add one "
            "(the same value on the rows of one configuration) and set [data] group, or cross-validation will put "
            "replicates on both sides and its R² will be optimistic"
        )
    return None, f"every one of the {len(frame)} rows has its own combination of the inputs: each row is its own group"


def draft_study(
    table: str | Path,
    responses: Sequence[str],
    *,
    group: str | None = None,
    order: str | None = None,
    name: str | None = None,
) -> StudyDraft:
    """Draft a study file for *table* with *responses* as the responses (see the module docstring).

    *group* / *order* name the group and run-order columns (header or name); without *group* one is
    guessed. *name* is the study's name (default: the file's stem). Raises
    :class:`~glassline.exceptions.DataError` for a table that cannot be a study (no rows, one row, a
    response that is missing, not numeric or empty) or arguments that name no column.
    """
    path = Path(table)
    source = str(path)
    if not responses:
        raise DataError(f"{source}: give at least one response column (--response NAME)")
    frame = read_table(path)
    if frame.shape[1] == 0:
        raise DataError(f"{source}: the table has no columns")
    if len(frame) == 0:
        raise DataError(f"{source}: the table has a header but no data rows")
    if len(frame) < 2:
        raise DataError(f"{source}: the table has 1 data row; a study needs at least 2 to fit and compare models")
    frame.columns = [str(c).strip() for c in frame.columns]
    headers = {c: parse_header(c, i) for i, c in enumerate(frame.columns)}
    guesses: list[str] = []

    response_cols: list[str] = []
    for given in responses:
        column = _find(frame, given, headers, "response", source)
        if column in response_cols:
            raise DataError(f"{source}: response {given!r} is given twice")
        values, bad = _numeric(frame[column])
        if bad:
            i = int(np.flatnonzero((values.isna() & ~_empty(frame[column])).to_numpy())[0])
            raise DataError(
                f"{source}: row {user_row(i)}, column {column!r}: the response must be numeric, found "
                f"{frame[column].iloc[i]!r} ({bad} text cell{'s' if bad != 1 else ''} in that column)"
            )
        if values.notna().sum() < 2:
            raise DataError(
                f"{source}: column {column!r}: the response has {int(values.notna().sum())} numeric value(s); "
                "at least 2 are needed"
            )
        response_cols.append(column)
    group_col = _find(frame, group, headers, "--group", source) if group else None
    order_col = _find(frame, order, headers, "--order", source) if order else None
    if group_col in response_cols or (order_col is not None and order_col in response_cols):
        raise DataError(f"{source}: column {group_col if group_col in response_cols else order_col!r} is a response")
    for option, named_column in (("--group", group_col), ("--order", order_col)):
        if named_column is not None and not _NAME.match(named_column):
            raise DataError(
                f"{source}: column {named_column!r} ({option}): the study names its group and order columns as "
                f"the table does, and {named_column!r} is not a name (letters, digits and _); rename the header, "
                f"e.g. to {headers[named_column].name!r}"
            )
    if group_col is not None and group_col == order_col:
        raise DataError(f"{source}: column {group_col!r} cannot be both the group and the order column")
    if order_col is not None:
        values, bad = _numeric(frame[order_col])
        if bad or values.isna().any():
            raise DataError(
                f"{source}: column {order_col!r} (--order): expected the run order as a number in every row"
            )

    numeric: list[str] = []
    categorical: dict[str, list[str]] = {}
    left_out: list[str] = []
    for column in frame.columns:
        if column in response_cols or column in (group_col, order_col):
            continue
        series = frame[column]
        empty = _empty(series)
        values, bad = _numeric(series)
        if empty.all():
            left_out.append(f"{column!r}: every cell is empty")
            continue
        if bad == 0:
            if empty.any():
                first = user_row(int(np.flatnonzero(empty.to_numpy())[0]))
                left_out.append(
                    f"{column!r}: {int(empty.sum())} empty cells (first in row {first}); "
                    "inputs must be complete: fill them in and add the column as a factor"
                )
            elif values.nunique() < 2:
                left_out.append(f"{column!r}: constant ({values.iloc[0]:g} in every row), nothing to learn from it")
            else:
                numeric.append(column)
            continue
        labels = series.astype(str).str.strip()
        n_levels = int(labels[~empty].nunique())
        if empty.any():
            left_out.append(f"{column!r}: text with {int(empty.sum())} empty cells")
        elif n_levels < 2:
            left_out.append(f"{column!r}: one value ({labels.iloc[0]!r}) in every row")
        elif n_levels <= MAX_LEVELS and n_levels * 2 <= len(frame):
            categorical[column] = _level_order(labels)
        else:
            left_out.append(f"{column!r}: text with {n_levels} different values (an id or a note, not an input)")

    inputs = numeric + list(categorical)
    group_note = ""
    if group_col is None:
        # a group column is named in the study as in the table: only headers that are names can be one
        candidates = [c for c in frame.columns if c not in response_cols and c != order_col and _NAME.match(c)]
        group_col, why = _guess_group(frame, candidates, inputs)
        if group_col is not None:
            group_note = f"guessed: {why}"
            guesses.append(f"group column {group_col!r}: {why}")
            numeric = [c for c in numeric if c != group_col]
            categorical.pop(group_col, None)
            left_out = [n for n in left_out if not n.startswith(f"{group_col!r}:")]
        else:
            group_note = f"no group column: {why}"
            guesses.append(group_note)
    else:
        group_note = "given with --group"
    if not numeric and not categorical:
        raise DataError(
            f"{source}: no column can be an input: every column but the response(s) is the group or order column, "
            "constant, incomplete or free text" + (f" ({'; '.join(left_out)})" if left_out else "")
        )

    # --- names: unique, valid, distinct from each other
    used: set[str] = set()

    def unique(name: str) -> str:
        base, k = name, 2
        while name in used:
            name = f"{base[:76]}_{k}"
            k += 1
        used.add(name)
        return name

    named: dict[str, str] = {}

    def header_name(column: str) -> str:
        parsed = headers[column]
        # a header that already is a valid name stays the name, so the table is read as it is
        named[column] = unique(parsed.name)
        return named[column]

    group_name = header_name(group_col) if group_col else None
    order_name = header_name(order_col) if order_col else None
    n_rows = len(frame)
    lines: list[str] = [
        f"# Study drafted by `glassline init` from {path.name} ({n_rows:,} rows, {frame.shape[1]} columns).",
        "# Every guess is written as a comment: check the factors' ranges and units, the group column and the",
        "# categorical inputs, then run `glassline check` on this file and `glassline study` on the table.",
        f"name = {_toml(name or path.stem)}",
        f"description = {_toml(f'Drafted from {path.name}: responses ' + ', '.join(response_cols) + '.')}",
        "seed = 0",
        "",
    ]

    def column_entry(kind: str, column: str, name_: str, extra: dict[str, Any], comment: list[str]) -> dict[str, Any]:
        parsed = headers[column]
        entry: dict[str, Any] = {"name": name_}
        if parsed.label and parsed.label != name_:
            entry["label"] = parsed.label
        if parsed.unit:
            entry["unit"] = parsed.unit
        entry.update(extra)
        lines.append(f"[[{kind}]]")
        lines.extend(f"# {c}" for c in [f"header {column!r}: {parsed.how}", *comment])
        lines.extend(f"{k} = {_toml(v)}" for k, v in entry.items())
        lines.append("")
        return entry

    factor_names: list[str] = []
    indicator_names: list[str] = []
    indicators: dict[str, dict[str, str]] = {}
    # a number with a value on (nearly) every row is measured, not set: a [[measured]] input, as long as
    # some other input is a factor (a study needs one)
    distinct = {c: int(pd.to_numeric(frame[c], errors="coerce").nunique()) for c in numeric}
    settings = [c for c in numeric if distinct[c] * 2 <= n_rows]
    measured = [c for c in numeric if c not in settings] if settings or categorical else []
    measured_names: list[str] = []
    for column in numeric:
        if column in measured:
            continue
        values = pd.to_numeric(frame[column], errors="coerce")
        low, high = float(values.min()), float(values.max())
        kind_note = (
            f"{distinct[column]} distinct settings: looks set by a design"
            if column in settings
            else f"{distinct[column]} distinct values in {n_rows} rows: looks measured, kept as a factor as no "
            "column looks set"
        )
        name_ = header_name(column)
        column_entry(
            "factors",
            column,
            name_,
            {"low": low, "high": high},
            [f"range: the observed minimum and maximum; {kind_note}"],
        )
        factor_names.append(name_)
    for column, levels in categorical.items():
        name_ = header_name(column)
        column_entry(
            "factors",
            column,
            name_,
            {"kind": "categorical", "levels": levels},
            [
                f"categorical: text with {len(levels)} levels; the models see a 0/1 column per level but the most "
                f"common one ({levels[0]!r}, the reference), derived by prepare (the [[measured]] entries below)"
            ],
        )
        factor_names.append(name_)
        indicators[name_] = indicator_columns(name_, levels)
    for column in measured:
        name_ = header_name(column)
        column_entry(
            "measured",
            column,
            name_,
            {},
            [f"measured input: {distinct[column]} distinct values in {n_rows} rows, not settings of a design"],
        )
        measured_names.append(name_)
    for factor, by_level in indicators.items():
        for level, indicator in by_level.items():
            used.add(indicator)
            lines.append("[[measured]]")
            lines.append(f"# 1 where {factor} is {level!r}, else 0 (derived by prepare from the {factor!r} column)")
            lines.append(f"name = {_toml(indicator)}")
            lines.append(f"label = {_toml(f'{factor} = {level}')}")
            lines.append("")
            indicator_names.append(indicator)
    for column in response_cols:
        values, _ = _numeric(frame[column])
        notes = [f"{int(values.notna().sum())} of {n_rows} rows have a value"]
        if values.nunique() < 2:
            notes.append("constant: no model can explain it")
        column_entry("responses", column, header_name(column), {}, notes)
    if left_out:
        lines.extend(["# Columns left out of the study:", *[f"#   {n}" for n in left_out], ""])

    # near-copies (|r| at or above the comparison's hard limit) would withhold every explanation: the later
    # column of such a pair stays declared but out of the scenario
    copies: dict[str, str] = {}
    kept: list[str] = []
    for column in numeric:
        own = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)
        for other in kept:
            r = float(np.corrcoef(own, pd.to_numeric(frame[other], errors="coerce").to_numpy(dtype=float))[0, 1])
            if abs(r) >= HARD_R_LIMIT:
                copies[named[column]] = f"{named[column]} is a near-copy of {named[other]} (r = {r:+.3f})"
                break
        else:
            kept.append(column)
    inputs_for_models = [
        n
        for n in [*(n for n in factor_names if n not in indicators), *measured_names, *indicator_names]
        if n not in copies
    ]
    lines.append("[scenarios]")
    lines.append("# every input; the categorical factors enter through their indicator columns")
    for why in copies.values():
        lines.append(f"# left out: {why}; explanations of inputs this correlated are withheld (|r| ≥ {HARD_R_LIMIT:g})")
        guesses.append(f"left out of the scenario: {why}")
    lines.append(f"all_inputs = {_toml(inputs_for_models)}")
    lines.append("")

    lines.append("[data]")
    if group_name is not None:
        lines.append(f"# group column {group_col!r}: {group_note}")
        lines.append(f"group = {_toml(group_name)}")
    else:
        lines.append(f"# {group_note}")
    if order_name is not None:
        lines.append(f"# run order: column {order_col!r}, given with --order")
        lines.append(f"order = {_toml(order_name)}")
    lines.append("")

    if group_name is None:
        lines.append("[cleaning]")
        lines.append(
            "# no group column: a value has no replicates to be judged against (an extreme response may come from"
        )
        lines.append("# extreme inputs), so the outlier rule is off; set [data] group to switch it on")
        lines.extend(["outlier_alpha = 0.0", ""])
    repeats = 1 if n_rows >= LARGE_TABLE_ROWS else 2 if n_rows >= MEDIUM_TABLE_ROWS else 5
    lines.append("[split]")
    if repeats < 5:
        lines.append(
            f"# {n_rows:,} rows: {repeats} repeat(s) of 5-fold cross-validation (5 on tables under "
            f"{MEDIUM_TABLE_ROWS:,} rows); each fold's R² is already steady at this size"
        )
    lines.extend(["test_fraction = 0.2", "cv_folds = 5", f"cv_repeats = {repeats}", ""])
    if n_rows >= LARGE_TABLE_ROWS:
        families = [f for f in Models().families if f != "svr"]
        lines.append("[models]")
        lines.append(f"# {n_rows:,} rows: SVR left out (its fit grows with the square of the rows: hours at this size)")
        lines.append(f"families = {_toml(families)}")
        lines.append(
            f"# {LARGE_BOOTSTRAP} bootstrap refits of the lead models (100 on smaller tables): each refit is explained "
            "again, and at this size their spread is small"
        )
        lines.append(f"bootstrap = {LARGE_BOOTSTRAP}")
        lines.append("")
        guesses.append(f"{n_rows:,} rows: SVR left out, {repeats} cross-validation repeat")
    text = "\n".join(lines).rstrip() + "\n"
    study = study_from_dict(tomllib.loads(text), source=f"the study drafted from {source}")
    return StudyDraft(text=text, study=study, guesses=guesses)
