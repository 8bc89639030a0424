"""A hand-written ``explanations/`` folder (claims.csv, warnings.csv) beside a results folder, for the views
that read graded claims (the report's manager view, the dashboards' manager page)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd

from glassline.explain import CLAIM_COLUMNS, WARNING_COLUMNS

#: y's claims: x1 stated (rank 1), x2 hedged with a tie, x3 not stated (no clear effect)
CLAIMS = [
    ("y", "factors", "mlr", "x1", 1, 0.97, "increases", 1.0, "increasing", 3.1, 2.6, 3.5, "kPa", "stated"),
    ("y", "factors", "mlr", "x2", 2, 0.55, "decreases", 0.99, "decreasing", -1.9, -2.4, -1.3, "kPa", "hedged"),
    ("y", "factors", "mlr", "x3", 3, 0.9, "none", 0.6, "none", 0.1, -0.2, 0.4, "kPa", "not_stated"),
]
WARNINGS = [("y", "factors", "x2;x1", "tie", "x2 and x1 matter about equally (rank probability 0.55)")]


def study_folder(results: Path, root: Path) -> Path:
    """*root* as a study folder: a copy of *results* in ``results/`` and the claims above in ``explanations/``."""
    shutil.copytree(results, root / "results")
    explanations = root / "explanations"
    explanations.mkdir()
    pd.DataFrame(CLAIMS, columns=list(CLAIM_COLUMNS)).to_csv(explanations / "claims.csv", index=False)
    pd.DataFrame(WARNINGS, columns=list(WARNING_COLUMNS)).to_csv(explanations / "warnings.csv", index=False)
    return root
