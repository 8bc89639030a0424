"""Schemathesis against the OpenAPI spec (no 5xx), and kill -9 of a server during a request loop."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from serve_helpers import Running, free_port, make_tokens, server_process, server_processes

from glassline.audit import AuditLog, connect, verify_chain

ROW = {"x1": 0.5, "x2": 0.4, "x3": 0.6}


@pytest.mark.slow
def test_schemathesis_finds_no_server_error(server: Running, tmp_path: Path) -> None:
    """Every operation, positive and negative examples, with an admin token; stop is excluded (it would halt).
    Every answer must be no 5xx, a status code the OpenAPI declares for the route, with the declared content
    type and a body that matches the declared schema."""
    st = Path(sys.executable).parent / "st"
    command = [
        str(st),
        "run",
        f"{server.url}/openapi.json",
        "--checks",
        "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
        "--max-examples",
        "40",
        "--seed",
        "1",
        "--generation-deterministic",
        "--exclude-path",
        "/v1/stop",
        "-H",
        f"Authorization: Bearer {server.tokens['admin']}",
        "--workers",
        "1",
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=170, check=False, cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]


@pytest.mark.slow
def test_kill_9_loses_no_answered_request(published: dict[str, str], home: Path, tmp_path: Path) -> None:
    db_url = f"sqlite:///{(tmp_path / 'audit.db').as_posix()}"
    tokens = make_tokens(db_url)
    headers = {"Authorization": f"Bearer {tokens['operator']}"}
    port = free_port()
    answered: list[str] = []
    stop = threading.Event()

    def loop(url: str) -> None:
        with httpx.Client(base_url=url, headers=headers, timeout=5) as client:
            while not stop.is_set():
                try:
                    answer = client.post("/v1/predict", json={"rows": [ROW]})
                except httpx.TransportError:
                    return
                if answer.status_code == 200:
                    answered.append(answer.json()["request_id"])

    with server_process("y-xgb@prod", home, port, db_url=db_url) as process:
        url = f"http://127.0.0.1:{port}"
        clients = [threading.Thread(target=loop, args=(url,)) for _ in range(3)]
        for t in clients:
            t.start()
        deadline = time.monotonic() + 30
        while len(answered) < 60 and time.monotonic() < deadline:
            time.sleep(0.05)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(10)
        stop.set()
        for t in clients:
            t.join(10)
    assert len(answered) >= 60
    engine = connect(db_url)
    try:
        log = AuditLog(engine)
        logged = {r.request_id for r in log.records() if r.kind == "prediction"}
        assert not set(answered) - logged, "an answered request has no audit record"
        assert verify_chain(log).ok
    finally:
        engine.dispose()
    with server_process("y-xgb@prod", home, port, db_url=db_url):
        answer = httpx.post(f"http://127.0.0.1:{port}/v1/predict", json={"rows": [ROW]}, headers=headers)
        assert answer.status_code == 200
    engine = connect(db_url)
    try:
        report = verify_chain(AuditLog(engine))
        assert report.ok, str(report)
        assert report.records >= len(answered) + 3  # + two model_loaded records and the last prediction
    finally:
        engine.dispose()


@pytest.mark.slow
def test_kill_9_of_two_servers_on_one_log_loses_no_answered_request(
    published: dict[str, str], home: Path, tmp_path: Path
) -> None:
    """Two `glassline serve` processes append to one SQLite log under load; one is killed mid-load while the
    other keeps answering, then the other too; both restart. Every 200 answer has its record, one chain."""
    db_url = f"sqlite:///{(tmp_path / 'audit.db').as_posix()}"
    tokens = make_tokens(db_url)
    headers = {"Authorization": f"Bearer {tokens['operator']}"}
    ports = (free_port(), free_port())
    answered: dict[int, list[str]] = {port: [] for port in ports}
    stop = threading.Event()

    def loop(port: int) -> None:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=5) as client:
            while not stop.is_set():
                try:
                    answer = client.post("/v1/predict", json={"rows": [ROW]})
                except httpx.TransportError:
                    return  # the server was killed
                if answer.status_code == 200:
                    answered[port].append(answer.json()["request_id"])

    def wait_for(port: int, more: int, seconds: float = 20) -> None:
        target = len(answered[port]) + more
        deadline = time.monotonic() + seconds
        while len(answered[port]) < target and time.monotonic() < deadline:
            time.sleep(0.05)

    first, second = ports
    with server_processes("y-xgb@prod", home, ports, db_url=db_url) as (one, two):
        clients = [threading.Thread(target=loop, args=(port,)) for port in ports for _ in range(2)]
        for t in clients:
            t.start()
        wait_for(first, 30)
        wait_for(second, 30)
        os.kill(one.pid, signal.SIGKILL)  # mid-load: its two clients see the connection drop
        one.wait(10)
        wait_for(second, 30)  # the survivor keeps appending to the same log
        os.kill(two.pid, signal.SIGKILL)
        two.wait(10)
        stop.set()
        for t in clients:
            t.join(10)
    every = [request_id for port in ports for request_id in answered[port]]
    assert len(answered[first]) >= 30
    assert len(answered[second]) >= 60
    engine = connect(db_url)
    try:
        log = AuditLog(engine)
        logged = {r.request_id for r in log.records() if r.kind == "prediction"}
        assert not set(every) - logged, "an answered request has no audit record"
        report = verify_chain(log)
        assert report.ok, str(report)
    finally:
        engine.dispose()
    with server_processes("y-xgb@prod", home, ports, db_url=db_url):
        for port in ports:
            again = httpx.post(f"http://127.0.0.1:{port}/v1/predict", json={"rows": [ROW]}, headers=headers)
            assert again.status_code == 200
    engine = connect(db_url)
    try:
        report = verify_chain(AuditLog(engine))
        assert report.ok, str(report)
        assert report.records >= len(every) + 6  # + four model_loaded records and the two last predictions
    finally:
        engine.dispose()
