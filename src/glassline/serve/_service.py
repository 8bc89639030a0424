"""What every router of one service shares: its configuration, database, audit log, tokens, metrics, the
stop state and the models it serves, plus the bearer-token check."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from glassline.audit import AuditLog, ModelId, Role, TokenStore, connect
from glassline.exceptions import SpecError, did_you_mean
from glassline.serve._metrics import Metrics
from glassline.serve._runtime import ServedModel
from glassline.serve._schemas import Fallback

__all__ = ["ApiError", "Service", "ServiceConfig", "ServiceState"]

T = TypeVar("T")


@dataclass(frozen=True)
class ServiceConfig:
    """How the service behaves: fallback policy, anonymous access, limits."""

    db_url: str
    fallback: Fallback = Fallback.refuse
    anonymous_role: Role | None = None  # None: every protected route needs a token
    max_batch: int = 1000
    max_body_bytes: int = 1_048_576


@dataclass
class ServiceState:
    """Stopped by an engineer (EU AI Act Art. 14(4)(e)): every model answers a safe 503 until started."""

    stopped: bool = False
    stop_reason: str = ""
    stopped_by: str = ""


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
        self.engine = connect(config.db_url)
        self.audit = AuditLog(self.engine)
        self.tokens = TokenStore(self.engine)
        self.metrics = Metrics()
        self.state = ServiceState()
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
        """A stopped service stays stopped across restarts: the last stop or start of one of our models decides
        (records without a model list concern every model)."""
        ours = {(m.name, m.version) for m in self.ids}
        for record in self.audit.records(["stop", "start"]):
            concerned = record.payload.get("models")
            if concerned is not None and not any(
                (str(m.get("name")), str(m.get("version"))) in ours for m in concerned if isinstance(m, dict)
            ):
                continue
            self.state.stopped = record.kind == "stop"
            self.state.stop_reason = str(record.payload.get("reason", ""))
            self.state.stopped_by = record.actor
        self.metrics.set("stopped", float(self.state.stopped))

    # ------------------------------------------------------------------ auth
    def require(self, needed: Role) -> Any:
        """A dependency that answers the actor (``role:token-prefix…``) or raises 401/403; the token lookup runs
        in a worker thread on a cache miss (the database may be slow or locked)."""
        anonymous = self.config.anonymous_role
        tokens = self.tokens
        bearer = Depends(self._bearer)

        async def check(credentials: HTTPAuthorizationCredentials | None = bearer) -> str:
            if credentials is None:
                if anonymous is not None and anonymous.allows(needed):
                    return f"anonymous:{anonymous.value}"
                raise ApiError(
                    401, "missing token: send 'Authorization: Bearer <token>'", {"WWW-Authenticate": "Bearer"}
                )
            token = credentials.credentials
            role = tokens.known_role(token)
            if role is None:
                role = await run_in_threadpool(tokens.role_of, token)
            if role is None:
                raise ApiError(401, "unknown or revoked token", {"WWW-Authenticate": "Bearer"})
            if not role.allows(needed):
                raise ApiError(
                    403, f"this route needs the role '{needed.value}' or above; the token has '{role.value}'"
                )
            return f"{role.value}:{token[:7]}…"

        return Depends(check)

    async def off_loop(self, function: Callable[[bytes, str], T], body: bytes, actor: str) -> T:
        """``function(body, actor)`` in one of the prediction path's worker threads."""
        return await asyncio.get_running_loop().run_in_executor(self.executor, function, body, actor)

    def close(self) -> None:
        self.executor.shutdown(wait=True, cancel_futures=True)
        self.audit.close()
        self.engine.dispose()
