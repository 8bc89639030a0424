"""Helpers of the monitoring tests: the study of a small monitored line, its training table, and streaming rows
into an audit log as the service writes them (one ``prediction`` record per request)."""

from __future__ import annotations

import uuid
from typing import Any

import numpy as np

from glassline.audit import AuditLog, prediction_payload
from glassline.monitor._monitor import _engine, _half_width, _model_id
from glassline.registry import LoadedModel

STUDY: dict[str, Any] = {
    "name": "monitored line",
    "seed": 7,
    "factors": [
        {"name": "x1", "label": "Line speed", "low": 0.0, "high": 1.0, "unit": "m/min"},
        {"name": "x2", "label": "Second-dryer temperature", "low": 0.0, "high": 1.0, "unit": "°C"},
        {"name": "x3", "label": "Gap", "low": 0.0, "high": 1.0, "unit": "mm"},
    ],
    "responses": [{"name": "y", "label": "Adhesion strength", "unit": "kPa"}],
    "scenarios": {"factors": ["x1", "x2", "x3"]},
    "data": {"group": "configuration"},
    "split": {"test_fraction": 0.2, "cv_folds": 3, "cv_repeats": 1},
    "runbook": [
        {"alarm": "input_drift", "input": "x2", "steps": ["Check the dryer-2 thermocouple."]},
        {"alarm": "performance", "steps": ["Measure five parts by hand."]},
    ],
    "contacts": [{"role": "process engineer", "name": "A. Example", "email": "a@example.org"}],
}


def training_table(seed: int = 11) -> Any:
    import pandas as pd

    rng = np.random.default_rng(seed)
    rows = []
    for c, (x1, x2, x3) in enumerate(rng.uniform(0.0, 1.0, size=(30, 3))):
        for _ in range(2):
            y = 3.0 * x1 - 2.0 * x2 + 1.0 * x3 + rng.normal(0.0, 0.1)
            rows.append({"configuration": f"C{c:02d}", "x1": x1, "x2": x2, "x3": x3, "y": y})
    return pd.DataFrame(rows)


def stream(
    log: AuditLog,
    model: LoadedModel,
    X: np.ndarray,
    *,
    measured: np.ndarray | None = None,
    batch: int = 1,
) -> list[str]:
    """Predict, attribute and audit rows *X* as the service does (``batch`` rows per request); with *measured*,
    a ``feedback`` record per row. The request ids."""
    engine = _engine(model)
    mid = _model_id(model)
    half = _half_width(model)
    ids: list[str] = []
    for start in range(0, len(X), batch):
        rows = np.asarray(X[start : start + batch], dtype=float)
        explained = engine.explain(rows)
        verdicts = model.bundle.domain.check(rows)
        rid = uuid.uuid4().hex
        pred = explained.prediction.tolist()
        payload = prediction_payload(
            mid,
            model.bundle.inputs,
            rows.tolist(),
            unit=model.bundle.unit,
            predictions=pred,
            attributions=explained.values.tolist(),
            base_values=[explained.base_value] * len(rows),
            intervals=[[p - half, p + half] if half is not None else [None, None] for p in pred],
            domain=[v.as_dict() for v in verdicts],
            fallback=[None if v.inside else "flag" for v in verdicts],
            seconds=0.001,
        )
        log.append("prediction", "operator:test", payload, rid)
        ids.append(rid)
        if measured is not None:
            for i in range(len(rows)):
                log.append(
                    "feedback",
                    "engineer:test",
                    {
                        "request_id": rid,
                        "row": i,
                        "measured": float(measured[start + i]),
                        "note": "",
                        "model": mid.as_dict(),
                    },
                    rid,
                )
    return ids
