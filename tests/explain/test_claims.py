"""Graded claims on small cases with known answers: shapes, rank probabilities, ties, grading, narratives, CLI."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from claims_narrative_check import narrative_problems
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import PolynomialFeatures, StandardScaler

from glassline import study_from_dict
from glassline.cli import main
from glassline.exceptions import SpecError
from glassline.explain import Explanations, explain
from glassline.explain._claims import (
    CLAIM_COLUMNS,
    RANK_PROBABILITY_MIN,
    RANKS_COLUMNS,
    UNCERTAINTY_COLUMNS,
    claim_warnings,
    claims_table,
    classify_shape,
    confidence,
    grade,
    rank_probabilities,
    ranks_table,
    uncertainty_table,
)
from glassline.explain._stage import refits_per_fit
from glassline.explain._uncertainty import bootstrap_draws
from glassline.models import Fit, compare
from glassline.spec import DEFAULT_BOOTSTRAP, Study

STUDY = study_from_dict(
    {
        "name": "claims",
        "factors": [
            {"name": "a", "low": 0.0, "high": 1.0, "unit": "°C", "label": "Temperature"},
            {"name": "b", "low": 0.0, "high": 1.0, "unit": "%", "label": "Porosity"},
        ],
        "responses": [{"name": "y", "label": "Strength", "unit": "kPa"}],
    }
)


def make_fit(
    y_of: object,
    rng: np.random.Generator,
    *,
    degree: int = 1,
    n_config: int = 16,
    n_rep: int = 3,
    symmetric: bool = False,
) -> Fit:
    """A fitted (polynomial) least-squares pipeline on *n_config* configurations × *n_rep* replicates.

    *symmetric*: every configuration (a, b) has its mirror (b, a) with the same noise, so that a symmetric
    response gives a and b exactly equal estimated effects.
    """
    settings = rng.uniform(0.0, 1.0, size=(n_config, 2))
    noise = rng.normal(0, 0.05, n_config * n_rep)
    if symmetric:
        half = n_config // 2
        settings = np.vstack([settings[:half], settings[:half, ::-1]])
        noise = np.r_[noise[: half * n_rep], noise[: half * n_rep]]
    X = pd.DataFrame(np.repeat(settings, n_rep, axis=0), columns=["a", "b"])
    X.index.name = "row_id"
    y = pd.Series(y_of(X["a"].to_numpy(), X["b"].to_numpy()) + noise, index=X.index)  # type: ignore[operator]
    steps = [("scale", StandardScaler())]
    if degree > 1:
        steps.append(("poly", PolynomialFeatures(degree=degree, include_bias=False)))
    pipeline = Pipeline([*steps, ("model", LinearRegression())]).fit(X, y)
    return Fit(
        target="y",
        scenario="s",
        family="poly2" if degree > 1 else "mlr",
        inputs=("a", "b"),
        pipeline=pipeline,
        params={},
        explainer="exact" if degree > 1 else "linear",
        explainable=True,
        X_train=X,
        y_train=y,
        X_test=X.iloc[:0],
        y_test=y.iloc[:0],
    )


def groups_of(fit: Fit, n_rep: int = 3) -> pd.Series:
    return pd.Series([f"C{i // n_rep:02d}" for i in range(len(fit.X_train))], index=fit.X_train.index)


BOUNDS = {"a": (0.0, 1.0), "b": (0.0, 1.0)}


def results_row(fit: Fit, cv_r2: float, **extra: float) -> pd.DataFrame:
    return pd.DataFrame([{"target": "y", "scenario": "s", "family": fit.family, "cv_r2_pooled": cv_r2, **extra}])


def test_a_quadratic_with_an_interior_maximum_is_an_optimum_located_with_a_ci(rng: np.random.Generator) -> None:
    fit = make_fit(lambda a, b: 2.0 - 8.0 * (a - 0.6) ** 2 + 0.0 * b, rng, degree=2)
    draws = bootstrap_draws(fit, groups_of(fit), n_boot=60, seed=3, bounds=BOUNDS)
    written = uncertainty_table({fit.key: draws}, STUDY)
    assert list(written.columns) == UNCERTAINTY_COLUMNS
    table = written.set_index("factor")
    assert table.loc["a", "shape"] == "optimum"
    assert table.loc["a", "optimum_ci_low"] <= 0.6 <= table.loc["a", "optimum_ci_high"]
    assert abs(table.loc["a", "optimum"] - 0.6) < 0.05
    assert table.loc["a", "optimum_ci_high"] - table.loc["a", "optimum_ci_low"] < 0.2
    assert table.loc["b", "shape"] == "none"
    assert table.loc["b", "effect_ci_low"] < 0 < table.loc["b", "effect_ci_high"]
    assert np.isnan(table.loc["b", "optimum"])
    kinds = {(w["factor"], w["kind"]) for w in claim_warnings(STUDY, {"y": fit}, {fit.key: draws}, written)}
    assert ("b", "not_significant") in kinds
    assert ("a", "not_significant") not in kinds


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (np.linspace(0.0, 1.0, 11), "increasing"),
        (np.linspace(1.0, 0.0, 11), "decreasing"),
        ((np.linspace(0.0, 1.0, 11) - 0.4) ** 2, "minimum"),
        (-((np.linspace(0.0, 1.0, 11) - 0.5) ** 2), "optimum"),
        # a wave: up, down, up again: neither one peak nor one direction
        (np.sin(3 * np.pi * np.linspace(0.0, 1.0, 11)), "mixed"),
        # a wave that ends clearly higher is still not monotone
        (np.sin(3 * np.pi * np.linspace(0.0, 1.0, 11)) + 3 * np.linspace(0.0, 1.0, 11) ** 3, "mixed"),
        (np.zeros(11), "none"),
    ],
)
def test_shape_classification(values: np.ndarray, expected: str) -> None:
    rng = np.random.default_rng(0)
    grid = np.linspace(0.0, 1.0, 11)
    curves = values[None, :] + rng.normal(0.0, 0.02, size=(200, 11))
    assert classify_shape(grid, values, curves).shape == expected


def test_rank_probabilities_count_the_refits() -> None:
    importances = np.array([[3.0, 2.0, 1.0], [3.0, 1.0, 2.0], [1.0, 3.0, 2.0], [3.0, 2.0, 1.0]])
    probabilities = rank_probabilities(importances)
    assert probabilities[0].tolist() == [0.75, 0.0, 0.25]
    assert probabilities[1].tolist() == [0.25, 0.5, 0.25]
    assert probabilities[2].tolist() == [0.0, 0.5, 0.5]
    assert np.allclose(probabilities.sum(axis=0), 1.0)
    assert np.allclose(probabilities.sum(axis=1), 1.0)


def test_two_equal_effects_are_a_tie_and_are_hedged(rng: np.random.Generator) -> None:
    fit = make_fit(lambda a, b: 1.0 * a + 1.0 * b, rng, n_config=14, symmetric=True)
    draws = bootstrap_draws(fit, groups_of(fit), n_boot=100, seed=5, bounds=BOUNDS)
    uncertainty = uncertainty_table({fit.key: draws}, STUDY)
    ranks = ranks_table({fit.key: draws})
    assert list(ranks.columns) == RANKS_COLUMNS
    assert len(ranks) == 4
    claims = claims_table({"y": fit}, uncertainty, ranks, results_row(fit, 0.9), None)
    assert list(claims.columns) == CLAIM_COLUMNS
    assert (claims["rank_probability"] < RANK_PROBABILITY_MIN).all()
    assert set(claims["status"]) == {"hedged"}
    assert set(claims["shape"]) == {"increasing"}
    rows = claim_warnings(STUDY, {"y": fit}, {fit.key: draws}, uncertainty)
    ties = [w for w in rows if w["kind"] == "tie"]
    assert len(ties) == 1
    assert set(ties[0]["factor"].split("~")) == {"a", "b"}
    assert "matter about equally" in ties[0]["message"]


def test_one_clear_effect_is_stated_and_ranked(rng: np.random.Generator) -> None:
    fit = make_fit(lambda a, b: 3.0 * a + 0.0 * b, rng)
    draws = bootstrap_draws(fit, groups_of(fit), n_boot=60, seed=5, bounds=BOUNDS)
    uncertainty = uncertainty_table({fit.key: draws}, STUDY)
    ranks = ranks_table({fit.key: draws})
    claims = claims_table({"y": fit}, uncertainty, ranks, results_row(fit, 0.9), None).set_index("factor")
    assert claims.loc["a", "status"] == "stated"
    assert claims.loc["a", "rank"] == 1
    assert claims.loc["a", "direction"] == 1
    assert claims.loc["a", "effect_ci_low"] > 2.5
    assert claims.loc["b", "status"] == "hedged"
    assert claims.loc["b", "shape"] == "none"
    # a poor model states nothing; a warning on the input or a lack of fit hedges a monotone claim
    poor = claims_table({"y": fit}, uncertainty, ranks, results_row(fit, 0.3), None)
    assert set(poor["status"]) == {"not_stated"}
    warned = pd.DataFrame([{"target": "y", "scenario": "s", "factor": "a", "kind": "confounded_with_order"}])
    assert claims_table({"y": fit}, uncertainty, ranks, results_row(fit, 0.9), warned).iloc[0]["status"] == "hedged"
    # the lead rejects while another family of the scenario passes on enough df: the line misses a curvature
    other = pd.DataFrame(
        [{"target": "y", "scenario": "s", "family": "rsm", "cv_r2_pooled": 0.8, "lof_p": 0.5, "lof_df": 6.0}]
    )
    lead_row = results_row(fit, 0.9, lof_p=0.01, lof_df=8.0)
    curved = claims_table({"y": fit}, uncertainty, ranks, pd.concat([lead_row, other]), None)
    assert curved.iloc[0]["status"] == "hedged"
    # every tested family rejects: the configurations differ beyond their inputs, which says nothing of the shape
    everyone = claims_table({"y": fit}, uncertainty, ranks, pd.concat([lead_row, other.assign(lof_p=0.001)]), None)
    assert everyone.iloc[0]["status"] == "stated"
    alone = claims_table({"y": fit}, uncertainty, ranks, lead_row, None)
    assert alone.iloc[0]["status"] == "stated"
    flat = claims_table({"y": fit}, uncertainty, ranks, results_row(fit, 0.9, lof_p=0.4), None)
    assert flat.iloc[0]["status"] == "stated"


def test_grading_rules() -> None:
    ok = {"adequate": True, "significant": True, "warned": False, "rank_probability": 0.9}
    assert grade(**ok, monotone_with_lack_of_fit=False) == "stated"
    assert grade(**{**ok, "adequate": False}, monotone_with_lack_of_fit=False) == "not_stated"
    assert grade(**{**ok, "significant": False}, monotone_with_lack_of_fit=False) == "hedged"
    assert grade(**{**ok, "warned": True}, monotone_with_lack_of_fit=False) == "hedged"
    assert grade(**{**ok, "rank_probability": RANK_PROBABILITY_MIN - 0.01}, monotone_with_lack_of_fit=False) == "hedged"
    assert grade(**{**ok, "rank_probability": RANK_PROBABILITY_MIN}, monotone_with_lack_of_fit=False) == "stated"
    assert grade(**ok, monotone_with_lack_of_fit=True) == "hedged"
    claim = {
        "target": "y",
        "scenario": "s",
        "factor": "a",
        "status": "hedged",
        "shape": "increasing",
        "direction_probability": 0.99,
    }
    assert confidence(claim) == "likely"
    columns = ["target", "scenario", "factor", "kind", "message"]
    drift = pd.DataFrame([["y", "s", "a", "confounded_with_order", "moved with the run order"]], columns=columns)
    assert confidence(claim, drift) == "unclear", "an input that moved with the run order is not 'likely'"
    assert confidence(claim, drift.assign(factor="b")) == "likely", "a warning on another input does not count"
    assert confidence(claim, drift.assign(scenario="t")) == "likely", "nor one of another scenario"
    collinear = pd.DataFrame([["y", "s", "b~a", "collinear", "|r| 0.4"]], columns=columns)
    assert confidence(claim, collinear) == "unclear"
    tie = pd.DataFrame([["y", "s", "a~b", "tie", "matter about equally"]], columns=columns)
    assert confidence(claim, tie) == "about equal"
    assert confidence({**claim, "shape": "none"}) == "unclear"
    assert confidence({**claim, "status": "stated"}) == "clear"
    assert confidence({**claim, "status": "not_stated"}) == "unclear"


def test_refits_go_to_the_lead_scenario(rng: np.random.Generator) -> None:
    lead = make_fit(lambda a, b: a, rng)
    keys = [("y", "s", "mlr"), ("y", "s", "rf"), ("y", "other", "mlr")]
    assert refits_per_fit(keys, {"y": lead}, 100) == {keys[0]: 100, keys[1]: 10, keys[2]: 0}
    assert refits_per_fit(keys, {"y": lead}, 0) == {keys[0]: 0, keys[1]: 0, keys[2]: 0}


def test_extrapolation_is_warned_when_the_data_do_not_cover_the_design_range(rng: np.random.Generator) -> None:
    fit = make_fit(lambda a, b: a + b, rng)
    # a covers 0.3-0.7 of its 0-1 design range; b covers all of it
    X = fit.X_train.assign(a=0.3 + 0.4 * fit.X_train["a"].rank(pct=True, method="dense").to_numpy())
    X["b"] = (X["b"] - X["b"].min()) / (X["b"].max() - X["b"].min())
    narrow = Fit(**{**fit.__dict__, "X_train": X})
    draws = bootstrap_draws(narrow, groups_of(fit), n_boot=10, seed=1, bounds=BOUNDS)
    uncertainty = uncertainty_table({narrow.key: draws}, STUDY)
    rows = claim_warnings(STUDY, {"y": narrow}, {narrow.key: draws}, uncertainty, {"b": 0.5, "a": 0.95}, [narrow])
    flagged = [(w["factor"], w["kind"]) for w in rows if w["kind"] == "extrapolation"]
    assert ("a", "extrapolation") in flagged
    assert flagged.count(("a", "extrapolation")) == 2  # the claim's range, and the recommended a = 0.95
    assert ("b", "extrapolation") not in flagged


# ----------------------------------------------------------------------------- the stage end to end
TOML = """
name = "claims stage"
seed = 11

[[factors]]
name = "x1"
label = "Binder content"
unit = "%"
low = 0.0
high = 1.0

[[factors]]
name = "x2"
label = "Drying temperature"
unit = "°C"
low = 0.0
high = 1.0

[[factors]]
name = "x3"
label = "Line speed"
unit = "m/min"
low = 0.0
high = 1.0

[[responses]]
name = "y"
label = "Peel strength"
unit = "kPa"

[scenarios]
factors = ["x1", "x2", "x3"]

[data]
group = "configuration"

[split]
test_fraction = 0.2
cv_folds = 4
cv_repeats = 1

[models]
bootstrap = 40
"""


@pytest.fixture(scope="module")
def stage(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Explanations, Study]:
    folder = tmp_path_factory.mktemp("claims")
    (folder / "study.toml").write_text(TOML, encoding="utf-8")
    from glassline.spec import load_study

    study = load_study(folder / "study.toml")
    rng = np.random.default_rng(4)
    while True:  # nearly independent factors spanning their ranges, as a designed experiment gives
        settings = rng.uniform(0.0, 1.0, size=(16, 3))
        settings = (settings - settings.min(axis=0)) / np.ptp(settings, axis=0)
        if np.abs(np.corrcoef(settings, rowvar=False)[np.triu_indices(3, 1)]).max() < 0.2:
            break
    rows = []
    for c in range(16):
        x1, x2, x3 = settings[c]
        shift = rng.normal(0, 0.05)
        for _ in range(3):
            y = 3.0 * x1 - 4.0 * (x2 - 0.5) ** 2 + shift + rng.normal(0, 0.05)  # x3: no effect
            rows.append({"configuration": f"C{c:02d}", "x1": x1, "x2": x2, "x3": x3, "y": y})
    compare(study, pd.DataFrame(rows), families=["mlr", "poly2"], n_jobs=1).write(folder / "results", plots=False)
    return folder / "results", explain(folder / "results", plots=False, influence=False), study


def test_the_stage_uses_the_study_files_bootstrap_and_writes_the_claims(
    stage: tuple[Path, Explanations, Study],
) -> None:
    results, outcome, _ = stage
    out = results / "explanations"
    assert json.loads((out / "run.json").read_text(encoding="utf-8"))["bootstrap"] == 40
    claims = pd.read_csv(out / "claims.csv", keep_default_na=False)
    assert list(claims.columns) == CLAIM_COLUMNS
    lead = outcome.lead["y"]
    assert set(claims["factor"]) == set(lead.inputs)
    assert set(claims["status"]) <= {"stated", "hedged", "not_stated"}
    assert set(claims["shape"]) <= {"increasing", "decreasing", "optimum", "minimum", "mixed", "none"}
    uncertainty = pd.read_csv(out / "uncertainty.csv")
    assert list(uncertainty.columns) == UNCERTAINTY_COLUMNS
    mine = uncertainty[uncertainty["family"] == lead.family]
    assert set(mine["n_boot"]) == {40}
    assert set(uncertainty[uncertainty["family"] != lead.family]["n_boot"]) == {4}
    ranks = pd.read_csv(out / "ranks.csv")
    sums = ranks.groupby(["family", "factor"])["probability"].sum()
    assert np.allclose(sums, 1.0)
    by = claims.set_index("factor")
    assert by.loc["x1", "status"] == "stated"
    assert by.loc["x1", "direction"] == 1
    assert by.loc["x3", "shape"] == "none"
    assert by.loc["x3", "status"] == "hedged"
    warnings = pd.read_csv(out / "warnings.csv", keep_default_na=False)
    assert ("x3", "not_significant") in set(zip(warnings["factor"], warnings["kind"], strict=True))


def test_every_sentence_matches_the_claims(stage: tuple[Path, Explanations, Study]) -> None:
    results, _outcome, study = stage
    out = results / "explanations"
    claims = pd.read_csv(out / "claims.csv", keep_default_na=False)
    uncertainty = pd.read_csv(out / "uncertainty.csv")
    table = pd.read_csv(results / "results.csv")
    story = json.loads((out / "narratives.json").read_text(encoding="utf-8"))
    warnings = pd.read_csv(out / "warnings.csv", keep_default_na=False)
    assert narrative_problems(study, story, claims, uncertainty, table, warnings) == []
    text = " ".join(story["y"]["statements"])
    assert "No clear effect of line speed on peel strength within the tested range" in text
    assert len(story["y"]["statement_claims"]) == len(story["y"]["statements"])
    assert all(isinstance(keys, list) for keys in story["y"]["statement_claims"])
    # the checker fails a sentence that states a direction its claim hedges, or the wrong direction
    hedged = {
        **story["y"],
        "statements": ["Raising line speed from 0 to 1 m/min raises peel strength by about 0.1 kPa."],
    }
    assert narrative_problems(study, {"y": hedged}, claims, uncertainty, table)
    x1 = claims.set_index("factor").loc["x1"]
    wrong = f"Lowering binder content from 1 to 0 % raises peel strength by about {abs(float(x1['effect'])):.2g} kPa."
    problems = narrative_problems(study, {"y": {**story["y"], "statements": [wrong]}}, claims, uncertainty, table)
    assert any("implies direction" in p for p in problems)
    made_up = {
        **story["y"],
        "statements": ["Raising binder content from 0 to 1 % raises peel strength by about 77 kPa."],
    }
    assert any("number 77" in p for p in narrative_problems(study, {"y": made_up}, claims, uncertainty, table))


def test_old_explanation_folders_load_without_the_claims(
    stage: tuple[Path, Explanations, Study], tmp_path: Path
) -> None:
    _results, outcome, _ = stage
    old = tmp_path / "old"
    outcome.write(old, plots=False)
    for name in ("claims.csv", "uncertainty.csv", "ranks.csv"):
        (old / name).unlink()
    loaded = Explanations.load(old, fits=outcome.fits)
    assert loaded.claims.empty
    assert list(loaded.claims.columns) == CLAIM_COLUMNS
    assert loaded.uncertainty.empty
    assert list(loaded.uncertainty.columns) == UNCERTAINTY_COLUMNS
    assert loaded.ranks.empty


def test_bootstrap_zero_grades_no_claim(stage: tuple[Path, Explanations, Study], tmp_path: Path) -> None:
    results, _, _ = stage
    outcome = explain(results, tmp_path / "none", bootstrap=0, plots=False, influence=False)
    assert outcome.claims.empty
    assert outcome.narratives["y"]["statements"][0].startswith("No claims are graded for peel strength")


def test_a_bad_bootstrap_value_is_one_line(
    stage: tuple[Path, Explanations, Study], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    results, _, _ = stage
    with pytest.raises(SpecError, match=r"bootstrap: expected a whole number of refits ≥ 0 .* got -2"):
        explain(results, tmp_path / "bad", bootstrap=-2)
    with pytest.raises(SpecError, match=r"models\.bootstrap"):
        study_from_dict({**STUDY.model_dump(exclude_defaults=True), "models": {"bootstrap": -1}})
    assert STUDY.models.bootstrap == DEFAULT_BOOTSTRAP
    with pytest.raises(SystemExit) as stopped:
        main(["explain", str(results), "--bootstrap", "-3", "-o", str(tmp_path / "cli"), "--quiet"])
    assert stopped.value.code == 1
    line = capsys.readouterr().err.strip()
    assert re.fullmatch(r"error: bootstrap: expected a whole number of refits ≥ 0 \(0: none\), got -3", line)
    assert not (tmp_path / "cli").exists()


def test_no_message_prints_a_value_equal_to_the_limit_it_is_said_to_miss() -> None:
    from glassline.models import CollinearityLimits

    found = CollinearityLimits(soft_vif=5.0000001, hard_vif=5.0).problem()
    assert found is not None
    assert found[1] == "expected ≥ the soft VIF limit 5.0000001, got 5"
    found = CollinearityLimits(soft_r=0.30004, hard_r=0.3).problem()
    assert found is not None
    assert found[1] == "expected ≥ the soft |r| limit 0.30004, got 0.3"


def test_a_near_tie_message_keeps_its_digits(rng: np.random.Generator) -> None:
    fit = make_fit(lambda a, b: a + b, rng)
    draws = bootstrap_draws(fit, groups_of(fit), n_boot=5, seed=2, bounds=BOUNDS)
    # 159 of 200 refits keep a ahead: 79.5 %, which one decimal place would print as the limit 80 %
    ahead = np.zeros(200, dtype=bool)
    ahead[:159] = True
    importances = np.where(ahead[:, None], [[2.0, 1.0]], [[1.0, 2.0]])
    forged = type(draws)(**{**draws.__dict__, "importance": np.array([2.0, 1.0]), "importances": importances})
    uncertainty = uncertainty_table({fit.key: forged}, STUDY)
    ties = [w for w in claim_warnings(STUDY, {"y": fit}, {fit.key: forged}, uncertainty) if w["kind"] == "tie"]
    assert len(ties) == 1
    assert "ranks ahead in 79.5 % of 200 bootstrap refits (a ranking is stated from 80 % on)" in ties[0]["message"]
