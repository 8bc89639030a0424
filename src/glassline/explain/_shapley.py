"""Interventional SHAP values with one semantics for every model family: :func:`shap_values`.

A thin wrapper on :class:`glassline.shapley.ShapleyEngine`, the engine the inference service uses too:
it builds the engine for the model and background (which chooses the algorithm once, see
:mod:`glassline.shapley`), explains the rows, and returns a :class:`shap.Explanation` so that
``shap.plots`` work. For every row ``values.sum(1) + base_values`` is the model's prediction and
``base_values`` is the mean prediction over the background, for any family.

The returned :class:`shap.Explanation` carries a :class:`ShapSettings` as its ``settings``
attribute (algorithm, background size, estimated error, efficiency gap). Slicing an Explanation
returns a new object without it; read it before slicing.

>>> from glassline.models import load_fits
>>> fit = load_fits("results").best("adhesion_strength", "product")   # doctest: +SKIP
>>> explanation = shap_values(fit, fit.X_test)                         # doctest: +SKIP
>>> explanation.settings.algorithm                                     # doctest: +SKIP
'closed-form polynomial'
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

with warnings.catch_warnings():
    # shap 0.51 calls matplotlib's Colormap.set_bad when imported, which matplotlib ≥ 3.10 flags as a
    # pending deprecation; not ours to fix, and fatal where warnings are errors (this project's tests).
    warnings.filterwarnings("ignore", message="The set_bad function", category=PendingDeprecationWarning)
    import shap

from glassline.exceptions import DataError
from glassline.shapley import MAX_EXACT_INPUTS, Algorithm, ShapleyEngine, input_array

__all__ = ["Algorithm", "ShapSettings", "shap_values"]


@dataclass(frozen=True)
class ShapSettings:
    """How a :func:`shap_values` result was computed; attached to it as ``explanation.settings``.

    ``estimated_error`` is None for exact algorithms; for the permutation path it is the largest
    difference between two runs with different seeds divided by √2 (the standard error of one run's
    value), relative to the largest absolute attribution. ``efficiency_gap`` is the largest
    |Σ values + base − prediction| over the rows, relative to the largest |prediction| (≥ 1e-300).
    """

    algorithm: Algorithm
    kind: Literal["linear", "tree", "exact"]
    n_inputs: int
    n_rows: int
    background_size: int
    background: str
    estimated_error: float | None
    efficiency_gap: float
    seed: int


def _model_inputs(model: Any, X: Any) -> tuple[Any, list[str], pd.DataFrame | None, str]:
    """(model, inputs, default background, background label) of a Fit or a bare estimator."""
    from glassline.models import Fit

    if isinstance(model, Fit):
        return model, list(model.inputs), model.X_train, "the fit's training rows"
    if not hasattr(model, "predict"):
        raise TypeError(
            f"model: expected a glassline Fit or a fitted estimator with predict; got {type(model).__name__}"
        )
    names = getattr(model, "feature_names_in_", None)
    if names is not None:
        inputs = [str(n) for n in names]
    elif isinstance(X, pd.DataFrame):
        inputs = [str(c) for c in X.columns]
    else:
        inputs = []
    return model, inputs, None, "given"


def shap_values(
    model: Any,
    X: pd.DataFrame,
    background: pd.DataFrame | None = None,
    *,
    kind: Literal["linear", "tree", "exact"] | None = None,
    max_exact_inputs: int = MAX_EXACT_INPUTS,
    seed: int = 0,
) -> shap.Explanation:
    """Interventional SHAP values of *model* for the rows of *X*, against the *background* rows.

    *model* is a :class:`glassline.models.Fit` (background defaults to all its training rows, kind to
    its family's explainer) or any fitted scikit-learn estimator or pipeline with ``predict``
    (background required, kind defaults to ``"exact"``). *kind* picks the algorithm family:
    ``"linear"`` needs a model affine in its inputs, ``"tree"`` a tree ensemble, ``"exact"`` takes
    the fastest exact algorithm the model allows and falls back to shap's PermutationExplainer (with
    its error stated) above *max_exact_inputs* inputs when none is polynomial in M.

    Returns a :class:`shap.Explanation` with ``values`` (n, M), ``base_values`` (n,) =
    mean prediction over the background, ``data`` (n, M), ``feature_names`` and ``settings``
    (a :class:`ShapSettings`). Deterministic for a given *seed*.
    """
    model, inputs, default_background, background_label = _model_inputs(model, X)
    if not inputs:
        raise DataError(f"X: expected a pandas DataFrame of the model's inputs; got {type(X).__name__}")
    if background is None:
        if default_background is None:
            raise DataError("background: required for a bare estimator (e.g. its training rows as a DataFrame)")
        background = default_background
    else:
        background_label = "given"
    x = input_array(X, inputs, "X")
    engine = ShapleyEngine(model, background, kind=kind, seed=seed, max_exact_inputs=max_exact_inputs, inputs=inputs)
    explained = engine.explain(x)
    f_x, values, base = explained.prediction, explained.values, explained.base_value
    scale = max(float(np.abs(f_x).max()), abs(base), 1e-300)
    gap = float(np.abs(values.sum(axis=1) + base - f_x).max()) / scale
    explanation = shap.Explanation(
        values=values,
        base_values=np.full(x.shape[0], base),
        data=x,
        feature_names=list(inputs),
        display_data=None,
    )
    explanation.settings = ShapSettings(
        algorithm=engine.algorithm,
        kind=engine.kind,
        n_inputs=len(inputs),
        n_rows=x.shape[0],
        background_size=engine.background_rows,
        background=background_label,
        estimated_error=explained.estimated_error,
        efficiency_gap=gap,
        seed=seed,
    )
    return explanation
