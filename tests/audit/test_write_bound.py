"""An audit write waits at most AUDIT_WRITE_SECONDS for another writer's lock, on SQLite (busy timeout) and on
PostgreSQL (lock_timeout and statement_timeout), then fails naming the lock; nothing is written; the probe agrees."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from glassline.audit import AUDIT_WRITE_SECONDS, AuditLog, write_failure
from glassline.exceptions import StoreError

#: What a loaded 2-core CI machine may add to the bound the code enforces.
SLACK = 1.5


@contextmanager
def outside_lock(url: str) -> Iterator[None]:
    """Another process's writer holding the audit table's write lock (SQLite: the file's; PostgreSQL: the table's)."""
    if url.startswith("sqlite"):
        holder = sqlite3.connect(str(make_url(url).database), isolation_level=None, timeout=1)
        holder.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        return
    engine = create_engine(url)
    try:
        with engine.connect() as conn, conn.begin():
            conn.execute(text("LOCK TABLE glassline_audit IN EXCLUSIVE MODE"))
            yield
    finally:
        engine.dispose()


def test_a_write_under_an_outside_lock_fails_within_the_bound(db_url: str, open_log: Callable[[str], AuditLog]) -> None:
    log = open_log(db_url)
    log.append("start", "test", {"reason": "before"})
    with outside_lock(db_url):
        began = time.perf_counter()
        with pytest.raises(StoreError, match="locked by another writer") as raised:
            log.append("prediction", "test", {"x": 1}, "r-locked")
        took = time.perf_counter() - began
        assert write_failure(raised.value) == "locked"
        assert log.writable is not None
        assert not log.writable.ok
        assert log.writable.cause == "locked"
        began = time.perf_counter()
        assert log.probe().cause == "locked"
        probed = time.perf_counter() - began
    assert AUDIT_WRITE_SECONDS - 0.2 < took < AUDIT_WRITE_SECONDS + SLACK, took
    assert probed < AUDIT_WRITE_SECONDS + SLACK, probed
    assert log.probe().ok  # the lock is gone
    assert log.find("r-locked") is None  # nothing was written
    assert log.append("prediction", "test", {"x": 1}, "r-after").seq == 2
    assert log.writable is not None
    assert log.writable.ok
