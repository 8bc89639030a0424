"""The whole study in one call: prepare → fit → explain → report, every file in one folder.

``glassline study SPEC --data DATA --out DIR`` and :func:`run_study` accept as DATA a raw folder (a line
layout with ``manifest.json``, or one table per response level), a folder written by ``glassline
prepare``, or one table file (CSV / Parquet / Excel) when the study's responses share one level.
:func:`run_study` is :meth:`glassline.StudyRun.run` returning where the files went; use
:class:`~glassline.StudyRun` to keep the stages' outputs as objects.
"""

from __future__ import annotations

from pathlib import Path

from glassline._progress import ProgressCallback
from glassline.run import StudyFiles, StudyRun
from glassline.spec import Study

__all__ = ["StudyFiles", "run_study"]


def run_study(
    spec: str | Path | Study,
    data: str | Path,
    out: str | Path,
    *,
    seed: int | None = None,
    families: list[str] | None = None,
    targets: list[str] | None = None,
    bootstrap: int | None = None,
    n_jobs: int = 2,
    progress: ProgressCallback | None = None,
) -> StudyFiles:
    """Prepare (when DATA is raw), compare the model families, explain them and write the report into *out*.

    *seed* (default: the study's) drives the splits, tuning, models, bootstrap and explanations.
    *bootstrap*: refits of the explanation stage (None: the study file's ``[models] bootstrap``).
    """
    run = StudyRun(spec, seed=seed, out=out)
    run.run(data, families=families, targets=targets, bootstrap=bootstrap, n_jobs=n_jobs, progress=progress)
    return run.files
