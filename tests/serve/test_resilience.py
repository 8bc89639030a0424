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
from serve_helpers import Running, free_port, make_tokens, server_process

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
