"""Read and check the table of configurations the simulated line is asked to produce.

A design table has one row per configuration and the study's factor columns in study units:
``mass_loading`` [mg/cm²], ``drying_temperature`` [°C] and ``porosity`` [%], plus an optional
``configuration`` id. Everything a person can get wrong in such a table is one
:class:`~glassline.exceptions.DataError` that names the file, the row as a spreadsheet shows it, the
column, what was expected and what was found.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from glassline.data import read_table, require_columns, require_numeric, user_row
from glassline.domains.electrode import constants
from glassline.exceptions import DataError

__all__ = [
    "CONFIGURATION",
    "EXTRAPOLATION_FRACTION",
    "FACTOR_COLUMNS",
    "FACTOR_RANGES",
    "FACTOR_UNITS",
    "as_design",
    "read_design_table",
]

CONFIGURATION = "configuration"
FACTOR_COLUMNS = ("mass_loading", "drying_temperature", "porosity")
FACTOR_UNITS = {"mass_loading": "mg/cm²", "drying_temperature": "°C", "porosity": "%"}
#: The validated box in study units (Table 2 of the paper, via the constants module).
FACTOR_RANGES: dict[str, tuple[float, float]] = {
    "mass_loading": (constants.ACTIVE_MASS_LOADING_RANGE.low, constants.ACTIVE_MASS_LOADING_RANGE.high),
    "drying_temperature": (
        constants.SECOND_DRYER_TEMPERATURE_RANGE.low,
        constants.SECOND_DRYER_TEMPERATURE_RANGE.high,
    ),
    "porosity": (100.0 * constants.POROSITY_RANGE.low, 100.0 * constants.POROSITY_RANGE.high),
}
#: How far beyond the validated box the hidden truth may be extrapolated, as a fraction of the range.
EXTRAPOLATION_FRACTION = 0.25

# Values no real electrode can have, whatever the design box: (low, high), both exclusive.
_PHYSICAL_LIMITS: dict[str, tuple[float | None, float | None, str]] = {
    "mass_loading": (0.0, None, "a mass loading must be > 0"),
    "porosity": (0.0, 100.0, "a porosity must lie strictly between 0 and 100 %"),
}


def read_design_table(path: str | Path) -> pd.DataFrame:
    """Read a design table (CSV or Excel) and check it; see :func:`as_design`."""
    return as_design(read_table(path), source=str(path))


def as_design(design: pd.DataFrame, *, source: str = "design table") -> pd.DataFrame:
    """Return a checked copy of *design*: ``configuration`` (str) and the three factors (float).

    Configuration ids default to ``C01``, ``C02``, … when the column is absent. Raises DataError for
    an empty table, a missing factor column (with a did-you-mean hint), a cell that is not a finite
    number, a physically impossible value (porosity outside (0, 100) %, loading ≤ 0), a value further
    than 25 % of the range outside the validated box, and empty or repeated configuration ids.
    """
    if not isinstance(design, pd.DataFrame):
        raise DataError(f"{source}: expected a table (DataFrame) of configurations, got {type(design).__name__}")
    frame = design.copy()
    frame.columns = [str(c).strip() for c in frame.columns]
    if frame.empty:
        raise DataError(f"{source}: the design has no configurations (no data rows)")
    require_columns(frame, FACTOR_COLUMNS, source=source)
    frame = require_numeric(frame, FACTOR_COLUMNS, source=source, units=FACTOR_UNITS)
    for column in FACTOR_COLUMNS:
        _check_physical(frame[column].to_numpy(), column, source)
        _check_box(frame[column].to_numpy(), column, source)
    ids = _configuration_ids(frame, source)
    out = pd.DataFrame({CONFIGURATION: ids})
    for column in FACTOR_COLUMNS:
        out[column] = frame[column].to_numpy(dtype=float)
    return out


def _check_physical(values: np.ndarray, column: str, source: str) -> None:
    if column not in _PHYSICAL_LIMITS:
        return
    low, high, rule = _PHYSICAL_LIMITS[column]
    bad = np.zeros(values.shape, dtype=bool)
    if low is not None:
        bad |= values <= low
    if high is not None:
        bad |= values >= high
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"{source}: row {user_row(i)}, column {column!r}: physically impossible value "
            f"{values[i]:g} {FACTOR_UNITS[column]} ({rule})"
        )


def _check_box(values: np.ndarray, column: str, source: str) -> None:
    low, high = FACTOR_RANGES[column]
    margin = EXTRAPOLATION_FRACTION * (high - low)
    unit = FACTOR_UNITS[column]
    below, above = values < low - margin, values > high + margin
    if below.any() or above.any():
        i = int(np.flatnonzero(below | above)[0])
        side, distance = ("below", low - values[i]) if below[i] else ("above", values[i] - high)
        raise DataError(
            f"{source}: row {user_row(i)}, column {column!r}: {values[i]:g} {unit} is {distance:.4g} {unit} "
            f"{side} the validated range {low:g}–{high:g} {unit}; the simulated line's ground truth is "
            f"extrapolated at most {margin:.4g} {unit} (25 % of the range) beyond it"
        )


def _configuration_ids(frame: pd.DataFrame, source: str) -> list[str]:
    if CONFIGURATION not in frame.columns:
        width = max(2, len(str(len(frame))))
        return [f"C{i + 1:0{width}d}" for i in range(len(frame))]
    ids: list[str] = []
    seen: dict[str, int] = {}
    for i, raw in enumerate(frame[CONFIGURATION].tolist()):
        text = _id_text(raw)
        if not text:
            raise DataError(
                f"{source}: row {user_row(i)}, column {CONFIGURATION!r}: expected a configuration id, "
                "found an empty cell"
            )
        if text in seen:
            raise DataError(
                f"{source}: rows {user_row(seen[text])} and {user_row(i)} have the same configuration id "
                f"{text!r}; each configuration must appear once (replicates are made by the line)"
            )
        seen[text] = i
        ids.append(text)
    return ids


def _id_text(raw: object) -> str:
    """A configuration id as text: integral numbers lose their '.0', missing cells become ''."""
    if raw is None or (isinstance(raw, float) and np.isnan(raw)):
        return ""
    if isinstance(raw, float | np.floating) and float(raw).is_integer():
        return str(int(raw))
    return str(raw).strip()
