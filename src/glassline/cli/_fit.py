"""``glassline fit``: compare model families for every target × scenario and write RESULTS_DIR."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from glassline.cli._app import app, console, progress
from glassline.cli._cluster import ClusterOption, using_cluster
from glassline.models._scheme import CVScheme
from glassline.spec import load_study

__all__ = ["fit"]


def _names(values: list[str] | None) -> list[str] | None:
    """Repeated options and comma-separated lists alike: ``-f mlr -f svr`` or ``-f mlr,svr``."""
    if not values:
        return None
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


@app.command()
def fit(
    spec: Annotated[Path, typer.Argument(help="The study file (TOML).", show_default=False)],
    data: Annotated[
        Path,
        typer.Option(
            "--data",
            "-d",
            help="The prepared dataset folder (one table per response level), or one CSV/Parquet table.",
            show_default=False,
        ),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the results.", show_default=False)],
    families: Annotated[
        list[str] | None,
        typer.Option(
            "--families", "-f", help="Model families to compare (repeat or comma-separate). Default: the study's."
        ),
    ] = None,
    scenarios: Annotated[
        list[str] | None, typer.Option("--scenarios", "-s", help="Scenarios to fit. Default: all.")
    ] = None,
    targets: Annotated[
        list[str] | None, typer.Option("--targets", "-t", help="Responses to fit. Default: all.")
    ] = None,
    cv: Annotated[
        CVScheme, typer.Option("--cv", help="Honest cross-validation: grouped repeated K-fold, or leave-one-group-out.")
    ] = CVScheme.GROUPED,
    jobs: Annotated[int, typer.Option("--jobs", "-j", help="Worker processes (1: none; -1: all cores).")] = 2,
    seed: Annotated[
        int | None, typer.Option("--seed", help="Seed of the splits, tuning and models (default: the study file's).")
    ] = None,
    plots: Annotated[bool, typer.Option("--plots/--no-plots", help="Write the parity plots.")] = True,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar and no summary table.")] = False,
    cluster: ClusterOption = None,
) -> None:
    """Compare model families on the paper's split and in grouped cross-validation; write RESULTS_DIR."""
    from glassline.models import compare

    study = load_study(spec)
    with using_cluster(cluster), progress("fitting", quiet=quiet) as update:
        comparison = compare(
            study,
            data,
            seed=seed,
            families=_names(families),
            scenarios=_names(scenarios),
            targets=_names(targets),
            cv=cv,
            n_jobs=jobs,
            progress=update,
        )
    written = comparison.write(out, plots=plots, study_file=spec)
    s = comparison.settings
    if not quiet:
        table = Table(
            title="best family per target × scenario, by pooled CV R² (test R²: the paper's random split)",
            title_justify="left",
        )
        for column in ("target", "scenario", "family", "CV R²", "test R²", "explainable"):
            table.add_column(column, justify="right" if "R²" in column else "left")
        for row in comparison.best().to_dict("records"):
            table.add_row(
                str(row["target"]),
                str(row["scenario"]),
                str(row["family"]),
                f"{row['cv_r2_pooled']:.2f}",
                f"{row['r2_test']:.2f}",
                "yes" if row["explainable"] else "[yellow]no[/]",
            )
        console.print(table)
        for note in comparison.notes:
            console.print(f"[dim]note:[/] {note}", highlight=False)
    console.print(
        f"[green]ok[/] {len(comparison.results)} models ({s['n_model_fits']} fits, seed {s['seed']}) in "
        f"{s['wall_seconds']:.1f} s; "
        f"wrote {len(written)} files to {out}",
        highlight=False,
    )
