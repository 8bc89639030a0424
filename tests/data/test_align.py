"""Sensor alignment on a synthetic line with known sensor distances and a changing speed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from glassline.data import Segment, align_to_coil, coil_position, estimate_lag, segment_means
from glassline.exceptions import DataError


def synthetic_line(
    rng: np.random.Generator, *, offset_m: float = 6.0, dropouts: bool = True
) -> tuple[pd.DataFrame, list[Segment], dict[str, float]]:
    """A coil of 5 segments of 2 m each; speed 0.6 m/min with a step to 0.5 m/min half way."""
    t = np.arange(0.0, 2400.0)
    speed = np.where(t < 1200, 0.6, 0.5)
    position = coil_position(t, speed)
    levels = {"S1": 8.0, "S2": 9.5, "S3": 11.0, "S4": 9.0, "S5": 10.0}
    bounds = np.arange(0, 12, 2.0)
    ids = list(levels)

    def truth_at(s: np.ndarray) -> np.ndarray:
        out = np.full(s.shape, np.nan)
        for i, key in enumerate(ids):
            out[(s >= bounds[i]) & (s < bounds[i + 1])] = levels[key]
        return out

    wet = truth_at(position) + rng.normal(0, 0.05, t.size)
    dry = truth_at(position - offset_m) * 0.52 + rng.normal(0, 0.02, t.size)
    if dropouts:
        dry[700:715] = np.nan
    log = pd.DataFrame({"time_s": t, "line_speed_m_min": speed, "wet": wet, "dry": dry})
    segments = [Segment(key, bounds[i], bounds[i + 1]) for i, key in enumerate(ids)]
    return log, segments, levels


def test_coil_position_integrates_changing_speed() -> None:
    t = np.array([0.0, 60.0, 120.0, 180.0])
    v = np.array([0.6, 0.6, 0.3, 0.3])
    # 0.6 m/min for 60 s = 0.6 m; trapezoid 0.6→0.3 over 60 s = 0.45 m; then 0.3 m
    assert coil_position(t, v) == pytest.approx([0.0, 0.6, 1.05, 1.35])


@given(st.lists(st.floats(0.1, 2.0), min_size=2, max_size=50))
def test_coil_position_is_monotone(speeds: list[float]) -> None:
    position = coil_position(np.arange(len(speeds), dtype=float), np.array(speeds))
    assert np.all(np.diff(position) > 0)


def test_segment_means_recover_each_sensor(rng: np.random.Generator) -> None:
    log, segments, levels = synthetic_line(rng)
    aligned = align_to_coil(log, {"wet": 0.0, "dry": 6.0})
    means = segment_means(aligned, segments, {"wet": "wet__coil_m", "dry": "dry__coil_m"}, trim_m=0.2)
    for _, row in means.iterrows():
        assert row["wet"] == pytest.approx(levels[row["segment"]], abs=0.02)
        assert row["dry"] == pytest.approx(0.52 * levels[row["segment"]], abs=0.02)
    # the dropout removed readings but nothing else
    assert (means["n_dry"] < means["n_wet"]).any()


def test_pieces_and_short_segments(rng: np.random.Generator) -> None:
    log, segments, _ = synthetic_line(rng, dropouts=False)
    aligned = align_to_coil(log, {"wet": 0.0})
    means = segment_means(aligned, segments, {"wet": "wet__coil_m"}, trim_m=0.1, pieces=3)
    assert len(means) == 15
    assert set(means["piece"]) == {1, 2, 3}
    with pytest.raises(DataError, match="shorter than twice the trim"):
        segment_means(aligned, segments, {"wet": "wet__coil_m"}, trim_m=1.5)


def test_lag_is_recovered_within_one_sample(rng: np.random.Generator) -> None:
    log, _, _ = synthetic_line(rng, dropouts=True)
    first_half = log.iloc[:1200]  # constant 0.6 m/min: 6 m take 600 s
    estimate = estimate_lag(first_half["wet"].to_numpy(), first_half["dry"].to_numpy() / 0.52, max_lag=900)
    assert abs(estimate.lag - 600) <= 1
    assert estimate.correlation > 0.2
    # the peak stands out from every lag more than one sample away
    far = np.abs(estimate.lags - estimate.lag) > 1
    assert estimate.curve[far].max() < 0.9 * estimate.correlation


def test_bad_inputs() -> None:
    with pytest.raises(DataError, match="strictly increasing"):
        coil_position(np.array([0.0, 0.0, 1.0]), np.array([0.6, 0.6, 0.6]))
    with pytest.raises(DataError, match="negative line speed"):
        coil_position(np.array([0.0, 1.0]), np.array([0.6, -0.1]))
    with pytest.raises(DataError, match="every line-speed reading is missing"):
        coil_position(np.array([0.0, 1.0]), np.array([np.nan, np.nan]))
    with pytest.raises(DataError, match="no column 'speed'"):
        align_to_coil(pd.DataFrame({"time_s": [0.0, 1.0]}), {}, speed="speed")
    with pytest.raises(DataError, match="max_lag"):
        estimate_lag(np.arange(10.0), np.arange(10.0), max_lag=20)
