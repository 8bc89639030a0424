"""Benchmark: glassline's RandomForest (scikit-learn's trees, built without the per-tree parameter introspection)
against scikit-learn's RandomForestRegressor, on designed-experiment sizes.

For each size: the same forests (same seeds, same parameters, ``n_jobs=1``) fitted by both, best of 3 repeats
of a batch of fits; the predictions must be equal (checked here, and in ``tests/models/test_forest.py``).
Ratio = scikit-learn time / glassline time (> 1: glassline faster).
"""

from __future__ import annotations

import time

import numpy as np
from sklearn.ensemble import RandomForestRegressor

from glassline.models._forest import RandomForest

SIZES = ((17, 3, 50), (40, 3, 50), (90, 6, 50), (1000, 6, 100))
FITS = 20


def _time(cls: type, X: np.ndarray, y: np.ndarray, trees: int) -> tuple[float, np.ndarray]:
    best = np.inf
    last = np.empty(0)
    for _ in range(3):
        start = time.perf_counter()
        for seed in range(FITS):
            model = cls(n_estimators=trees, min_samples_leaf=2, random_state=seed, n_jobs=1).fit(X, y)
        best = min(best, (time.perf_counter() - start) / FITS)
        last = model.predict(X)
    return best, last


def run() -> str:
    rng = np.random.default_rng(0)
    lines = [
        "## Random forest: glassline's tree construction vs scikit-learn's RandomForestRegressor",
        "",
        __doc__.split("\n\n")[1].replace("\n", " "),
        "",
        "| rows × inputs | trees | scikit-learn ms per fit | glassline ms per fit | ratio | same predictions |",
        "|---|--:|--:|--:|--:|---|",
    ]
    for rows, inputs, trees in SIZES:
        X = rng.uniform(size=(rows, inputs))
        y = X @ rng.normal(size=inputs) + rng.normal(scale=0.1, size=rows)
        theirs, p_theirs = _time(RandomForestRegressor, X, y, trees)
        ours, p_ours = _time(RandomForest, X, y, trees)
        same = "yes" if np.array_equal(p_theirs, p_ours) else "NO"
        lines.append(
            f"| {rows} × {inputs} | {trees} | {1000 * theirs:.1f} | {1000 * ours:.1f} | {theirs / ours:.2f} | {same} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    print(run())
