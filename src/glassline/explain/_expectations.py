"""Expert expectations tested against every model: the sign of partial dependence over the design space.

A study's response may say ``expect = { porosity = "decreasing" }``. For every fit of that response
whose scenario uses the input, the partial dependence of the prediction on the input is computed over
the factor's design range (the training rows' range for measured inputs), the other inputs at their
training values (the marginal average, as scikit-learn's ``partial_dependence`` with ``method="brute"``).
The observed direction is :func:`~glassline.explain._importance.pd_direction` of that curve; the
expectation passes when it equals the expected one (a mixed curve fails).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from glassline.explain._importance import input_range, partial_dependence, pd_direction
from glassline.models import Fit
from glassline.spec import Study

__all__ = ["EXPECTATION_COLUMNS", "GRID_POINTS", "check_expectations", "factor_bounds"]

#: Points of the partial-dependence grid over an input's range.
GRID_POINTS = 21

EXPECTATION_COLUMNS: tuple[str, ...] = (
    "target",
    "scenario",
    "family",
    "feature",
    "expected",
    "observed",
    "change",
    "low",
    "high",
    "passed",
    "best",
    "explainable",
)

_WORDS = {1: "increasing", -1: "decreasing", 0: "mixed"}


def factor_bounds(study: Study) -> dict[str, tuple[float, float]]:
    """Continuous factor name → (low, high) of the design space."""
    return {
        f.name: (float(f.low), float(f.high))
        for f in study.factors
        if f.kind == "continuous" and f.low is not None and f.high is not None
    }


def check_expectations(study: Study, fits: Iterable[Fit], best: Iterable[tuple[str, str, str]] = ()) -> pd.DataFrame:
    """One row per (fit, expected input): expected and observed direction, PD change over the range, pass/fail."""
    bounds = factor_bounds(study)
    best_keys = set(best)
    rows: list[dict[str, object]] = []
    for fit in fits:
        expect = study.response(fit.target).expect if fit.target in study.response_names else {}
        for feature, expected in expect.items():
            if feature not in fit.inputs:
                continue
            low, high = input_range(fit, feature, bounds)
            curve = partial_dependence(fit, feature, np.linspace(low, high, GRID_POINTS))
            observed = _WORDS[pd_direction(curve)]
            rows.append(
                {
                    "target": fit.target,
                    "scenario": fit.scenario,
                    "family": fit.family,
                    "feature": feature,
                    "expected": expected,
                    "observed": observed,
                    "change": float(curve[-1] - curve[0]),
                    "low": low,
                    "high": high,
                    "passed": observed == expected,
                    "best": fit.key in best_keys,
                    "explainable": fit.explainable,
                }
            )
    return pd.DataFrame(rows, columns=list(EXPECTATION_COLUMNS))
