"""Issue 6's "Done when" on the simulated electrode line: simulate → prepare → compare → explain.

For every response whose true effects have a clear dominant factor (tests/domains/electrode/
test_ground_truth.py: adhesion — porosity, capacity at 0.1 C — mass loading, capacity at 5 C —
porosity), the best model of the factor scenario ranks that factor first by SHAP, with the true
direction; the dominant factor and its direction are read from the simulator's truth.json.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from glassline.explain import Explanations

pytestmark = pytest.mark.slow

FACTORS = ("mass_loading", "drying_temperature", "porosity")
#: response → (its column in truth.json, the documented dominant factor, its sign)
DOMINANT = {
    "adhesion_strength": ("adhesion_calendered_kpa", "porosity", -1),
    "discharge_capacity_0_1c": ("discharge_capacity_0_1c_mah", "mass_loading", +1),
    "discharge_capacity_5c": ("discharge_capacity_5c_mah", "porosity", +1),
}


@pytest.fixture(scope="module")
def demo(electrode_line: tuple[Path, Explanations]) -> tuple[Path, Explanations]:
    return electrode_line


def truth_dominant(truth: dict[str, object], column: str) -> tuple[str, int]:
    """The factor with the largest standardized main effect on the true response, and its sign."""
    table = pd.DataFrame(truth["configurations"])  # type: ignore[arg-type]
    X = table[[f"realized_{f}" for f in FACTORS]].to_numpy(float)
    Z = np.column_stack([np.ones(len(X)), (X - X.mean(axis=0)) / X.std(axis=0)])
    coef = np.linalg.lstsq(Z, table[column].to_numpy(float), rcond=None)[0][1:]
    j = int(np.argmax(np.abs(coef)))
    return FACTORS[j], int(np.sign(coef[j]))


@pytest.mark.parametrize("response", list(DOMINANT))
def test_best_model_ranks_the_true_dominant_factor_first(demo: tuple[Path, Explanations], response: str) -> None:
    out, outcome = demo
    truth = json.loads((out / "raw" / "truth.json").read_text(encoding="utf-8"))
    column, documented, sign = DOMINANT[response]
    assert truth_dominant(truth, column) == (documented, sign)
    best = outcome.fits.best(response, "product")
    shap_rows = outcome.importance[
        (outcome.importance["method"] == "shap")
        & (outcome.importance["target"] == response)
        & (outcome.importance["scenario"] == "product")
        & (outcome.importance["family"] == best.family)
    ].set_index("feature")
    assert shap_rows.loc[documented, "rank"] == 1
    assert shap_rows.loc[documented, "direction"] == sign


def test_physics_check_and_window(demo: tuple[Path, Explanations]) -> None:
    out, outcome = demo
    physics = pd.read_csv(out / "explanations" / "physics_check.csv")
    assert len(physics) >= 2
    assert (physics["alpha"] > 0).all()
    assert physics["max_rel_deviation"].between(0, 1).all()
    assert list((out / "explanations" / "figures" / "physics").glob("bruggeman_*.png"))
    window = outcome.window
    assert window is not None
    assert 0 < window.feasible_fraction < 1
    assert window.recommended is not None
    feasible = window.grid[window.grid["feasible"]]
    # the study file's requirements: adhesion_strength >= 350, ionic_resistance <= 280
    assert (feasible["adhesion_strength_lower"] >= 350).all()
    assert (feasible["ionic_resistance_upper"] <= 280).all()
    summary = json.loads((out / "explanations" / "window.json").read_text(encoding="utf-8"))
    assert summary["recommended"] == pytest.approx(window.recommended)
