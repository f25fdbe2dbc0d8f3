"""Stored first responses of requests that carried an ``Idempotency-Key``.

A key is scoped by actor, method and path.  :meth:`IdempotencyStore.put`
inserts with ``ON CONFLICT DO NOTHING``; when another request stored the key
first it returns that response with ``created=False`` and the caller must roll
back its own work and answer with the stored response.  The same key with a
different body is refused (``IDEMPOTENCY_KEY_REUSED``).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from quarantine.errors import InputError
from quarantine.storage._common import check_aware, check_length, upsert
from quarantine.storage.models import IdempotencyRow

MAX_KEY_LENGTH: Final = 200


def hash_body(body: bytes) -> str:
    """SHA-256 hex of a request body."""
    return hashlib.sha256(body).hexdigest()


@dataclass(frozen=True)
class StoredResponse:
    key: str
    actor: str
    method: str
    path: str
    request_hash: str
    status: int
    body: Any
    created_at: datetime

    @classmethod
    def from_row(cls, row: IdempotencyRow) -> StoredResponse:
        return cls(
            row.key,
            row.actor,
            row.method,
            row.path,
            row.request_hash,
            row.response_status,
            row.response_body,
            row.created_at,
        )


def _reused() -> InputError:
    return InputError(
        "IDEMPOTENCY_KEY_REUSED",
        "该 Idempotency-Key 已用于内容不同的请求",
        "this Idempotency-Key was used with a different request body",
    )


class IdempotencyStore:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(
        self, key: str, actor: str, method: str, path: str, *, request_hash: str | None = None
    ) -> StoredResponse | None:
        """The stored response; with ``request_hash``, refuse a different body."""
        check_length(key, MAX_KEY_LENGTH, "Idempotency-Key")
        row = self.session.execute(
            select(IdempotencyRow).where(
                IdempotencyRow.key == key,
                IdempotencyRow.actor == actor,
                IdempotencyRow.method == method.upper(),
                IdempotencyRow.path == path,
            )
        ).scalar_one_or_none()
        if row is None:
            return None
        if request_hash is not None and not hmac.compare_digest(row.request_hash, request_hash):
            raise _reused()
        return StoredResponse.from_row(row)

    def put(
        self,
        key: str,
        actor: str,
        method: str,
        path: str,
        request_hash: str,
        status: int,
        body: Any,
        now: datetime,
    ) -> tuple[StoredResponse, bool]:
        """Store the first response: ``(stored, created)``.  See the module notes."""
        check_length(key, MAX_KEY_LENGTH, "Idempotency-Key")
        check_length(path, 500, "path")
        check_aware(now, "now")
        inserted = self.session.execute(
            upsert(self.session, IdempotencyRow)
            .values(
                key=key,
                actor=actor,
                method=method.upper(),
                path=path,
                request_hash=request_hash,
                response_status=status,
                response_body=body,
                created_at=now,
            )
            .on_conflict_do_nothing(
                index_elements=[
                    IdempotencyRow.key,
                    IdempotencyRow.actor,
                    IdempotencyRow.method,
                    IdempotencyRow.path,
                ]
            )
            .returning(IdempotencyRow.id)
        ).scalar_one_or_none()
        stored = self.get(key, actor, method, path, request_hash=request_hash)
        assert stored is not None
        return stored, inserted is not None

    def put_new(
        self, entries: Sequence[tuple[str, str, str, str, str, int, Any]], now: datetime
    ) -> bool:
        """Store the first responses ``(key, actor, method, path, request_hash, status,
        body)`` of several requests in one statement.  ``False`` when any key was stored
        before (or twice here): roll everything back and take the requests one by one
        (:meth:`put` tells each what to answer)."""
        check_aware(now, "now")
        if not entries:
            return True
        rows = []
        for key, actor, method, path, request_hash, status, body in entries:
            check_length(key, MAX_KEY_LENGTH, "Idempotency-Key")
            check_length(path, 500, "path")
            rows.append(
                {
                    "key": key,
                    "actor": actor,
                    "method": method.upper(),
                    "path": path,
                    "request_hash": request_hash,
                    "response_status": status,
                    "response_body": body,
                    "created_at": now,
                }
            )
        table = IdempotencyRow.__table__
        stored = (
            self.session.connection()
            .execute(
                upsert(self.session, table)
                .on_conflict_do_nothing(
                    index_elements=[table.c.key, table.c.actor, table.c.method, table.c.path]
                )
                .returning(table.c.id),
                rows,
            )
            .all()
        )
        return len(stored) == len(rows)

    def purge(self, before: datetime) -> int:
        """Forget keys stored before ``before``; the number forgotten."""
        result = self.session.execute(
            delete(IdempotencyRow).where(IdempotencyRow.created_at < check_aware(before, "before"))
        )
        return int(getattr(result, "rowcount", 0) or 0)
