"""Dashboard sessions: a signed, expiring cookie naming a session held by this process, and its CSRF token.

Signing in with an API token creates a session (a random 256-bit id) that remembers the token, so that every
request re-checks the token's role through :class:`~glassline.audit.TokenStore` (a revoked or expired token
ends its sessions within ``ROLE_CACHE_SECONDS``). The cookie carries ``id.expiry.signature`` (HMAC-SHA256 with
a per-process secret), never the token; it is HttpOnly and SameSite=Strict. Every form carries the session's
synchronizer token (:attr:`Session.csrf`), checked in constant time. Sessions live in this process: a restart
signs everyone out.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass

from glassline.audit import Role

__all__ = ["COOKIE", "LOGIN_COOKIE", "SESSION_SECONDS", "Session", "Sessions", "csrf_ok"]

#: The session cookie's name.
COOKIE = "glassline_session"
#: The sign-in form's double-submit cookie (there is no session yet to hold a synchronizer token).
LOGIN_COOKIE = "glassline_login"
#: How long a session lasts after sign-in (8 hours: one shift).
SESSION_SECONDS = 8 * 3600


@dataclass(frozen=True)
class Session:
    """One signed-in browser: its token (to re-check the role), the role it had, its CSRF token and expiry
    (``time.time()``)."""

    id: str
    token: str
    role: Role
    csrf: str
    expires: float

    @property
    def actor(self) -> str:
        """Who the audit log names for this session's actions: the API's form, ``role:token-prefix…``."""
        return f"{self.role.value}:{self.token[:7]}…"

    def with_role(self, role: Role) -> Session:
        return Session(self.id, self.token, role, self.csrf, self.expires)


class Sessions:
    """The sessions of this process (at most *max_sessions*; the oldest is dropped beyond that)."""

    def __init__(
        self, *, lifetime: float = SESSION_SECONDS, secret: bytes | None = None, max_sessions: int = 10_000
    ) -> None:
        self.lifetime = lifetime
        self._secret = secret or secrets.token_bytes(32)
        self.max_sessions = max_sessions
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def _sign(self, text: str) -> str:
        return hmac.new(self._secret, text.encode(), hashlib.sha256).hexdigest()

    def create(self, token: str, role: Role) -> tuple[str, Session]:
        """A new session for *token* (of *role*); its cookie value and the session."""
        sid = secrets.token_urlsafe(32)
        expires = time.time() + self.lifetime
        session = Session(sid, token, role, secrets.token_urlsafe(32), expires)
        with self._lock:
            self._forget_expired()
            while len(self._sessions) >= self.max_sessions:
                self._sessions.pop(next(iter(self._sessions)))
            self._sessions[sid] = session
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
        if time.time() >= int(parts[1]):
            self.drop(parts[0])
            return None
        session = self._sessions.get(parts[0])
        if session is None or time.time() >= session.expires:
            return None
        return session

    def update(self, session: Session) -> None:
        with self._lock:
            if session.id in self._sessions:
                self._sessions[session.id] = session

    def drop(self, sid: str) -> None:
        with self._lock:
            self._sessions.pop(sid, None)

    def _forget_expired(self) -> None:
        now = time.time()
        for sid in [s for s, v in self._sessions.items() if now >= v.expires]:
            del self._sessions[sid]


def csrf_ok(expected: str, sent: str | None) -> bool:
    """Whether *sent* is the expected CSRF token (constant time)."""
    return bool(sent) and hmac.compare_digest(expected.encode(), str(sent).encode())
