"""The service over real HTTP on loopback: the 'Done when' flow, fallbacks, validation, oversight and metrics."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from serve_helpers import Running, start
from sqlalchemy import text

from glassline.audit import AuditLog, connect, verify_chain
from glassline.registry import LoadedModel
from glassline.serve import Fallback

INSIDE = {"x1": 0.5, "x2": 0.4, "x3": 0.6}
OUT_OF_RANGE = {"x1": 1.5, "x2": 0.4, "x3": 0.6}


def test_done_when_inside_outside_and_the_chain(server: Running) -> None:
    with server.client() as client:
        answer = client.post("/v1/predict", json={"rows": [INSIDE, OUT_OF_RANGE]})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["model"] == {"name": "y-xgb", "version": server.model.version}
    assert len(body["request_id"]) == 32
    inside, outside = body["results"]
    assert inside["unit"] == "kPa"
    expected = float(server.model.predict(__import__("pandas").DataFrame([INSIDE]))[0])
    assert inside["prediction"] == pytest.approx(expected, rel=1e-6)
    low, high = inside["interval"]
    assert low < inside["prediction"] < high
    total = sum(inside["attributions"].values())
    assert total == pytest.approx(inside["prediction"] - inside["base_value"], abs=1e-9)
    assert set(inside["attributions"]) == {"x1", "x2", "x3"}
    assert inside["domain"]["inside"] is True
    assert inside["domain"]["violations"] == []
    assert inside["fallback"] is None
    assert outside["domain"]["inside"] is False
    assert outside["fallback"] == "flag"
    violation = outside["domain"]["violations"][0]
    assert violation["input"] == "x1"
    assert violation["kind"] == "above"
    assert violation["by"] == pytest.approx(0.5)
    report = verify_chain(AuditLog(connect(server.db_url)))
    assert report.ok, str(report)
    record = AuditLog(connect(server.db_url)).find(body["request_id"])
    assert record is not None
    assert record.payload["fallback"] == [None, "flag"]


def test_attributions_match_glassline_explain(server: Running) -> None:
    from glassline.explain import shap_values

    rng = np.random.default_rng(3)
    rows = [dict(zip(["x1", "x2", "x3"], r, strict=True)) for r in rng.uniform(0.1, 0.9, size=(5, 3)).tolist()]
    with server.client() as client:
        results = client.post("/v1/predict", json={"rows": rows}).json()["results"]
    import pandas as pd

    reference = shap_values(server.model.pipeline, pd.DataFrame(rows), server.model.bundle.background, kind="exact")
    got = np.array([[r["attributions"][k] for k in ("x1", "x2", "x3")] for r in results])
    np.testing.assert_allclose(got, np.asarray(reference.values), atol=1e-8)
    assert results[0]["base_value"] == pytest.approx(float(np.asarray(reference.base_values).reshape(-1)[0]))


def test_refuse_answers_422_with_the_allowed_range(refusing: Running) -> None:
    with refusing.client() as client:
        answer = client.post("/v1/predict", json={"rows": [OUT_OF_RANGE]})
    assert answer.status_code == 422
    (detail,) = answer.json()["detail"]
    assert detail["loc"] == "rows[0].x1"
    assert detail["allowed"] == {"low": 0.0, "high": 1.0, "unit": "mm"}
    assert "outside the validity domain 0 … 1 mm" in detail["msg"]


def test_refuse_covers_the_distance_check(refusing: Running) -> None:
    """Inside every range but far from every training row: refused, and the refusal is audited."""
    domain = refusing.model.bundle.domain
    corners = [{"x1": a, "x2": b, "x3": c} for a in (0.0, 1.0) for b in (0.0, 1.0) for c in (0.0, 1.0)]
    far = [row for row in corners if not domain.check(np.array([list(row.values())]))[0].inside]
    assert far, "expected a design-space corner outside the training data's distance threshold"
    with refusing.client() as client:
        answer = client.post("/v1/predict", json={"rows": [far[0]]})
    assert answer.status_code == 422
    body = answer.json()
    assert "far from the training rows" in body["detail"][0]["msg"]
    record = AuditLog(connect(refusing.db_url)).find(body["request_id"], kind="prediction_refused")
    assert record is not None


def test_default_fallback_answers_the_safe_value(xgb_model: LoadedModel, tmp_path: Path) -> None:
    for running in start(xgb_model, tmp_path, Fallback.default):
        with running.client() as client:
            result = client.post("/v1/predict", json={"rows": [OUT_OF_RANGE]}).json()["results"][0]
        assert result["fallback"] == "default"
        assert result["prediction"] == pytest.approx(xgb_model.bundle.default["value"])
        assert sum(result["attributions"].values()) == pytest.approx(result["prediction"] - result["base_value"])


BAD_PAYLOADS: list[tuple[str, object, int, str]] = [
    ("missing input", {"rows": [{"x1": 0.5, "x2": 0.5}]}, 422, "required input 'x3' is missing; allowed range 0 … 1"),
    ("unknown input", {"rows": [{**INSIDE, "x4": 1}]}, 422, "unknown field 'x4'"),
    ("misspelt input", {"rows": [{"x1": 0.5, "x2": 0.5, "x33": 0.5}]}, 422, "Did you mean 'x3'"),
    ("string number", {"rows": [{**INSIDE, "x1": "0.5"}]}, 422, "x1 must be a number, got '0.5'"),
    ("boolean", {"rows": [{**INSIDE, "x1": True}]}, 422, "x1 must be a number"),
    ("null", {"rows": [{**INSIDE, "x1": None}]}, 422, "x1 must be a number"),
    ("nested", {"rows": [{**INSIDE, "x1": [1]}]}, 422, "x1 must be a number"),
    ("no rows", {"rows": []}, 422, "at least 1 item"),
    ("rows not a list", {"rows": {"x1": 1}}, 422, "valid list"),
    ("row not an object", {"rows": [3]}, 422, "valid dictionary"),
    ("no body key", {"data": [INSIDE]}, 422, "unknown field 'data'"),
    ("top level list", [INSIDE], 422, "valid dictionary"),
    ("too many rows", {"rows": [INSIDE] * 6}, 422, "at most 5 items"),
]


@pytest.mark.parametrize(("case", "payload", "status", "message"), BAD_PAYLOADS, ids=[c[0] for c in BAD_PAYLOADS])
def test_bad_payloads_get_4xx_with_a_message(
    refusing: Running, case: str, payload: object, status: int, message: str
) -> None:
    with refusing.client() as client:
        answer = client.post("/v1/predict", json=payload)
    assert answer.status_code == status, answer.text
    assert message in answer.text, answer.text


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ('{"rows": [{"x1": NaN, "x2": 0.5, "x3": 0.5}]}', "x1 must be a finite number"),
        ('{"rows": [{"x1": Infinity, "x2": 0.5, "x3": 0.5}]}', "x1 must be a finite number"),
        ('{"rows": [{"x1": 1e999, "x2": 0.5, "x3": 0.5}]}', "x1 must be a finite number"),
        ('{"rows": [', "JSON decode error"),
        ("", "the request body is missing"),
    ],
)
def test_bad_json_gets_422(refusing: Running, raw: str, message: str) -> None:
    with refusing.client() as client:
        answer = client.post("/v1/predict", content=raw, headers={"content-type": "application/json"})
    assert answer.status_code == 422, answer.text
    assert message in answer.text


def test_body_size_limit(refusing: Running) -> None:
    with refusing.client() as client:
        answer = client.post(
            "/v1/predict", content=b"{" + b" " * 5000 + b"}", headers={"content-type": "application/json"}
        )
        assert answer.status_code == 413
        assert "too large" in answer.json()["detail"]

        def chunks():  # no Content-Length: counted while streaming
            for _ in range(10):
                yield b" " * 1000

        answer = client.post("/v1/predict", content=chunks(), headers={"content-type": "application/json"})
        assert answer.status_code == 413


def test_model_metadata(server: Running) -> None:
    with server.client() as client:
        info = client.get("/v1/model").json()
    assert info["target"]["unit"] == "kPa"
    assert [i["name"] for i in info["inputs"]] == ["x1", "x2", "x3"]
    assert info["inputs"][0] == {
        "name": "x1",
        "display": "x1 [mm]",
        "unit": "mm",
        "low": 0.0,
        "high": 1.0,
        "range_from": "study",
    }
    assert "## Intended use" in info["model_card"]
    assert info["lineage"]["data_hash"].startswith("sha256:")
    assert info["interval"]["level"] == 0.9
    assert info["explainer"]["predictor"].startswith("tabulated tree ensemble (")
    assert info["explainer"]["algorithm"] == "tabulated trees"  # the engine's Algorithm name


def test_feedback_override_and_unknown_request(server: Running) -> None:
    with server.client() as client:
        request_id = client.post("/v1/predict", json={"rows": [INSIDE]}).json()["request_id"]
        answer = client.post("/v1/override", json={"request_id": request_id, "value": 1.0, "reason": "gauge says so"})
        assert answer.status_code == 200, answer.text
        assert (
            client.post("/v1/override", json={"request_id": request_id, "value": 1.0, "reason": ""}).status_code == 422
        )
        assert client.post("/v1/override", json={"request_id": "nope", "value": 1.0, "reason": "x"}).status_code == 404
        answer = client.post("/v1/override", json={"request_id": request_id, "row": 3, "value": 1.0, "reason": "x"})
        assert answer.status_code == 422
    with server.client("engineer") as client:
        answer = client.post("/v1/feedback", json={"request_id": request_id, "value": 2.5})
        assert answer.status_code == 422
        messages = [d["msg"] for d in answer.json()["detail"]]
        assert "required field 'measured' is missing" in messages
        assert any(m.startswith("unknown field 'value'; fields are ['request_id', 'row', 'measured'") for m in messages)
        answer = client.post("/v1/feedback", json={"request_id": request_id, "measured": 2.5})
        assert answer.status_code == 200, answer.text
    kinds = [r.kind for r in AuditLog(connect(server.db_url)).records() if r.request_id == request_id]
    assert kinds == ["prediction", "override", "feedback"]


def test_stop_answers_a_safe_state_until_start(server: Running) -> None:
    with server.client("engineer") as client:
        assert client.post("/v1/stop", json={"reason": "maintenance"}).status_code == 200
        stopped = client.post("/v1/predict", json={"rows": [INSIDE]})
        assert stopped.status_code == 503
        assert stopped.json()["state"] == "stopped"
        assert "maintenance" in stopped.json()["detail"]
        assert client.get("/readyz").status_code == 503
        assert client.get("/healthz").status_code == 200
        assert client.post("/v1/start", json={"reason": "done"}).status_code == 200
        assert client.post("/v1/predict", json={"rows": [INSIDE]}).status_code == 200
        assert client.get("/readyz").status_code == 200
    assert verify_chain(AuditLog(connect(server.db_url))).ok


def test_metrics_are_prometheus_text(server: Running) -> None:
    with server.client() as client:
        client.post("/v1/predict", json={"rows": [INSIDE]})
        text = client.get("/metrics")
    assert text.headers["content-type"].startswith("text/plain")
    assert 'glassline_http_requests_total{method="POST",path="/v1/predict",status="200"}' in text.text
    assert "glassline_rows_predicted_total" in text.text
    assert "glassline_http_request_duration_seconds_bucket" in text.text


def test_openapi_documents_units_and_ranges(server: Running) -> None:
    with server.client(None) as client:
        spec = client.get("/openapi.json").json()
    row = spec["components"]["schemas"]["Row"]
    assert row["properties"]["x1"]["x-unit"] == "mm"
    assert row["required"] == ["x1", "x2", "x3"]
    assert {
        "/v1/predict",
        "/v1/model",
        "/v1/feedback",
        "/v1/override",
        "/v1/stop",
        "/v1/start",
        "/healthz",
        "/readyz",
        "/metrics",
    } <= set(spec["paths"])
    assert json.dumps(spec)  # serializable


def test_the_service_on_postgresql(xgb_model: LoadedModel, postgres_url: str) -> None:
    """The whole service with its tokens and audit log on a real PostgreSQL server."""
    from serve_helpers import make_tokens, serving

    from glassline.serve import ServiceConfig

    engine = connect(postgres_url)
    with engine.begin() as conn:  # a fresh chain: the audit-log tests leave deliberately broken ones
        conn.execute(text("TRUNCATE glassline_audit, glassline_tokens"))
    engine.dispose()
    tokens = make_tokens(postgres_url)
    with serving(xgb_model, ServiceConfig(db_url=postgres_url, fallback=Fallback.flag)) as url:
        running = Running(url, postgres_url, tokens, xgb_model)
        with running.client() as client:
            answer = client.post("/v1/predict", json={"rows": [INSIDE, OUT_OF_RANGE]})
        assert answer.status_code == 200, answer.text
        request_id = answer.json()["request_id"]
    engine = connect(postgres_url)
    try:
        log = AuditLog(engine)
        assert log.find(request_id) is not None
        assert verify_chain(log).ok
    finally:
        engine.dispose()


def test_an_answer_the_audit_log_cannot_record_is_not_given(xgb_model: LoadedModel, tmp_path: Path) -> None:
    for running in start(xgb_model, tmp_path, Fallback.flag):
        engine = connect(running.db_url)
        with running.client() as client:
            assert client.post("/v1/predict", json={"rows": [INSIDE]}).status_code == 200
            with engine.begin() as conn:  # the database now refuses new audit records
                conn.exec_driver_sql(
                    "CREATE TRIGGER refuse_all BEFORE INSERT ON glassline_audit "
                    "BEGIN SELECT RAISE(ABORT, 'simulated full disk'); END"
                )
            answer = client.post("/v1/predict", json={"rows": [INSIDE]})
            assert answer.status_code == 503
            assert "simulated full disk" in answer.json()["detail"]
            assert "results" not in answer.json()
            assert "glassline_audit_failures_total 1" in client.get("/metrics").text
            with engine.begin() as conn:
                conn.exec_driver_sql("DROP TRIGGER refuse_all")
            assert client.post("/v1/predict", json={"rows": [INSIDE]}).status_code == 200
        log = AuditLog(engine)
        assert [r.kind for r in log.records()][-2:] == ["prediction", "prediction"]
        assert verify_chain(log).ok
        engine.dispose()


def test_a_corrupt_stop_record_refuses_serve_in_one_line(
    published: dict[str, str], home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Whether the service was stopped cannot be read: ``serve`` refuses to start (exit 1, one line naming the
    record and ``glassline audit verify``), no traceback; the Python API raises the same StoreError."""
    from glassline.cli import main
    from glassline.exceptions import StoreError
    from glassline.registry import load_model
    from glassline.serve import ServiceConfig, create_app

    url = f"sqlite:///{(tmp_path / 'corrupt.db').as_posix()}"
    log = AuditLog(connect(url))
    log.append("stop", "engineer:x", {"reason": "lot change"})
    with log.engine.begin() as conn:
        conn.execute(text("DROP TRIGGER IF EXISTS glassline_audit_no_update"))
        conn.execute(text('UPDATE glassline_audit SET payload = \'{"reason": "lot\' WHERE seq = 1'))
    log.engine.dispose()
    with pytest.raises(StoreError, match=r"does not start.*audit record 1: payload is not valid JSON"):
        create_app(load_model(published["xgb"], home=home), ServiceConfig(db_url=url))
    with pytest.raises(SystemExit) as exit_:
        main(["serve", "--model", published["xgb"], "--home", str(home), "--db", url, "--port", "1"])
    assert exit_.value.code == 1
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err
    assert len(err.splitlines()) == 1, err
    assert "audit record 1: payload is not valid JSON" in err
    assert "glassline audit verify" in err
