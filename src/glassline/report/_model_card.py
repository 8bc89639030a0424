"""The one model card generator (Mitchell et al. 2019, "Model Cards for Model Reporting").

A card is written from :class:`CardFacts`: what is known of one fitted model. The report fills them from
a study folder (one card per best family per target × scenario), the registry from a published bundle
(which adds the lineage, the validity domain, the prediction interval and the attribution method), so the
two cards a model gets have the same sections, the same metric names and the same wording.
"""

from __future__ import annotations

import ast
import functools
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from importlib import import_module
from importlib.metadata import PackageNotFoundError, packages_distributions, version
from typing import Any

from glassline.exceptions import GlasslineError
from glassline.explain import MIN_CV_R2
from glassline.models import get_family
from glassline.spec import Study

__all__ = [
    "LIBRARIES",
    "CardEffect",
    "CardFacts",
    "CardInput",
    "MetricSpread",
    "library_version",
    "model_card",
    "tuned_hyperparameters",
]

#: The libraries a fitted model and its explanation depend on, as their distributions are named.
LIBRARIES = ("glassline", "numpy", "pandas", "scikit-learn", "xgboost", "shap", "impedance")


@functools.cache
def library_version(name: str) -> str:
    """The installed version of the library *name*, or "not installed".

    Read from the distribution of that name, else from the distribution that provides the import package
    *name* (xgboost is installed as the ``xgboost-cpu`` wheel), else from the module's ``__version__``.
    Cached per process: the lookup of the providing distribution reads every installed package's metadata
    (about 0.1 s), and a report asks for the same few libraries once per model card.
    """
    try:
        return version(name)
    except PackageNotFoundError:
        pass
    module = name.replace("-", "_")
    for distribution in packages_distributions().get(module, []):
        try:
            return version(distribution)
        except PackageNotFoundError:
            continue
    try:
        found = getattr(import_module(module), "__version__", None)
    except ImportError:
        return "not installed"
    return str(found) if found else "not installed"


@dataclass(frozen=True)
class CardInput:
    """One input of the model: its range (None for an input measured on the line) and where that came from."""

    name: str
    display: str
    unit: str = ""
    low: float | None = None
    high: float | None = None
    source: str = "study file"


@dataclass(frozen=True)
class MetricSpread:
    """A metric of the model with an interval: its value, low and high, and what the interval is over."""

    name: str
    value: float
    low: float
    high: float
    over: str  # e.g. "min–max over the 5 grouped-CV repeats" or "90 % bootstrap interval"


@dataclass(frozen=True)
class CardEffect:
    """One input's effect on the target as the explanation stage graded it (a ``claims.csv`` row)."""

    display: str
    effect: float
    low: float
    high: float
    unit: str = ""
    status: str = ""
    direction: str = ""


@dataclass(frozen=True)
class CardFacts:
    """What a model card says of one model. ``metrics`` holds a results row (``results.csv`` columns)."""

    study: Study
    target: str
    scenario: str
    family: str
    metrics: Mapping[str, Any]
    inputs: tuple[CardInput, ...]
    n_folds: int = 0  # grouped-CV folds × repeats (for the interval of the mean CV R²)
    data_table: str = ""
    data_rows: int | None = None
    groups: int | None = None
    pipeline: str = ""
    lineage: Mapping[str, Any] = field(default_factory=dict)  # published models: versions, hashes, time
    interval: Mapping[str, Any] = field(default_factory=dict)  # published models: level, half_width, method
    domain_threshold: float | None = None  # published models: the distance limit
    # published models: the distance check (glassline.registry.DistanceCheck.as_dict()); empty for bundles
    # published before the calibrated threshold, whose sentence names the Mahalanobis rule
    domain_check: Mapping[str, Any] = field(default_factory=dict)
    background_rows: int | None = None
    explainer: str = ""
    #: the data came from a simulated line (the dataset's metadata, from the raw folder's manifest)
    simulated: bool = False
    #: metrics with an interval (over the grouped-CV repeats, or a bootstrap's)
    spreads: tuple[MetricSpread, ...] = ()
    #: the explanation stage's warnings of this target × scenario, as "kind: message" lines
    warnings: tuple[str, ...] = ()
    #: the inputs' graded effects on the target (claims.csv of this target × scenario × family)
    effects: tuple[CardEffect, ...] = ()


def _fmt(value: Any, spec: str = ".3g") -> str:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return "–" if value is None or value == "" else str(value)
    return "–" if not math.isfinite(number) else format(number, spec)


def _parse_params(params: Any) -> dict[str, Any]:
    """The tuned parameters of a results row: a mapping, JSON text or Python dict text (empty when none)."""
    if isinstance(params, Mapping):
        return {str(k): v for k, v in params.items()}
    if not isinstance(params, str) or not params.strip():
        return {}
    for parse in (json.loads, ast.literal_eval):
        try:
            value = parse(params)
        except (ValueError, SyntaxError):
            continue
        if isinstance(value, Mapping):
            return {str(k): v for k, v in value.items()}
    return {}


def tuned_hyperparameters(family: str, params: Any) -> str:
    """The card's words for a fit's tuned hyperparameters: ``name = value`` pairs, or why there are none."""
    parsed = _parse_params(params)
    if parsed:
        return ", ".join(f"`{k}` = {_fmt(v, '.4g')}" for k, v in sorted(parsed.items()))
    try:
        space = get_family(family).space
    except GlasslineError:  # a family no longer registered: say only what the row says
        return "defaults (no tuned values recorded)"
    if not space:
        return "defaults (no tuning grid)"
    return f"defaults (the tuning grid over {', '.join(f'`{k}`' for k in space)} chose none)"


def _metric_rows(facts: CardFacts, unit: str) -> list[str]:
    m = facts.metrics
    rows = [
        f"| R² grouped CV (pooled out-of-fold) | {_fmt(m.get('cv_r2_pooled'))} |",
    ]
    for spread in facts.spreads:
        rows.append(
            f"| {spread.name}, {spread.over} | {_fmt(spread.value, '.4g')} [{_fmt(spread.low, '.4g')}, "
            f"{_fmt(spread.high, '.4g')}] |"
        )
    std = m.get("cv_r2_std")
    if facts.n_folds and std is not None and math.isfinite(float(std)):
        half = 1.96 * float(std) / math.sqrt(facts.n_folds)
        rows.append(f"| R² grouped CV, mean of folds ± 95 % interval | {_fmt(m.get('cv_r2_mean'))} ± {_fmt(half)} |")
    else:
        rows.append(f"| R² grouped CV, mean ± SD over folds | {_fmt(m.get('cv_r2_mean'))} ± {_fmt(std)} |")
    rows += [
        f"| RMSE grouped CV, mean ± SD over folds [{unit}] | {_fmt(m.get('cv_rmse_mean'), '.4g')} ± "
        f"{_fmt(m.get('cv_rmse_std'), '.2g')} |",
        f"| R² test (paper's random 80/20 split) | {_fmt(m.get('r2_test'))} |",
        f"| RMSE test [{unit}] | {_fmt(m.get('rmse_test'), '.4g')} |",
        f"| MSE_train / MSE_test | {_fmt(m.get('mse_ratio'))} |",
    ]
    if m.get("optimism") is not None:
        rows.append(f"| optimism (R²_test − CV R²) | {_fmt(m.get('optimism'))} |")
    if facts.interval:
        level = float(facts.interval.get("level", 0.9))
        half_width = _fmt(facts.interval.get("half_width"))
        rows.append(f"| {level:.0%} prediction interval half-width [{unit}] | {half_width} |")
    return rows


def _domain_sentences(facts: CardFacts) -> list[str]:
    """What the card says of the validity domain beside the ranges: the box's sources and the distance check."""
    check = facts.domain_check
    if check.get("level") is None:  # published before the calibrated threshold
        return [
            f"Beside the ranges, a row must lie within Mahalanobis distance {_fmt(facts.domain_threshold)} of the "
            "training rows (standardized inputs; the largest training distance × 1.25). Outside the domain the "
            "service flags the row and applies its fallback policy."
        ]
    level, reached = float(check["level"]), check.get("level_reached")
    n = check.get("configurations")
    rate = f"at most {_fmt(reached)}" if reached is not None else f"at most {level:g}"
    unreachable = (
        f" (level {level:g} asked for; with {n} configurations the finest is {_fmt(reached)})"
        if reached is not None and float(reached) > level + 1e-12
        else f" (level {level:g})"
    )
    return [
        "The box is the table above: 'study' ranges are the study's factor low/high (widened to the training "
        "min/max where a training value lies outside), 'training data' ranges the training rows' min/max. "
        f"Beside the box, a row must lie within distance {_fmt(facts.domain_threshold)} of its nearest training "
        "row, each input divided by its range's width; the threshold is the leave-one-configuration-out "
        f"split-conformal quantile over {n} configurations, so a configuration never seen is flagged with "
        f"probability {rate}{unreachable}. Outside the domain the service flags the row and applies its "
        "fallback policy."
    ]


def model_card(facts: CardFacts) -> str:
    """Markdown with the sections of Mitchell et al.: details, intended and out-of-scope use, factors, metrics,
    data (training and evaluation), quantitative analyses, ethical considerations, caveats."""
    study, m, lineage = facts.study, facts.metrics, facts.lineage
    response = study.response(facts.target)
    unit = response.unit or "–"
    n_train, n_test = m.get("n_train", lineage.get("n_train")), m.get("n_test", lineage.get("n_test"))
    details = [
        f"- Study: {study.name}; target `{facts.target}` ({response.display}); scenario `{facts.scenario}`; "
        f"seed {study.seed}.",
        f"- Family: `{facts.family}` (chosen by grouped cross-validation among {', '.join(study.models.families)}); "
        f"tuned hyperparameters: {tuned_hyperparameters(facts.family, m.get('params', lineage.get('params', {})))}.",
    ]
    if facts.simulated:
        details.insert(0, "- **Simulated data**: trained and evaluated on data of a simulated line, not measurements.")
    if facts.pipeline:
        details.append(f"- Fitted pipeline: {facts.pipeline}.")
    if lineage:
        details += [
            f"- glassline {lineage.get('glassline_version')}, git revision {lineage.get('git_revision') or 'unknown'}; "
            f"published {lineage.get('published_at')}.",
            f"- Data hash {lineage.get('data_hash')}; design {lineage.get('design_id') or 'unknown'}.",
        ]
    details.append("- Libraries: " + ", ".join(f"{name} {library_version(name)}" for name in LIBRARIES) + ".")
    details.append(f"- Card written {date.today().isoformat()} by glassline.")
    factor_rows = [
        f"| {i.display} | `{i.name}` | {i.unit or '–'} | {_fmt(i.low, '.4g')} | {_fmt(i.high, '.4g')} | "
        f"{i.source if i.low is not None else 'measured on the line; range of the training data'} |"
        for i in facts.inputs
    ]
    domain = ["", *_domain_sentences(facts)] if facts.domain_threshold is not None else []
    data_line = (
        f"- Table `{facts.data_table}`: {_fmt(facts.data_rows, '.0f')} rows, {_fmt(facts.groups, '.0f')} groups."
        if facts.data_table
        else ""
    )
    explainable = bool(m.get("explainable", True))
    caveats = [
        f"Trained on {n_train} rows"
        + (f" from {facts.groups} configurations" if facts.groups else "")
        + ": small data; the grouped cross-validation figure is the honest one, the random split flatters when "
        "replicates sit on both sides.",
        "Valid inside the design space only; outside it the serving stage flags or refuses the input.",
        "Keep a human in the loop: operators can override a prediction and engineers can stop the service.",
    ]
    cv_r2 = _number(m.get("cv_r2_pooled"))
    if cv_r2 is not None and cv_r2 < MIN_CV_R2:
        caveats.append(
            f"Grouped-CV R² {cv_r2:.2f} is below {MIN_CV_R2:g} (the acceptance level of a cross-validated R²): "
            "the model explains little of the variation between configurations; do not base decisions on it."
        )
    if facts.simulated:
        caveats.append("The data are simulated: validate on measured data of the line before any use on it.")
    caveats.extend(f"Warning ({w})." for w in facts.warnings)
    if not explainable:
        caveats.append(
            "The inputs of this scenario are strongly correlated: the model predicts, but per-input explanations "
            "are not meaningful; read attributions with care."
        )
    lines = [
        f"# Model card: {response.display} from the {facts.scenario} scenario ({facts.family})"
        + (" — simulated data" if facts.simulated else ""),
        "",
        "## Model details",
        "",
        *details,
        "",
        "## Intended use",
        "",
        *_intended_use(facts),
        "- Users: process engineers, data scientists and operators; domain experts read the explanations.",
        "",
        "## Out-of-scope use",
        "",
        "- Settings outside the ranges below, other materials, formulations or lines.",
        "- Release decisions on single products without a measurement where a decision is safety-relevant; "
        "safety functions.",
        "- Causal claims beyond the designed factors.",
        "",
        "## Factors (inputs and validity domain)",
        "",
        "| input | column | unit | low | high | range from |",
        "|---|---|---|--:|--:|---|",
        *factor_rows,
        *domain,
        "",
        "## Metrics",
        "",
        "| metric | value |",
        "|---|--:|",
        *_metric_rows(facts, unit),
        "",
        "The pooled out-of-fold R² is the figure to read: the mean of the folds' R² is unstable when a fold holds "
        "few configurations, since each fold's R² is measured against that fold's own small spread.",
        *(["", f"Interval method: {facts.interval.get('method')}."] if facts.interval.get("method") else []),
        "",
        "## Data",
        "",
        *([data_line] if data_line else []),
        *(
            ["- Provenance: **simulated** (the raw folder's manifest says the data came from a simulated line)."]
            if facts.simulated
            else []
        ),
        "- See the datasheet (`cards/datasheet.md` of the study folder) for how the data were collected and cleaned.",
        "",
        "### Training data",
        "",
        f"- {n_train} rows of the study's data"
        + (f"; SHAP background: {facts.background_rows} of them." if facts.background_rows else "."),
        "",
        "### Evaluation data",
        "",
        f"- {n_test} rows of the paper's random test split, and grouped cross-validation "
        f"({m.get('cv_scheme') or 'by configuration'}).",
        "",
        "## Quantitative analyses",
        "",
        f"- Max VIF of the inputs {_fmt(m.get('max_vif'))}, max |r| {_fmt(m.get('max_abs_r'))}; explainable: "
        f"{'yes' if explainable else 'no (collinear inputs: read attributions with care)'}."
        + (f" Attributions: {facts.explainer}." if facts.explainer else ""),
        *_effect_lines(facts),
        "",
        "## Ethical considerations",
        "",
        "- The model predicts a product property, not anything about people. Every prediction, override, "
        "feedback and stop of the served model is written to a hash-chained audit log (EU AI Act Arts. 12, 14).",
        "",
        "## Caveats and recommendations",
        "",
        *[f"- {c}" for c in caveats],
        "",
    ]
    return "\n".join(lines)


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _intended_use(facts: CardFacts) -> list[str]:
    """This model's intended use: the study's purpose, the response's, its inputs, and what its quality allows."""
    study, response = facts.study, facts.study.response(facts.target)
    inputs = ", ".join(i.display for i in facts.inputs) or "its scenario's inputs"
    lines = [
        f"- Predict {response.display} from {inputs} ({facts.scenario} scenario) for new settings inside the "
        "validity domain below, with an explanation (interventional SHAP) and a prediction interval; with a person "
        "checking the result."
    ]
    lines.append(
        f"- Study purpose: {study.description.strip()}"
        if study.description.strip()
        else "- Study purpose: not stated (give the study file a top-level `description`)."
    )
    if response.description.strip():
        lines.append(f"- This response: {response.description.strip()}")
    cv_r2 = _number(facts.metrics.get("cv_r2_pooled"))
    if cv_r2 is not None:
        lines.append(
            f"- Grouped-CV R² {cv_r2:.2f} ≥ {MIN_CV_R2:g}: fit to compare settings, plan experiments and find a "
            "process window."
            if cv_r2 >= MIN_CV_R2
            else f"- Grouped-CV R² {cv_r2:.2f} < {MIN_CV_R2:g}: for screening only (which inputs may matter, where to "
            "measure next), not to choose settings."
        )
    return lines


def _effect_lines(facts: CardFacts) -> list[str]:
    if not facts.effects:
        return []
    lines = ["", "Effects of the inputs over their ranges (explanation stage, with intervals):", ""]
    lines += [
        f"- {e.display}: {_fmt(e.effect, '.3g')} {e.unit} [{_fmt(e.low, '.3g')}, {_fmt(e.high, '.3g')}]"
        + (f", {e.direction}" if e.direction else "")
        + (f" ({e.status})" if e.status else "")
        for e in facts.effects
    ]
    return lines
