"""One corrupt record (a payload that is not a JSON object): verify names it, readers raise a StoreError naming
it, and neither ``audit verify`` nor ``audit show`` ends in a traceback."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from test_log import tamper

from glassline.audit import AuditLog, prediction_frame, verify_chain
from glassline.cli import main
from glassline.exceptions import StoreError


def corrupt_log(url: str, open_log: Callable[[str], AuditLog], payload: str = "{not json") -> AuditLog:
    log = open_log(url)
    for i in range(4):
        log.append("prediction", "operator:test", {"model": {"name": "m", "version": "1"}, "i": i})
    tamper(log, f"UPDATE glassline_audit SET payload = '{payload}' WHERE seq = 3")
    return log


@pytest.mark.parametrize(
    ("payload", "what"),
    [
        ("{not json", "payload is not valid JSON"),
        ("[1, 2]", "payload is not a JSON object"),
        ('{"x": NaN}', "payload is not valid JSON"),
        ('{"x": 1e999}', "payload is not valid JSON"),
    ],
)
def test_verify_names_the_corrupt_record(
    tmp_path: Path, open_log: Callable[[str], AuditLog], payload: str, what: str
) -> None:
    log = corrupt_log(f"sqlite:///{(tmp_path / 'a.db').as_posix()}", open_log, payload)
    report = verify_chain(log)
    assert not report.ok
    assert report.first_broken == 3
    assert what in report.reason


def test_readers_raise_a_store_error_naming_the_record(tmp_path: Path, open_log: Callable[[str], AuditLog]) -> None:
    truncated = '{"model":{"name":"m","version":"1"},"i":'  # a write cut short: the model filter still matches
    log = corrupt_log(f"sqlite:///{(tmp_path / 'a.db').as_posix()}", open_log, truncated)
    with pytest.raises(StoreError, match=r"audit record 3: payload is not valid JSON .*glassline audit verify"):
        list(log.records())
    with pytest.raises(StoreError, match="audit record 3"):
        log.tail(5)
    with pytest.raises(StoreError, match="audit record 3"):
        prediction_frame(log, "m")
    assert [r.seq for r in log.records(seq_from=4)] == [4]  # the records around it stay readable
    assert [r.seq for r in log.tail(1)] == [4]


def test_a_corrupt_stop_record_is_not_skipped(tmp_path: Path, open_log: Callable[[str], AuditLog]) -> None:
    log = open_log(f"sqlite:///{(tmp_path / 'a.db').as_posix()}")
    log.append("stop", "engineer:x", {"reason": "lot change"})
    tamper(log, "UPDATE glassline_audit SET payload = 'garbage' WHERE seq = 1")
    with pytest.raises(StoreError, match="audit record 1: payload is not valid JSON"):
        log.oversight_after(0)


def test_cli_verify_and_show_exit_1_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], open_log: Callable[[str], AuditLog]
) -> None:
    url = f"sqlite:///{(tmp_path / 'a.db').as_posix()}"
    corrupt_log(url, open_log)
    for args in (["audit", "verify"], ["audit", "show"], ["audit", "show", "--json"]):
        with pytest.raises(SystemExit) as exit_:
            main([*args, "--db", url])
        assert exit_.value.code == 1
        captured = capsys.readouterr()
        err = captured.err.strip()
        assert "Traceback" not in err
        assert len(err.splitlines()) == 1, err
        assert "record 3" in err
        assert "payload is not valid JSON" in err
