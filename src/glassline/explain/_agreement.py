"""Do the methods and families agree on what matters? Kendall τ between rankings, beside the models' R².

For every target × scenario, each (method, family) pair gives a ranking of the inputs (the
``importance`` of importance.csv). Every two rankings are compared with Kendall's τ-b
(``scipy.stats.kendalltau``): 1 = same order, −1 = reversed. A pair is flagged ``disagree`` when τ <
:data:`DISAGREE_BELOW` or the top-ranked inputs differ; each row carries both models' test R² and
pooled CV R², so a disagreement can be traced to a poor model (the paper's MLR on ionic resistance).
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
from scipy.stats import kendalltau

__all__ = ["AGREEMENT_COLUMNS", "DISAGREE_BELOW", "agreement"]

#: τ below this flags a disagreement.
DISAGREE_BELOW = 0.5

AGREEMENT_COLUMNS: tuple[str, ...] = (
    "target",
    "scenario",
    "method_a",
    "family_a",
    "method_b",
    "family_b",
    "kendall_tau",
    "top_a",
    "top_b",
    "disagree",
    "r2_test_a",
    "r2_test_b",
    "cv_r2_a",
    "cv_r2_b",
    "weaker",
)


def agreement(importance: pd.DataFrame, results: pd.DataFrame) -> pd.DataFrame:
    """agreement.csv: every pair of (method, family) rankings of each target × scenario."""
    metrics = results.set_index(["target", "scenario", "family"])
    rows: list[dict[str, object]] = []
    for (target, scenario), block in importance.groupby(["target", "scenario"], sort=False):
        rankings = {
            (str(m), str(f)): part.set_index("feature")["importance"]
            for (m, f), part in block.groupby(["method", "family"], sort=False)
        }
        for (a, ra), (b, rb) in itertools.combinations(rankings.items(), 2):
            features = ra.index.intersection(rb.index)
            if len(features) < 2:
                continue
            x, y = ra[features].to_numpy(float), rb[features].to_numpy(float)
            tau = float(kendalltau(x, y).statistic) if np.ptp(x) > 0 and np.ptp(y) > 0 else float("nan")
            top_a, top_b = str(ra[features].idxmax()), str(rb[features].idxmax())
            ma = metrics.loc[(str(target), str(scenario), a[1])]  # type: ignore[index]
            mb = metrics.loc[(str(target), str(scenario), b[1])]  # type: ignore[index]
            disagree = bool((np.isfinite(tau) and tau < DISAGREE_BELOW) or top_a != top_b)
            weaker = ""
            if disagree and a[1] != b[1]:
                weaker = a[1] if float(ma["cv_r2_pooled"]) < float(mb["cv_r2_pooled"]) else b[1]
            rows.append(
                {
                    "target": target,
                    "scenario": scenario,
                    "method_a": a[0],
                    "family_a": a[1],
                    "method_b": b[0],
                    "family_b": b[1],
                    "kendall_tau": tau,
                    "top_a": top_a,
                    "top_b": top_b,
                    "disagree": disagree,
                    "r2_test_a": float(ma["r2_test"]),
                    "r2_test_b": float(mb["r2_test"]),
                    "cv_r2_a": float(ma["cv_r2_pooled"]),
                    "cv_r2_b": float(mb["cv_r2_pooled"]),
                    "weaker": weaker,
                }
            )
    return pd.DataFrame(rows, columns=list(AGREEMENT_COLUMNS))
