"""Every refusal, whatever refused it, is audited under the request id the answer names; one range check."""

from __future__ import annotations

import pytest
from serve_helpers import Running

from glassline.audit import AuditLog, connect, prediction_frame

INSIDE = {"x1": 0.5, "x2": 0.4, "x3": 0.6}
OUT_OF_RANGE = {"x1": 1.5, "x2": 0.4, "x3": 0.6}


def refused_record(running: Running, request_id: str) -> dict[str, object]:
    engine = connect(running.db_url)
    try:
        record = AuditLog(engine).find(request_id, kind="prediction_refused")
    finally:
        engine.dispose()
    assert record is not None, f"no prediction_refused record for {request_id}"
    assert record.payload["model"] == {"name": running.model.name, "version": running.model.version}
    return record.payload


def test_a_range_refusal_is_audited_with_its_request_id(refusing: Running) -> None:
    with refusing.client() as client:
        answer = client.post("/v1/predict", json={"rows": [INSIDE, OUT_OF_RANGE]})
    assert answer.status_code == 422
    body = answer.json()
    assert len(body["request_id"]) == 32
    assert body["fallback"] == "refuse"
    (detail,) = body["detail"]
    assert detail["loc"] == "rows[1].x1"
    assert detail["msg"] == "x1 = 1.5 is outside the validity domain 0 … 1 mm (above by 0.5)"
    assert {"input": "x1", "kind": "above", "value": 1.5, "limit": 1.0, "by": 0.5} in detail["violations"]
    payload = refused_record(refusing, body["request_id"])
    assert payload["reason"] == "outside_domain"
    assert payload["rows"] == [list(INSIDE.values()), list(OUT_OF_RANGE.values())]
    assert payload["outside"] == [1]
    domain = payload["domain"]
    assert isinstance(domain, list)
    assert domain[0]["inside"] is True
    assert domain[1]["violations"][0]["input"] == "x1"


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"rows": [{"x1": 0.5, "x2": 0.5}]}, "required input 'x3' is missing"),
        ({"rows": [{**INSIDE, "x1": "0.5"}]}, "x1 must be a number"),
        ({"rows": []}, "at least 1 item"),
    ],
)
def test_a_schema_refusal_is_audited_with_its_request_id(
    refusing: Running, payload: dict[str, object], message: str
) -> None:
    with refusing.client() as client:
        answer = client.post("/v1/predict", json=payload)
    assert answer.status_code == 422
    body = answer.json()
    assert message in body["detail"][0]["msg"]
    record = refused_record(refusing, body["request_id"])
    assert record["reason"] == "invalid_request"
    assert record["detail"] == body["detail"]


def test_bad_json_is_audited_too(refusing: Running) -> None:
    with refusing.client() as client:
        answer = client.post("/v1/predict", content='{"rows": [', headers={"content-type": "application/json"})
    assert answer.status_code == 422
    assert refused_record(refusing, answer.json()["request_id"])["reason"] == "invalid_request"


def test_a_stopped_service_audits_what_it_refused(server: Running) -> None:
    with server.client("engineer") as client:
        assert client.post("/v1/stop", json={"reason": "lot change"}).status_code == 200
        try:
            answer = client.post("/v1/predict", json={"rows": [INSIDE]})
        finally:
            assert client.post("/v1/start", json={"reason": "lot checked"}).status_code == 200
    assert answer.status_code == 503
    assert answer.json()["state"] == "stopped"
    assert refused_record(server, answer.json()["request_id"])["reason"] == "stopped"


def test_the_range_is_checked_once_by_the_domain_not_the_schema(refusing: Running) -> None:
    """The request schema documents the ranges (x-low, x-high) without enforcing them."""
    with refusing.client(None) as client:
        spec = client.get("/openapi.json").json()
    x1 = spec["components"]["schemas"]["Row"]["properties"]["x1"]
    assert (x1["x-low"], x1["x-high"]) == (0.0, 1.0)
    assert not {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"} & set(x1)


def test_refusals_are_in_the_prediction_frame(refusing: Running) -> None:
    with refusing.client() as client:
        request_id = client.post("/v1/predict", json={"rows": [OUT_OF_RANGE]}).json()["request_id"]
    engine = connect(refusing.db_url)
    try:
        frame = prediction_frame(AuditLog(engine), refusing.model.name, kind="prediction_refused")
    finally:
        engine.dispose()
    row = frame[frame["request_id"] == request_id].iloc[0]
    assert row["refusal"] == "outside_domain"
    assert row["fallback"] == "refuse"
    assert row["x1"] == 1.5
    assert not row["inside"]
