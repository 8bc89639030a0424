"""The comparison grid: shared test rows, grouped folds, no leakage, the paper's metrics, best by CV."""

from __future__ import annotations

import json
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import Pipeline

from glassline import Study
from glassline.models import RESULT_COLUMNS, Comparison, Family, compare, mse, r2
from glassline.models import _compare as compare_module


def test_results_hold_every_target_scenario_family(comparison: Comparison, study: Study) -> None:
    results = comparison.results
    assert list(results.columns) == list(RESULT_COLUMNS)
    expected = {(t, s, f) for t in ("y", "noise") for s in ("factors", "collinear") for f in study.models.families}
    assert set(zip(results["target"], results["scenario"], results["family"], strict=True)) == expected
    assert len(results) == len(expected)
    assert (results["cv_splits"] == 10).all()
    assert (results["n_groups"] == 17).all()
    assert set(comparison.fits) == expected


def test_identical_test_rows_for_every_family_of_a_target(comparison: Comparison) -> None:
    preds = comparison.predictions
    for target, block in preds.groupby("target"):
        test_rows = {
            key: frozenset(part["row_id"])
            for key, part in block[block["split"] == "test"].groupby(["scenario", "family"])
        }
        assert len(set(test_rows.values())) == 1, f"{target}: families/scenarios saw different test rows"
        (rows,) = set(test_rows.values())
        assert len(rows) == 11  # 20 % of 51 rows, rounded up
        cv_folds = {
            key: tuple(sorted(part.groupby(["repeat", "fold"])["row_id"].apply(frozenset)))
            for key, part in block[block["split"] == "cv"].groupby(["scenario", "family"])
        }
        assert len(set(cv_folds.values())) == 1, f"{target}: families saw different CV folds"


def test_no_group_on_both_sides_of_a_grouped_split(comparison: Comparison, table: pd.DataFrame) -> None:
    cv = comparison.predictions[comparison.predictions["split"] == "cv"]
    every_row = set(range(len(table)))
    for _, block in cv.groupby(["target", "scenario", "family", "repeat"]):
        assert sorted(block["row_id"]) == sorted(every_row), "each row tested once per repeat"
        for _, fold in block.groupby("fold"):
            tested = set(fold["row_id"])
            trained = every_row - tested
            assert not set(table.loc[list(tested), "configuration"]) & set(table.loc[list(trained), "configuration"])
    assert set(cv["repeat"]) == {0, 1}


def test_pure_noise_target_gets_no_cv_skill(comparison: Comparison) -> None:
    noise = comparison.results[comparison.results["target"] == "noise"]
    assert (noise["cv_r2_pooled"] <= 0.05).all(), noise[["scenario", "family", "cv_r2_pooled"]]
    assert (noise["cv_r2_mean"] <= 0.05).all(), noise[["scenario", "family", "cv_r2_mean"]]


def test_the_signal_is_found(comparison: Comparison) -> None:
    signal = comparison.results[(comparison.results["target"] == "y") & (comparison.results["scenario"] == "factors")]
    assert signal["cv_r2_pooled"].max() > 0.7


def test_mse_ratio_is_mse_train_over_mse_test(comparison: Comparison) -> None:
    preds = comparison.predictions
    for row in comparison.results.itertuples(index=False):
        part = preds[
            (preds["target"] == row.target) & (preds["scenario"] == row.scenario) & (preds["family"] == row.family)
        ]
        train, test = part[part["split"] == "train"], part[part["split"] == "test"]
        expected = mse(train["y_true"], train["y_pred"]) / mse(test["y_true"], test["y_pred"])
        assert row.mse_ratio == pytest.approx(expected)
        assert row.mse_ratio == pytest.approx(row.rmse_train**2 / row.rmse_test**2)
        assert row.r2_test == pytest.approx(r2(test["y_true"], test["y_pred"]))
        assert (row.n_train, row.n_test) == (len(train), len(test))


def test_cv_metrics_come_from_the_out_of_fold_predictions(comparison: Comparison) -> None:
    preds = comparison.predictions
    row = comparison.results.iloc[0]
    cv = preds[
        (preds["target"] == row["target"])
        & (preds["scenario"] == row["scenario"])
        & (preds["family"] == row["family"])
        & (preds["split"] == "cv")
    ]
    assert row["cv_r2_pooled"] == pytest.approx(r2(cv["y_true"], cv["y_pred"]))
    per_fold = [r2(f["y_true"], f["y_pred"]) for _, f in cv.groupby(["repeat", "fold"])]
    assert row["cv_r2_mean"] == pytest.approx(np.mean(per_fold))
    assert row["cv_r2_std"] == pytest.approx(np.std(per_fold, ddof=1))
    assert row["optimism"] == pytest.approx(row["r2_test"] - row["cv_r2_pooled"])


def test_best_family_is_chosen_by_grouped_cv(comparison: Comparison) -> None:
    for _, block in comparison.results.groupby(["target", "scenario"]):
        assert block["best"].sum() == 1
        best = block[block["best"]].iloc[0]
        assert best["cv_r2_pooled"] == block["cv_r2_pooled"].max()
    assert len(comparison.best()) == 4


def test_scenarios_are_checked_for_multicollinearity(comparison: Comparison) -> None:
    results = comparison.results
    collinear = results[results["scenario"] == "collinear"]
    assert not collinear["explainable"].any()
    assert (collinear["max_vif"] > 5).all()
    assert any("collinear: not explainable" in note for note in comparison.notes)
    table = comparison.collinearity
    assert set(table.columns) >= {"target", "scenario", "max_vif", "max_abs_r", "explainable", "reason"}
    flags = dict(
        zip(
            zip(results["target"], results["scenario"], results["family"], strict=True),
            results["explainable"],
            strict=True,
        )
    )
    for key, fit in comparison.fits.items():
        assert fit.explainable == flags[key]


def test_tuned_hyperparameters_are_reported(comparison: Comparison) -> None:
    svr = comparison.results[comparison.results["family"] == "svr"]
    for text in svr["params"]:
        assert set(json.loads(text)) == {"model__regressor__C"}
    tuning = comparison.tuning
    assert set(tuning["split"]) == {"paper", "cv"}
    assert len(tuning) == len(comparison.results) * 11


def test_no_group_column_falls_back_to_kfold_and_says_so(make_study: Any, table: pd.DataFrame) -> None:
    study = make_study(data={}, split={"cv_folds": 3, "cv_repeats": 1}, models={"families": ["mlr"]})
    result = compare(study, table.drop(columns="configuration"), targets=["y"], scenarios=["factors"], n_jobs=1)
    assert "no group column" in result.results.loc[0, "cv_scheme"]
    assert any("plain K-fold" in note for note in result.notes)
    assert result.results.loc[0, "n_groups"] == len(table)


def test_leave_one_group_out_option(study: Study, table: pd.DataFrame) -> None:
    result = compare(study, table, families=["mlr"], targets=["y"], scenarios=["factors"], cv="logo", n_jobs=1)
    assert result.results.loc[0, "cv_splits"] == 17
    assert "leave-one-group-out" in result.results.loc[0, "cv_scheme"]


# ----------------------------------------------------------------------------- leakage spy
class _RowSpy(BaseEstimator, TransformerMixin):
    """Records the ``m1`` values (unique per row) of every fit: which rows a model was trained on."""

    seen: ClassVar[list[frozenset[float]]] = []

    def fit(self, X: Any, y: Any = None) -> _RowSpy:
        _RowSpy.seen.append(frozenset(np.round(np.asarray(X, dtype=float)[:, 0], 12)))
        return self

    def transform(self, X: Any) -> Any:
        return X


def _spy(seed: int) -> Pipeline:
    return Pipeline([("spy", _RowSpy()), ("model", LinearRegression())])


def test_tuning_and_scaling_only_ever_see_training_rows(
    monkeypatch: pytest.MonkeyPatch, study: Study, table: pd.DataFrame
) -> None:
    spy = Family("spy", "Spy", _spy, space={"model__fit_intercept": [True, False]}, explainer="linear", description="-")
    monkeypatch.setattr(compare_module, "family_names", lambda: ("spy",))
    monkeypatch.setattr(compare_module, "get_family", lambda name: spy)
    _RowSpy.seen.clear()
    study = study.model_copy(update={"scenarios": {**study.scenarios, "spy": ["m1", "x2"]}})
    result = compare(study, table, families=["spy"], targets=["y"], scenarios=["spy"], n_jobs=1)
    key = np.round(table["m1"].to_numpy(), 12)
    rows_of = {v: i for i, v in enumerate(key)}
    cv = result.predictions[result.predictions["split"] == "cv"]
    allowed = [frozenset(result.predictions.query("split == 'train'")["row_id"])]
    allowed += [frozenset(range(len(table))) - frozenset(f["row_id"]) for _, f in cv.groupby(["repeat", "fold"])]
    # 11 outer splits × (2 candidates × 3 inner folds + 1 refit)
    assert len(_RowSpy.seen) == 11 * 7
    for seen in _RowSpy.seen:
        rows = frozenset(rows_of[v] for v in seen)
        assert any(rows <= train for train in allowed), "a fit saw rows outside its outer training part"


@pytest.mark.slow
def test_worker_processes_give_the_same_numbers(comparison: Comparison, study: Study, table: pd.DataFrame) -> None:
    parallel = compare(study, table, n_jobs=2)
    timing = ["n_fits"]
    pd.testing.assert_frame_equal(parallel.results.drop(columns=timing), comparison.results.drop(columns=timing))
    keys = ["target", "scenario", "family", "split", "repeat", "fold", "row_id"]
    a = parallel.predictions.sort_values(keys).reset_index(drop=True)
    b = comparison.predictions.sort_values(keys).reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)


def test_a_constant_target_gets_a_note_not_a_blank(make_study: Any, table: pd.DataFrame) -> None:
    """Every row equal: R² is undefined (NaN), and the notes say why instead of leaving a blank."""
    study = make_study(split={"cv_folds": 3, "cv_repeats": 1}, models={"families": ["mlr"]})
    flat = table.assign(y=4.25)
    result = compare(study, flat, targets=["y"], scenarios=["factors"], n_jobs=1)
    assert result.results["r2_test"].isna().all()
    (note,) = [note for note in result.notes if note.startswith("y: constant")]
    assert f"4.25 in all {len(flat)} rows" in note
    assert "R² is undefined" in note
    varied = compare(study, table, targets=["y"], scenarios=["factors"], n_jobs=1)
    assert not any("constant" in note for note in varied.notes)
