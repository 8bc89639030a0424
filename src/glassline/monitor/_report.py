"""What one monitored window says: the alarms (with root cause, contributions and runbook steps), every test,
the sequential charts, performance and the retraining verdict; :meth:`WindowReport.to_dict` is the JSON
contract of ``glassline monitor check --json`` and ``GET /v1/models/{name}/monitor``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["ALARM_KINDS", "GENERIC_RUNBOOK", "Alarm", "AlarmKind", "Retraining", "RootCauseGrade", "WindowReport"]

RootCauseGrade = Literal["stated", "hedged"]
AlarmKind = Literal["input_drift", "prediction_drift", "attribution_drift", "ood_rate", "performance", "coverage"]

#: The alarm kinds, in the order a report lists them.
ALARM_KINDS: tuple[AlarmKind, ...] = (
    "input_drift",
    "prediction_drift",
    "attribution_drift",
    "ood_rate",
    "performance",
    "coverage",
)

#: The steps that apply when the study file's ``[[runbook]]`` has none for an alarm ("{input}" is the input's
#: label).
GENERIC_RUNBOOK: dict[str, tuple[str, ...]] = {
    "input_drift": (
        "Check the sensor or setting of {input}: calibration, recent maintenance, a changed set point or recipe.",
        "Compare with the process log of the window's period (material lot, shift, operator changes).",
        "If the new level is intended, declare a new reference window after commissioning "
        "(glassline monitor reference).",
    ),
    "prediction_drift": (
        "Read the root cause: the inputs whose attributions moved the mean prediction.",
        "Confirm with measured values (POST /v1/feedback) before acting on the predictions.",
    ),
    "attribution_drift": (
        "The model now leans differently on {input} while its values are stable: check the inputs it "
        "interacts with and whether the process runs in a region the training data covered thinly.",
        "Measure a few parts to see whether the predictions still hold.",
    ),
    "ood_rate": (
        "More rows than usual are outside the validity domain: check which inputs violate it "
        "(glassline audit show) and whether the process left the studied window.",
        "Outside the domain the predictions are extrapolations: follow the service's fallback policy.",
    ),
    "performance": (
        "The measured values disagree with the predictions: check the measurement, then the process "
        "for a change the model did not see (new material lot, worn tool).",
        "Plan retraining with recent measured data (see the retraining verdict).",
    ),
    "coverage": (
        "Measured values fall outside the prediction intervals more often than stated: do not rely on the "
        "intervals until the model is recalibrated or retrained.",
    ),
}


@dataclass(frozen=True)
class Alarm:
    """One alarm of a window. *contributions*: for a change in the mean prediction, each input's share of it in
    the prediction's unit (they sum to the change); *size*: window mean − reference mean, in *unit*.

    *root_cause_grade*: how firmly *root_cause* names an input: ``stated`` (the evidence singles out one input,
    *candidates* holds it), ``hedged`` (it does not: *candidates* lists the inputs that could be it, strongest
    evidence first) or None (an alarm about the whole model whose cause names no input)."""

    kind: AlarmKind
    input: str | None
    statistic: str
    p_value: float | None
    adjusted_p_value: float | None
    direction: Literal["up", "down"] | None
    size: float | None
    unit: str
    root_cause: str
    contributions: dict[str, float] = field(default_factory=dict)
    runbook: list[str] = field(default_factory=list)
    root_cause_grade: RootCauseGrade | None = None
    candidates: list[str] = field(default_factory=list)

    @property
    def key(self) -> tuple[str, str | None]:
        return (self.kind, self.input)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "input": self.input,
            "statistic": self.statistic,
            "p_value": self.p_value,
            "adjusted_p_value": self.adjusted_p_value,
            "direction": self.direction,
            "size": self.size,
            "unit": self.unit,
            "root_cause": self.root_cause,
            "contributions": dict(self.contributions),
            "runbook": list(self.runbook),
            "root_cause_grade": self.root_cause_grade,
            "candidates": list(self.candidates),
        }


@dataclass(frozen=True)
class Retraining:
    """The retraining verdict: retrain or not, why, since when (the first window of the alarm, or None)."""

    retrain: bool
    why: str
    since: dict[str, Any] | None
    assessed: bool

    def to_dict(self) -> dict[str, Any]:
        return {"retrain": self.retrain, "why": self.why, "since": self.since, "assessed": self.assessed}


@dataclass
class WindowReport:
    """The monitoring report of one window of a model's predictions."""

    model: str
    version: str
    first_seq: int
    last_seq: int
    n: int
    alarms: list[Alarm]
    tests: list[dict[str, Any]]
    alpha: float
    time: dict[str, str | None]
    reference: dict[str, Any]
    sequential: list[dict[str, Any]]
    performance: dict[str, Any]
    retraining: Retraining
    minimum_detectable_shift: dict[str, dict[str, float]]
    method: str

    @property
    def alarmed(self) -> bool:
        return bool(self.alarms)

    def to_dict(self) -> dict[str, Any]:
        """The JSON contract: ``model``, ``window`` ``{first_seq, last_seq, n}``, ``alarms`` (kind, input,
        statistic, p_value, adjusted_p_value, direction, size, unit, root_cause, contributions, runbook, then
        root_cause_grade and candidates) and
        ``tests`` (every quantity tested, with its p-value); then ``version``, ``alpha``, ``time``,
        ``reference``, ``sequential``, ``performance``, ``retraining``, ``minimum_detectable_shift`` and
        ``method``."""
        return {
            "model": self.model,
            "window": {"first_seq": self.first_seq, "last_seq": self.last_seq, "n": self.n},
            "alarms": [a.to_dict() for a in self.alarms],
            "tests": list(self.tests),
            "version": self.version,
            "alpha": self.alpha,
            "time": dict(self.time),
            "reference": dict(self.reference),
            "sequential": list(self.sequential),
            "performance": dict(self.performance),
            "retraining": self.retraining.to_dict(),
            "minimum_detectable_shift": {k: dict(v) for k, v in self.minimum_detectable_shift.items()},
            "method": self.method,
        }

    def lines(self) -> list[str]:
        """What a person reads: the window, each alarm with its cause and first step, the verdict."""
        head = f"{self.model} v{self.version}: window seq {self.first_seq}–{self.last_seq} ({self.n} rows)"
        if not self.alarms:
            out = [f"{head}: no alarm at family-wise α = {self.alpha:g} ({len(self.tests)} quantities tested)"]
        else:
            out = [f"{head}: {len(self.alarms)} alarm(s) at family-wise α = {self.alpha:g}"]
            for a in self.alarms:
                what = a.kind + (f" ({a.input})" if a.input else "")
                p = f", adjusted p = {a.adjusted_p_value:.3g}" if a.adjusted_p_value is not None else ""
                grade = f" [cause {a.root_cause_grade}]" if a.root_cause_grade else ""
                out.append(f"  {what}{p}{grade}: {a.root_cause}")
                if a.runbook:
                    out.append(f"    first step: {a.runbook[0]}")
        verdict = self.retraining
        out.append(f"  retrain: {'yes' if verdict.retrain else 'no'} ({verdict.why})")
        return out
