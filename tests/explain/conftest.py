"""The simulated electrode line run once per session: simulate → prepare → compare → explain.

Shared by the "Done when" tests of issue 6 (``test_done_when.py``), the claims' truth tests
(``test_claims_truth.py``) and the curvature / process-window truth tests (``test_curvature_truth.py``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from glassline.demo import run_demo
from glassline.explain import Explanations
from shared_run import shared_run

#: The responses the session run fits: those with a documented dominant factor (test_done_when.py),
#: tortuosity, and the ones whose claims issue 14 reads against the truth.
LINE_TARGETS = [
    "adhesion_strength",
    "discharge_capacity_0_1c",
    "discharge_capacity_5c",
    "tortuosity",
    "electrode_mass_loading",
    "ionic_resistance",
    "gravimetric_capacity_5c",
]


@pytest.fixture(scope="session")
def electrode_line(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Explanations]:
    """The demo's folder and its explanations (every family, the study's requirements, the bootstrap on),
    run once per test session (:func:`tests.conftest.shared_run`)."""
    out = shared_run(tmp_path_factory, "electrode-line", lambda out: run_demo(out, targets=LINE_TARGETS, n_jobs=2))
    return out, Explanations.load(out / "explanations")
