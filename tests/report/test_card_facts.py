"""Model cards specific to each model: intended use, tuned values, CV spread, warnings, versions, provenance."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from glassline import Study
from glassline.report import (
    CardFacts,
    CardInput,
    StudyFolder,
    card_facts,
    cv_spreads,
    datasheet,
    library_version,
    model_card,
    simulated_data,
    tuned_hyperparameters,
)

ROW = {
    "target": "y",
    "scenario": "factors",
    "family": "mlr",
    "best": True,
    "cv_r2_pooled": 0.91,
    "cv_r2_mean": 0.9,
    "cv_r2_std": 0.04,
    "r2_test": 0.93,
    "n_train": 40,
    "n_test": 11,
    "params": "{}",
}


def _facts(study: Study, **extra: object) -> CardFacts:
    inputs = tuple(CardInput(f.name, f.display, f.unit, f.low, f.high) for f in study.factors)
    base = {"study": study, "target": "y", "scenario": "factors", "family": "mlr", "metrics": ROW, "inputs": inputs}
    return CardFacts(**{**base, **extra})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("family", "params", "expected"),
    [
        ("mlr", "{}", "defaults (no tuning grid)"),
        ("rf", {}, "defaults (no tuning grid)"),
        ("poly2", '{"model__alpha": 1e-06}', "`model__alpha` = 1e-06"),
        ("svr", "{'model__regressor__C': 10.0}", "`model__regressor__C` = 10"),
        ("poly2", "", "defaults (the tuning grid over `model__alpha` chose none)"),
    ],
)
def test_tuned_hyperparameters_are_the_real_values_or_say_why_none(family: str, params: object, expected: str) -> None:
    assert tuned_hyperparameters(family, params) == expected


def test_a_card_never_prints_an_empty_dict(study: Study) -> None:
    card = model_card(_facts(study))
    assert "{}" not in card
    assert "tuned hyperparameters: defaults (no tuning grid)." in card


def test_library_versions_are_read_from_the_installed_distributions(study: Study) -> None:
    import sklearn
    import xgboost

    assert library_version("xgboost") == xgboost.__version__  # installed as the xgboost-cpu wheel
    assert library_version("scikit-learn") == sklearn.__version__
    assert library_version("no-such-library-here") == "not installed"
    assert f"xgboost {xgboost.__version__}" in model_card(_facts(study))


def test_intended_use_comes_from_the_study_and_the_response(study: Study) -> None:
    plain = model_card(_facts(study))
    assert "Study purpose: not stated (give the study file a top-level `description`)." in plain
    described = study.model_copy(
        update={
            "description": "Find the settings that keep y high.",
            "responses": [study.responses[0].model_copy(update={"description": "Peel strength of the coating."})],
        }
    )
    card = model_card(_facts(described))
    assert "Study purpose: Find the settings that keep y high." in card
    assert "This response: Peel strength of the coating." in card
    weak = model_card(_facts(described, metrics={**ROW, "cv_r2_pooled": 0.2}))
    assert "Grouped-CV R² 0.20 < 0.5: for screening only" in weak
    assert "Grouped-CV R² 0.91 ≥ 0.5" in card
    assert (
        weak.split("## Intended use")[1].split("## Out-of-scope")[0]
        != card.split("## Intended use")[1].split("## Out-of-scope")[0]
    )


def _predictions() -> pd.DataFrame:
    rng = np.random.default_rng(4)
    rows = []
    y = rng.normal(0, 1, 12)
    for repeat, noise in enumerate((0.1, 0.5)):
        pred = y + noise * rng.normal(0, 1, 12)
        rows += [
            {
                "target": "y",
                "scenario": "factors",
                "family": "mlr",
                "split": "cv",
                "repeat": repeat,
                "y_true": a,
                "y_pred": b,
            }
            for a, b in zip(y, pred, strict=True)
        ]
    rows.append(
        {
            "target": "y",
            "scenario": "factors",
            "family": "mlr",
            "split": "test",
            "repeat": -1,
            "y_true": 0.0,
            "y_pred": 99.0,
        }
    )  # not a CV row: ignored
    return pd.DataFrame(rows)


def test_cv_spread_is_the_pooled_metric_of_each_repeat() -> None:
    frame = _predictions()
    r2, rmse = cv_spreads(frame, "y", "factors", "mlr")
    expected = []
    for _, part in frame[frame["split"] == "cv"].groupby("repeat"):
        err = part["y_true"] - part["y_pred"]
        expected.append(
            (
                1 - float((err**2).sum()) / float(((part["y_true"] - part["y_true"].mean()) ** 2).sum()),
                math.sqrt(float((err**2).mean())),
            )
        )
    assert r2.low == pytest.approx(min(e[0] for e in expected))
    assert r2.high == pytest.approx(max(e[0] for e in expected))
    assert rmse.value == pytest.approx(np.mean([e[1] for e in expected]))
    assert "2 grouped-CV repeats" in r2.over
    assert cv_spreads(frame[frame["repeat"] != 1], "y", "factors", "mlr") == ()  # one repeat: no spread
    assert cv_spreads(frame, "y", "factors", "rf") == ()


def _folder(tmp_path: Path, study: Study, *, simulated: bool) -> StudyFolder:
    (tmp_path / "results").mkdir()
    (tmp_path / "dataset").mkdir()
    (tmp_path / "explanations").mkdir()
    rows = pd.DataFrame([ROW, {**ROW, "scenario": "other", "family": "poly2", "params": '{"model__alpha": 1.0}'}])
    rows.to_csv(tmp_path / "results" / "results.csv", index=False)
    _predictions().to_parquet(tmp_path / "results" / "predictions.parquet")
    meta = {"layout": "tables", "simulated": simulated, "levels": {"data": {"rows": 51, "groups": 17}}}
    (tmp_path / "dataset" / "metadata.json").write_text(json.dumps(meta), encoding="utf-8")
    pd.DataFrame(
        [
            {"target": "y", "scenario": "factors", "factor": "x1", "kind": "tie", "message": "x1 and x2 tie"},
            {"target": "y", "scenario": "other", "factor": "x3", "kind": "collinear", "message": "x3 ~ x1"},
        ]
    ).to_csv(tmp_path / "explanations" / "warnings.csv", index=False)
    pd.DataFrame(
        [
            {
                "target": "y",
                "scenario": "factors",
                "family": "mlr",
                "factor": "x1",
                "effect": 2.5,
                "effect_ci_low": 2.0,
                "effect_ci_high": 3.1,
                "unit": "kPa",
                "status": "stated",
                "direction": "increasing",
            }
        ]
    ).to_csv(tmp_path / "explanations" / "claims.csv", index=False)
    return StudyFolder(tmp_path, study)


def test_card_facts_carry_the_models_own_warnings_effects_and_spread(tmp_path: Path, study: Study) -> None:
    two_scenarios = study.model_copy(update={"scenarios": {**study.scenarios, "other": ["x1", "x3"]}})
    folder = _folder(tmp_path, two_scenarios, simulated=False)
    results = folder.results_table()
    first, second = (card_facts(folder, row) for _, row in results.iterrows())
    assert first.warnings == ("tie: x1 and x2 tie",)
    assert second.warnings == ("collinear: x3 ~ x1",)
    assert [e.effect for e in first.effects] == [2.5]
    assert second.effects == ()
    assert [s.name for s in first.spreads] == ["R² grouped CV", "RMSE grouped CV"]
    one, two = model_card(first), model_card(second)
    assert "Warning (tie: x1 and x2 tie)." in one
    assert "x3 ~ x1" not in one
    assert "2.5 kPa [2, 3.1], increasing (stated)" in one
    assert "`model__alpha` = 1" in two
    assert "simulated" not in one.lower()


def test_simulated_data_are_labelled_on_card_and_datasheet(tmp_path: Path, study: Study) -> None:
    folder = _folder(tmp_path, study, simulated=True)
    assert simulated_data(folder.dataset)
    card = model_card(card_facts(folder, folder.results_table().iloc[0]))
    assert card.splitlines()[0].endswith("— simulated data")
    assert "Provenance: **simulated**" in card
    sheet = datasheet(folder)
    assert sheet.splitlines()[0].endswith("(simulated)")
    assert "**Simulated data.**" in sheet


def test_simulated_falls_back_to_the_raw_manifest(tmp_path: Path) -> None:
    (tmp_path / "raw").mkdir()
    (tmp_path / "dataset").mkdir()
    assert not simulated_data(tmp_path / "dataset")
    (tmp_path / "raw" / "manifest.json").write_text('{"layout": "x", "simulated": true}', encoding="utf-8")
    assert simulated_data(tmp_path / "dataset")
