"""The counterfactual routes over real HTTP: every answer re-predicted through the service meets the requirement
with its interval and lies inside the domain; infeasible requirements get a certificate; bad input one 4xx."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from glassline.audit import AuditLog, connect

ROW = {"x1": 0.2, "x2": 0.8, "x3": 0.3}
#: the families the optimize conftest publishes (cf-FAMILY)
FAMILIES = ("mlr", "rsm", "xgb", "svr")


def _client(service: dict[str, Any], role: str = "operator") -> httpx.Client:
    return httpx.Client(
        base_url=str(service["url"]), headers={"Authorization": f"Bearer {service['tokens'][role]}"}, timeout=60
    )


def _predict(client: httpx.Client, name: str, row: dict[str, float]) -> dict[str, Any]:
    answer = client.post(f"/v1/models/cf-{name}/predict", json={"rows": [row]})
    assert answer.status_code == 200, answer.text
    return dict(answer.json()["results"][0])


@pytest.mark.parametrize("family", FAMILIES)
def test_answer_meets_the_requirement_through_the_service(service: dict[str, Any], family: str) -> None:
    with _client(service) as client:
        start = _predict(client, family, ROW)
        goal = start["interval"][1] + 0.3  # above the row's whole interval: a change is needed
        answer = client.post(f"/v1/models/cf-{family}/counterfactual", json={"row": ROW, "require": {"min": goal}})
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert set(body) >= {
            "feasible",
            "row",
            "changes",
            "prediction",
            "interval",
            "distance",
            "n_changed",
            "certificate",
            "request_id",
        }
        if not body["feasible"]:
            assert body["certificate"]
            return
        assert body["n_changed"] == len(body["changes"]) >= 1
        again = _predict(client, family, body["row"])  # the service refuses rows outside its domain
        assert again["domain"]["inside"]
        assert again["interval"][0] >= goal - 1e-9
        assert again["prediction"] == pytest.approx(body["prediction"])
        assert again["interval"] == pytest.approx(body["interval"])
        for name, change in body["changes"].items():
            assert change["from"] == ROW[name]
            assert change["to"] == body["row"][name]


def test_unreachable_requirement_gives_a_certificate(service: dict[str, Any]) -> None:
    with _client(service) as client:
        body = client.post("/v1/models/cf-mlr/counterfactual", json={"row": ROW, "require": {"min": 1e6}}).json()
    assert body["feasible"] is False
    assert body["n_changed"] is None
    assert body["changes"] == {}
    assert body["proven"] is True
    assert "1e+06" in body["certificate"]


def test_several_models_at_once_and_the_audit_record(service: dict[str, Any]) -> None:
    with _client(service) as client:
        start = {f: _predict(client, f, ROW) for f in ("mlr", "xgb")}
        require = {
            "cf-mlr": {"min": start["mlr"]["interval"][1] + 0.1},
            "cf-xgb": {"min": start["xgb"]["interval"][0] - 5.0},
        }
        answer = client.post("/v1/counterfactual", json={"row": ROW, "require": require, "settable": ["x1", "x2"]})
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["feasible"]
        assert body["row"]["x3"] == ROW["x3"]
        for name, bound in require.items():
            again = _predict(client, name.removeprefix("cf-"), body["row"])
            assert again["interval"][0] >= bound["min"] - 1e-9
            assert body["predictions"][name]["interval"] == pytest.approx(again["interval"])
    engine = connect(str(service["db_url"]))
    records = [r for r in AuditLog(engine).records(kind="counterfactual") if r.request_id == body["request_id"]]
    engine.dispose()
    assert len(records) == 1
    assert records[0].payload["status"] == "answered"
    assert records[0].actor.startswith("operator:")


@pytest.mark.parametrize(
    ("route", "payload", "status", "loc", "words"),
    [
        (
            "/v1/models/cf-mlr/counterfactual",
            {"row": {**ROW, "x9": 1.0}, "require": {"min": 1}},
            422,
            "row",
            "unknown factor 'x9'",
        ),
        (
            "/v1/models/cf-mlr/counterfactual",
            {"row": ROW, "require": {"min": 3, "max": 2}},
            422,
            "require",
            "min 3 is above max 2",
        ),
        ("/v1/models/cf-mlr/counterfactual", {"row": ROW, "require": {}}, 422, "require", "give a min, a max"),
        (
            "/v1/models/cf-mlr/counterfactual",
            {"row": ROW, "require": {"min": 1}, "settable": ["porosity"]},
            422,
            "settable",
            "unknown settable factor 'porosity'",
        ),
        (
            "/v1/models/cf-mlr/counterfactual",
            {"row": ROW, "require": {"min": 1}, "settable": ["x1"], "weights": {"x2": 2}},
            422,
            "weights",
            "not a settable factor",
        ),
        ("/v1/models/cf-mlr/counterfactual", {"row": ROW}, 422, "require", "required field 'require'"),
        ("/v1/counterfactual", {"row": ROW, "require": {"nope": {"min": 1}}}, 404, "require.nope", "no model 'nope'"),
    ],
)
def test_bad_input_gets_one_clear_answer(
    service: dict[str, Any], route: str, payload: dict[str, Any], status: int, loc: str, words: str
) -> None:
    with _client(service) as client:
        answer = client.post(route, json=payload)
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert body["request_id"]
    assert len(body["detail"]) == 1
    assert body["detail"][0]["loc"] == loc
    assert words in body["detail"][0]["msg"]


def test_unknown_model_and_roles(service: dict[str, Any]) -> None:
    with _client(service) as client:
        answer = client.post("/v1/models/nope/counterfactual", json={"row": ROW, "require": {"min": 1}})
        assert answer.status_code == 404
        assert "no model 'nope'" in answer.json()["detail"]
    with httpx.Client(base_url=str(service["url"]), timeout=30) as anonymous:
        assert anonymous.post("/v1/models/cf-mlr/counterfactual", json={}).status_code == 401
    spec = httpx.get(f"{service['url']}/openapi.json").json()
    assert "/v1/models/cf-mlr/counterfactual" in spec["paths"]
    assert "/v1/counterfactual" in spec["paths"]
