"""The inference service over HTTP on loopback against ``mlflow models serve`` of the same model, same run.

Single-row predict + attribution (+ interval, validity-domain check, audit record committed to SQLite)
with a bearer token: p50/p99 over 1,000 sequential requests on one keep-alive connection, and
throughput with 4 concurrent clients; the same for ``mlflow models serve`` (prediction only, no checks),
for an XGBoost and an SVR model fitted on a 51-row synthetic design. Both servers are uvicorn with
httptools and uvloop (``uvicorn[standard]``, a dependency of the ``serve`` extra), one worker.

The client is the standard library's ``http.client`` on one keep-alive connection per client: the
lightest Python client, so the figures are the servers' and not a client library's (the p50 with
``httpx``, about 0.2–0.4 ms slower for both servers, is in its own column). In-process, the section
also times what the service's two hand-written fast paths buy against the library calls they replace:
attributions through a verified compiled predictor or a tabulated tree ensemble against the
pipeline's own ``predict``, and an audit append through the SQLite driver against SQLAlchemy Core.
Goals (issue 8): p50 ≤ 5 ms, p99 ≤ 15 ms, MLflow's p50 ≥ 3× ours. Servers bind 127.0.0.1 and are
stopped at the end.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd

N_SEQUENTIAL = 1000
N_WARMUP = 100
CLIENTS = 4
THROUGHPUT_SECONDS = 3.0
START_TIMEOUT = 120.0
GOAL_P50_MS, GOAL_P99_MS, GOAL_RATIO = 5.0, 15.0, 3.0
ROW = {"x1": 0.5, "x2": 0.4, "x3": 0.6}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _results(folder: Path) -> Any:
    from glassline import study_from_dict
    from glassline.models import compare

    study = study_from_dict(
        {
            "name": "bench serve",
            "seed": 7,
            "factors": [{"name": n, "low": 0.0, "high": 1.0} for n in ("x1", "x2", "x3")],
            "responses": [{"name": "y", "unit": "kPa"}],
            "data": {"group": "configuration"},
            "split": {"cv_folds": 4, "cv_repeats": 1},
        }
    )
    rng = np.random.default_rng(1)
    rows = []
    for c, (x1, x2, x3) in enumerate(rng.uniform(0, 1, size=(17, 3))):
        for _ in range(3):
            y = 3 * x1 - 2 * x2**2 + 1.5 * x1 * x3 + rng.normal(0, 0.05)
            rows.append({"configuration": f"C{c}", "x1": x1, "x2": x2, "x3": x3, "y": y})
    compare(study, pd.DataFrame(rows), families=["svr", "xgb"], n_jobs=2).write(folder, plots=False)
    return study


@contextmanager
def _process(command: list[str], url: str, ready: str, env: dict[str, str]) -> Iterator[None]:
    from glassline.serve import wait_until_ready

    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, start_new_session=True
    )
    try:
        wait_until_ready(url, path=ready, timeout=START_TIMEOUT, process=process)
        yield
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)  # its own session: the server and its workers
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)


def _measure(url: str, path: str, body: dict[str, Any], headers: dict[str, str]) -> dict[str, float]:
    host, port = url.removeprefix("http://").split(":")
    data = json.dumps(body).encode()
    sent = {"Content-Type": "application/json", **headers}

    def one(connection: http.client.HTTPConnection) -> None:
        connection.request("POST", path, data, sent)
        answer = connection.getresponse()
        text = answer.read()
        if answer.status != 200:
            raise RuntimeError(f"{url}{path}: HTTP {answer.status}: {text[:200]!r}")

    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    for _ in range(N_WARMUP):
        one(connection)
    seconds = []
    for _ in range(N_SEQUENTIAL):
        start = time.perf_counter()
        one(connection)
        seconds.append(time.perf_counter() - start)
    connection.close()
    with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
        for _ in range(N_WARMUP):
            client.post(path, json=body)
        httpx_seconds = []
        for _ in range(N_SEQUENTIAL):
            start = time.perf_counter()
            client.post(path, json=body)
            httpx_seconds.append(time.perf_counter() - start)
    counts = [0] * CLIENTS
    stop = time.monotonic() + THROUGHPUT_SECONDS

    def worker(k: int) -> None:
        own = http.client.HTTPConnection(host, int(port), timeout=30)
        while time.monotonic() < stop:
            one(own)
            counts[k] += 1
        own.close()

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ms = np.array(seconds) * 1000
    return {
        "p50": float(np.percentile(ms, 50)),
        "p99": float(np.percentile(ms, 99)),
        "mean": statistics.fmean(ms),
        "httpx_p50": float(np.percentile(np.array(httpx_seconds) * 1000, 50)),
        "rps": sum(counts) / THROUGHPUT_SECONDS,
    }


def _per_call_us(f: Callable[[], object], n: int = 300) -> float:
    f()
    start = time.perf_counter()
    for _ in range(n):
        f()
    return (time.perf_counter() - start) / n * 1e6


def _fast_paths(results: Path, home: Path) -> list[str]:
    """In-process: each fast path against the library call it replaces, µs per call."""
    from sqlalchemy import insert, select

    from glassline.audit import AuditLog, connect
    from glassline.audit._database import audit_table
    from glassline.audit._log import _next_record
    from glassline.models import FAMILIES, load_fits
    from glassline.registry import database_url
    from glassline.shapley import ShapleyEngine

    lines = [
        "",
        "What the fast paths buy (in-process, µs per call; the service uses the fast one, verified at load time):",
        "",
        "| step | library call | µs | fast path | µs | ratio |",
        "|---|---|--:|---|--:|--:|",
    ]
    row = np.array([list(ROW.values())])
    for family in ("xgb", "svr"):
        fit = load_fits(results)[("y", "factors", family)]
        background = fit.X_train.loc[:, list(fit.inputs)].astype(float)
        slow = ShapleyEngine(fit.pipeline, background, kind=fit.explainer, fast=False)
        fast = ShapleyEngine(fit.pipeline, background, kind=fit.explainer)
        assert np.allclose(fast.explain(row).values, slow.explain(row).values, rtol=1e-9, atol=1e-12)
        a, b = _per_call_us(lambda s=slow: s.explain(row)), _per_call_us(lambda f=fast: f.explain(row))
        how = "tabulated tree ensemble" if fast.algorithm == "tabulated trees" else "compiled predictor"
        lines.append(
            f"| {family}: SHAP of one row ({slow.algorithm} → {fast.algorithm}, {len(background)} background rows) | "
            f"pipeline.predict | {a:.0f} | {how} | {b:.0f} | {a / b:.1f}× |"
        )
    # a forest on continuous data: too many thresholds to tabulate; compiled tree by tree instead
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.uniform(0, 1, size=(200, 3)), columns=list(ROW))
    forest = FAMILIES["rf"].make(0).fit(frame, 3 * frame["x1"] + np.sin(4 * frame["x2"]) + rng.normal(0, 0.1, 200))
    background = frame.iloc[:40]
    slow = ShapleyEngine(forest, background, kind="tree", fast=False)
    fast = ShapleyEngine(forest, background, kind="tree")
    assert fast.algorithm == slow.algorithm == "batched exact enumeration"
    assert fast.predictor.startswith("compiled")
    assert np.allclose(fast.explain(row).values, slow.explain(row).values, rtol=1e-9, atol=1e-12)
    a, b = _per_call_us(lambda: slow.explain(row), n=50), _per_call_us(lambda: fast.explain(row), n=50)
    lines.append(
        "| rf on 200 continuous rows (100 trees): SHAP of one row (2^3 × 40) | pipeline.predict | "
        f"{a:.0f} | mean of the trees' tree_.predict | {b:.0f} | {a / b:.1f}× |"
    )
    engine = connect(database_url(home / "paths"))
    log = AuditLog(engine)
    payload = {"model": {"name": "m", "version": "1"}, "rows": [list(ROW.values())], "predictions": [1.0]}

    def core() -> None:  # the same transaction and record through SQLAlchemy Core
        with engine.begin() as conn:
            last = conn.execute(
                select(audit_table.c.seq, audit_table.c.hash).order_by(audit_table.c.seq.desc()).limit(1)
            ).first()
            record, payload_json = _next_record(last, "bench", "bench", payload, None)
            conn.execute(
                insert(audit_table).values(
                    seq=record.seq,
                    created_at=record.created_at,
                    kind="bench",
                    actor="bench",
                    request_id=None,
                    payload=payload_json,
                    prev_hash=record.prev_hash,
                    hash=record.hash,
                )
            )

    a, b = _per_call_us(core), _per_call_us(lambda: log.append("bench", "bench", payload))
    log.close()
    engine.dispose()
    lines.append(f"| audit append, committed (SQLite WAL) | SQLAlchemy Core | {a:.0f} | sqlite3 driver | {b:.0f} | ")
    lines[-1] += f"{a / b:.1f}× |"
    return lines


def run() -> str:
    from glassline.audit import Role, TokenStore, connect
    from glassline.registry import database_url, publish, tracking_uri

    lines = [
        "## Serving: glassline service vs `mlflow models serve` (loopback, single row)",
        "",
        f"glassline: predict + SHAP attributions + interval + domain check + audit record committed; bearer token. "
        f"MLflow: prediction only. {N_SEQUENTIAL} sequential requests after {N_WARMUP} warm-up; throughput: "
        f"{CLIENTS} concurrent clients for {THROUGHPUT_SECONDS:.0f} s (clients share the 2 cores with the server).",
        "",
        "| model | server | p50 ms | p99 ms | mean ms | p50 ms, httpx client | req/s (4 clients) |",
        "|---|---|--:|--:|--:|--:|--:|",
    ]
    verdicts = []
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        results = Path(tmp) / "results"
        study = _results(results)
        uri = tracking_uri(home)
        engine = connect(database_url(home))
        token = TokenStore(engine).create(Role.operator, "bench")
        engine.dispose()
        bin_dir = str(Path(sys.executable).parent)  # mlflow starts `uvicorn` from PATH
        env = {
            **os.environ,
            "MLFLOW_TRACKING_URI": uri,
            "MLFLOW_REGISTRY_URI": uri,
            "PATH": bin_dir + os.pathsep + os.environ.get("PATH", ""),
        }
        for family in ("xgb", "svr"):
            p = publish(results, "y", "factors", family=family, name=f"bench-{family}", study=study, home=home)
            port = _free_port()
            url = f"http://127.0.0.1:{port}"
            ours_cmd = [
                sys.executable,
                "-m",
                "glassline",
                "serve",
                "--model",
                f"{p.name}/{p.version}",
                "--home",
                str(home),
                "--port",
                str(port),
                "--fallback",
                "flag",
            ]
            with _process(ours_cmd, url, "/healthz", env):
                ours = _measure(url, "/v1/predict", {"rows": [ROW]}, {"Authorization": f"Bearer {token}"})
            port = _free_port()
            url = f"http://127.0.0.1:{port}"
            mlflow_cmd = [
                str(Path(sys.executable).parent / "mlflow"),
                "models",
                "serve",
                "-m",
                p.uri,
                "--env-manager",
                "local",
                "-h",
                "127.0.0.1",
                "-p",
                str(port),
                "-w",
                "1",
            ]
            with _process(mlflow_cmd, url, "/ping", env):
                body = {"dataframe_split": {"columns": list(ROW), "data": [list(ROW.values())]}}
                theirs = _measure(url, "/invocations", body, {})
            for name, r in (("glassline", ours), ("mlflow models serve", theirs)):
                lines.append(
                    f"| {family} | {name} | {r['p50']:.2f} | {r['p99']:.2f} | {r['mean']:.2f} | "
                    f"{r['httpx_p50']:.2f} | {r['rps']:.0f} |"
                )
            ratio = theirs["p50"] / ours["p50"]
            verdicts.append(
                f"- {family}: p50 {ours['p50']:.2f} ms (goal ≤ {GOAL_P50_MS:g}: "
                f"{'met' if ours['p50'] <= GOAL_P50_MS else 'NOT met'}), p99 {ours['p99']:.2f} ms (goal ≤ "
                f"{GOAL_P99_MS:g}: {'met' if ours['p99'] <= GOAL_P99_MS else 'NOT met'}), MLflow p50 / ours = "
                f"{ratio:.1f}× (goal ≥ {GOAL_RATIO:g}×: {'met' if ratio >= GOAL_RATIO else 'NOT met'}; "
                f"with httpx {theirs['httpx_p50'] / ours['httpx_p50']:.1f}×)"
            )
        paths = _fast_paths(results, home)
    return "\n".join([*lines, "", *verdicts, *paths])


_: Callable[[], str] = run

if __name__ == "__main__":
    print(run())
