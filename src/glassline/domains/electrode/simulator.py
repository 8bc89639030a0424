"""The simulated graphite-anode pilot line: glassline's reference case with known ground truth.

``simulate_line(design, out_dir)`` takes a table of configurations (active mass loading [mg/cm²],
second-dryer temperature [°C], calendered porosity [%]) and writes the raw files the paper's line and
lab would give, in the paper's amounts (Haghi et al. 2023): one coil with every coating segment and its
1 Hz inline log, A4 sheets before and after calendering, pull-off adhesion specimens, symmetric-cell
impedance spectra as instrument files, full-cell rate tests, and ``truth.json`` with the noiseless
values. The hidden truth and its modelling assumptions are documented in ``_sim_truth``; the coater in
``_sim_inline``; the lab and its scatter in ``_sim_cells``.

The shipped design ``paper_design.csv`` (see :data:`PAPER_DESIGN`) is a stand-in for the paper's 17
configurations, whose exact values are not published (Fig. 1 shows them only as a plot). Its shape
follows the paper: 17 calendered configurations from 13 distinct coating segments (loading ×
temperature), four segments calendered to two porosities (25 and 40 %; the paper's Fig. 10 uses such
pairs), loadings on the four levels 8.2 / 9.2 / 10.2 / 11.2 mg/cm² that match the four cathodes
(14.27 … 19.49 mg/cm² at N:P 1.2), temperatures 50 / 55 / 57.5 / 60 / 65 °C and porosities
25 / 32.5 / 40 %. The points were chosen from that candidate grid by an I-criterion search for a full
quadratic model with all pairwise factor correlations below 0.1: corners, edge and face centres of
the box. Replace it with the design module's I-optimal design once that exists.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Literal, get_args

import numpy as np
import pandas as pd

from glassline._progress import ProgressCallback
from glassline.domains.electrode import SIMULATOR_SEED, physics
from glassline.domains.electrode import _sim_cells as lab_
from glassline.domains.electrode import _sim_files as files_
from glassline.domains.electrode import _sim_inline as line_
from glassline.domains.electrode import _sim_truth as truth_
from glassline.domains.electrode._sim_design import as_design, read_design_table
from glassline.domains.electrode._sim_files import LAYOUT
from glassline.exceptions import DataError, did_you_mean

__all__ = [
    "DEFAULT_SEED",
    "LAYOUT",
    "PAPER_DESIGN",
    "DriftKind",
    "DriftSpec",
    "SimulationResult",
    "read_design_table",
    "simulate_line",
]

#: The study's seed (study.toml ``seed = 2023``).
DEFAULT_SEED = SIMULATOR_SEED
#: The shipped stand-in for the paper's 17 configurations (see the module docstring).
PAPER_DESIGN = Path(str(files("glassline.domains.electrode").joinpath("paper_design.csv")))


DriftKind = Literal["dryer_sensor_bias", "material_lot"]
_STREAMS = ("inline", "segments", "sheets", "adhesion", "eis_cells", "eis_noise", "rate", "checks")


@dataclass(frozen=True)
class DriftSpec:
    """A drift of the line from one coating segment on, for monitoring studies.

    - ``"dryer_sensor_bias"``: the second dryer's thermocouple reads *magnitude* °C too high; the
      controller holds the reading at the set point, so the web really dries at set − magnitude
      while the log shows the set point (after a short transient).
    - ``"material_lot"``: a new graphite lot whose adhesion strength is ×(1 + *magnitude*) (e.g. −0.15)
      and whose true density is ×(1 + *density_change*); the lab keeps using the nominal density, so
      the porosity it targets is missed.

    *start_segment* counts coating segments in coil order from 1 (segment ``S07`` is 7); ``None``
    means the middle of the coil.
    """

    kind: DriftKind
    magnitude: float
    start_segment: int | None = None
    density_change: float = 0.0

    def __post_init__(self) -> None:
        kinds = get_args(DriftKind)
        if self.kind not in kinds:
            raise DataError(
                f"drift: unknown kind {self.kind!r}; expected one of {', '.join(kinds)}."
                + did_you_mean(str(self.kind), kinds)
            )
        for name in ("magnitude", "density_change"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or not math.isfinite(value):
                raise DataError(f"drift: {name} must be a finite number, got {value!r}")
        if self.kind == "material_lot" and (self.magnitude <= -1.0 or self.density_change <= -1.0):
            raise DataError(
                "drift: a material lot changes adhesion and density by a factor 1 + x with x > −1, "
                f"got magnitude {self.magnitude:g} and density_change {self.density_change:g}"
            )
        if self.start_segment is not None and (
            isinstance(self.start_segment, bool) or not isinstance(self.start_segment, int) or self.start_segment < 1
        ):
            raise DataError(f"drift: start_segment must be a segment number ≥ 1, got {self.start_segment!r}")

    @classmethod
    def parse(cls, text: str) -> DriftSpec:
        """Parse ``KIND:MAGNITUDE[@SEGMENT]``, e.g. ``dryer_sensor_bias:5`` or ``material_lot:-0.15@S07``."""
        head, _, start = text.partition("@")
        kind, sep, magnitude = head.partition(":")
        if not sep:
            raise DataError(f"drift: expected KIND:MAGNITUDE[@SEGMENT], e.g. 'dryer_sensor_bias:5', got {text!r}")
        try:
            value = float(magnitude)
        except ValueError:
            raise DataError(f"drift: the magnitude in {text!r} must be a number, got {magnitude!r}") from None
        segment: int | None = None
        if start:
            digits = start.strip().upper().removeprefix("S")
            if not digits.isdigit():
                raise DataError(f"drift: the start in {text!r} must be a segment like 'S07' or '7', got {start!r}")
            segment = int(digits)
        return cls(kind=kind.strip(), magnitude=value, start_segment=segment)  # type: ignore[arg-type]


@dataclass
class SimulationResult:
    """What :func:`simulate_line` wrote: where, how many rows, and the truth per configuration."""

    out_dir: Path
    files: dict[str, Path]
    rows: dict[str, int]
    truth: pd.DataFrame
    segments: pd.DataFrame
    seed: int
    drift: DriftSpec | None = None
    notes: dict[str, str] = field(default_factory=dict)

    @property
    def n_configurations(self) -> int:
        return len(self.truth)

    @property
    def n_segments(self) -> int:
        return len(self.segments)

    def description(self) -> str:
        """One line: configurations, coating segments, seed and drift of the run."""
        drifted = f"; drift {self.drift.kind}:{self.drift.magnitude:g}" if self.drift else ""
        return (
            f"{self.n_configurations} configurations on {self.n_segments} coating segments (seed {self.seed}{drifted})"
        )

    def summary(self) -> pd.DataFrame:
        """One row per file written: file, rows, what it holds."""
        return pd.DataFrame(
            [{"file": name, "rows": self.rows.get(name, 0), "content": self.notes.get(name, "")} for name in self.files]
        )


def _streams(seed: int) -> dict[str, np.random.Generator]:
    children = np.random.SeedSequence(seed).spawn(len(_STREAMS))
    return {name: np.random.default_rng(child) for name, child in zip(_STREAMS, children, strict=True)}


def simulate_line(
    design: pd.DataFrame | str | Path,
    out_dir: str | Path,
    *,
    seed: int = DEFAULT_SEED,
    drift: DriftSpec | None = None,
    progress: ProgressCallback | None = None,
) -> SimulationResult:
    """Run the simulated pilot line for *design* and write its raw files into *out_dir*.

    *design* is a DataFrame or a CSV/Excel path with columns ``mass_loading`` [mg/cm²],
    ``drying_temperature`` [°C], ``porosity`` [%] and optionally ``configuration``; it is checked
    (:func:`read_design_table`). The same *seed* gives byte-identical files. *progress(label, done,
    total)* is called after each step. Files written (see ``manifest.json`` for columns and units):
    ``inline_log.csv``, ``line.json``, ``samples.csv``, ``adhesion.csv``, ``eis/*.csv`` with
    ``eis/index.csv``, ``rate_tests.csv``, ``truth.json`` (for tests only) and ``manifest.json``.
    """
    steps = [
        "design",
        "coil and inline log",
        "sheets and calendering",
        "adhesion",
        "impedance spectra",
        "rate tests",
        "truth",
    ]
    report = progress or (lambda label, done, total: None)
    table = as_design(design) if isinstance(design, pd.DataFrame) else read_design_table(design)
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise DataError(f"simulate_line: seed must be an integer, got {seed!r}")
    report(steps[0], 1, len(steps))

    n_segments = len({(m, t) for m, t in zip(table["mass_loading"], table["drying_temperature"], strict=True)})
    clash = sorted(set(table["configuration"]) & {f"S{k:02d}" for k in range(1, n_segments + 1)})
    if clash:
        raise DataError(
            f"design: configuration id {clash[0]!r} is also the name of a coating segment (S01 … S{n_segments:02d}), "
            "which the files use for uncalendered specimens and cells; rename the configuration"
        )
    start = None
    if drift is not None:
        start = drift.start_segment if drift.start_segment is not None else n_segments // 2 + 1
        if start > n_segments:
            raise DataError(f"drift: start_segment {start} is beyond the last of the coil's {n_segments} segments")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = _streams(int(seed))
    model, lab, settings = truth_.TruthModel(), lab_.LabSettings(), line_.LineSettings()
    bias = drift.magnitude if drift is not None and drift.kind == "dryer_sensor_bias" else 0.0
    coil = line_.run_coil(table, rng["inline"], settings=settings, dryer_bias_c=bias, bias_from_segment=start)
    report(steps[1], 2, len(steps))

    # Segment state: where the uncalendered material is cut, what it saw, its porosity after drying.
    sheet_span = lab.sheets_per_configuration * (lab.sheet_length_cm / 100.0 + lab.sheet_gap_m)
    lot_adhesion, lot_density = (
        (drift.magnitude, drift.density_change) if drift is not None and drift.kind == "material_lot" else (0.0, 0.0)
    )
    seg_rows = []
    for k, seg in enumerate(coil.segments):
        a, b = seg.sample_window_m
        u = np.linspace(a + sheet_span * len(seg.configurations), b, 201)
        m_seg = float(coil.active_loading_at(u).mean())
        t_seg = float(coil.dryer_2_seen(u).mean())
        affected = start is not None and k + 1 >= start
        seg_rows.append(
            {
                "segment": seg.segment,
                "configurations": ",".join(seg.configurations),
                "mass_loading_target": seg.mass_loading_target,
                "drying_temperature_set": seg.drying_temperature_set_c,
                "mass_loading": m_seg,
                "drying_temperature": t_seg,
                "porosity_uncalendered": float(model.porosity_uncalendered(m_seg, t_seg))
                + rng["segments"].normal(0.0, lab.uncalendered_porosity_segment_sd),
                "density_true": model.density_g_cm3 * (1.0 + (lot_density if affected else 0.0)),
                "adhesion_factor": 1.0 + (lot_adhesion if affected else 0.0),
                "drift_affected": bool(affected),
                "window_start_m": a,
                "window_end_m": b,
            }
        )
    segments = pd.DataFrame(seg_rows)
    seg_of = {c: seg.segment for seg in coil.segments for c in seg.configurations}
    slot_of = {c: i for seg in coil.segments for i, c in enumerate(seg.configurations)}
    plan = table.assign(
        segment=table["configuration"].map(seg_of),
        slot=table["configuration"].map(slot_of),
        porosity_target=table["porosity"] / 100.0,
    ).merge(
        segments[["segment", "window_start_m", "window_end_m", "porosity_uncalendered", "density_true"]], on="segment"
    )
    plan["density_nominal"] = model.density_g_cm3
    samples, realized = lab_.lab_sheets(
        plan, rng["sheets"], lab, loading_at=coil.active_loading_at, dryer_2_seen=coil.dryer_2_seen
    )
    report(steps[2], 3, len(steps))

    # The truth of every configuration as it was really made, and of every uncalendered segment.
    realized = realized.merge(segments[["segment", "density_true", "adhesion_factor"]], on="segment")
    realized["cathode_loading_mg_cm2"] = model.matched_cathode_loading(
        realized["configuration"].map(dict(zip(table["configuration"], table["mass_loading"], strict=True)))
    )
    values = truth_.evaluate_truth(
        realized["mass_loading"],
        realized["drying_temperature"],
        realized["porosity"],
        model=model,
        eps_uncalendered=realized["porosity_uncalendered"],
        cathode_loading_mg_cm2=realized["cathode_loading_mg_cm2"],
        density_g_cm3=realized["density_true"],
        adhesion_factor=realized["adhesion_factor"],
    )
    seg_values = truth_.evaluate_truth(
        segments["mass_loading"],
        segments["drying_temperature"],
        np.full(len(segments), model.adhesion.porosity_reference),
        model=model,
        eps_uncalendered=segments["porosity_uncalendered"],
        density_g_cm3=segments["density_true"],
        adhesion_factor=segments["adhesion_factor"],
    )
    uncal_keys = [
        "thickness_uncalendered_um",
        "adhesion_uncalendered_kpa",
        "tortuosity_uncalendered",
        "r_ion_uncalendered_ohm",
    ]
    for key in uncal_keys:
        segments[key] = seg_values[key]
    truth = _truth_table(table, realized, values, segments, uncal_keys)

    adhesion_groups = pd.concat(
        [
            pd.DataFrame(
                {
                    "configuration": truth["configuration"],
                    "segment": truth["segment"],
                    "state": "calendered",
                    "adhesion_kpa": truth["adhesion_calendered_kpa"],
                }
            ),
            pd.DataFrame(
                {
                    "configuration": segments["segment"],
                    "segment": segments["segment"],
                    "state": "uncalendered",
                    "adhesion_kpa": segments["adhesion_uncalendered_kpa"],
                }
            ),
        ],
        ignore_index=True,
    )
    adhesion, gross = lab_.adhesion_specimens(adhesion_groups, rng["adhesion"], lab)
    report(steps[3], 4, len(steps))

    cells = lab_.symmetric_cells(
        pd.concat(
            [
                pd.DataFrame(
                    {
                        "configuration": truth["configuration"],
                        "segment": truth["segment"],
                        "state": "calendered",
                        "r_ion_ohm": truth["r_ion_calendered_ohm"],
                        "mass_loading": truth["realized_mass_loading"],
                    }
                ),
                pd.DataFrame(
                    {
                        "configuration": segments["segment"],
                        "segment": segments["segment"],
                        "state": "uncalendered",
                        "r_ion_ohm": segments["r_ion_uncalendered_ohm"],
                        "mass_loading": segments["mass_loading"],
                    }
                ),
            ],
            ignore_index=True,
        ),
        rng["eis_cells"],
        lab,
    )
    eis_dir = out / "eis"
    eis_dir.mkdir(exist_ok=True)
    for old in [*eis_dir.glob("sym_*.csv"), eis_dir / "index.csv"]:
        old.unlink(missing_ok=True)
    frequencies = lab_.eis_frequencies()
    for i, (_, cell) in enumerate(cells.iterrows()):
        lab_.write_spectrum(cell, eis_dir / str(cell["file"]), rng["eis_noise"], lab, frequencies)
        if progress is not None and i % 20 == 0:
            report(f"{steps[4]} {i + 1}/{len(cells)}", 4, len(steps))
    cells[lab_.EIS_INDEX_COLUMNS].to_csv(eis_dir / "index.csv", index=False)
    report(steps[4], 5, len(steps))

    rate_input = truth[["configuration", "segment"]].assign(
        mass_loading=truth["realized_mass_loading"],
        cathode_loading_mg_cm2=truth["cathode_loading_mg_cm2"],
        q_max_mah=truth["capacity_limit_mah"],
    )
    for rate in truth_.C_RATES:
        label = truth_.c_rate_label(rate)
        rate_input[f"utilization_{label}"] = truth[f"discharge_capacity_{label}_mah"] / truth["capacity_limit_mah"]
    rates = lab_.rate_tests(rate_input, rng["rate"], lab, truth_.C_RATES)
    report(steps[5], 6, len(steps))

    files = {
        "inline_log.csv": out / "inline_log.csv",
        "line.json": out / "line.json",
        "samples.csv": out / "samples.csv",
        "adhesion.csv": out / "adhesion.csv",
        "eis/index.csv": eis_dir / "index.csv",
        "rate_tests.csv": out / "rate_tests.csv",
        "thickness_checks.csv": out / "thickness_checks.csv",
        "truth.json": out / "truth.json",
        "manifest.json": out / "manifest.json",
    }
    coil.log.to_csv(files["inline_log.csv"], index=False)
    files_.write_json(files["line.json"], coil.line_json())
    samples.to_csv(files["samples.csv"], index=False)
    adhesion.to_csv(files["adhesion.csv"], index=False)
    rates.to_csv(files["rate_tests.csv"], index=False)
    steps_truth, checks = _thickness_checks(coil, segments, model, lab, rng["checks"])
    checks.to_csv(files["thickness_checks.csv"], index=False)
    rows = {
        "inline_log.csv": len(coil.log),
        "line.json": len(coil.segments),
        "samples.csv": len(samples),
        "adhesion.csv": len(adhesion),
        "eis/index.csv": len(cells),
        "rate_tests.csv": len(rates),
        "thickness_checks.csv": len(checks),
        "truth.json": len(truth),
        "manifest.json": len(files),
    }
    files_.write_json(
        files["truth.json"],
        {
            "about": "Noiseless ground truth of the simulated line, for tests and benchmarks only; a real "
            "line has no such file. 'realized_*' are the values a configuration really got (true means "
            "over its sheets); responses are the truth at those values. Porosities in %.",
            "seed": int(seed),
            "drift": None if drift is None else {**asdict(drift), "start_segment": start},
            "configurations": files_.records(truth),
            "segments": files_.records(segments),
            "inline_steps": files_.records(steps_truth),
            "eis_cells": files_.records(cells.drop(columns=["header"])),
            "adhesion_gross_outliers": gross,
            "parameters": {"truth": model.as_dict(), "line": asdict(settings), "lab": asdict(lab)},
        },
    )
    notes = files_.manifest_notes()
    files_.write_json(files["manifest.json"], files_.manifest(rows, notes, cells))
    report(steps[6], 7, len(steps))
    return SimulationResult(
        out_dir=out, files=files, rows=rows, truth=truth, segments=segments, seed=int(seed), drift=drift, notes=notes
    )


def _thickness_checks(
    coil: line_.CoilRun,
    segments: pd.DataFrame,
    model: truth_.TruthModel,
    lab: lab_.LabSettings,
    rng: np.random.Generator,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One micrometer reading of the dried, uncalendered coating near the end of every recipe step.

    The paper measured thickness offline on samples; one piece per step gives each inline point a
    thickness. Returns the step truth (with the true thickness at the piece) and the readings.
    """
    steps = coil.steps.merge(
        segments[["segment", "mass_loading", "drying_temperature", "porosity_uncalendered", "density_true"]],
        on="segment",
        suffixes=("", "_segment"),
    )
    u = steps["end_m"].to_numpy() - lab.thickness_check_offset_m
    active = coil.active_loading_at(u)
    # the segment's own porosity offset, at the loading and temperature this piece really had
    offset = steps["porosity_uncalendered"] - model.porosity_uncalendered(
        steps["mass_loading"], steps["drying_temperature"]
    )
    eps = model.porosity_uncalendered(active, coil.dryer_2_seen(u)) + offset.to_numpy()
    thickness = np.asarray(physics.thickness_from_loading(active, eps, steps["density_true"], model.active_fraction))
    truth = coil.steps.assign(
        check_position_m=u,
        check_active_mass_loading_mg_cm2=active,
        porosity_uncalendered_pct=100.0 * eps,
        electrode_thickness_um=thickness,
    )
    checks = pd.DataFrame(
        {
            "segment": steps["segment"],
            "step": steps["step"],
            "coil_position_m": np.round(u, 3),
            "thickness_um": np.round(thickness + rng.normal(0.0, lab.micrometer_noise_um, len(u)), 1),
        }
    )
    return truth, checks


def _truth_table(
    table: pd.DataFrame,
    realized: pd.DataFrame,
    values: dict[str, np.ndarray],
    segments: pd.DataFrame,
    uncal_keys: list[str],
) -> pd.DataFrame:
    """One row per configuration: design, realized state and the true values (porosities in %)."""
    truth = table.merge(realized[["configuration", "segment"]], on="configuration")
    order = realized.set_index("configuration").loc[truth["configuration"]].reset_index()
    truth["realized_mass_loading"] = order["mass_loading"].to_numpy()
    truth["realized_drying_temperature"] = order["drying_temperature"].to_numpy()
    truth["realized_porosity"] = 100.0 * order["porosity"].to_numpy()
    truth["calendering_gap_um"] = order["calendering_gap_um"].to_numpy()
    truth["cathode_loading_mg_cm2"] = order["cathode_loading_mg_cm2"].to_numpy()
    position = realized.reset_index().set_index("configuration").loc[truth["configuration"], "index"].to_numpy()
    for key, array in values.items():
        truth[key] = np.asarray(array)[position]
    by_segment = segments.set_index("segment")
    for key in uncal_keys:
        truth[f"segment_{key}"] = by_segment.loc[truth["segment"], key].to_numpy()
    return truth
