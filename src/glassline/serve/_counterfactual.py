"""Counterfactuals of served models: the smallest change of a row that brings predictions into spec.

The optimiser (:func:`glassline.optimize.counterfactual`) works on the served models exactly as the
prediction path predicts them: :meth:`ServedModel.predict` (the same predictor as every answer), the
bundle's interval half-width, and the validity domain's own check (:meth:`ValidityDomain.check`) with its
box. The answer's predictions, intervals and domain verdicts are then computed again by the prediction
path's own steps (:meth:`ServedModel.explain`, :meth:`PredictionPath.interval`), so what it states is what
``POST /v1/models/{name}/predict`` answers for that row. Every request gets one ``counterfactual`` audit
record (answered or refused) before the answer is sent.
"""

from __future__ import annotations

import json
import math
import time
import uuid
from collections.abc import Sequence
from typing import Annotated, Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from glassline.exceptions import GlasslineError, StoreError
from glassline.optimize import DEFAULT_SECONDS, Counterfactual, Space, Surface, Target, counterfactual
from glassline.serve._pipeline import LATE_RECORD_SECONDS, Answer, PredictionPath, Refusal, unrecorded
from glassline.serve._runtime import ServedModel
from glassline.serve._schemas import error_detail

__all__ = [
    "CounterfactualPath",
    "CounterfactualRequest",
    "JointCounterfactualRequest",
    "default_settable",
    "request_schema",
    "served_space",
    "served_surface",
]

Number = Annotated[float, Field(strict=True, allow_inf_nan=False)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Requirement(_Strict):
    """Bounds on a model's prediction (at least one)."""

    min: Number | None = Field(None, description="the prediction (its whole interval by default) must be ≥ min")
    max: Number | None = Field(None, description="the prediction (its whole interval by default) must be ≤ max")


class CounterfactualRequest(_Strict):
    """The row, the requirement on this model's prediction, and what may change at what cost."""

    row: dict[str, Number] = Field(description="every input of the model, in the units of the study file")
    require: Requirement
    settable: list[str] | None = Field(
        None, description="inputs that may change (default: the model's study factors; the others stay)"
    )
    weights: dict[str, Number] | None = Field(
        None, description="cost of changing an input by its whole range (default 1 each)"
    )
    interval: bool = Field(True, description="true: the whole prediction interval must meet it; false: the point")


class JointCounterfactualRequest(_Strict):
    """The row (inputs of every model named), a requirement per served model, and what may change."""

    row: dict[str, Number]
    require: dict[str, Requirement] = Field(description="served model name → its requirement")
    settable: list[str] | None = None
    weights: dict[str, Number] | None = None
    interval: bool = True


def request_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The JSON schema of a request model with its definitions inlined (for the OpenAPI request body)."""
    schema = model.model_json_schema()
    defs = schema.pop("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return inline(defs[ref.split("/")[-1]])
            return {k: inline(v) for k, v in node.items()}
        if isinstance(node, list):
            return [inline(v) for v in node]
        return node

    return dict(inline(schema))


def served_surface(model: ServedModel) -> Surface:
    """A served model as the optimiser's surface: the service's predictor, interval and attributions."""

    def explain(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        explained = model.explain(values)
        return explained.prediction, explained.values

    return Surface(
        model.name,
        model.inputs,
        model.predict,
        half_width=model.half_width,
        unit=model.unit,
        estimator=model.loaded.pipeline,
        reference=np.asarray(model.bundle.background.loc[:, list(model.inputs)], dtype=float),
        explain=explain,
        level=_level(model),
    )


def _level(model: ServedModel) -> float | None:
    level = model.bundle.interval.get("level")
    return float(level) if isinstance(level, int | float) and math.isfinite(level) else None


def served_space(models: Sequence[ServedModel]) -> Space:
    """The inputs of *models* (first-seen order), each input's box the intersection of the models' ranges, and
    the domain check of every model on its own inputs."""
    names: list[str] = []
    low: dict[str, float] = {}
    high: dict[str, float] = {}
    unit: dict[str, str] = {}
    for m in models:
        for r in m.domain.ranges:
            if r.name not in low:
                names.append(r.name)
                low[r.name], high[r.name], unit[r.name] = r.low, r.high, r.unit
            else:
                low[r.name], high[r.name] = max(low[r.name], r.low), min(high[r.name], r.high)
    index = {n: i for i, n in enumerate(names)}
    columns = [[index[n] for n in m.inputs] for m in models]

    def inside(rows: np.ndarray) -> np.ndarray:
        ok = np.ones(len(rows), dtype=bool)
        for m, cols in zip(models, columns, strict=True):
            ok &= np.array([v.inside for v in m.domain.check(rows[:, cols])], dtype=bool)
        return ok

    described = "; ".join(f"{m.name}: box and {m.domain.summary().distance.kind}" for m in models)
    return Space(
        tuple(names),
        tuple(low[n] for n in names),
        tuple(high[n] for n in names),
        tuple(unit[n] for n in names),
        inside,
        f"the validity domain of {described}",
    )


def default_settable(models: Sequence[ServedModel]) -> list[str]:
    """The inputs that are study factors (``range_from == "study"``); measured inputs stay as they are."""
    seen: list[str] = []
    for m in models:
        for r in m.domain.ranges:
            if r.source == "study" and r.name not in seen:
                seen.append(r.name)
    return seen


def _where(message: str) -> str:
    """The request field an optimiser error is about, from its message's head (before the first ':' or ';')."""
    head = message.lower().split(";")[0].split(":")[0]
    for field in ("weights", "settable", "requirement", "row"):
        if field in head:
            return "require" if field == "requirement" else field
    return "body"


class CounterfactualPath:
    """The counterfactual requests of one service: one model's (``/v1/models/{name}/counterfactual``) and several
    at once (``/v1/counterfactual``)."""

    def __init__(self, paths: dict[str, PredictionPath], seconds: float = DEFAULT_SECONDS) -> None:
        self.paths = paths
        self.seconds = seconds
        self.surfaces = {name: served_surface(p.model) for name, p in paths.items()}

    # ------------------------------------------------------------------ entry points
    def run_one(self, name: str, body: bytes, actor: str, received: float | None = None) -> Answer:
        return self._run([name], body, actor, received)

    def run_many(self, body: bytes, actor: str, received: float | None = None) -> Answer:
        return self._run(None, body, actor, received)

    # ------------------------------------------------------------------ steps
    def _run(self, names: list[str] | None, body: bytes, actor: str, received: float | None) -> Answer:
        request_id = uuid.uuid4().hex
        received = time.monotonic() if received is None else received
        chosen = names or list(self.paths)
        request: dict[str, Any] | None = None
        try:
            try:
                next(iter(self.paths.values())).check_running()
                parsed, request = self._parse(names, body)
                models = list(parsed["models"])
                answer = self._answer(parsed)
            except Refusal as refusal:
                payload = {
                    "models": [self.paths[n].model.id.as_dict() for n in chosen if n in self.paths],
                    "status": "refused",
                    "request": request,
                    "detail": refusal.detail,
                }
                self._audit(payload, actor, request_id, received)
                body_out: dict[str, Any] = {"detail": refusal.detail, "request_id": request_id}
                if refusal.reason == "stopped":
                    body_out["state"] = "stopped"
                return Answer(refusal.status, _dumps(body_out))
            content = {**answer, "request_id": request_id}
            rendered = _dumps(content)
            self._audit(
                {
                    "models": [self.paths[n].model.id.as_dict() for n in models],
                    "status": "answered",
                    "request": request,
                    "answer": {k: v for k, v in answer.items() if k not in ("attributions",)},
                },
                actor,
                request_id,
                received,
            )
            return Answer(200, rendered)
        except StoreError as exc:
            next(iter(self.paths.values())).metrics.inc("audit_failures_total")
            return Answer(503, _dumps(unrecorded(exc, request_id)))

    def _audit(self, payload: dict[str, Any], actor: str, request_id: str, received: float) -> None:
        audit = next(iter(self.paths.values())).audit
        deadline = max(received + audit.write_seconds, time.monotonic() + LATE_RECORD_SECONDS)
        audit.append("counterfactual", actor, payload, request_id, deadline=deadline)

    def _parse(self, names: list[str] | None, body: bytes) -> tuple[dict[str, Any], dict[str, Any] | None]:
        if not body.strip():
            raise Refusal("invalid_request", [error_detail({"type": "missing", "loc": ()}, (), *_fields(names))])
        try:
            data = json.loads(body)
        except ValueError as exc:
            raise Refusal(
                "invalid_request", [error_detail({"type": "json_invalid", "loc": (), "msg": str(exc)})]
            ) from None
        schema: type[BaseModel] = CounterfactualRequest if names is not None else JointCounterfactualRequest
        try:
            parsed = schema.model_validate(data)
        except ValidationError as exc:
            fields, required = _fields(names)
            raise Refusal(
                "invalid_request", [error_detail(dict(e), (), fields, required) for e in exc.errors(include_url=False)]
            ) from None
        request = parsed.model_dump()
        if names is not None:
            requirements = {names[0]: parsed.require}  # type: ignore[attr-defined]
        else:
            requirements = dict(parsed.require)  # type: ignore[attr-defined]
            if not requirements:
                raise Refusal(
                    "invalid_request",
                    [{"loc": "require", "type": "missing", "msg": "give a requirement for at least one served model"}],
                )
            unknown = [n for n in requirements if n not in self.paths]
            if unknown:
                served = list(self.paths)
                raise Refusal(
                    "invalid_request",
                    [
                        {
                            "loc": f"require.{unknown[0]}",
                            "type": "unknown_model",
                            "msg": f"no model {unknown[0]!r} is served here; served: {served}",
                        }
                    ],
                    status=404,
                )
        models = [self.paths[n].model for n in requirements]
        return {
            "models": list(requirements),
            "requirements": requirements,
            "served": models,
            "row": parsed.row,  # type: ignore[attr-defined]
            "settable": parsed.settable,  # type: ignore[attr-defined]
            "weights": parsed.weights,  # type: ignore[attr-defined]
            "interval": parsed.interval,  # type: ignore[attr-defined]
        }, request

    def solve(self, parsed: dict[str, Any]) -> tuple[Counterfactual, Space]:
        """The optimiser's answer for a parsed request (Refusal 422 naming the field for a bad value)."""
        served: list[ServedModel] = parsed["served"]
        space = served_space(served)
        try:
            targets = []
            for name, bound in parsed["requirements"].items():
                try:
                    targets.append(Target(self.surfaces[name], low=bound.min, high=bound.max))
                except GlasslineError as exc:
                    loc = "require" if len(parsed["requirements"]) == 1 else f"require.{name}"
                    raise Refusal("invalid_request", [{"loc": loc, "type": "value_error", "msg": str(exc)}]) from None
            settable = parsed["settable"]
            if settable is None:
                settable = [n for n in default_settable(served) if n in space.factors]
            answer = counterfactual(
                parsed["row"],
                targets,
                space,
                settable=settable,
                weights=parsed["weights"],
                interval=parsed["interval"],
                seconds=self.seconds,
            )
        except Refusal:
            raise
        except GlasslineError as exc:
            message = str(exc)
            raise Refusal(
                "invalid_request", [{"loc": _where(message), "type": "value_error", "msg": message}]
            ) from None
        return answer, space

    def _answer(self, parsed: dict[str, Any]) -> dict[str, Any]:
        answer, space = self.solve(parsed)
        x = np.asarray([answer.row[n] for n in space.factors], dtype=float)
        by_model: dict[str, dict[str, Any]] = {}
        for name in parsed["models"]:
            path = self.paths[name]
            model = path.model
            values = x[[space.factors.index(n) for n in model.inputs]][None, :]
            verdicts = model.domain.check(values)
            explained = model.explain(values)  # the prediction path's own steps: predictor, then interval
            result = path.interval(explained, verdicts)[0]
            by_model[name] = {
                "prediction": result.prediction,
                "interval": list(result.interval),
                "unit": model.unit,
                "attributions": dict(zip(model.inputs, result.attributions.tolist(), strict=True)),
                "base_value": result.base_value,
                "domain": result.verdict.as_dict(),
                "fallback": result.fallback,
            }
        common = {
            "feasible": answer.feasible,
            "row": answer.row,
            "changes": answer.changes,
            "distance": answer.distance,
            "n_changed": answer.n_changed,
            "certificate": answer.certificate,
            "proven": answer.proven,
            "method": answer.method,
            "optimal": answer.optimal,
            "gap": answer.gap,
            "resolution": answer.resolution,
            "seconds": answer.seconds,
            "notes": answer.notes,
        }
        if len(parsed["models"]) == 1 and parsed.get("single", True) and len(by_model) == 1:
            only = next(iter(by_model.values()))
            name = next(iter(by_model))
            return {
                **common,
                "prediction": only["prediction"],
                "interval": only["interval"],
                "unit": only["unit"],
                "attributions": only["attributions"],
                "domain": only["domain"],
                "model": self.paths[name].model.id.as_dict(),
                "predictions": by_model,
            }
        return {**common, "predictions": by_model, "models": [self.paths[n].model.id.as_dict() for n in by_model]}


def _fields(names: list[str] | None) -> tuple[list[str], list[str]]:
    model: type[BaseModel] = CounterfactualRequest if names is not None else JointCounterfactualRequest
    return list(model.model_fields), [n for n, f in model.model_fields.items() if f.is_required()]


def _dumps(data: Any) -> bytes:
    return json.dumps(data, allow_nan=False, separators=(",", ":"), ensure_ascii=False).encode()
