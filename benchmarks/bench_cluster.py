"""Scale-out on Dask (issue 19): the model grid with bootstrap on 1 and 2 Dask workers against the local process
pool, and production inline logs through the pandas and the dask.dataframe paths of ``prepare``.

Part 1 (scaling): a task is one bootstrap refit of a model family on the synthetic 17-configuration study
(configurations resampled, 51 rows; the families mlr, svr, rf and xgb in turn, as the explain stage refits
them), scored out of bag; 10² and 10³ tasks (``BENCH_CLUSTER_TASKS=100,1000,10000`` for more). Each size
runs, in the same process and run, in this process (sequential), on the local process pool (``n_jobs=2``,
joblib: today's default) and through :func:`glassline._cluster.map_tasks` on a Dask ``LocalCluster`` of 1 and of 2
worker processes (single-threaded); the start-up is timed apart. The results of every run are checked
identical. Goals: 2 workers ≥ 1.6× 1 worker, and never slower than the local pool.

Part 2 (inline logs): ``simulate_production`` writes logs of 10⁵…10⁷ rows (``BENCH_CLUSTER_ROWS`` gives the
list); each path runs in a fresh subprocess whose peak resident memory (``ru_maxrss``) is read; the fitted
exponent of time in rows is the slope of log(time) on log(rows) over the sizes run.

Part 3: batch prediction (``glassline.registry.predict_batch``) of 10⁵ and 10⁶ rows: time and peak memory.

The 16-worker line is an extrapolation from the measured per-task cost and Dask's overhead per chunk.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"
FAMILIES = ("mlr", "svr", "rf", "xgb")
#: Dask's cost per task measured in issue 19 (the floor of the extrapolation)
DASK_TASK_COST = 0.020


# ---------------------------------------------------------------- part 1: the model grid with bootstrap
def bootstrap_refit(family: str, seed: int) -> float:
    """One grouped bootstrap refit of *family* on the synthetic study; the out-of-bag R² (a task)."""
    from glassline.models import get_family

    table = _table()
    rng = np.random.default_rng(seed)
    configs = table["configuration"].unique()
    drawn = rng.choice(configs, size=configs.size, replace=True)
    train = table.set_index("configuration").loc[drawn].reset_index()
    test = table[~table["configuration"].isin(drawn)]
    model = get_family(family).make(seed)
    model.fit(train[["x1", "x2", "x3"]], train["y"])
    if len(test) < 2:
        return float("nan")
    pred = model.predict(test[["x1", "x2", "x3"]])
    y = test["y"].to_numpy()
    return float(1 - np.sum((y - pred) ** 2) / np.sum((y - y.mean()) ** 2))


_TABLE: Any = None


def _table() -> Any:
    global _TABLE
    if _TABLE is None:
        import pandas as pd

        rng = np.random.default_rng(20231)
        settings = rng.uniform(0.0, 1.0, size=(17, 3))
        rows = []
        for c, (x1, x2, x3) in enumerate(settings):
            effect = rng.normal(0.0, 0.1)
            for _ in range(3):
                y = 3.0 * x1 - 2.0 * x2**2 + 1.5 * x1 * x3 + effect + rng.normal(0.0, 0.05)
                rows.append({"configuration": f"C{c:02d}", "x1": x1, "x2": x2, "x3": x3, "y": y})
        _TABLE = pd.DataFrame(rows)
    return _TABLE


def _items(n: int) -> list[tuple[str, int]]:
    return [(FAMILIES[i % len(FAMILIES)], i) for i in range(n)]


def scaling(sizes: list[int]) -> tuple[list[str], dict[str, float]]:
    import cloudpickle
    from distributed import Client, LocalCluster

    from glassline._cluster import cluster, map_tasks

    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers cannot import this file
    lines = [
        "| tasks | sequential s | local pool (2 proc) s | Dask 1 worker s | Dask 2 workers s | 2 vs 1 worker | "
        "2 workers vs local pool | Dask tasks (chunks) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    costs: dict[str, float] = {}
    clients = {}
    for workers in (1, 2):
        start = time.perf_counter()
        local = LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=40
        )
        client = Client(local, set_as_default=False)
        client.run(_table)  # import and warm the workers (stated apart, as the cluster start-up)
        costs[f"startup_{workers}"] = time.perf_counter() - start
        clients[workers] = (local, client)
    try:
        for n in sizes:
            items = _items(n)
            start = time.perf_counter()
            reference = [bootstrap_refit(*it) for it in items]
            sequential = time.perf_counter() - start
            start = time.perf_counter()
            pooled = list(map_tasks(bootstrap_refit, items, n_jobs=2))
            pool = time.perf_counter() - start
            timings = {}
            chunks = 0
            for workers, (_, client) in clients.items():
                with cluster(client) as active:
                    start = time.perf_counter()
                    got = list(map_tasks(bootstrap_refit, items))
                    timings[workers] = time.perf_counter() - start
                    chunks = active.chunks
                assert np.array_equal(np.array(got), np.array(reference), equal_nan=True), "results differ"
            assert np.array_equal(np.array(pooled), np.array(reference), equal_nan=True)
            costs[f"per_task_{n}"] = sequential / n
            costs[f"chunks_{n}"] = chunks
            costs[f"dask1_{n}"] = timings[1]
            print(f"  {n} tasks: {sequential:.1f} s, pool {pool:.1f} s, dask {timings}", file=sys.stderr, flush=True)
            lines.append(
                f"| {n:,} | {sequential:.1f} | {pool:.1f} | {timings[1]:.1f} | {timings[2]:.1f} | "
                f"{timings[1] / timings[2]:.2f}× | {pool / timings[2]:.2f}× | {chunks} |"
            )
    finally:
        for local, client in clients.values():
            client.close()
            local.close()
    return lines, costs


# ---------------------------------------------------------------- part 2 and 3: memory-bounded paths
_CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, {src!r})
kind, path, arg = sys.argv[1], sys.argv[2], sys.argv[3]
if kind == "prepare":
    from glassline.data import aggregate_production
    start = time.perf_counter()
    done = aggregate_production(path, engine=arg)
    rows = done.log_rows
else:
    import joblib
    from glassline.registry import predict_batch
    model = joblib.load(arg)
    start = time.perf_counter()
    done = predict_batch(model, path, path + ".out.parquet")
    rows = done.rows
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({{"rows": rows, "seconds": seconds, "peak_mb": peak}}))
"""


def _child(kind: str, path: Path, arg: str) -> dict[str, float]:
    code = _CHILD.format(src=str(SRC))
    out = subprocess.run(
        [sys.executable, "-c", code, kind, str(path), arg], capture_output=True, text=True, check=True, timeout=3600
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _slope(rows: list[float], seconds: list[float]) -> float:
    if len(rows) < 2:
        return math.nan
    return float(np.polyfit(np.log(rows), np.log(seconds), 1)[0])


def logs(sizes: list[int], folder: Path) -> list[str]:
    from glassline.domains.electrode._sim_production import COIL_SECONDS, COILS_PER_DAY, simulate_production

    lines = [
        "| log rows | Parquet MB | simulate s | pandas s | pandas peak MB | dask s | dask peak MB |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    measured: dict[str, list[tuple[float, float]]] = {"pandas": [], "dask": []}
    for rows in sizes:
        days = max(1, math.ceil(rows / (COILS_PER_DAY * COIL_SECONDS * 10)))
        rate = rows / (days * COILS_PER_DAY * COIL_SECONDS)
        where = folder / f"log_{rows}"
        start = time.perf_counter()
        made = simulate_production(where, days, seed=11, rate_hz=rate)
        simulated = time.perf_counter() - start
        size = sum(f.stat().st_size for f in (where / "log").rglob("*.parquet")) / 2**20
        cells = [f"{made.log_rows:,}", f"{size:.0f}", f"{simulated:.1f}"]
        for engine in ("pandas", "dask"):
            got = _child("prepare", where, engine)
            measured[engine].append((float(got["rows"]), float(got["seconds"])))
            cells += [f"{got['seconds']:.1f}", f"{got['peak_mb']:.0f}"]
        lines.append("| " + " | ".join(cells) + " |")
        print("  " + lines[-1], file=sys.stderr, flush=True)
    slopes = {e: _slope([p[0] for p in pts], [p[1] for p in pts]) for e, pts in measured.items()}
    lines.append(f"| exponent of time in rows | | | {slopes['pandas']:.2f} | | {slopes['dask']:.2f} | |")
    return lines


def batch(sizes: list[int], folder: Path) -> list[str]:
    import joblib
    import pandas as pd

    from glassline.models import compare
    from glassline.registry import Bundle, LoadedModel
    from glassline.spec import study_from_dict

    study = study_from_dict(
        {
            "name": "bench batch",
            "seed": 7,
            "factors": [{"name": n, "low": 0.0, "high": 1.0} for n in ("x1", "x2", "x3")],
            "responses": [{"name": "y"}],
            "scenarios": {"factors": ["x1", "x2", "x3"]},
            "data": {"group": "configuration"},
            "split": {"test_fraction": 0.2, "cv_folds": 4, "cv_repeats": 1},
        }
    )
    results = folder / "results"
    comparison = compare(study, _table(), families=["xgb"], n_jobs=1)
    comparison.write(results, plots=False)
    from glassline.models import load_fits

    fit = load_fits(results)[("y", "factors", "xgb")]
    loaded = LoadedModel("bench", "1", fit.pipeline, Bundle.from_fit(fit, study, results_dir=results, metrics={}), "r")
    joblib.dump(loaded, folder / "model.joblib")
    lines = ["| rows | seconds | rows/s | peak MB |", "|---:|---:|---:|---:|"]
    rng = np.random.default_rng(0)
    for rows in sizes:
        data = folder / f"batch_{rows}.parquet"
        pd.DataFrame(rng.uniform(0, 1, size=(rows, 3)), columns=["x1", "x2", "x3"]).to_parquet(data)
        got = _child("predict", data, str(folder / "model.joblib"))
        lines.append(f"| {rows:,} | {got['seconds']:.1f} | {rows / got['seconds']:,.0f} | {got['peak_mb']:.0f} |")
    return lines


def extrapolate(costs: dict[str, float], n: int) -> list[str]:
    per_task = costs[f"per_task_{n}"]
    chunks = costs[f"chunks_{n}"]
    # Dask's cost per chunk: what 1 worker took beyond the same work in this process, per chunk; when the
    # noise of a shared machine makes that ≤ 20 ms, the measured 20 ms per Dask task is used instead
    measured = (costs[f"dask1_{n}"] - per_task * n) / max(chunks, 1)
    overhead = max(measured, DASK_TASK_COST)
    source = "measured on 1 worker" if measured >= DASK_TASK_COST else f"floor; measured {measured * 1000:.0f} ms"
    out = []
    for tasks in (10**4, 10**5):
        work = per_task * tasks
        chunk_tasks = max(1, math.ceil(0.5 / per_task))
        n_chunks = math.ceil(tasks / chunk_tasks)
        wall = (work + n_chunks * overhead) / 16
        out.append(
            f"- **Extrapolation, not measured**: {tasks:,} tasks on 16 workers ≈ {wall:.0f} s "
            f"({work:.0f} s of work at {per_task * 1000:.1f} ms per task, {n_chunks:,} chunks of {chunk_tasks} "
            f"tasks, {overhead * 1000:.0f} ms Dask cost per chunk ({source})), i.e. "
            f"≈ {work / wall:.1f}× one process; it needs ≥ {n_chunks // 16:,} chunks per worker to stay balanced."
        )
    return out


def run() -> str:
    sizes = [int(n) for n in os.environ.get("BENCH_CLUSTER_TASKS", "100,1000").split(",")]
    rows = [int(r) for r in os.environ.get("BENCH_CLUSTER_ROWS", "100000,1000000,10000000").split(",")]
    scale, costs = scaling(sizes)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        log_lines = logs(rows, folder)
        batch_rows = os.environ.get("BENCH_CLUSTER_BATCH", "100000,1000000")
        batch_lines = batch([int(r) for r in batch_rows.split(",")], folder)
    largest = max(sizes)
    return "\n".join(
        [
            "## Scale-out on Dask (bench_cluster.py)",
            "",
            f"Model grid with bootstrap (one task: a grouped bootstrap refit of mlr/svr/rf/xgb, 51 rows); Dask "
            f"chunks ≥ 0.5 s per task; cluster start-up (not in the times): 1 worker "
            f"{costs['startup_1']:.1f} s, 2 workers {costs['startup_2']:.1f} s. Results identical in every run.",
            "",
            *scale,
            "",
            *extrapolate(costs, largest),
            "",
            "Production inline logs through `prepare` (segment means of aligned sensors), each path in a fresh "
            "process (peak RSS):",
            "",
            *log_lines,
            "",
            "Batch prediction with attributions (`glassline predict`, xgb, chunks of 50,000 rows):",
            "",
            *batch_lines,
        ]
    )


if __name__ == "__main__":
    print(run())
