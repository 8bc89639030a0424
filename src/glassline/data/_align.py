"""Sensor alignment along a moving web: map every signal to the position on the coil it measured.

A coater writes one time series; each sensor sits at a fixed distance downstream of the coating blade,
so at time t it sees the material that passed the blade when the coil had moved that distance less.
With the line speed v(t) the coil coordinate under the blade is P(t) = ∫ v dt, and a sensor at distance
x sees coil coordinate s = P(t) − x. Speed may change over time; P is integrated, never assumed linear.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from glassline.exceptions import DataError

__all__ = [
    "LagEstimate",
    "Segment",
    "align_to_coil",
    "coil_position",
    "estimate_lag",
    "segment_means",
]


def coil_position(time_s: np.ndarray, speed_m_per_min: np.ndarray) -> np.ndarray:
    """Coil length that has passed the blade at each time, in m (trapezoidal integral of the speed).

    Missing speed readings are interpolated from their neighbours; a negative speed, an empty or
    decreasing time axis is an error.
    """
    t = np.asarray(time_s, dtype=float)
    v = np.asarray(speed_m_per_min, dtype=float) / 60.0
    if t.ndim != 1 or t.size < 2 or t.shape != v.shape:
        raise DataError("coil position: time and speed must be 1-D arrays of the same length ≥ 2")
    if np.isnan(t).any() or np.any(np.diff(t) <= 0):
        raise DataError("coil position: time must be strictly increasing without gaps in the time column")
    missing = np.isnan(v)
    if missing.all():
        raise DataError("coil position: every line-speed reading is missing")
    if missing.any():
        v = v.copy()
        v[missing] = np.interp(t[missing], t[~missing], v[~missing])
    if np.any(v < 0):
        i = int(np.flatnonzero(v < 0)[0])
        raise DataError(f"coil position: negative line speed {v[i] * 60:g} m/min at time {t[i]:g} s")
    steps = 0.5 * (v[1:] + v[:-1]) * np.diff(t)
    return np.concatenate([[0.0], np.cumsum(steps)])


def align_to_coil(
    log: pd.DataFrame,
    sensors: Mapping[str, float],
    *,
    time: str = "time_s",
    speed: str = "line_speed_m_min",
) -> pd.DataFrame:
    """Per sensor column, the coil coordinate (m from the coil start) of the material it measured.

    ``sensors`` maps a signal column to its distance downstream of the blade in m. Returns a frame
    with one ``<column>__coil_m`` column per sensor beside the signals; coordinates below 0 (the
    sensor saw uncoated foil) are NaN.
    """
    for column in (time, speed, *sensors):
        if column not in log.columns:
            raise DataError(f"sensor alignment: the log has no column {column!r}; columns are {list(log.columns)}")
    position = coil_position(log[time].to_numpy(), log[speed].to_numpy())
    out = log.copy()
    for column, offset in sensors.items():
        coordinate = position - float(offset)
        coordinate[coordinate < 0] = np.nan
        out[f"{column}__coil_m"] = coordinate
    out["blade__coil_m"] = position
    return out


@dataclass(frozen=True)
class Segment:
    """A stretch of coil ``[start_m, end_m)`` that belongs to one configuration (or coating segment)."""

    id: str
    start_m: float
    end_m: float


def segment_means(
    aligned: pd.DataFrame,
    segments: Sequence[Segment],
    columns: Mapping[str, str],
    *,
    trim_m: float = 0.0,
    pieces: int = 1,
    min_samples: int = 3,
) -> pd.DataFrame:
    """Average every signal over each segment (or over ``pieces`` equal sub-segments of it).

    ``columns`` maps a signal column to its coordinate column (as made by :func:`align_to_coil`).
    ``trim_m`` is cut from both ends of a segment to skip transitions. NaN readings (dropouts) are left
    out; a (sub-)segment with fewer than ``min_samples`` valid readings of a signal gets NaN and its
    ``n_<column>`` count says why. One row per segment piece: segment, piece, start_m, end_m, the means,
    and the counts.
    """
    if pieces < 1:
        raise DataError(f"segment means: pieces must be ≥ 1, got {pieces}")
    starts: list[float] = []
    ends: list[float] = []
    ids: list[str] = []
    piece_numbers: list[int] = []
    for segment in segments:
        start, end = segment.start_m + trim_m, segment.end_m - trim_m
        if end <= start:
            raise DataError(
                f"segment {segment.id!r}: {segment.end_m - segment.start_m:g} m long, shorter than twice the trim "
                f"of {trim_m:g} m"
            )
        edges = np.linspace(start, end, pieces + 1)
        starts.extend(edges[:-1].tolist())
        ends.extend(edges[1:].tolist())
        ids.extend([segment.id] * pieces)
        piece_numbers.extend(range(1, pieces + 1))
    lower, upper = np.array(starts), np.array(ends)
    out = pd.DataFrame({"segment": ids, "piece": piece_numbers, "start_m": lower, "end_m": upper})
    for column, coord in columns.items():
        # sort once by coordinate; window sums from cumulative sums: O(n log n + pieces), not O(n·pieces)
        coordinate = aligned[coord].to_numpy(dtype=float)
        values = aligned[column].to_numpy(dtype=float)
        order = np.argsort(coordinate, kind="stable")  # NaN coordinates sort last
        coordinate, values = coordinate[order], values[order]
        valid = ~np.isnan(values) & ~np.isnan(coordinate)
        sums = np.concatenate([[0.0], np.cumsum(np.where(valid, values, 0.0))])
        counts = np.concatenate([[0], np.cumsum(valid)])
        finite = int(np.count_nonzero(~np.isnan(coordinate)))
        i = np.searchsorted(coordinate[:finite], lower, side="left")
        j = np.searchsorted(coordinate[:finite], upper, side="left")
        n = counts[j] - counts[i]
        with np.errstate(invalid="ignore", divide="ignore"):
            means = (sums[j] - sums[i]) / n
        out[column] = np.where(n >= min_samples, means, np.nan)
        out[f"n_{column}"] = n
    return out


@dataclass(frozen=True)
class LagEstimate:
    """Lag of one signal behind a reference, in samples, from the peak of their cross-correlation."""

    lag: int
    correlation: float
    lags: np.ndarray
    curve: np.ndarray


def estimate_lag(reference: np.ndarray, signal: np.ndarray, *, max_lag: int) -> LagEstimate:
    """Estimate how many samples *signal* trails *reference* (cross-correlation of their changes).

    Both series are differenced (so steps between configurations dominate, not slow trends),
    dropouts are interpolated, and the normalised cross-correlation is computed for lags 0…max_lag.
    """
    a = _fill(np.asarray(reference, dtype=float))
    b = _fill(np.asarray(signal, dtype=float))
    if a.shape != b.shape:
        raise DataError("lag estimate: reference and signal must have the same length")
    if not 0 < max_lag < a.size - 2:
        raise DataError(f"lag estimate: max_lag must be between 1 and {a.size - 3}, got {max_lag}")
    da, db = np.diff(a), np.diff(b)
    da = (da - da.mean()) / (da.std() or 1.0)
    db = (db - db.mean()) / (db.std() or 1.0)
    n = da.size
    lags = np.arange(max_lag + 1)
    # biased (1/n) normalisation: a lag that overlaps few samples cannot win on noise alone
    curve = np.array([np.dot(da[: n - k], db[k:]) / n for k in lags])
    best = int(np.argmax(curve))
    return LagEstimate(lag=int(lags[best]), correlation=float(curve[best]), lags=lags, curve=curve)


def _fill(values: np.ndarray) -> np.ndarray:
    missing = np.isnan(values)
    if missing.all():
        raise DataError("lag estimate: the signal has no valid readings")
    if missing.any():
        index = np.arange(values.size)
        values = values.copy()
        values[missing] = np.interp(index[missing], index[~missing], values[~missing])
    return values
