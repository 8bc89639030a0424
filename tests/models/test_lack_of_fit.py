"""The pure-error lack-of-fit test, checked against statsmodels, and the lead-model rule that uses it."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from statsmodels.stats.anova import anova_lm

from glassline import study_from_dict
from glassline.models import LACK_OF_FIT_LEVEL, adequate_choice, compare, lack_of_fit
from glassline.models._lack_of_fit import MIN_LACK_OF_FIT_DF


def _replicated(seed: int, curvature: float, n_config: int = 12, replicates: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = np.repeat(np.linspace(-1, 1, n_config), replicates)
    z = np.repeat(rng.uniform(-1, 1, n_config), replicates)
    y = 2.0 * x + z - curvature * x**2 + rng.normal(0, 0.3, len(x))
    return pd.DataFrame({"x": x, "z": z, "y": y, "configuration": np.repeat(np.arange(n_config), replicates)})


@pytest.mark.parametrize(("seed", "curvature"), [(0, 0.0), (1, 1.0), (2, 3.0)])
def test_matches_statsmodels_anova_of_the_nested_models(seed: int, curvature: float) -> None:
    frame = _replicated(seed, curvature)
    reduced = smf.ols("y ~ x + z", frame).fit()
    full = smf.ols("y ~ C(configuration)", frame).fit()
    table = anova_lm(reduced, full)
    test = lack_of_fit(frame[["x", "z"]], frame["y"], frame["configuration"])
    assert test.f == pytest.approx(table["F"].iloc[1], rel=1e-9)
    assert test.p == pytest.approx(table["Pr(>F)"].iloc[1], rel=1e-7)
    assert test.df == table["df_diff"].iloc[1] == 12 - 3
    assert test.pure_error_df == full.df_resid == 36 - 12


def test_rejects_a_straight_line_through_a_curve_and_accepts_the_curve() -> None:
    frame = _replicated(5, curvature=3.0)
    assert lack_of_fit(frame[["x", "z"]], frame["y"], frame["configuration"]).rejects
    curved = np.column_stack([frame["x"], frame["z"], frame["x"] ** 2])
    assert not lack_of_fit(curved, frame["y"], frame["configuration"], frame[["x", "z"]]).p < LACK_OF_FIT_LEVEL


def test_no_test_without_replicates_groups_or_spare_configurations() -> None:
    frame = _replicated(1, 1.0)
    X, y, g = frame[["x", "z"]], frame["y"], frame["configuration"]
    assert "no group column" in lack_of_fit(X, y, None).reason
    single = frame.drop_duplicates("configuration")
    assert "no replicates" in lack_of_fit(single[["x", "z"]], single["y"], single["configuration"]).reason
    noisy = X.assign(x=X["x"] + np.random.default_rng(0).normal(0, 0.01, len(X)))
    assert "vary within a configuration" in lack_of_fit(noisy, y, g).reason
    many = np.column_stack([X.to_numpy() ** k for k in range(1, 7)])  # 12 terms + intercept for 12 configurations
    none = lack_of_fit(many, y, g, X)
    assert "no lack-of-fit degrees of freedom" in none.reason
    assert math.isnan(none.p)
    assert math.isnan(none.f)
    assert math.isnan(none.df)
    assert none.pure_error_df == 24


def test_compare_writes_the_test_for_linear_families_only() -> None:
    frame = _replicated(2, curvature=3.0)
    study = study_from_dict(
        {
            "name": "curve",
            "seed": 4,
            "factors": [{"name": "x", "low": -1, "high": 1}, {"name": "z", "low": -1, "high": 1}],
            "responses": [{"name": "y"}],
            "data": {"group": "configuration"},
            "split": {"cv_folds": 3, "cv_repeats": 2},
        }
    )
    results = compare(study, frame, families=["mlr", "rsm", "rf"], n_jobs=1).results.set_index("family")
    assert results.loc["mlr", "lof_p"] < LACK_OF_FIT_LEVEL
    assert results.loc["rsm", "lof_p"] >= LACK_OF_FIT_LEVEL
    assert results.loc["mlr", "lof_df"] > 0
    assert results.loc["mlr", "pure_error_df"] > 0
    assert results.loc[["rf"], ["lof_f", "lof_p", "lof_df", "pure_error_df"]].isna().all(axis=None)


def _block(rows: list[tuple[str, float, float]], lof_df: float = 10.0) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["family", "cv_r2_pooled", "lof_p"])
    return frame.assign(lof_df=np.where(frame["lof_p"].notna(), lof_df, np.nan))


def test_adequate_choice_prefers_a_model_that_fits() -> None:
    block = _block([("mlr", 0.80, 1e-6), ("rsm", 0.79, 0.40), ("xgb", 0.60, math.nan)])
    assert block.loc[adequate_choice(block), "family"] == "rsm"
    # once the test tells families apart, no test (NaN) counts as not rejecting
    block = _block([("mlr", 0.80, 1e-6), ("rsm", 0.50, 0.40), ("xgb", 0.60, math.nan)])
    assert block.loc[adequate_choice(block), "family"] == "xgb"
    # a model worse than the mean is not adequate
    block = _block([("mlr", 0.80, 1e-6), ("rsm", -0.2, 0.40), ("svr", -0.3, math.nan)])
    assert block.loc[adequate_choice(block), "family"] == "mlr"
    # every tested family rejects: the test does not tell them apart, the best pooled CV R² leads
    block = _block([("mlr", 0.80, 1e-6), ("rsm", 0.79, 1e-3), ("xgb", 0.60, math.nan)])
    assert block.loc[adequate_choice(block), "family"] == "mlr"
    # a pass on fewer than MIN_LACK_OF_FIT_DF lack-of-fit degrees of freedom is no evidence of fit
    few = _block([("mlr", 0.80, 1e-6), ("poly2", 0.79, 0.40)], lof_df=MIN_LACK_OF_FIT_DF - 1)
    assert few.loc[adequate_choice(few), "family"] == "mlr"
    enough = _block([("mlr", 0.80, 1e-6), ("poly2", 0.79, 0.40)], lof_df=MIN_LACK_OF_FIT_DF)
    assert enough.loc[adequate_choice(enough), "family"] == "poly2"
    # no lof_p column (an older folder): the best pooled CV R²
    assert block.drop(columns="lof_p").loc[adequate_choice(block.drop(columns="lof_p")), "family"] == "mlr"
    assert adequate_choice(_block([("mlr", math.nan, math.nan)])) is None
