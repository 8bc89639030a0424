"""glassline's RandomForest grows exactly scikit-learn's trees (same seed → same predictions), faster."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.ensemble import RandomForestRegressor

from glassline.models._forest import RandomForest

SETTINGS = [
    {},
    {"max_features": 0.5, "min_samples_leaf": 5},
    {"max_samples": 0.5, "max_depth": 3},
    {"bootstrap": False, "max_features": 1},
]


@pytest.mark.parametrize("settings", SETTINGS)
@pytest.mark.parametrize("seed", [0, 7])
def test_same_trees_as_scikit_learn(settings: dict[str, object], seed: int) -> None:
    rng = np.random.default_rng(seed)
    X, y = rng.normal(size=(40, 3)), rng.normal(size=40)
    ours = RandomForest(n_estimators=30, random_state=seed, n_jobs=1, **settings).fit(X, y)
    theirs = RandomForestRegressor(n_estimators=30, random_state=seed, n_jobs=1, **settings).fit(X, y)
    grid = rng.normal(size=(200, 3))
    np.testing.assert_array_equal(ours.predict(grid), theirs.predict(grid))
    assert [t.random_state for t in ours.estimators_] == [t.random_state for t in theirs.estimators_]
    np.testing.assert_array_equal(ours.feature_importances_, theirs.feature_importances_)


def test_parameters_changed_between_fits_reach_the_trees() -> None:
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(40, 3)), rng.normal(size=40)
    forest = RandomForest(n_estimators=10, random_state=0).fit(X, y)
    forest.set_params(max_depth=1).fit(X, y)
    assert all(t.get_depth() == 1 for t in forest.estimators_)
    again = pickle.loads(pickle.dumps(clone(forest).fit(X, y)))
    np.testing.assert_array_equal(again.predict(X), forest.predict(X))
