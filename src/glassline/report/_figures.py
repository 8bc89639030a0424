"""Figures the report draws itself (the stages draw the rest): design pairs, Nyquist, lag check."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from glassline.spec import Study

__all__ = ["design_pairs", "lag_check", "nyquist_examples"]


def design_pairs(design: pd.DataFrame, study: Study, path: Path) -> Path | None:
    """Scatter-plot matrix of the design's continuous factors in real units (the paper's Fig. 1 view)."""
    names = [f.name for f in study.factors if f.kind == "continuous" and f.name in design.columns]
    if len(names) < 2:
        return None
    k = len(names)
    figure = Figure(figsize=(2.6 * k, 2.6 * k), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(k, k, squeeze=False)
    counts = design.groupby(names).size().rename("n").reset_index()
    for i, row_name in enumerate(names):
        for j, column_name in enumerate(names):
            axis = axes[i][j]
            if i == j:
                axis.hist(design[row_name], bins=8, color="#5b8db8")
            else:
                axis.scatter(counts[column_name], counts[row_name], s=30 * counts["n"], color="#12344d", alpha=0.8)
            if i == k - 1:
                axis.set_xlabel(study.factor(column_name).display, fontsize=8)
            if j == 0:
                axis.set_ylabel(study.factor(row_name).display, fontsize=8)
            axis.tick_params(labelsize=7)
    figure.savefig(path, dpi=90)
    return path


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
