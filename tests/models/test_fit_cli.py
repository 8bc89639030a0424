"""``glassline fit``: a non-electrode table (scikit-learn's diabetes data) end to end, and clear errors."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd
import pytest
from sklearn.datasets import load_diabetes

from glassline.cli import main
from glassline.models import family_names, load_fits


def run(args: list[str]) -> int:
    with pytest.raises(SystemExit) as info:
        main(args)
    return int(info.value.code or 0)


@pytest.fixture(scope="module")
def diabetes(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The diabetes table as a CSV and its own study file: no group column, two scenarios."""
    folder = tmp_path_factory.mktemp("diabetes")
    frame = load_diabetes(as_frame=True, scaled=False).frame.rename(columns={"target": "progression"})
    data = folder / "diabetes.csv"
    frame.to_csv(data, index=False)
    factors = "".join(
        f'[[factors]]\nname = "{c}"\nlow = {frame[c].min()}\nhigh = {frame[c].max()}\n\n' for c in ("age", "bmi", "bp")
    )
    measured = "".join(f'[[measured]]\nname = "{c}"\nunit = "mmol/L"\n\n' for c in ("s1", "s2", "s3", "s4", "s5", "s6"))
    spec = folder / "diabetes.toml"
    spec.write_text(
        'name = "Diabetes progression"\nseed = 3\n\n'
        + factors
        + measured
        + '[[responses]]\nname = "progression"\nlabel = "Disease progression after one year"\n\n'
        + '[scenarios]\nclinical = ["age", "bmi", "bp"]\nserum = ["s1", "s2", "s3", "s4", "s5", "s6"]\n\n'
        + "[split]\ncv_folds = 3\ncv_repeats = 1\n",
        encoding="utf-8",
    )
    return spec, data


@pytest.mark.slow
def test_diabetes_runs_through_glassline_fit(
    diabetes: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec, data = diabetes
    out = tmp_path / "results"
    assert run(["fit", str(spec), "--data", str(data), "--out", str(out), "--jobs", "2", "--quiet"]) == 0
    assert "ok" in capsys.readouterr().out
    results = pd.read_csv(out / "results.csv")
    assert len(results) == 2 * len(family_names())  # scenarios × families
    assert results["cv_scheme"].str.contains("no group column").all()
    assert (results.groupby("scenario")["best"].sum() == 1).all()
    # well-known: the clinical inputs explain a good part of the progression, not all of it
    clinical = results[results["scenario"] == "clinical"]
    assert 0.2 < clinical["cv_r2_pooled"].max() < 0.6
    # s1 and s2 (total and LDL cholesterol) correlate at r ≈ 0.9: the serum scenario is not explainable
    assert not results.loc[results["scenario"] == "serum", "explainable"].any()
    fits = load_fits(out)
    fit = fits.best("progression", "clinical")
    assert fit.predict(pd.read_csv(data).head(3)).shape == (3,)
    assert (out / "parity" / "progression.png").is_file()


def test_fit_with_a_selection_and_summary(
    diabetes: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec, data = diabetes
    out = tmp_path / "results"
    args = ["fit", str(spec), "-d", str(data), "-o", str(out), "-f", "mlr,poly2", "-s", "clinical", "-j", "1"]
    assert run([*args, "--no-plots"]) == 0
    printed = capsys.readouterr().out
    assert "best family per target × scenario" in printed
    assert "no group column" in printed
    results = pd.read_csv(out / "results.csv")
    assert sorted(results["family"]) == ["mlr", "poly2"]
    assert not (out / "parity").exists()
    # the folder keeps the study file it was fitted from, byte for byte, and run.json says which and its hash
    assert (out / "study.toml").read_bytes() == spec.read_bytes()
    run_json = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert run_json["study_file"] == str(spec.resolve())
    assert run_json["study_sha256"] == hashlib.sha256(spec.read_bytes()).hexdigest()


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (["--families", "svm"], "unknown name 'svm'"),
        (["--scenarios", "serun"], "Did you mean 'serum'"),
        (["--targets", "progress"], "Did you mean 'progression'"),
    ],
)
def test_bad_selection_is_one_clear_error(
    diabetes: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], needle: str
) -> None:
    spec, data = diabetes
    assert run(["fit", str(spec), "--data", str(data), "--out", str(tmp_path), *extra]) == 1
    err = capsys.readouterr().err
    assert needle in err
    assert "Traceback" not in err


def test_missing_column_names_the_file(
    diabetes: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec, data = diabetes
    bad = tmp_path / "bad.csv"
    pd.read_csv(data).rename(columns={"bmi": "BMI"}).to_csv(bad, index=False)
    assert run(["fit", str(spec), "--data", str(bad), "--out", str(tmp_path / "r")]) == 1
    err = capsys.readouterr().err
    assert "bad.csv" in err
    assert "missing column 'bmi'" in err
    assert "Did you mean 'BMI'" in err


def test_unknown_family_in_the_study_file(
    diabetes: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec, data = diabetes
    bad = tmp_path / "bad.toml"
    bad.write_text(spec.read_text(encoding="utf-8") + '\n[models]\nfamilies = ["mlr", "xgboost"]\n', encoding="utf-8")
    assert run(["fit", str(bad), "--data", str(data), "--out", str(tmp_path / "r")]) == 1
    err = capsys.readouterr().err
    assert "models.families" in err
    assert "Did you mean 'xgb'" in err
