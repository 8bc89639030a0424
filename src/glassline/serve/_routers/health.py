"""``/healthz`` (liveness: touches no database), ``/readyz`` (database reachable, not stopped), ``/metrics``."""

from __future__ import annotations

from typing import Any

import anyio
import anyio.to_thread
from fastapi import APIRouter
from fastapi.responses import JSONResponse, PlainTextResponse
from sqlalchemy import Engine

from glassline.serve._service import Service, ServiceState

__all__ = ["health_router"]

#: /readyz says "unavailable" when the database gives no answer within this many seconds.
READY_SECONDS = 2.0


def _ping(engine: Engine, state: ServiceState) -> None:
    """``SELECT 1`` on a pooled driver connection, outside a transaction (SQLAlchemy's transactions on SQLite
    begin IMMEDIATE, which would wait for another writer's lock); then the shared stop state, if due."""
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        cursor.execute("SELECT 1")
        cursor.close()
    finally:
        connection.close()
    state.fresh()


def health_router(service: Service) -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/healthz", summary="Liveness: the process answers (no database, no worker thread)")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz", summary="Readiness: models loaded, database reachable, not stopped")
    async def readyz() -> Any:
        try:
            with anyio.fail_after(READY_SECONDS):  # a locked or hung database: not ready, said at once
                await anyio.to_thread.run_sync(_ping, service.engine, service.state, abandon_on_cancel=True)
        except TimeoutError:
            reason = f"database: no answer within {READY_SECONDS:g} s"
            return JSONResponse({"status": "unavailable", "reason": reason}, 503)
        except Exception as exc:  # any driver error means not ready
            return JSONResponse({"status": "unavailable", "reason": f"database: {type(exc).__name__}"}, 503)
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
