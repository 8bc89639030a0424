"""The one error body of the service and the answers each route declares in its OpenAPI.

Every answer other than 2xx (and 503 of ``/readyz``, which says why the service is not ready) has the body
:class:`ErrorResponse`: ``detail`` is one line, or for 422 a list of :class:`ErrorItem` (``loc`` names the field
as a path such as ``rows[0].x1``, ``type`` the kind of error, ``msg`` one line). FastAPI's own 422 schema
(``HTTPValidationError``, with ``loc`` an array) is replaced by it in the OpenAPI: :func:`conform_openapi`.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

__all__ = [
    "AUTH_CODES",
    "BODY_CODES",
    "ERROR_DESCRIPTIONS",
    "ErrorItem",
    "ErrorResponse",
    "Readiness",
    "conform_openapi",
    "error_responses",
]


class Allowed(BaseModel):
    low: float
    high: float
    unit: str


class ErrorItem(BaseModel):
    """One refused field or row."""

    loc: str = Field(description="where: 'body', a field such as 'role', or a row's input such as 'rows[0].x1'")
    type: str = Field(description="the kind of error: 'missing', 'extra_forbidden', 'outside_domain', …")
    msg: str = Field(description="one line: what was expected and what came")
    allowed: Allowed | None = Field(None, description="an input's validity-domain range, when the error is about one")
    violations: list[dict[str, Any]] | None = Field(None, description="a row's validity-domain violations")


class ErrorResponse(BaseModel):
    """The body of every error answer."""

    detail: str | list[ErrorItem] = Field(description="one line, or for 422 the refused fields and rows")
    request_id: str | None = Field(None, description="a prediction's request id (its audit record, if any)")
    state: str | None = Field(None, description="'stopped', or 'audit unavailable' when no record can be committed")
    cause: str | None = Field(
        None, description="why the audit log cannot commit: 'locked', 'disk_full', 'read_only' or 'failed'"
    )
    fallback: str | None = Field(None, description="the fallback that refused rows outside the validity domain")


class Readiness(BaseModel):
    """What ``/readyz`` says: 200 ready, 503 unavailable, stopped or unwritable, with the reason."""

    status: str = Field(description="'ready', 'unavailable' or 'stopped'")
    reason: str | None = None
    cause: str | None = Field(None, description="why the audit log cannot be written, when that is the reason")
    name: str | None = None
    version: str | None = None
    models: list[dict[str, str]] | None = None


#: What each error status means, as the OpenAPI says it (a route may say more of its own).
ERROR_DESCRIPTIONS: dict[int, str] = {
    400: "the body could not be parsed (not UTF-8 text)",
    401: "no token, or an unknown, revoked or expired one",
    403: "the token's role is too low for this route",
    404: "no such model is served",
    409: "several models are served: use the named route",
    413: "the request body is larger than the limit",
    422: "the body failed the route's schema",
    429: "too many unknown, revoked or expired tokens from this client; see Retry-After",
    503: "the audit log cannot commit the record (locked, disk full, read-only): nothing was done",
}


def error_responses(*codes: int, described: dict[int, str] | None = None) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI ``responses`` of a route that can answer each of *codes*, each with :class:`ErrorResponse`."""
    said = {**ERROR_DESCRIPTIONS, **(described or {})}
    return {code: {"model": ErrorResponse, "description": said[code]} for code in codes}


#: Codes every route behind a token can answer (503: the token table cannot be read).
AUTH_CODES = (401, 403, 429, 503)

#: Codes every route with a JSON body that FastAPI parses can answer.
BODY_CODES = (400, 413, 422)


def conform_openapi(spec: dict[str, Any]) -> dict[str, Any]:
    """*spec* with FastAPI's default 422 (``HTTPValidationError``) replaced by :class:`ErrorResponse` on every
    route, and its two schemas removed: one error schema, the one the service answers with."""
    ref = {"$ref": "#/components/schemas/ErrorResponse"}
    for operations in spec.get("paths", {}).values():
        for operation in operations.values():
            answer = operation.get("responses", {}).get("422")
            if answer is None:
                continue
            content = answer.get("content", {}).get("application/json", {})
            if content.get("schema", {}).get("$ref", "").endswith("/HTTPValidationError"):
                content["schema"] = dict(ref)
                answer["description"] = ERROR_DESCRIPTIONS[422]
    schemas = spec.get("components", {}).get("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    return spec
