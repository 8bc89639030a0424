"""``glassline demo``: the paper's study on the simulated line, end to end."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from glassline.cli._app import app, console, progress
from glassline.cli._cluster import ClusterOption, using_cluster

__all__ = ["demo"]


@app.command()
def demo(
    out: Annotated[Path, typer.Option("--out", help="Folder for everything the demo writes.")] = Path("demo-out"),
    seed: Annotated[
        int | None,
        typer.Option(
            "--seed",
            help="Seed of the design, the simulated line, splits, tuning, models and explanations "
            "(default: the study's).",
        ),
    ] = None,
    families: Annotated[
        list[str] | None, typer.Option("--family", "-f", help="Only these model families (repeat the option).")
    ] = None,
    targets: Annotated[list[str] | None, typer.Option("--target", "-t", help="Only these targets (repeat).")] = None,
    jobs: Annotated[int, typer.Option("--jobs", "-j", help="Worker processes for the model comparison.")] = 2,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bar.")] = False,
    cluster: ClusterOption = None,
    life_cycle: Annotated[
        bool,
        typer.Option(
            "--life-cycle/--no-life-cycle",
            help="Then publish the lead model, stream a simulated production shift (a dryer thermocouple that "
            "reads 5 °C high) through the service and monitor it.",
        ),
    ] = True,
) -> None:
    """Run the paper's study on the simulated pilot line: design → line → dataset → models."""
    with using_cluster(cluster), progress("demo", quiet=quiet) as update:
        from glassline.demo import run_demo

        result = run_demo(
            out, seed=seed, families=families, targets=targets, n_jobs=jobs, progress=update, life_cycle=life_cycle
        )
    for line in result.summary_lines():
        console.print(line, highlight=False, soft_wrap=True)
