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
from glassline.exceptions import SpecError
from glassline.spec import Study

__all__ = [
    "SHIFT_DRIFT",
    "SHIFT_JITTER",
    "SHIFT_ROWS",
    "SHIFT_WINDOW",
    "DemoResult",
    "LifeCycle",
    "electrode_study_path",
    "run_demo",
    "run_life_cycle",
]


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
        """Six lines a person reads first (eight after the life cycle: its alarm and the dashboards)."""
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
            *([life.alarm_line(), life.dashboard_line()] if (life := self.extra.get("life_cycle")) else []),
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
    life_cycle: bool = False,
) -> DemoResult:
    """Design → simulated line → study (prepare → fit → explain → report) for the shipped electrode study.

    Writes ``study.toml``, ``design.csv`` (run sheet, real units, randomized order), ``design.xlsx``,
    ``design_diagnostics.json``, ``fds.png``, ``raw/`` (the simulated line's files), ``dataset/``
    (tidy tables per response level, cleaning log), ``results/`` (the model comparison),
    ``explanations/``, ``cards/``, ``ai_act_evidence.md`` and ``report.html`` into *out_dir*.
    *seed* (default: the study's) drives the design, the simulated line, the splits, the tuning, the
    models and the explanations; *families* and *targets* narrow the comparison. *life_cycle*: then publish
    the lead model, stream a simulated production shift through the service and monitor it
    (:func:`run_life_cycle`: ``home/``, ``monitoring/``; needs the ``serve`` extra).
    """
    from glassline.design import fds_curve, optimal_design, plot_fds, write_run_sheet
    from glassline.models import check_selection
    from glassline.run import StudyRun

    if life_cycle:
        import importlib.util

        missing = [m for m in ("fastapi", "uvicorn", "httpx", "mlflow") if importlib.util.find_spec(m) is None]
        if missing:
            raise SpecError(
                f"the demo's life cycle serves a model and needs the serve extra ({', '.join(missing)} missing): "
                "pip install 'glassline[serve]', or run without it (glassline demo --no-life-cycle)"
            )
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
    life = None
    if life_cycle:
        step("life cycle: publish, production shift through the service, monitoring", total - 1)
        clock = time.perf_counter()
        life = run_life_cycle(out, out / "results", study, seed=seed, best=comparison_best)
        seconds["life_cycle"] = time.perf_counter() - clock
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
            "life_cycle": life,
        },
    )


#: The demo's production shift: rows of commissioning (declared the monitoring reference), rows in control,
#: then rows with the drift; one window of the monitor is this many rows.
SHIFT_ROWS = {"commissioning": 60, "in_control": 30, "drift": 60}
SHIFT_WINDOW = 30
#: The drift the shift carries after its in-control part: the simulator's ``dryer_sensor_bias:5`` (the second
#: dryer's thermocouple reads 5 °C too high), i.e. the model's input and the bias it reads.
SHIFT_DRIFT = ("drying_temperature", 5.0)
#: Run-to-run variation of the shift's settings about the training configurations, as a share of each input's range.
SHIFT_JITTER = 0.02


@dataclass
class LifeCycle:
    """What the demo's life-cycle part did: the published model, the monitoring windows and their alarms."""

    model: str
    version: str
    home: Path
    reference: tuple[int, int]
    reports: list[dict[str, Any]]
    folder: Path
    token: str
    seconds: float

    def alarm_line(self) -> str:
        first = next((r for r in self.reports if r["alarms"]), None)
        if first is None:
            return f"Monitoring: {len(self.reports)} windows after the reference, no alarm ({self.folder})"
        alarm = first["alarms"][0]
        where = f"records {first['window']['first_seq']}–{first['window']['last_seq']}"
        what = alarm["kind"] + (f" ({alarm['input']})" if alarm["input"] else "")
        cause = f": {alarm['root_cause']}" if alarm.get("root_cause") else ""
        if cause and alarm.get("root_cause_grade"):
            cause += f" (cause {alarm['root_cause_grade']})"
        return f"Monitoring: alarm {what} in {where}{cause} ({self.folder / 'report.md'})"

    def dashboard_line(self) -> str:
        return (
            f"Dashboards: glassline serve --model {self.model}/{self.version} --home {self.home} "
            f"--results {self.folder.parent / 'results'}, then http://127.0.0.1:8000/ui/login with token {self.token}"
        )


def run_life_cycle(out: Path, results: Path, study: Study, *, seed: int, best: pd.DataFrame) -> LifeCycle:
    """Publish a lead model, stream a simulated production shift through the service, monitor it.

    The model: adhesion's lead model of the product scenario when the run has it, else the first response's lead
    model (*best*: the comparison's best rows).

    The shift's settings are the model's training configurations drawn at random with a run-to-run jitter of
    :data:`SHIFT_JITTER` of each input's range; after its commissioning rows (declared the monitoring reference)
    and its in-control rows, the simulator's :data:`SHIFT_DRIFT` acts on the input it names. Every prediction
    goes through the service over HTTP on 127.0.0.1 (a server thread of this process) into the audit log of
    ``out/home``; the monitor then tests every window of :data:`SHIFT_WINDOW` rows after the reference and
    writes ``out/monitoring/`` (report.json, report.md, the handover pack). Needs the ``serve`` extra.
    """
    import threading

    import httpx
    import numpy as np
    import uvicorn

    from glassline.audit import AuditLog, Role, TokenStore, connect
    from glassline.monitor import check_all, set_reference, write_handover
    from glassline.registry import database_url, load_model, publish
    from glassline.serve import Fallback, ServedModel, ServiceConfig, create_app, server_config

    clock = time.perf_counter()
    home = out / "home"
    lead = best[(best["target"] == "adhesion_strength") & (best["scenario"] == "product")]
    pick = (lead if len(lead) else best).iloc[0]
    target, scenario = str(pick["target"]), str(pick["scenario"])
    published = publish(results, target, scenario, name=target, study=study, home=home, actor="demo")
    loaded = load_model(f"{published.name}/{published.version}", home=home)
    db_url = database_url(home)
    engine = connect(db_url)
    tokens = TokenStore(engine)
    operator = tokens.create(Role.operator, "demo: production shift")
    engineer = tokens.create(Role.engineer, "demo: dashboards")
    log = AuditLog(engine)
    drifted, bias = SHIFT_DRIFT
    rng = np.random.default_rng(seed)
    background = loaded.bundle.background[loaded.bundle.inputs].to_numpy(float)
    span = np.ptp(background, axis=0)
    n = sum(SHIFT_ROWS.values())
    rows = background[rng.integers(0, len(background), n)] + rng.normal(0.0, SHIFT_JITTER, (n, len(span))) * span
    onset = SHIFT_ROWS["commissioning"] + SHIFT_ROWS["in_control"]
    if drifted in loaded.bundle.inputs:
        rows[onset:, loaded.bundle.inputs.index(drifted)] += bias
    app = create_app([ServedModel(loaded)], ServiceConfig(db_url=db_url, fallback=Fallback.flag))
    server = uvicorn.Server(server_config(app, host="127.0.0.1", port=0, log_level="error"))
    thread = threading.Thread(target=server.run, name="demo-service", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 60
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("the demo's production shift: the service did not start on 127.0.0.1")
            time.sleep(0.02)
        port = server.servers[0].sockets[0].getsockname()[1]
        headers = {"Authorization": f"Bearer {operator}"}
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=30) as client:
            for values in rows:
                answer = client.post(
                    f"/v1/models/{loaded.name}/predict",
                    json={"rows": [dict(zip(loaded.bundle.inputs, map(float, values), strict=True))]},
                )
                if answer.status_code != 200:
                    raise RuntimeError(
                        f"the demo's production shift: the service answered {answer.status_code}: {answer.text}"
                    )
    finally:
        server.should_exit = True
        thread.join(10)
    seqs = [r.seq for r in log.records("prediction", model=loaded.name)]
    reference = (seqs[0], seqs[SHIFT_ROWS["commissioning"] - 1])
    set_reference(log, loaded, f"{reference[0]}:{reference[1]}", actor="demo")
    reports = [r.to_dict() for r in check_all(log, loaded, window=SHIFT_WINDOW)]
    folder = out / "monitoring"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "report.json").write_text(json.dumps(reports, indent=2, default=str), encoding="utf-8")
    write_handover(log, loaded, folder / "handover")
    result = LifeCycle(
        loaded.name, loaded.version, home, reference, reports, folder, engineer, time.perf_counter() - clock
    )
    unit = next((c.unit for c in study.columns() if c.name == drifted), "")
    (folder / "report.md").write_text(_monitoring_markdown(result, drifted, bias, unit, onset), encoding="utf-8")
    engine.dispose()
    return result


def _monitoring_markdown(life: LifeCycle, drifted: str, bias: float, unit: str, onset: int) -> str:
    lines = [
        f"# Monitoring of {life.model} v{life.version} on the demo's production shift",
        "",
        f"Reference: audit records {life.reference[0]}–{life.reference[1]} (the shift's commissioning rows). "
        f"The simulated drift (`{drifted}` reads {bias:g} {unit} too high, the simulator's `dryer_sensor_bias`) starts "
        f"after row {onset} of the shift. "
        f"Windows of {SHIFT_WINDOW} predictions, family-wise false-alarm rate 5 % per window.",
        "",
        "| window (audit records) | alarms | root cause |",
        "|---|---|---|",
    ]
    for report in life.reports:
        window = f"{report['window']['first_seq']}–{report['window']['last_seq']}"
        alarms = ", ".join(a["kind"] + (f" ({a['input']})" if a["input"] else "") for a in report["alarms"]) or "none"
        causes = (
            " ".join(
                str(a.get("root_cause") or "")
                + (f" (cause {a['root_cause_grade']})" if a.get("root_cause_grade") else "")
                for a in report["alarms"]
            ).strip()
            or "–"
        )
        lines.append(f"| {window} | {alarms} | {causes} |")
    steps: list[str] = next((a["runbook"] for r in life.reports for a in r["alarms"] if a.get("runbook")), [])
    if steps:
        lines += ["", "What to do (runbook of the first alarm):", "", *[f"1. {s}" for s in steps]]
    lines += ["", "The handover pack for the person who monitors the model: `handover/handover.html`."]
    return "\n".join(lines) + "\n"
