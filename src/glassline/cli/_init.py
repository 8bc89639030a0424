"""``glassline init``: draft a study file from any table."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from glassline.cli._app import app, console
from glassline.data import draft_study
from glassline.exceptions import SpecError

__all__ = ["init"]


@app.command()
def init(
    table: Annotated[Path, typer.Argument(help="The table (CSV, Excel or Parquet).", show_default=False)],
    responses: Annotated[
        list[str],
        typer.Option(
            "--response", "-r", help="A response column, header or name (repeat for more).", show_default=False
        ),
    ],
    out: Annotated[Path, typer.Option("--out", help="The study file to write (TOML).", show_default=False)],
    group: Annotated[
        str | None, typer.Option("--group", help="The column replicates of a configuration share (default: guessed).")
    ] = None,
    order: Annotated[str | None, typer.Option("--order", help="The run-order column (run number, time).")] = None,
    name: Annotated[
        str | None, typer.Option("--name", help="The study's name (default: the table's file name).")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing study file.")] = False,
) -> None:
    """Draft a study file from a table: factors, units, categorical inputs and the group column, guesses as comments."""
    if out.exists() and not force:
        raise SpecError(f"{out}: the study file exists; give another --out, or --force to replace it")
    if out.suffix.lower() != ".toml":
        raise SpecError(f"{out}: expected a study file name ending in .toml")
    draft = draft_study(table, responses, group=group, order=order, name=name)
    path = draft.write(out)
    study = draft.study
    categorical = [f.name for f in study.factors if f.kind == "categorical"]
    console.print(
        f"[green]ok[/] {path}: {len(study.factors)} factors ({len(categorical)} categorical), "
        f"{len(study.responses)} responses, group {study.data.group or '(none)'}",
        highlight=False,
    )
    for guess in draft.guesses:
        console.print(f"[yellow]guessed:[/] {guess}", highlight=False)
    console.print(f"next: glassline check {path}  ·  glassline study {path} --data {table} --out out/", highlight=False)
