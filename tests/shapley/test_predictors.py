"""The compiled predictor: the pipeline's numbers, verified at load time, for every family; refused when wrong."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.compose import TransformedTargetRegressor
from sklearn.ensemble import RandomForestRegressor
from sklearn.linear_model import Ridge
from sklearn.neighbors import KNeighborsRegressor
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, PolynomialFeatures, StandardScaler
from sklearn.svm import SVR
from sklearn.tree import DecisionTreeRegressor
from xgboost import XGBRegressor

from glassline.models import load_fits
from glassline.shapley import _compiled, compile_pipeline, fast_predictor, pipeline_predict, tree_grid


def _xy(n: int = 60, p: int = 3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.uniform(0, 10, size=(n, p))
    y = 3 * X[:, 0] - 0.5 * X[:, 1] ** 2 + X[:, 0] * X[:, 2] + rng.normal(0, 0.3, n)
    return X, y


@pytest.mark.parametrize(
    ("family", "steps"),
    [
        ("mlr", ("numpy: StandardScaler", "numpy: LinearRegression")),
        ("svr", ("numpy: StandardScaler", "numpy: TransformedTargetRegressor(SVR(rbf), StandardScaler)")),
        ("rf", ("numpy: StandardScaler", "numpy: RandomForest (mean of its trees' tree_.predict)")),
        ("xgb", ("numpy: StandardScaler", "numpy: XGBoost booster.inplace_predict")),
    ],
)
def test_every_family_compiles_to_the_pipelines_numbers(results_dir: Path, family: str, steps: tuple[str, ...]) -> None:
    fit = load_fits(results_dir)[("y", "factors", family)]
    background = fit.X_train.loc[:, list(fit.inputs)].to_numpy(dtype=float)
    compiled = compile_pipeline(fit.pipeline, background)
    assert compiled is not None
    assert compiled.steps == steps
    assert compiled.max_difference <= 1e-9 * max(1.0, float(np.abs(fit.predict(fit.X_train)).max()))
    X = fit.X_test.loc[:, list(fit.inputs)]
    np.testing.assert_allclose(compiled.predict(X.to_numpy(dtype=float)), fit.predict(fit.X_test), rtol=1e-12)
    assert "verified against the pipeline" in compiled.describe()


@pytest.mark.parametrize("kernel", ["rbf", "linear", "poly", "sigmoid"])
def test_svr_kernels(kernel: str) -> None:
    X, y = _xy()
    pipe = Pipeline([("scale", StandardScaler()), ("model", SVR(kernel=kernel, C=5.0, degree=2, coef0=0.5))]).fit(X, y)
    compiled = compile_pipeline(pipe, X)
    assert compiled is not None
    assert compiled.steps[-1] == f"numpy: SVR({kernel})"
    probe = np.random.default_rng(1).uniform(-5, 15, size=(50, 3))
    np.testing.assert_allclose(compiled.predict(probe), pipe.predict(probe), rtol=1e-9, atol=1e-9)


def test_polynomial_ridge_as_in_poly2() -> None:
    X, y = _xy(p=4)
    pipe = Pipeline(
        [
            ("scale", StandardScaler()),
            ("poly", PolynomialFeatures(degree=2, include_bias=False)),
            ("model", Ridge(alpha=1e-6, solver="svd")),
        ]
    ).fit(X, y)
    compiled = compile_pipeline(pipe, X)
    assert compiled is not None
    assert compiled.steps == ("numpy: StandardScaler", "numpy: PolynomialFeatures", "numpy: Ridge")


def test_nothing_to_compile_keeps_the_pipeline() -> None:
    X, y = _xy()
    neighbours = KNeighborsRegressor().fit(X, y)
    assert compile_pipeline(neighbours, X) is None
    assert tree_grid(neighbours, X) is None
    predictor = fast_predictor(neighbours, X)
    assert predictor.description.startswith("the pipeline's predict")
    assert predictor.grid is None
    np.testing.assert_array_equal(predictor.predict(X), neighbours.predict(X))


def test_target_function_transformer_runs_through_the_library() -> None:
    X, y = _xy()
    model = TransformedTargetRegressor(Ridge(), transformer=FunctionTransformer(np.log1p, np.expm1))
    pipe = Pipeline([("scale", StandardScaler()), ("model", model)]).fit(X, np.abs(y))
    compiled = compile_pipeline(pipe, X)
    assert compiled is not None
    assert compiled.steps[-1] == "library: TransformedTargetRegressor"
    np.testing.assert_allclose(compiled.predict(X), pipe.predict(X), rtol=1e-12)


def test_a_compiled_step_that_disagrees_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    X, y = _xy()
    pipe = Pipeline([("scale", StandardScaler()), ("model", Ridge())]).fit(X, y)
    real = _compiled._compile_regressor

    def off_by_a_little(step: object) -> object:
        f, name = real(step)  # type: ignore[misc]
        return (lambda x: f(x) * (1 + 1e-6)), name

    monkeypatch.setattr(_compiled, "_compile_regressor", off_by_a_little)
    assert compile_pipeline(pipe, X) is None
    predictor = fast_predictor(pipe, X)
    assert predictor.description.startswith("the pipeline's predict")
    np.testing.assert_allclose(predictor.predict(X), pipe.predict(X))


def test_pipeline_predict_takes_arrays_for_a_dataframe_fit() -> None:
    X, y = _xy()
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    pipe = Pipeline([("scale", StandardScaler()), ("model", Ridge())]).fit(frame, y)
    np.testing.assert_allclose(pipeline_predict(pipe)(X), pipe.predict(frame))


# ------------------------------------------------------------------------------------------ tree grids
@pytest.mark.parametrize("family", ["rf", "xgb"])
def test_tree_families_tabulate_exactly(results_dir: Path, family: str) -> None:
    fit = load_fits(results_dir)[("y", "factors", family)]
    background = fit.X_train.loc[:, list(fit.inputs)].to_numpy(dtype=float)
    grid = tree_grid(fit.pipeline, background)
    assert grid is not None
    assert grid.max_difference == 0.0
    probe = np.random.default_rng(5).uniform(-1.0, 2.0, size=(2000, 3))
    np.testing.assert_array_equal(grid.predict(probe), pipeline_predict(fit.pipeline)(probe))
    assert fast_predictor(fit.pipeline, background).grid is not None


def _at_thresholds(thresholds: np.ndarray, scaler: StandardScaler) -> np.ndarray:
    """Raw inputs whose scaled float32 value is each threshold, and the float32 values either side."""
    t32 = np.asarray(thresholds, dtype=np.float32)
    around = np.concatenate([t32, np.nextafter(t32, np.float32(np.inf)), np.nextafter(t32, np.float32(-np.inf))])
    z = np.tile(around.astype(float)[:, None], (1, 3))
    return np.asarray(scaler.inverse_transform(z))


@pytest.mark.parametrize("kind", ["sklearn", "xgboost"])
def test_inputs_on_a_threshold_fall_on_the_models_side(kind: str) -> None:
    X, y = _xy(n=80)
    model = (
        DecisionTreeRegressor(max_depth=6, random_state=0)
        if kind == "sklearn"
        else XGBRegressor(n_estimators=30, max_depth=3, tree_method="exact", n_jobs=1)
    )
    pipe = Pipeline([("scale", StandardScaler()), ("model", model)]).fit(X, y)
    grid = tree_grid(pipe, X)
    assert grid is not None
    edges = np.concatenate(grid.edges)
    rows = _at_thresholds(edges, pipe.named_steps["scale"])
    np.testing.assert_array_equal(grid.predict(rows), pipeline_predict(pipe)(rows))


def test_grids_too_large_or_behind_other_steps_are_not_tabulated() -> None:
    X, y = _xy()
    forest = Pipeline([("scale", StandardScaler()), ("model", RandomForestRegressor(n_estimators=5, random_state=0))])
    forest.fit(X, y)
    assert tree_grid(forest, X, max_cells=10) is None
    behind_poly = Pipeline([("poly", PolynomialFeatures(2)), ("model", DecisionTreeRegressor(random_state=0))])
    assert tree_grid(behind_poly.fit(X, y), X) is None


# ------------------------------------------------------------------------------------------ anywhere
@functools.cache
def _svr() -> tuple[Pipeline, Any]:
    X, y = _xy()
    model = TransformedTargetRegressor(SVR(C=10.0), transformer=StandardScaler())
    pipe = Pipeline([("scale", StandardScaler()), ("model", model)]).fit(X, y)
    return pipe, compile_pipeline(pipe, X)


@functools.cache
def _tabulated_forest() -> tuple[Pipeline, Any]:
    X, y = _xy()
    forest = RandomForestRegressor(n_estimators=10, max_depth=5, random_state=0)
    pipe = Pipeline([("scale", StandardScaler()), ("model", forest)]).fit(X, y)
    return pipe, tree_grid(pipe, X)


@functools.cache
def _continuous_forest() -> tuple[Pipeline, Any]:
    """A forest on 200 continuous rows: too many thresholds to tabulate, so it is compiled tree by tree."""
    X, y = _xy(n=200)
    forest = RandomForestRegressor(n_estimators=30, random_state=0)
    pipe = Pipeline([("scale", StandardScaler()), ("model", forest)]).fit(X, y)
    assert tree_grid(pipe, X) is None
    compiled = compile_pipeline(pipe, X)
    assert compiled is not None
    assert compiled.steps[-1] == "numpy: RandomForestRegressor (mean of its trees' tree_.predict)"
    return pipe, compiled


@pytest.mark.parametrize("build", [_svr, _tabulated_forest, _continuous_forest], ids=["svr", "grid", "forest"])
@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(-50.0, 60.0), min_size=3, max_size=3))
def test_fast_predictors_equal_the_pipeline_anywhere(
    build: Callable[[], tuple[Pipeline, Any]], row: list[float]
) -> None:
    pipe, fast = build()
    assert fast is not None
    x = np.array([row])
    np.testing.assert_allclose(fast.predict(x), pipe.predict(x), rtol=1e-9, atol=1e-9)
