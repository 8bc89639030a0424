"""The hash-chained, append-only audit log.

Each record stores the SHA-256 of the previous record's hash and its own fields as canonical JSON
(sorted keys, no spaces, UTF-8), so deleting, reordering or editing any record breaks the chain at that
record; :func:`verify_chain` finds the first break. Writes and reads block on the database: a service
calls them from a worker thread, never on its event loop.

A record whose payload column is not a JSON object (a damaged or hand-edited database) is never read as
if it were one: the readers (:meth:`AuditLog.records`, :meth:`AuditLog.tail`,
:meth:`AuditLog.oversight_after`, and through them ``prediction_frame`` and ``glassline audit show``)
raise :class:`~glassline.exceptions.StoreError` naming the record's seq and telling to run
``glassline audit verify``, and :func:`verify_chain` reports it as the first broken record.
"""

from __future__ import annotations

import errno
import hashlib
import json
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import ColumnElement, Connection, Engine, Select, func, insert, select, text

from glassline.audit._database import audit_table, read
from glassline.exceptions import QueryError, StoreError, did_you_mean

if TYPE_CHECKING:
    from glassline.audit._anchor import Anchor

__all__ = [
    "AUDIT_WRITE_SECONDS",
    "GENESIS",
    "KINDS",
    "OVERSIGHT_KINDS",
    "AuditLog",
    "AuditRecord",
    "ChainReport",
    "ModelId",
    "Writable",
    "WriteCause",
    "canonical_json",
    "verify_chain",
    "write_failure",
]

GENESIS = "0" * 64

#: The longest one audit write waits for the database, in seconds: for another process's write lock (SQLite's
#: busy timeout, PostgreSQL's lock_timeout), for the statements (PostgreSQL's statement_timeout) and for the
#: other writes of this process, all counted from the start of :meth:`AuditLog.append`. A write committed
#: within it returns; otherwise :class:`StoreError` says why, and nothing was written. The service answers
#: 503 then, so a prediction never waits longer than this for its record.
AUDIT_WRITE_SECONDS = 1.5

#: Why a write failed: another writer holds the lock, the disk (or the database's size limit) is full, the
#: database is read-only, or another driver error.
WriteCause = Literal["locked", "disk_full", "read_only", "failed"]

_CAUSE_TEXT: dict[str, str] = {
    "locked": "the audit log is locked by another writer",
    "disk_full": "the audit log's disk is full",
    "read_only": "the audit log is read-only",
    "failed": "the audit log's database failed",
}

#: SQLSTATE codes of PostgreSQL errors: lock_not_available (lock_timeout), query_canceled (statement_timeout),
#: serialization and deadlock; disk_full, insufficient_resources; read_only_sql_transaction.
_PG_CAUSES: dict[str, WriteCause] = {
    "55P03": "locked",
    "57014": "locked",
    "40001": "locked",
    "40P01": "locked",
    "53100": "disk_full",
    "53000": "disk_full",
    "25006": "read_only",
}


def write_failure(exc: BaseException) -> WriteCause:
    """What a database error raised by a write means (the driver error, or a :class:`StoreError` raised from one)."""
    error: BaseException | None = exc
    while isinstance(error, StoreError) and error.__cause__ is not None:
        error = error.__cause__
    seen = 0
    while error is not None and seen < 5:  # SQLAlchemy wraps the driver's error as .orig
        if isinstance(error, _Locked):
            return "locked"
        name = str(getattr(error, "sqlite_errorname", "") or "")
        if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
            return "locked"
        if name.startswith("SQLITE_FULL"):
            return "disk_full"
        if name.startswith("SQLITE_READONLY"):
            return "read_only"
        code = str(getattr(error, "sqlstate", "") or getattr(error, "pgcode", "") or "")
        if code in _PG_CAUSES:
            return _PG_CAUSES[code]
        if isinstance(error, OSError) and error.errno is not None:
            if error.errno == errno.ENOSPC:
                return "disk_full"
            if error.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
                return "read_only"
        error = getattr(error, "orig", None)
        seen += 1
    text = str(exc).lower()
    if "database is locked" in text or "lock timeout" in text:
        return "locked"
    if "disk is full" in text or "no space left" in text:
        return "disk_full"
    if "readonly database" in text or "read-only" in text:
        return "read_only"
    return "failed"


@dataclass(frozen=True)
class Writable:
    """The outcome of the last audit write (or :meth:`AuditLog.probe`): whether the log took it, why not, and
    when (``time.monotonic()``)."""

    ok: bool
    cause: WriteCause | None
    reason: str
    at: float


#: The kinds of record glassline writes (reads filter on these; :meth:`AuditLog.append` takes any kind).
KINDS = (
    "prediction",
    "prediction_refused",
    "override",
    "feedback",
    "stop",
    "start",
    "model_loaded",
    "model_published",
    "token_created",
    "token_revoked",
    "counterfactual",
    "monitor_alarm",
    "monitor_reference",
)

#: The kinds of record that stop and start a service; the newest one concerning a service's models decides.
OVERSIGHT_KINDS = ("stop", "start")


@dataclass(frozen=True)
class ModelId:
    """A model version: registered name and version."""

    name: str
    version: str

    def as_dict(self) -> dict[str, str]:
        return {"name": self.name, "version": self.version}


def canonical_json(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False, default=str)


def _record_hash(
    prev_hash: str, seq: int, created_at: str, kind: str, actor: str, request_id: str | None, payload_json: str
) -> str:
    """SHA-256 of the previous hash and ``canonical_json`` of the record's fields (seq, created_at, kind,
    actor, request_id, payload), composed from the payload's canonical JSON so it is serialized once."""
    dump = canonical_json
    fields = (
        f'{{"actor":{dump(actor)},"created_at":{dump(created_at)},"kind":{dump(kind)},"payload":{payload_json},'
        f'"request_id":{dump(request_id)},"seq":{seq}}}'
    )
    return hashlib.sha256((prev_hash + fields).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class AuditRecord:
    seq: int
    created_at: str
    kind: str
    actor: str
    request_id: str | None
    payload: dict[str, Any]
    prev_hash: str
    hash: str

    @property
    def time(self) -> datetime:
        return datetime.fromisoformat(self.created_at)

    def intact(self) -> bool:
        """Whether the record's hash is the hash of its previous-hash and its content (an edited record is not)."""
        try:
            payload_json = canonical_json(self.payload)
        except ValueError:
            return False
        digest = _record_hash(
            self.prev_hash, self.seq, self.created_at, self.kind, self.actor, self.request_id, payload_json
        )
        return digest == self.hash

    @property
    def models(self) -> tuple[ModelId, ...]:
        """The model versions the record is about: a prediction's, feedback's or override's model, a loaded or
        published model, the models a stop or start concerned; none for a token."""
        p = self.payload
        found: list[Any] = []
        if isinstance(p.get("model"), dict):
            found.append(p["model"])
        elif "name" in p and "version" in p:
            found.append(p)
        found += [m for m in p.get("models", []) if isinstance(m, dict)]
        return tuple(ModelId(str(m.get("name")), str(m.get("version"))) for m in found)


def _kinds(kind: str | Iterable[str] | None) -> tuple[str, ...] | None:
    if kind is None:
        return None
    chosen = (kind,) if isinstance(kind, str) else tuple(kind)
    for k in chosen:
        if k not in KINDS:
            raise QueryError(f"kind: expected one of {list(KINDS)}, got {k!r}." + did_you_mean(str(k), KINDS))
    return chosen


def _when(name: str, value: datetime | str | None) -> str | None:
    """A time bound as the log writes times (ISO 8601, UTC, microseconds): comparable as text."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise QueryError(
                f"{name}: expected an ISO 8601 time such as '2026-05-04T10:00:00+00:00', got {value!r}"
            ) from None
    if not isinstance(value, datetime):
        raise QueryError(f"{name}: expected a datetime or an ISO 8601 string, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise QueryError(f"{name}: expected a time with a time zone (the log's times are UTC), got {value.isoformat()}")
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def _seq(name: str, value: int | None) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise QueryError(f"{name}: expected a record number ≥ 1, got {value!r}")
    return value


@dataclass(frozen=True)
class _Query:
    """Validated filters of a read: kinds, one model (name, optionally version), a seq and a time range."""

    kinds: tuple[str, ...] | None = None
    model: str | None = None
    version: str | None = None
    request_id: str | None = None
    seq_from: int | None = None
    seq_to: int | None = None
    since: str | None = None
    until: str | None = None

    @classmethod
    def of(
        cls,
        kind: str | Iterable[str] | None = None,
        *,
        model: str | None = None,
        version: str | int | None = None,
        request_id: str | None = None,
        seq_from: int | None = None,
        seq_to: int | None = None,
        since: datetime | str | None = None,
        until: datetime | str | None = None,
    ) -> _Query:
        if model is not None and (not isinstance(model, str) or not model):
            raise QueryError(f"model: expected a registered model name, got {model!r}")
        if version is not None and model is None:
            raise QueryError(f"version: a version ({version!r}) needs a model name")
        first, last = _seq("seq_from", seq_from), _seq("seq_to", seq_to)
        if first is not None and last is not None and first > last:
            raise QueryError(f"seq_from ({first}) is after seq_to ({last}): the range is empty")
        start, end = _when("since", since), _when("until", until)
        if start is not None and end is not None and start >= end:
            raise QueryError(f"since ({start}) is not before until ({end}): the time range is empty")
        return cls(_kinds(kind), model, None if version is None else str(version), request_id, first, last, start, end)

    def where(self) -> list[ColumnElement[bool]]:
        c = audit_table.c
        conditions: list[ColumnElement[bool]] = []
        if self.kinds is not None:
            conditions.append(c.kind.in_(self.kinds))
        if self.request_id is not None:
            conditions.append(c.request_id == self.request_id)
        if self.seq_from is not None:
            conditions.append(c.seq >= self.seq_from)
        if self.seq_to is not None:
            conditions.append(c.seq <= self.seq_to)
        if self.since is not None:
            conditions.append(c.created_at >= self.since)
        if self.until is not None:
            conditions.append(c.created_at < self.until)
        if self.model is not None:  # a coarse filter in the database; :meth:`keeps` decides
            conditions.append(c.payload.contains(f'"name":{canonical_json(self.model)}', autoescape=True))
        return conditions

    def keeps(self, record: AuditRecord) -> bool:
        if self.model is None:
            return True
        return any(m.name == self.model and self.version in (None, m.version) for m in record.models)


class AuditLog:
    """Append-only, hash-chained records; :meth:`append` returns after the record is committed.

    On SQLite the writer keeps one driver connection and issues its few statements directly (about 25 µs
    per committed record against 230 µs through SQLAlchemy Core, which is most of a prediction's budget);
    other databases go through SQLAlchemy. Either way the transaction reads the last record and inserts
    the next one under an exclusive lock, so several processes appending to one log keep one chain.
    """

    _INSERT = (
        "INSERT INTO glassline_audit (seq, created_at, kind, actor, request_id, payload, prev_hash, hash) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
    )
    _LAST = "SELECT seq, hash FROM glassline_audit ORDER BY seq DESC LIMIT 1"

    def __init__(self, engine: Engine, *, write_seconds: float = AUDIT_WRITE_SECONDS) -> None:
        self.engine = engine
        self.write_seconds = write_seconds
        self._lock = threading.Lock()
        self._postgres = engine.dialect.name == "postgresql"
        self._sqlite: Any = None  # the writer's sqlite3 connection, opened on first append
        #: The outcome of the last write or probe; None before the first.
        self.writable: Writable | None = None
        self._probe_bytes = 0  # the size of the last record that failed: a probe must find room for as much

    @contextmanager
    def _writer(self, deadline: float) -> Iterator[Connection]:
        with self.engine.begin() as conn:
            if self._postgres:
                ms = max(1, int((deadline - time.monotonic()) * 1000))
                conn.execute(text(f"SET LOCAL lock_timeout = {ms}"))
                conn.execute(text(f"SET LOCAL statement_timeout = {ms}"))
                conn.execute(text("LOCK TABLE glassline_audit IN EXCLUSIVE MODE"))
            yield conn

    @contextmanager
    def _locked(self, what: str, deadline: float | None = None) -> Iterator[float]:
        """This process's writer lock, taken before *deadline* (default: :attr:`write_seconds` from now);
        yields the deadline."""
        began = time.monotonic()
        if deadline is None:
            deadline = began + self.write_seconds
        if not self._lock.acquire(timeout=max(0.0, deadline - began)):
            waited = time.monotonic() - began
            raise StoreError(f"{_CAUSE_TEXT['locked']}: {what} waited {waited:.2g} s for the writes before it") from (
                _Locked()
            )
        try:
            yield deadline
        finally:
            self._lock.release()

    def _failure(self, exc: BaseException, what: str) -> Writable:
        """Record that a write failed because of *exc* (:attr:`writable`), and say why in one line."""
        cause = write_failure(exc)
        waited = f" within {self.write_seconds:g} s" if cause == "locked" else ""
        self.writable = Writable(
            False, cause, f"{_CAUSE_TEXT[cause]}: {what}{waited} ({type(exc).__name__}: {exc})", time.monotonic()
        )
        return self.writable

    def append(
        self,
        kind: str,
        actor: str,
        payload: dict[str, Any],
        request_id: str | None = None,
        *,
        deadline: float | None = None,
    ) -> AuditRecord:
        """Commit one record before *deadline* (a ``time.monotonic()`` time; default: :attr:`write_seconds` from
        now); :class:`StoreError` naming the cause (:func:`write_failure`) when the database refuses it or is
        locked past it (nothing was written then)."""
        what = f"no '{kind}' record could be committed"
        try:
            with self._locked(what, deadline) as deadline:
                if self.engine.dialect.name == "sqlite":
                    record = self._append_sqlite(kind, actor, payload, request_id, deadline)
                else:
                    record = self._append_engine(kind, actor, payload, request_id, deadline)
        except StoreError as exc:  # this process's writer lock was not free in time
            self.writable = Writable(False, "locked", str(exc), time.monotonic())
            raise
        except Exception as exc:  # any driver error: the record is not written, and the caller must say so
            self._probe_bytes = _size(payload)
            raise StoreError(self._failure(exc, what).reason) from exc
        self.writable = Writable(True, None, "", time.monotonic())
        self._probe_bytes = 0
        return record

    def _append_engine(
        self, kind: str, actor: str, payload: dict[str, Any], request_id: str | None, deadline: float
    ) -> AuditRecord:
        with self._writer(deadline) as conn:
            last = conn.execute(
                select(audit_table.c.seq, audit_table.c.hash).order_by(audit_table.c.seq.desc()).limit(1)
            ).first()
            record, payload_json = _next_record(last, kind, actor, payload, request_id)
            conn.execute(
                insert(audit_table).values(
                    seq=record.seq,
                    created_at=record.created_at,
                    kind=kind,
                    actor=actor,
                    request_id=request_id,
                    payload=payload_json,
                    prev_hash=record.prev_hash,
                    hash=record.hash,
                )
            )
        return record

    def _cursor(self, deadline: float) -> Any:
        """A cursor of the writer's sqlite3 connection, its busy timeout set to what is left until *deadline*."""
        if self._sqlite is None:
            self._sqlite = self.engine.raw_connection()  # pragmas (WAL, autocommit off) applied by connect()
        cursor = self._sqlite.driver_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {max(1, int((deadline - time.monotonic()) * 1000))}")
        return cursor

    def _append_sqlite(
        self, kind: str, actor: str, payload: dict[str, Any], request_id: str | None, deadline: float
    ) -> AuditRecord:
        cursor = self._cursor(deadline)
        try:
            cursor.execute("BEGIN IMMEDIATE")
            try:
                last = cursor.execute(self._LAST).fetchone()
                record, payload_json = _next_record(last, kind, actor, payload, request_id)
                cursor.execute(
                    self._INSERT,
                    (
                        record.seq,
                        record.created_at,
                        kind,
                        actor,
                        request_id,
                        payload_json,
                        record.prev_hash,
                        record.hash,
                    ),
                )
                cursor.execute("COMMIT")
            except BaseException:
                if self._sqlite.driver_connection.in_transaction:  # SQLite may have rolled back already
                    cursor.execute("ROLLBACK")
                raise
        finally:
            cursor.close()
        return record

    def probe(self) -> Writable:
        """Whether a record could be written now, without writing one: take the write lock within
        :attr:`write_seconds` and insert a probe row, then roll back. Catches a lock held by another writer, a
        read-only database and a database at its size limit; a disk that fills under the write-ahead log shows
        at the next commit instead (:attr:`writable`). After a write failed, the probe row is as large as that
        record, so a disk with room for a small row only is not taken for writable. Updates and answers
        :attr:`writable`."""
        what = "a probe write could not take the write lock"
        row = (0, "", "probe", "system", None, canonical_json({"room": "x" * self._probe_bytes}), GENESIS, GENESIS)
        try:
            with self._locked(what) as deadline:
                if self.engine.dialect.name == "sqlite":
                    cursor = self._cursor(deadline)
                    try:
                        cursor.execute("BEGIN IMMEDIATE")
                        try:
                            cursor.execute(self._INSERT, row)
                        finally:
                            if self._sqlite.driver_connection.in_transaction:
                                cursor.execute("ROLLBACK")
                    finally:
                        cursor.close()
                else:
                    with self.engine.connect() as conn, conn.begin() as transaction:
                        ms = max(1, int((deadline - time.monotonic()) * 1000))
                        conn.execute(text(f"SET LOCAL lock_timeout = {ms}"))
                        conn.execute(text(f"SET LOCAL statement_timeout = {ms}"))
                        conn.execute(text("LOCK TABLE glassline_audit IN EXCLUSIVE MODE"))
                        names = ("seq", "created_at", "kind", "actor", "request_id", "payload", "prev_hash", "hash")
                        conn.execute(insert(audit_table).values(dict(zip(names, row, strict=True))))
                        transaction.rollback()
        except StoreError as exc:
            self.writable = Writable(False, "locked", str(exc), time.monotonic())
            return self.writable
        except Exception as exc:  # any driver error: not writable, and why
            return self._failure(exc, "a probe write failed")
        self.writable = Writable(True, None, "", time.monotonic())
        return self.writable

    def close(self) -> None:
        """Release the writer's connection (the engine stays usable)."""
        with self._lock:
            if self._sqlite is not None:
                self._sqlite.close()
                self._sqlite = None

    # ------------------------------------------------------------------ reading
    def find(self, request_id: str, kind: str = "prediction") -> AuditRecord | None:
        """The record of *kind* for *request_id*, or None."""
        found = self.tail(1, kind=kind, request_id=request_id)
        return found[0] if found else None

    def tail(
        self,
        n: int = 20,
        *,
        kind: str | Iterable[str] | None = None,
        request_id: str | None = None,
        model: str | None = None,
        before: int | None = None,
    ) -> list[AuditRecord]:
        """The last *n* records (oldest first), optionally only of some *kind*\\ s, one *request_id*, one *model*,
        and only records older than record *before* (a page of a newest-first listing)."""
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise QueryError(f"n: expected a number of records ≥ 1, got {n!r}")
        query = _Query.of(kind, request_id=request_id, model=model)
        if before is not None:
            before = _seq("before", before)
        found: list[AuditRecord] = []
        while len(found) < n:
            statement = self._select(query).order_by(audit_table.c.seq.desc()).limit(max(n, 100))
            if before is not None:
                statement = statement.where(audit_table.c.seq < before)
            with self.engine.connect() as conn:
                rows = conn.execute(statement).all()
            if not rows:
                break
            for row in rows:  # newest first, parsed only until *n* are found
                record = _to_record(row._mapping)
                if query.keeps(record):
                    found.append(record)
                    if len(found) == n:
                        break
            before = int(rows[-1]._mapping["seq"])
        return list(reversed(found[:n]))

    def oversight_after(self, seq: int) -> list[AuditRecord]:
        """The stop and start records after record *seq*, oldest first: one indexed read that never waits for a
        writer (the service polls it; see :class:`glassline.serve._service.ServiceState`). A record whose
        payload is not a JSON object raises :class:`StoreError` naming it: whether the service is stopped
        cannot be known then, so a service refuses to start."""
        sql = (
            "SELECT seq, created_at, kind, actor, request_id, payload, prev_hash, hash FROM glassline_audit "
            "WHERE kind IN ('stop', 'start') AND seq > :after ORDER BY seq"
        )
        found: list[AuditRecord] = []
        for row in read(self.engine, sql, {"after": int(seq)}):
            names = ("seq", "created_at", "kind", "actor", "request_id", "payload", "prev_hash", "hash")
            found.append(_to_record(dict(zip(names, row, strict=True))))
        return found

    def count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(audit_table)).scalar_one())

    def last_seq(self) -> int:
        """The newest record's sequence number (0 for an empty log): one indexed read."""
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.max(audit_table.c.seq))).scalar() or 0)

    def get(self, seq: int) -> AuditRecord | None:
        """Record *seq*, or None when the log has no such record."""
        number = _seq("seq", seq)
        with self.engine.connect() as conn:
            row = conn.execute(select(audit_table).where(audit_table.c.seq == number)).first()
        return None if row is None else _to_record(row._mapping)

    def by_request_ids(self, request_ids: Iterable[str], kind: str = "prediction") -> dict[str, AuditRecord]:
        """The records of *kind* for each of *request_ids* (one read per 500 ids), by request id; ids with no
        record are left out."""
        chosen = _kinds(kind)
        ids = list(dict.fromkeys(str(r) for r in request_ids))
        found: dict[str, AuditRecord] = {}
        for start in range(0, len(ids), 500):
            statement = select(audit_table).where(
                audit_table.c.kind.in_(chosen or ()), audit_table.c.request_id.in_(ids[start : start + 500])
            )
            with self.engine.connect() as conn:
                for row in conn.execute(statement).all():
                    record = _to_record(row._mapping)
                    found[str(record.request_id)] = record
        return found

    def records(
        self,
        kind: str | Iterable[str] | None = None,
        *,
        model: str | None = None,
        version: str | int | None = None,
        seq_from: int | None = None,
        seq_to: int | None = None,
        since: datetime | str | None = None,
        until: datetime | str | None = None,
        batch: int = 1000,
    ) -> Iterator[AuditRecord]:
        """The records in order, optionally only of some *kind*\\ s, of one *model* (and *version*), with
        ``seq_from ≤ seq ≤ seq_to`` and ``since ≤ time < until`` (aware datetimes or ISO 8601 strings).

        Read in batches of *batch* records, one short transaction each. Bad arguments raise
        :class:`~glassline.exceptions.QueryError` at the call, before any record is read.
        """
        query = _Query.of(
            kind, model=model, version=version, seq_from=seq_from, seq_to=seq_to, since=since, until=until
        )
        if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
            raise QueryError(f"batch: expected a number of records ≥ 1, got {batch!r}")
        return self._records(query, batch)

    def _records(self, query: _Query, batch: int) -> Iterator[AuditRecord]:
        for row in self._rows(query, batch):
            record = _to_record(row)
            if query.keeps(record):
                yield record

    def _rows(self, query: _Query, batch: int) -> Iterator[Any]:
        """The matching rows in order (column mappings, payload as stored text), in batches."""
        after = (query.seq_from or 1) - 1
        while True:
            statement = self._select(query).where(audit_table.c.seq > after).order_by(audit_table.c.seq).limit(batch)
            with self.engine.connect() as conn:
                rows = conn.execute(statement).all()
            if not rows:
                return
            for row in rows:
                yield row._mapping
            after = int(rows[-1]._mapping["seq"])

    @staticmethod
    def _select(query: _Query) -> Select[Any]:
        statement = select(audit_table)
        for condition in query.where():
            statement = statement.where(condition)
        return statement


def _size(payload: dict[str, Any]) -> int:
    """The length of *payload* as the log stores it (0 when it is not JSON)."""
    try:
        return len(canonical_json(payload))
    except ValueError:
        return 0


class _Locked(Exception):
    """This process's own writer lock was not free within the write's deadline (the writes before it wait)."""


def _next_record(
    last: Any, kind: str, actor: str, payload: dict[str, Any], request_id: str | None
) -> tuple[AuditRecord, str]:
    """The record that follows *last* (``(seq, hash)`` or None for the first), hashed; and its payload as
    canonical JSON (what the payload column stores)."""
    seq = 1 if last is None else int(last[0]) + 1
    prev = GENESIS if last is None else str(last[1])
    created = datetime.now(UTC).isoformat(timespec="microseconds")
    payload_json = canonical_json(payload)
    digest = _record_hash(prev, seq, created, kind, actor, request_id, payload_json)
    return AuditRecord(seq, created, kind, actor, request_id, payload, prev, digest), payload_json


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _payload(text: Any) -> dict[str, Any]:
    """A stored payload parsed; :class:`ValueError` saying what is wrong when it is not a JSON object (the
    log writes canonical JSON objects without NaN or infinities)."""
    try:
        value = json.loads(str(text), parse_constant=_reject_constant)
    except ValueError as exc:
        raise ValueError(f"payload is not valid JSON ({exc})") from None
    if not isinstance(value, dict):
        raise ValueError(f"payload is not a JSON object (got a JSON {type(value).__name__})")
    try:
        canonical_json(value)
    except ValueError:
        raise ValueError("payload is not valid JSON (a number out of range)") from None
    return value


def _to_record(row: Any) -> AuditRecord:
    """A row as a record; :class:`StoreError` naming the record when its payload is not a JSON object."""
    seq = int(row["seq"])
    try:
        payload = _payload(row["payload"])
    except ValueError as exc:
        raise StoreError(f"audit record {seq}: {exc}; run 'glassline audit verify' to check the whole log") from None
    return AuditRecord(
        seq=seq,
        created_at=str(row["created_at"]),
        kind=str(row["kind"]),
        actor=str(row["actor"]),
        request_id=row["request_id"],
        payload=payload,
        prev_hash=str(row["prev_hash"]),
        hash=str(row["hash"]),
    )


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    records: int
    first_broken: int | None = None
    reason: str = ""
    #: The anchored record the log was checked against (``verify_chain(log, anchor=…)``), or None.
    anchored: int | None = None
    #: The newest record checked, as ``(seq, hash)`` (``(0, GENESIS)`` when none was): where a later
    #: ``verify_chain(log, after=…)`` can go on from.
    head: tuple[int, str] = (0, GENESIS)

    def __str__(self) -> str:
        if self.ok:
            against = "" if self.anchored is None else f"; matches the anchor at record {self.anchored}"
            return f"audit chain OK: {self.records} records{against}"
        return f"audit chain broken at record {self.first_broken}: {self.reason} ({self.records} records checked)"


def _row_break(row: Any, expected: int, prev: str) -> str:
    """Why stored *row* does not continue the chain as record *expected* after hash *prev* ("" when it does)."""
    seq = int(row["seq"])
    if seq != expected:
        return f"sequence gap: expected record {expected}, found {seq}"
    if str(row["prev_hash"]) != prev:
        return "its previous-hash does not match the record before it"
    try:
        payload_json = canonical_json(_payload(row["payload"]))
    except ValueError as exc:
        return str(exc)
    digest = _record_hash(
        prev, seq, str(row["created_at"]), str(row["kind"]), str(row["actor"]), row["request_id"], payload_json
    )
    return "" if digest == str(row["hash"]) else "its content does not match its hash (edited)"


def verify_chain(log: AuditLog, anchor: Anchor | None = None, *, after: tuple[int, str] | None = None) -> ChainReport:
    """Check every record's sequence number, link, payload (a JSON object) and hash; report the first broken
    record. Never raises for a damaged record: a payload that is not JSON is a broken chain at that record.

    With an *anchor* (:func:`~glassline.audit.read_anchor`) the log must also still hold the anchored record
    with the anchored hash: a log truncated or emptied before it, or rewritten with its hashes recomputed, is
    broken at the anchored record.

    With *after* ``(seq, hash)`` (a :attr:`ChainReport.head` of an earlier check) only the records after it
    are checked, the first against that hash; ``records`` then counts the records checked. This is how a
    watcher keeps a long log verified at the cost of its new records."""
    if anchor is not None and after is not None:
        raise QueryError("verify_chain: an anchor is checked over the whole log; it cannot be combined with after")
    seq0, prev = (0, GENESIS) if after is None else (int(after[0]), str(after[1]))
    expected = seq0 + 1
    n = 0
    at_anchor: str | None = None
    for row in log._rows(_Query(seq_from=expected), 1000):
        n += 1
        seq = int(row["seq"])
        broken = _row_break(row, expected, prev)
        if broken:
            return ChainReport(False, n, seq, broken, head=(expected - 1, prev))
        prev = str(row["hash"])
        expected += 1
        if anchor is not None and seq == anchor.seq:
            at_anchor = prev
    head = (expected - 1, prev)
    if anchor is None:
        return ChainReport(True, n, head=head)
    if anchor.seq == 0:
        return ChainReport(True, n, anchored=0, head=head)
    if at_anchor is None:
        return ChainReport(
            False,
            n,
            anchor.seq,
            f"missing: the anchor of {anchor.created_at} names record {anchor.seq} ({anchor.count} records), "
            f"the log ends at record {n} (truncated or emptied)",
        )
    if at_anchor != anchor.hash:
        return ChainReport(
            False,
            n,
            anchor.seq,
            f"its hash differs from the anchor of {anchor.created_at} (the log was rewritten up to it)",
        )
    return ChainReport(True, n, anchored=anchor.seq, head=head)
