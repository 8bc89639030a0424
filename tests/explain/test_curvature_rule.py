"""The curvature rule (glassline.explain._curvature) on seeded synthetic studies with a known truth.

A small designed experiment like the demo's: a face-centred central composite design in three factors
(8 corners, 6 face centres, 3 centre runs: 17 configurations), 4 replicate specimens each, a random
configuration-to-configuration effect (material lots, settings as made) larger than the replicates' scatter,
as on the simulated line where the pure-error lack-of-fit test rejects every model.

- A **linear** truth: the rule must rarely claim an interior optimum or minimum. Measured over
  :data:`SEEDS` seeds × 3 factors (the false-optimum rate per factor, printed with ``-s``), it must stay
  within :data:`FALSE_RATE_LIMIT`.
- A truth with an **interior optimum** in one factor: the rule must find it in most seeds, near the truth.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from glassline.explain import CURVATURE_ALPHA, curvature_test

FACTORS = ("a", "b", "c")
#: seeded studies per truth
SEEDS = 200
REPLICATES = 4
#: configuration-to-configuration SD and replicate SD, in the response's unit (linear effects 3, −2, 1.5)
CONFIGURATION_SD, REPLICATE_SD = 1.0, 0.5
#: the per-factor false-optimum rate allowed: the square's test level plus three binomial standard errors
#: of a rate at that level over SEEDS × 3 tests (the elimination picks among terms, so a small excess over
#: the level is the selection's price, not a defect)
FALSE_RATE_LIMIT = CURVATURE_ALPHA + 3 * np.sqrt(CURVATURE_ALPHA * (1 - CURVATURE_ALPHA) / (SEEDS * len(FACTORS)))


def _design() -> np.ndarray:
    corners = np.array(list(itertools.product([-1.0, 1.0], repeat=3)))
    faces = np.vstack([s * np.eye(3)[j] for j in range(3) for s in (-1.0, 1.0)])
    return np.vstack([corners, faces, np.zeros((3, 3))])


def _study(seed: int, truth: object) -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    rng = np.random.default_rng(seed)
    points = _design()
    mean = np.asarray(truth(points), dtype=float) + rng.normal(0.0, CONFIGURATION_SD, len(points))  # type: ignore[operator]
    rows = np.repeat(np.arange(len(points)), REPLICATES)
    y = mean[rows] + rng.normal(0.0, REPLICATE_SD, len(rows))
    X = pd.DataFrame(points[rows] * 5.0 + 50.0, columns=list(FACTORS))  # each factor over 45–55
    return X, pd.Series(y), pd.Series([f"C{r:02d}" for r in rows])


def _linear(points: np.ndarray) -> np.ndarray:
    return 10.0 + 3.0 * points[:, 0] - 2.0 * points[:, 1] + 1.5 * points[:, 2]


def _peaked(points: np.ndarray) -> np.ndarray:
    # an inverted U in b with its peak at b = 0.2 (coded), i.e. 51: a bump of 4 SDs of the configuration effect
    return _linear(points) + 4.0 * points[:, 1] - 5.0 * points[:, 1] ** 2


def false_optimum_rate(seeds: int = SEEDS) -> float:
    """The share of (seed, factor) tests on a linear truth that claim an interior optimum or minimum."""
    claimed = 0
    for seed in range(seeds):
        X, y, groups = _study(seed, _linear)
        for name in FACTORS:
            claimed += curvature_test(X, y, groups, name, (45.0, 55.0), n_boot=0, seed=seed).shape != "none"
    return claimed / (seeds * len(FACTORS))


def test_linear_truth_rarely_gets_an_optimum() -> None:
    rate = false_optimum_rate()
    print(f"false-optimum rate over {SEEDS} seeds × {len(FACTORS)} factors: {rate:.4f}")
    assert rate <= FALSE_RATE_LIMIT


def test_linear_truth_gets_no_stated_optimum_with_the_bootstrap() -> None:
    # with the bootstrap, an optimum the test found is confirmed (its CI inside the range) even more rarely
    confirmed = 0
    for seed in range(50):
        X, y, groups = _study(seed, _linear)
        for name in FACTORS:
            result = curvature_test(X, y, groups, name, (45.0, 55.0), n_boot=50, seed=seed)
            confirmed += result.shape != "none" and result.ci[0] > 45.0 and result.ci[1] < 55.0
    assert confirmed / (50 * len(FACTORS)) <= CURVATURE_ALPHA


def test_an_interior_optimum_is_found_near_the_truth() -> None:
    found, places = 0, []
    for seed in range(50):
        X, y, groups = _study(seed, _peaked)
        result = curvature_test(X, y, groups, "b", (45.0, 55.0), n_boot=50, seed=seed)
        if result.shape == "optimum":
            found += 1
            places.append(result.location)
            assert 45.0 <= result.ci[0] <= result.ci[1] <= 55.0
    assert found / 50 >= 0.8
    assert abs(float(np.median(places)) - 51.0) <= 1.0


def test_two_levels_or_too_few_configurations_get_no_test() -> None:
    X, y, groups = _study(0, _linear)
    two = X.assign(b=np.where(X["b"] > 50, 55.0, 45.0))
    assert curvature_test(two, y, groups, "b", (45.0, 55.0), n_boot=0, seed=0).reason.startswith("2 distinct")
    few = groups.isin([f"C{i:02d}" for i in range(8, 17)])
    result = curvature_test(X[few], y[few], groups[few], "b", (45.0, 55.0), n_boot=0, seed=0)
    assert result.shape == "none"
    assert result.reason


@pytest.mark.parametrize("seed", [0, 1])
def test_the_same_seed_gives_the_same_interval(seed: int) -> None:
    X, y, groups = _study(seed, _peaked)
    first = curvature_test(X, y, groups, "b", (45.0, 55.0), n_boot=30, seed=seed)
    again = curvature_test(X, y, groups, "b", (45.0, 55.0), n_boot=30, seed=seed)
    assert first == again
