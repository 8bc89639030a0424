"""The counterfactual against brute force on models with known optima: a quadratic, trees whose cells can be
enumerated, a linear model; infeasible requirements get a certificate; bad inputs one clear error."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from sklearn.ensemble import RandomForestRegressor
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import PolynomialFeatures, StandardScaler
from sklearn.svm import SVR
from xgboost import XGBRegressor

from glassline.exceptions import DataError, SpecError
from glassline.optimize import Space, Surface, Target, counterfactual, design_window, parse_bounds, what_if

SPACE = Space(("a", "b", "c"), (0.0, 0.0, 0.0), (1.0, 2.0, 1.0), ("mm", "°C", ""))
ROW = {"a": 0.2, "b": 0.4, "c": 0.5}


def _quadratic(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    return 2.0 + 3.0 * a - 2.5 * a**2 + 1.2 * b - 0.4 * b**2 + 0.8 * a * b + 0.5 * c


def _fit(pipeline: Pipeline, f: object, seed: int = 0, levels: bool = False) -> Surface:
    rng = np.random.default_rng(seed)
    if levels:  # a three-level design: few distinct thresholds, cells enumerable
        X = np.array(list(itertools.product([0.0, 0.5, 1.0], [0.0, 1.0, 2.0], [0.0, 0.5, 1.0])))
        X = np.repeat(X, 2, axis=0)
    else:
        X = rng.uniform(0, 1, (60, 3)) * np.array([1.0, 2.0, 1.0])
    y = f(X[:, 0], X[:, 1], X[:, 2]) + (rng.normal(0, 0.05, len(X)) if levels else 0.0)  # type: ignore[operator]
    pipeline.fit(X, y)
    return Surface("y", ("a", "b", "c"), pipeline.predict, half_width=0.1, estimator=pipeline, reference=X)


def _brute(surface: Surface, low: float, steps: int = 201, half: float = 0.1) -> tuple[int, float]:
    """(fewest changed factors, least L1 distance in range units) over a fine grid of the box."""
    axes = [np.linspace(lo, hi, steps) for lo, hi in zip(SPACE.low, SPACE.high, strict=True)]
    row = np.array([ROW[f] for f in SPACE.factors])
    best: tuple[int, float] | None = None
    for k in range(1, 4):
        for support in itertools.combinations(range(3), k):
            mesh = np.meshgrid(*[axes[j] for j in support], indexing="ij")
            X = np.repeat(row[None, :], mesh[0].size, axis=0)
            for j, m in zip(support, mesh, strict=True):
                X[:, j] = m.ravel()
            ok = surface.values(X) - half >= low
            if ok.any():
                d = (np.abs(X[ok] - row) / SPACE.widths).sum(axis=1).min()
                best = (k, float(d)) if best is None or d < best[1] else best
        if best is not None:
            return best
    raise AssertionError("nothing feasible on the grid")


def test_quadratic_one_factor_answer_equals_the_grid_optimum() -> None:
    surface = _fit(
        Pipeline([("s", StandardScaler()), ("p", PolynomialFeatures(2)), ("m", LinearRegression())]), _quadratic
    )
    answer = counterfactual(ROW, [Target(surface, low=3.6)], SPACE)
    k, d = _brute(surface, 3.6, steps=2001)
    assert answer.feasible
    assert answer.n_changed == k == 1
    step = 1 / 2000
    assert d - step <= answer.distance <= d + 1e-9  # at least as close as the grid, and within one grid step
    assert surface.values(np.array([[answer.row[f] for f in SPACE.factors]]))[0] - 0.1 >= 3.6


def test_quadratic_needing_two_factors_is_as_close_as_the_grid() -> None:
    surface = _fit(
        Pipeline([("s", StandardScaler()), ("p", PolynomialFeatures(2)), ("m", LinearRegression())]), _quadratic
    )
    low = 4.85  # above what a or b alone reaches from the row
    answer = counterfactual(ROW, [Target(surface, low=low)], SPACE)
    k, d = _brute(surface, low, steps=401)
    assert answer.feasible
    assert answer.n_changed == k == 2
    assert answer.distance <= d + 1e-9
    assert answer.distance >= d - 2 / 400
    assert answer.method == "quadratic program"
    assert answer.optimal
    assert answer.gap == 0.0
    assert "KKT" in answer.resolution


def _brute_pairs(
    surface: Surface, low: float | None, high: float | None, steps: int, weights: tuple[float, ...] = (1.0, 1.0, 1.0)
) -> float:
    """The least weighted L1 distance over a fine grid of every two-factor support (the third at the row)."""
    row = np.array([ROW[f] for f in SPACE.factors])
    best = np.inf
    for support in itertools.combinations(range(3), 2):
        axes = [np.linspace(SPACE.low[j], SPACE.high[j], steps) for j in support]
        mesh = np.meshgrid(*axes, indexing="ij")
        X = np.repeat(row[None, :], mesh[0].size, axis=0)
        for j, m in zip(support, mesh, strict=True):
            X[:, j] = m.ravel()
        p = surface.values(X)
        ok = np.ones(len(X), dtype=bool)
        if low is not None:
            ok &= p - 0.1 >= low
        if high is not None:
            ok &= p + 0.1 <= high
        if ok.any():
            best = min(best, float((np.abs(X[ok] - row) / SPACE.widths @ np.asarray(weights)).min()))
    return best


def test_quadratic_two_sided_weighted_requirement_equals_the_brute_force_optimum() -> None:
    surface = _fit(
        Pipeline([("s", StandardScaler()), ("p", PolynomialFeatures(2)), ("m", LinearRegression())]), _quadratic
    )
    for high in (2.6, 2.4):  # below the row's prediction: two factors must move, a within a band
        answer = counterfactual(ROW, [Target(surface, low=high - 0.6, high=high)], SPACE, weights={"a": 2.0, "c": 0.5})
        assert answer.method == "quadratic program"
        assert answer.optimal
        assert answer.n_changed == 2
        d = _brute_pairs(surface, high - 0.6, high, 801, weights=(2.0, 1.0, 0.5))
        assert answer.distance <= d + 1e-9
        assert answer.distance >= d - 2 * 2.0 / 800
        p = surface.values(np.array([[answer.row[f] for f in SPACE.factors]]))[0]
        assert high - 0.6 <= p - 0.1 <= p + 0.1 <= high


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_quadratic_two_factor_changes_equal_the_brute_force_optimum(seed: int) -> None:
    rng = np.random.default_rng(seed)
    c = rng.normal(0, 1, 9)

    def f(a: np.ndarray, b: np.ndarray, cc: np.ndarray) -> np.ndarray:  # curvature of either sign, interactions
        return c[0] * a + c[1] * b + c[2] * cc + c[3] * a**2 + c[4] * b**2 + c[5] * cc**2 + c[6] * a * b + c[7] * b * cc

    surface = _fit(Pipeline([("s", StandardScaler()), ("p", PolynomialFeatures(2)), ("m", LinearRegression())]), f)
    row = np.array([[ROW[n] for n in SPACE.factors]])
    grid = np.linspace(0, 1, 401)
    best_one = -np.inf  # the highest any one factor reaches alone
    for j in range(3):
        X = np.repeat(row, len(grid), axis=0)
        X[:, j] = SPACE.low[j] + grid * SPACE.widths[j]
        best_one = max(best_one, float(surface.values(X).max()))
    box = itertools.product(*[np.linspace(lo, hi, 41) for lo, hi in zip(SPACE.low, SPACE.high, strict=True)])
    top = float(surface.values(np.asarray(list(box))).max())
    low = best_one + 0.1 + 0.3 * (top - best_one)  # beyond one factor (with the interval), short of the box's best
    answer = counterfactual(ROW, [Target(surface, low=low)], SPACE)
    assert answer.method == "quadratic program"
    if answer.n_changed != 2:  # the grid of pairs must then have nothing feasible either
        assert answer.n_changed == 3
        assert _brute_pairs(surface, low, None, 201) == np.inf
        return
    d = _brute_pairs(surface, low, None, 801)
    assert answer.optimal
    assert answer.distance <= d + 1e-9  # no grid point of any pair is closer
    assert answer.distance >= d - 2 / 800  # and the grid's best is within its spacing
    x = np.array([[answer.row[n] for n in SPACE.factors]])
    assert surface.values(x)[0] - 0.1 >= low


@pytest.mark.parametrize("family", ["rf", "xgb"])
def test_tree_cells_answer_is_the_exact_optimum(family: str) -> None:
    model = (
        RandomForestRegressor(n_estimators=30, random_state=0)
        if family == "rf"
        else XGBRegressor(n_estimators=30, max_depth=3, learning_rate=0.3)
    )
    surface = _fit(Pipeline([("s", StandardScaler()), ("m", model)]), _quadratic, levels=True)
    grid_top = float(surface.values(np.array([[0.6, 1.8, 1.0]]))[0])
    low = grid_top - 0.3
    answer = counterfactual(ROW, [Target(surface, low=low)], SPACE)
    k, d = _brute(surface, low, steps=401)
    assert answer.method == "cells"
    assert answer.optimal
    assert answer.gap == 0.0
    assert answer.n_changed == k
    # exact: no grid point is closer, and the grid's best is within its spacing of the answer
    assert answer.distance <= d + 1e-9
    assert d - answer.distance <= k * 1 / 400 + 1e-9


def test_linear_program_answer_equals_the_grid_optimum_with_weights() -> None:
    surface = _fit(Pipeline([("s", StandardScaler()), ("m", LinearRegression())]), lambda a, b, c: 1 + 2 * a + b - c)
    answer = counterfactual(ROW, [Target(surface, low=2.6)], SPACE)
    assert answer.method == "linear program"
    assert answer.optimal
    assert answer.n_changed == 1
    # per range unit: a moves the prediction by 2, b by 2 (range 2), c by 1: a or b; weights make b dearer
    weighted = counterfactual(ROW, [Target(surface, low=2.6)], SPACE, weights={"b": 5.0})
    assert set(weighted.changes) == {"a"}
    assert weighted.changes["a"]["to"] == pytest.approx(0.2 + (2.6 + 0.1 - (1 + 0.4 + 0.4 - 0.5)) / 2, abs=1e-6)
    assert weighted.changes["a"]["unit"] == "mm"


def test_point_prediction_needs_less_change_than_the_interval() -> None:
    surface = _fit(Pipeline([("s", StandardScaler()), ("m", LinearRegression())]), lambda a, b, c: 1 + 2 * a + b - c)
    sure = counterfactual(ROW, [Target(surface, low=2.6)], SPACE, settable=["a"])
    point = counterfactual(ROW, [Target(surface, low=2.6)], SPACE, settable=["a"], interval=False)
    assert point.distance == pytest.approx(sure.distance - 0.1 / 2, abs=1e-6)
    assert point.predictions["y"] == pytest.approx(2.6, abs=1e-6)


@pytest.mark.parametrize("family", ["linear", "quadratic", "xgb"])
def test_unreachable_requirement_gets_a_proven_certificate(family: str) -> None:
    steps: dict[str, Pipeline] = {
        "linear": Pipeline([("s", StandardScaler()), ("m", LinearRegression())]),
        "quadratic": Pipeline([("s", StandardScaler()), ("p", PolynomialFeatures(2)), ("m", LinearRegression())]),
        "xgb": Pipeline([("s", StandardScaler()), ("m", XGBRegressor(n_estimators=20, max_depth=3))]),
    }
    surface = _fit(steps[family], _quadratic, levels=family == "xgb")
    answer = counterfactual(ROW, [Target(surface, low=50.0)], SPACE)
    assert not answer.feasible
    assert answer.n_changed is None
    assert answer.changes == {}
    assert answer.proven is True
    assert answer.certificate is not None
    assert "50" in answer.certificate


def test_svr_search_answer_meets_the_requirement_and_joint_bounds_hold() -> None:
    svr = _fit(Pipeline([("s", StandardScaler()), ("m", SVR(C=10.0))]), _quadratic)
    lin = _fit(Pipeline([("s", StandardScaler()), ("m", LinearRegression())]), lambda a, b, c: 10 - 4 * a - c)
    lin = Surface("z", lin.inputs, lin.predict, half_width=0.2, estimator=lin.estimator)
    joint = counterfactual(ROW, [Target(svr, low=3.4), Target(lin, high=9.0)], SPACE)
    assert joint.feasible
    x = np.array([[joint.row[f] for f in SPACE.factors]])
    assert svr.values(x)[0] - 0.1 >= 3.4 - 1e-9
    assert lin.values(x)[0] + 0.2 <= 9.0 + 1e-9
    _low, high = joint.intervals["z"]
    assert high is not None
    assert high <= 9.0 + 1e-9


def test_fixed_factors_stay_and_the_domain_check_is_respected() -> None:
    surface = _fit(Pipeline([("s", StandardScaler()), ("m", LinearRegression())]), lambda a, b, c: 1 + 2 * a + b - c)
    # a domain that excludes a > 0.5: the answer must use b
    space = Space(SPACE.factors, SPACE.low, SPACE.high, SPACE.units, inside=lambda X: X[:, 0] <= 0.5)
    answer = counterfactual(ROW, [Target(surface, low=2.6)], space, settable=["a", "b"])
    assert answer.feasible
    assert answer.row["a"] <= 0.5
    assert answer.row["c"] == ROW["c"]
    fixed = counterfactual({**ROW, "c": 1.5}, [Target(surface, low=2.6)], SPACE, settable=["a", "b"])
    assert not fixed.feasible
    assert "c = 1.5 is not settable" in (fixed.certificate or "")


def test_bad_inputs_give_one_clear_error() -> None:
    surface = _fit(Pipeline([("s", StandardScaler()), ("m", LinearRegression())]), lambda a, b, c: a + b + c)
    target = Target(surface, low=1.0)
    with pytest.raises(DataError, match="unknown factor 'd'"):
        counterfactual({**ROW, "d": 1.0}, [target], SPACE)
    with pytest.raises(DataError, match="factor 'c' is missing"):
        counterfactual({"a": 0.1, "b": 0.2}, [target], SPACE)
    with pytest.raises(SpecError, match="min 3 is above max 2"):
        Target(surface, low=3.0, high=2.0)
    with pytest.raises(SpecError, match="unknown settable factor 'porosity'"):
        counterfactual(ROW, [target], SPACE, settable=["porosity"])
    with pytest.raises(SpecError, match="weights: 'c' is not a settable factor"):
        counterfactual(ROW, [target], SPACE, settable=["a"], weights={"c": 2.0})
    with pytest.raises(SpecError, match="positive finite"):
        counterfactual(ROW, [target], SPACE, weights={"a": -1.0})
    with pytest.raises(SpecError, match="expected NAME OP NUMBER"):
        parse_bounds(["y => 3"])
    with pytest.raises(SpecError, match="no response or model named 'w'"):
        parse_bounds(["w>=3"], ["y"])
    assert parse_bounds(["y-xgb>=3", "y-xgb<=5"]).by_response == {"y-xgb": (3.0, 5.0)}


def test_what_if_curves_and_window_shares() -> None:
    surface = _fit(
        Pipeline([("s", StandardScaler()), ("p", PolynomialFeatures(2)), ("m", LinearRegression())]), _quadratic
    )
    curve = what_if(ROW, [surface], SPACE, ["a"], points=5)
    axis = np.linspace(0, 1, 5)
    np.testing.assert_allclose(curve.predictions["y"], _quadratic(axis, 0.4, 0.5), atol=1e-9)
    np.testing.assert_allclose(curve.upper["y"] - curve.lower["y"], 0.2)  # type: ignore[operator]
    grid = what_if(ROW, [surface], SPACE, ["a", "b"], points=4)
    assert grid.predictions["y"].shape == (4, 4)
    assert grid.inside.all()
    window = design_window([Target(surface, low=3.5)], SPACE, points=11)
    X = window.points
    truth = _quadratic(X[:, 0], X[:, 1], X[:, 2])
    assert window.predicted_feasible_fraction == pytest.approx(np.mean(truth >= 3.5))
    assert window.feasible_fraction == pytest.approx(np.mean(truth - 0.1 >= 3.5))
    optimum = window.desirability
    assert optimum is not None
    assert optimum["desirability"] == pytest.approx(1.0)
    assert optimum["responses"][0]["lower"] >= optimum["responses"][0]["best_in_box"] - 1e-6


def test_forest_certificate_is_proven_by_its_leaf_bound() -> None:
    surface = _fit(
        Pipeline([("s", StandardScaler()), ("m", RandomForestRegressor(n_estimators=20, random_state=0))]), _quadratic
    )
    answer = counterfactual(ROW, [Target(surface, low=50.0)], SPACE)
    assert not answer.feasible
    assert answer.proven is True
    assert "extreme leaf" in (answer.certificate or "")


def test_forest_leaf_bound_pruning_gives_the_same_answers_as_full_enumeration(monkeypatch: pytest.MonkeyPatch) -> None:
    from glassline.optimize import _counterfactual

    surface = _fit(
        Pipeline(
            [("s", StandardScaler()), ("m", RandomForestRegressor(n_estimators=10, max_leaf_nodes=12, random_state=1))]
        ),
        _quadratic,
    )
    top = float(surface.values(np.array([[0.6, 2.0, 1.0]]))[0])
    lows = [top - 1.5, top - 0.8, top - 0.3, top, top + 5.0]  # one, two, two, three factors; unreachable

    def answers() -> list[tuple[bool, int | None, float | None, list[float], str]]:
        out = []
        for low in lows:
            a = counterfactual(ROW, [Target(surface, low=low)], SPACE)
            out.append((a.feasible, a.n_changed, a.distance, list(a.row.values()), a.method))
        return out

    pruned = answers()
    monkeypatch.setattr(_counterfactual, "NODE_CELLS", 16)  # boxes split down to 16 cells, each bounded
    split = answers()
    monkeypatch.setattr(_counterfactual, "NODE_CELLS", 10**9)  # every support enumerated whole
    monkeypatch.setattr(_counterfactual, "LEAF_BOUND", False)  # nothing skipped by the bound
    full = answers()
    assert pruned == full
    assert split == full
    assert [a[1] for a in pruned] == [1, 2, 2, 3, None]
    assert all(a[4] == "cells" for a in pruned)


def test_svr_answer_states_a_certified_gap_and_an_unreachable_one_a_proof() -> None:
    svr = _fit(Pipeline([("s", StandardScaler()), ("m", SVR(C=10.0))]), _quadratic)
    grid = np.asarray(
        list(itertools.product(*[np.linspace(lo, hi, 21) for lo, hi in zip(SPACE.low, SPACE.high, strict=True)]))
    )
    top = float(svr.values(grid).max())
    for low in (top - 1.2, top - 0.4):
        answer = counterfactual(ROW, [Target(svr, low=low)], SPACE)
        assert answer.method == "search"
        assert answer.gap is not None
        assert answer.gap >= 0.0
        k, d = _brute(svr, low, steps=201)
        assert answer.n_changed == k
        # the certified lower bound (answer − gap) is below every feasible grid point of that support size
        assert answer.distance - answer.gap <= d + 1e-9
        assert "RBF kernel" in answer.resolution
    unreachable = counterfactual(ROW, [Target(svr, low=top + 5.0)], SPACE)
    assert not unreachable.feasible
    assert unreachable.proven is True
    assert "RBF kernel" in (unreachable.certificate or "")
