"""Several models in one process, over real HTTP on loopback: a predict route per model, the list, 404 with
did-you-mean, and the single-model routes refusing politely."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from serve_helpers import free_port, make_tokens, server_process, serving

from glassline.audit import AuditLog, connect, prediction_frame, verify_chain
from glassline.exceptions import SpecError
from glassline.registry import LoadedModel, load_model
from glassline.serve import Fallback, ServiceConfig, create_app

INSIDE = {"x1": 0.5, "x2": 0.4, "x3": 0.6}


@pytest.fixture(scope="module")
def mlr_model(published: dict[str, str], home: Path) -> LoadedModel:
    return load_model("y-mlr@prod", home=home)


@pytest.fixture(scope="module")
def two(
    xgb_model: LoadedModel, mlr_model: LoadedModel, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str, dict[str, str]]]:
    """y-xgb and y-mlr served by one process: (url, db_url, tokens)."""
    db_url = f"sqlite:///{(tmp_path_factory.mktemp('two') / 'glassline.db').as_posix()}"
    tokens = make_tokens(db_url)
    with serving([xgb_model, mlr_model], ServiceConfig(db_url=db_url, fallback=Fallback.flag)) as url:
        yield url, db_url, tokens


def client(two: tuple[str, str, dict[str, str]], role: str = "operator") -> httpx.Client:
    url, _, tokens = two
    return httpx.Client(base_url=url, headers={"Authorization": f"Bearer {tokens[role]}"}, timeout=30)


def test_each_model_answers_on_its_own_route(
    two: tuple[str, str, dict[str, str]], xgb_model: LoadedModel, mlr_model: LoadedModel
) -> None:
    import pandas as pd

    with client(two) as c:
        for model in (xgb_model, mlr_model):
            answer = c.post(f"/v1/models/{model.name}/predict", json={"rows": [INSIDE]})
            assert answer.status_code == 200, answer.text
            body = answer.json()
            assert body["model"] == {"name": model.name, "version": model.version}
            expected = float(model.predict(pd.DataFrame([INSIDE]))[0])
            assert body["results"][0]["prediction"] == pytest.approx(expected, rel=1e-6)
            request_id = body["request_id"]
            record = AuditLog(connect(two[1])).find(request_id)
            assert record is not None
            assert record.payload["model"] == {"name": model.name, "version": model.version}
        metrics = c.get("/metrics").text
    for model in (xgb_model, mlr_model):
        assert f'glassline_rows_predicted_total{{model="{model.name}"}}' in metrics
        assert f'path="/v1/models/{model.name}/predict",status="200"' in metrics
    engine = connect(two[1])
    log = AuditLog(engine)
    assert verify_chain(log).ok
    loaded = [(r.payload["name"], r.payload["version"]) for r in log.records("model_loaded")]
    assert loaded == [(xgb_model.name, xgb_model.version), (mlr_model.name, mlr_model.version)]
    frame = prediction_frame(log, mlr_model.name)
    assert frame["model"].unique().tolist() == [mlr_model.name]
    assert frame["x1"].tolist()[-1] == INSIDE["x1"]
    engine.dispose()


def test_the_list_names_inputs_units_and_domains(two: tuple[str, str, dict[str, str]]) -> None:
    with client(two) as c:
        listed = c.get("/v1/models").json()["models"]
        one = c.get("/v1/models/y-mlr")
    assert [m["name"] for m in listed] == ["y-xgb", "y-mlr"]
    for m in listed:
        assert m["predict"] == f"/v1/models/{m['name']}/predict"
        assert m["target"]["unit"] == "kPa"
        assert m["inputs"][0] == {
            "name": "x1",
            "display": "x1 [mm]",
            "unit": "mm",
            "low": 0.0,
            "high": 1.0,
            "range_from": "study",
        }
        assert m["domain"]["distance_threshold"] > 0
        assert m["domain"]["fallback"] == "flag"
    assert one.status_code == 200
    assert one.json()["family"] == "mlr"
    assert "## Intended use" in one.json()["model_card"]


def test_unknown_model_is_404_with_did_you_mean(two: tuple[str, str, dict[str, str]]) -> None:
    with client(two) as c:
        for answer in (c.post("/v1/models/y-mlrr/predict", json={"rows": [INSIDE]}), c.get("/v1/models/y-mlrr")):
            assert answer.status_code == 404
            assert "no model 'y-mlrr' is served here; served: ['y-xgb', 'y-mlr']." in answer.json()["detail"]
            assert "Did you mean 'y-mlr'" in answer.json()["detail"]


def test_single_model_routes_refuse_politely(
    two: tuple[str, str, dict[str, str]], xgb_model: LoadedModel, mlr_model: LoadedModel
) -> None:
    with client(two) as c:
        predict = c.post("/v1/predict", json={"rows": [INSIDE]})
        model = c.get("/v1/model")
        ready = c.get("/readyz")
    assert predict.status_code == 409
    assert "['y-xgb', 'y-mlr']" in predict.json()["detail"]
    assert "use POST /v1/models/{name}/predict, e.g. POST /v1/models/y-xgb/predict" in predict.json()["detail"]
    assert model.status_code == 409
    assert "GET /v1/models/{name}" in model.json()["detail"]
    # the versions are whatever the shared workspace published (another module in this worker may publish too)
    assert ready.json()["models"] == [{"name": m.name, "version": m.version} for m in (xgb_model, mlr_model)]


def test_openapi_has_a_schema_per_model(two: tuple[str, str, dict[str, str]]) -> None:
    with httpx.Client(base_url=two[0]) as c:
        spec = c.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    assert {"Row_y-xgb", "Row_y-mlr", "PredictRequest_y-xgb", "PredictRequest_y-mlr"} <= set(schemas)
    body = spec["paths"]["/v1/models/y-mlr/predict"]["post"]["requestBody"]["content"]["application/json"]
    assert body["schema"] == {"$ref": "#/components/schemas/PredictRequest_y-mlr"}


def test_one_version_per_name(xgb_model: LoadedModel, tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="model 'y-xgb' is given twice"):
        create_app([xgb_model, xgb_model], ServiceConfig(db_url=f"sqlite:///{tmp_path.as_posix()}/x.db"))


@pytest.mark.slow
def test_glassline_serve_with_two_models(published: dict[str, str], home: Path, tmp_path: Path) -> None:
    """`glassline serve --model y-xgb@prod --model y-svr@prod`: both answer on their routes."""
    db_url = f"sqlite:///{(tmp_path / 'audit.db').as_posix()}"
    tokens = make_tokens(db_url)
    port = free_port()
    with (
        server_process(["y-xgb@prod", "y-svr@prod"], home, port, db_url=db_url),
        httpx.Client(
            base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {tokens['operator']}"}, timeout=30
        ) as c,
    ):
        assert [m["name"] for m in c.get("/v1/models").json()["models"]] == ["y-xgb", "y-svr"]
        for name in ("y-xgb", "y-svr"):
            answer = c.post(f"/v1/models/{name}/predict", json={"rows": [INSIDE]})
            assert answer.status_code == 200, answer.text
            assert answer.json()["model"]["name"] == name
