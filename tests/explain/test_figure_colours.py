"""Figure defects of issue 14: dependence dots stay inside the design range, one colour meaning across figures."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest
import shap
from matplotlib.colors import to_hex

from glassline.explain import _figures as figures


def _captured(monkeypatch: pytest.MonkeyPatch) -> list[plt.Figure]:
    """Keep each figure the module is about to save (the save closes it)."""
    kept: list[plt.Figure] = []

    def keep(path: Path) -> Path:
        kept.append(plt.gcf())
        return path

    monkeypatch.setattr(figures, "_save", keep)
    return kept


def _explanation(levels: tuple[float, ...], repeats: int) -> shap.Explanation:
    x = np.repeat(np.asarray(levels, dtype=float), repeats)
    data = np.column_stack([x, np.linspace(0.0, 1.0, x.size)])
    values = np.column_stack([0.3 * (x - x.mean()), 0.1 * data[:, 1]])
    return shap.Explanation(values=values, base_values=np.zeros(x.size), data=data, feature_names=["t", "u"])


def test_dependence_dots_of_three_levels_stay_in_the_design_range(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    kept = _captured(monkeypatch)
    explanation = _explanation((50.0, 57.5, 65.0), repeats=12)
    figures.shap_dependence(explanation, "t", tmp_path / "d.png", {"t": "T [°C]"}, "T", (50.0, 65.0))
    offsets = np.vstack([np.asarray(c.get_offsets()) for c in kept[0].axes[0].collections if len(c.get_offsets())])
    x = offsets[:, 0]
    assert x.min() >= 50.0
    assert x.max() <= 65.0
    # spread, but each dot near its level: within DEPENDENCE_JITTER / 2 of the 7.5 °C gap
    nearest = np.min(np.abs(x[:, None] - np.array([50.0, 57.5, 65.0])[None, :]), axis=1)
    assert nearest.max() <= figures.DEPENDENCE_JITTER * 7.5 / 2 + 1e-9
    assert np.unique(np.round(x, 9)).size > 3
    plt.close("all")


def test_spread_levels_leaves_a_level_outside_the_range_and_many_valued_inputs_alone() -> None:
    x = np.array([49.0, 49.0, 57.5, 57.5, 65.0, 65.0])
    spread = figures.spread_levels(x, (50.0, 65.0))
    assert np.all(spread[:2] == 49.0)
    assert np.all((spread[2:] >= 50.0) & (spread[2:] <= 65.0))
    smooth = np.linspace(0.0, 1.0, 30)
    assert np.array_equal(figures.spread_levels(smooth, (0.0, 1.0)), smooth)


def test_coefficient_bars_do_not_use_the_beeswarm_red_and_have_a_legend(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    kept = _captured(monkeypatch)
    figures.coefficient_figure(["a", "b", "c"], [0.7, -0.5, 0.2], tmp_path / "c.png", "coefficients")
    figures.mdi_figure(["a", "b"], [0.6, 0.4], tmp_path / "m.png", "mdi")
    coefficient_axis, mdi_axis = kept[0].axes[0], kept[1].axes[0]
    colours = {to_hex(bar.get_facecolor()) for bar in coefficient_axis.patches}
    assert colours == {figures.RAISES_COLOUR, figures.LOWERS_COLOUR}
    assert not any(c.startswith("#d6") or c.startswith("#ff0") for c in colours)
    legend = coefficient_axis.get_legend()
    assert legend is not None
    assert [t.get_text() for t in legend.get_texts()] == [
        "positive: raises the response",
        "negative: lowers the response",
    ]
    assert {to_hex(bar.get_facecolor()) for bar in mdi_axis.patches} == {figures.NEUTRAL_COLOUR}
    plt.close("all")
