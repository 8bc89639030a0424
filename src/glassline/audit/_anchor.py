"""Anchors: the audit chain's head written to a file kept apart from the database.

The hash chain alone shows edits and gaps *between* records, but a log truncated at its tail, emptied, or
rewritten with every hash recomputed is again a valid chain. An anchor records the head's sequence number
and hash (with the record count and the time); :func:`~glassline.audit.verify_chain` given the anchor then
fails when a record at or before the anchored one is missing or its hash differs. With a key
(``$GLASSLINE_AUDIT_KEY``, or *key*) the anchor carries an HMAC-SHA256 over its fields, so an anchor file
edited to match a rewritten log is caught too.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from glassline.audit._log import GENESIS, AuditLog, canonical_json, verify_chain
from glassline.exceptions import StoreError

__all__ = ["ANCHOR_FORMAT", "KEY_VARIABLE", "Anchor", "audit_key", "read_anchor", "write_anchor"]

#: The ``format`` field of an anchor file.
ANCHOR_FORMAT = "glassline-audit-anchor/1"

#: The environment variable holding the anchors' HMAC key (any text; kept apart from the database).
KEY_VARIABLE = "GLASSLINE_AUDIT_KEY"


@dataclass(frozen=True)
class Anchor:
    """The head of the chain when the anchor was written: its record *seq* and *hash* (``0`` and the genesis
    hash for an empty log), the number of records, the time (ISO 8601, UTC) and the HMAC-SHA256 of those
    fields (hex) when a key was configured."""

    seq: int
    hash: str
    count: int
    created_at: str
    hmac: str | None = None

    def fields(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "created_at": self.created_at,
            "format": ANCHOR_FORMAT,
            "hash": self.hash,
            "seq": self.seq,
        }

    def as_dict(self) -> dict[str, Any]:
        return {**self.fields(), "hmac": self.hmac}

    def signed(self, key: bytes) -> Anchor:
        return Anchor(self.seq, self.hash, self.count, self.created_at, _mac(key, self.fields()))


def _mac(key: bytes, fields: dict[str, Any]) -> str:
    return hmac.new(key, canonical_json(fields).encode("utf-8"), hashlib.sha256).hexdigest()


def audit_key() -> bytes | None:
    """The anchors' HMAC key from ``$GLASSLINE_AUDIT_KEY`` (UTF-8), or None when it is unset or empty."""
    value = os.environ.get(KEY_VARIABLE, "")
    return value.encode("utf-8") if value else None


def write_anchor(log: AuditLog, path: str | Path, *, key: bytes | None = None) -> Anchor:
    """Verify *log*, then write the head of its verified chain to *path* as a small JSON file (atomically)
    and return it; signed with *key* (default: :func:`audit_key`) when there is one. Keep the file apart from
    the database. :class:`StoreError` (nothing written) when the chain is broken: an anchor vouches for every
    record up to it."""
    key = audit_key() if key is None else key
    target = Path(path)
    if target.is_dir():
        raise StoreError(f"anchor {target}: is a folder; give a file name such as {target / 'audit-anchor.json'}")
    if not target.parent.is_dir():
        raise StoreError(f"anchor {target}: the folder {target.parent} does not exist")
    report = verify_chain(log)
    if not report.ok:
        raise StoreError(f"anchor {target} not written: {report}; an anchor vouches for every record up to it")
    head = next(iter(log.records(seq_from=report.records, seq_to=report.records)), None) if report.records else None
    anchor = Anchor(
        seq=0 if head is None else head.seq,
        hash=GENESIS if head is None else head.hash,
        count=report.records,
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    if key:
        anchor = anchor.signed(key)
    text = json.dumps(anchor.as_dict(), indent=2, sort_keys=True) + "\n"
    try:
        fd, tmp = tempfile.mkstemp(prefix=".anchor-", dir=target.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(tmp, target)
    except OSError as exc:
        raise StoreError(f"anchor {target}: cannot be written: {exc.strerror or exc}") from None
    return anchor


def read_anchor(path: str | Path, *, key: bytes | None = None) -> Anchor:
    """The anchor in *path*; :class:`StoreError` in one line naming the file and what is wrong (unreadable,
    not an anchor, a field missing or of the wrong type, or an HMAC that does not match *key*, default
    :func:`audit_key`). A signed anchor read without a key is returned unchecked (its seq and hash still count)."""
    key = audit_key() if key is None else key
    source = Path(path)
    try:
        data = json.loads(source.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise StoreError(
            f"anchor {source}: no such file (write one with 'glassline audit anchor --out FILE')"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise StoreError(f"anchor {source}: cannot be read: {getattr(exc, 'strerror', None) or exc}") from None
    except ValueError as exc:
        raise StoreError(f"anchor {source}: not valid JSON ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != ANCHOR_FORMAT:
        got = data.get("format") if isinstance(data, dict) else type(data).__name__
        raise StoreError(f"anchor {source}: expected format {ANCHOR_FORMAT!r}, got {got!r}")
    seq, digest, count, created, mac = (data.get(k) for k in ("seq", "hash", "count", "created_at", "hmac"))
    for name, value, ok in (
        ("seq", seq, isinstance(seq, int) and not isinstance(seq, bool) and seq >= 0),
        ("count", count, isinstance(count, int) and not isinstance(count, bool) and count >= 0),
        ("hash", digest, isinstance(digest, str) and len(digest) == 64),
        ("created_at", created, isinstance(created, str)),
        ("hmac", mac, mac is None or (isinstance(mac, str) and len(mac) == 64)),
    ):
        if not ok:
            raise StoreError(f"anchor {source}: field {name!r} is invalid, got {value!r}")
    anchor = Anchor(cast(int, seq), str(digest), cast(int, count), str(created), None if mac is None else str(mac))
    if key and anchor.hmac is not None and not hmac.compare_digest(anchor.hmac, _mac(key, anchor.fields())):
        raise StoreError(
            f"anchor {source}: its HMAC does not match the key in ${KEY_VARIABLE} (edited, or another key)"
        )
    if key and anchor.hmac is None:
        raise StoreError(
            f"anchor {source}: it is not signed, but ${KEY_VARIABLE} is set (an anchor written without the key)"
        )
    return anchor
