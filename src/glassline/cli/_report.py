"""``glassline report``: one self-contained HTML file from a study folder."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from glassline.cli._app import app, console, progress
from glassline.spec import load_study

__all__ = ["report"]


@app.command()
def report(
    folder: Annotated[
        Path, typer.Argument(help="Study folder (or its results/ folder) from `glassline study` or the demo.")
    ],
    out: Annotated[Path | None, typer.Option("--out", help="HTML file to write [default: FOLDER/report.html].")] = None,
    study: Annotated[
        Path | None, typer.Option("--study", help="Study file, when the folder holds no study.toml (nor its results/).")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Write the report: study, data, Table 5, explanations, narratives, model cards, AI-Act evidence."""
    from glassline.report import build_report  # loads the model stage: on use, not on --help

    chosen = load_study(study) if study else None
    with progress("building the report", quiet=quiet):
        path = build_report(folder, out, study=chosen)
    size = path.stat().st_size / 1e6
    console.print(f"[green]ok[/] report {path} ({size:.1f} MB); model cards and datasheet in {path.parent / 'cards'}")
