"""Issue 14's curvature and process-window "Done when" on the simulated electrode line, against the truth.

The truth is the simulator's own model (``glassline.domains.electrode._sim_truth``) evaluated over the
study's box: the true adhesion response to second-dryer temperature is an inverted U, which the reduced
quadratic finds, and the true share of the box that meets the study's requirements is what the window's
predicted share must land near.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from glassline.domains.electrode._sim_truth import true_properties
from glassline.explain import Explanations
from glassline.explain._window import parse_requirement
from glassline.spec import Study

pytestmark = pytest.mark.slow

#: response → its noiseless column in the truth model
TRUTH_COLUMN = {"adhesion_strength": "adhesion_calendered_kpa", "ionic_resistance": "r_ion_calendered_ohm"}
FACTORS = ("mass_loading", "drying_temperature", "porosity")
#: the share of the box the predictions may miss the truth's by (issue 14: within 10 points)
SHARE_TOLERANCE = 0.10
#: how far the reduced quadratic's optimum temperature may sit from the truth's: half the spacing of the
#: design's three temperature levels (50 / 57.5 / 65 °C), the resolution a three-level factor gives an
#: interior peak (a quarter of the 15 °C range)
OPTIMUM_TOLERANCE_C = 15.0 / 4


@pytest.fixture(scope="module")
def demo(electrode_line: tuple[Path, Explanations]) -> tuple[Path, Explanations]:
    """The session's demo run (tests/explain/conftest.py): every family, the study's requirements."""
    return electrode_line


def _box(study: Study, points: int) -> pd.DataFrame:
    """The box on a grid of *points* per factor, and 0.25 °C steps in temperature (the profile's axis)."""
    steps = {
        "drying_temperature": int(
            (study.factor("drying_temperature").high - study.factor("drying_temperature").low) / 0.25
        )
        + 1
    }
    axes = [np.linspace(study.factor(n).low, study.factor(n).high, steps.get(n, points)) for n in FACTORS]
    return pd.DataFrame(list(itertools.product(*axes)), columns=list(FACTORS))


def _profile(values: np.ndarray, box: pd.DataFrame) -> pd.Series:
    """Mean over the box at each temperature: the response's partial dependence on temperature."""
    return pd.Series(values, index=box.index).groupby(box["drying_temperature"]).mean()


def _optimum(profile: pd.Series) -> float:
    """Where the profile peaks: the middle of its highest plateau (a tree model's steps tie)."""
    top = profile.max()
    at = profile.index[np.isclose(profile.to_numpy(), top, rtol=1e-9, atol=0.0)]
    return float((at.min() + at.max()) / 2)


def test_window_predicted_share_matches_the_truth(demo: tuple[Path, Explanations]) -> None:
    out, outcome = demo
    study = outcome.study
    summary = json.loads((out / "explanations" / "window.json").read_text(encoding="utf-8"))
    grid = pd.read_csv(out / "explanations" / "window.csv")
    truth = true_properties(grid["mass_loading"], grid["drying_temperature"], grid["porosity"])
    meets = np.ones(len(grid), dtype=bool)
    for text in study.requirements:
        r = parse_requirement(text, study)
        column = truth[TRUTH_COLUMN[r.response]].to_numpy()
        meets &= column >= r.value if r.lower_bound else column <= r.value
    assert abs(summary["predicted_feasible_fraction"] - meets.mean()) <= SHARE_TOLERANCE
    # the sure share stays the interval's, never larger than the predicted one
    assert summary["feasible_fraction"] <= summary["predicted_feasible_fraction"]
    recommendation = summary["recommendation"]
    assert {c["requirement"] for c in recommendation["requirements"]} == {
        str(parse_requirement(t)) for t in study.requirements
    }
    for check in recommendation["requirements"]:
        assert check["lower"] <= check["predicted"] <= check["upper"]
    assert {t["response"] for t in recommendation["trade_off"]} >= set(TRUTH_COLUMN)


def test_reduced_quadratic_adhesion_model_peaks_inside_the_temperature_range_near_the_truth(
    demo: tuple[Path, Explanations],
) -> None:
    _, outcome = demo
    box = _box(outcome.study, 13)
    truth = _profile(true_properties(*(box[f] for f in FACTORS))[TRUTH_COLUMN["adhesion_strength"]].to_numpy(), box)
    t_low, t_high = truth.index.min(), truth.index.max()
    true_optimum = _optimum(truth)
    assert t_low < true_optimum < t_high, "the truth is an inverted U in temperature"
    fit = outcome.fits[("adhesion_strength", "product", "rsm")]
    model = _profile(fit.predict(box), box)
    assert model.max() > max(model.loc[t_low], model.loc[t_high]), "no interior maximum"
    assert abs(_optimum(model) - true_optimum) <= OPTIMUM_TOLERANCE_C


def test_adhesion_claim_names_the_temperature_optimum_near_the_truth(demo: tuple[Path, Explanations]) -> None:
    """Issue 14's "the adhesion optimum is found": the lead model's claim on temperature has shape optimum (from
    the curvature test when the lead model is linear), located near the truth's peak, and stays hedged:
    temperature is confounded with coil position."""
    _, outcome = demo
    box = _box(outcome.study, 13)
    truth = _profile(true_properties(*(box[f] for f in FACTORS))[TRUTH_COLUMN["adhesion_strength"]].to_numpy(), box)
    claims = outcome.claims.set_index(["target", "factor"])
    claim = claims.loc[("adhesion_strength", "drying_temperature")]
    assert claim["shape"] == "optimum"
    assert claim["status"] == "hedged"
    u = outcome.uncertainty
    row = u[
        (u["target"] == "adhesion_strength")
        & (u["scenario"] == claim["scenario"])
        & (u["family"] == claim["family"])
        & (u["factor"] == "drying_temperature")
    ].iloc[0]
    assert abs(float(row["optimum"]) - _optimum(truth)) <= OPTIMUM_TOLERANCE_C
    assert float(row["range_low"]) <= float(row["optimum_ci_low"]) <= float(row["optimum"])
    assert float(row["optimum"]) <= float(row["optimum_ci_high"]) <= float(row["range_high"])
    sentence = " ".join(outcome.narratives["adhesion_strength"]["statements"])
    assert "highest near" in sentence
    assert "appears to" in sentence
