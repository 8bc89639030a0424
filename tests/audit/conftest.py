"""Audit fixtures: one database URL per backend (SQLite, and a real PostgreSQL when one can be started)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from glassline.audit import AuditLog, connect


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{(tmp_path / 'audit.db').as_posix()}"
        return
    url = request.getfixturevalue("postgres_url")
    engine = connect(url)
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE glassline_audit, glassline_tokens"))  # TRUNCATE fires no row trigger
    engine.dispose()
    yield url


@pytest.fixture
def open_log() -> Iterator[Callable[..., AuditLog]]:
    """AuditLog factory whose engines are disposed after the test (no connection left to the garbage collector);
    keyword arguments go to :class:`AuditLog` (``write_seconds``)."""
    logs: list[AuditLog] = []

    def make(url: str, **options: float) -> AuditLog:
        logs.append(AuditLog(connect(url), **options))
        return logs[-1]

    yield make
    for log in logs:
        log.engine.dispose()
