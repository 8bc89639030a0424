"""The read API: records by kind, model, sequence and time range; the prediction frame; bad arguments."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from glassline.audit import (
    FRAME_COLUMNS,
    AuditLog,
    ModelId,
    canonical_json,
    prediction_frame,
    prediction_payload,
    refusal_payload,
)
from glassline.audit._log import _record_hash
from glassline.exceptions import GlasslineError, QueryError

ADHESION = ModelId("adhesion", "1")
IONIC = ModelId("ionic_resistance", "2")
INPUTS = ("porosity", "mass_loading")


def predict(log: AuditLog, model: ModelId, rows: list[list[float]], request_id: str) -> int:
    """Append a prediction record of *rows* as the service writes it; returns its seq."""
    n = len(rows)
    payload = prediction_payload(
        model,
        INPUTS,
        rows,
        unit="kPa",
        predictions=[10.0 * (i + 1) for i in range(n)],
        attributions=[[1.0 + i, -0.5] for i in range(n)],
        base_values=[9.5] * n,
        intervals=[[8.0 * (i + 1), 12.0 * (i + 1)] for i in range(n)],
        domain=[
            {"inside": i == 0, "distance": 0.5 + i, "violations": [] if i == 0 else [{"input": "porosity"}]}
            for i in range(n)
        ],
        fallback=[None if i == 0 else "flag" for i in range(n)],
        seconds=0.001,
    )
    return log.append("prediction", f"operator:{request_id}", payload, request_id).seq


@pytest.fixture
def filled(db_url: str, open_log: Callable[[str], AuditLog]) -> tuple[AuditLog, datetime]:
    """Two models' predictions, refusals, feedback and a stop; returns the log and a time between two halves."""
    log = open_log(db_url)
    log.append("model_loaded", "system", {**ADHESION.as_dict(), "fallback": "flag"})
    log.append("model_loaded", "system", {**IONIC.as_dict(), "fallback": "flag"})
    predict(log, ADHESION, [[30.0, 9.5], [45.0, 9.0]], "a1")
    predict(log, IONIC, [[31.0, 9.1]], "i1")
    time.sleep(0.01)
    middle = datetime.now(UTC)
    time.sleep(0.01)
    predict(log, ADHESION, [[32.0, 9.7]], "a2")
    log.append(
        "prediction_refused",
        "operator:x",
        refusal_payload(
            ADHESION,
            INPUTS,
            "outside_domain",
            rows=[[60.0, 9.0]],
            domain=[{"inside": False, "distance": 4.0, "violations": [{"input": "porosity", "kind": "above"}]}],
            outside=[0],
        ),
        "a3",
    )
    log.append(
        "prediction_refused",
        "operator:x",
        refusal_payload(ADHESION, INPUTS, "invalid_request", detail=[{"loc": "rows[0].porosity", "msg": "missing"}]),
        "a4",
    )
    log.append("feedback", "engineer:x", {"request_id": "a1", "row": 0, "measured": 11.0, "model": ADHESION.as_dict()})
    log.append("stop", "engineer:x", {"reason": "lot change", "models": [ADHESION.as_dict(), IONIC.as_dict()]})
    log.append("token_created", "cli", {"role": "operator", "label": ""})
    return log, middle


def test_records_by_kind_model_and_range(filled: tuple[AuditLog, datetime]) -> None:
    log, middle = filled
    assert [r.request_id for r in log.records("prediction")] == ["a1", "i1", "a2"]
    assert [r.request_id for r in log.records("prediction", model="adhesion")] == ["a1", "a2"]
    assert [r.request_id for r in log.records("prediction", model="ionic_resistance", version=2)] == ["i1"]
    assert list(log.records("prediction", model="ionic_resistance", version="1")) == []
    assert list(log.records(model="ionic%resistance")) == []  # LIKE wildcards are literal characters
    assert list(log.records(model="ionicXresistance")) == []
    kinds = [r.kind for r in log.records(model="adhesion")]
    refused = ["prediction_refused", "prediction_refused"]
    assert kinds == ["model_loaded", "prediction", "prediction", *refused, "feedback", "stop"]
    assert [r.seq for r in log.records(seq_from=3, seq_to=4)] == [3, 4]
    assert [r.seq for r in log.records(seq_from=9)] == [9, 10]
    assert [r.request_id for r in log.records("prediction", until=middle)] == ["a1", "i1"]
    assert [r.request_id for r in log.records("prediction", since=middle.isoformat())] == ["a2"]
    assert [r.kind for r in log.records(["stop", "feedback"], batch=1)] == ["feedback", "stop"]
    assert [r.request_id for r in log.tail(2, kind="prediction", model="adhesion")] == ["a1", "a2"]
    assert log.tail(1, model="ionic_resistance")[0].kind == "stop"


def test_prediction_frame_has_one_row_per_predicted_row(filled: tuple[AuditLog, datetime]) -> None:
    log, middle = filled
    frame = prediction_frame(log, "adhesion")
    assert list(frame.columns) == [
        *FRAME_COLUMNS[:8],
        "porosity",
        "mass_loading",
        "prediction",
        "unit",
        "shap_porosity",
        "shap_mass_loading",
        *FRAME_COLUMNS[10:],
    ]
    assert frame["request_id"].tolist() == ["a1", "a1", "a2", "a3", "a4"]
    assert frame["row"].tolist()[:4] == [0, 1, 0, 0]
    assert frame["row"].isna().tolist() == [False, False, False, False, True]
    assert (frame["model"] == "adhesion").all()
    assert (frame["version"] == "1").all()
    assert str(frame["time"].dtype) == "datetime64[ns, UTC]" or str(frame["time"].dtype).endswith(", UTC]")
    assert frame["time"].is_monotonic_increasing
    answered = frame[frame["kind"] == "prediction"]
    np.testing.assert_array_equal(answered["porosity"], [30.0, 45.0, 32.0])
    np.testing.assert_array_equal(answered["prediction"], [10.0, 20.0, 10.0])
    np.testing.assert_array_equal(answered["shap_porosity"], [1.0, 2.0, 1.0])
    np.testing.assert_array_equal(answered["shap_mass_loading"], [-0.5, -0.5, -0.5])
    np.testing.assert_array_equal(answered["base_value"], [9.5, 9.5, 9.5])
    np.testing.assert_array_equal(answered["interval_low"], [8.0, 16.0, 8.0])
    np.testing.assert_array_equal(answered["interval_high"], [12.0, 24.0, 12.0])
    assert answered["inside"].tolist() == [True, False, True]
    assert answered["distance"].tolist() == [0.5, 1.5, 0.5]
    assert answered["violations"].tolist() == [[], [{"input": "porosity"}], []]
    assert answered["fallback"].tolist() == [None, "flag", None]
    assert answered["refusal"].isna().all()
    assert (answered["actor"] == ["operator:a1", "operator:a1", "operator:a2"]).all()
    refused = frame[frame["kind"] == "prediction_refused"]
    assert refused["refusal"].tolist() == ["outside_domain", "invalid_request"]
    assert refused["prediction"].isna().all()
    assert refused["porosity"].tolist()[0] == 60.0
    assert np.isnan(refused["porosity"].tolist()[1])
    assert refused["fallback"].tolist() == ["refuse", None]
    assert refused["inside"].tolist()[0] is False or refused["inside"].tolist()[0] == False  # noqa: E712
    assert pd.isna(refused["inside"].tolist()[1])

    only = prediction_frame(log, "adhesion", kind="prediction", since=middle)
    assert only["request_id"].tolist() == ["a2"]
    assert prediction_frame(log, "adhesion", kind="prediction_refused")["request_id"].tolist() == ["a3", "a4"]
    seqs = frame["seq"].unique().tolist()
    assert prediction_frame(log, "adhesion", seq_from=seqs[1], seq_to=seqs[2])["request_id"].tolist() == ["a2", "a3"]
    ionic = prediction_frame(log, "ionic_resistance", version="2")
    assert ionic["request_id"].tolist() == ["i1"]
    assert ionic["mass_loading"].tolist() == [9.1]


def test_an_empty_frame_keeps_its_columns(filled: tuple[AuditLog, datetime]) -> None:
    log, _ = filled
    frame = prediction_frame(log, "no-such-model")
    assert frame.empty
    assert list(frame.columns) == list(FRAME_COLUMNS)
    assert frame["seq"].dtype == np.int64


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda log: list(log.records("predicton")), r"kind: expected one of .* Did you mean 'prediction'"),
        (lambda log: list(log.records(seq_from=5, seq_to=2)), r"seq_from \(5\) is after seq_to \(2\)"),
        (lambda log: list(log.records(seq_from=0)), r"seq_from: expected a record number ≥ 1, got 0"),
        (lambda log: list(log.records(since=datetime(2026, 1, 1))), r"since: expected a time with a time zone"),
        (lambda log: list(log.records(until="yesterday")), r"until: expected an ISO 8601 time .* got 'yesterday'"),
        (
            lambda log: list(log.records(since=datetime.now(UTC), until=datetime.now(UTC) - timedelta(hours=1))),
            r"is not before until",
        ),
        (lambda log: list(log.records(version="1")), r"version: a version \('1'\) needs a model name"),
        (lambda log: list(log.records(batch=0)), r"batch: expected a number of records ≥ 1"),
        (lambda log: log.tail(0), r"n: expected a number of records ≥ 1, got 0"),
        (lambda log: prediction_frame(log, "adhesion", kind="feedback"), r"the prediction frame reads"),
        (lambda log: prediction_frame(log, "adhesion", kind="prediction_refusd"), r"Did you mean 'prediction_refused'"),
        (lambda log: prediction_frame(log, "adhesion", kind=[]), r"expected at least one of"),
        (lambda log: prediction_frame(log, "", kind="prediction"), r"model: expected a registered model name"),
    ],
)
def test_bad_arguments_are_one_clear_error(
    filled: tuple[AuditLog, datetime], call: Callable[[AuditLog], object], message: str
) -> None:
    log, _ = filled
    with pytest.raises(QueryError, match=message) as info:
        call(log)
    assert isinstance(info.value, GlasslineError)
    assert isinstance(info.value, ValueError)


def test_an_input_named_like_a_column_is_refused_clearly(db_url: str, open_log: Callable[[str], AuditLog]) -> None:
    log = open_log(db_url)
    log.append("prediction", "x", {"model": ADHESION.as_dict(), "inputs": ["time"], "rows": [[1.0]]}, "r")
    with pytest.raises(QueryError, match=r"the input\(s\) \['time'\] share a name with a column"):
        prediction_frame(log, "adhesion")


@settings(max_examples=50, deadline=None)
@given(
    actor=st.text(max_size=20),
    kind=st.sampled_from(["prediction", "stop", "ünïcode"]),
    request_id=st.one_of(st.none(), st.text(max_size=10)),
    payload=st.dictionaries(
        st.text(max_size=5), st.one_of(st.integers(), st.floats(allow_nan=False, allow_infinity=False), st.text())
    ),
)
def test_the_record_hash_is_sha256_of_the_canonical_fields(
    actor: str, kind: str, request_id: str | None, payload: dict[str, object]
) -> None:
    """The hash is composed from the payload's JSON (serialized once); it equals the documented definition."""
    import hashlib

    fields = {"seq": 7, "created_at": "2026-01-01T00:00:00.000000+00:00", "kind": kind, "actor": actor}
    fields |= {"request_id": request_id, "payload": payload}
    expected = hashlib.sha256(("f" * 64 + canonical_json(fields)).encode("utf-8")).hexdigest()
    created = "2026-01-01T00:00:00.000000+00:00"
    got = _record_hash("f" * 64, 7, created, kind, actor, request_id, canonical_json(payload))
    assert got == expected


def test_last_seq_get_and_request_ids(filled: tuple[AuditLog, datetime]) -> None:
    log, _ = filled
    newest = log.last_seq()
    assert newest == log.count() == log.tail(1)[0].seq
    record = log.get(3)
    assert record is not None
    assert record.seq == 3
    assert record.request_id == "a1"
    assert log.get(newest + 1) is None
    found = log.by_request_ids(["a1", "i1", "nope", "a1"])
    assert sorted(found) == ["a1", "i1"]
    assert found["i1"].kind == "prediction"
    assert log.by_request_ids(["a3"], "prediction_refused")["a3"].kind == "prediction_refused"
    with pytest.raises(QueryError, match=r"seq: expected a record number ≥ 1, got 0"):
        log.get(0)


def test_tail_before_pages_newest_first(filled: tuple[AuditLog, datetime]) -> None:
    log, _ = filled
    every = list(log.records())
    pages: list[int] = []
    before: int | None = None
    while True:
        page = log.tail(3, before=before)
        if not page:
            break
        pages += [r.seq for r in reversed(page)]
        before = page[0].seq
    assert pages == [r.seq for r in reversed(every)]
    assert [r.seq for r in log.tail(5, kind="prediction", before=5)] == [3, 4]
    with pytest.raises(QueryError, match=r"before: expected a record number ≥ 1"):
        log.tail(3, before=0)


def test_a_record_knows_whether_it_is_intact(filled: tuple[AuditLog, datetime]) -> None:
    import dataclasses

    log, _ = filled
    record = log.get(4)
    assert record is not None
    assert record.intact()
    assert not dataclasses.replace(record, payload={**record.payload, "unit": "MPa"}).intact()
    assert not dataclasses.replace(record, prev_hash="0" * 64).intact()


def test_verify_chain_goes_on_from_a_head(filled: tuple[AuditLog, datetime]) -> None:
    from glassline.audit import verify_chain

    log, _ = filled
    whole = verify_chain(log)
    assert whole.ok
    assert whole.head == (log.last_seq(), log.tail(1)[0].hash)
    log.append("token_created", "cli", {"role": "engineer", "label": ""})
    log.append("token_created", "cli", {"role": "quality", "label": ""})
    more = verify_chain(log, after=whole.head)
    assert more.ok
    assert more.records == 2
    assert more.head == (whole.head[0] + 2, log.tail(1)[0].hash)
    assert verify_chain(log, after=more.head).records == 0
    forged = verify_chain(log, after=(whole.head[0], "f" * 64))
    assert not forged.ok
    assert forged.first_broken == whole.head[0] + 1
    assert "previous-hash" in forged.reason
