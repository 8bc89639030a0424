"""Benchmark: exact interventional SHAP (issue 6, "Performance"), glassline against shap in the same run.

For svr and poly2 with 3, 5 and 8 inputs, 200 synthetic training rows (all of them the background),
rows/s of :func:`glassline.explain.shap_values` (on :class:`glassline.shapley.ShapleyEngine`) against
``shap.ExactExplainer`` with ``shap.maskers.Independent(background, max_samples=len(background))`` on the
same fitted pipeline, and the largest absolute difference of the values. Goal: ≥ 10× at ≤ 1e-8. For svr
the plain batched enumeration (:func:`glassline.shapley.enumerate_values`) is timed as well, to show what
the RBF product structure adds.

Also: a 10,000-row SVR (background: a seeded random sample of 100 training rows, stated in the
table), and mlr, rf and xgb against their shap peers (LinearExplainer with the raw-unit coefficients
for mlr, TreeExplainer interventional for the trees, both on the same background), on 200 continuous
rows and on two designed experiments (where glassline tabulates the trees).

Run alone: ``.venv/bin/python benchmarks/bench_shap.py``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import shap

from glassline.explain import shap_values
from glassline.models import FAMILIES
from glassline.shapley import analyse, enumerate_values, shapley_from_coalitions

GOAL_RATIO = 10.0
GOAL_DIFF = 1e-8


def _data(n_rows: int, n_inputs: int, seed: int, noise: float = 0.05) -> tuple[pd.DataFrame, pd.Series]:
    """Inputs of mixed scales and a response with main effects, curvature and one interaction."""
    rng = np.random.default_rng(seed)
    scales = np.array([1.0, 10.0, 100.0, 0.1, 5.0, 2.0, 50.0, 0.5])[:n_inputs]
    X = pd.DataFrame(
        rng.uniform(-1, 1, size=(n_rows, n_inputs)) * scales + 3 * scales, columns=[f"x{j}" for j in range(n_inputs)]
    )
    z = (X / scales).to_numpy()
    y = 2 * z[:, 0] + np.sin(3 * z[:, 1]) + z[:, 0] * z[:, 2] + 0.5 * z[:, 1:].sum(axis=1) ** 2
    return X, pd.Series(y + noise * rng.normal(size=n_rows), name="y")


def _timed(call: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    out = call()
    return out, time.perf_counter() - start


def _shap_exact(pipeline: Any, X: pd.DataFrame, background: pd.DataFrame) -> np.ndarray:
    columns = list(X.columns)

    def predict(rows: np.ndarray) -> np.ndarray:
        return np.asarray(pipeline.predict(pd.DataFrame(rows, columns=columns)))

    masker = shap.maskers.Independent(background.to_numpy(), max_samples=len(background))
    return np.asarray(shap.ExactExplainer(predict, masker)(X.to_numpy(), silent=True).values)


def _enumeration(pipeline: Any, X: pd.DataFrame, background: pd.DataFrame) -> np.ndarray:
    columns = list(X.columns)

    def predict(rows: np.ndarray) -> np.ndarray:
        return np.asarray(pipeline.predict(pd.DataFrame(rows, columns=columns)), dtype=float)

    x, b = X.to_numpy(float), background.to_numpy(float)
    values = enumerate_values(predict, x, b, f_x=predict(x), f_background_mean=float(predict(b).mean()))
    return shapley_from_coalitions(values, x.shape[1])


def _row(
    label: str, ours: tuple[Any, float, int], peer: tuple[np.ndarray, float, int], peer_name: str, extra: str = ""
) -> tuple[str, bool]:
    (explanation, t_ours, n_ours), (peer_values, t_peer, n_peer) = ours, peer
    rate_ours, rate_peer = n_ours / t_ours, n_peer / t_peer
    diff = float(np.abs(explanation.values[:n_peer] - peer_values).max())
    ratio = rate_ours / rate_peer
    line = (
        f"| {label} | {explanation.settings.algorithm} | {explanation.settings.background_size} "
        f"| {rate_ours:,.0f} | {peer_name} | {rate_peer:,.1f} | **{ratio:,.0f}×** | {diff:.1e} | {extra} |"
    )
    return line, ratio >= GOAL_RATIO and diff <= GOAL_DIFF


def _exact_cases(lines: list[str]) -> bool:
    met = True
    for n_inputs in (3, 5, 8):
        X, y = _data(200, n_inputs, seed=n_inputs)
        n_peer = 40 if n_inputs < 8 else 8
        for family in ("svr", "poly2"):
            pipeline = FAMILIES[family].make(0).fit(X, y)
            rows = X.iloc[:200]
            ours = _timed(lambda p=pipeline, r=rows, b=X: shap_values(p, r, b))
            peer = _timed(lambda p=pipeline, r=X.iloc[:n_peer], b=X: _shap_exact(p, r, b))
            extra = ""
            if family == "svr":
                enum, t_enum = _timed(lambda p=pipeline, r=X.iloc[:n_peer], b=X: _enumeration(p, r, b))
                extra = (
                    f"enumeration {n_peer / t_enum:,.0f} rows/s, Δ {np.abs(enum - ours[0].values[:n_peer]).max():.0e}"
                )
            line, ok = _row(
                f"{family}, {n_inputs} inputs, 200 rows",
                (ours[0], ours[1], len(rows)),
                (peer[0], peer[1], n_peer),
                "ExactExplainer",
                extra,
            )
            lines.append(line)
            met &= ok
    return met


def _large_svr(lines: list[str]) -> None:
    n_inputs = 5
    X, y = _data(10_000, n_inputs, seed=11, noise=1.0)  # noisy: most rows become support vectors
    pipeline = FAMILIES["svr"].make(0).fit(X, y)
    background = X.sample(100, random_state=0)
    n_support = len(analyse(pipeline).core.support_)  # type: ignore[union-attr]
    ours = _timed(lambda: shap_values(pipeline, X.iloc[:50], background))
    peer = _timed(lambda: _shap_exact(pipeline, X.iloc[:5], background))
    enum = _enumeration(pipeline, X.iloc[:5], background)
    line, _ = _row(
        "svr, 5 inputs, 10,000 rows",
        (ours[0], ours[1], 50),
        (peer[0], peer[1], 5),
        "ExactExplainer",
        f"background: seeded sample of 100 training rows; {n_support:,} support vectors; "
        f"Δ vs batched enumeration {np.abs(enum - ours[0].values[:5]).max():.0e}",
    )
    lines.append(line)


def _other_families(lines: list[str]) -> None:
    for n_inputs in (3, 5, 8):
        X, y = _data(200, n_inputs, seed=20 + n_inputs)
        for family in ("mlr", "rf", "xgb"):
            if family == "mlr" and n_inputs == 8:
                continue
            pipeline = FAMILIES[family].make(0).fit(X, y)
            explanation, t_ours = _timed(
                lambda p=pipeline, f=family, b=X: shap_values(p, b, b, kind=FAMILIES[f].explainer)
            )
            structure = analyse(pipeline)
            assert structure is not None
            Z = structure.scaler()(X.to_numpy(float))
            exact = _shap_exact(pipeline, X.iloc[:5], X)
            if family == "mlr":
                slope = np.asarray(structure.core.coef_) / structure.scalers[0].scale_
                masker = shap.maskers.Independent(X.to_numpy(), max_samples=len(X))
                explainer = shap.LinearExplainer((slope, 0.0), masker)
                peer, t_peer = _timed(lambda e=explainer, b=X: np.asarray(e(b.to_numpy()).values))
                name = "LinearExplainer"
            else:

                def tree(s: Any = structure, z: np.ndarray = Z) -> np.ndarray:
                    e = shap.TreeExplainer(s.core, data=z, feature_perturbation="interventional")
                    return np.asarray(e.shap_values(z, check_additivity=False))

                peer, t_peer = _timed(tree)
                name = "TreeExplainer interventional (one call)"
            rate_ours, rate_peer = len(X) / t_ours, len(X) / t_peer
            lines.append(
                f"| {family}, {n_inputs} inputs, 200 rows | {explanation.settings.algorithm} | 200 | {rate_ours:,.0f} "
                f"| {name} | {rate_peer:,.0f} | **{rate_ours / rate_peer:,.1f}×** "
                f"| {np.abs(explanation.values[:5] - exact).max():.1e} vs ExactExplainer "
                f"| peer Δ vs ExactExplainer {np.abs(peer[:5] - exact).max():.1e} |"
            )


def _designed_trees(lines: list[str]) -> None:
    """Trees fitted to designed experiments: configurations × replicates, each factor on a few levels."""
    cases = ((3, 17, 3, None), (5, 30, 2, 3))  # inputs, configurations, replicates, levels (None: continuous)
    for n_inputs, n_config, n_rep, levels in cases:
        rng = np.random.default_rng(40 + n_inputs)
        scales = np.array([1.0, 10.0, 100.0, 0.1, 5.0])[:n_inputs]
        z = (
            rng.uniform(-1, 1, size=(n_config, n_inputs))
            if levels is None
            else rng.choice(np.linspace(-1, 1, levels), size=(n_config, n_inputs))
        )
        z = np.repeat(z, n_rep, axis=0)
        X = pd.DataFrame(z * scales + 3 * scales, columns=[f"x{j}" for j in range(n_inputs)])
        y = pd.Series(2 * z[:, 0] + np.sin(3 * z[:, 1]) + z[:, 0] * z[:, 2] + 0.1 * rng.normal(size=len(z)))
        design = f"{n_config} configurations × {n_rep}" + ("" if levels is None else f", {levels} levels")
        for family in ("rf", "xgb"):
            pipeline = FAMILIES[family].make(0).fit(X, y)
            explanation, t_ours = _timed(lambda p=pipeline, b=X: shap_values(p, b, b, kind="tree"))
            structure = analyse(pipeline)
            assert structure is not None
            Z = structure.scaler()(X.to_numpy(float))

            def tree(s: Any = structure, zz: np.ndarray = Z) -> np.ndarray:
                e = shap.TreeExplainer(s.core, data=zz, feature_perturbation="interventional")
                return np.asarray(e.shap_values(zz, check_additivity=False))

            peer, t_peer = _timed(tree)
            exact = _shap_exact(pipeline, X, X)
            rate_ours, rate_peer = len(X) / t_ours, len(X) / t_peer
            lines.append(
                f"| {family}, {n_inputs} inputs, {design} | {explanation.settings.algorithm} | {len(X)} "
                f"| {rate_ours:,.0f} | TreeExplainer interventional (one call) | {rate_peer:,.0f} "
                f"| **{rate_ours / rate_peer:,.1f}×** "
                f"| {np.abs(explanation.values - exact).max():.1e} vs ExactExplainer "
                f"| peer Δ vs ExactExplainer {np.abs(peer - exact).max():.1e} |"
            )


def run() -> str:
    lines = [
        "## Exact SHAP (issue 6)",
        "",
        "Interventional SHAP values, background = all 200 training rows unless stated; rows/s including the "
        "explainer's set-up; Δ = largest |glassline − peer| over the rows both explained.",
        "",
        "| case | glassline algorithm | background | glassline rows/s | peer | peer rows/s | ratio | max abs Δ "
        "| note |",
        "|---|---|--:|--:|---|--:|--:|--:|---|",
    ]
    met = _exact_cases(lines)
    _large_svr(lines)
    _other_families(lines)
    _designed_trees(lines)
    lines += [
        "",
        f"Goal (svr and poly2, 3/5/8 inputs): ≥ {GOAL_RATIO:.0f}× at Δ ≤ {GOAL_DIFF:g}: "
        f"**{'met' if met else 'NOT met'}**.",
        "Where Δ against ExactExplainer exceeds 1e-8 on the 10,000-row SVR, shap is the approximate side: "
        "its Independent masker treats a background value within np.isclose (rtol 1e-5) of the row's value "
        "as equal and reuses the unmasked output; glassline matches plain batched enumeration (note column).",
        "Trees: shap 0.51's interventional TreeExplainer, called once with all 200 background rows, returns "
        "wrong attributions (their sum stays right; see the peer Δ column): it is correct only for ≤ 100 "
        "background rows, so glassline passes the background in blocks of ≤ 100 and averages, and spot-checks "
        "the first row against enumeration. TreeSHAP keeps its path weights in float32 (≈ 1e-7 relative); "
        "glassline's enumeration, chosen while 2^M − 2 ≤ max(6, 0.25·depth²), is exact to float64 rounding. "
        "Trees and mlr have no ≥ 10× goal; the mlr peer is LinearExplainer with the raw-unit coefficients.",
        "Trees on designed experiments (the last rows; every row explained against every row): their split "
        "thresholds span a small grid, so glassline tabulates the ensemble once (one prediction per cell, "
        "checked against the model's predict) and every coalition value is a mean of table lookups: exact, "
        "and no model call per row. With 200 continuous rows (the rows above) the grid is larger than "
        "enumeration and is not built.",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(run())
