"""Issue 8 done-when, on the demo's own model: published with no --study, served over HTTP, audited.

A reduced demo (one target, two families) writes its results folder; ``glassline publish`` registers its
best model (the study comes from the copy the results folder keeps), ``glassline serve`` runs it in a
child process, and real HTTP requests check the prediction, interval, attributions and the validity
domain with the 'flag' and the 'refuse' fallback. Last, ``glassline audit verify`` checks the chain.
"""

from __future__ import annotations

import math
import re
import sys
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest

from glassline.cli import main
from glassline.demo import run_demo

sys.path.insert(0, str(Path(__file__).parent / "serve"))
from serve_helpers import free_port, server_process

pytestmark = pytest.mark.slow

TARGET = "adhesion_strength"


def cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """Run ``glassline ARGS`` in this process; returns what it printed (fails on a non-zero exit)."""
    with pytest.raises(SystemExit) as info:
        main(args)
    captured = capsys.readouterr()
    assert info.value.code in (0, None), captured.err
    return captured.out


def predict(client: httpx.Client, row: dict[str, float]) -> httpx.Response:
    return client.post("/v1/predict", json={"rows": [row]})


def check_inside(answer: httpx.Response) -> None:
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()["results"][0]
    prediction = result["prediction"]
    assert math.isfinite(prediction)
    assert result["unit"]
    low, high = result["interval"]
    assert low <= prediction <= high
    assert sum(result["attributions"].values()) == pytest.approx(prediction - result["base_value"], rel=1e-6)
    assert result["domain"]["inside"] is True
    assert result["fallback"] is None


def test_the_demo_model_is_published_served_and_audited(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "demo"
    home = tmp_path / "home"
    run_demo(out, seed=7, families=["svr", "xgb"], targets=[TARGET], n_jobs=1)
    scenarios = pd.read_csv(out / "results" / "results.csv").query("target == @TARGET")["scenario"].tolist()
    scenario = "product" if "product" in scenarios else scenarios[0]

    # no --study: the results folder keeps the study file it was fitted from
    publish = ["publish", str(out / "results"), "-t", TARGET, "-s", scenario, "--name", "demo-model"]
    printed = cli([*publish, "--home", str(home)], capsys)
    assert printed.strip().splitlines()[-1] == "demo-model/1"
    token = cli(["token", "create", "--role", "operator", "--home", str(home)], capsys).strip().splitlines()[-1]
    headers = {"Authorization": f"Bearer {token}"}

    port = free_port()
    with (
        server_process("demo-model", home, port, fallback="flag"),
        httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=30) as client,
    ):
        model = client.get("/v1/model")
        assert model.status_code == 200, model.text
        inputs = model.json()["inputs"]
        assert inputs
        middle = {i["name"]: (i["low"] + i["high"]) / 2 for i in inputs}
        check_inside(predict(client, middle))
        far_input = inputs[0]
        far = {**middle, far_input["name"]: far_input["high"] + 10 * (far_input["high"] - far_input["low"])}
        answer = predict(client, far)
        assert answer.status_code == 200, answer.text
        result = answer.json()["results"][0]
        assert result["domain"]["inside"] is False
        assert result["fallback"] == "flag"
        assert far_input["name"] in {v["input"] for v in result["domain"]["violations"]}
        assert math.isfinite(result["prediction"])

    port = free_port()
    with (
        server_process("demo-model", home, port, fallback="refuse"),
        httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=30) as client,
    ):
        check_inside(predict(client, middle))
        refused = predict(client, far)
        assert refused.status_code == 422, refused.text
        assert far_input["name"] in refused.text
        refused_id = refused.json()["request_id"]

    report = cli(["audit", "verify", "--home", str(home)], capsys)
    found = re.search(r"audit chain OK: (\d+) records", report)
    assert found, report
    assert int(found.group(1)) == 8
    from glassline.audit import AuditLog, connect
    from glassline.registry import database_url

    engine = connect(database_url(home))
    kinds = [r.kind for r in AuditLog(engine).records()]
    refusal = AuditLog(engine).find(refused_id, kind="prediction_refused")
    engine.dispose()
    assert refusal is not None
    assert refusal.payload["reason"] == "outside_domain"
    assert kinds == [
        "model_published",
        "token_created",
        "model_loaded",  # the flagging server
        "prediction",
        "prediction",
        "model_loaded",  # the refusing server
        "prediction",
        "prediction_refused",  # the input out of range under 'refuse': refused by the domain check, and audited
    ]
