"""The explanation stage end to end on a small synthetic study: files, methods, agreement, narratives, CLI.

The synthetic response is y = 3·x1 − 2·x2² + 1.5·x1·x3 + configuration effect + noise on [0, 1]³:
x1 dominates and raises y, x2 lowers it, x3 raises it a little.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression
from typer.testing import CliRunner

from glassline import load_study
from glassline.cli import app, main
from glassline.exceptions import DataError, SpecError
from glassline.explain import (
    IMPORTANCE_COLUMNS,
    Explanations,
    explain,
    normalized_coefficients,
    parse_requirement,
    prediction_interval,
    process_window,
)
from glassline.explain._narrative import fmt
from glassline.models import compare

STUDY_TOML = """
name = "synthetic explain"
seed = 7

[[factors]]
name = "x1"
label = "Binder content"
unit = "%"
low = 0.0
high = 1.0

[[factors]]
name = "x2"
label = "Line speed"
unit = "m/min"
low = 0.0
high = 1.0

[[factors]]
name = "x3"
label = "Roll temperature"
unit = "°C"
low = 0.0
high = 1.0

[[responses]]
name = "y"
label = "Peel strength"
unit = "kPa"
expect = { x1 = "increasing", x2 = "decreasing", x3 = "decreasing" }

[scenarios]
factors = ["x1", "x2", "x3"]

[data]
group = "configuration"

[split]
test_fraction = 0.2
cv_folds = 4
cv_repeats = 1
"""


def synthetic_table(seed: int = 20231, n_config: int = 17, n_rep: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    while True:  # nearly independent factors, as a designed experiment gives (the scenario stays explainable)
        settings = rng.uniform(0.0, 1.0, size=(n_config, 3))
        if np.abs(np.corrcoef(settings, rowvar=False)[np.triu_indices(3, 1)]).max() < 0.2:
            break
    rows: list[dict[str, Any]] = []
    for c in range(n_config):
        effect = rng.normal(0.0, 0.1)
        x1, x2, x3 = settings[c]
        for _ in range(n_rep):
            y = 3.0 * x1 - 2.0 * x2**2 + 1.5 * x1 * x3 + effect + rng.normal(0.0, 0.05)
            rows.append({"configuration": f"C{c + 1:02d}", "x1": x1, "x2": x2, "x3": x3, "y": y})
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def results_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("explain")
    (folder / "study.toml").write_text(STUDY_TOML, encoding="utf-8")
    study = load_study(folder / "study.toml")
    comparison = compare(study, synthetic_table(), families=["mlr", "xgb"], n_jobs=1)
    comparison.write(folder / "results", plots=False)
    return folder / "results"


@pytest.fixture(scope="module")
def outcome(results_dir: Path) -> Explanations:
    return explain(results_dir, bootstrap=5)


def test_files_written(outcome: Explanations, results_dir: Path) -> None:
    out = results_dir / "explanations"
    for name in (
        "importance.csv",
        "shap_values.parquet",
        "agreement.csv",
        "expectations.csv",
        "influential.csv",
        "narratives.json",
        "narratives.md",
    ):
        assert (out / name).exists(), name
    figures = out / "figures" / "y" / "factors"
    for name in ("mlr_beeswarm.png", "mlr_coefficients.png", "xgb_mdi.png", "xgb_beeswarm.png"):
        assert (figures / name).stat().st_size > 1000, name
    assert list(figures.glob("contour_*.png"))
    assert list(figures.glob("dependence_*.png"))
    # the report shows no bar chart: written only on request
    assert not list(figures.glob("*_bar.png"))


def test_all_figures_adds_the_bar_charts(results_dir: Path, tmp_path: Path) -> None:
    explain(results_dir, tmp_path / "every", bootstrap=0, families=["mlr"], influence=False, all_figures=True)
    assert (tmp_path / "every" / "figures" / "y" / "factors" / "mlr_bar.png").stat().st_size > 1000


def test_importance_table(outcome: Explanations, results_dir: Path) -> None:
    table = pd.read_csv(results_dir / "explanations" / "importance.csv")
    assert tuple(table.columns) == IMPORTANCE_COLUMNS
    methods = {f: set(part["method"]) for f, part in table.groupby("family")}
    assert methods == {"mlr": {"shap", "coef", "permutation"}, "xgb": {"shap", "mdi", "permutation"}}
    for _, part in table.groupby(["family", "method"]):
        assert sorted(part["rank"]) == [1, 2, 3]
        assert part["share"].sum() == pytest.approx(1.0)
        assert set(part["direction"]) <= {-1, 0, 1}
    for method in ("shap", "mdi", "coef"):
        rows = table[table["method"] == method]
        assert rows[["ci_low", "ci_high"]].notna().all().all(), method
        assert (rows["ci_low"] <= rows["ci_high"]).all()
    for method in ("shap", "coef"):
        assert table.loc[table["method"] == method, "direction_agreement"].between(0, 1).all()


def test_shap_ranks_the_dominant_factor_first_with_its_direction(outcome: Explanations) -> None:
    imp = outcome.importance
    for family in ("mlr", "xgb"):
        rows = imp[(imp["method"] == "shap") & (imp["family"] == family)].set_index("feature")
        assert rows.loc["x1", "rank"] == 1
        assert rows.loc["x1", "direction"] == 1
        assert rows.loc["x2", "direction"] == -1


def test_shap_values_are_efficient(outcome: Explanations, results_dir: Path) -> None:
    table = pd.read_parquet(results_dir / "explanations" / "shap_values.parquet")
    for key, fit in ((k, outcome.fits[k]) for k in outcome.shap):
        part = table[(table["family"] == key[2])]
        total = part.groupby("row_id").agg(shap=("shap", "sum"), base=("base_value", "first"))
        predicted = pd.Series(fit.predict(fit.X_train), index=fit.X_train.index)
        np.testing.assert_allclose(total["shap"] + total["base"], predicted.loc[total.index], atol=1e-6)


def test_normalized_coefficients_as_the_paper(outcome: Explanations) -> None:
    fit = outcome.fits[("y", "factors", "mlr")]
    X = fit.X_train.to_numpy(float)
    z = (X - X.mean(axis=0)) / X.std(axis=0)
    c = LinearRegression().fit(z, fit.y_train.to_numpy(float)).coef_
    expected = c / np.linalg.norm(c)
    got = normalized_coefficients(fit)
    assert got is not None
    np.testing.assert_allclose(got, expected, rtol=1e-8)
    assert np.linalg.norm(got) == pytest.approx(1.0)
    rows = outcome.importance.query("method == 'coef'").set_index("feature")
    np.testing.assert_allclose(rows.loc[list(fit.inputs), "importance"], np.abs(expected), rtol=1e-8)
    assert normalized_coefficients(outcome.fits[("y", "factors", "xgb")]) is None


def test_agreement(outcome: Explanations) -> None:
    agree = outcome.agreement
    n = len(outcome.importance.groupby(["method", "family"]))
    assert len(agree) == n * (n - 1) // 2
    assert agree["kendall_tau"].dropna().between(-1, 1).all()
    assert {"r2_test_a", "cv_r2_b", "disagree"} <= set(agree.columns)


def test_expectations_pass_and_the_false_one_fails(outcome: Explanations) -> None:
    table = outcome.expectations.set_index(["family", "feature"])
    for family in ("mlr", "xgb"):
        assert table.loc[(family, "x1"), "passed"]
        assert table.loc[(family, "x2"), "passed"]
        assert not table.loc[(family, "x3"), "passed"]  # the truth raises y with x3


def _pd(fit: Any, feature: str, value: float) -> float:
    rows = fit.X_train.copy()
    rows[feature] = value
    return float(fit.predict(rows).mean())


def test_narrative_directions_and_sizes_match_the_model(outcome: Explanations) -> None:
    entry = outcome.narratives["y"]
    fit = outcome.lead["y"]
    assert entry["model"]["family"] == fit.family
    text = " ".join(entry["statements"])
    for effect in entry["effects"]:
        low, high = _pd(fit, effect["feature"], 0.0), _pd(fit, effect["feature"], 1.0)
        truth = high - low
        if effect["direction"] != 0:
            assert effect["direction"] == np.sign(truth)
            assert effect["change"] == pytest.approx(abs(truth), rel=1e-9)
            assert f"about {fmt(abs(truth), 2)} kPa" in effect["sentence"]
            assert effect["sentence"] in text or effect["sentence"][1:] in text
            verb = "Raising" if truth > 0 else "Lowering"
            assert effect["sentence"].lower().startswith(verb.lower())
    assert entry["effects"][0]["feature"] == "x1"
    assert entry["statements"][0].startswith("Binder content drives peel strength most")
    drill = entry["roles"]["technician"]
    assert drill["base_value"] + sum(drill["contributions"].values()) == pytest.approx(drill["prediction"])
    row = fit.X_train.iloc[[0]]
    assert drill["prediction"] == pytest.approx(float(fit.predict(row)[0]))
    for role in ("data_scientist", "domain_expert", "manager"):
        assert entry["roles"][role]


def test_influential_points(outcome: Explanations) -> None:
    # the stage lists influential rows of the published candidates (best family per target × scenario)
    results = outcome.fits.results
    best = set(results.loc[results["best"].astype(bool), "family"])
    assert set(outcome.influential["family"]) == best
    # the function itself takes any fit: Cook's distance for linear ones, leave-one-configuration-out else
    from glassline.explain import influential_points

    fits = [outcome.fits[key] for key in outcome.fits]
    groups = {fit.key: fit.X_train.index.to_series().map(lambda i: f"C{int(i) // 3:02d}") for fit in fits}
    table = influential_points(fits, groups, n_jobs=2)
    assert set(table["family"]) == {"mlr", "xgb"}
    assert set(table.loc[table["family"] == "mlr", "method"]) == {"cooks_distance"}
    assert set(table.loc[table["family"] == "xgb", "method"]) == {"leave_one_configuration_out"}
    assert table["candidate"].any()


def test_cli(results_dir: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "ex"
    result = runner.invoke(app, ["explain", str(results_dir), "--out", str(out), "-f", "mlr", "--no-plots", "-q"])
    assert result.exit_code == 0, result.output
    assert (out / "importance.csv").exists()
    assert set(pd.read_csv(out / "importance.csv")["family"]) == {"mlr"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["explain", "nowhere"], "no such folder"),
        (["explain", "."], "not a results folder"),
        (["explain", "RESULTS", "-t", "yy"], "Did you mean 'y'"),
        (["explain", "RESULTS", "-f", "svm"], "'svm' is not in the results"),
    ],
)
def test_cli_errors(
    results_dir: Path, tmp_path: Path, args: list[str], message: str, monkeypatch: Any, capsys: Any
) -> None:
    monkeypatch.chdir(tmp_path)
    argv = [str(results_dir) if a == "RESULTS" else a for a in args]
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code != 0
    assert message in capsys.readouterr().err.replace("\n", " ")


def test_prediction_interval_from_the_results_folder(outcome: Explanations, results_dir: Path) -> None:
    fit = outcome.fits[("y", "factors", "mlr")]
    table = prediction_interval(fit, fit.X_test, 0.8, results_dir=results_dir)
    predictions = pd.read_parquet(results_dir / "predictions.parquet")
    cv = predictions.query("family == 'mlr' and split == 'cv'")
    residuals = np.sort(np.abs(cv["y_true"] - cv["y_pred"]).to_numpy())
    k = int(np.ceil((len(residuals) + 1) * 0.8))
    np.testing.assert_allclose(table["upper"] - table["prediction"], residuals[k - 1])


def test_process_window(outcome: Explanations, results_dir: Path) -> None:
    window = process_window(outcome.fits, outcome.study, ["y>=1.5", "y < 3"], level=0.8)
    assert window.models["y"].scenario == "factors"
    grid = window.grid
    assert 0 < window.feasible_fraction < 1
    ok = grid[grid["feasible"]]
    assert (ok["y_lower"] >= 1.5).all()
    assert (ok["y_upper"] < 3).all()
    assert window.recommended is not None
    assert 1.5 <= window.recommended["y_pred"] < 3
    # the recommended setting has the largest worst-case margin of the feasible points
    assert ok["margin"].max() == pytest.approx(grid.loc[grid["feasible"], "margin"].max())


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("y=>3", "expected RESPONSE OP NUMBER"),
        ("y >= three", "expected RESPONSE OP NUMBER"),
        ("yy >= 3", "Did you mean 'y'"),
    ],
)
def test_bad_requirements(outcome: Explanations, text: str, message: str) -> None:
    with pytest.raises(SpecError, match=message):
        parse_requirement(text, outcome.study)


def test_cli_window(results_dir: Path, tmp_path: Path, capsys: Any) -> None:
    out = tmp_path / "w"
    with pytest.raises(SystemExit) as info:
        main(["explain", str(results_dir), "-o", str(out), "-f", "mlr", "-r", "y>=1.5", "--require", "y<=3.5"])
    assert info.value.code == 0
    assert "process window" in capsys.readouterr().out
    summary = json.loads((out / "window.json").read_text(encoding="utf-8"))
    assert summary["requirements"] == ["y >= 1.5", "y <= 3.5"]
    assert list((out / "figures" / "window").glob("y_*.png"))


def test_no_physics_check_without_a_domain(outcome: Explanations, results_dir: Path) -> None:
    assert outcome.physics is None
    assert not (results_dir / "explanations" / "physics_check.csv").exists()


def test_unexplainable_scenarios_are_skipped_or_flagged(results_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / "results"
    shutil.copytree(results_dir, copy, ignore=shutil.ignore_patterns("explanations"))
    table = pd.read_csv(copy / "results.csv")
    table["explainable"] = False
    table.to_csv(copy / "results.csv", index=False)
    study = load_study(results_dir.parent / "study.toml")
    with pytest.raises(DataError, match="nothing to explain"):
        explain(copy, study=study, plots=False, influence=False)
    flagged = explain(copy, study=study, plots=False, influence=False, include_unexplainable=True)
    assert not flagged.importance["explainable"].any()
    assert "collinear" in flagged.narratives["y"]["roles"]["data_scientist"]


def test_study_must_be_known(results_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / "results"
    shutil.copytree(results_dir, copy, ignore=shutil.ignore_patterns("explanations"))
    assert explain(copy, families=["mlr"], plots=False, influence=False).study.name == "synthetic explain"
    other = tmp_path / "other.toml"
    other.write_text(STUDY_TOML.replace("synthetic explain", "another name"), encoding="utf-8")
    given = explain(copy, study=other, families=["mlr"], plots=False, influence=False)
    assert given.study.name == "another name"
    assert any("not the study file these results were fitted from" in note for note in given.notes)
    (copy / "study.toml").unlink()  # no copy, no study.toml beside it: ask for the file
    with pytest.raises(SpecError, match="--study"):
        explain(copy, plots=False)
