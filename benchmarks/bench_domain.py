"""The validity domain's distance check: glassline's calibrated nearest-row distance against two Mahalanobis peers.

Peers, measured in the same run on the same designs: the Mahalanobis distance in standardized inputs with
the threshold glassline used before (the largest training-row distance × 1.25), and the same distance with
glassline's calibration (leave-one-configuration-out split conformal at the same level α).

Cases: 5- and 6-factor studies (factors on different ranges and units), a space-filling (Latin hypercube)
and a D-optimal design from :mod:`glassline.design` per seed, every configuration with x1 + x2 > 1
(range-scaled) removed, so the box holds a region no configuration reached; two identical replicate rows
per configuration. Figures (means over the seeds):

- *held-out*: each configuration held out in turn, the domain built on the others; the fraction of held-out
  rows flagged by the distance (the stated level bounds it), and apart from it those outside the others' box
  (a measured input beyond the study's range);
- *empty region*: the box point x1 = x2 = high, every other input mid-range, flagged;
- *grid*: the fraction of a regular grid over the box that is flagged; *corners*: of the box's corners;
  *training rows*: of the rows the domain was built on. These three count the whole verdict (box or distance).

Run alone: ``python benchmarks/bench_domain.py [RESULTS_DIR TARGET SCENARIO FAMILY]`` prints the Markdown
section; with a results folder it adds the same figures for that fitted model (21-point grid per input).
"""

from __future__ import annotations

import itertools
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from glassline.design import latin_hypercube, optimal_design
from glassline.registry import ValidityDomain
from glassline.spec import Study, study_from_dict

ALPHA = 0.1
SEEDS = 10
CASES: tuple[tuple[str, int, int], ...] = (("LHS", 5, 40), ("LHS", 6, 48), ("D-optimal", 5, 30), ("D-optimal", 6, 40))
#: low, high and unit of the factors (cycled): different units and widths, so range scaling matters.
FACTORS: tuple[tuple[float, float, str], ...] = (
    (8.2, 11.2, "mg/cm²"),
    (50.0, 65.0, "°C"),
    (25.0, 40.0, "%"),
    (0.5, 3.0, "m/min"),
    (100.0, 400.0, "µm"),
    (0.0, 1.0, ""),
)

#: rows (n, p) → (outside the box, too far by the distance), each (n,) bool
Flagger = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


def study_of(k: int) -> Study:
    factors = [
        {"name": f"x{i + 1}", "low": lo, "high": hi, "unit": unit}
        for i, (lo, hi, unit) in zip(range(k), itertools.cycle(FACTORS), strict=False)
    ]
    return study_from_dict(
        {
            "name": f"{k}-factor domain study",
            "seed": 1,
            "factors": factors,
            "responses": [{"name": "y"}],
            "scenarios": {"factors": [f["name"] for f in factors]},
            "data": {"group": "configuration"},
        }
    )


def design_rows(study: Study, kind: str, runs: int, seed: int) -> np.ndarray:
    """The design's settings (real units), without the configurations in the empty region x1 + x2 > 1."""
    if kind == "LHS":
        design = latin_hypercube(study, runs, seed=seed)
    else:
        design = optimal_design(study, runs, criterion="d", seed=seed, n_starts=4)
    names = [f.name for f in study.factors]
    points = design.real.loc[:, names].to_numpy(dtype=float)
    unit = _unit(study, points)
    return np.unique(points[unit[:, 0] + unit[:, 1] <= 1.0], axis=0)


def _unit(study: Study, points: np.ndarray) -> np.ndarray:
    low = np.array([f.low for f in study.factors], dtype=float)
    high = np.array([f.high for f in study.factors], dtype=float)
    return (points - low) / (high - low)


def glassline_flagger(study: Study, X: pd.DataFrame, groups: np.ndarray, alpha: float) -> Flagger:
    domain = ValidityDomain.from_training(study, X, groups=list(groups), level=alpha)

    def flag(Q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        verdicts = domain.check(Q)
        box = np.array([any(v.kind != "distance" for v in verdict.violations) for verdict in verdicts])
        far = np.array([any(v.kind == "distance" for v in verdict.violations) for verdict in verdicts])
        return box, far

    return flag


def _mahalanobis(X: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    center, scale = X.mean(axis=0), X.std(axis=0)
    scale[~(scale > 0)] = 1.0
    z = (X - center) / scale
    covariance = np.atleast_2d(np.cov(z, rowvar=False))
    precision = np.linalg.pinv(covariance + 1e-9 * np.eye(covariance.shape[0]))

    def distance(Q: np.ndarray) -> np.ndarray:
        q = (Q - center) / scale
        return np.asarray(np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", q, precision, q), 0.0)))

    return distance


def old_rule_flagger(study: Study, X: pd.DataFrame, groups: np.ndarray, alpha: float) -> Flagger:
    values = X.to_numpy(dtype=float)
    distance = _mahalanobis(values)
    threshold = float(distance(values).max()) * 1.25
    box = _box(study, values)
    return lambda Q: (_outside_box(Q, box), distance(Q) > threshold)


def calibrated_mahalanobis_flagger(study: Study, X: pd.DataFrame, groups: np.ndarray, alpha: float) -> Flagger:
    values = X.to_numpy(dtype=float)
    labels = np.unique(groups)
    scores = []
    for label in labels:
        held = groups == label
        scores.append(float(np.median(_mahalanobis(values[~held])(values[held]))))
    n = len(scores)
    k = min(n, math.ceil((n + 1) * (1 - alpha) - 1e-9))
    threshold = sorted(scores)[k - 1]
    distance = _mahalanobis(values)
    box = _box(study, values)
    return lambda Q: (_outside_box(Q, box), distance(Q) > threshold)


def _box(study: Study, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    low = np.minimum([f.low for f in study.factors], values.min(axis=0))
    high = np.maximum([f.high for f in study.factors], values.max(axis=0))
    return low, high


def _outside_box(Q: np.ndarray, box: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    return np.asarray(((box[0] > Q) | (box[1] < Q)).any(axis=1))


METHODS: dict[str, Callable[[Study, pd.DataFrame, np.ndarray, float], Flagger]] = {
    "glassline: nearest row, calibrated": glassline_flagger,
    "peer: Mahalanobis, calibrated": calibrated_mahalanobis_flagger,
    "peer: Mahalanobis, max × 1.25 (before)": old_rule_flagger,
}


@dataclass
class Figures:
    """Means over seeds: held-out rows too far (distance) and outside the box (range), then the whole verdict."""

    held_out: list[float]
    held_out_box: list[float]
    empty: list[float]
    grid: list[float]
    corners: list[float]
    training: list[float]

    def add(self, figures: tuple[float, float, float | None, float, float, float]) -> None:
        for name, value in zip(
            ("held_out", "held_out_box", "empty", "grid", "corners", "training"), figures, strict=True
        ):
            if value is not None:
                getattr(self, name).append(value)

    def row(self) -> str:
        def mean(values: list[float]) -> str:
            return f"{np.mean(values):.3f}" if values else "–"

        return " | ".join(
            mean(v) for v in (self.held_out, self.held_out_box, self.empty, self.grid, self.corners, self.training)
        )


def measure(
    study: Study, X: pd.DataFrame, groups: np.ndarray, method: str, grid_points: int, empty: np.ndarray | None
) -> tuple[float, float, float | None, float, float, float]:
    make = METHODS[method]
    values = X.to_numpy(dtype=float)
    far_out, box_out = [], []
    for label in np.unique(groups):
        held = groups == label
        box, far = make(study, X[~held], groups[~held], ALPHA)(values[held])
        far_out.append(float(far.mean()))
        box_out.append(float(box.mean()))
    flag = make(study, X, groups, ALPHA)

    def outside(Q: np.ndarray) -> float:
        box, far = flag(Q)
        return float((box | far).mean())

    low, high = _box(study, values)
    grid = np.array(list(itertools.product(*(np.linspace(a, b, grid_points) for a, b in zip(low, high, strict=True)))))
    corners = np.array(list(itertools.product(*zip(low, high, strict=True))))
    return (
        float(np.mean(far_out)),
        float(np.mean(box_out)),
        None if empty is None else outside(empty),
        outside(grid),
        outside(corners),
        outside(values),
    )


def synthetic_case(kind: str, k: int, runs: int, method: str) -> Figures:
    study = study_of(k)
    figures = Figures([], [], [], [], [], [])
    for seed in range(SEEDS):
        points = design_rows(study, kind, runs, seed)
        rows = np.repeat(points, 2, axis=0)
        groups = np.repeat(np.arange(len(points)), 2)
        X = pd.DataFrame(rows, columns=[f.name for f in study.factors])
        low = np.array([f.low for f in study.factors])
        high = np.array([f.high for f in study.factors])
        empty = ((low + high) / 2)[None, :]
        empty[0, :2] = high[:2]
        figures.add(measure(study, X, groups, method, 6 if k == 5 else 5, empty))
    return figures


def fitted_case(results_dir: str, target: str, scenario: str, family: str, method: str) -> Figures:
    from glassline.models import load_fits, resolve_study

    fit = load_fits(results_dir)[(target, scenario, family)]
    study = resolve_study(results_dir, None).study
    X = fit.X_train.loc[:, list(fit.inputs)]
    table = pd.read_parquet(f"{results_dir}/predictions.parquet")
    mine = table[
        (table["target"] == target) & (table["scenario"] == scenario) & (table["split"] == "train")
    ].drop_duplicates("row_id")
    groups = mine.set_index("row_id")["group"].reindex(X.index).to_numpy()
    by_name = {f.name: f for f in study.factors}
    factors = [by_name[c] for c in X.columns]  # the fitted case needs every input to be a factor
    sub = study.model_copy(update={"factors": factors})
    figures = Figures([], [], [], [], [], [])
    figures.add(measure(sub, X, groups, method, 21, None))
    return figures


def run(argv: list[str] | None = None) -> str:
    argv = list(argv or [])
    started = time.perf_counter()
    lines = [
        "## Validity domain: distance check",
        "",
        f"Level α = {ALPHA}; {SEEDS} seeded designs per case; x1 + x2 > 1 (range-scaled) left empty.",
        "",
        "| case | method | held-out too far | held-out outside the box | empty region flagged | grid flagged | "
        "corners flagged | training rows flagged |",
        "|---|---|--:|--:|--:|--:|--:|--:|",
    ]
    for kind, k, runs in CASES:
        for method in METHODS:
            lines.append(
                f"| {kind}, {k} factors, {runs} runs | {method} | {synthetic_case(kind, k, runs, method).row()} |"
            )
    if len(argv) >= 4:
        for method in METHODS:
            lines.append(f"| {argv[1]} / {argv[2]} / {argv[3]} | {method} | {fitted_case(*argv[:4], method).row()} |")
    lines += ["", f"Measured in {time.perf_counter() - started:.0f} s."]
    return "\n".join(lines)


if __name__ == "__main__":
    print(run(sys.argv[1:]))
