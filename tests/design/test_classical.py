"""Classical designs: run counts, coded settings, categorical crossing and constraint errors."""

from __future__ import annotations

import numpy as np
import pytest

from glassline.design import (
    CLASSICAL_KINDS,
    DesignSpace,
    box_behnken,
    central_composite,
    classical_design,
    full_factorial,
    latin_hypercube,
)
from glassline.exceptions import DesignError
from glassline.spec import LinearConstraint


def test_full_factorial_counts() -> None:
    assert len(full_factorial(DesignSpace.cube(3), levels=4)) == 64
    mixed = DesignSpace.from_ranges({"a": (0, 1), "kind": ["x", "y"]})
    design = full_factorial(mixed, levels=3)
    assert len(design) == 6
    assert set(design.real["kind"]) == {"x", "y"}


def test_central_composite_designs() -> None:
    face = central_composite(DesignSpace.cube(3), center_points=2)
    assert len(face) == 8 + 6 + 2
    assert set(np.unique(face.points)) == {-1.0, 0.0, 1.0}
    rotatable = central_composite(DesignSpace.cube(3), rotatable=True, center_points=1)
    alpha = (2**3) ** 0.25
    assert np.abs(rotatable.points).max() == pytest.approx(1.0)  # axial points on the limits
    assert np.abs(rotatable.points[0]) == pytest.approx(np.full(3, 1 / alpha))


def test_box_behnken_has_no_corners() -> None:
    design = box_behnken(DesignSpace.cube(3), center_points=3)
    assert len(design) == 12 + 3
    assert not np.any(np.all(np.abs(design.points) == 1, axis=1))


def test_latin_hypercube_one_run_per_stratum() -> None:
    design = latin_hypercube(DesignSpace.cube(2), 10, seed=4)
    for column in design.points.T:
        strata = np.floor((column + 1) / 2 * 10).astype(int)
        assert sorted(strata) == list(range(10))
    again = latin_hypercube(DesignSpace.cube(2), 10, seed=4)
    assert np.array_equal(design.points, again.points)


@pytest.mark.parametrize("kind", CLASSICAL_KINDS)
def test_every_kind_by_name(kind: str) -> None:
    design = classical_design(kind, DesignSpace.cube(3), runs=12, seed=0)
    assert len(design) >= 10
    assert design.roles == ("classical",) * len(design)


def test_unknown_kind_and_constraint_violation() -> None:
    with pytest.raises(DesignError, match="Did you mean 'box-behnken'"):
        classical_design("box-benken", DesignSpace.cube(3))
    space = DesignSpace.from_ranges(
        {"a": (0, 1), "b": (0, 1), "c": (0, 1)}, [LinearConstraint(coefficients={"a": 1, "b": 1}, upper=1.5)]
    )
    with pytest.raises(DesignError, match=r"outside the space.*use optimal_design"):
        central_composite(space)
