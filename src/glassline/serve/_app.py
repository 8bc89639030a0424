"""The FastAPI application: predict with explanation, interval and validity-domain verdict; human oversight; audit.

:func:`create_app` builds the app for one loaded model. Its request schema is generated from the
study; every answered request is committed to the audit log before the response is sent.
"""

import json
import math
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Annotated, Any

import numpy as np
from fastapi import Depends, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import text
from starlette.exceptions import HTTPException as StarletteHTTPException

from glassline.registry import LoadedModel
from glassline.serve._metrics import BodyLimitAndMetrics, Metrics
from glassline.serve._schemas import (
    Fallback,
    FeedbackRequest,
    OverrideRequest,
    PredictResponse,
    StopRequest,
    TokenRequest,
    error_detail,
    predict_request_model,
)
from glassline.serve._store import AuditLog, Role, StoreError, TokenStore, connect
from glassline.shapley import ShapleyEngine

__all__ = ["ServiceConfig", "create_app"]


@dataclass(frozen=True)
class ServiceConfig:
    """How the service behaves: fallback policy, anonymous access, limits."""

    db_url: str
    fallback: Fallback = Fallback.refuse
    anonymous_role: Role | None = None  # None: every protected route needs a token
    max_batch: int = 1000
    max_body_bytes: int = 1_048_576


@dataclass
class _State:
    stopped: bool = False
    stop_reason: str = ""
    stopped_by: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


class _ApiError(Exception):
    def __init__(self, status: int, detail: Any, headers: dict[str, str] | None = None) -> None:
        self.status = status
        self.detail = detail
        self.headers = headers


def create_app(model: LoadedModel, config: ServiceConfig) -> FastAPI:
    """The service for *model*; tokens and audit records live in ``config.db_url``."""
    bundle = model.bundle
    inputs = bundle.inputs
    engine = connect(config.db_url)
    audit = AuditLog(engine)
    tokens = TokenStore(engine)
    metrics = Metrics()
    attributor = ShapleyEngine(model.pipeline, bundle.background, kind=bundle.explainer.get("family_explainer"))
    half_width = bundle.interval.get("half_width")
    half = float(half_width) if isinstance(half_width, int | float) and math.isfinite(half_width) else None
    unit = bundle.unit
    state = _State()
    model_id = {"name": model.name, "version": model.version}
    Request_ = predict_request_model(bundle, refuse=config.fallback is Fallback.refuse, max_batch=config.max_batch)

    # state survives a restart: a stopped service stays stopped until /v1/start
    for record in audit.records():
        if record.kind in {"stop", "start"}:
            state.stopped = record.kind == "stop"
            state.stop_reason = str(record.payload.get("reason", ""))
            state.stopped_by = record.actor
    audit.append(
        "model_loaded",
        "system",
        {
            **model_id,
            "run_id": model.run_id,
            "data_hash": bundle.lineage.get("data_hash"),
            "fallback": config.fallback.value,
            "anonymous_role": config.anonymous_role.value if config.anonymous_role else None,
        },
    )
    metrics.set("stopped", float(state.stopped))

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        audit.close()
        engine.dispose()

    app = FastAPI(
        lifespan=lifespan,
        title=f"glassline: {model.name} v{model.version}",
        version=str(bundle.lineage.get("glassline_version", "")),
        description=(
            f"Predicts {bundle.study.response(bundle.target).display} from {', '.join(inputs)}, with interventional "
            "SHAP attributions, a prediction interval and a validity-domain verdict. Outside the domain the "
            f"fallback policy '{config.fallback.value}' applies. Send `Authorization: Bearer <token>`."
        ),
    )
    bearer = HTTPBearer(auto_error=False)

    def require(needed: Role) -> Any:
        async def check(credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> str:
            if credentials is None:
                if config.anonymous_role is not None and config.anonymous_role.allows(needed):
                    return f"anonymous:{config.anonymous_role.value}"
                raise _ApiError(
                    401, "missing token: send 'Authorization: Bearer <token>'", {"WWW-Authenticate": "Bearer"}
                )
            role = tokens.role_of(credentials.credentials)
            if role is None:
                raise _ApiError(401, "unknown or revoked token", {"WWW-Authenticate": "Bearer"})
            if not role.allows(needed):
                raise _ApiError(
                    403, f"this route needs the role '{needed.value}' or above; the token has '{role.value}'"
                )
            return f"{role.value}:{credentials.credentials[:7]}…"

        return Depends(check)

    @app.exception_handler(_ApiError)
    async def _api_error(_request: Request, exc: _ApiError) -> JSONResponse:
        return JSONResponse({"detail": exc.detail}, status_code=exc.status, headers=exc.headers)

    @app.exception_handler(StoreError)
    async def _store_error(_request: Request, exc: StoreError) -> JSONResponse:
        metrics.inc("audit_failures_total")
        return JSONResponse(
            {"detail": f"not answered: every answer must be recorded first, and {exc}", "state": "audit unavailable"},
            status_code=503,
        )

    body_fields = {
        "/v1/feedback": list(FeedbackRequest.model_fields),
        "/v1/override": list(OverrideRequest.model_fields),
        "/v1/stop": list(StopRequest.model_fields),
        "/v1/start": list(StopRequest.model_fields),
        "/v1/tokens": list(TokenRequest.model_fields),
    }

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        fields = body_fields.get(request.url.path)
        details = [error_detail(dict(e), bundle, fields) for e in exc.errors()]
        return JSONResponse({"detail": details}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)

    def stopped_response() -> JSONResponse:
        return JSONResponse(
            {
                "detail": f"the service is stopped ({state.stop_reason}; by {state.stopped_by}); "
                "an engineer can POST /v1/start",
                "state": "stopped",
            },
            status_code=503,
        )

    @app.post(
        "/v1/predict",
        response_model=PredictResponse,
        responses={
            401: {"description": "no or unknown token"},
            403: {"description": "role too low"},
            413: {"description": "body too large"},
            422: {"description": "invalid input, or outside the validity domain with fallback 'refuse'"},
            503: {"description": "stopped by an engineer"},
        },
        summary="Predict, explain and check rows against the validity domain",
    )
    async def predict(body: Request_, actor: str = require(Role.operator)) -> Any:  # type: ignore[valid-type]
        if state.stopped:
            return stopped_response()
        start = time.perf_counter()
        rows = body.rows  # type: ignore[attr-defined]
        values = np.array([[getattr(row, name) for name in inputs] for row in rows], dtype=float)
        verdicts = bundle.domain.check(values)
        request_id = uuid.uuid4().hex
        outside = [i for i, v in enumerate(verdicts) if not v.inside]
        metrics.inc("rows_predicted_total", len(rows))
        metrics.inc("rows_outside_domain_total", len(outside))
        if outside and config.fallback is Fallback.refuse:
            detail = [
                {
                    "loc": f"rows[{i}]",
                    "msg": "outside the validity domain: "
                    + "; ".join(_describe(v.as_dict(), bundle) for v in verdicts[i].violations),
                    "violations": [v.as_dict() for v in verdicts[i].violations],
                }
                for i in outside
            ]
            audit.append(
                "prediction_refused",
                actor,
                {"model": model_id, "rows": values.tolist(), "outside": outside},
                request_id,
            )
            return JSONResponse({"detail": detail, "request_id": request_id, "fallback": "refuse"}, status_code=422)
        explained = attributor.explain(values)
        broken = [
            i
            for i in range(len(rows))
            if not (np.isfinite(explained.prediction[i]) and np.isfinite(explained.values[i]).all())
            and not (config.fallback is Fallback.default and not verdicts[i].inside)
        ]
        if broken:
            audit.append(
                "prediction_refused",
                actor,
                {"model": model_id, "rows": values.tolist(), "non_finite": broken},
                request_id,
            )
            detail = [
                {
                    "loc": f"rows[{i}]",
                    "msg": "the model gives no finite prediction for these inputs (far outside the "
                    "validity domain); nothing is answered for this request",
                }
                for i in broken
            ]
            return JSONResponse({"detail": detail, "request_id": request_id}, status_code=422)
        results: list[dict[str, Any]] = []
        for i, verdict in enumerate(verdicts):
            domain = {
                "inside": verdict.inside,
                "distance": verdict.distance,
                "violations": [v.as_dict() for v in verdict.violations],
            }
            if not verdict.inside and config.fallback is Fallback.default:
                value = float(bundle.default["value"])
                low, high = (float(b) for b in bundle.default["interval"])
                results.append(
                    {
                        "prediction": value,
                        "unit": unit,
                        "interval": [low, high],
                        "attributions": dict.fromkeys(inputs, 0.0),
                        "base_value": value,
                        "domain": domain,
                        "fallback": "default",
                    }
                )
                continue
            prediction = float(explained.prediction[i])
            results.append(
                {
                    "prediction": prediction,
                    "unit": unit,
                    "interval": [prediction - half, prediction + half] if half is not None else [None, None],
                    "attributions": {name: float(v) for name, v in zip(inputs, explained.values[i], strict=True)},
                    "base_value": explained.base_value,
                    "domain": domain,
                    "fallback": None if verdict.inside else config.fallback.value,
                }
            )
        content = json.dumps(
            {"results": results, "model": model_id, "request_id": request_id}, allow_nan=False, separators=(",", ":")
        ).encode()  # rendered before the audit record: an answer that cannot be sent is never recorded as sent
        audit.append(
            "prediction",
            actor,
            {
                "model": model_id,
                "inputs": inputs,
                "rows": values.tolist(),
                "predictions": [r["prediction"] for r in results],
                "fallback": [r["fallback"] for r in results],
                "seconds": time.perf_counter() - start,
            },
            request_id,
        )
        return Response(content, media_type="application/json")

    @app.get("/v1/model", summary="Model metadata, model card and the input schema with units and ranges")
    def get_model(_actor: str = require(Role.operator)) -> dict[str, Any]:
        columns = {c.name: c for c in bundle.study.columns()}
        return {
            **model_id,
            "run_id": model.run_id,
            "target": {"name": bundle.target, "display": columns[bundle.target].display, "unit": unit},
            "scenario": bundle.scenario,
            "family": bundle.family,
            "inputs": [
                {
                    "name": r.name,
                    "display": columns[r.name].display if r.name in columns else r.name,
                    "unit": r.unit,
                    "low": r.low,
                    "high": r.high,
                    "range_from": r.source,
                }
                for r in bundle.domain.ranges
            ],
            "domain": {"distance_threshold": bundle.domain.threshold, "fallback": config.fallback.value},
            "interval": bundle.interval,
            "explainer": {
                **bundle.explainer,
                "algorithm": attributor.algorithm,
                "base_value": attributor.base_value,
                "predictor": attributor.predictor,
            },
            "metrics": bundle.metrics,
            "lineage": bundle.lineage,
            "default": bundle.default,
            "model_card": bundle.card,
            "state": "stopped" if state.stopped else "running",
        }

    def _known_row(request_id: str, row: int) -> None:
        record = audit.find(request_id)
        if record is None:
            raise _ApiError(404, f"no answered prediction with request_id {request_id!r}")
        n = len(record.payload.get("rows", []))
        if row >= n:
            raise _ApiError(422, [{"loc": "row", "msg": f"request {request_id} has {n} row(s); row must be below {n}"}])

    @app.post("/v1/feedback", summary="The measured value for an earlier prediction")
    def feedback(body: FeedbackRequest, actor: str = require(Role.engineer)) -> dict[str, Any]:
        _known_row(body.request_id, body.row)
        record = audit.append("feedback", actor, body.model_dump(), body.request_id)
        metrics.inc("feedback_total")
        return {"audit_seq": record.seq, "request_id": body.request_id}

    @app.post("/v1/override", summary="An operator replaces a prediction, with a reason")
    def override(body: OverrideRequest, actor: str = require(Role.operator)) -> dict[str, Any]:
        _known_row(body.request_id, body.row)
        record = audit.append("override", actor, body.model_dump(), body.request_id)
        metrics.inc("overrides_total")
        return {"audit_seq": record.seq, "request_id": body.request_id, "value": body.value}

    @app.post("/v1/stop", summary="Stop: answer a safe state (503) until /v1/start (EU AI Act Art. 14(4)(e))")
    def stop(body: StopRequest, actor: str = require(Role.engineer)) -> dict[str, Any]:
        record = audit.append("stop", actor, body.model_dump())
        state.stopped, state.stop_reason, state.stopped_by = True, body.reason, actor
        metrics.set("stopped", 1.0)
        return {"state": "stopped", "audit_seq": record.seq}

    @app.post("/v1/start", summary="Start again after a stop")
    def start_(body: StopRequest, actor: str = require(Role.engineer)) -> dict[str, Any]:
        record = audit.append("start", actor, body.model_dump())
        state.stopped = False
        metrics.set("stopped", 0.0)
        return {"state": "running", "audit_seq": record.seq}

    @app.post("/v1/tokens", summary="Create an API token (admin)")
    def create_token(body: TokenRequest, actor: str = require(Role.admin)) -> dict[str, Any]:
        try:
            role = Role(body.role)
        except ValueError:
            raise _ApiError(
                422, [{"loc": "role", "msg": f"unknown role {body.role!r}; roles are {[r.value for r in Role]}"}]
            ) from None
        token = tokens.create(role, body.label)
        record = audit.append("token_created", actor, {"role": role.value, "label": body.label})
        return {"token": token, "role": role.value, "audit_seq": record.seq}

    @app.get("/healthz", summary="Liveness")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", summary="Readiness: model loaded, database reachable, not stopped")
    def readyz() -> Any:
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as exc:  # any driver error means not ready
            return JSONResponse({"status": "unavailable", "reason": f"database: {type(exc).__name__}"}, 503)
        if state.stopped:
            return JSONResponse({"status": "stopped", "reason": state.stop_reason}, 503)
        return {"status": "ready", **model_id}

    @app.get("/metrics", response_class=PlainTextResponse, summary="Prometheus metrics")
    def prometheus() -> PlainTextResponse:
        return PlainTextResponse(metrics.render(), media_type="text/plain; version=0.0.4")

    routes = frozenset(getattr(r, "path", "") for r in app.routes)
    app.add_middleware(BodyLimitAndMetrics, metrics=metrics, max_bytes=config.max_body_bytes, routes=routes)
    app.state.audit = audit
    app.state.tokens = tokens
    return app


def _describe(violation: dict[str, Any], bundle: Any) -> str:
    if violation["input"] == "*":
        return (
            f"the combination is far from the training rows (distance {violation['value']:.3g} > "
            f"{violation['limit']:.3g})"
        )
    r = next(r for r in bundle.domain.ranges if r.name == violation["input"])
    return (
        f"{r.name} = {violation['value']:.6g} is {violation['kind']} the range {r.low:.6g} … {r.high:.6g}"
        f"{' ' + r.unit if r.unit else ''} by {violation['by']:.3g}"
    )
