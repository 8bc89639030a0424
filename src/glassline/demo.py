"""The demo: the paper's whole study on the simulated anode pilot line, from nothing.

``glassline demo`` (and :func:`run_demo`) designs the paper's 17 runs as an I-optimal response-surface
design, runs them on the simulated pilot line, then runs the whole study on the raw files (prepare →
model comparison → explanations → report). Every intermediate file lands in one folder;
:class:`DemoResult` says where and gives a short summary.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from glassline._progress import ProgressCallback
from glassline.domains import get_domain
from glassline.spec import Study

__all__ = ["DemoResult", "electrode_study_path", "run_demo"]


def electrode_study_path() -> Path:
    """The shipped study file of the paper (graphite-anode DoE)."""
    return get_domain("electrode").study_file()


@dataclass
class DemoResult:
    """Where the demo wrote what, and the figures worth printing."""

    out_dir: Path
    study: Study
    design_line: str
    i_criterion: float
    max_vif: float
    max_abs_correlation: float
    raw_rows: dict[str, int]
    dataset_rows: dict[str, int]
    cleaning_rows: int
    paths: dict[str, Path] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def _models_line(self) -> str:
        best = self.extra.get("best_models")
        if best is None or len(best) == 0:
            return "Models: none compared"
        optimism = (best["r2_test"] - best["cv_r2_pooled"]).mean()
        pick = best[(best["target"] == "adhesion_strength") & (best["scenario"] == "product")]
        row = pick.iloc[0] if len(pick) else best.iloc[0]
        return (
            f"Models: {len(best)} target × scenario pairs; e.g. {row['target']} / {row['scenario']}: best "
            f"{row['family']} by grouped CV (R² {row['cv_r2_pooled']:.2f}; random split says {row['r2_test']:.2f}); "
            f"random-split R² minus grouped-CV R²: {optimism:+.2f} on average"
        )

    def summary_lines(self) -> list[str]:
        """Six lines a person reads first."""
        raw = ", ".join(f"{k} {v}" for k, v in self.raw_rows.items() if k in ("inline_log.csv", "eis/index.csv"))
        tables = ", ".join(f"{k} {v}" for k, v in self.dataset_rows.items() if not k.startswith(("eis", "align")))
        return [
            f"Study: {self.study.name} ({len(self.study.factors)} factors, {len(self.study.responses)} responses)",
            f"Design: {self.design_line}; I = {self.i_criterion:.4f}, max VIF {self.max_vif:.2f}, "
            f"max |r| {self.max_abs_correlation:.2f}",
            f"Simulated line: {raw} rows, ground truth in {self.paths['raw'] / 'truth.json'}",
            f"Prepared tables: {tables}; {self.cleaning_rows} rows in the cleaning log",
            self._models_line(),
            f"Report: {self.paths['report']} (everything else is in {self.out_dir})",
        ]


def _prepared(dataset: Path) -> dict[str, Any]:
    """Rows per table and cleaning-log rows of a prepared dataset folder."""
    meta = json.loads((dataset / "metadata.json").read_text(encoding="utf-8"))
    return {"rows": {k: int(v["rows"]) for k, v in meta["levels"].items()}, "cleaning": int(meta["cleaning"]["rows"])}


def run_demo(
    out_dir: str | Path = "demo-out",
    *,
    seed: int | None = None,
    study: Study | None = None,
    families: list[str] | None = None,
    targets: list[str] | None = None,
    n_jobs: int = 2,
    progress: ProgressCallback | None = None,
) -> DemoResult:
    """Design → simulated line → study (prepare → fit → explain → report) for the shipped electrode study.

    Writes ``study.toml``, ``design.csv`` (run sheet, real units, randomized order), ``design.xlsx``,
    ``design_diagnostics.json``, ``fds.png``, ``raw/`` (the simulated line's files), ``dataset/``
    (tidy tables per response level, cleaning log), ``results/`` (the model comparison),
    ``explanations/``, ``cards/``, ``ai_act_evidence.md`` and ``report.html`` into *out_dir*.
    *seed* (default: the study's) drives the design, the simulated line, the splits, the tuning, the
    models and the explanations; *families* and *targets* narrow the comparison.
    """
    from glassline.design import fds_curve, optimal_design, plot_fds, write_run_sheet
    from glassline.models import check_selection
    from glassline.run import StudyRun

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    # the shipped study by its file, so the results record the file they were fitted from
    spec: Path | Study = electrode_study_path() if study is None else study
    run = StudyRun(spec, seed=seed, out=out)
    study, seed = run.study, run.seed
    check_selection(study, families=families, targets=targets)  # a wrong name fails before the design
    run.write_study()
    total = 7

    def step(label: str, done: int) -> None:
        if progress:
            progress(label, done, total)

    step("I-optimal design", 0)
    clock = time.perf_counter()
    design = optimal_design(study, runs=17, criterion="i", model="quadratic", seed=seed)
    sheet = design.run_sheet(seed=seed)
    # every run is a configuration made on the line; a replicated design point is made twice
    runs = sheet.assign(configuration=[f"R{int(r):02d}" for r in sheet["run"]])
    write_run_sheet(runs, out / "design.csv", space=design.space)
    write_run_sheet(runs, out / "design.xlsx", space=design.space)
    diagnostics = design.diagnostics().to_dict()
    (out / "design_diagnostics.json").write_text(json.dumps(diagnostics, indent=2, default=float), encoding="utf-8")
    plot_fds(fds_curve(design, seed=seed), out / "fds.png")
    seconds = {"design": time.perf_counter() - clock}
    step("simulated pilot line", 1)
    clock = time.perf_counter()
    factor_columns = [f.name for f in study.factors]
    simulated = get_domain("electrode").simulate(runs[["configuration", *factor_columns]], out / "raw", seed=seed)
    seconds["simulate"] = time.perf_counter() - clock
    step("study: prepare → fit → explain → report", 2)

    def stage_progress(label: str, done: int, of: int) -> None:
        if progress:
            progress(label, 2 + done, total)

    run.run(out / "raw", families=families, targets=targets, n_jobs=n_jobs, progress=stage_progress)
    dataset = _prepared(out / "dataset")
    comparison_best = run.fits.results
    comparison_best = comparison_best[comparison_best["best"].astype(bool)].reset_index(drop=True)
    step("done", total)
    return DemoResult(
        out_dir=out,
        study=study,
        design_line=str(diagnostics["comparison"]["line"]),
        i_criterion=float(diagnostics["i_criterion"]),
        max_vif=float(diagnostics["max_vif"]),
        max_abs_correlation=float(diagnostics["max_abs_correlation"]),
        raw_rows=dict(simulated.rows),
        dataset_rows=dataset["rows"],
        cleaning_rows=dataset["cleaning"],
        paths={
            "design": out / "design.csv",
            "raw": out / "raw",
            "dataset": out / "dataset",
            "results": out / "results",
            "report": run.files.report,
        },
        extra={
            "configurations": len(runs),
            "best_models": comparison_best,
            "seconds": seconds | run.seconds,
            "distinct_points": int(pd.Series(map(tuple, sheet[factor_columns].to_numpy())).nunique()),
        },
    )
