"""Writing the simulated line's files: JSON helpers and the manifest (columns, units, test settings)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from glassline.domains.electrode import _sim_inline as line_
from glassline.domains.electrode import _sim_truth as truth_
from glassline.domains.electrode import constants

__all__ = ["LAYOUT", "jsonable", "manifest", "manifest_notes", "records", "write_json"]

#: The layout ``manifest.json`` names: the domain pack whose ``prepare`` reads this folder (``glassline prepare``).
LAYOUT = "electrode"


def jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return None if not math.isfinite(value) else round(value, 10)
    if isinstance(value, Path):
        return value.name
    return value


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [jsonable(r) for r in frame.to_dict("records")]


def write_json(path: Path, payload: dict[str, Any]) -> None:
    path.write_text(json.dumps(jsonable(payload), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def manifest_notes() -> dict[str, str]:
    return {
        "inline_log.csv": "1 Hz coater log over the whole coil (speed, gap sensors, wet/dry mass, dryers)",
        "line.json": "sensor positions, dryer zones, units and the coater's recipe (rows: segments)",
        "samples.csv": "A4 sheets per configuration: mass, area, thickness before/after calendering, gap",
        "adhesion.csv": "pull-off specimens, calendered per configuration and uncalendered per segment",
        "eis/index.csv": "symmetric-cell spectra: file → configuration, state, cell, frequency window",
        "rate_tests.csv": "full coin cells: anode active mass and discharge capacity at 0.1/1/3/5 C",
        "thickness_checks.csv": "micrometer reading of the dried coating near the end of every recipe step",
        "truth.json": "noiseless ground truth and every parameter, for tests only (rows: configurations)",
        "manifest.json": "layout, columns and units of every file, test settings (rows: files)",
    }


def manifest(rows: dict[str, int], notes: dict[str, str], cells: pd.DataFrame) -> dict[str, Any]:
    return {
        "layout": LAYOUT,
        # the data's provenance: `glassline prepare` copies it into the dataset's metadata.json, and the report,
        # the datasheet and the model cards label the data simulated from it
        "simulated": True,
        "description": "Raw files of the simulated graphite-anode pilot line (glassline.domains.electrode.simulator)",
        "files": {name: {"rows": rows[name], "content": notes[name]} for name in rows},
        "columns": {
            "inline_log.csv": line_.LOG_UNITS,
            "samples.csv": {
                "configuration": "id",
                "segment": "id",
                "sheet": "1",
                "coil_position_m": "m (coil coordinate of the sheet's start, integrated line speed at the blade)",
                "sheet_mass_g": "g (coating only, nominal foil mass subtracted)",
                "sheet_area_cm2": "cm² (coated area)",
                "thickness_uncalendered_um": "µm (coating only, micrometer)",
                "thickness_calendered_um": "µm (coating only, micrometer)",
                "calendering_gap_um": "µm (roll gap, electrode incl. 10 µm foil)",
            },
            "adhesion.csv": {
                "configuration": "id (segment id for uncalendered specimens)",
                "segment": "id",
                "state": "calendered | uncalendered",
                "specimen": "1",
                "adhesion_strength_kpa": "kPa",
            },
            "eis/index.csv": {
                "file": "spectrum file in eis/",
                "configuration": "id (segment id for uncalendered cells)",
                "segment": "id",
                "state": "calendered | uncalendered",
                "cell": "1",
                "fmin_hz": "Hz (fit window)",
                "fmax_hz": "Hz (fit window)",
            },
            "eis/*.csv": {
                "column 1": "frequency, Hz",
                "column 2": "Re Z, Ω",
                "column 3": "Im Z, Ω (negative for capacitive)",
                "header": f"{int(cells['header'].sum())} of {len(cells)} files have a header row, the others none",
            },
            "rate_tests.csv": {
                "configuration": "id",
                "segment": "id",
                "cell": "1",
                "anode_active_mass_mg": "mg (15 mm disc)",
                **{f"discharge_capacity_{truth_.c_rate_label(r)}_mah": "mAh" for r in truth_.C_RATES},
            },
            "thickness_checks.csv": {
                "segment": "id",
                "step": "recipe step (line.json)",
                "coil_position_m": "m (coil coordinate of the piece)",
                "thickness_um": "µm (dried coating only, uncalendered, micrometer)",
            },
        },
        "adhesion_test": {
            "data_acquisition_rate_hz": constants.PULL_OFF_DATA_ACQUISITION_RATE.value,
            "compression_stress_kpa": constants.PULL_OFF_COMPRESSION_STRESS.value,
            "specimen_area_mm2": constants.PULL_OFF_SPECIMEN_AREA.value,
            "dwell_time_s": constants.PULL_OFF_DWELL_TIME.value,
            "compression_velocity_mm_min": constants.PULL_OFF_COMPRESSION_VELOCITY.value,
            "pull_off_velocity_mm_min": constants.PULL_OFF_VELOCITY.value,
            "source": constants.PULL_OFF_COMPRESSION_STRESS.source,
        },
        "eis_test": {
            "cell": "symmetric coin cell, two identical anodes, blocking electrolyte",
            "electrode_diameter_mm": constants.ANODE_DISC_DIAMETER.value,
            "electrode_area_cm2": constants.ANODE_DISC_AREA.value,
            "electrolyte_conductivity_us_cm": constants.ELECTROLYTE_CONDUCTIVITY.value,
            "frequency_range_hz": [constants.EIS_FREQUENCY_RANGE.low, constants.EIS_FREQUENCY_RANGE.high],
            "points_per_decade": constants.EIS_POINTS_PER_DECADE.value,
            "amplitude_mv": constants.EIS_AMPLITUDE.value,
        },
        "rate_test": {
            "cell": "CR2032 full cell, 15 mm graphite anode vs 14 mm NCM622 cathode, N:P 1.2",
            "c_rates": list(truth_.C_RATES),
            "anode_specific_capacity_mah_g": constants.ANODE.specific_capacity.value,
        },
    }
