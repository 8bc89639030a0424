"""``glassline token create|list|revoke``: expiry, the --json list, one-line errors with exit code 1, audit records."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from glassline.audit import AuditLog, Role, TokenStore, connect
from glassline.cli import main


def run(args: list[str]) -> int:
    with pytest.raises(SystemExit) as info:
        main(args)
    return int(info.value.code or 0)


def one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def listed(home: Path, capsys: pytest.CaptureFixture[str]) -> list[dict[str, object]]:
    assert run(["token", "list", "--json", "--home", str(home)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert isinstance(data, list)
    return data


def test_create_list_revoke(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    home = tmp_path / "ws"
    assert listed(home, capsys) == []
    assert run(["token", "create", "--role", "engineer", "--label", "line 2", "--home", str(home)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "created engineer token 1 for line 2" in out[0]
    token = out[-1]
    assert token.startswith("gl_")
    assert run(["token", "create", "--role", "operator", "--expires", "30d", "--home", str(home)]) == 0
    assert "valid until" in capsys.readouterr().out

    rows = listed(home, capsys)
    assert [list(r) for r in rows] == [["id", "label", "role", "created", "expires", "revoked"]] * 2
    assert [(r["id"], r["role"], r["label"], r["revoked"]) for r in rows] == [
        (1, "engineer", "line 2", None),
        (2, "operator", "", None),
    ]
    assert rows[0]["expires"] is None
    assert isinstance(rows[1]["expires"], str)

    assert run(["token", "list", "--home", str(home)]) == 0
    table = capsys.readouterr().out
    for heading in ("id", "label", "role", "created", "expires", "revoked", "line 2"):
        assert heading in table

    assert run(["token", "revoke", "1", "--home", str(home)]) == 0
    said = capsys.readouterr().out.strip().splitlines()
    assert len(said) == 1
    assert said[0].startswith("token 1 (engineer, line 2) revoked at ")
    assert isinstance(listed(home, capsys)[0]["revoked"], str)
    assert run(["token", "revoke", "1", "--home", str(home)]) == 0
    assert "already revoked" in capsys.readouterr().out

    engine = connect(f"sqlite:///{(home / 'glassline.db').as_posix()}")
    try:
        assert TokenStore(engine).role_of(token) is None
        log = AuditLog(engine)
        kinds = [(r.kind, r.payload.get("id")) for r in log.records(["token_created", "token_revoked"])]
        assert kinds == [("token_created", 1), ("token_created", 2), ("token_revoked", 1)]  # a repeat is no change
        created = log.tail(1, kind="token_created")[0].payload
        assert created["expires"] == rows[1]["expires"]
        assert token not in json.dumps([r.payload for r in log.records()])
    finally:
        engine.dispose()
    assert run(["audit", "show", "--kind", "token_revoked", "--home", str(home)]) == 0
    assert "engineer token 1 revoked" in capsys.readouterr().out


@pytest.mark.parametrize("value", ["30", "30s", "0d", "-3d", "1.5h", "soon"])
def test_bad_expiry_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str], value: str) -> None:
    assert run(["token", "create", "--role", "operator", "--expires", value, "--home", str(tmp_path)]) == 1
    line = one_error_line(capsys.readouterr().err)
    assert "--expires" in line
    assert "30d" in line
    assert not (tmp_path / "glassline.db").exists()  # refused before the database is opened


def test_unknown_id_is_one_line_with_the_closest(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    engine = connect(f"sqlite:///{(tmp_path / 'glassline.db').as_posix()}")
    store = TokenStore(engine)
    for _ in range(25):
        store.issue(Role.operator)
    engine.dispose()
    assert run(["token", "revoke", "41", "--home", str(tmp_path)]) == 1
    line = one_error_line(capsys.readouterr().err)
    assert "no token has id 41" in line
    assert "the nearest of 25 ids are 21, 22, 23, 24, 25" in line
    assert run(["token", "revoke", "abc", "--home", str(tmp_path)]) == 1
    line = one_error_line(capsys.readouterr().err)
    assert "whole number" in line
    assert "'abc'" in line


def test_bad_role_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["token", "create", "--role", "king", "--home", str(tmp_path)]) == 1
    assert "--role" in one_error_line(capsys.readouterr().err)
