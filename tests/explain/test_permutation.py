"""Permutation importance: glassline's one-call version equals scikit-learn's, draw for draw."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.inspection import permutation_importance

from glassline.explain._importance import permutation_draws
from glassline.models import FAMILIES


@pytest.mark.parametrize("family", list(FAMILIES))
@pytest.mark.parametrize("seed", [0, 7])
def test_draws_equal_scikit_learn(family: str, seed: int) -> None:
    rng = np.random.default_rng(seed + 3)
    X = pd.DataFrame(rng.uniform(-1, 1, size=(40, 3)), columns=["a", "b", "c"])
    y = 2 * X["a"] - X["b"] ** 2 + 0.1 * rng.normal(size=40)
    model = FAMILIES[family].make(seed).fit(X.iloc[:30], y.iloc[:30])
    test_X, test_y = X.iloc[30:], y.iloc[30:].to_numpy()
    expected = permutation_importance(model, test_X, test_y, n_repeats=9, random_state=seed, scoring="r2")
    baseline, drops = permutation_draws(model, test_X, test_y, n_repeats=9, seed=seed)
    assert drops.shape == (3, 9)
    np.testing.assert_allclose(drops, expected.importances, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(drops.mean(axis=1), expected.importances_mean, rtol=1e-10, atol=1e-10)
    assert np.isfinite(baseline)


def test_a_column_the_model_ignores_has_no_drop() -> None:
    rng = np.random.default_rng(1)
    X = pd.DataFrame(rng.uniform(size=(20, 2)), columns=["used", "ignored"])

    class OnlyFirst:
        def predict(self, frame: pd.DataFrame) -> np.ndarray:
            return 3.0 * frame["used"].to_numpy()

    _, drops = permutation_draws(OnlyFirst(), X, 3.0 * X["used"], n_repeats=5, seed=0)
    assert np.all(drops[1] == 0.0)
    assert np.all(drops[0] > 0.0)
