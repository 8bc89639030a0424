"""What the role views read from an explanations folder: the claims, the warnings and the process window.

Every reader is defensive: a missing file, a missing column or an unreadable value gives ``None`` or an
empty table, never a crash, and the views say in one sentence what to rerun (``RERUN_EXPLAIN``).
The plain confidence words of the views are defined here, once (``CONFIDENCE_WORDS``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from glassline.exceptions import SpecError
from glassline.explain import (
    CLAIM_COLUMNS,
    WARNING_COLUMNS,
    Requirement,
    confidence,
    parse_requirement,
    warning_factors,
)
from glassline.explain import CONFIDENCE_WORDS as CLAIM_WORDS
from glassline.spec import Study

__all__ = [
    "CONFIDENCE_WORDS",
    "RERUN_EXPLAIN",
    "Lever",
    "Optima",
    "Predicted",
    "Recommendation",
    "confidence_word",
    "direction_sign",
    "factors_of",
    "levers",
    "read_claims",
    "read_optima",
    "read_warnings",
    "recommendation",
    "sig",
    "with_unit",
]

#: the confidence word of a claim → what it means; the manager view prints this legend
CONFIDENCE_WORDS: dict[str, str] = {
    **CLAIM_WORDS,
    "not assessed": "the model predicts this response too poorly in grouped cross-validation for any effect of "
    "it to be read",
}

#: the sentence every view shows when the explanations folder predates claims.csv
RERUN_EXPLAIN = (
    "These explanations have no claims.csv (written by an older glassline): rerun "
    "`glassline explain RESULTS_DIR` to get the levers, their sizes and how sure they are."
)


def sig(value: float, digits: int = 3) -> str:
    """*value* rounded to *digits* significant figures, without exponent for everyday sizes."""
    if not math.isfinite(value):
        return "–"
    if value == 0:
        return "0"
    text = f"{value:.{digits}g}"
    if "e" in text and 1e-4 <= abs(value) < 1e6:
        decimals = max(digits - 1 - math.floor(math.log10(abs(value))), 0)
        text = f"{value:.{decimals}f}"
    return text


#: units that mean "dimensionless" and are not printed after a number
DIMENSIONLESS = frozenset({"", "1", "-", "–"})


def with_unit(value: float, unit: str) -> str:
    """``12.3 kPa``: *value* by :func:`sig` and its unit (none for a dimensionless one)."""
    return f"{sig(value)} {unit}" if unit not in DIMENSIONLESS else sig(value)


def _table(path: Path, columns: Sequence[str]) -> pd.DataFrame | None:
    """The CSV at *path* with *columns* present (missing ones added empty); None when there is no file."""
    if not path.is_file():
        return None
    try:
        frame = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError):
        return pd.DataFrame(columns=list(columns))
    for column in columns:
        if column not in frame.columns:
            frame[column] = pd.NA
    return frame


def read_claims(explanations: Path) -> pd.DataFrame | None:
    """``claims.csv`` of an explanations folder (None when the folder has none)."""
    return _table(explanations / "claims.csv", CLAIM_COLUMNS)


def read_warnings(explanations: Path) -> pd.DataFrame:
    """``warnings.csv`` of an explanations folder (empty when the folder has none)."""
    frame = _table(explanations / "warnings.csv", WARNING_COLUMNS)
    return frame if frame is not None else pd.DataFrame(columns=list(WARNING_COLUMNS))


def _number(value: object) -> float:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan
    return number


def direction_sign(value: object) -> int:
    """+1 (raising the input raises the response), −1 (lowers it) or 0 (none / unknown) of a claim's direction."""
    number = _number(value)
    if math.isfinite(number):
        return (number > 0) - (number < 0)
    text = str(value).strip().lower()
    if text.startswith(("incr", "rais", "pos", "up", "+", "higher")):
        return 1
    if text.startswith(("decr", "low", "neg", "down", "-", "−")):
        return -1
    return 0


#: the input names of a warnings.csv ``factor`` cell (one parser for the explanations and the views)
factors_of = warning_factors


def confidence_word(claim: pd.Series, warnings: pd.DataFrame) -> str:
    """The plain word for one claims.csv row (see ``CONFIDENCE_WORDS``): the narratives' word
    (:func:`glassline.explain.confidence`, from the claim and the warnings naming its input), and
    "not assessed" for a claim that is not stated because its model is too weak.
    """
    if str(claim.get("status", "")).strip().lower() not in ("stated", "hedged"):
        return "not assessed"
    return confidence({str(k): v for k, v in claim.items()}, warnings)


@dataclass(frozen=True)
class Lever:
    """One input of a response as the views show it: study names and units, rounded numbers, a plain word."""

    target: str
    factor: str
    label: str
    unit: str
    rank: float
    sign: int
    shape: str
    effect: float
    low: float
    high: float
    response_unit: str
    word: str
    #: for an optimum or minimum: where it lies on the input, with its interval (NaN when not known)
    at: float = math.nan
    at_low: float = math.nan
    at_high: float = math.nan

    @property
    def size(self) -> str:
        """``about 12.3 kPa (90 % interval 8.1 to 16.4 kPa)`` over the tested range."""
        unit = f" {self.response_unit}" if self.response_unit not in DIMENSIONLESS else ""
        text = f"about {sig(abs(self.effect))}{unit}"
        low, high = (-self.high, -self.low) if self.effect < 0 else (self.low, self.high)
        if math.isfinite(low) and math.isfinite(high):
            text += f" (interval {sig(low)} to {sig(high)}{unit})"
        return text


#: (target, scenario, family, factor) → (location, interval low, high) of an optimum or minimum
Optima = dict[tuple[str, str, str, str], tuple[float, float, float]]


def read_optima(explanations: Path) -> Optima:
    """Each model's optimum or minimum per input in ``uncertainty.csv`` (columns ``optimum``, ``optimum_ci_low``,
    ``optimum_ci_high``), keyed by (target, scenario, family, factor), so a claim reads its own model's
    location; empty when the file or the columns are missing."""
    columns = ("target", "scenario", "family", "factor", "optimum", "optimum_ci_low", "optimum_ci_high")
    frame = _table(explanations / "uncertainty.csv", columns)
    if frame is None:
        return {}
    found = {}
    for _, row in frame.iterrows():
        at = _number(row["optimum"])
        if math.isfinite(at):
            key = (str(row["target"]), str(row["scenario"]), str(row["family"]), str(row["factor"]))
            found[key] = (at, _number(row["optimum_ci_low"]), _number(row["optimum_ci_high"]))
    return found


def levers(
    claims: pd.DataFrame,
    warnings: pd.DataFrame,
    study: Study,
    target: str,
    optima: Optima | None = None,
) -> list[Lever]:
    """The claims of *target* as levers, by rank (unranked last); *optima* from :func:`read_optima`."""
    rows = claims[claims["target"].astype(str) == target]
    found = []
    for _, row in rows.iterrows():
        name = str(row["factor"])
        own = (target, str(row["scenario"]), str(row["family"]), name)
        at, at_low, at_high = (optima or {}).get(own, (math.nan, math.nan, math.nan))
        try:
            column = study.column(name)
            label, unit = column.label or name, column.unit
        except LookupError:
            label, unit = name.replace("_", " "), ""
        response_unit = row["unit"] if isinstance(row["unit"], str) and row["unit"] else _unit_of(study, target)
        found.append(
            Lever(
                target=target,
                factor=name,
                label=label,
                unit=unit,
                rank=_number(row["rank"]),
                sign=direction_sign(row["direction"]),
                shape=str(row["shape"]).strip().lower() if isinstance(row["shape"], str) else "none",
                effect=_number(row["effect"]),
                low=_number(row["effect_ci_low"]),
                high=_number(row["effect_ci_high"]),
                response_unit=response_unit,
                word=confidence_word(row, warnings),
                at=at,
                at_low=at_low,
                at_high=at_high,
            )
        )
    return sorted(found, key=lambda lever: (not math.isfinite(lever.rank), lever.rank))


def _unit_of(study: Study, name: str) -> str:
    try:
        return study.column(name).unit
    except LookupError:
        return ""


@dataclass(frozen=True)
class Predicted:
    """A response's prediction at the recommended setting, with its interval and the study's requirement."""

    response: str
    value: float
    low: float
    high: float
    requirements: tuple[Requirement, ...]


@dataclass(frozen=True)
class Recommendation:
    """The recommended setting of ``window.json`` as the views show it."""

    setting: dict[str, float]
    predicted: list[Predicted]
    feasible_fraction: float
    level: float
    notes: list[str]
    #: the window's own trade-offs (``recommendation.trade_off`` of window.json), each a dict of numbers
    trade_off: list[dict[str, Any]] = field(default_factory=list)
    #: "feasible" (every target met by the whole interval) or "predicted_feasible" (by the prediction only)
    region: str = "feasible"


def _interval(recommended: dict[str, Any], info: dict[str, Any], response: str, value: float) -> tuple[float, float]:
    """The interval of *response* at the recommended setting: the window's own when it gives one, else the
    prediction ± the window's interval half-width."""
    for low_key, high_key in ((f"{response}_low", f"{response}_high"), (f"{response}_lower", f"{response}_upper")):
        if low_key in recommended and high_key in recommended:
            return _number(recommended[low_key]), _number(recommended[high_key])
    for key in (f"{response}_interval", f"{response}_pi"):
        pair = recommended.get(key)
        if isinstance(pair, list | tuple) and len(pair) == 2:
            return _number(pair[0]), _number(pair[1])
    intervals = recommended.get("intervals") or info.get("intervals")
    if isinstance(intervals, dict) and isinstance(intervals.get(response), list | tuple):
        pair = intervals[response]
        if len(pair) == 2:
            return _number(pair[0]), _number(pair[1])
    halves = info.get("interval_half_widths")
    half = _number(halves.get(response)) if isinstance(halves, dict) else math.nan
    return value - half, value + half


def recommendation(explanations: Path, study: Study) -> Recommendation | None:
    """The recommended setting of ``window.json`` (None when there is no window or no feasible setting)."""
    path = explanations / "window.json"
    if not path.is_file():
        return None
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    recommended = info.get("recommended") if isinstance(info, dict) else None
    if not isinstance(recommended, dict):
        return None
    inputs = set(study.input_names)
    setting = {k: _number(v) for k, v in recommended.items() if k in inputs and math.isfinite(_number(v))}
    requirements = []
    for text in info.get("requirements", []) if isinstance(info.get("requirements"), list) else []:
        try:
            requirements.append(parse_requirement(str(text)))
        except SpecError:
            continue
    predicted = []
    for key, value in recommended.items():
        if not key.endswith("_pred") or not math.isfinite(_number(value)):
            continue
        response = key.removesuffix("_pred")
        low, high = _interval(recommended, info, response, _number(value))
        wanted = tuple(r for r in requirements if r.response == response)
        predicted.append(Predicted(response, _number(value), low, high, wanted))
    run_path = explanations / "run.json"
    level = 0.9
    if run_path.is_file():
        try:
            level = _number(json.loads(run_path.read_text(encoding="utf-8")).get("level", 0.9))
        except (json.JSONDecodeError, UnicodeDecodeError, AttributeError):
            level = 0.9
    notes = [str(n) for n in info.get("notes", []) if isinstance(n, str)]
    detail = info.get("recommendation")
    detail = detail if isinstance(detail, dict) else {}
    trade = [t for t in detail.get("trade_off", []) if isinstance(t, dict) and isinstance(t.get("response"), str)]
    region = str(detail.get("region", "feasible"))
    return Recommendation(setting, predicted, _number(info.get("feasible_fraction")), level, notes, trade, region)
