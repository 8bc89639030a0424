"""The size rule of nested tuning: small data keep the registry's small spaces; larger tables get scaled ones."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import ParameterGrid

from glassline import study_from_dict
from glassline.models import (
    FAMILIES,
    LARGE_DATA_ROWS,
    SMALL_DATA_GROUPS,
    DataSize,
    compare,
    fit_tuned,
    get_family,
    tuning_space,
)


@pytest.mark.parametrize("name", list(FAMILIES))
@pytest.mark.parametrize(("rows", "groups"), [(30, 30), (51, 17), (86, 17), (299, 299), (5000, 120)])
def test_small_data_keep_exactly_the_small_space_and_the_given_folds(name: str, rows: int, groups: int) -> None:
    family = get_family(name)
    tuning = tuning_space(family, DataSize(rows, groups, 4), folds=3)
    assert tuning.regime == "small"
    assert dict(tuning.space) == dict(family.space)
    assert tuning.folds == 3
    assert "designed experiment" in tuning.reason


def test_the_regime_follows_configurations_then_rows() -> None:
    assert DataSize(SMALL_DATA_GROUPS - 1, SMALL_DATA_GROUPS - 1, 5).regime == "small"
    assert DataSize(SMALL_DATA_GROUPS, SMALL_DATA_GROUPS, 5).regime == "medium"
    assert DataSize(LARGE_DATA_ROWS - 1, 1000, 5).regime == "medium"
    assert DataSize(LARGE_DATA_ROWS, 1000, 5).regime == "large"
    assert DataSize(100_000, 200, 5).regime == "small"  # many replicates of few configurations


def test_scaled_spaces_search_what_larger_tables_need() -> None:
    medium, large = DataSize(1000, 1000, 8), DataSize(100_000, 100_000, 10)
    xgb = tuning_space(get_family("xgb"), medium)
    assert xgb.folds == 3
    assert set(xgb.space["model__max_depth"]) == {2, 4, 6}
    assert len(xgb.space["model__learning_rate"]) == 2
    assert max(xgb.space["model__n_estimators"]) >= 500
    assert max(tuning_space(get_family("xgb"), large).space["model__max_depth"]) == 8
    rf = tuning_space(get_family("rf"), medium).space
    assert 0.33 in rf["model__max_features"]
    assert len(rf["model__min_samples_leaf"]) == 2
    assert 0.33 not in tuning_space(get_family("rf"), DataSize(1000, 1000, 3)).space["model__max_features"]
    big_rf = tuning_space(get_family("rf"), large)
    assert big_rf.folds == 2
    assert big_rf.space["model__max_samples"] == [LARGE_DATA_ROWS / 100_000]
    svr = tuning_space(get_family("svr"), medium).space
    assert svr["model__regressor__gamma"] == [round(g / 8, 6) for g in (0.3, 1.0, 3.0)]
    assert len(svr["model__regressor__epsilon"]) == 2
    assert len(tuning_space(get_family("svr"), DataSize(5000, 5000, 8)).space["model__regressor__epsilon"]) == 1
    # families without a scaled space keep theirs at every size
    assert dict(tuning_space(get_family("poly2"), large).space) == dict(get_family("poly2").space)
    record = xgb.to_dict()
    assert record["regime"] == "medium"
    assert record["candidates"] == xgb.n_candidates
    assert record["reason"]


@pytest.mark.parametrize("name", [n for n, f in FAMILIES.items() if f.scaled is not None])
def test_every_scaled_candidate_is_a_valid_setting(name: str) -> None:
    family = get_family(name)
    rng = np.random.default_rng(0)
    X, y = rng.uniform(size=(40, 3)), rng.normal(size=40)
    for size in (DataSize(1000, 1000, 3), DataSize(50_000, 50_000, 3)):
        space = tuning_space(family, size).space
        params = family.make(0).get_params()
        assert all(key in params for key in space)
        first = next(iter(ParameterGrid(dict(space))))
        family.make(0).set_params(**{**first, **({"model__n_estimators": 5} if name == "xgb" else {})}).fit(X, y)


def test_fit_tuned_searches_the_space_it_is_given() -> None:
    rng = np.random.default_rng(1)
    X = rng.uniform(size=(60, 2))
    y = np.sin(6 * X[:, 0]) + rng.normal(0, 0.05, 60)
    space = {"model__max_depth": [1, 3], "model__tree_method": ["hist"], "model__n_estimators": [10, 40]}
    tuned = fit_tuned(get_family("xgb"), X, y, None, seed=0, space=space)
    assert set(tuned.params) == set(space)
    assert tuned.params["model__tree_method"] == "hist"
    assert tuned.n_fits == 1 + 2 * 3  # one staged fit per (depth, inner fold), then the refit


def test_compare_records_the_chosen_spaces() -> None:
    rng = np.random.default_rng(2)
    frame = pd.DataFrame({"a": rng.uniform(size=40), "b": rng.uniform(size=40)})
    frame["y"] = frame["a"] + rng.normal(0, 0.1, 40)
    study = study_from_dict(
        {
            "name": "t",
            "factors": [{"name": "a", "low": 0, "high": 1}, {"name": "b", "low": 0, "high": 1}],
            "responses": [{"name": "y"}],
            "split": {"cv_folds": 2, "cv_repeats": 1},
            "models": {"families": ["mlr", "xgb"]},
        }
    )
    comparison = compare(study, frame, n_jobs=1)
    spaces = comparison.settings["tuning_spaces"]
    assert [s["family"] for s in spaces] == ["mlr", "xgb"]
    xgb = spaces[1]
    assert (xgb["regime"], xgb["rows"], xgb["inputs"]) == ("small", 40, 2)
    assert xgb["space"] == {"model__n_estimators": [25, 50, 100]}
