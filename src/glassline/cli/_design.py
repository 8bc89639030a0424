"""``glassline design`` (make a design and its run sheet) and ``glassline design-check`` (diagnose one)."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal

import pandas as pd
import typer
from rich.markup import escape
from rich.table import Table

from glassline._output import output_path, writing
from glassline.cli._app import app, console, progress
from glassline.design import (
    Design,
    DesignDiagnostics,
    DesignSpace,
    augment_fds,
    classical_design,
    optimal_design,
    plot_fds,
    read_design,
    write_run_sheet,
)
from glassline.design._diagnostics import MAX_ABS_CORRELATION
from glassline.design._space import MAX_DESIGN_RUNS
from glassline.exceptions import DesignError
from glassline.spec import load_study

__all__ = ["design", "design_check"]


class CriterionChoice(StrEnum):
    i = "i"
    d = "d"


class ModelChoice(StrEnum):
    linear = "linear"
    interactions = "interactions"
    quadratic = "quadratic"


class KindChoice(StrEnum):
    optimal = "optimal"
    full_factorial = "full-factorial"
    ccd_face = "ccd-face"
    ccd_rotatable = "ccd-rotatable"
    box_behnken = "box-behnken"
    latin_hypercube = "latin-hypercube"


SpecArg = Annotated[Path, typer.Argument(help="The study file (TOML).", show_default=False)]
ModelOpt = Annotated[ModelChoice, typer.Option("--model", "-m", help="Model the design must estimate.")]
JsonOpt = Annotated[Path | None, typer.Option("--json", help="Write the diagnostics as JSON here.")]
FdsOpt = Annotated[Path | None, typer.Option("--fds-plot", help="Write the FDS plot here (.png or .svg).")]
EffectOpt = Annotated[float, typer.Option("--effect-size", help="Effect (in σ) the power is computed for.")]
CompareOpt = Annotated[
    int, typer.Option("--compare-levels", help="Compare with the full factorial at this many levels (0: off).")
]


@app.command()
def design(
    spec: SpecArg,
    out: Annotated[Path, typer.Option("--out", "-o", help="Run sheet to write (.csv or .xlsx).")],
    runs: Annotated[
        int | None,
        typer.Option("--runs", "-n", help="Total number of runs (with --augment: including the existing ones)."),
    ] = None,
    criterion: Annotated[
        CriterionChoice,
        typer.Option("--criterion", "-c", help="i: lowest average prediction variance; d: largest det X'X."),
    ] = CriterionChoice.i,
    model: ModelOpt = ModelChoice.quadratic,
    lack_of_fit: Annotated[
        int, typer.Option("--lack-of-fit", help="Space-filling lack-of-fit points (Design-Expert's recipe).")
    ] = 0,
    replicates: Annotated[
        int, typer.Option("--replicates", help="Replicated runs, chosen by the criterion (Design-Expert's recipe).")
    ] = 0,
    augment: Annotated[
        Path | None, typer.Option("--augment", help="Existing runs (real units) to keep and add to.")
    ] = None,
    by_variance: Annotated[
        bool,
        typer.Option("--by-variance", help="With --augment: add each run where the prediction variance is highest."),
    ] = False,
    kind: Annotated[
        KindChoice, typer.Option("--kind", help="An optimal design or a classical one to compare with.")
    ] = KindChoice.optimal,
    levels: Annotated[int, typer.Option("--levels", help="Levels per factor of --kind full-factorial.")] = 3,
    seed: Annotated[int | None, typer.Option("--seed", help="Random seed (default: the study's seed).")] = None,
    starts: Annotated[int, typer.Option("--starts", help="Random starts of the exchange.")] = 32,
    grid_only: Annotated[
        bool, typer.Option("--grid-only", help="Keep continuous factors on low/centre/high (no off-grid refinement).")
    ] = False,
    json_path: JsonOpt = None,
    fds_plot: FdsOpt = None,
    effect_size: EffectOpt = 2.0,
    compare_levels: CompareOpt = 4,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar or run table.")] = False,
) -> None:
    """Make a design for a study and write its run sheet (real units, randomized order)."""
    study = load_study(spec)
    _check_outputs(out=out, json_path=json_path, fds_plot=fds_plot)
    seed = study.with_seed(seed).seed
    if by_variance and augment is None:
        raise DesignError("--by-variance adds runs to an existing design: give it with --augment FILE")
    space = DesignSpace.from_study(study)
    if augment is not None:
        made = _augmented(space, augment, runs, criterion.value, model.value, by_variance, seed, starts)
    elif kind is KindChoice.optimal:
        if runs is None:
            raise DesignError("--runs is required for an optimal design (e.g. --runs 17)")
        label = f"{criterion.value.upper()}-optimal design, {runs} runs"
        with progress(label, quiet=quiet) as update:
            made = optimal_design(
                space,
                runs,
                criterion=criterion.value,
                model=model.value,
                lack_of_fit=lack_of_fit,
                replicates=replicates,
                seed=seed,
                n_starts=starts,
                off_grid=not grid_only,
                progress=update,
            )
    else:
        made = classical_design(kind.value, space, levels=levels, runs=runs, seed=seed, model=model.value)
    with progress("diagnostics", quiet=quiet):
        report = made.diagnostics(effect_size=effect_size, compare_levels=compare_levels or None, seed=seed)
    sheet = made.run_sheet(seed=seed)
    write_run_sheet(sheet, out, space=space)
    if not quiet:
        console.print(_sheet_table(sheet, space))
    note = str(sheet.attrs.get("order_note", ""))
    extra = {"spec": str(spec), "out": str(out), "seed": seed, "run_order_note": note}
    _finish(report, json_path, fds_plot, made, extra=extra)
    console.print(
        f"[green]wrote[/] {escape(str(out))}: {len(sheet)} runs, "
        f"{sheet['configuration'].nunique()} configurations, run order randomized with seed {seed}"
    )
    console.print(escape(note))


@app.command("design-check")
def design_check(
    spec: SpecArg,
    design_file: Annotated[Path, typer.Argument(help="The design or run sheet (real units).", show_default=False)],
    model: ModelOpt = ModelChoice.quadratic,
    json_path: JsonOpt = None,
    fds_plot: FdsOpt = None,
    effect_size: EffectOpt = 2.0,
    compare_levels: CompareOpt = 4,
) -> None:
    """Diagnose an existing design: I, N·I, D/G efficiency, VIF, correlation, power, FDS."""
    study = load_study(spec)
    _check_outputs(json_path=json_path, fds_plot=fds_plot)
    space = DesignSpace.from_study(study)
    table = read_design(design_file, space)
    made = Design.from_table(table, space, model.value, source=str(design_file))
    report = made.diagnostics(effect_size=effect_size, compare_levels=compare_levels or None, seed=study.seed)
    _finish(report, json_path, fds_plot, made, extra={"spec": str(spec), "design": str(design_file)})


def _check_outputs(*, out: Path | None = None, json_path: Path | None = None, fds_plot: Path | None = None) -> None:
    """Refuse an output path that cannot be written before any design work starts."""
    for option, path, suffixes in (
        ("--out", out, (".csv", ".xlsx")),
        ("--json", json_path, None),
        ("--fds-plot", fds_plot, (".png", ".svg", ".pdf")),
    ):
        if path is None:
            continue
        if suffixes is not None and not path.is_dir() and path.suffix.lower() not in suffixes:
            found = path.suffix or "no suffix"
            raise DesignError(f"{option} {path}: expected a file ending in {' or '.join(suffixes)}, not {found!r}")
        output_path(path, what=option)


def _augmented(
    space: DesignSpace,
    path: Path,
    runs: int | None,
    criterion: Literal["i", "d"],
    model: str,
    by_variance: bool,
    seed: int,
    starts: int,
) -> Design:
    table = read_design(path, space)
    existing = Design.from_table(table, space, model, source=str(path))
    if runs is None:
        raise DesignError(f"--runs is required with --augment: the total, more than the {len(existing)} runs in {path}")
    if runs <= len(existing):
        raise DesignError(
            f"--runs is the total number of runs: {runs} is not more than the {len(existing)} runs already in {path}"
        )
    if runs > MAX_DESIGN_RUNS:
        raise DesignError(f"--runs must be at most {MAX_DESIGN_RUNS:,} for a designed experiment, got {runs:,}")
    if by_variance:
        return augment_fds(existing, runs - len(existing), seed=seed)
    return optimal_design(
        space, runs, criterion=criterion, model=model, fixed=existing.points, seed=seed, n_starts=starts
    )


def _finish(
    report: DesignDiagnostics, json_path: Path | None, fds_plot: Path | None, made: Design, *, extra: dict[str, object]
) -> None:
    for line in report.summary():
        style = "yellow" if "NOT below" in line else None
        console.print(escape(line), style=style, highlight=False)
    if report.max_abs_correlation >= MAX_ABS_CORRELATION:
        console.print(f"[yellow]warning:[/] factor columns correlate (|r| ≥ {MAX_ABS_CORRELATION})")
    if json_path is not None:
        payload = report.to_dict() | extra
        with writing(json_path, what="--json"):
            json_path.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        console.print(f"[green]wrote[/] {escape(str(json_path))}")
    if fds_plot is not None:
        plot_fds(report.fds, fds_plot)
        console.print(f"[green]wrote[/] {escape(str(fds_plot))}")


def _sheet_table(sheet: pd.DataFrame, space: DesignSpace) -> Table:
    table = Table(title="run sheet (randomized order)", title_justify="left")
    for column in ("run", "configuration", "role"):
        table.add_column(column, justify="right" if column == "run" else "left")
    for f in space.factors:
        table.add_column(f"{f.name} [{f.unit}]" if f.unit else f.name, justify="right")
    for _, row in sheet.iterrows():
        cells = [str(row["run"]), str(row["configuration"]), str(row["role"])]
        cells += [f"{row[f.name]:g}" if f.kind == "continuous" else str(row[f.name]) for f in space.factors]
        table.add_row(*(escape(c) for c in cells))
    return table
