"""Human oversight: feedback (the measured value), override (a replacement value), stop and start."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from glassline.audit import AuditRecord, Role
from glassline.serve._errors import AUTH_CODES, BODY_CODES, error_responses
from glassline.serve._schemas import FeedbackRequest, OverrideRequest, StopRequest
from glassline.serve._service import ApiError, Service

__all__ = ["oversight_router"]


def oversight_router(service: Service) -> APIRouter:
    router = APIRouter(tags=["oversight"])
    on_body = error_responses(*AUTH_CODES, *BODY_CODES)
    on_prediction = error_responses(
        *AUTH_CODES, *BODY_CODES, 404, described={404: "no answered prediction with that request_id"}
    )
    audit, metrics, state = service.audit, service.metrics, service.state
    models = [m.as_dict() for m in service.ids]

    def known_row(request_id: str, row: int) -> AuditRecord:
        record = audit.find(request_id)
        if record is None:
            raise ApiError(404, f"no answered prediction with request_id {request_id!r}")
        n = len(record.payload.get("rows", []))
        if row >= n:
            msg = f"request {request_id} has {n} row(s); row must be below {n}, got {row}"
            raise ApiError(422, [{"loc": "row", "type": "less_than", "msg": msg}])
        return record

    # sync routes: FastAPI runs them in worker threads, so the database never blocks the event loop
    def on_row(kind: str, counter: str, body: FeedbackRequest | OverrideRequest, actor: str) -> int:
        """Audit *kind* for a row of an earlier prediction (with that prediction's model); the record's seq."""
        model = known_row(body.request_id, body.row).payload.get("model", {})
        record = audit.append(kind, actor, {**body.model_dump(), "model": model}, body.request_id)
        metrics.inc(counter, model=str(model.get("name", "")))
        return record.seq

    @router.post("/v1/feedback", summary="The measured value for an earlier prediction", responses=on_prediction)
    def feedback(body: FeedbackRequest, actor: str = service.require(Role.engineer)) -> dict[str, Any]:
        return {"audit_seq": on_row("feedback", "feedback_total", body, actor), "request_id": body.request_id}

    @router.post("/v1/override", summary="An operator replaces a prediction, with a reason", responses=on_prediction)
    def override(body: OverrideRequest, actor: str = service.require(Role.operator)) -> dict[str, Any]:
        seq = on_row("override", "overrides_total", body, actor)
        return {"audit_seq": seq, "request_id": body.request_id, "value": body.value}

    @router.post(
        "/v1/stop",
        summary="Stop: every model answers a safe state (503) until /v1/start (EU AI Act Art. 14(4)(e)), on every "
        "process that shares the audit log within 0.5 s",
        responses=on_body,
    )
    def stop(body: StopRequest, actor: str = service.require(Role.engineer)) -> dict[str, Any]:
        record = audit.append("stop", actor, {**body.model_dump(), "models": models})
        state.apply(record)  # this process at once; every other one on the database within STOP_REFRESH_SECONDS
        return {"state": "stopped", "audit_seq": record.seq}

    @router.post("/v1/start", summary="Start again after a stop", responses=on_body)
    def start(body: StopRequest, actor: str = service.require(Role.engineer)) -> dict[str, Any]:
        record = audit.append("start", actor, {**body.model_dump(), "models": models})
        state.apply(record)
        return {"state": "running", "audit_seq": record.seq}

    return router
