"""Check every sentence of a narratives dict against the claims it must be written from (a test helper).

:func:`narrative_problems` returns one line per defect: a factor stated with a direction its claim does
not allow (not stated, hedged without a hedge word, the opposite direction, a shape it does not have), a
rank-1 word ("drives … most") for an input whose claim is not rank 1, a confidence word that is not the
claim's, or a number that is none of the claims', the uncertainty rows', the study's ranges or the lead
model's metrics.
"""

from __future__ import annotations

import math
import re
from typing import Any

import pandas as pd

from glassline.explain._claims import confidence
from glassline.explain._narrative import HEDGE_MARKERS
from glassline.spec import Study

_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?:e[+-]?\d+)?(?![\w])")
_MOVES = re.compile(r"\b(raising|lowering|raises|lowers|raise|lower)\b")
_DIRECTION_WORDS = re.compile(r"\b(raises?|lowers?|raising|lowering|drives?|highest|lowest)\b")
_CONFIDENCE = re.compile(r"\((clear|likely|about equal|unclear)\)")


def _label(study: Study, name: str) -> str:
    try:
        text = study.column(name).label or name.replace("_", " ")
    except ValueError:
        text = name.replace("_", " ")
    return text.lower()


def _segments(text: str) -> list[str]:
    """Sentences, and the parts of a sentence separated by "; " (one lever each in the manager view)."""
    parts = re.split(r"(?<=[.])\s+(?=[A-Z])|;\s+", text)
    return [p.strip() for p in parts if p.strip()]


def _tolerance(token: str) -> float:
    if "e" in token.lower():
        mantissa, exponent = token.lower().split("e")
        return _tolerance(mantissa) * 10 ** int(exponent)
    if "." in token:
        return 0.5 * 10 ** -len(token.split(".")[1])
    digits = token.lstrip("-")
    zeros = len(digits) - len(digits.rstrip("0")) if digits != "0" else 0
    return 0.5 * 10**zeros


def _allowed(target: str, claims: pd.DataFrame, uncertainty: pd.DataFrame, results: pd.DataFrame) -> list[float]:
    values: list[float] = [90.0, 0.5]  # the CI level in per cent, MIN_CV_R2
    for c in claims.to_dict("records"):
        values += [abs(float(c[k])) for k in ("effect", "effect_ci_low", "effect_ci_high")]
        values += [100 * float(c["rank_probability"]), 100 * float(c["direction_probability"]), float(c["rank"])]
    part = uncertainty[uncertainty["target"] == target]
    for c in part.to_dict("records"):
        values += [float(c[k]) for k in ("range_low", "range_high", "optimum", "optimum_ci_low", "optimum_ci_high")]
        values += [abs(float(c[k])) for k in ("effect", "effect_ci_low", "effect_ci_high")]
        values += [100 * float(c.get("curvature_share", math.nan))]
    metrics = results[results["target"] == target]
    for column in ("cv_r2_pooled", "r2_test", "cv_rmse_mean", "rmse_train"):
        if column in metrics:
            values += [float(v) for v in metrics[column]]
    return [v for v in values if math.isfinite(v)]


def _number_problems(segment: str, allowed: list[float], labels: list[str]) -> list[str]:
    text = segment.lower()
    for label in sorted(labels, key=len, reverse=True):
        text = text.replace(label, " ")
    problems = []
    for token in _NUMBER.findall(text):
        value = float(token)
        tolerance = _tolerance(token) * (1 + 1e-9)
        if not any(abs(abs(value) - abs(v)) <= tolerance for v in allowed):
            problems.append(f"number {token} in {segment!r} is in no claim, uncertainty row, range or metric")
    return problems


def _sign(word: str) -> int:
    return 1 if word.startswith("rais") else -1


def narrative_problems(
    study: Study,
    story: dict[str, Any],
    claims: pd.DataFrame,
    uncertainty: pd.DataFrame,
    results: pd.DataFrame,
    warnings: pd.DataFrame | None = None,
) -> list[str]:
    """Every defect of *story* (``narratives.json``) against *claims* (``claims.csv``) and the confidence words
    their warnings (``warnings.csv``) allow; [] when none."""
    problems: list[str] = []
    for target, entry in story.items():
        mine = claims[claims["target"] == target]
        by_factor = {str(c["factor"]): c for c in mine.to_dict("records")}
        y = _label(study, target)
        factor_labels = {name: _label(study, name) for name in by_factor}
        labels = [y, *factor_labels.values(), *(_label(study, c.name) for c in study.columns())]
        allowed = _allowed(target, mine, uncertainty, results)
        roles = entry["roles"]
        texts = [*entry["statements"], roles["manager"], roles["technician"]["text"]]
        for text in texts:
            for segment in _segments(text):
                low = segment.lower()
                problems += _number_problems(segment, allowed, labels)
                rest = low.replace(y, " ")
                named = [n for n, label in factor_labels.items() if label in rest]
                # a label inside a longer one ("mass loading" in "active mass loading") names only the longer
                named = [n for n in named if not any(factor_labels[n] in factor_labels[m] for m in named if m != n)]
                if not named or not _DIRECTION_WORDS.search(rest):
                    continue
                hedged = any(marker in low for marker in HEDGE_MARKERS)
                for name in named:
                    claim = by_factor[name]
                    status = str(claim["status"])
                    if status == "not_stated":
                        problems.append(f"{segment!r} gives a direction for {name}, whose claim is not stated")
                    elif status == "hedged" and not hedged:
                        problems.append(f"{segment!r} states a direction for {name} that its claim hedges")
                    if len(named) == 1 and "likely" in low and confidence(claim, warnings) == "unclear":
                        problems.append(f"{segment!r} calls an effect of {name} likely; a warning makes it unclear")
                    word = _CONFIDENCE.search(low)
                    if word and len(named) == 1 and word.group(1) != confidence(claim, warnings):
                        problems.append(
                            f"{segment!r}: confidence {word.group(1)!r}, the claim's is {confidence(claim, warnings)!r}"
                        )
                if len(named) != 1:
                    continue
                claim = by_factor[named[0]]
                shape = str(claim["shape"])
                if re.search(r"\bdrives?\b.*\bmost\b", rest) and int(claim["rank"]) != 1:
                    problems.append(f"{segment!r} says {named[0]} drives most; its rank is {claim['rank']}")
                if ("highest" in rest and shape != "optimum") or ("lowest" in rest and shape != "minimum"):
                    problems.append(f"{segment!r} names an extremum; the claim's shape is {shape}")
                moves = _MOVES.findall(rest.split(":", 1)[1] if rest.startswith("to raise") else rest)
                if moves and "no clear" not in low:
                    implied = _sign(moves[0]) * (_sign(moves[1]) if len(moves) > 1 else 1)
                    if shape not in ("increasing", "decreasing") or implied != int(claim["direction"]):
                        problems.append(
                            f"{segment!r} implies direction {implied:+d} for {named[0]}; the claim says "
                            f"{int(claim['direction']):+d} ({shape})"
                        )
    return problems
