"""The hash-chained audit log.

Entry ``n`` stores ``hash = SHA-256(canonical(seq, at, actor, action, object,
details, prev_hash))`` where ``prev_hash`` is entry ``n-1``'s hash (64 zeros
for the first).  Rewriting, inserting or deleting an entry breaks the chain at
that entry or the one after it; :meth:`AuditLog.verify` names the first broken
``seq``.  Truncating the tail is not detectable from the chain alone: keep the
head hash (``quarantine audit verify`` prints it) somewhere else.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, NamedTuple, cast

from sqlalchemy import Table, func, insert, select, text
from sqlalchemy.orm import Session

from quarantine.storage._common import check_aware, check_length, is_postgresql
from quarantine.storage.models import AuditRow

GENESIS: Final = "0" * 64
AUDIT_TABLE: Final = cast(Table, AuditRow.__table__)
#: Key of the PostgreSQL advisory lock that serialises appends.
_PG_AUDIT_LOCK: Final = 0x5155_4155_4449  # "QUAUDI"


_LOCK: Final = text("SELECT pg_advisory_xact_lock(:k)")
_HEAD: Final = select(AuditRow.seq, AuditRow.hash).order_by(AuditRow.seq.desc()).limit(1)


def _json_ready(details: dict[str, Any]) -> dict[str, Any]:
    """``details`` as it will come back from the database (plain JSON)."""
    out: dict[str, Any] = json.loads(json.dumps(details, ensure_ascii=False, allow_nan=False))
    return out


def canonical(
    seq: int, at: datetime, actor: str, action: str, obj: str, details: Any, prev_hash: str
) -> bytes:
    """The bytes an entry's hash covers: compact, key-sorted UTF-8 JSON."""
    stamp = at.astimezone(UTC).isoformat(timespec="microseconds")
    return json.dumps(
        [seq, stamp, actor, action, obj, details, prev_hash],
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
        allow_nan=False,
    ).encode("utf-8")


def entry_hash(
    seq: int, at: datetime, actor: str, action: str, obj: str, details: Any, prev_hash: str
) -> str:
    return hashlib.sha256(canonical(seq, at, actor, action, obj, details, prev_hash)).hexdigest()


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    at: datetime
    actor: str
    action: str
    object: str
    details: dict[str, Any]
    prev_hash: str
    hash: str


class Verification(NamedTuple):
    ok: bool
    first_broken_seq: int | None


class AuditLog:
    """Append and verify.  Appends are serialised (advisory lock / SQLite writer lock)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def append(
        self, actor: str, action: str, obj: str, details: dict[str, Any], now: datetime
    ) -> AuditEntry:
        check_aware(now, "now")
        check_length(actor, 100, "actor")
        check_length(action, 100, "action")
        check_length(obj, 200, "object")
        if is_postgresql(self.session):
            self.session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_AUDIT_LOCK})
        last = self.session.execute(
            select(AuditRow.seq, AuditRow.hash).order_by(AuditRow.seq.desc()).limit(1)
        ).one_or_none()
        seq, prev = (last.seq + 1, last.hash) if last is not None else (1, GENESIS)
        at = now.astimezone(UTC)
        body = _json_ready(details)
        row = AuditRow(
            seq=seq,
            at=at,
            actor=actor,
            action=action,
            object=obj,
            details=body,
            prev_hash=prev,
            hash=entry_hash(seq, at, actor, action, obj, body, prev),
        )
        self.session.add(row)
        self.session.flush()
        return AuditEntry(seq, at, actor, action, obj, body, prev, row.hash)

    def append_many(
        self, entries: Sequence[tuple[str, str, str, dict[str, Any], datetime]]
    ) -> list[AuditEntry]:
        """Append ``(actor, action, object, details, at)`` entries in this order: one
        lock, one look-up of the head, one ``executemany`` for the whole run."""
        if not entries:
            return []
        for actor, action, obj, _, at in entries:
            check_aware(at, "now")
            check_length(actor, 100, "actor")
            check_length(action, 100, "action")
            check_length(obj, 200, "object")
        self.session.flush()  # pending ORM entries first: the head is read below
        conn = self.session.connection()  # plain statements: no ORM execution needed
        if is_postgresql(self.session):
            conn.execute(_LOCK, {"k": _PG_AUDIT_LOCK})
        last = conn.execute(_HEAD).one_or_none()
        seq, prev = (last.seq, last.hash) if last is not None else (0, GENESIS)
        out: list[AuditEntry] = []
        for actor, action, obj, details, now in entries:
            seq += 1
            at = now.astimezone(UTC)
            body = _json_ready(details)
            digest = entry_hash(seq, at, actor, action, obj, body, prev)
            out.append(AuditEntry(seq, at, actor, action, obj, body, prev, digest))
            prev = digest
        conn.execute(
            insert(AUDIT_TABLE),
            [
                {
                    "seq": e.seq,
                    "at": e.at,
                    "actor": e.actor,
                    "action": e.action,
                    "object": e.object,
                    "details": e.details,
                    "prev_hash": e.prev_hash,
                    "hash": e.hash,
                }
                for e in out
            ],
        )
        return out

    def count(self) -> int:
        return self.session.execute(select(func.count()).select_from(AuditRow)).scalar_one()

    def head(self) -> AuditEntry | None:
        row = self.session.execute(
            select(AuditRow).order_by(AuditRow.seq.desc()).limit(1)
        ).scalar_one_or_none()
        if row is None:
            return None
        return AuditEntry(
            row.seq, row.at, row.actor, row.action, row.object, row.details, row.prev_hash, row.hash
        )

    def verify(self) -> Verification:
        """``(True, None)`` when the chain is intact, else ``(False, first broken seq)``."""
        stmt = select(
            AuditRow.seq,
            AuditRow.at,
            AuditRow.actor,
            AuditRow.action,
            AuditRow.object,
            AuditRow.details,
            AuditRow.prev_hash,
            AuditRow.hash,
        ).order_by(AuditRow.seq)
        expected_seq, prev = 1, GENESIS
        result = self.session.execute(stmt, execution_options={"yield_per": 1000})
        try:
            for row in result:
                recomputed = entry_hash(
                    row.seq, row.at, row.actor, row.action, row.object, row.details, row.prev_hash
                )
                if row.seq != expected_seq or row.prev_hash != prev or row.hash != recomputed:
                    return Verification(False, row.seq)
                expected_seq, prev = expected_seq + 1, row.hash
        finally:
            result.close()  # a server-side cursor on PostgreSQL
        return Verification(True, None)
