"""Parity plots (the paper's Figs. 5, 6, 8 and 12): predicted against measured, one figure per target.

One panel per family (columns) and scenario (rows): training and test rows of the paper's split,
the 45° line, and R² and RMSE of both in the panel; the family chosen by grouped CV is starred.
Figures are drawn with matplotlib's object API (no pyplot state), so they render in any process.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from glassline.exceptions import UnknownNameError, did_you_mean
from glassline.models._registry import FAMILIES

if TYPE_CHECKING:
    from glassline.models._results import Comparison

__all__ = ["PARITY_POINTS", "parity_figure", "plotted_rows", "write_parity_plots"]

_PANEL_INCHES = 2.6

#: A panel draws at most this many training and this many test points: a seeded sample of a larger split
#: (a scatter of 80,000 points shows no more than one of 2,000 and takes seconds to render); the R² and
#: RMSE in the panel are always those of all rows, and the title states the sample.
PARITY_POINTS = 2000


def plotted_rows(part: pd.DataFrame, limit: int = PARITY_POINTS, seed: int = 0) -> pd.DataFrame:
    """*part* itself when it has at most *limit* rows, else a seeded sample of *limit* of them in their order."""
    if len(part) <= limit:
        return part
    chosen = np.sort(np.random.default_rng(seed).choice(len(part), size=limit, replace=False))
    return part.iloc[chosen]


def parity_figure(comparison: Comparison, target: str) -> Figure:
    """The parity figure of *target*: rows are scenarios, columns families."""
    results = comparison.results[comparison.results["target"] == target]
    if results.empty:
        known = sorted(comparison.results["target"].unique())
        raise UnknownNameError(f"no results for target {target!r}; targets are {known}." + did_you_mean(target, known))
    scenarios: Sequence[str] = list(dict.fromkeys(results["scenario"]))
    families: Sequence[str] = list(dict.fromkeys(results["family"]))
    labels = comparison.settings.get("labels", {})
    unit = ""
    display = str(labels.get(target, target))
    if display.endswith("]") and "[" in display:
        unit = display[display.rindex("[") + 1 : -1]
    preds = comparison.predictions
    preds = preds[(preds["target"] == target) & preds["split"].isin(["train", "test"])]
    figure = Figure(figsize=(_PANEL_INCHES * len(families), _PANEL_INCHES * len(scenarios) + 0.6), layout="constrained")
    axes = figure.subplots(len(scenarios), len(families), squeeze=False, sharex=True, sharey=True)
    values = preds[["y_true", "y_pred"]].to_numpy(dtype=float)
    low, high = (float(np.nanmin(values)), float(np.nanmax(values))) if values.size else (0.0, 1.0)
    pad = 0.05 * (high - low or 1.0)
    low, high = low - pad, high + pad
    sampled = False
    for i, scenario in enumerate(scenarios):
        for j, family in enumerate(families):
            ax = axes[i, j]
            row = results[(results["scenario"] == scenario) & (results["family"] == family)]
            part = preds[(preds["scenario"] == scenario) & (preds["family"] == family)]
            train, test = part[part["split"] == "train"], part[part["split"] == "test"]
            sampled = sampled or max(len(train), len(test)) > PARITY_POINTS
            train, test = plotted_rows(train), plotted_rows(test)
            ax.plot([low, high], [low, high], color="0.5", lw=0.8, zorder=0)
            ax.scatter(
                train["y_true"], train["y_pred"], s=14, facecolors="none", edgecolors="tab:blue", lw=0.8, label="train"
            )
            ax.scatter(test["y_true"], test["y_pred"], s=18, color="tab:orange", label="test")
            ax.set_xlim(low, high)
            ax.set_ylim(low, high)
            label = FAMILIES[family].label if family in FAMILIES else family
            if not row.empty:
                r = row.iloc[0]
                if bool(r["best"]):
                    label += " ★"
                ax.text(
                    0.03,
                    0.97,
                    f"R²   train {r['r2_train']:.2f}  test {r['r2_test']:.2f}\n"
                    f"RMSE train {r['rmse_train']:.3g}  test {r['rmse_test']:.3g}\n"
                    f"grouped CV R² {r['cv_r2_pooled']:.2f}",
                    transform=ax.transAxes,
                    va="top",
                    fontsize=7,
                    family="monospace",
                )
            ax.set_title(label if len(scenarios) == 1 else f"{label} · {scenario}", fontsize=9)
            ax.tick_params(labelsize=7)
            if i == len(scenarios) - 1:
                ax.set_xlabel(f"measured{f' [{unit}]' if unit else ''}", fontsize=8)
            if j == 0:
                ax.set_ylabel(f"predicted{f' [{unit}]' if unit else ''}", fontsize=8)
    axes[0, 0].legend(loc="lower right", fontsize=7, frameon=False)
    shown = f"; points: a seeded sample of {PARITY_POINTS:,} per split, scores on all rows" if sampled else ""
    figure.suptitle(f"{display}: parity (train / test of the paper's split; CV R² pooled, grouped{shown})", fontsize=10)
    return figure


def write_parity_plots(comparison: Comparison, folder: str | Path, *, dpi: int = 110) -> list[Path]:
    """One PNG per target in *folder* (created if needed); returns the files written."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for target in dict.fromkeys(comparison.results["target"]):
        path = out / f"{target}.png"
        parity_figure(comparison, str(target)).savefig(path, dpi=dpi)
        written.append(path)
    return written
