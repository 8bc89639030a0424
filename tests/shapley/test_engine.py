"""The Shapley engine as the service builds it: shap's exact values, the explain stage's, one name per algorithm."""

from __future__ import annotations

import ast
import functools
import warnings
from pathlib import Path
from typing import get_args

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import glassline
from glassline.explain import shap_values
from glassline.models import FAMILIES, Fit, load_fits
from glassline.shapley import (
    MAX_EXACT_INPUTS,
    MAX_GRID_CELLS,
    Algorithm,
    ShapleyEngine,
    enumerate_values,
    shapley_from_coalitions,
)

#: The algorithm each served family gets, with the verified fast predictor (True) and with the pipeline (False).
#: The forest's thresholds span 38 × 43 × 39 cells: more than enumerating the background against itself
#: predicts (40 × 6 × 40), so the explain stage enumerates it through its compiled trees, while the service,
#: which lives long, tabulates it once (MAX_GRID_CELLS); both are exact, and give the same values.
SERVED_ALGORITHMS = {
    "mlr": {False: "closed-form linear", True: "closed-form linear"},
    "rsm": {False: "closed-form polynomial", True: "closed-form polynomial"},
    "svr": {False: "RBF product", True: "RBF product"},
    "rf": {False: "batched exact enumeration", True: "tabulated trees"},
    "xgb": {False: "batched exact enumeration", True: "tabulated trees"},
}


#: Exact algorithms that differ only in cost: the service may tabulate a tree ensemble the explain stage enumerates.
EXACT_TREE_ALGORITHMS = {"tabulated trees", "batched exact enumeration"}


def _served(fit: Fit, background: pd.DataFrame, **options: object) -> ShapleyEngine:
    """The engine exactly as ``serve/_runtime.ServedModel`` builds it: the pipeline, the published background,
    the family's kind, tree tables up to MAX_GRID_CELLS."""
    options = {"table_cells": MAX_GRID_CELLS, **options}
    return ShapleyEngine(fit.pipeline, background, kind=fit.explainer, **options)  # type: ignore[arg-type]


def _same_algorithm(served: str, reported: str) -> bool:
    return served == reported or {served, reported} <= EXACT_TREE_ALGORITHMS


@pytest.mark.parametrize("compiled", [False, True], ids=["pipeline", "compiled"])
@pytest.mark.parametrize("family", list(SERVED_ALGORITHMS))
def test_same_values_as_shap(results_dir: Path, family: str, compiled: bool) -> None:
    with warnings.catch_warnings():
        # shap imports matplotlib colour maps that raise a PendingDeprecationWarning on import
        warnings.filterwarnings("ignore", category=PendingDeprecationWarning)
        import shap
    fit = load_fits(results_dir)[("y", "factors", family)]
    background = fit.X_train.loc[:, list(fit.inputs)].astype(float)
    engine = _served(fit, background, fast=compiled)
    if compiled:
        assert engine.predictor.startswith("tabulated" if family in ("xgb", "rf") else "compiled")
    else:
        assert engine.predictor.startswith("the pipeline's predict")
    assert engine.algorithm == SERVED_ALGORITHMS[family][compiled]
    X = fit.X_test.loc[:, list(fit.inputs)].to_numpy(dtype=float)
    ours = engine.explain(X)
    explainer = shap.explainers.ExactExplainer(
        lambda values: fit.pipeline.predict(pd.DataFrame(values, columns=list(fit.inputs))),
        shap.maskers.Independent(background.to_numpy(), max_samples=len(background)),
    )
    theirs = explainer(X)
    np.testing.assert_allclose(ours.values, theirs.values, atol=1e-9)
    assert ours.base_value == pytest.approx(float(theirs.base_values[0]))
    np.testing.assert_allclose(ours.prediction, fit.predict(fit.X_test), rtol=1e-9)
    np.testing.assert_allclose(engine.predict(X), fit.predict(fit.X_test), rtol=1e-9)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.floats(-2.0, 3.0), min_size=3, max_size=3))
def test_attributions_sum_to_prediction_minus_base(results_dir: Path, row: list[float]) -> None:
    fit = load_fits(results_dir)[("y", "factors", "svr")]
    engine = _served(fit, fit.X_train.loc[:, list(fit.inputs)].astype(float), fast=False)
    out = engine.explain(np.array([row]))
    assert out.values.sum() == pytest.approx(out.prediction[0] - out.base_value, abs=1e-9)


def test_large_batches_are_explained_in_blocks_with_the_same_values(
    results_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from glassline.shapley import _engine

    fit = load_fits(results_dir)[("y", "factors", "rf")]
    engine = _served(fit, fit.X_train.loc[:, list(fit.inputs)].astype(float), fast=False)
    assert engine.algorithm == "batched exact enumeration"
    assert engine.background_rows == 40
    X = np.random.default_rng(2).uniform(0, 1, size=(25, 3))
    whole = engine.explain(X)
    monkeypatch.setattr(_engine, "MAX_BLOCK_VALUES", 2**3 * 40 * 3 * 4)  # four rows per block
    blocks = engine.explain(X)
    np.testing.assert_allclose(blocks.values, whole.values, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(blocks.prediction, whole.prediction, rtol=1e-12)


def test_every_background_row_is_used_however_many_inputs() -> None:
    """Six inputs and 100 background rows: the service's values are those of the whole published background."""
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVR

    rng = np.random.default_rng(4)
    X = pd.DataFrame(rng.uniform(0, 1, size=(120, 6)), columns=[f"x{j}" for j in range(6)])
    y = X["x0"] * 2 + np.sin(3 * X["x1"]) + X["x2"] * X["x5"]
    pipe = Pipeline([("scale", StandardScaler()), ("model", SVR(C=3.0))]).fit(X, y)
    background = X.iloc[:100]
    engine = ShapleyEngine(pipe, background, fast=False)
    assert engine.base_value == pytest.approx(float(pipe.predict(background).mean()), rel=1e-12)
    rows = X.iloc[100:103].to_numpy()
    ours = engine.explain(rows).values
    theirs = shap_values(pipe, X.iloc[100:103], background, kind="exact").values
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-10)

    def predict(values: np.ndarray) -> np.ndarray:
        return np.asarray(pipe.predict(pd.DataFrame(values, columns=list(X.columns))), dtype=float)

    b = background.to_numpy()
    coalitions = enumerate_values(predict, rows, b, f_x=predict(rows), f_background_mean=float(predict(b).mean()))
    np.testing.assert_allclose(ours, shapley_from_coalitions(coalitions, 6), rtol=0, atol=1e-10)


# ------------------------------------------------------------------------------------------ service = explain
def _study_rows(n_inputs: int, seed: int = 11) -> tuple[pd.DataFrame, pd.Series]:
    """17 configurations × 3 replicates, as a designed experiment gives them."""
    rng = np.random.default_rng(seed)
    settings_ = np.repeat(rng.uniform(0.0, 1.0, size=(17, n_inputs)), 3, axis=0)
    X = pd.DataFrame(settings_ * np.arange(1, n_inputs + 1), columns=[f"x{j + 1}" for j in range(n_inputs)])
    z = settings_
    y = 3.0 * z[:, 0] - 2.0 * z[:, 1] ** 2 + 1.5 * z[:, 0] * z[:, -1] + rng.normal(0.0, 0.05, len(z))
    return X, pd.Series(y, name="y", index=X.index)


@functools.cache
def _family_fit(family: str, n_inputs: int) -> Fit:
    """A fit of *family* as the model stage makes one: its pipeline on 40 training rows, 11 test rows."""
    X, y = _study_rows(n_inputs)
    train, test = X.index[:40], X.index[40:]
    pipeline = FAMILIES[family].make(0).fit(X.loc[train], y.loc[train])
    return Fit(
        target="y",
        scenario="factors",
        family=family,
        inputs=tuple(X.columns),
        pipeline=pipeline,
        params={},
        explainer=FAMILIES[family].explainer,
        explainable=True,
        X_train=X.loc[train],
        y_train=y.loc[train],
        X_test=X.loc[test],
        y_test=y.loc[test],
    )


def _published_background(fit: Fit) -> pd.DataFrame:
    """A sample of the training rows, as the registry publishes it (registry/_bundle.py)."""
    return fit.X_train.loc[:, list(fit.inputs)].sample(n=30, random_state=0).sort_index()


@pytest.mark.parametrize("family", list(FAMILIES))
def test_the_service_attributes_training_rows_as_explain_does(family: str) -> None:
    fit = _family_fit(family, 3)
    background = _published_background(fit)
    served = _served(fit, background)
    answered = served.explain(fit.X_train.to_numpy(dtype=float))
    reported = shap_values(fit, fit.X_train, background)
    assert _same_algorithm(served.algorithm, reported.settings.algorithm)
    np.testing.assert_allclose(answered.values, reported.values, rtol=0, atol=1e-9)
    np.testing.assert_allclose(answered.base_value, reported.base_values, rtol=0, atol=1e-9)
    np.testing.assert_allclose(answered.prediction, fit.predict(fit.X_train), rtol=0, atol=1e-9)


@pytest.mark.parametrize("family", list(FAMILIES))
def test_an_eleven_input_model_is_explained_by_both_paths(family: str) -> None:
    assert MAX_EXACT_INPUTS >= 11
    fit = _family_fit(family, 11)
    background = _published_background(fit)
    rows = fit.X_train.iloc[:3]
    served = _served(fit, background)  # the service refused more than 10 inputs before the engine
    reported = shap_values(fit, rows, background)
    assert _same_algorithm(served.algorithm, reported.settings.algorithm)
    assert served.algorithm != "Permutation (approximate)"
    answered = served.explain(rows.to_numpy(dtype=float))
    assert answered.estimated_error is None
    np.testing.assert_allclose(answered.values, reported.values, rtol=0, atol=1e-9)
    gap = answered.values.sum(axis=1) + answered.base_value - fit.predict(rows)
    assert np.abs(gap).max() <= 1e-6 * max(1.0, float(np.abs(answered.prediction).max()))


def test_the_expected_rows_hint_lets_treeshap_in_for_large_batches() -> None:
    fit = _family_fit("rf", 6)
    background = _published_background(fit)
    assert ShapleyEngine(fit.pipeline, background, kind="tree").algorithm != "TreeExplainer interventional"
    batch = ShapleyEngine(fit.pipeline, background, kind="tree", expected_rows=100_000, table_cells=0)
    assert batch.algorithm == "TreeExplainer interventional"
    exact = ShapleyEngine(fit.pipeline, background, kind="exact", fast=False)
    rows = fit.X_test.to_numpy(dtype=float)
    values = exact.explain(rows).values
    np.testing.assert_allclose(batch.explain(rows).values, values, rtol=0, atol=1e-5 * np.abs(values).max())


def test_bad_rows_and_arguments_are_refused() -> None:
    from glassline.exceptions import DataError

    fit = _family_fit("mlr", 3)
    engine = _served(fit, _published_background(fit))
    with pytest.raises(DataError, match=r"x: expected rows of 3 inputs \['x1', 'x2', 'x3'\]; got an array of shape"):
        engine.explain(np.zeros((2, 4)))
    with pytest.raises(ValueError, match="'expected_rows' parameter"):
        _served(fit, fit.X_train, expected_rows=0)
    with pytest.raises(DataError, match=r"background: missing column 'x2'.*Did you mean"):
        _served(fit, fit.X_train.rename(columns={"x2": "x_2"}))
    assert engine.explain(np.zeros((0, 3))).values.shape == (0, 3)


# ------------------------------------------------------------------------------------------ one name per algorithm
OLD_NAMES = ("closed form (affine model)", "exact enumeration over coalitions")


def _literals(source: str) -> list[list[str]]:
    """The string arguments of every ``Literal[...]`` in a module's source."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Subscript)
            and getattr(node.value, "id", getattr(node.value, "attr", None)) == "Literal"
        ):
            items = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
            found.append(
                [item.value for item in items if isinstance(item, ast.Constant) and isinstance(item.value, str)]
            )
    return found


def test_every_algorithm_name_is_in_exactly_one_literal() -> None:
    names = get_args(Algorithm)
    assert len(set(names)) == len(names) == 7
    package = Path(glassline.__file__).parent
    holders: dict[str, list[str]] = {name: [] for name in names}
    for module in sorted(package.rglob("*.py")):
        source = module.read_text(encoding="utf-8")
        for literal in _literals(source):
            for name in set(literal) & set(names):
                holders[name].append(str(module.relative_to(package)))
        for old in OLD_NAMES:
            assert old not in source, f"{module}: the old algorithm name {old!r}"
    assert holders == {name: ["shapley/_engine.py"] for name in names}
