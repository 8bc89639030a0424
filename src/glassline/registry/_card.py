"""The model card (Mitchell et al. 2019, "Model Cards for Model Reporting"), filled from what the results hold."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from glassline.registry._bundle import Bundle

__all__ = ["model_card"]


def _fmt(value: Any, spec: str = ".3g") -> str:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return "–" if value is None else str(value)
    return "–" if not math.isfinite(number) else format(number, spec)


def model_card(bundle: Bundle) -> str:
    """Markdown with the sections of Mitchell et al.: details, intended use, factors, metrics, data, caveats."""
    study, m, lineage = bundle.study, bundle.metrics, bundle.lineage
    response = study.response(bundle.target)
    level = bundle.interval.get("level", 0.9)
    lines = [
        f"# Model card: {response.display} from {bundle.scenario} inputs ({bundle.family})",
        "",
        "## Model details",
        "",
        f"- Study: {study.name}; target `{bundle.target}` ({response.display}); scenario `{bundle.scenario}`.",
        f"- Family: `{bundle.family}`; hyperparameters: `{lineage.get('params', {})}`.",
        f"- glassline {lineage.get('glassline_version')}, git revision {lineage.get('git_revision') or 'unknown'}; "
        f"published {lineage.get('published_at')}.",
        f"- Data hash {lineage.get('data_hash')}; design {lineage.get('design_id') or 'unknown'}.",
        "",
        "## Intended use",
        "",
        f"- Predict {response.display} for settings inside the validity domain below, with an explanation "
        "(interventional SHAP) and a prediction interval, to support a process engineer or operator.",
        "- Not for settings outside the domain: the service flags them and applies its fallback policy. "
        "Not a replacement for measuring the property where a decision is safety-relevant.",
        "",
        "## Factors (inputs and validity domain)",
        "",
        "| input | unit | low | high | range from |",
        "|---|---|--:|--:|---|",
    ]
    for r in bundle.domain.ranges:
        lines.append(f"| {r.name} | {r.unit or '–'} | {_fmt(r.low, '.4g')} | {_fmt(r.high, '.4g')} | {r.source} |")
    lines += [
        "",
        f"Beside the ranges, a row must lie within Mahalanobis distance {_fmt(bundle.domain.threshold)} "
        "of the training rows (standardized inputs; the largest training distance × 1.25).",
        "",
        "## Metrics",
        "",
        "| metric | value |",
        "|---|--:|",
        f"| R² on the paper's test split | {_fmt(m.get('r2_test'))} |",
        f"| RMSE on the test split [{response.unit or '–'}] | {_fmt(m.get('rmse_test'))} |",
        f"| R² pooled over grouped cross-validation | {_fmt(m.get('cv_r2_pooled'))} |",
        f"| CV R² mean ± SD | {_fmt(m.get('cv_r2_mean'))} ± {_fmt(m.get('cv_r2_std'))} |",
        f"| CV RMSE mean [{response.unit or '–'}] | {_fmt(m.get('cv_rmse_mean'))} |",
        f"| optimism (R²_test − CV R²) | {_fmt(m.get('optimism'))} |",
        f"| {level:.0%} interval half-width [{response.unit or '–'}] | {_fmt(bundle.interval.get('half_width'))} |",
        "",
        f"Interval method: {bundle.interval.get('method')}.",
        "",
        "## Evaluation data",
        "",
        f"- {lineage.get('n_test')} rows of the paper's random test split, and grouped cross-validation "
        f"({m.get('cv_scheme', 'see results.csv')}).",
        "",
        "## Training data",
        "",
        f"- {lineage.get('n_train')} rows of the study's data; SHAP background: "
        f"{bundle.explainer.get('background_rows')} "
        "of them.",
        "",
        "## Quantitative analyses",
        "",
        f"- Max VIF of the inputs {_fmt(m.get('max_vif'))}, max |r| {_fmt(m.get('max_abs_r'))}; explainable: "
        f"{'yes' if bundle.explainer.get('explainable') else 'no (collinear inputs: read attributions with care)'}.",
        "",
        "## Ethical considerations",
        "",
        "- The model predicts a product property, not anything about people. Every prediction, override, "
        "feedback and stop is written to a hash-chained audit log (EU AI Act Arts. 12, 14).",
        "",
        "## Caveats and recommendations",
        "",
        "- Small designed experiments: trust the grouped-CV figures over the single random split.",
        "- Keep a human in the loop: operators can override a prediction and engineers can stop the service.",
        "",
    ]
    return "\n".join(lines)
