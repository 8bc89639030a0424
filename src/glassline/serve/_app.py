"""The FastAPI application: routers for prediction, models, oversight, tokens and health over one :class:`Service`.

:func:`create_app` builds the app for one or several loaded models. Each model's request schema is
generated from its study; every request that reaches the prediction path is committed to the audit log
(answered or refused) before the response is sent (:mod:`glassline.serve._pipeline`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from glassline.exceptions import StoreError
from glassline.registry import LoadedModel
from glassline.serve._counterfactual import CounterfactualPath
from glassline.serve._errors import conform_openapi
from glassline.serve._metrics import BodyLimitAndMetrics
from glassline.serve._pipeline import PredictionPath, unrecorded
from glassline.serve._routers.counterfactual import counterfactual_router
from glassline.serve._routers.health import health_router
from glassline.serve._routers.models import models_router
from glassline.serve._routers.monitor import MonitorRunner, monitor_router
from glassline.serve._routers.oversight import oversight_router
from glassline.serve._routers.predict import predict_router
from glassline.serve._routers.tokens import tokens_router
from glassline.serve._runtime import ServedModel
from glassline.serve._schemas import FeedbackRequest, OverrideRequest, StopRequest, TokenRequest, error_detail
from glassline.serve._service import ApiError, Service, ServiceConfig

__all__ = ["ServiceConfig", "create_app"]


def create_app(
    models: LoadedModel | ServedModel | Sequence[LoadedModel | ServedModel],
    config: ServiceConfig,
    *,
    monitor_window: int | None = None,
) -> FastAPI:
    """The service for *models* (one, or several with distinct names); tokens and audit records live in
    ``config.db_url``. Each model loaded writes a ``model_loaded`` record. *monitor_window*: every this many
    predictions of a model, a background thread tests its newest window (``GET /v1/models/{name}/monitor``);
    None (the default here; ``glassline serve`` monitors every 30): no monitoring, and the route answers 404."""
    chosen = [models] if isinstance(models, LoadedModel | ServedModel) else list(models)
    served = [m if isinstance(m, ServedModel) else ServedModel(m) for m in chosen]
    service = Service(served, config)
    several = len(served) > 1
    paths = {
        m.name: PredictionPath(
            m,
            fallback=config.fallback,
            max_batch=config.max_batch,
            audit=service.audit,
            metrics=service.metrics,
            state=service.state,
            suffix=f"_{m.name}" if several else "",
        )
        for m in served
    }
    service.restore_state()  # a stopped service stays stopped until /v1/start
    for m in served:
        service.audit.append(
            "model_loaded",
            "system",
            {
                **m.id.as_dict(),
                "run_id": m.loaded.run_id,
                "data_hash": m.bundle.lineage.get("data_hash"),
                "fallback": config.fallback.value,
                "anonymous_role": config.anonymous_role.value if config.anonymous_role else None,
            },
        )

    runner = MonitorRunner(service, window=monitor_window or 30, enabled=monitor_window is not None)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        runner.start()
        yield
        runner.stop()
        service.close()

    app = FastAPI(
        lifespan=lifespan,
        title="glassline: " + ", ".join(f"{m.name} v{m.version}" for m in served),
        version=str(served[0].bundle.lineage.get("glassline_version", "")),
        description=_description(served, config),
    )
    counterfactuals = CounterfactualPath(paths)
    routers = (
        predict_router(service, paths),
        models_router(service),
        oversight_router(service),
        tokens_router(service),
        health_router(service),
        counterfactual_router(service, counterfactuals),  # issue 17: counterfactuals over the same prediction path
        monitor_router(service, runner),
    )
    for router in routers:
        app.include_router(router)
    _handlers(app, service)
    app.openapi = _openapi(app, paths)  # type: ignore[method-assign]
    # the paths metrics are labelled with (any other path counts as "other"): each served model's own routes
    routes = frozenset(getattr(r, "path", "") for r in (*app.routes, *(r for router in routers for r in router.routes)))
    app.add_middleware(BodyLimitAndMetrics, metrics=service.metrics, max_bytes=config.max_body_bytes, routes=routes)
    app.state.service = service
    app.state.audit = service.audit
    app.state.tokens = service.tokens
    app.state.counterfactuals = counterfactuals  # the dashboards' what-if form answers through the same path
    app.state.monitor = runner
    return app


def _description(served: list[ServedModel], config: ServiceConfig) -> str:
    what = "; ".join(
        f"`{m.name}` predicts {m.bundle.study.response(m.bundle.target).display} from {', '.join(m.inputs)}"
        for m in served
    )
    return (
        f"{what}. Each answer has interventional SHAP attributions, a prediction interval and a validity-domain "
        f"verdict; outside the domain the fallback policy '{config.fallback.value}' applies. "
        "`POST /v1/models/{name}/predict` for each model (`POST /v1/predict` when one is served); every request "
        "it answers or refuses is audited under its `request_id`. Send `Authorization: Bearer <token>`."
    )


#: Each route's body (other than predict's): its fields and the required ones, named in a 422 about it.
_BODY_MODELS: dict[str, type[BaseModel]] = {
    "/v1/feedback": FeedbackRequest,
    "/v1/override": OverrideRequest,
    "/v1/stop": StopRequest,
    "/v1/start": StopRequest,
    "/v1/tokens": TokenRequest,
}
_BODY_FIELDS = {
    route: (list(model.model_fields), [n for n, f in model.model_fields.items() if f.is_required()])
    for route, model in _BODY_MODELS.items()
}


def _handlers(app: FastAPI, service: Service) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse({"detail": exc.detail}, status_code=exc.status, headers=exc.headers)

    @app.exception_handler(StoreError)
    async def _store_error(_request: Request, exc: StoreError) -> JSONResponse:
        service.metrics.inc("audit_failures_total")
        return JSONResponse(unrecorded(exc), status_code=503)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        fields, required = _BODY_FIELDS.get(request.url.path, (None, None))
        detail = [error_detail(dict(e), (), fields, required) for e in exc.errors()]
        return JSONResponse({"detail": detail}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)


def _openapi(app: FastAPI, paths: dict[str, PredictionPath]) -> Callable[[], dict[str, Any]]:
    """The default OpenAPI document plus each model's request schema (the predict routes read the raw body, so
    that the prediction path validates it, refusals included)."""
    default = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        spec = conform_openapi(default())
        schemas = spec.setdefault("components", {}).setdefault("schemas", {})
        for path in paths.values():
            model = path.request_model
            schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
            schemas.update(schema.pop("$defs", {}))
            schemas[model.__name__] = schema
        app.openapi_schema = spec
        return spec

    return openapi
