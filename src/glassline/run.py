"""One study run: the study, one seed, and the stages' outputs as typed objects.

The PyBaMM ``Simulation`` idea for a study: :class:`StudyRun` joins the :class:`~glassline.spec.Study`,
ONE seed (the study file's unless given; a given seed replaces it in every stage: splits, tuning,
models, bootstrap and explanations) and what each stage made::

    run = StudyRun("study.toml", seed=7, out="out")
    run.prepare("raw/")      # PreparedDataset  → out/dataset/
    run.fit()                # Comparison       → out/results/
    run.explain()            # Explanations     → out/explanations/
    run.build_report()       # Path             → out/report.html
    run.fits.best("adhesion_strength", "product")

Each stage hands the next one its object (the in-memory study with the run's seed, the dataset,
the comparison), not a folder to re-read; every stage still writes its folder, so each can be run
alone from the command line, and :meth:`StudyRun.load` reads a study folder back.

A study folder (``out``) holds ``study.toml`` (the study file, or the study with the run's seed when
that differs from the file's), ``dataset/``, ``results/``, ``explanations/``, ``report.html`` (with
``cards/`` and the AI-Act evidence beside it), and ``raw/`` when the data came as one table.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from glassline._progress import ProgressCallback
from glassline.data import DEFAULT_LEVEL, TABLE_SUFFIXES, PreparedDataset, level_columns, prepare
from glassline.exceptions import DataError, SpecError
from glassline.spec import REQUIREMENT_PATTERN, Study, load_study, write_study

if TYPE_CHECKING:
    from glassline.explain import Explanations
    from glassline.models import Comparison, CVScheme, Fits

__all__ = ["DATASET", "EXPLANATIONS", "REPORT", "RESULTS", "STUDY", "StudyFiles", "StudyRun"]


#: The folders and files of a study folder, by stage.
DATASET, RESULTS, EXPLANATIONS, REPORT, STUDY = "dataset", "results", "explanations", "report.html", "study.toml"


@dataclass
class StudyFiles:
    """Where a study run wrote each stage's files, and how long each stage took (seconds)."""

    out_dir: Path
    dataset: Path
    results: Path
    explanations: Path
    report: Path
    seconds: dict[str, float] = field(default_factory=dict)
    seed: int = 0


def _fitted_requirements(study: Study, fitted: set[str]) -> list[str]:
    """The study's requirements on responses that were fitted (a narrowed run skips the others)."""
    return [r for r in study.requirements if (m := REQUIREMENT_PATTERN.match(r)) and m.group(1) in fitted]


class StudyRun:
    """A study, one seed, and each stage's output: dataset, comparison (fits), explanations, report.

    *study* is a :class:`~glassline.spec.Study` or its file; *seed* (default: the study's) replaces the
    study's seed for every stage (``run.study`` carries it); *out* is the study folder every stage
    writes into. The stages run in order, each on the object the one before made:
    :meth:`prepare` → :attr:`dataset`, :meth:`fit` → :attr:`comparison` (:attr:`fits`),
    :meth:`explain` → :attr:`explanations`, :meth:`build_report` → :attr:`report`;
    :meth:`run` runs all four. ``seconds`` holds each stage's wall time.
    """

    def __init__(self, study: Study | str | Path, seed: int | None = None, out: str | Path = "study-out") -> None:
        given = study if isinstance(study, Study) else load_study(study)
        #: the study file the run was started from (None: a study given in memory)
        self.study_file: Path | None = None if isinstance(study, Study) else Path(study)
        self.study: Study = given.with_seed(seed)
        self.out = Path(out)
        self.dataset: PreparedDataset | None = None
        self.comparison: Comparison | None = None
        self.explanations: Explanations | None = None
        self.report: Path | None = None
        self.seconds: dict[str, float] = {}
        self._file_seed = given.seed

    def __repr__(self) -> str:
        done = [name for name in ("dataset", "comparison", "explanations", "report") if getattr(self, name) is not None]
        return f"StudyRun({self.study.name!r}, seed={self.seed}, out={str(self.out)!r}, done={done})"

    # ------------------------------------------------------------------ views
    @property
    def seed(self) -> int:
        """The one seed of the run (the study's, or the one given)."""
        return self.study.seed

    @property
    def fits(self) -> Fits:
        """The fitted pipelines of the comparison (after :meth:`fit` or :meth:`load`)."""
        return self._need_comparison().fits

    @property
    def files(self) -> StudyFiles:
        """Where each stage writes, and the stages' times."""
        return StudyFiles(
            out_dir=self.out,
            dataset=self.out / DATASET,
            results=self.out / RESULTS,
            explanations=self.out / EXPLANATIONS,
            report=self.report if self.report is not None else self.out / REPORT,
            seconds=dict(self.seconds),
            seed=self.seed,
        )

    def _need_comparison(self) -> Comparison:
        if self.comparison is None:
            raise SpecError(f"{self.out}: nothing fitted yet; run StudyRun.fit() (or load a study folder) first")
        return self.comparison

    @contextmanager
    def _timed(self, stage: str) -> Iterator[None]:
        start = time.perf_counter()
        yield
        self.seconds[stage] = time.perf_counter() - start

    # ------------------------------------------------------------------ stages
    def write_study(self) -> Path:
        """``out/study.toml``: a copy of the study file, or the study itself when the run's seed differs."""
        self.out.mkdir(parents=True, exist_ok=True)
        target = self.out / STUDY
        if self.study_file is not None and self.seed == self._file_seed:
            if self.study_file.resolve() != target.resolve():
                shutil.copyfile(self.study_file, target)
            return target
        return write_study(self.study, target)

    def prepare(
        self, data: str | Path | PreparedDataset, *, progress: ProgressCallback | None = None
    ) -> PreparedDataset:
        """The dataset, into ``out/dataset``: from a raw folder (prepared), a prepared folder or dataset
        (copied), or one table file (when the study's responses share one level)."""
        with self._timed("prepare"):
            self.write_study()
            self.dataset = self._dataset(data, progress)
        return self.dataset

    def _dataset(self, data: str | Path | PreparedDataset, progress: ProgressCallback | None) -> PreparedDataset:
        target = self.out / DATASET
        if isinstance(data, PreparedDataset):
            if Path(data.out_dir).resolve() != target.resolve():
                data.write(target)
            return data
        data = Path(data)
        if data.is_dir() and (data / "metadata.json").exists():  # already prepared
            if data.resolve() != target.resolve():
                shutil.copytree(data, target, dirs_exist_ok=True)
            return PreparedDataset.load(target)
        if data.is_dir():
            return prepare(self.study, data, target, progress=progress)
        if data.is_file():
            if data.suffix.lower() not in TABLE_SUFFIXES:
                raise DataError(f"{data}: expected a table file ({', '.join(TABLE_SUFFIXES)}) or a folder")
            levels = list(level_columns(self.study))
            if len(levels) != 1:
                raise DataError(
                    f"{data}: one table for a study with the response levels {levels}; give a folder with one "
                    "table per level (named <level>.csv)"
                )
            raw = self.out / "raw"
            raw.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(data, raw / f"{levels[0] or DEFAULT_LEVEL}{data.suffix.lower()}")
            return prepare(self.study, raw, target, progress=progress)
        raise DataError(f"{data}: no such file or folder")

    def fit(
        self,
        *,
        families: Iterable[str] | None = None,
        scenarios: Iterable[str] | None = None,
        targets: Iterable[str] | None = None,
        cv: CVScheme | str = "grouped",
        n_jobs: int = 2,
        plots: bool = True,
        progress: ProgressCallback | None = None,
    ) -> Comparison:
        """Compare the model families on the run's dataset with the run's seed; written to ``out/results``."""
        from glassline.models import compare

        if self.dataset is None:
            raise SpecError(f"{self.out}: no dataset yet; run StudyRun.prepare(DATA) first")
        with self._timed("fit"):
            comparison = compare(
                self.study,
                self.dataset,
                families=families,
                scenarios=scenarios,
                targets=targets,
                cv=cv,
                n_jobs=n_jobs,
                progress=progress,
            )
            if progress:
                progress("writing results and parity plots", 1, 1)
            comparison.write(self.out / RESULTS, plots=plots, study_file=self.study_file)
        self.comparison = comparison
        return comparison

    def explain(
        self,
        *,
        bootstrap: int | None = None,
        requirements: Iterable[str] | None = None,
        level: float = 0.9,
        targets: Iterable[str] | None = None,
        families: Iterable[str] | None = None,
        n_jobs: int = 2,
        plots: bool = True,
        influence: bool = True,
        include_unexplainable: bool = False,
        progress: ProgressCallback | None = None,
        vif_soft: float | None = None,
        vif_hard: float | None = None,
        r_soft: float | None = None,
        r_hard: float | None = None,
    ) -> Explanations:
        """Explain the run's comparison with the run's seed; written to ``out/explanations``.

        *requirements* default to the study's on the responses that were fitted; the other options are
        :func:`glassline.explain.explain`'s (the collinearity limits default to the study file's ``[models]``).
        """
        from glassline.explain import explain

        comparison = self._need_comparison()
        fitted = set(comparison.results["target"].astype(str))
        with self._timed("explain"):
            self.explanations = explain(
                comparison,
                self.out / EXPLANATIONS,
                study=self.study,
                targets=targets,
                families=families,
                bootstrap=bootstrap,
                n_jobs=n_jobs,
                plots=plots,
                influence=influence,
                include_unexplainable=include_unexplainable,
                requirements=_fitted_requirements(self.study, fitted) if requirements is None else requirements,
                level=level,
                seed=self.seed,
                progress=progress,
                vif_soft=vif_soft,
                vif_hard=vif_hard,
                r_soft=r_soft,
                r_hard=r_hard,
            )
        return self.explanations

    def build_report(self) -> Path:
        """The HTML report of the study folder (``out/report.html``), with model cards and AI-Act evidence."""
        from glassline.report import build_report

        self._need_comparison()
        with self._timed("report"):
            self.report = build_report(self.out, study=self.study)
        return self.report

    def run(
        self,
        data: str | Path | PreparedDataset,
        *,
        families: Iterable[str] | None = None,
        targets: Iterable[str] | None = None,
        bootstrap: int | None = None,
        n_jobs: int = 2,
        progress: ProgressCallback | None = None,
    ) -> StudyRun:
        """Every stage in order: prepare → fit → explain → report. Returns the run itself.

        ``progress(label, stage, 4)`` is called as each stage reports, labelled ``stage: step``.
        """
        from glassline.models import check_selection

        check_selection(self.study, families=families, targets=targets)  # a wrong name fails before any work
        stages = 4

        def sub(stage: int, name: str) -> ProgressCallback | None:
            if progress is None:
                return None
            report = progress

            def update(label: str, done: int, total: int) -> None:
                report(f"{name}: {label}", stage, stages)

            return update

        self.prepare(data, progress=sub(0, "prepare"))
        self.fit(families=families, targets=targets, n_jobs=n_jobs, progress=sub(1, "fit"))
        self.explain(bootstrap=bootstrap, n_jobs=n_jobs, progress=sub(2, "explain"))
        if progress:
            progress("report", 3, stages)
        self.build_report()
        if progress:
            progress("done", stages, stages)
        return self

    # ------------------------------------------------------------------ files
    def write(self, folder: str | Path | None = None, *, plots: bool = True) -> list[Path]:
        """Write the study and every stage output the run holds into *folder* (default: ``out``).

        The run then lives in *folder*. The report is rebuilt there when the run had one.
        """
        if folder is not None:
            self.out = Path(folder)
        written = [self.write_study()]
        if self.dataset is not None:
            written += self.dataset.write(self.out / DATASET)
        if self.comparison is not None:
            written += self.comparison.write(self.out / RESULTS, plots=plots, study_file=self.study_file)
        if self.explanations is not None:
            if self.comparison is not None:
                self.explanations.fits.folder = self.comparison.folder  # run.json names the results beside it
            written += self.explanations.write(self.out / EXPLANATIONS, plots=plots)
        if self.report is not None:
            written.append(self.build_report())
        return written

    @classmethod
    def load(cls, folder: str | Path) -> StudyRun:
        """A study folder read back: its study (with the seed its results were fitted with), and each
        stage output found in it (a stage that did not run stays None)."""
        from glassline.explain import Explanations
        from glassline.models import Comparison

        root = Path(folder)
        results = root / RESULTS
        comparison = Comparison.load(results) if (results / "results.csv").is_file() else None
        if comparison is not None and comparison.study is not None:
            study = comparison.study
        elif (root / STUDY).is_file():
            study = load_study(root / STUDY)
        else:
            raise DataError(f"{root}: not a study folder; expected {STUDY} or {RESULTS}/results.csv in it")
        seed = comparison.settings.get("seed") if comparison is not None else None
        run = cls(study, seed=seed if isinstance(seed, int) else None, out=root)
        if (root / STUDY).is_file():
            run.study_file = root / STUDY
            run._file_seed = load_study(root / STUDY).seed
        if (root / DATASET / "metadata.json").is_file():
            run.dataset = PreparedDataset.load(root / DATASET)
        if comparison is not None:
            comparison.study = run.study
            run.comparison = comparison
            if (root / EXPLANATIONS / "run.json").is_file():
                run.explanations = Explanations.load(root / EXPLANATIONS, fits=comparison.fits, study=run.study)
        if (root / REPORT).is_file():
            run.report = root / REPORT
        return run
