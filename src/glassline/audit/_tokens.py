"""API tokens and the roles they carry; only a token's SHA-256 is stored."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import Engine, insert, select

from glassline.audit._database import tokens_table

__all__ = ["Role", "TokenStore"]


class Role(StrEnum):
    """Roles in increasing power: each includes the rights of the ones before it."""

    operator = "operator"  # predict, override
    engineer = "engineer"  # + feedback, stop/start
    admin = "admin"  # + tokens

    @property
    def rank(self) -> int:
        return list(Role).index(self)

    def allows(self, needed: Role) -> bool:
        return self.rank >= needed.rank


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class TokenStore:
    """API tokens: only their SHA-256 is stored (the token is 256 random bits, so no salt is needed).

    :meth:`role_of` asks the database (blocking: the service calls it in a worker thread) and remembers
    the answer; :meth:`known_role` answers from that memory alone.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._cache: dict[str, Role] = {}

    def create(self, role: Role, label: str = "") -> str:
        token = "gl_" + secrets.token_urlsafe(32)
        with self.engine.begin() as conn:
            conn.execute(
                insert(tokens_table).values(
                    token_sha256=_digest(token), role=role.value, label=label, created_at=datetime.now(UTC)
                )
            )
        return token

    def known_role(self, token: str) -> Role | None:
        """The role of a token already looked up, without touching the database (None: not looked up yet)."""
        return self._cache.get(_digest(token))

    def role_of(self, token: str) -> Role | None:
        """The token's role, or None for a token the store does not hold."""
        digest = _digest(token)
        cached = self._cache.get(digest)
        if cached is not None:
            return cached
        with self.engine.connect() as conn:
            row = conn.execute(select(tokens_table.c.role).where(tokens_table.c.token_sha256 == digest)).first()
        if row is None:
            return None
        role = Role(row[0])
        self._cache[digest] = role
        return role
