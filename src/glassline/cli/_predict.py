"""``glassline predict``: batch prediction with attributions from a registered model, in bounded memory."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from glassline.cli._app import app, console, progress
from glassline.cli._cluster import ClusterOption, using_cluster
from glassline.cli._serve import HomeOption

__all__ = ["predict"]


@app.command()
def predict(
    model: Annotated[
        str,
        typer.Option(
            "--model", "-m", help="NAME, NAME@ALIAS or NAME/VERSION, as `glassline serve` takes it.", show_default=False
        ),
    ],
    data: Annotated[
        Path,
        typer.Option(
            "--data",
            "-d",
            help="A Parquet file, a folder of Parquet files (e.g. partitioned by day) or a CSV file.",
            show_default=False,
        ),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="The Parquet file to write.", show_default=False)],
    keep: Annotated[
        list[str] | None, typer.Option("--keep", "-k", help="Input columns to copy to the output (repeat).")
    ] = None,
    chunk_rows: Annotated[int, typer.Option("--chunk-rows", help="Rows per chunk (memory and task size).")] = 50_000,
    jobs: Annotated[int, typer.Option("--jobs", "-j", help="Worker processes (1: none; -1: all cores).")] = 1,
    tracking_uri: Annotated[
        str | None, typer.Option("--tracking-uri", help="MLflow tracking URI. [default: the workspace's]")
    ] = None,
    home: HomeOption = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    cluster: ClusterOption = None,
) -> None:
    """Predict every row of a large table with a registered model: prediction, interval, validity-domain
    verdict and SHAP attributions per row (columns: the kept ones, row, prediction, lower, upper,
    base_value, distance, inside_domain, status, shap_<input>…)."""
    from glassline.registry import predict_batch

    with using_cluster(cluster), progress("predicting", quiet=quiet) as update:
        done = predict_batch(
            model,
            data,
            out,
            keep=[part.strip() for value in keep or [] for part in value.split(",") if part.strip()],
            chunk_rows=chunk_rows,
            n_jobs=jobs,
            home=home,
            tracking=tracking_uri,
            progress=update,
        )
    console.print(f"[green]ok[/] {done.summary()}", highlight=False)
