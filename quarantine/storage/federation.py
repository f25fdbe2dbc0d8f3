"""Federation tables and their repository (migration ``0002``).

* ``feed_entries``: the signed feed this node publishes (append-only).
* ``peer_entries``: entries accepted from peers, each peer's feed in order (append-only).
* ``peer_state``: per peer the accepted head (sequence and hash), the last attempt
  and success, and the alert that stopped ingestion.
* ``operators``: operator registrations (检疫登记) of every member, with bars.
* ``shared_records`` and ``shared_events``: the shared records view that recognition
  reads, filled from this node's own feed and from every accepted peer entry.

Appending to this node's feed is serialised (an advisory lock on PostgreSQL, the
writer lock on SQLite) because every entry links to the one before it.

Entries are written in batches: the entries of one transaction (a group commit of
issues, a page pulled from a peer) go into ``feed_entries`` / ``peer_entries`` with
one ``executemany``, and runs of certificates and of status events into the shared
view with one each (:func:`apply_entries`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Final, cast

from sqlalchemy import (
    BigInteger,
    Date,
    Index,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
    and_,
    func,
    insert,
    or_,
    select,
    text,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from quarantine.core import codec, compress, cose, qrtext
from quarantine.core.feed import (
    GENESIS,
    Body,
    CertificateBody,
    EntryKind,
    FeedError,
    OperatorBody,
    ReinspectionBody,
    SignedEntry,
    StatusBody,
    parse_body,
)
from quarantine.core.inspection_feed import ScanBody, ViolationBody
from quarantine.core.model import CHINA_TZ, Certificate, Kind
from quarantine.core.recognition import BarPeriod
from quarantine.core.status import EventType, StatusEvent
from quarantine.core.trust import TrustList
from quarantine.errors import InputError
from quarantine.storage._common import is_postgresql, upsert
from quarantine.storage.models import Base, IdType, JSONType, UTCDateTime

#: Key of the PostgreSQL advisory lock that serialises appends to this node's feed.
_PG_FEED_LOCK: Final = 0x5155_4645_4544  # "QUFEED"
MAX_SEARCH_PAGE: Final = 100


class FeedEntryRow(Base):
    """An entry of the feed this node publishes."""

    __tablename__ = "feed_entries"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    origin: Mapped[str] = mapped_column(String(6))
    kind: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    prev_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    cose: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class PeerEntryRow(Base):
    """An entry accepted from a peer's feed."""

    __tablename__ = "peer_entries"
    __table_args__ = (UniqueConstraint("origin", "seq"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    origin: Mapped[str] = mapped_column(String(6))
    seq: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    prev_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    cose: Mapped[bytes] = mapped_column(LargeBinary)
    accepted_at: Mapped[datetime] = mapped_column(UTCDateTime())


class PeerStateRow(Base):
    __tablename__ = "peer_state"

    region: Mapped[str] = mapped_column(String(6), primary_key=True)
    base_url: Mapped[str] = mapped_column(String(500))
    head_seq: Mapped[int] = mapped_column(BigInteger)
    head_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    accepted_total: Mapped[int] = mapped_column(BigInteger)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    halted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    alert_code: Mapped[str] = mapped_column(String(40))
    alert_message: Mapped[str] = mapped_column(Text)
    alert_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class OperatorRow(Base):
    """An operator's registration, shared across the federation; the latest entry wins."""

    __tablename__ = "operators"

    registration: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    region: Mapped[str] = mapped_column(String(6), index=True)
    origin: Mapped[str] = mapped_column(String(6))
    registered_on: Mapped[date] = mapped_column(Date)
    barred_from: Mapped[date | None] = mapped_column(Date)
    barred_until: Mapped[date | None] = mapped_column(Date)
    bar_reason: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SharedRecordRow(Base):
    """A record of any member as the federation shares it (the signed QR text and search fields)."""

    __tablename__ = "shared_records"
    __table_args__ = (
        Index("ix_shared_records_kind_valid_to", "kind", "valid_to"),
        Index("ix_shared_records_consignee_category", "consignee_name", "category"),
    )

    number: Mapped[str] = mapped_column(String(18), primary_key=True)
    origin: Mapped[str] = mapped_column(String(6), index=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(20))
    issuing_region: Mapped[str] = mapped_column(String(6))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime())
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date] = mapped_column(Date)
    category: Mapped[str] = mapped_column(String(100))
    products: Mapped[str] = mapped_column(Text)
    consignor_name: Mapped[str] = mapped_column(String(200))
    consignee_name: Mapped[str] = mapped_column(String(200))
    consignee_registration: Mapped[str] = mapped_column(String(64))
    producer_name: Mapped[str] = mapped_column(String(200), index=True)
    producer_registration: Mapped[str] = mapped_column(String(64))
    kid: Mapped[str] = mapped_column(String(64))
    qr_text: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SharedEventRow(Base):
    """A status event or re-inspection of a shared record, from its origin's feed."""

    __tablename__ = "shared_events"
    __table_args__ = (UniqueConstraint("origin", "seq"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    number: Mapped[str] = mapped_column(String(18), index=True)
    origin: Mapped[str] = mapped_column(String(6))
    seq: Mapped[int] = mapped_column(BigInteger)
    type: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    reason: Mapped[str] = mapped_column(Text)
    superseded_by: Mapped[str] = mapped_column(String(18))
    detail: Mapped[dict[str, Any]] = mapped_column(JSONType)


# --------------------------------------------------------------------------- this node's feed


@dataclass(frozen=True)
class FeedHead:
    seq: int
    hash: bytes


def lock_feed(session: Session) -> None:
    """Serialise appends to this node's feed until the transaction ends."""
    if is_postgresql(session):
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_FEED_LOCK})


_FEED: Final = cast(Table, FeedEntryRow.__table__)
_PEER_ENTRIES: Final = cast(Table, PeerEntryRow.__table__)
_SHARED_RECORDS: Final = cast(Table, SharedRecordRow.__table__)
_SHARED_EVENTS: Final = cast(Table, SharedEventRow.__table__)


def feed_head(session: Session) -> FeedHead:
    """The last entry of this node's feed (after :func:`lock_feed` when appending: the
    statement runs after the lock is granted, so it sees the previous holder's commit)."""
    row = session.execute(
        select(_FEED.c.seq, _FEED.c.hash).order_by(_FEED.c.seq.desc()).limit(1)
    ).first()
    return FeedHead(row.seq, row.hash) if row else FeedHead(0, GENESIS)


def _entry_row(signed: SignedEntry) -> dict[str, Any]:
    e = signed.entry
    return {
        "seq": e.seq,
        "origin": e.origin,
        "kind": e.kind.value,
        "at": e.at,
        "hash": signed.hash,
        "prev_hash": e.prev,
        "cose": signed.cose,
    }


def add_feed_entries(session: Session, entries: Sequence[SignedEntry], now: datetime) -> None:
    """Store entries of this node's feed (consecutive, signed) with one statement."""
    if entries:
        session.execute(
            insert(_FEED), [{**_entry_row(signed), "created_at": now} for signed in entries]
        )


def feed_page(session: Session, after: int, limit: int) -> list[tuple[int, bytes]]:
    """Entries with ``seq > after`` in order, at most ``limit``: (seq, COSE bytes)."""
    rows = session.execute(
        select(FeedEntryRow.seq, FeedEntryRow.cose)
        .where(FeedEntryRow.seq > after)
        .order_by(FeedEntryRow.seq)
        .limit(limit)
    ).all()
    return [(r.seq, r.cose) for r in rows]


# --------------------------------------------------------------------------- peers


@dataclass(frozen=True)
class PeerState:
    region: str
    base_url: str
    head_seq: int
    head_hash: bytes
    accepted_total: int
    last_attempt_at: datetime | None
    last_success_at: datetime | None
    halted_at: datetime | None
    alert_code: str
    alert_message: str
    alert_at: datetime | None

    def stale(self, now: datetime, window: timedelta) -> bool:
        return self.last_success_at is None or now - self.last_success_at > window

    def as_dict(self, now: datetime, window: timedelta) -> dict[str, Any]:
        def iso(at: datetime | None) -> str | None:
            return at.isoformat() if at else None

        return {
            "region": self.region,
            "base_url": self.base_url,
            "head_seq": self.head_seq,
            "head_hash": self.head_hash.hex(),
            "accepted_total": self.accepted_total,
            "last_attempt_at": iso(self.last_attempt_at),
            "last_success_at": iso(self.last_success_at),
            "halted": self.halted_at is not None,
            "stale": self.stale(now, window),
            "alert": {
                "code": self.alert_code,
                "message": self.alert_message,
                "at": iso(self.alert_at),
            }
            if self.alert_code
            else None,
        }


def _state(row: PeerStateRow) -> PeerState:
    return PeerState(
        row.region,
        row.base_url,
        row.head_seq,
        row.head_hash,
        row.accepted_total,
        row.last_attempt_at,
        row.last_success_at,
        row.halted_at,
        row.alert_code,
        row.alert_message,
        row.alert_at,
    )


def peer_state(
    session: Session, region: str, base_url: str = "", *, lock: bool = False
) -> PeerState:
    """The peer's state, created (head 0) when first seen; ``lock`` for the pull's transaction."""
    query = select(PeerStateRow).where(PeerStateRow.region == region)
    if lock:
        query = query.with_for_update()
        row = session.execute(query).scalar_one_or_none()
    else:  # no statement when this transaction holds the row already
        row = session.get(PeerStateRow, region)
    if row is None:
        session.execute(
            upsert(session, PeerStateRow)
            .values(
                region=region,
                base_url=base_url,
                head_seq=0,
                head_hash=GENESIS,
                accepted_total=0,
                alert_code="",
                alert_message="",
            )
            .on_conflict_do_nothing()
        )
        row = session.execute(query).scalar_one()
    if base_url and row.base_url != base_url:
        row.base_url = base_url
    return _state(row)


def all_peers(session: Session) -> list[PeerState]:
    rows = session.execute(select(PeerStateRow).order_by(PeerStateRow.region)).scalars()
    return [_state(r) for r in rows]


def _peer_row(session: Session, region: str) -> PeerStateRow:
    """The peer's row (no statement when this transaction holds it already)."""
    row = session.get(PeerStateRow, region)
    if row is None:
        raise LookupError(f"no peer state for {region}")
    return row


def mark_attempt(session: Session, region: str, now: datetime) -> None:
    _peer_row(session, region).last_attempt_at = now


def mark_success(session: Session, region: str, now: datetime) -> None:
    row = _peer_row(session, region)
    row.last_success_at = now
    if row.halted_at is None and row.alert_code == "PEER_UNREACHABLE":
        row.alert_code, row.alert_message, row.alert_at = "", "", None


def raise_alert(
    session: Session, region: str, code: str, message: str, now: datetime, *, halt: bool
) -> None:
    row = _peer_row(session, region)
    row.alert_code, row.alert_message, row.alert_at = code, message[:2000], now
    if halt:
        row.halted_at = now


def clear_halt(session: Session, region: str) -> None:
    """An administrator's decision to resume pulling from a halted peer."""
    row = _peer_row(session, region)
    row.halted_at = None
    row.alert_code, row.alert_message, row.alert_at = "", "", None


def accept_peer_entries(
    session: Session, region: str, entries: Sequence[SignedEntry], trust: TrustList, now: datetime
) -> int:
    """Store verified entries of peer ``region`` and apply them to the shared view; move the head.

    ``entries`` are what :func:`quarantine.core.feed.verify_page` accepted (signatures,
    certificates, sequence and links checked); they are stored with one statement.
    """
    if not entries:
        return 0
    session.execute(
        insert(_PEER_ENTRIES),
        [{**_entry_row(signed), "origin": region, "accepted_at": now} for signed in entries],
    )
    apply_entries(session, entries, trust, now, verified=True)
    row = _peer_row(session, region)
    row.head_seq = entries[-1].entry.seq
    row.head_hash = entries[-1].hash
    row.accepted_total += len(entries)
    return len(entries)


# --------------------------------------------------------------------------- shared view


def _verified_certificate(signed: SignedEntry, trust: TrustList) -> CertificateBody:
    """The certificate body of a peer's entry that :func:`quarantine.core.feed.verify_page`
    accepted: decoded again, its signature not checked a second time."""
    e = signed.entry
    qr = e.body.get("qr")
    try:
        if not isinstance(qr, str):
            raise FeedError("FEED_BAD_BODY", "qr", e.seq)
        msg = cose.decode_sign1(compress.unpack(qrtext.decode(qr).payload))
        cert = codec.decode_content(msg.payload, trust.display_name)
    except FeedError:
        raise
    except InputError as exc:
        raise FeedError("FEED_BAD_BODY", f"certificate: {exc.code}", e.seq) from None
    if cert.number.region[:2] != e.origin[:2]:
        raise FeedError("FEED_BAD_BODY", "certificate of another region", e.seq)
    return CertificateBody(cert, msg.kid or b"", qr)


def _body(signed: SignedEntry, trust: TrustList, *, verified: bool) -> Body:
    if verified and signed.entry.kind is EntryKind.CERTIFICATE:
        return _verified_certificate(signed, trust)
    return parse_body(signed.entry, trust)


def _record_values(origin: str, seq: int, body: CertificateBody, now: datetime) -> dict[str, Any]:
    c = body.certificate
    return {
        "number": str(c.number),
        "origin": origin,
        "seq": seq,
        "kind": c.kind.value,
        "issuing_region": c.number.region,
        "issued_at": c.issued_at,
        "valid_from": c.valid_from,
        "valid_to": c.valid_to,
        "category": c.category[:100],
        "products": "、".join(it.product for it in c.items)[:2000],
        "consignor_name": (c.consignor.name if c.consignor else "")[:200],
        "consignee_name": (c.consignee.name if c.consignee else "")[:200],
        "consignee_registration": (c.consignee.registration if c.consignee else "")[:64],
        "producer_name": (c.producer.name if c.producer else "")[:200],
        "producer_registration": (c.producer.registration if c.producer else "")[:64],
        "kid": body.kid.hex(),
        "qr_text": body.qr,
        "received_at": now,
    }


def _event_values(origin: str, seq: int, body: StatusBody | ReinspectionBody) -> dict[str, Any]:
    if isinstance(body, StatusBody):
        return {
            "number": body.number,
            "origin": origin,
            "seq": seq,
            "type": body.type.value,
            "at": body.at,
            "reason": body.reason,
            "superseded_by": body.superseded_by,
            "detail": {},
        }
    detail: dict[str, Any] = {
        "result": body.result,
        "region": body.region,
        "checkpoint": body.checkpoint,
    }
    if body.arrival:
        detail["arrival"] = True
    return {
        "number": body.number,
        "origin": origin,
        "seq": seq,
        "type": EventType.REINSPECTED.value,
        "at": body.at,
        "reason": body.notes,
        "superseded_by": "",
        "detail": detail,
    }


@dataclass
class _Run:
    """Consecutive certificate and event entries, applied together (:func:`apply_entries`)."""

    records: list[dict[str, Any]]
    events: list[dict[str, Any]]
    certificates: list[tuple[str, Certificate]]
    #: In feed order: ("record", i) or ("event", i), for applying one by one.
    order: list[tuple[str, int]]


def apply_entry(session: Session, signed: SignedEntry, trust: TrustList, now: datetime) -> None:
    """Apply one verified entry (own or a peer's) to the shared records view."""
    apply_entries(session, [signed], trust, now)


def apply_entries(
    session: Session,
    entries: Sequence[SignedEntry],
    trust: TrustList,
    now: datetime,
    *,
    verified: bool = False,
) -> None:
    """Apply entries (own or a peer's), in feed order, to the shared records view.

    Each body is checked as :func:`quarantine.core.feed.parse_body` does (a
    certificate's signature with a key of the origin's province: this node does not
    publish what its peers would refuse); ``verified``: the entries are a peer's that
    :func:`quarantine.core.feed.verify_page` accepted, whose certificates are decoded
    without checking their signatures a second time.

    Runs of certificates, status events and re-inspections are written with one
    statement per table; operator registrations, scans and violations one by one, in
    their place.  A peer's certificate of which scans arrived earlier has those scans
    evaluated (``services.inspection.on_shared_certificate``) exactly as if the
    entries were applied one by one; an arrival (ARRIVED) has the scans of its
    certificate made after it evaluated (``services.inspection.on_arrivals``: one read,
    nothing more when there are none).
    """
    run = _Run([], [], [], [])
    for signed in entries:
        e = signed.entry
        body = _body(signed, trust, verified=verified)
        if isinstance(body, CertificateBody):
            run.order.append(("record", len(run.records)))
            run.records.append(_record_values(e.origin, e.seq, body, now))
            run.certificates.append((e.origin, body.certificate))
        elif isinstance(body, StatusBody | ReinspectionBody):
            run.order.append(("event", len(run.events)))
            run.events.append(_event_values(e.origin, e.seq, body))
        else:
            _apply_run(session, run, now)
            run = _Run([], [], [], [])
            if isinstance(body, ScanBody | ViolationBody):  # inspection records
                from quarantine.services.inspection import apply_shared

                apply_shared(session, e.origin, e.seq, body, now)
            else:
                _operator(session, e.origin, body, now)
    _apply_run(session, run, now)


def _insert_records(session: Session, rows: list[dict[str, Any]]) -> None:
    if rows:
        stmt = upsert(session, _SHARED_RECORDS).on_conflict_do_nothing(index_elements=["number"])
        session.execute(stmt, rows)


def _insert_events(session: Session, rows: list[dict[str, Any]]) -> None:
    if rows:
        stmt = upsert(session, _SHARED_EVENTS).on_conflict_do_nothing(
            index_elements=["origin", "seq"]
        )
        session.execute(stmt, rows)


def _apply_run(session: Session, run: _Run, now: datetime) -> None:
    _apply_records_and_events(session, run, now)
    arrivals = [(e["number"], e["at"]) for e in run.events if e["type"] == EventType.ARRIVED.value]
    if arrivals:  # scans already here that the arrival closed out (reuse alerts)
        from quarantine.services.inspection import on_arrivals

        on_arrivals(session, arrivals, now)


def _apply_records_and_events(session: Session, run: _Run, now: datetime) -> None:
    from quarantine.federation.publish import publisher_of
    from quarantine.services.inspection import on_shared_certificate
    from quarantine.storage.inspection import add_links, scans_for

    if not run.order:
        return
    publisher = publisher_of(session)
    own = publisher.region[:2] if publisher is not None else ""
    foreign = [str(c.number) for origin, c in run.certificates if origin[:2] != own]
    scanned: set[str] = set()
    if foreign:  # scans that came before their certificate (from another node's feed)
        limit = 50 * len(foreign) + 1
        found = scans_for(session, foreign, limit=limit)
        scanned = set(foreign) if len(found) >= limit else {s.number for s in found}
    if not scanned:
        _insert_records(session, run.records)
        _insert_events(session, run.events)
        add_links(session, [c for _, c in run.certificates])  # what the hook does for them
        return
    for what, i in run.order:  # scans to evaluate: one by one, in feed order
        if what == "event":
            _insert_events(session, [run.events[i]])
            continue
        _insert_records(session, [run.records[i]])
        origin, cert = run.certificates[i]
        on_shared_certificate(session, origin, cert, now)


def _operator(session: Session, origin: str, body: OperatorBody, now: datetime) -> None:
    values = {
        "name": body.name[:200],
        "region": body.region,
        "origin": origin,
        "registered_on": body.registered_on,
        "barred_from": body.barred_from,
        "barred_until": body.barred_until,
        "bar_reason": body.reason,
        "updated_at": now,
    }
    stmt = upsert(session, OperatorRow).values(registration=body.registration, **values)
    session.execute(stmt.on_conflict_do_update(index_elements=["registration"], set_=values))


# --------------------------------------------------------------------------- reads


@dataclass(frozen=True)
class SharedRecord:
    number: str
    origin: str
    kind: Kind
    issued_at: datetime
    valid_from: date
    valid_to: date
    category: str
    products: str
    consignor_name: str
    consignee_name: str
    producer_name: str
    producer_registration: str
    kid: str
    qr_text: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "origin": self.origin,
            "kind": self.kind.value,
            "issued_at": self.issued_at.astimezone(CHINA_TZ).isoformat(),
            "valid_from": self.valid_from.isoformat(),
            "valid_to": self.valid_to.isoformat(),
            "category": self.category,
            "products": self.products,
            "consignor": self.consignor_name,
            "consignee": self.consignee_name,
            "producer": self.producer_name,
            "producer_registration": self.producer_registration,
        }


def _record(row: Any) -> SharedRecord:
    """From an ORM row or a Core row with the same column names."""
    return SharedRecord(
        row.number,
        row.origin,
        Kind(row.kind),
        row.issued_at,
        row.valid_from,
        row.valid_to,
        row.category,
        row.products,
        row.consignor_name,
        row.consignee_name,
        row.producer_name,
        row.producer_registration,
        row.kid,
        row.qr_text,
    )


_RECORD_COLUMNS: Final = tuple(
    SharedRecordRow.__table__.c[name]
    for name in (
        "number",
        "origin",
        "kind",
        "issued_at",
        "valid_from",
        "valid_to",
        "category",
        "products",
        "consignor_name",
        "consignee_name",
        "producer_name",
        "producer_registration",
        "kid",
        "qr_text",
    )
)


def shared_record(session: Session, number: str) -> SharedRecord | None:
    """One shared record by number (a primary-key look-up, no ORM objects)."""
    row = session.execute(select(*_RECORD_COLUMNS).where(SharedRecordRow.number == number)).first()
    if row is None:
        return None
    return _record(row)


def shared_record_and_sync(
    session: Session, number: str
) -> tuple[SharedRecord, datetime | None] | None:
    """A shared record and when its origin was last pulled successfully, in one round trip
    (``None`` for the time when the origin is this node, an unknown peer or never pulled)."""
    heard = (
        select(PeerStateRow.last_success_at)
        .where(PeerStateRow.region == SharedRecordRow.origin)
        .scalar_subquery()
    )
    row = session.execute(
        select(*_RECORD_COLUMNS, heard.label("heard")).where(SharedRecordRow.number == number)
    ).first()
    if row is None:
        return None
    return _record(row), row.heard


def shared_events(session: Session, numbers: Sequence[str]) -> dict[str, list[StatusEvent]]:
    """Status-changing events of ``numbers`` (re-inspections are not status)."""
    out: dict[str, list[StatusEvent]] = {n: [] for n in numbers}
    if not numbers:
        return out
    t = SharedEventRow.__table__.c
    rows = session.execute(
        select(t.number, t.type, t.at, t.reason, t.superseded_by)
        .where(t.number.in_(list(numbers)), t.type != EventType.REINSPECTED.value)
        .order_by(t.at, t.id)
    ).all()
    for number, kind, at, why, by in rows:
        out[number].append(StatusEvent(EventType(kind), at, why, by))
    return out


def requirement_letters(
    session: Session, region: str, consignee: str, categories: Sequence[str]
) -> list[SharedRecord]:
    """Requirement letters of ``region``'s province for ``consignee`` in ``categories``."""
    if not consignee or not categories:
        return []
    rows = session.execute(
        select(SharedRecordRow)
        .where(
            SharedRecordRow.kind == Kind.REQUIREMENT.value,
            SharedRecordRow.consignee_name == consignee,
            SharedRecordRow.category.in_(list(categories)),
            SharedRecordRow.issuing_region.like(region[:2] + "%"),
        )
        .limit(50)
    ).scalars()
    return [_record(r) for r in rows]


def bars_of(session: Session, registrations: Sequence[str]) -> dict[str, list[BarPeriod]]:
    regs = [r for r in registrations if r]
    if not regs:
        return {}
    rows = session.execute(
        select(OperatorRow).where(
            OperatorRow.registration.in_(regs), OperatorRow.barred_from.is_not(None)
        )
    ).scalars()
    out: dict[str, list[BarPeriod]] = {}
    for r in rows:
        assert r.barred_from is not None
        out.setdefault(r.registration, []).append(
            BarPeriod(r.barred_from, r.barred_until, r.origin, r.bar_reason)
        )
    from quarantine.storage.inspection import violation_bars  # credit rules

    for registration, periods in violation_bars(session, regs).items():
        out.setdefault(registration, []).extend(periods)
    return out


def search_producing_area(
    session: Session,
    *,
    today: date,
    operator: str = "",
    species: str = "",
    region: str = "",
    expiring_within_days: int | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[int, list[SharedRecord]]:
    """The shared producing-area list (共用产地检疫清单): passes valid today, filtered.

    ``operator`` matches the producer's name or registration (substring); ``species``
    a product name (substring); ``region`` the issuing region or its prefix (a
    province code ``320000`` matches every Jiangsu district).  "Expiring within N
    days" compares the pass's stated valid-to date.
    """
    limit = max(1, min(limit, MAX_SEARCH_PAGE))
    conds: list[Any] = [
        SharedRecordRow.kind == Kind.PRODUCING_AREA.value,
        SharedRecordRow.valid_to >= today,
        SharedRecordRow.valid_from <= today,
    ]
    if operator:
        like = f"%{_escape(operator)}%"
        conds.append(
            or_(
                SharedRecordRow.producer_name.like(like, escape="\\"),
                SharedRecordRow.producer_registration.like(like, escape="\\"),
            )
        )
    if species:
        conds.append(SharedRecordRow.products.like(f"%{_escape(species)}%", escape="\\"))
    if region:
        conds.append(SharedRecordRow.issuing_region.like(region_prefix(region) + "%"))
    if expiring_within_days is not None:
        conds.append(SharedRecordRow.valid_to <= today + timedelta(days=expiring_within_days))
    where = and_(*conds)
    total = session.execute(
        select(func.count()).select_from(SharedRecordRow).where(where)
    ).scalar_one()
    rows = session.execute(
        select(SharedRecordRow)
        .where(where)
        .order_by(SharedRecordRow.valid_to, SharedRecordRow.number)
        .limit(limit)
        .offset(max(0, offset))
    ).scalars()
    return int(total), [_record(r) for r in rows]


def region_prefix(region: str) -> str:
    """The code prefix a region stands for: ``320000`` → ``32``, ``320500`` → ``3205``."""
    if region.endswith("0000"):
        return region[:2]
    if region.endswith("00"):
        return region[:4]
    return region


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


@dataclass(frozen=True)
class Operator:
    registration: str
    name: str
    region: str
    origin: str
    registered_on: date
    barred_from: date | None
    barred_until: date | None
    bar_reason: str

    def barred_on(self, day: date) -> bool:
        return self.barred_from is not None and BarPeriod(
            self.barred_from, self.barred_until
        ).covers(day)

    def as_dict(self, today: date) -> dict[str, Any]:
        return {
            "registration": self.registration,
            "name": self.name,
            "region": self.region,
            "origin": self.origin,
            "registered_on": self.registered_on.isoformat(),
            "barred": self.barred_on(today),
            "barred_from": self.barred_from.isoformat() if self.barred_from else None,
            "barred_until": self.barred_until.isoformat() if self.barred_until else None,
            "bar_reason": self.bar_reason,
        }


def search_operators(
    session: Session, *, name: str = "", region: str = "", limit: int = 50, offset: int = 0
) -> tuple[int, list[Operator]]:
    """Operator registrations across the federation (检疫登记全覆盖)."""
    limit = max(1, min(limit, MAX_SEARCH_PAGE))
    conds: list[Any] = []
    if name:
        like = f"%{_escape(name)}%"
        conds.append(
            or_(
                OperatorRow.name.like(like, escape="\\"),
                OperatorRow.registration.like(like, escape="\\"),
            )
        )
    if region:
        conds.append(OperatorRow.region.like(region_prefix(region) + "%"))
    where = and_(*conds) if conds else and_(True)
    total = session.execute(select(func.count()).select_from(OperatorRow).where(where)).scalar_one()
    rows = session.execute(
        select(OperatorRow)
        .where(where)
        .order_by(OperatorRow.region, OperatorRow.registration)
        .limit(limit)
        .offset(max(0, offset))
    ).scalars()
    return int(total), [
        Operator(
            r.registration,
            r.name,
            r.region,
            r.origin,
            r.registered_on,
            r.barred_from,
            r.barred_until,
            r.bar_reason,
        )
        for r in rows
    ]


def operator(session: Session, registration: str) -> Operator | None:
    r = session.execute(
        select(OperatorRow).where(OperatorRow.registration == registration)
    ).scalar_one_or_none()
    if r is None:
        return None
    return Operator(
        r.registration,
        r.name,
        r.region,
        r.origin,
        r.registered_on,
        r.barred_from,
        r.barred_until,
        r.bar_reason,
    )
