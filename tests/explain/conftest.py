"""The simulated electrode line run once per session: simulate → prepare → compare → explain.

Shared by the "Done when" tests of issue 6 (``test_done_when.py``) and the claims' truth tests
(``test_claims_truth.py``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from glassline.demo import run_demo
from glassline.explain import Explanations, explain

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
    """The demo's folder and the explanations of its results (with a process window, no influence refits)."""
    out = tmp_path_factory.mktemp("electrode")
    run_demo(out, families=["mlr", "poly2", "xgb"], targets=LINE_TARGETS, n_jobs=2)
    outcome = explain(
        out / "results",
        requirements=["adhesion_strength>=300", "discharge_capacity_5c>=0.5"],
        influence=False,
        n_jobs=2,
    )
    return out, outcome
