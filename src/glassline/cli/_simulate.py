"""``glassline simulate``: run the simulated graphite-anode pilot line on a design."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from glassline.cli._app import app, console, progress
from glassline.domains.electrode import SIMULATOR_SEED
from glassline.spec import load_study

__all__ = ["simulate"]


@app.command()
def simulate(
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Folder for the raw files (created if missing).", show_default=False)
    ],
    design: Annotated[
        Path | None,
        typer.Option(
            "--design",
            "-d",
            help="Design table (CSV or Excel) with columns mass_loading \\[mg/cm²], drying_temperature \\[°C], "
            "porosity \\[%] and optionally configuration. Default: the shipped 17-configuration stand-in for "
            "the paper's design (paper_design.csv).",
            show_default=False,
        ),
    ] = None,
    seed: Annotated[
        int | None,
        typer.Option(
            "--seed",
            help="Random seed; the same seed gives identical files. Default: the seed of --study, else "
            f"{SIMULATOR_SEED} (the paper's year).",
            show_default=False,
        ),
    ] = None,
    study: Annotated[
        Path | None,
        typer.Option(
            "--study", help="The study file whose seed the line runs with (unless --seed).", show_default=False
        ),
    ] = None,
    drift: Annotated[
        str | None,
        typer.Option(
            "--drift",
            help="Let the line drift from a coating segment on: KIND:MAGNITUDE\\[@SEGMENT], e.g. "
            "'dryer_sensor_bias:5' (°C) or 'material_lot:-0.15@S07' (relative adhesion change).",
            show_default=False,
        ),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar and no table.")] = False,
) -> None:
    """Run the simulated anode pilot line on a design and write its raw files (with the true values)."""
    from glassline.domains.electrode.simulator import PAPER_DESIGN, DriftSpec, simulate_line

    if seed is None:
        seed = load_study(study).seed if study is not None else SIMULATOR_SEED
    spec = DriftSpec.parse(drift) if drift else None
    source = design if design is not None else PAPER_DESIGN
    with progress("simulating the line", quiet=quiet) as update:
        result = simulate_line(source, out, seed=seed, drift=spec, progress=update)
    if not quiet:
        table = Table(title=f"raw files in {out}", title_justify="left")
        for column in ("file", "rows", "content"):
            table.add_column(column)
        for row in result.summary().itertuples(index=False):
            table.add_row(str(row.file), str(row.rows), str(row.content))
        console.print(table)
    drifted = f"; drift {spec.kind}:{spec.magnitude:g}" if spec else ""
    console.print(
        f"[green]ok[/] {result.n_configurations} configurations on {result.n_segments} coating segments "
        f"(seed {result.seed}{drifted}) → {out}",
        highlight=False,
    )
