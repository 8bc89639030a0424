"""The reduced quadratic (``rsm``): hierarchical backward elimination by OLS p-value, as a scikit-learn regressor."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import statsmodels.api as sm
from sklearn.base import clone
from sklearn.preprocessing import PolynomialFeatures

from glassline import SpecError
from glassline.models import FAMILIES, ReducedQuadratic
from glassline.models._rsm import quadratic_powers


def _design(rng: np.random.Generator, n_config: int, replicates: int, m: int) -> np.ndarray:
    levels = rng.choice([-1.0, 0.0, 1.0], size=(n_config, m))
    return np.repeat(levels, replicates, axis=0)


@pytest.mark.parametrize("m", [1, 2, 3, 6])
def test_column_order_is_polynomial_features(m: int) -> None:
    poly = PolynomialFeatures(degree=2, include_bias=False).fit(np.zeros((2, m)))
    np.testing.assert_array_equal(poly.powers_, quadratic_powers(m))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_keeps_the_curvature_and_drops_what_is_not_there(seed: int) -> None:
    rng = np.random.default_rng(seed)
    # the 27 distinct runs of the 3³ factorial, each with 3 replicate rows
    X = np.repeat(np.array(np.meshgrid(*[[-1.0, 0.0, 1.0]] * 3)).reshape(3, -1).T, 3, axis=0)
    y = 5.0 * X[:, 0] - 8.0 * X[:, 1] ** 2 + rng.normal(0, 0.5, len(X))
    pipeline = FAMILIES["rsm"].make(seed).fit(X, y)
    model = pipeline.named_steps["model"]
    powers = model.powers_
    kept = {tuple(p) for p in powers[model.support_]}
    assert (1, 0, 0) in kept
    assert (0, 2, 0) in kept
    # the true terms are found, and with α = 0.1 few of the six null terms survive by chance
    assert len(kept) <= 2 + 1 + 3  # x1's main effect stays under its square (hierarchy)
    truth = 5.0 * X[:, 0] - 8.0 * X[:, 1] ** 2
    assert np.sqrt(np.mean((pipeline.predict(X) - truth) ** 2)) < 0.5


def test_hierarchy_keeps_the_main_effects_of_an_interaction() -> None:
    rng = np.random.default_rng(7)
    X = _design(rng, 27, 2, 3)
    y = 6.0 * X[:, 0] * X[:, 2] + rng.normal(0, 0.3, len(X))
    model = ReducedQuadratic().fit(PolynomialFeatures(2, include_bias=False).fit_transform(X), y)
    kept = {tuple(p) for p in model.powers_[model.support_]}
    assert (1, 0, 1) in kept
    assert (1, 0, 0) in kept, "an interaction keeps its main effects"
    assert (0, 0, 1) in kept, "an interaction keeps its main effects"


def test_every_kept_term_is_significant_or_held_by_hierarchy() -> None:
    rng = np.random.default_rng(3)
    X = _design(rng, 25, 2, 3)
    y = 2.0 * X[:, 0] + 1.5 * X[:, 1] * X[:, 2] - 3.0 * X[:, 2] ** 2 + rng.normal(0, 1.0, len(X))
    Z = PolynomialFeatures(2, include_bias=False).fit_transform(X)
    model = ReducedQuadratic(alpha=0.05).fit(Z, y)
    columns = np.flatnonzero(model.support_)
    result = sm.OLS(y, np.column_stack([np.ones(len(y)), Z[:, columns]])).fit()
    np.testing.assert_allclose(result.params[1:], model.coef_[columns], rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(result.params[0], model.intercept_, rtol=1e-8, atol=1e-10)
    # significance is judged on the runs: the means of the rows with identical inputs
    unique, codes = np.unique(Z, axis=0, return_inverse=True)
    means = np.bincount(codes.ravel(), weights=y) / np.bincount(codes.ravel())
    result = sm.OLS(means, np.column_stack([np.ones(len(means)), unique[:, columns]])).fit()
    degree = model.powers_.sum(axis=1)
    for position, t in enumerate(columns):
        held = degree[t] == 1 and any(
            model.powers_[u, np.flatnonzero(model.powers_[t])[0]] > 0 for u in columns if degree[u] == 2
        )
        assert held or result.pvalues[position + 1] <= 0.05
    assert not np.any(model.coef_[~model.support_])


def test_aliased_terms_go_first_without_warnings() -> None:
    # the second input at two levels only: its square is a copy of the intercept
    rng = np.random.default_rng(4)
    X = np.column_stack([rng.choice([-1.0, 0.0, 1.0], 40), rng.choice([-1.0, 1.0], 40)])
    y = X[:, 0] - X[:, 0] ** 2 + X[:, 1] + rng.normal(0, 0.2, 40)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = ReducedQuadratic().fit(PolynomialFeatures(2, include_bias=False).fit_transform(X), y)
    kept = {tuple(p) for p in model.powers_[model.support_]}
    assert (0, 2) not in kept
    assert (2, 0) in kept


def test_estimator_contract() -> None:
    model = ReducedQuadratic(alpha=0.05)
    assert model.get_params() == {"alpha": 0.05}
    assert clone(model).set_params(alpha=0.2).alpha == 0.2
    assert not hasattr(clone(model), "coef_")


@pytest.mark.parametrize("alpha", [0.0, 1.0, -0.1, 1.5])
def test_alpha_outside_the_unit_interval_is_refused(alpha: float) -> None:
    Z = PolynomialFeatures(2, include_bias=False).fit_transform(np.random.default_rng(0).normal(size=(20, 2)))
    with pytest.raises(SpecError, match=r"alpha must be a significance level in \(0, 1\)"):
        ReducedQuadratic(alpha=alpha).fit(Z, Z[:, 0])


def test_columns_that_are_not_a_quadratic_expansion_are_refused() -> None:
    X = np.random.default_rng(0).normal(size=(20, 4))
    with pytest.raises(SpecError, match=r"M\(M\+3\)/2 of them .* got 4"):
        ReducedQuadratic().fit(X, X[:, 0])


def test_an_exact_fit_selects_without_warnings() -> None:
    X = np.repeat(np.random.default_rng(0).uniform(-1, 1, (10, 2)), 2, axis=0)
    y = 1.0 + X[:, 0] + X[:, 1] ** 2
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = ReducedQuadratic().fit(PolynomialFeatures(2, include_bias=False).fit_transform(X), y)
    np.testing.assert_allclose(model.coef_, [1.0, 0.0, 0.0, 0.0, 1.0], atol=1e-9)
    assert model.support_.tolist() == [True, True, False, False, True]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_replicates_do_not_change_the_terms(seed: int) -> None:
    """k identical-input replicates of a run are one observation of its mean, not k runs."""
    rng = np.random.default_rng(seed)
    runs = rng.uniform(-1, 1, size=(16, 3))
    # run-to-run scatter (lots, settings as made) much larger than the replicates' own
    y_runs = 2.0 * runs[:, 0] + rng.normal(0, 1.0, len(runs))
    Z_runs = PolynomialFeatures(2, include_bias=False).fit_transform(runs)
    once = ReducedQuadratic().fit(Z_runs, y_runs)
    Z = np.repeat(Z_runs, 5, axis=0)
    y = np.repeat(y_runs, 5) + rng.normal(0, 0.01, 5 * len(runs))
    replicated = ReducedQuadratic().fit(Z, y)
    np.testing.assert_array_equal(replicated.support_, once.support_)
    # the kept terms' coefficients are the OLS fit on every row
    kept = np.flatnonzero(replicated.support_)
    design = np.column_stack([np.ones(len(y)), Z[:, kept]])
    np.testing.assert_allclose(replicated.coef_[kept], np.linalg.lstsq(design, y, rcond=None)[0][1:], atol=1e-9)


def _reference_eliminate(Z: np.ndarray, y: np.ndarray, alpha: float) -> np.ndarray:
    """The elimination as first written: statsmodels OLS and numpy's rank on the full n-row design each step."""
    from glassline.models._rsm import _removable

    powers = quadratic_powers(round((-3 + np.sqrt(9 + 8 * Z.shape[1])) / 2))
    active = np.ones(Z.shape[1], dtype=bool)
    n = len(y)
    while active.any():
        columns = np.flatnonzero(active)
        design = np.column_stack([np.ones(n), Z[:, columns]])
        candidates = _removable(active, powers)[columns]
        rank = int(np.linalg.matrix_rank(design))
        aliased = None
        if rank < design.shape[1]:
            for t in reversed(np.flatnonzero(candidates).tolist()):
                if int(np.linalg.matrix_rank(np.delete(design, t + 1, axis=1))) == rank:
                    aliased = int(t)
                    break
        if aliased is not None:
            worst = aliased
        elif n - design.shape[1] >= 1:
            with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                pvalues = np.nan_to_num(np.asarray(sm.OLS(y, design).fit().pvalues, dtype=float)[1:], nan=1.0)
            score = np.where(candidates, pvalues, -np.inf)
            worst = int(np.argmax(score))
            if score[worst] <= alpha:
                break
        else:
            coef = np.linalg.lstsq(design, y, rcond=None)[0][1:]
            size = np.where(candidates, np.abs(coef) * Z[:, columns].std(axis=0), np.inf)
            worst = int(np.argmin(size))
        active[columns[worst]] = False
    return active


@pytest.mark.parametrize(
    ("seed", "n_runs", "m", "levels"),
    [(0, 40, 3, None), (1, 200, 4, None), (2, 27, 3, 3), (3, 12, 2, 2), (4, 9, 3, None), (5, 60, 5, 2)],
)
def test_compressed_elimination_keeps_the_terms_of_the_full_design_reference(
    seed: int, n_runs: int, m: int, levels: int | None
) -> None:
    """The QR-compressed elimination (O(terms³) per step) keeps exactly the terms statsmodels' OLS on all rows keeps:
    continuous inputs, inputs at 2 or 3 levels (aliased squares), a saturated start (fewer runs than terms)."""
    from glassline.models._rsm import backward_eliminate

    rng = np.random.default_rng(seed)
    grid = None if levels is None else np.linspace(-1, 1, levels)
    X = rng.uniform(-1, 1, (n_runs, m)) if grid is None else rng.choice(grid, size=(n_runs, m))
    y = 2.0 * X[:, 0] - 1.5 * X[:, -1] ** 2 + X[:, 0] * X[:, 1] + rng.normal(0, 0.4, n_runs)
    Z = PolynomialFeatures(2, include_bias=False).fit_transform(X)
    for alpha in (0.05, 0.1, 0.5):
        np.testing.assert_array_equal(backward_eliminate(Z, y, alpha), _reference_eliminate(Z, y, alpha))
