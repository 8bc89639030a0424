"""Fast interventional SHAP: identical to shap's exact explainer with an Independent masker, for every family."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from glassline.models import load_fits
from glassline.models._fast import fast_predictor, pipeline_predict
from glassline.registry import ValidityDomain
from glassline.serve import Attributor


@pytest.mark.parametrize("compiled", [False, True], ids=["pipeline", "compiled"])
@pytest.mark.parametrize(
    ("family", "method"), [("mlr", "closed form"), ("svr", "exact"), ("rf", "exact"), ("xgb", "exact")]
)
def test_same_values_as_shap(results_dir: Path, family: str, method: str, compiled: bool) -> None:
    with warnings.catch_warnings():
        # shap imports matplotlib colour maps that raise a PendingDeprecationWarning on import
        warnings.filterwarnings("ignore", category=PendingDeprecationWarning)
        import shap
    fit = load_fits(results_dir)[("y", "factors", family)]
    background = fit.X_train.loc[:, list(fit.inputs)].astype(float)
    if compiled:
        predictor = fast_predictor(fit.pipeline, background.to_numpy())
        assert predictor.description.startswith("tabulated" if family in {"rf", "xgb"} else "compiled")
        attributor = Attributor(predictor.predict, background, grid=predictor.grid)
    else:
        attributor = Attributor(pipeline_predict(fit.pipeline), background)
    assert attributor.method.startswith(method)
    X = fit.X_test.loc[:, list(fit.inputs)].to_numpy(dtype=float)
    ours = attributor.explain(X)
    explainer = shap.explainers.ExactExplainer(
        lambda values: fit.pipeline.predict(pd.DataFrame(values, columns=list(fit.inputs))),
        shap.maskers.Independent(background.to_numpy(), max_samples=len(background)),
    )
    theirs = explainer(X)
    np.testing.assert_allclose(ours.values, theirs.values, atol=1e-9)
    assert ours.base_value == pytest.approx(float(theirs.base_values[0]))
    np.testing.assert_allclose(ours.prediction, fit.predict(fit.X_test), rtol=1e-9)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.floats(-2.0, 3.0), min_size=3, max_size=3))
def test_attributions_sum_to_prediction_minus_base(results_dir: Path, row: list[float]) -> None:
    fit = load_fits(results_dir)[("y", "factors", "svr")]
    attributor = Attributor(pipeline_predict(fit.pipeline), fit.X_train.loc[:, list(fit.inputs)].astype(float))
    out = attributor.explain(np.array([row]))
    assert out.values.sum() == pytest.approx(out.prediction[0] - out.base_value, abs=1e-9)


def test_domain_ranges_distance_and_round_trip(results_dir: Path, study: object) -> None:
    from glassline import Study

    assert isinstance(study, Study)
    fit = load_fits(results_dir)[("y", "factors", "mlr")]
    X = fit.X_train.loc[:, list(fit.inputs)]
    domain = ValidityDomain.from_training(study, X)
    assert all(v.inside for v in domain.check(X.to_numpy()))  # every training row is inside
    assert domain.check(np.array([[1e300, 0.5, 0.5]]))[0].violations[-1].kind == "distance"
    far = domain.check(np.array([[1e300, 0.5, 0.5]]))[0]
    assert np.isfinite(far.distance)  # huge inputs overflow to the largest finite distance, never ∞ in JSON
    again = ValidityDomain.from_dict(domain.to_dict())
    assert again == domain


def test_large_batches_are_explained_in_blocks_with_the_same_values(
    results_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from glassline.serve import _attribution

    fit = load_fits(results_dir)[("y", "factors", "svr")]
    attributor = Attributor(pipeline_predict(fit.pipeline), fit.X_train.loc[:, list(fit.inputs)].astype(float))
    X = np.random.default_rng(2).uniform(0, 1, size=(25, 3))
    whole = attributor.explain(X)
    monkeypatch.setattr(_attribution, "MAX_BLOCK_VALUES", 2**3 * 40 * 3 * 4)  # four rows per block
    blocks = attributor.explain(X)
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
    attributor = Attributor(pipeline_predict(pipe), background)
    assert attributor.base_value == pytest.approx(float(pipe.predict(background).mean()), rel=1e-12)
    rows = X.iloc[100:103].to_numpy()
    ours = attributor.explain(rows).values
    from glassline.explain import shap_values

    theirs = shap_values(pipe, X.iloc[100:103], background, kind="exact").values
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-10)
