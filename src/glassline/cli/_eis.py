"""``glassline eis fit``: ionic resistance from impedance spectra (blocking transmission-line fit)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from glassline._output import output_path, writing
from glassline.cli._app import app, console, progress

__all__ = ["eis_app", "fit"]

eis_app = typer.Typer(no_args_is_help=True, add_completion=False, rich_markup_mode="rich")
app.add_typer(
    eis_app,
    name="eis",
    help="Impedance spectra: fit R_sep + blocking transmission line (impedance.py R0-TLMQ0) to get R_ion.",
)

_SHOWN_FLAGS = 10


@eis_app.command("fit")
def fit(
    input_path: Annotated[
        Path,
        typer.Argument(
            metavar="INPUT",
            help="A spectrum file (.csv, .mpt, .mpr, .DTA, .z, …) or a folder of them (with an optional index.csv).",
            show_default=False,
        ),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="The table to write (CSV), e.g. rion.csv.")],
    fmin: Annotated[
        float | None,
        typer.Option("--fmin", help="Lowest frequency fitted [Hz], for every file."),
    ] = None,
    fmax: Annotated[
        float | None,
        typer.Option("--fmax", help="Highest frequency fitted [Hz], for every file."),
    ] = None,
    plots: Annotated[
        Path | None, typer.Option("--plots", help="Folder for one Nyquist plot (PNG) per spectrum.")
    ] = None,
    processes: Annotated[
        int | None, typer.Option("--processes", "-j", min=1, help="Worker processes (default: all cores).")
    ] = None,
    tolerance: Annotated[
        float,
        typer.Option(
            "--tolerance",
            help="Flag a spectrum when weighted and unweighted R_ion differ by more than this fraction.",
        ),
    ] = 0.05,
    validate: Annotated[
        bool,
        typer.Option(
            "--validate/--no-validate",
            help="Lin-KK check per spectrum and the automatic window (drop the inductive tail and non-KK points).",
        ),
    ] = True,
    points: Annotated[
        Path | None,
        typer.Option(
            "--points", help="A CSV with one row per point: Lin-KK residuals, failed, fitted or why not, fit."
        ),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Fit every spectrum (unweighted and modulus-weighted); write R_ion, R_sep, Q, γ, residual and flag.

    Windows: the folder's index.csv (file, fmin_hz, fmax_hz); --fmin/--fmax override them for every file.
    Inside that range each spectrum is checked with Lin-KK and the inductive tail and the points failing
    Lin-KK are dropped; the table states the window fitted (fmin_hz, fmax_hz, n_points, n_dropped_*),
    the Lin-KK residuals and the sign convention of the file's imaginary column (imag_stored).
    Flagged spectra stay in the table with their reasons; a bad file stops with one error.
    """
    from glassline.eis import fit_folder

    _check_options(fmin, fmax, tolerance)
    output_path(out, what="--out")
    if points is not None:
        output_path(points, what="--points")
    if plots is not None:
        output_path(plots, folder=True, what="--plots")
    exclude = [out, *([points] if points is not None else [])] if input_path.is_dir() else []
    with progress("fitting spectra", quiet=quiet) as update:
        table = fit_folder(
            input_path,
            fmin=fmin,
            fmax=fmax,
            processes=processes,
            progress=update,
            tolerance=tolerance,
            plots=plots,
            exclude=exclude,
            validate=validate,
            points=points,
        )
    with writing(out, what="--out"):
        table.to_csv(out, index=False)
    flagged = table[table["flag"].fillna("") != ""]
    if len(flagged):
        shown = Table(title=f"flagged spectra ({len(flagged)})", title_justify="left")
        shown.add_column("file", no_wrap=True)
        shown.add_column("R_ion [Ω]", justify="right")
        shown.add_column("reason")
        for _, row in flagged.head(_SHOWN_FLAGS).iterrows():
            r_ion = float(row["r_ion"])
            shown.add_row(str(row["file"]), f"{r_ion:.4g}" if math.isfinite(r_ion) else "–", str(row["flag"]))
        if len(flagged) > _SHOWN_FLAGS:
            shown.caption = f"… and {len(flagged) - _SHOWN_FLAGS} more in {out}"
        console.print(shown)
    residuals = table["residual"].dropna()  # every spectrum flagged without a fit: no median, and no warning
    median = float(residuals.median()) if len(residuals) else math.nan
    median_text = f"{100 * median:.2f} %" if math.isfinite(median) else "–"
    plots_text = f"; Nyquist plots in {plots}" if plots is not None else ""
    plots_text += f"; points in {points}" if points is not None else ""
    if validate and "n_dropped_inductive" in table.columns and len(table):
        inductive = int((table["n_dropped_inductive"] > 0).sum())
        non_kk = int((table["n_dropped_non_kk"] > 0).sum())
        plots_text += (
            f"; inductive tail dropped in {inductive}, points failing Lin-KK dropped in {non_kk} "
            f"(window per spectrum in fmin_hz/fmax_hz)"
        )
    noun = "spectrum" if len(table) == 1 else "spectra"
    console.print(
        f"[green]ok[/] fitted {len(table)} {noun}: {len(flagged)} flagged, median relative residual "
        f"{median_text}; wrote {out}{plots_text}",
        highlight=False,
        soft_wrap=True,
    )


def _check_options(fmin: float | None, fmax: float | None, tolerance: float | None) -> None:
    """The window and tolerance, named by their options (the library names its own parameters)."""
    from glassline.exceptions import SpecError

    for option, value in (("--fmin", fmin), ("--fmax", fmax)):
        if value is not None and not (math.isfinite(value) and value > 0):
            raise SpecError(f"{option}: expected a frequency > 0 Hz, got {value:g}")
    if fmin is not None and fmax is not None and not fmin < fmax:
        raise SpecError(f"--fmin must be below --fmax, got --fmin {fmin:g} Hz and --fmax {fmax:g} Hz")
    if tolerance is not None and not (math.isfinite(tolerance) and tolerance > 0):
        raise SpecError(f"--tolerance: expected a fraction > 0 (0.05 = 5 %), got {tolerance:g}")
