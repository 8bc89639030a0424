"""Monitoring one published model from its audit log: the reference, the window tests, the sequential charts,
root cause, performance, hysteresis and the ``monitor_alarm`` / ``monitor_reference`` records.

:class:`Monitor` holds one model's reference (its training rows, or a production window declared with
:func:`set_reference`) and the rows read so far; :meth:`Monitor.check` reports the newest window and
:meth:`Monitor.check_all` every consecutive non-overlapping window after the reference. :func:`check` and
:func:`check_all` are the one-call versions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
import ruptures as rpt
from scipy import stats

from glassline.audit import AuditLog, AuditRecord, ModelId, prediction_frame
from glassline.exceptions import QueryError
from glassline.monitor._report import GENERIC_RUNBOOK, Alarm, AlarmKind, Retraining, WindowReport
from glassline.monitor._stats import (
    CauseGrade,
    CusumLimits,
    MinPTest,
    TestResult,
    bernoulli_cusum,
    bernoulli_cusum_limit,
    confirm_cause,
    cusum_limits,
    grade_cause,
    minimum_detectable_shift,
)
from glassline.registry import LoadedModel
from glassline.shapley import ShapleyEngine

__all__ = [
    "CLEAR_AFTER",
    "CLEAR_LEVEL",
    "MAX_WINDOW",
    "MIN_REFERENCE_ROWS",
    "MIN_WINDOW",
    "Monitor",
    "Quantity",
    "ReferenceRows",
    "check",
    "check_all",
    "reference_of",
    "set_reference",
]

FloatArray = npt.NDArray[np.float64]

#: The smallest and largest windows the test is calibrated for, and the smallest reference.
MIN_WINDOW = 10
MAX_WINDOW = 100
MIN_REFERENCE_ROWS = 30
#: Hysteresis: an alarm clears after CLEAR_AFTER consecutive windows whose adjusted p-value is above CLEAR_LEVEL.
CLEAR_AFTER = 2
CLEAR_LEVEL = 0.2
#: Windows that the CUSUM charts and the performance tests look back over (rows since the reference).
_HISTORY_ROWS = 20_000
#: The rows before a CUSUM signal searched for its change point (the search's time grows with their square).
_DATING_ROWS = 2_000


@dataclass(frozen=True)
class Quantity:
    """One monitored quantity: its key (``input:x``, ``prediction``, ``attribution:x``, ``abs_attribution:x``,
    ``interval_width``), the alarm kind it raises, its input (None for whole-model ones) and unit."""

    key: str
    kind: AlarmKind
    input: str | None
    unit: str
    statistic: str


@dataclass(frozen=True)
class ReferenceRows:
    """The rows monitoring compares with: inputs (m, p), predictions, attributions (m, p), out-of-domain flags,
    interval widths, group labels, and where they come from."""

    source: Literal["training", "records"]
    inputs: FloatArray
    prediction: FloatArray
    attributions: FloatArray
    outside: npt.NDArray[np.bool_]
    width: FloatArray
    groups: npt.NDArray[np.int64] | None
    first_seq: int | None = None
    last_seq: int | None = None
    residuals: FloatArray = field(default_factory=lambda: np.zeros(0))

    def describe(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "first_seq": self.first_seq,
            "last_seq": self.last_seq,
            "n": len(self.prediction),
        }


def _label(model: LoadedModel, name: str) -> tuple[str, str]:
    """An input's label and unit from the study."""
    try:
        column = model.bundle.study.column(name)
    except Exception:  # an input the study does not name (an older bundle): its name, no unit
        return name, ""
    return (column.label or column.name), column.unit


def _engine(model: LoadedModel) -> ShapleyEngine:
    bundle = model.bundle
    return ShapleyEngine(
        model.pipeline, bundle.background, kind=bundle.explainer.get("family_explainer"), inputs=tuple(bundle.inputs)
    )


def _half_width(model: LoadedModel) -> float | None:
    half = model.bundle.interval.get("half_width")
    return float(half) if isinstance(half, int | float) and math.isfinite(half) else None


def _training_reference(model: LoadedModel) -> ReferenceRows:
    bundle = model.bundle
    X = bundle.background.loc[:, list(bundle.inputs)].to_numpy(dtype=float)
    explained = _engine(model).explain(X)
    outside = np.array([not v.inside for v in bundle.domain.check(X)], dtype=bool)
    half = _half_width(model)
    width = np.full(len(X), 2 * half if half is not None else 0.0)
    return ReferenceRows(
        "training",
        X,
        np.asarray(explained.prediction, dtype=float),
        np.asarray(explained.values, dtype=float),
        outside,
        width,
        None,
    )


def _answered(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows the model answered itself (the 'default' fallback's rows carry no model answer)."""
    keep = (frame["kind"] == "prediction") & (frame["fallback"].fillna("") != "default")
    keep &= np.isfinite(frame["prediction"].to_numpy(dtype=float))
    answered: pd.DataFrame = frame.loc[keep].reset_index(drop=True)
    return answered


def _feedback(log: AuditLog, model: ModelId, seq_from: int | None = None) -> dict[tuple[str, int], float]:
    """The newest measured value per (request_id, row) of *model*'s feedback records."""
    found: dict[tuple[str, int], float] = {}
    for record in log.records("feedback", model=model.name, version=model.version, seq_from=seq_from):
        p = record.payload
        value = p.get("measured")
        if isinstance(value, int | float) and record.request_id is not None:
            found[(record.request_id, int(p.get("row", 0)))] = float(value)
    return found


def _measured(frame: pd.DataFrame, feedback: dict[tuple[str, int], float]) -> FloatArray:
    keys = zip(frame["request_id"].astype(str).tolist(), frame["row"].fillna(0).astype(int).tolist(), strict=True)
    return np.array([feedback.get(k, math.nan) for k in keys], dtype=float)


def _model_id(model: LoadedModel) -> ModelId:
    return ModelId(model.name, str(model.version))


def _parse_records(records: str) -> tuple[int, int]:
    parts = records.split(":")
    try:
        if len(parts) != 2:
            raise ValueError
        first, last = int(parts[0]), int(parts[1])
    except ValueError:
        raise QueryError(
            f"--records: expected FIRST:LAST (audit sequence numbers, e.g. 120:480), got {records!r}"
        ) from None
    if first < 1 or last < first:
        raise QueryError(f"--records: expected 1 ≤ FIRST ≤ LAST, got {records!r}")
    return first, last


def _records_reference(log: AuditLog, model: LoadedModel, first: int, last: int) -> ReferenceRows:
    mid = _model_id(model)
    frame = _answered(prediction_frame(log, model.name, version=mid.version, seq_from=first, seq_to=last))
    if len(frame) < MIN_REFERENCE_ROWS:
        raise QueryError(
            f"--records {first}:{last}: model {model.name!r} v{mid.version} has {len(frame)} answered prediction "
            f"row(s) in these records; a reference needs at least {MIN_REFERENCE_ROWS}"
        )
    inputs = list(model.bundle.inputs)
    low = frame["interval_low"].to_numpy(dtype=float)
    high = frame["interval_high"].to_numpy(dtype=float)
    width = np.where(np.isfinite(high - low), high - low, 0.0)
    measured = _measured(frame, _feedback(log, mid, first))
    residuals = measured - frame["prediction"].to_numpy(dtype=float)
    return ReferenceRows(
        "records",
        frame[inputs].to_numpy(dtype=float),
        frame["prediction"].to_numpy(dtype=float),
        frame[[f"shap_{n}" for n in inputs]].to_numpy(dtype=float),
        ~frame["inside"].fillna(True).to_numpy(dtype=bool),
        width,
        frame["seq"].to_numpy(dtype=np.int64),
        first,
        last,
        residuals[np.isfinite(residuals)],
    )


def set_reference(log: AuditLog, model: LoadedModel, records: str, actor: str = "cli") -> AuditRecord:
    """Declare the production reference window of *model*: audit records ``FIRST:LAST`` (sequence numbers),
    checked to hold at least :data:`MIN_REFERENCE_ROWS` answered rows; written as a ``monitor_reference``
    record. :class:`QueryError` for a bad range."""
    first, last = _parse_records(records)
    reference = _records_reference(log, model, first, last)
    payload = {
        "model": _model_id(model).as_dict(),
        "first_seq": first,
        "last_seq": last,
        "rows": len(reference.prediction),
    }
    return log.append("monitor_reference", actor, payload)


def reference_of(log: AuditLog, model: LoadedModel) -> ReferenceRows:
    """The reference of *model*: its newest ``monitor_reference`` record for this version, else its training
    rows (the bundle's background sample)."""
    mid = _model_id(model)
    found = log.tail(1, kind="monitor_reference", model=model.name)
    for record in found:
        m = record.payload.get("model", {})
        if str(m.get("version")) == mid.version:
            return _records_reference(log, model, int(record.payload["first_seq"]), int(record.payload["last_seq"]))
    return _training_reference(model)


def _change_point(rows: FloatArray, offset: int) -> int:
    """The row (*offset* + position) at which the mean of a chart's standardized *rows* (those since its last
    restart, up to its signal) changes: the least-squares single change point (ruptures' ``KernelCPD`` with
    the linear kernel), over the last :data:`_DATING_ROWS` rows at most."""
    start = max(0, len(rows) - _DATING_ROWS)
    segment = rows[start:]
    if len(segment) < 4:
        return offset + start
    breaks = rpt.KernelCPD(kernel="linear", min_size=2).fit(segment.reshape(-1, 1)).predict(n_bkps=1)
    return offset + start + int(breaks[0])


def _bonferroni(p: float | None, groups: int) -> float | None:
    return None if p is None else min(1.0, p * groups)


def _fmt(value: float) -> str:
    return f"{value:.3g}"


class Monitor:
    """The monitor of one published model over one audit log.

    *alpha*: the family-wise false-alarm rate per window (all quantities together); *resamples*: permutations
    per window; *target_arl*: the in-control average run length of the CUSUM family; *record*: write
    ``monitor_alarm`` records when alarms are raised and cleared (once per window and alarm).
    """

    def __init__(
        self,
        log: AuditLog,
        model: LoadedModel,
        *,
        reference: ReferenceRows | None = None,
        alpha: float = 0.05,
        resamples: int = 2000,
        target_arl: float = 370.0,
        seed: int = 0,
        record: bool = True,
    ) -> None:
        if not (0.0 < alpha < 0.5):
            raise QueryError(f"alpha: expected a level between 0 and 0.5 (such as 0.05), got {alpha!r}")
        self.log = log
        self.model = model
        self.id = _model_id(model)
        self.alpha = alpha
        self.record = record
        self.reference = reference if reference is not None else reference_of(log, model)
        self.inputs = list(model.bundle.inputs)
        self.unit = model.bundle.unit
        self.target_label = model.bundle.study.response(model.bundle.target).label or model.bundle.target
        self.labels = {name: _label(model, name) for name in self.inputs}
        self.quantities = self._quantities()
        where = {q.key: j for j, q in enumerate(self.quantities)}
        #: each input's own quantities: its value, signed and absolute attribution (for the graded root cause)
        self.columns = {
            n: (where[f"input:{n}"], where[f"attribution:{n}"], where[f"abs_attribution:{n}"]) for n in self.inputs
        }
        ref = self.reference
        self.test = MinPTest(
            self._matrix(ref.inputs, ref.prediction, ref.attributions, ref.width),
            ref.groups,
            resamples=resamples,
            seed=seed,
        )
        self.limits: CusumLimits = cusum_limits(self.test.reference, target_arl=target_arl, seed=seed)
        self.level = float(model.bundle.interval.get("level", 0.9))
        distance = model.bundle.domain.distance
        nominal = distance.level_reached or distance.level or 0.05
        m = len(ref.outside)
        empirical = (float(ref.outside.sum()) + 0.5) / (m + 1.0)
        # training rows are in-sample for the domain: the domain's calibrated level is the rate to expect
        self.ood_rate0 = max(empirical, float(nominal)) if ref.source == "training" else empirical
        self.frame = pd.DataFrame()
        self._state: dict[tuple[str, str | None], dict[str, Any]] = {}
        self._written: set[tuple[str, str, str | None, int, int]] | None = None
        self._current_n = 0
        self._evaluated = 0
        self._coverage_limit = bernoulli_cusum_limit(1.0 - self.level, target_arl=target_arl)

    # ------------------------------------------------------------------ quantities
    def _quantities(self) -> list[Quantity]:
        out = [Quantity(f"input:{n}", "input_drift", n, self.labels[n][1], "mean") for n in self.inputs]
        out.append(Quantity("prediction", "prediction_drift", None, self.unit, "mean_prediction"))
        out += [
            Quantity(f"attribution:{n}", "attribution_drift", n, self.unit, "mean_attribution") for n in self.inputs
        ]
        out += [
            Quantity(f"abs_attribution:{n}", "attribution_drift", n, self.unit, "mean_abs_attribution")
            for n in self.inputs
        ]
        out.append(Quantity("interval_width", "prediction_drift", None, self.unit, "mean_interval_width"))
        return out

    @staticmethod
    def _matrix(inputs: FloatArray, prediction: FloatArray, attributions: FloatArray, width: FloatArray) -> FloatArray:
        return np.hstack([inputs, prediction[:, None], attributions, np.abs(attributions), width[:, None]])

    def _window_matrix(self, frame: pd.DataFrame) -> FloatArray:
        low = frame["interval_low"].to_numpy(dtype=float)
        high = frame["interval_high"].to_numpy(dtype=float)
        width = np.where(np.isfinite(high - low), high - low, 0.0)
        return self._matrix(
            frame[self.inputs].to_numpy(dtype=float),
            frame["prediction"].to_numpy(dtype=float),
            frame[[f"shap_{n}" for n in self.inputs]].to_numpy(dtype=float),
            width,
        )

    # ------------------------------------------------------------------ reading
    def update(self) -> int:
        """Read the rows written since the last read (after the reference); the number of new rows."""
        start = int(self.frame["seq"].max()) + 1 if len(self.frame) else (self.reference.last_seq or 0) + 1
        new = prediction_frame(self.log, self.id.name, version=self.id.version, seq_from=start)
        if new.empty:
            return 0
        new = _answered(new)
        self.frame = new if self.frame.empty else pd.concat([self.frame, new], ignore_index=True)
        if len(self.frame) > _HISTORY_ROWS:
            drop = len(self.frame) - _HISTORY_ROWS
            self.frame = self.frame.iloc[drop:].reset_index(drop=True)
            self._evaluated = max(0, self._evaluated - drop)
        return len(new)

    def step(self, window: int = 30) -> list[WindowReport]:
        """Read the new rows and report each consecutive *window* completed since the last step (the service's
        background evaluation: the alarms' state carries over from step to step)."""
        window = self._window_size(window)
        self.update()
        reports: list[WindowReport] = []
        while len(self.frame) - self._evaluated >= window:
            reports.append(self._evaluate(self._evaluated, self._evaluated + window))
            self._evaluated += window
        return reports

    @property
    def evaluated(self) -> int:
        """The rows :meth:`step` has reported on so far (whole windows)."""
        return self._evaluated

    @property
    def active(self) -> list[tuple[str, str | None]]:
        """The (kind, input) of every active alarm."""
        return list(self._state)

    def _window_size(self, window: int) -> int:
        if isinstance(window, bool) or not isinstance(window, int) or not (MIN_WINDOW <= window <= MAX_WINDOW):
            raise QueryError(
                f"--window: expected a number of rows from {MIN_WINDOW} to {MAX_WINDOW} (the sizes the test is "
                f"calibrated for), got {window!r}"
            )
        return window

    # ------------------------------------------------------------------ checks
    def check(self, window: int = 30, *, since: datetime | str | None = None) -> WindowReport:
        """The report of the newest *window* rows (or, with *since*, of the rows since then, at least
        :data:`MIN_WINDOW`; the newest :data:`MAX_WINDOW` of them when more). Earlier consecutive windows are
        evaluated first, so that the alarms' hysteresis is the same as in :meth:`check_all`."""
        self.update()
        frame = self.frame
        if since is not None:
            when = pd.Timestamp(since)
            when = when.tz_localize("UTC") if when.tzinfo is None else when
            chosen = frame.loc[frame["time"] >= when]
            if len(chosen) < MIN_WINDOW:
                raise QueryError(
                    f"--since {since}: model {self.id.name!r} has {len(chosen)} answered row(s) since then; "
                    f"a window needs at least {MIN_WINDOW}"
                )
            window = min(MAX_WINDOW, len(chosen))
        window = self._window_size(window)
        if len(frame) < window:
            raise QueryError(
                f"model {self.id.name!r} v{self.id.version} has {len(frame)} answered row(s) after its reference; "
                f"a window of {window} needs {window} (use a smaller --window, at least {MIN_WINDOW})"
            )
        start = len(frame) - window
        self._state = {}
        for begin in range(0, start - window + 1, window):  # the consecutive windows before it
            self._evaluate(begin, begin + window)
        return self._evaluate(start, len(frame))

    def check_all(self, window: int = 30) -> list[WindowReport]:
        """The reports of every consecutive non-overlapping *window* of rows after the reference, oldest first."""
        window = self._window_size(window)
        self.update()
        self._state = {}
        return [self._evaluate(b, b + window) for b in range(0, len(self.frame) - window + 1, window)]

    # ------------------------------------------------------------------ one window
    def _evaluate(self, begin: int, end: int) -> WindowReport:
        frame = self.frame.iloc[begin:end]
        n = len(frame)
        first, last = int(frame["seq"].iloc[0]), int(frame["seq"].iloc[-1])
        window_id = {"first_seq": first, "last_seq": last, "n": n}
        matrix = self._window_matrix(frame)
        groups = frame["seq"].to_numpy() if self.reference.groups is not None else None
        result = self.test.test(matrix, groups, seed=first)
        outside = ~frame["inside"].fillna(True).to_numpy(dtype=bool)
        ood_count = int(outside.sum())
        ood_p = float(stats.binom.sf(ood_count - 1, n, self.ood_rate0)) if ood_count else 1.0
        performance, perf_p, cov_p = self._performance(frame, end)
        groups_tested = 2 + (perf_p is not None) + (cov_p is not None)  # Bonferroni across the families
        adjusted = np.minimum(1.0, result.adjusted_p_value * groups_tested)
        tests = self._tests(result, adjusted)
        tests.append(
            {
                "quantity": "ood_rate",
                "kind": "ood_rate",
                "input": None,
                "statistic": "out_of_domain_rows",
                "value": ood_count / n,
                "reference": self.ood_rate0,
                "p_value": ood_p,
                "adjusted_p_value": _bonferroni(ood_p, groups_tested),
                "unit": "share of rows",
            }
        )
        for name, p, value in (
            ("residual", perf_p, performance.get("mean_residual")),
            ("interval_misses", cov_p, performance.get("miss_rate")),
        ):
            if p is not None:
                tests.append(
                    {
                        "quantity": name,
                        "kind": "performance" if name == "residual" else "coverage",
                        "input": None,
                        "statistic": "mean_residual" if name == "residual" else "miss_rate",
                        "value": value,
                        "p_value": p,
                        "adjusted_p_value": _bonferroni(p, groups_tested),
                        "unit": self.unit if name == "residual" else "share of rows",
                    }
                )
        self._current_n = n
        cause = self._cause(result, adjusted, begin, end, groups_tested)
        candidates = self._alarms(
            result, adjusted, cause, ood_count, n, ood_p, groups_tested, performance, perf_p, cov_p
        )
        sequential = self._sequential(end)
        signalled = [
            self.quantities[e["index"]].input for e in sequential if e["signal"] and self.quantities[e["index"]].input
        ]
        charted = tuple(dict.fromkeys(name for name in signalled if name is not None))
        for entry in sequential:
            if entry["signal"]:
                q = self.quantities[entry["index"]]
                if q.kind == "prediction_drift" or (q.kind, q.input) in candidates:
                    continue
                if q.kind == "attribution_drift" and ("input_drift", q.input) in candidates:
                    continue
                candidates[(q.kind, q.input)] = (True, self._cusum_alarm(q, entry, charted))
        coverage_signal = performance.get("coverage_cusum", {}).get("signal", False)
        if coverage_signal and ("coverage", None) not in candidates:
            candidates[("coverage", None)] = (True, self._coverage_cusum_alarm(performance))
        alarms = self._hysteresis(candidates, window_id)
        retraining = self._retraining(alarms, performance)
        mds = {
            str(size): {
                q.key: float(v)
                for q, v in zip(self.quantities, minimum_detectable_shift(self.test, size, self.alpha), strict=True)
                if q.kind == "input_drift" or q.key == "prediction"
            }
            for size in sorted({10, 30, 100, n})
        }
        times = frame["time"]
        return WindowReport(
            model=self.id.name,
            version=self.id.version,
            first_seq=first,
            last_seq=last,
            n=n,
            alarms=alarms,
            tests=tests,
            alpha=self.alpha,
            time={"first": times.iloc[0].isoformat(), "last": times.iloc[-1].isoformat()},
            reference=self.reference.describe(),
            sequential=[{k: v for k, v in e.items() if k != "index"} for e in sequential],
            performance={k: v for k, v in performance.items()},
            retraining=retraining,
            minimum_detectable_shift=mds,
            method=(
                f"permutation min-P (Westfall-Young) over {self.test.k} quantities, {self.test.resamples} "
                f"permutations{', whole requests permuted' if groups is not None else ''}; out-of-domain rate: "
                f"exact binomial against {self.ood_rate0:.3g}; families combined by Bonferroni ({groups_tested}); "
                f"CUSUM k = {self.limits.k}, bootstrap-adjusted limits (Gandy & Kvaløy 2013), family in-control "
                f"ARL ≥ {self.limits.family_target:g} with probability {1 - self.limits.gamma:g}"
            ),
        )

    def _cause(self, result: TestResult, adjusted: FloatArray, begin: int, end: int, families: int) -> CauseGrade:
        """The window's graded root cause (:func:`~glassline.monitor.grade_cause`); a stated cause must also be
        stated by the window joined with the one before it (a shift persists, a false alarm does not), when
        there is one after the reference."""
        grade = grade_cause(result.p_value, adjusted, self.columns, self.alpha)
        n = end - begin
        if grade.grade != "stated" or begin < n:
            return grade
        joined = self.frame.iloc[begin - n : end]
        groups = joined["seq"].to_numpy() if self.reference.groups is not None else None
        again = self.test.test(self._window_matrix(joined), groups, seed=int(joined["seq"].iloc[0]))
        both = grade_cause(again.p_value, np.minimum(1.0, again.adjusted_p_value * families), self.columns, self.alpha)
        return confirm_cause(grade, both)

    def _hedge(self, cause: CauseGrade, name: str | None = None) -> str:
        """Why the data do not single out an input (or *name*): the candidates, in words."""
        labels = [self.labels[c][0] for c in cause.candidates]
        if cause.unconfirmed and name is not None and cause.candidates[:1] == (name,):
            return (
                f"the window joined with the one before it does not single out {self.labels[name][0]}, "
                "so these data do not yet show it is the cause"
            )
        if not labels:
            return "no input differs from the reference on its own; these data do not single one out"
        if len(labels) == 1:
            return f"possibly {labels[0]}; these data do not single it out"
        return f"{', '.join(labels[:-1])} or {labels[-1]}; these data do not single one out"

    def _tests(self, result: TestResult, adjusted: FloatArray) -> list[dict[str, Any]]:
        return [
            {
                "quantity": q.key,
                "kind": q.kind,
                "input": q.input,
                "statistic": q.statistic,
                "value": float(result.window_mean[j]),
                "reference": float(result.reference_mean[j]),
                "size": float(result.window_mean[j] - result.reference_mean[j]),
                "standardized": float(result.statistic[j]),
                "p_value": float(result.p_value[j]),
                "adjusted_p_value": float(adjusted[j]),
                "unit": q.unit,
            }
            for j, q in enumerate(self.quantities)
        ]

    # ------------------------------------------------------------------ words
    def _input_words(self, name: str, size: float, reference: float) -> str:
        label, unit = self.labels[name]
        rel = f" ({abs(size) / abs(reference):.0%})" if abs(reference) > 1e-12 and not unit else ""
        way = "higher" if size > 0 else "lower"
        return f"{label} reads {abs(size):.3g}{' ' + unit if unit else ''}{rel} {way} than in the reference"

    def _runbook(self, kind: str, name: str | None) -> list[str]:
        entries = self.model.bundle.study.runbook
        specific = [s for e in entries if e.alarm == kind and e.input == name and name is not None for s in e.steps]
        general = [s for e in entries if e.alarm == kind and e.input is None for s in e.steps]
        if specific or general:
            return [*specific, *general]
        label = self.labels[name][0] if name is not None else "the inputs"
        return [step.format(input=label) for step in GENERIC_RUNBOOK[kind]]

    def _alarms(
        self,
        result: TestResult,
        adjusted: FloatArray,
        cause: CauseGrade,
        ood_count: int,
        n: int,
        ood_p: float,
        groups: int,
        performance: dict[str, Any],
        perf_p: float | None,
        cov_p: float | None,
    ) -> dict[tuple[str, str | None], tuple[bool, Alarm]]:
        """Every alarm that could be shown this window, keyed by (kind, input): (significant now, alarm)."""
        a = self.alpha
        index = {q.key: j for j, q in enumerate(self.quantities)}
        diff = result.window_mean - result.reference_mean
        contributions = {name: float(diff[index[f"attribution:{name}"]]) for name in self.inputs}
        j_pred = index["prediction"]
        pred_shift = float(diff[j_pred])
        pred_sig = bool(adjusted[j_pred] <= a)
        out: dict[tuple[str, str | None], tuple[bool, Alarm]] = {}

        def direction(x: float) -> Literal["up", "down"]:
            return "up" if x > 0 else "down"

        def share(name: str) -> float:
            return contributions[name] / pred_shift if abs(pred_shift) > 1e-300 else 0.0

        # prediction drift and its root cause: stated only when the evidence singles out the input that
        # carries most of the shift
        ranked = sorted(self.inputs, key=lambda nm: -abs(contributions[nm]))
        top = ranked[0]
        top_input_sig = bool(adjusted[index[f"input:{top}"]] <= a)
        way = "rise" if pred_shift > 0 else "drop"
        shift_text = (
            f"{abs(pred_shift):.3g}{' ' + self.unit if self.unit else ''} {way} in predicted {self.target_label}"
        )
        pred_grade: tuple[Literal["stated", "hedged"], list[str]]
        if cause.cause == top and share(top) >= 0.5:
            pred_grade = ("stated", [top])
            cause_text = (
                self._input_words(
                    top, float(diff[index[f"input:{top}"]]), float(result.reference_mean[index[f"input:{top}"]])
                )
                if top_input_sig
                else f"the model leans differently on {self.labels[top][0]} (its values are stable)"
            ) + f"; this explains {share(top):.0%} of the {shift_text}"
        else:
            named = list(dict.fromkeys([*cause.candidates, *(nm for nm in ranked[:3] if abs(share(nm)) >= 0.2)]))
            pred_grade = ("hedged", named)
            parts = ", ".join(f"{self.labels[nm][0]} {share(nm):.0%}" for nm in named) or "none"
            hedge = self._hedge(CauseGrade("hedged", tuple(named), cause.unconfirmed))
            cause_text = f"the {shift_text}: {hedge} (shares of the shift: {parts})"
        j_width = index["interval_width"]
        width_sig = bool(adjusted[j_width] <= a)
        if pred_sig or width_sig:
            statistic = "mean_prediction" if pred_sig else "mean_interval_width"
            j = j_pred if pred_sig else j_width
            text = (
                cause_text
                if pred_sig
                else (
                    f"the prediction intervals are {abs(float(diff[j_width])):.3g} {self.unit} "
                    f"{'wider' if diff[j_width] > 0 else 'narrower'} than in the reference"
                )
            )
            out[("prediction_drift", None)] = (
                True,
                Alarm(
                    "prediction_drift",
                    None,
                    statistic,
                    float(result.p_value[j]),
                    float(adjusted[j]),
                    direction(float(diff[j])),
                    float(diff[j]),
                    self.unit,
                    text,
                    contributions if pred_sig else {},
                    self._runbook("prediction_drift", None),
                    pred_grade[0] if pred_sig else None,
                    pred_grade[1] if pred_sig else [],
                ),
            )
        else:
            out[("prediction_drift", None)] = (
                False,
                Alarm(
                    "prediction_drift",
                    None,
                    "mean_prediction",
                    float(result.p_value[j_pred]),
                    float(adjusted[j_pred]),
                    direction(pred_shift),
                    pred_shift,
                    self.unit,
                    cause_text,
                    contributions,
                    self._runbook("prediction_drift", None),
                    pred_grade[0],
                    pred_grade[1],
                ),
            )
        # inputs, and attributions with stable inputs
        for name in self.inputs:
            j = index[f"input:{name}"]
            label, unit = self.labels[name]
            size = float(diff[j])
            significant = bool(adjusted[j] <= a)
            words = self._input_words(name, size, float(result.reference_mean[j]))
            if pred_sig and abs(share(name)) >= 0.2:
                text = f"{words}; this explains {share(name):.0%} of the {shift_text}"
            elif pred_sig:
                text = f"{words}; it explains only {share(name):.0%} of the {shift_text}"
            else:
                text = (
                    f"{words}; predictions are not measurably affected (mean prediction "
                    f"{pred_shift:+.3g} {self.unit}, within noise; this input's attributions "
                    f"{contributions[name]:+.3g})"
                )
            grade: Literal["stated", "hedged"] = "stated" if cause.cause == name else "hedged"
            named = [name] if grade == "stated" else list(cause.candidates)
            if grade == "hedged":
                text += f"; as the root cause: {self._hedge(cause, name)}"
            out[("input_drift", name)] = (
                significant,
                Alarm(
                    "input_drift",
                    name,
                    "mean",
                    float(result.p_value[j]),
                    float(adjusted[j]),
                    direction(size),
                    size,
                    unit,
                    text,
                    {name: contributions[name]},
                    self._runbook("input_drift", name),
                    grade,
                    named,
                ),
            )
            js, ja = index[f"attribution:{name}"], index[f"abs_attribution:{name}"]
            jj = js if adjusted[js] <= adjusted[ja] else ja
            attr_sig = bool(adjusted[jj] <= a) and not significant
            statistic = "mean_attribution" if jj == js else "mean_abs_attribution"
            what = "signed" if jj == js else "absolute"
            leans = (
                f"the model now leans {'more' if diff[jj] > 0 else 'less'} on {label} ({what} attribution "
                f"{float(diff[jj]):+.3g} {self.unit}) while {label}'s values are stable"
            )
            if grade == "hedged":
                leans += f"; as the root cause: {self._hedge(cause, name)}"
            out[("attribution_drift", name)] = (
                attr_sig,
                Alarm(
                    "attribution_drift",
                    name,
                    statistic,
                    float(result.p_value[jj]),
                    float(adjusted[jj]),
                    direction(float(diff[jj])),
                    float(diff[jj]),
                    self.unit,
                    leans,
                    {name: contributions[name]},
                    self._runbook("attribution_drift", name),
                    grade,
                    named,
                ),
            )
        ood_adj = _bonferroni(ood_p, groups)
        out[("ood_rate", None)] = (
            bool(ood_adj is not None and ood_adj <= a),
            Alarm(
                "ood_rate",
                None,
                "out_of_domain_rows",
                ood_p,
                ood_adj,
                "up" if ood_count / n > self.ood_rate0 else "down",
                ood_count / n - self.ood_rate0,
                "share of rows",
                f"{ood_count} of {n} rows are outside the validity domain (expected rate {self.ood_rate0:.1%})",
                {},
                self._runbook("ood_rate", None),
            ),
        )
        if perf_p is not None:
            adj = _bonferroni(perf_p, groups)
            mr = float(performance["mean_residual"])
            out[("performance", None)] = (
                bool(adj is not None and adj <= a),
                Alarm(
                    "performance",
                    None,
                    "mean_residual",
                    perf_p,
                    adj,
                    direction(mr),
                    mr,
                    self.unit,
                    f"measured {self.target_label} is {abs(mr):.3g} {self.unit} "
                    f"{'above' if mr > 0 else 'below'} the predictions on average "
                    f"({performance['measured_rows']} measured rows)",
                    {},
                    self._runbook("performance", None),
                ),
            )
        if cov_p is not None:
            adj = _bonferroni(cov_p, groups)
            rate = float(performance["miss_rate"])
            out[("coverage", None)] = (
                bool(adj is not None and adj <= a),
                Alarm(
                    "coverage",
                    None,
                    "miss_rate",
                    cov_p,
                    adj,
                    direction(rate - (1 - self.level)),
                    rate - (1 - self.level),
                    "share of rows",
                    f"{rate:.0%} of measured values fall outside the {self.level:.0%} prediction intervals "
                    f"(expected {1 - self.level:.0%})",
                    {},
                    self._runbook("coverage", None),
                ),
            )
        return out

    # ------------------------------------------------------------------ sequential
    def _sequential(self, end: int) -> list[dict[str, Any]]:
        """CUSUM per quantity over the rows since the reference up to *end*: restarted after each signal; a
        signal inside the newest window is reported with its change point, dated by :func:`_change_point` on the
        chart's rows since its last restart."""
        history = self.frame.iloc[:end]
        values = self._window_matrix(history)
        limits = self.limits
        z = (values - limits.mean) / limits.scale
        k = limits.k
        up = np.zeros(z.shape[1])
        down = np.zeros(z.shape[1])
        restart = np.zeros(z.shape[1], dtype=int)
        began = np.zeros(z.shape[1], dtype=int)  # the restart before each chart's latest signal
        signal_at = np.full(z.shape[1], -1)
        for t in range(len(z)):
            up = np.maximum(0.0, up + z[t] - k)
            down = np.maximum(0.0, down - z[t] - k)
            fired = (up > limits.h) | (down > limits.h)
            if fired.any():
                signal_at = np.where(fired, t, signal_at)
                began = np.where(fired, restart, began)
                restart = np.where(fired, t + 1, restart)
                up = np.where(fired, 0.0, up)
                down = np.where(fired, 0.0, down)
        window_start = max(0, end - self._current_n)
        change_at = np.full(z.shape[1], -1)
        for c in np.flatnonzero(signal_at >= window_start).tolist():  # only the signals the report shows
            change_at[c] = _change_point(z[began[c] : signal_at[c] + 1, c], int(began[c]))
        out: list[dict[str, Any]] = []
        seqs = history["seq"].to_numpy()
        times = history["time"]
        for j, q in enumerate(self.quantities):
            if self.test.constant[j]:
                continue
            fired = bool(signal_at[j] >= window_start)
            point = None
            if fired:
                c = int(min(change_at[j], len(seqs) - 1))
                point = {"seq": int(seqs[c]), "time": times.iloc[c].isoformat()}
            out.append(
                {
                    "index": j,
                    "quantity": q.key,
                    "statistic": float(max(up[j], down[j])),
                    "limit": float(limits.h[j]),
                    "signal": fired,
                    "signal_seq": int(seqs[signal_at[j]]) if fired else None,
                    "change_point": point,
                }
            )
        return out

    def _cusum_alarm(self, q: Quantity, entry: dict[str, Any], charted: tuple[str, ...]) -> Alarm:
        """A CUSUM signal as an alarm; the cause is stated when this input's charts are the only input charts
        that signalled in the window (*charted*: the inputs whose charts did), hedged otherwise."""
        point = entry["change_point"] or {}
        label = self.labels[q.input][0] if q.input else self.target_label
        grade: Literal["stated", "hedged"] | None = None
        named: list[str] = []
        text = (
            f"the CUSUM chart of {q.key.replace(':', ' of ')} crossed its limit {entry['limit']:.3g} at seq "
            f"{entry['signal_seq']}: a small persistent shift of {label} that began around seq {point.get('seq')} "
            f"({point.get('time')})"
        )
        if q.input is not None:
            grade = "stated" if charted == (q.input,) else "hedged"
            named = [q.input] if grade == "stated" else list(charted)
            if grade == "hedged":
                text += f"; as the root cause: {self._hedge(CauseGrade('hedged', charted))}"
        return Alarm(
            q.kind,
            q.input,
            "cusum",
            None,
            None,
            None,
            None,
            q.unit,
            text,
            {},
            self._runbook(q.kind, q.input),
            grade,
            named,
        )

    def _coverage_cusum_alarm(self, performance: dict[str, Any]) -> Alarm:
        c = performance["coverage_cusum"]
        return Alarm(
            "coverage",
            None,
            "bernoulli_cusum",
            None,
            None,
            "up",
            None,
            "share of rows",
            f"the Bernoulli CUSUM of interval misses crossed its limit {c['limit']:.3g}: measured values fall "
            f"outside the {self.level:.0%} intervals more often than {1 - self.level:.0%} since seq "
            f"{c.get('since_seq')}",
            {},
            self._runbook("coverage", None),
        )

    # ------------------------------------------------------------------ performance
    def _performance(self, frame: pd.DataFrame, end: int) -> tuple[dict[str, Any], float | None, float | None]:
        feedback = _feedback(self.log, self.id, (self.reference.last_seq or 0) + 1)
        measured = _measured(frame, feedback)
        has = np.isfinite(measured)
        out: dict[str, Any] = {"measured_rows": int(has.sum())}
        perf_p: float | None = None
        cov_p: float | None = None
        if has.sum() >= 3:
            residual = measured[has] - frame["prediction"].to_numpy(dtype=float)[has]
            centre = float(self.reference.residuals.mean()) if len(self.reference.residuals) >= 10 else 0.0
            out["mean_residual"] = float(residual.mean())
            out["residual_reference"] = centre
            sd = float(residual.std(ddof=1))
            if sd > 0:
                t = (residual.mean() - centre) / (sd / math.sqrt(len(residual)))
                perf_p = float(2 * stats.t.sf(abs(t), len(residual) - 1))
            else:
                perf_p = 1.0 if abs(residual.mean() - centre) < 1e-12 else 0.0
            low = frame["interval_low"].to_numpy(dtype=float)[has]
            high = frame["interval_high"].to_numpy(dtype=float)[has]
            known = np.isfinite(low) & np.isfinite(high)
            if known.sum() >= 3:
                misses = (measured[has][known] < low[known]) | (measured[has][known] > high[known])
                out["miss_rate"] = float(misses.mean())
                out["nominal_miss_rate"] = 1.0 - self.level
                cov_p = (
                    float(stats.binom.sf(int(misses.sum()) - 1, len(misses), 1.0 - self.level)) if misses.any() else 1.0
                )
        # the Bernoulli CUSUM on every measured row since the reference
        history = self.frame.iloc[:end]
        all_measured = _measured(history, feedback)
        hist_has = np.isfinite(all_measured) & np.isfinite(history["interval_low"].to_numpy(dtype=float))
        if hist_has.any():
            m = all_measured[hist_has]
            misses_all = (m < history["interval_low"].to_numpy(dtype=float)[hist_has]) | (
                m > history["interval_high"].to_numpy(dtype=float)[hist_has]
            )
            path = bernoulli_cusum(misses_all, 1.0 - self.level)
            seqs = history["seq"].to_numpy()[hist_has]
            fired = path > self._coverage_limit
            since = None
            if fired.any():
                first_fire = int(np.argmax(fired))
                zeros = np.flatnonzero(path[:first_fire] == 0)
                since = int(seqs[int(zeros[-1]) + 1 if len(zeros) else 0])
            in_window = bool((fired & (seqs >= int(frame["seq"].iloc[0]))).any())
            out["coverage_cusum"] = {
                "statistic": float(path[-1]),
                "limit": self._coverage_limit,
                "signal": in_window,
                "since_seq": since,
            }
        return out, perf_p, cov_p

    # ------------------------------------------------------------------ hysteresis and records
    def _hysteresis(
        self,
        candidates: dict[tuple[str, str | None], tuple[bool, Alarm]],
        window: dict[str, int],
    ) -> list[Alarm]:
        shown: list[Alarm] = []
        for key, (significant, alarm) in candidates.items():
            state = self._state.get(key)
            p = alarm.adjusted_p_value
            if significant:
                if state is None:
                    self._state[key] = {"since": dict(window), "calm": 0}
                    self._write("raised", alarm, window)
                else:
                    state["calm"] = 0
                shown.append(alarm)
            elif state is not None:
                calm = p is None or p > CLEAR_LEVEL
                state["calm"] = state["calm"] + 1 if calm else 0
                if state["calm"] >= CLEAR_AFTER:
                    del self._state[key]
                    self._write("cleared", alarm, window)
                else:
                    shown.append(alarm)
        order = {
            k: i
            for i, k in enumerate(
                ("input_drift", "prediction_drift", "attribution_drift", "ood_rate", "performance", "coverage")
            )
        }
        shown.sort(key=lambda x: (order[x.kind], x.adjusted_p_value if x.adjusted_p_value is not None else 1.0))
        return shown

    def since(self, alarm: Alarm) -> dict[str, int] | None:
        """The window in which an active alarm was raised."""
        state = self._state.get(alarm.key)
        return dict(state["since"]) if state is not None else None

    def _write(self, status: str, alarm: Alarm, window: dict[str, int]) -> None:
        if not self.record:
            return
        if self._written is None:
            self._written = set()
            for record in self.log.records("monitor_alarm", model=self.id.name, version=self.id.version):
                p = record.payload
                w = p.get("window", {})
                self._written.add(
                    (
                        str(p.get("status")),
                        str(p.get("kind")),
                        p.get("input"),
                        int(w.get("first_seq", -1)),
                        int(w.get("last_seq", -1)),
                    )
                )
        key = (status, alarm.kind, alarm.input, window["first_seq"], window["last_seq"])
        if key in self._written:
            return
        payload = {"model": self.id.as_dict(), "status": status, "window": dict(window), **alarm.to_dict()}
        self.log.append("monitor_alarm", "monitor", payload)
        self._written.add(key)

    def _retraining(self, alarms: list[Alarm], performance: dict[str, Any]) -> Retraining:
        bad = [a for a in alarms if a.kind in ("performance", "coverage")]
        if bad:
            since = self.since(bad[0])
            why = "; ".join(a.root_cause for a in bad)
            return Retraining(True, why, since, True)
        drifting = [a for a in alarms if a.kind in ("prediction_drift", "input_drift", "attribution_drift")]
        if performance.get("measured_rows", 0) < 3:
            why = "no measured values in the window: performance is not assessed (send POST /v1/feedback)"
            if drifting:
                why += "; the predictions or inputs drift, so measure parts to decide"
            return Retraining(False, why, None, False)
        return Retraining(
            False,
            f"{performance['measured_rows']} measured rows agree with the predictions and intervals",
            None,
            True,
        )


def check(
    log: AuditLog,
    model: LoadedModel,
    *,
    window: int = 30,
    since: datetime | str | None = None,
    alpha: float = 0.05,
    record: bool = True,
) -> WindowReport:
    """The report of *model*'s newest window of *window* rows (or of the rows since *since*)."""
    return Monitor(log, model, alpha=alpha, record=record).check(window, since=since)


def check_all(
    log: AuditLog, model: LoadedModel, *, window: int = 30, alpha: float = 0.05, record: bool = True
) -> list[WindowReport]:
    """The reports of every consecutive non-overlapping window of *model* after its reference."""
    return Monitor(log, model, alpha=alpha, record=record).check_all(window)
