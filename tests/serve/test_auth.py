"""Auth on every protected route: 401 without or with an unknown token, 403 with a role too low."""

from __future__ import annotations

from pathlib import Path

import pytest
from serve_helpers import Running, start

from glassline.audit import Role
from glassline.registry import LoadedModel
from glassline.serve import Fallback

ROUTES: list[tuple[str, str, Role, dict[str, object]]] = [
    ("POST", "/v1/predict", Role.operator, {"rows": [{"x1": 0.5, "x2": 0.5, "x3": 0.5}]}),
    ("GET", "/v1/model", Role.operator, {}),
    ("POST", "/v1/override", Role.operator, {"request_id": "x", "value": 1.0, "reason": "r"}),
    ("POST", "/v1/feedback", Role.engineer, {"request_id": "x", "measured": 1.0}),
    ("POST", "/v1/stop", Role.engineer, {"reason": "r"}),
    ("POST", "/v1/start", Role.engineer, {"reason": "r"}),
    ("POST", "/v1/tokens", Role.admin, {"role": "operator"}),
]


def call(client: object, method: str, path: str, body: dict[str, object]) -> int:
    import httpx

    assert isinstance(client, httpx.Client)
    answer = client.request(method, path, json=body or None)
    return answer.status_code


@pytest.mark.parametrize(("method", "path", "needed", "body"), ROUTES, ids=[r[1] for r in ROUTES])
def test_every_protected_route(server: Running, method: str, path: str, needed: Role, body: dict[str, object]) -> None:
    with server.client(None) as client:
        answer = client.request(method, path, json=body or None)
        assert answer.status_code == 401
        assert answer.headers["www-authenticate"] == "Bearer"
        assert "Authorization: Bearer" in answer.json()["detail"]
    with server.client(token="gl_not-a-token") as client:
        assert call(client, method, path, body) == 401
    for role in Role:
        with server.client(role.value) as client:
            status = call(client, method, path, body)
        if role.allows(needed):
            assert status not in (401, 403), (role, path)
        else:
            assert status == 403, (role, path)
    if path == "/v1/stop":  # leave the shared server running
        with server.client("engineer") as client:
            assert client.post("/v1/start", json={"reason": "test"}).status_code == 200


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics", "/openapi.json", "/docs"])
def test_open_routes(server: Running, path: str) -> None:
    with server.client(None) as client:
        assert client.get(path).status_code == 200


def test_admin_creates_tokens_that_work(server: Running) -> None:
    with server.client("admin") as client:
        answer = client.post("/v1/tokens", json={"role": "engineer", "label": "line 2"})
        assert answer.status_code == 200
        assert client.post("/v1/tokens", json={"role": "king"}).status_code == 422
    with server.client(token=answer.json()["token"]) as client:
        assert client.get("/v1/model").status_code == 200


def test_anonymous_only_when_configured(xgb_model: LoadedModel, tmp_path: Path) -> None:
    for running in start(xgb_model, tmp_path, Fallback.flag, anonymous_role=Role.operator):
        with running.client(None) as client:
            assert client.post("/v1/predict", json={"rows": [{"x1": 0.5, "x2": 0.5, "x3": 0.5}]}).status_code == 200
            assert client.post("/v1/stop", json={"reason": "r"}).status_code == 401
