"""``POST /v1/models/{name}/predict`` for each served model, and ``POST /v1/predict`` when one model is served."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request, Response

from glassline.audit import Role
from glassline.serve._errors import AUTH_CODES, error_responses
from glassline.serve._pipeline import PredictionPath
from glassline.serve._schemas import PredictResponse
from glassline.serve._service import Service

__all__ = ["predict_router"]

RESPONSES = error_responses(
    *AUTH_CODES,
    413,
    422,
    described={
        422: "invalid input, or outside the validity domain with fallback 'refuse' (audited: the body has the "
        "request_id)",
        503: "stopped by an engineer, or the audit log cannot record the answer (the body names the cause and the "
        "request_id; nothing is answered)",
    },
)


def _body(path: PredictionPath) -> dict[str, Any]:
    schema = {"$ref": f"#/components/schemas/{path.request_model.__name__}"}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


def _handler(path: PredictionPath, service: Service) -> Callable[..., Awaitable[Response]]:
    async def predict(request: Request, actor: str = service.require(Role.operator)) -> Response:
        body = await request.body()
        answer = await service.off_loop(path.run, body, actor)  # the audit append may block: not on the loop
        return Response(answer.content, status_code=answer.status, media_type="application/json")

    return predict


def predict_router(service: Service, paths: dict[str, PredictionPath]) -> APIRouter:
    router = APIRouter(tags=["predict"])
    summary = "Predict, explain and check rows against the validity domain"
    for name, path in paths.items():
        router.add_api_route(
            f"/v1/models/{name}/predict",
            _handler(path, service),
            methods=["POST"],
            response_model=PredictResponse,
            responses=RESPONSES,
            summary=f"{name}: {summary[0].lower()}{summary[1:]}",
            operation_id=f"predict_{name}",
            openapi_extra=_body(path),
        )

    @router.post("/v1/models/{name}/predict", include_in_schema=False)
    async def unknown_model(name: str, _actor: str = service.require(Role.operator)) -> Response:
        raise service.unknown(name)  # every served name has its own route, above

    only = next(iter(paths.values())) if len(paths) == 1 else None
    if only is not None:
        router.add_api_route(
            "/v1/predict",
            _handler(only, service),
            methods=["POST"],
            response_model=PredictResponse,
            responses=RESPONSES,
            summary=summary + " (the one served model)",
            operation_id="predict",
            openapi_extra=_body(only),
        )
    else:

        @router.post(
            "/v1/predict",
            summary="With several models served: answers 409 naming them",
            responses=error_responses(*AUTH_CODES, 409),
        )
        async def predict_which(_actor: str = service.require(Role.operator)) -> Response:
            raise service.several("POST /v1/predict", "POST /v1/models/{name}/predict")

    return router
