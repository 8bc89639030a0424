"""``/healthz`` (liveness: touches no database), ``/readyz`` (database reachable, not stopped), ``/metrics``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, PlainTextResponse
from sqlalchemy import text

from glassline.serve._service import Service

__all__ = ["health_router"]


def health_router(service: Service) -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/healthz", summary="Liveness: the process answers (no database, no worker thread)")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz", summary="Readiness: models loaded, database reachable, not stopped")
    def readyz() -> Any:  # sync: the database check runs in a worker thread
        try:
            with service.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
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
