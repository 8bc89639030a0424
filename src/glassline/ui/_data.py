"""What the dashboards show, read from the service: its models, the audit log and its records.

Everything here is computed from the audit log (predictions with their inputs, attributions, intervals and
domain verdicts; overrides; feedback; stop and start; monitoring alarms) and the served models' bundles; each
figure keeps the sequence numbers of the records it came from, so the page can link to them.
"""

from __future__ import annotations

import csv
import io
import json
import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from glassline.audit import AuditLog, AuditRecord, canonical_json, verify_chain
from glassline.exceptions import SpecError
from glassline.explain import Requirement, parse_requirement
from glassline.serve import ServedModel
from glassline.ui._strings import text

__all__ = [
    "AUDIT_PAGE",
    "ChainStatus",
    "PredictionRow",
    "Spec",
    "audit_csv",
    "audit_page",
    "chain_status",
    "fmt",
    "latest_rows",
    "model_spec",
    "record_check",
    "rows_between",
]

#: Records per page of the audit log view.
AUDIT_PAGE = 50


def fmt(value: float | None, unit: str = "", digits: int = 3) -> str:
    """A number with *digits* significant digits and its unit; "–" for a missing one."""
    if value is None or not isinstance(value, int | float) or not math.isfinite(value):
        return "–"
    if value != 0 and (abs(value) >= 10**digits or abs(value) < 10 ** (-digits)):
        shown = f"{value:.{digits}g}"
    else:
        places = max(0, digits - 1 - math.floor(math.log10(abs(value)))) if value != 0 else 0
        shown = f"{value:.{places}f}"
    return f"{shown} {unit}".strip() if unit else shown


@dataclass(frozen=True)
class Spec:
    """The study file's requirements on one model's response: an optional lower and upper bound."""

    requirements: tuple[Requirement, ...]
    low: float | None
    high: float | None

    @property
    def defined(self) -> bool:
        return self.low is not None or self.high is not None

    def contains(self, value: float) -> bool:
        ok = True
        for r in self.requirements:
            ok &= {">=": value >= r.value, ">": value > r.value, "<=": value <= r.value, "<": value < r.value}[r.op]
        return ok

    def light(self, value: float, low: float, high: float) -> str:
        """``in`` (the whole interval meets the spec), ``risk`` (the prediction does, the interval not),
        ``out`` (the prediction does not) or ``none`` (no spec)."""
        if not self.defined or not math.isfinite(value):
            return "none"
        if not self.contains(value):
            return "out"
        if math.isfinite(low) and math.isfinite(high) and self.contains(low) and self.contains(high):
            return "in"
        return "risk" if math.isfinite(low) and math.isfinite(high) else "in"

    def describe(self, unit: str) -> str:
        words = []
        if self.low is not None:
            words.append(f"at least {fmt(self.low, unit)}")
        if self.high is not None:
            words.append(f"at most {fmt(self.high, unit)}")
        return " and ".join(words)


def model_spec(model: ServedModel) -> Spec:
    """The requirements of the model's study on its target (none: an undefined spec)."""
    study = model.bundle.study
    found: list[Requirement] = []
    for line in study.requirements:
        try:
            requirement = parse_requirement(line, study)
        except SpecError:
            continue  # the study file was validated at publication; a requirement on another response is skipped
        if requirement.response == model.bundle.target:
            found.append(requirement)
    lows = [r.value for r in found if r.lower_bound]
    highs = [r.value for r in found if not r.lower_bound]
    return Spec(tuple(found), max(lows) if lows else None, min(highs) if highs else None)


@dataclass
class PredictionRow:
    """One predicted row of one ``prediction`` record, with what the pages say of it."""

    seq: int
    row: int
    time: str
    request_id: str
    actor: str
    model: str
    inputs: list[str]
    values: list[float]
    prediction: float
    low: float
    high: float
    base_value: float
    attributions: list[float]
    inside: bool
    distance: float
    violations: list[dict[str, Any]]
    fallback: str | None
    light: str = "none"
    override: dict[str, Any] | None = None
    labels: dict[str, str] = field(default_factory=dict)
    units: dict[str, str] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.seq}-{self.row}"

    def reasons(self, unit: str, n: int = 2) -> list[str]:
        """The *n* largest attributions in words ("Temperature = 80 °C raises it by 12 kPa")."""
        order = sorted(range(len(self.inputs)), key=lambda k: -abs(self.attributions[k]))
        said = []
        for k in order[:n]:
            effect = self.attributions[k]
            if not math.isfinite(effect) or effect == 0:
                continue
            name = self.inputs[k]
            said.append(
                text(
                    "reason.raises" if effect > 0 else "reason.lowers",
                    input=self.labels.get(name, name),
                    value=fmt(self.values[k], self.units.get(name, "")),
                    size=fmt(abs(effect), unit),
                )
            )
        return said

    def domain_words(self) -> list[str]:
        """Each violated input ("Temperature = 95 °C (above 90 °C)") or the distance check."""
        said = []
        for v in self.violations:
            name = str(v.get("input", ""))
            if name == "*":
                said.append(text("domain.far", distance=fmt(_number(v.get("value")))))
                continue
            unit = self.units.get(name, "")
            said.append(
                text(
                    "domain.violation",
                    input=self.labels.get(name, name),
                    value=fmt(_number(v.get("value")), unit),
                    kind=str(v.get("kind", "")),
                    limit=fmt(_number(v.get("limit")), unit),
                )
            )
        return said


def _number(value: Any) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else math.nan


def _at(values: Any, i: int) -> Any:
    return values[i] if isinstance(values, list) and i < len(values) else None


_NAMES: dict[int, tuple[dict[str, str], dict[str, str]]] = {}


def names(model: ServedModel) -> tuple[dict[str, str], dict[str, str]]:
    """The study's label and unit of each column of *model*'s study (looked up once per model)."""
    key = id(model)
    if key not in _NAMES:
        columns = model.bundle.study.columns()
        _NAMES[key] = ({c.name: c.label or c.name for c in columns}, {c.name: c.unit for c in columns})
    return _NAMES[key]


def _rows_of(record: AuditRecord, model: ServedModel, spec: Spec) -> list[PredictionRow]:
    p = record.payload
    inputs = [str(x) for x in p.get("inputs", [])]
    labels, units = names(model)
    found = []
    for i, values in enumerate(p.get("rows") or []):
        interval = _at(p.get("intervals"), i) or [None, None]
        verdict = _at(p.get("domain"), i) or {}
        prediction = _number(_at(p.get("predictions"), i))
        low, high = _number(_at(interval, 0)), _number(_at(interval, 1))
        found.append(
            PredictionRow(
                seq=record.seq,
                row=i,
                time=record.created_at[:19].replace("T", " "),
                request_id=str(record.request_id or ""),
                actor=record.actor,
                model=model.name,
                inputs=inputs,
                values=[_number(v) for v in values],
                prediction=prediction,
                low=low,
                high=high,
                base_value=_number(_at(p.get("base_values"), i)),
                attributions=[_number(v) for v in (_at(p.get("attributions"), i) or [math.nan] * len(inputs))],
                inside=bool(verdict.get("inside", True)),
                distance=_number(verdict.get("distance")),
                violations=[v for v in verdict.get("violations", []) if isinstance(v, dict)],
                fallback=_at(p.get("fallback"), i),
                light=spec.light(prediction, low, high),
                labels=labels,
                units=units,
            )
        )
    return found


def _overrides(log: AuditLog, model: str, n: int = 500) -> dict[tuple[str, int], dict[str, Any]]:
    found: dict[tuple[str, int], dict[str, Any]] = {}
    for record in log.tail(n, kind="override", model=model):
        p = record.payload
        found[(str(p.get("request_id")), int(p.get("row", 0)))] = {
            "value": p.get("value"),
            "reason": p.get("reason", ""),
            "actor": record.actor,
            "seq": record.seq,
        }
    return found


def latest_rows(log: AuditLog, model: ServedModel, n: int = 20) -> list[PredictionRow]:
    """The model's *n* newest predicted rows, newest first, each with its traffic light and any override."""
    spec = model_spec(model)
    rows: list[PredictionRow] = []
    for record in reversed(log.tail(n, kind="prediction", model=model.name)):
        rows += reversed(_rows_of(record, model, spec))
        if len(rows) >= n:
            break
    overrides = _overrides(log, model.name)
    for row in rows:
        row.override = overrides.get((row.request_id, row.row))
    return rows[:n]


def rows_between(log: AuditLog, model: ServedModel, first: int, last: int, limit: int = 2000) -> list[PredictionRow]:
    """The model's predicted rows in records *first*–*last*, oldest first (at most *limit*)."""
    spec = model_spec(model)
    rows: list[PredictionRow] = []
    for record in log.records("prediction", model=model.name, seq_from=first, seq_to=last):
        rows += _rows_of(record, model, spec)
        if len(rows) >= limit:
            break
    return rows[:limit]


class RecentRows:
    """Each model's predicted rows of a sliding period (the manager's week), kept in memory and brought up to
    date by reading only the records after the newest one read before."""

    def __init__(self) -> None:
        self._rows: dict[str, tuple[int, list[PredictionRow]]] = {}
        self._lock = threading.Lock()

    def since(self, log: AuditLog, model: ServedModel, since: datetime) -> list[PredictionRow]:
        """The model's predicted rows since *since*, oldest first."""
        with self._lock:
            last, rows = self._rows.get(model.name, (0, []))
            spec = model_spec(model)
            fresh: list[PredictionRow] = []
            if last == 0:
                records = log.records("prediction", model=model.name, since=since)
            else:
                records = log.records("prediction", model=model.name, seq_from=last + 1)
            for record in records:
                fresh += _rows_of(record, model, spec)
                last = record.seq
            cut = since.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
            kept = [r for r in rows + fresh if r.time >= cut]
            self._rows[model.name] = (last, kept)
            return list(kept)


class Feed:
    """Each served model's newest predicted rows (at most *keep* per model), its overrides and its feedback,
    kept in memory and brought up to date from the records after the newest one read before.

    :meth:`refresh` costs one indexed read of the newest sequence number when nothing was written since the
    last call, and otherwise a read of the new records only (predictions, overrides and feedback; a gap of
    more than *reload_after* records is read afresh from the newest ones instead). :meth:`version` of a model
    changes exactly when a record about it arrived, so figures derived from its rows can be cached by it.
    """

    def __init__(
        self,
        models: dict[str, ServedModel],
        *,
        keep: int = 200,
        feedback: int = 200,
        overrides: int = 5000,
        reload_after: int = 5000,
    ) -> None:
        self.models = models
        self.keep = keep
        self.feedback_keep = feedback
        self.overrides_keep = overrides
        self.reload_after = reload_after
        self._seq = -1
        self._rows: dict[str, deque[PredictionRow]] = {}
        self._overrides: dict[str, OrderedDict[tuple[str, int], dict[str, Any]]] = {}
        self._feedback: dict[str, deque[AuditRecord]] = {}
        self._versions: dict[str, tuple[int, int]] = {}
        self._specs: dict[str, Spec] = {}
        self._lock = threading.Lock()

    @property
    def seq(self) -> int:
        """The newest record read."""
        return self._seq

    def refresh(self, log: AuditLog) -> int:
        """Bring every model up to date with the log; the newest record's sequence number."""
        with self._lock:
            newest = last_seq(log)
            if newest == self._seq:
                return newest
            if self._seq < 0 or newest < self._seq or newest - self._seq > self.reload_after:
                self._reload(log, newest)
                return newest
            kinds = ("prediction", "override", "feedback")
            for record in log.records(kinds, seq_from=self._seq + 1, seq_to=newest):
                self._add(record)
            self._seq = newest
            return newest

    def _reload(self, log: AuditLog, newest: int) -> None:
        for name, model in self.models.items():
            spec = model_spec(model)
            rows: list[PredictionRow] = []
            for record in reversed(log.tail(self.keep, kind="prediction", model=name)):
                if record.seq <= newest:
                    rows += reversed(_rows_of(record, model, spec))
                if len(rows) >= self.keep:
                    break
            self._rows[name] = deque(reversed(rows[: self.keep]), maxlen=self.keep)
            found = _overrides(log, name, self.overrides_keep // 10)
            self._overrides[name] = OrderedDict(found)
            feedback = [r for r in log.tail(self.feedback_keep, kind="feedback", model=name) if r.seq <= newest]
            self._feedback[name] = deque(feedback, maxlen=self.feedback_keep)
            for row in self._rows[name]:
                row.override = self._overrides[name].get((row.request_id, row.row))
            self._versions[name] = (newest, newest)
        self._seq = newest

    def _add(self, record: AuditRecord) -> None:
        for served in {m.name for m in record.models}:
            model = self.models.get(served)
            if model is None:
                continue
            rows_version, feedback_version = self._versions.get(served, (0, 0))
            if record.kind == "prediction":
                if served not in self._specs:
                    self._specs[served] = model_spec(model)
                fresh = _rows_of(record, model, self._specs[served])
                self._rows.setdefault(served, deque(maxlen=self.keep)).extend(fresh)
                rows_version = record.seq
            elif record.kind == "override":
                p = record.payload
                key = (str(p.get("request_id")), int(p.get("row", 0)))
                override = {
                    "value": p.get("value"),
                    "reason": p.get("reason", ""),
                    "actor": record.actor,
                    "seq": record.seq,
                }
                table = self._overrides.setdefault(served, OrderedDict())
                table[key] = override
                table.move_to_end(key)
                while len(table) > self.overrides_keep:
                    table.popitem(last=False)
                for row in self._rows.get(served, ()):
                    if (row.request_id, row.row) == key:
                        row.override = override
                rows_version = record.seq
            else:
                self._feedback.setdefault(served, deque(maxlen=self.feedback_keep)).append(record)
                feedback_version = record.seq
            self._versions[served] = (rows_version, feedback_version)

    def latest(self, name: str, n: int) -> list[PredictionRow]:
        """The model's *n* newest predicted rows (at most ``keep``), newest first."""
        with self._lock:
            rows = self._rows.get(name, deque())
            return [rows[-1 - k] for k in range(min(n, len(rows)))]

    def override_of(self, name: str, request_id: str, row: int) -> dict[str, Any] | None:
        with self._lock:
            return self._overrides.get(name, OrderedDict()).get((request_id, row))

    def feedback(self, name: str) -> list[AuditRecord]:
        """The model's newest feedback records (at most *feedback*), oldest first."""
        with self._lock:
            return list(self._feedback.get(name, ()))

    def version(self, name: str) -> tuple[int, int]:
        """The newest record about the model's rows (predictions, overrides) and about its feedback."""
        return self._versions.get(name, (0, 0))


class Derived:
    """Figures computed from a model's rows, kept until their *key* (the model's :meth:`Feed.version`) changes;
    a changed key is computed again at most once every *min_age* seconds (until then the figures of the rows
    read last are shown: each figure names the records it came from)."""

    def __init__(self, min_age: float = 0.0) -> None:
        self.min_age = min_age
        self._values: dict[tuple[str, str], tuple[Any, float, Any]] = {}
        self._lock = threading.Lock()

    def get(self, what: str, model: str, key: Any, compute: Callable[[], Any]) -> Any:
        now = time.monotonic()
        with self._lock:
            found = self._values.get((what, model))
        if found is not None and (found[0] == key or now - found[1] < self.min_age):
            return found[2]
        value = compute()
        with self._lock:
            self._values[(what, model)] = (key, now, value)
        return value


def predictions_of(log: AuditLog, request_ids: list[str]) -> dict[str, AuditRecord]:
    """The prediction records of *request_ids*, by request id."""
    return log.by_request_ids(request_ids, "prediction")


def one_row(
    log: AuditLog, models: dict[str, ServedModel], seq: int, row: int, feed: Feed | None = None
) -> PredictionRow | None:
    """Row *row* of prediction record *seq* (None: no such prediction row of a served model), with its override
    (from *feed* when given, which knows the overrides read since it started)."""
    found = list(log.records("prediction", seq_from=seq, seq_to=seq))
    if not found:
        return None
    record = found[0]
    name = str(record.payload.get("model", {}).get("name", ""))
    model = models.get(name)
    if model is None:
        return None
    rows = _rows_of(record, model, model_spec(model))
    if not 0 <= row < len(rows):
        return None
    chosen = rows[row]
    if feed is not None:
        feed.refresh(log)
        chosen.override = feed.override_of(name, chosen.request_id, row)
    else:
        chosen.override = _overrides(log, name).get((chosen.request_id, row))
    return chosen


# ---------------------------------------------------------------------- the chain and single records
@dataclass(frozen=True)
class ChainStatus:
    ok: bool
    records: int
    first_broken: int | None
    reason: str

    def words(self) -> str:
        if self.ok:
            return text("chain.ok", n=self.records)
        return text("chain.broken", seq=self.first_broken, reason=self.reason)


class ChainCache:
    """The whole chain's verification, kept up to date cheaply: records appended since the last check are
    verified against the last verified record's hash (so a page costs a read of the new records only), and
    the whole chain is verified again every *ttl* seconds (an edit of an old record is found within that time)."""

    def __init__(self, ttl: float = 300.0) -> None:
        self.ttl = ttl
        self._status: ChainStatus | None = None
        self._head: tuple[int, str] = (0, "")
        self._full_at = -math.inf
        self._lock = threading.Lock()

    def status(self, log: AuditLog) -> ChainStatus:
        with self._lock:
            now = time.monotonic()
            if self._status is None or not self._status.ok or now - self._full_at >= self.ttl:
                report = verify_chain(log)
                self._full_at = now
                self._head = report.head
                self._status = ChainStatus(report.ok, report.records, report.first_broken, report.reason)
                return self._status
            report = verify_chain(log, after=self._head)
            if not report.ok:
                at = report.first_broken
                self._status = ChainStatus(False, at or self._head[0], at, report.reason)
                return self._status
            self._head = report.head
            self._status = ChainStatus(True, report.head[0], None, "")
            return self._status


def chain_status(log: AuditLog) -> ChainStatus:
    """The whole chain verified now (:func:`glassline.audit.verify_chain`)."""
    report = verify_chain(log)
    return ChainStatus(report.ok, report.records, report.first_broken, report.reason)


def last_seq(log: AuditLog) -> int:
    return log.last_seq()


def get_record(log: AuditLog, seq: int) -> AuditRecord | None:
    return log.get(seq) if seq >= 1 else None


def record_check(log: AuditLog, record: AuditRecord) -> tuple[bool, str]:
    """Whether one record is intact: its hash matches its content, its previous-hash is the hash of the
    record before it, and the record after it (if any) links to it. The sentence that says so."""
    if not record.intact():
        return False, text("record.bad_hash")
    before = get_record(log, record.seq - 1) if record.seq > 1 else None
    if record.seq > 1 and (before is None or before.hash != record.prev_hash):
        return False, text("record.bad_prev", prev=record.seq - 1)
    after = get_record(log, record.seq + 1)
    if after is not None and after.prev_hash != record.hash:
        return False, text("record.bad_next", next=record.seq + 1)
    nxt = text("record.next", next=record.seq + 1) if after is not None else ""
    return True, text("record.ok", prev=max(record.seq - 1, 0), next=nxt)


def record_for_request(log: AuditLog, request_id: str) -> AuditRecord | None:
    found = log.tail(1, request_id=request_id)
    return found[0] if found else None


def _model_name(record: AuditRecord) -> str:
    models = record.models
    return ", ".join(sorted({m.name for m in models})) if models else ""


def audit_page(
    log: AuditLog, *, kind: str | None = None, model: str | None = None, before: int | None = None
) -> tuple[list[AuditRecord], int | None]:
    """One page of records, newest first, with seq below *before*; and the *before* of the next older page."""
    found = list(reversed(log.tail(AUDIT_PAGE, kind=kind or None, model=model or None, before=before)))
    older = found[-1].seq if len(found) == AUDIT_PAGE and found[-1].seq > 1 else None
    return found, older


AUDIT_CSV_COLUMNS = ("seq", "created_at", "kind", "actor", "request_id", "model", "payload", "prev_hash", "hash")


def audit_csv(log: AuditLog, *, kind: str | None = None, model: str | None = None) -> Iterator[str]:
    """The matching records, oldest first, as CSV text in chunks (columns :data:`AUDIT_CSV_COLUMNS`; the payload
    as the log's canonical JSON, so each row can be re-hashed)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(AUDIT_CSV_COLUMNS)
    for k, record in enumerate(log.records(kind or None, model=model or None), start=1):
        writer.writerow(
            [
                record.seq,
                record.created_at,
                record.kind,
                record.actor,
                record.request_id or "",
                _model_name(record),
                canonical_json(record.payload),
                record.prev_hash,
                record.hash,
            ]
        )
        if k % 1000 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    rest = buffer.getvalue()
    if rest:
        yield rest


def pretty(payload: dict[str, Any]) -> str:
    return json.dumps(payload, indent=2, ensure_ascii=False, sort_keys=True, default=str)


# ---------------------------------------------------------------------- figures over many rows
def kinds_since(log: AuditLog, kind: str, since: datetime) -> list[AuditRecord]:
    """The records of *kind* (any kind name, e.g. ``monitor_alarm``) since *since*, oldest first."""
    return list(log.records(kind, since=since))


def week_ago() -> datetime:
    return datetime.now(UTC) - timedelta(days=7)


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval of a share *k*/*n*."""
    if n == 0:
        return math.nan, math.nan
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def bootstrap_importance(shap: np.ndarray, reps: int = 200, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean |attribution| per input (columns of *shap*) and its 90 % bootstrap interval over rows (each
    resample as multinomial row weights, all resamples in one matrix product)."""
    rng = np.random.default_rng(seed)
    absolute = np.abs(shap)
    n = len(absolute)
    mean = absolute.mean(axis=0)
    picks = rng.integers(0, n, size=(reps, n)) + (np.arange(reps) * n)[:, None]
    weights = np.bincount(picks.ravel(), minlength=reps * n).reshape(reps, n).astype(float)
    draws = weights @ absolute / n
    return mean, np.quantile(draws, 0.05, axis=0), np.quantile(draws, 0.95, axis=0)
