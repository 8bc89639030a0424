"""Blocking database work runs off the event loop: a lock held on the SQLite audit file by another connection
does not stop /healthz from answering at once, over real HTTP; the waiting prediction is never answered
without its record (it answers 503 once the audit write bound has passed: tests/serve/test_faults.py)."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import httpx
from serve_helpers import start

from glassline.audit import AUDIT_WRITE_SECONDS
from glassline.registry import LoadedModel
from glassline.serve import Fallback

INSIDE = {"x1": 0.5, "x2": 0.4, "x3": 0.6}


def test_healthz_answers_while_the_audit_file_is_locked(xgb_model: LoadedModel, tmp_path: Path) -> None:
    for running in start(xgb_model, tmp_path, Fallback.flag):
        with running.client() as client:
            assert client.post("/v1/predict", json={"rows": [INSIDE]}).status_code == 200  # token cached, warm
            holder = sqlite3.connect(str(tmp_path / "glassline.db"), isolation_level=None, timeout=1)
            holder.execute("BEGIN EXCLUSIVE")  # another writer holds the file's write lock
            answers: list[int] = []

            def predict(client: httpx.Client = client, answers: list[int] = answers) -> None:
                answers.append(client.post("/v1/predict", json={"rows": [INSIDE]}).status_code)

            waiting = threading.Thread(target=predict)
            try:
                waiting.start()
                time.sleep(0.3)  # the prediction is now waiting for the lock in a worker thread
                assert waiting.is_alive(), "the prediction should wait for the audit lock"
                assert not answers
                took = []
                for _ in range(5):
                    began = time.perf_counter()
                    # the lock is held for as long as the test likes: a /healthz that waited for it would time out
                    health = httpx.get(f"{running.url}/healthz", timeout=2)
                    took.append(time.perf_counter() - began)
                    assert health.status_code == 200
                # typical answers are milliseconds; the median bound leaves room for a loaded CI machine's spikes
                assert sorted(took)[len(took) // 2] < 0.5, took
                began = time.perf_counter()
                ready = httpx.get(f"{running.url}/readyz", timeout=5)
                assert ready.status_code in (200, 503)  # may say not ready; must answer
                assert time.perf_counter() - began < 4  # readyz gives the database 2 s
                # the lock is still held: the prediction has waited its AUDIT_WRITE_SECONDS and is refused
                waiting.join(AUDIT_WRITE_SECONDS + 10)
                assert answers == [503], "the prediction must not be answered before its record is committed"
            finally:
                holder.execute("ROLLBACK")
                holder.close()
            assert client.post("/v1/predict", json={"rows": [INSIDE]}).status_code == 200  # lock released
