"""The coater: one coil, all coating segments in sequence, and the 1 Hz log its sensors write.

The paper coated "all 13 different configurations ... on a single coil" and mapped the coating gap to
the wet and dry mass loading "considering the distance between the sensors and the coating speed"
(Haghi et al. 2023, Data Preprocessing and Analysis). Here every coil property is a function of the
*coil coordinate* u, the length of web that had passed the blade when that piece was coated:
``u = P(t) = ∫ v dt``. A sensor at distance x downstream of the blade sees, at time t, the piece
``u = P(t) − x``; so each sensor sees a segment at a different time, and a speed change moves them.

Recipe per segment (what an operator does, modelling assumption): set the gap from a rule of thumb,
read the wet-mass sensor, correct the gap once or twice (the paper's 5 % tolerance on the target
loading), and switch the second dryer's set point when the segment reaches it. Sheets for the lab are
cut from the last, steady step of each segment.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.signal import lfilter

from glassline.domains.electrode import constants

__all__ = ["LOG_UNITS", "CoilRun", "LineSettings", "SegmentRun", "run_coil"]

LOG_UNITS: dict[str, str] = {
    "time_s": "s",
    "line_speed_m_min": "m/min",
    "coating_gap_left_um": "µm",
    "coating_gap_right_um": "µm",
    "wet_mass_loading_mg_cm2": "mg/cm²",
    "dry_mass_loading_mg_cm2": "mg/cm²",
    "dryer_1_temperature_c": "°C",
    "dryer_2_temperature_c": "°C",
    "dryer_3_temperature_c": "°C",
}


@dataclass(frozen=True, slots=True)
class LineSettings:
    """Geometry, recipe rules and sensor behaviour of the simulated coater.

    Sourced: speed, first/third dryer temperatures, wet/dry sensor positions and solid content
    (constants module). Assumptions (stated here once): dryer zone positions; wet film = 0.62 × gap
    for the doctor blade (the operator's rule of thumb says 0.60); water density; a slurry that
    thickens by 0.2 wt% solids over the coil; gap motor speed; dryer time constant; step durations;
    one speed change to 0.55 m/min over the middle segment; sensor noise, resolution and dropouts.
    """

    speed_m_min: float = constants.COATING_SPEED.value
    slow_speed_m_min: float = 0.55
    gap_sensor_position_m: float = 0.0
    wet_sensor_position_m: float = constants.WET_MASS_SENSOR_POSITION.value
    dry_sensor_position_m: float = constants.DRY_MASS_SENSOR_POSITION.value
    dryer_zones_m: tuple[tuple[float, float], ...] = ((0.8, 2.3), (2.5, 4.0), (4.2, 5.7))
    dryer_1_c: float = constants.FIRST_DRYER_TEMPERATURE.value
    dryer_3_c: float = constants.THIRD_DRYER_TEMPERATURE.value
    dryer_time_constant_s: float = 90.0
    gap_transfer_ratio: float = 0.62
    recipe_gap_transfer_ratio: float = 0.60
    water_density_g_cm3: float = 0.997
    solid_content: float = constants.ANODE.solid_content.value / 100.0
    solid_content_drift: float = 0.002
    gap_speed_um_s: float = 1.0
    three_step_durations_s: tuple[float, ...] = (150.0, 200.0, 420.0)
    two_step_durations_s: tuple[float, ...] = (200.0, 480.0)
    three_step_share: float = 8.0 / 13.0
    lead_in_s: float = 30.0
    run_out_s: float = 30.0
    gap_noise_um: float = 0.5
    gap_tilt_um: float = 1.5
    wet_noise: float = 0.006
    dry_noise: float = 0.005
    loading_variation: float = 0.006
    loading_correlation_s: float = 20.0
    operator_reading_noise: float = 0.004
    temperature_noise_c: float = 0.2
    speed_noise_m_min: float = 0.001
    speed_wander_m_min: float = 0.002
    dropouts_per_channel: int = 4
    dropout_max_s: int = 25

    @property
    def slurry_density_g_cm3(self) -> float:
        """Density of the slurry from its solid content (ideal mixing of solids and water)."""
        rho_solid = constants.ANODE.theoretical_density.value
        return 1.0 / (self.solid_content / rho_solid + (1.0 - self.solid_content) / self.water_density_g_cm3)

    def wet_loading(self, gap_um: np.ndarray | float, ratio: float | None = None) -> np.ndarray:
        """Wet mass loading in mg/cm² a gap gives: ρ_slurry·φ·gap (µm → cm, g → mg: factor 0.1)."""
        phi = self.gap_transfer_ratio if ratio is None else ratio
        return np.asarray(0.1 * self.slurry_density_g_cm3 * phi * np.asarray(gap_um, dtype=float))


@dataclass
class SegmentRun:
    """One coating segment as it was run: its recipe, steps and where its lab sheets come from."""

    segment: str
    configurations: list[str]
    mass_loading_target: float
    drying_temperature_set_c: float
    set_gaps_um: list[float]
    step_start_s: list[float]
    step_end_s: list[float]
    dryer_2_change_s: float = 0.0
    sample_window_m: tuple[float, float] = (0.0, 0.0)


@dataclass
class CoilRun:
    """The coil as coated: the log, the recipe and the true coil profiles (for the lab and truth)."""

    log: pd.DataFrame
    segments: list[SegmentRun]
    steps: pd.DataFrame
    settings: LineSettings
    coil_m: np.ndarray
    active_loading: np.ndarray
    solids: np.ndarray
    time_s: np.ndarray
    dryer_2_actual_c: np.ndarray
    blade_m: np.ndarray
    extra: dict[str, Any] = field(default_factory=dict)

    def active_loading_at(self, u: np.ndarray) -> np.ndarray:
        """True active mass loading [mg/cm²] at coil coordinates *u* [m]."""
        return np.interp(u, self.coil_m, self.active_loading)

    def solids_at(self, u: np.ndarray) -> np.ndarray:
        return np.interp(u, self.coil_m, self.solids)

    def dryer_2_seen(self, u: np.ndarray) -> np.ndarray:
        """Mean second-dryer temperature the pieces at *u* saw while inside the second dryer zone."""
        z0, z1 = self.settings.dryer_zones_m[1]
        t0 = np.interp(np.asarray(u) + z0, self.blade_m, self.time_s)
        t1 = np.interp(np.asarray(u) + z1, self.blade_m, self.time_s)
        area = np.concatenate([[0.0], np.cumsum(0.5 * (self.dryer_2_actual_c[1:] + self.dryer_2_actual_c[:-1]))])
        return (np.interp(t1, self.time_s, area) - np.interp(t0, self.time_s, area)) / np.maximum(t1 - t0, 1e-9)

    def line_json(self) -> dict[str, Any]:
        s = self.settings
        positions = {
            "coating_gap_left_um": s.gap_sensor_position_m,
            "coating_gap_right_um": s.gap_sensor_position_m,
            "wet_mass_loading_mg_cm2": s.wet_sensor_position_m,
            "dry_mass_loading_mg_cm2": s.dry_sensor_position_m,
        }
        dryers = [
            {"name": f"dryer_{i + 1}", "column": f"dryer_{i + 1}_temperature_c", "start_m": a, "end_m": b}
            for i, (a, b) in enumerate(s.dryer_zones_m)
        ]
        return {
            "description": "Simulated graphite-anode pilot line (glassline reference case): doctor-blade "
            "coater with three infrared dryers; all coating segments on one coil.",
            "log": "inline_log.csv",
            "sampling_interval_s": 1.0,
            "time_column": "time_s",
            "speed_column": "line_speed_m_min",
            "nominal_speed_m_min": s.speed_m_min,
            "sensor_positions_m": positions,
            "position_reference": "distance downstream of the doctor blade along the web, in m",
            "nominal_delays_s": {k: 60.0 * v / s.speed_m_min for k, v in positions.items()},
            "dryers": dryers,
            "coating_start_s": self.extra["coating_start_s"],
            "coating_end_s": self.extra["coating_end_s"],
            "recipe": [
                {
                    "segment": seg.segment,
                    "configurations": seg.configurations,
                    "mass_loading_target_mg_cm2": seg.mass_loading_target,
                    "dryer_2_set_temperature_c": seg.drying_temperature_set_c,
                    "start_time_s": seg.step_start_s[0],
                    "end_time_s": seg.step_end_s[-1],
                    "dryer_2_change_time_s": seg.dryer_2_change_s,
                    "steps": [
                        {"step": k + 1, "set_gap_um": g, "start_time_s": a, "end_time_s": b}
                        for k, (g, a, b) in enumerate(
                            zip(seg.set_gaps_um, seg.step_start_s, seg.step_end_s, strict=True)
                        )
                    ],
                }
                for seg in self.segments
            ],
            "units": dict(LOG_UNITS),
            "notes": [
                "time_s: seconds since the log started; start/end times in the recipe are at the blade.",
                "A sensor at distance x sees, at time t, the web that passed the blade when the coil "
                "had moved x less: integrate line_speed_m_min over time (the speed is not constant).",
                "coating gap: two sensors at the left and right of the blade; their mean is the gap.",
                "dry_mass_loading_mg_cm2: total solids per area (active material is 94 wt%).",
            ],
            "settings": asdict(s),
        }


def _ar1(rng: np.random.Generator, n: int, sigma: float, correlation_s: float) -> np.ndarray:
    """Stationary AR(1) series with standard deviation *sigma* and correlation time in samples."""
    a = float(np.exp(-1.0 / correlation_s))
    shocks = rng.normal(0.0, sigma * np.sqrt(1.0 - a * a), n)
    return np.asarray(lfilter([1.0], [1.0, -a], shocks, zi=[rng.normal(0.0, sigma) * a])[0])


def _lag(x: np.ndarray, tau_s: float) -> np.ndarray:
    """First-order lag at 1 Hz, starting settled at x[0]."""
    a = float(np.exp(-1.0 / tau_s))
    return np.asarray(lfilter([1.0 - a], [1.0, -a], x, zi=[a * x[0]])[0])


def _coil_order(design: pd.DataFrame) -> list[tuple[float, float]]:
    """Distinct (loading, temperature) pairs in coating order: by temperature, loading snaking."""
    pairs = sorted(
        {(float(m), float(t)) for m, t in zip(design["mass_loading"], design["drying_temperature"], strict=True)}
    )
    temperatures = sorted({t for _, t in pairs})
    order: list[tuple[float, float]] = []
    for i, t in enumerate(temperatures):
        group = sorted((p for p in pairs if p[1] == t), reverse=bool(i % 2))
        order.extend(group)
    return order


def run_coil(
    design: pd.DataFrame,
    rng: np.random.Generator,
    *,
    settings: LineSettings | None = None,
    dryer_bias_c: float = 0.0,
    bias_from_segment: int | None = None,
) -> CoilRun:
    """Plan and run the coil for *design*; returns the log, recipe and true coil profiles.

    ``dryer_bias_c`` (drift): from segment number *bias_from_segment* (1-based, coil order) on, the
    second dryer's thermocouple reads that much too high; the controller holds the *reading* at the
    set point, so the web sees set − bias while the log shows (after a transient) the set point.
    """
    s = settings or LineSettings()
    order = _coil_order(design)
    n_seg = len(order)
    n_three = round(n_seg * s.three_step_share)
    three = set(rng.permutation(n_seg)[:n_three].tolist())
    segments: list[SegmentRun] = []
    t = s.lead_in_s
    for k, (m, temp) in enumerate(order):
        mask = (design["mass_loading"] == m) & (design["drying_temperature"] == temp)
        durations = s.three_step_durations_s if k in three else s.two_step_durations_s
        starts = [t + sum(durations[:j]) for j in range(len(durations))]
        ends = [a + d for a, d in zip(starts, durations, strict=True)]
        t = ends[-1]
        segments.append(
            SegmentRun(
                segment=f"S{k + 1:02d}",
                configurations=[str(c) for c in design.loc[mask, "configuration"]],
                mass_loading_target=m,
                drying_temperature_set_c=temp,
                set_gaps_um=[],
                step_start_s=starts,
                step_end_s=ends,
            )
        )
    coating_start, coating_end = s.lead_in_s, t
    slow = segments[n_seg // 2]
    slow_from, slow_to = slow.step_start_s[0], slow.step_end_s[-1]
    horizon = int(np.ceil(coating_end + 60.0 * s.dry_sensor_position_m / s.slow_speed_m_min + s.run_out_s)) + 1
    time = np.arange(horizon, dtype=float)
    n = time.size

    # Line speed: set value with one slower stretch, 20 s ramps, a slow wander; P(t) integrates it.
    speed_set = np.where((time >= slow_from) & (time < slow_to), s.slow_speed_m_min, s.speed_m_min)
    speed = np.convolve(np.pad(speed_set, (10, 9), mode="edge"), np.ones(20) / 20.0, mode="valid")
    speed = speed + _ar1(rng, n, s.speed_wander_m_min, 120.0)
    blade_m = np.concatenate([[0.0], np.cumsum(0.5 * (speed[1:] + speed[:-1]) / 60.0)])

    # Slurry: solids drift over the coil, down-web loading fluctuation from the feed.
    progress = np.clip((time - coating_start) / (coating_end - coating_start), 0.0, 1.0)
    solids = s.solid_content + s.solid_content_drift * progress
    fluctuation = _ar1(rng, n, s.loading_variation, s.loading_correlation_s)

    # Operator: rule-of-thumb gap, then one or two corrections from the wet-mass sensor.
    gap_set = np.empty(n)
    for seg in segments:
        target_wet = seg.mass_loading_target / constants.ANODE.active_fraction / s.solid_content
        gaps = [float(np.round(target_wet / s.wet_loading(1.0, s.recipe_gap_transfer_ratio)))]
        for _ in seg.step_start_s[1:]:
            measured = float(s.wet_loading(gaps[-1])) * (1.0 + rng.normal(0.0, s.operator_reading_noise))
            gaps.append(float(np.round(2.0 * gaps[-1] * target_wet / measured) / 2.0))
        seg.set_gaps_um = gaps
        for g, a, b in zip(gaps, seg.step_start_s, seg.step_end_s, strict=True):
            gap_set[(time >= a) & (time < b)] = g
    gap_set[time < coating_start] = segments[0].set_gaps_um[0]
    gap_set[time >= coating_end] = segments[-1].set_gaps_um[-1]
    gap = np.empty(n)
    gap[0] = gap_set[0]
    for i in range(1, n):
        gap[i] = gap[i - 1] + np.clip(gap_set[i] - gap[i - 1], -s.gap_speed_um_s, s.gap_speed_um_s)

    coating = (time >= coating_start) & (time <= coating_end)
    wet_true = s.wet_loading(gap) * (1.0 + fluctuation)
    active = wet_true * solids * constants.ANODE.active_fraction

    # Second dryer: set point switches when a segment's start reaches the dryer.
    z_mid = 0.5 * sum(s.dryer_zones_m[1])
    t2_set = np.full(n, segments[0].drying_temperature_set_c)
    bias = np.zeros(n)
    for k, seg in enumerate(segments):
        seg.dryer_2_change_s = float(
            np.round(np.interp(np.interp(seg.step_start_s[0], time, blade_m) + z_mid, blade_m, time))
        )
        t2_set[time >= seg.dryer_2_change_s] = seg.drying_temperature_set_c
        if dryer_bias_c and bias_from_segment is not None and k + 1 == bias_from_segment:
            bias[time >= seg.dryer_2_change_s] = dryer_bias_c
    t2_actual = _lag(t2_set - bias, s.dryer_time_constant_s)

    def at_sensor(values: np.ndarray, position_m: float) -> np.ndarray:
        u = blade_m - position_m
        out = np.interp(u, blade_m, values)
        coated = (u >= np.interp(coating_start, time, blade_m)) & (u <= np.interp(coating_end, time, blade_m))
        return np.where(coated, out, np.nan)

    wet_seen = at_sensor(wet_true, s.wet_sensor_position_m)
    dry_seen = at_sensor(wet_true * solids, s.dry_sensor_position_m)
    log = pd.DataFrame(
        {
            "time_s": time.astype(int),
            "line_speed_m_min": np.round(speed + rng.normal(0.0, s.speed_noise_m_min, n), 4),
            "coating_gap_left_um": np.round(gap + s.gap_tilt_um + rng.normal(0.0, s.gap_noise_um, n), 1),
            "coating_gap_right_um": np.round(gap - s.gap_tilt_um + rng.normal(0.0, s.gap_noise_um, n), 1),
            "wet_mass_loading_mg_cm2": np.round(wet_seen * (1.0 + rng.normal(0.0, s.wet_noise, n)), 3),
            "dry_mass_loading_mg_cm2": np.round(dry_seen * (1.0 + rng.normal(0.0, s.dry_noise, n)), 3),
            "dryer_1_temperature_c": np.round(
                s.dryer_1_c + _ar1(rng, n, 0.15, 60.0) + rng.normal(0.0, s.temperature_noise_c, n), 1
            ),
            "dryer_2_temperature_c": np.round(t2_actual + bias + rng.normal(0.0, s.temperature_noise_c, n), 1),
            "dryer_3_temperature_c": np.round(
                s.dryer_3_c + _ar1(rng, n, 0.15, 60.0) + rng.normal(0.0, s.temperature_noise_c, n), 1
            ),
        }
    )
    for column in list(LOG_UNITS)[1:]:
        for _ in range(s.dropouts_per_channel):
            start = int(rng.integers(0, n - s.dropout_max_s))
            log.loc[start : start + int(rng.integers(2, s.dropout_max_s)), column] = np.nan

    # Lab sheets come from the last step, after 0.5 m for the gap to settle.
    for seg in segments:
        a = float(np.interp(seg.step_start_s[-1], time, blade_m)) + 0.5
        b = float(np.interp(seg.step_end_s[-1], time, blade_m))
        seg.sample_window_m = (a, b)

    run = CoilRun(
        log=log,
        segments=segments,
        steps=pd.DataFrame(),
        settings=s,
        coil_m=blade_m,
        active_loading=np.where(coating, active, np.nan),
        solids=solids,
        time_s=time,
        dryer_2_actual_c=t2_actual,
        blade_m=blade_m,
        extra={"coating_start_s": coating_start, "coating_end_s": coating_end, "gap_true_um": gap},
    )
    run.steps = _step_truth(run, wet_true, gap)
    return run


def _step_truth(run: CoilRun, wet_true: np.ndarray, gap: np.ndarray) -> pd.DataFrame:
    """True mean values of each recipe step, over its steady part (after the gap has settled)."""
    rows = []
    for seg in run.segments:
        for k, (a, b, g) in enumerate(zip(seg.step_start_s, seg.step_end_s, seg.set_gaps_um, strict=True)):
            steady = (run.time_s >= a + 60.0) & (run.time_s < b)
            u = run.blade_m[steady]
            rows.append(
                {
                    "segment": seg.segment,
                    "step": k + 1,
                    "start_m": float(np.interp(a, run.time_s, run.blade_m)),
                    "end_m": float(np.interp(b, run.time_s, run.blade_m)),
                    "set_gap_um": g,
                    "coating_gap_um": float(gap[steady].mean()),
                    "wet_mass_loading_mg_cm2": float(wet_true[steady].mean()),
                    "dry_mass_loading_mg_cm2": float((wet_true * run.solids)[steady].mean()),
                    "active_mass_loading_mg_cm2": float(run.active_loading_at(u).mean()),
                    "dryer_2_seen_c": float(run.dryer_2_seen(u).mean()),
                }
            )
    return pd.DataFrame(rows)
