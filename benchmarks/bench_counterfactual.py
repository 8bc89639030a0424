"""Counterfactuals: glassline's optimiser against DiCE (dice-ml 0.12, regression with ``desired_range``).

The same 50 queries through both: five registered families (mlr, rsm, rf, xgb, svr, each built by
:func:`glassline.models.get_family` and fitted on 40 configurations of a smooth process with curvature and an
interaction) × 3 and 6 factors × 5 queries (4 reachable, at 30 / 50 / 70 / 90 % of the way from the row's
prediction to the highest the box allows, and 1 unreachable, above the box's highest prediction). The
requirement is a lower bound that the whole interval (prediction ± the 90 % quantile of the training
residuals) must meet; DiCE, which knows point predictions only, is asked for the same thing, a prediction ≥
bound + half-width, within the box (``permitted_range``). Its best of 4 counterfactuals that truly meets it
counts (DiCE rounds to the data's decimals; a rounded answer that misses is not counted).

Figures: the distance ratio DiCE / glassline (L1 in range units; ≥ 1 favours glassline; goal: glassline ≤
DiCE on every query), changed factors of each, glassline's time (goal: p95 ≤ 0.5 s for ≤ 4 factors, ≤ 5 s
for 6) and DiCE's; unreachable queries: glassline's certificate time against DiCE's time-out
(:data:`DICE_TIMEOUT` seconds, DiCE runs without end when a target cannot be reached). glassline predicts with
the service's predictor (:class:`glassline.shapley.ShapleyEngine` as :class:`glassline.serve.ServedModel`
builds it); DiCE with the pipeline's ``predict``, as its scikit-learn backend does; its time counts
``generate_counterfactuals`` only.

**DiCE is installed apart.** dice-ml declares ``xgboost`` and ``lightgbm`` as requirements: in the project's
venv pip would install the CUDA ``xgboost`` wheel (with a 351 MB ``nvidia-nccl-cu12``) over glassline's
``xgboost-cpu`` (same import name). Its scikit-learn backend needs neither, so this bench installs
``dice-ml`` and ``raiutils`` with ``--no-deps`` into ``benchmarks/.dice-ml/`` (git-ignored) and imports them
from there; numpy, pandas, scikit-learn, tqdm and jsonschema come from the project's venv.

Run alone: ``python benchmarks/bench_counterfactual.py`` (or ``python benchmarks/run.py counterfactual``).
"""

from __future__ import annotations

import math
import multiprocessing as mp
import subprocess
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from glassline.models import get_family
from glassline.optimize import Space, Surface, Target, counterfactual
from glassline.shapley import MAX_GRID_CELLS, ShapleyEngine, pipeline_predict

HERE = Path(__file__).resolve().parent
DICE_DIR = HERE / ".dice-ml"
DICE_REQUIREMENTS = ("dice-ml>=0.12,<0.13", "raiutils>=0.4,<0.5")
DICE_TIMEOUT = 20.0
FAMILIES = ("mlr", "rsm", "rf", "xgb", "svr")
SHARES = (0.3, 0.5, 0.7, 0.9)
CONFIGURATIONS = 40


def _dice_path() -> None:
    if not (DICE_DIR / "dice_ml").is_dir():
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--no-deps",
                "--target",
                str(DICE_DIR),
                *DICE_REQUIREMENTS,
            ],
            check=True,
        )
    if str(DICE_DIR) not in sys.path:
        sys.path.insert(0, str(DICE_DIR))


def _truth(X: np.ndarray) -> np.ndarray:
    """A smooth process: linear trends, curvature in the first two factors, one interaction."""
    k = X.shape[1]
    slopes = np.array([3.0, -1.5, 1.0, 0.8, -0.6, 0.5])[:k]
    y = 10.0 + X @ slopes - 2.5 * (X[:, 0] - 0.6) ** 2 - 1.5 * (X[:, 1] - 0.4) ** 2 + 1.2 * X[:, 0] * X[:, 2]
    return np.asarray(y, dtype=float)


@dataclass
class Query:
    family: str
    k: int
    reachable: bool
    row: dict[str, float]
    bound: float


@dataclass
class Outcome:
    query: Query
    ours_distance: float | None
    ours_changed: int | None
    ours_seconds: float
    ours_method: str
    proven: bool | None
    dice_distance: float | None
    dice_changed: int | None
    dice_seconds: float
    dice_status: str  # "found", "none valid", "timeout", "error: …"


def _models(k: int, seed: int) -> tuple[list[str], pd.DataFrame, dict[str, Any], dict[str, float]]:
    rng = np.random.default_rng(seed)
    names = [f"x{i + 1}" for i in range(k)]
    X = rng.uniform(0.0, 1.0, (CONFIGURATIONS, k))
    y = _truth(X) + rng.normal(0.0, 0.15, len(X))
    frame = pd.DataFrame(X, columns=names)
    fitted: dict[str, Any] = {}
    halves: dict[str, float] = {}
    for family in FAMILIES:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pipeline = get_family(family).make(seed).fit(frame, y)
        fitted[family] = pipeline
        residuals = np.abs(y - np.asarray(pipeline.predict(frame), dtype=float))
        halves[family] = float(np.quantile(residuals, 0.9))
    frame["y"] = y
    return names, frame, fitted, halves


def _l1(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a - b).sum())  # the box is [0, 1] per factor: range units


def _dice_worker(payload: dict[str, Any], queue: Any) -> None:
    try:
        _dice_path()
        import dice_ml

        frame = payload["frame"]
        names = payload["names"]
        data = dice_ml.Data(dataframe=frame, continuous_features=names, outcome_name="y")
        model = dice_ml.Model(model=payload["pipeline"], backend="sklearn", model_type="regressor")
        explainer = dice_ml.Dice(data, model, method="random")
        row = pd.DataFrame([payload["row"]], columns=names)
        start = time.perf_counter()
        try:
            result = explainer.generate_counterfactuals(
                row,
                total_CFs=4,
                desired_range=[payload["goal"], payload["ceiling"]],
                permitted_range={n: [0.0, 1.0] for n in names},
                random_seed=payload["seed"],
                verbose=False,
            )
        except Exception as exc:  # DiCE's own "no counterfactuals found": its time counts
            queue.put(("error", f"{type(exc).__name__}: {exc}", time.perf_counter() - start))
            return
        seconds = time.perf_counter() - start
        cfs = result.cf_examples_list[0].final_cfs_df
        rows = [] if cfs is None else cfs[names].to_numpy(dtype=float).tolist()
        queue.put(("ok", rows, seconds))
    except Exception as exc:  # report DiCE's own failure as the query's status
        queue.put(("error", f"{type(exc).__name__}: {exc}", 0.0))


def _dice(payload: dict[str, Any]) -> tuple[str, list[list[float]], float]:
    context = mp.get_context("fork")
    queue = context.Queue()
    process = context.Process(target=_dice_worker, args=(payload, queue))
    start = time.perf_counter()
    process.start()
    process.join(DICE_TIMEOUT)
    if process.is_alive():
        process.kill()
        process.join()
        return "timeout", [], time.perf_counter() - start
    if queue.empty():
        return "error: no answer", [], time.perf_counter() - start
    status, rows, seconds = queue.get()
    if status == "error":
        text = str(rows)
        if "No counterfactuals found" in text:
            return "raised: no counterfactuals found", [], seconds
        return f"error: {text[:80]}", [], seconds
    return "ok", rows, seconds


def _queries() -> list[tuple[Query, list[str], pd.DataFrame, Any, float]]:
    out = []
    for k, seed in ((3, 3), (6, 6)):
        names, frame, fitted, halves = _models(k, seed)
        rng = np.random.default_rng(100 + k)
        sample = rng.uniform(0.0, 1.0, (20_000, k))
        for family in FAMILIES:
            predict = pipeline_predict(fitted[family], names)
            top = float(np.max(predict(sample)))
            h = halves[family]
            for q in range(5):
                row = rng.uniform(0.15, 0.45, k)
                p0 = float(predict(row[None, :])[0])
                if q < 4:
                    bound = p0 + h + SHARES[q] * max(top - h - (p0 + h), 0.05)
                    bound = min(bound, top - h - 1e-3)
                    reachable = True
                else:
                    bound = top + 1.0  # above the box's highest prediction: unreachable with any interval
                    reachable = False
                query = Query(family, k, reachable, dict(zip(names, row.tolist(), strict=True)), float(bound))
                out.append((query, names, frame, fitted[family], h))
    return out


def measure() -> list[Outcome]:
    _dice_path()
    outcomes = []
    for query, names, frame, pipeline, h in _queries():
        space = Space(tuple(names), (0.0,) * len(names), (1.0,) * len(names))
        # the service's own predictor (as ServedModel builds it): the verified fast predictor or tree table
        engine = ShapleyEngine(pipeline, frame[names], inputs=names, table_cells=MAX_GRID_CELLS)
        surface = Surface(
            "y",
            tuple(names),
            engine.predict,
            half_width=h,
            estimator=pipeline,
            reference=frame[names].to_numpy(dtype=float),
        )
        start = time.perf_counter()
        answer = counterfactual(query.row, [Target(surface, low=query.bound)], space)
        ours_seconds = time.perf_counter() - start
        x0 = np.array([query.row[n] for n in names])
        status, rows, dice_seconds = _dice(
            {
                "frame": frame[[*names, "y"]],
                "names": names,
                "pipeline": pipeline,
                "row": query.row,
                "goal": query.bound + h,
                "ceiling": query.bound + h + 1e6,
                "seed": 0,
            }
        )
        best: tuple[float, int] | None = None
        if status == "ok":
            X = np.asarray(rows, dtype=float).reshape(-1, len(names))
            valid = (surface.values(X) - h >= query.bound) & np.all((X >= 0) & (X <= 1), axis=1) if len(X) else []
            for x, ok in zip(X, valid, strict=True):
                if ok:
                    d = _l1(x, x0)
                    n = int(np.sum(np.abs(x - x0) > 1e-12))
                    if best is None or d < best[0]:
                        best = (d, n)
            status = "found" if best is not None else "none valid"
        outcomes.append(
            Outcome(
                query,
                answer.distance,
                answer.n_changed,
                ours_seconds,
                answer.method,
                answer.proven,
                best[0] if best else None,
                best[1] if best else None,
                dice_seconds,
                status,
            )
        )
    return outcomes


def _p95(values: list[float]) -> float:
    return float(np.quantile(values, 0.95)) if values else math.nan


def section(outcomes: list[Outcome]) -> str:
    lines = [
        "## Counterfactuals: glassline vs DiCE (dice-ml 0.12)",
        "",
        "50 queries: 5 families × 3 and 6 factors × (4 reachable + 1 unreachable); requirement: the whole "
        "interval above a bound; DiCE asked for the prediction above bound + half-width in the box, best of 4 "
        "counterfactuals that truly meet it. Ratio = DiCE's L1 distance / glassline's (range units; ≥ 1 "
        "favours glassline).",
        "",
        "| family | factors | reachable: glassline found | DiCE found | ratio min | ratio median | "
        "glassline ≤ DiCE | changed (glassline / DiCE, median) | glassline p95 s | DiCE median s |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for family in FAMILIES:
        for k in (3, 6):
            rows = [o for o in outcomes if o.query.family == family and o.query.k == k and o.query.reachable]
            found = [o for o in rows if o.ours_distance is not None]
            dice = [o for o in rows if o.dice_distance is not None]
            both = [o for o in rows if o.ours_distance is not None and o.dice_distance is not None]
            ratios = [o.dice_distance / o.ours_distance if o.ours_distance else math.inf for o in both]  # type: ignore[operator]
            better = sum(o.ours_distance <= o.dice_distance + 1e-9 for o in both)  # type: ignore[operator]
            ours_n = np.median([o.ours_changed for o in found]) if found else math.nan
            dice_n = np.median([o.dice_changed for o in dice]) if dice else math.nan
            lines.append(
                f"| {family} | {k} | {len(found)}/{len(rows)} | {len(dice)}/{len(rows)} | "
                f"{min(ratios) if ratios else math.nan:.2f} | {np.median(ratios) if ratios else math.nan:.2f} | "
                f"{better}/{len(both)} | {ours_n:g} / {dice_n:g} | "
                f"{_p95([o.ours_seconds for o in rows]):.3f} | "
                f"{np.median([o.dice_seconds for o in rows]):.2f} |"
            )
    everything = [
        o for o in outcomes if o.query.reachable and o.ours_distance is not None and o.dice_distance is not None
    ]
    worse = [o for o in everything if o.ours_distance > o.dice_distance + 1e-9]  # type: ignore[operator]
    small = [o.ours_seconds for o in outcomes if o.query.k <= 4]
    large = [o.ours_seconds for o in outcomes if o.query.k == 6]
    lines += [
        "",
        f"Over all reachable queries both answered: glassline ≤ DiCE on {len(everything) - len(worse)} of "
        f"{len(everything)}"
        + (
            "; farther on: " + ", ".join(f"{o.query.family}/{o.query.k} ({o.ours_method})" for o in worse)
            if worse
            else ""
        )
        + f". glassline time p95: {_p95(small):.3f} s with 3 factors (goal ≤ 0.5 s), {_p95(large):.3f} s with 6 "
        "(goal ≤ 5 s).",
        "",
        "| unreachable | glassline: certificate | proven | glassline s | DiCE | DiCE s |",
        "|---|---|---|---|---|---|",
    ]
    for o in outcomes:
        if o.query.reachable:
            continue
        lines.append(
            f"| {o.query.family}, {o.query.k} factors | {'yes' if o.ours_distance is None else 'no'} "
            f"({o.ours_method}) | {o.proven} | {o.ours_seconds:.3f} | {o.dice_status} | {o.dice_seconds:.1f} |"
        )
    return "\n".join(lines) + "\n"


def run() -> str:
    return section(measure())


if __name__ == "__main__":
    print(run())
