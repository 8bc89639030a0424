"""Plain-language statements computed from the explanations, in the study's labels and units, per role.

Every number in a sentence is computed here from the model and also stored beside the sentence in
``narratives.json`` (``effects``: input, from, to, change, direction, share), so a test can recompute
it from the model. For each target the *lead model* is the best family (by pooled CV R²) of the
target's explainable scenarios (of any scenario if none is explainable, flagged).

- the size of an input's effect is the change of the lead model's partial dependence (other inputs
  at their training values) when the input goes across its design range, in the direction that
  raises the prediction;
- its share is its mean |SHAP| over the training rows divided by the sum over the inputs.

Role views: ``data_scientist`` (metrics, agreement), ``domain_expert`` (directions, sizes,
expectations, physics check), ``technician`` (one prediction's drill-down: a SHAP waterfall in
words), ``manager`` (one paragraph).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shap

from glassline.domains import Phrases, study_domain
from glassline.explain._expectations import GRID_POINTS, factor_bounds
from glassline.explain._importance import input_range, partial_dependence, pd_direction
from glassline.models import Fit, FitKey
from glassline.spec import Study

__all__ = ["effect_of", "fmt", "narratives", "narratives_markdown", "write_narratives"]


def fmt(value: float, digits: int = 2) -> str:
    """*value* rounded to *digits* significant figures, without trailing zeros: fmt(197.5) == "200"."""
    if not math.isfinite(value):
        return str(value)
    if value == 0:
        return "0"
    magnitude = math.floor(math.log10(abs(value)))
    places = digits - 1 - magnitude
    rounded = round(value, places)
    decimals = max(0, places)
    text = f"{rounded:.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _percent(share: float) -> str:
    return f"{100 * share:.0f} %"


def _with_unit(value: float, unit: str, digits: int = 3) -> str:
    if not unit or unit == "1":
        return fmt(value, digits)
    return f"{fmt(value, digits)} {unit}"


def _label(study: Study, name: str, *, start: bool = False) -> str:
    try:
        item = study.column(name)
        text = item.label or name.replace("_", " ")
    except ValueError:
        text = name.replace("_", " ")
    if not start and len(text) > 1 and text[0].isupper() and not text[1].isupper():
        text = text[0].lower() + text[1:]
    return text[0].upper() + text[1:] if start else text


def _unit(study: Study, name: str) -> str:
    try:
        return study.column(name).unit
    except ValueError:
        return ""


def effect_of(fit: Fit, feature: str, bounds: dict[str, tuple[float, float]]) -> dict[str, Any]:
    """The lead model's effect of *feature*: PD over its range, direction, and the raising move."""
    low, high = input_range(fit, feature, bounds)
    curve = partial_dependence(fit, feature, np.linspace(low, high, GRID_POINTS))
    direction = pd_direction(curve)
    start, end = (high, low) if direction < 0 else (low, high)
    return {
        "feature": feature,
        "direction": direction,
        "from": start,
        "to": end,
        "change": float(curve[-1] - curve[0]) * (-1 if direction < 0 else 1),
        "pd_min": float(curve.min()),
        "pd_max": float(curve.max()),
    }


def _effect_sentence(study: Study, target: str, effect: dict[str, Any]) -> str:
    f, unit_f = effect["feature"], _unit(study, effect["feature"])
    y, unit_y = _label(study, target), _unit(study, target)
    if effect["direction"] == 0:
        return (
            f"{_label(study, f, start=True)} has a mixed effect on predicted {y}: across "
            f"{_with_unit(min(effect['from'], effect['to']), unit_f)} to "
            f"{_with_unit(max(effect['from'], effect['to']), unit_f)} "
            f"it moves it between {_with_unit(effect['pd_min'], unit_y)} and {_with_unit(effect['pd_max'], unit_y)}."
        )
    verb = "lowering" if effect["direction"] < 0 else "raising"
    return (
        f"{verb.capitalize()} {_label(study, f)} from {_with_unit(effect['from'], unit_f)} to "
        f"{_with_unit(effect['to'], unit_f)} raises predicted {y} by about {_with_unit(effect['change'], unit_y, 2)}."
    )


def _waterfall(study: Study, fit: Fit, explanation: shap.Explanation) -> dict[str, Any]:
    """One row's prediction in words: base value, then each input's contribution, largest first."""
    row = 0
    values = np.asarray(explanation.values, dtype=float)[row]
    data = np.asarray(explanation.data, dtype=float)[row]
    base = float(np.ravel(explanation.base_values)[row])
    prediction = base + float(values.sum())
    unit_y = _unit(study, fit.target)
    order = np.argsort(-np.abs(values))
    parts = []
    for j in order:
        name = fit.inputs[j]
        verb = "raises" if values[j] > 0 else "lowers"
        parts.append(
            f"{_label(study, name)} = {_with_unit(float(data[j]), _unit(study, name))} {verb} it by "
            f"{_with_unit(abs(float(values[j])), unit_y, 2)}"
        )
    text = (
        f"For the first training row the model predicts {_label(study, fit.target)} = "
        f"{_with_unit(prediction, unit_y)}; "
        f"starting from the average prediction {_with_unit(base, unit_y)}, " + "; ".join(parts) + "."
    )
    return {
        "row_id": int(fit.X_train.index[row]) if len(fit.X_train) else None,
        "prediction": prediction,
        "base_value": base,
        "contributions": {fit.inputs[j]: float(values[j]) for j in range(len(fit.inputs))},
        "text": text,
    }


def _own_warnings(warnings: pd.DataFrame | None, target: str, scenario: str) -> list[dict[str, str]]:
    """The warnings of one target × scenario as plain records (kind, factor, message)."""
    if warnings is None or warnings.empty:
        return []
    part = warnings[(warnings["target"] == target) & (warnings["scenario"] == scenario)].fillna("")
    return [{"kind": str(r.kind), "factor": str(r.factor), "message": str(r.message)} for r in part.itertuples()]


def _collinear_caution(study: Study, collinear: list[dict[str, str]]) -> str:
    """A hedged sentence for a ``collinear`` warning ("" without one)."""
    if not collinear:
        return ""
    factor = collinear[0]["factor"]
    names = [n for n in factor.split("~") if n]
    if len(names) == 2:
        who = f"{_label(study, names[0])} and {_label(study, names[1])} are correlated"
    elif names:
        who = f"{_label(study, names[0])} is correlated with the other inputs"
    else:
        who = "the inputs are correlated"
    return (
        f"Read with care: {who} in these data (collinear warning), so the effects stated above may be "
        "partly shared between them; a design that varies them independently would separate them."
    )


def _order_caution(study: Study, factor: str) -> str:
    """The hedge for an input with a ``confounded_with_order`` warning."""
    order = _label(study, study.data.order) if study.data.order else "the run order"
    return (
        f"Read with care: {_label(study, factor)} moved with {order} in these data (confounded_with_order "
        f"warning): its effect cannot be told apart from a drift along {order}."
    )


def narratives(
    study: Study,
    lead: dict[str, Fit],
    explanations: dict[FitKey, shap.Explanation],
    importance: pd.DataFrame,
    results: pd.DataFrame,
    agreement: pd.DataFrame,
    expectations: pd.DataFrame,
    physics: pd.DataFrame | None = None,
    warnings: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """Per target: statements and role views, every number computed from the lead model.

    *warnings* (the ``warnings.csv`` table) are read: a ``collinear`` warning on the lead model's scenario
    hedges the statements and adds a caution; every warning of the lead model is listed in
    ``warnings`` and named in the data scientist's view.
    """
    bounds = factor_bounds(study)
    out: dict[str, Any] = {}
    for target, fit in lead.items():
        own = _own_warnings(warnings, target, fit.scenario)
        collinear = [w for w in own if w["kind"] == "collinear"]
        correlated = {part for w in collinear for part in str(w["factor"]).split("~") if part}
        drifting = {w["factor"] for w in own if w["kind"] == "confounded_with_order"}
        shap_rows = importance[
            (importance["method"] == "shap")
            & (importance["target"] == target)
            & (importance["scenario"] == fit.scenario)
            & (importance["family"] == fit.family)
        ].sort_values("rank")
        effects = []
        for record in shap_rows.to_dict("records"):
            effect = effect_of(fit, str(record["feature"]), bounds)
            effect["share"] = float(record["share"])
            effect["shap_direction"] = int(record["direction"])
            effect["sentence"] = _effect_sentence(study, target, effect)
            effect["confounded_with_order"] = effect["feature"] in drifting
            effects.append(effect)
        if not effects:
            continue
        top = effects[0]
        y = _label(study, target)
        unit_y = _unit(study, target)
        hedged = top["feature"] in correlated or (collinear and not correlated) or top["feature"] in drifting
        verb = "appears to drive" if hedged else "drives"
        lead_sentence = (
            f"{_label(study, top['feature'], start=True)} {verb} {y} most ({_percent(top['share'])} of the attribution)"
        )
        if top["direction"] != 0:
            tail = top["sentence"]
            lead_sentence += "; " + tail[0].lower() + tail[1:]
        else:
            lead_sentence += ". " + top["sentence"]
        statements = [lead_sentence if lead_sentence.endswith(".") else lead_sentence + "."]
        if top["feature"] in drifting:
            statements.append(_order_caution(study, top["feature"]))
        for e in effects[1:]:
            statements.append(e["sentence"])
            if e["feature"] in drifting:
                statements.append(_order_caution(study, e["feature"]))
        caution = _collinear_caution(study, collinear)
        if caution:
            statements.append(caution)
        metrics = results[
            (results["target"] == target) & (results["scenario"] == fit.scenario) & (results["family"] == fit.family)
        ].iloc[0]
        agree = agreement[(agreement["target"] == target) & (agreement["scenario"] == fit.scenario)]
        flagged = agree[agree["disagree"].astype(bool)]
        exp = expectations[
            (expectations["target"] == target)
            & (expectations["scenario"] == fit.scenario)
            & (expectations["family"] == fit.family)
        ]
        scientist = (
            f"Lead model: {fit.family} on scenario '{fit.scenario}' (inputs {', '.join(fit.inputs)}), chosen by pooled "
            f"grouped-CV R² = {float(metrics['cv_r2_pooled']):.2f}; R² on the paper's test split = "
            f"{float(metrics['r2_test']):.2f}; grouped-CV RMSE {_with_unit(float(metrics['cv_rmse_mean']), unit_y)} "
            f"(training RMSE {_with_unit(float(metrics['rmse_train']), unit_y)}). "
            f"{len(agree)} ranking pairs compared, {len(flagged)} disagree"
            + (
                " ("
                + "; ".join(
                    f"{r.method_a}/{r.family_a} vs {r.method_b}/{r.family_b}: τ = {r.kendall_tau:.2f}"
                    for r in flagged.head(3).itertuples()
                )
                + ")"
                if len(flagged)
                else ""
            )
            + "."
        )
        if not fit.explainable:
            scientist += " Warning: this scenario's inputs are collinear; the attributions are not reliable."
        if own:
            scientist += " Warnings: " + "; ".join(f"{w['kind']}: {w['message']}" for w in own) + "."
        passed = int(exp["passed"].astype(bool).sum())
        expert = " ".join(statements) + (
            f" Expert expectations: {passed} of {len(exp)} hold"
            + (
                " (failing: "
                + ", ".join(
                    f"{r.feature} expected {r.expected}, observed {r.observed}"
                    for r in exp[~exp["passed"].astype(bool)].itertuples()
                )
                + ")"
                if passed < len(exp)
                else ""
            )
            + "."
            if len(exp)
            else ""
        )
        if physics is not None and not physics.empty and target in set(physics.get("target", [])):
            part = physics[physics["target"] == target]
            worst = float(part["max_rel_deviation"].max())
            pack = study_domain(study)
            reference = (pack.phrases if pack is not None else Phrases()).physics_reference
            expert += f" Physics check: largest deviation from {reference} {_percent(worst)}."
        technician = _waterfall(study, fit, explanations[fit.key])
        manager = (
            f"{y[0].upper() + y[1:]} is predicted with a cross-validated R² of {float(metrics['cv_r2_pooled']):.2f}. "
            f"The main lever is {_label(study, top['feature'])} ({_percent(top['share'])} of the attribution)"
            + (f": {top['sentence'][0].lower() + top['sentence'][1:]}" if top["direction"] != 0 else ".")
            + (f" {passed} of {len(exp)} expert expectations hold." if len(exp) else "")
            + (f" {_order_caution(study, top['feature'])}" if top["feature"] in drifting else "")
            + (f" {caution}" if caution else "")
        )
        out[target] = {
            "label": y,
            "unit": _unit(study, target),
            "model": {"scenario": fit.scenario, "family": fit.family, "explainable": fit.explainable},
            "statements": statements,
            "effects": effects,
            "warnings": own,
            "roles": {
                "data_scientist": scientist,
                "domain_expert": expert,
                "technician": technician,
                "manager": manager,
            },
        }
    return out


def narratives_markdown(study: Study, story: dict[str, Any]) -> str:
    lines = [f"# Explanations: {study.name}", ""]
    for entry in story.values():
        lines += [f"## {entry['label'][0].upper() + entry['label'][1:]}", ""]
        lines += [f"- {s}" for s in entry["statements"]]
        roles = entry["roles"]
        lines += [
            "",
            f"**Data scientist.** {roles['data_scientist']}",
            "",
            f"**Domain expert.** {roles['domain_expert']}",
            "",
            f"**Technician.** {roles['technician']['text']}",
            "",
            f"**Manager.** {roles['manager']}",
            "",
        ]
    return "\n".join(lines)


def write_narratives(study: Study, story: dict[str, Any], folder: Path) -> list[Path]:
    json_path, md_path = folder / "narratives.json", folder / "narratives.md"
    json_path.write_text(json.dumps(story, indent=2, ensure_ascii=False), encoding="utf-8")
    md_path.write_text(narratives_markdown(study, story), encoding="utf-8")
    return [json_path, md_path]
