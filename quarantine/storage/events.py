"""Append-only status events and the registry's ``StatusSource``.

Events are only ever inserted: this module has no update or delete, and the
database refuses both with triggers (see the first migration).  Terminal
events (REVOKED, SUPERSEDED) go through :meth:`EventStore.append_exclusive`,
which locks the certificate row (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite
serialises writers with ``BEGIN IMMEDIATE``) and refuses a second terminal
event, so a concurrent revoke and supersede end in one consistent state.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from quarantine.core.model import NUMBER_RE
from quarantine.core.status import EventType, StatusEvent, StatusInfo
from quarantine.errors import InputError
from quarantine.storage._common import check_aware, check_length, check_region, unknown_certificate
from quarantine.storage.direct import AsyncDirectReads, DirectReads
from quarantine.storage.models import TERMINAL_EVENTS, CertificateRow, StatusEventRow

MAX_REASON: Final = 2000


@dataclass(frozen=True)
class RecordedEvent:
    """A status event as stored, with who recorded it, where and when."""

    type: EventType
    at: datetime
    reason: str
    superseded_by: str
    actor: str
    region: str
    checkpoint: str
    recorded_at: datetime
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def status_event(self) -> StatusEvent:
        return StatusEvent(self.type, self.at, self.reason, self.superseded_by)

    @classmethod
    def from_row(cls, row: StatusEventRow) -> RecordedEvent:
        return cls(
            type=EventType(row.type),
            at=row.at,
            reason=row.reason,
            superseded_by=row.superseded_by,
            actor=row.actor,
            region=row.region,
            checkpoint=row.checkpoint,
            recorded_at=row.recorded_at,
            detail=row.detail,
        )


_ALREADY: Final = {
    EventType.REVOKED.value: ("ALREADY_REVOKED", "证书已被撤销", "the certificate was revoked"),
    EventType.SUPERSEDED.value: (
        "ALREADY_SUPERSEDED",
        "证书已被换发的新证书取代",
        "the certificate was superseded",
    ),
}


class EventStore:
    """Status events of certificates.  Flushes; the caller commits."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def append(
        self,
        number: str,
        event: StatusEvent,
        actor: str,
        now: datetime,
        *,
        region: str = "",
        checkpoint: str = "",
        detail: dict[str, Any] | None = None,
    ) -> RecordedEvent:
        """Record ``event``; terminal events take the exclusive path."""
        if event.type in TERMINAL_EVENTS:
            return self.append_exclusive(
                number, event, actor, now, region=region, checkpoint=checkpoint, detail=detail
            )
        cert_id = self._cert_id(number, lock=False)
        return self._insert(cert_id, event, actor, now, region, checkpoint, detail)

    def append_exclusive(
        self,
        number: str,
        event: StatusEvent,
        actor: str,
        now: datetime,
        *,
        region: str = "",
        checkpoint: str = "",
        detail: dict[str, Any] | None = None,
    ) -> RecordedEvent:
        """Lock the certificate, refuse a second terminal event, then record ``event``.

        Raises ``ALREADY_REVOKED`` / ``ALREADY_SUPERSEDED`` (``InputError``)
        when a terminal event exists; the caller rolls back its transaction.
        """
        cert_id = self._cert_id(number, lock=True)
        if event.type in TERMINAL_EVENTS:
            existing = self.session.execute(
                select(StatusEventRow.type)
                .where(
                    StatusEventRow.certificate_id == cert_id,
                    StatusEventRow.type.in_([t.value for t in TERMINAL_EVENTS]),
                )
                .order_by(StatusEventRow.at, StatusEventRow.id)
                .limit(1)
            ).scalar_one_or_none()
            if existing is not None:
                code, zh, en = _ALREADY[existing]
                raise InputError(
                    code,
                    f"{zh}，不能再{_verb(event.type)}",
                    f"{en} already and cannot be {event.type.value.lower()} now",
                )
        return self._insert(cert_id, event, actor, now, region, checkpoint, detail)

    def events(self, number: str) -> tuple[RecordedEvent, ...]:
        """Every event of a certificate in time order (empty when unknown)."""
        rows = self.session.execute(
            select(StatusEventRow)
            .join(CertificateRow, CertificateRow.id == StatusEventRow.certificate_id)
            .where(CertificateRow.number == number)
            .order_by(StatusEventRow.at, StatusEventRow.id)
        ).scalars()
        return tuple(RecordedEvent.from_row(r) for r in rows)

    def _cert_id(self, number: str, *, lock: bool) -> int:
        stmt = select(CertificateRow.id).where(CertificateRow.number == number)
        if lock:
            stmt = stmt.with_for_update()
        cert_id = self.session.execute(stmt).scalar_one_or_none()
        if cert_id is None:
            raise unknown_certificate(number)
        return cert_id

    def _insert(
        self,
        cert_id: int,
        event: StatusEvent,
        actor: str,
        now: datetime,
        region: str,
        checkpoint: str,
        detail: dict[str, Any] | None,
    ) -> RecordedEvent:
        check_aware(now, "now")
        check_aware(event.at, "event time")
        check_length(event.reason, MAX_REASON, "reason")
        check_length(actor, 100, "actor")
        check_length(checkpoint, 200, "checkpoint")
        if region:
            check_region(region)
        if event.type is EventType.SUPERSEDED and not NUMBER_RE.match(event.superseded_by):
            raise InputError(
                "SUPERSEDED_BY_REQUIRED",
                "取代事件须注明新证书编号",
                "a SUPERSEDED event must name the new certificate number",
            )
        if event.type is not EventType.SUPERSEDED and event.superseded_by:
            raise InputError(
                "SUPERSEDED_BY_UNEXPECTED",
                "只有取代事件可注明新证书编号",
                "only a SUPERSEDED event names a new certificate",
            )
        row = StatusEventRow(
            certificate_id=cert_id,
            type=event.type.value,
            at=event.at,
            reason=event.reason,
            superseded_by=event.superseded_by,
            actor=actor,
            region=region,
            checkpoint=checkpoint,
            detail=dict(detail or {}),
            recorded_at=now,
        )
        self.session.add(row)
        self.session.flush()
        return RecordedEvent.from_row(row)


def _verb(kind: EventType) -> str:
    return "撤销" if kind is EventType.REVOKED else "取代"


#: The certificate (if any) with its events: built once, compiled once.
_LOOKUP: Final = (
    select(
        CertificateRow.id,
        StatusEventRow.type,
        StatusEventRow.at,
        StatusEventRow.reason,
        StatusEventRow.superseded_by,
    )
    .outerjoin(StatusEventRow, StatusEventRow.certificate_id == CertificateRow.id)
    .where(CertificateRow.number == bindparam("number"))
    .order_by(StatusEventRow.at, StatusEventRow.id)
)


def _status_info(rows: Sequence[Sequence[Any]], now: datetime) -> StatusInfo:
    """The answer of ``_LOOKUP``'s rows: no row, an unknown number."""
    if not rows:
        return StatusInfo(known=False, as_of=now, source="registry")
    events = tuple(
        StatusEvent(EventType(t), at, reason, sup)
        for _, t, at, reason, sup in rows
        if t is not None
    )
    return StatusInfo(known=True, events=events, as_of=now, source="registry")


class RegistryStatusSource:
    """``StatusSource`` over the registry's events (``quarantine.core.status``)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def lookup(self, number: str, now: datetime) -> StatusInfo:
        # One round trip: the certificate (if any) with its events.  A plain column
        # query: run on the session's connection, without the ORM's statement handling.
        rows = self.session.connection().execute(_LOOKUP, {"number": number}).all()
        return _status_info(rows, now)


class DirectStatusSource:
    """``StatusSource`` on the driver itself (PostgreSQL), for online verification.

    The same statement and answer as :class:`RegistryStatusSource`, through
    :class:`~quarantine.storage.direct.DirectReads`: one prepared statement in
    autocommit on a pooled connection, no session.
    """

    def __init__(self, reads: DirectReads) -> None:
        self._reads = reads

    def lookup(self, number: str, now: datetime) -> StatusInfo:
        rows = self._reads.rows(_LOOKUP, {"number": number})
        return _status_info(rows, now)


class AsyncDirectStatus:
    """The look-up of :class:`DirectStatusSource` on the event loop
    (:class:`~quarantine.storage.direct.AsyncDirectReads`)."""

    def __init__(self, reads: AsyncDirectReads) -> None:
        self.reads = reads

    async def lookup(self, number: str, now: datetime) -> StatusInfo:
        return _status_info(await self.reads.rows(_LOOKUP, {"number": number}), now)
