"""Scale-out on Dask (issue 19): the model grid with bootstrap on 1 and 2 Dask workers against the local process
pool, and production inline logs through the pandas and the dask.dataframe paths of ``prepare``.

Part 1 (scaling): a task is one bootstrap refit of a model family on the synthetic 17-configuration study
(configurations resampled, 51 rows; the families mlr, svr, rf and xgb in turn, as the explain stage refits
them), scored out of bag; 10² and 10³ tasks (``BENCH_CLUSTER_TASKS=100,1000,10000`` for more). Each size
runs, in the same process and run, in this process (sequential), on the local process pool (``n_jobs=2``,
joblib: today's default) and through :func:`glassline._cluster.map_tasks` on a Dask ``LocalCluster`` of 1 and of 2
worker processes (single-threaded); the start-up is timed apart. The results of every run are checked
identical. Goals: 2 workers ≥ 1.6× 1 worker, and never slower than the local pool. Before any timing the pool's
and each cluster's worker processes are started, import glassline's model stack and run one refit per family
(the start-up, stated apart): the times compare throughput, not process start-up. The 1-minute load average is
noted per row (the machine is shared; a time measured at a load above its 2 cores is not a scaling figure).

Part 2 (inline logs): ``simulate_production`` writes logs of 10⁵…10⁸ rows (``BENCH_CLUSTER_ROWS`` gives the
list); each path runs in a fresh subprocess whose peak resident memory (``ru_maxrss``) is read; the fitted
exponent of time in rows is the slope of log(time) on log(rows) over the sizes run (and, apart, between the two
largest). The pandas path is not run where its peak, extrapolated linearly from the largest size it ran, would
pass 80 % of this machine's memory (it holds the whole log); the table says so. Each log is deleted after use.

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


def warm_up(_: int = 0) -> int:
    """Import the model stack and run one refit per family in this process (a worker's start-up)."""
    for family in FAMILIES:
        bootstrap_refit(family, 0)
    return os.getpid()


def _cpu(pids: set[int]) -> float:
    """CPU seconds (user + system, all threads) used so far by these processes."""
    import psutil

    return sum(sum(psutil.Process(pid).cpu_times()[:2]) for pid in pids)


def _load() -> float:
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else math.nan


def scaling(sizes: list[int]) -> tuple[list[str], dict[str, float]]:
    import cloudpickle
    from distributed import Client, LocalCluster

    from glassline._cluster import cluster, map_tasks

    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers cannot import this file
    lines = [
        "| tasks | sequential s | local pool (2 proc) s | Dask 1 worker s | Dask 2 workers s | 2 vs 1 worker | "
        "2 workers vs local pool | Dask tasks (chunks) 1 / 2 workers | CPU s: seq / pool / 1 / 2 workers | "
        "load (1 min) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    costs: dict[str, float] = {}
    warm_up()
    start = time.perf_counter()
    pids = set(map_tasks(warm_up, [(i,) for i in range(8)], n_jobs=2))  # joblib keeps these processes
    costs["startup_pool"] = time.perf_counter() - start
    costs["pool_processes"] = len(pids)
    clients = {}
    for workers in (1, 2):
        start = time.perf_counter()
        local = LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=40
        )
        client = Client(local, set_as_default=False)
        ran = client.run(warm_up)  # import and warm every worker (stated apart, as the cluster start-up)
        costs[f"startup_{workers}"] = time.perf_counter() - start
        import psutil

        # the workers, their nannies, and this process (the scheduler and the client run here)
        family = {int(pid) for pid in ran.values()} | {psutil.Process(int(p)).ppid() for p in ran.values()}
        clients[workers] = (local, client, family | {os.getpid()})
    pool_pids = pids | {os.getpid()}
    try:
        for n in sizes:
            items = _items(n)
            loads = [_load()]
            start = time.perf_counter()
            cpu_start = time.process_time()
            reference = [bootstrap_refit(*it) for it in items]
            sequential = time.perf_counter() - start
            cpu = {"seq": time.process_time() - cpu_start}
            cpu_start = _cpu(pool_pids)
            start = time.perf_counter()
            pooled = list(map_tasks(bootstrap_refit, items, n_jobs=2))
            pool = time.perf_counter() - start
            cpu["pool"] = _cpu(pool_pids) - cpu_start
            timings = {}
            chunks = {}
            for workers, (_, client, family) in clients.items():
                with cluster(client) as active:
                    cpu_start = _cpu(family)
                    start = time.perf_counter()
                    got = list(map_tasks(bootstrap_refit, items))
                    timings[workers] = time.perf_counter() - start
                    cpu[str(workers)] = _cpu(family) - cpu_start
                    chunks[workers] = active.chunks
                assert np.array_equal(np.array(got), np.array(reference), equal_nan=True), "results differ"
            assert np.array_equal(np.array(pooled), np.array(reference), equal_nan=True)
            loads.append(_load())
            costs[f"per_task_{n}"] = cpu["seq"] / n  # CPU seconds: a core's time, not the wait for one
            costs[f"cpu_dask1_{n}"] = cpu["1"]
            costs[f"chunks_{n}"] = chunks[1]
            costs[f"load_{n}"] = max(loads)
            costs[f"load_before_{n}"] = loads[0]  # the runs' own two busy processes lift the average to ≈ 2
            print(f"  {n} tasks: {sequential:.1f} s, pool {pool:.1f} s, dask {timings}, load {loads}", file=sys.stderr)
            lines.append(
                f"| {n:,} | {sequential:.1f} | {pool:.1f} | {timings[1]:.1f} | {timings[2]:.1f} | "
                f"{timings[1] / timings[2]:.2f}× | {pool / timings[2]:.2f}× | {chunks[1]} / {chunks[2]} | "
                f"{cpu['seq']:.1f} / {cpu['pool']:.1f} / {cpu['1']:.1f} / {cpu['2']:.1f} | "
                f"{loads[0]:.2f} → {loads[1]:.2f} |"
            )
    finally:
        for local, client, _ in clients.values():
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


def _memory_mb() -> float:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**20


def logs(sizes: list[int], folder: Path) -> list[str]:
    import shutil

    from glassline.domains.electrode._sim_production import COIL_SECONDS, COILS_PER_DAY, simulate_production

    lines = [
        "| log rows | Parquet MB | simulate s | pandas s | pandas peak MB | dask s | dask peak MB | load (1 min) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    measured: dict[str, list[tuple[float, float]]] = {"pandas": [], "dask": []}
    pandas_peak: tuple[float, float] | None = None  # (rows, peak MB) of the largest pandas run
    notes: list[str] = []
    for rows in sorted(sizes):
        days = max(1, math.ceil(rows / (COILS_PER_DAY * COIL_SECONDS * 10)))
        rate = rows / (days * COILS_PER_DAY * COIL_SECONDS)
        where = folder / f"log_{rows}"
        start = time.perf_counter()
        made = simulate_production(where, days, seed=11, rate_hz=rate)
        simulated = time.perf_counter() - start
        size = sum(f.stat().st_size for f in (where / "log").rglob("*.parquet")) / 2**20
        cells = [f"{made.log_rows:,}", f"{size:.0f}", f"{simulated:.1f}"]
        for engine in ("pandas", "dask"):
            if engine == "pandas" and pandas_peak is not None:
                expected = pandas_peak[1] * made.log_rows / pandas_peak[0]
                if expected > 0.8 * _memory_mb():
                    cells += ["not run", f"≈ {expected:,.0f} (extrapolated)"]
                    notes.append(
                        f"- pandas path at {made.log_rows:,} rows not run: its peak, extrapolated linearly from "
                        f"{pandas_peak[1]:,.0f} MB at {pandas_peak[0]:,.0f} rows, is ≈ {expected / 1024:.0f} GB, above "
                        f"80 % of this machine's {_memory_mb() / 1024:.0f} GB (an extrapolation, not measured)."
                    )
                    continue
            got = _child("prepare", where, engine)
            measured[engine].append((float(got["rows"]), float(got["seconds"])))
            if engine == "pandas":
                pandas_peak = (float(got["rows"]), float(got["peak_mb"]))
            cells += [f"{got['seconds']:.1f}", f"{got['peak_mb']:.0f}"]
        cells.append(f"{_load():.2f}")
        lines.append("| " + " | ".join(cells) + " |")
        print("  " + lines[-1], file=sys.stderr, flush=True)
        shutil.rmtree(where)
    slopes = {e: _slope([p[0] for p in pts], [p[1] for p in pts]) for e, pts in measured.items()}
    tops = {e: _slope([p[0] for p in pts[-2:]], [p[1] for p in pts[-2:]]) for e, pts in measured.items()}
    lines.append(f"| exponent of time in rows, all sizes | | | {slopes['pandas']:.2f} | | {slopes['dask']:.2f} | | |")
    lines.append(f"| exponent between the two largest sizes | | | {tops['pandas']:.2f} | | {tops['dask']:.2f} | | |")
    return lines + (["", *notes] if notes else [])


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
    # Dask's cost per chunk: the CPU seconds 1 worker (with its nanny, the scheduler and the client) used beyond
    # the same work in this process, per chunk; when that is under 20 ms (the noise of a shared machine is
    # larger), the measured 20 ms per Dask task is used instead
    measured = (costs[f"cpu_dask1_{n}"] - per_task * n) / max(chunks, 1)
    overhead = max(measured, DASK_TASK_COST)
    source = (
        "CPU seconds measured on 1 worker"
        if measured >= DASK_TASK_COST
        else f"issue 19's 20 ms; the CPU difference measured here, {measured * 1000:.0f} ms per chunk, is within noise"
    )
    from glassline._cluster import chunk_plan

    out = []
    for tasks in (10**4, 10**5):
        work = per_task * tasks
        plan = chunk_plan(per_task, tasks, 16)
        n_chunks = len(plan)
        # the guided chunks end with chunks of the floor size: the last one may leave the others idle
        wall = (work + n_chunks * overhead) / 16 + plan[-1] * per_task
        out.append(
            f"- **Extrapolation, not measured**: {tasks:,} tasks on 16 workers ≈ {wall:.0f} s "
            f"({work:.0f} s of work at {per_task * 1000:.1f} CPU ms per task, {n_chunks:,} guided chunks of "
            f"{plan[0]}…{plan[-1]} tasks, {overhead * 1000:.0f} ms Dask cost per chunk ({source}), plus one last "
            "chunk), "
            f"i.e. ≈ {work / wall:.1f}× one process."
        )
    return out


def _load_note(costs: dict[str, float], sizes: list[int]) -> str:
    """Whether other work shared the cores: judged on the load before each size started, since the runs' own
    two busy processes lift the 1-minute average towards 2 while they run."""
    before = max(costs[f"load_before_{n}"] for n in sizes)
    if before > 1.0:
        return (
            f"**Measured under load** (1-minute load average up to {before:.2f} on 2 cores before a size started: "
            "other jobs, or this bench's own start-up just before): read the 2-worker times with that in mind."
        )
    return (
        f"1-minute load average ≤ {before:.2f} on 2 cores before each size started (the runs themselves lift it "
        "towards 2 while both cores work): a quiet machine."
    )


def run() -> str:
    sizes = [int(n) for n in os.environ.get("BENCH_CLUSTER_TASKS", "100,1000").split(",")]
    default_rows = "100000,1000000,10000000,100000000"
    rows = [int(r) for r in os.environ.get("BENCH_CLUSTER_ROWS", default_rows).split(",")]
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
            f"tasks in guided chunks (`glassline._cluster.chunk_plan`: ≥ 0.5 s each, capped at a quarter of a "
            f"worker's share). Start-up, not in the times (processes started, model stack imported, one refit per "
            f"family): local pool {costs['startup_pool']:.1f} s, Dask 1 worker {costs['startup_1']:.1f} s, 2 workers "
            f"{costs['startup_2']:.1f} s. Results identical in every run. Every task single-threaded (rf and xgb "
            f"`n_jobs=1`; in Dask tasks BLAS/OpenMP limited to 1 thread). {_load_note(costs, sizes)}",
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
