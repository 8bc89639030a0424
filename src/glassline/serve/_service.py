"""What every router of one service shares: its configuration, database, audit log, tokens, metrics, the
stop state and the models it serves, plus the bearer-token check."""

from __future__ import annotations

import asyncio
import math
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from glassline.audit import AUDIT_WRITE_SECONDS, AuditLog, AuditRecord, ModelId, Role, TokenStore, connect
from glassline.exceptions import SpecError, StoreError, did_you_mean
from glassline.serve._metrics import Metrics
from glassline.serve._runtime import ServedModel
from glassline.serve._schemas import Fallback

__all__ = [
    "BAD_TOKEN_LIMIT",
    "BAD_TOKEN_WINDOW_SECONDS",
    "STOP_REFRESH_SECONDS",
    "ApiError",
    "BadTokens",
    "Service",
    "ServiceConfig",
    "ServiceState",
]

T = TypeVar("T")


#: How old the stop state a process acts on may be: every process re-reads the newest stop and start records
#: at most this often (one indexed read, in a worker thread), so a stop or start sent to any process holds on
#: every process on the same database within this time plus one read.
STOP_REFRESH_SECONDS = 0.5

#: A client (by IP address) that sends this many unknown, revoked or expired tokens within
#: BAD_TOKEN_WINDOW_SECONDS gets 429 on every route that needs a token until the oldest failure is older
#: than the window: ten mistyped tokens a minute is far more than an honest client makes, and far too few
#: for guessing. Counted per process.
BAD_TOKEN_LIMIT = 10
BAD_TOKEN_WINDOW_SECONDS = 60.0


@dataclass(frozen=True)
class ServiceConfig:
    """How the service behaves: fallback policy, anonymous access, limits."""

    db_url: str
    fallback: Fallback = Fallback.refuse
    anonymous_role: Role | None = None  # None: every protected route needs a token
    max_batch: int = 1000
    max_body_bytes: int = 1_048_576
    bad_token_limit: int = BAD_TOKEN_LIMIT
    bad_token_window_seconds: float = BAD_TOKEN_WINDOW_SECONDS


class ServiceState:
    """Stopped by an engineer (EU AI Act Art. 14(4)(e)): every model answers a safe 503 until started.

    The state lives in the shared store, not in the process: it is the newest ``stop`` or ``start`` record of
    the audit log that concerns one of this service's models (a record without a model list concerns every
    model). The audit log is the one source of truth, hash-chained like every other record, so no second
    table can disagree with it; an index on ``(kind, seq)`` makes the read cheap. :meth:`fresh` re-reads the
    records after the newest one seen when the cached state is older than *ttl* seconds, so a stop sent to
    any process on the same database holds on every one within *ttl* plus one read, and across restarts.
    It blocks on the database: call it from a worker thread, never on the event loop.
    """

    def __init__(
        self,
        audit: AuditLog | None = None,
        models: Iterable[ModelId] = (),
        *,
        ttl: float = STOP_REFRESH_SECONDS,
        metrics: Metrics | None = None,
    ) -> None:
        self.stopped = False
        self.stop_reason = ""
        self.stopped_by = ""
        self.audit = audit
        self.ttl = ttl
        self.metrics = metrics
        self._ours = {(m.name, m.version) for m in models}
        self._seen = 0  # the newest stop or start record read
        self._checked = -float("inf")  # time.monotonic() of the last read
        self._lock = threading.Lock()

    def concerns_us(self, record: AuditRecord) -> bool:
        concerned = record.payload.get("models")
        if not isinstance(concerned, list):
            return True
        return any((str(m.get("name")), str(m.get("version"))) in self._ours for m in concerned if isinstance(m, dict))

    def apply(self, record: AuditRecord) -> None:
        """Take a stop or start record into account (newer than every one applied, or ignored)."""
        with self._lock:
            self._apply(record)

    def _apply(self, record: AuditRecord) -> None:
        if record.seq <= self._seen:
            return
        self._seen = record.seq
        if not self.concerns_us(record):
            return
        self.stopped = record.kind == "stop"
        self.stop_reason = str(record.payload.get("reason", ""))
        self.stopped_by = record.actor
        if self.metrics is not None:
            self.metrics.set("stopped", float(self.stopped))

    def refresh(self) -> None:
        """Read the stop and start records after the newest one seen (blocking)."""
        if self.audit is None:
            return
        with self._lock:
            self._checked = time.monotonic()
            for record in self.audit.oversight_after(self._seen):
                self._apply(record)

    def fresh(self) -> ServiceState:
        """This state, re-read first when older than *ttl* (blocking; while another thread re-reads, the state
        as it is). A database that cannot be read leaves the state as it was: the audit record that every
        answer needs fails then anyway."""
        if time.monotonic() - self._checked < self.ttl or self.audit is None:
            return self
        if not self._lock.acquire(blocking=False):
            return self
        try:
            self._checked = time.monotonic()
            for record in self.audit.oversight_after(self._seen):
                self._apply(record)
        except Exception:  # any driver error: keep the last state known
            if self.metrics is not None:
                self.metrics.inc("stop_state_read_failures_total")
        finally:
            self._lock.release()
        return self


class BadTokens:
    """Failed token checks per client address in a sliding window: *limit* failures within *window* seconds
    and the client gets 429 until the oldest of them leaves the window. Used on the event loop only."""

    def __init__(
        self,
        limit: int = BAD_TOKEN_LIMIT,
        window: float = BAD_TOKEN_WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        max_clients: int = 10_000,
    ) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self.max_clients = max_clients
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, client: str) -> deque[float] | None:
        times = self._failures.get(client)
        if times is None:
            return None
        horizon = self.clock() - self.window
        while times and times[0] <= horizon:
            times.popleft()
        if not times:
            del self._failures[client]
            return None
        return times

    def retry_after(self, client: str) -> int | None:
        """Seconds until *client* may try again (rounded up, at least 1), or None when it is not blocked."""
        times = self._recent(client)
        if times is None or len(times) < self.limit:
            return None
        return max(1, math.ceil(times[0] + self.window - self.clock()))

    def failed(self, client: str) -> None:
        times = self._recent(client)
        if times is None:
            if len(self._failures) >= self.max_clients:  # bounded memory: forget the client seen longest ago
                self._failures.pop(next(iter(self._failures)))
            times = self._failures[client] = deque(maxlen=self.limit)
        times.append(self.clock())


class ApiError(Exception):
    """An answer other than 2xx, with a JSON ``detail``."""

    def __init__(self, status: int, detail: Any, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = headers


class Service:
    """The shared parts of a service that serves *models* (at least one; one version per name)."""

    def __init__(self, models: Sequence[ServedModel], config: ServiceConfig) -> None:
        if not models:
            raise SpecError("serve: expected at least one model, got none")
        names: dict[str, ServedModel] = {}
        for model in models:
            if model.name in names:
                raise SpecError(
                    f"serve: model {model.name!r} is given twice (versions {names[model.name].version} and "
                    f"{model.version}); serve one version per name"
                )
            names[model.name] = model
        self.models = names
        self.config = config
        # every write of the service (audit records, tokens) waits at most AUDIT_WRITE_SECONDS for another writer
        self.engine = connect(config.db_url, busy_seconds=AUDIT_WRITE_SECONDS)
        self.audit = AuditLog(self.engine, write_seconds=AUDIT_WRITE_SECONDS)
        self.tokens = TokenStore(self.engine)
        self.metrics = Metrics()
        self.state = ServiceState(self.audit, self.ids, metrics=self.metrics)
        self.bad_tokens = BadTokens(config.bad_token_limit, config.bad_token_window_seconds)
        # the prediction path's own worker threads (it blocks on the audit log's database): a locked database
        # holds these, never the event loop nor the threads of the other routes
        self.executor = ThreadPoolExecutor(max_workers=min(32, (os.cpu_count() or 1) + 4), thread_name_prefix="predict")
        self._bearer = HTTPBearer(auto_error=False)

    @property
    def ids(self) -> list[ModelId]:
        return [m.id for m in self.models.values()]

    @property
    def single(self) -> ServedModel | None:
        """The model when exactly one is served."""
        return next(iter(self.models.values())) if len(self.models) == 1 else None

    def model(self, name: str) -> ServedModel:
        """The served model *name*; 404 naming the served ones (and the closest) otherwise."""
        found = self.models.get(name)
        if found is None:
            raise self.unknown(name)
        return found

    def unknown(self, name: str) -> ApiError:
        served = list(self.models)
        return ApiError(404, f"no model {name!r} is served here; served: {served}." + did_you_mean(name, served))

    def several(self, route: str, instead: str) -> ApiError:
        """The polite refusal of a single-model route when several models are served (409, naming them)."""
        served = list(self.models)
        return ApiError(
            409,
            f"{route} answers only when one model is served; this service serves {len(served)} models {served}: "
            f"use {instead}, e.g. {instead.replace('{name}', served[0])}",
        )

    def restore_state(self) -> None:
        """A stopped service stays stopped across restarts: read the stop state now (:class:`ServiceState`).
        :class:`StoreError` (one line, naming the record) when a stop or start record cannot be read: the
        service then refuses to start, since it cannot know whether it was stopped."""
        try:
            self.state.refresh()
        except StoreError as exc:
            self.close()
            raise StoreError(f"the service does not start: its stop state cannot be read: {exc}") from None
        self.metrics.set("stopped", float(self.state.stopped))

    # ------------------------------------------------------------------ auth
    def require(self, needed: Role) -> Any:
        """A dependency that answers the actor (``role:token-prefix…``) or raises 401/403, or 429 for a client
        that sent too many bad tokens (:class:`BadTokens`). A token's role is looked up in a worker thread
        (the database may be slow or locked) at most every ``ROLE_CACHE_SECONDS``; its expiry is checked on
        every request."""
        anonymous = self.config.anonymous_role
        tokens = self.tokens
        bad_tokens = self.bad_tokens
        bearer = Depends(self._bearer)

        async def check(request: Request, credentials: HTTPAuthorizationCredentials | None = bearer) -> str:
            if credentials is None:
                if anonymous is not None and anonymous.allows(needed):
                    return f"anonymous:{anonymous.value}"
                raise ApiError(
                    401, "missing token: send 'Authorization: Bearer <token>'", {"WWW-Authenticate": "Bearer"}
                )
            client = request.client.host if request.client is not None else "unknown"
            wait = bad_tokens.retry_after(client)
            if wait is not None:
                raise ApiError(
                    429,
                    f"too many unknown, revoked or expired tokens from {client}: {bad_tokens.limit} within "
                    f"{bad_tokens.window:g} s; try again in {wait} s",
                    {"Retry-After": str(wait)},
                )
            token = credentials.credentials
            role = tokens.known_role(token)
            if role is None:
                role = await run_in_threadpool(tokens.role_of, token)
            if role is None:
                bad_tokens.failed(client)
                raise ApiError(401, "unknown, revoked or expired token", {"WWW-Authenticate": "Bearer"})
            if not role.allows(needed):
                raise ApiError(
                    403, f"this route needs the role '{needed.value}' or above; the token has '{role.value}'"
                )
            return f"{role.value}:{token[:7]}…"

        return Depends(check)

    async def off_loop(self, function: Callable[[bytes, str, float], T], body: bytes, actor: str) -> T:
        """``function(body, actor, received)`` in one of the prediction path's worker threads; *received* is
        the ``time.monotonic()`` of the call, so that time queued for a thread counts against the deadlines."""
        received = time.monotonic()
        return await asyncio.get_running_loop().run_in_executor(self.executor, function, body, actor, received)

    def close(self) -> None:
        self.executor.shutdown(wait=True, cancel_futures=True)
        self.audit.close()
        self.engine.dispose()
