"""``prepare``: raw files → one tidy, validated, cleaned table per response level.

Two kinds of raw folder are understood:

* a **tables** folder: one table per response level, named ``<level>.csv`` (or ``.parquet``,
  ``.xlsx``), holding the group column, the inputs and the responses of that level. Responses
  without a level live in ``data.*``. This is the layout any line can export.
* a **line** folder with a ``manifest.json`` whose ``"layout"`` names a domain pack (see
  :mod:`glassline.domains`) whose ``prepare`` turns that line's raw files into the same per-level
  tables; the core knows nothing of any domain.

Either way the tables are checked against the study (columns, units in headers, numbers, ranges,
levels of categorical factors, duplicates), the outlier rule of the study runs per group on every
response, and everything removed or changed lands in ``cleaning_log.csv``; a layout checks its own raw
tables against the :class:`~glassline.data.TableSchema` it declares. Every row read is accounted for.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from glassline._progress import ProgressCallback
from glassline.data._cleaning import CleaningLog, OutlierRule, outlier_report
from glassline.data._readers import (
    TABLE_SUFFIXES,
    read_json_object,
    read_table,
    require_columns,
    require_numeric,
    user_row,
)
from glassline.data._schema import check_categories, check_labels, indicator_columns
from glassline.domains import LineLayout, get_domain
from glassline.exceptions import DataError, DomainError, did_you_mean
from glassline.spec import Study

__all__ = [
    "DEFAULT_LEVEL",
    "METADATA_FILE",
    "LevelTable",
    "PreparedDataset",
    "check_output_folder",
    "is_prepared_folder",
    "level_columns",
    "load_dataset",
    "prepare",
    "study_outlier_rule",
]

#: The file that makes a folder a prepared dataset; :meth:`PreparedDataset.write` writes it last.
METADATA_FILE = "metadata.json"
#: The level of responses whose study entry names none.
DEFAULT_LEVEL = "data"
#: A factor value further outside its range than this share of the span is an error, not a note.
RANGE_SLACK = 0.25


@dataclass
class LevelTable:
    """One level's table as a layout hands it over, with where each row came from."""

    frame: pd.DataFrame
    source: str
    #: per row, the source row number as a person sees it (for the cleaning log)
    rows: list[int] | None = None
    #: True when the layout already applied the study's outlier rule to the responses
    cleaned: bool = False
    #: extra column units (derived quantities) beyond those the study declares
    units: dict[str, str] = field(default_factory=dict)
    #: raw file → the rows of it this table was computed from (an aggregate: sheets → configurations)
    uses: dict[str, list[int]] = field(default_factory=dict)


@dataclass
class PreparedDataset:
    """What :func:`prepare` wrote: tables per level, the cleaning log and metadata."""

    out_dir: Path
    tables: dict[str, pd.DataFrame]
    log: CleaningLog
    metadata: dict[str, Any]

    def summary(self) -> dict[str, int]:
        """Rows per level."""
        return {level: len(frame) for level, frame in self.tables.items()}

    def write(self, folder: str | Path) -> list[Path]:
        """Write ``<level>.parquet`` and ``<level>.csv`` per level, ``cleaning_log.csv`` and ``metadata.json``.

        The files go to a temporary folder beside *folder* that is renamed to *folder* once all are
        written, so a failed write leaves no half-written dataset; an existing dataset at *folder* is
        replaced only then. A DataError names the folder when it cannot be written (a parent that is a
        file, a full disk, no permission) or when it holds other files than a prepared dataset.
        """
        out = Path(folder)
        check_output_folder(out)
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
        except OSError as exc:
            raise DataError(f"{out}: cannot create the dataset folder: {exc.strerror or exc}") from None
        try:
            names = self._write_files(staging)
            _replace_folder(staging, out)
        except OSError as exc:
            shutil.rmtree(staging, ignore_errors=True)
            raise DataError(f"{out}: could not write the prepared dataset: {exc.strerror or exc}") from None
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        self.out_dir = out
        return [out / name for name in names]

    def _write_files(self, out: Path) -> list[str]:
        names: list[str] = []
        for level, frame in self.tables.items():
            frame.to_parquet(out / f"{level}.parquet", index=False)
            frame.to_csv(out / f"{level}.csv", index=False)
            names += [f"{level}.parquet", f"{level}.csv"]
        self.log.write(out / "cleaning_log.csv")
        names.append("cleaning_log.csv")
        # the metadata file is written last: a folder without it is not a dataset (see load)
        (out / METADATA_FILE).write_text(json.dumps(self.metadata, indent=2, default=str), encoding="utf-8")
        names.append(METADATA_FILE)
        return names

    @classmethod
    def load(cls, folder: str | Path) -> PreparedDataset:
        """Read a folder written by :func:`prepare` (or :meth:`write`) back: tables, cleaning log, metadata."""
        path = Path(folder)
        if not path.is_dir():
            what = "a file" if path.exists() else "no such folder"
            raise DataError(f"{path}: not a prepared dataset folder ({what})")
        meta = path / METADATA_FILE
        if not meta.is_file():
            raise DataError(
                f"{path}: not a prepared dataset: {METADATA_FILE} is missing (a failed or interrupted prepare?); "
                "run `glassline prepare` again"
            )
        metadata = read_json_object(meta, missing="missing")
        levels = metadata.get("levels")
        if not isinstance(levels, dict):
            raise DataError(f'{meta}: expected a "levels" entry naming the tables of the dataset')
        tables: dict[str, pd.DataFrame] = {}
        for level in levels:
            table = path / f"{level}.parquet"
            if not table.exists():
                raise DataError(f"{table}: missing; {meta} lists the level {level!r}")
            tables[level] = read_table(table)
        log = CleaningLog()
        log_file = path / "cleaning_log.csv"
        if log_file.exists():
            frame = pd.read_csv(log_file, keep_default_na=False)
            log.rows = [{str(k): v for k, v in row.items()} for row in frame.to_dict("records")]
        return cls(out_dir=path, tables=tables, log=log, metadata=metadata)


def is_prepared_folder(path: Path) -> bool:
    """True when *path* is a folder holding a metadata file (what :meth:`PreparedDataset.write` leaves)."""
    return path.is_dir() and (path / METADATA_FILE).is_file()


def check_output_folder(out: Path) -> None:
    """Raise a DataError when *out* cannot take a prepared dataset: it or a parent is a file, or it is a
    folder holding other files than a prepared dataset (those are never replaced)."""
    for parent in [out, *out.parents]:
        if parent.exists() and not parent.is_dir():
            if parent == out:
                raise DataError(f"{out}: is a file; expected a folder (new, empty or a prepared dataset) for output")
            raise DataError(f"{out}: cannot create the dataset folder: {parent} is a file, not a folder")
    if out.is_dir() and any(out.iterdir()) and not is_prepared_folder(out):
        raise DataError(
            f"{out}: the folder holds files and is not a prepared dataset (no {METADATA_FILE}); "
            "give a new or empty folder, or a dataset folder to replace"
        )


def _replace_folder(staging: Path, out: Path) -> None:
    """Rename *staging* to *out*; an existing *out* is moved aside first and removed once the rename is done."""
    if not out.exists():
        staging.rename(out)
        return
    aside = out.with_name(f".{out.name}.old-{uuid.uuid4().hex[:8]}")
    out.rename(aside)
    try:
        staging.rename(out)
    except OSError:
        aside.rename(out)
        raise
    shutil.rmtree(aside, ignore_errors=True)


def level_columns(study: Study) -> dict[str, tuple[list[str], list[str]]]:
    """Per level: (inputs any of its responses' scenarios needs, its responses)."""
    out: dict[str, tuple[list[str], list[str]]] = {}
    for response in study.responses:
        level = response.level or DEFAULT_LEVEL
        inputs, responses = out.setdefault(level, ([], []))
        responses.append(response.name)
        for columns in study.scenarios_for(response.name).values():
            inputs.extend(c for c in columns if c not in inputs)
    return out


_UNIT_HEADER = re.compile(r"^\s*(?P<name>[^\[\(]+?)\s*[\[\(](?P<unit>[^\]\)]*)[\]\)]\s*$")


def _split_unit_headers(frame: pd.DataFrame, study: Study, source: str) -> pd.DataFrame:
    """Turn headers like ``porosity [%]`` into ``porosity``, checking the unit against the study.

    A header whose name part is not a study name but the ``label`` of exactly one study column (``feed
    rate [mm/s]`` or ``feed rate`` for ``name = "feed_rate", label = "feed rate"``; a study drafted by
    ``glassline init`` keeps each header's text as the label) is read as that column, the unit deciding
    between columns of one label.
    """
    units = study.units()
    labels: dict[str, list[str]] = {}
    for item in study.columns():
        if item.label and item.label != item.name:
            labels.setdefault(item.label, []).append(item.name)
    present = {str(c) for c in frame.columns}
    renamed: dict[str, str] = {}
    for column in frame.columns:
        text = str(column).strip()
        match = _UNIT_HEADER.match(text)
        if match:
            name, unit = match.group("name").strip(), match.group("unit").strip()
        elif text not in units and text in labels:
            name, unit = text, None
        else:
            continue
        # by label: the one column of that label (and unit) not already present; also where the name part
        # is a study name in another unit but a column labelled so has this unit (`t [°C]`, `t [K]`)
        candidates = [c for c in labels.get(name, []) if c not in present]
        if unit is not None and (len(candidates) > 1 or name in units):
            candidates = [c for c in candidates if units[c] == unit]
        if name in units and not (unit is not None and units[name] and unit != units[name] and len(candidates) == 1):
            pass  # the name part is a study name: read as that column (its unit checked below)
        elif len(candidates) == 1:
            name = candidates[0]
        else:
            continue
        expected = units[name]
        if unit is not None and expected and unit != expected:
            raise DataError(
                f"{source}: column {column!r}: the study gives {name!r} in {expected!r}, the file in {unit!r}; "
                "convert the column or fix the header"
            )
        renamed[str(column)] = name
    return frame.rename(columns=renamed)


def _indicators(study: Study) -> dict[str, tuple[str, str]]:
    """Measured inputs that are 0/1 indicators of a categorical factor's level: name → (factor, level)."""
    measured = {m.name for m in study.measured}
    out: dict[str, tuple[str, str]] = {}
    for factor in study.factors:
        if factor.kind == "categorical":
            for level, name in indicator_columns(factor.name, factor.levels or []).items():
                if name in measured:
                    out[name] = (factor.name, level)
    return out


def _find_level_file(raw_dir: Path, level: str) -> Path:
    for suffix in TABLE_SUFFIXES:
        candidate = raw_dir / f"{level}{suffix}"
        if candidate.exists():
            return candidate
    present = sorted(p.name for p in raw_dir.iterdir() if p.suffix.lower() in TABLE_SUFFIXES)
    stems = [Path(p).stem for p in present]
    raise DataError(
        f"{raw_dir}: no table for the response level {level!r}; expected {level}.csv (or .parquet/.xlsx) "
        f"holding its responses; found {present or 'no tables'}." + did_you_mean(level, stems)
    )


def _tables_layout(
    raw_dir: Path, study: Study, log: CleaningLog, progress: ProgressCallback | None
) -> tuple[dict[str, LevelTable], dict[str, Any]]:
    levels = level_columns(study)
    tables: dict[str, LevelTable] = {}
    for i, level in enumerate(levels):
        path = _find_level_file(raw_dir, level)
        frame = read_table(path)
        rows = [user_row(i) for i in range(len(frame))]
        log.received(path.name, rows)
        tables[level] = LevelTable(frame, source=path.name, rows=rows)
        if progress:
            progress(f"read {path.name}", i + 1, len(levels))
    return tables, {"layout": "tables"}


def _load_layout(raw_dir: Path) -> tuple[LineLayout, dict[str, Any]]:
    manifest_path = raw_dir / "manifest.json"
    if not manifest_path.exists():
        return _tables_layout, {}
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"{manifest_path}: not valid JSON: {exc}") from None
    layout = manifest.get("layout") if isinstance(manifest, dict) else None
    if not isinstance(layout, str) or not layout:
        raise DataError(f'{manifest_path}: expected a "layout" entry naming the domain pack that reads this folder')
    try:
        pack = get_domain(layout)
    except DomainError as exc:
        raise DataError(f"{manifest_path}: layout {layout!r} cannot be imported: {exc}") from None
    if pack.prepare is None:
        raise DataError(f"{manifest_path}: layout {layout!r}: that domain pack reads no raw folders (no prepare)")
    return pack.prepare, manifest


def _check_level(
    level: str, table: LevelTable, study: Study, log: CleaningLog, notes: dict[str, int]
) -> tuple[pd.DataFrame, list[int]]:
    """Validate one level's table against the study and clean it; returns the tidy frame and its source rows."""
    inputs, responses = level_columns(study)[level]
    group = study.data.group
    source = table.source
    frame = _split_unit_headers(table.frame, study, source)
    rows = table.rows if table.rows is not None else [user_row(i) for i in range(len(frame))]
    frame = frame.reset_index(drop=True)
    frame["_row"] = rows
    required = ([group] if group else []) + inputs + responses
    # indicators of a categorical factor's levels the table lacks are derived from the factor's column
    derived = {name: of for name, of in _indicators(study).items() if name not in frame.columns}
    require_columns(
        frame, [c for c in required if c not in derived] + sorted({f for f, _ in derived.values()}), source=source
    )
    units = study.units()
    categorical = {
        f.name: list(f.levels or []) for f in study.factors if f.kind == "categorical" and f.name in frame.columns
    }
    for name, levels in categorical.items():  # a level written with other case or spacing is read and logged
        frame[name] = check_categories(frame[name], levels, column=name, source=source, log=log, rows=rows)
    for name, (factor, level) in derived.items():
        frame[name] = (frame[factor] == level).astype(float)
    # inputs must be complete numbers; responses may be missing (the row is dropped and logged)
    frame = require_numeric(frame, [c for c in inputs if c not in categorical], source=source, units=units)
    frame = require_numeric(frame, responses, source=source, units=units, allow_missing=True)
    if group and frame[group].isna().any():
        i = int(np.flatnonzero(frame[group].isna().to_numpy())[0])
        raise DataError(
            f"{source}: row {frame['_row'].iloc[i]}, column {group!r}: expected a group id, found an empty cell"
        )
    if group:  # 'C01 ' and 'C01' are one group: stray spaces are cleaned and logged
        frame[group] = check_labels(frame[group], column=group, source=source, log=log, rows=rows)
    _check_ranges(frame, study, source, notes)
    duplicated = frame.drop(columns="_row").duplicated(keep="first")
    for d in np.flatnonzero(duplicated.to_numpy()):
        log.add(file=source, row=int(frame["_row"].iloc[d]), rule="duplicate row", reason="identical to an earlier row")
    frame = frame.loc[~duplicated.to_numpy()].reset_index(drop=True)
    missing = frame[responses].isna().all(axis=1)
    for m in np.flatnonzero(missing.to_numpy()):
        log.add(file=source, row=int(frame["_row"].iloc[m]), rule="missing response", reason="every response is empty")
    frame = frame.loc[~missing.to_numpy()].reset_index(drop=True)
    if not table.cleaned:
        frame = _apply_outlier_rule(frame, responses, study, source, log)
    keep = ([group] if group else []) + inputs + responses
    extra = [c for c in frame.columns if c not in keep and c != "_row"]
    return frame[keep + extra], [int(r) for r in frame["_row"]]


def _enough_rows(level: str, frame: pd.DataFrame, source: str, study: Study) -> list[str]:
    """A DataError when a level keeps fewer than 2 rows or groups (nothing can be split or compared); a note
    when it keeps fewer groups than the study's cross-validation folds."""
    group = study.data.group
    groups = int(frame[group].nunique()) if group and group in frame.columns else len(frame)
    if len(frame) < 2 or groups < 2:
        unit = f"{groups} group{'s' if groups != 1 else ''} ({group!r})" if group else ""
        raise DataError(
            f"{source}: the level {level!r} keeps {len(frame)} row{'s' if len(frame) != 1 else ''}"
            + (f" in {unit}" if group else "")
            + " after validation and cleaning; at least 2 are needed to fit and compare a model"
        )
    folds = study.split.cv_folds
    if groups < folds:
        return [
            f"{source}: the level {level!r} has {groups} groups, fewer than the study's {folds} cross-validation "
            "folds; fit will need fewer folds (split.cv_folds) or leave-one-group-out"
        ]
    return []


def _check_ranges(frame: pd.DataFrame, study: Study, source: str, notes: dict[str, int]) -> None:
    """Raise for values far outside a factor's range (a wrong unit); count the rows slightly outside."""
    for factor in study.factors:
        if factor.low is None or factor.high is None or factor.name not in frame.columns:
            continue  # categorical factors have levels, not a range
        span = factor.high - factor.low
        values = frame[factor.name].to_numpy(dtype=float)
        far = (values < factor.low - RANGE_SLACK * span) | (values > factor.high + RANGE_SLACK * span)
        if far.any():
            i = int(np.flatnonzero(far)[0])
            raise DataError(
                f"{source}: row {frame['_row'].iloc[i]}, column {factor.name!r}: expected a value near the study "
                f"range {factor.low:g} … {factor.high:g} {factor.unit}, found {values[i]:g} (wrong unit?)"
            )
        outside = (values < factor.low) | (values > factor.high)
        if outside.any():
            notes[factor.name] = int(outside.sum())


def _apply_outlier_rule(
    frame: pd.DataFrame, responses: list[str], study: Study, source: str, log: CleaningLog
) -> pd.DataFrame:
    rule = study_outlier_rule(study)
    if rule.disabled:
        return frame
    group = study.data.group
    frame = frame.copy()
    for response in responses:
        report = outlier_report(frame, response, group=group, rule=rule)
        flags = report["outlier"].to_numpy(dtype=bool)
        for i in np.flatnonzero(flags):
            log.add(
                file=source,
                row=int(frame["_row"].iloc[i]),
                column=response,
                group=frame[group].iloc[i] if group else "",
                rule=rule.name,
                value=float(frame[response].iloc[i]),
                reason=str(report["reason"].iloc[i]),
                action="set missing" if len(responses) > 1 else "dropped",
            )
        frame.loc[flags, response] = np.nan
    empty = frame[responses].isna().all(axis=1).to_numpy()
    if len(responses) > 1:  # rows whose last response the rule removed: logged as dropped, not only "set missing"
        for i in np.flatnonzero(empty):
            log.add(
                file=source,
                row=int(frame["_row"].iloc[i]),
                group=frame[group].iloc[i] if group else "",
                rule="missing response",
                reason="every response is empty after the outlier rule",
            )
    return frame.loc[~empty].reset_index(drop=True)


def study_outlier_rule(study: Study) -> OutlierRule:
    """The outlier rule the study's ``[cleaning]`` table asks for."""
    cleaning = study.cleaning
    k = cleaning.outlier_sd if cleaning.outlier_rule == "sd" else cleaning.outlier_mad
    return OutlierRule(
        cleaning.outlier_rule,
        k,
        ddof=cleaning.outlier_ddof,
        alpha=cleaning.outlier_alpha,
        scale=cleaning.outlier_scale,
    )


def prepare(
    study: Study,
    raw_dir: str | Path,
    out_dir: str | Path,
    *,
    progress: ProgressCallback | None = None,
) -> PreparedDataset:
    """Turn a raw folder into one tidy table per response level; write Parquet + CSV + cleaning log.

    Writes ``<level>.parquet`` and ``<level>.csv`` per level, ``cleaning_log.csv`` and
    ``metadata.json`` (units of every column, counts, sources, the layout used, and under ``"rows"``
    the account of every raw table: rows read = rows in output tables + rows dropped by rule + rows
    set aside) into *out_dir*, all at once (see :meth:`PreparedDataset.write`): a failed run leaves
    no half-written dataset and an existing one untouched. A row read that ends in no output table
    and not in the cleaning log is an error, as is a level left with fewer than 2 rows.
    """
    raw_dir = Path(raw_dir)
    if not raw_dir.is_dir():
        raise DataError(f"{raw_dir}: no such folder of raw data")
    out_dir = Path(out_dir)
    if out_dir.resolve() == raw_dir.resolve() or out_dir.resolve() in raw_dir.resolve().parents:
        raise DataError(f"{out_dir}: the output folder holds the raw folder {raw_dir}; give another --out")
    check_output_folder(out_dir)
    log = CleaningLog()
    layout, manifest = _load_layout(raw_dir)
    simulated = manifest.get("simulated", False)
    if not isinstance(simulated, bool):
        raise DataError(f'{raw_dir / "manifest.json"}: field "simulated" must be true or false, got {simulated!r}')
    level_tables, layout_meta = layout(raw_dir, study, log, progress)
    expected = level_columns(study)
    missing = [level for level in expected if level not in level_tables]
    if missing:
        raise DataError(f"{raw_dir}: the raw data hold no table for the response level(s) {missing}")
    tables: dict[str, pd.DataFrame] = {}
    outside: dict[str, dict[str, int]] = {}
    notes: list[str] = []
    units = study.units()
    for level, table in level_tables.items():
        if level in expected:
            tables[level], kept = _check_level(level, table, study, log, outside.setdefault(level, {}))
            notes.extend(_enough_rows(level, tables[level], table.source, study))
        else:  # extra tables a layout offers (beyond the study's levels): written as they are
            tables[level] = table.frame.reset_index(drop=True)
            kept = list(table.rows or [])
        if table.rows is not None:  # rows are accounted for only where the layout says where they came from
            log.used(table.source, level, kept)
        for file, rows in table.uses.items():
            log.used(file, level, rows)
        units.update(table.units)
    accounts = log.account()
    metadata: dict[str, Any] = {
        "study": study.name,
        "raw_dir": raw_dir.name,
        "layout": manifest.get("layout", "tables"),
        "simulated": simulated,  # from the raw folder's manifest: the data came from a simulated line
        "levels": {
            level: {
                "rows": len(frame),
                "groups": int(frame[study.data.group].nunique()) if study.data.group in frame else None,
                "columns": {c: units.get(c, "") for c in frame.columns},
                "responses": expected.get(level, ([], []))[1],
                "rows_outside_design_range": outside.get(level, {}),
            }
            for level, frame in tables.items()
        },
        "cleaning": {"rows": len(log), "by_rule": log.counts()},
        # per raw table: rows read = rows in output tables + rows dropped (by rule) + rows set aside
        "rows": accounts,
        "notes": notes,
        **{k: v for k, v in layout_meta.items() if k != "layout"},
    }
    dataset = PreparedDataset(out_dir=out_dir, tables=tables, log=log, metadata=metadata)
    dataset.write(out_dir)
    return dataset


def load_dataset(path: str | Path) -> dict[str, pd.DataFrame]:
    """Read a folder written by :func:`prepare`: level → table."""
    return PreparedDataset.load(path).tables
