"""Monitoring: calibration of the window test, the exact root-cause split, alarms naming the drifted input,
hysteresis, audit records, the JSON contract, the CLI and the service route over real HTTP."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from monitor_helpers import stream

from glassline.audit import AuditLog
from glassline.cli import main
from glassline.exceptions import QueryError, SpecError
from glassline.monitor import (
    ALARM_KINDS,
    MinPTest,
    Monitor,
    bernoulli_cusum,
    bernoulli_cusum_limit,
    check,
    check_all,
    cusum_limits,
    set_reference,
    write_handover,
)
from glassline.registry import LoadedModel
from glassline.spec import study_from_dict

ALARM_KEYS = {
    "kind", "input", "statistic", "p_value", "adjusted_p_value", "direction", "size", "unit", "root_cause",
    "contributions", "runbook",
}  # fmt: skip


def _rows(rng: np.random.Generator, n: int, shift: float = 0.0) -> np.ndarray:
    X = rng.uniform(0.1, 0.9, size=(n, 3))
    X[:, 1] = np.clip(X[:, 1] + shift, 0.0, 1.0)
    return X


def _with_reference(log: AuditLog, model: LoadedModel, rng: np.random.Generator, n: int = 120) -> None:
    stream(log, model, _rows(rng, n))
    seqs = [r.seq for r in log.tail(n, kind="prediction")]
    set_reference(log, model, f"{seqs[0]}:{seqs[-1]}")


# ------------------------------------------------------------------------------------------- calibration
def _quantities(rng: np.random.Generator, size: int, levels: bool) -> np.ndarray:
    X = rng.choice([-1.0, 0.0, 1.0], size=(size, 4)) if levels else rng.standard_normal((size, 4))
    phi = X * np.array([3.0, 2.0, 1.0, 0.3])
    return np.hstack([X, phi.sum(1, keepdims=True), phi, np.abs(phi)])


@pytest.mark.parametrize("levels", [False, True], ids=["continuous", "3-level"])
@pytest.mark.parametrize("n", [10, 30])
def test_family_wise_false_alarm_rate_is_held(n: int, levels: bool) -> None:
    """No drift: the share of windows with any alarm over 13 correlated quantities stays near α = 5 %."""
    rng = np.random.default_rng([n, levels])
    reps = 150
    alarms = 0
    for r in range(reps):
        test = MinPTest(_quantities(rng, 200, levels), resamples=400, seed=r)
        alarms += int(test.test(_quantities(rng, n, levels)).adjusted_p_value.min() <= 0.05)
    # 150 windows: the binomial 99.9 % range around 5 % is about 0.5 %–11.5 %
    assert 0.005 <= alarms / reps <= 0.115


def test_power_on_a_one_sigma_shift() -> None:
    rng = np.random.default_rng(3)
    ref = _quantities(rng, 400, False)
    test = MinPTest(ref, resamples=400)
    hits = 0
    for _ in range(30):
        w = _quantities(rng, 30, False)
        w[:, 0] += 1.0
        hits += int(test.test(w).adjusted_p_value[0] <= 0.05)
    assert hits >= 27


def test_cusum_limits_grow_with_the_family_and_bernoulli_arl() -> None:
    rng = np.random.default_rng(1)
    one = cusum_limits(rng.standard_normal((60, 1)), seed=1)
    many = cusum_limits(rng.standard_normal((60, 10)), seed=1)
    assert one.h[0] < many.h.min()  # 10 charts: each needs a longer run length
    h = bernoulli_cusum_limit(0.1)
    lengths = []
    for _ in range(200):
        fired = np.flatnonzero(bernoulli_cusum(rng.random(4000) < 0.1, 0.1) > h)
        lengths.append(fired[0] + 1 if len(fired) else 4000)
    assert 250 < float(np.mean(lengths)) < 520  # target 370


# ------------------------------------------------------------------------------------------- the model
def test_drift_names_the_input_and_splits_the_prediction_shift_exactly(log: AuditLog, monitored: LoadedModel) -> None:
    rng = np.random.default_rng(5)
    _with_reference(log, monitored, rng)
    stream(log, monitored, _rows(rng, 30, shift=0.35))
    report = check(log, monitored, window=30).to_dict()
    kinds = {(a["kind"], a["input"]) for a in report["alarms"]}
    assert ("input_drift", "x2") in kinds
    assert ("prediction_drift", None) in kinds
    assert not {("input_drift", "x1"), ("input_drift", "x3")} & kinds
    prediction = next(a for a in report["alarms"] if a["kind"] == "prediction_drift")
    assert abs(sum(prediction["contributions"].values()) - prediction["size"]) < 1e-9
    assert max(prediction["contributions"], key=lambda k: abs(prediction["contributions"][k])) == "x2"
    assert "Second-dryer temperature reads" in prediction["root_cause"]
    assert "°C" in prediction["root_cause"]
    assert "drop in predicted Adhesion strength" in prediction["root_cause"]
    drift = next(a for a in report["alarms"] if a["kind"] == "input_drift")
    assert drift["runbook"] == ["Check the dryer-2 thermocouple."]  # the study's [[runbook]] entry
    assert drift["direction"] == "up"
    assert drift["unit"] == "°C"


def test_json_contract_and_tests_cover_every_quantity(log: AuditLog, monitored: LoadedModel) -> None:
    rng = np.random.default_rng(6)
    _with_reference(log, monitored, rng)
    stream(log, monitored, _rows(rng, 20, shift=0.4))
    report = check(log, monitored, window=20).to_dict()
    assert list(report)[:4] == ["model", "window", "alarms", "tests"]
    assert set(report["window"]) == {"first_seq", "last_seq", "n"}
    assert report["window"]["n"] == 20
    for alarm in report["alarms"]:
        assert set(alarm) == ALARM_KEYS
        assert alarm["kind"] in ALARM_KINDS
    quantities = {t["quantity"] for t in report["tests"]}
    for name in ("x1", "x2", "x3"):
        assert {f"input:{name}", f"attribution:{name}", f"abs_attribution:{name}"} <= quantities
    assert {"prediction", "interval_width", "ood_rate"} <= quantities
    assert all(0.0 < t["p_value"] <= 1.0 for t in report["tests"])
    json.dumps(report, allow_nan=False)
    assert report["reference"]["source"] == "records"
    assert set(report["minimum_detectable_shift"]) >= {"10", "30"}
    mds = report["minimum_detectable_shift"]
    assert mds["10"]["input:x2"] > mds["30"]["input:x2"] > mds["100"]["input:x2"] > 0


def test_hysteresis_and_audit_records(log: AuditLog, monitored: LoadedModel) -> None:
    rng = np.random.default_rng(7)
    _with_reference(log, monitored, rng)
    for shift in (0.0, 0.4, 0.0, 0.0, 0.0):
        stream(log, monitored, _rows(rng, 20, shift=shift))
    reports = check_all(log, monitored, window=20)
    active = [("input_drift", "x2") in {(a.kind, a.input) for a in r.alarms} for r in reports]
    # raised in window 2, still shown in window 3 (one calm window), cleared after the second calm window
    assert active[:2] == [False, True]
    assert active[-1] is False
    records = list(log.records("monitor_alarm", model="line-y"))
    x2 = [r.payload for r in records if r.payload["kind"] == "input_drift" and r.payload["input"] == "x2"]
    assert [p["status"] for p in x2] == ["raised", "cleared"]
    assert x2[0]["window"] == {"first_seq": reports[1].first_seq, "last_seq": reports[1].last_seq, "n": 20}
    check_all(log, monitored, window=20)  # evaluating the same windows again writes nothing new
    assert len(list(log.records("monitor_alarm", model="line-y"))) == len(records)


def test_performance_coverage_and_retraining_verdict(log: AuditLog, monitored: LoadedModel) -> None:
    rng = np.random.default_rng(8)
    _with_reference(log, monitored, rng, n=60)
    X = _rows(rng, 30)
    truth = 3.0 * X[:, 0] - 2.0 * X[:, 1] + X[:, 2] - 1.5  # the line now gives 1.5 kPa less than predicted
    stream(log, monitored, X, measured=truth)
    report = check(log, monitored, window=30)
    kinds = {a.kind for a in report.alarms}
    assert {"performance", "coverage"} <= kinds
    assert report.retraining.retrain
    assert report.retraining.since is not None
    assert report.performance["measured_rows"] == 30


def test_bad_inputs(log: AuditLog, monitored: LoadedModel) -> None:
    rng = np.random.default_rng(9)
    stream(log, monitored, _rows(rng, 12))
    with pytest.raises(QueryError, match="--window: expected a number of rows from 10 to 100"):
        Monitor(log, monitored).check(5)
    with pytest.raises(QueryError, match="a window of 30 needs 30"):
        Monitor(log, monitored).check(30)
    with pytest.raises(QueryError, match="expected FIRST:LAST"):
        set_reference(log, monitored, "12-30")
    with pytest.raises(QueryError, match="1 ≤ FIRST ≤ LAST"):
        set_reference(log, monitored, "30:12")
    with pytest.raises(QueryError, match="a reference needs at least 30"):
        set_reference(log, monitored, "1:12")
    raw = {
        "name": "s",
        "factors": [{"name": "a", "low": 0, "high": 1}],
        "responses": [{"name": "y"}],
        "runbook": [{"alarm": "input_drift", "input": "b", "steps": ["x"]}],
    }
    with pytest.raises(SpecError, match=r"runbook\[0\]\.input: 'b' is neither a factor"):
        study_from_dict(raw)


def _run(args: list[str]) -> int:
    """Exit code of ``glassline ARGS``."""
    try:
        main(args)
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def test_cli_exit_codes_and_handover(
    log: AuditLog, monitored: LoadedModel, monitor_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = np.random.default_rng(10)
    stream(log, monitored, _rows(rng, 60))
    db = str(log.engine.url)
    base = ["--home", str(monitor_home), "--db", db]
    seqs = [r.seq for r in log.tail(60, kind="prediction")]
    assert _run(["monitor", "reference", "--model", "line-y", "--records", f"{seqs[0]}:{seqs[-1]}", *base]) == 0
    stream(log, monitored, _rows(rng, 30, shift=0.45))
    capsys.readouterr()
    assert _run(["monitor", "check", "--model", "line-y", "--json", *base]) == 0  # exit 0 with an alarm
    reports = json.loads(capsys.readouterr().out)
    assert isinstance(reports, list)
    assert reports[0]["alarms"]
    assert _run(["monitor", "check", "--model", "line-y", "--fail-on-alarm", *base]) == 3
    assert "input_drift (x2)" in capsys.readouterr().out
    for args, message in (
        (["monitor", "check", "--model", "no-such-model", *base], "no-such-model"),
        (["monitor", "check", "--model", "line-y", "--window", "5", *base], "--window"),
        (["monitor", "reference", "--model", "line-y", "--records", "9:x", *base], "--records"),
    ):
        assert _run(args) == 1
        err = capsys.readouterr().err
        assert message in err
        assert "Traceback" not in err
        assert len(err.strip().splitlines()) <= 3
    assert _run(["handover", "--model", "line-y", "--out", str(tmp_path / "pack"), *base]) == 0
    text = (tmp_path / "pack" / "handover.md").read_text(encoding="utf-8")
    assert "A. Example" in text
    assert "Check the dryer-2 thermocouple." in text
    assert "Retraining rule" in text
    assert f"Audit records {seqs[0]}–{seqs[-1]}" in text
    assert "<table" in (tmp_path / "pack" / "handover.html").read_text(encoding="utf-8")
    assert write_handover(log, monitored, tmp_path / "again")["markdown"].exists()


def test_service_route_over_http(monitored: LoadedModel, tmp_path: Path) -> None:
    sys.path.insert(0, str(Path(__file__).parents[1] / "serve"))
    from serve_helpers import make_tokens, serving_app

    from glassline.serve import Fallback, ServiceConfig, create_app

    db = f"sqlite:///{tmp_path / 'served.db'}"
    tokens = make_tokens(db)
    rng = np.random.default_rng(12)
    app = create_app(monitored, ServiceConfig(db_url=db, fallback=Fallback.flag), monitor_window=30)
    with serving_app(app) as url:
        import httpx

        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {tokens['operator']}"}) as client:
            missing = client.get("/v1/models/line-y/monitor")
            assert missing.status_code == 404
            assert "no window evaluated yet" in missing.json()["detail"]
            assert client.get("/v1/models/nope/monitor").status_code == 404
            rows = [dict(zip(("x1", "x2", "x3"), r, strict=True)) for r in _rows(rng, 30).tolist()]
            assert client.post("/v1/predict", json={"rows": rows}).status_code == 200
            deadline = time.monotonic() + 20
            answer = client.get("/v1/models/line-y/monitor")
            while answer.status_code != 200 and time.monotonic() < deadline:
                time.sleep(0.2)
                answer = client.get("/v1/models/line-y/monitor")
            assert answer.status_code == 200, answer.text
            report = answer.json()
            assert report["model"] == "line-y"
            assert report["window"]["n"] == 30
            assert report["reference"]["source"] == "training"
            metrics = client.get("/metrics").text
            assert 'glassline_monitor_windows_total{model="line-y"} 1' in metrics
