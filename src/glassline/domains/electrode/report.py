"""What the electrode pack adds to the report: the sensor-alignment check, Nyquist pages of ``raw/eis``, and the
"Reproducing the paper" section (:func:`paper_blocks`: citation, Table 5 beside ours, Figs. 2, 10, 11, and what
did not reproduce and why).

Both read files only the electrode layout writes (:mod:`glassline.domains.electrode.prepare`):
``alignment_lags`` in the dataset's metadata with ``alignment_xcorr.parquet`` (the inline sensors
mapped to the coil position of the coating gap they measured), and ``eis_fits.parquet`` with the
spectra under ``raw/eis``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from glassline.domains import ReportBlock, ReportContext, ReportFigure
from glassline.domains.electrode.paper import (
    CITATION,
    R2_TOLERANCE,
    TABLE5_FILE,
    table5_comparison,
    table5_findings,
)

__all__ = ["ALIGNMENT_CAPTION", "NYQUIST_NOTE", "lag_check", "nyquist_examples", "paper_blocks", "report_blocks"]

ALIGNMENT_CAPTION = (
    "Cross-correlation of each mass sensor with the coating gap along the coil; the peak (dotted) should sit "
    "at the sensor's distance from the blade."
)
NYQUIST_NOTE = (
    " Filled points were fitted; lines are the weighted and unweighted fits of R_sep + blocking transmission line."
)


def report_blocks(context: ReportContext) -> list[ReportBlock]:
    """The data section's sensor-alignment table and figure, then the Nyquist plots of chosen spectra."""
    blocks = []
    lags = context.dataset_metadata().get("alignment_lags")
    if isinstance(lags, dict) and lags:
        table = pd.DataFrame([{"sensor": k, **v} for k, v in lags.items()])
        lag_png = lag_check(context.dataset, context.figures)
        figures = (ReportFigure(lag_png, ALIGNMENT_CAPTION, "Alignment"),) if lag_png else ()
        blocks.append(ReportBlock("data", heading="Sensor alignment check", table=table, figures=figures))
    nyquist = tuple(
        ReportFigure(path, caption + NYQUIST_NOTE, "Nyquist")
        for path, caption in nyquist_examples(context.dataset, context.raw, context.figures)
    )
    if nyquist:
        blocks.append(ReportBlock("data", figures=nyquist))
    return [*blocks, *paper_blocks(context)]


def _simulated(context: ReportContext) -> bool:
    """The data came from the simulated line: the dataset's metadata says so, else the raw manifest."""
    meta = context.dataset_metadata()
    if isinstance(meta.get("simulated"), bool):
        return bool(meta["simulated"])
    manifest = context.raw / "manifest.json"
    data = json.loads(manifest.read_text(encoding="utf-8")) if manifest.is_file() else {}
    return isinstance(data, dict) and data.get("simulated") is True


def paper_blocks(context: ReportContext) -> list[ReportBlock]:
    """The "Reproducing the paper" section: the citation, Table 5 beside ours, Figs. 2, 10, 11 redrawn from this
    run, and the list of what did not reproduce, each with the run's numbers that say why."""
    from glassline.domains.electrode._paper_figures import adhesion_contour, model_fds, tortuosity_porosity

    results_dir = context.root / "results"
    results = pd.read_csv(results_dir / "results.csv") if (results_dir / "results.csv").is_file() else pd.DataFrame()
    warnings_path = context.root / "explanations" / "warnings.csv"
    warnings = pd.read_csv(warnings_path) if warnings_path.is_file() else pd.DataFrame()
    simulated = _simulated(context)
    source = (
        "Our values come from simulated data (the simulated pilot line of this pack, with known ground truth), "
        "not from the paper's measurements."
        if simulated
        else "Our values come from this study's data."
    )
    blocks = [
        ReportBlock(
            "reference",
            heading="The paper",
            text=f"{CITATION} {source} Where ours differ, the list at the end says by how much and why, from this run.",
        )
    ]
    findings = table5_findings(results, warnings)
    comparison = (
        table5_comparison(results)
        .drop(columns=["target", "family"])
        .rename(
            columns=lambda c: (
                c.replace("_", " ").replace(" r2 ", " R² ").replace("cv R²", "grouped-CV R²").replace("mse", "MSE")
            )
        )
    )
    blocks.append(
        ReportBlock(
            "reference",
            heading="Table 5: the paper's models beside ours" + (" (ours: simulated data)" if simulated else ""),
            text=f"Values read from Table 5 of the paper ({TABLE5_FILE.name} in the electrode pack, with the page "
            "of each row). Ours: the same random 80/20 split protocol, plus the grouped-CV R² by configuration. "
            "The paper's RMSEs are in its own units, so R² is compared.",
            table=comparison,
        )
    )
    figures_out = context.figures
    pieces = []
    if (context.dataset / "specimen_uncalendered.parquet").is_file() or (
        context.dataset / "specimen_uncalendered.csv"
    ).is_file():
        pieces.append(
            (
                "Fig. 2",
                adhesion_contour(context.study, context.dataset, figures_out),
                "Adhesion of the uncalendered electrodes over active mass loading × second-dryer temperature: a full "
                "quadratic surface fitted to the segments' mean adhesion (dots); the paper's Fig. 2 is Origin's "
                "contour of the same data.",
            )
        )
    if "tortuosity" in set(results.get("target", pd.Series(dtype=str))):
        pieces.append(
            (
                "Fig. 10",
                tortuosity_porosity(context.study, context.dataset, results_dir, figures_out),
                "Tortuosity against porosity per group of similar mass loading and temperature: dots measured, "
                "dashed the fitted τ = a·ε^−α per group (α in the legend), solid the polynomial model's prediction, "
                "dotted black Eq. 5 τ = 2.3·ε^−0.31; the title gives the α fitted over all cells.",
            )
        )
        pieces.append(
            (
                "Fig. 11",
                model_fds(context.study, results_dir, figures_out),
                "The models' fraction of design space: the variance of each fitted tortuosity model's prediction "
                "over the box (grouped bootstrap refits by configuration), relative to the replicate variance per "
                "run, sorted; the share above 1 is the paper's reading. The design's own FDS is in 'Design'.",
            )
        )
    for title, (path, more), caption in pieces:
        findings.extend(more)
        if path is not None:
            blocks.append(ReportBlock("reference", figures=(ReportFigure(path, caption, title),)))
    failed = [f.as_dict() for f in findings if not f.reproduced]
    blocks.append(
        ReportBlock(
            "reference",
            heading="What did not reproduce, and why",
            text=f"{len(findings) - len(failed)} of {len(findings)} comparisons with the paper reproduce "
            f"(Table 5: test R² within {R2_TOLERANCE:g}; figures: the paper's statements tested on this run). "
            f"Those that do not, with this run's numbers:",
            table=pd.DataFrame(failed, columns=["item", "paper", "ours", "reproduced", "why"]).drop(
                columns=["reproduced"]
            ),
        )
    )
    return blocks


def nyquist_examples(dataset: Path, raw: Path, out: Path, *, limit: int = 6) -> list[tuple[Path, str]]:
    """Nyquist plots of flagged spectra (or, when none is flagged, one example per state)."""
    from glassline.eis import fit_spectrum, plot_nyquist, read_spectrum

    fits_path = dataset / "eis_fits.parquet"
    if not fits_path.exists() or not (raw / "eis").is_dir():
        return []
    fits = pd.read_parquet(fits_path)
    flagged = fits[fits["flag"].fillna("").astype(str) != ""]
    if len(flagged):
        chosen, why = flagged.head(limit), "flagged"
    else:
        chosen = fits.groupby("state", sort=True).head(1) if "state" in fits else fits.head(1)
        why = "example (no spectrum was flagged)"
    out.mkdir(parents=True, exist_ok=True)
    made = []
    for _, row in chosen.iterrows():
        spectrum = read_spectrum(raw / "eis" / str(row["file"]))
        fit = fit_spectrum(spectrum.frequency_hz, spectrum.z, fmin=row.get("fmin_hz"), fmax=row.get("fmax_hz"))
        path = plot_nyquist(spectrum, fit, out / f"nyquist_{Path(str(row['file'])).stem}.png")
        state = f" ({row['state']})" if "state" in row else ""
        made.append((path, f"{row['file']}{state}: {why}. {fit.flag or 'fit trusted'}"))
    return made


def lag_check(dataset: Path, out: Path) -> Path | None:
    """Cross-correlation of each mass sensor with the coating gap against lag, with the sensor distance."""
    path = dataset / "alignment_xcorr.parquet"
    if not path.exists():
        return None
    curves = pd.read_parquet(path)
    figure = Figure(figsize=(7.5, 3.2), layout="constrained")
    FigureCanvasAgg(figure)
    axis = figure.subplots()
    for sensor, curve in curves.groupby("sensor"):
        axis.plot(curve["lag_m"], curve["correlation"], label=str(sensor))
        best = curve.loc[int(np.argmax(curve["correlation"].to_numpy())) + curve.index[0]]
        axis.axvline(float(best["lag_m"]), linestyle=":", color="#888")
    axis.set_xlabel("lag along the coil [m]")
    axis.set_ylabel("cross-correlation of changes")
    axis.legend(fontsize=8)
    out.mkdir(parents=True, exist_ok=True)
    target = out / "alignment_lags.png"
    figure.savefig(target, dpi=90)
    return target
