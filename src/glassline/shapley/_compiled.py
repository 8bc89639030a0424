"""A fitted pipeline's ``predict`` as a few array operations, for serving: the same numbers, far less overhead.

scikit-learn validates its input, checks its parameters and inspects its estimators' tags on every
``predict``: about 0.2 ms for a two-step pipeline however few rows it gets, which is most of the cost of
explaining one row in the service. For the steps glassline's model families are built from, the
prediction is a handful of array operations on the fitted attributes:

- ``StandardScaler``: ``(x − mean_) / scale_``; ``PolynomialFeatures``: ``Π_j x_j^powers_[k, j]`` as products;
- linear models (``LinearRegression``, ``Ridge``, ``Lasso``, ``ElasticNet``): ``x @ coef_ + intercept_``;
- ``SVR`` / ``NuSVR``: the kernel expansion ``Σ_i dual_coef_i K(sv_i, x) + intercept_`` (rbf, linear,
  poly, sigmoid);
- ``TransformedTargetRegressor`` with a ``StandardScaler`` on the target: the inner model, then
  ``y · scale_ + mean_``;
- ``XGBRegressor``: its booster's ``inplace_predict`` without the wrapper's per-call configuration;
- ``RandomForestRegressor`` / ``ExtraTreesRegressor``: the mean of its trees' ``tree_.predict``;

and any other step is called through its own ``transform`` / ``predict`` (with scikit-learn's checks
off). :func:`compile_pipeline` builds that and *verifies* it against ``pipeline.predict`` on probe rows
around the training data at load time; when any probe differs by more than ``rtol`` it returns ``None``
and the caller keeps the pipeline. ``benchmarks/bench_serve.py`` measures what it buys.

Tree ensembles whose split thresholds span a small grid are tabulated instead (``_tree_table.py``);
:func:`glassline.shapley.fast_predictor` picks among the two and the pipeline itself.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn import config_context
from sklearn.compose import TransformedTargetRegressor
from sklearn.linear_model import ElasticNet, Lasso, LinearRegression, Ridge
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import PolynomialFeatures, StandardScaler
from sklearn.svm import SVR, NuSVR

__all__ = [
    "PROBES",
    "RTOL",
    "CompiledPredictor",
    "FloatArray",
    "Step",
    "chain",
    "compile_pipeline",
    "compile_transformer",
    "library_call",
    "pipeline_predict",
    "probe_rows",
    "verified_difference",
]

FloatArray = npt.NDArray[np.float64]
Step = Callable[[FloatArray], FloatArray]

#: Relative agreement a compiled predictor must reach on every probe (scaled by the largest |prediction|).
RTOL = 1e-9


def pipeline_predict(pipeline: Any, columns: Sequence[str] | None = None) -> Callable[[FloatArray], FloatArray]:
    """``pipeline.predict`` on a plain array (inputs in training order), scikit-learn's per-call checks off.

    The reference a compiled predictor is verified against, and the fallback when a pipeline cannot be
    compiled. The inputs were validated before, so finiteness checks are skipped. With *columns*, a
    pipeline fitted on a DataFrame gets one with those columns (for steps that select columns by name).
    """
    named = columns is not None and hasattr(pipeline, "feature_names_in_")
    names = list(columns) if columns is not None else []

    def predict(values: FloatArray) -> FloatArray:
        data: Any = pd.DataFrame(values, columns=names) if named else values
        with config_context(assume_finite=True, skip_parameter_validation=True), warnings.catch_warnings():
            # fitted on DataFrames, called with the same columns in the same order as an array
            warnings.filterwarnings("ignore", message="X does not have valid feature names", category=UserWarning)
            return np.asarray(pipeline.predict(data), dtype=float).reshape(-1)

    return predict


@dataclass(frozen=True)
class CompiledPredictor:
    """A verified array-operation version of a pipeline's predict."""

    predict: Callable[[FloatArray], FloatArray]
    steps: tuple[str, ...]  # how each step runs: "numpy: StandardScaler", "library: RandomForestRegressor", …
    max_difference: float  # largest |compiled − pipeline| over the probes
    probes: int

    def describe(self) -> str:
        return (
            f"compiled ({'; '.join(self.steps)}), verified against the pipeline on {self.probes} probe rows "
            f"(largest difference {self.max_difference:.3g})"
        )


def compile_pipeline(
    pipeline: Any, reference: FloatArray, *, seed: int = 0, rtol: float = RTOL
) -> CompiledPredictor | None:
    """A verified fast predictor for *pipeline*, or ``None`` when no step compiles or verification fails.

    *reference* (n, p): rows the model will see (the background sample); the probes are those rows plus
    random rows in their bounding box widened by half its span on each side (the service also answers,
    flagged, outside the domain).
    """
    steps = list(pipeline.steps) if isinstance(pipeline, Pipeline) else [("model", pipeline)]
    functions: list[Step] = []
    labels: list[str] = []
    for i, (_name, step) in enumerate(steps):
        last = i == len(steps) - 1
        compiled = _compile_regressor(step) if last else compile_transformer(step)
        if compiled is None:
            functions.append(library_call(step, last))
            labels.append(f"library: {type(step).__name__}")
        else:
            functions.append(compiled[0])
            labels.append(f"numpy: {compiled[1]}")
    if not any(label.startswith("numpy") for label in labels):
        return None

    chained = chain(functions)

    def predict(values: FloatArray) -> FloatArray:
        return np.asarray(chained(values), dtype=float).reshape(-1)

    difference = verified_difference(predict, pipeline, reference, seed, rtol)
    if difference is None:
        return None
    return CompiledPredictor(predict, tuple(labels), difference, len(reference) + PROBES)


def chain(functions: list[Step]) -> Step:
    """The steps applied in order, as one function."""

    def chained(values: FloatArray) -> FloatArray:
        for f in functions:
            values = f(values)
        return values

    return chained


def verified_difference(predict: Step, pipeline: Any, reference: FloatArray, seed: int, rtol: float) -> float | None:
    """The largest |predict − pipeline.predict| over :func:`probe_rows` of *reference*, or ``None`` when
    *predict* fails, gives other shapes or non-finite values elsewhere, or differs by more than *rtol*
    (relative to the largest |prediction|, at least 1)."""
    probes = probe_rows(reference, seed)
    with np.errstate(all="ignore"):
        try:
            ours = np.asarray(predict(probes), dtype=float).reshape(-1)
        except Exception:  # a step whose attributes are not what we assumed: keep the pipeline
            return None
        theirs = pipeline_predict(pipeline)(probes)
    if ours.shape != theirs.shape or not (np.isfinite(ours) == np.isfinite(theirs)).all():
        return None
    finite = np.isfinite(theirs)
    if not finite.any():
        return 0.0
    difference = float(np.abs(ours[finite] - theirs[finite]).max())
    return difference if difference <= rtol * max(float(np.abs(theirs[finite]).max()), 1.0) else None


#: Random probe rows beside the reference rows when a fast predictor is verified.
PROBES = 256


def probe_rows(reference: FloatArray, seed: int = 0) -> FloatArray:
    """*reference* plus :data:`PROBES` random rows in its bounding box widened by half its span on each side."""
    reference = np.atleast_2d(np.asarray(reference, dtype=float))
    rng = np.random.default_rng(seed)
    low, high = reference.min(axis=0), reference.max(axis=0)
    span = np.where(high > low, high - low, 1.0)
    return np.vstack([reference, rng.uniform(low - 0.5 * span, high + 0.5 * span, size=(PROBES, reference.shape[1]))])


def library_call(step: Any, last: bool) -> Step:
    method = step.predict if last else step.transform

    def call(values: FloatArray) -> FloatArray:
        with config_context(assume_finite=True, skip_parameter_validation=True), warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="X does not have valid feature names", category=UserWarning)
            return np.asarray(method(values))

    return call


def compile_transformer(step: Any) -> tuple[Step, str] | None:
    if type(step) is StandardScaler:
        mean = np.asarray(step.mean_, dtype=float) if step.mean_ is not None and step.with_mean else None
        scale = np.asarray(step.scale_, dtype=float) if step.scale_ is not None and step.with_std else None

        def scaled(x: FloatArray) -> FloatArray:
            if mean is not None:
                x = x - mean
            if scale is not None:
                x = x / scale
            return x

        return scaled, "StandardScaler"
    if type(step) is PolynomialFeatures:
        powers = np.asarray(step.powers_, dtype=np.int64)  # (n_out, n_in)
        if (powers < 0).any():
            return None
        # each output column as repeated products of its inputs (x_j·x_j, not x_j**2.0: pow is 100× dearer)
        factors = [[j for j in range(powers.shape[1]) for _ in range(int(powers[k, j]))] for k in range(len(powers))]

        def polynomial(x: FloatArray) -> FloatArray:
            out = np.ones((x.shape[0], len(factors)))
            for k, inputs in enumerate(factors):
                for j in inputs:
                    out[:, k] *= x[:, j]
            return out

        return polynomial, "PolynomialFeatures"
    return None


def _compile_regressor(step: Any) -> tuple[Step, str] | None:
    kind = type(step)
    # glassline's reduced quadratic is a linear model on its polynomial terms (zeros for the eliminated
    # ones); matched by name so the serving path does not import statsmodels for the other families
    reduced = kind.__module__ == "glassline.models._rsm" and kind.__name__ == "ReducedQuadratic"
    if kind in (LinearRegression, Ridge, Lasso, ElasticNet) or reduced:
        coef = np.asarray(step.coef_, dtype=float).reshape(-1)
        intercept = float(np.asarray(step.intercept_, dtype=float).reshape(-1)[0])

        def linear(x: FloatArray) -> FloatArray:
            return np.asarray(x @ coef + intercept, dtype=float)

        return linear, kind.__name__
    if kind in (SVR, NuSVR):
        return _compile_svr(step)
    if kind is TransformedTargetRegressor:
        inner = _compile_regressor(step.regressor_)
        transformer = step.transformer_
        if inner is None or type(transformer) is not StandardScaler:
            return None
        regress = inner[0]
        mean = float(transformer.mean_[0]) if transformer.with_mean else 0.0
        scale = float(transformer.scale_[0]) if transformer.with_std else 1.0

        def target_scaled(x: FloatArray) -> FloatArray:
            return regress(x) * scale + mean

        return target_scaled, f"TransformedTargetRegressor({inner[1]}, StandardScaler)"
    if kind.__module__.startswith("xgboost") and kind.__name__ == "XGBRegressor":
        return _compile_xgb(step)
    return _compile_forest(step)


def is_forest(step: Any) -> bool:
    """Whether *step* is exactly a scikit-learn random forest or extra-trees regressor, or glassline's
    :class:`~glassline.models._forest.RandomForest` (scikit-learn's forest with cheaper tree construction: the
    same trees and predict). Other subclasses may predict otherwise, so they are not assumed to be forests."""
    from sklearn.ensemble import ExtraTreesRegressor, RandomForestRegressor

    kind = type(step)
    ours = kind.__module__ == "glassline.models._forest" and kind.__name__ == "RandomForest"
    return ours or kind in (RandomForestRegressor, ExtraTreesRegressor)


def _compile_forest(step: Any) -> tuple[Step, str] | None:
    """A scikit-learn forest as the mean of its trees' ``tree_.predict`` (what its predict does, after
    input validation and a joblib dispatch per tree, the cost that matters for a few hundred rows)."""
    if not is_forest(step) or step.n_outputs_ != 1:
        return None
    trees = [estimator.tree_ for estimator in step.estimators_]

    def forest(x: FloatArray) -> FloatArray:
        rows = np.ascontiguousarray(x, dtype=np.float32)
        total = np.zeros(len(rows))
        for tree in trees:
            total += tree.predict(rows)[:, 0]
        return total / len(trees)

    return forest, f"{type(step).__name__} (mean of its trees' tree_.predict)"


def _compile_svr(step: Any) -> tuple[Step, str] | None:
    kernel = step.kernel
    if not isinstance(kernel, str) or kernel not in {"rbf", "linear", "poly", "sigmoid"}:
        return None
    sv = np.asarray(step.support_vectors_, dtype=float)
    dual = np.asarray(step.dual_coef_, dtype=float).reshape(-1)
    intercept = float(np.asarray(step.intercept_, dtype=float).reshape(-1)[0])
    gamma, coef0, degree = float(step._gamma), float(step.coef0), float(step.degree)
    sv_sq = (sv * sv).sum(axis=1)

    def svr(x: FloatArray) -> FloatArray:
        dot = x @ sv.T
        if kernel == "rbf":
            sq = np.maximum((x * x).sum(axis=1)[:, None] - 2.0 * dot + sv_sq[None, :], 0.0)
            k = np.exp(-gamma * sq)
        elif kernel == "linear":
            k = dot
        elif kernel == "poly":
            k = (gamma * dot + coef0) ** degree
        else:
            k = np.tanh(gamma * dot + coef0)
        return np.asarray(k @ dual + intercept, dtype=float)

    return svr, f"{type(step).__name__}({kernel})"


def _compile_xgb(step: Any) -> tuple[Step, str] | None:
    booster = step.get_booster()
    if getattr(step, "booster", None) == "gblinear":
        iteration_range: tuple[int, int] = (0, 0)
    else:
        try:
            iteration_range = (0, int(step.best_iteration) + 1)
        except AttributeError:
            iteration_range = (0, 0)
    missing = step.missing

    def xgb(x: FloatArray) -> FloatArray:
        return np.asarray(
            booster.inplace_predict(
                np.ascontiguousarray(x), iteration_range=iteration_range, missing=missing, validate_features=False
            )
        )

    return xgb, "XGBoost booster.inplace_predict"
