"""Design space coding and constraints; model terms, model matrix and the exact moment matrix."""

from __future__ import annotations

import numpy as np
import pytest

from glassline.design import DesignSpace, PolynomialModel
from glassline.exceptions import DesignError
from glassline.spec import LinearConstraint, load_study


def test_study_space_codes_real_units(electrode_study_path) -> None:
    space = DesignSpace.from_study(load_study(electrode_study_path))
    assert space.names == ["mass_loading", "drying_temperature", "porosity"]
    coded = np.array([[-1.0, 0.0, 1.0], [1.0, -1.0, 0.0]])
    real = space.decode(coded)
    assert real.iloc[0].tolist() == pytest.approx([8.2, 57.5, 40.0])
    assert real.iloc[1].tolist() == pytest.approx([11.2, 50.0, 32.5])
    assert np.allclose(space.encode(real), coded)


def test_constraint_in_real_units_becomes_coded_rows() -> None:
    # a + b ≤ 12 on a, b ∈ [0, 10]: (5, 7) is on the boundary, (6, 7) outside
    space = DesignSpace.from_ranges(
        {"a": (0, 10), "b": (0, 10)}, [LinearConstraint(coefficients={"a": 1, "b": 1}, upper=12)]
    )
    inside = space.encode(space.decode(np.array([[0.0, 0.4]])))
    assert space.feasible(inside).all()
    on_edge = (np.array([[5.0, 7.0]]) - 5.0) / 5.0
    outside = (np.array([[6.0, 7.0]]) - 5.0) / 5.0
    assert space.feasible(on_edge).all()
    assert not space.feasible(outside).any()
    lo, hi = space.coordinate_interval(np.array([0.4, 0.4]), 0)  # b = 7 → a ≤ 5 → coded 0
    assert (lo, hi) == pytest.approx((-1.0, 0.0))
    assert "constraint 0" in (space.describe_violation({"a": 6.0, "b": 7.0}) or "")
    vertices = space.decode(space.vertices())
    assert {tuple(v) for v in vertices.round(9).to_numpy()} == {(0, 0), (10, 0), (0, 10), (10, 2), (2, 10)}


def test_bad_factors_and_constraints_are_design_errors() -> None:
    with pytest.raises(DesignError, match="low"):
        DesignSpace([{"name": "x", "low": 2.0, "high": 1.0}])
    with pytest.raises(DesignError, match="two distinct levels"):
        DesignSpace([{"name": "kind", "levels": ["a"]}])
    with pytest.raises(DesignError, match="unique"):
        DesignSpace([{"name": "x", "low": -1, "high": 1}, {"name": "x", "low": 0, "high": 1}])
    with pytest.raises(DesignError, match="Did you mean 'alpha'"):
        DesignSpace.from_ranges({"alpha": (0, 1)}, [LinearConstraint(coefficients={"alpah": 1}, upper=1)])


def test_sample_is_uniform_in_the_constrained_region() -> None:
    space = DesignSpace.from_ranges(
        {"a": (0, 1), "b": (0, 1)}, [LinearConstraint(coefficients={"a": 1, "b": 1}, upper=1)]
    )
    points = space.sample(20_000, seed=3)
    assert len(points) == 20_000
    assert space.feasible(points).all()
    real = space.decode(points)
    # uniform on the triangle: E[a] = 1/3
    assert real["a"].mean() == pytest.approx(1 / 3, abs=0.01)


def test_model_terms() -> None:
    cube = DesignSpace.cube(3)
    assert PolynomialModel(cube, "linear").p == 4
    assert PolynomialModel(cube, "interactions").p == 7
    quadratic = PolynomialModel(cube, "quadratic")
    assert quadratic.p == 10
    assert quadratic.names == ["intercept", "x1", "x2", "x3", "x1*x2", "x1*x3", "x2*x3", "x1^2", "x2^2", "x3^2"]
    mixed = PolynomialModel(DesignSpace.from_ranges({"a": (0, 1), "kind": ["u", "v", "w"]}), "quadratic")
    # intercept, a, kind[u], kind[v], a*kind[u], a*kind[v], a^2 (no square of a categorical factor)
    assert mixed.names == ["intercept", "a", "kind[u]", "kind[v]", "a*kind[u]", "a*kind[v]", "a^2"]
    with pytest.raises(DesignError, match="model must be one of"):
        PolynomialModel(cube, "cubic")  # type: ignore[arg-type]


def test_model_matrix_and_effect_coding() -> None:
    space = DesignSpace.from_ranges({"a": (0, 1), "kind": ["u", "v", "w"]})
    model = PolynomialModel(space, "interactions")
    X = model.matrix(np.array([[0.5, 0], [0.5, 1], [-1.0, 2]]))
    # effect coding: u → (1, 0), v → (0, 1), w → (−1, −1)
    assert X.tolist() == [[1, 0.5, 1, 0, 0.5, 0], [1, 0.5, 0, 1, 0, 0.5], [1, -1, -1, -1, 1, 1]]


def test_coordinate_polynomial_matches_the_model_matrix(rng: np.random.Generator) -> None:
    space = DesignSpace.from_ranges({"a": (0, 1), "b": (0, 1), "c": (0, 1), "kind": ["u", "v"]})
    model = PolynomialModel(space, "quadratic")
    points = np.column_stack([rng.uniform(-1, 1, (5, 3)), rng.integers(0, 2, 5)])
    for j in range(3):
        F0, F1, F2 = model.coordinate_polynomial(points, j)
        for t in (-0.7, 0.0, 0.3):
            moved = points.copy()
            moved[:, j] = t
            assert np.allclose(F0 + t * F1 + t * t * F2, model.matrix(moved))


def test_exact_moments_of_the_cube() -> None:
    W = PolynomialModel(DesignSpace.cube(3), "quadratic").moments()
    names = PolynomialModel(DesignSpace.cube(3), "quadratic").names
    at = {n: i for i, n in enumerate(names)}
    assert W[at["intercept"], at["intercept"]] == 1.0
    assert W[at["x1"], at["x1"]] == pytest.approx(1 / 3)  # E[x²]
    assert W[at["x1^2"], at["x1^2"]] == pytest.approx(1 / 5)  # E[x⁴]
    assert W[at["x1^2"], at["x2^2"]] == pytest.approx(1 / 9)  # E[x²]E[y²]
    assert W[at["x1*x2"], at["x1*x2"]] == pytest.approx(1 / 9)
    assert W[at["intercept"], at["x1^2"]] == pytest.approx(1 / 3)
    assert W[at["x1"], at["x1*x2"]] == 0.0


@pytest.mark.parametrize("constraints", [False, True])
def test_moments_agree_with_monte_carlo(constraints: bool) -> None:
    extra = [LinearConstraint(coefficients={"a": 1, "b": 1}, upper=1.2)] if constraints else []
    space = DesignSpace.from_ranges({"a": (0, 1), "b": (0, 1), "kind": ["u", "v", "w"]}, extra)
    model = PolynomialModel(space, "quadratic")
    points = space.sample(200_000, seed=11, method="random")
    F = model.matrix(points)
    assert np.abs(model.moments() - F.T @ F / len(F)).max() < 0.01


def test_derivatives_match_finite_differences(rng: np.random.Generator) -> None:
    space = DesignSpace.from_ranges({"a": (0, 1), "b": (0, 1), "c": (0, 1), "kind": ["u", "v"]})
    model = PolynomialModel(space, "quadratic")
    points = np.column_stack([rng.uniform(-1, 1, (6, 3)), rng.integers(0, 2, 6)])
    D = model.derivatives(points)
    h = 1e-6
    for j in range(3):
        up, down = points.copy(), points.copy()
        up[:, j] += h
        down[:, j] -= h
        assert np.allclose((model.matrix(up) - model.matrix(down)) / (2 * h), D[:, :, j], atol=1e-7)
    assert not D[:, :, 3].any()  # a categorical factor has no slope
