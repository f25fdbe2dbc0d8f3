"""Issued certificates: store, fetch, search; status derived from events and ``now``."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import StrEnum
from typing import Any, Final, TypedDict, Unpack, cast

from sqlalchemy import (
    ColumnElement,
    Table,
    and_,
    bindparam,
    exists,
    func,
    insert,
    not_,
    or_,
    select,
)
from sqlalchemy.orm import Session, aliased

from quarantine.core.codec import detail_digest, full_record
from quarantine.core.document import from_document
from quarantine.core.model import CHINA_TZ, Certificate, Kind
from quarantine.core.status import EventType, StatusEvent, status_codes
from quarantine.errors import LimitExceeded
from quarantine.storage._common import check_aware, check_length, check_region, upsert
from quarantine.storage.counters import NumberInUse
from quarantine.storage.events import RecordedEvent
from quarantine.storage.models import CertificateRow, LineItemRow, StatusEventRow

#: Hard limits of :meth:`CertificateStore.search`.
MAX_PAGE_SIZE: Final = 100
DEFAULT_PAGE_SIZE: Final = 20
MAX_PAGE: Final = 10_000
MAX_FILTER_LENGTH: Final = 100


class CertStatus(StrEnum):
    """A certificate's status at an instant, derived (DESIGN §5), first match wins."""

    REVOKED = "REVOKED"
    SUPERSEDED = "SUPERSEDED"
    CLOSED = "CLOSED"
    SUSPENDED = "SUSPENDED"
    EXPIRED = "EXPIRED"
    NOT_YET_VALID = "NOT_YET_VALID"
    VALID = "VALID"


_EVENT_STATUSES: Final = (
    CertStatus.REVOKED,
    CertStatus.SUPERSEDED,
    CertStatus.CLOSED,
    CertStatus.SUSPENDED,
)


def derive_status(
    valid_from: date, valid_to: date, events: Iterable[StatusEvent], now: datetime
) -> CertStatus:
    """Status at ``now`` from the validity dates (China time) and the events."""
    codes = {code for code, _ in status_codes(events, now)}
    for status in _EVENT_STATUSES:
        if status.value in codes:
            return status
    today = now.astimezone(CHINA_TZ).date()
    if today > valid_to:
        return CertStatus.EXPIRED
    if today < valid_from:
        return CertStatus.NOT_YET_VALID
    return CertStatus.VALID


@dataclass(frozen=True)
class StoredCertificate:
    """A certificate as the registry holds it."""

    number: str
    kind: Kind
    issuing_region: str
    issued_at: datetime
    valid_from: date
    valid_to: date
    consignor: str
    consignee: str
    producer: str
    kid: str
    qr_text: str
    detail_digest: bytes
    #: ``codec.full_record``: includes the agent's full ID number — registry only.
    record: dict[str, Any]
    created_at: datetime

    def certificate(self) -> Certificate:
        """The full certificate (with its digest salt) rebuilt from the record."""
        return replace(from_document(self.record), salt=bytes.fromhex(self.record["salt"]))

    @classmethod
    def from_row(cls, row: CertificateRow) -> StoredCertificate:
        return cls(
            number=row.number,
            kind=Kind(row.kind),
            issuing_region=row.issuing_region,
            issued_at=row.issued_at,
            valid_from=row.valid_from,
            valid_to=row.valid_to,
            consignor=row.consignor_name,
            consignee=row.consignee_name,
            producer=row.producer_name,
            kid=row.kid,
            qr_text=row.qr_text,
            detail_digest=row.detail_digest,
            record=row.record,
            created_at=row.created_at,
        )


@dataclass(frozen=True)
class SearchHit:
    certificate: StoredCertificate
    status: CertStatus


@dataclass(frozen=True)
class Page:
    items: tuple[SearchHit, ...]
    total: int
    page: int
    size: int

    @property
    def pages(self) -> int:
        return (self.total + self.size - 1) // self.size


def _clip(text: str, limit: int) -> str:
    return text[:limit]


def _has_event(kind: EventType, now: datetime) -> ColumnElement[bool]:
    return exists().where(
        StatusEventRow.certificate_id == CertificateRow.id,
        StatusEventRow.type == kind.value,
        StatusEventRow.at <= now,
    )


def _suspended(now: datetime) -> ColumnElement[bool]:
    """The latest SUSPENDED/REINSTATED event up to ``now`` is a suspension."""
    s = aliased(StatusEventRow)
    r = aliased(StatusEventRow)
    later_reinstatement = exists().where(
        r.certificate_id == s.certificate_id,
        r.type == EventType.REINSTATED.value,
        r.at <= now,
        or_(r.at > s.at, and_(r.at == s.at, r.id > s.id)),
    )
    return exists().where(
        s.certificate_id == CertificateRow.id,
        s.type == EventType.SUSPENDED.value,
        s.at <= now,
        not_(later_reinstatement),
    )


def status_clause(status: CertStatus, now: datetime) -> ColumnElement[bool]:
    """SQL condition: the certificate row has ``status`` at ``now`` (as :func:`derive_status`)."""
    today = now.astimezone(CHINA_TZ).date()
    ladder: list[tuple[CertStatus, ColumnElement[bool]]] = [
        (CertStatus.REVOKED, _has_event(EventType.REVOKED, now)),
        (CertStatus.SUPERSEDED, _has_event(EventType.SUPERSEDED, now)),
        (CertStatus.CLOSED, _has_event(EventType.ARRIVED, now)),
        (CertStatus.SUSPENDED, _suspended(now)),
        (CertStatus.EXPIRED, CertificateRow.valid_to < today),
        (CertStatus.NOT_YET_VALID, CertificateRow.valid_from > today),
    ]
    earlier: list[ColumnElement[bool]] = []
    for candidate, condition in ladder:
        if candidate is status:
            return and_(condition, *(not_(c) for c in earlier))
        earlier.append(condition)
    return and_(*(not_(c) for c in earlier))


def region_clause(region: str) -> ColumnElement[bool]:
    """Issuing region: a province (``xx0000``) or city (``xxxx00``) code covers its parts."""
    check_region(region)
    if region.endswith("0000"):
        return CertificateRow.issuing_region.startswith(region[:2], autoescape=True)
    if region.endswith("00"):
        return CertificateRow.issuing_region.startswith(region[:4], autoescape=True)
    return CertificateRow.issuing_region == region


def _number_in_use(number: str) -> NumberInUse:
    return NumberInUse(
        "NUMBER_IN_USE",
        f"证书编号 {number} 已使用，不能重复签发",
        f"certificate number {number} was already issued",
    )


def _row_values(cert: Certificate, qr_text: str, kid: str, now: datetime) -> dict[str, Any]:
    """The ``certificates`` row of an issued certificate."""
    return {
        "number": str(cert.number),
        "kind": cert.kind.value,
        "issuing_region": cert.number.region,
        "year": cert.number.year,
        "serial": cert.number.serial,
        "issued_at": cert.issued_at,
        "valid_from": cert.valid_from,
        "valid_to": cert.valid_to,
        "consignor_name": _clip(cert.consignor.name if cert.consignor else "", 200),
        "consignee_name": _clip(cert.consignee.name if cert.consignee else "", 200),
        "producer_name": _clip(cert.producer.name if cert.producer else "", 200),
        "kid": kid,
        "qr_text": qr_text,
        "detail_digest": detail_digest(cert),
        "record": full_record(cert),
        "created_at": now,
    }


def _item_rows(cert_id: int, cert: Certificate) -> list[dict[str, Any]]:
    return [
        {
            "certificate_id": cert_id,
            "position": i,
            "product": _clip(item.product, 200),
            "variety": _clip(item.variety, 200),
            "specification": _clip(item.specification, 200),
            "unit": _clip(item.unit, 40),
            "quantity": item.quantity,
            "remarks": item.remarks,
        }
        for i, item in enumerate(cert.items)
    ]


def _stored(values: dict[str, Any]) -> StoredCertificate:
    return StoredCertificate(
        number=values["number"],
        kind=Kind(values["kind"]),
        issuing_region=values["issuing_region"],
        issued_at=values["issued_at"],
        valid_from=values["valid_from"],
        valid_to=values["valid_to"],
        consignor=values["consignor_name"],
        consignee=values["consignee_name"],
        producer=values["producer_name"],
        kid=values["kid"],
        qr_text=values["qr_text"],
        detail_digest=values["detail_digest"],
        record=values["record"],
        created_at=values["created_at"],
    )


def with_events(
    rows: Sequence[Sequence[Any]],
) -> tuple[StoredCertificate, tuple[RecordedEvent, ...]] | None:
    """A certificate and its events from the rows of :data:`WITH_EVENTS` (by position:
    also the rows of ``storage.direct.DirectReads``)."""
    if not rows:
        return None
    (
        number,
        kind,
        region,
        issued_at,
        valid_from,
        valid_to,
        consignor,
        consignee,
        producer,
        kid,
        qr_text,
        digest,
        record,
        created_at,
    ) = rows[0][:14]
    stored = StoredCertificate(
        number=number,
        kind=Kind(kind),
        issuing_region=region,
        issued_at=issued_at,
        valid_from=valid_from,
        valid_to=valid_to,
        consignor=consignor,
        consignee=consignee,
        producer=producer,
        kid=kid,
        qr_text=qr_text,
        detail_digest=bytes(digest),
        record=record,
        created_at=created_at,
    )
    events = tuple(
        RecordedEvent(
            type=EventType(e_type),
            at=at,
            reason=reason,
            superseded_by=superseded_by,
            actor=actor,
            region=e_region,
            checkpoint=checkpoint,
            detail=detail,
            recorded_at=recorded_at,
        )
        for (
            e_type,
            at,
            reason,
            superseded_by,
            actor,
            e_region,
            checkpoint,
            detail,
            recorded_at,
        ) in (row[14:] for row in rows)
        if e_type is not None
    )
    return stored, events


_E = StatusEventRow.__table__.c
_C = CertificateRow.__table__.c
#: One certificate (by number) with its events, oldest first: built once, compiled once.
#: The certificate's 14 columns, then the event's 9 (NULL when it has none).
WITH_EVENTS: Final = (
    select(
        _C.number,
        _C.kind,
        _C.issuing_region,
        _C.issued_at,
        _C.valid_from,
        _C.valid_to,
        _C.consignor_name,
        _C.consignee_name,
        _C.producer_name,
        _C.kid,
        _C.qr_text,
        _C.detail_digest,
        _C.record,
        _C.created_at,
        _E.type.label("e_type"),
        _E.at.label("e_at"),
        _E.reason.label("e_reason"),
        _E.superseded_by.label("e_superseded_by"),
        _E.actor.label("e_actor"),
        _E.region.label("e_region"),
        _E.checkpoint.label("e_checkpoint"),
        _E.detail.label("e_detail"),
        _E.recorded_at.label("e_recorded_at"),
    )
    .select_from(
        CertificateRow.__table__.outerjoin(StatusEventRow.__table__, _E.certificate_id == _C.id)
    )
    .where(_C.number == bindparam("number"))
    .order_by(_E.at, _E.id)
)


class SearchFilters(TypedDict, total=False):
    """Filters of :meth:`CertificateStore.search` (every one optional)."""

    number: str | None
    consignor: str | None
    consignee: str | None
    product: str | None
    region: str | None
    status: CertStatus | None
    issued_from: datetime | None
    issued_to: datetime | None
    page: int
    size: int


class CertificateStore:
    """Certificates and their line items.  Flushes; the caller commits."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, cert: Certificate, qr_text: str, kid: str, now: datetime) -> StoredCertificate:
        """Store an issued certificate; ``NUMBER_IN_USE`` if its number is taken.

        Two statements: the certificate row (``INSERT … ON CONFLICT DO NOTHING
        RETURNING id``: the unique constraints refuse a used number, and the
        transaction stays usable) and its line items in one ``executemany``.
        """
        check_aware(now, "now")
        values = _row_values(cert, qr_text, kid, now)
        cert_id = self.session.execute(
            upsert(self.session, CertificateRow)
            .values(**values)
            .on_conflict_do_nothing()
            .returning(CertificateRow.id)
        ).scalar_one_or_none()
        if cert_id is None:
            raise _number_in_use(values["number"])
        items = _item_rows(cert_id, cert)
        if items:
            self.session.execute(insert(LineItemRow), items)
        return _stored(values)

    def add_many(
        self, issued: Sequence[tuple[Certificate, str, str]], now: datetime
    ) -> list[StoredCertificate]:
        """Store several issued certificates ``(cert, qr_text, kid)`` with two statements:
        every certificate row in one ``INSERT … RETURNING``, every line item in one
        ``executemany``.  ``NUMBER_IN_USE`` (nothing usable stored: roll back) when
        any number is taken.
        """
        check_aware(now, "now")
        if not issued:
            return []
        rows = [_row_values(cert, qr_text, kid, now) for cert, qr_text, kid in issued]
        table = CertificateRow.__table__
        conn = self.session.connection()
        found = conn.execute(
            upsert(self.session, table)
            .on_conflict_do_nothing()
            .returning(table.c.number, table.c.id),
            rows,
        ).all()
        ids: dict[str, int] = {row[0]: row[1] for row in found}
        for row in rows:
            if row["number"] not in ids:
                raise _number_in_use(row["number"])
        items = [
            item
            for (cert, _, _), row in zip(issued, rows, strict=True)
            for item in _item_rows(ids[row["number"]], cert)
        ]
        if items:
            conn.execute(insert(cast(Table, LineItemRow.__table__)), items)
        return [_stored(row) for row in rows]

    def get(self, number: str) -> StoredCertificate | None:
        row = self.session.execute(
            select(CertificateRow).where(CertificateRow.number == number)
        ).scalar_one_or_none()
        return None if row is None else StoredCertificate.from_row(row)

    def get_with_events(
        self, number: str
    ) -> tuple[StoredCertificate, tuple[RecordedEvent, ...]] | None:
        """The certificate and every status event of it in time order, in one statement
        (the certificate LEFT JOIN its events); ``None`` when unknown."""
        rows = self.session.connection().execute(WITH_EVENTS, {"number": number}).all()
        return with_events(rows)

    def status(self, number: str, now: datetime) -> CertStatus | None:
        """Status of one certificate at ``now``; ``None`` when unknown."""
        row = self.session.execute(
            select(CertificateRow.id, CertificateRow.valid_from, CertificateRow.valid_to).where(
                CertificateRow.number == number
            )
        ).one_or_none()
        if row is None:
            return None
        events = self._events_by_id([row.id]).get(row.id, [])
        return derive_status(row.valid_from, row.valid_to, events, now)

    def search(self, *, now: datetime, **filters: Unpack[SearchFilters]) -> Page:
        """Certificates matching every given filter, newest issue first.

        ``number`` matches a prefix (``330109-2026`` finds the agency's year),
        names and product match a fragment, ``region`` an issuing region
        (province and city codes cover their districts), ``status`` the status
        at ``now``, and the issue time lies in ``[issued_from, issued_to)``.
        """
        check_aware(now, "now")
        number, consignor = filters.get("number"), filters.get("consignor")
        consignee, product = filters.get("consignee"), filters.get("product")
        region, status = filters.get("region"), filters.get("status")
        issued_from, issued_to = filters.get("issued_from"), filters.get("issued_to")
        page, size = filters.get("page", 1), filters.get("size", DEFAULT_PAGE_SIZE)
        if not 1 <= size <= MAX_PAGE_SIZE:
            raise LimitExceeded(
                "PAGE_SIZE",
                f"每页条数须在 1 至 {MAX_PAGE_SIZE} 之间",
                f"page size must be 1..{MAX_PAGE_SIZE}",
            )
        if not 1 <= page <= MAX_PAGE:
            raise LimitExceeded(
                "PAGE", f"页码须在 1 至 {MAX_PAGE} 之间", f"page must be 1..{MAX_PAGE}"
            )
        conditions: list[ColumnElement[bool]] = []
        for value, what in (
            (number, "number"),
            (consignor, "consignor"),
            (consignee, "consignee"),
            (product, "product"),
        ):
            if value is not None:
                check_length(value, MAX_FILTER_LENGTH, what)
        if number:
            conditions.append(CertificateRow.number.startswith(number, autoescape=True))
        if consignor:
            conditions.append(CertificateRow.consignor_name.contains(consignor, autoescape=True))
        if consignee:
            conditions.append(CertificateRow.consignee_name.contains(consignee, autoescape=True))
        if product:
            conditions.append(
                exists().where(
                    LineItemRow.certificate_id == CertificateRow.id,
                    LineItemRow.product.contains(product, autoescape=True),
                )
            )
        if region:
            conditions.append(region_clause(region))
        if status is not None:
            conditions.append(status_clause(CertStatus(status), now))
        if issued_from is not None:
            conditions.append(CertificateRow.issued_at >= check_aware(issued_from, "issued_from"))
        if issued_to is not None:
            conditions.append(CertificateRow.issued_at < check_aware(issued_to, "issued_to"))

        total = self.session.execute(
            select(func.count()).select_from(CertificateRow).where(*conditions)
        ).scalar_one()
        rows = (
            self.session.execute(
                select(CertificateRow)
                .where(*conditions)
                .order_by(CertificateRow.issued_at.desc(), CertificateRow.id.desc())
                .limit(size)
                .offset((page - 1) * size)
            )
            .scalars()
            .all()
        )
        events = self._events_by_id([r.id for r in rows])
        hits = tuple(
            SearchHit(
                StoredCertificate.from_row(r),
                derive_status(r.valid_from, r.valid_to, events.get(r.id, []), now),
            )
            for r in rows
        )
        return Page(hits, total, page, size)

    def _events_by_id(self, ids: Sequence[int]) -> dict[int, list[StatusEvent]]:
        out: dict[int, list[StatusEvent]] = {}
        if not ids:
            return out
        for ev in self.session.execute(
            select(StatusEventRow)
            .where(StatusEventRow.certificate_id.in_(ids))
            .order_by(StatusEventRow.at, StatusEventRow.id)
        ).scalars():
            out.setdefault(ev.certificate_id, []).append(
                StatusEvent(EventType(ev.type), ev.at, ev.reason, ev.superseded_by)
            )
        return out
