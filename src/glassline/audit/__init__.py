"""The audit trail: the hash-chained, append-only log (SQLite or PostgreSQL), API tokens and roles, and the
read API that monitoring and dashboards use.

>>> from glassline.audit import AuditLog, connect, prediction_frame, read_anchor, verify_chain, write_anchor
>>> log = AuditLog(connect("sqlite:///glassline.db"))                      # doctest: +SKIP
>>> verify_chain(log).ok                                                   # doctest: +SKIP
True
>>> anchor = write_anchor(log, "/elsewhere/audit-anchor.json")              # doctest: +SKIP
>>> verify_chain(log, anchor=read_anchor("/elsewhere/audit-anchor.json")).ok  # doctest: +SKIP
True
>>> frame = prediction_frame(log, "adhesion", since="2026-05-04T00:00Z")   # doctest: +SKIP
"""

from glassline.audit._anchor import Anchor, audit_key, read_anchor, write_anchor
from glassline.audit._database import connect
from glassline.audit._frame import (
    FRAME_COLUMNS,
    PREDICTION_KINDS,
    RefusalReason,
    prediction_frame,
    prediction_payload,
    refusal_payload,
)
from glassline.audit._log import (
    AUDIT_WRITE_SECONDS,
    KINDS,
    OVERSIGHT_KINDS,
    AuditLog,
    AuditRecord,
    ChainReport,
    ModelId,
    Writable,
    WriteCause,
    canonical_json,
    verify_chain,
    write_failure,
)
from glassline.audit._tokens import ROLE_CACHE_SECONDS, IssuedToken, Role, TokenInfo, TokenStore, parse_lifetime

__all__ = [
    "AUDIT_WRITE_SECONDS",
    "FRAME_COLUMNS",
    "KINDS",
    "OVERSIGHT_KINDS",
    "PREDICTION_KINDS",
    "ROLE_CACHE_SECONDS",
    "Anchor",
    "AuditLog",
    "AuditRecord",
    "ChainReport",
    "IssuedToken",
    "ModelId",
    "RefusalReason",
    "Role",
    "TokenInfo",
    "TokenStore",
    "Writable",
    "WriteCause",
    "audit_key",
    "canonical_json",
    "connect",
    "parse_lifetime",
    "prediction_frame",
    "prediction_payload",
    "read_anchor",
    "refusal_payload",
    "verify_chain",
    "write_anchor",
    "write_failure",
]
