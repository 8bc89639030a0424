"""Expert expectations on a model built to violate one; conformal prediction intervals; grouped bootstrap."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from glassline import study_from_dict
from glassline.exceptions import DataError, SpecError
from glassline.explain import bootstrap_importance, check_expectations, influential_points, prediction_interval
from glassline.explain._uncertainty import conformal_quantile
from glassline.models import Fit


def linear_fit(coef: tuple[float, float], rng: np.random.Generator, n: int = 40) -> Fit:
    """A fitted MLR pipeline on y = coef · (a, b) + noise, with 10 configurations of n / 10 rows."""
    X = pd.DataFrame(rng.uniform(0, 1, size=(n, 2)), columns=["a", "b"])
    X.index.name = "row_id"
    y = pd.Series(X.to_numpy() @ np.array(coef) + rng.normal(0, 0.05, n), index=X.index, name="y")
    pipeline = Pipeline([("scale", StandardScaler()), ("model", LinearRegression())]).fit(X, y)
    return Fit(
        target="y",
        scenario="s",
        family="mlr",
        inputs=("a", "b"),
        pipeline=pipeline,
        params={},
        explainer="linear",
        explainable=True,
        X_train=X.iloc[:30],
        y_train=y.iloc[:30],
        X_test=X.iloc[30:],
        y_test=y.iloc[30:],
    )


STUDY = study_from_dict(
    {
        "name": "expectations",
        "factors": [{"name": "a", "low": 0.0, "high": 1.0}, {"name": "b", "low": 0.0, "high": 1.0}],
        "responses": [{"name": "y", "expect": {"a": "increasing", "b": "decreasing"}}],
    }
)


def test_expectations_fail_on_a_model_built_to_violate_one(rng: np.random.Generator) -> None:
    good = linear_fit((2.0, -1.0), rng)
    bad = linear_fit((2.0, +1.0), rng)  # raises y with b, against the expert
    bad = Fit(**{**bad.__dict__, "family": "bad"})
    table = check_expectations(STUDY, [good, bad]).set_index(["family", "feature"])
    assert table["passed"].to_dict() == {
        ("mlr", "a"): True,
        ("mlr", "b"): True,
        ("bad", "a"): True,
        ("bad", "b"): False,
    }
    assert table.loc[("bad", "b"), "observed"] == "increasing"
    assert table.loc[("bad", "b"), "change"] == pytest.approx(1.0, abs=0.1)


def test_mixed_effect_fails_an_expectation(rng: np.random.Generator) -> None:
    fit = linear_fit((2.0, -1.0), rng)

    class Bowl:
        def predict(self, X: pd.DataFrame) -> np.ndarray:
            return np.asarray((X["b"] - 0.5) ** 2, dtype=float)

    bowl = Fit(**{**fit.__dict__, "pipeline": Bowl()})
    row = check_expectations(STUDY, [bowl]).set_index("feature").loc["b"]
    assert row["observed"] == "mixed"
    assert not row["passed"]


def test_conformal_quantile() -> None:
    residuals = np.arange(1, 20, dtype=float)  # 19 residuals: ⌈20 · 0.9⌉ = 18th smallest
    assert conformal_quantile(-residuals, 0.9) == 18.0
    assert math.isinf(conformal_quantile([1.0, 2.0], 0.9))
    with pytest.raises(SpecError, match="between 0 and 1"):
        conformal_quantile(residuals, 1.5)


def test_prediction_interval(rng: np.random.Generator) -> None:
    fit = linear_fit((2.0, -1.0), rng)
    residuals = rng.normal(0, 0.05, 200)
    table = prediction_interval(fit, fit.X_test, 0.9, residuals=residuals)
    assert list(table.columns) == ["prediction", "lower", "upper"]
    assert table.index.equals(fit.X_test.index)
    np.testing.assert_allclose(table["prediction"], fit.predict(fit.X_test))
    half = conformal_quantile(residuals, 0.9)
    np.testing.assert_allclose(table["upper"] - table["prediction"], half)
    inside = (fit.y_test >= table["lower"]) & (fit.y_test <= table["upper"])
    assert inside.mean() >= 0.7
    with pytest.raises(SpecError, match="results_dir"):
        prediction_interval(fit, fit.X_test)
    with pytest.raises(DataError, match="missing input column 'b'"):
        prediction_interval(fit, fit.X_test[["a"]], residuals=residuals)


def test_bootstrap_importance(rng: np.random.Generator) -> None:
    fit = linear_fit((2.0, -0.3), rng)
    groups = pd.Series([f"G{i % 10}" for i in range(len(fit.X_train))], index=fit.X_train.index)
    every = bootstrap_importance(fit, groups, n_boot=20, seed=1)
    assert set(every["method"]) == {"shap", "coef"}
    assert (every["ci_low"] <= every["ci_high"]).all()
    coef = every[every["method"] == "coef"].set_index("feature")
    assert coef.loc["a", "direction_agreement"] == 1.0
    table = every[every["method"] == "shap"].set_index("feature")
    # mean |SHAP| of a linear model = |c| · mean |x − mean x|: about 2 · 0.25 for a, 0.3 · 0.25 for b
    assert table.loc["a", "ci_low"] > table.loc["b", "ci_high"]
    assert table.loc["a", "direction_agreement"] == 1.0
    with pytest.raises(SpecError, match="positive"):
        bootstrap_importance(fit, groups, n_boot=0)


def test_cooks_distance_by_its_formula(rng: np.random.Generator) -> None:
    fit = linear_fit((2.0, -1.0), rng)
    fit.y_train.iloc[3] += 2.0  # a label error
    fit.pipeline.fit(fit.X_train, fit.y_train)
    table = influential_points([fit]).set_index("row_id")
    X = np.column_stack([np.ones(len(fit.X_train)), fit.X_train.to_numpy(float)])
    y = fit.y_train.to_numpy(float)
    hat = X @ np.linalg.solve(X.T @ X, X.T)
    e = y - hat @ y
    p = X.shape[1]
    s2 = e @ e / (len(y) - p)
    h = np.diag(hat)
    cooks = e**2 / (p * s2) * h / (1 - h) ** 2
    np.testing.assert_allclose(table.loc[fit.X_train.index, "score"], cooks, rtol=1e-8)
    assert table["score"].idxmax() == fit.X_train.index[3]
    assert table.loc[fit.X_train.index[3], "candidate"]
