"""The dashboards' charts as plotly figure specifications (JSON), drawn in the browser by the vendored plotly.

Each figure is ``{"id", "title", "label", "data", "layout"}``: *label* is the chart's text alternative; points
carry the URL of their audit record in ``customdata`` (a click opens it).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from glassline.serve import ServedModel
from glassline.ui._data import PredictionRow, bootstrap_importance, fmt, names
from glassline.ui._strings import text

__all__ = ["control_charts", "dependence_figures", "importance_figure", "waterfall_figure", "whatif_figure"]

_LAYOUT: dict[str, Any] = {
    "margin": {"l": 60, "r": 20, "t": 36, "b": 44},
    "height": 260,
    "font": {"family": "system-ui, sans-serif", "size": 12},
    "paper_bgcolor": "#ffffff",
    "plot_bgcolor": "#ffffff",
    "showlegend": False,
}
_BLUE, _RED, _GREY, _GREEN = "#1f5fa8", "#b3261e", "#5f6368", "#1e7b34"


def _finite(values: list[float]) -> list[float | None]:
    return [v if math.isfinite(v) else None for v in values]


def _layout(title: str, x: str, y: str, **extra: Any) -> dict[str, Any]:
    return {
        **_LAYOUT,
        "title": {"text": title, "x": 0, "font": {"size": 13}},
        "xaxis": {"title": {"text": x}, "automargin": True},
        "yaxis": {"title": {"text": y}, "automargin": True},
        **extra,
    }


def _url(row: PredictionRow) -> str:
    return f"/ui/audit/{row.seq}"


def waterfall_figure(model: ServedModel, row: PredictionRow, top: int = 8) -> dict[str, Any]:
    """The prediction built from the base value by each input's attribution (largest first; the rest summed)."""
    labels, units = names(model)
    order = sorted(range(len(row.inputs)), key=lambda k: -abs(row.attributions[k]))
    shown = order[:top]
    rest = order[top:]
    steps = [
        (
            f"{labels.get(row.inputs[k], row.inputs[k])} = {fmt(row.values[k], units.get(row.inputs[k], ''))}",
            row.attributions[k],
        )
        for k in shown
    ]
    if rest:
        steps.append((f"{len(rest)} other inputs", float(sum(row.attributions[k] for k in rest))))
    start = row.base_value
    bases, sizes, names_, colours = [], [], [], []
    for name, effect in steps:
        bases.append(start if effect >= 0 else start + effect)
        sizes.append(abs(effect))
        names_.append(name)
        colours.append(_BLUE if effect >= 0 else _RED)
        start += effect
    y = [text("waterfall.base"), *names_, text("waterfall.total")]
    trace = {
        "type": "bar",
        "orientation": "h",
        "y": y,
        "x": [row.base_value, *sizes, row.prediction],
        "base": [0, *bases, 0],
        "marker": {"color": [_GREY, *colours, _GREEN]},
        "customdata": [_url(row)] * len(y),
        "hovertemplate": "%{y}<extra></extra>",
    }
    layout = _layout("", model.unit, "", height=max(200, 28 * len(y) + 60))
    layout["yaxis"] = {"autorange": "reversed", "automargin": True}
    # the axis spans the steps, not zero: the base value and prediction bars start at the left edge
    ends = [*bases, *(b + s for b, s in zip(bases, sizes, strict=True)), row.base_value, row.prediction]
    finite = [v for v in ends if math.isfinite(v)]
    if finite:
        pad = 0.15 * ((max(finite) - min(finite)) or abs(max(finite)) or 1.0)
        layout["xaxis"] = {"range": [min(finite) - pad, max(finite) + pad], "title": {"text": model.unit}}
    left = min(finite) - pad if finite else 0.0
    trace["base"] = [left, *bases, left]
    trace["x"] = [row.base_value - left, *sizes, row.prediction - left]
    words = "; ".join(f"{n}: {'+' if e >= 0 else '−'}{fmt(abs(e), model.unit)}" for n, e in steps)
    return {
        "id": f"waterfall-{row.key}",
        "title": "",
        "label": f"Waterfall: from {fmt(row.base_value, model.unit)} to {fmt(row.prediction, model.unit)}; {words}",
        "data": [trace],
        "layout": layout,
        "steps": [{"name": n, "effect": fmt(e, model.unit), "sign": "+" if e >= 0 else "−"} for n, e in steps],
    }


def _chart(
    key: str, title: str, rows: list[PredictionRow], values: list[float], reference: np.ndarray, unit: str
) -> dict[str, Any]:
    x = list(range(1, len(rows) + 1))
    ref = reference[np.isfinite(reference)]
    mean = float(ref.mean()) if len(ref) else math.nan
    sd = float(ref.std(ddof=1)) if len(ref) > 1 else math.nan
    traces: list[dict[str, Any]] = [
        {
            "type": "scatter",
            "mode": "lines+markers",
            "x": x,
            "y": _finite(values),
            "marker": {"size": 5, "color": _BLUE},
            "line": {"width": 1, "color": _BLUE},
            "customdata": [_url(r) for r in rows],
            "text": [f"record {r.seq}, row {r.row}, {r.time}" for r in rows],
            "hovertemplate": "%{text}: %{y}<extra></extra>",
        }
    ]
    outside = 0
    if math.isfinite(mean) and math.isfinite(sd):
        for level, dash in ((mean, "solid"), (mean - 3 * sd, "dash"), (mean + 3 * sd, "dash")):
            traces.append(
                {
                    "type": "scatter",
                    "mode": "lines",
                    "x": [0.5, len(rows) + 0.5],
                    "y": [level, level],
                    "line": {"color": _GREY, "width": 1, "dash": dash},
                    "hoverinfo": "skip",
                }
            )
        outside = sum(1 for v in values if math.isfinite(v) and abs(v - mean) > 3 * sd)
    label = (
        f"{title}: {len(rows)} values; reference mean {fmt(mean, unit)}, limits {fmt(mean - 3 * sd, unit)} to "
        f"{fmt(mean + 3 * sd, unit)}; {outside} outside the limits"
    )
    return {
        "id": f"chart-{key}",
        "title": title,
        "label": label,
        "outside": outside,
        "data": traces,
        "layout": _layout(title, "prediction (oldest to newest)", unit, height=220),
    }


def control_charts(model: ServedModel, rows: list[PredictionRow], reference: dict[str, Any]) -> list[dict[str, Any]]:
    """Per input, the prediction and each input's attribution: the rows (oldest first) against the reference
    rows' mean ± 3 sd."""
    if not rows:
        return []
    labels, units = names(model)
    inputs = list(model.inputs)
    charts = [
        _chart(
            "prediction",
            text("charts.prediction"),
            rows,
            [r.prediction for r in rows],
            reference["prediction"],
            model.unit,
        )
    ]
    for k, name in enumerate(inputs):
        column = rows[0].inputs.index(name) if name in rows[0].inputs else None
        if column is None:
            continue
        label = labels.get(name, name)
        charts.append(
            _chart(
                f"input-{name}",
                label,
                rows,
                [r.values[column] for r in rows],
                reference["inputs"][:, k],
                units.get(name, ""),
            )
        )
        charts.append(
            _chart(
                f"shap-{name}",
                text("charts.attribution", input=label),
                rows,
                [r.attributions[column] for r in rows],
                reference["shap"][:, k],
                model.unit,
            )
        )
    return charts


def importance_figure(model: ServedModel, rows: list[PredictionRow]) -> dict[str, Any]:
    """Mean |attribution| per input over *rows* with its 90 % bootstrap interval."""
    labels, _ = names(model)
    inputs = rows[0].inputs
    shap = np.array([r.attributions for r in rows], dtype=float)
    mean, low, high = bootstrap_importance(shap)
    order = list(np.argsort(mean))
    y = [labels.get(inputs[k], inputs[k]) for k in order]
    trace = {
        "type": "bar",
        "orientation": "h",
        "y": y,
        "x": [float(mean[k]) for k in order],
        "error_x": {
            "type": "data",
            "symmetric": False,
            "array": [float(high[k] - mean[k]) for k in order],
            "arrayminus": [float(mean[k] - low[k]) for k in order],
        },
        "marker": {"color": _BLUE},
        "hovertemplate": "%{y}: %{x}<extra></extra>",
    }
    table = [
        {
            "input": labels.get(inputs[k], inputs[k]),
            "mean": fmt(float(mean[k]), model.unit),
            "low": fmt(float(low[k]), model.unit),
            "high": fmt(float(high[k]), model.unit),
        }
        for k in reversed(order)
    ]
    layout = _layout(
        "",
        f"mean |attribution| [{model.unit}]" if model.unit else "mean |attribution|",
        "",
        height=max(200, 30 * len(y) + 70),
    )
    return {
        "id": "importance",
        "title": "",
        "label": "; ".join(f"{r['input']}: {r['mean']} ({r['low']} to {r['high']})" for r in table),
        "data": [trace],
        "layout": layout,
        "table": table,
        "n": len(rows),
        "first": rows[0].seq,
        "last": rows[-1].seq,
    }


def dependence_figures(model: ServedModel, rows: list[PredictionRow]) -> list[dict[str, Any]]:
    """Per input, its attribution against its value on *rows* (points link to their records)."""
    labels, units = names(model)
    inputs = rows[0].inputs
    figures = []
    for k, name in enumerate(inputs):
        label = labels.get(name, name)
        trace = {
            "type": "scatter",
            "mode": "markers",
            "x": _finite([r.values[k] for r in rows]),
            "y": _finite([r.attributions[k] for r in rows]),
            "marker": {"size": 6, "color": _BLUE, "opacity": 0.7},
            "customdata": [_url(r) for r in rows],
            "hovertemplate": "%{x}: %{y}<extra></extra>",
        }
        unit = units.get(name, "")
        figures.append(
            {
                "id": f"dependence-{name}",
                "title": label,
                "label": f"Attribution of {label} against its value, {len(rows)} rows",
                "data": [trace],
                "layout": _layout(
                    label, f"{label} [{unit}]" if unit else label, f"attribution [{model.unit}]", height=240
                ),
            }
        )
    return figures


def whatif_figure(model: ServedModel, row: PredictionRow, factor: str, points: int = 41) -> dict[str, Any]:
    """The served model's prediction along *factor* across its validity range, the other inputs at *row*'s
    values; the band is the model's prediction interval (± its half width), when it has one."""
    labels, units = names(model)
    bounds = model.domain.range_of(factor)
    low, high = float(bounds.low), float(bounds.high)
    grid = np.linspace(low, high, points)
    base = np.array([row.values[row.inputs.index(n)] for n in model.inputs], dtype=float)
    table = np.tile(base, (points, 1))
    table[:, list(model.inputs).index(factor)] = grid
    predicted = model.explain(table).prediction
    half = model.half_width
    traces: list[dict[str, Any]] = []
    if half is not None:
        traces.append(
            {
                "type": "scatter",
                "mode": "lines",
                "x": [*grid.tolist(), *grid[::-1].tolist()],
                "y": [*(predicted + half).tolist(), *(predicted - half)[::-1].tolist()],
                "fill": "toself",
                "fillcolor": "rgba(31,95,168,0.15)",
                "line": {"width": 0},
                "hoverinfo": "skip",
            }
        )
    traces.append(
        {
            "type": "scatter",
            "mode": "lines",
            "x": grid.tolist(),
            "y": _finite(predicted.tolist()),
            "line": {"color": _BLUE, "width": 2},
            "hovertemplate": "%{x}: %{y}<extra></extra>",
        }
    )
    at = row.values[row.inputs.index(factor)]
    traces.append(
        {
            "type": "scatter",
            "mode": "markers",
            "x": [at],
            "y": [row.prediction],
            "customdata": [_url(row)],
            "marker": {"size": 10, "color": _GREEN},
            "hovertemplate": "this row<extra></extra>",
        }
    )
    label = labels.get(factor, factor)
    unit = units.get(factor, "")
    return {
        "id": "whatif-curve",
        "title": label,
        "label": (
            f"Prediction along {label} from {fmt(low, unit)} to {fmt(high, unit)}: from "
            f"{fmt(float(predicted[0]), model.unit)} to {fmt(float(predicted[-1]), model.unit)}, lowest "
            f"{fmt(float(predicted.min()), model.unit)}, highest {fmt(float(predicted.max()), model.unit)}"
        ),
        "band": text("whatif.band", half=fmt(half, model.unit)) if half is not None else text("whatif.no_band"),
        "data": traces,
        "layout": _layout(label, f"{label} [{unit}]" if unit else label, model.unit, height=280),
    }
