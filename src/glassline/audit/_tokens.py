"""API tokens and the roles they carry; only a token's SHA-256 is stored. Tokens can expire and be revoked."""

from __future__ import annotations

import builtins
import hashlib
import re
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Engine, insert, select, update

from glassline.audit._database import read, tokens_table, utc
from glassline.exceptions import SpecError, StoreError, UnknownNameError

__all__ = ["ROLE_CACHE_SECONDS", "IssuedToken", "Role", "TokenInfo", "TokenStore", "parse_lifetime"]

#: How long a process trusts a role it looked up: a token revoked (or created) by any process takes
#: effect on every process within this many seconds; an expiry takes effect at once (checked per request).
ROLE_CACHE_SECONDS = 0.5


class Role(StrEnum):
    """Who a token is for, and what it may do.

    The API's three original roles are ranked: operator < engineer < admin, each including the rights of the
    ones before it. The dashboard (:mod:`glassline.ui`) adds three more, placed beside that rank rather than
    in it: a *technician* has an operator's rights (predict, override) and the monitoring view; a *manager*
    and *quality* (the quality or compliance officer) read their own dashboards and the audit records and may
    not predict, override or stop. An engineer includes the technician's, manager's and quality's views;
    an admin includes every role. :meth:`allows` answers "may a token of this role do what *needed* may?".
    """

    operator = "operator"  # predict, override
    technician = "technician"  # an operator's rights + the monitoring view
    engineer = "engineer"  # + feedback, stop/start
    manager = "manager"  # the manager's view only
    quality = "quality"  # model cards, evidence map, audit log browse, export and verify
    admin = "admin"  # + tokens

    @property
    def rank(self) -> int:
        """The position in operator < engineer < admin; a technician ranks as an operator, a manager and quality
        below an operator (they may not predict)."""
        return _RANK[self]

    @property
    def includes(self) -> frozenset[Role]:
        """The roles whose rights this one has (itself included)."""
        return _INCLUDES[self]

    def allows(self, needed: Role) -> bool:
        return needed in _INCLUDES[self]


_RANK = {
    Role.manager: -1,
    Role.quality: -1,
    Role.operator: 0,
    Role.technician: 0,
    Role.engineer: 1,
    Role.admin: 2,
}
_INCLUDES: dict[Role, frozenset[Role]] = {
    Role.operator: frozenset({Role.operator}),
    Role.technician: frozenset({Role.operator, Role.technician}),
    Role.manager: frozenset({Role.manager}),
    Role.quality: frozenset({Role.quality}),
    Role.engineer: frozenset({Role.operator, Role.technician, Role.engineer, Role.manager, Role.quality}),
    Role.admin: frozenset(Role),
}


#: The longest lifetime a token can be given (a longer one is almost certainly a typo; omit it for no expiry).
MAX_LIFETIME = timedelta(days=36500)

_LIFETIME = re.compile(r"(\d+)([dhm])")
_UNITS = {"d": "days", "h": "hours", "m": "minutes"}


def parse_lifetime(text: str, *, field: str = "--expires") -> timedelta:
    """``"30d"``, ``"12h"`` or ``"90m"`` as a duration; :class:`SpecError` naming *field* otherwise."""
    match = _LIFETIME.fullmatch(text.strip())
    if match is None or int(match.group(1)) == 0:
        raise SpecError(
            f"{field}: expected a positive whole number of days, hours or minutes such as 30d, 12h or 90m, got {text!r}"
        )
    try:
        lifetime = timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    except OverflowError:
        lifetime = None
    if lifetime is None or lifetime > MAX_LIFETIME:
        raise SpecError(f"{field}: expected at most {MAX_LIFETIME.days}d (100 years), got {text!r}")
    return lifetime


@dataclass(frozen=True)
class TokenInfo:
    """One stored token, as ``glassline token list`` shows it (the token itself is never stored)."""

    id: int
    label: str
    role: Role
    created: datetime
    expires: datetime | None
    revoked: datetime | None

    def active(self, now: datetime | None = None) -> bool:
        """Neither revoked nor expired at *now* (default: the current time)."""
        moment = now or datetime.now(UTC)
        return self.revoked is None and (self.expires is None or moment < self.expires)

    def as_dict(self) -> dict[str, Any]:
        def iso(t: datetime | None) -> str | None:
            return None if t is None else t.isoformat(timespec="seconds")

        return {
            "id": self.id,
            "label": self.label,
            "role": self.role.value,
            "created": iso(self.created),
            "expires": iso(self.expires),
            "revoked": iso(self.revoked),
        }


@dataclass(frozen=True)
class IssuedToken:
    """A token just created: shown once, only its hash is kept."""

    id: int
    token: str
    role: Role
    label: str
    expires: datetime | None

    def payload(self) -> dict[str, Any]:
        """The ``token_created`` audit record's payload: id, role, label and expiry (never the token)."""
        expires = None if self.expires is None else self.expires.isoformat(timespec="seconds")
        return {"id": self.id, "role": self.role.value, "label": self.label, "expires": expires}


@dataclass(frozen=True)
class _Cached:
    role: Role
    expires: datetime | None
    until: float  # time.monotonic() after which the entry is looked up again


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


_ROLE_OF = "SELECT role, expires_at, revoked_at FROM glassline_tokens WHERE token_sha256 = :digest"


class TokenStore:
    """API tokens: only their SHA-256 is stored (the token is 256 random bits, so no salt is needed).

    :meth:`role_of` asks the database (blocking: the service calls it in a worker thread) and remembers
    the answer for :data:`ROLE_CACHE_SECONDS`; :meth:`known_role` answers from that memory alone. So a
    revocation by any process reaches every process within that time, at the cost of one small read per
    token per interval; an expiry is compared with the clock on every request.
    """

    def __init__(self, engine: Engine, *, cache_seconds: float = ROLE_CACHE_SECONDS) -> None:
        self.engine = engine
        self.cache_seconds = cache_seconds
        self._cache: dict[str, _Cached] = {}
        self._lock = threading.Lock()

    def issue(self, role: Role, label: str = "", *, lifetime: timedelta | None = None) -> IssuedToken:
        """A new token for *role*, valid for *lifetime* (None: until revoked)."""
        if lifetime is not None and not timedelta(0) < lifetime <= MAX_LIFETIME:
            raise SpecError(
                f"lifetime: expected a positive duration of at most {MAX_LIFETIME.days} days, got {lifetime}"
            )
        token = "gl_" + secrets.token_urlsafe(32)
        now = datetime.now(UTC)
        expires = None if lifetime is None else now + lifetime
        with self.engine.begin() as conn:
            result = conn.execute(
                insert(tokens_table).values(
                    token_sha256=_digest(token), role=role.value, label=label, created_at=now, expires_at=expires
                )
            )
            key = result.inserted_primary_key
        if key is None or key[0] is None:
            raise StoreError("the token table gave no id for the new token")
        return IssuedToken(int(key[0]), token, role, label, expires)

    def create(self, role: Role, label: str = "", *, lifetime: timedelta | None = None) -> str:
        """A new token for *role* (valid for *lifetime*, None: until revoked); see :meth:`issue` for its id."""
        return self.issue(role, label, lifetime=lifetime).token

    def list(self) -> builtins.list[TokenInfo]:
        """Every token ever created, oldest first, revoked and expired ones included."""
        c = tokens_table.c
        statement = select(c.id, c.label, c.role, c.created_at, c.expires_at, c.revoked_at).order_by(c.id)
        with self.engine.connect() as conn:
            rows = conn.execute(statement).all()
        return [
            TokenInfo(
                int(r[0]), str(r[1]), Role(r[2]), utc(r[3]) or datetime.min.replace(tzinfo=UTC), utc(r[4]), utc(r[5])
            )
            for r in rows
        ]

    def revoke(self, token_id: int) -> TokenInfo:
        """Revoke the token *token_id* (effective on every process within :data:`ROLE_CACHE_SECONDS`); the token
        as it now is. Revoking a revoked token keeps its first revocation time.
        :class:`~glassline.exceptions.UnknownNameError` for an id the store does not hold."""
        now = datetime.now(UTC)
        c = tokens_table.c
        with self.engine.begin() as conn:
            conn.execute(update(tokens_table).where(c.id == token_id, c.revoked_at.is_(None)).values(revoked_at=now))
        found = {t.id: t for t in self.list()}
        if token_id not in found:
            # ids are numbers: the nearest ones by value, not by spelling, are the likely mistypes
            if len(found) <= 20:
                known = f"the ids are {', '.join(map(str, found)) or 'none'}"
            else:
                nearest = sorted(sorted(found, key=lambda i: (abs(i - token_id), i))[:5])
                known = f"the nearest of {len(found)} ids are {', '.join(map(str, nearest))}"
            raise UnknownNameError(f"token id: no token has id {token_id}; {known} (glassline token list)")
        with self._lock:
            self._cache.clear()  # this process: at once; the others within ROLE_CACHE_SECONDS
        return found[token_id]

    def known_role(self, token: str) -> Role | None:
        """The role of a token looked up within :data:`ROLE_CACHE_SECONDS` and not expired since, without
        touching the database (None: look it up with :meth:`role_of`)."""
        entry = self._cache.get(_digest(token))
        if entry is None or time.monotonic() >= entry.until:
            return None
        if entry.expires is not None and datetime.now(UTC) >= entry.expires:
            return None
        return entry.role

    def role_of(self, token: str) -> Role | None:
        """The token's role, or None for a token the store does not hold, a revoked or an expired one."""
        digest = _digest(token)
        rows = read(self.engine, _ROLE_OF, {"digest": digest})
        if not rows:
            return None
        role_name, expires_at, revoked_at = rows[0]
        expires = utc(expires_at)
        if revoked_at is not None or (expires is not None and datetime.now(UTC) >= expires):
            with self._lock:
                self._cache.pop(digest, None)
            return None
        role = Role(role_name)
        with self._lock:
            self._cache[digest] = _Cached(role, expires, time.monotonic() + self.cache_seconds)
        return role
