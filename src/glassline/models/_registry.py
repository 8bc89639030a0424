"""The registry of model families: one entry per family, everything the later stages need to know.

Each :class:`Family` holds a name, a label for tables and plots, a factory that returns a fresh,
unfitted scikit-learn :class:`~sklearn.pipeline.Pipeline` with its scaling inside (so scaling is
learnt on training rows only and cross-validation never leaks), a small tuning space sized for the
17–86 rows of a designed experiment, and the kind of explainer the explanation stage should use.

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
from sklearn.ensemble import RandomForestRegressor
from sklearn.linear_model import LinearRegression, Ridge
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import PolynomialFeatures, StandardScaler
from sklearn.svm import SVR
from xgboost import XGBRegressor

from glassline.exceptions import UnknownNameError, did_you_mean
from glassline.models._rsm import DEFAULT_ALPHA, ReducedQuadratic

__all__ = ["FAMILIES", "ExplainerKind", "Family", "Staged", "TermColumns", "family_names", "get_family"]

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


@dataclass(frozen=True)
class Family:
    """One model family: how to build it, what to tune, how to explain it.

    ``factory(seed)`` returns a fresh unfitted Pipeline whose last step is named ``"model"``;
    ``space`` maps Pipeline parameter names to the candidate values tried by nested tuning (empty:
    nothing is tuned); the first candidate of each list is the simplest, and ties go to it.
    ``staged`` optionally names one parameter of ``space`` that one fit can evaluate at every value.
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
            ("model", RandomForestRegressor(n_estimators=100, random_state=seed, n_jobs=1)),
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
                "ε = 0.1 SD of the target); inputs and target standardized; the penalty C is tuned.",
            ),
            Family(
                name="rf",
                label="RF",
                factory=_rf,
                space={},
                explainer="tree",
                description="Random forest of 100 trees with scikit-learn's defaults; nothing is tuned: random "
                "forests gain the least from tuning of the common learners (Probst, Boulesteix & Bischl, "
                "'Tunability', JMLR 20, 2019), and each tuning candidate would cost a forest per inner fold.",
            ),
            Family(
                name="xgb",
                label="XGBoost",
                factory=_xgb,
                space={"model__n_estimators": [25, 50, 100]},
                explainer="tree",
                description="Gradient-boosted trees (XGBoost) of depth 2 at learning rate 0.1; the number of rounds, "
                "its regularization on small data, is tuned (one fit per inner fold evaluates every count).",
                staged=Staged("model__n_estimators", _xgb_rounds),
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
