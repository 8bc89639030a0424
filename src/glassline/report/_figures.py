"""Figures the report draws itself (the stages and the study's domain pack draw the rest): design pairs."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from glassline.spec import Study

__all__ = ["design_pairs"]


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
