"""The dashboards over real HTTP: three published models (tests/conftest.py's synthetic results folder) with a
requirement on their response, an audit log filled through the service's own API, and test providers that
return answers of the exact JSON shapes of monitoring (issue 16) and the counterfactual route (issue 17)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from ui_helpers import Served, serving

from glassline import Study
from glassline.audit import Role, TokenStore, connect
from glassline.registry import LoadedModel, load_model, publish
from glassline.serve import Fallback, ServedModel, ServiceConfig, create_app
from glassline.ui import Providers, UiConfig, create_ui
from study_claims import study_folder

#: The requirement the tests' study file sets on the response (the synthetic y spans about −2 to 4.5).
REQUIREMENT = "y >= 1.0"
FAMILIES = ("xgb", "svr", "mlr")


@pytest.fixture(scope="session")
def ui_models(results_dir: Path, study: Study, home: Path) -> list[LoadedModel]:
    """Three models of y (one per family), published with a study that requires ``y >= 1``."""
    required = study.model_copy(update={"requirements": [REQUIREMENT]})
    loaded = []
    for family in FAMILIES:
        p = publish(results_dir, "y", "factors", family=family, name=f"ui-{family}", study=required, home=home)
        loaded.append(load_model(f"{p.name}/{p.version}", home=home))
    return loaded


def monitor_report(name: str) -> dict[str, Any] | None:
    """A window report of the exact shape of ``glassline monitor check --json`` (issue 16)."""
    if name.endswith("mlr"):
        return None  # this model has no window yet
    if name.endswith("svr"):
        return {
            "model": name,
            "window": {"first_seq": 5, "last_seq": 40, "n": 30},
            "alarms": [],
            "tests": [{"quantity": "x1", "p_value": 0.41}, {"quantity": "prediction", "p_value": 0.52}],
        }
    return {
        "model": name,
        "window": {"first_seq": 5, "last_seq": 60, "n": 30},
        "alarms": [
            {
                "kind": "input_drift",
                "input": "x2",
                "statistic": "permutation min-P",
                "p_value": 0.0008,
                "adjusted_p_value": 0.004,
                "direction": "higher",
                "size": 0.21,
                "unit": "°C",
                "root_cause": "x2 reads 0.21 °C higher than in the reference window; this explains 80 % of the "
                "0.4 kPa drop in predicted signal.",
                "contributions": {"x2": 0.32, "x1": 0.06, "x3": 0.02},  # in the prediction's unit (sum: the shift)
                "runbook": [
                    "Check the x2 thermocouple against the reference probe.",
                    "Look for a recent recipe change.",
                ],
            }
        ],
        "tests": [{"quantity": "x1", "p_value": 0.3}, {"quantity": "x2", "p_value": 0.0008}],
        "retraining": {"retrain": False, "why": "residuals and coverage are within their limits", "since": None},
    }


def make_counterfactual(models: dict[str, ServedModel], calls: list[tuple[str, dict[str, Any]]]) -> Any:
    """A counterfactual provider answering with issue 17's exact shape: the smallest one-input change on a grid
    of the input's validity range that meets the requirement (with the interval when asked); else infeasible."""

    def counterfactual(name: str, request: dict[str, Any], actor: str) -> dict[str, Any]:
        calls.append((name, request))
        model = models[name]
        row = request["row"]
        base = np.array([row[n] for n in model.inputs], dtype=float)
        low, high = request["require"].get("min", -np.inf), request["require"].get("max", np.inf)
        half = (model.half_width or 0.0) if request.get("interval") else 0.0
        best: tuple[float, str, float, float] | None = None
        for name_ in request["settable"]:
            k = list(model.inputs).index(name_)
            bounds = model.domain.range_of(name_)
            lo, hi = bounds.low, bounds.high
            grid = np.linspace(lo, hi, 101)
            table = np.tile(base, (len(grid), 1))
            table[:, k] = grid
            predicted = model.explain(table).prediction
            ok = (predicted - half >= low) & (predicted + half <= high)
            for value, p in zip(grid[ok], predicted[ok], strict=True):
                distance = abs(value - base[k]) / (hi - lo)
                if best is None or distance < best[0]:
                    best = (distance, name_, float(value), float(p))
        request_id = f"cf-{len(calls)}"
        if best is None:
            return {
                "feasible": False,
                "row": row,
                "changes": {},
                "prediction": None,
                "interval": [None, None],
                "distance": None,
                "n_changed": 0,
                "certificate": "no single settable input within its validity range meets the requirement",
                "request_id": request_id,
            }
        distance, changed, value, predicted = best
        units = {c.name: c.unit for c in model.bundle.study.columns()}
        return {
            "feasible": True,
            "row": {**row, changed: value},
            "changes": {changed: {"from": row[changed], "to": value, "unit": units.get(changed, "")}},
            "prediction": predicted,
            "interval": [predicted - half, predicted + half],
            "distance": distance,
            "n_changed": 1,
            "certificate": None,
            "request_id": request_id,
        }

    return counterfactual


def fill_log(url: str, tokens: dict[str, str], models: list[str], rng: np.random.Generator) -> None:
    """Predictions through each model's predict route (some rows outside the domain), feedback and an override."""
    operator = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {tokens['operator']}"}, timeout=30)
    engineer = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {tokens['engineer']}"}, timeout=30)
    for name in models:
        ids = []
        for i in range(14):
            x = rng.uniform(0.0, 1.0, size=3)
            if i in (3, 9):
                x[1] = 1.3  # outside x2's range: the row is flagged
            row = dict(zip(("x1", "x2", "x3"), x.tolist(), strict=True))
            answer = operator.post(f"/v1/models/{name}/predict", json={"rows": [row]})
            assert answer.status_code == 200, answer.text
            ids.append(answer.json()["request_id"])
        for request_id in ids[:6]:
            measured = float(rng.normal(1.0, 1.0))
            answer = engineer.post("/v1/feedback", json={"request_id": request_id, "row": 0, "measured": measured})
            assert answer.status_code == 200, answer.text
        answer = operator.post("/v1/override", json={"request_id": ids[1], "row": 0, "value": 2.5, "reason": "lab"})
        assert answer.status_code == 200, answer.text
    operator.close()
    engineer.close()


@pytest.fixture(scope="session")
def served(
    ui_models: list[LoadedModel], results_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    """The three models and the dashboards over HTTP on 127.0.0.1 (uvicorn in a thread, as `glassline serve`
    runs them), with a token per role and a filled audit log."""
    folder = tmp_path_factory.mktemp("ui")
    db_url = f"sqlite:///{(folder / 'glassline.db').as_posix()}"
    engine = connect(db_url)
    store = TokenStore(engine)
    tokens = {role.value: store.create(role, f"ui test {role.value}") for role in Role}
    engine.dispose()
    served_models = [ServedModel(m) for m in ui_models]
    models = {m.name: m for m in served_models}
    calls: list[tuple[str, dict[str, Any]]] = []
    app = create_app(served_models, ServiceConfig(db_url=db_url, fallback=Fallback.flag))
    providers = Providers(monitor_report=monitor_report, counterfactual=make_counterfactual(models, calls))
    # a study folder: the results and a hand-written explanations/ (claims.csv, warnings.csv)
    study_root = study_folder(results_dir, folder / "study")
    create_ui(app, providers, config=UiConfig(results=study_root / "results"))
    with serving(app) as url:
        fill_log(url, tokens, list(models), np.random.default_rng(18))
        yield Served(url, db_url, tokens, models, calls)
