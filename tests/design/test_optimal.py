"""Optimal designs: the best-known cube design, constraints, augmentation, the recipe, clear errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from glassline.design import (
    Design,
    DesignSpace,
    PolynomialModel,
    augment,
    augment_fds,
    optimal_design,
)
from glassline.design._exchange import Batch
from glassline.exceptions import DataError, DesignError
from glassline.spec import LinearConstraint, load_study

#: Best I known for the full quadratic model, 3 factors, 17 runs (issue 3: 8 corners, 6 face
#: centres with one repeated, 2 centre points gives 0.3221).
BEST_KNOWN_I_3_17 = 0.3222


@pytest.mark.parametrize("seed", [0, 7])
def test_cube_reaches_the_best_known_i(seed: int) -> None:
    design = optimal_design(DesignSpace.cube(3), 17, seed=seed)
    assert design.i_value <= BEST_KNOWN_I_3_17
    assert len(design) == 17
    # the same value by the textbook formula: trace((X'X)⁻¹ W)
    X = design.model.matrix(design.points)
    assert np.trace(np.linalg.solve(X.T @ X, design.model.moments())) == pytest.approx(design.i_value)


def test_grid_only_design_is_the_classic_one() -> None:
    design = optimal_design(DesignSpace.cube(3), 17, seed=1, off_grid=False)
    assert set(np.unique(design.points)) <= {-1.0, 0.0, 1.0}
    assert design.i_value == pytest.approx(0.32215, abs=1e-5)
    corners = int(np.sum(np.all(np.abs(design.points) == 1, axis=1)))
    centres = int(np.sum(np.all(design.points == 0, axis=1)))
    assert (corners, centres) == (8, 2)


def test_electrode_study_design(electrode_study_path) -> None:
    study = load_study(electrode_study_path)
    design = optimal_design(study, 17, seed=study.seed)
    assert design.i_value <= BEST_KNOWN_I_3_17
    real = design.real
    assert real["mass_loading"].between(8.2, 11.2).all()
    assert real["drying_temperature"].between(50, 65).all()
    assert real["porosity"].between(25, 40).all()


def test_same_seed_same_design() -> None:
    a = optimal_design(DesignSpace.cube(2), 9, seed=5, model="quadratic")
    b = optimal_design(DesignSpace.cube(2), 9, seed=5, model="quadratic")
    assert np.array_equal(a.points, b.points)


def test_d_optimal_linear_design_is_the_factorial() -> None:
    design = optimal_design(DesignSpace.cube(3), 8, criterion="d", model="linear", seed=0)
    assert sorted(map(tuple, design.points)) == sorted(
        (a, b, c) for a in (-1.0, 1.0) for b in (-1.0, 1.0) for c in (-1.0, 1.0)
    )
    assert design.d_value == pytest.approx(1.0)


def test_constraints_hold_for_every_run() -> None:
    constraint = LinearConstraint(coefficients={"a": 1.0, "b": 1.0}, upper=12.0)
    space = DesignSpace.from_ranges({"a": (0, 10), "b": (0, 10), "c": (20, 30)}, [constraint])
    design = optimal_design(space, 14, seed=2)
    real = design.real
    assert (real["a"] + real["b"] <= 12.0 + 1e-9).all()
    assert real[["a", "b"]].ge(0).all().all()
    assert real["c"].between(20, 30).all()
    assert design.i_value < 0.45  # a proper design, not a degenerate one


def test_categorical_factor_design() -> None:
    space = DesignSpace.from_ranges({"a": (0, 1), "b": (0, 1), "kind": ["x", "y", "z"]})
    design = optimal_design(space, 18, seed=0)
    counts = design.real["kind"].value_counts()
    assert set(counts.index) == {"x", "y", "z"}
    assert counts.min() >= 4


def test_augmentation_keeps_the_fixed_runs() -> None:
    base = optimal_design(DesignSpace.cube(3), 12, seed=3)
    more = augment(base, 5, seed=3)
    assert len(more) == 17
    assert np.array_equal(more.points[:12], base.points)
    assert more.roles[:12] == ("fixed",) * 12
    assert more.roles[12:] == ("augment",) * 5
    assert more.i_value < base.i_value
    # from a real-unit table, with off-grid fixed runs
    space = DesignSpace.from_ranges({"a": (0, 10), "b": (-5, 5)})
    table = pd.DataFrame({"a": [0.0, 10.0, 3.3, 7.1, 5.0, 10.0], "b": [-5.0, -5.0, 1.2, 4.4, 0.0, 5.0]})
    grown = optimal_design(space, 9, fixed=table, seed=0)
    assert np.allclose(grown.real.iloc[:6].to_numpy(dtype=float), table.to_numpy())


def test_fds_augmentation_adds_runs_where_variance_is_highest() -> None:
    base = optimal_design(DesignSpace.cube(2), 7, seed=0)
    worst = base.space.sample(100_000, seed=0)
    before = base.prediction_variance(worst).max()
    more = augment_fds(base, 2)
    assert np.array_equal(more.points[:7], base.points)
    added = more.points[7:]
    assert base.prediction_variance(added[:1])[0] >= before - 1e-9
    assert more.prediction_variance(worst).max() < before


def test_design_expert_recipe_reports_degrees_of_freedom() -> None:
    design = optimal_design(DesignSpace.cube(3), 20, lack_of_fit=5, replicates=5, seed=0)
    assert design.roles.count("model") == 10
    assert design.roles.count("lack-of-fit") == 5
    assert design.roles.count("replicate") == 5
    report = design.diagnostics(compare_levels=None)
    # every replicate repeats a run; the lack-of-fit points are new settings
    assert report.pure_error_df >= 5
    assert report.lack_of_fit_df + report.pure_error_df == report.residual_df == 10
    model_points = design.points[:10]
    lof = design.points[10:15]
    gaps = np.min(np.linalg.norm(lof[:, None, :] - model_points[None, :, :], axis=2), axis=1)
    assert gaps.min() > 0.4


def test_too_few_runs_says_the_minimum() -> None:
    with pytest.raises(DesignError, match=r"has 10 terms.*minimum is 10 runs"):
        optimal_design(DesignSpace.cube(3), 9)
    with pytest.raises(DesignError, match=r"5 lack-of-fit points.*minimum is 15 runs"):
        optimal_design(DesignSpace.cube(3), 14, lack_of_fit=5)


def test_saturated_design_is_possible() -> None:
    design = optimal_design(DesignSpace.cube(3), 10, seed=0)
    assert len(design) == 10
    assert np.isfinite(design.i_value)


def test_factor_with_two_settings_cannot_carry_a_square() -> None:
    space = DesignSpace(
        [{"name": "a", "low": -1, "high": 1}, {"name": "rollers", "low": 25.0, "high": 40.0, "values": [25.0, 40.0]}]
    )
    with pytest.raises(DesignError, match=r"'rollers' can only be set to 2 value\(s\).*rollers\^2"):
        optimal_design(space, 10)
    design = optimal_design(space, 6, model="interactions", seed=0)
    assert set(design.real["rollers"]) == {25.0, 40.0}


def test_fixed_runs_that_cannot_be_extended_to_full_rank_are_refused() -> None:
    space = DesignSpace.cube(2)
    model = PolynomialModel(space, "quadratic")
    fixed = np.array([[-1.0, -1.0], [1.0, 1.0], [-1.0, 1.0], [1.0, -1.0]])
    # four fixed runs plus two new ones can estimate all six terms...
    design = optimal_design(space, 6, model=model, fixed=fixed, seed=0)
    assert np.array_equal(design.points[:4], fixed)
    # ...but a read-in design with every factor at two levels cannot
    with pytest.raises(DesignError, match=r"factor 'x1' to only 2 distinct value.*needs at least 3"):
        Design(space=space, model=model, points=np.vstack([fixed, fixed]), roles=("fixed",) * 8).diagnostics()


def test_rank_deficient_design_names_the_dependent_terms() -> None:
    space = DesignSpace.cube(2)
    points = np.array([[-1, -1], [1, 1], [0, 0], [-1, -1], [1, 1], [0, 0.0]])  # x1 = x2 always
    design = Design(space=space, model=PolynomialModel(space, "quadratic"), points=points, roles=("fixed",) * 6)
    with pytest.raises(DesignError, match=r"linearly dependent") as info:
        design.diagnostics()
    assert "'x1'" in str(info.value)
    assert "'x2'" in str(info.value)


def test_bad_fixed_table_is_a_data_error() -> None:
    space = DesignSpace.from_ranges({"a": (0, 10), "b": (0, 1)})
    with pytest.raises(DataError, match=r"the fixed runs: row 4, column 'a': expected a value in 0 … 10, found 12"):
        optimal_design(space, 8, model="linear", fixed=pd.DataFrame({"a": [1.0, 2.0, 12.0], "b": [0, 1, 0]}))


def test_rank_two_updates_match_a_fresh_inverse(rng: np.random.Generator) -> None:
    model = PolynomialModel(DesignSpace.cube(3), "quadratic")
    W = model.moments()
    X = model.matrix(rng.uniform(-1, 1, (4, 15, 3)))
    batch = Batch(X, np.zeros((10, 10)), W)
    new = model.matrix(rng.uniform(-1, 1, (4, 3)))
    mask = np.array([True, False, True, True])
    done = batch.swap(mask, 5, new)
    assert done.tolist() == mask.tolist()
    fresh = Batch(batch.X, np.zeros((10, 10)), W)
    assert np.allclose(batch.value, fresh.value)
    assert np.allclose(batch.Q, fresh.Q, atol=1e-9)
    assert np.allclose(batch.logdet, fresh.logdet)


def test_off_grid_refinement_beats_the_grid() -> None:
    on_grid = optimal_design(DesignSpace.cube(3), 17, seed=0, off_grid=False)
    off_grid = optimal_design(DesignSpace.cube(3), 17, seed=0)
    assert off_grid.i_value < on_grid.i_value - 5e-5
    assert np.abs(off_grid.points).max() <= 1.0


def test_polish_keeps_constrained_runs_inside() -> None:
    from glassline.design._polish import polish

    constraint = LinearConstraint(coefficients={"a": 1.0, "b": 1.0}, upper=1.0)
    space = DesignSpace.from_ranges({"a": (0, 1), "b": (0, 1)}, [constraint])
    model = PolynomialModel(space, "quadratic")
    start = optimal_design(space, 8, seed=0, off_grid=False).points
    W = model.moments()
    points, value = polish(
        start,
        movable=[0, 1],
        W=W,
        M_fixed=np.zeros((6, 6)),
        matrix=model.matrix,
        derivatives=model.derivatives,
        space=space,
    )
    real = space.decode(points)
    assert (real["a"] + real["b"] <= 1.0 + 1e-12).all()
    X = model.matrix(start)
    assert value <= np.trace(np.linalg.solve(X.T @ X, W)) + 1e-12
