"""Tokens through Python: create with an expiry, list, revoke; the role cache expires; old databases upgrade."""

from __future__ import annotations

import sqlite3
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from glassline.audit import ROLE_CACHE_SECONDS, Role, TokenInfo, TokenStore, connect, parse_lifetime
from glassline.exceptions import SpecError, UnknownNameError


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30d", timedelta(days=30)),
        ("12h", timedelta(hours=12)),
        ("90m", timedelta(minutes=90)),
        ("36500d", timedelta(days=36500)),
        (" 1d ", timedelta(days=1)),
    ],
)
def test_lifetimes(text: str, expected: timedelta) -> None:
    assert parse_lifetime(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "30",
        "d",
        "0d",
        "-1d",
        "1.5h",
        "30s",
        "1w",
        "3 d",
        "1e3d",
        "36501d",
        "876001h",
        "999999999d",
        "99999999999999d",
    ],
)
def test_bad_lifetimes_are_one_clear_line(text: str) -> None:
    with pytest.raises(SpecError) as info:
        parse_lifetime(text)
    message = str(info.value)
    assert message.startswith("--expires: ")
    assert "\n" not in message
    assert repr(text) in message


def test_create_list_revoke(db_url: str) -> None:
    engine = connect(db_url)
    try:
        store = TokenStore(engine)
        forever = store.issue(Role.operator, "line 1")
        month = store.issue(Role.engineer, "line 2", lifetime=timedelta(days=30))
        listed = store.list()
        assert [t.id for t in listed] == [forever.id, month.id]
        first, second = listed
        assert isinstance(first, TokenInfo)
        assert (first.label, first.role, first.expires, first.revoked) == ("line 1", Role.operator, None, None)
        assert second.expires is not None
        assert second.expires == month.expires
        assert timedelta(days=29, hours=23) < second.expires - second.created <= timedelta(days=30)
        assert first.active()
        assert second.active()
        assert store.role_of(forever.token) is Role.operator
        assert store.known_role(forever.token) is Role.operator

        revoked = store.revoke(forever.id)
        assert revoked.revoked is not None
        assert not revoked.active()
        assert store.known_role(forever.token) is None  # this process: at once
        assert store.role_of(forever.token) is None
        assert store.role_of(month.token) is Role.engineer
        again = store.revoke(forever.id)  # idempotent: the first revocation time stays
        assert again.revoked == revoked.revoked
        assert as_dict_keys(store.list()[0]) == ["id", "label", "role", "created", "expires", "revoked"]
    finally:
        engine.dispose()


def as_dict_keys(info: TokenInfo) -> list[str]:
    return list(info.as_dict())


def test_unknown_id_names_the_ids(db_url: str) -> None:
    engine = connect(db_url)
    try:
        store = TokenStore(engine)
        ids = [store.issue(Role.operator).id for _ in range(3)]
        with pytest.raises(UnknownNameError) as info:
            store.revoke(ids[-1] + 100)
        message = str(info.value)
        assert f"no token has id {ids[-1] + 100}" in message
        assert f"the ids are {', '.join(map(str, ids))}" in message
        assert "\n" not in message
        assert isinstance(info.value, KeyError)
    finally:
        engine.dispose()


def test_expired_token_is_refused_at_once_even_when_cached(db_url: str) -> None:
    engine = connect(db_url)
    try:
        store = TokenStore(engine, cache_seconds=60)  # even a long cache honours the expiry
        issued = store.issue(Role.operator, lifetime=timedelta(seconds=1))
        assert store.role_of(issued.token) is Role.operator
        assert store.known_role(issued.token) is Role.operator
        time.sleep(max(0.0, (issued.expires - datetime.now(UTC)).total_seconds()) + 0.05)  # type: ignore[operator]
        assert store.known_role(issued.token) is None
        assert store.role_of(issued.token) is None
        assert not store.list()[0].active()
    finally:
        engine.dispose()


def test_revocation_by_another_process_reaches_a_cached_role(db_url: str) -> None:
    """Two stores on one database (as two processes): the cached role lives at most ROLE_CACHE_SECONDS."""
    first, second = connect(db_url), connect(db_url)
    try:
        serving, admin = TokenStore(first), TokenStore(second)
        issued = admin.issue(Role.engineer)
        assert serving.role_of(issued.token) is Role.engineer
        admin.revoke(issued.id)
        began = time.monotonic()
        while serving.known_role(issued.token) is not None:
            time.sleep(0.01)
        assert time.monotonic() - began <= ROLE_CACHE_SECONDS + 0.05
        assert serving.role_of(issued.token) is None
        assert ROLE_CACHE_SECONDS <= 1.0
    finally:
        first.dispose()
        second.dispose()


def test_bad_lifetime_through_python(tmp_path: Path) -> None:
    engine = connect(f"sqlite:///{tmp_path / 'a.db'}")
    try:
        with pytest.raises(SpecError, match="positive duration"):
            TokenStore(engine).issue(Role.operator, lifetime=timedelta(0))
    finally:
        engine.dispose()


def test_a_database_from_before_expiry_is_upgraded(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old = sqlite3.connect(path)
    old.execute(
        "CREATE TABLE glassline_tokens (id INTEGER PRIMARY KEY AUTOINCREMENT, "
        "token_sha256 VARCHAR(64) NOT NULL UNIQUE, role VARCHAR(16) NOT NULL, label VARCHAR(200) NOT NULL, "
        "created_at DATETIME NOT NULL)"
    )
    old.execute(
        "INSERT INTO glassline_tokens (token_sha256, role, label, created_at) VALUES ('ab', 'admin', 'old', "
        "'2026-05-04 10:00:00.000000')"
    )
    old.commit()
    old.close()
    for _ in range(2):  # idempotent
        engine = connect(f"sqlite:///{path}")
        try:
            (info,) = TokenStore(engine).list()
            assert (info.id, info.role, info.label, info.expires, info.revoked) == (1, Role.admin, "old", None, None)
            assert info.created == datetime(2026, 5, 4, 10, tzinfo=UTC)
        finally:
            engine.dispose()
