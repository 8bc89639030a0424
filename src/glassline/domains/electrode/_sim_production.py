"""A production run of the coating line: many coils a day, 3-5 recipe changes per coil, an inline log at 10 Hz.

``glassline simulate --production DAYS`` writes, in bounded memory (one coil at a time):

* ``log/day=YYYY-MM-DD/coil-NNNNN.parquet``: the inline log, partitioned by the day each coil starts
  (a coil's rows never straddle two files): ``coil``, ``time_s`` (since the run's start), the line speed
  and the sensors of the pilot line (coating gaps left/right at the blade, wet and dry mass loading
  downstream, the dryer-2 temperature), with dropouts as empty cells;
* ``segments.csv``: one row per coating segment (recipe change): ``coil``, ``segment``, ``recipe``,
  ``start_time_s``, ``end_time_s`` (when the blade coated it), the set gap and dryer set point, and the
  **true** means of the segment's steady part (``true_*``: what the aggregation must recover);
* ``production.json``: the layout the production path of ``glassline prepare`` reads (sensor positions,
  trim, columns, row count).

24 coils a day of 3,600 s at 10 Hz: 864,000 log rows a day, 25.9 million for 30 days.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from glassline._progress import ProgressCallback
from glassline.exceptions import SpecError

__all__ = ["ProductionResult", "simulate_production"]

COILS_PER_DAY = 24
COIL_SECONDS = 3600.0
RATE_HZ = 10.0
#: sensor → distance downstream of the blade in m (the pilot line's layout)
SENSOR_POSITIONS_M = {
    "coating_gap_left_um": 0.0,
    "coating_gap_right_um": 0.0,
    "wet_mass_loading_mg_cm2": 1.2,
    "dryer_2_temperature_c": 5.5,
    "dry_mass_loading_mg_cm2": 11.0,
}
TRIM_M = 1.0
MIN_SEGMENT_S = 480.0
DROPOUT = 0.004
RECIPES = ("A", "B", "C", "D")


@dataclass
class ProductionResult:
    """What :func:`simulate_production` wrote."""

    out: Path
    days: int
    coils: int
    segments: int
    log_rows: int
    rows: dict[str, int] = field(default_factory=dict)

    def description(self) -> str:
        return (
            f"production run: {self.days} days, {self.coils} coils, {self.segments} segments, "
            f"{self.log_rows:,} inline-log rows"
        )


def simulate_production(
    out_dir: Path, days: int, *, seed: int, rate_hz: float = RATE_HZ, progress: ProgressCallback | None = None
) -> ProductionResult:
    """Write a production run of *days* days to *out_dir* (see the module docstring); one coil in memory at a time."""
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 366:
        raise SpecError(f"--production: expected a whole number of days from 1 to 366, got {days!r}")
    if not 0.1 <= rate_hz <= 100:
        raise SpecError(f"rate_hz: expected 0.1 to 100 samples per second, got {rate_hz}")
    out = Path(out_dir)
    (out / "log").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    dt = 1.0 / rate_hz
    n = round(COIL_SECONDS * rate_hz)
    segments: list[dict[str, object]] = []
    total = days * COILS_PER_DAY
    log_rows = 0
    start = pd.Timestamp("2026-01-01")
    for coil in range(total):
        day = coil // COILS_PER_DAY
        t0 = coil * COIL_SECONDS
        t = t0 + np.arange(n) * dt
        # the line speed: a slow wander around 0.6 m/min and a step at a random time (a speed change)
        speed = 0.6 + 0.03 * np.sin(2 * np.pi * (t - t0) / rng.uniform(600, 1800)) + rng.normal(0, 0.004, n)
        speed[int(rng.integers(n // 4, 3 * n // 4)) :] *= rng.uniform(0.85, 1.15)
        speed = np.clip(speed, 0.2, None)
        position = np.concatenate([[0.0], np.cumsum(0.5 * (speed[1:] + speed[:-1]) / 60.0 * dt)])
        # recipe changes: 3-5 segments per coil of at least 480 s each (when the blade coated them)
        k = int(rng.integers(3, 6))
        spare = rng.dirichlet(np.ones(k)) * (COIL_SECONDS - k * MIN_SEGMENT_S)
        edges = np.concatenate([[0], np.round(np.cumsum(MIN_SEGMENT_S + spare) * rate_hz).astype(int)])
        edges[-1] = n
        gap = np.empty(n)
        dryer = np.empty(n)
        wet_per_um = 0.105
        for s in range(k):
            a, b = edges[s], edges[s + 1]
            set_gap = float(rng.uniform(120, 240))
            set_dryer = float(rng.choice([60.0, 70.0, 80.0, 90.0]))
            gap[a:b] = set_gap
            dryer[a:b] = set_dryer
            steady = slice(a, b)
            segments.append(
                {
                    "coil": coil,
                    "segment": f"K{coil:05d}-S{s + 1}",
                    "recipe": str(rng.choice(RECIPES)),
                    "start_time_s": round(float(t[a]), 3),
                    "end_time_s": round(float(t0 + b * dt), 3),
                    "set_gap_um": round(set_gap, 3),
                    "dryer_setpoint_c": set_dryer,
                    "true_coating_gap_um": set_gap,
                    "true_wet_mass_loading_mg_cm2": set_gap * wet_per_um,
                    "true_dry_mass_loading_mg_cm2": set_gap * wet_per_um * 0.42,
                    "true_dryer_2_temperature_c": float(np.mean(dryer[steady])),
                }
            )

        log = pd.DataFrame(
            {
                "coil": np.full(n, coil, dtype=np.int32),
                "time_s": np.round(t, 3),
                "line_speed_m_min": np.round(speed, 5),
            }
        )
        noise = {
            "coating_gap_left_um": 1.5,
            "coating_gap_right_um": 1.5,
            "wet_mass_loading_mg_cm2": 0.15,
            "dryer_2_temperature_c": 0.4,
            "dry_mass_loading_mg_cm2": 0.06,
        }
        truth = {
            "coating_gap_left_um": gap + 1.0,
            "coating_gap_right_um": gap - 1.0,
            "wet_mass_loading_mg_cm2": gap * wet_per_um,
            "dryer_2_temperature_c": dryer,
            "dry_mass_loading_mg_cm2": gap * wet_per_um * 0.42,
        }
        for name, offset in SENSOR_POSITIONS_M.items():
            # the sensor sees the material that passed the blade when the coil was *offset* m shorter
            seen = np.interp(position - offset, position, truth[name], left=np.nan)
            value = seen + rng.normal(0.0, noise[name], n)
            value[rng.random(n) < DROPOUT] = np.nan
            log[name] = np.round(value, 4)
        folder = out / "log" / f"day={(start + pd.Timedelta(days=day)).date().isoformat()}"
        folder.mkdir(parents=True, exist_ok=True)
        log.to_parquet(folder / f"coil-{coil:05d}.parquet", index=False, compression="zstd")
        log_rows += n
        if progress:
            progress("coils", coil + 1, total)
    table = pd.DataFrame(segments)
    table.to_csv(out / "segments.csv", index=False)
    layout = {
        "kind": "production",
        "log": "log",
        "segments": "segments.csv",
        "coil_column": "coil",
        "time_column": "time_s",
        "speed_column": "line_speed_m_min",
        "sensor_positions_m": SENSOR_POSITIONS_M,
        "trim_m": TRIM_M,
        "rate_hz": rate_hz,
        "days": days,
        "coils": total,
        "log_rows": log_rows,
        "seed": seed,
    }
    (out / "production.json").write_text(json.dumps(layout, indent=2) + "\n", encoding="utf-8")
    return ProductionResult(out, days, total, len(table), log_rows, {"log": log_rows, "segments.csv": len(table)})
