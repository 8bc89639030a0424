"""Run sheets: what the line runs, in real units and random order (reading them back: ``_tables``).

A run sheet has one row per run: ``run`` (the order to run them, randomized with a seed),
``std_order`` (the row in the design), ``configuration`` (C01, C02, …: replicates of one setting
share it, the grouping key for honest cross-validation later), ``role`` and one column per factor
in real units. CSV or Excel (with a sheet describing the factors and one with :func:`run_order_note`:
why the order is randomised, and whether this sheet's is). The note is also ``sheet.attrs["order_note"]``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from glassline._output import output_path, writing
from glassline.design._space import DesignSpace
from glassline.exceptions import DesignError

if TYPE_CHECKING:
    from glassline.design._design import Design

__all__ = ["RANDOMISATION_REASON", "configuration_ids", "run_order_note", "run_sheet", "write_run_sheet"]

#: Columns a run sheet adds before the factors.
SHEET_COLUMNS = ("run", "std_order", "configuration", "role")


def configuration_ids(points: np.ndarray) -> list[str]:
    """``C01``, ``C02``, … numbered by first appearance; identical runs share an id."""
    keys = [tuple(row) for row in np.round(points, 9)]
    first: dict[tuple[float, ...], int] = {}
    for key in keys:
        first.setdefault(key, len(first) + 1)
    width = max(2, len(str(len(first))))
    return [f"C{first[key]:0{width}d}" for key in keys]


#: Why a run sheet's order is randomised (said on every sheet; checked afterwards by the explain stage's
#: ``confounded_with_order`` warning when the study names its ``[data] order`` column).
RANDOMISATION_REASON = (
    "A line drifts while it runs (materials age, a slurry thickens along the coil, the room warms up): "
    "in a random order no factor moves with that drift, so an effect can be told apart from it; a factor "
    "set in run order (all low settings first) carries the drift as if it were its own effect."
)


def run_order_note(seed: int | None) -> str:
    """Whether a sheet's order is randomised (with *seed*; None: standard order) and why that matters."""
    said = (
        f"Run order randomised with seed {seed}: run the rows in the order of the 'run' column."
        if seed is not None
        else "Run order NOT randomised: the rows are in the design's standard order; shuffle them before running."
    )
    return f"{said} {RANDOMISATION_REASON}"


def _decimals(low: float, high: float) -> int:
    """Decimals that resolve 1/1000 of the range (e.g. 3 for 8.2–11.2, 2 for 50–65)."""
    return max(0, 3 - math.floor(math.log10(high - low)))


def run_sheet(design: Design, seed: int | None = 0) -> pd.DataFrame:
    """The runs in real units with configuration ids, shuffled by *seed* (None: standard order)."""
    real = design.real
    for f in design.space.factors:
        if f.kind == "continuous":
            real[f.name] = real[f.name].round(_decimals(float(f.low), float(f.high)))  # type: ignore[arg-type]
    n = len(design)
    order = np.arange(n) if seed is None else np.random.default_rng(seed).permutation(n)
    sheet = pd.DataFrame(
        {
            "run": np.arange(1, n + 1),
            "std_order": order + 1,
            "configuration": np.array(configuration_ids(design.points))[order],
            "role": np.array(design.roles, dtype=object)[order],
        }
    )
    for column in real.columns:
        sheet[column] = real[column].to_numpy()[order]
    sheet.attrs["order_note"] = run_order_note(seed)
    return sheet


def write_run_sheet(sheet: pd.DataFrame, path: str | Path, *, space: DesignSpace | None = None) -> Path:
    """Write a run sheet as CSV or Excel (``.xlsx``: sheet "runs", "factors" when *space*, and "notes" with
    the sheet's ``order_note``: see :func:`run_order_note`)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise DesignError(f"{path}: write a run sheet as .csv or .xlsx, not {suffix or 'no suffix'!r}")
    output_path(path, what="run sheet")
    with writing(path, what="run sheet"):
        _write_sheet(sheet, path, suffix, space)
    return path


def _write_sheet(sheet: pd.DataFrame, path: Path, suffix: str, space: DesignSpace | None) -> None:
    if suffix == ".csv":
        sheet.to_csv(path, index=False, encoding="utf-8")
    else:
        with pd.ExcelWriter(path, engine="openpyxl") as writer:
            sheet.to_excel(writer, sheet_name="runs", index=False)
            if space is not None:
                pd.DataFrame(
                    [
                        {
                            "name": f.name,
                            "label": f.label,
                            "unit": f.unit,
                            "kind": f.kind,
                            "low": f.low,
                            "high": f.high,
                            "levels": ", ".join(f.levels or ()),
                        }
                        for f in space.factors
                    ]
                ).to_excel(writer, sheet_name="factors", index=False)
            note = sheet.attrs.get("order_note")
            if note:
                pd.DataFrame({"note": [str(note)]}).to_excel(writer, sheet_name="notes", index=False)
