"""The whole study in one call: prepare → fit → explain → report, every file in one folder.

``glassline study SPEC --data DATA --out DIR`` and :func:`run_study` accept as DATA a raw folder (a line
layout with ``manifest.json``, or one table per response level), a folder written by ``glassline
prepare``, or one table file (CSV / Parquet / Excel) when the study's responses share one level.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from glassline.data import DEFAULT_LEVEL, TABLE_SUFFIXES, level_columns, prepare
from glassline.exceptions import DataError
from glassline.spec import REQUIREMENT_PATTERN, Study, load_study, write_study

__all__ = ["StudyRun", "run_study"]

ProgressCallback = Callable[[str, int, int], None]


@dataclass
class StudyRun:
    """Where :func:`run_study` wrote each stage's files, and how long each stage took."""

    out_dir: Path
    dataset: Path
    results: Path
    explanations: Path
    report: Path
    seconds: dict[str, float] = field(default_factory=dict)


def _stage_dataset(study: Study, data: Path, out: Path, progress: ProgressCallback | None) -> Path:
    target = out / "dataset"
    if data.is_dir() and (data / "metadata.json").exists():  # already prepared
        if data.resolve() != target.resolve():
            shutil.copytree(data, target, dirs_exist_ok=True)
        return target
    if data.is_dir():
        prepare(study, data, target, progress=progress)
        return target
    if data.is_file():
        if data.suffix.lower() not in TABLE_SUFFIXES:
            raise DataError(f"{data}: expected a table file ({', '.join(TABLE_SUFFIXES)}) or a folder")
        levels = list(level_columns(study))
        if len(levels) != 1:
            raise DataError(
                f"{data}: one table for a study with the response levels {levels}; give a folder with one table "
                "per level (named <level>.csv)"
            )
        raw = out / "raw"
        raw.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(data, raw / f"{levels[0] or DEFAULT_LEVEL}{data.suffix.lower()}")
        prepare(study, raw, target, progress=progress)
        return target
    raise DataError(f"{data}: no such file or folder")


def _fitted_requirements(study: Study, fitted: set[str]) -> list[str]:
    """The study's requirements on responses that were fitted (a narrowed run skips the others)."""
    return [r for r in study.requirements if (m := REQUIREMENT_PATTERN.match(r)) and m.group(1) in fitted]


def run_study(
    spec: str | Path | Study,
    data: str | Path,
    out: str | Path,
    *,
    families: list[str] | None = None,
    targets: list[str] | None = None,
    bootstrap: int = 0,
    n_jobs: int = 2,
    progress: ProgressCallback | None = None,
) -> StudyRun:
    """Prepare (when DATA is raw), compare the model families, explain them and write the report into *out*."""
    from glassline.explain import explain
    from glassline.models import compare
    from glassline.report import build_report

    study = spec if isinstance(spec, Study) else load_study(spec)
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    if isinstance(spec, Study):
        write_study(study, folder / "study.toml")
    elif Path(spec).resolve() != (folder / "study.toml").resolve():
        shutil.copyfile(spec, folder / "study.toml")
    seconds: dict[str, float] = {}
    stages = 4

    def sub(stage: int, name: str) -> ProgressCallback:
        def update(label: str, done: int, total: int) -> None:
            if progress:
                progress(f"{name}: {label}", stage, stages)

        return update

    start = time.perf_counter()
    dataset = _stage_dataset(study, Path(data), folder, sub(0, "prepare"))
    seconds["prepare"] = time.perf_counter() - start
    start = time.perf_counter()
    comparison = compare(study, dataset, families=families, targets=targets, n_jobs=n_jobs, progress=sub(1, "fit"))
    comparison.write(folder / "results", study_file=None if isinstance(spec, Study) else spec)
    seconds["fit"] = time.perf_counter() - start
    start = time.perf_counter()
    explain(
        folder / "results",
        folder / "explanations",
        study=study,
        bootstrap=bootstrap,
        n_jobs=n_jobs,
        requirements=_fitted_requirements(study, set(comparison.results["target"].astype(str))),
        seed=study.seed,
        progress=sub(2, "explain"),
    )
    seconds["explain"] = time.perf_counter() - start
    start = time.perf_counter()
    report = build_report(folder, study=study)
    seconds["report"] = time.perf_counter() - start
    if progress:
        progress("done", stages, stages)
    return StudyRun(folder, dataset, folder / "results", folder / "explanations", report, seconds)
