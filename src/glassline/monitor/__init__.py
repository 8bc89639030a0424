"""Monitoring a published model from its audit log: family-wise calibrated drift tests on small windows
(inputs, prediction, attributions, out-of-domain rate, interval width), bootstrap-adjusted CUSUM charts, the
root cause in the domain's words, performance and coverage from measured values, a retraining verdict,
alarms with hysteresis (audited, exported to Prometheus, with runbook steps) and the handover pack.

>>> from glassline.audit import AuditLog, connect
>>> from glassline.monitor import check
>>> report = check(AuditLog(connect("sqlite:///glassline.db")), model, window=30)   # doctest: +SKIP
>>> report.to_dict()["alarms"]                                                      # doctest: +SKIP
"""

from glassline.monitor._handover import handover_markdown, write_handover
from glassline.monitor._monitor import (
    CLEAR_AFTER,
    CLEAR_LEVEL,
    MAX_WINDOW,
    MIN_REFERENCE_ROWS,
    MIN_WINDOW,
    Monitor,
    Quantity,
    ReferenceRows,
    check,
    check_all,
    reference_of,
    set_reference,
)
from glassline.monitor._report import (
    ALARM_KINDS,
    GENERIC_RUNBOOK,
    Alarm,
    AlarmKind,
    Retraining,
    RootCauseGrade,
    WindowReport,
)
from glassline.monitor._stats import (
    CauseGrade,
    CusumLimits,
    MinPTest,
    TestResult,
    bernoulli_cusum,
    bernoulli_cusum_limit,
    confirm_cause,
    cusum_limits,
    cusum_paths,
    grade_cause,
    minimum_detectable_shift,
)

__all__ = [
    "ALARM_KINDS",
    "CLEAR_AFTER",
    "CLEAR_LEVEL",
    "GENERIC_RUNBOOK",
    "MAX_WINDOW",
    "MIN_REFERENCE_ROWS",
    "MIN_WINDOW",
    "Alarm",
    "AlarmKind",
    "CauseGrade",
    "CusumLimits",
    "MinPTest",
    "Monitor",
    "Quantity",
    "ReferenceRows",
    "Retraining",
    "RootCauseGrade",
    "TestResult",
    "WindowReport",
    "bernoulli_cusum",
    "bernoulli_cusum_limit",
    "check",
    "check_all",
    "confirm_cause",
    "cusum_limits",
    "cusum_paths",
    "grade_cause",
    "handover_markdown",
    "minimum_detectable_shift",
    "reference_of",
    "set_reference",
    "write_handover",
]
