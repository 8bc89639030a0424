"""The audit log: append-only hash chain, the first broken record reported, on SQLite and on a real PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from glassline.audit import AuditLog, connect, verify_chain
from glassline.cli import main


def tamper(log: AuditLog, statement: str) -> None:
    """What a tamperer with database rights does: drop the append-only guard, then edit."""
    with log.engine.begin() as conn:
        if log.engine.dialect.name == "sqlite":
            conn.execute(text("DROP TRIGGER IF EXISTS glassline_audit_no_update"))
            conn.execute(text("DROP TRIGGER IF EXISTS glassline_audit_no_delete"))
        else:
            conn.execute(text("ALTER TABLE glassline_audit DISABLE TRIGGER glassline_audit_no_change"))
        conn.execute(text(statement))
        if log.engine.dialect.name != "sqlite":
            conn.execute(text("ALTER TABLE glassline_audit ENABLE TRIGGER glassline_audit_no_change"))


def test_the_database_refuses_update_and_delete(db_url: str, open_log: Callable[[str], AuditLog]) -> None:
    log = open_log(db_url)
    log.append("prediction", "operator:test", {"value": 1.0})
    for statement in ("UPDATE glassline_audit SET actor = 'x'", "DELETE FROM glassline_audit"):
        with pytest.raises(DBAPIError, match="append-only"), log.engine.begin() as conn:
            conn.execute(text(statement))
    assert verify_chain(log).ok


def test_chain_verifies_and_reports_the_first_edited_record(db_url: str, open_log: Callable[[str], AuditLog]) -> None:
    log = open_log(db_url)
    for i in range(5):
        log.append("prediction", "operator:test", {"value": i / 3, "text": "µm ±"}, request_id=f"r{i}")
    assert verify_chain(log).ok
    assert verify_chain(log).records == 5
    tamper(log, "UPDATE glassline_audit SET payload = '{\"value\": 9}' WHERE seq = 3")
    report = verify_chain(log)
    assert not report.ok
    assert report.first_broken == 3
    assert "edited" in str(report)


def test_deleted_record_breaks_the_chain(db_url: str, open_log: Callable[[str], AuditLog]) -> None:
    log = open_log(db_url)
    for i in range(4):
        log.append("feedback", "engineer:test", {"i": i})
    tamper(log, "DELETE FROM glassline_audit WHERE seq = 2")
    report = verify_chain(log)
    assert report.first_broken == 3
    assert "sequence gap" in report.reason


def test_concurrent_writers_keep_one_chain(db_url: str, open_log: Callable[..., AuditLog]) -> None:
    """Two logs (two services on one database) and several threads: no fork, no duplicate sequence number.

    The write bound is generous here: what is tested is the chain, not the time (on a busy machine four threads
    queueing for one lock can pass the service's 1.5 s bound; tests/audit/test_write_bound.py tests the bound)."""
    logs = [open_log(db_url, write_seconds=120.0), open_log(db_url, write_seconds=120.0)]

    def write(log: AuditLog, k: int) -> None:
        for i in range(15):
            log.append("prediction", f"t{k}", {"i": i})

    threads = [threading.Thread(target=write, args=(logs[k % 2], k)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    report = verify_chain(logs[0])
    assert report.ok, str(report)
    assert report.records == 60


def test_cli_audit_verify(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], open_log: Callable[[str], AuditLog]
) -> None:
    url = f"sqlite:///{(tmp_path / 'cli.db').as_posix()}"
    log = open_log(url)
    log.append("stop", "engineer:x", {"reason": "r"})
    log.append("start", "engineer:x", {"reason": "r"})
    with pytest.raises(SystemExit) as ok:
        main(["audit", "verify", "--db", url])
    assert ok.value.code == 0
    assert "audit chain OK: 2 records" in capsys.readouterr().out
    tamper(log, "UPDATE glassline_audit SET actor = 'mallory' WHERE seq = 1")
    with pytest.raises(SystemExit) as exit_:
        main(["audit", "verify", "--db", url])
    assert exit_.value.code == 1
    assert "broken at record 1" in capsys.readouterr().err


def test_cli_token_create_prints_the_token_last(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["token", "create", "--role", "engineer", "--home", str(tmp_path)])
    token = capsys.readouterr().out.strip().splitlines()[-1]
    assert token.startswith("gl_")
    from glassline.audit import Role, TokenStore
    from glassline.registry import database_url

    engine = connect(database_url(tmp_path))
    assert TokenStore(engine).role_of(token) is Role.engineer
    engine.dispose()
    with pytest.raises(SystemExit):
        main(["token", "create", "--role", "boss", "--home", str(tmp_path)])
    assert (
        "expected one of ['operator', 'technician', 'engineer', 'manager', 'quality', 'admin']"
        in capsys.readouterr().err
    )


def test_unreachable_database_is_one_clear_error() -> None:
    from glassline.exceptions import StoreError

    with pytest.raises(StoreError, match="cannot open the database"):
        connect("postgresql+psycopg://nobody:secret@127.0.0.1:1/none?connect_timeout=2")


@pytest.mark.parametrize(
    ("kind", "payload", "expected"),
    [
        (
            "prediction",
            {"predictions": [1.23456, 2.0], "fallback": [None, "flag"]},
            "2 row(s) → 1.235, 2 (fallback flag)",
        ),
        ("prediction_refused", {"rows": [[1, 2]], "outside": [0]}, "1 row(s) refused: outside the domain"),
        ("prediction_refused", {"rows": [[1, 2]], "non_finite": [0]}, "1 row(s) refused: no finite prediction"),
        (
            "model_published",
            {"name": "m", "version": "3", "alias": "prod", "family": "xgb", "target": "y", "scenario": "s"},
            "m v3 @prod (xgb: y / s)",
        ),
        ("model_loaded", {"name": "m", "version": "3", "fallback": "refuse"}, "m v3, fallback refuse"),
        ("override", {"row": 0, "value": 340.0, "reason": "gauge"}, "row 0 := 340.0 (gauge)"),
        ("feedback", {"row": 1, "measured": 2.5}, "row 1 measured 2.5"),
        ("stop", {"reason": "lot change"}, "lot change"),
        ("token_created", {"role": "admin", "label": "ops"}, "admin token for ops"),
        ("something_new", {"a": 1}, '{"a": 1}'),
    ],
)
def test_audit_show_says_what_each_record_is_about(kind: str, payload: dict[str, object], expected: str) -> None:
    from glassline.cli._serve import _summary

    assert _summary(kind, payload) == expected
