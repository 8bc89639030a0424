"""``glassline check``: validate a study file and summarise it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from glassline.cli._app import app, console
from glassline.spec import Study, load_study

__all__ = ["check", "study_tables"]


def study_tables(study: Study) -> list[Table]:
    """Rich tables summarising a study: factors, measured inputs, responses, scenarios."""
    factors = Table(title=f"{study.name}: factors", title_justify="left")
    for column in ("name", "label", "unit", "range / levels"):
        factors.add_column(column, no_wrap=column == "name")
    for f in study.factors:
        span = f"{f.low:g} – {f.high:g}" if f.kind == "continuous" else ", ".join(f.levels or [])
        factors.add_row(f.name, f.label, f.unit, span)
    tables = [factors]
    if study.measured:
        measured = Table(title="measured inputs", title_justify="left")
        for column in ("name", "label", "unit"):
            measured.add_column(column)
        for m in study.measured:
            measured.add_row(m.name, m.label, m.unit)
        tables.append(measured)
    responses = Table(title="responses", title_justify="left")
    for column in ("name", "label", "unit", "scenarios", "expectations"):
        responses.add_column(column, no_wrap=column == "name")
    for r in study.responses:
        expect = ", ".join(f"{k}: {v}" for k, v in r.expect.items())
        responses.add_row(r.name, r.label, r.unit, ", ".join(study.scenarios_for(r.name)), expect)
    tables.append(responses)
    scenarios = Table(title="scenarios", title_justify="left")
    scenarios.add_column("scenario")
    scenarios.add_column("inputs")
    for name, inputs in study.scenarios.items():
        scenarios.add_row(name, ", ".join(inputs))
    tables.append(scenarios)
    return tables


@app.command()
def check(
    spec: Annotated[Path, typer.Argument(help="The study file (TOML).", show_default=False)],
) -> None:
    """Validate a study file and print a short summary."""
    study = load_study(spec)
    for table in study_tables(study):
        console.print(table)
    console.print(
        f"[green]ok[/] {spec}: {len(study.factors)} factors, {len(study.measured)} measured inputs, "
        f"{len(study.responses)} responses, {len(study.scenarios)} scenarios; seed {study.seed}"
    )
