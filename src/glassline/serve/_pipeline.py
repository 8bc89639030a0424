"""The one prediction path: validate → domain check → fallback → attribute → interval → audit → answer
(a stopped service refuses before the first step).

Every request that reaches it gets a request id and exactly one audit record, in one transaction: a
``prediction`` when answered, a ``prediction_refused`` when any step refused it (the body failed the
request schema, a row is outside the validity domain under the 'refuse' fallback, the model gave no
finite value, or the service is stopped), and the answer names the request id either way. A record that
cannot be committed within :data:`~glassline.audit.AUDIT_WRITE_SECONDS` (another writer holds the lock, the
disk is full, the log is read-only) gives no answer: 503 naming the cause, with the request id. The path is
synchronous (the database may block): the service runs it in a worker thread.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ValidationError

from glassline.audit import AuditLog, RefusalReason, prediction_payload, refusal_payload, write_failure
from glassline.exceptions import StoreError
from glassline.registry import Verdict
from glassline.serve._metrics import Metrics
from glassline.serve._runtime import Explanation, ServedModel
from glassline.serve._schemas import Fallback, error_detail, predict_request_model
from glassline.serve._service import ServiceState

__all__ = ["LATE_RECORD_SECONDS", "Answer", "PredictionPath", "Refusal", "RowResult", "unrecorded"]

#: The least time a record gets to be committed, even when its request's AUDIT_WRITE_SECONDS have passed
#: (a large batch that took long to compute, or a wait for a worker thread): enough for a write that waits
#: only for other processes' commits (microseconds each), not for a lock held by another writer.
LATE_RECORD_SECONDS = 0.1

FloatArray = npt.NDArray[np.float64]


def unrecorded(exc: StoreError, request_id: str | None = None) -> dict[str, Any]:
    """The 503 body of a request whose audit record could not be committed: the cause named
    (:func:`~glassline.audit.write_failure`), nothing answered."""
    body: dict[str, Any] = {
        "detail": f"not answered: every answer must be recorded first, and {exc}",
        "state": "audit unavailable",
        "cause": write_failure(exc),
    }
    if request_id is not None:
        body["request_id"] = request_id
    return body


@dataclass(frozen=True)
class Answer:
    """The HTTP answer: status and the JSON body, already rendered."""

    status: int
    content: bytes


@dataclass
class Refusal(Exception):
    """A step's refusal: the reason, the answer's ``detail``, and what the steps before it learnt of the rows."""

    reason: RefusalReason
    detail: list[dict[str, Any]] | str
    status: int = 422
    rows: FloatArray | None = None
    verdicts: list[Verdict] | None = None
    outside: list[int] | None = None
    non_finite: list[int] | None = None


@dataclass(frozen=True)
class RowResult:
    """One answered row."""

    prediction: float
    interval: tuple[float | None, float | None]
    attributions: FloatArray
    base_value: float
    verdict: Verdict
    fallback: str | None


def _dumps(data: Any, *, ascii: bool = True) -> bytes:
    return json.dumps(data, allow_nan=False, separators=(",", ":"), ensure_ascii=ascii).encode()


class PredictionPath:
    """The prediction path of one served model under one fallback policy."""

    def __init__(
        self,
        model: ServedModel,
        *,
        fallback: Fallback,
        max_batch: int,
        audit: AuditLog,
        metrics: Metrics,
        state: ServiceState,
        suffix: str = "",
    ) -> None:
        self.model = model
        self.fallback = fallback
        self.audit = audit
        self.metrics = metrics
        self.state = state
        self.request_model: type[BaseModel] = predict_request_model(model.bundle, max_batch=max_batch, suffix=suffix)
        self._labels = {"model": model.name}
        self._domain = model.domain.summary().as_dict()  # stated in every answer

    def run(self, body: bytes, actor: str, received: float | None = None) -> Answer:
        """Answer one request body for *actor*, received at *received* (``time.monotonic()``; default: now): 503
        naming the cause, and nothing answered, when the audit log cannot commit the record by
        ``received + AUDIT_WRITE_SECONDS`` (or within :data:`LATE_RECORD_SECONDS` of the record being due,
        when computing the answer took longer)."""
        request_id = uuid.uuid4().hex
        try:
            return self._run(body, actor, request_id, time.monotonic() if received is None else received)
        except StoreError as exc:
            self.metrics.inc("audit_failures_total")
            return Answer(503, _dumps(unrecorded(exc, request_id), ascii=False))

    def _run(self, body: bytes, actor: str, request_id: str, received: float) -> Answer:
        start = time.perf_counter()
        try:
            self.check_running()
            values = self.validate(body)
            verdicts = self.check_domain(values)
            self.apply_fallback(values, verdicts)
            explained = self.attribute(values, verdicts)
            results = self.interval(explained, verdicts)
        except Refusal as refusal:
            self.audit_refusal(refusal, actor, request_id, received)
            return self.refused(refusal, request_id)
        domains = [r.verdict.as_dict() for r in results]
        attributions = [r.attributions.tolist() for r in results]
        content = _dumps(
            {
                "results": self.rendered(results, domains, attributions),
                "model": self.model.id.as_dict(),
                "request_id": request_id,
                "domain": self._domain,
            }
        )  # rendered before the audit record: an answer that cannot be sent is never recorded as sent
        seconds = time.perf_counter() - start
        self.audit_prediction(values, results, domains, attributions, actor, request_id, seconds, received)
        return Answer(200, content)

    # ------------------------------------------------------------------ steps
    def check_running(self) -> None:
        """Refuse while stopped: the stop state of the shared store, at most ``STOP_REFRESH_SECONDS`` old."""
        state = self.state.fresh()
        if state.stopped:
            raise Refusal(
                "stopped",
                f"the service is stopped ({state.stop_reason}; by {state.stopped_by}); an engineer can POST /v1/start",
                status=503,
            )

    def validate(self, body: bytes) -> FloatArray:
        """The request schema: a JSON object of 1 to max_batch rows, each with every input as a finite number."""
        if not body.strip():
            raise Refusal("invalid_request", [error_detail({"type": "missing", "loc": ()})])
        try:
            data = json.loads(body)  # the standard parser, as FastAPI's: NaN and 1e999 reach the finite check
        except ValueError as exc:
            raise Refusal(
                "invalid_request", [error_detail({"type": "json_invalid", "loc": (), "msg": str(exc)})]
            ) from None
        try:
            parsed = self.request_model.model_validate(data)
        except ValidationError as exc:
            ranges = self.model.domain.ranges
            errors = exc.errors(include_url=False)
            raise Refusal("invalid_request", [error_detail(dict(e), ranges) for e in errors]) from None
        inputs = self.model.inputs
        rows = parsed.rows  # type: ignore[attr-defined]
        self.metrics.inc("rows_predicted_total", len(rows), **self._labels)
        return np.array([[getattr(row, name) for name in inputs] for row in rows], dtype=float)

    def check_domain(self, values: FloatArray) -> list[Verdict]:
        """The one range check (and the distance check): a verdict per row."""
        verdicts = self.model.domain.check(values)
        outside = sum(not v.inside for v in verdicts)
        if outside:
            self.metrics.inc("rows_outside_domain_total", outside, **self._labels)
        return verdicts

    def apply_fallback(self, values: FloatArray, verdicts: list[Verdict]) -> None:
        """Under 'refuse', a row outside the domain refuses the request, naming each violation."""
        if self.fallback is not Fallback.refuse:
            return
        outside = [i for i, v in enumerate(verdicts) if not v.inside]
        if not outside:
            return
        domain = self.model.domain
        detail: list[dict[str, Any]] = []
        for i in outside:
            violations = verdicts[i].violations
            ranged = [v for v in violations if v.kind != "distance"] or list(violations)
            for v in ranged:  # an input out of range says it all; the distance alone when every input is in range
                entry: dict[str, Any] = {
                    "loc": f"rows[{i}]" if v.kind == "distance" else f"rows[{i}].{v.input}",
                    "type": "outside_domain",
                    "msg": domain.describe(v),
                    "violations": [w.as_dict() for w in violations],
                }
                if v.kind != "distance":
                    r = domain.range_of(v.input)
                    entry["allowed"] = {"low": r.low, "high": r.high, "unit": r.unit}
                detail.append(entry)
        raise Refusal("outside_domain", detail, rows=values, verdicts=verdicts, outside=outside)

    def attribute(self, values: FloatArray, verdicts: list[Verdict]) -> Explanation:
        """Predictions and attributions; a row with no finite value refuses the request (unless its answer is
        the default anyway)."""
        explained = self.model.explain(values)
        finite = np.isfinite(explained.prediction) & np.isfinite(explained.values).all(axis=1)
        if finite.all():
            return explained
        defaulted = self.fallback is Fallback.default
        broken = [i for i in np.flatnonzero(~finite).tolist() if not (defaulted and not verdicts[i].inside)]
        if broken:
            detail = [
                {
                    "loc": f"rows[{i}]",
                    "type": "non_finite",
                    "msg": "the model gives no finite prediction for these inputs (far outside the "
                    "validity domain); nothing is answered for this request",
                }
                for i in broken
            ]
            raise Refusal("non_finite", detail, rows=values, verdicts=verdicts, non_finite=broken)
        return explained

    def interval(self, explained: Explanation, verdicts: list[Verdict]) -> list[RowResult]:
        """Each row's interval, and the default in place of the model where the 'default' fallback applies."""
        model = self.model
        half = model.half_width
        results: list[RowResult] = []
        for i, verdict in enumerate(verdicts):
            if not verdict.inside and self.fallback is Fallback.default:
                value = model.default_value
                low, high = model.default_interval
                results.append(
                    RowResult(value, (low, high), np.zeros(len(model.inputs)), value, verdict, Fallback.default.value)
                )
                continue
            prediction = float(explained.prediction[i])
            results.append(
                RowResult(
                    prediction,
                    (prediction - half, prediction + half) if half is not None else (None, None),
                    explained.values[i],
                    explained.base_value,
                    verdict,
                    None if verdict.inside else self.fallback.value,
                )
            )
        return results

    # ------------------------------------------------------------------ audit and answer
    def _deadline(self, received: float | None) -> float | None:
        """When the record of a request received at *received* must be committed: AUDIT_WRITE_SECONDS later
        (time queued for a worker thread included), and at least LATE_RECORD_SECONDS from now; None (the audit
        log's own bound from now) when the time it was received is not known."""
        if received is None:
            return None
        return max(received + self.audit.write_seconds, time.monotonic() + LATE_RECORD_SECONDS)

    def audit_prediction(
        self,
        values: FloatArray,
        results: list[RowResult],
        domains: list[dict[str, Any]],
        attributions: list[list[float]],
        actor: str,
        request_id: str,
        seconds: float,
        received: float | None = None,
    ) -> None:
        """One ``prediction`` record: what was asked and everything answered, row by row."""
        model = self.model
        payload = prediction_payload(
            model.id,
            model.inputs,
            values.tolist(),
            unit=model.unit,
            predictions=[r.prediction for r in results],
            attributions=attributions,
            base_values=[r.base_value for r in results],
            intervals=[list(r.interval) for r in results],
            domain=domains,
            fallback=[r.fallback for r in results],
            seconds=seconds,
        )
        self.audit.append("prediction", actor, payload, request_id, deadline=self._deadline(received))

    def audit_refusal(self, refusal: Refusal, actor: str, request_id: str, received: float | None = None) -> None:
        self.metrics.inc("predictions_refused_total", model=self.model.name, reason=refusal.reason)
        payload = refusal_payload(
            self.model.id,
            self.model.inputs,
            refusal.reason,
            rows=None if refusal.rows is None else refusal.rows.tolist(),
            domain=None if refusal.verdicts is None else [v.as_dict() for v in refusal.verdicts],
            outside=refusal.outside,
            non_finite=refusal.non_finite,
            detail=refusal.detail if refusal.reason in ("invalid_request", "stopped") else None,
        )
        self.audit.append("prediction_refused", actor, payload, request_id, deadline=self._deadline(received))

    def rendered(
        self, results: list[RowResult], domains: list[dict[str, Any]], attributions: list[list[float]]
    ) -> list[dict[str, Any]]:
        """The answer's results (the schema of :class:`~glassline.serve._schemas.Result`)."""
        inputs = self.model.inputs
        unit = self.model.unit
        return [
            {
                "prediction": r.prediction,
                "unit": unit,
                "interval": list(r.interval),
                "attributions": dict(zip(inputs, shap, strict=True)),
                "base_value": r.base_value,
                "domain": domain,
                "fallback": r.fallback,
            }
            for r, domain, shap in zip(results, domains, attributions, strict=True)
        ]

    @staticmethod
    def refused(refusal: Refusal, request_id: str) -> Answer:
        body: dict[str, Any] = {"detail": refusal.detail, "request_id": request_id}
        if refusal.reason == "outside_domain":
            body["fallback"] = Fallback.refuse.value
        if refusal.reason == "stopped":
            body["state"] = "stopped"
        return Answer(refusal.status, _dumps(body, ascii=False))
