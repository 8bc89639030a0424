"""``glassline prepare``: raw line data → tidy tables per response level + cleaning log."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from glassline.cli._app import app, console, progress
from glassline.cli._cluster import ClusterOption, using_cluster
from glassline.data import is_production_folder, prepare_production
from glassline.data import prepare as prepare_dataset
from glassline.spec import load_study

__all__ = ["prepare"]


@app.command()
def prepare(
    spec: Annotated[Path, typer.Argument(help="The study file (TOML).", show_default=False)],
    raw: Annotated[Path, typer.Option("--raw", help="Folder of raw line data.", show_default=False)],
    out: Annotated[Path, typer.Option("--out", help="Folder for the prepared dataset.", show_default=False)],
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bar.")] = False,
    cluster: ClusterOption = None,
) -> None:
    """Read, align, clean and derive: one tidy table per response level, with a cleaning log."""
    study = load_study(spec)
    if is_production_folder(raw):  # a production run's log of many coils: segment means (pandas or dask path)
        with using_cluster(cluster):
            done = prepare_production(raw, out)
        console.print(f"[green]ok[/] {done.summary()} → {out / 'segments.parquet'}", highlight=False)
        return
    with using_cluster(cluster), progress("preparing", quiet=quiet) as update:
        dataset = prepare_dataset(study, raw, out, progress=update)
    table = Table(title=f"prepared dataset in {out}", title_justify="left")
    for column in ("table", "rows", "groups", "responses"):
        table.add_column(column)
    for level, info in dataset.metadata["levels"].items():
        table.add_row(
            f"{level}.parquet", str(info["rows"]), str(info["groups"] or "–"), ", ".join(info["responses"]) or "(extra)"
        )
    console.print(table)
    for sensor, lag in dataset.metadata.get("alignment_lags", {}).items():
        console.print(
            f"alignment check {sensor}: cross-correlation lag {lag['estimated_m']:.2f} m "
            f"({lag['estimated_samples']:.0f} samples) vs sensor distance {lag['expected_m']:.2f} m "
            f"({lag['expected_samples']:.0f} samples)"
        )
    for note in dataset.metadata.get("notes", []):
        console.print(f"[yellow]note:[/] {note}", highlight=False)
    counts = dataset.log.counts()
    detail = ", ".join(f"{n} × {rule}" for rule, n in counts.items()) or "nothing"
    console.print(f"cleaning log: {len(dataset.log)} rows ({detail}) → {out / 'cleaning_log.csv'}")
