"""The lab: A4 sheets, calendering, pull-off specimens, symmetric EIS cells and full-cell rate tests.

Each function turns the true state of a configuration (or coating segment) into what the lab would
record, with the scatter a real measurement has. Noise levels are in :class:`LabSettings`, each with
the reason for its size; they are written to truth.json.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from glassline.domains.electrode import constants, physics
from glassline.domains.electrode._sim_truth import c_rate_label

__all__ = [
    "ADHESION_COLUMNS",
    "EIS_INDEX_COLUMNS",
    "RATE_COLUMNS",
    "SAMPLE_COLUMNS",
    "LabSettings",
    "adhesion_specimens",
    "eis_frequencies",
    "lab_sheets",
    "rate_tests",
    "symmetric_cells",
    "write_spectrum",
]

SAMPLE_COLUMNS = [
    "configuration",
    "segment",
    "sheet",
    "coil_position_m",
    "sheet_mass_g",
    "sheet_area_cm2",
    "thickness_uncalendered_um",
    "thickness_calendered_um",
    "calendering_gap_um",
]
ADHESION_COLUMNS = ["configuration", "segment", "state", "specimen", "adhesion_strength_kpa"]
EIS_INDEX_COLUMNS = ["file", "configuration", "segment", "state", "cell", "fmin_hz", "fmax_hz"]
RATE_COLUMNS = [
    "configuration",
    "segment",
    "cell",
    "anode_active_mass_mg",
    "discharge_capacity_0_1c_mah",
    "discharge_capacity_1c_mah",
    "discharge_capacity_3c_mah",
    "discharge_capacity_5c_mah",
]


@dataclass(frozen=True, slots=True)
class LabSettings:
    """Amounts and scatter of the lab's measurements (modelling assumptions unless a source is named).

    - sheets: 3 A4 sheets per configuration, coated width 20 cm; cut length ±1 mm, rule ±0.2 mm;
      cross-web loading scatter 0.5 %; the foil is subtracted with its nominal mass, and 10 µm copper
      foil varies by ≈ 0.3 % (± 15 mg per sheet); micrometer: mean of five readings, ±0.7 µm.
    - thickness checks: one piece of dried coating per recipe step, 0.3 m before the step ends.
    - calendering: gap and roll pressure are tuned until the sheets reach the target thickness (paper,
      Calendering) within 0.6 %; the logged roll gap is that thickness plus foil minus the elastic
      spring-back (12 % + 2 µm of the coating, varying 8 % between configurations).
    - adhesion (paper Table 4 test): 4 specimens per configuration / segment, 5 % scatter with
      heavier-than-normal tails (Student t, 4 d.o.f.), plus 3 % gross outliers (tape or coating
      failure, 45–70 % of the true value); the paper's RMSEs of 8–50 kPa on values of a few hundred.
    - EIS: 5–6 symmetric cells per calendered configuration (so ≈ 86 remain after a ±1.5 SD rule),
      4 per uncalendered segment; R_ion scatter 5 % between cells; R_sep 22 ± 2.5 Ω, Q ≈ 1.6·10⁻³
      F·s^(γ−1) scaled by loading, γ 0.88 (0.86 uncalendered) ± 0.012 (fipt spectra in DOMAIN-FACTS);
      3 % of cells defective (poor wetting, R_ion × 1.6–2.2); contact arc of uncalendered electrodes
      R_c 8–25 Ω ‖ CPE with its peak at 15–50 kHz (γ_c 0.95); 0.5 % complex multiplicative noise.
      A third of the files carry a header row, as real folders mix instrument exports.
    - full cells: 3 per configuration; disc mass scatter 0.8 %, cathode capacity 1.2 %, capacity
      scatter 0.5 / 1 / 2 / 3 % at 0.1 / 1 / 3 / 5 C (paper RMSEs 0.03–0.05 mAh).
    """

    sheets_per_configuration: int = 3
    sheet_length_cm: float = 29.7
    coated_width_cm: float = 20.0
    sheet_gap_m: float = 0.03
    cut_error_cm: float = 0.1
    rule_error_cm: float = 0.02
    cross_web_variation: float = 0.005
    foil_mass_error_g: float = 0.015
    micrometer_noise_um: float = 0.7
    thickness_check_offset_m: float = 0.3
    uncalendered_porosity_segment_sd: float = 0.005
    uncalendered_porosity_sheet_sd: float = 0.003
    springback_fraction: float = 0.12
    springback_offset_um: float = 2.0
    springback_variation: float = 0.08
    calendering_residual: float = 0.006
    calendered_thickness_sheet_sd_um: float = 0.4
    adhesion_specimens: int = 4
    adhesion_cv: float = 0.05
    adhesion_tail_dof: float = 4.0
    gross_outlier_share: float = 0.03
    gross_outlier_range: tuple[float, float] = (0.45, 0.70)
    eis_cells_calendered: tuple[int, int] = (5, 6)
    eis_six_cell_share: float = 11.0 / 17.0
    eis_cells_uncalendered: int = 4
    r_ion_cell_cv: float = 0.05
    r_sep_mean_ohm: float = 22.0
    r_sep_sd_ohm: float = 2.5
    q_reference: float = 1.6e-3
    q_cv: float = 0.1
    gamma_calendered: float = 0.88
    gamma_uncalendered: float = 0.86
    gamma_sd: float = 0.012
    defect_share: float = 0.03
    defect_factor: tuple[float, float] = (1.6, 2.2)
    contact_resistance_ohm: tuple[float, float] = (8.0, 25.0)
    contact_peak_hz: tuple[float, float] = (1.5e4, 5e4)
    contact_gamma: float = 0.95
    eis_noise: float = 0.005
    header_share: float = 1.0 / 3.0
    uncalendered_fmin_hz: float = constants.EIS_FREQUENCY_RANGE.low
    uncalendered_fmax_hz: float = 1000.0
    full_cells: int = 3
    disc_mass_cv: float = 0.008
    cathode_capacity_cv: float = 0.012
    capacity_cv: tuple[float, ...] = (0.005, 0.01, 0.02, 0.03)


def _picked(rng: np.random.Generator, n: int, share: float) -> np.ndarray:
    """A boolean mask with round(share·n) (at least one when n ≥ 10) randomly placed True values."""
    k = round(share * n)
    if n >= 10:
        k = max(k, 1)
    mask = np.zeros(n, dtype=bool)
    mask[rng.permutation(n)[:k]] = True
    return mask


def adhesion_specimens(
    groups: pd.DataFrame, rng: np.random.Generator, lab: LabSettings
) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """Pull-off results; *groups* has configuration, segment, state and true ``adhesion_kpa``.

    Returns the table and the list of gross outliers (for truth.json).
    """
    n = lab.adhesion_specimens
    rows = groups.loc[groups.index.repeat(n)].reset_index(drop=True)
    rows["specimen"] = np.tile(np.arange(1, n + 1), len(groups))
    scale = np.sqrt(lab.adhesion_tail_dof / (lab.adhesion_tail_dof - 2.0))
    noise = lab.adhesion_cv * rng.standard_t(lab.adhesion_tail_dof, len(rows)) / scale
    values = rows["adhesion_kpa"].to_numpy() * np.clip(1.0 + noise, 0.5, None)
    gross = _picked(rng, len(rows), lab.gross_outlier_share)
    values[gross] *= rng.uniform(*lab.gross_outlier_range, int(gross.sum()))
    rows["adhesion_strength_kpa"] = np.round(values, 1)
    outliers = [
        {str(k): v for k, v in record.items()}
        for record in rows.loc[gross, ["configuration", "state", "specimen"]].to_dict("records")
    ]
    return rows[ADHESION_COLUMNS], outliers


def eis_frequencies() -> np.ndarray:
    """10 kHz down to 100 mHz, 10 points per decade, high to low as the potentiostat sweeps."""
    low, high = constants.EIS_FREQUENCY_RANGE.low, constants.EIS_FREQUENCY_RANGE.high
    decades = np.log10(high / low)
    n = round(decades * constants.EIS_POINTS_PER_DECADE.value) + 1
    return np.logspace(np.log10(high), np.log10(low), n)


def symmetric_cells(groups: pd.DataFrame, rng: np.random.Generator, lab: LabSettings) -> pd.DataFrame:
    """One row per symmetric cell with its true circuit parameters.

    *groups*: configuration, segment, state, ``r_ion_ohm`` (true), ``mass_loading`` (for Q).
    """
    is_calendered = groups["state"].to_numpy() == "calendered"
    few, many = lab.eis_cells_calendered
    counts = np.full(len(groups), lab.eis_cells_uncalendered)
    counts[is_calendered] = np.where(_picked(rng, int(is_calendered.sum()), lab.eis_six_cell_share), many, few)
    cells = groups.loc[groups.index.repeat(counts)].reset_index(drop=True)
    cells["cell"] = np.concatenate([np.arange(1, c + 1) for c in counts])
    n = len(cells)
    calendered = cells["state"].to_numpy() == "calendered"
    defect = _picked(rng, n, lab.defect_share)
    r_ion = cells["r_ion_ohm"].to_numpy() * np.exp(rng.normal(0.0, lab.r_ion_cell_cv, n))
    r_ion[defect] *= rng.uniform(*lab.defect_factor, int(defect.sum()))
    mid_loading = 0.5 * (constants.ACTIVE_MASS_LOADING_RANGE.low + constants.ACTIVE_MASS_LOADING_RANGE.high)
    gamma_mean = np.where(calendered, lab.gamma_calendered, lab.gamma_uncalendered)
    r_c = np.where(calendered, 0.0, rng.uniform(*lab.contact_resistance_ohm, n))
    f_low, f_high = lab.contact_peak_hz
    f_c = np.exp(rng.uniform(np.log(f_low), np.log(f_high), n))
    cells["r_ion_true_ohm"] = r_ion
    cells["r_sep_ohm"] = np.clip(rng.normal(lab.r_sep_mean_ohm, lab.r_sep_sd_ohm, n), 8.0, None)
    cells["q"] = lab.q_reference * cells["mass_loading"] / mid_loading * np.exp(rng.normal(0.0, lab.q_cv, n))
    cells["gamma"] = np.clip(gamma_mean + rng.normal(0.0, lab.gamma_sd, n), 0.75, 0.97)
    cells["contact_resistance_ohm"] = r_c
    cells["contact_q"] = np.where(
        calendered, 0.0, 1.0 / (np.maximum(r_c, 1e-9) * (2 * np.pi * f_c) ** lab.contact_gamma)
    )
    cells["defective"] = defect
    cells["header"] = rng.random(n) < lab.header_share
    prefix = np.where(calendered, "cal", "uncal")
    cells["file"] = [
        f"sym_{c}_{p}_{k:02d}.csv" for c, p, k in zip(cells["configuration"], prefix, cells["cell"], strict=True)
    ]
    cells["fmin_hz"] = lab.uncalendered_fmin_hz
    cells["fmax_hz"] = np.where(calendered, constants.EIS_FREQUENCY_RANGE.high, lab.uncalendered_fmax_hz)
    return cells


def write_spectrum(
    cell: pd.Series, path: Path, rng: np.random.Generator, lab: LabSettings, frequencies: np.ndarray
) -> None:
    """Write one cell's spectrum as impedance.py's plain CSV (f [Hz], Re Z [Ω], Im Z [Ω])."""
    z = np.asarray(
        physics.transmission_line_impedance(
            frequencies, cell["r_sep_ohm"], cell["r_ion_true_ohm"], cell["q"], cell["gamma"]
        )
    )
    if cell["contact_resistance_ohm"] > 0:
        omega = 2.0 * np.pi * frequencies
        z = z + cell["contact_resistance_ohm"] / (
            1.0 + cell["contact_resistance_ohm"] * cell["contact_q"] * (1j * omega) ** lab.contact_gamma
        )
    z = z * (1.0 + lab.eis_noise * (rng.normal(size=z.size) + 1j * rng.normal(size=z.size)))
    lines = [f"{f:.6e},{v.real:.6e},{v.imag:.6e}" for f, v in zip(frequencies, z, strict=True)]
    if cell["header"]:
        lines.insert(0, "frequency_hz,z_real_ohm,z_imag_ohm")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def rate_tests(
    configs: pd.DataFrame, rng: np.random.Generator, lab: LabSettings, c_rates: tuple[float, ...]
) -> pd.DataFrame:
    """Full coin cells: anode active mass and discharge capacity per C-rate.

    *configs*: configuration, segment, ``mass_loading`` (true, realized), ``cathode_loading_mg_cm2``,
    ``q_max_mah`` (true, noiseless) and ``utilization_<rate>`` (true share of q_max at each rate).
    """
    n = lab.full_cells
    cells = configs.loc[configs.index.repeat(n)].reset_index(drop=True)
    cells["cell"] = np.tile(np.arange(1, n + 1), len(configs))
    k = len(cells)
    anode_area = constants.ANODE_DISC_AREA.value
    anode_mass = cells["mass_loading"].to_numpy() * anode_area * (1.0 + rng.normal(0.0, lab.disc_mass_cv, k))
    cathode = (
        cells["cathode_loading_mg_cm2"].to_numpy()
        * constants.CATHODE.specific_capacity.value
        * 1e-3
        * constants.CATHODE_DISC_AREA.value
        * (1.0 + rng.normal(0.0, lab.cathode_capacity_cv, k))
    )
    anode = anode_mass * constants.ANODE.specific_capacity.value * 1e-3
    ratio = cells["q_max_mah"].to_numpy() / np.minimum(
        cells["cathode_loading_mg_cm2"].to_numpy()
        * constants.CATHODE.specific_capacity.value
        * 1e-3
        * constants.CATHODE_DISC_AREA.value,
        cells["mass_loading"].to_numpy() * anode_area * constants.ANODE.specific_capacity.value * 1e-3,
    )
    q_max = ratio * np.minimum(cathode, anode)
    out = pd.DataFrame({"configuration": cells["configuration"], "segment": cells["segment"], "cell": cells["cell"]})
    out["anode_active_mass_mg"] = np.round(anode_mass, 3)
    common = rng.normal(0.0, 1.0, k)
    for rate, cv in zip(c_rates, lab.capacity_cv, strict=True):
        label = c_rate_label(rate)
        share = cells[f"utilization_{label}"].to_numpy()
        noise = cv * (0.5 * common + np.sqrt(0.75) * rng.normal(0.0, 1.0, k))
        out[f"discharge_capacity_{label}_mah"] = np.round(q_max * share * (1.0 + noise), 4)
    return out[RATE_COLUMNS]


def lab_sheets(
    plan: pd.DataFrame,
    rng: np.random.Generator,
    lab: LabSettings,
    *,
    loading_at: Any,
    dryer_2_seen: Any,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Cut, weigh, measure and calender the A4 sheets of every configuration.

    *plan*: one row per configuration with configuration, segment, porosity target (fraction,
    ``porosity_target``), the segment's sample window (``window_start_m``, ``window_end_m``), its
    position among the segment's configurations (``slot``), the segment's true uncalendered porosity
    (``porosity_uncalendered``) and the material's true and nominal densities. *loading_at(u)* gives
    the true active loading along the coil, *dryer_2_seen(u)* the second-dryer temperature a piece saw.

    Returns the samples table and the realized state of each configuration (true means over its
    sheets): the values its specimens and cells are made from.
    """
    w_am = constants.ANODE.active_fraction
    foil = constants.COPPER_FOIL_THICKNESS.value
    n = lab.sheets_per_configuration
    pitch = lab.sheet_length_cm / 100.0 + lab.sheet_gap_m
    samples, realized = [], []
    for row in plan.to_dict("records"):
        rho_true, rho_nominal = float(row["density_true"]), float(row["density_nominal"])
        start = float(row["window_start_m"]) + pitch * n * int(row["slot"]) + pitch * np.arange(n)
        grid = start[:, None] + np.linspace(0.0, lab.sheet_length_cm / 100.0, 31)[None, :]
        active = loading_at(grid).mean(axis=1) * (1.0 + rng.normal(0.0, lab.cross_web_variation, n))
        total = active / w_am
        length = lab.sheet_length_cm + rng.normal(0.0, lab.cut_error_cm, n)
        width = lab.coated_width_cm + rng.normal(0.0, lab.cut_error_cm / 2.0, n)
        area_true = length * width
        area_measured = (length + rng.normal(0.0, lab.rule_error_cm, n)) * (
            width + rng.normal(0.0, lab.rule_error_cm, n)
        )
        mass = total * area_true / 1000.0 + rng.normal(0.0, lab.foil_mass_error_g, n)
        eps_u = float(row["porosity_uncalendered"]) + rng.normal(0.0, lab.uncalendered_porosity_sheet_sd, n)
        d_uncal = np.asarray(physics.thickness_from_loading(active, eps_u, rho_true, w_am))
        # The lab computes the target thickness from its weighed sheets and the nominal density (Eq. 1).
        areal_measured = float(np.mean(mass / area_measured)) * 1000.0
        d_target = float(
            physics.thickness_from_loading(areal_measured, float(row["porosity_target"]), rho_nominal, 1.0)
        )
        # The gap (and roll pressure) is tuned until the sheets come out at the target thickness, within
        # a small residual; the gap that achieved it depends on the sheet's elastic spring-back.
        springback = (lab.springback_fraction * d_target + lab.springback_offset_um) * (
            1.0 + rng.normal(0.0, lab.springback_variation)
        )
        d_mean = d_target * (1.0 + rng.normal(0.0, lab.calendering_residual))
        gap = float(np.round(d_mean + foil - springback))
        d_cal = d_mean + rng.normal(0.0, lab.calendered_thickness_sheet_sd_um, n)
        eps_cal = np.asarray(physics.porosity(total, d_cal, rho_true))
        for k in range(n):
            samples.append(
                {
                    "configuration": row["configuration"],
                    "segment": row["segment"],
                    "sheet": k + 1,
                    "coil_position_m": round(float(start[k]), 3),
                    "sheet_mass_g": round(float(mass[k]), 4),
                    "sheet_area_cm2": round(float(area_measured[k]), 2),
                    "thickness_uncalendered_um": round(float(d_uncal[k] + rng.normal(0.0, lab.micrometer_noise_um)), 1),
                    "thickness_calendered_um": round(float(d_cal[k] + rng.normal(0.0, lab.micrometer_noise_um)), 1),
                    "calendering_gap_um": gap,
                }
            )
        realized.append(
            {
                "configuration": row["configuration"],
                "segment": row["segment"],
                "mass_loading": float(active.mean()),
                "drying_temperature": float(dryer_2_seen(grid.ravel()).mean()),
                "porosity": float(eps_cal.mean()),
                "porosity_uncalendered": float(eps_u.mean()),
                "thickness_calendered_um": float(d_cal.mean()),
                "thickness_uncalendered_um": float(d_uncal.mean()),
                "calendering_gap_um": gap,
            }
        )
    return pd.DataFrame(samples, columns=SAMPLE_COLUMNS), pd.DataFrame(realized)
