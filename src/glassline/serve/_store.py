"""The service's database: API tokens (hashed) and the hash-chained, append-only audit log.

SQLAlchemy on SQLite (WAL journal, one writer at a time via ``BEGIN IMMEDIATE``) by default, PostgreSQL
(or any SQLAlchemy URL) when given one. Each audit record stores the SHA-256 of the previous record's
hash and its own fields as canonical JSON (sorted keys, no spaces, UTF-8), so deleting, reordering or
editing any record breaks the chain at that record; :func:`verify_chain` finds the first break.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    DateTime,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    func,
    insert,
    select,
    text,
)

from glassline.exceptions import StoreError

__all__ = [
    "GENESIS",
    "AuditLog",
    "AuditRecord",
    "ChainReport",
    "Role",
    "StoreError",
    "TokenStore",
    "canonical_json",
    "connect",
    "verify_chain",
]

GENESIS = "0" * 64


class Role(StrEnum):
    """Roles in increasing power: each includes the rights of the ones before it."""

    operator = "operator"  # predict, override
    engineer = "engineer"  # + feedback, stop/start
    admin = "admin"  # + tokens

    @property
    def rank(self) -> int:
        return list(Role).index(self)

    def allows(self, needed: Role) -> bool:
        return self.rank >= needed.rank


metadata = MetaData()

tokens_table = Table(
    "glassline_tokens",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("token_sha256", String(64), nullable=False, unique=True),
    Column("role", String(16), nullable=False),
    Column("label", String(200), nullable=False, default=""),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

audit_table = Table(
    "glassline_audit",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("created_at", String(40), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("request_id", String(64), nullable=True, index=True),
    Column("payload", Text, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)


def connect(url: str) -> Engine:
    """An engine for *url*, tables created; SQLite in WAL mode with writers serialized by ``BEGIN IMMEDIATE``."""
    sqlite = url.startswith("sqlite")
    try:
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30} if sqlite else {})
        if sqlite:

            @event.listens_for(engine, "connect")
            def _pragmas(dbapi_connection: Any, _record: Any) -> None:
                dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
                cursor = dbapi_connection.cursor()
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=NORMAL")  # durable against a killed process; FULL for power loss
                cursor.close()

            @event.listens_for(engine, "begin")
            def _begin(conn: Connection) -> None:
                conn.exec_driver_sql("BEGIN IMMEDIATE")

        metadata.create_all(engine)
        _append_only(engine)
    except Exception as exc:  # any driver error: one clear message
        raise StoreError(f"cannot open the database {_safe(url)}: {type(exc).__name__}: {exc}") from None
    return engine


_SQLITE_GUARDS = [
    "CREATE TRIGGER IF NOT EXISTS glassline_audit_no_update BEFORE UPDATE ON glassline_audit "
    "BEGIN SELECT RAISE(ABORT, 'glassline_audit is append-only'); END",
    "CREATE TRIGGER IF NOT EXISTS glassline_audit_no_delete BEFORE DELETE ON glassline_audit "
    "BEGIN SELECT RAISE(ABORT, 'glassline_audit is append-only'); END",
]
_POSTGRES_GUARD = [
    "CREATE OR REPLACE FUNCTION glassline_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN RAISE EXCEPTION 'glassline_audit is append-only'; END $$",
    "CREATE TRIGGER glassline_audit_no_change BEFORE UPDATE OR DELETE ON glassline_audit "
    "FOR EACH ROW EXECUTE FUNCTION glassline_audit_append_only()",
]


def _append_only(engine: Engine) -> None:
    """Database triggers that refuse UPDATE and DELETE on the audit table (the hash chain still catches a
    tamperer who drops them first)."""
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            for statement in _SQLITE_GUARDS:
                conn.exec_driver_sql(statement)
        elif engine.dialect.name == "postgresql":
            conn.execute(text("LOCK TABLE glassline_audit IN EXCLUSIVE MODE"))  # one creator at a time
            exists = conn.execute(text("SELECT 1 FROM pg_trigger WHERE tgname = 'glassline_audit_no_change'")).first()
            if exists is None:
                for statement in _POSTGRES_GUARD:
                    conn.exec_driver_sql(statement)


def _safe(url: str) -> str:
    """The URL without its password."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<unparsable URL>"


def canonical_json(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False, default=str)


def _record_hash(
    prev_hash: str, seq: int, created_at: str, kind: str, actor: str, request_id: str | None, payload: Any
) -> str:
    """SHA-256 of the previous hash and the record's fields as canonical JSON."""
    fields = {
        "seq": seq,
        "created_at": created_at,
        "kind": kind,
        "actor": actor,
        "request_id": request_id,
        "payload": payload,
    }
    return hashlib.sha256((prev_hash + canonical_json(fields)).encode("utf-8")).hexdigest()


# ---------------------------------------------------------------------------------------- tokens
class TokenStore:
    """API tokens: only their SHA-256 is stored (the token is 256 random bits, so no salt is needed)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._cache: dict[str, Role] = {}

    def create(self, role: Role, label: str = "") -> str:
        token = "gl_" + secrets.token_urlsafe(32)
        with self.engine.begin() as conn:
            conn.execute(
                insert(tokens_table).values(
                    token_sha256=hashlib.sha256(token.encode()).hexdigest(),
                    role=role.value,
                    label=label,
                    created_at=datetime.now(UTC),
                )
            )
        return token

    def role_of(self, token: str) -> Role | None:
        digest = hashlib.sha256(token.encode()).hexdigest()
        cached = self._cache.get(digest)
        if cached is not None:
            return cached
        with self.engine.connect() as conn:
            row = conn.execute(select(tokens_table.c.role).where(tokens_table.c.token_sha256 == digest)).first()
        if row is None:
            return None
        role = Role(row[0])
        self._cache[digest] = role
        return role


# ---------------------------------------------------------------------------------------- audit log
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

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._lock = threading.Lock()
        self._postgres = engine.dialect.name == "postgresql"
        self._sqlite: Any = None  # the writer's sqlite3 connection, opened on first append

    @contextmanager
    def _writer(self) -> Iterator[Connection]:
        with self.engine.begin() as conn:
            if self._postgres:
                conn.execute(text("LOCK TABLE glassline_audit IN EXCLUSIVE MODE"))
            yield conn

    def append(self, kind: str, actor: str, payload: dict[str, Any], request_id: str | None = None) -> AuditRecord:
        """Commit one record; :class:`StoreError` when the database refuses it (nothing was written then)."""
        try:
            with self._lock:
                if self.engine.dialect.name == "sqlite":
                    return self._append_sqlite(kind, actor, payload, request_id)
                with self._writer() as conn:
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
        except StoreError:
            raise
        except Exception as exc:  # any driver error: the record is not written, and the caller must say so
            raise StoreError(f"the audit log refused a '{kind}' record: {type(exc).__name__}: {exc}") from exc

    def _append_sqlite(self, kind: str, actor: str, payload: dict[str, Any], request_id: str | None) -> AuditRecord:
        if self._sqlite is None:
            self._sqlite = self.engine.raw_connection()  # pragmas (WAL, autocommit off) applied by connect()
        cursor = self._sqlite.driver_connection.cursor()
        cursor.execute("BEGIN IMMEDIATE")
        try:
            record, payload_json = _next_record(cursor.execute(self._LAST).fetchone(), kind, actor, payload, request_id)
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
            cursor.execute("ROLLBACK")
            raise
        finally:
            cursor.close()
        return record

    def close(self) -> None:
        """Release the writer's connection (the engine stays usable)."""
        with self._lock:
            if self._sqlite is not None:
                self._sqlite.close()
                self._sqlite = None

    def find(self, request_id: str, kind: str = "prediction") -> AuditRecord | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(audit_table).where(audit_table.c.request_id == request_id, audit_table.c.kind == kind).limit(1)
            ).first()
        return None if row is None else _to_record(row._mapping)

    def tail(self, n: int = 20, *, kind: str | None = None, request_id: str | None = None) -> list[AuditRecord]:
        """The last *n* records (oldest first), optionally only of one *kind* or one *request_id*."""
        query = select(audit_table)
        if kind is not None:
            query = query.where(audit_table.c.kind == kind)
        if request_id is not None:
            query = query.where(audit_table.c.request_id == request_id)
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(audit_table.c.seq.desc()).limit(n)).all()
        return [_to_record(row._mapping) for row in reversed(rows)]

    def count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(audit_table)).scalar_one())

    def records(self, batch: int = 1000) -> Iterator[AuditRecord]:
        after = 0
        while True:
            with self.engine.connect() as conn:
                rows = conn.execute(
                    select(audit_table).where(audit_table.c.seq > after).order_by(audit_table.c.seq).limit(batch)
                ).all()
            if not rows:
                return
            for row in rows:
                yield _to_record(row._mapping)
            after = int(rows[-1]._mapping["seq"])


def _next_record(
    last: Any, kind: str, actor: str, payload: dict[str, Any], request_id: str | None
) -> tuple[AuditRecord, str]:
    """The record that follows *last* (``(seq, hash)`` or None for the first), hashed; and its payload as
    canonical JSON (what the payload column stores)."""
    seq = 1 if last is None else int(last[0]) + 1
    prev = GENESIS if last is None else str(last[1])
    created = datetime.now(UTC).isoformat(timespec="microseconds")
    digest = _record_hash(prev, seq, created, kind, actor, request_id, payload)
    payload_json = canonical_json(payload)
    return AuditRecord(seq, created, kind, actor, request_id, payload, prev, digest), payload_json


def _to_record(row: Any) -> AuditRecord:
    return AuditRecord(
        seq=int(row["seq"]),
        created_at=str(row["created_at"]),
        kind=str(row["kind"]),
        actor=str(row["actor"]),
        request_id=row["request_id"],
        payload=json.loads(row["payload"]),
        prev_hash=str(row["prev_hash"]),
        hash=str(row["hash"]),
    )


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    records: int
    first_broken: int | None = None
    reason: str = ""

    def __str__(self) -> str:
        if self.ok:
            return f"audit chain OK: {self.records} records"
        return f"audit chain broken at record {self.first_broken}: {self.reason} ({self.records} records checked)"


def verify_chain(log: AuditLog) -> ChainReport:
    """Check every record's sequence number, link and hash; report the first broken record."""
    prev = GENESIS
    expected = 1
    n = 0
    for record in log.records():
        n += 1
        if record.seq != expected:
            return ChainReport(False, n, record.seq, f"sequence gap: expected record {expected}, found {record.seq}")
        if record.prev_hash != prev:
            return ChainReport(False, n, record.seq, "its previous-hash does not match the record before it")
        r = record
        if _record_hash(prev, r.seq, r.created_at, r.kind, r.actor, r.request_id, r.payload) != record.hash:
            return ChainReport(False, n, record.seq, "its content does not match its hash (edited)")
        prev = record.hash
        expected += 1
    return ChainReport(True, n)
