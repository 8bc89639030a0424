"""``POST /v1/models/{name}/counterfactual`` for each served model, ``POST /v1/counterfactual`` for several at once."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request, Response

from glassline.audit import Role
from glassline.serve._counterfactual import (
    CounterfactualPath,
    CounterfactualRequest,
    JointCounterfactualRequest,
    request_schema,
)
from glassline.serve._errors import AUTH_CODES, error_responses
from glassline.serve._service import Service

__all__ = ["counterfactual_router"]

RESPONSES = error_responses(
    *AUTH_CODES,
    404,
    413,
    422,
    described={
        404: "no such served model",
        422: "invalid request: an unknown or missing input, min above max, a factor that is not an input, a bad "
        "weight (audited: the body has the request_id)",
        503: "stopped by an engineer, or the audit log cannot record the answer (nothing is answered)",
    },
)


def _body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


def _one(cf: CounterfactualPath, name: str, service: Service) -> Callable[..., Awaitable[Response]]:
    async def counterfactual(request: Request, actor: str = service.require(Role.operator)) -> Response:
        body = await request.body()

        def run(data: bytes, who: str, received: float) -> Any:
            return cf.run_one(name, data, who, received)

        answer = await service.off_loop(run, body, actor)
        return Response(answer.content, status_code=answer.status, media_type="application/json")

    return counterfactual


def counterfactual_router(service: Service, cf: CounterfactualPath) -> APIRouter:
    router = APIRouter(tags=["counterfactual"])
    paths = cf.paths
    one = request_schema(CounterfactualRequest)
    for name in paths:
        router.add_api_route(
            f"/v1/models/{name}/counterfactual",
            _one(cf, name, service),
            methods=["POST"],
            responses=RESPONSES,
            summary=f"{name}: the smallest change of the settable inputs that brings the prediction into spec",
            operation_id=f"counterfactual_{name}",
            openapi_extra=_body(one),
        )

    @router.post("/v1/models/{name}/counterfactual", include_in_schema=False)
    async def unknown_model(name: str, _actor: str = service.require(Role.operator)) -> Response:
        raise service.unknown(name)  # every served name has its own route, above

    async def joint(request: Request, actor: str = service.require(Role.operator)) -> Response:
        body = await request.body()
        answer = await service.off_loop(cf.run_many, body, actor)
        return Response(answer.content, status_code=answer.status, media_type="application/json")

    router.add_api_route(
        "/v1/counterfactual",
        joint,
        methods=["POST"],
        responses=RESPONSES,
        summary="Several served models at once: the smallest change that meets every requirement jointly",
        operation_id="counterfactual",
        openapi_extra=_body(request_schema(JointCounterfactualRequest)),
    )
    return router
