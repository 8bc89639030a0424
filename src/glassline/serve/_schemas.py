"""Request and response models of the service; a model's row schema is generated from its study at start-up.

The row schema checks types and required inputs only: whether a value lies inside an input's range is
the validity domain's check (:meth:`glassline.registry.ValidityDomain.check`), the one range check.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, create_model

from glassline.exceptions import did_you_mean
from glassline.registry import Bundle, DomainSummary, InputRange, Verdict

__all__ = [
    "Fallback",
    "FeedbackRequest",
    "OverrideRequest",
    "PredictResponse",
    "StopRequest",
    "TokenRequest",
    "error_detail",
    "predict_request_model",
]


class Fallback(StrEnum):
    """What the service does with a row outside the validity domain."""

    refuse = "refuse"  # answer 422 with the violations
    flag = "flag"  # answer the model's prediction, flagged
    default = "default"  # answer the safe default (median of training targets), flagged


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def predict_request_model(bundle: Bundle, *, max_batch: int, suffix: str = "") -> type[BaseModel]:
    """``{"rows": [{input: number}]}`` with one required finite number per input; the allowed ranges are
    documented (``x-low``, ``x-high``) and checked by the validity domain. *suffix* names the schemas of one
    model among several (``Row_adhesion``)."""
    labels = {c.name: c for c in bundle.study.columns()}
    fields: dict[str, Any] = {}
    for r in bundle.domain.ranges:
        column = labels.get(r.name)
        display = column.display if column is not None else r.name
        description = f"{display}; validity domain {r.low:.6g} … {r.high:.6g}" + (f" {r.unit}" if r.unit else "")
        constraint = Field(
            description=description,
            strict=True,
            allow_inf_nan=False,
            json_schema_extra={"x-unit": r.unit, "x-low": r.low, "x-high": r.high, "x-range-source": r.source},
        )
        fields[r.name] = (Annotated[float, constraint], ...)
    row = create_model(
        f"Row{suffix}",
        __config__=ConfigDict(extra="forbid", title=f"Row{suffix}"),
        __doc__="One row of inputs, in the units of the study file.",
        **fields,
    )
    request = create_model(
        f"PredictRequest{suffix}",
        __config__=ConfigDict(extra="forbid", title=f"PredictRequest{suffix}"),
        __doc__="Rows to predict.",
        rows=(list[row], Field(min_length=1, max_length=max_batch, description=f"1 to {max_batch} rows")),
    )
    return request


class Result(BaseModel):
    prediction: float
    unit: str
    interval: list[float | None] = Field(description="[low, high] at the interval level of GET /v1/model")
    attributions: dict[str, float] = Field(description="interventional SHAP value per input")
    base_value: float = Field(description="the attributions sum to prediction − base_value")
    domain: Verdict
    fallback: str | None = Field(description="null inside the domain, else the fallback applied: 'flag' or 'default'")


class ModelId(BaseModel):
    name: str
    version: str


class PredictResponse(BaseModel):
    results: list[Result]
    model: ModelId
    request_id: str
    domain: DomainSummary = Field(description="the validity domain the rows were checked against: box and distance")


class FeedbackRequest(_Strict):
    request_id: str = Field(min_length=1, max_length=64)
    row: int = Field(0, ge=0, description="which row of that request")
    measured: Annotated[float, Field(strict=True, allow_inf_nan=False)]
    note: str = Field("", max_length=2000)


class OverrideRequest(_Strict):
    request_id: str = Field(min_length=1, max_length=64)
    row: int = Field(0, ge=0)
    value: Annotated[float, Field(strict=True, allow_inf_nan=False)]
    reason: str = Field(min_length=1, max_length=2000)


class StopRequest(_Strict):
    reason: str = Field(min_length=1, max_length=2000)


class TokenRequest(_Strict):
    role: str = Field(description="operator, technician, engineer, manager, quality or admin")
    label: str = Field("", max_length=200)
    expires: str | None = Field(
        None, max_length=20, description="lifetime such as 30d, 12h or 90m; none: valid until revoked"
    )


def error_detail(
    error: dict[str, Any],
    ranges: Sequence[InputRange] = (),
    fields: list[str] | None = None,
    required: list[str] | None = None,
) -> dict[str, Any]:
    """One validation error as ``{"loc": "rows[0].porosity", "type": ..., "msg": ..., "allowed": {...}}`` with
    one clear message.

    *ranges*: the model's inputs (named, with their range, in messages about a row); *fields*: the body's
    field names on routes other than predict (named when one is unknown), *required* the ones it needs (named
    when the body is missing).
    """
    kind = str(error.get("type", ""))
    if kind == "json_invalid":  # FastAPI's loc is ("body", character position): the body is what is wrong
        where = [p for p in error.get("loc", ()) if isinstance(p, int)]
        reason = (error.get("ctx") or {}).get("error") or error.get("msg", "invalid JSON")
        at = f" at character {where[0]}" if where else ""
        return {"loc": "body", "type": kind, "msg": f"JSON decode error{at}: {reason}"}
    loc = [p for p in error.get("loc", ()) if p != "body"]
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    by_name = {r.name: r for r in ranges}
    name = str(loc[-1]) if loc else ""
    value = error.get("input")
    detail: dict[str, Any] = {"loc": path or "body", "type": kind}
    r = by_name.get(name)
    span = f"{r.low:.6g} … {r.high:.6g}{' ' + r.unit if r.unit else ''}" if r is not None else ""
    if kind == "missing" and not loc and fields is not None:
        needed = required if required is not None else fields
        msg = f"the request body is missing; send a JSON object with the fields {fields} ({needed} required)"
    elif kind == "missing" and not loc:
        msg = 'the request body is missing; send JSON such as {"rows": [{input: value}]}'
    elif kind == "missing":
        in_row = len(loc) >= 3 and loc[0] == "rows"
        msg = f"required {'input' if in_row else 'field'} {name!r} is missing" + (
            f"; allowed range {span}" if r else ""
        )
    elif kind == "extra_forbidden":
        if len(loc) >= 3 and loc[0] == "rows":
            msg = f"unknown field {name!r}; inputs are {list(by_name)}." + did_you_mean(name, list(by_name))
        elif fields:
            msg = f"unknown field {name!r}; fields are {fields}." + did_you_mean(name, fields)
        else:
            msg = f"unknown field {name!r}"
    elif kind == "finite_number":
        msg = f"{name} must be a finite number, got {value!r}" + (f"; allowed range {span}" if r else "")
    elif kind.startswith("float") or kind.startswith("int"):
        msg = f"{name or path} must be a number, got {value!r}" + (f"; allowed range {span}" if r else "")
    else:
        msg = str(error.get("msg", "invalid value"))
    detail["msg"] = msg
    if r is not None:
        detail["allowed"] = {"low": r.low, "high": r.high, "unit": r.unit}
    return detail
