"""The ``lack_of_fit`` warning: the lead model's pure-error lack-of-fit test rejects it.

results.csv carries each fit's test (``lof_f``, ``lof_p``, ``lof_df``, ``pure_error_df``, see
:mod:`glassline.models._lack_of_fit`); the warning names the lead model, F with its degrees of freedom
and p, and what a rejection means for its explanations.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from glassline.models import LACK_OF_FIT_LEVEL, Fit

__all__ = ["lack_of_fit_warning"]


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def lack_of_fit_warning(target: str, fit: Fit, match: pd.DataFrame) -> dict[str, str] | None:
    """The warnings.csv row (target, scenario, factor empty, kind, message) when the lead model *fit*'s
    lack-of-fit p (in *match*, its results.csv row) is below :data:`~glassline.models.LACK_OF_FIT_LEVEL`."""
    if not len(match) or "lof_p" not in match:
        return None
    row = match.iloc[0]
    p = _number(row["lof_p"])
    if not p < LACK_OF_FIT_LEVEL:
        return None
    f, df, pe = _number(row.get("lof_f")), _number(row.get("lof_df")), _number(row.get("pure_error_df"))
    message = (
        f"lead model {fit.family}: pure-error lack-of-fit F = {f:.3g} on {df:g} and {pe:g} df, p = {p:.2g} < "
        f"{LACK_OF_FIT_LEVEL:g}; the configurations' means depart from the model by more than their replicates "
        "scatter (a curvature or interaction it lacks, or a difference between configurations its inputs do not "
        "carry), so its explanations describe an approximation"
    )
    return {"target": target, "scenario": fit.scenario, "factor": "", "kind": "lack_of_fit", "message": message}
