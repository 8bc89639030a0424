"""``/healthz`` (liveness: touches no database), ``/readyz`` (database reachable, audit log writable, not
stopped), ``/metrics``.

/readyz learns whether the audit log can be written from the outcome of the last write (every answered or
refused prediction writes one) and, when that is older than :data:`READY_PROBE_SECONDS`, from a probe write
(:meth:`glassline.audit.AuditLog.probe`: the write lock taken and a row inserted, then rolled back). So it says
not ready from the first failed write on, and ready again at the first write or probe that succeeds.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import anyio
import anyio.to_thread
from fastapi import APIRouter
from fastapi.responses import JSONResponse, PlainTextResponse
from sqlalchemy import Engine

from glassline.audit import AuditLog, Writable
from glassline.serve._errors import Readiness
from glassline.serve._service import Service, ServiceState

__all__ = ["health_router"]

#: /readyz says "unavailable" when the database gives no answer within this many seconds.
READY_SECONDS = 2.0

#: /readyz probes the audit log with a rolled-back write when its last write or probe is older than this.
READY_PROBE_SECONDS = 1.0


def _ping(engine: Engine, state: ServiceState, audit: AuditLog, probing: threading.Lock) -> Writable | None:
    """``SELECT 1`` on a pooled driver connection, outside a transaction (SQLAlchemy's transactions on SQLite
    begin IMMEDIATE, which would wait for another writer's lock); then the shared stop state, if due; then
    whether the audit log takes writes: the last write's outcome, or a probe when that is older than
    READY_PROBE_SECONDS (one probe at a time; the others use the last outcome)."""
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        cursor.execute("SELECT 1")
        cursor.close()
    finally:
        connection.close()
    state.fresh()
    last = audit.writable
    if (last is None or time.monotonic() - last.at > READY_PROBE_SECONDS) and probing.acquire(blocking=False):
        try:
            last = audit.probe()
        finally:
            probing.release()
    return last


def health_router(service: Service) -> APIRouter:
    router = APIRouter(tags=["health"])
    probing = threading.Lock()

    @router.get("/healthz", summary="Liveness: the process answers (no database, no worker thread)")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get(
        "/readyz",
        summary="Readiness: models loaded, database reachable, audit log writable, not stopped",
        response_model=Readiness,
        response_model_exclude_none=True,
        responses={503: {"model": Readiness, "description": "not ready: why, and the audit log's cause"}},
    )
    async def readyz() -> Any:
        try:
            with anyio.fail_after(READY_SECONDS):  # a locked or hung database: not ready, said at once
                writable = await anyio.to_thread.run_sync(
                    _ping, service.engine, service.state, service.audit, probing, abandon_on_cancel=True
                )
        except TimeoutError:
            reason = f"database: no answer within {READY_SECONDS:g} s"
            return JSONResponse({"status": "unavailable", "reason": reason}, 503)
        except Exception as exc:  # any driver error means not ready
            return JSONResponse({"status": "unavailable", "reason": f"database: {type(exc).__name__}"}, 503)
        if writable is not None and not writable.ok:
            return JSONResponse({"status": "unavailable", "reason": writable.reason, "cause": writable.cause}, 503)
        if service.state.stopped:
            return JSONResponse({"status": "stopped", "reason": service.state.stop_reason}, 503)
        only = service.single
        if only is not None:
            return {"status": "ready", **only.id.as_dict()}
        return {"status": "ready", "models": [m.as_dict() for m in service.ids]}

    @router.get("/metrics", response_class=PlainTextResponse, summary="Prometheus metrics")
    async def prometheus() -> PlainTextResponse:
        return PlainTextResponse(service.metrics.render(), media_type="text/plain; version=0.0.4")

    return router
