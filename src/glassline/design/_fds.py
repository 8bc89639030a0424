"""Fraction of Design Space (FDS): how prediction variance is distributed over the region.

The FDS curve sorts the prediction variance f(x)'(X'X)⁻¹f(x) (units of σ²) at many points drawn
uniformly from the design space and plots it against the fraction of the space at or below it
(Zahran, Anderson-Cook & Myers 2003). A flat, low curve means the design predicts equally well
everywhere; the paper (Fig. 11) reads it to find the ~10 % of the space where variance exceeds 1.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from glassline._output import output_path, writing
from glassline.exceptions import DesignError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from glassline.design._design import Design

__all__ = ["FdsCurve", "fds_curve", "plot_fds"]

#: The fewest uniform points an FDS curve is drawn from.
MIN_FDS_POINTS = 100_000


@dataclass(frozen=True)
class FdsCurve:
    """Sorted prediction variances (σ² units) at uniform points of the space."""

    variance: np.ndarray
    runs: int
    label: str = ""

    @property
    def fraction(self) -> np.ndarray:
        """The fraction of the design space at or below each sorted variance."""
        n = len(self.variance)
        return (np.arange(n) + 0.5) / n

    def quantile(self, q: float) -> float:
        """The variance below which a fraction *q* of the space lies."""
        return float(np.quantile(self.variance, q))

    @property
    def median(self) -> float:
        return self.quantile(0.5)

    @property
    def mean(self) -> float:
        """≈ the I-criterion (the average prediction variance)."""
        return float(self.variance.mean())

    @property
    def max(self) -> float:
        return float(self.variance[-1])

    def fraction_above(self, threshold: float) -> float:
        """The fraction of the space where the prediction variance exceeds *threshold*."""
        return float(1.0 - np.searchsorted(self.variance, threshold, side="right") / len(self.variance))

    def to_dict(self, points: int = 101) -> dict[str, Any]:
        """Summary and a down-sampled curve (``points`` fractions from 0 to 1) for JSON."""
        fractions = np.linspace(0.0, 1.0, points)
        return {
            "points": len(self.variance),
            "mean": self.mean,
            "median": self.median,
            "p10": self.quantile(0.1),
            "p90": self.quantile(0.9),
            "max": self.max,
            "curve": {
                "fraction": [round(float(f), 4) for f in fractions],
                "variance": [float(v) for v in np.quantile(self.variance, fractions)],
            },
        }


def fds_curve(design: Design, *, n_points: int = MIN_FDS_POINTS, seed: int = 0, label: str = "") -> FdsCurve:
    """The FDS curve of *design* from *n_points* (≥ 100,000) scrambled-Sobol points of its space."""
    if n_points < MIN_FDS_POINTS:
        raise DesignError(f"an FDS curve needs at least {MIN_FDS_POINTS:,} points, got {n_points:,}")
    points = design.space.sample(n_points, seed=seed)
    variance = np.sort(design.prediction_variance(points))
    return FdsCurve(variance=variance, runs=len(design), label=label or design.method.split(" (")[0] or "design")


def plot_fds(
    curves: FdsCurve | Mapping[str, FdsCurve],
    path: str | Path | None = None,
    *,
    title: str = "Fraction of design space",
    std_error: bool = False,
) -> Figure:
    """Plot one or more FDS curves; write PNG or SVG (by *path*'s suffix) when *path* is given.

    ``std_error=True`` plots the standard error of the mean prediction, √variance (Design-Expert's
    axis), instead of the variance. Uses matplotlib's object API, so no GUI backend is touched.
    """
    from matplotlib.figure import Figure

    if isinstance(curves, FdsCurve):
        curves = {curves.label or "design": curves}
    if not curves:
        raise DesignError("plot_fds needs at least one curve")
    figure = Figure(figsize=(6.0, 4.0), layout="constrained")
    ax = figure.add_subplot()
    for name, curve in curves.items():
        values = np.sqrt(curve.variance) if std_error else curve.variance
        step = max(1, len(values) // 2000)
        ax.plot(curve.fraction[::step], values[::step], label=f"{name} (N = {curve.runs})")
    ax.set_xlabel("fraction of design space")
    ax.set_ylabel("std error of mean prediction [σ]" if std_error else "prediction variance [σ²]")
    ax.set_xlim(0.0, 1.0)
    ax.set_ylim(bottom=0.0)
    ax.grid(True, alpha=0.3)
    ax.set_title(title)
    ax.legend(loc="upper left", fontsize="small")
    if path is not None:
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix not in (".png", ".svg", ".pdf"):
            raise DesignError(f"{path}: write the FDS plot as .png, .svg or .pdf, not {suffix or 'no suffix'!r}")
        output_path(path, what="FDS plot")
        with writing(path, what="FDS plot"):
            figure.savefig(path, dpi=150)
    return figure
