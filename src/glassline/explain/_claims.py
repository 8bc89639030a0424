"""Claims, computed and graded: what the explanations may say, and how sure they are.

From the grouped bootstrap refits of each target's lead scenario (:func:`glassline.explain._uncertainty.
bootstrap_draws`) this module computes, per target × scenario × family × input:

- ``importance``: mean |SHAP| over the training rows, with its CI over the refits;
- ``effect``: the change of partial dependence from the low to the high end of the input's design range
  (the quantity the narratives quote; positive = the response rises with the input), with its CI;
- ``direction`` (+1 / −1 / 0, the sign of the fit's effect) and ``direction_probability``: the share of
  refits whose effect has that sign;
- ``shape`` (:func:`classify_shape`) and, for an optimum or minimum, its location with a CI (quantiles
  of the refits' own arg-max / arg-min, each placed between grid points by the vertex of the parabola
  through the three points around it);
- the probability of each rank: the share of refits in which the input holds rank 1, 2, … by mean |SHAP|.

All CIs are central :data:`CI_LEVEL` (90 %) intervals: the 5 % and 95 % quantiles over the refits.

``claims.csv`` holds one row per target × input of the lead model, graded by :func:`grade`:

- **stated**: the model is adequate (pooled grouped-CV R² ≥ :data:`~glassline.explain._warnings.MIN_CV_R2`),
  the effect is significant (its CI excludes zero; for an optimum or minimum of the model's curve, the CIs of
  both drops from it to the range ends exclude zero; for one the curvature test found where the model's curve
  shows none, ``shape_source`` = ``curvature``, the CI of its location lies strictly inside the range, see
  :mod:`glassline.explain._curvature`), no ``collinear`` or ``confounded_with_order`` warning names the
  input, its rank probability is ≥ :data:`RANK_PROBABILITY_MIN`, and, when ``results.csv`` carries a
  pure-error lack-of-fit p-value ``lof_p`` below :data:`LOF_ALPHA` for the lead model while another family
  of the scenario passes the test, its shape is not a monotone one (a significant lack of fit says the
  straight line misses curvature; when every family fails, it says the configurations differ by more
  than their inputs carry, and tells nothing of the shape);
- **hedged**: the model is adequate but one of these fails;
- **not_stated**: the model is not adequate (or there were no refits to grade it with).

Warnings (rows for ``warnings.csv``, :func:`claim_warnings`): ``tie`` for two inputs adjacent in the lead
model's ranking that change places in more than 1 − :data:`TIE_PROBABILITY` of the refits;
``not_significant`` for an input of the lead model with shape ``none``; ``extrapolation`` when a claim's
range (the design range) or the recommended setting reaches beyond the training data's range of an input
by more than :data:`EXTRAPOLATION_TOLERANCE` of that range.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from glassline.explain._curvature import curvature_confirmed
from glassline.explain._importance import pd_direction
from glassline.explain._uncertainty import BootstrapDraws
from glassline.explain._warnings import MIN_CV_R2
from glassline.models import Fit, FitKey
from glassline.models._lack_of_fit import MIN_LACK_OF_FIT_DF
from glassline.models._metrics import beyond
from glassline.spec import Study

__all__ = [
    "CI_LEVEL",
    "CLAIM_COLUMNS",
    "CONFIDENCE_WORDS",
    "CONFOUNDING_KINDS",
    "EXTRAPOLATION_TOLERANCE",
    "LOF_ALPHA",
    "RANKS_COLUMNS",
    "RANK_PROBABILITY_MIN",
    "SHAPES",
    "STATUSES",
    "TIE_PROBABILITY",
    "UNCERTAINTY_COLUMNS",
    "Shape",
    "ShapeResult",
    "claim_warnings",
    "claims_table",
    "classify_shape",
    "confidence",
    "grade",
    "lack_of_fit_decides",
    "rank_probabilities",
    "ranks_table",
    "uncertainty_table",
    "warning_factors",
]

#: Coverage of every bootstrap interval of uncertainty.csv and claims.csv: 90 % (5 % and 95 % quantiles).
CI_LEVEL = 0.9
#: Smallest share of refits in which an input keeps the lead fit's rank for the rank to be stated: 0.8
#: (four refits in five; below it the ranking is read as "about equally").
RANK_PROBABILITY_MIN = 0.8
#: Two inputs adjacent in the lead fit's ranking are a ``tie`` when the higher one stays ahead in fewer
#: than this share of refits: 0.8, the same four in five as :data:`RANK_PROBABILITY_MIN`.
TIE_PROBABILITY = 0.8
#: Pure-error lack-of-fit p-value (``results.csv`` column ``lof_p``) below which a monotone shape is not
#: stated: 0.05, the usual test level.
LOF_ALPHA = 0.05
#: A claim's range or the recommended setting may pass the training data's range of an input by this share
#: of the data's range before an ``extrapolation`` warning: 0.25. A straight line's prediction variance at x is
#: σ²·(1/n + (x − x̄)²/Sxx); for data spread evenly over a range w it is 4σ²/n at the data's end and about
#: 8σ²/n a quarter of w further out: beyond that the model's answer is twice as uncertain as at the edge of
#: what it saw.
EXTRAPOLATION_TOLERANCE = 0.25
#: The shapes a claim can have.
SHAPES = ("increasing", "decreasing", "optimum", "minimum", "mixed", "none")
#: The grades of a claim.
STATUSES = ("stated", "hedged", "not_stated")
#: The plain confidence words of every view (narratives and report), with what each means (see :func:`confidence`).
CONFIDENCE_WORDS: dict[str, str] = {
    "clear": "stated: the effect's 90 % interval excludes zero, the model predicts this response adequately in "
    "grouped cross-validation, no warning names the input, and its place in the ranking is stable",
    "likely": "the effect's interval excludes zero and its direction holds in at least 80 % of the refits, but "
    "its rank or the model's fit is uncertain",
    "about equal": "the effect is real, but its size cannot be told apart from another input's",
    "unclear": "the data do not settle it: the interval includes zero, the input moved with the run order or "
    "with another input, or the model predicts this response poorly",
}
#: Warning kinds that make an input's effect unreadable, however tight its interval: it may be another's.
CONFOUNDING_KINDS = ("collinear", "confounded_with_order")

Shape = Literal["increasing", "decreasing", "optimum", "minimum", "mixed", "none"]
FloatArray = npt.NDArray[np.float64]

#: Columns of ``explanations/uncertainty.csv``, in order.
UNCERTAINTY_COLUMNS = [
    "target",
    "scenario",
    "family",
    "factor",
    "n_boot",
    "importance",
    "importance_ci_low",
    "importance_ci_high",
    "effect",
    "effect_ci_low",
    "effect_ci_high",
    "direction",
    "direction_probability",
    "shape",
    "optimum",
    "optimum_ci_low",
    "optimum_ci_high",
    "range_low",
    "range_high",
    "data_low",
    "data_high",
    "unit",
    # the curvature test of the lead model's inputs (glassline.explain._curvature.with_curvature)
    "shape_source",
    "curvature_p",
    "curvature_share",
]
#: Columns of ``explanations/ranks.csv``, in order.
RANKS_COLUMNS = ["target", "scenario", "family", "factor", "rank", "probability"]
#: Columns of ``explanations/claims.csv``, exactly and in order.
CLAIM_COLUMNS = [
    "target",
    "scenario",
    "family",
    "factor",
    "rank",
    "rank_probability",
    "direction",
    "direction_probability",
    "shape",
    "effect",
    "effect_ci_low",
    "effect_ci_high",
    "unit",
    "status",
]


def _quantiles(draws: FloatArray, level: float = CI_LEVEL) -> tuple[float, float]:
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(draws, [tail, 1.0 - tail])
    return float(low), float(high)


def _excludes_zero(interval: tuple[float, float]) -> bool:
    return interval[0] > 0 or interval[1] < 0


def _vertex(grid: FloatArray, curve: FloatArray, k: int) -> float:
    """The location of the extremum at grid index *k*, refined by the parabola through k − 1, k, k + 1."""
    if k <= 0 or k >= len(grid) - 1:
        return float(grid[k])
    a, b, c = float(curve[k - 1]), float(curve[k]), float(curve[k + 1])
    denominator = a - 2.0 * b + c
    offset = 0.0 if denominator == 0 else float(np.clip(0.5 * (a - c) / denominator, -0.5, 0.5))
    return float(grid[k] + offset * (grid[k + 1] - grid[k]))


@dataclass(frozen=True)
class ShapeResult:
    """A curve's shape over the refits; ``optimum`` and its CI for an optimum or minimum (else NaN)."""

    shape: Shape
    effect: float
    effect_ci: tuple[float, float]
    optimum: float = math.nan
    optimum_ci: tuple[float, float] = (math.nan, math.nan)


def classify_shape(grid: FloatArray, curve: FloatArray, curves: FloatArray, level: float = CI_LEVEL) -> ShapeResult:
    """The shape of one input's partial dependence *curve* (G,) given the refits' *curves* (B, G).

    - ``optimum``: the curve's maximum is interior, the curve rises to it and falls after it (each side
      monotone by :func:`~glassline.explain._importance.pd_direction`), and the drops from it (at its grid
      point) to both range ends have CIs above zero; ``minimum`` likewise for the minimum;
    - else ``increasing`` / ``decreasing``: the effect (high end − low end) has a CI excluding zero and the
      curve does not reverse (``pd_direction`` ≠ 0);
    - else ``mixed``: the effect's CI excludes zero but the curve reverses, or a drop from an interior
      maximum (or rise to an interior minimum) to an end has a CI excluding zero;
    - else ``none``: no change the refits agree on.
    """
    effects = curves[:, -1] - curves[:, 0]
    effect = float(curve[-1] - curve[0])
    effect_ci = _quantiles(effects, level)
    last = len(grid) - 1
    k_max, k_min = int(np.argmax(curve)), int(np.argmin(curve))
    one_sided = False
    for k, sign, shape in ((k_max, 1.0, "optimum"), (k_min, -1.0, "minimum")):
        if not 0 < k < last:
            continue
        low_drop = _quantiles(sign * (curves[:, k] - curves[:, 0]), level)
        high_drop = _quantiles(sign * (curves[:, k] - curves[:, -1]), level)
        unimodal = pd_direction(sign * curve[: k + 1]) == 1 and pd_direction(sign * curve[k:]) == -1
        if unimodal and low_drop[0] > 0 and high_drop[0] > 0:
            picks = np.argmax(sign * curves, axis=1)
            places = np.array([_vertex(grid, sign * row, int(j)) for row, j in zip(curves, picks, strict=True)])
            return ShapeResult(
                shape,  # type: ignore[arg-type]
                effect,
                effect_ci,
                _vertex(grid, sign * curve, k),
                _quantiles(places, level),
            )
        one_sided = one_sided or low_drop[0] > 0 or high_drop[0] > 0
    if _excludes_zero(effect_ci):
        if pd_direction(curve) == 0:
            return ShapeResult("mixed", effect, effect_ci)
        rising = effect_ci[0] > 0
        return ShapeResult("increasing" if rising else "decreasing", effect, effect_ci)
    return ShapeResult("mixed" if one_sided else "none", effect, effect_ci)


def rank_probabilities(importances: FloatArray) -> FloatArray:
    """(p, p): entry [j, r − 1] is the share of refits (rows of *importances*, B × p) where input j has rank r.

    Rank 1 is the largest mean |SHAP|; equal values keep the inputs' order.
    """
    b, p = importances.shape
    order = np.argsort(-importances, axis=1, kind="stable")
    ranks = np.empty_like(order)
    rows = np.arange(b)[:, None]
    ranks[rows, order] = np.arange(p)[None, :]
    out = np.zeros((p, p))
    for j in range(p):
        out[j] = np.bincount(ranks[:, j], minlength=p) / b
    return out


def _ranks(importance: FloatArray) -> npt.NDArray[np.int_]:
    """Rank (1 = largest) of each input of one fit; equal values keep the inputs' order."""
    order = np.argsort(-importance, kind="stable")
    ranks = np.empty(len(importance), dtype=int)
    ranks[order] = np.arange(1, len(importance) + 1)
    return ranks


def _unit(study: Study, name: str) -> str:
    try:
        return study.column(name).unit
    except ValueError:
        return ""


def uncertainty_table(draws: Mapping[FitKey, BootstrapDraws], study: Study, level: float = CI_LEVEL) -> pd.DataFrame:
    """``uncertainty.csv``: one row per target × scenario × family × input of every bootstrapped fit."""
    rows: list[dict[str, Any]] = []
    for (target, scenario, family), d in draws.items():
        fit = d.fit
        for j, name in enumerate(fit.inputs):
            result = classify_shape(d.grid[j], d.curve[j], d.curves[:, j, :], level)
            effects = d.curves[:, j, -1] - d.curves[:, j, 0]
            direction = int(np.sign(result.effect))
            column = fit.X_train[name].astype(float)
            rows.append(
                {
                    "target": target,
                    "scenario": scenario,
                    "family": family,
                    "factor": name,
                    "n_boot": d.n_boot,
                    "importance": float(d.importance[j]),
                    "importance_ci_low": _quantiles(d.importances[:, j], level)[0],
                    "importance_ci_high": _quantiles(d.importances[:, j], level)[1],
                    "effect": result.effect,
                    "effect_ci_low": result.effect_ci[0],
                    "effect_ci_high": result.effect_ci[1],
                    "direction": direction,
                    "direction_probability": float(np.mean(np.sign(effects) == direction)),
                    "shape": result.shape,
                    "optimum": result.optimum,
                    "optimum_ci_low": result.optimum_ci[0],
                    "optimum_ci_high": result.optimum_ci[1],
                    "range_low": float(d.grid[j, 0]),
                    "range_high": float(d.grid[j, -1]),
                    "data_low": float(column.min()),
                    "data_high": float(column.max()),
                    "unit": _unit(study, target),
                }
            )
    return pd.DataFrame(rows, columns=UNCERTAINTY_COLUMNS)


def ranks_table(draws: Mapping[FitKey, BootstrapDraws]) -> pd.DataFrame:
    """``ranks.csv``: target, scenario, family, factor, rank, probability (every rank 1 … p of every input)."""
    rows = []
    for (target, scenario, family), d in draws.items():
        probabilities = rank_probabilities(d.importances)
        for j, name in enumerate(d.fit.inputs):
            for r in range(len(d.fit.inputs)):
                rows.append(
                    {
                        "target": target,
                        "scenario": scenario,
                        "family": family,
                        "factor": name,
                        "rank": r + 1,
                        "probability": float(probabilities[j, r]),
                    }
                )
    return pd.DataFrame(rows, columns=RANKS_COLUMNS)


def _cv_r2(results: pd.DataFrame, fit: Fit, column: str = "cv_r2_pooled") -> float:
    if column not in results.columns:
        return math.nan
    match = results[
        (results["target"] == fit.target) & (results["scenario"] == fit.scenario) & (results["family"] == fit.family)
    ]
    try:
        return float(match[column].iloc[0]) if len(match) else math.nan
    except (TypeError, ValueError):
        return math.nan


def _warned_factors(warnings: pd.DataFrame | None, target: str, scenario: str) -> set[str]:
    """Inputs a ``collinear`` or ``confounded_with_order`` warning of the target × scenario names."""
    if warnings is None or warnings.empty:
        return set()
    part = warnings[
        (warnings["target"] == target)
        & (warnings["scenario"] == scenario)
        & warnings["kind"].isin(["collinear", "confounded_with_order"])
    ]
    names: set[str] = set()
    for factor in part["factor"].fillna("").astype(str):
        names.update(n.strip() for n in factor.split("~") if n.strip())
    return names


def grade(
    *,
    adequate: bool,
    significant: bool,
    warned: bool,
    rank_probability: float,
    monotone_with_lack_of_fit: bool,
) -> str:
    """``stated`` / ``hedged`` / ``not_stated`` of one claim (see the module docstring)."""
    if not adequate:
        return "not_stated"
    if significant and not warned and rank_probability >= RANK_PROBABILITY_MIN and not monotone_with_lack_of_fit:
        return "stated"
    return "hedged"


def claims_table(
    lead: Mapping[str, Fit],
    uncertainty: pd.DataFrame,
    ranks: pd.DataFrame,
    results: pd.DataFrame,
    warnings: pd.DataFrame | None,
) -> pd.DataFrame:
    """``claims.csv`` (columns :data:`CLAIM_COLUMNS`): one graded row per target × input of the lead model.

    A lead model without bootstrap rows (no refits) gives no claims.
    """
    rows = []
    for target, fit in lead.items():
        own = uncertainty[
            (uncertainty["target"] == target)
            & (uncertainty["scenario"] == fit.scenario)
            & (uncertainty["family"] == fit.family)
        ]
        if own.empty:
            continue
        cv_r2 = _cv_r2(results, fit)
        lof_p = _cv_r2(results, fit, "lof_p")
        decisive = lack_of_fit_decides(results, target, fit.scenario)
        adequate = bool(cv_r2 >= MIN_CV_R2)
        warned = _warned_factors(warnings, target, fit.scenario)
        lead_ranks = _ranks(own["importance"].to_numpy(float))
        probability = ranks[
            (ranks["target"] == target) & (ranks["scenario"] == fit.scenario) & (ranks["family"] == fit.family)
        ].set_index(["factor", "rank"])["probability"]
        for record, rank in zip(own.to_dict("records"), lead_ranks, strict=True):
            name = str(record["factor"])
            rank_probability = float(probability.get((name, int(rank)), 0.0))
            shape = str(record["shape"])
            status = grade(
                adequate=adequate,
                significant=shape in ("increasing", "decreasing", "optimum", "minimum") and curvature_confirmed(record),
                warned=name in warned,
                rank_probability=rank_probability,
                monotone_with_lack_of_fit=bool(lof_p < LOF_ALPHA)
                and decisive
                and shape in ("increasing", "decreasing"),
            )
            rows.append(
                {
                    "target": target,
                    "scenario": fit.scenario,
                    "family": fit.family,
                    "factor": name,
                    "rank": int(rank),
                    "rank_probability": rank_probability,
                    "direction": int(record["direction"]),
                    "direction_probability": float(record["direction_probability"]),
                    "shape": shape,
                    "effect": float(record["effect"]),
                    "effect_ci_low": float(record["effect_ci_low"]),
                    "effect_ci_high": float(record["effect_ci_high"]),
                    "unit": str(record["unit"]) if isinstance(record["unit"], str) else "",
                    "status": status,
                }
            )
    table = pd.DataFrame(rows, columns=CLAIM_COLUMNS)
    return table.sort_values(["target", "rank"], kind="stable", key=_target_order(lead)).reset_index(drop=True)


def _target_order(lead: Mapping[str, Fit]) -> Any:
    order = {t: i for i, t in enumerate(lead)}

    def key(column: pd.Series) -> pd.Series:
        return column.map(order) if column.name == "target" else column

    return key


def warning_factors(cell: object) -> set[str]:
    """The input names of a warnings.csv ``factor`` cell: one name, ``a~b`` for a pair, ``a;b`` or ``a,b`` for
    more; empty for a warning about the whole model."""
    text = "" if cell is None or (isinstance(cell, float) and math.isnan(cell)) else str(cell)
    return {part.strip() for part in text.replace("~", ";").replace(",", ";").split(";") if part.strip()}


def _named(claim: Mapping[str, Any], warnings: pd.DataFrame | None, kinds: tuple[str, ...]) -> bool:
    """Whether a warning of one of *kinds* on the claim's target × scenario names its input (or all inputs)."""
    if warnings is None or warnings.empty or not {"target", "scenario", "factor", "kind"} <= set(warnings.columns):
        return False
    own = warnings[
        (warnings["target"].astype(str) == str(claim["target"]))
        & (warnings["scenario"].astype(str) == str(claim["scenario"]))
        & warnings["kind"].astype(str).isin(kinds)
    ]
    factor = str(claim["factor"])
    return any(not (named := warning_factors(f)) or factor in named for f in own["factor"])


def confidence(claim: Mapping[str, Any], warnings: pd.DataFrame | None = None) -> str:
    """The plain word for a claim (see :data:`CONFIDENCE_WORDS`), the same in the narratives and the report.

    ``clear``: stated. ``about equal``: hedged with a ``tie`` warning naming the input. ``likely``: hedged,
    but the effect is significant and its direction holds in at least :data:`RANK_PROBABILITY_MIN` of the
    refits (what fails is the rank or a lack of fit), and no ``collinear`` / ``confounded_with_order``
    warning (*warnings*, the rows of warnings.csv) names the input. ``unclear``: anything else (no
    significant effect, a mixed shape, a confounded input, or not stated).
    """
    status = str(claim["status"])
    if status == "stated":
        return "clear"
    if status != "hedged":
        return "unclear"
    significant = str(claim["shape"]) in ("increasing", "decreasing", "optimum", "minimum")
    if significant and _named(claim, warnings, ("tie",)):
        return "about equal"
    if _named(claim, warnings, CONFOUNDING_KINDS):
        return "unclear"
    if significant and float(claim["direction_probability"]) >= RANK_PROBABILITY_MIN:
        return "likely"
    return "unclear"


def lack_of_fit_decides(results: pd.DataFrame, target: str, scenario: str) -> bool:
    """Whether the lack-of-fit test tells the families of a target × scenario apart: some family passes it on
    at least :data:`~glassline.models._lack_of_fit.MIN_LACK_OF_FIT_DF` lack-of-fit df. When every tested
    family rejects, the configurations' means differ by more than their replicates scatter for every model,
    which differences between configurations beyond their inputs (material lots, settings as made) cause as
    well as a missing curvature: no ground to doubt a monotone shape (the lead-model rule reads it the same way).
    """
    if not {"lof_p", "lof_df"} <= set(results.columns):
        return False
    block = results[(results["target"].astype(str) == target) & (results["scenario"].astype(str) == scenario)]
    p = pd.to_numeric(block["lof_p"], errors="coerce")
    df = pd.to_numeric(block["lof_df"], errors="coerce")
    return bool(((p >= LOF_ALPHA) & (df >= MIN_LACK_OF_FIT_DF)).any())


def _pair_ahead(d: BootstrapDraws, i: int, j: int) -> float:
    return float(np.mean(d.importances[:, i] > d.importances[:, j]))


def _row(target: str, scenario: str, factor: str, kind: str, message: str) -> dict[str, str]:
    return {"target": target, "scenario": scenario, "factor": factor, "kind": kind, "message": message}


def _label(study: Study, name: str) -> str:
    try:
        return study.column(name).label or name
    except ValueError:
        return name


def _number(value: float, unit: str) -> str:
    text = f"{value:.4g}"
    return f"{text} {unit}" if unit and unit != "1" else text


def claim_warnings(
    study: Study,
    lead: Mapping[str, Fit],
    draws: Mapping[FitKey, BootstrapDraws],
    uncertainty: pd.DataFrame,
    recommended: Mapping[str, float] | None = None,
    window_models: Iterable[Fit] = (),
) -> list[dict[str, str]]:
    """``tie``, ``not_significant`` and ``extrapolation`` rows for ``warnings.csv`` (see the module docstring).

    *recommended*: the process window's recommended setting (input → value), checked against the training
    data of each model the window used (*window_models*).
    """
    rows: list[dict[str, str]] = []
    for target, fit in lead.items():
        d = draws.get(fit.key)
        if d is None:
            continue
        order = np.argsort(-d.importance, kind="stable")
        for upper, lower in itertools.pairwise(order):
            ahead = _pair_ahead(d, int(upper), int(lower))
            if ahead < TIE_PROBABILITY:
                a, b = fit.inputs[int(upper)], fit.inputs[int(lower)]
                rows.append(
                    _row(
                        target,
                        fit.scenario,
                        f"{a}~{b}",
                        "tie",
                        f"{_label(study, a)} and {_label(study, b)} matter about equally for {_label(study, target)}: "
                        f"{_label(study, a)} ranks ahead in {beyond(100 * ahead, 100 * TIE_PROBABILITY)} % of "
                        f"{d.n_boot} bootstrap refits (a ranking is stated from {100 * TIE_PROBABILITY:g} % on)",
                    )
                )
        own = uncertainty[
            (uncertainty["target"] == target)
            & (uncertainty["scenario"] == fit.scenario)
            & (uncertainty["family"] == fit.family)
        ]
        for record in own.to_dict("records"):
            name = str(record["factor"])
            unit = str(record["unit"]) if isinstance(record["unit"], str) else ""
            if record["shape"] == "none":
                rows.append(
                    _row(
                        target,
                        fit.scenario,
                        name,
                        "not_significant",
                        f"no clear effect of {_label(study, name)} on {_label(study, target)}: the change across "
                        f"{_number(record['range_low'], _unit(study, name))} to "
                        f"{_number(record['range_high'], _unit(study, name))} has a {100 * CI_LEVEL:g} % CI of "
                        f"{_number(record['effect_ci_low'], unit)} to {_number(record['effect_ci_high'], unit)}, "
                        "which includes zero",
                    )
                )
            span = float(record["data_high"]) - float(record["data_low"])
            margin = EXTRAPOLATION_TOLERANCE * span
            low, high = float(record["range_low"]), float(record["range_high"])
            if span > 0 and (low < float(record["data_low"]) - margin or high > float(record["data_high"]) + margin):
                unit_x = _unit(study, name)
                rows.append(
                    _row(
                        target,
                        fit.scenario,
                        name,
                        "extrapolation",
                        f"the claim on {_label(study, name)} spans the design range {_number(low, unit_x)} to "
                        f"{_number(high, unit_x)}, but the training data cover {_number(record['data_low'], unit_x)}"
                        f" to {_number(record['data_high'], unit_x)}: beyond them the model extrapolates",
                    )
                )
    for fit in window_models:
        for name, value in (recommended or {}).items():
            if name not in fit.inputs:
                continue
            column = fit.X_train[name].astype(float)
            low, high = float(column.min()), float(column.max())
            margin = EXTRAPOLATION_TOLERANCE * (high - low)
            if value < low - margin or value > high + margin:
                unit_x = _unit(study, name)
                side = beyond(value, low if value < low else high)
                rows.append(
                    _row(
                        fit.target,
                        fit.scenario,
                        name,
                        "extrapolation",
                        f"the recommended setting {_label(study, name)} = {side} {unit_x} lies outside the training "
                        f"data of the {fit.family} model ({_number(low, unit_x)} to {_number(high, unit_x)})",
                    )
                )
    return rows
