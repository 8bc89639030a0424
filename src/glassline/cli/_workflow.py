"""``glassline study``: prepare → fit → explain → report in one command."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from glassline.cli._app import app, console, progress
from glassline.cli._cluster import ClusterOption, using_cluster
from glassline.workflow import run_study

__all__ = ["study"]


@app.command()
def study(
    spec: Annotated[Path, typer.Argument(help="The study file (TOML).", show_default=False)],
    data: Annotated[
        Path,
        typer.Option("--data", help="Raw folder, a prepared dataset folder, or one table file.", show_default=False),
    ],
    out: Annotated[Path, typer.Option("--out", help="Folder for every file of every stage.", show_default=False)],
    families: Annotated[
        list[str] | None, typer.Option("--family", "-f", help="Only these model families (repeat the option).")
    ] = None,
    targets: Annotated[list[str] | None, typer.Option("--target", "-t", help="Only these targets (repeat).")] = None,
    bootstrap: Annotated[
        int | None,
        typer.Option(
            "--bootstrap", help="Grouped bootstrap refits of the lead models (default: the study's, else 100)."
        ),
    ] = None,
    jobs: Annotated[int, typer.Option("--jobs", "-j", help="Worker processes.")] = 2,
    seed: Annotated[
        int | None,
        typer.Option(
            "--seed", help="Seed of the splits, tuning, models, bootstrap and explanations (default: the study's)."
        ),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bar.")] = False,
    cluster: ClusterOption = None,
) -> None:
    """Run the whole study: prepare (raw data) → fit → explain → report, all files in one folder."""
    with using_cluster(cluster), progress("study", quiet=quiet) as update:
        run = run_study(
            spec,
            data,
            out,
            seed=seed,
            families=families,
            targets=targets,
            bootstrap=bootstrap,
            n_jobs=jobs,
            progress=update,
        )
    stages = ", ".join(f"{k} {v:.1f} s" for k, v in run.seconds.items())
    console.print(f"[green]ok[/] report {run.report}; seed {run.seed}; stages: {stages}", highlight=False)
