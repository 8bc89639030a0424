"""One conformance test over the registry: every family behaves the same way for every later stage."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.model_selection import ParameterGrid
from sklearn.pipeline import Pipeline

from glassline import SpecError, study_from_dict
from glassline.models import FAMILIES, Family, family_names, fit_tuned, get_family
from glassline.spec import KNOWN_FAMILIES


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, pd.Series, np.ndarray]:
    rng = np.random.default_rng(5)
    groups = np.repeat(np.arange(12), 3)
    X = pd.DataFrame(rng.uniform(0, 1, size=(36, 3)), columns=["porosity", "mass_loading", "temperature"])
    y = pd.Series(200 * X["porosity"] - 50 * X["mass_loading"] ** 2 + rng.normal(0, 3, 36), name="adhesion")
    return X, y, groups


@pytest.mark.parametrize("name", list(FAMILIES))
def test_family_conformance(name: str, data: tuple[pd.DataFrame, pd.Series, np.ndarray]) -> None:
    X, y, groups = data
    family = FAMILIES[name]
    assert isinstance(family, Family)
    assert family.name == name
    assert family.label
    assert family.description
    assert family.explainer in ("linear", "tree", "exact")

    # a fresh, unfitted Pipeline whose last step is "model", each call a new object
    first, second = family.make(3), family.make(3)
    assert isinstance(first, Pipeline)
    assert first is not second
    assert first.steps[-1][0] == "model"
    assert not hasattr(first, "n_features_in_")

    # pandas in, feature names kept, predictions for every row
    first.fit(X, y)
    assert list(first.feature_names_in_) == list(X.columns)
    pred = first.predict(X)
    assert pred.shape == (len(X),)
    assert np.isfinite(pred).all()
    assert np.corrcoef(pred, y)[0, 1] > 0.5, "the family should learn a strong signal"

    # clone-able: a clone is unfitted and refits to the same predictions (deterministic with a seed)
    copy = clone(first)
    assert not hasattr(copy, "n_features_in_")
    np.testing.assert_array_equal(copy.fit(X, y).predict(X), pred)
    np.testing.assert_array_equal(second.fit(X, y).predict(X), pred)

    # the tuning space: keys are the pipeline's parameters, every candidate fits
    params = first.get_params()
    for key, values in family.space.items():
        assert key in params, f"{name}: tuning key {key!r} is not a parameter of its pipeline"
        assert len(values) >= 2, f"{name}: {key!r} needs at least two candidates to tune"
    for candidate in ParameterGrid(dict(family.space)) if family.space else [{}]:
        model = clone(first).set_params(**candidate).fit(X, y)
        assert np.isfinite(model.predict(X.iloc[:5])).all()

    # a staged parameter predicts each candidate exactly as a fit with that value would
    if family.staged is not None:
        assert family.staged.param in family.space
        values = list(family.space[family.staged.param])
        big = clone(first).set_params(**{family.staged.param: max(values)}).fit(X, y)
        for value in values:
            own = clone(first).set_params(**{family.staged.param: value}).fit(X, y)
            np.testing.assert_allclose(family.staged.predict(big, X, value), own.predict(X), rtol=0, atol=1e-9)

    # nested tuning returns a fitted pipeline and JSON-able chosen values from the space
    tuned = fit_tuned(family, X, y, groups, seed=3, folds=3)
    assert set(tuned.params) == set(family.space)
    for key, value in tuned.params.items():
        assert value in family.space[key]
        assert isinstance(value, str | int | float | bool)
    assert tuned.pipeline.predict(X).shape == (len(X),)


def test_registry_names_are_what_the_study_file_accepts() -> None:
    assert family_names() == tuple(FAMILIES)
    assert tuple(KNOWN_FAMILIES) == family_names()
    raw = {"name": "s", "factors": [{"name": "x", "low": 0, "high": 1}], "responses": [{"name": "y"}]}
    assert study_from_dict(raw).models.families == list(family_names())
    with pytest.raises(SpecError, match="Did you mean 'svr'"):
        study_from_dict({**raw, "models": {"families": ["svm"]}})


def test_unknown_family_is_a_clear_error() -> None:
    with pytest.raises(SpecError, match=r"unknown model family 'xgboost'.*Did you mean 'xgb'"):
        get_family("xgboost")
