"""Issue 14's claims read against the simulated line's truth: what is stated must be true.

The truth is computed from the simulator's truth model (:class:`~glassline.domains.electrode._sim_truth.
TruthModel` with the parameters ``raw/truth.json`` records) over the study box, never copied from a run:

- the **effect** of a factor: the change of the true response's partial dependence from the low to the
  high end of the factor's range, the other factors spread uniformly over the box (a 5³ grid);
- its **importance**: the mean |interventional Shapley value| of the true response over that grid (exact,
  background the grid itself), the quantity the models' ranks are built from.

Checked: every stated monotone claim has the truth's direction; every stated optimum / minimum is one of
the truth; every two stated claims on one response are in the truth's order of importance; and no claim is
stated about an effect the truth lacks (second-dryer temperature on dry mass loading: the truth's dry mass
loading is the active loading over the active fraction, whatever the temperature). Claims on measured
inputs (coating gap, compaction rate, …) have no closed-form truth over the box and are read only by the
last check. Every sentence of the narratives is checked against claims.csv as well.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd
import pytest
from claims_narrative_check import narrative_problems

from glassline.domains.electrode._sim_truth import (
    AdhesionLaw,
    RateLaw,
    TortuosityLaw,
    TruthModel,
    UncalenderedPorosityLaw,
    true_properties,
)
from glassline.explain import Explanations
from glassline.explain._expectations import factor_bounds

pytestmark = pytest.mark.slow

FACTORS = ("mass_loading", "drying_temperature", "porosity")
#: response → its noiseless column of :func:`true_properties`
TRUTH_COLUMN = {
    "electrode_mass_loading": "dry_mass_loading_mg_cm2",
    "adhesion_strength": "adhesion_calendered_kpa",
    "ionic_resistance": "r_ion_calendered_ohm",
    "tortuosity": "tortuosity_calendered",
    "discharge_capacity_0_1c": "discharge_capacity_0_1c_mah",
    "discharge_capacity_5c": "discharge_capacity_5c_mah",
    "gravimetric_capacity_0_1c": "gravimetric_capacity_0_1c_mah_g",
    "gravimetric_capacity_5c": "gravimetric_capacity_5c_mah_g",
}
POINTS = 5


def truth_model(truth: dict[str, object]) -> TruthModel:
    """The truth model with the parameters the run recorded in truth.json."""
    parameters = truth["parameters"]
    assert isinstance(parameters, dict)
    p = parameters["truth"]
    laws = {
        "adhesion": AdhesionLaw(**p["adhesion"]),
        "porosity_uncalendered": UncalenderedPorosityLaw(**p["porosity_uncalendered"]),
        "tortuosity": TortuosityLaw(**p["tortuosity"]),
        "rate": RateLaw(**p["rate"]),
    }
    rest = {k: v for k, v in p.items() if k not in laws}
    return TruthModel(**laws, **rest)


def _truth(model: TruthModel, column: str, points: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    table = true_properties(points[:, 0], points[:, 1], points[:, 2], model=model)
    return table[column].to_numpy(float)


def truth_effects(
    model: TruthModel, column: str, bounds: dict[str, tuple[float, float]]
) -> tuple[dict[str, float], dict[str, float], dict[str, npt.NDArray[np.float64]]]:
    """Per factor: the truth's effect (PD high − PD low), its importance (mean |SHAP|) and its PD curve."""
    axes = [np.linspace(*bounds[f], POINTS) for f in FACTORS]
    grid = np.array(list(itertools.product(*axes)))
    n, p = grid.shape
    effects, curves = {}, {}
    for j, name in enumerate(FACTORS):
        curve = []
        for value in axes[j]:
            moved = grid.copy()
            moved[:, j] = value
            curve.append(_truth(model, column, moved).mean())
        curves[name] = np.array(curve)
        effects[name] = float(curves[name][-1] - curves[name][0])
    # exact interventional Shapley values, background = the grid: v(S)(x) = mean_z f(x_S, z_rest)
    rows = np.repeat(grid, n, axis=0)
    background = np.tile(grid, (n, 1))
    value = {}
    for size in range(p + 1):
        for coalition in itertools.combinations(range(p), size):
            mixed = background.copy()
            mixed[:, list(coalition)] = rows[:, list(coalition)]
            value[coalition] = _truth(model, column, mixed).reshape(n, n).mean(axis=1)
    shapley = np.zeros((n, p))
    from math import factorial

    for j in range(p):
        others = [k for k in range(p) if k != j]
        for size in range(p):
            weight = factorial(size) * factorial(p - size - 1) / factorial(p)
            for coalition in itertools.combinations(others, size):
                with_j = tuple(sorted((*coalition, j)))
                shapley[:, j] += weight * (value[with_j] - value[coalition])
    importance = {name: float(np.abs(shapley[:, j]).mean()) for j, name in enumerate(FACTORS)}
    return effects, importance, curves


@pytest.fixture(scope="module")
def line(electrode_line: tuple[Path, Explanations]) -> tuple[Path, Explanations, pd.DataFrame, TruthModel]:
    out, outcome = electrode_line
    claims = pd.read_csv(out / "explanations" / "claims.csv", keep_default_na=False)
    truth = json.loads((out / "raw" / "truth.json").read_text(encoding="utf-8"))
    return out, outcome, claims, truth_model(truth)


def test_the_truth_model_is_the_recorded_one(line: tuple[Path, Explanations, pd.DataFrame, TruthModel]) -> None:
    out, _, _, model = line
    truth = json.loads((out / "raw" / "truth.json").read_text(encoding="utf-8"))
    config = truth["configurations"][0]
    row = true_properties(
        config["realized_mass_loading"], config["realized_drying_temperature"], config["realized_porosity"], model=model
    )
    assert np.isfinite(row["adhesion_calendered_kpa"]).all()
    assert json.loads(json.dumps(model.as_dict())) == truth["parameters"]["truth"]


def test_every_stated_claim_matches_the_truth(line: tuple[Path, Explanations, pd.DataFrame, TruthModel]) -> None:
    _, outcome, claims, model = line
    bounds = factor_bounds(outcome.study)
    stated = claims[claims["status"] == "stated"]
    assert len(stated) >= 5  # the line has clear effects; a grading that states nothing would pass vacuously
    checked = 0
    for target, part in stated.groupby("target", sort=False):
        if target not in TRUTH_COLUMN:
            continue
        effects, importance, curves = truth_effects(model, TRUTH_COLUMN[str(target)], bounds)
        lead = outcome.lead[str(target)]
        product = set(lead.inputs) <= set(FACTORS)
        for claim in part.to_dict("records"):
            name = str(claim["factor"])
            if name not in FACTORS:
                continue
            scale = max(abs(v) for v in effects.values())
            assert np.ptp(curves[name]) > 1e-6 * scale, f"{target}: {name} is stated; the truth has no such effect"
            if not product:
                continue
            shape = str(claim["shape"])
            if shape in ("increasing", "decreasing"):
                assert np.sign(effects[name]) == int(claim["direction"]), (
                    f"{target}: {name} stated {shape}; the truth's effect is {effects[name]:+.4g}"
                )
            elif shape in ("optimum", "minimum"):
                k = int(np.argmax(curves[name]) if shape == "optimum" else np.argmin(curves[name]))
                assert 0 < k < POINTS - 1, f"{target}: {name} stated {shape}; the truth's curve has none inside"
            checked += 1
        if product:
            ranked = part[part["factor"].isin(FACTORS)].sort_values("rank")
            order = [importance[str(f)] for f in ranked["factor"]]
            assert order == sorted(order, reverse=True), (
                f"{target}: stated ranks {list(ranked['factor'])}; truth importance {importance}"
            )
    assert checked >= 4


def test_no_claim_is_stated_about_an_effect_the_truth_lacks(
    line: tuple[Path, Explanations, pd.DataFrame, TruthModel],
) -> None:
    _, outcome, claims, model = line
    bounds = factor_bounds(outcome.study)
    effects, _, curves = truth_effects(model, TRUTH_COLUMN["electrode_mass_loading"], bounds)
    assert np.ptp(curves["drying_temperature"]) < 1e-9 * abs(effects["mass_loading"])  # the truth lacks it
    rows = claims[(claims["target"] == "electrode_mass_loading") & (claims["factor"] == "drying_temperature")]
    assert len(rows) == 1  # the lead model has the input, so the claim exists ...
    assert rows["status"].iloc[0] != "stated"  # ... and is not stated
    story = outcome.narratives["electrode_mass_loading"]
    for sentence in story["statements"]:
        if "second-dryer temperature" in sentence.lower() and "raises" in sentence:
            assert "likely" in sentence or "appears to" in sentence


def test_every_sentence_of_the_line_matches_its_claims(
    line: tuple[Path, Explanations, pd.DataFrame, TruthModel],
) -> None:
    out, outcome, claims, _ = line
    folder = out / "explanations"
    story = json.loads((folder / "narratives.json").read_text(encoding="utf-8"))
    uncertainty = pd.read_csv(folder / "uncertainty.csv")
    results = pd.read_csv(out / "results" / "results.csv")
    warnings = pd.read_csv(folder / "warnings.csv", keep_default_na=False)
    assert narrative_problems(outcome.study, story, claims, uncertainty, results, warnings) == []
    for entry in story.values():
        assert len(entry["statement_claims"]) == len(entry["statements"])
