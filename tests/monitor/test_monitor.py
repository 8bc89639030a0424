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
    confirm_cause,
    cusum_limits,
    grade_cause,
    set_reference,
    write_handover,
)
from glassline.registry import LoadedModel
from glassline.spec import study_from_dict

ALARM_KEYS = [
    "kind", "input", "statistic", "p_value", "adjusted_p_value", "direction", "size", "unit", "root_cause",
    "contributions", "runbook",
]  # fmt: skip
GRADE_KEYS = ["root_cause_grade", "candidates"]


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
@pytest.mark.parametrize("n", [10, 30, 100])
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


def test_grouped_reference_rate_is_held() -> None:
    """Whole groups (requests of 1–4 rows sharing a level) are permuted: the rate stays near α."""
    rng = np.random.default_rng(21)
    reps = 150
    alarms = 0
    for r in range(reps):
        sizes = rng.integers(1, 5, size=120)
        ref = np.repeat(_quantities(rng, len(sizes), True), sizes, axis=0) + rng.normal(0, 0.3, (sizes.sum(), 13))
        w_sizes = rng.integers(1, 5, size=10)
        window = np.repeat(_quantities(rng, 10, True), w_sizes, axis=0) + rng.normal(0, 0.3, (w_sizes.sum(), 13))
        test = MinPTest(ref, np.repeat(np.arange(len(sizes)), sizes), resamples=400, seed=r)
        result = test.test(window, np.repeat(np.arange(10), w_sizes))
        alarms += int(result.adjusted_p_value.min() <= 0.05)
    assert 0.005 <= alarms / reps <= 0.115


def test_the_observed_split_is_ranked_with_the_random_ones() -> None:
    """With B random splits the smallest raw p-value is 1/(B + 1); adjusted p-values lie between the raw one and
    Bonferroni's k × raw (each quantity's column holds at most that many splits at or below it)."""
    rng = np.random.default_rng(4)
    test = MinPTest(_quantities(rng, 300, False), resamples=199)
    window = _quantities(rng, 30, False)
    window[:, 0] += 5.0
    result = test.test(window)
    assert result.p_value[0] == pytest.approx(1 / 200)
    assert (result.adjusted_p_value >= result.p_value).all()
    assert (result.adjusted_p_value <= np.minimum(1.0, 13 * result.p_value) + 1e-12).all()
    assert result.adjusted_p_value[0] < 0.05
    again = test.test(window)
    np.testing.assert_array_equal(again.adjusted_p_value, result.adjusted_p_value)  # seeded


def test_grade_cause_rule() -> None:
    columns = {"a": (0, 3), "b": (1, 4), "c": (2, 5)}
    raw = np.array([0.001, 0.3, 0.5, 0.002, 0.4, 0.6])
    adjusted = np.array([0.01, 0.9, 1.0, 0.02, 1.0, 1.0])
    one = grade_cause(raw, adjusted, columns, 0.05)
    assert (one.grade, one.candidates, one.cause) == ("stated", ("a",), "a")
    # another input differs on its own (raw p ≤ α): the data do not single "a" out
    raw_b = raw.copy()
    raw_b[4] = 0.03
    two = grade_cause(raw_b, adjusted, columns, 0.05)
    assert (two.grade, two.candidates, two.cause) == ("hedged", ("a", "b"), None)
    # two inputs significant: hedged, both listed, strongest first
    adjusted_b = adjusted.copy()
    adjusted_b[1] = 0.004
    both = grade_cause(raw_b, adjusted_b, columns, 0.05)
    assert both.grade == "hedged"
    assert both.candidates == ("b", "a")
    # nothing significant: hedged, nothing listed
    none = grade_cause(np.full(6, 0.5), np.ones(6), columns, 0.05)
    assert none.grade == "hedged"
    assert none.candidates == ()
    # the joined windows single out another input (or none): not confirmed
    assert confirm_cause(one, one) == one
    moved = confirm_cause(one, none)
    assert moved.grade == "hedged"
    assert moved.unconfirmed
    assert moved.candidates == ("a",)


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


def test_a_clear_shift_is_stated_and_right(log: AuditLog, monitored: LoadedModel) -> None:
    """A 2 σ shift of x2 over two windows: every alarm's root cause is stated and names x2."""
    rng = np.random.default_rng(12)
    _with_reference(log, monitored, rng)
    for _ in range(2):
        stream(log, monitored, _rows(rng, 30, shift=0.46))  # x2 ~ U(0.1, 0.9): σ ≈ 0.23
    report = check(log, monitored, window=30)
    by_kind = {(a.kind, a.input): a for a in report.alarms}
    assert ("input_drift", "x2") in by_kind
    assert ("prediction_drift", None) in by_kind
    for key in (("input_drift", "x2"), ("prediction_drift", None)):
        assert by_kind[key].root_cause_grade == "stated"
        assert by_kind[key].candidates == ["x2"]
        assert "do not single" not in by_kind[key].root_cause
    assert "Second-dryer temperature reads" in by_kind[("prediction_drift", None)].root_cause
    assert "[cause stated]" in "\n".join(report.lines())


def test_a_false_alarm_only_window_is_hedged(log: AuditLog, monitored: LoadedModel) -> None:
    """What a false alarm looks like: a lone window whose x1 differs while the window before it does not. The
    alarm is raised (it is significant) but its root cause is hedged: the window joined with the one before
    it does not single x1 out."""
    rng = np.random.default_rng(13)
    _with_reference(log, monitored, rng)
    stream(log, monitored, _rows(rng, 30))
    lone = _rows(rng, 30)
    lone[:, 0] = np.clip(lone[:, 0] + 0.2, 0.0, 1.0)  # about 0.9 σ in one window only
    stream(log, monitored, lone)
    report = check(log, monitored, window=30)
    drift = [a for a in report.alarms if a.kind == "input_drift"]
    assert [a.input for a in drift] == ["x1"]
    assert drift[0].root_cause_grade == "hedged"
    assert "do not yet show it is the cause" in drift[0].root_cause
    assert all(a.root_cause_grade != "stated" for a in report.alarms)


def test_cusum_change_point_is_dated_near_the_shift(log: AuditLog, monitored: LoadedModel) -> None:
    """A persistent shift of x2 (1 σ) after 60 calm rows: the x2 chart's change point (ruptures'
    least-squares single change point on the chart's rows) is within 10 rows of the shift's first row."""
    rng = np.random.default_rng(14)
    _with_reference(log, monitored, rng)
    stream(log, monitored, _rows(rng, 60))
    first_shifted = log.tail(1, kind="prediction")[0].seq + 1
    stream(log, monitored, _rows(rng, 120, shift=0.23))
    points = [
        e["change_point"]["seq"]
        for r in check_all(log, monitored, window=30, record=False)
        for e in r.sequential
        if e["quantity"] == "input:x2" and e["signal"]
    ]
    assert points, "the x2 chart never signalled"
    assert abs(points[0] - first_shifted) <= 10


def test_json_contract_and_tests_cover_every_quantity(log: AuditLog, monitored: LoadedModel) -> None:
    rng = np.random.default_rng(6)
    _with_reference(log, monitored, rng)
    stream(log, monitored, _rows(rng, 20, shift=0.4))
    report = check(log, monitored, window=20).to_dict()
    assert list(report)[:4] == ["model", "window", "alarms", "tests"]
    assert set(report["window"]) == {"first_seq", "last_seq", "n"}
    assert report["window"]["n"] == 20
    for alarm in report["alarms"]:
        assert list(alarm) == ALARM_KEYS + GRADE_KEYS  # the keys exactly, then the grade
        assert alarm["kind"] in ALARM_KINDS
        assert alarm["root_cause_grade"] in ("stated", "hedged", None)
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
