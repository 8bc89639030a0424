"""The database of tokens and audit records: SQLAlchemy on SQLite by default, PostgreSQL for a shared deployment.

SQLite runs in WAL mode with writers serialized by ``BEGIN IMMEDIATE``; on every database, triggers
refuse UPDATE and DELETE on the audit table (the hash chain still catches a tamperer who drops them).
An index on the audit table's ``(kind, seq)`` lets every service process find the newest stop and start
records cheaply; :func:`read` runs the few small reads that every process repeats (stop state, token
roles) without taking SQLite's write lock.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
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
    text,
)
from sqlalchemy.engine import make_url

from glassline.exceptions import StoreError

__all__ = ["BUSY_SECONDS", "audit_table", "connect", "metadata", "read", "safe_url", "tokens_table", "utc"]

metadata = MetaData()

tokens_table = Table(
    "glassline_tokens",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("token_sha256", String(64), nullable=False, unique=True),
    Column("role", String(16), nullable=False),
    Column("label", String(200), nullable=False, default=""),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=True),  # None: never expires
    Column("revoked_at", DateTime(timezone=True), nullable=True),  # None: not revoked
)

#: Columns added after the first release: a database created before them gets them on :func:`connect`.
_ADDED_TOKEN_COLUMNS = ("expires_at", "revoked_at")

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


#: How long a connection waits for another writer's lock by default (SQLite's busy timeout): generous for the
#: command line; the service passes the audit log's bound (:data:`glassline.audit.AUDIT_WRITE_SECONDS`).
BUSY_SECONDS = 30.0


def connect(url: str, *, busy_seconds: float = BUSY_SECONDS) -> Engine:
    """An engine for *url*, tables created; SQLite in WAL mode with writers serialized by ``BEGIN IMMEDIATE``,
    each connection waiting at most *busy_seconds* for another writer's lock."""
    sqlite = url.startswith("sqlite")
    try:
        args = {"check_same_thread": False, "timeout": busy_seconds} if sqlite else {}
        engine = create_engine(url, connect_args=args)
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
        _upgrade(engine)
        _append_only(engine)
    except Exception as exc:  # any driver error: one clear message
        raise StoreError(f"cannot open the database {safe_url(url)}: {type(exc).__name__}: {exc}") from None
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


def _upgrade(engine: Engine) -> None:
    """Bring a database created by an earlier version up to date: the token table's expiry and revocation
    columns, and the audit table's ``(kind, seq)`` index (both idempotent, safe with several processes)."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            for column in _ADDED_TOKEN_COLUMNS:
                conn.exec_driver_sql(f"ALTER TABLE glassline_tokens ADD COLUMN IF NOT EXISTS {column} TIMESTAMPTZ")
        else:
            present = {row[1] for row in conn.exec_driver_sql("PRAGMA table_info(glassline_tokens)")}
            for column in _ADDED_TOKEN_COLUMNS:
                if column not in present:
                    conn.exec_driver_sql(f"ALTER TABLE glassline_tokens ADD COLUMN {column} DATETIME")
        conn.exec_driver_sql("CREATE INDEX IF NOT EXISTS ix_glassline_audit_kind_seq ON glassline_audit (kind, seq)")


def read(engine: Engine, sql: str, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
    """The rows of one small read (*sql* with ``:name`` parameters, as both sqlite3 and SQLAlchemy take them).

    On SQLite it runs on a pooled driver connection outside any transaction: the engine's transactions
    begin IMMEDIATE, which would wait for another process's write lock, while a WAL read never waits.
    """
    if engine.dialect.name == "sqlite":
        connection = engine.raw_connection()
        try:
            cursor = connection.cursor()
            try:
                return [tuple(row) for row in cursor.execute(sql, dict(params)).fetchall()]
            finally:
                cursor.close()
        finally:
            connection.close()
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(text(sql), dict(params)).all()]


def utc(value: Any) -> datetime | None:
    """A time column's value as an aware UTC datetime (SQLite hands back naive text, PostgreSQL aware times)."""
    if value is None:
        return None
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def safe_url(url: str) -> str:
    """The URL without its password."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<unparsable URL>"
