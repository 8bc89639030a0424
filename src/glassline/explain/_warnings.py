"""What the explanations should be read with: ``explanations/warnings.csv`` and the graded collinearity.

One row per warning: ``target, scenario, factor, kind, message``. The kinds computed here:

- ``collinear``: the scenario's inputs pass a soft collinearity limit (explained, read with care) or a hard
  one (near-copies: explanations withheld); *factor* is the worst pair ``"a~b"`` when |r| passes, else the
  input with the largest VIF (see :class:`glassline.models.CollinearityLimits`);
- ``low_model_quality``: the lead model's pooled grouped-CV R² is below :data:`MIN_CV_R2`;
- ``few_groups``: the lead model's training rows hold fewer configurations than its terms need
  (:func:`min_configurations`);
- ``confounded_with_order``: an input moved with the study's ``[data] order`` column (computed by
  :func:`glassline.explain._order.order_warnings` and passed in as *confounded*).

``tie``, ``not_significant`` and ``extrapolation`` are computed with the claims
(:func:`glassline.explain._claims.claim_warnings`) and appended to the same table by the stage;
``lack_of_fit`` belongs to the same table too.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from glassline.explain._lack_of_fit import lack_of_fit_warning
from glassline.models import Collinearity, CollinearityLimits, Fit, FitKey
from glassline.models._metrics import beyond

__all__ = [
    "COLLINEARITY_COLUMNS",
    "MIN_CV_R2",
    "MIN_RESIDUAL_DF",
    "WARNING_COLUMNS",
    "WARNING_KINDS",
    "collinearity_table",
    "explanation_warnings",
    "min_configurations",
    "model_terms",
    "scenario_collinearity",
]

#: The columns of ``explanations/warnings.csv``, in order.
WARNING_COLUMNS = ["target", "scenario", "factor", "kind", "message"]
#: Every kind a warning can have.
WARNING_KINDS = (
    "collinear",
    "confounded_with_order",
    "low_model_quality",
    "tie",
    "not_significant",
    "lack_of_fit",
    "extrapolation",
    "few_groups",
)
#: Smallest pooled grouped-CV R² (Q²) of a lead model whose explanations are read without a warning: 0.5,
#: the usual acceptance level of a cross-validated R² (Eriksson et al., *Design of Experiments: Principles
#: and Applications*, Umetrics, 3rd ed. 2008, ch. 5: Q² > 0.5 "good"; Golbraikh & Tropsha, "Beware of q²!",
#: J. Mol. Graph. Model. 20 (2002) 269, q² > 0.5).
MIN_CV_R2 = 0.5
#: Residual degrees of freedom a model should keep beyond its terms: with 5, the t quantile of a 95 %
#: interval is 2.57 (vs 1.96 with many), so the error estimate still means something; fewer configurations
#: than terms + 5 get a ``few_groups`` warning.
MIN_RESIDUAL_DF = 5


def model_terms(fit: Fit) -> int:
    """Coefficients the fit's model estimates, intercept included.

    A pipeline step with polynomial features counts its output columns + 1; any other family counts one
    term per input + 1 (the least a model that gives every input an effect needs).
    """
    steps = getattr(fit.pipeline, "steps", None) or [("model", fit.pipeline)]
    kept = getattr(steps[-1][1], "support_", None)  # a reduced quadratic: its kept terms
    if kept is not None:
        return int(np.sum(kept)) + 1
    for _, step in steps:
        n_out = getattr(step, "n_output_features_", None)
        if isinstance(n_out, int | np.integer) and hasattr(step, "powers_"):
            include_bias = bool(getattr(step, "include_bias", False))
            return int(n_out) + (0 if include_bias else 1)
    return len(fit.inputs) + 1


def min_configurations(fit: Fit) -> int:
    """Fewest configurations the fit's terms need: :func:`model_terms` + :data:`MIN_RESIDUAL_DF`."""
    return model_terms(fit) + MIN_RESIDUAL_DF


def _float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def scenario_collinearity(
    table: pd.DataFrame, results: pd.DataFrame, limits: CollinearityLimits
) -> dict[tuple[str, str], Collinearity]:
    """Every target × scenario's check, read back from ``collinearity.csv`` (*table*) and graded by *limits*.

    A pair missing from *table* is read from *results* (``max_vif``, ``max_abs_r``; no worst pair).
    """
    out: dict[tuple[str, str], Collinearity] = {}
    for row in table.to_dict("records") if len(table) else []:
        inputs = tuple(str(row.get("inputs", "")).split(",")) if str(row.get("inputs", "")) else ()
        pair = str(row.get("worst_pair", "") or "")
        worst = tuple(part.strip() for part in pair.split("~")) if "~" in pair else ()
        vif = {name: _float(row.get(f"vif_{name}")) for name in inputs if f"vif_{name}" in row}
        out[(str(row["target"]), str(row["scenario"]))] = Collinearity(
            inputs=inputs,
            max_vif=_float(row.get("max_vif")),
            max_abs_r=_float(row.get("max_abs_r")),
            worst_pair=(worst[0], worst[1]) if len(worst) == 2 else None,
            vif=vif,
        ).graded(limits)
    for target, scenario, max_vif, max_abs_r in results[["target", "scenario", "max_vif", "max_abs_r"]].itertuples(
        index=False
    ):
        key = (str(target), str(scenario))
        if key not in out:
            out[key] = Collinearity((), _float(max_vif), _float(max_abs_r), None).graded(limits)
    return out


#: The columns of ``explanations/collinearity.csv``: each scenario's check graded with the stage's limits.
COLLINEARITY_COLUMNS = [
    "target",
    "scenario",
    "inputs",
    "max_vif",
    "worst_input",
    "max_abs_r",
    "worst_pair",
    "status",
    "soft_vif_limit",
    "hard_vif_limit",
    "soft_r_limit",
    "hard_r_limit",
    "reason",
]


def collinearity_table(checks: Mapping[tuple[str, str], Collinearity]) -> pd.DataFrame:
    """One row per target × scenario: max VIF and its input, max |r| and its pair, and the grade.

    ``status``: ``ok`` (within the soft limits), ``collinear`` (past a soft limit: explained, with a
    warning) or ``withheld`` (past a hard limit: near-copies, not explained).
    """
    rows = []
    for (target, scenario), c in checks.items():
        status = "withheld" if not c.explainable else "collinear" if c.collinear else "ok"
        rows.append(
            {
                "target": target,
                "scenario": scenario,
                "inputs": ",".join(c.inputs),
                "max_vif": c.max_vif,
                "worst_input": c.worst_input or "",
                "max_abs_r": c.max_abs_r,
                "worst_pair": " ~ ".join(c.worst_pair) if c.worst_pair else "",
                "status": status,
                "soft_vif_limit": c.soft_vif_limit,
                "hard_vif_limit": c.vif_limit,
                "soft_r_limit": c.soft_r_limit,
                "hard_r_limit": c.r_limit,
                "reason": c.reason if status == "withheld" else c.warning,
            }
        )
    return pd.DataFrame(rows, columns=COLLINEARITY_COLUMNS)


def _collinear_factor(check: Collinearity, soft: bool) -> str:
    """The worst pair ``"a~b"`` when |r| passes the limit, else the input with the largest VIF."""
    r_limit = check.soft_r_limit if soft else check.r_limit
    if check.worst_pair is not None and check.max_abs_r > r_limit:
        return "~".join(check.worst_pair)
    return check.worst_input or ("~".join(check.worst_pair) if check.worst_pair else "")


def _collinear_rows(checks: Mapping[tuple[str, str], Collinearity]) -> list[dict[str, str]]:
    rows = []
    for (target, scenario), check in checks.items():
        constant = [name for name, v in check.vif.items() if math.isnan(v)]
        if constant:
            message = f"input {constant[0]!r} is constant: explanations withheld for this scenario"
            rows.append(_row(target, scenario, constant[0], "collinear", message))
        elif not check.explainable:
            message = (
                f"inputs are near-copies ({check.reason}; hard limits VIF {check.vif_limit:g}, |r| "
                f"{check.r_limit:g}): explanations withheld for this scenario"
            )
            rows.append(_row(target, scenario, _collinear_factor(check, soft=False), "collinear", message))
        elif check.collinear:
            message = (
                f"inputs are correlated ({check.warning}; soft limits VIF {check.soft_vif_limit:g}, |r| "
                f"{check.soft_r_limit:g}): explained, but the effects of the correlated inputs are hard to separate"
            )
            rows.append(_row(target, scenario, _collinear_factor(check, soft=True), "collinear", message))
    return rows


def _row(target: str, scenario: str, factor: str, kind: str, message: str) -> dict[str, str]:
    return {"target": target, "scenario": scenario, "factor": factor, "kind": kind, "message": message}


def _configurations(fit: Fit, groups: pd.Series | None) -> int:
    """Distinct configurations among the fit's training rows (rows when there are no groups)."""
    rows = fit.X_train.index
    if groups is None or groups.empty:
        return len(rows)
    known = groups.reindex(rows)
    return int(known.nunique()) if known.notna().all() else len(rows)


def explanation_warnings(
    checks: Mapping[tuple[str, str], Collinearity],
    lead: Mapping[str, Fit],
    results: pd.DataFrame,
    groups: Mapping[FitKey, pd.Series | None] | None = None,
    *,
    targets: Iterable[str] | None = None,
    confounded: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The ``warnings.csv`` table (columns :data:`WARNING_COLUMNS`; no rows, same columns, when none).

    *checks*: the graded collinearity of every target × scenario (:func:`scenario_collinearity`);
    *lead*: the lead fit per target; *results*: ``results.csv`` (for ``cv_r2_pooled``); *groups*: the
    configuration of every training row per fit (``few_groups``). *targets* narrows the collinear rows.
    *confounded*: the ``confounded_with_order`` rows (same columns), placed after each scenario's collinear ones.
    """
    wanted = set(targets) if targets is not None else None
    rows = _collinear_rows({k: c for k, c in checks.items() if wanted is None or k[0] in wanted})
    if confounded is not None and len(confounded):
        rows.extend(
            _row(str(r.target), str(r.scenario), str(r.factor), "confounded_with_order", str(r.message))
            for r in confounded.itertuples(index=False)
            if wanted is None or str(r.target) in wanted
        )
    for target, fit in lead.items():
        match = results[
            (results["target"] == target) & (results["scenario"] == fit.scenario) & (results["family"] == fit.family)
        ]
        cv_r2 = _float(match["cv_r2_pooled"].iloc[0]) if len(match) else math.nan
        if not cv_r2 >= MIN_CV_R2:
            shown = "undefined" if math.isnan(cv_r2) else beyond(cv_r2, MIN_CV_R2)
            rows.append(
                _row(
                    target,
                    fit.scenario,
                    "",
                    "low_model_quality",
                    f"lead model {fit.family}: pooled grouped-CV R² {shown} < {MIN_CV_R2:g}; its explanations "
                    "describe a model that predicts new configurations poorly",
                )
            )
        n_config = _configurations(fit, (groups or {}).get(fit.key))
        needed = min_configurations(fit)
        if n_config < needed:
            rows.append(
                _row(
                    target,
                    fit.scenario,
                    "",
                    "few_groups",
                    f"lead model {fit.family}: {n_config} configurations for {model_terms(fit)} terms; expected at "
                    f"least {needed} (terms + {MIN_RESIDUAL_DF} residual degrees of freedom)",
                )
            )
        lack = lack_of_fit_warning(target, fit, match)
        if lack is not None:
            rows.append(lack)
    return pd.DataFrame(rows, columns=WARNING_COLUMNS)
