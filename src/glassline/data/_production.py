"""The production path of ``prepare``: a line's inline log of many coils → one row of aligned sensor means per segment.

A production raw folder holds ``production.json`` (the layout: log folder, segments table, coil / time /
speed columns, sensor positions downstream of the blade, trim), the inline log as Parquet files (e.g.
partitioned by day; every coil's rows in one file) and ``segments.csv`` (``coil``, ``segment``,
``start_time_s``, ``end_time_s`` when the blade coated it, any other columns are carried along).

Per coil, the sensors are aligned to the coil coordinate (:func:`~glassline.data.align_to_coil`: the
integrated line speed, each sensor's distance) and averaged over every segment, trimmed at both ends
(:func:`~glassline.data.segment_means`). A log larger than :data:`DASK_LOG_BYTES` on disk (or
``$GLASSLINE_DASK_LOG_BYTES``) goes through ``dask.dataframe``, one file per partition, so memory
holds a few files whatever the log's length; a smaller one is read into memory with pandas. Both paths
run the same per-coil computation on the same rows, so their numbers are identical.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from glassline._cluster import active_cluster, require_dask
from glassline.data._align import Segment, align_to_coil, segment_means
from glassline.exceptions import DataError, SpecError

__all__ = [
    "DASK_LOG_BYTES",
    "ProductionDataset",
    "aggregate_production",
    "is_production_folder",
    "prepare_production",
]

#: a log larger than this on disk (Parquet bytes) is aggregated with dask.dataframe (about 4-8× in memory)
DASK_LOG_BYTES = 256 * 2**20
_ENV = "GLASSLINE_DASK_LOG_BYTES"
MIN_SAMPLES = 5


@dataclass(frozen=True)
class ProductionDataset:
    """The production path's outcome: one row per segment (``segments.parquet``) and how it was computed."""

    table: pd.DataFrame
    engine: str
    log_rows: int
    log_bytes: int
    files: int
    seconds: float
    out: Path | None = None

    def summary(self) -> str:
        return (
            f"{self.log_rows:,} log rows ({self.log_bytes / 2**20:.1f} MB in {self.files} files) → "
            f"{len(self.table)} segments with the {self.engine} path in {self.seconds:.1f} s"
        )


def is_production_folder(path: Path) -> bool:
    """Whether *path* is a production raw folder (it holds ``production.json``)."""
    return (Path(path) / "production.json").is_file()


def _layout(raw: Path) -> dict[str, Any]:
    file = raw / "production.json"
    try:
        layout = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise DataError(f"{file}: cannot be read as JSON ({error})") from None
    needed = ["log", "segments", "coil_column", "time_column", "speed_column", "sensor_positions_m"]
    missing = [k for k in needed if k not in layout]
    if not isinstance(layout, dict) or missing:
        raise DataError(f"{file}: expected the entries {needed}; missing {missing}")
    return layout


def _log_files(raw: Path, layout: Mapping[str, Any]) -> list[Path]:
    log = raw / str(layout["log"])
    files = sorted(log.rglob("*.parquet")) if log.is_dir() else [log] if log.is_file() else []
    if not files:
        raise DataError(f"{log}: no Parquet files of the inline log (production.json 'log')")
    return files


def _segments(raw: Path, layout: Mapping[str, Any]) -> pd.DataFrame:
    file = raw / str(layout["segments"])
    try:
        table = pd.read_csv(file)
    except (OSError, ValueError) as error:
        raise DataError(f"{file}: cannot be read as a CSV table ({error})") from None
    coil = str(layout["coil_column"])
    needed = [coil, "segment", "start_time_s", "end_time_s"]
    missing = [c for c in needed if c not in table.columns]
    if missing:
        raise DataError(f"{file}: expected the columns {needed}; missing {missing}; it has {list(table.columns)}")
    for column in ("start_time_s", "end_time_s"):
        values = pd.to_numeric(table[column], errors="coerce")
        if values.isna().any():
            row = int(np.flatnonzero(values.isna().to_numpy())[0])
            raise DataError(
                f"{file}: row {row + 2}, column {column!r}: expected a time in s, found {table[column].iloc[row]!r}"
            )
    if table["segment"].duplicated().any():
        raise DataError(f"{file}: segment {table['segment'][table['segment'].duplicated()].iloc[0]!r} appears twice")
    return table


def _coil_means(log: pd.DataFrame, segments: pd.DataFrame, layout: Mapping[str, Any]) -> pd.DataFrame:
    """Aligned, trimmed sensor means per segment of one coil's log (the computation both paths share)."""
    time_c, speed_c = str(layout["time_column"]), str(layout["speed_column"])
    positions = {str(k): float(v) for k, v in layout["sensor_positions_m"].items()}
    log = log.sort_values(time_c, kind="stable")
    aligned = align_to_coil(log, positions, time=time_c, speed=speed_c)
    blade = aligned["blade__coil_m"].to_numpy(dtype=float)
    times = log[time_c].to_numpy(dtype=float)
    steps = [
        Segment(str(s), float(np.interp(a, times, blade)), float(np.interp(b, times, blade)))
        for s, a, b in segments[["segment", "start_time_s", "end_time_s"]].itertuples(index=False)
    ]
    means = segment_means(
        aligned,
        steps,
        {c: f"{c}__coil_m" for c in positions},
        trim_m=float(layout.get("trim_m", 0.0)),
        min_samples=MIN_SAMPLES,
    )
    return means.drop(columns=["piece"])


def _part_means(log: pd.DataFrame, segments: pd.DataFrame, layout: Mapping[str, Any], source: str) -> pd.DataFrame:
    """The segment means of every coil in one part of the log (a file, or the whole log)."""
    coil_c = str(layout["coil_column"])
    if coil_c not in log.columns:
        raise DataError(f"{source}: the inline log has no column {coil_c!r}; it has {list(log.columns)}")
    parts = []
    for coil, rows in log.groupby(coil_c, sort=True):
        own = segments[segments[coil_c] == coil]
        if len(own):
            parts.append(_coil_means(rows, own, layout))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def _read_file(path: str, columns: list[str]) -> pd.DataFrame:
    try:
        return pd.read_parquet(path, columns=columns)
    except (OSError, ValueError, KeyError) as error:
        raise DataError(f"{path}: cannot be read as the inline log's Parquet ({error})") from None


def _file_means(path: str, read_columns: list[str], segments: pd.DataFrame, layout: Mapping[str, Any]) -> pd.DataFrame:
    return _part_means(_read_file(path, read_columns), segments, layout, path)


def aggregate_production(
    raw: str | Path, *, engine: Literal["auto", "pandas", "dask"] = "auto", dask_bytes: int | None = None
) -> ProductionDataset:
    """Segment means of a production raw folder (see the module docstring).

    *engine*: ``auto`` (dask.dataframe above *dask_bytes* Parquet bytes, default :data:`DASK_LOG_BYTES` or
    ``$GLASSLINE_DASK_LOG_BYTES``), or force ``pandas`` / ``dask``. On dask the partitions run on the
    active :func:`glassline.cluster` when it is a Dask one, else on threads of this process.
    """
    start = time.perf_counter()
    folder = Path(raw)
    layout = _layout(folder)
    files = _log_files(folder, layout)
    segments = _segments(folder, layout)
    size = sum(f.stat().st_size for f in files)
    if engine not in ("auto", "pandas", "dask"):
        raise SpecError(f"engine: expected 'auto', 'pandas' or 'dask', got {engine!r}")
    limit = dask_bytes if dask_bytes is not None else int(os.environ.get(_ENV, DASK_LOG_BYTES))
    chosen = engine if engine != "auto" else ("dask" if size > limit else "pandas")
    coil_c = str(layout["coil_column"])
    columns = [coil_c, str(layout["time_column"]), str(layout["speed_column"]), *layout["sensor_positions_m"]]
    import pyarrow.parquet as pq

    rows = sum(pq.ParquetFile(f).metadata.num_rows for f in files)
    if chosen == "pandas":
        log = pd.concat([_read_file(str(f), columns) for f in files], ignore_index=True)
        table = _part_means(log, segments, layout, str(folder / str(layout["log"])))
    else:
        require_dask("dask")
        import dask.dataframe

        dd: Any = dask.dataframe  # untyped library: its calls are Any

        # the columns and dtypes of one partition's result (a tiny sample of the first file)
        sample = _read_file(str(files[0]), columns)
        first = sample[coil_c].iloc[0] if len(sample) else None
        meta = _part_means(sample[sample[coil_c] == first], segments, layout, str(files[0])).iloc[:0]
        del sample
        frame = dd.from_map(
            _file_means,
            [str(f) for f in files],
            read_columns=columns,
            segments=segments,
            layout=dict(layout),
            meta=meta,
            enforce_metadata=False,
        )
        active = active_cluster()
        if active is not None and active.is_dask:
            table = active.client.compute(frame).result()
        else:
            table = frame.compute(scheduler="threads")
        table = table.reset_index(drop=True)
        twice = table["segment"].duplicated()
        if twice.any():
            raise DataError(
                f"{folder / str(layout['log'])}: segment {table['segment'][twice].iloc[0]!r} has rows in two "
                "files; the dask path needs every coil's rows in one file (partition the log by coil or by day)"
            )
    known = set(table["segment"]) if len(table) else set()
    lost = segments[~segments["segment"].astype(str).isin(known)]
    if len(lost):
        raise DataError(
            f"{folder / str(layout['segments'])}: segment {lost['segment'].iloc[0]!r} of coil "
            f"{lost[coil_c].iloc[0]!r} has no rows in the inline log"
        )
    extra = segments.drop(columns=["start_time_s", "end_time_s"]).astype({"segment": str})
    table = extra.merge(table, on="segment", how="left", validate="one_to_one")
    order = segments["segment"].astype(str).tolist()
    table = table.set_index("segment").loc[order].reset_index()
    return ProductionDataset(table, chosen, rows, size, len(files), time.perf_counter() - start)


def prepare_production(
    raw: str | Path,
    out: str | Path,
    *,
    engine: Literal["auto", "pandas", "dask"] = "auto",
    dask_bytes: int | None = None,
) -> ProductionDataset:
    """Aggregate a production raw folder and write ``segments.parquet`` and ``production.json`` to *out*."""
    done = aggregate_production(raw, engine=engine, dask_bytes=dask_bytes)
    target = Path(out)
    target.mkdir(parents=True, exist_ok=True)
    done.table.to_parquet(target / "segments.parquet", index=False)
    summary = {
        "engine": done.engine,
        "log_rows": done.log_rows,
        "log_bytes": done.log_bytes,
        "files": done.files,
        "segments": len(done.table),
        "seconds": round(done.seconds, 3),
        "dask_bytes": dask_bytes if dask_bytes is not None else int(os.environ.get(_ENV, DASK_LOG_BYTES)),
    }
    (target / "production.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return ProductionDataset(
        done.table, done.engine, done.log_rows, done.log_bytes, done.files, done.seconds, out=target
    )
