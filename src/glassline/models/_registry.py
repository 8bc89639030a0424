"""The registry of model families: one entry per family, everything the later stages need to know.

Each :class:`Family` holds a name, a label for tables and plots, a factory that returns a fresh,
unfitted scikit-learn :class:`~sklearn.pipeline.Pipeline` with its scaling inside (so scaling is
learnt on training rows only and cross-validation never leaks), a small tuning space sized for the
17–86 rows of a designed experiment, a larger space for tables of hundreds to hundreds of thousands of
rows (``scaled``, chosen by :func:`glassline.models.tuning_space` from the data's size), and the kind of
explainer the explanation stage should use.

Adding a family is one entry in :data:`FAMILIES`; ``tests/models/test_registry.py`` runs every
entry through the same conformance checks. The five entries are the families of the electrode paper
(Haghi et al. 2023, section "Prediction of Product Properties Using Data-Driven Models"): multiple
linear regression, 2nd-degree polynomial regression, support vector regression with inputs *and*
target normalized, random forest and XGBoost; and the reduced quadratic (``rsm``) that Design-Expert
and JMP fit by default (:mod:`glassline.models._rsm`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from sklearn.compose import TransformedTargetRegressor
from sklearn.linear_model import LinearRegression, Ridge
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import PolynomialFeatures, StandardScaler
from sklearn.svm import SVR
from xgboost import XGBRegressor

from glassline.exceptions import UnknownNameError, did_you_mean
from glassline.models._forest import RandomForest
from glassline.models._rsm import DEFAULT_ALPHA, ReducedQuadratic

__all__ = [
    "FAMILIES",
    "LARGE_DATA_ROWS",
    "SMALL_DATA_GROUPS",
    "SMALL_DATA_TREES",
    "DataSize",
    "ExplainerKind",
    "Family",
    "ScaledSpace",
    "Staged",
    "TermColumns",
    "family_names",
    "get_family",
]

#: How the explanation stage explains a family: ``"linear"`` from the coefficients of the scaled
#: inputs, ``"tree"`` with a tree algorithm (interventional TreeSHAP or exact enumeration, whichever
#: is measured faster), ``"exact"`` by model-agnostic exact enumeration over the input coalitions.
ExplainerKind = Literal["linear", "tree", "exact"]

#: The fitted model's terms as the columns of its OLS design, without the intercept: ``terms(pipeline, X)``
#: (n rows × terms). Families that are linear in their parameters have one; the pure-error lack-of-fit
#: test (:mod:`glassline.models._lack_of_fit`) compares that design with the cell-means model.
TermColumns = Callable[[Pipeline, Any], npt.NDArray[np.float64]]


@dataclass(frozen=True)
class Staged:
    """A tuning parameter whose every candidate one fit can predict: the fit at the largest value.

    For boosting, ``n_estimators``: the first *k* rounds of a 100-round model *are* the *k*-round
    model, so tuning the rounds costs one fit per inner fold instead of one per candidate.
    ``predict(pipeline, X, value)`` predicts as if fitted with ``param = value``.
    """

    param: str
    predict: Callable[[Pipeline, Any, Any], Any]


#: Below this many configurations (groups; rows without a group column) a table is a designed experiment and
#: every family keeps its small space (:attr:`Family.space`), exactly as tuned on the 17–86-row studies.
SMALL_DATA_GROUPS = 300
#: Trees of a random forest on a designed experiment (the small regime, fewer than SMALL_DATA_GROUPS
#: configurations): 50. On 10–90 training rows a forest's Monte-Carlo error is small beside its
#: grouped-CV error: measured on the demo's 25 target × scenario pairs (shipped electrode study, seed
#: 2023), 50 trees instead of 100 changed the pooled grouped-CV R² by 0.0075 on average (largest 0.041, on a
#: model with CV R² −0.47; mean change −0.003) and changed no pair's best family, at half the forests' cost.
#: Tables of 300 configurations or more keep 100 trees.
SMALL_DATA_TREES = 50
#: From this many rows on, a table is large: boosting grows histogram trees, forests grow each tree on a
#: subsample of at most this many rows, and nested tuning uses 2 inner folds.
LARGE_DATA_ROWS = 20_000


@dataclass(frozen=True)
class DataSize:
    """The size of the rows a family is tuned on: rows, configurations (groups) and inputs."""

    rows: int
    groups: int
    inputs: int

    @property
    def regime(self) -> Literal["small", "medium", "large"]:
        """``small`` (< :data:`SMALL_DATA_GROUPS` groups), ``large`` (≥ :data:`LARGE_DATA_ROWS` rows otherwise),
        else ``medium``."""
        if self.groups < SMALL_DATA_GROUPS:
            return "small"
        return "large" if self.rows >= LARGE_DATA_ROWS else "medium"


#: ``scaled(size)``: a family's tuning space for a table of *size* in the medium and large regimes.
ScaledSpace = Callable[[DataSize], Mapping[str, Sequence[Any]]]


@dataclass(frozen=True)
class Family:
    """One model family: how to build it, what to tune, how to explain it.

    ``factory(seed)`` returns a fresh unfitted Pipeline whose last step is named ``"model"``;
    ``space`` maps Pipeline parameter names to the candidate values tried by nested tuning (empty:
    nothing is tuned); the first candidate of each list is the simplest, and ties go to it.
    ``staged`` optionally names one parameter of ``space`` that one fit can evaluate at every value.
    ``scaled`` (optional) gives the space for tables of at least :data:`SMALL_DATA_GROUPS` configurations
    (see :class:`DataSize`); None keeps ``space`` at every size.
    ``terms`` gives the fitted model's OLS design columns (see :data:`TermColumns`); None for families
    not linear in their parameters, which get no lack-of-fit test.
    """

    name: str
    label: str
    factory: Callable[[int], Pipeline]
    space: Mapping[str, Sequence[Any]] = field(default_factory=dict)
    explainer: ExplainerKind = "exact"
    description: str = ""
    staged: Staged | None = None
    terms: TermColumns | None = None
    scaled: ScaledSpace | None = None

    def make(self, seed: int = 0) -> Pipeline:
        """A fresh, unfitted pipeline seeded with *seed*."""
        return self.factory(seed)

    @property
    def n_candidates(self) -> int:
        """How many hyperparameter settings nested tuning tries."""
        count = 1
        for values in self.space.values():
            count *= len(values)
        return count


# ----------------------------------------------------------------------------- factories
def _mlr(seed: int) -> Pipeline:
    return Pipeline([("scale", StandardScaler()), ("model", LinearRegression())])


def _poly2(seed: int) -> Pipeline:
    # The ridge penalty (tuned, smallest first) keeps the 27 terms of a 6-input scenario solvable on
    # 40 training rows; with the smallest alpha it is the paper's ordinary polynomial regression.
    # solver="svd" stays silent on the near-singular designs of correlated scenarios.
    return Pipeline(
        [
            ("scale", StandardScaler()),
            ("poly", PolynomialFeatures(degree=2, include_bias=False)),
            ("model", Ridge(alpha=1e-6, solver="svd")),
        ]
    )


def _rsm(seed: int) -> Pipeline:
    return Pipeline(
        [
            ("scale", StandardScaler()),
            ("poly", PolynomialFeatures(degree=2, include_bias=False)),
            ("model", ReducedQuadratic(alpha=DEFAULT_ALPHA)),
        ]
    )


def _ols_terms(pipeline: Pipeline, X: Any) -> npt.NDArray[np.float64]:
    """The columns the final linear step sees (scaled inputs, or their polynomial terms), the eliminated
    terms of a reduced quadratic left out. For ``poly2`` these are all 27 terms whatever the ridge
    penalty: the test is of the family's term set, fitted by OLS."""
    columns = np.asarray(pipeline[:-1].transform(X), dtype=float)
    support = getattr(pipeline[-1], "support_", None)
    return columns[:, np.asarray(support, dtype=bool)] if support is not None else columns


def _svr(seed: int) -> Pipeline:
    # The paper normalizes the SVM's target as well as its inputs: the ε-tube is then in units of the
    # target's standard deviation, whatever its scale (ionic resistance in Ω, capacity in mAh).
    return Pipeline(
        [
            ("scale", StandardScaler()),
            ("model", TransformedTargetRegressor(regressor=SVR(kernel="rbf"), transformer=StandardScaler())),
        ]
    )


def _rf(seed: int) -> Pipeline:
    return Pipeline(
        [
            ("scale", StandardScaler()),
            # scikit-learn's RandomForestRegressor, tree for tree, without its per-tree introspection
            # SMALL_DATA_TREES trees; the spaces of larger tables set 100
            ("model", RandomForest(n_estimators=SMALL_DATA_TREES, random_state=seed, n_jobs=1)),
        ]
    )


def _xgb_rounds(pipeline: Pipeline, X: Any, rounds: Any) -> Any:
    return pipeline.predict(X, iteration_range=(0, int(rounds)))


def _xgb(seed: int) -> Pipeline:
    # n_jobs=1: the grid is parallel over folds with joblib; threads inside would oversubscribe.
    return Pipeline(
        [
            ("scale", StandardScaler()),
            (
                "model",
                XGBRegressor(
                    n_estimators=50,
                    learning_rate=0.1,
                    max_depth=2,
                    min_child_weight=1.0,
                    reg_lambda=1.0,
                    tree_method="exact",
                    n_jobs=1,
                    random_state=seed,
                ),
            ),
        ]
    )


# ----------------------------------------------------------------------------- spaces for larger tables
#: Boosting rounds evaluated on the inner folds (staged: one fit at the largest count predicts with every
#: count, so choosing among them is early stopping judged on the inner folds' out-of-fold error).
_XGB_ROUNDS = (50, 100, 200, 300, 500, 750, 1000)


def _xgb_scaled(size: DataSize) -> Mapping[str, Sequence[Any]]:
    # Deeper trees capture the interactions a large table can support; two learning rates (the slower
    # one needs the longer end of the rounds); histogram split finding keeps 10⁴–10⁵ rows affordable.
    large = size.regime == "large"
    return {
        "model__max_depth": [4, 6, 8] if large else [2, 4, 6],
        "model__learning_rate": [0.1] if large else [0.1, 0.03],
        "model__tree_method": ["hist"],
        "model__n_estimators": list(_XGB_ROUNDS),
    }


def _rf_scaled(size: DataSize) -> Mapping[str, Sequence[Any]]:
    # max_features and min_samples_leaf are the forest's two tunable knobs (Probst et al. 2019); with few
    # inputs a third of them would be one input, so that choice needs ≥ 6 inputs.
    features: list[float] = [1.0, 0.5] + ([0.33] if size.inputs >= 6 else [])
    if size.regime == "large":
        return {
            "model__n_estimators": [100],
            "model__max_features": [1.0, 0.5],
            "model__min_samples_leaf": [5],
            "model__max_samples": [min(1.0, LARGE_DATA_ROWS / max(size.rows, 1))],
        }
    return {"model__n_estimators": [100], "model__max_features": features, "model__min_samples_leaf": [1, 5]}


def _svr_scaled(size: DataSize) -> Mapping[str, Sequence[Any]]:
    # γ on a grid around the 1/inputs default (inputs standardized), C over two decades, ε in units of the
    # target's SD; the ε choice only where a fit is cheap (the SVR's fit grows with the square of the rows).
    # From 2,000 rows on a fit takes seconds: γ from the default up only (wide kernels underfit large tables)
    # and one ε, 6 candidates instead of 18; a larger kernel cache (MB) for the larger kernel matrix.
    cheap = size.rows < 2000
    gamma = [round(g / max(size.inputs, 1), 6) for g in ((0.3, 1.0, 3.0) if cheap else (1.0, 3.0))]
    return {
        "model__regressor__C": [1.0, 10.0, 100.0],
        "model__regressor__gamma": gamma,
        "model__regressor__epsilon": [0.05, 0.2] if cheap else [0.1],
        "model__regressor__cache_size": [200 if cheap else 1000],
    }


#: Every family glassline compares, in the order tables list them (the paper's order).
FAMILIES: Mapping[str, Family] = MappingProxyType(
    {
        family.name: family
        for family in (
            Family(
                name="mlr",
                label="MLR",
                factory=_mlr,
                space={},
                explainer="linear",
                description="Multiple linear regression on standardized inputs.",
                terms=_ols_terms,
            ),
            Family(
                name="poly2",
                label="Polynomial",
                factory=_poly2,
                space={"model__alpha": [1e-6, 1.0, 10.0]},
                explainer="exact",
                description="2nd-degree polynomial regression (squares and pairwise interactions) with a tuned "
                "ridge penalty, on standardized inputs.",
                terms=_ols_terms,
            ),
            Family(
                name="rsm",
                label="Reduced quadratic",
                factory=_rsm,
                space={},
                explainer="exact",
                description="Reduced quadratic response surface: the full 2nd-degree polynomial on standardized "
                "inputs, pruned by hierarchical backward elimination (a term leaves while its OLS p-value exceeds "
                f"α = {DEFAULT_ALPHA:g}; a main effect stays while a square or interaction containing it stays), "
                "then OLS on the kept terms; the default model of Design-Expert and JMP. α is their documented "
                "α-out, not tuned: the elimination is itself the model selection.",
                terms=_ols_terms,
            ),
            Family(
                name="svr",
                label="SVR",
                factory=_svr,
                space={"model__regressor__C": [1.0, 10.0, 100.0]},
                explainer="exact",
                description="Support vector regression with an RBF kernel (γ = 1/inputs on standardized inputs, "
                "ε = 0.1 SD of the target); inputs and target standardized; the penalty C is tuned (on tables of "
                f"{SMALL_DATA_GROUPS} configurations or more also γ around 1/inputs and ε).",
                scaled=_svr_scaled,
            ),
            Family(
                name="rf",
                label="RF",
                factory=_rf,
                space={},
                explainer="tree",
                description=f"Random forest of {SMALL_DATA_TREES} trees with scikit-learn's defaults; nothing is "
                "tuned: random forests gain the least from tuning of the common learners (Probst, Boulesteix & "
                "Bischl, 'Tunability', JMLR 20, 2019), and each tuning candidate would cost a forest per inner fold. "
                f"On tables of {SMALL_DATA_GROUPS} configurations or more, 100 trees, and max_features and "
                f"min_samples_leaf are tuned (from {LARGE_DATA_ROWS:,} rows each tree grows on a subsample of "
                f"{LARGE_DATA_ROWS:,} rows).",
                scaled=_rf_scaled,
            ),
            Family(
                name="xgb",
                label="XGBoost",
                factory=_xgb,
                space={"model__n_estimators": [25, 50, 100]},
                explainer="tree",
                description="Gradient-boosted trees (XGBoost) of depth 2 at learning rate 0.1; the number of rounds, "
                "its regularization on small data, is tuned (one fit per inner fold evaluates every count). On tables "
                f"of {SMALL_DATA_GROUPS} configurations or more, depth 2–8, two learning rates and 50–1000 rounds "
                "(chosen on the inner folds: early stopping) on histogram trees.",
                staged=Staged("model__n_estimators", _xgb_rounds),
                scaled=_xgb_scaled,
            ),
        )
    }
)


def family_names() -> tuple[str, ...]:
    """The names of every registered family, in table order."""
    return tuple(FAMILIES)


def get_family(name: str, *, where: str = "model family") -> Family:
    """The family called *name*; an :class:`~glassline.exceptions.UnknownNameError` with a did-you-mean otherwise."""
    try:
        return FAMILIES[name]
    except KeyError:
        raise UnknownNameError(
            f"{where}: unknown model family {name!r}; expected one of {list(FAMILIES)}." + did_you_mean(name, FAMILIES)
        ) from None
