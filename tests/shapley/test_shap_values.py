"""shap_values on the Shapley engine: one interventional semantics for every family, checked against shap and itself."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest

with warnings.catch_warnings():
    # shap 0.51 calls matplotlib's Colormap.set_bad at import (a pending deprecation in matplotlib ≥ 3.10).
    warnings.filterwarnings("ignore", message="The set_bad function", category=PendingDeprecationWarning)
    import shap

from glassline.exceptions import DataError
from glassline.explain import ShapSettings, shap_values
from glassline.models import FAMILIES, Fit
from glassline.shapley import TreeShap, analyse, coalition_masks, enumerate_values, shapley_from_coalitions, tree_values

EXACT_ALGORITHMS = {
    "closed-form linear",
    "closed-form polynomial",
    "RBF product",
    "tabulated trees",
    "batched exact enumeration",
}


def _data(rng: np.random.Generator, n_rows: int, n_inputs: int) -> tuple[pd.DataFrame, pd.Series]:
    """Inputs on different scales and offsets; a response with curvature and an interaction."""
    scales = np.array([1.0, 10.0, 100.0, 0.1, 5.0, 2.0, 50.0, 0.5] * 2)[:n_inputs]
    z = rng.uniform(-1, 1, size=(n_rows, n_inputs))
    X = pd.DataFrame(z * scales + 2 * scales, columns=[f"x{j}" for j in range(n_inputs)])
    y = 2 * z[:, 0] + np.sin(3 * z[:, 1 % n_inputs]) + z[:, 0] * z[:, -1] + 0.3 * rng.normal(size=n_rows)
    return X, pd.Series(y, name="y")


def _reference(model, X: pd.DataFrame, background: pd.DataFrame) -> shap.Explanation:
    """shap.ExactExplainer with an Independent masker holding every background row."""
    columns = list(X.columns)

    def predict(rows: np.ndarray) -> np.ndarray:
        named = hasattr(model, "feature_names_in_")
        return np.asarray(model.predict(pd.DataFrame(rows, columns=columns) if named else rows))

    masker = shap.maskers.Independent(background.to_numpy(), max_samples=len(background))
    return shap.ExactExplainer(predict, masker)(X.to_numpy(), silent=True)


def _enumerated(model, X: pd.DataFrame, background: pd.DataFrame) -> np.ndarray:
    """Plain batched enumeration, the definition every closed form must reproduce."""
    columns = list(X.columns)

    def predict(rows: np.ndarray) -> np.ndarray:
        return np.asarray(model.predict(pd.DataFrame(rows, columns=columns)), dtype=float)

    x, b = X.to_numpy(float), background.to_numpy(float)
    values = enumerate_values(predict, x, b, f_x=predict(x), f_background_mean=float(predict(b).mean()))
    return shapley_from_coalitions(values, x.shape[1])


def _fitted(name: str, rng: np.random.Generator, n_inputs: int, n_rows: int = 40):
    X, y = _data(rng, n_rows, n_inputs)
    return FAMILIES[name].make(0).fit(X, y), X


# ----------------------------------------------------------------------------- against shap
@pytest.mark.parametrize("n_inputs", [3, 5])
@pytest.mark.parametrize("name", list(FAMILIES))
def test_every_family_matches_shap_exact_explainer(name: str, n_inputs: int, rng: np.random.Generator) -> None:
    pipeline, X = _fitted(name, rng, n_inputs)
    rows = X.iloc[:6]
    ours = shap_values(pipeline, rows, X, kind=FAMILIES[name].explainer)
    reference = _reference(pipeline, rows, X)
    scale = np.abs(reference.values).max()
    # shap's TreeSHAP keeps path weights in float32: ≈ 1e-7 relative; every other algorithm is exact.
    tolerance = 1e-8 if ours.settings.algorithm in EXACT_ALGORITHMS else 1e-5 * scale
    np.testing.assert_allclose(ours.values, reference.values, rtol=0, atol=tolerance)
    np.testing.assert_allclose(ours.base_values, reference.base_values, rtol=0, atol=1e-8)


@pytest.mark.parametrize("name", ["rf", "xgb"])
def test_tree_paths_agree_with_enumeration(
    name: str, rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch
) -> None:
    import glassline.shapley._engine as shapley

    # no tree table (150 rows explained against 150 would make it worth building): enumeration is the reference
    monkeypatch.setattr(shapley, "MAX_GRID_CELLS", 0)
    pipeline, X = _fitted(name, rng, 4, n_rows=150)
    rows = X.iloc[:5]
    structure = analyse(pipeline)
    assert structure is not None
    assert structure.kind == "tree"
    scale = structure.scaler()
    # 150 background rows: more than shap's TreeExplainer handles correctly in one block.
    tree = tree_values(structure, scale(rows.to_numpy(float)), scale(X.to_numpy(float)))
    exact = shap_values(pipeline, rows, X, kind="exact")
    assert exact.settings.algorithm == "batched exact enumeration"
    np.testing.assert_allclose(tree, exact.values, rtol=0, atol=1e-5 * np.abs(exact.values).max())
    np.testing.assert_allclose(exact.values, _reference(pipeline, rows, X).values, rtol=0, atol=1e-8)


@pytest.mark.parametrize("name", ["rf", "xgb"])
def test_tree_explainer_path_when_enumeration_is_dear(
    name: str, rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch
) -> None:
    import glassline.shapley._engine as shapley

    monkeypatch.setattr(shapley, "TREE_ENUMERATION_BUDGET", 0)
    monkeypatch.setattr(shapley, "TREE_ENUMERATION_MIN_COALITIONS", 0)
    monkeypatch.setattr(shapley, "TREE_ENUMERATION_FACTOR", 0.0)
    monkeypatch.setattr(shapley, "MAX_GRID_CELLS", 0)  # and no tree table either
    pipeline, X = _fitted(name, rng, 4, n_rows=120)
    rows = X.iloc[:5]
    tree = shap_values(pipeline, rows, X, kind="tree")
    assert tree.settings.algorithm == "TreeExplainer interventional"
    exact = _reference(pipeline, rows, X).values
    np.testing.assert_allclose(tree.values, exact, rtol=0, atol=1e-5 * np.abs(exact).max())
    assert tree.settings.efficiency_gap <= 1e-5


def test_tree_spot_check_falls_back_to_enumeration(rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch) -> None:
    import glassline.shapley._engine as shapley

    monkeypatch.setattr(shapley, "TREE_ENUMERATION_BUDGET", 0)
    monkeypatch.setattr(shapley, "TREE_ENUMERATION_MIN_COALITIONS", 0)
    monkeypatch.setattr(TreeShap, "values", lambda self, Z: np.ones(Z.shape))
    pipeline, X = _fitted("rf", rng, 3)
    explanation = shap_values(pipeline, X.iloc[:4], X, kind="tree")
    assert explanation.settings.algorithm == "batched exact enumeration"
    np.testing.assert_allclose(explanation.values, _reference(pipeline, X.iloc[:4], X).values, rtol=0, atol=1e-8)


def test_small_forest_uses_exact_enumeration(rng: np.random.Generator) -> None:
    pipeline, X = _fitted("rf", rng, 3)
    explanation = shap_values(pipeline, X.iloc[:4], X, kind="tree")
    assert explanation.settings.algorithm == "batched exact enumeration"
    np.testing.assert_allclose(explanation.values, _reference(pipeline, X.iloc[:4], X).values, rtol=0, atol=1e-8)


def _designed(rng: np.random.Generator, n_inputs: int, levels: int = 5, n_rows: int = 60):
    """Inputs on a few levels each, as a designed experiment has them (replicates share settings)."""
    grid = np.linspace(-1.0, 1.0, levels)
    z = rng.choice(grid, size=(n_rows, n_inputs))
    scales = np.array([1.0, 10.0, 100.0, 0.1, 5.0, 2.0][:n_inputs])
    X = pd.DataFrame(z * scales + 2 * scales, columns=[f"x{j}" for j in range(n_inputs)])
    y = 2 * z[:, 0] + np.sin(3 * z[:, 1]) + z[:, 0] * z[:, -1] + 0.3 * rng.normal(size=n_rows)
    return X, pd.Series(y, name="y")


@pytest.mark.parametrize("n_inputs", [3, 5])
@pytest.mark.parametrize("name", ["rf", "xgb"])
def test_designed_experiment_trees_are_tabulated_and_exact(name: str, n_inputs: int, rng: np.random.Generator) -> None:
    X, y = _designed(rng, n_inputs, levels=5 if n_inputs == 3 else 3)  # 5 inputs: 3 levels, as a Box-Behnken
    pipeline = FAMILIES[name].make(0).fit(X, y)
    rows = pd.concat([X.iloc[:5], X.iloc[:3] * 1.37 - 0.5])  # training rows and rows between the levels
    ours = shap_values(pipeline, rows, X, kind="tree")
    assert ours.settings.algorithm == "tabulated trees"
    np.testing.assert_allclose(ours.values, _enumerated(pipeline, rows, X), rtol=0, atol=1e-10)
    np.testing.assert_allclose(ours.values, _reference(pipeline, rows, X).values, rtol=0, atol=1e-8)
    assert ours.settings.efficiency_gap <= 1e-12


def test_a_tree_table_larger_than_enumeration_is_not_built(rng: np.random.Generator) -> None:
    import glassline.shapley._engine as shapley

    X, y = _designed(rng, 3, levels=9)
    pipeline = FAMILIES["rf"].make(0).fit(X, y)
    assert shap_values(pipeline, X.iloc[:2], X, kind="tree").settings.algorithm == "tabulated trees"
    original = shapley.TREE_TABLE_MIN_CELLS
    try:
        shapley.TREE_TABLE_MIN_CELLS = 1  # now only the enumeration's row count bounds the table
        one_row = shap_values(pipeline, X.iloc[:1], X.iloc[:2], kind="tree")  # 6 × 2 = 12 enumeration rows
    finally:
        shapley.TREE_TABLE_MIN_CELLS = original
    assert one_row.settings.algorithm == "batched exact enumeration"


# ----------------------------------------------------------------------------- efficiency and base value
@pytest.mark.parametrize("name", list(FAMILIES))
def test_efficiency_and_base_value(name: str, rng: np.random.Generator) -> None:
    pipeline, X = _fitted(name, rng, 4)
    background = X.iloc[5:35]
    explanation = shap_values(pipeline, X, background, kind=FAMILIES[name].explainer)
    prediction = pipeline.predict(X).astype(float)
    np.testing.assert_allclose(explanation.base_values, np.mean(pipeline.predict(background).astype(float)), rtol=1e-12)
    gap = explanation.values.sum(axis=1) + explanation.base_values - prediction
    tolerance = 1e-8 if explanation.settings.algorithm in EXACT_ALGORITHMS else 1e-6
    assert np.abs(gap).max() <= tolerance * np.abs(prediction).max()
    assert explanation.settings.efficiency_gap <= tolerance


def test_explanation_shape_names_and_settings(rng: np.random.Generator) -> None:
    pipeline, X = _fitted("svr", rng, 3)
    explanation = shap_values(pipeline, X.iloc[:7].assign(extra=1.0), X)
    assert explanation.values.shape == (7, 3)
    assert explanation.base_values.shape == (7,)
    np.testing.assert_array_equal(explanation.data, X.iloc[:7].to_numpy())
    assert list(explanation.feature_names) == ["x0", "x1", "x2"]
    assert explanation.display_data is None
    settings = explanation.settings
    assert isinstance(settings, ShapSettings)
    assert settings.algorithm == "RBF product"
    assert settings.background_size == 40
    assert settings.background == "given"
    assert settings.estimated_error is None
    assert settings.kind == "exact"


def test_fit_defaults_to_training_rows_and_family_kind(rng: np.random.Generator) -> None:
    X, y = _data(rng, 40, 3)
    train, test = X.iloc[:30], X.iloc[30:]
    pipeline = FAMILIES["mlr"].make(0).fit(train, y.iloc[:30])
    fit = Fit(
        target="y",
        scenario="all",
        family="mlr",
        inputs=("x0", "x1", "x2"),
        pipeline=pipeline,
        params={},
        explainer="linear",
        explainable=True,
        X_train=train,
        y_train=y.iloc[:30],
        X_test=test,
        y_test=y.iloc[30:],
    )
    explanation = shap_values(fit, test)
    assert explanation.settings.algorithm == "closed-form linear"
    assert explanation.settings.background_size == 30
    assert explanation.settings.background == "the fit's training rows"
    np.testing.assert_allclose(explanation.values, _reference(pipeline, test, train).values, rtol=0, atol=1e-8)
    slopes = pipeline.named_steps["model"].coef_ / pipeline.named_steps["scale"].scale_
    np.testing.assert_allclose(explanation.values, slopes * (test - train.mean()).to_numpy(), rtol=1e-10)


# ----------------------------------------------------------------------------- closed forms vs enumeration
hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    n_inputs=st.integers(1, 5),
    name=st.sampled_from(["mlr", "poly2", "svr"]),
    n_background=st.integers(1, 25),
)
def test_closed_forms_equal_enumeration(seed: int, n_inputs: int, name: str, n_background: int) -> None:
    rng = np.random.default_rng(seed)
    X, y = _data(rng, 30, n_inputs)
    pipeline = FAMILIES[name].make(0)
    if name == "svr":
        pipeline.set_params(model__regressor__C=float(rng.choice([1.0, 10.0, 100.0])))
    if name == "poly2":
        pipeline.set_params(model__alpha=float(rng.choice([1e-6, 1.0])))
    pipeline.fit(X, y)
    background = X.sample(n_background, random_state=seed % 1000)
    rows = X.iloc[:5]
    explanation = shap_values(pipeline, rows, background)
    assert explanation.settings.algorithm in {"closed-form linear", "closed-form polynomial", "RBF product"}
    expected = _enumerated(pipeline, rows, background)
    np.testing.assert_allclose(explanation.values, expected, rtol=0, atol=1e-9 * max(1.0, np.abs(y).max()))


def test_shapley_weights_give_efficiency_for_any_game(rng: np.random.Generator) -> None:
    for n_inputs in range(1, 7):
        values = rng.normal(size=(3, 2**n_inputs))
        phi = shapley_from_coalitions(values, n_inputs)
        np.testing.assert_allclose(phi.sum(axis=1), values[:, -1] - values[:, 0], atol=1e-12)
    # symmetric players in an additive game get their own contribution
    masks = coalition_masks(3)
    game = (masks * np.array([1.0, 2.0, 3.0])).sum(axis=1)[None, :]
    np.testing.assert_allclose(shapley_from_coalitions(game, 3), [[1.0, 2.0, 3.0]], atol=1e-12)


# ----------------------------------------------------------------------------- above 12 inputs
def test_many_inputs_use_permutation_with_stated_error(rng: np.random.Generator) -> None:
    pipeline, X = _fitted("svr", rng, 13, n_rows=30)
    explanation = shap_values(pipeline, X.iloc[:2], X.iloc[:10], seed=3)
    settings_ = explanation.settings
    assert settings_.algorithm == "Permutation (approximate)"
    assert settings_.estimated_error is not None
    assert math.isfinite(settings_.estimated_error)
    assert settings_.efficiency_gap <= 1e-8
    again = shap_values(pipeline, X.iloc[:2], X.iloc[:10], seed=3)
    np.testing.assert_array_equal(again.values, explanation.values)


def test_polynomial_stays_exact_above_12_inputs(rng: np.random.Generator) -> None:
    pipeline, X = _fitted("poly2", rng, 13, n_rows=30)
    explanation = shap_values(pipeline, X.iloc[:3], X)
    assert explanation.settings.algorithm == "closed-form polynomial"
    assert explanation.settings.efficiency_gap <= 1e-10


def test_lower_exact_limit_switches_to_permutation(rng: np.random.Generator) -> None:
    pipeline, X = _fitted("svr", rng, 4)
    approximate = shap_values(pipeline, X.iloc[:3], X, max_exact_inputs=3)
    exact = shap_values(pipeline, X.iloc[:3], X)
    assert approximate.settings.algorithm == "Permutation (approximate)"
    # 4 inputs: the permutation explainer enumerates enough orderings to be close to exact.
    assert np.abs(approximate.values - exact.values).max() <= 0.05 * np.abs(exact.values).max()


# ----------------------------------------------------------------------------- bad inputs
def test_missing_column_names_it_with_a_suggestion(rng: np.random.Generator) -> None:
    pipeline, X = _fitted("mlr", rng, 3)
    with pytest.raises(DataError, match=r"missing column 'x1'.*Did you mean .*'x_1'"):
        shap_values(pipeline, X.rename(columns={"x1": "x_1"}), X)


def test_empty_rows_are_refused(rng: np.random.Generator) -> None:
    pipeline, X = _fitted("mlr", rng, 3)
    with pytest.raises(DataError, match="X: no rows"):
        shap_values(pipeline, X.iloc[:0], X)
    with pytest.raises(DataError, match="background: no rows"):
        shap_values(pipeline, X, X.iloc[:0])


def test_background_with_nan_is_refused(rng: np.random.Generator) -> None:
    pipeline, X = _fitted("mlr", rng, 3)
    background = X.copy()
    background.iloc[4, 2] = np.nan
    with pytest.raises(DataError, match=r"background: column 'x2' has 1 missing.*row 4"):
        shap_values(pipeline, X, background)


def test_other_bad_arguments(rng: np.random.Generator) -> None:
    pipeline, X = _fitted("svr", rng, 3)
    with pytest.raises(DataError, match="background: required"):
        shap_values(pipeline, X)
    with pytest.raises(ValueError, match="'kind' parameter"):
        shap_values(pipeline, X, X, kind="kernel")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="kind='linear' needs"):
        shap_values(pipeline, X, X, kind="linear")
    with pytest.raises(ValueError, match="kind='tree' needs"):
        shap_values(pipeline, X, X, kind="tree")
    with pytest.raises(DataError, match="expected a pandas DataFrame"):
        shap_values(pipeline, X.to_numpy(), X)  # type: ignore[arg-type]
    with pytest.raises(DataError, match="must be numeric"):
        shap_values(pipeline, X.astype({"x0": str}), X)


# ----------------------------------------------------------------------------- models outside the registry
def test_bare_estimator_without_feature_names(rng: np.random.Generator) -> None:
    from sklearn.neighbors import KNeighborsRegressor

    X, y = _data(rng, 40, 3)
    model = KNeighborsRegressor(n_neighbors=4).fit(X.to_numpy(), y.to_numpy())
    explanation = shap_values(model, X.iloc[:5], X)
    assert explanation.settings.algorithm == "batched exact enumeration"
    np.testing.assert_allclose(explanation.values, _reference(model, X.iloc[:5], X).values, rtol=0, atol=1e-8)


def test_non_affine_target_transform_falls_back_to_enumeration(rng: np.random.Generator) -> None:
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVR

    X, y = _data(rng, 40, 3)
    model = make_pipeline(
        StandardScaler(), TransformedTargetRegressor(regressor=SVR(), func=np.arcsinh, inverse_func=np.sinh)
    ).fit(X, y)
    explanation = shap_values(model, X.iloc[:5], X)
    assert explanation.settings.algorithm == "batched exact enumeration"
    np.testing.assert_allclose(explanation.values, _reference(model, X.iloc[:5], X).values, rtol=0, atol=1e-8)
    assert explanation.settings.efficiency_gap <= 1e-10


def test_svr_with_explicit_gamma_and_minmax_scaling(rng: np.random.Generator) -> None:
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import MinMaxScaler
    from sklearn.svm import SVR

    X, y = _data(rng, 40, 4)
    model = make_pipeline(MinMaxScaler(), SVR(gamma=2.5, C=10.0)).fit(X, y)
    explanation = shap_values(model, X.iloc[:5], X.iloc[10:30])
    assert explanation.settings.algorithm == "RBF product"
    np.testing.assert_allclose(explanation.values, _enumerated(model, X.iloc[:5], X.iloc[10:30]), rtol=0, atol=1e-10)
