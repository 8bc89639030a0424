"""``glassline simulate``: run a domain pack's simulated line on a design (the electrode pack's by default)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from glassline._output import output_path, writing
from glassline.cli._app import app, console, progress
from glassline.domains import get_domain
from glassline.exceptions import SpecError
from glassline.spec import load_study

#: The largest seed a study takes (``Study.seed``): the same range for the simulated line.
MAX_SEED = 2**32 - 1
#: The domain whose simulated line runs when neither --domain nor the study names one.
DEFAULT_DOMAIN = "electrode"

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
            help="Design table (CSV or Excel) with one column per factor of the domain's study and optionally "
            "configuration. Default: the pack's example design (electrode: the shipped 17-configuration stand-in "
            "for the paper's design, paper_design.csv, columns mass_loading \\[mg/cm²], drying_temperature "
            "\\[°C], porosity \\[%]).",
            show_default=False,
        ),
    ] = None,
    seed: Annotated[
        int | None,
        typer.Option(
            "--seed",
            help="Random seed; the same seed gives identical files. Default: the seed of --study, else the "
            "pack's (electrode: 2023, the paper's year).",
            show_default=False,
        ),
    ] = None,
    study: Annotated[
        Path | None,
        typer.Option(
            "--study", help="The study file whose seed the line runs with (unless --seed).", show_default=False
        ),
    ] = None,
    domain: Annotated[
        str | None,
        typer.Option(
            "--domain",
            help=f"The domain pack whose line to simulate. Default: the domain of --study, else {DEFAULT_DOMAIN!r}.",
            show_default=False,
        ),
    ] = None,
    drift: Annotated[
        str | None,
        typer.Option(
            "--drift",
            help="Let the line drift, as the pack reads it; electrode: from a coating segment on, "
            "KIND:MAGNITUDE\\[@SEGMENT], e.g. 'dryer_sensor_bias:5' (°C) or 'material_lot:-0.15@S07' (relative "
            "adhesion change).",
            show_default=False,
        ),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar and no table.")] = False,
    production: Annotated[
        int | None,
        typer.Option(
            "--production",
            help="Simulate a production run of DAYS days instead (electrode: 24 coils a day, recipe changes, an "
            "inline log partitioned by day, 864,000 rows a day at 10 Hz); --design is not used.",
            show_default=False,
        ),
    ] = None,
    rate_hz: Annotated[
        float | None,
        typer.Option("--rate-hz", help="Inline-log samples per second of a --production run. [default: 10]"),
    ] = None,
) -> None:
    """Run a domain's simulated line on a design and write its raw files (with the true values)."""
    spec = load_study(study) if study is not None else None
    pack = get_domain(domain or (spec.domain if spec is not None and spec.domain else DEFAULT_DOMAIN))
    if seed is None:
        seed = spec.seed if spec is not None else pack.default_seed
    if seed is None:
        raise typer.BadParameter(f"the {pack.name!r} pack has no default seed; give --seed", param_hint="--seed")
    if not 0 <= seed <= MAX_SEED:
        raise SpecError(f"--seed: expected an integer from 0 to {MAX_SEED}, got {seed}")
    output_path(out, folder=True, what="--out")
    with progress("simulating the line", quiet=quiet) as update, writing(out, what="--out"):
        extra = {"production": production, "rate_hz": rate_hz} if production is not None else {}
        result = pack.simulate(design, out, seed=seed, drift=drift, progress=None if quiet else update, **extra)
    if not quiet:
        summary = getattr(result, "summary", None)
        frame = summary() if callable(summary) else None
        table = Table(title=f"raw files in {out}", title_justify="left")
        columns = [str(c) for c in frame.columns] if frame is not None else ["file", "rows"]
        for column in columns:
            table.add_column(column)
        rows = frame.itertuples(index=False) if frame is not None else result.rows.items()
        for row in rows:
            table.add_row(*(str(value) for value in row))
        console.print(table)
    described = getattr(result, "description", None)
    console.print(f"[green]ok[/] {described() if callable(described) else pack.name} → {out}", highlight=False)
