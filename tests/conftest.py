"""Shared fixtures: a seeded random generator and the shipped electrode study."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import numpy as np
import pytest

ELECTRODE_STUDY = Path(str(files("glassline.domains.electrode").joinpath("study.toml")))


@pytest.fixture
def rng() -> np.random.Generator:
    """A generator seeded per test, so tests are repeatable and independent."""
    return np.random.default_rng(20231)


@pytest.fixture(scope="session")
def electrode_study_path() -> Path:
    return ELECTRODE_STUDY
