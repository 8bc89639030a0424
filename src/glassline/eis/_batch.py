"""Fit many spectra: a file or a folder, per-file frequency windows, worker processes, one table.

A folder may hold an ``index.csv`` (the simulated line writes ``eis/index.csv`` with the columns
file, configuration, state, cell, fmin_hz, fmax_hz). When it does, the index lists the spectra to fit,
in its order, and its ``fmin_hz``/``fmax_hz`` columns give each file's frequency window (an empty cell
leaves that side open); its other columns are carried into the result. Without an index every
spectrum file in the folder is fitted, sorted by name, over its full range.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import as_completed
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np
import pandas as pd

from glassline._cluster import pool_executor
from glassline.eis._fit import PARAMETER_UNITS, ReportChoice, check_fit_options, fit_spectrum
from glassline.eis._readers import SPECTRUM_SUFFIXES, Instrument, read_spectrum
from glassline.exceptions import DataError

__all__ = ["INDEX_FILE", "fit_folder", "read_index", "spectrum_files"]

INDEX_FILE = "index.csv"
"""The per-folder table of spectra and their frequency windows."""

Window = tuple[float | None, float | None]
Progress = Callable[[str, int, int], None]

_UNITS = {
    **PARAMETER_UNITS,
    "residual": "1 (relative)",
    **{f"{p}_{w}": u for p, u in PARAMETER_UNITS.items() for w in ("unweighted", "weighted")},
    "residual_unweighted": "1 (relative)",
    "residual_weighted": "1 (relative)",
    "fmin_hz": "Hz",
    "fmax_hz": "Hz",
    "kk_noise": "1 (relative to |Z|)",
    "kk_max_res_real": "1 (relative to |Z|)",
    "kk_max_res_imag": "1 (relative to |Z|)",
    "misfit_ratio": "1 (fit residual / Lin-KK residual)",
    "low_frequency_reach": "1 (R_ion·Q·ω_min^γ)",
    "r_ion_rel_stderr": "1 (relative)",
}


@dataclass(frozen=True)
class _Task:
    index: int
    path: str
    name: str
    window: Window
    plot: str | None


@dataclass(frozen=True)
class _Options:
    tolerance: float
    max_residual: float
    min_points: int
    report: ReportChoice
    instrument: Instrument | None
    validate: bool = True
    points: bool = False


def spectrum_files(folder: str | Path, *, exclude: Iterable[str | Path] = ()) -> list[Path]:
    """The spectrum files directly in *folder* (by suffix, :data:`SPECTRUM_SUFFIXES`), sorted by name.

    ``index.csv`` and the paths in *exclude* (e.g. the output table) are left out.
    """
    folder = Path(folder)
    skipped = {Path(p).resolve() for p in exclude}
    return sorted(
        p
        for p in folder.iterdir()
        if p.is_file() and p.suffix.lower() in SPECTRUM_SUFFIXES and p.name != INDEX_FILE and p.resolve() not in skipped
    )


def read_index(folder: str | Path) -> pd.DataFrame | None:
    """The folder's ``index.csv`` checked (file names present and unique, windows numeric and > 0,
    fmin_hz < fmax_hz), with a ``path`` column of resolved files; None when there is no index."""
    from glassline.data import require_columns, require_numeric, user_row

    folder = Path(folder)
    index_path = folder / INDEX_FILE
    if not index_path.is_file():
        return None
    source = str(index_path)
    try:  # comma-separated, as the simulated line writes it (delimiter sniffing misreads one-column files)
        table = pd.read_csv(index_path, encoding="utf-8-sig", dtype={"file": str}, skipinitialspace=True)
    except UnicodeDecodeError as exc:
        raise DataError(f"{source}: not a UTF-8 text file ({exc.reason} at byte {exc.start})") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, OSError) as exc:
        raise DataError(f"{source}: could not be read as a CSV table: {exc}") from None
    table.columns = [str(c).strip() for c in table.columns]
    require_columns(table, ["file"], source=source)
    windows = [c for c in ("fmin_hz", "fmax_hz") if c in table.columns]
    table = require_numeric(table, windows, source=source, units=dict.fromkeys(windows, "Hz"), allow_missing=True)
    for column in windows:
        values = table[column].to_numpy(dtype=float)
        bad = ~np.isnan(values) & (values <= 0)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise DataError(
                f"{source}: row {user_row(i)}, column {column!r}: expected a frequency > 0 Hz or an empty cell, "
                f"found {values[i]:g}"
            )
    if len(windows) == 2:
        low, high = table["fmin_hz"].to_numpy(dtype=float), table["fmax_hz"].to_numpy(dtype=float)
        crossed = ~np.isnan(low) & ~np.isnan(high) & (low >= high)
        if crossed.any():
            i = int(np.flatnonzero(crossed)[0])
            raise DataError(
                f"{source}: row {user_row(i)}, column 'fmin_hz': expected a value below fmax_hz "
                f"({high[i]:g} Hz), found {low[i]:g} Hz"
            )
    paths: list[Path] = []
    seen: dict[Path, int] = {}
    for i, name in enumerate(table["file"]):
        if not isinstance(name, str) or not name.strip():
            raise DataError(f"{source}: row {user_row(i)}, column 'file': expected a file name, found {name!r}")
        path = (folder / name.strip()).resolve()
        if not path.is_file():
            raise DataError(
                f"{source}: row {user_row(i)}, column 'file': expected an existing file in {folder}, found {name!r}"
            )
        if path in seen:
            raise DataError(
                f"{source}: row {user_row(i)}, column 'file': expected each file once, found {name!r} again "
                f"(first at row {user_row(seen[path])})"
            )
        seen[path] = i
        paths.append(path)
    table = table.copy()
    table["file"] = [str(PurePosixPath(str(n).strip().replace(os.sep, "/"))) for n in table["file"]]
    table["path"] = pd.Series(paths, index=table.index, dtype=object)
    return table


def fit_folder(
    inputs: str | Path | Sequence[str | Path],
    *,
    fmin: float | None = None,
    fmax: float | None = None,
    windows: Mapping[str, Window] | None = None,
    processes: int | None = None,
    progress: Progress | None = None,
    tolerance: float = 0.05,
    max_residual: float = 0.03,
    min_points: int = 10,
    report: ReportChoice = "auto",
    instrument: Instrument | None = None,
    plots: str | Path | None = None,
    exclude: Iterable[str | Path] = (),
    validate: bool = True,
    points: str | Path | None = None,
) -> pd.DataFrame:
    """Fit every spectrum of a file, a folder or a list of files; one row per spectrum, in a fixed order.

    Each spectrum goes through :func:`~glassline.eis.fit_spectrum` (both weightings, flags; the
    ``tolerance``, ``max_residual``, ``min_points`` and ``report`` options are passed on). Frequency
    window per file, first match wins: ``fmin``/``fmax`` (each, when given, overrides every file),
    ``windows[file]`` (keyed like the ``file`` column), the folder's ``index.csv``, else the full
    range. ``processes`` worker processes share the files (default: the available cores; 1 runs in
    this process); ``progress(label, done, total)`` is called as files finish; ``plots`` is a folder
    for one Nyquist PNG per spectrum. The table's ``file`` column is the path relative to the input
    folder (or as given for files); ``frame.attrs["units"]`` maps columns to units. A bad file raises
    :class:`DataError` naming it (the first in order, after the others have been fitted).
    """
    if processes is not None and processes < 1:
        raise DataError(f"fit_folder: processes must be ≥ 1, got {processes!r}")
    check_fit_options(fmin, fmax, tolerance, max_residual, min_points, report)
    files, names, metadata, index_windows = _collect(inputs, exclude)
    overrides = dict(windows or {})
    plot_dir = Path(plots) if plots is not None else None
    tasks = []
    for i, (path, name) in enumerate(zip(files, names, strict=True)):
        low, high = overrides.get(name, index_windows.get(path, (None, None)))
        window = (fmin if fmin is not None else low, fmax if fmax is not None else high)
        plot = str(plot_dir / (name.replace("/", "__").rsplit(".", 1)[0] + ".png")) if plot_dir else None
        tasks.append(_Task(i, str(path), name, window, plot))
    options = _Options(tolerance, max_residual, min_points, report, instrument, validate, points is not None)
    rows = _run(tasks, options, processes, progress)
    errors = [row["error"] for row in rows if "error" in row]
    if errors:
        more = f" ({len(errors) - 1} more bad files)" if len(errors) > 1 else ""
        raise DataError(f"{errors[0]}{more}")
    point_tables = [table for row in rows if isinstance(table := row.pop("points", None), pd.DataFrame)]
    frame = pd.DataFrame(rows)
    if points is not None:
        from glassline._output import writing

        table = pd.concat(point_tables, ignore_index=True) if point_tables else pd.DataFrame(columns=["file"])
        with writing(Path(points), what="points"):
            table.to_csv(points, index=False)
    if frame.empty:
        frame = pd.DataFrame(columns=["file", "r_ion", "r_sep", "q", "gamma", "residual", "flag"])
    if metadata is not None:
        extra = metadata.reset_index(drop=True)
        for position, column in enumerate(extra.columns, start=1):
            label = f"index_{column}" if column in frame.columns else str(column)
            frame.insert(position, label, extra[column].to_numpy())
    if plot_dir is None and "plot" in frame.columns:
        frame = frame.drop(columns="plot")
    frame.attrs["units"] = {k: v for k, v in _UNITS.items() if k in frame.columns}
    return frame


def _collect(
    inputs: str | Path | Sequence[str | Path], exclude: Iterable[str | Path]
) -> tuple[list[Path], list[str], pd.DataFrame | None, dict[Path, Window]]:
    """Files to fit, their display names, index metadata to carry along, and index windows by path."""
    items = [inputs] if isinstance(inputs, str | Path) else list(inputs)
    if not items:
        raise DataError("fit_folder: expected a spectrum file or a folder, got nothing")
    exclude = list(exclude)
    files: list[Path] = []
    names: list[str] = []
    windows: dict[Path, Window] = {}
    metadata: pd.DataFrame | None = None
    indexes: dict[Path, pd.DataFrame | None] = {}
    for item in items:
        path = Path(item)
        if not path.exists():
            raise DataError(f"{path}: no such file or folder")
        if path.is_dir():
            index = read_index(path)
            indexes[path.resolve()] = index
            if index is not None:
                skipped = {Path(p).resolve() for p in exclude}
                keep = [p not in skipped for p in index["path"]]
                index = index.loc[keep].reset_index(drop=True)
                files.extend(index["path"])
                names.extend(index["file"])
                if len(items) == 1:
                    extra = [c for c in index.columns if c not in ("file", "path", "fmin_hz", "fmax_hz")]
                    metadata = index[extra]
                _add_windows(windows, index)
            else:
                found = spectrum_files(path, exclude=exclude)
                if not found:
                    suffixes = ", ".join(SPECTRUM_SUFFIXES)
                    raise DataError(f"{path}: expected spectrum files ({suffixes}) in this folder, found none")
                files.extend(found)
                names.extend(p.relative_to(path).as_posix() for p in found)
        else:
            files.append(path)
            names.append(str(item))
            parent = path.resolve().parent
            if parent not in indexes:
                indexes[parent] = read_index(parent)
            index = indexes[parent]
            if index is not None:
                _add_windows(windows, index)
    return files, names, metadata, {p: windows.get(p.resolve(), (None, None)) for p in files}


def _add_windows(windows: dict[Path, Window], index: pd.DataFrame) -> None:
    for i, path in enumerate(index["path"]):
        windows[Path(path)] = (_cell(index, "fmin_hz", i), _cell(index, "fmax_hz", i))


def _cell(index: pd.DataFrame, column: str, i: int) -> float | None:
    if column not in index.columns:
        return None
    value = float(index[column].iloc[i])
    return None if math.isnan(value) else value


def _run(
    tasks: list[_Task], options: _Options, processes: int | None, progress: Progress | None
) -> list[dict[str, object]]:
    total = len(tasks)
    workers = min(processes or _available_cores(), total)
    results: list[dict[str, object]] = [{} for _ in tasks]
    if progress:
        progress("fitting", 0, total)
    if workers <= 1:
        for done, task in enumerate(tasks, start=1):
            results[task.index] = _fit_task(task, options)
            if progress:
                progress(task.name, done, total)
        return results
    # several chunks per worker: balanced load and a moving progress bar, few round trips
    size = max(1, min(32, math.ceil(total / (workers * 8))))
    chunks = [tasks[i : i + size] for i in range(0, total, size)]
    done = 0
    with pool_executor(workers, _pool_context()) as pool:  # glassline._cluster: local processes or Dask
        futures = [pool.submit(_fit_chunk, chunk, options) for chunk in chunks]
        for future in as_completed(futures):
            for index, row in future.result():
                results[index] = row
                done += 1
            if progress:
                progress(str(row.get("file", "")), done, total)
    return results


def _fit_chunk(chunk: list[_Task], options: _Options) -> list[tuple[int, dict[str, object]]]:
    return [(task.index, _fit_task(task, options)) for task in chunk]


def _fit_task(task: _Task, options: _Options) -> dict[str, object]:
    """Read, fit and (optionally) plot one file; a DataError comes back as ``{"error": message}``."""
    try:
        spectrum = read_spectrum(task.path, instrument=options.instrument)
        fit = fit_spectrum(
            spectrum.frequency_hz,
            spectrum.z,
            fmin=task.window[0],
            fmax=task.window[1],
            tolerance=options.tolerance,
            max_residual=options.max_residual,
            min_points=options.min_points,
            report=options.report,
            source=spectrum.source,
            validate=options.validate,
        )
    except DataError as exc:
        return {"file": task.name, "error": str(exc)}
    row: dict[str, object] = {"file": task.name, **fit.as_row()}
    row.update(imag_stored=spectrum.imag_stored, imag_basis=spectrum.imag_basis)
    if spectrum.imag_note:
        row["flag"] = "; ".join(r for r in (f"sign: {spectrum.imag_note}", str(row["flag"])) if r)
    if options.points:
        table = fit.points()
        table.insert(0, "file", task.name)
        row["points"] = table
    if task.plot is not None:
        from glassline.eis._plot import plot_nyquist

        row["plot"] = str(plot_nyquist(spectrum, fit, task.plot, title=task.name))
    return row


def _pool_context() -> multiprocessing.context.BaseContext | None:
    """ "fork" when it is safe (no other thread alive) and offered: workers start in milliseconds with
    everything imported, where "spawn"/"forkserver" re-import numpy, scipy and impedance.py (about 2 s
    measured). Otherwise the platform's default."""
    if "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    return None


def _available_cores() -> int:
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1
