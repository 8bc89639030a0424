"""The manager view: one page at the top of the report, in the study's words and units, without jargon.

Per response: its levers (direction, size over the tested range with its interval, a plain confidence
word from :data:`glassline.report._findings.CONFIDENCE_WORDS`), the study's requirement on it labelled as a
target; then the recommended setting with the predicted values, their intervals, the rule that chose it and
what it costs elsewhere (the trade-offs). Everything comes from ``explanations/claims.csv``,
``warnings.csv`` and ``window.json``; the words "attribution", "SHAP", scenario and family codes never appear.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from glassline.explain import CURVATURE_ALPHA, Requirement
from glassline.report._cards import StudyFolder
from glassline.report._findings import (
    CONFIDENCE_WORDS,
    DIMENSIONLESS,
    RERUN_EXPLAIN,
    Lever,
    Optima,
    Recommendation,
    factors_of,
    levers,
    read_claims,
    read_optima,
    read_warnings,
    recommendation,
    sig,
    with_unit,
)
from glassline.report._html import Section
from glassline.spec import Study

__all__ = ["OP_WORDS", "StudyLever", "manager_section", "requirement_text", "study_levers"]

#: a requirement's operator in words
OP_WORDS = {">=": "at least", ">": "above", "<=": "at most", "<": "below"}
#: a setting within this share of a factor's range from one end sits "at that end" (for the trade-offs)
END_SHARE = 0.05


def _esc(text: object) -> str:
    return html.escape(str(text))


def _label(study: Study, name: str) -> str:
    try:
        column = study.column(name)
    except LookupError:
        return name.replace("_", " ")
    return column.label or name


def _unit(study: Study, name: str) -> str:
    try:
        return study.column(name).unit
    except LookupError:
        return ""


def _mid(label: str) -> str:
    """A label inside a sentence: first letter lower-cased unless the word is an acronym (``EIS``, ``pH``)."""
    if label[1:2].isupper():
        return label
    return label[:1].lower() + label[1:]


def requirement_text(requirement: Requirement, study: Study) -> str:
    """``at least 350 kPa``: a requirement's bound in words and the response's unit."""
    return f"{OP_WORDS[requirement.op]} {with_unit(requirement.value, _unit(study, requirement.response))}"


def _range_text(study: Study, name: str) -> str:
    try:
        factor = study.factor(name)
    except LookupError:
        return ""
    if factor.kind != "continuous" or factor.low is None or factor.high is None:
        return ""
    return f"{sig(factor.low)}–{with_unit(factor.high, factor.unit)}"


def _lever_text(lever: Lever, response: str, study: Study, tied_with: list[str]) -> str:
    """One lever in plain words, as HTML (every value escaped; the input's name in ``<strong>``), ending with
    a full stop; the confidence word is not in it."""
    name = f"<strong>{_esc(lever.label)}</strong>"
    tested = _range_text(study, lever.factor)
    over = f" across the tested range ({_esc(tested)})" if tested else " across the tested range"
    response = _mid(response)
    if lever.shape in ("optimum", "minimum"):
        extreme = "highest" if lever.shape == "optimum" else "lowest"
        where = ""
        if math.isfinite(lever.at):
            where = f" near {_esc(lever.label)} = {_esc(with_unit(lever.at, lever.unit))}"
            if math.isfinite(lever.at_low) and math.isfinite(lever.at_high):
                where += f" (interval {_esc(sig(lever.at_low))}–{_esc(with_unit(lever.at_high, lever.unit))})"
        text = (
            f"{_esc(response)} is {extreme} inside the range of {name}{where}, not at either end"
            f"{over} (size {_esc(lever.size)})"
        )
    elif lever.sign == 0 or lever.shape == "mixed":
        text = f"{name} moves {_esc(response)} by {_esc(lever.size)}{over}, with no single direction"
    else:
        verb = "raises" if lever.sign > 0 else "lowers"
        text = f"raising {name} {verb} {_esc(response)} by {_esc(lever.size)}{over}"
    if lever.word == "unclear":
        text = f"possibly: {text}; these data do not settle it"
    if lever.word == "about equal" and tied_with:
        text += f"; it matters about as much as {_esc(' and '.join(_mid(t) for t in tied_with))}"
    return f"{text[0].upper() + text[1:]}."


def _lever_sentence(lever: Lever, response: str, study: Study, tied_with: list[str]) -> str:
    """One lever in plain words; the confidence word follows as a badge."""
    css = lever.word.replace(" ", "-")
    text = _lever_text(lever, response, study, tied_with)
    return f'<li>{text} <span class="word {css}">{_esc(lever.word)}</span></li>'


@dataclass(frozen=True)
class StudyLever:
    """One graded lever of a response as the manager view words it (from ``explanations/claims.csv``)."""

    factor: str
    #: the sentence as HTML: every value escaped, the input's name in ``<strong>``
    html: str
    #: the confidence word (:data:`CONFIDENCE_WORDS`)
    word: str
    #: the model the claims are about (the study's lead model of the response)
    scenario: str
    family: str


def study_levers(root: Path, study: Study, target: str, limit: int = 3) -> list[StudyLever] | None:
    """The graded levers of *target* in the study folder *root* (the folder holding ``explanations/``), by
    rank, at most *limit*, in the words of the report's manager view; levers the data cannot assess are left
    out. None when the folder has no ``claims.csv`` (the explain stage has not run)."""
    explanations = Path(root) / "explanations"
    claims = read_claims(explanations)
    if claims is None:
        return None
    warnings = read_warnings(explanations)
    found = levers(claims, warnings, study, target, read_optima(explanations))
    shown = [lever for lever in found if lever.word != "not assessed"]
    rows = claims[claims["target"].astype(str) == target]
    label = _label(study, target)
    out = []
    for lever in shown[:limit]:
        row = rows[rows["factor"].astype(str) == lever.factor].iloc[0]
        out.append(
            StudyLever(
                factor=lever.factor,
                html=_lever_text(lever, label, study, _tied_with(lever, shown, warnings)),
                word=lever.word,
                scenario=str(row["scenario"]),
                family=str(row["family"]),
            )
        )
    return out


def _tied_with(lever: Lever, shown: list[Lever], warnings: pd.DataFrame) -> list[str]:
    """The inputs an "about equal" lever is level with: those a ``tie`` warning pairs it with, else the other
    "about equal" ones, else its rank neighbour."""
    if lever.word != "about equal":
        return []
    ties = warnings[(warnings["kind"].astype(str) == "tie") & (warnings["target"].astype(str) == lever.target)]
    partners = {name for cell in ties["factor"] if lever.factor in factors_of(cell) for name in factors_of(cell)}
    paired = [other.label for other in shown if other.factor in partners - {lever.factor}]
    if paired:
        return paired
    others = [other.label for other in shown if other.word == "about equal" and other.factor != lever.factor]
    if others:
        return others
    ranked = [other for other in shown if other.factor != lever.factor and math.isfinite(other.rank)]
    if not ranked or not math.isfinite(lever.rank):
        return []
    return [min(ranked, key=lambda other: (abs(other.rank - lever.rank), other.rank)).label]


def _response_block(
    study: Study,
    target: str,
    claims: pd.DataFrame,
    warnings: pd.DataFrame,
    requirements: list[Requirement],
    optima: Optima,
) -> str:
    label = _label(study, target)
    unit = _unit(study, target)
    heading = f"{label} [{unit}]" if unit not in DIMENSIONLESS else label
    parts = [f"<h3>{_esc(heading)}</h3>"]
    for requirement in (r for r in requirements if r.response == target):
        parts.append(
            f'<p class="target"><strong>Target</strong> (a requirement of the study): '
            f"{_esc(requirement_text(requirement, study))}</p>"
        )
    found = levers(claims, warnings, study, target, optima)
    kinds = set(warnings.loc[warnings["target"].astype(str) == target, "kind"].astype(str))
    if "low_model_quality" in kinds:
        parts.append(
            f"<p>These data predict {_esc(_mid(label))} poorly, so no lever is stated with confidence for it.</p>"
        )
    shown = [lever for lever in found if lever.word != "not assessed"]
    if shown:
        items = [_lever_sentence(lever, label, study, _tied_with(lever, shown, warnings)) for lever in shown]
        parts.append(f'<ul class="levers">{"".join(items)}</ul>')
    quiet = [lever.label for lever in found if lever.word == "not assessed"]
    if quiet:
        parts.append(f"<p>Not assessed (the model of {_esc(_mid(label))} is too weak): {_esc(', '.join(quiet))}.</p>")
    if not found:
        parts.append(f"<p>No lever of {_esc(_mid(label))} was examined in these explanations.</p>")
    return f'<article class="response">{"".join(parts)}</article>'


def _averages(folder: StudyFolder) -> dict[str, float]:
    """The mean measured value of each response (for trade-offs as a share), from the fit's predictions."""
    path = folder.results / "predictions.parquet"
    if not path.is_file():
        return {}
    try:
        table = pd.read_parquet(path, columns=["target", "split", "y_true"])
    except (OSError, ValueError, KeyError):
        return {}
    train = table[table["split"] == "train"]
    return {str(k): float(v) for k, v in train.groupby("target")["y_true"].mean().items()}


def _trade_offs(folder: StudyFolder, advice: Recommendation, claims: pd.DataFrame, warnings: pd.DataFrame) -> list[str]:
    """What the recommended setting costs or gains on the other responses: where a factor sits at one end of
    its range, each response with a real effect of that factor (clear or about equal) and a direction."""
    study = folder.study
    averages = _averages(folder)
    required = {p.response for p in advice.predicted}
    lines = []
    for name, value in advice.setting.items():
        try:
            factor = study.factor(name)
        except LookupError:
            continue
        if factor.kind != "continuous" or factor.low is None or factor.high is None or factor.high <= factor.low:
            continue
        span = float(factor.high - factor.low)
        end = (
            "low"
            if value - factor.low <= END_SHARE * span
            else "high"
            if factor.high - value <= END_SHARE * span
            else ""
        )
        if not end:
            continue
        for target in dict.fromkeys(claims["target"].astype(str)):
            if target in required:
                continue
            lever = next((lv for lv in levers(claims, warnings, study, target) if lv.factor == name), None)
            if lever is None or lever.word not in ("clear", "likely", "about equal") or lever.sign == 0:
                continue
            if lever.shape in ("optimum", "minimum", "mixed") or not math.isfinite(lever.effect):
                continue
            lower = (lever.sign > 0) == (end == "low")
            share = ""
            mean = averages.get(target, math.nan)
            if math.isfinite(mean) and mean != 0:
                percent = abs(lever.effect) / abs(mean) * 100
                share = f", about {percent:.0f} % of its average" if percent >= 1 else ", under 1 % of its average"
            lines.append(
                f"{_label(study, name)} at the {end} end ({with_unit(value, factor.unit)}): "
                f"{_mid(_label(study, target))} is about {with_unit(abs(lever.effect), lever.response_unit)} "
                f"{'lower' if lower else 'higher'} than at the other end{share} ({lever.word})."
            )
    return lines


def _window_trade_offs(study: Study, advice: Recommendation) -> list[str]:
    """The window's own trade-offs in words: for a target, how far the setting is from the best the window
    allows; for another response, where the setting puts it within its range over the tested box."""
    lines = []
    for entry in advice.trade_off:
        response = str(entry["response"])
        label, unit = _label(study, response), _unit(study, response)
        at = _number(entry.get("at_setting"))
        if not math.isfinite(at):
            continue
        best = _number(entry.get("best_in_window"))
        if math.isfinite(best):
            percent = _number(entry.get("cost_pct"))
            better = "higher" if entry.get("better") == "higher" else "lower"
            if not math.isfinite(percent) or abs(percent) < 1:
                lines.append(
                    f"{label}: {with_unit(at, unit)} at this setting, about the best any setting meeting every "
                    "target gives."
                )
            else:
                lines.append(
                    f"{label}: {with_unit(at, unit)} at this setting; other settings that meet every target reach "
                    f"{with_unit(best, unit)} ({abs(percent):.0f} % {better}), with a smaller safety margin."
                )
            continue
        low, high = _number(entry.get("box_min")), _number(entry.get("box_max"))
        if math.isfinite(low) and math.isfinite(high):
            percent = _number(entry.get("cost_vs_max_pct"))
            below = f": {percent:.0f} % below its highest" if math.isfinite(percent) and percent >= 1 else ""
            lines.append(
                f"{label}: {with_unit(at, unit)} at this setting, between {sig(low)} and {with_unit(high, unit)} "
                f"over the tested ranges{below}."
            )
    return lines


def _number(value: object) -> float:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan


def _recommendation_block(
    folder: StudyFolder, advice: Recommendation, claims: pd.DataFrame, warnings: pd.DataFrame
) -> str:
    study = folder.study
    setting = ", ".join(f"{_label(study, k)} {with_unit(v, _unit(study, k))}" for k, v in advice.setting.items())
    parts = [f"<h3>Recommended setting</h3><p><strong>{_esc(setting)}</strong></p>"]
    level = f"{advice.level * 100:.0f} %" if math.isfinite(advice.level) else "90 %"
    rows = []
    for p in advice.predicted:
        unit = _unit(study, p.response)
        interval = (
            f"{sig(p.low)} to {with_unit(p.high, unit)}" if math.isfinite(p.low) and math.isfinite(p.high) else "–"
        )
        target = "; ".join(requirement_text(r, study) for r in p.requirements) or "–"
        rows.append(
            f'<tr><td class="l">{_esc(_label(study, p.response))}</td><td>{_esc(with_unit(p.value, unit))}</td>'
            f"<td>{_esc(interval)}</td><td>{_esc(target)}</td></tr>"
        )
    if rows:
        parts.append(
            '<div class="table-wrap"><table><thead><tr><th class="l">response</th><th>predicted</th>'
            f"<th>{level} interval</th><th>target</th></tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
        )
    share = (
        f" Settings that meet every target make up about {advice.feasible_fraction * 100:.0f} % of the tested ranges."
        if math.isfinite(advice.feasible_fraction)
        else ""
    )
    parts.append(
        "<p><strong>How it was chosen:</strong> of all settings where every target is met even at the unfavourable "
        f"end of the {level} interval, the one farthest from the nearest target limit (distance counted in interval "
        f"widths).{_esc(share)}</p>"
    )
    if advice.region == "predicted_feasible":
        parts.append(
            '<p class="note">No setting meets every target with its whole interval: this one meets them by the '
            "prediction only, so check it with a few runs before relying on it.</p>"
        )
    trade = _window_trade_offs(study, advice) or _trade_offs(folder, advice, claims, warnings)
    if trade:
        parts.append(
            "<p><strong>Trade-offs</strong> of this setting:</p><ul>"
            + "".join(f"<li>{_esc(t)}</li>" for t in trade)
            + "</ul>"
        )
    return "".join(parts)


#: How the report's peaks and dips ("highest near …") are found (glassline.explain._curvature), in words.
CURVATURE_RULE = (
    "A response is said to peak (or dip) inside the tested range of an input only on the data's own evidence "
    f"of curvature: the reduced quadratic fitted to the configurations' means keeps that input's squared term "
    f"at p < {CURVATURE_ALPHA:g} and its vertex lies inside the range, whichever model leads. The interval of "
    "the location comes from grouped bootstrap refits (configurations resampled); the peak is stated only when "
    "that interval lies inside the range, otherwise it is hedged."
)


def _legend() -> str:
    items = "".join(
        f'<dt><span class="word {k.replace(" ", "-")}">{_esc(k)}</span></dt><dd>{_esc(v)}.</dd>'
        for k, v in CONFIDENCE_WORDS.items()
    )
    return f'<h3>How sure we are: the words</h3><dl class="words">{items}</dl><p>{_esc(CURVATURE_RULE)}</p>'


def manager_section(folder: StudyFolder, section_id: str = "summary") -> Section:
    """The manager's one-page view of the study folder (see the module docstring)."""
    study = folder.study
    explanations: Path = folder.explanations
    title = "Summary for managers"
    if not explanations.is_dir():
        return Section(
            section_id,
            title,
            '<p class="muted">No explanations in this folder yet: run `glassline explain RESULTS_DIR`.</p>',
        )
    claims = read_claims(explanations)
    if claims is None:
        return Section(section_id, title, f'<p class="note">{_esc(RERUN_EXPLAIN)}</p>')
    if claims.empty:
        return Section(
            section_id,
            title,
            '<p class="note">claims.csv lists no claim: no response had a lead model to explain. See the '
            "notes of the explanations (explanations/notes.txt) for why.</p>",
        )
    warnings = read_warnings(explanations)
    advice = recommendation(explanations, study)
    requirements = [r for p in advice.predicted for r in p.requirements] if advice is not None else []
    targets = [r.name for r in study.responses if r.name in set(claims["target"].astype(str))]
    intro = (
        f"<p>What drives each of the {len(targets)} explained responses of {_esc(study.name)}, how large the effect "
        "is across the tested ranges, and how sure these data make us. Sizes are the change of the response from "
        "one end of the input's tested range to the other.</p>"
    )
    optima = read_optima(explanations)
    blocks = "".join(_response_block(study, t, claims, warnings, requirements, optima) for t in targets)
    body = [intro, f'<div class="responses">{blocks}</div>']
    if advice is not None:
        body.append(_recommendation_block(folder, advice, claims, warnings))
    body.append(_legend())
    return Section(section_id, title, "".join(body))
