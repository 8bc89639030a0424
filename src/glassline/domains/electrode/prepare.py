"""The electrode pilot line's raw layout → the study's tidy tables (a ``prepare`` layout module).

The electrode pack's ``prepare`` (:data:`glassline.domains.electrode.pack`): ``glassline prepare`` runs
:func:`prepare_raw` when a raw folder's ``manifest.json`` says ``"layout": "electrode"``. It does
what the paper's scripts did by hand (section "Data Preprocessing and Analysis"):

* **inline** (one row per recipe step, the paper's 34 points): the coating gap (mean of the two side
  sensors), the wet and dry mass-loading sensors and the second dryer's temperature are mapped to the
  coil position they measured, "considering the distance between the sensors and the coating speed"
  (the speed is integrated, it may change), then averaged per step with the transitions trimmed;
  the step's micrometer thickness is the thickness response. Rows are grouped by coating segment.
* **per configuration** from the A4 sheets: measured active mass loading, porosity (Eq. 1, calendered
  and uncalendered), compaction rate (Eq. 3), calendering gap, and the inline values of the steps the
  sheets were cut from (the process inputs of scenarios 2 and 3).
* **specimen**: calendered pull-off specimens (uncalendered ones go to ``specimen_uncalendered``).
* **symmetric_cell**: every spectrum fitted to R_sep + blocking TLM (:mod:`glassline.eis`); flagged
  fits are dropped and logged, the ±k·SD rule runs per configuration on R_ion, and tortuosity follows
  from Eq. 2 with the configuration's thickness and porosity.
* **full_cell**: discharge capacities per C-rate and gravimetric capacities (capacity / anode active mass).

Every table carries ``coil_position`` (m along the coil: the middle of an inline step, the mean start of a
configuration's or segment's sheets), the run order of the line: the study sets ``[data] order`` to it.

Every dropped row is in the cleaning log with its file and row.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from glassline._progress import ProgressCallback
from glassline.data import (
    CleaningLog,
    Column,
    LevelTable,
    Segment,
    TableSchema,
    align_to_coil,
    check_categories,
    estimate_lag,
    read_json_object,
    read_table,
    remove_outliers,
    require_columns,
    require_numeric,
    segment_means,
    user_row,
)
from glassline.data._prepare import study_outlier_rule
from glassline.domains.electrode import constants, physics
from glassline.exceptions import DataError
from glassline.spec import Study

__all__ = ["INLINE_TRIM_M", "RAW_TABLES", "STATES", "prepare_raw"]

#: Coil length cut from both ends of a recipe step before averaging: the gap motor needs up to a
#: minute (0.6 m at 0.6 m/min) to reach a new set gap, and the sensors see that transition.
INLINE_TRIM_M = 0.5

#: The two states a sheet, specimen or cell is measured in (before and after the calender).
STATES = ("calendered", "uncalendered")

# Plausibility limits of the raw tables: wide bounds that no real measurement of this line crosses
# (the paper's A4 sheets are ~595 cm² and ~5 g, coatings 50–90 µm, adhesion 100–700 kPa, coin cells
# ~3 mAh with ~15 mg of active material; Tables 2–3 and Figs. 3–6 of the electrode paper), so a value
# beyond them is a typing or unit error, not a measurement.
_SHEET = "an A4 sheet of coated foil (the paper: ~595 cm², ~5 g)"
_LAYER = "a single coating layer (the paper: 50–90 µm)"
_CELL = "one coin cell (the paper: ~3 mAh, ~15 mg active material)"
_SEGMENT = Column("segment", kind="category")  # allowed: the recipe's segments in line.json
_STATE = Column("state", kind="category", allowed=STATES)

#: The raw tables of the electrode line layout and the schema each is checked against.
RAW_TABLES: dict[str, TableSchema] = {
    "samples.csv": TableSchema(
        (
            Column("configuration", kind="label"),
            _SEGMENT,
            Column("coil_position_m", unit="m", low=0.0, high=10_000.0, basis="a position along one coil"),
            Column("sheet_mass_g", unit="g", low=0.0, low_open=True, high=1_000.0, basis=_SHEET),
            Column("sheet_area_cm2", unit="cm²", low=0.0, low_open=True, high=10_000.0, basis=_SHEET),
            Column("thickness_uncalendered_um", unit="µm", low=0.0, low_open=True, high=2_000.0, basis=_LAYER),
            Column("thickness_calendered_um", unit="µm", low=0.0, low_open=True, high=2_000.0, basis=_LAYER),
            Column("calendering_gap_um", unit="µm", low=0.0, high=2_000.0, basis="a calender roll gap"),
        )
    ),
    "adhesion.csv": TableSchema(
        (
            Column("configuration", kind="label"),
            _SEGMENT,
            _STATE,
            Column("specimen", kind="label"),
            Column("adhesion_strength_kpa", unit="kPa", low=0.0, high=100_000.0, basis="a pull-off test"),
        )
    ),
    "eis/index.csv": TableSchema(
        (
            Column("file", kind="label"),
            Column("configuration", kind="label"),
            _SEGMENT,
            _STATE,
            Column("cell", kind="label"),
        )
    ),
    "rate_tests.csv": TableSchema(
        (
            Column("configuration", kind="label"),
            Column("cell", kind="label"),
            Column("anode_active_mass_mg", unit="mg", low=0.0, low_open=True, high=10_000.0, basis=_CELL),
            *(
                Column(f"discharge_capacity_{rate}_mah", unit="mAh", low=0.0, high=10_000.0, basis=_CELL)
                for rate in ("0_1c", "1c", "3c", "5c")
            ),
        )
    ),
    "thickness_checks.csv": TableSchema(
        (
            _SEGMENT,
            Column("step", low=1.0, basis="recipe steps are numbered from 1"),
            Column("thickness_um", unit="µm", low=0.0, low_open=True, high=2_000.0, basis=_LAYER),
        )
    ),
}


def _table(
    raw_dir: Path, name: str, columns: list[str], numeric: list[str], *, gaps_allowed: tuple[str, ...] = ()
) -> pd.DataFrame:
    """Read one raw table; *numeric* columns must be numbers, those in *gaps_allowed* may be empty."""
    path = raw_dir / name
    frame = read_table(path)
    require_columns(frame, columns, source=name)
    frame = require_numeric(frame, [c for c in numeric if c not in gaps_allowed], source=name)
    frame = require_numeric(frame, [c for c in numeric if c in gaps_allowed], source=name, allow_missing=True)
    frame["_row"] = [user_row(i) for i in range(len(frame))]
    return frame


def _checked(raw_dir: Path, name: str, log: CleaningLog, segments: list[str]) -> pd.DataFrame:
    """Read one raw table and check it against its schema in :data:`RAW_TABLES`; its rows join the row account."""
    frame = read_table(raw_dir / name)
    frame = RAW_TABLES[name].check(frame, source=name, log=log, allowed={"segment": segments})
    frame["_row"] = [user_row(i) for i in range(len(frame))]
    log.received(name, frame["_row"])
    return frame


# ---------------------------------------------------------------------------------------------- inline
def _inline(raw_dir: Path, line: dict[str, Any]) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any], pd.DataFrame]:
    """One row per recipe step: aligned sensor means, dryer-2 temperature, micrometer thickness.

    The fourth item holds, per sample of the coater log, the coil position of each valid reading
    (NaN for a dropout) and its ``_row``: which samples a step's means were taken from.
    """
    try:
        positions: dict[str, float] = {k: float(v) for k, v in line["sensor_positions_m"].items()}
        recipe: list[dict[str, Any]] = line["recipe"]
        dryers = {d["name"]: d for d in line["dryers"]}
        log_name = str(line.get("log", "inline_log.csv"))
        time_column = str(line.get("time_column", "time_s"))
        speed_column = str(line.get("speed_column", "line_speed_m_min"))
    except (KeyError, TypeError, ValueError) as exc:
        raise DataError(
            f"line.json: missing or malformed entry {exc}; expected sensor_positions_m, recipe, dryers"
        ) from None
    dryer2 = dryers.get("dryer_2")
    if dryer2 is None:
        raise DataError(f"line.json: no dryer named 'dryer_2' among {sorted(dryers)}")
    dryer_column = str(dryer2["column"])
    positions[dryer_column] = 0.5 * (float(dryer2["start_m"]) + float(dryer2["end_m"]))
    signals = list(positions)
    # sensor dropouts are empty cells: alignment leaves them out and counts what remains per step
    log = _table(
        raw_dir,
        log_name,
        [time_column, speed_column, *signals],
        [time_column, speed_column, *signals],
        gaps_allowed=(speed_column, *signals),
    )
    aligned = align_to_coil(log, positions, time=time_column, speed=speed_column)
    blade = aligned["blade__coil_m"].to_numpy()
    times = log[time_column].to_numpy()

    def at_blade(t: float) -> float:
        return float(np.interp(t, times, blade))

    steps: list[Segment] = []
    owners: list[tuple[str, int, float]] = []
    for segment in recipe:
        for step in segment["steps"]:
            steps.append(
                Segment(
                    f"{segment['segment']}/{step['step']}", at_blade(step["start_time_s"]), at_blade(step["end_time_s"])
                )
            )
            owners.append((str(segment["segment"]), int(step["step"]), float(step["set_gap_um"])))
    means = segment_means(aligned, steps, {c: f"{c}__coil_m" for c in signals}, trim_m=INLINE_TRIM_M, min_samples=5)
    table = pd.DataFrame(
        {
            "segment": [o[0] for o in owners],
            "step": [o[1] for o in owners],
            "set_gap_um": [o[2] for o in owners],
            "start_m": means["start_m"],
            "end_m": means["end_m"],
            "coating_gap": 0.5 * (means["coating_gap_left_um"] + means["coating_gap_right_um"]),
            "wet_mass_loading": means["wet_mass_loading_mg_cm2"],
            "dry_mass_loading": means["dry_mass_loading_mg_cm2"],
            "drying_temperature": means[dryer_column],
        }
    )
    sample_m = float(line.get("nominal_speed_m_min", 0.6)) / 60.0 * float(line.get("sampling_interval_s", 1.0))
    lags, curves = _lag_check(log, blade, positions, sample_m)
    samples = pd.DataFrame(
        {c: np.where(log[c].notna().to_numpy(), aligned[f"{c}__coil_m"].to_numpy(), np.nan) for c in signals}
    )
    samples["_row"] = log["_row"].to_numpy()
    return table, curves, {"sensor_positions_m": positions, "alignment_lags": lags, "log_name": log_name}, samples


def _account_log(log: CleaningLog, name: str, samples: pd.DataFrame, inline: pd.DataFrame) -> None:
    """The coater log's samples: those read into a kept step's means are used by ``inline``, the rest set aside."""
    rows = samples["_row"].to_numpy()
    log.received(name, rows)
    starts, ends = inline["start_m"].to_numpy(dtype=float), inline["end_m"].to_numpy(dtype=float)
    used = np.zeros(len(samples), dtype=bool)
    for column in samples.columns.drop("_row"):
        coordinate = samples[column].to_numpy(dtype=float)[:, None]
        used |= ((coordinate >= starts) & (coordinate < ends)).any(axis=1)
    log.used(name, "inline", rows[used])
    log.set_aside(
        name,
        rows[~used],
        rule="outside the recipe steps",
        reason=f"no reading inside the averaged part of a kept recipe step (before or after the run, between "
        f"steps, in the {INLINE_TRIM_M:g} m trimmed at each step end, or in a dropped step)",
    )


def _lag_check(
    log: pd.DataFrame, blade: np.ndarray, positions: dict[str, float], sample_m: float
) -> tuple[dict[str, dict[str, float]], pd.DataFrame]:
    """Cross-correlate each mass sensor with the coating gap to check the sensor distances.

    The signals are resampled against the coil length that had passed the blade when they were
    read (uniform steps of one nominal sample), so a changing speed does not smear the lag: a
    sensor x m downstream shows the gap's steps x m later.
    """
    grid = np.arange(blade[0], blade[-1], sample_m)
    gap = 0.5 * (log["coating_gap_left_um"].to_numpy() + log["coating_gap_right_um"].to_numpy())
    reference = np.interp(grid, blade, _filled(gap))
    report: dict[str, dict[str, float]] = {}
    curves = []
    for column in ("wet_mass_loading_mg_cm2", "dry_mass_loading_mg_cm2"):
        if column not in positions:
            continue
        signal = np.interp(grid, blade, _filled(log[column].to_numpy()))
        max_lag = int(min(grid.size - 3, 1.5 * positions[column] / sample_m + 50))
        estimate = estimate_lag(reference, signal, max_lag=max_lag)
        report[column] = {
            "expected_m": positions[column],
            "estimated_m": estimate.lag * sample_m,
            "expected_samples": positions[column] / sample_m,
            "estimated_samples": float(estimate.lag),
            "correlation": estimate.correlation,
        }
        curves.append(
            pd.DataFrame(
                {
                    "sensor": column,
                    "lag_samples": estimate.lags,
                    "lag_m": estimate.lags * sample_m,
                    "correlation": estimate.curve,
                }
            )
        )
    return report, pd.concat(curves, ignore_index=True)


def _filled(values: np.ndarray) -> np.ndarray:
    missing = np.isnan(values)
    if missing.any() and not missing.all():
        index = np.arange(values.size)
        values = values.copy()
        values[missing] = np.interp(index[missing], index[~missing], values[~missing])
    return values


# ------------------------------------------------------------------------------------ configurations
def _configurations(
    raw_dir: Path, inline: pd.DataFrame, recipe: list[dict[str, Any]], log: CleaningLog
) -> tuple[pd.DataFrame, list[int]]:
    """Per configuration: measured product values (Eqs. 1, 3) and the process values of its steps; and the
    samples.csv rows they were computed from."""
    sheets = _checked(raw_dir, "samples.csv", log, _recipe_segments(recipe))
    anode = constants.ANODE
    density = float(anode.theoretical_density)
    areal = sheets["sheet_mass_g"] * 1000.0 / sheets["sheet_area_cm2"]  # mg/cm², all solids
    for column in ("thickness_calendered_um", "thickness_uncalendered_um"):
        # Eq. 1 needs a bulk density below the theoretical one: name the sheet whose numbers say otherwise
        dense = 1.0 - (areal / 1000.0) / (sheets[column] / 1e4 * density) <= 0
        if dense.any():
            i = int(np.flatnonzero(dense.to_numpy())[0])
            raise DataError(
                f"samples.csv: row {sheets['_row'].iloc[i]}, column {column!r}: sheet_mass_g / sheet_area_cm2 / "
                f"{column} give a coating denser than its solids ({density:g} g/cm³, porosity ≤ 0); "
                f"found {sheets['sheet_mass_g'].iloc[i]:g} g, {sheets['sheet_area_cm2'].iloc[i]:g} cm², "
                f"{sheets[column].iloc[i]:g} µm"
            )
    sheets["mass_loading"] = areal * anode.active_fraction
    sheets["porosity_frac"] = physics.porosity(areal.to_numpy(), sheets["thickness_calendered_um"].to_numpy(), density)
    sheets["porosity_uncalendered_frac"] = physics.porosity(
        areal.to_numpy(), sheets["thickness_uncalendered_um"].to_numpy(), density
    )
    sheets["compaction_rate"] = physics.compaction_rate(
        sheets["thickness_calendered_um"].to_numpy(), sheets["thickness_uncalendered_um"].to_numpy()
    )
    # the inline step each sheet was cut from (by coil position)
    step_of = np.full(len(sheets), -1)
    for i, position in enumerate(sheets["coil_position_m"].to_numpy()):
        inside = np.flatnonzero(
            (inline["start_m"] <= position)
            & (position < inline["end_m"])
            & (inline["segment"] == sheets["segment"].iloc[i])
        )
        if inside.size == 0:  # in a trimmed transition: the nearest step of its segment
            candidates = np.flatnonzero(inline["segment"] == sheets["segment"].iloc[i])
            if candidates.size == 0:
                raise DataError(
                    f"samples.csv: row {sheets['_row'].iloc[i]}, column 'segment': {sheets['segment'].iloc[i]!r} "
                    "is not a segment of the coater's recipe in line.json"
                )
            centre = 0.5 * (inline["start_m"].to_numpy()[candidates] + inline["end_m"].to_numpy()[candidates])
            inside = candidates[[int(np.argmin(np.abs(centre - position)))]]
        step_of[i] = inside[0]
    for column in ("coating_gap", "wet_mass_loading", "dry_mass_loading"):
        sheets[column] = inline[column].to_numpy()[step_of]
    set_temperature = {str(s["segment"]): float(s["dryer_2_set_temperature_c"]) for s in recipe}
    grouped = sheets.groupby("configuration", sort=True)
    table = grouped.agg(
        segment=("segment", "first"),
        sheets=("sheet_mass_g", "size"),
        mass_loading=("mass_loading", "mean"),
        porosity_frac=("porosity_frac", "mean"),
        porosity_uncalendered_frac=("porosity_uncalendered_frac", "mean"),
        compaction_rate=("compaction_rate", "mean"),
        calendering_gap=("calendering_gap_um", "mean"),
        thickness_calendered=("thickness_calendered_um", "mean"),
        thickness_uncalendered=("thickness_uncalendered_um", "mean"),
        coating_gap=("coating_gap", "mean"),
        wet_mass_loading=("wet_mass_loading", "mean"),
        dry_mass_loading=("dry_mass_loading", "mean"),
        coil_position=("coil_position_m", "mean"),
    ).reset_index()
    table["porosity"] = 100.0 * table["porosity_frac"]
    table["porosity_uncalendered"] = 100.0 * table["porosity_uncalendered_frac"]
    table["drying_temperature"] = table["segment"].map(set_temperature)
    if table["drying_temperature"].isna().any():
        bad = table.loc[table["drying_temperature"].isna(), "segment"].iloc[0]
        raise DataError(f"samples.csv: segment {bad!r} has no dryer-2 set temperature in line.json's recipe")
    return table, [int(r) for r in sheets["_row"]]


def _recipe_segments(recipe: list[dict[str, Any]]) -> list[str]:
    return [str(segment["segment"]) for segment in recipe]


def _known_segments(frame: pd.DataFrame, segments: pd.DataFrame, file: str) -> None:
    """A located error for a row whose coating segment has no sheets in samples.csv (its inputs would be NaN)."""
    known = set(segments["segment"].astype(str))
    unknown = ~frame["segment"].astype(str).isin(known)
    if unknown.any():
        i = int(np.flatnonzero(unknown.to_numpy())[0])
        raise DataError(
            f"{file}: row {frame['_row'].iloc[i]}, column 'segment': {frame['segment'].iloc[i]!r} has no sheets in "
            f"samples.csv, so its process values are unknown; segments with sheets are {sorted(known)}"
        )


_CONFIG_COLUMNS = [
    "configuration",
    "segment",
    "mass_loading",
    "drying_temperature",
    "porosity",
    "coating_gap",
    "wet_mass_loading",
    "dry_mass_loading",
    "compaction_rate",
    "calendering_gap",
    "thickness_calendered",
    "thickness_uncalendered",
    "porosity_uncalendered",
    "coil_position",
]
_UNITS = {
    "coil_position": "m",
    "thickness_calendered": "µm",
    "thickness_uncalendered": "µm",
    "porosity_uncalendered": "%",
    "r_sep": "Ω",
    "q": "F·s^(γ−1)",
    "gamma": "1",
    "fit_residual": "1",
    "active_mass_mg": "mg",
    "discharge_capacity_1c": "mAh",
    "discharge_capacity_3c": "mAh",
    "adhesion_strength": "kPa",
    "set_gap_um": "µm",
    "start_m": "m",
    "end_m": "m",
}


def _join(frame: pd.DataFrame, configs: pd.DataFrame, file: str) -> pd.DataFrame:
    unknown = sorted(set(frame["configuration"]) - set(configs["configuration"]))
    if unknown:
        row = frame.loc[frame["configuration"] == unknown[0], "_row"].iloc[0]
        raise DataError(
            f"{file}: row {row}, column 'configuration': {unknown[0]!r} has no sheets in samples.csv; "
            f"configurations are {sorted(configs['configuration'])}"
        )
    return frame.merge(configs[_CONFIG_COLUMNS], on="configuration", how="left", suffixes=("_raw", ""))


# --------------------------------------------------------------------------------------------- cells
def _specimens(
    raw_dir: Path, configs: pd.DataFrame, segments: pd.DataFrame, rule: Any, log: CleaningLog, recipe: list[str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    frame = _checked(raw_dir, "adhesion.csv", log, recipe)
    frame = frame.rename(columns={"adhesion_strength_kpa": "adhesion_strength"})
    calendered = _join(frame[frame["state"] == "calendered"].drop(columns="segment"), configs, "adhesion.csv")
    uncal = frame[frame["state"] == "uncalendered"].drop(columns="configuration")
    _known_segments(uncal, segments, "adhesion.csv")
    uncal = uncal.merge(segments, on="segment", how="left")
    uncal = remove_outliers(
        uncal, "adhesion_strength", group="segment", rule=rule, log=log, file="adhesion.csv", row_column="_row"
    )
    return calendered, uncal


def _symmetric_cells(
    raw_dir: Path,
    configs: pd.DataFrame,
    segments: pd.DataFrame,
    rule: Any,
    log: CleaningLog,
    recipe: list[str],
    progress: ProgressCallback | None,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    from glassline.eis import fit_folder, read_index

    eis_dir = raw_dir / "eis"
    if not eis_dir.is_dir():
        raise DataError(f"{eis_dir}: missing; the electrode line layout expects the symmetric-cell spectra there")
    index = read_index(eis_dir)
    if index is None:
        raise DataError(f"{eis_dir / 'index.csv'}: missing; it maps every spectrum to its configuration and state")
    index = RAW_TABLES["eis/index.csv"].check(
        index.drop(columns="path", errors="ignore"), source="eis/index.csv", log=log, allowed={"segment": recipe}
    )
    index["_row"] = [user_row(i) for i in range(len(index))]
    log.received("eis/index.csv", index["_row"])
    listed = set(index["file"].astype(str))
    unlisted = sorted(
        p.name for p in eis_dir.iterdir() if p.is_file() and p.name != "index.csv" and p.name not in listed
    )
    if unlisted:
        raise DataError(
            f"eis/{unlisted[0]}: a spectrum file that eis/index.csv does not list ({len(unlisted)} such files); "
            "add a row for it (file, configuration, segment, state, cell) or move it out of the folder"
        )
    fits = fit_folder(eis_dir, progress=progress)  # carries the index's columns beside each fit
    rows = dict(zip(index["file"].astype(str), index["_row"], strict=True))
    missing = sorted(set(rows) - set(fits["file"].astype(str)))
    if missing:
        raise DataError(f"eis/index.csv: row {rows[missing[0]]}: spectrum {missing[0]!r} was not found in {eis_dir}")
    table = fits[fits["file"].astype(str).isin(rows)].copy()
    table["_row"] = table["file"].astype(str).map(rows)
    # the index's cleaned categories (a normalised 'Calendered') replace the raw text fit_folder carried
    for column in ("configuration", "segment", "state", "cell"):
        table[column] = table["file"].astype(str).map(dict(zip(index["file"].astype(str), index[column], strict=True)))
    flagged = table["flag"].fillna("").astype(str) != ""
    for _, record in table[flagged].iterrows():
        log.add(
            file="eis/index.csv",
            row=int(record["_row"]),
            column="r_ion",
            group=record["configuration"],
            rule="EIS fit check",
            value=float(record["r_ion"]),
            reason=f"{record['file']}: {record['flag']}",
        )
    table = table.loc[~flagged.to_numpy()].rename(columns={"r_ion": "ionic_resistance", "residual": "fit_residual"})
    calendered = table[table["state"] == "calendered"].copy()
    uncal = table[table["state"] == "uncalendered"].copy()
    calendered = remove_outliers(
        calendered,
        "ionic_resistance",
        group="configuration",
        rule=rule,
        log=log,
        file="eis/index.csv",
        row_column="_row",
    )
    uncal = remove_outliers(
        uncal, "ionic_resistance", group="configuration", rule=rule, log=log, file="eis/index.csv", row_column="_row"
    )
    calendered = _join(calendered.drop(columns=[c for c in ("segment",) if c in calendered]), configs, "eis/index.csv")
    area = float(constants.ANODE_DISC_AREA)
    kappa = float(constants.ELECTROLYTE_CONDUCTIVITY_S_CM)
    calendered["tortuosity"] = physics.tortuosity(
        calendered["ionic_resistance"].to_numpy(),
        area,
        kappa,
        calendered["porosity"].to_numpy() / 100.0,
        calendered["thickness_calendered"].to_numpy(),
    )
    _known_segments(uncal, segments, "eis/index.csv")
    uncal = uncal.drop(columns="configuration").merge(segments, on="segment", how="left")
    fit_columns = ["file", "state", "cell", "ionic_resistance", "r_sep", "q", "gamma", "fit_residual", "flag"]
    all_fits = fits.copy()
    return (
        calendered,
        uncal,
        all_fits.assign(**{c: all_fits[c] for c in all_fits.columns if c in fit_columns}),
    )


def _full_cells(raw_dir: Path, configs: pd.DataFrame, log: CleaningLog, recipe: list[str]) -> pd.DataFrame:
    rates = ["0_1c", "1c", "3c", "5c"]
    capacity = [f"discharge_capacity_{r}_mah" for r in rates]
    frame = _checked(raw_dir, "rate_tests.csv", log, recipe)
    if "segment" in frame.columns:  # optional here; when given, one of the recipe's
        frame["segment"] = check_categories(
            frame["segment"], recipe, column="segment", source="rate_tests.csv", log=log, rows=list(frame["_row"])
        )
    frame = frame.rename(
        columns={c: c.removesuffix("_mah") for c in capacity} | {"anode_active_mass_mg": "active_mass_mg"}
    )
    for rate in rates:
        frame[f"gravimetric_capacity_{rate}"] = physics.gravimetric_capacity(
            frame[f"discharge_capacity_{rate}"].to_numpy(), frame["active_mass_mg"].to_numpy()
        )
        _UNITS[f"gravimetric_capacity_{rate}"] = "mAh/g"
    return _join(frame.drop(columns=[c for c in ("segment",) if c in frame]), configs, "rate_tests.csv")


def _segments(configs: pd.DataFrame, recipe: list[dict[str, Any]]) -> pd.DataFrame:
    """Per coating segment: measured loading, the dryer-2 set temperature, the process means."""
    grouped = (
        configs.groupby("segment", sort=True)
        .agg(
            mass_loading=("mass_loading", "mean"),
            coating_gap=("coating_gap", "mean"),
            wet_mass_loading=("wet_mass_loading", "mean"),
            dry_mass_loading=("dry_mass_loading", "mean"),
            thickness_uncalendered=("thickness_uncalendered", "mean"),
            porosity_uncalendered=("porosity_uncalendered", "mean"),
            coil_position=("coil_position", "mean"),
        )
        .reset_index()
    )
    temperature = {str(s["segment"]): float(s["dryer_2_set_temperature_c"]) for s in recipe}
    grouped["drying_temperature"] = grouped["segment"].map(temperature)
    return grouped


def _thickness_checks(
    raw_dir: Path, log: CleaningLog, recipe: list[dict[str, Any]], segment_ids: list[str]
) -> pd.DataFrame:
    """The micrometer checks, one per recipe step: (segment, step) must be a step of line.json's recipe, once."""
    frame = _checked(raw_dir, "thickness_checks.csv", log, segment_ids)
    steps = {(str(segment["segment"]), int(step["step"])) for segment in recipe for step in segment["steps"]}
    seen: dict[tuple[str, int], int] = {}
    for segment, step, row in zip(frame["segment"], frame["step"], frame["_row"], strict=True):
        key = (str(segment), int(step))
        if float(step) != int(step) or key not in steps:
            known = sorted(n for s, n in steps if s == key[0])
            raise DataError(
                f"thickness_checks.csv: row {row}, column 'step': expected a step of segment {segment!r} in "
                f"line.json's recipe ({known}), found {step:g}"
            )
        if key in seen:
            raise DataError(
                f"thickness_checks.csv: row {row}: segment {segment!r} step {key[1]} was already checked on row "
                f"{seen[key]}; expected one micrometer check per recipe step"
            )
        seen[key] = int(row)
    return frame


def prepare_raw(
    raw_dir: Path, study: Study, log: CleaningLog, progress: ProgressCallback | None = None
) -> tuple[dict[str, LevelTable], dict[str, Any]]:
    """Read a raw folder of the electrode pilot line; return per-level tables (see the module doc)."""
    line = read_json_object(raw_dir / "line.json", missing="missing; the electrode line layout needs it")
    recipe = line.get("recipe")
    if not isinstance(recipe, list) or not recipe:
        raise DataError("line.json: expected a non-empty 'recipe' list of coating segments")
    rule = study_outlier_rule(study)
    steps = 5

    def tick(label: str, done: int) -> None:
        if progress:
            progress(label, done, steps)

    tick("aligning the coater log", 0)
    segment_ids = _recipe_segments(recipe)
    inline, lag_curves, inline_meta, samples = _inline(raw_dir, line)
    log_name = str(inline_meta.pop("log_name"))
    thickness = _thickness_checks(raw_dir, log, recipe, segment_ids)
    inline = inline.merge(
        thickness[["segment", "step", "thickness_um", "_row"]].astype({"step": int}), on=["segment", "step"], how="left"
    ).rename(columns={"thickness_um": "electrode_thickness"})
    inline["electrode_mass_loading"] = inline["dry_mass_loading"] * constants.ANODE.active_fraction
    inline["configuration"] = inline["segment"]  # inline points are replicates of one coating segment
    inline["coil_position"] = 0.5 * (inline["start_m"] + inline["end_m"])  # the step's middle along the coil
    gaps = inline[["coating_gap", "wet_mass_loading", "dry_mass_loading", "drying_temperature"]].isna().any(axis=1)
    for i in np.flatnonzero(gaps.to_numpy()):
        log.add(
            file="inline_log.csv",
            row=None,
            group=inline["segment"].iloc[i],
            rule="sensor coverage",
            reason=f"step {inline['step'].iloc[i]}: too few valid readings after alignment",
            action="dropped",
        )
        if inline["_row"].iloc[i] == inline["_row"].iloc[i]:  # its micrometer check goes with it
            log.add(
                file="thickness_checks.csv",
                row=int(inline["_row"].iloc[i]),
                column="thickness_um",
                group=inline["segment"].iloc[i],
                rule="sensor coverage",
                value=float(inline["electrode_thickness"].iloc[i]),
                reason=f"step {inline['step'].iloc[i]} was dropped: too few valid sensor readings after alignment",
            )
    inline = inline.loc[~gaps.to_numpy()].reset_index(drop=True)
    thickness_used = [int(r) for r in inline["_row"].dropna()]
    inline = inline.drop(columns="_row")
    _account_log(log, log_name, samples, inline)
    tick("sheets and configurations", 1)
    configs, sheet_rows = _configurations(raw_dir, inline, recipe, log)
    segments = _segments(configs, recipe)
    tick("adhesion specimens", 2)
    specimen, specimen_uncal = _specimens(raw_dir, configs, segments, rule, log, segment_ids)
    tick("fitting impedance spectra", 3)
    cells, cells_uncal, fits = _symmetric_cells(raw_dir, configs, segments, rule, log, segment_ids, progress=None)
    tick("full cells", 4)
    full = _full_cells(raw_dir, configs, log, segment_ids)
    tick("done", 5)
    units = dict(_UNITS)
    tables = {
        "inline": LevelTable(
            inline,
            source=log_name,
            cleaned=True,
            units=units,
            uses={"thickness_checks.csv": thickness_used},
        ),
        "specimen": LevelTable(
            specimen.drop(columns="_row"), source="adhesion.csv", rows=specimen["_row"].tolist(), units=units
        ),
        "symmetric_cell": LevelTable(
            cells.drop(columns="_row"), source="eis/index.csv", rows=cells["_row"].tolist(), cleaned=True, units=units
        ),
        "full_cell": LevelTable(
            full.drop(columns="_row"), source="rate_tests.csv", rows=full["_row"].tolist(), units=units
        ),
        "configurations": LevelTable(configs, source="samples.csv", units=units, uses={"samples.csv": sheet_rows}),
        "specimen_uncalendered": LevelTable(
            specimen_uncal.drop(columns="_row"),
            source="adhesion.csv",
            rows=specimen_uncal["_row"].tolist(),
            units=units,
        ),
        "symmetric_cell_uncalendered": LevelTable(
            cells_uncal.drop(columns="_row"), source="eis/index.csv", rows=cells_uncal["_row"].tolist(), units=units
        ),
        "eis_fits": LevelTable(fits, source="eis", units=units),
        "alignment_xcorr": LevelTable(lag_curves, source="inline_log.csv", units=units),
    }
    return tables, {"layout": "electrode", **inline_meta}
