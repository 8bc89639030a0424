"""Dashboard sessions, kept in the service's database so that every serve process on one database shares them.

Signing in with an API token creates a session (a random 256-bit id). The session table
(``glassline_ui_sessions``, created on the audit database) holds the SHA-256 of the session id (never the id),
the SHA-256 of the token (never the token, as the token table does), the token's first characters (the audit
log's actor name), the role, the CSRF token and the expiry. Every request re-checks the token's role against
the token table (a revoked or expired token ends its sessions within ``ROLE_CACHE_SECONDS``). The cookie
carries ``id.expiry.signature`` (HMAC-SHA256 with a key kept in the same database, so every process checks
every other's cookies), never the token; it is HttpOnly and SameSite=Strict. Every form carries the session's
synchronizer token (:attr:`Session.csrf`), checked in constant time. A restart signs nobody out; signing out
ends the session in every process.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Column, Engine, Float, MetaData, String, Table, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from glassline.audit import ROLE_CACHE_SECONDS, Role
from glassline.audit._database import tokens_table, utc
from glassline.exceptions import StoreError

__all__ = ["COOKIE", "LOGIN_COOKIE", "SESSION_SECONDS", "Session", "Sessions", "csrf_ok", "sessions_table"]

#: The session cookie's name.
COOKIE = "glassline_session"
#: The sign-in form's double-submit cookie (there is no session yet to hold a synchronizer token).
LOGIN_COOKIE = "glassline_login"
#: How long a session lasts after sign-in (8 hours: one shift).
SESSION_SECONDS = 8 * 3600

_metadata = MetaData()

#: One row per signed-in browser; the session id and the token appear only as their SHA-256.
sessions_table = Table(
    "glassline_ui_sessions",
    _metadata,
    Column("id_sha256", String(64), primary_key=True),
    Column("token_sha256", String(64), nullable=False, index=True),
    Column("token_prefix", String(16), nullable=False),
    Column("role", String(16), nullable=False),
    Column("csrf", String(64), nullable=False),
    Column("expires", Float, nullable=False, index=True),
)

#: The cookie-signing key, one row, created by the first process that needs it.
keys_table = Table(
    "glassline_ui_keys",
    _metadata,
    Column("name", String(32), primary_key=True),
    Column("secret", String(128), nullable=False),
)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class Session:
    """One signed-in browser: its id, its token's SHA-256 and first characters (to re-check the role and name
    the actor), the role it had, its CSRF token and expiry (``time.time()``)."""

    id: str
    token_sha256: str
    token_prefix: str
    role: Role
    csrf: str
    expires: float

    @property
    def actor(self) -> str:
        """Who the audit log names for this session's actions: the API's form, ``role:token-prefix…``."""
        return f"{self.role.value}:{self.token_prefix}…"

    def with_role(self, role: Role) -> Session:
        return Session(self.id, self.token_sha256, self.token_prefix, role, self.csrf, self.expires)


class Sessions:
    """The dashboards' sessions in the database of *engine* (the service's audit database).

    A session read from the database is remembered for *cache_seconds* (as the token store remembers a role),
    so a page costs no extra read; a sign-out or an expiry written by another process reaches this one within
    that time. At most *max_sessions* live sessions are kept (the oldest are ended beyond that).
    """

    def __init__(
        self,
        engine: Engine,
        *,
        lifetime: float = SESSION_SECONDS,
        cache_seconds: float = ROLE_CACHE_SECONDS,
        max_sessions: int = 10_000,
    ) -> None:
        self.engine = engine
        self.lifetime = lifetime
        self.cache_seconds = cache_seconds
        self.max_sessions = max_sessions
        try:
            _metadata.create_all(engine)
            self._secret = self._key()
        except SQLAlchemyError as exc:
            raise StoreError(f"the dashboards' session table could not be created or read: {exc}") from exc
        self._cache: dict[str, tuple[float, Session]] = {}
        self._roles: dict[str, tuple[float, Role | None]] = {}
        self._lock = threading.Lock()

    def _key(self) -> bytes:
        """The signing key all processes on this database share (the first one to ask creates it)."""
        statement = select(keys_table.c.secret).where(keys_table.c.name == "cookie")
        with self.engine.connect() as conn:
            found = conn.execute(statement).scalar()
        if found is None:
            # another process may create it at the same moment: then its key is the one read below
            with contextlib.suppress(IntegrityError), self.engine.begin() as conn:
                conn.execute(insert(keys_table).values(name="cookie", secret=secrets.token_hex(32)))
        with self.engine.connect() as conn:
            found = conn.execute(statement).scalar()
        if found is None:
            raise StoreError("the dashboards' cookie key could not be stored")
        return bytes.fromhex(str(found))

    def _sign(self, text: str) -> str:
        return hmac.new(self._secret, text.encode(), hashlib.sha256).hexdigest()

    def create(self, token: str, role: Role) -> tuple[str, Session]:
        """A new session for *token* (of *role*); its cookie value and the session."""
        sid = secrets.token_urlsafe(32)
        expires = time.time() + self.lifetime
        session = Session(sid, _digest(token), token[:7], role, secrets.token_urlsafe(32), expires)
        c = sessions_table.c
        with self.engine.begin() as conn:
            conn.execute(delete(sessions_table).where(c.expires <= time.time()))
            live = int(conn.execute(select(func.count()).select_from(sessions_table)).scalar() or 0)
            if live >= self.max_sessions:
                oldest = select(c.id_sha256).order_by(c.expires).limit(live - self.max_sessions + 1)
                conn.execute(delete(sessions_table).where(c.id_sha256.in_(oldest.scalar_subquery())))
            conn.execute(
                insert(sessions_table).values(
                    id_sha256=_digest(sid),
                    token_sha256=session.token_sha256,
                    token_prefix=session.token_prefix,
                    role=role.value,
                    csrf=session.csrf,
                    expires=expires,
                )
            )
        with self._lock:
            self._cache[sid] = (time.monotonic() + self.cache_seconds, session)
        signed = f"{sid}.{int(expires)}"
        return f"{signed}.{self._sign(signed)}", session

    def get(self, cookie: str | None) -> Session | None:
        """The live session the cookie names; None for a missing, forged, expired or ended one."""
        if not cookie:
            return None
        parts = cookie.split(".")
        if len(parts) != 3 or not parts[1].isdigit():
            return None
        signed = f"{parts[0]}.{parts[1]}"
        if not hmac.compare_digest(self._sign(signed), parts[2]):
            return None
        sid = parts[0]
        if time.time() >= int(parts[1]):
            self.drop(sid)
            return None
        cached = self._cache.get(sid)
        if cached is not None and time.monotonic() < cached[0]:
            session: Session | None = cached[1]
        else:
            session = self._read(sid)
        if session is None or time.time() >= session.expires:
            with self._lock:
                self._cache.pop(sid, None)
            return None
        return session

    def _read(self, sid: str) -> Session | None:
        c = sessions_table.c
        statement = select(c.token_sha256, c.token_prefix, c.role, c.csrf, c.expires).where(c.id_sha256 == _digest(sid))
        with self.engine.connect() as conn:
            row = conn.execute(statement).first()
        if row is None:
            return None
        session = Session(sid, str(row[0]), str(row[1]), Role(row[2]), str(row[3]), float(row[4]))
        with self._lock:
            self._cache[sid] = (time.monotonic() + self.cache_seconds, session)
        return session

    def role(self, session: Session) -> Role | None:
        """The current role of the session's token (None: revoked, expired or unknown), read from the token
        table at most once per ``cache_seconds`` per token."""
        now = time.monotonic()
        cached = self._roles.get(session.token_sha256)
        if cached is not None and now < cached[0]:
            return cached[1]
        c = tokens_table.c
        statement = select(c.role, c.expires_at, c.revoked_at).where(c.token_sha256 == session.token_sha256)
        with self.engine.connect() as conn:
            row = conn.execute(statement).first()
        role: Role | None = None
        if row is not None and row[2] is None:
            expires = utc(row[1])
            if expires is None or datetime.now(UTC) < expires:
                role = Role(row[0])
        with self._lock:
            self._roles[session.token_sha256] = (now + self.cache_seconds, role)
        return role

    def update(self, session: Session) -> None:
        """Store the session's new role."""
        with self.engine.begin() as conn:
            conn.execute(
                update(sessions_table)
                .where(sessions_table.c.id_sha256 == _digest(session.id))
                .values(role=session.role.value)
            )
        with self._lock:
            self._cache[session.id] = (time.monotonic() + self.cache_seconds, session)

    def drop(self, sid: str) -> None:
        """End the session *sid* (in every process: this one at once, the others within ``cache_seconds``)."""
        with self.engine.begin() as conn:
            conn.execute(delete(sessions_table).where(sessions_table.c.id_sha256 == _digest(sid)))
        with self._lock:
            self._cache.pop(sid, None)

    def forget_token(self, token_sha256: str) -> None:
        """End every session of a token no longer valid."""
        with self.engine.begin() as conn:
            conn.execute(delete(sessions_table).where(sessions_table.c.token_sha256 == token_sha256))
        with self._lock:
            for sid in [s for s, (_, v) in self._cache.items() if v.token_sha256 == token_sha256]:
                del self._cache[sid]


def csrf_ok(expected: str, sent: str | None) -> bool:
    """Whether *sent* is the expected CSRF token (constant time)."""
    return bool(sent) and hmac.compare_digest(expected.encode(), str(sent).encode())
