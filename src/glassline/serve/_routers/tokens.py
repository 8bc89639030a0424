"""``POST /v1/tokens``: an admin creates an API token, optionally with an expiry."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from glassline.audit import Role, parse_lifetime
from glassline.exceptions import SpecError, StoreError, did_you_mean
from glassline.serve._errors import AUTH_CODES, BODY_CODES, error_responses
from glassline.serve._schemas import TokenRequest
from glassline.serve._service import ApiError, Service

__all__ = ["tokens_router"]


def tokens_router(service: Service) -> APIRouter:
    router = APIRouter(tags=["tokens"])

    @router.post(
        "/v1/tokens", summary="Create an API token (admin)", responses=error_responses(*AUTH_CODES, *BODY_CODES)
    )
    def create_token(body: TokenRequest, actor: str = service.require(Role.admin)) -> dict[str, Any]:
        try:
            role = Role(body.role)
        except ValueError:
            raise ApiError(
                422,
                [
                    {
                        "loc": "role",
                        "type": "enum",
                        "msg": f"unknown role {body.role!r}; roles are {[r.value for r in Role]}."
                        + did_you_mean(body.role, [r.value for r in Role]),
                    }
                ],
            ) from None
        lifetime = None
        if body.expires is not None:
            try:
                lifetime = parse_lifetime(body.expires, field="expires")
            except SpecError as exc:
                raise ApiError(422, [{"loc": "expires", "type": "value_error", "msg": str(exc)}]) from None
        issued = service.tokens.issue(role, body.label, lifetime=lifetime)
        try:
            record = service.audit.append("token_created", actor, issued.payload())
        except StoreError:
            service.tokens.revoke(issued.id)  # no token without its audit record
            raise
        expires = None if issued.expires is None else issued.expires.isoformat(timespec="seconds")
        return {"token": issued.token, "id": issued.id, "role": role.value, "expires": expires, "audit_seq": record.seq}

    return router
