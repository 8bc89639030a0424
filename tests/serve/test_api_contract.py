"""The published OpenAPI is the contract of every answer: one error schema for every error, each route declaring
the codes it can give, and 422 bodies that name the route's own fields."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
from serve_helpers import Running

METHODS = {"get", "post", "put", "patch", "delete"}


def _spec(server: Running) -> dict[str, Any]:
    with server.client(None) as client:
        spec: dict[str, Any] = client.get("/openapi.json").json()
    return spec


def _validator(spec: dict[str, Any], name: str) -> jsonschema.Draft202012Validator:
    schema = {"$ref": f"#/components/schemas/{name}", "components": spec["components"]}
    return jsonschema.Draft202012Validator(schema)


def test_every_error_answer_has_the_one_error_schema(server: Running) -> None:
    spec = _spec(server)
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if method not in METHODS:
                continue
            for code, answer in operation["responses"].items():
                if code.startswith(("4", "5")) and path != "/readyz":
                    schema = answer["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/ErrorResponse"}, (path, method, code)


@pytest.mark.parametrize(
    ("path", "codes"),
    [
        ("/v1/predict", {"401", "403", "413", "422", "429", "503"}),
        ("/v1/feedback", {"400", "401", "403", "404", "413", "422", "429", "503"}),
        ("/v1/override", {"400", "401", "403", "404", "413", "422", "429", "503"}),
        ("/v1/start", {"400", "401", "403", "413", "422", "429", "503"}),
        ("/v1/tokens", {"400", "401", "403", "413", "422", "429", "503"}),
        ("/v1/models", {"401", "403", "429", "503"}),
        ("/v1/model", {"401", "403", "409", "429", "503"}),
        ("/v1/models/{name}", {"401", "403", "404", "429", "503"}),
        ("/readyz", {"200", "503"}),
    ],
)
def test_each_route_declares_the_codes_it_can_give(server: Running, path: str, codes: set[str]) -> None:
    operation = next(op for m, op in _spec(server)["paths"][path].items() if m in METHODS)
    assert codes <= set(operation["responses"]), sorted(operation["responses"])


def test_422_bodies_match_the_published_schema_and_name_the_route_fields(server: Running) -> None:
    spec = _spec(server)
    errors = _validator(spec, "ErrorResponse")
    with server.client("admin") as client:
        answers = {
            "start without a body": client.post("/v1/start"),
            "tokens with an unknown role": client.post("/v1/tokens", json={"role": "oprator"}),
            "tokens with a bad expiry": client.post("/v1/tokens", json={"role": "operator", "expires": "soon"}),
            "feedback with an unknown field": client.post("/v1/feedback", json={"request_id": "x", "measurd": 1}),
            "feedback that is not JSON": client.post(
                "/v1/feedback", content=b'{"request_id": ', headers={"Content-Type": "application/json"}
            ),
            "predict with a missing input": client.post("/v1/predict", json={"rows": [{"x1": 0.5, "x2": 0.4}]}),
            "predict without a body": client.post("/v1/predict"),
        }
    for what, answer in answers.items():
        assert answer.status_code == 422, (what, answer.text)
        body = answer.json()
        assert not list(errors.iter_errors(body)), (what, body)
        for item in body["detail"]:
            assert isinstance(item["loc"], str), (what, item)
            assert item["type"], (what, item)
            assert item["msg"], (what, item)
    start = answers["start without a body"].json()["detail"][0]["msg"]
    assert "reason" in start, start
    assert "rows" not in start, start
    role = answers["tokens with an unknown role"].json()["detail"][0]
    assert role["loc"] == "role", role
    assert "operator" in role["msg"], role
    not_json = answers["feedback that is not JSON"].json()["detail"][0]
    assert not_json["loc"] == "body", not_json
    assert "JSON decode error at character" in not_json["msg"], not_json
    assert "rows" in answers["predict without a body"].json()["detail"][0]["msg"]


def test_other_error_bodies_match_the_published_schema(server: Running) -> None:
    errors = _validator(_spec(server), "ErrorResponse")
    with server.client(None) as anonymous, server.client("operator") as operator:
        answers = {
            401: anonymous.get("/v1/models"),
            403: operator.post("/v1/start", json={"reason": "x"}),
            404: operator.get("/v1/models/nope"),
        }
    for code, answer in answers.items():
        assert answer.status_code == code, answer.text
        assert not list(errors.iter_errors(answer.json())), answer.json()
