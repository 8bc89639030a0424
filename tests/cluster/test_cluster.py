"""Where work runs (glassline._cluster): the same results on this machine's processes and on a real Dask cluster.

The slow test starts a real ``dask scheduler`` and ``dask worker`` as separate processes on 127.0.0.1 (free
ports) and runs ``glassline fit --cluster tcp://…`` against the local run of the same seed.
"""

from __future__ import annotations

import operator
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

import glassline
from glassline import Study
from glassline._cluster import (
    CLUSTER_ENV,
    chunk_plan,
    chunk_size,
    cluster,
    map_tasks,
    parse_cluster,
    require_dask,
)
from glassline.cli import main
from glassline.exceptions import ClusterError
from glassline.spec import write_study

SRC = Path(glassline.__file__).resolve().parents[1]
DASK = Path(sys.executable).with_name("dask")


def _square_plus(x: int, y: int) -> int:
    return x * x + y


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_parse_cluster_accepts_the_three_forms_and_names_a_bad_value() -> None:
    assert parse_cluster(None) == "local"
    assert parse_cluster(" Dask ") == "dask"
    assert parse_cluster("tcp://10.0.0.5:8786") == "tcp://10.0.0.5:8786"
    for bad in ("dsk", "tcp://host", "tcp://host:0", "tcp://host:70000", "http://host:8786"):
        with pytest.raises(ClusterError, match="expected 'local', 'dask' or a scheduler address") as info:
            parse_cluster(bad)
        assert repr(bad) in str(info.value)


def test_chunks_reach_the_minimum_task_duration() -> None:
    assert chunk_size(0.02, 1000) == 25  # 25 × 20 ms = 0.5 s
    assert chunk_size(2.0, 1000) == 1
    assert chunk_size(1e-9, 10) == 10  # never more than there are items
    assert chunk_size(0.1, 0) == 1


def test_chunk_plan_is_guided_and_keeps_the_workers_balanced() -> None:
    # 20 ms items on 2 workers: a quarter of the items first, then smaller, never under the 25-item floor
    sizes = chunk_plan(0.02, 1000, 2)
    assert sum(sizes) == 1000
    assert sizes[:3] == [250, 188, 141]
    assert sizes == sorted(sizes, reverse=True)
    assert min(sizes[:-1]) == 25
    # an estimate 10× too low (a cheap first item): the floor is capped at 1/(4·workers) of the items
    low = chunk_plan(0.007, 99, 2)
    assert sum(low) == 99
    assert max(low) == 25
    assert len(low) >= 6
    # slow items: one per chunk at the end; one worker gets half of what is left each time
    assert chunk_plan(2.0, 10, 2) == [3, 2, 2, 1, 1, 1]
    assert chunk_plan(2.0, 4, 1) == [2, 1, 1]
    assert chunk_plan(0.1, 0, 2) == []


def test_dask_map_keeps_the_order_whatever_the_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    require_dask()
    from distributed import Client, LocalCluster

    monkeypatch.delenv(CLUSTER_ENV, raising=False)
    items = [(i, 3) for i in range(40)]
    with (
        LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as local,
        Client(local, set_as_default=False) as client,
        cluster(client) as active,
    ):
        got = list(map_tasks(operator.add, items, min_seconds=0.0))
        unordered = list(map_tasks(operator.add, items, min_seconds=0.0, ordered=False))
        fixed = list(map_tasks(operator.add, items, chunk=7))
    assert got == [i + 3 for i in range(40)]
    assert sorted(unordered) == got
    assert fixed == got
    # 39 items after the timed first one on 2 workers (guided), then 40 in fixed chunks of 7
    assert active.chunks == len(chunk_plan(0.0, 39, 2, min_seconds=0.0)) * 2 + 6


def test_local_map_keeps_the_order_and_counts_tasks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CLUSTER_ENV, raising=False)
    items = [(i, 1) for i in range(7)]
    assert list(map_tasks(_square_plus, items, n_jobs=1)) == [i * i + 1 for i in range(7)]
    with cluster("local") as active:
        assert sorted(map_tasks(_square_plus, items, n_jobs=1, ordered=False)) == [i * i + 1 for i in range(7)]
    assert active.tasks == 7
    assert not active.is_dask


def test_missing_dask_is_one_clear_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed → ImportError
    with pytest.raises(ClusterError) as info:
        require_dask("dask")
    message = str(info.value)
    assert "\n" not in message
    assert "Dask is not installed" in message
    assert "pip install 'glassline[cluster]'" in message


@pytest.mark.slow
def test_a_bad_cluster_value_from_the_environment_is_one_line(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    study: Study,
    synthetic_rows: pd.DataFrame,
) -> None:
    monkeypatch.setenv(CLUSTER_ENV, "dsak")
    study_file = write_study(study, tmp_path / "study.toml")
    synthetic_rows.to_csv(tmp_path / "t.csv", index=False)
    with pytest.raises(SystemExit) as info:
        main(["fit", str(study_file), "--data", str(tmp_path / "t.csv"), "--out", str(tmp_path / "r"), "-q"])
    err = capsys.readouterr().err
    assert info.value.code == 1
    assert err.startswith("error:"), err
    assert len(err.strip().splitlines()) == 1, err
    assert "'dsak'" in err
    assert CLUSTER_ENV in err


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    """A real scheduler and one worker, each its own process, on 127.0.0.1."""
    require_dask()
    from distributed import Client

    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}
    common = ["--no-dashboard"]
    procs = [
        subprocess.Popen(
            [str(DASK), "scheduler", "--host", "127.0.0.1", "--port", str(port), *common],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    ]
    try:
        procs.append(
            subprocess.Popen(
                [str(DASK), "worker", address, "--nthreads", "1", "--nworkers", "1", "--no-nanny", *common],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                with Client(address, timeout="5s", set_as_default=False) as client:
                    client.wait_for_workers(1, timeout=max(1.0, deadline - time.monotonic()))
                break
            except (OSError, TimeoutError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)
        yield address
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=30)  # a worker on a loaded machine can take a while to close
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=30)  # reaped, so no zombie warns later in another test


@pytest.mark.slow
def test_fit_and_explain_on_a_real_scheduler_equal_the_local_run(
    scheduler: str, tmp_path: Path, study: Study, synthetic_rows: pd.DataFrame
) -> None:
    study_file = write_study(study, tmp_path / "study.toml")
    table = tmp_path / "table.csv"
    synthetic_rows.to_csv(table, index=False)
    base = ["fit", str(study_file), "--data", str(table), "-f", "mlr,xgb", "--no-plots", "-q"]
    for out, extra in (("local", ["-j", "1"]), ("dask", ["--cluster", scheduler])):
        with pytest.raises(SystemExit) as info:
            main([*base, "--out", str(tmp_path / out), *extra])
        assert info.value.code in (0, None)
    # bit for bit: the metrics, the collinearity checks and every prediction
    for name in ("results.csv", "collinearity.csv"):
        assert (tmp_path / "local" / name).read_bytes() == (tmp_path / "dask" / name).read_bytes(), name
    pd.testing.assert_frame_equal(
        pd.read_parquet(tmp_path / "local" / "predictions.parquet"),
        pd.read_parquet(tmp_path / "dask" / "predictions.parquet"),
        check_exact=True,
    )
    # the explain stage (bootstrap refits, SHAP, influence refits) on the cluster: the same tables
    for out, extra in (("local", ["-j", "1"]), ("dask", ["--cluster", scheduler])):
        argv = ["explain", str(tmp_path / out), "--out", str(tmp_path / f"e_{out}"), "--bootstrap", "8"]
        with pytest.raises(SystemExit) as info:
            main([*argv, "--no-plots", "-q", *extra])
        assert info.value.code in (0, None)
    for name in ("importance.csv", "claims.csv", "uncertainty.csv", "influential.csv"):
        assert (tmp_path / "e_local" / name).read_bytes() == (tmp_path / "e_dask" / name).read_bytes(), name
    # the tasks went to the cluster: the worker ran them in chunks
    with cluster(scheduler) as active:
        # a function the worker can import (this test module is not on its path)
        got = list(map_tasks(operator.mul, [(i, i) for i in range(5)], min_seconds=0.0))
        assert active.is_dask
        assert active.chunks == 3  # 4 items after the timed first one, 1 worker: 2 + 1 + 1
        assert active.workers() == 1
    assert got == [i * i for i in range(5)]


class _RemoteClient:
    """Stands in for a Client of a scheduler on another host; any task sent to it fails the test."""

    class scheduler:  # the attribute distributed.Client has
        address = "tcp://10.9.9.9:8786"

    def submit(self, *args: object, **kwargs: object) -> None:
        raise AssertionError("a file-writing task went to a remote cluster")

    def scheduler_info(self, **kwargs: object) -> dict[str, object]:
        return {"workers": {}}


def test_file_writing_tasks_stay_on_this_machine_with_a_remote_scheduler() -> None:
    with cluster(_RemoteClient()) as active:
        assert active.is_dask
        assert not active.on_this_host()
        got = list(map_tasks(_square_plus, [(2, 1), (3, 1)], n_jobs=1, writes_files=True))
    assert got == [5, 10]
