"""Nyquist plots of a spectrum with its fit, for the visual inspection the paper did first."""

from __future__ import annotations

import math
import textwrap
from pathlib import Path

import numpy as np
import numpy.typing as npt
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from glassline._output import output_path, writing
from glassline.eis._fit import EISFit, predict_impedance
from glassline.eis._readers import Spectrum

__all__ = ["plot_nyquist"]

_CURVE_POINTS = 200


def plot_nyquist(spectrum: Spectrum, fit: EISFit | None, path: str | Path, *, title: str | None = None) -> Path:
    """Write a Nyquist plot (−Im Z against Re Z, equal axes) of *spectrum* and its *fit* as a PNG.

    Two panels: the whole spectrum, and a square zoom over the span of Re Z, where the transmission
    line's high-frequency branch and the knee towards the capacitive tail are. Points inside the fitted
    window are filled, points outside it hollow; the reported fit is a solid line over the window and
    the other weighting a dashed one; a box gives R_ion, R_sep, Q, γ, the residual and the flag. Uses
    matplotlib's Agg canvas directly (no pyplot state), so it is safe in worker processes. Returns the
    path written.
    """
    path = Path(path)
    figure = Figure(figsize=(10.0, 4.8), layout="constrained")
    FigureCanvasAgg(figure)
    whole, zoom = figure.subplots(1, 2)
    f, z = spectrum.frequency_hz, spectrum.z
    drawn = fit is not None and fit.n_points > 0 and math.isfinite(fit.fmin_hz)
    inside = np.ones(f.shape, dtype=bool)
    if fit is not None and drawn:
        inside = (f >= fit.fmin_hz * (1 - 1e-9)) & (f <= fit.fmax_hz * (1 + 1e-9))
    curves: list[tuple[npt.NDArray[np.complex128], str, str]] = []
    if fit is not None and drawn:
        dense = np.geomspace(fit.fmin_hz, fit.fmax_hz, _CURVE_POINTS)
        other, other_name = (fit.unweighted, "unweighted") if fit.reported == "weighted" else (fit.weighted, "weighted")
        if other.ok:
            curves.append((predict_impedance(other.parameters, dense), "--", f"{other_name} fit"))
        if math.isfinite(fit.r_ion):
            curves.append((fit.predict(dense), "-", f"{fit.reported} fit (reported)"))
    for ax in (whole, zoom):
        ax.plot(z.real[inside], -z.imag[inside], "o", color="C0", markersize=4, label="data (fitted)")
        if not inside.all():
            ax.plot(
                z.real[~inside],
                -z.imag[~inside],
                "o",
                markerfacecolor="none",
                color="0.5",
                markersize=4,
                label="data (outside window)",
            )
        for values, style, label in curves:
            ax.plot(values.real, -values.imag, style, color="C1" if style == "-" else "C2", linewidth=1.3, label=label)
        ax.set_xlabel("Re Z [Ω]")
        ax.set_ylabel("−Im Z [Ω]")
        ax.grid(True, linewidth=0.3)
    whole.set_aspect("equal", adjustable="datalim")
    low, high = float(z.real.min()), float(z.real.max())
    pad = 0.05 * max(high - low, 1e-12)
    zoom.set_xlim(low - pad, high + pad)
    zoom.set_ylim(min(0.0, float((-z.imag).min())) - pad, high - low + pad)
    zoom.set_aspect("equal", adjustable="box")
    zoom.set_title("zoom: the span of Re Z", fontsize=9)
    zoom.legend(loc="lower right", fontsize=8)
    if fit is not None:
        whole.text(
            0.02,
            0.98,
            _summary(fit),
            transform=whole.transAxes,
            va="top",
            ha="left",
            fontsize=8,
            bbox={"boxstyle": "round", "facecolor": "white", "alpha": 0.85, "edgecolor": "0.7"},
        )
    figure.suptitle(title or Path(spectrum.source).name, fontsize=10)
    output_path(path, what="Nyquist plot")
    with writing(path, what="Nyquist plot"):
        figure.savefig(path, dpi=90)
    return path


def _summary(fit: EISFit) -> str:
    lines = [
        f"R_ion = {fit.r_ion:.4g} Ω",
        f"R_sep = {fit.r_sep:.4g} Ω",
        f"Q = {fit.q:.3g} F·s^(γ−1),  γ = {fit.gamma:.3f}",
        f"residual = {100 * fit.residual:.2f} %  ({fit.n_points} points)",
    ]
    if fit.flag:
        lines.append(textwrap.fill(f"FLAG: {fit.flag}", width=60))
    return "\n".join(lines)
