"""The paper as a reference: Table 5 as data, the comparison with a run, and the checks behind Figs. 2 and 10."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from glassline import load_study
from glassline.domains.electrode._paper_figures import adhesion_contour, tortuosity_porosity
from glassline.domains.electrode.paper import (
    CITATION,
    R2_TOLERANCE,
    paper_table5,
    table5_comparison,
    table5_findings,
)
from glassline.domains.electrode.physics import modified_bruggeman
from glassline.spec import Study


@pytest.fixture(scope="module")
def electrode(electrode_study_path: Path) -> Study:
    return load_study(electrode_study_path)


def test_table5_rows_name_their_source_and_match_the_study(electrode: Study) -> None:
    table = paper_table5()
    assert len(table) == 46
    assert set(table["table"]) == {"Table 5"}
    assert table["page"].str.contains("Table 5").all()
    # every row is keyed by the study's own names
    assert set(table["target"]) <= set(electrode.response_names)
    assert all(s in electrode.scenarios for s in table["scenario"])
    assert set(table["family"]) <= set(electrode.models.families)
    assert not table.duplicated(["target", "scenario", "family"]).any()
    row = table[(table["target"] == "tortuosity") & (table["family"] == "svr")].iloc[0]
    assert (row["r2_train"], row["r2_test"], row["mse_ratio"]) == (0.97, 0.91, 0.5)
    row = table[(table["target"] == "gravimetric_capacity_5c") & (table["family"] == "svr")].iloc[0]
    assert row["page"] == "Table 5, continued (next page)"


def test_the_citation_is_complete() -> None:
    for part in (
        "Haghi",
        "Keilhofer",
        "Schwarz",
        "He",
        "Daub",
        "Batteries & Supercaps 2023",
        "10.1002/batt.202300457",
        "CC BY",
    ):
        assert part in CITATION


def _results(r2_test: float, cv: float) -> pd.DataFrame:
    paper = paper_table5()
    rows = paper[(paper["target"] == "tortuosity")].loc[:, ["target", "scenario", "family"]].copy()
    rows["r2_train"], rows["r2_test"], rows["cv_r2_pooled"], rows["mse_ratio"], rows["best"] = (
        0.9,
        r2_test,
        cv,
        1.0,
        False,
    )
    return rows


def test_findings_reproduce_within_the_tolerance_and_say_why_not() -> None:
    table = paper_table5()
    paper = dict(zip(table["target"] + "/" + table["family"], table["r2_test"], strict=True))
    results = _results(0.0, 0.0)
    results["r2_test"] = [paper[f"tortuosity/{f}"] - 0.05 for f in results["family"]]
    findings = {f.item: f for f in table5_findings(results)}
    assert findings["Table 5: Tortuosity (product), SVM"].reproduced
    results.loc[results["family"] == "svr", ["r2_test", "cv_r2_pooled"]] = [0.91 + R2_TOLERANCE + 0.05, 0.2]
    warnings = pd.DataFrame(
        [{"target": "tortuosity", "scenario": "product", "factor": "", "kind": "low_model_quality", "message": "m"}]
    )
    finding = {f.item: f for f in table5_findings(results, warnings)}["Table 5: Tortuosity (product), SVM"]
    assert not finding.reproduced
    assert "grouped-CV R² is 0.20" in finding.why
    assert "flatters" in finding.why
    assert "low_model_quality" in finding.why
    # rows the run did not fit are listed, not dropped
    missing = table5_findings(results.iloc[:0])
    assert missing
    assert all(not f.reproduced and f.why == "not in this run" for f in missing)


def test_the_comparison_sets_ours_beside_the_papers() -> None:
    table = table5_comparison(_results(0.5, 0.4))
    row = table[(table["target"] == "tortuosity") & (table["family"] == "mlr")].iloc[0]
    assert (row["paper_r2_test"], row["ours_r2_test"], row["ours_cv_r2_pooled"]) == (0.77, 0.5, 0.4)
    assert table[table["target"] != "tortuosity"]["ours_r2_test"].isna().all()


def _uncalendered(dataset: Path, peak: float | None, rng: np.random.Generator) -> None:
    """Segments on a 3 × 3 grid (and 2 more), adhesion an inverted U in temperature with its peak at *peak*."""
    rows = []
    for i, (ml, t) in enumerate(
        [(m, t) for m in (8.2, 9.7, 11.2) for t in (50.0, 57.5, 65.0)] + [(9.0, 54), (10.5, 61)]
    ):
        shape = -0.5 * (t - peak) ** 2 if peak is not None else 0.0
        mean = 400 - 30 * (ml - 8.2) - 2.0 * (ml - 9.7) * (t - 57.5) + shape
        rows += [
            {"segment": f"S{i:02d}", "mass_loading": ml, "drying_temperature": t, "adhesion_strength": mean + e}
            for e in rng.normal(0, 3, 4)
        ]
    dataset.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_csv(dataset / "specimen_uncalendered.csv", index=False)


def test_fig2_finds_the_optimum_and_the_poor_corner(tmp_path: Path, electrode: Study, rng: np.random.Generator) -> None:
    _uncalendered(tmp_path / "dataset", 57.0, rng)
    path, findings = adhesion_contour(electrode, tmp_path / "dataset", tmp_path / "figures")
    assert path is not None
    assert path.stat().st_size > 10_000
    by = {f.item.split(": ")[-1]: f for f in findings}
    assert by["optimum of temperature at intermediate loading"].reproduced
    assert "highest at 57" in by["optimum of temperature at intermediate loading"].ours
    assert by["highest loading at highest temperature"].reproduced


def test_fig2_says_why_when_there_is_no_optimum(tmp_path: Path, electrode: Study, rng: np.random.Generator) -> None:
    _uncalendered(tmp_path / "dataset", None, rng)
    _, findings = adhesion_contour(electrode, tmp_path / "dataset", tmp_path / "figures")
    optimum = next(f for f in findings if "optimum" in f.item)
    assert not optimum.reproduced
    assert "includes 0" in optimum.why


def _cells(dataset: Path, alpha: float) -> None:
    """Configurations in two loading/temperature groups, two porosities each; the replicates sit at ±d around
    τ = a·ε^−alpha exactly, so the configuration means lie on that curve."""
    rows = []
    for c, (ml, t, eps) in enumerate(
        [(8.2, 50.0, 0.25), (8.2, 50.0, 0.40), (11.2, 65.0, 0.25), (11.2, 65.0, 0.40), (9.7, 57.5, 0.32)]
    ):
        tau = float(modified_bruggeman(eps, 2.3, alpha))
        rows += [
            {
                "configuration": f"C{c}",
                "mass_loading": ml,
                "drying_temperature": t,
                "porosity": 100 * eps,
                "tortuosity": tau + d,
            }
            for d in (-0.05, 0.05, -0.03, 0.03)
        ]
    dataset.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_csv(dataset / "symmetric_cell.csv", index=False)


@pytest.mark.parametrize(("alpha", "holds"), [(0.31, True), (0.9, False)])
def test_fig10_tests_eq5_against_the_replicate_scatter(
    tmp_path: Path, electrode: Study, alpha: float, holds: bool
) -> None:
    _cells(tmp_path / "dataset", alpha)
    path, findings = tortuosity_porosity(electrode, tmp_path / "dataset", tmp_path / "results", tmp_path / "figures")
    assert path is not None
    assert path.exists()
    eq5 = next(f for f in findings if "Eq. 5" in f.item)
    assert eq5.reproduced is holds
    assert f"fitted α {alpha:.2f}" in eq5.ours
    assert ("lack-of-fit p < 0.05" in eq5.why) is not holds
