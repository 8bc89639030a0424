"""Batch prediction with a registered model: a large table in, predictions with attributions out, in bounded memory.

:func:`predict_batch` reads the input (a Parquet file, a folder of Parquet files such as a day-partitioned
log, or a CSV file) in chunks of *chunk_rows* rows, predicts and attributes each chunk with the same engine
``glassline serve`` answers with (interventional SHAP values against the bundle's background, the bundle's
prediction interval and validity domain), and appends each chunk to one Parquet file as a row group. Memory
stays bounded by a few chunks whatever the number of rows. The chunks run where the active
:func:`glassline.cluster` says (one chunk per task: a chunk of 50,000 rows runs well over the 0.5 s minimum).

The output's columns, in order: the *keep* columns copied from the input, then :data:`PREDICTION_COLUMNS`,
then ``shap_<input>`` for every model input (``prediction = base_value + Σ shap_<input>``). A row is
never dropped: ``status`` says ``ok``, ``outside_domain`` (predicted and attributed anyway, as the
service's ``flag`` fallback does; check ``distance`` and the ranges), ``missing_input`` (an input is empty
or not finite: no prediction) or ``non_finite`` (the model gives no finite value there).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa

from glassline._cluster import active_cluster, map_tasks
from glassline.exceptions import DataError, OutputError, SpecError
from glassline.registry._publish import LoadedModel, load_model

__all__ = ["DEFAULT_CHUNK_ROWS", "PREDICTION_COLUMNS", "BatchPrediction", "predict_batch"]

#: rows read, predicted and written at a time (bounded memory; one Dask task each)
DEFAULT_CHUNK_ROWS = 50_000
#: the fixed columns of the output (after the kept ones, before ``shap_<input>``)
PREDICTION_COLUMNS = ("row", "prediction", "lower", "upper", "base_value", "distance", "inside_domain", "status")

FloatArray = npt.NDArray[np.float64]
_ENGINES: dict[tuple[str, str], Any] = {}


@dataclass(frozen=True)
class BatchPrediction:
    """What :func:`predict_batch` wrote: *rows* rows to *out*, how many per status, the time it took."""

    model: str
    version: str
    out: Path
    rows: int
    chunks: int
    statuses: dict[str, int]
    seconds: float

    def summary(self) -> str:
        counts = ", ".join(f"{n} {status}" for status, n in self.statuses.items() if n) or "no rows"
        return (
            f"{self.rows} rows predicted with {self.model}/{self.version} in {self.seconds:.1f} s "
            f"({self.chunks} chunks; {counts}) → {self.out}"
        )


def predict_batch(
    model: str | LoadedModel,
    data: str | Path,
    out: str | Path,
    *,
    keep: Sequence[str] = (),
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    n_jobs: int = 1,
    home: str | Path | None = None,
    tracking: str | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> BatchPrediction:
    """Predict and attribute every row of *data* with *model*; write the Parquet file *out*.

    Parameters
    ----------
    model
        ``NAME``, ``NAME@ALIAS`` or ``NAME/VERSION`` as ``glassline serve`` resolves it (in the workspace
        *home* / MLflow *tracking* URI), or a :class:`~glassline.registry.LoadedModel`.
    data
        A Parquet file, a folder of Parquet files (partitioned, e.g. by day), or a CSV file. It must hold
        every model input as a numeric column.
    out
        The Parquet file to write (its folder is created).
    keep
        Input columns copied to the output (an id, a timestamp) before the prediction columns.
    chunk_rows
        Rows per chunk (memory and task size); *n_jobs* local worker processes (1: this process), unless a
        :func:`glassline.cluster` block sends the chunks to Dask.
    progress
        ``progress(label, rows_done, rows_total)`` after each chunk.

    Returns
    -------
    BatchPrediction
        The counts per ``status`` and where the file is.
    """
    start = time.perf_counter()
    if isinstance(chunk_rows, bool) or not isinstance(chunk_rows, int) or chunk_rows < 1:
        raise SpecError(f"--chunk-rows: expected a whole number of rows ≥ 1, got {chunk_rows!r}")
    if n_jobs == 0 or n_jobs < -1:
        raise SpecError(f"--jobs: expected a positive number of worker processes (or -1 for all), got {n_jobs}")
    path, target = Path(data), Path(out)
    _check_paths(path, target)  # before the model loads: a typo costs no registry round trip
    loaded = load_model(model, tracking=tracking, home=home) if isinstance(model, str) else model
    inputs = list(loaded.bundle.inputs)
    keep = list(dict.fromkeys(keep))
    reader, total = _reader(path, [*keep, *[c for c in inputs if c not in keep]], chunk_rows)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputError(f"{target.parent}: cannot create the output folder ({error.strerror})") from None
    import pyarrow.parquet as pq

    active = active_cluster()
    window = max(1, (active.workers() if active is not None and active.is_dask else max(n_jobs, 1)) * 2)
    statuses = {"ok": 0, "outside_domain": 0, "missing_input": 0, "non_finite": 0}
    writer: pq.ParquetWriter | None = None
    rows = chunks = 0
    model_key = (loaded.name, loaded.version)
    try:
        pending: list[tuple[int, pd.DataFrame]] = []
        for frame in _frames(reader, path):
            pending.append((rows, frame))
            rows += len(frame)
            if len(pending) >= window:
                writer = _flush(pending, loaded, model_key, keep, inputs, path, n_jobs, writer, target, statuses)
                chunks += len(pending)
                pending = []
                if progress:
                    progress("predicting", rows, total)
        if pending or writer is None:
            writer = _flush(pending, loaded, model_key, keep, inputs, path, n_jobs, writer, target, statuses)
            chunks += len(pending)
            if progress:
                progress("predicting", rows, total)
    finally:
        if writer is not None:
            writer.close()
    return BatchPrediction(loaded.name, loaded.version, target, rows, chunks, statuses, time.perf_counter() - start)


def _check_paths(path: Path, target: Path) -> None:
    if not path.exists():
        raise DataError(f"--data {path}: no such file or folder")
    suffix = path.suffix.lower()
    if not path.is_dir() and suffix not in (".parquet", ".pq", ".csv"):
        raise DataError(
            f"--data {path}: expected a Parquet file, a folder of Parquet files or a CSV file, "
            f"got the suffix {suffix!r}"
        )
    if target.suffix.lower() != ".parquet":
        raise SpecError(f"--out {target}: expected a .parquet file to write, got the suffix {target.suffix!r}")
    if target.resolve() == path.resolve():
        raise SpecError(f"--out {target}: the same file as --data; choose another output file")


def _reader(path: Path, columns: list[str], chunk_rows: int) -> tuple[Iterator[pa.RecordBatch], int]:
    """Record batches of *columns* from a Parquet file or folder, or a CSV file; and the row count (0: unknown)."""
    import pyarrow.dataset as ds

    suffix = path.suffix.lower()
    try:
        if path.is_dir() or suffix in (".parquet", ".pq"):
            dataset = ds.dataset(path, format="parquet", partitioning="hive")
        else:
            dataset = ds.dataset(path, format="csv")
    except (pa.ArrowInvalid, OSError) as error:
        raise DataError(f"--data {path}: cannot be read as a table ({error})") from None
    found = list(dataset.schema.names)
    missing = [c for c in columns if c not in found]
    if missing:
        raise DataError(f"{path}: the model needs the columns {missing}, which the table lacks; it has {found}")
    try:
        total = int(dataset.count_rows())
        scanner = dataset.scanner(columns=columns, batch_size=chunk_rows)
        batches = scanner.to_batches()
    except (pa.ArrowInvalid, OSError) as error:
        raise DataError(f"--data {path}: cannot be read ({error})") from None
    return batches, total


def _frames(batches: Iterator[pa.RecordBatch], path: Path) -> Iterator[pd.DataFrame]:
    try:
        for batch in batches:
            if batch.num_rows:
                yield batch.to_pandas()
    except (pa.ArrowInvalid, OSError) as error:
        raise DataError(f"--data {path}: cannot be read ({error})") from None


def _flush(
    pending: list[tuple[int, pd.DataFrame]],
    loaded: LoadedModel,
    model_key: tuple[str, str],
    keep: list[str],
    inputs: list[str],
    path: Path,
    n_jobs: int,
    writer: Any,
    target: Path,
    statuses: dict[str, int],
) -> Any:
    import pyarrow.parquet as pq

    work = [(loaded, model_key, _values(frame, inputs, path, first), first) for first, frame in pending]
    tables = map_tasks(_predict_chunk, work, n_jobs=n_jobs, chunk=1, prefer=None)
    for (_, frame), table in zip(pending, tables, strict=True):
        for column in reversed(keep):
            table.insert(0, column, frame[column].to_numpy())
        for status, n in table["status"].value_counts().items():
            statuses[str(status)] = statuses.get(str(status), 0) + int(n)
        arrow = pa.Table.from_pandas(table, preserve_index=False)
        if writer is None:
            writer = _open(pq, target, arrow.schema)
        writer.write_table(arrow)
    if writer is None:  # no rows at all: an empty file with the columns
        empty = _predict_chunk(loaded, model_key, np.empty((0, len(inputs))), 0)
        for column in reversed(keep):
            empty.insert(0, column, pd.Series([], dtype=object))
        arrow = pa.Table.from_pandas(empty, preserve_index=False)
        writer = _open(pq, target, arrow.schema)
        writer.write_table(arrow)
    return writer


def _open(pq: Any, target: Path, schema: pa.Schema) -> Any:
    try:
        return pq.ParquetWriter(target, schema, compression="zstd")
    except OSError as error:
        raise OutputError(f"--out {target}: cannot be written ({error})") from None


def _values(frame: pd.DataFrame, inputs: list[str], path: Path, first: int) -> FloatArray:
    """The inputs of a chunk as floats (n, p); a column that is not numeric names itself and its first bad row."""
    out = np.empty((len(frame), len(inputs)), dtype=float)
    for j, name in enumerate(inputs):
        column = frame[name]
        if column.dtype == object or pd.api.types.is_string_dtype(column):
            numbers = pd.to_numeric(column, errors="coerce")
            bad = numbers.isna() & column.notna() & (column.astype(str).str.strip() != "")
            if bad.any():
                at = int(np.flatnonzero(bad.to_numpy())[0])
                raise DataError(
                    f"{path}: row {first + at + 1}, column {name!r}: expected a number, found {column.iloc[at]!r}"
                )
            column = numbers
        elif pd.api.types.is_bool_dtype(column) or not pd.api.types.is_numeric_dtype(column):
            raise DataError(f"{path}: column {name!r}: expected numbers, found values of type {column.dtype}")
        out[:, j] = column.to_numpy(dtype=float, na_value=np.nan)
    return out


def _engine(loaded: LoadedModel, key: tuple[str, str]) -> Any:
    """The model's prediction-and-attribution engine, built once per process (as ``glassline serve`` builds it)."""
    engine = _ENGINES.get(key)
    if engine is None:
        from glassline.shapley import MAX_GRID_CELLS, ShapleyEngine

        bundle = loaded.bundle
        engine = ShapleyEngine(
            loaded.pipeline,
            bundle.background,
            kind=bundle.explainer.get("family_explainer"),
            inputs=tuple(bundle.inputs),
            table_cells=MAX_GRID_CELLS,
        )
        _ENGINES.clear()  # one model per batch: keep one engine
        _ENGINES[key] = engine
    return engine


def _predict_chunk(loaded: LoadedModel, key: tuple[str, str], values: FloatArray, first: int) -> pd.DataFrame:
    """Predictions, interval, domain verdict and attributions of one chunk (one Dask task)."""
    bundle = loaded.bundle
    inputs = list(bundle.inputs)
    n = len(values)
    complete = np.isfinite(values).all(axis=1) if n else np.zeros(0, dtype=bool)
    prediction = np.full(n, np.nan)
    shap = np.full((n, len(inputs)), np.nan)
    distance = np.full(n, np.nan)
    inside = np.zeros(n, dtype=bool)
    engine = _engine(loaded, key)
    if complete.any():
        rows = values[complete]
        with np.errstate(all="ignore"):
            explained = engine.explain(rows)
        prediction[complete] = explained.prediction
        shap[complete] = explained.values
        domain = bundle.domain
        d = domain.distances(rows)
        lows = np.array([r.low for r in domain.ranges], dtype=float)
        highs = np.array([r.high for r in domain.ranges], dtype=float)
        distance[complete] = d
        inside[complete] = ~((rows < lows).any(axis=1) | (rows > highs).any(axis=1) | (d > domain.threshold))
    finite = np.isfinite(prediction) & np.isfinite(shap).all(axis=1)
    status = np.where(
        ~complete, "missing_input", np.where(~finite, "non_finite", np.where(inside, "ok", "outside_domain"))
    )
    prediction[complete & ~finite] = np.nan
    half = bundle.interval.get("half_width")
    width = float(half) if isinstance(half, int | float) and math.isfinite(half) else math.nan
    table = pd.DataFrame(
        {
            "row": np.arange(first, first + n, dtype=np.int64),
            "prediction": prediction,
            "lower": prediction - width,
            "upper": prediction + width,
            "base_value": np.full(n, float(engine.base_value)),
            "distance": distance,
            "inside_domain": inside,
            "status": status.astype(object),
        }
    )
    for j, name in enumerate(inputs):
        table[f"shap_{name}"] = shap[:, j]
    return table
