"""Graded collinearity and ``explanations/warnings.csv``.

A study of 24 randomly placed configurations in 5 factors, as a real study gets them: by chance one pair
of factors correlates at |r| ≈ 0.35 (VIF well below 2). It is explained, with a ``collinear`` warning.
A scenario with a near-copy input (VIF far beyond the hard limit) is withheld, and said so.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from glassline import load_study
from glassline.cli import main
from glassline.exceptions import DataError, SpecError
from glassline.explain import WARNING_COLUMNS, WARNING_KINDS, Explanations, explain, explanation_warnings
from glassline.explain._warnings import min_configurations, model_terms
from glassline.models import collinearity, compare, load_fits
from glassline.spec import study_from_dict

FACTORS = ("x1", "x2", "x3", "x4", "x5")
N_CONFIG = 24

STUDY_TOML = (
    '\nname = "chance correlation"\nseed = 11\n'
    + "".join(f'\n[[factors]]\nname = "{f}"\nlow = 0.0\nhigh = 1.0\n' for f in FACTORS)
    + """
[[measured]]
name = "x1_copy"

[[responses]]
name = "y"
label = "Peel strength"
unit = "kPa"

[[responses]]
name = "noise"

[scenarios]
factors = ["x1", "x2", "x3", "x4", "x5"]
copy = ["x1", "x1_copy", "x2"]

[data]
group = "configuration"

[split]
test_fraction = 0.2
cv_folds = 4
cv_repeats = 1
"""
)


def chance_design(rng: np.random.Generator) -> np.ndarray:
    """24 random configurations in [0, 1]^5 whose largest |r| happens to be 0.33–0.40 (max VIF < 2)."""
    while True:
        x = rng.uniform(0.0, 1.0, size=(N_CONFIG, len(FACTORS)))
        check = collinearity(pd.DataFrame(x, columns=list(FACTORS)))
        if 0.33 <= check.max_abs_r <= 0.40 and check.max_vif < 2.0:
            return x


def chance_table(seed: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = chance_design(rng)
    rows: list[dict[str, Any]] = []
    for c in range(N_CONFIG):
        x1, x2, x3, x4, x5 = x[c]
        effect = rng.normal(0.0, 0.05)
        copy = x1 + rng.normal(0.0, 0.005)
        for _ in range(3):
            y = 3.0 * x1 - 2.0 * x2 + 1.5 * x3 + 0.8 * x4 - 1.0 * x5 + effect + rng.normal(0.0, 0.05)
            rows.append(
                {
                    "configuration": f"C{c + 1:02d}",
                    **dict(zip(FACTORS, (x1, x2, x3, x4, x5), strict=True)),
                    "x1_copy": copy,
                    "y": y,
                    "noise": rng.normal(0.0, 1.0),
                }
            )
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def results_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("chance")
    (folder / "study.toml").write_text(STUDY_TOML, encoding="utf-8")
    study = load_study(folder / "study.toml")
    comparison = compare(study, chance_table(), families=["mlr", "poly2"], n_jobs=1)
    comparison.write(folder / "results", plots=False)
    return folder / "results"


@pytest.fixture(scope="module")
def outcome(results_dir: Path) -> Explanations:
    return explain(results_dir, plots=False, influence=False)


def _warnings(folder: Path) -> pd.DataFrame:
    return pd.read_csv(folder / "warnings.csv", keep_default_na=False)


def test_the_design_has_a_chance_correlation_only(results_dir: Path) -> None:
    table = pd.read_csv(results_dir / "collinearity.csv")
    row = table[(table["target"] == "y") & (table["scenario"] == "factors")].iloc[0]
    assert 0.33 <= row["max_abs_r"] <= 0.40
    assert row["max_vif"] < 2.0
    assert bool(row["explainable"])
    assert bool(row["collinear"])
    assert "|r|" in row["warning"]
    copy = table[(table["target"] == "y") & (table["scenario"] == "copy")].iloc[0]
    assert copy["max_vif"] > 10
    assert not bool(copy["explainable"])


def test_a_chance_correlation_is_explained_with_a_collinear_warning(outcome: Explanations, results_dir: Path) -> None:
    assert ("y", "factors", "mlr") in outcome.shap
    out = results_dir / "explanations"
    warnings = _warnings(out)
    assert list(warnings.columns) == WARNING_COLUMNS
    assert set(warnings["kind"]) <= set(WARNING_KINDS)
    pair = pd.read_csv(results_dir / "collinearity.csv").set_index(["target", "scenario"]).loc[("y", "factors")]
    a, b = (part.strip() for part in str(pair["worst_pair"]).split("~"))
    row = warnings[(warnings["target"] == "y") & (warnings["scenario"] == "factors")]
    # and a lack_of_fit row: the configuration effect (SD 0.05, as large as the replicates') moves the
    # configurations' means off the line by more than their replicates scatter (lead mlr, p ≈ 0.01)
    assert list(row["kind"]) == ["collinear", "lack_of_fit"]
    assert row["factor"].iloc[0] == f"{a}~{b}"
    assert "explained" in row["message"].iloc[0]
    assert "withheld" not in row["message"].iloc[0]
    entry = outcome.narratives["y"]
    assert entry["model"]["scenario"] == "factors"
    assert [w["kind"] for w in entry["warnings"]] == ["collinear", "lack_of_fit"]
    assert any(s.startswith("Read with care") and "correlated" in s for s in entry["statements"])
    assert "collinear" in entry["roles"]["data_scientist"]
    assert "Read with care" in entry["roles"]["manager"]
    graded = pd.read_csv(out / "collinearity.csv").set_index(["target", "scenario"])
    assert graded.loc[("y", "factors"), "status"] == "collinear"
    assert graded.loc[("y", "copy"), "status"] == "withheld"


def test_a_near_copy_input_is_withheld_and_said(outcome: Explanations, results_dir: Path) -> None:
    assert not (outcome.importance["scenario"] == "copy").any()
    assert not any(key[1] == "copy" for key in outcome.shap)
    assert any(n.startswith("y / copy: not explainable, explanations withheld") for n in outcome.notes)
    assert "near-copies" in (results_dir / "explanations" / "notes.txt").read_text(encoding="utf-8")
    warnings = _warnings(results_dir / "explanations")
    row = warnings[(warnings["target"] == "y") & (warnings["scenario"] == "copy")].iloc[0]
    assert row["kind"] == "collinear"
    assert "withheld" in row["message"]
    assert set(row["factor"].split("~")) <= {"x1", "x1_copy", "x2"}
    assert "x1" in row["factor"]


def test_a_poor_lead_model_is_warned(outcome: Explanations, results_dir: Path) -> None:
    warnings = _warnings(results_dir / "explanations")
    low = warnings[warnings["kind"] == "low_model_quality"]
    assert "noise" in set(low["target"])
    assert "y" not in set(low["target"])
    assert "low_model_quality" in outcome.narratives["noise"]["roles"]["data_scientist"]


def test_few_configurations_for_the_terms_are_warned(outcome: Explanations) -> None:
    fits = outcome.fits
    poly = load_fits(fits.folder)[("y", "factors", "poly2")] if fits.folder else None
    assert poly is not None
    mlr = fits[("y", "factors", "mlr")]
    assert model_terms(mlr) == 6  # five slopes and the intercept
    assert model_terms(poly) == 21  # 5 + 5 squares + 10 products + intercept
    assert min_configurations(poly) > N_CONFIG >= min_configurations(mlr)
    results = fits.results
    # rows are the 3 replicates of each configuration, in order (row_id // 3)
    groups = {f.key: pd.Series({i: f"C{int(i) // 3:02d}" for i in f.X_train.index}) for f in (poly, mlr)}
    table = explanation_warnings({}, {"y": poly}, results, groups)
    assert list(table.columns) == WARNING_COLUMNS
    few = table[table["kind"] == "few_groups"]
    assert len(few) == 1
    assert "21 terms" in few["message"].iloc[0]
    assert "few_groups" not in set(explanation_warnings({}, {"y": mlr}, results, groups)["kind"])
    # without groups every training row counts as its own configuration
    assert "few_groups" not in set(explanation_warnings({}, {"y": poly}, results, {})["kind"])


def test_no_warnings_is_an_empty_table_with_the_header(outcome: Explanations, tmp_path: Path) -> None:
    table = explanation_warnings({}, {}, outcome.fits.results, {})
    assert list(table.columns) == WARNING_COLUMNS
    assert table.empty
    empty = Explanations(**{**outcome.__dict__, "warnings": table})
    empty.write(tmp_path, plots=False)
    assert (tmp_path / "warnings.csv").read_text(encoding="utf-8").strip() == ",".join(WARNING_COLUMNS)
    assert Explanations.load(tmp_path, fits=outcome.fits, study=outcome.study).warnings.empty


def _study_file(tmp_path: Path, models: str) -> Path:
    path = tmp_path / "limits.toml"
    path.write_text(STUDY_TOML + "\n[models]\n" + models + "\n", encoding="utf-8")
    return path


def test_limits_from_the_study_file_take_effect(results_dir: Path, tmp_path: Path) -> None:
    loose = _study_file(tmp_path, "collinearity_soft_r = 0.6\ncollinearity_soft_vif = 4.0")
    relaxed = explain(results_dir, tmp_path / "relaxed", study=loose, plots=False, influence=False)
    warnings = relaxed.warnings
    assert warnings[(warnings["scenario"] == "factors") & (warnings["kind"] == "collinear")].empty
    assert not warnings[(warnings["scenario"] == "copy") & (warnings["kind"] == "collinear")].empty
    strict = _study_file(tmp_path, "collinearity_soft_vif = 1.0\ncollinearity_hard_vif = 1.0001")
    with pytest.raises(DataError, match="nothing to explain"):
        explain(results_dir, tmp_path / "strict", study=strict, plots=False, influence=False)


def _cli(argv: list[str]) -> int:
    """Exit code of ``glassline ARGV``."""
    with pytest.raises(SystemExit) as info:
        main(argv)
    return int(info.value.code or 0)


def test_limits_from_the_cli_take_effect_and_override_the_study_file(
    results_dir: Path, tmp_path: Path, capsys: Any
) -> None:
    assert _cli(["explain", str(results_dir), "-o", str(tmp_path / "a"), "--no-plots", "-q", "--r-soft", "0.6"]) == 0
    a = _warnings(tmp_path / "a")
    assert a[(a["scenario"] == "factors") & (a["kind"] == "collinear")].empty
    loose = _study_file(tmp_path, "collinearity_soft_r = 0.6")
    argv = ["explain", str(results_dir), "-o", str(tmp_path / "b"), "--study", str(loose), "--no-plots", "-q"]
    assert _cli([*argv, "--r-soft", "0.3"]) == 0
    b = _warnings(tmp_path / "b")
    assert list(b.loc[(b["target"] == "y") & (b["scenario"] == "factors"), "kind"]) == ["collinear", "lack_of_fit"]
    graded = pd.read_csv(tmp_path / "b" / "collinearity.csv")
    assert (graded["soft_r_limit"] == 0.3).all()
    capsys.readouterr()
    assert _cli([*argv, "--vif-soft", "1", "--vif-hard", "1.0001"]) != 0
    assert "nothing to explain" in capsys.readouterr().err.replace("\n", " ")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--vif-hard", "3"], "vif_hard (--vif-hard): expected ≥ the soft VIF limit 5, got 3"),
        (["--vif-soft", "-1"], "vif_soft (--vif-soft): expected a VIF limit ≥ 1"),
        (["--r-soft", "1.5"], "r_soft (--r-soft): expected an |r| limit in (0, 1], got 1.5"),
        (["--r-soft", "0.5", "--r-hard", "0.4"], "r_hard (--r-hard): expected ≥ the soft |r| limit 0.5, got 0.4"),
    ],
)
def test_bad_limits_on_the_cli_are_refused_in_one_line(
    results_dir: Path, tmp_path: Path, args: list[str], message: str, capsys: Any
) -> None:
    assert _cli(["explain", str(results_dir), "-o", str(tmp_path / "x"), "--no-plots", "-q", *args]) != 0
    err = capsys.readouterr().err
    assert message in err.replace("\n", " ")
    assert not (tmp_path / "x").exists()


def test_bad_limits_in_python_are_refused(results_dir: Path) -> None:
    with pytest.raises(SpecError, match=r"explain: collinearity limits: vif_hard \(--vif-hard\)"):
        explain(results_dir, plots=False, influence=False, vif_soft=6.0, vif_hard=5.0)


@pytest.mark.parametrize(
    ("models", "field", "expected"),
    [
        ("collinearity_hard_vif = 3.0", "models.collinearity_hard_vif", "expected ≥ the soft VIF limit 5, got 3"),
        ("collinearity_soft_r = 1.5", "models.collinearity_soft_r", "less than or equal to 1"),
        ("collinearity_soft_vif = -2.0", "models.collinearity_soft_vif", "greater than or equal to 1"),
        (
            "collinearity_soft_r = 0.5\ncollinearity_hard_r = 0.4",
            "models.collinearity_hard_r",
            "expected ≥ the soft |r| limit 0.5, got 0.4",
        ),
    ],
)
def test_bad_limits_in_the_study_file_are_refused_in_one_line(
    tmp_path: Path, models: str, field: str, expected: str
) -> None:
    path = _study_file(tmp_path, models)
    with pytest.raises(SpecError) as info:
        load_study(path)
    text = str(info.value)
    assert "limits.toml" in text
    assert field in text
    assert expected in text
    assert "\n" not in text


def test_study_limits_default_to_the_sourced_constants() -> None:
    from glassline.models import HARD_R_LIMIT, HARD_VIF_LIMIT, SOFT_R_LIMIT, SOFT_VIF_LIMIT

    study = study_from_dict(
        {"name": "s", "factors": [{"name": "a", "low": 0, "high": 1}], "responses": [{"name": "y"}]}
    )
    limits = study.models.collinearity_limits
    assert (limits.soft_vif, limits.hard_vif, limits.soft_r, limits.hard_r) == (
        SOFT_VIF_LIMIT,
        HARD_VIF_LIMIT,
        SOFT_R_LIMIT,
        HARD_R_LIMIT,
    )
    assert (SOFT_VIF_LIMIT, HARD_VIF_LIMIT, SOFT_R_LIMIT) == (5.0, 10.0, 0.3)


def test_a_constant_input_is_withheld_and_named(outcome: Explanations, rng: np.random.Generator) -> None:
    frame = pd.DataFrame({"a": rng.normal(size=20), "k": np.ones(20)})
    checks = {("y", "flat"): collinearity(frame)}
    table = explanation_warnings(checks, {}, outcome.fits.results, {})
    assert list(table["factor"]) == ["k"]
    assert list(table["kind"]) == ["collinear"]
    assert "'k' is constant" in table["message"].iloc[0]
    assert "withheld" in table["message"].iloc[0]


def test_within_the_soft_limits_there_is_no_collinear_warning(outcome: Explanations) -> None:
    grid = np.array([[a, b, c] for a in (-1, 1) for b in (-1, 1) for c in (-1, 1)], dtype=float)
    checks = {("y", "factorial"): collinearity(pd.DataFrame(grid, columns=["a", "b", "c"]))}
    assert explanation_warnings(checks, {}, outcome.fits.results, {}).empty


def test_the_lead_model_prefers_a_scenario_without_a_collinear_warning(results_dir: Path) -> None:
    from glassline.explain._explanations import lead_fits
    from glassline.models import Fits

    every = load_fits(results_dir)
    table = every.results.copy()
    table["explainable"] = True  # both scenarios explainable, to compare the tiers alone
    fits = Fits(table, {key: every[key] for key in every}, folder=results_dir)
    keys = set(fits)
    best = table[table["best"].astype(bool) & (table["target"] == "y")].set_index("scenario")["cv_r2_pooled"]
    assert best["factors"] > best["copy"]  # the five-factor model predicts better
    assert lead_fits(fits, ["y"], keys)["y"].scenario == "factors"
    assert lead_fits(fits, ["y"], keys, [("y", "factors")])["y"].scenario == "copy"
    assert lead_fits(fits, ["y"], keys, [("y", "factors"), ("y", "copy")])["y"].scenario == "factors"


def test_the_written_lead_is_read_back(outcome: Explanations, results_dir: Path) -> None:
    back = Explanations.load(results_dir / "explanations")
    assert {t: f.key for t, f in back.lead.items()} == {t: f.key for t, f in outcome.lead.items()}
    assert list(back.warnings.columns) == WARNING_COLUMNS
    assert len(back.warnings) == len(outcome.warnings)


def test_a_study_run_passes_the_limits_through(tmp_path: Path) -> None:
    from glassline import StudyRun

    study = load_study(_study_file(tmp_path, "collinearity_soft_r = 0.6"))
    table = tmp_path / "measurements.csv"
    chance_table().to_csv(table, index=False)
    run = StudyRun(study, out=tmp_path / "run")
    run.prepare(table)
    run.fit(families=["mlr"], n_jobs=1, plots=False)
    from_study = run.explain(n_jobs=1, plots=False, influence=False)
    assert from_study.settings["collinearity_limits"]["soft_r"] == 0.6
    assert from_study.warnings[from_study.warnings["scenario"] == "factors"].query("kind == 'collinear'").empty
    given = run.explain(n_jobs=1, plots=False, influence=False, r_soft=0.3)
    assert given.settings["collinearity_limits"]["soft_r"] == 0.3
    assert not given.warnings[given.warnings["scenario"] == "factors"].query("kind == 'collinear'").empty
