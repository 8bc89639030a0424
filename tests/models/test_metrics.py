"""Table 5's metrics and the multicollinearity check of a scenario."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import mean_squared_error, r2_score

from glassline.exceptions import SpecError
from glassline.models import (
    HARD_R_LIMIT,
    HARD_VIF_LIMIT,
    SOFT_R_LIMIT,
    SOFT_VIF_LIMIT,
    Collinearity,
    CollinearityLimits,
    collinearity,
    mse,
    mse_ratio,
    r2,
    rmse,
)


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


def test_collinearity_is_graded_soft_then_hard(rng: np.random.Generator) -> None:
    # a chance correlation (|r| ≈ 0.35, VIF ≈ 1.1): explainable, with a warning naming the pair
    a = rng.normal(size=400)
    b = 0.37 * a + np.sqrt(1 - 0.37**2) * rng.normal(size=400)
    frame = pd.DataFrame({"a": a, "b": b, "c": rng.normal(size=400)})
    check = collinearity(frame)
    assert 0.3 < check.max_abs_r < 0.95
    assert check.max_vif < 5
    assert check.explainable
    assert check.collinear
    assert check.reason == ""
    assert "|r|" in check.warning
    assert "(a ~ b) > 0.3" in check.warning
    # within the soft limits: no warning; past the hard ones: not explainable and no longer "collinear"
    assert not check.graded(CollinearityLimits(soft_r=0.5)).collinear
    assert check.graded(CollinearityLimits(soft_r=0.5)).warning == ""
    withheld = check.graded(CollinearityLimits(soft_vif=1.0, hard_vif=1.01, soft_r=0.1, hard_r=0.2))
    assert not withheld.explainable
    assert not withheld.collinear
    assert "> 1.01" in withheld.reason
    # a near-copy is past the default hard limits
    copy = collinearity(pd.DataFrame({"a": a, "a2": a + rng.normal(scale=0.01, size=400)}))
    assert copy.max_vif > HARD_VIF_LIMIT
    assert not copy.explainable
    assert copy.worst_input in {"a", "a2"}


@pytest.mark.parametrize(
    ("limits", "field", "message"),
    [
        (CollinearityLimits(hard_vif=4.0), "hard_vif", "expected ≥ the soft VIF limit 5, got 4"),
        (CollinearityLimits(soft_vif=0.5), "soft_vif", "expected a VIF limit ≥ 1"),
        (CollinearityLimits(soft_vif=-1.0), "soft_vif", "got -1.0"),
        (CollinearityLimits(hard_r=1.2), "hard_r", "expected an |r| limit in (0, 1], got 1.2"),
        (CollinearityLimits(soft_r=0.0), "soft_r", "in (0, 1]"),
        (CollinearityLimits(soft_r=0.6, hard_r=0.5), "hard_r", "expected ≥ the soft |r| limit 0.6, got 0.5"),
        (CollinearityLimits(hard_vif=math.inf), "hard_vif", "got inf"),
    ],
)
def test_bad_collinearity_limits_are_refused(limits: CollinearityLimits, field: str, message: str) -> None:
    problem = limits.problem()
    assert problem is not None
    assert problem[0] == field
    assert message in problem[1]
    with pytest.raises(SpecError, match=rf"^where: --{field}: "):
        limits.checked("where", {field: f"--{field}"})


def test_default_collinearity_limits_are_valid() -> None:
    limits = CollinearityLimits()
    assert limits.problem() is None
    assert limits.checked("x") is limits
    assert (limits.soft_vif, limits.hard_vif, limits.soft_r, limits.hard_r) == (
        SOFT_VIF_LIMIT,
        HARD_VIF_LIMIT,
        SOFT_R_LIMIT,
        HARD_R_LIMIT,
    )
    # the hard |r| is the pairwise form of the hard VIF: two inputs at |r| = HARD_R_LIMIT have VIF ≈ HARD_VIF_LIMIT
    assert pytest.approx(HARD_VIF_LIMIT, rel=0.03) == 1 / (1 - HARD_R_LIMIT**2)


def test_a_value_just_past_a_limit_is_not_rounded_onto_it() -> None:
    check = Collinearity(("a", "b"), 1.1, 0.3027, ("a", "b"), {"a": 1.1, "b": 1.1})
    assert check.collinear
    assert "|r| 0.303 (a ~ b) > 0.3" in check.warning
    near = Collinearity(("a", "b"), 10.004, 0.9501, ("a", "b"), {"a": 10.004, "b": 10.004})
    assert not near.explainable
    assert "max VIF 10.004 (a) > 10" in near.reason
    assert "|r| 0.9501 (a ~ b) > 0.95" in near.reason
