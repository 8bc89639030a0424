"""The AI-Act map names the evidence itself and counts an item present only when that evidence has content."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from glassline.report import evidence_map


def _status(table: pd.DataFrame, article: str) -> tuple[str, str]:
    row = table[table["article"] == article].iloc[0]
    return str(row["status"]), str(row["evidence"])


def _explanations(root: Path, *, ci: bool) -> Path:
    folder = root / "explanations"
    folder.mkdir(parents=True)
    low, high = (0.1, 0.4) if ci else (None, None)
    pd.DataFrame(
        [
            {
                "target": "y",
                "scenario": "s",
                "family": "mlr",
                "method": "shap",
                "feature": "x1",
                "importance": 0.3,
                "ci_low": low,
                "ci_high": high,
            },
            # permutation quantiles are not bootstrap intervals: they never make the uncertainty item present
            {
                "target": "y",
                "scenario": "s",
                "family": "mlr",
                "method": "permutation",
                "feature": "x1",
                "importance": 0.2,
                "ci_low": 0.1,
                "ci_high": 0.3,
            },
        ]
    ).to_csv(folder / "importance.csv", index=False)
    (folder / "run.json").write_text(json.dumps({"bootstrap": 200 if ci else 0}), encoding="utf-8")
    return folder


def test_uncertainty_is_absent_without_bootstrap_intervals(tmp_path: Path) -> None:
    _explanations(tmp_path, ci=False)
    status, evidence = _status(evidence_map(tmp_path), "Art. 15 (uncertainty)")
    assert status == "missing"
    assert evidence == "absent: run with bootstrap (glassline explain --bootstrap N)"


def test_uncertainty_is_present_with_bootstrap_intervals_and_names_them(tmp_path: Path) -> None:
    _explanations(tmp_path, ci=True)
    status, evidence = _status(evidence_map(tmp_path), "Art. 15 (uncertainty)")
    assert status == "present"
    assert "explanations/importance.csv: 1 bootstrap CIs" in evidence
    assert "(200 grouped bootstrap refits)" in evidence


def test_claims_with_empty_intervals_are_not_evidence(tmp_path: Path) -> None:
    folder = _explanations(tmp_path, ci=False)
    claims = pd.DataFrame(
        {
            "target": ["y", "y"],
            "factor": ["x1", "x2"],
            "effect": [1.0, 0.1],
            "effect_ci_low": [None, None],
            "effect_ci_high": [None, None],
        }
    )
    claims.to_csv(folder / "claims.csv", index=False)
    assert _status(evidence_map(tmp_path), "Art. 15 (uncertainty)")[0] == "missing"
    claims.loc[0, ["effect_ci_low", "effect_ci_high"]] = [0.5, 1.5]
    claims.to_csv(folder / "claims.csv", index=False)
    status, evidence = _status(evidence_map(tmp_path), "Art. 15 (uncertainty)")
    assert (status, evidence.split(";")[0]) == ("present", "explanations/claims.csv: 1 effects with a CI")


def test_an_empty_file_is_no_evidence_and_a_filled_one_is_named_with_its_numbers(tmp_path: Path) -> None:
    results = tmp_path / "results"
    results.mkdir()
    (results / "results.csv").write_text("target,scenario,family,best,cv_r2_pooled\n", encoding="utf-8")
    assert _status(evidence_map(tmp_path), "Art. 13(3)(b)")[0] == "missing"
    pd.DataFrame(
        {
            "target": ["y", "y"],
            "scenario": ["s", "s"],
            "family": ["mlr", "rf"],
            "best": [True, False],
            "cv_r2_pooled": [0.81, 0.42],
        }
    ).to_csv(results / "results.csv", index=False)
    status, evidence = _status(evidence_map(tmp_path), "Art. 13(3)(b)")
    assert status == "present"
    assert "2 candidates, 1 best models, pooled grouped-CV R² 0.81–0.81" in evidence
    assert "Models (Table 5)" in evidence  # the report's table that shows it


def test_intended_purpose_needs_a_description(tmp_path: Path) -> None:
    study = tmp_path / "study.toml"
    study.write_text('name = "s"\n[[factors]]\nname = "x"\nunit = "m"\nlow = 0\nhigh = 1\n', encoding="utf-8")
    assert _status(evidence_map(tmp_path), "Art. 13(3)(a)")[0] == "missing"
    assert _status(evidence_map(tmp_path), "Art. 13(3)(e)")[0] == "present"
    study.write_text(study.read_text().replace('name = "s"', 'name = "s"\ndescription = "Find the window"'), "utf-8")
    status, evidence = _status(evidence_map(tmp_path), "Art. 13(3)(a)")
    assert status == "present"
    assert '"Find the window"' in evidence


def test_oversight_counts_override_records_of_the_audit_log(tmp_path: Path) -> None:
    import sqlite3

    assert _status(evidence_map(tmp_path), "Art. 14(4)(d-e)")[0] == "missing"
    with sqlite3.connect(tmp_path / "audit.db") as db:
        db.execute("CREATE TABLE glassline_audit (seq INTEGER, kind TEXT)")
        db.executemany("INSERT INTO glassline_audit VALUES (?, ?)", [(1, "prediction"), (2, "override"), (3, "stop")])
    status, evidence = _status(evidence_map(tmp_path), "Art. 14(4)(d-e)")
    assert status == "present"
    assert "1 override" in evidence
    assert "1 stop" in evidence
    assert "3 hash-chained records" in _status(evidence_map(tmp_path), "Art. 12")[1]


def test_expectation_tests_are_cited_with_their_count(tmp_path: Path) -> None:
    folder = tmp_path / "explanations"
    folder.mkdir()
    pd.DataFrame(
        {
            "target": ["y", "y", "y"],
            "feature": ["a", "b", "a"],
            "passed": [True, False, True],
            "best": [True, True, False],
        }
    ).to_csv(folder / "expectations.csv", index=False)
    status, evidence = _status(evidence_map(tmp_path), "Art. 13(3)(d)")
    assert status == "present"
    assert "1 of 2 expected directions hold for the best models" in evidence
