"""``POST /v1/tokens``: an admin creates an API token."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from glassline.audit import Role
from glassline.serve._schemas import TokenRequest
from glassline.serve._service import ApiError, Service

__all__ = ["tokens_router"]


def tokens_router(service: Service) -> APIRouter:
    router = APIRouter(tags=["tokens"])

    @router.post("/v1/tokens", summary="Create an API token (admin)")
    def create_token(body: TokenRequest, actor: str = service.require(Role.admin)) -> dict[str, Any]:
        try:
            role = Role(body.role)
        except ValueError:
            raise ApiError(
                422, [{"loc": "role", "msg": f"unknown role {body.role!r}; roles are {[r.value for r in Role]}"}]
            ) from None
        token = service.tokens.create(role, body.label)
        record = service.audit.append("token_created", actor, {"role": role.value, "label": body.label})
        return {"token": token, "role": role.value, "audit_seq": record.seq}

    return router
