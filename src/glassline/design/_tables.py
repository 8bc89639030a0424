"""Tables of runs in real units: read and validate them against a design space, code them to [-1, 1].

Every cell is checked (missing columns, non-numbers, values outside a factor's range, unknown levels,
constraint violations) with a :class:`~glassline.exceptions.DataError` naming the file, row and column.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from glassline.data import read_table, require_columns, require_numeric, user_row
from glassline.design._space import FEASIBILITY_TOL, DesignSpace
from glassline.exceptions import DataError, did_you_mean

__all__ = ["coded_points", "read_design"]


def read_design(path: str | Path, space: DesignSpace) -> pd.DataFrame:
    """Read a design (CSV/Excel/Parquet, real units; extra columns ignored) and validate every run.

    Raises :class:`~glassline.exceptions.DataError` naming the file, the row as a spreadsheet shows
    it, the column, what was expected and what was found.
    """
    table = read_table(path)
    coded_points(table, space, source=str(path))
    return table


def coded_points(table: pd.DataFrame, space: DesignSpace, *, source: str) -> np.ndarray:
    """Validate a real-unit table of runs against *space* and return coded points."""
    require_columns(table, space.names, source=source)
    cont = [space.factors[j] for j in space.continuous]
    cont_names = {f.name for f in cont}
    checked = (
        require_numeric(
            table,
            [f.name for f in cont],
            source=source,
            ranges={f.name: (float(f.low), float(f.high)) for f in cont},  # type: ignore[arg-type]
            units={f.name: f.unit for f in cont},
        )
        if cont
        else table.copy()
    )
    for j in space.categorical:
        f = space.factors[j]
        levels = list(f.levels or ())
        values = checked[f.name].astype(str).str.strip()
        for i, value in enumerate(values):
            if value not in levels:
                raise DataError(
                    f"{source}: row {user_row(i)}, column {f.name!r}: expected one of the levels {levels}, "
                    f"found {table[f.name].iloc[i]!r}." + did_you_mean(value, levels)
                )
        checked[f.name] = values
    points = space.encode(checked)
    points[:, space.continuous] = np.clip(points[:, space.continuous], -1.0, 1.0)
    if not space.is_box:
        violating = np.flatnonzero(np.any(points @ space.G.T > space.h + 1e-7 + FEASIBILITY_TOL, axis=1))
        if len(violating):
            i = int(violating[0])
            row = {name: float(checked[name].iloc[i]) for name in space.names if name in cont_names}
            why = space.describe_violation(row) or "a constraint"
            raise DataError(
                f"{source}: row {user_row(i)}: the run violates {why} ({len(violating)} rows outside the space)"
            )
    if len(points) == 0:
        raise DataError(f"{source}: the table has no runs")
    return points
