"""Narratives written from the graded claims: statements and role views per target.

Every statement is built from the rows of ``claims.csv`` (:mod:`glassline.explain._claims`) of the target's
lead model (the best family of its best explainable scenario), the optimum locations and ranges of
``uncertainty.csv``, and the warnings; the data scientist's metrics come from ``results.csv``. Each
statement keeps the claim keys it came from (``statement_claims``: ``[target, scenario, family, factor]``
per claim, parallel to ``statements``).

- a **stated** claim is said plainly: "Lowering porosity after calendering from 40 to 25 % raises adhesion
  strength by about 120 kPa (90 % CI 90–150 kPa)." or "Adhesion strength is highest near 57 °C of
  second-dryer temperature (90 % CI 55–60 °C) …"; the rank-1 input "drives" the response most;
- a **hedged** claim reads as a hedge: "No clear effect of … within the tested range", "… likely raises …",
  "… appears to …", "porosity and mass loading matter about equally" (a ``tie`` warning);
- a **not_stated** claim is not said: a model below the CV R² threshold says so and names no effect.

:data:`HEDGE_MARKERS` are the words that mark a hedge; a hedged claim's sentence always holds one.

Role views: ``data_scientist`` (metrics from results.csv, the claims' grades, the warnings' kinds),
``domain_expert`` (the statements, expectations, physics check), ``technician`` (which way to turn each
input, from the claims, with the confidence word; plus one training row's SHAP drill-down as data),
``manager`` (each lever with its plain confidence word: clear / likely / unclear, see
:func:`glassline.explain._claims.confidence`).
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
from glassline.explain._claims import CI_LEVEL, LOF_ALPHA, confidence, lack_of_fit_decides
from glassline.explain._curvature import curvature_confirmed
from glassline.explain._expectations import GRID_POINTS
from glassline.explain._importance import input_range, partial_dependence, pd_direction
from glassline.explain._warnings import MIN_CV_R2
from glassline.models import Fit, FitKey
from glassline.models._metrics import beyond
from glassline.spec import Study

__all__ = ["HEDGE_MARKERS", "effect_of", "fmt", "narratives", "narratives_markdown", "write_narratives"]

#: Words that mark a sentence as a hedge; every sentence built from a hedged claim holds one of them.
HEDGE_MARKERS = ("likely", "appears to", "no clear", "about equal", "read with care", "unclear")


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


def _interval(low: float, high: float, unit: str) -> str:
    """ "90 % CI a–b unit" with the ends in increasing order."""
    a, b = sorted((low, high))
    digits = next((d for d in (2, 3, 4) if fmt(a, d) != fmt(b, d)), 4) if a != b else 2
    return f"{100 * CI_LEVEL:g} % CI {fmt(a, digits)}–{_with_unit(b, unit, digits)}"


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _claim_key(claim: dict[str, Any]) -> list[str]:
    return [str(claim["target"]), str(claim["scenario"]), str(claim["family"]), str(claim["factor"])]


def _effect_sentence(
    study: Study, claim: dict[str, Any], place: dict[str, Any], reason: str, confounded: bool = False
) -> str:
    """The sentence of one claim that is stated or hedged ("" for one that is not stated).

    A hedged claim reads "likely …"; one whose input a ``collinear`` or ``confounded_with_order`` warning
    names reads "appears to …": its interval may be tight, but the effect may be another's (*confounded*; the
    caller sets it also for a claim whose confidence word is ``unclear``, e.g. a peak whose interval reaches
    the end of the range).
    """
    status, shape = str(claim["status"]), str(claim["shape"])
    if status == "not_stated":
        return ""
    target, name = str(claim["target"]), str(claim["factor"])
    y, x, unit_y, unit_x = _label(study, target), _label(study, name), _unit(study, target), _unit(study, name)
    low, high = float(place["range_low"]), float(place["range_high"])
    tested = f"{fmt(low, 3)}–{_with_unit(high, unit_x)}"
    hedge = status == "hedged"
    if shape in ("optimum", "minimum"):
        word = "highest" if shape == "optimum" else "lowest"
        where = float(place["optimum"])
        ci = _interval(float(place["optimum_ci_low"]), float(place["optimum_ci_high"]), unit_x)
        text = (
            f"{_label(study, target, start=True)} {_seems(hedge, confounded, 'is')}{word} near "
            f"{_with_unit(where, unit_x)} of {x} ({ci}) within the tested range {tested}"
        )
        return text + (f", but {reason}." if hedge and reason else ".")
    if shape in ("increasing", "decreasing"):
        direction = int(claim["direction"])
        start, end = (high, low) if direction < 0 else (low, high)
        verb = "Lowering" if direction < 0 else "Raising"
        size = abs(float(claim["effect"]))
        ci = _interval(direction * float(claim["effect_ci_low"]), direction * float(claim["effect_ci_high"]), unit_y)
        text = (
            f"{verb} {x} from {_with_unit(start, unit_x)} to {_with_unit(end, unit_x)} "
            f"{_seems(hedge, confounded, 'raises')} predicted {y} by about {_with_unit(size, unit_y, 2)} ({ci})"
        )
        return text + (f", but {reason}." if hedge and reason else ".")
    if shape == "mixed":
        return f"The effect of {x} on {y} has no clear shape within the tested range {tested}."
    return f"No clear effect of {x} on {y} within the tested range {tested}."


def _seems(hedge: bool, confounded: bool, verb: str) -> str:
    """The verb of an effect sentence: "raises", "likely raises" or "appears to raise" (``is`` likewise)."""
    if not hedge:
        return "is " if verb == "is" else verb
    if confounded:
        return "appears to be " if verb == "is" else "appears to raise"
    return "is likely " if verb == "is" else f"likely {verb}"


def _hedge_reason(
    study: Study, claim: dict[str, Any], warned: set[str], lack_of_fit: bool, place: dict[str, Any] | None = None
) -> str:
    """Why a claim with a significant effect is hedged, in words ("" when it is not hedged)."""
    if str(claim["status"]) != "hedged":
        return ""
    name = str(claim["factor"])
    if name in warned:
        return "read with care: see the warning on it below"
    if lack_of_fit and str(claim["shape"]) in ("increasing", "decreasing"):
        return "the model's lack of fit says the true response is curved"
    if place and not curvature_confirmed(place):
        return (
            f"its {_percent(CI_LEVEL)} interval reaches the end of the tested range "
            f"({_percent(_number(place.get('curvature_share')))} of the refits peak inside it)"
        )
    return f"its rank among the inputs is uncertain ({_percent(float(claim['rank_probability']))} of the refits)"


def _drill_down(fit: Fit, explanation: shap.Explanation) -> dict[str, Any]:
    """One training row's SHAP drill-down, as data (prediction = base value + contributions)."""
    row = 0
    values = np.asarray(explanation.values, dtype=float)[row]
    base = float(np.ravel(explanation.base_values)[row])
    return {
        "row_id": int(fit.X_train.index[row]) if len(fit.X_train) else None,
        "prediction": base + float(values.sum()),
        "base_value": base,
        "contributions": {fit.inputs[j]: float(values[j]) for j in range(len(fit.inputs))},
    }


def _technician_text(
    study: Study,
    target: str,
    claims: list[dict[str, Any]],
    adequate: bool,
    places: dict[str, dict[str, Any]],
    warnings: pd.DataFrame | None,
) -> str:
    y = _label(study, target)
    if not adequate:
        return f"The model of {y} predicts new configurations poorly: no setting is advised from it."
    parts = []
    for claim in claims:
        name = str(claim["factor"])
        x, shape, word = _label(study, name), str(claim["shape"]), confidence(claim, warnings)
        if shape in ("increasing", "decreasing") and word != "unclear":
            move = "raise" if int(claim["direction"]) > 0 else "lower"
            parts.append(f"{move} {x} ({'likely' if word == 'likely' else word})")
        elif shape in ("optimum", "minimum") and word != "unclear" and name in places:
            where = _with_unit(float(places[name]["optimum"]), _unit(study, name))
            parts.append(f"keep {x} near {where} ({word})")
        else:
            parts.append(f"no clear lever: {x} (unclear)")
    return f"To raise {y}: " + "; ".join(parts) + "."


def _manager_text(
    study: Study,
    target: str,
    claims: list[dict[str, Any]],
    cv_r2: float,
    cautions: list[str],
    warnings: pd.DataFrame | None,
) -> str:
    y = _label(study, target, start=True)
    head = f"{y} is predicted with a cross-validated R² of {cv_r2:.2f}."
    if not cv_r2 >= MIN_CV_R2:
        shown = "undefined" if math.isnan(cv_r2) else beyond(cv_r2, MIN_CV_R2)
        head = f"{y} cannot be predicted reliably yet (cross-validated R² {shown} < {MIN_CV_R2:g}): no lever is stated."
        return " ".join([head, *cautions])
    levers = []
    for claim in claims:
        x, word, shape = _label(study, str(claim["factor"])), confidence(claim, warnings), str(claim["shape"])
        if shape in ("increasing", "decreasing") and word != "unclear":
            verb = "raising" if int(claim["direction"]) > 0 else "lowering"
            levers.append(
                f"{x}: {verb} it {'likely raises' if word == 'likely' else 'raises'} {_label(study, target)} by "
                f"about {_with_unit(abs(float(claim['effect'])), _unit(study, target), 2)} ({word})"
            )
        elif shape in ("optimum", "minimum") and word != "unclear":
            extreme = "highest" if shape == "optimum" else "lowest"
            levers.append(
                f"{x}: {_label(study, target)} is {'likely ' if word == 'likely' else ''}{extreme} inside the "
                f"tested range ({word})"
            )
        else:
            levers.append(f"{x}: no clear effect (unclear)")
    return " ".join([head, "Levers: " + "; ".join(levers) + ".", *cautions])


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
    *,
    claims: pd.DataFrame | None = None,
    uncertainty: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """Per target: statements and role views, written from *claims* (``claims.csv``) and *uncertainty*.

    *warnings* (``warnings.csv``) add the cautions: a ``collinear`` warning on the lead model's scenario and
    a ``confounded_with_order`` warning on an input each add a "Read with care" sentence, a ``tie`` adds
    "… matter about equally"; every warning of the lead model is listed in ``warnings`` and named (by kind)
    in the data scientist's view. *importance* gives the attribution shares of ``effects``. A target without
    claims (no bootstrap refits) says that no claim was graded.
    """
    out: dict[str, Any] = {}
    claims = claims if claims is not None else pd.DataFrame()
    uncertainty = uncertainty if uncertainty is not None else pd.DataFrame()
    for target, fit in lead.items():
        own = _own_warnings(warnings, target, fit.scenario)
        collinear = [w for w in own if w["kind"] == "collinear"]
        correlated = {part for w in collinear for part in str(w["factor"]).split("~") if part}
        drifting = {w["factor"] for w in own if w["kind"] == "confounded_with_order"}
        ties = [w for w in own if w["kind"] == "tie"]
        warned = correlated | drifting | ({n for n in fit.inputs} if collinear and not correlated else set())
        mine = (
            claims[
                (claims["target"] == target) & (claims["scenario"] == fit.scenario) & (claims["family"] == fit.family)
            ]
            if len(claims)
            else pd.DataFrame()
        )
        places = (
            uncertainty[
                (uncertainty["target"] == target)
                & (uncertainty["scenario"] == fit.scenario)
                & (uncertainty["family"] == fit.family)
            ].set_index("factor")
            if len(uncertainty)
            else pd.DataFrame()
        )
        metrics = results[
            (results["target"] == target) & (results["scenario"] == fit.scenario) & (results["family"] == fit.family)
        ].iloc[0]
        cv_r2 = float(metrics["cv_r2_pooled"])
        lof = (
            "lof_p" in results.columns
            and _number(metrics.get("lof_p")) < LOF_ALPHA
            and lack_of_fit_decides(results, target, fit.scenario)
        )
        shares = importance[
            (importance["method"] == "shap")
            & (importance["target"] == target)
            & (importance["scenario"] == fit.scenario)
            & (importance["family"] == fit.family)
        ].set_index("feature")["share"]
        y = _label(study, target)
        records: list[dict[str, Any]] = [{str(k): v for k, v in r.items()} for r in mine.to_dict("records")]
        statements: list[str] = []
        sources: list[list[list[str]]] = []

        def say(
            text: str, keys: list[list[str]], statements: list[str] = statements, sources: list[Any] = sources
        ) -> None:
            if text:
                statements.append(text)
                sources.append(keys)

        effects = []
        # the rank-1 sentence and the ties come first; the rank-1 sentence carries the top input's effect
        opening = ""
        ties_said: list[tuple[str, list[list[str]]]] = []
        if not records:
            say(f"No claims are graded for {y}: the explanation stage ran without bootstrap refits.", [])
        elif not cv_r2 >= MIN_CV_R2:
            shown = "undefined" if math.isnan(cv_r2) else beyond(cv_r2, MIN_CV_R2)
            say(
                f"The model of {y} predicts new configurations poorly (pooled grouped-CV R² {shown} < "
                f"{MIN_CV_R2:g}): no effect on it is stated.",
                [_claim_key(c) for c in records],
            )
        else:
            top = records[0]
            if str(top["shape"]) != "none" and str(top["status"]) != "not_stated":
                first = _percent(float(top["rank_probability"]))
                if top["status"] == "stated":
                    verb = "drives"
                elif top["factor"] in warned:
                    verb = "appears to drive"
                else:
                    verb = "likely drives"
                tie_here = [w for w in ties if str(top["factor"]) in str(w["factor"]).split("~")]
                if not tie_here:
                    opening = (
                        f"{_label(study, str(top['factor']), start=True)} {verb} {y} most "
                        f"({first} of the bootstrap refits rank it first)"
                    )
            for w in ties:
                names = [n for n in str(w["factor"]).split("~") if n]
                keys = [_claim_key(c) for c in records if str(c["factor"]) in names]
                if len(names) == 2:
                    ties_said.append(
                        (
                            f"{_label(study, names[0], start=True)} and {_label(study, names[1])} matter about "
                            f"equally for {y}.",
                            keys,
                        )
                    )
        for position, claim in enumerate(records):
            name = str(claim["factor"])
            place = {str(k): v for k, v in places.loc[name].items()} if name in places.index else {}
            sentence = (
                _effect_sentence(
                    study,
                    claim,
                    place,
                    _hedge_reason(study, claim, warned, lof, place),
                    # "appears to" where a warning or the claim's own evidence leaves it unclear, never "likely"
                    str(claim["factor"]) in warned or confidence(claim, warnings) == "unclear",
                )
                if place and cv_r2 >= MIN_CV_R2
                else ""
            )
            if position == 0:
                if opening and sentence.startswith(("Raising", "Lowering")):
                    say(f"{opening}; {sentence[0].lower()}{sentence[1:]}", [_claim_key(claim)])
                else:
                    say(f"{opening}." if opening else "", [_claim_key(claim)])
                    say(sentence, [_claim_key(claim)])
                for text, keys in ties_said:
                    say(text, keys)
            else:
                say(sentence, [_claim_key(claim)])
            if name in drifting:
                say(_order_caution(study, name), [_claim_key(claim)])
            monotone = sentence.startswith(("Raising", "Lowering"))
            direction = int(claim["direction"]) if monotone else 0
            low, high = (_number(place.get("range_low")), _number(place.get("range_high")))
            effects.append(
                {
                    "feature": name,
                    "direction": direction,
                    "from": high if direction < 0 else low,
                    "to": low if direction < 0 else high,
                    "change": abs(float(claim["effect"])),
                    "share": _number(shares.get(name, math.nan)),
                    "shape": str(claim["shape"]),
                    "status": str(claim["status"]),
                    "confidence": confidence(claim, warnings),
                    "sentence": sentence,
                    "confounded_with_order": name in drifting,
                    "claim": _claim_key(claim),
                }
            )
        caution = _collinear_caution(study, collinear)
        say(caution, [_claim_key(c) for c in records if str(c["factor"]) in correlated])
        agree = agreement[(agreement["target"] == target) & (agreement["scenario"] == fit.scenario)]
        flagged = agree[agree["disagree"].astype(bool)]
        exp = expectations[
            (expectations["target"] == target)
            & (expectations["scenario"] == fit.scenario)
            & (expectations["family"] == fit.family)
        ]
        counts = {status: sum(str(c["status"]) == status for c in records) for status in ("stated", "hedged")}
        n_boot = int(places["n_boot"].iloc[0]) if len(places) else 0
        unit_y = _unit(study, target)
        scientist = (
            f"Lead model: {fit.family} on scenario '{fit.scenario}' (inputs {', '.join(fit.inputs)}), chosen by pooled "
            f"grouped-CV R² = {cv_r2:.2f}; R² on the paper's test split = "
            f"{float(metrics['r2_test']):.2f}; grouped-CV RMSE {_with_unit(float(metrics['cv_rmse_mean']), unit_y)} "
            f"(training RMSE {_with_unit(float(metrics['rmse_train']), unit_y)}). "
            f"Claims: {counts['stated']} stated, {counts['hedged']} hedged, "
            f"{len(records) - counts['stated'] - counts['hedged']} not stated, from {n_boot} grouped bootstrap "
            f"refits (see claims.csv and uncertainty.csv). "
            f"{len(agree)} ranking pairs compared, {len(flagged)} disagree (see agreement.csv)."
        )
        if not fit.explainable:
            scientist += " Warning: this scenario's inputs are collinear; the attributions are not reliable."
        if own:
            kinds = list(dict.fromkeys(f"{w['kind']}" + (f" ({w['factor']})" if w["factor"] else "") for w in own))
            scientist += " Warnings: " + "; ".join(kinds) + " (see warnings.csv)."
        passed = int(exp["passed"].astype(bool).sum())
        expert = " ".join(statements) + (
            f" Expert expectations: {passed} of {len(exp)} hold (see expectations.csv)." if len(exp) else ""
        )
        if physics is not None and not physics.empty and target in set(physics.get("target", [])):
            part = physics[physics["target"] == target]
            worst = float(part["max_rel_deviation"].max())
            pack = study_domain(study)
            reference = (pack.phrases if pack is not None else Phrases()).physics_reference
            expert += f" Physics check: largest deviation from {reference} {_percent(worst)}."
        adequate = bool(cv_r2 >= MIN_CV_R2) and bool(records)
        technician = _drill_down(fit, explanations[fit.key])
        technician["text"] = (
            _technician_text(
                study,
                target,
                records,
                adequate,
                {str(f): {str(k): v for k, v in row.items()} for f, row in places.iterrows()} if len(places) else {},
                warnings,
            )
            if records
            else statements[0]
        )
        cautions = [_order_caution(study, f) for f in fit.inputs if f in drifting] + ([caution] if caution else [])
        manager = _manager_text(study, target, records, cv_r2, cautions, warnings) if records else statements[0]
        out[target] = {
            "label": y,
            "unit": unit_y,
            "model": {"scenario": fit.scenario, "family": fit.family, "explainable": fit.explainable},
            "statements": statements,
            "statement_claims": sources,
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
