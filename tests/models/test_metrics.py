"""Table 5's metrics and the multicollinearity check of a scenario."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import mean_squared_error, r2_score

from glassline.models import collinearity, mse, mse_ratio, r2, rmse


def test_known_values() -> None:
    y, p = [1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 5.0]
    assert mse(y, p) == pytest.approx(0.25)
    assert rmse(y, p) == pytest.approx(0.5)
    assert r2(y, p) == pytest.approx(1 - 1 / 5)


def test_mse_ratio_is_train_over_test_as_in_the_paper() -> None:
    # training errors 0.1, test errors 0.2: MSE_train / MSE_test = 0.01 / 0.04 = 0.25 (< 1: overfits)
    ratio = mse_ratio([0.0, 0.0], [0.1, -0.1], [0.0, 0.0], [0.2, -0.2])
    assert ratio == pytest.approx(0.25)
    assert mse_ratio([0.0], [0.1], [1.0], [1.0]) == math.inf
    assert math.isnan(mse_ratio([0.0], [0.0], [1.0], [1.0]))


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.floats(-1e3, 1e3), st.floats(-1e3, 1e3)), min_size=2, max_size=30))
def test_agrees_with_scikit_learn(pairs: list[tuple[float, float]]) -> None:
    y = np.array([a for a, _ in pairs])
    p = np.array([b for _, b in pairs])
    assert mse(y, p) == pytest.approx(mean_squared_error(y, p), rel=1e-9, abs=1e-9)
    if np.ptp(y) > 1e-6:
        assert r2(y, p) == pytest.approx(r2_score(y, p), rel=1e-7, abs=1e-7)


def test_r2_is_nan_where_undefined_and_silent() -> None:
    assert math.isnan(r2([1.0], [2.0]))
    assert math.isnan(r2([3.0, 3.0], [1.0, 2.0]))


def test_independent_inputs_are_explainable(rng: np.random.Generator) -> None:
    # a 2^3 full factorial: orthogonal columns, VIF 1, r 0
    grid = np.array([[a, b, c] for a in (-1, 1) for b in (-1, 1) for c in (-1, 1)], dtype=float)
    check = collinearity(pd.DataFrame(grid, columns=["a", "b", "c"]))
    assert check.max_vif == pytest.approx(1.0)
    assert check.max_abs_r == pytest.approx(0.0, abs=1e-12)
    assert check.explainable
    assert check.reason == ""


def test_vif_of_two_correlated_inputs_is_one_over_one_minus_r_squared(rng: np.random.Generator) -> None:
    a = rng.normal(size=200)
    frame = pd.DataFrame({"a": a, "b": a + rng.normal(scale=0.5, size=200)})
    r = np.corrcoef(frame["a"], frame["b"])[0, 1]
    check = collinearity(frame, vif_limit=5.0, r_limit=0.3)
    assert check.max_vif == pytest.approx(1 / (1 - r**2))
    assert check.max_abs_r == pytest.approx(abs(r))
    assert check.worst_pair == ("a", "b")
    assert not check.explainable
    assert "|r|" in check.reason
    assert collinearity(frame, vif_limit=10.0, r_limit=0.95).explainable


def test_dependent_and_constant_inputs(rng: np.random.Generator) -> None:
    a, b = rng.normal(size=30), rng.normal(size=30)
    dependent = collinearity(pd.DataFrame({"a": a, "b": b, "c": a + b}))
    assert dependent.max_vif == math.inf
    assert not dependent.explainable
    constant = collinearity(pd.DataFrame({"a": a, "k": np.ones(30)}))
    assert not constant.explainable
    assert "'k' is constant" in constant.reason
    single = collinearity(pd.DataFrame({"a": a}))
    assert single.explainable
