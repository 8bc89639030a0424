"""What the electrode pack adds to the report: the sensor-alignment check and Nyquist pages of ``raw/eis``.

Both read files only the electrode layout writes (:mod:`glassline.domains.electrode.prepare`):
``alignment_lags`` in the dataset's metadata with ``alignment_xcorr.parquet`` (the inline sensors
mapped to the coil position of the coating gap they measured), and ``eis_fits.parquet`` with the
spectra under ``raw/eis``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from glassline.domains import ReportBlock, ReportContext, ReportFigure

__all__ = ["ALIGNMENT_CAPTION", "NYQUIST_NOTE", "lag_check", "nyquist_examples", "report_blocks"]

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
