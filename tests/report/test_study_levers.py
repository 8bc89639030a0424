"""``glassline.report.study_levers``: a response's graded levers in the manager view's words, from claims.csv."""

from __future__ import annotations

from pathlib import Path

import pytest

from glassline.report import study_levers
from glassline.spec import Study
from study_claims import study_folder


@pytest.fixture
def root(results_dir: Path, tmp_path: Path) -> Path:
    return study_folder(results_dir, tmp_path / "study")


def test_levers_by_rank_with_their_words(root: Path, study: Study) -> None:
    found = study_levers(root, study, "y")
    assert found is not None
    assert [(lever.factor, lever.word) for lever in found] == [("x1", "clear"), ("x2", "about equal")]
    first, second = found
    assert first.html.startswith("Raising <strong>x1</strong> raises signal by ")
    assert "3.1 kPa" in first.html
    assert "(0–1 mm)" in first.html
    assert "lowers signal" in second.html
    assert "about as much as x1" in second.html
    assert (first.scenario, first.family) == ("factors", "mlr")


def test_the_limit_and_a_folder_without_claims(root: Path, study: Study, tmp_path: Path) -> None:
    found = study_levers(root, study, "y", limit=1)
    assert found is not None
    assert [lever.factor for lever in found] == ["x1"]
    assert study_levers(tmp_path / "nothing", study, "y") is None
    assert study_levers(root, study, "not_a_target") == []


def test_names_are_escaped(root: Path, study: Study) -> None:
    import pandas as pd

    claims = root / "explanations" / "claims.csv"
    table = pd.read_csv(claims)
    table.loc[0, "unit"] = "<b>kPa</b>"
    table.to_csv(claims, index=False)
    found = study_levers(root, study, "y")
    assert found is not None
    assert "<b>" not in found[0].html
    assert "&lt;b&gt;" in found[0].html


def test_an_optimum_is_read_from_the_claim_s_own_model(root: Path, study: Study) -> None:
    """uncertainty.csv holds every family's optimum; the lever reads the one of the model its claim is about."""
    import pandas as pd

    claims_path = root / "explanations" / "claims.csv"
    claims = pd.read_csv(claims_path)
    claims.loc[claims["factor"] == "x2", "shape"] = "optimum"
    claims.to_csv(claims_path, index=False)
    columns = ["target", "scenario", "family", "factor", "optimum", "optimum_ci_low", "optimum_ci_high"]
    rows = [("y", "factors", "mlr", "x2", 0.4, 0.3, 0.5), ("y", "factors", "rf", "x2", 0.8, 0.7, 0.9)]
    pd.DataFrame(rows, columns=columns).to_csv(root / "explanations" / "uncertainty.csv", index=False)
    found = study_levers(root, study, "y")
    assert found is not None
    x2 = next(lever for lever in found if lever.factor == "x2")
    assert "near x2 = 0.4 °C (interval 0.3–0.5 °C)" in x2.html
    assert "0.8" not in x2.html
