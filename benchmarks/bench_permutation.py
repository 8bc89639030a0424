"""Permutation importance: glassline's one-call version against scikit-learn's ``permutation_importance``.

Both compute the same draws (the test checks equality): each input's column shuffled *n_repeats* times on
the held-out rows and the drop of R². scikit-learn predicts once per repeat and column; glassline stacks
every permuted copy and predicts once, so a forest or a booster pays its per-call overhead once. Case: the
explain stage's use, every model family fitted on 48 rows of 3 inputs, 6 held-out rows, 20 repeats (the
stage's setting); CPU seconds per call (median of 5 calls after one warm-up), ratio = scikit-learn / glassline.

Run alone: ``python benchmarks/bench_permutation.py``.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import numpy as np
import pandas as pd
from sklearn.inspection import permutation_importance

from glassline.explain._importance import permutation_draws
from glassline.models import FAMILIES

REPEATS = 20
CALLS = 5


def _cpu(call: Callable[[], object]) -> float:
    call()
    times = []
    for _ in range(CALLS):
        start = time.process_time()
        call()
        times.append(time.process_time() - start)
    return statistics.median(times)


def run() -> str:
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.uniform(-1, 1, size=(54, 3)), columns=["a", "b", "c"])
    y = 2 * X["a"] - X["b"] ** 2 + 0.3 * X["c"] + 0.1 * rng.normal(size=54)
    train, test = slice(0, 48), slice(48, 54)
    lines = [
        "## Permutation importance: one stacked prediction against scikit-learn's per-repeat calls",
        "",
        "Every family fitted on 48 rows × 3 inputs, 6 held-out rows, 20 repeats (the explain stage's setting); "
        "CPU ms per call, median of 5. Same draws in both (checked below to 1e-10).",
        "",
        "| family | scikit-learn ms | glassline ms | ratio |",
        "|---|---|---|---|",
    ]
    ratios = []
    for name, family in FAMILIES.items():
        model = family.make(0).fit(X.iloc[train], y.iloc[train])
        Xt, yt = X.iloc[test], y.iloc[test].to_numpy()
        peer = permutation_importance(model, Xt, yt, n_repeats=REPEATS, random_state=0, scoring="r2")
        _, ours = permutation_draws(model, Xt, yt, n_repeats=REPEATS, seed=0)
        if not np.allclose(ours, peer.importances, rtol=1e-10, atol=1e-10):
            raise AssertionError(f"{name}: glassline's permutation draws differ from scikit-learn's")
        t_peer = _cpu(
            lambda m=model, a=Xt, b=yt: permutation_importance(m, a, b, n_repeats=REPEATS, random_state=0, scoring="r2")
        )
        t_ours = _cpu(lambda m=model, a=Xt, b=yt: permutation_draws(m, a, b, n_repeats=REPEATS, seed=0))
        ratios.append(t_peer / t_ours)
        lines.append(f"| {name} | {1000 * t_peer:.1f} | {1000 * t_ours:.1f} | {t_peer / t_ours:.1f}× |")
    lines += ["", f"Median ratio over the families: {statistics.median(ratios):.1f}×."]
    return "\n".join(lines)


if __name__ == "__main__":
    print(run())
