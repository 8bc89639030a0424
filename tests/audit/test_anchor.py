"""Anchors: a truncated, emptied, or rewritten-and-rehashed log verifies as a chain but fails against an anchor
kept apart from the database; a bad anchor file is one clear line."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import text
from test_log import tamper

from glassline.audit import AuditLog, read_anchor, verify_chain, write_anchor
from glassline.audit._log import _record_hash
from glassline.cli import main
from glassline.exceptions import StoreError


def filled(url: str, open_log: Callable[[str], AuditLog], n: int = 5) -> AuditLog:
    log = open_log(url)
    for i in range(n):
        log.append("prediction", "operator:test", {"i": i}, request_id=f"r{i}")
    return log


def rehash_from(log: AuditLog, seq: int, actor: str) -> None:
    """What a tamperer who knows the format does: rewrite record *seq* and recompute every hash after it."""
    tamper(log, f"UPDATE glassline_audit SET actor = '{actor}' WHERE seq = {seq}")
    with log.engine.connect() as conn:
        rows = conn.execute(text("SELECT * FROM glassline_audit ORDER BY seq")).mappings().all()
    prev = "0" * 64
    fixed = []
    for r in rows:
        digest = _record_hash(prev, r["seq"], r["created_at"], r["kind"], r["actor"], r["request_id"], r["payload"])
        fixed.append((r["seq"], prev, digest))
        prev = digest
    for s, p, h in fixed:
        tamper(log, f"UPDATE glassline_audit SET prev_hash = '{p}', hash = '{h}' WHERE seq = {s}")


def test_an_anchor_catches_truncation_emptying_and_rehashing(
    db_url: str, tmp_path: Path, open_log: Callable[[str], AuditLog]
) -> None:
    log = filled(db_url, open_log)
    anchor = write_anchor(log, tmp_path / "anchor.json", key=b"")
    assert (anchor.seq, anchor.count, anchor.hmac) == (5, 5, None)
    log.append("feedback", "engineer:x", {"row": 0})  # records after the anchor are fine
    report = verify_chain(log, anchor=read_anchor(tmp_path / "anchor.json", key=b""))
    assert report.ok
    assert report.anchored == 5
    assert "matches the anchor at record 5" in str(report)

    rehash_from(log, 2, "mallory")
    assert verify_chain(log).ok  # the chain alone is fooled
    report = verify_chain(log, anchor=anchor)
    assert not report.ok
    assert report.first_broken == 5
    assert "rewritten" in report.reason

    tamper(log, "DELETE FROM glassline_audit WHERE seq >= 4")
    assert verify_chain(log).ok
    report = verify_chain(log, anchor=anchor)
    assert (report.ok, report.first_broken) == (False, 5)
    assert "log ends at record 3 (truncated or emptied)" in report.reason

    tamper(log, "DELETE FROM glassline_audit")
    assert verify_chain(log).ok
    report = verify_chain(log, anchor=anchor)
    assert not report.ok
    assert "log ends at record 0" in report.reason


def test_an_anchor_of_an_empty_log(tmp_path: Path, open_log: Callable[[str], AuditLog]) -> None:
    log = open_log(f"sqlite:///{(tmp_path / 'a.db').as_posix()}")
    anchor = write_anchor(log, tmp_path / "anchor.json", key=b"")
    assert (anchor.seq, anchor.count) == (0, 0)
    assert verify_chain(log, anchor=anchor).ok


def test_a_signed_anchor_is_checked_with_the_key(tmp_path: Path, open_log: Callable[[str], AuditLog]) -> None:
    log = filled(f"sqlite:///{(tmp_path / 'a.db').as_posix()}", open_log)
    path = tmp_path / "anchor.json"
    anchor = write_anchor(log, path, key=b"secret")
    assert anchor.hmac is not None
    assert read_anchor(path, key=b"secret") == anchor
    with pytest.raises(StoreError, match="HMAC does not match"):
        read_anchor(path, key=b"other")
    data = json.loads(path.read_text())
    data["seq"] = 3  # moved back to fit a truncated log
    path.write_text(json.dumps(data))
    with pytest.raises(StoreError, match="HMAC does not match"):
        read_anchor(path, key=b"secret")
    data["hmac"] = None  # or the signature stripped
    path.write_text(json.dumps(data))
    with pytest.raises(StoreError, match="not signed"):
        read_anchor(path, key=b"secret")


def test_cli_anchor_and_verify(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    open_log: Callable[[str], AuditLog],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GLASSLINE_AUDIT_KEY", "k3y")
    url = f"sqlite:///{(tmp_path / 'cli.db').as_posix()}"
    log = filled(url, open_log, 3)
    out = tmp_path / "kept-elsewhere" / "anchor.json"
    out.parent.mkdir()

    def run(*args: str) -> tuple[int, str, str]:
        with pytest.raises(SystemExit) as exit_:
            main(list(args))
        captured = capsys.readouterr()
        return int(exit_.value.code or 0), captured.out, captured.err.strip()

    code, stdout, _ = run("audit", "anchor", "--out", str(out), "--db", url)
    assert code == 0
    assert "anchored record 3 (3 records, signed with $GLASSLINE_AUDIT_KEY)" in stdout
    assert json.loads(out.read_text())["hmac"]
    code, stdout, _ = run("audit", "verify", "--anchor", str(out), "--db", url)
    assert (code, "audit chain OK: 3 records; matches the anchor at record 3" in stdout) == (0, True)

    tamper(log, "DELETE FROM glassline_audit WHERE seq = 3")
    code, _, err = run("audit", "verify", "--db", url)
    assert code == 0  # without the anchor the truncation goes unseen
    code, _, err = run("audit", "verify", "--anchor", str(out), "--db", url)
    assert code == 1
    assert len(err.splitlines()) == 1, err
    assert "broken at record 3: missing" in err
    assert "anchor.json" in err

    for content, what in (
        (None, "no such file"),
        ("{", "not valid JSON"),
        ('{"format": "x"}', "expected format 'glassline-audit-anchor/1'"),
        ('{"format": "glassline-audit-anchor/1", "seq": -1}', "field 'seq' is invalid"),
    ):
        bad = tmp_path / "bad.json"
        bad.unlink(missing_ok=True)
        if content is not None:
            bad.write_text(content)
        code, _, err = run("audit", "verify", "--anchor", str(bad), "--db", url)
        assert code == 1
        assert len(err.splitlines()) == 1, err
        assert "Traceback" not in err
        assert f"anchor {bad}" in err.replace("\n", "")
        assert what in err
    code, _, err = run("audit", "anchor", "--out", str(tmp_path / "nope" / "a.json"), "--db", url)
    assert code == 1
    assert "does not exist" in err


def test_no_anchor_for_a_broken_chain(tmp_path: Path, open_log: Callable[[str], AuditLog]) -> None:
    log = filled(f"sqlite:///{(tmp_path / 'a.db').as_posix()}", open_log)
    tamper(log, "UPDATE glassline_audit SET actor = 'mallory' WHERE seq = 2")
    with pytest.raises(StoreError, match=r"not written: audit chain broken at record 2"):
        write_anchor(log, tmp_path / "anchor.json", key=b"")
    assert not (tmp_path / "anchor.json").exists()
