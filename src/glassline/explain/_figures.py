"""Figures of the explanation stage, drawn with matplotlib's Agg backend (files only, no windows).

- ``shap_beeswarm`` / ``shap_bar`` / ``shap_dependence``: shap.plots on the fit's ``shap.Explanation``
  (the paper's Fig. 9 e, f);
- ``mdi_figure``: the trees' MDI importance (Fig. 9 a, b); ``coefficient_figure``: the Euclidean-normalized
  MLR coefficients (Fig. 9 c, d);
- one colour meaning across the figures: red and blue are the *feature value* (high, low) of shap's beeswarm
  and dependence colour bars only; bars of signed quantities use ``RAISES_COLOUR`` / ``LOWERS_COLOUR`` (teal,
  brown) with a legend, bars without a sign ``NEUTRAL_COLOUR``;
- ``contour_figure``: the model's response surface over two factors (others at their training means)
  with the design points (Fig. 2), optionally shading where constraints on responses hold.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import numpy.typing as npt
import pandas as pd
import shap
from matplotlib.patches import Patch

from glassline.models import Fit

__all__ = [
    "DEPENDENCE_JITTER",
    "LOWERS_COLOUR",
    "NEUTRAL_COLOUR",
    "RAISES_COLOUR",
    "coefficient_figure",
    "contour_figure",
    "mdi_figure",
    "shap_bar",
    "shap_beeswarm",
    "shap_dependence",
    "spread_levels",
]

#: bar colour of a positive signed quantity (raises the response): not red, which means "high value" in the beeswarm
RAISES_COLOUR = "#1b9e77"
#: bar colour of a negative signed quantity (lowers the response)
LOWERS_COLOUR = "#a6761d"
#: bar colour of a quantity without a sign (MDI)
NEUTRAL_COLOUR = "#5b6b7a"
#: dependence plots: the dots of one level of an input with few levels are spread sideways by at most this
#: fraction of the distance to the nearest other level (both sides together), never beyond the design range
DEPENDENCE_JITTER = 0.2
#: an input with at most this many distinct values is drawn with the spread above
FEW_LEVELS = 8


def _save(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    plt.savefig(path, dpi=110, bbox_inches="tight")
    plt.close("all")
    return path


def _renamed(explanation: shap.Explanation, labels: dict[str, str]) -> shap.Explanation:
    renamed = explanation[:, :]
    renamed.feature_names = [labels.get(n, n) for n in explanation.feature_names]
    return renamed


def shap_beeswarm(explanation: shap.Explanation, path: Path, labels: dict[str, str], title: str) -> Path:
    shap.plots.beeswarm(_renamed(explanation, labels), show=False, max_display=20)
    plt.title(title)
    return _save(path)


def shap_bar(explanation: shap.Explanation, path: Path, labels: dict[str, str], title: str) -> Path:
    shap.plots.bar(_renamed(explanation, labels), show=False, max_display=20)
    plt.title(title)
    return _save(path)


def spread_levels(
    values: npt.ArrayLike, bounds: tuple[float, float] | None = None, *, seed: int = 0
) -> npt.NDArray[np.float64]:
    """*values* with the dots of each level spread sideways, when the input has few levels (≤ ``FEW_LEVELS``).

    Each dot moves by at most ``DEPENDENCE_JITTER`` / 2 of the gap to the nearest other level, and never
    outside *bounds* (the design range) nor outside the values' own range: the outermost levels spread
    inwards only. Inputs with many distinct values come back unchanged.
    """
    x = np.asarray(values, dtype=float).copy()
    finite = np.isfinite(x)
    levels = np.unique(x[finite])
    if levels.size < 2 or levels.size > FEW_LEVELS:
        return x
    low, high = float(levels[0]), float(levels[-1])
    if bounds is not None:
        low, high = max(low, float(bounds[0])), min(high, float(bounds[1]))
    gap = float(np.min(np.diff(levels)))
    rng = np.random.default_rng(seed)
    moved = x[finite] + (rng.random(int(finite.sum())) - 0.5) * DEPENDENCE_JITTER * gap
    # a level outside the design range stays where it is; the others stay inside it
    inside = (x[finite] >= low) & (x[finite] <= high)
    x[finite] = np.where(inside, np.clip(moved, low, high), x[finite])
    return x


def shap_dependence(
    explanation: shap.Explanation,
    feature: str,
    path: Path,
    labels: dict[str, str],
    title: str,
    bounds: tuple[float, float] | None = None,
) -> Path:
    """SHAP dependence of *feature*; dots of few-level inputs spread by :func:`spread_levels` (shap's own
    jitter, which crosses the design range, is off)."""
    named = _renamed(explanation, labels)
    j = list(explanation.feature_names).index(feature)
    column = named[:, j]
    column.data = spread_levels(np.asarray(column.data, dtype=float), bounds)
    shap.plots.scatter(column, show=False, x_jitter=0)
    plt.title(title)
    return _save(path)


def _barh(names: list[str], values: npt.ArrayLike, path: Path, xlabel: str, title: str, *, signed: bool) -> Path:
    v = np.asarray(values, dtype=float)
    order = np.argsort(np.abs(v))
    _, ax = plt.subplots(figsize=(6, 0.5 * len(names) + 1.2))
    if signed:
        colors = [RAISES_COLOUR if x > 0 else LOWERS_COLOUR for x in v[order]]
        ax.barh([names[i] for i in order], v[order], color=colors)
        handles = [
            Patch(color=RAISES_COLOUR, label="positive: raises the response"),
            Patch(color=LOWERS_COLOUR, label="negative: lowers the response"),
        ]
        ax.legend(handles=handles, loc="best", fontsize=8)
    else:
        ax.barh([names[i] for i in order], v[order], color=NEUTRAL_COLOUR)
    ax.axvline(0, color="black", lw=0.8)
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    return _save(path)


def mdi_figure(features: list[str], importance: npt.ArrayLike, path: Path, title: str) -> Path:
    return _barh(features, importance, path, "Feature importance (MDI)", title, signed=False)


def coefficient_figure(features: list[str], coefficients: npt.ArrayLike, path: Path, title: str) -> Path:
    return _barh(features, coefficients, path, "Normalized coefficient c / ‖c‖₂", title, signed=True)


def surface(
    fit: Fit, x: str, y: str, bounds: dict[str, tuple[float, float]], n: int = 41
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], pd.DataFrame]:
    """A grid over factors *x*, *y* (others at their training means): axes and the rows to predict."""

    def span(name: str) -> tuple[float, float]:
        column = pd.concat([fit.X_train[name], fit.X_test[name]]).astype(float)
        low, high = bounds.get(name, (float(column.min()), float(column.max())))
        return min(low, float(column.min())), max(high, float(column.max()))

    gx, gy = np.linspace(*span(x), n), np.linspace(*span(y), n)
    xx, yy = np.meshgrid(gx, gy)
    rows = pd.DataFrame({c: np.full(xx.size, float(fit.X_train[c].mean())) for c in fit.inputs})
    rows[x], rows[y] = xx.ravel(), yy.ravel()
    return gx, gy, rows


def contour_figure(
    fit: Fit,
    x: str,
    y: str,
    bounds: dict[str, tuple[float, float]],
    labels: dict[str, str],
    path: Path,
    title: str,
    feasible: npt.NDArray[np.bool_] | None = None,
    recommended: dict[str, float] | None = None,
) -> Path:
    """Filled contours of the prediction over *x* × *y*, the design points, optionally the feasible region."""
    gx, gy, rows = surface(fit, x, y, bounds)
    z = fit.predict(rows).reshape(len(gy), len(gx))
    fig, ax = plt.subplots(figsize=(6, 4.8))
    filled = ax.contourf(gx, gy, z, levels=14, cmap="viridis")
    ax.contour(gx, gy, z, levels=14, colors="white", linewidths=0.4)
    fig.colorbar(filled, ax=ax, label=labels.get(fit.target, fit.target))
    points = pd.concat([fit.X_train, fit.X_test])
    ax.scatter(points[x], points[y], c="white", edgecolors="black", s=30, label="design points", zorder=3)
    if feasible is not None and feasible.any():
        ax.contourf(
            gx, gy, feasible.reshape(len(gy), len(gx)).astype(float), levels=[0.5, 1.5], colors="none", hatches=["//"]
        )
        ax.contour(
            gx, gy, feasible.reshape(len(gy), len(gx)).astype(float), levels=[0.5], colors="black", linewidths=1.5
        )
    if recommended is not None:
        ax.scatter(
            [recommended[x]],
            [recommended[y]],
            marker="*",
            s=220,
            c="#ffb000",
            edgecolors="black",
            label="recommended",
            zorder=4,
        )
    ax.set_xlabel(labels.get(x, x))
    ax.set_ylabel(labels.get(y, y))
    ax.set_title(title)
    ax.legend(loc="best", fontsize=8)
    return _save(path)
