"""Shared fixtures: a synthetic designed experiment with replicates, its study, and one comparison of it."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from glassline import Study, study_from_dict
from glassline.models import Comparison, compare

N_CONFIGURATIONS = 17
N_REPLICATES = 3


def synthetic_table(seed: int = 20231, n_config: int = N_CONFIGURATIONS, n_rep: int = N_REPLICATES) -> pd.DataFrame:
    """17 configurations × 3 replicates: y = known function + configuration effect + noise; ``noise`` is pure noise.

    ``x1..x3`` are the factor settings (shared by a configuration's replicates); ``m1`` is a noisy
    measurement of x1 (unique per row, strongly correlated with x1).
    """
    rng = np.random.default_rng(seed)
    while True:  # a design with nearly independent factors, as a DoE gives (|r| < 0.2)
        settings = rng.uniform(0.0, 1.0, size=(n_config, 3))
        r = np.corrcoef(settings, rowvar=False)
        if np.abs(r[np.triu_indices(3, 1)]).max() < 0.2:
            break
    rows: list[dict[str, Any]] = []
    for c in range(n_config):
        effect = rng.normal(0.0, 0.2)
        x1, x2, x3 = settings[c]
        for _ in range(n_rep):
            rows.append(
                {
                    "configuration": f"C{c + 1:02d}",
                    "x1": x1,
                    "x2": x2,
                    "x3": x3,
                    "m1": x1 + rng.normal(0.0, 0.03),
                    "y": 3.0 * x1 - 2.0 * x2**2 + 1.5 * x1 * x3 + effect + rng.normal(0.0, 0.1),
                    "noise": effect + rng.normal(0.0, 0.3),
                }
            )
    return pd.DataFrame(rows)


def synthetic_study(**overrides: Any) -> Study:
    raw: dict[str, Any] = {
        "name": "synthetic",
        "seed": 7,
        "factors": [{"name": n, "low": 0.0, "high": 1.0} for n in ("x1", "x2", "x3")],
        "measured": [{"name": "m1", "unit": "mm"}],
        "responses": [{"name": "y", "label": "Signal", "unit": "kPa"}, {"name": "noise"}],
        "scenarios": {"factors": ["x1", "x2", "x3"], "collinear": ["x1", "m1", "x2"]},
        "data": {"group": "configuration"},
        "split": {"test_fraction": 0.2, "cv_folds": 5, "cv_repeats": 2},
    }
    raw.update(overrides)
    return study_from_dict(raw)


@pytest.fixture(scope="session")
def table() -> pd.DataFrame:
    return synthetic_table()


@pytest.fixture(scope="session")
def study() -> Study:
    return synthetic_study()


@pytest.fixture(scope="session")
def comparison(study: Study, table: pd.DataFrame) -> Comparison:
    """The whole grid on the synthetic table, in this process (warnings raised here are errors)."""
    return compare(study, table, n_jobs=1)


@pytest.fixture(scope="session")
def make_table() -> Any:
    """The synthetic-table builder, for tests that need a variant."""
    return synthetic_table


@pytest.fixture(scope="session")
def make_study() -> Any:
    """The synthetic-study builder: ``make_study(split={...})`` overrides top-level keys."""
    return synthetic_study
