"""``GET /v1/models`` (every served model with inputs, units and domains), ``GET /v1/models/{name}`` and, when
one model is served, ``GET /v1/model``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from glassline.audit import Role
from glassline.serve._errors import AUTH_CODES, error_responses
from glassline.serve._runtime import ServedModel
from glassline.serve._service import Service

__all__ = ["models_router"]


def models_router(service: Service) -> APIRouter:
    router = APIRouter(tags=["models"])
    fallback = service.config.fallback.value

    async def state() -> str:
        """The shared stop state, re-read in a worker thread when older than STOP_REFRESH_SECONDS."""
        current = await run_in_threadpool(service.state.fresh)
        return "stopped" if current.stopped else "running"

    @router.get(
        "/v1/models",
        summary="The served models: target, inputs with units and ranges, domain, route",
        responses=error_responses(*AUTH_CODES),
    )
    async def list_models(_actor: str = service.require(Role.operator)) -> dict[str, Any]:
        return {"models": [m.summary(fallback) for m in service.models.values()], "state": await state()}

    @router.get(
        "/v1/models/{name}",
        summary="One model's metadata, model card and input schema",
        responses=error_responses(*AUTH_CODES, 404),
    )
    async def get_named(name: str, _actor: str = service.require(Role.operator)) -> dict[str, Any]:
        return service.model(name).metadata(fallback, await state())

    @router.get(
        "/v1/model",
        summary="The served model's metadata, model card and input schema (one model served)",
        responses=error_responses(*AUTH_CODES, 409),
    )
    async def get_model(_actor: str = service.require(Role.operator)) -> dict[str, Any]:
        only: ServedModel | None = service.single
        if only is None:
            raise service.several("GET /v1/model", "GET /v1/models/{name}")
        return only.metadata(fallback, await state())

    return router
