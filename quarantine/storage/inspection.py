"""Inspection tables and their repository (migration ``0003``).

* ``inspection_scans``: every scan this node knows of, its own and its peers'
  (shared through the federation feed), with the device's position when given.
  ``scan_events`` stays the local record of verifications (statistics read it);
  this table is what the reuse rules read, by ``(number, at)``.
* ``inspection_alerts`` and ``alert_regions``: reuse alerts (一证多用), keyed by the
  rule's stable id, so evaluating the same scans again inserts nothing; the
  regions concerned (the scans' places and the certificate's issuing region)
  decide which inspectors see them.
* ``violations``: violations recorded against operators by any member (共推信用监管).
* ``record_links``: which record rests on which (references), for the trace.
* ``projects`` and ``project_batches``: greening-project acceptance.

The caller owns the transaction; nothing here commits.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    and_,
    func,
    or_,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from quarantine.core.credit import CreditRule, Violation, ViolationKind, ViolationSeverity
from quarantine.core.model import Certificate
from quarantine.core.recognition import BarPeriod
from quarantine.core.reuse import Alert, Scan
from quarantine.core.trace import edges_of
from quarantine.storage._common import is_postgresql, upsert
from quarantine.storage.models import Base, IdType, JSONType, UTCDateTime

#: Earlier scans of one certificate read for an evaluation (newest first).
MAX_EARLIER_SCANS: Final = 500
MAX_ALERT_PAGE: Final = 200
#: Columns the reuse rules read, carried in the ``(number, at)`` index on PostgreSQL
#: (``INCLUDE``, migration ``0004``) so that the earlier scans are an index-only read.
SCAN_INDEX_INCLUDE: Final = ("uid", "region", "checkpoint", "plate", "lon", "lat", "verdict")


class InspectionScanRow(Base):
    """A scan of a certificate, recorded here or accepted from a peer's feed."""

    __tablename__ = "inspection_scans"
    __table_args__ = (
        Index(
            "ix_inspection_scans_number_at",
            "number",
            "at",
            postgresql_include=list(SCAN_INDEX_INCLUDE),
        ),
    )

    uid: Mapped[str] = mapped_column(String(64), primary_key=True)
    origin: Mapped[str] = mapped_column(String(6))
    number: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    region: Mapped[str] = mapped_column(String(6))
    checkpoint: Mapped[str] = mapped_column(String(200))
    plate: Mapped[str] = mapped_column(String(20))
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    verdict: Mapped[str] = mapped_column(String(20))
    actor: Mapped[str] = mapped_column(String(100))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AlertRow(Base):
    """A reuse alert; ``id`` is the rule's stable id (same scans → same id on every node)."""

    __tablename__ = "inspection_alerts"
    __table_args__ = (
        Index("ix_inspection_alerts_status_raised_at", "status", "raised_at"),
        Index("ix_inspection_alerts_number", "number"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    rule: Mapped[str] = mapped_column(String(32))
    number: Mapped[str] = mapped_column(String(64))
    scans: Mapped[list[str]] = mapped_column(JSONType)
    detail: Mapped[str] = mapped_column(Text)
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(8))
    checked_by: Mapped[str] = mapped_column(String(100))
    note: Mapped[str] = mapped_column(Text)
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class AlertRegionRow(Base):
    """A region concerned by an alert (whose inspectors see it)."""

    __tablename__ = "alert_regions"
    __table_args__ = (Index("ix_alert_regions_region", "region"),)

    alert_id: Mapped[str] = mapped_column(
        ForeignKey("inspection_alerts.id", ondelete="CASCADE"), primary_key=True
    )
    region: Mapped[str] = mapped_column(String(6), primary_key=True)


class ViolationRow(Base):
    """A violation recorded against an operator by a member region (shared, signed)."""

    __tablename__ = "violations"
    __table_args__ = (Index("ix_violations_operator_at", "operator", "at"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    operator: Mapped[str] = mapped_column(String(64))
    region: Mapped[str] = mapped_column(String(6))
    kind: Mapped[str] = mapped_column(String(24))
    severity: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    evidence: Mapped[str] = mapped_column(Text)
    certificate: Mapped[str] = mapped_column(String(18))
    #: The node that signed and shared it, and the entry's sequence in its feed (0: local only).
    origin: Mapped[str] = mapped_column(String(6))
    seq: Mapped[int] = mapped_column(BigInteger)
    recorded_by: Mapped[str] = mapped_column(String(100))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())


class RecordLinkRow(Base):
    """``target`` rests on ``source`` (a pass, a letter, an original, a project's material)."""

    __tablename__ = "record_links"

    source: Mapped[str] = mapped_column(String(18), primary_key=True)
    target: Mapped[str] = mapped_column(String(18), primary_key=True)
    link: Mapped[str] = mapped_column(String(16), primary_key=True)


class ProjectRow(Base):
    """A greening project collecting its plant material (工程植物检疫复验)."""

    __tablename__ = "projects"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    district: Mapped[str] = mapped_column(String(6), index=True)
    contractor: Mapped[str] = mapped_column(String(200))
    site: Mapped[str] = mapped_column(String(500))
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: The PROJECT certificate issued for it ("" until then).
    certificate: Mapped[str] = mapped_column(String(18))
    issued_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ProjectBatchRow(Base):
    """Plant material of one certificate delivered to a project."""

    __tablename__ = "project_batches"
    __table_args__ = (UniqueConstraint("project_id", "number"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="RESTRICT"))
    number: Mapped[str] = mapped_column(String(18), index=True)
    source: Mapped[str] = mapped_column(String(8))  # NUMBER or QR
    added_by: Mapped[str] = mapped_column(String(100))
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime())
    accepted: Mapped[bool] = mapped_column(Boolean)
    reasons: Mapped[list[str]] = mapped_column(JSONType)
    reinspected_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    passed: Mapped[bool | None] = mapped_column(Boolean)
    reinspection_note: Mapped[str] = mapped_column(Text)
    inspector: Mapped[str] = mapped_column(String(100))


# --------------------------------------------------------------------------- scans


@dataclass(frozen=True)
class StoredScan:
    scan: Scan
    origin: str
    actor: str
    recorded_at: datetime


def _scan(row: Any) -> Scan:
    position = (row.lon, row.lat) if row.lon is not None and row.lat is not None else None
    return Scan(
        row.uid, row.number, row.at, row.region, row.checkpoint, row.plate, position, row.verdict
    )


def add_scan(
    session: Session, scan: Scan, *, origin: str, actor: str, recorded_at: datetime
) -> bool:
    """Store a scan; ``False`` when a scan with its id is already known."""
    lon, lat = scan.position if scan.position is not None else (None, None)
    stmt = (
        upsert(session, InspectionScanRow)
        .values(
            uid=scan.id,
            origin=origin,
            number=scan.number,
            at=scan.at,
            region=scan.region,
            checkpoint=scan.checkpoint,
            plate=scan.plate,
            lon=lon,
            lat=lat,
            verdict=scan.verdict,
            actor=actor,
            recorded_at=recorded_at,
        )
        .on_conflict_do_nothing(index_elements=["uid"])
        .returning(InspectionScanRow.uid)
    )
    return session.execute(stmt).first() is not None


_SCAN_COLUMNS: Final = (
    InspectionScanRow.uid,
    InspectionScanRow.number,
    InspectionScanRow.at,
    InspectionScanRow.region,
    InspectionScanRow.checkpoint,
    InspectionScanRow.plate,
    InspectionScanRow.lon,
    InspectionScanRow.lat,
    InspectionScanRow.verdict,
)


def scans_of(session: Session, number: str, *, limit: int = MAX_EARLIER_SCANS) -> list[Scan]:
    """The latest scans of ``number`` (newest first): one indexed range read."""
    rows = session.execute(
        select(*_SCAN_COLUMNS)
        .where(InspectionScanRow.number == number)
        .order_by(InspectionScanRow.at.desc())
        .limit(limit)
    ).all()
    return [_scan(r) for r in rows]


def scans_for(session: Session, numbers: Iterable[str], *, limit: int = 1000) -> list[Scan]:
    wanted = sorted(set(numbers))
    if not wanted:
        return []
    rows = session.execute(
        select(*_SCAN_COLUMNS)
        .where(InspectionScanRow.number.in_(wanted))
        .order_by(InspectionScanRow.at)
        .limit(limit)
    ).all()
    return [_scan(r) for r in rows]


def scans_after(
    session: Session, since: Mapping[str, datetime], *, limit: int = MAX_EARLIER_SCANS
) -> list[Scan]:
    """The scans of each number of ``since`` made after its instant, oldest first (at
    most ``limit`` times as many as the numbers): one read of the ``(number, at)`` index."""
    if not since:
        return []
    c = InspectionScanRow
    rows = session.execute(
        select(*_SCAN_COLUMNS)
        .where(or_(*(and_(c.number == n, c.at > at) for n, at in sorted(since.items()))))
        .order_by(c.at)
        .limit(limit * len(since))
    ).all()
    return [_scan(r) for r in rows]


@dataclass(frozen=True)
class ScanContext:
    """What evaluating a scan of one of this registry's certificates reads (PostgreSQL)."""

    number: str
    kind: str
    valid_to: date
    plate: str  # the record's ``conveyance.identifier`` ("" when none)
    route: Mapping[str, Any] | None  # the record's ``route`` object
    closed_at: datetime | None  # the first accepted arrival
    earlier: list[Scan]  # newest first, at most ``MAX_EARLIER_SCANS``


#: The certificate's facts and its earlier scans in one statement: the certificate row
#: (by its unique number) with the first ARRIVED event, computed once (``MATERIALIZED``),
#: LEFT JOIN LATERAL the newest scans of the number (a backward index-only range read
#: of the covering ``(number, at)`` index).  The facts are read from the stored record's
#: JSON in the database; the record itself is neither sent nor decoded.
_CONTEXT_CTE: Final = """c AS MATERIALIZED (
    SELECT c.number, c.kind, c.valid_to,
           c.record -> 'conveyance' ->> 'identifier' AS plate,
           c.record -> 'route' AS route,
           (SELECT min(e.at) FROM status_events e
             WHERE e.certificate_id = c.id AND e.type = 'ARRIVED') AS closed_at
    FROM certificates c
    WHERE c.number = %(number)s
)
SELECT c.number, c.kind, c.valid_to, c.plate, c.route, c.closed_at,
       s.uid, s.at, s.region, s.checkpoint, s.plate, s.lon, s.lat, s.verdict
FROM c
LEFT JOIN LATERAL (
    SELECT i.uid, i.at, i.region, i.checkpoint, i.plate, i.lon, i.lat, i.verdict
    FROM inspection_scans i
    WHERE i.number = %(number)s
    ORDER BY i.at DESC
    LIMIT %(limit)s
) s ON true
"""
_CONTEXT_SQL: Final = "WITH " + _CONTEXT_CTE
#: The same, storing a new scan first in the same statement (``ON CONFLICT DO NOTHING``).
#: The read runs on the statement's snapshot, so the new scan is not among the earlier.
_STORE_CTE: Final = """WITH stored AS (
    INSERT INTO inspection_scans
        (uid, origin, number, at, region, checkpoint, plate, lon, lat, verdict, actor, recorded_at)
    VALUES (%(uid)s, %(origin)s, %(number)s, %(at)s, %(region)s, %(checkpoint)s, %(plate)s,
            %(lon)s, %(lat)s, %(verdict)s, %(actor)s, %(recorded_at)s)
    ON CONFLICT (uid) DO NOTHING
), """
_STORE_AND_CONTEXT_SQL: Final = _STORE_CTE + _CONTEXT_CTE


def one_statement_reads(session: Session) -> bool:
    """Whether :func:`scan_context` and :func:`add_scan_with_context` work here (PostgreSQL)."""
    return is_postgresql(session)


def scan_context(
    session: Session, number: str, *, limit: int = MAX_EARLIER_SCANS
) -> ScanContext | None:
    """The certificate ``number`` of this registry and its latest scans in one round trip.

    PostgreSQL only (``None`` on other backends, and when the number is not this
    registry's: the caller then reads the general way).  The statement text is fixed,
    so the driver prepares it on each pooled connection.
    """
    if not is_postgresql(session):
        return None
    rows = (
        session.connection().exec_driver_sql(_CONTEXT_SQL, {"number": number, "limit": limit}).all()
    )
    return _context(number, rows)


def add_scan_with_context(
    session: Session,
    scan: Scan,
    *,
    origin: str,
    actor: str,
    recorded_at: datetime,
    limit: int = MAX_EARLIER_SCANS,
) -> ScanContext | None:
    """Store ``scan`` (as :func:`add_scan`) and read :func:`scan_context` of its number, in
    one statement (PostgreSQL only).  ``None`` when the number is not this registry's."""
    if not is_postgresql(session):
        raise ValueError("one-statement reads need PostgreSQL")
    lon, lat = scan.position if scan.position is not None else (None, None)
    params = {
        "uid": scan.id,
        "origin": origin,
        "number": scan.number,
        "at": scan.at,
        "region": scan.region,
        "checkpoint": scan.checkpoint,
        "plate": scan.plate,
        "lon": lon,
        "lat": lat,
        "verdict": scan.verdict,
        "actor": actor,
        "recorded_at": recorded_at,
        "limit": limit,
    }
    rows = session.connection().exec_driver_sql(_STORE_AND_CONTEXT_SQL, params).all()
    return _context(scan.number, rows)


def _context(number: str, rows: Sequence[Sequence[Any]]) -> ScanContext | None:
    if not rows:
        return None
    first = rows[0]
    earlier = [
        Scan(
            r[6],
            number,
            r[7],
            r[8],
            r[9],
            r[10],
            (r[11], r[12]) if r[11] is not None and r[12] is not None else None,
            r[13],
        )
        for r in rows
        if r[6] is not None
    ]
    route = first[4] if isinstance(first[4], Mapping) else None
    return ScanContext(first[0], first[1], first[2], first[3] or "", route, first[5], earlier)


# --------------------------------------------------------------------------- alerts


@dataclass(frozen=True)
class StoredAlert:
    id: str
    rule: str
    number: str
    scans: tuple[str, ...]
    detail: str
    raised_at: datetime
    status: str
    checked_by: str
    note: str
    checked_at: datetime | None
    regions: tuple[str, ...] = ()


def add_alerts(
    session: Session, alerts: Sequence[Alert], regions: Mapping[str, Iterable[str]], now: datetime
) -> list[str]:
    """Insert alerts not known yet (``ON CONFLICT DO NOTHING`` on the id); the new ids.

    ``regions``: alert id → the regions concerned.  Two statements whatever the count.
    """
    unique = {a.id: a for a in alerts}
    if not unique:
        return []
    if is_postgresql(session):
        return _add_alerts_pg(session, list(unique.values()), regions, now)
    rows = [
        {
            "id": a.id,
            "rule": a.rule,
            "number": a.number,
            "scans": list(a.scans),
            "detail": a.detail[:2000],
            "raised_at": now,
            "status": "OPEN",
            "checked_by": "",
            "note": "",
            "checked_at": None,
        }
        for a in unique.values()
    ]
    # One compiled statement (cached), executed for every row; RETURNING gives the new ids.
    stmt = (
        upsert(session, AlertRow)
        .on_conflict_do_nothing(index_elements=["id"])
        .returning(AlertRow.id)
    )
    conn = session.connection()
    if len(rows) == 1:
        new = sorted(conn.execute(stmt, rows[0]).scalars())
    else:
        new = sorted(conn.execute(stmt, rows).scalars())
    pairs = [
        {"alert_id": i, "region": r} for i in new for r in sorted(set(regions.get(i, ()))) if r
    ]
    if pairs:
        conn.execute(upsert(session, AlertRegionRow).on_conflict_do_nothing(), pairs)
    return new


#: The alerts and their regions in one statement: the alerts not known yet are inserted
#: (``ON CONFLICT DO NOTHING``), the regions of exactly those in the same statement, and
#: their ids returned.  Arrays (``unnest``) keep the text fixed whatever the count, so the
#: driver prepares it.
_ALERTS_SQL: Final = """
WITH new AS (
    INSERT INTO inspection_alerts
        (id, rule, number, scans, detail, raised_at, status, checked_by, note, checked_at)
    SELECT a.id, a.rule, a.number, a.scans::jsonb, a.detail, %(now)s, 'OPEN', '', '', NULL
    FROM unnest(%(ids)s::varchar[], %(rules)s::varchar[], %(numbers)s::varchar[],
                %(scans)s::text[], %(details)s::text[]) AS a(id, rule, number, scans, detail)
    ON CONFLICT (id) DO NOTHING
    RETURNING id
), concerned AS (
    INSERT INTO alert_regions (alert_id, region)
    SELECT r.alert_id, r.region
    FROM unnest(%(region_ids)s::varchar[], %(regions)s::varchar[]) AS r(alert_id, region)
    JOIN new ON new.id = r.alert_id
    ON CONFLICT DO NOTHING
)
SELECT id FROM new ORDER BY id
"""


def _add_alerts_pg(
    session: Session, alerts: Sequence[Alert], regions: Mapping[str, Iterable[str]], now: datetime
) -> list[str]:
    pairs = [(a.id, r) for a in alerts for r in sorted(set(regions.get(a.id, ()))) if r]
    params = {
        "now": now,
        "ids": [a.id for a in alerts],
        "rules": [a.rule for a in alerts],
        "numbers": [a.number for a in alerts],
        "scans": [json.dumps(list(a.scans), ensure_ascii=False) for a in alerts],
        "details": [a.detail[:2000] for a in alerts],
        "region_ids": [i for i, _ in pairs],
        "regions": [r for _, r in pairs],
    }
    return [row[0] for row in session.connection().exec_driver_sql(_ALERTS_SQL, params)]


def _alert(row: AlertRow, regions: Sequence[str] = ()) -> StoredAlert:
    return StoredAlert(
        row.id,
        row.rule,
        row.number,
        tuple(row.scans),
        row.detail,
        row.raised_at,
        row.status,
        row.checked_by,
        row.note,
        row.checked_at,
        tuple(regions),
    )


def _regions_of(session: Session, ids: Sequence[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {i: [] for i in ids}
    if not ids:
        return out
    rows = session.execute(
        select(AlertRegionRow.alert_id, AlertRegionRow.region)
        .where(AlertRegionRow.alert_id.in_(list(ids)))
        .order_by(AlertRegionRow.region)
    ).all()
    for r in rows:
        out[r.alert_id].append(r.region)
    return out


def region_prefix(region: str) -> str:
    """``320000`` → ``32``, ``320500`` → ``3205``, a district → itself."""
    if region.endswith("0000"):
        return region[:2]
    if region.endswith("00"):
        return region[:4]
    return region


def list_alerts(
    session: Session,
    *,
    region: str = "",
    status: str = "",
    number: str = "",
    limit: int = 50,
    offset: int = 0,
) -> tuple[int, list[StoredAlert]]:
    """Alerts concerning ``region`` (a province or city code covers its districts), newest first."""
    conds: list[Any] = []
    if status:
        conds.append(AlertRow.status == status)
    if number:
        conds.append(AlertRow.number == number)
    if region:
        prefix = region_prefix(region)
        concerned = select(AlertRegionRow.alert_id).where(
            AlertRegionRow.region.like(prefix + "%")
            if prefix != region
            else AlertRegionRow.region == region
        )
        conds.append(AlertRow.id.in_(concerned))
    where = and_(*conds) if conds else and_(True)
    total = session.execute(select(func.count()).select_from(AlertRow).where(where)).scalar_one()
    rows = list(
        session.execute(
            select(AlertRow)
            .where(where)
            .order_by(AlertRow.raised_at.desc(), AlertRow.id)
            .limit(max(1, min(limit, MAX_ALERT_PAGE)))
            .offset(max(0, offset))
        ).scalars()
    )
    regions = _regions_of(session, [r.id for r in rows])
    return int(total), [_alert(r, regions[r.id]) for r in rows]


def get_alert(session: Session, alert_id: str, *, lock: bool = False) -> StoredAlert | None:
    query = select(AlertRow).where(AlertRow.id == alert_id)
    if lock:
        query = query.with_for_update()
    row = session.execute(query).scalar_one_or_none()
    if row is None:
        return None
    return _alert(row, _regions_of(session, [row.id])[row.id])


def mark_checked(session: Session, alert_id: str, actor: str, note: str, now: datetime) -> None:
    row = session.execute(select(AlertRow).where(AlertRow.id == alert_id)).scalar_one()
    row.status, row.checked_by, row.note, row.checked_at = "CHECKED", actor, note, now
    session.flush()


# --------------------------------------------------------------------------- violations


@dataclass(frozen=True)
class StoredViolation:
    violation: Violation
    origin: str
    seq: int
    recorded_by: str
    recorded_at: datetime


def add_violation(
    session: Session,
    v: Violation,
    *,
    origin: str,
    seq: int,
    recorded_by: str,
    recorded_at: datetime,
) -> bool:
    stmt = (
        upsert(session, ViolationRow)
        .values(
            id=v.id,
            operator=v.operator,
            region=v.region,
            kind=v.kind.value,
            severity=int(v.severity),
            at=v.at,
            evidence=v.evidence,
            certificate=v.certificate,
            origin=origin,
            seq=seq,
            recorded_by=recorded_by,
            recorded_at=recorded_at,
        )
        .on_conflict_do_nothing(index_elements=["id"])
        .returning(ViolationRow.id)
    )
    return session.execute(stmt).first() is not None


def _violation(row: ViolationRow) -> StoredViolation:
    v = Violation(
        row.id,
        row.operator,
        row.region,
        ViolationKind(row.kind),
        ViolationSeverity(row.severity),
        row.at,
        row.evidence,
        row.certificate,
    )
    return StoredViolation(v, row.origin, row.seq, row.recorded_by, row.recorded_at)


def violations_of(session: Session, operators: Sequence[str]) -> list[StoredViolation]:
    regs = sorted({o for o in operators if o})
    if not regs:
        return []
    rows = session.execute(
        select(ViolationRow)
        .where(ViolationRow.operator.in_(regs))
        .order_by(ViolationRow.at, ViolationRow.id)
        .limit(5000)
    ).scalars()
    return [_violation(r) for r in rows]


def violation_bars(
    session: Session, operators: Sequence[str], rules: Sequence[CreditRule] | None = None
) -> dict[str, list[BarPeriod]]:
    """Bar periods that the credit rules derive from the recorded violations.

    ``rules`` default to the deployment's (:func:`quarantine.inspection_rules.current`).
    """
    from quarantine import inspection_rules
    from quarantine.core.credit import bar_periods

    table = inspection_rules.current().credit if rules is None else rules
    found = violations_of(session, operators)
    out: dict[str, list[BarPeriod]] = {}
    for operator in sorted({s.violation.operator for s in found}):
        periods = bar_periods(operator, [s.violation for s in found], table)
        if periods:
            out[operator] = periods
    return out


# --------------------------------------------------------------------------- links


def add_links(session: Session, certs: Iterable[Certificate]) -> None:
    """Record the references of ``certs`` (idempotent)."""
    values = [
        {"source": e.source[:18], "target": e.target, "link": e.link.value}
        for cert in certs
        for e in edges_of(cert)
    ]
    if values:
        session.execute(upsert(session, RecordLinkRow).values(values).on_conflict_do_nothing())


def referencing(session: Session, numbers: Iterable[str]) -> list[str]:
    """Numbers of the records that name any of ``numbers`` in their references."""
    wanted = sorted(set(numbers))
    if not wanted:
        return []
    rows = session.execute(
        select(RecordLinkRow.target).where(RecordLinkRow.source.in_(wanted)).distinct()
    ).scalars()
    return sorted(rows)


# --------------------------------------------------------------------------- projects


@dataclass(frozen=True)
class StoredBatch:
    number: str
    source: str
    added_by: str
    checked_at: datetime
    accepted: bool
    reasons: tuple[str, ...]
    reinspected_at: datetime | None
    passed: bool | None
    reinspection_note: str
    inspector: str


@dataclass(frozen=True)
class StoredProject:
    id: str
    name: str
    district: str
    contractor: str
    site: str
    created_by: str
    created_at: datetime
    certificate: str
    issued_at: datetime | None
    batches: tuple[StoredBatch, ...] = ()


def add_project(session: Session, values: Mapping[str, Any]) -> None:
    session.add(ProjectRow(**values))
    session.flush()


def get_project(session: Session, project_id: str, *, lock: bool = False) -> StoredProject | None:
    query = select(ProjectRow).where(ProjectRow.id == project_id)
    if lock:
        query = query.with_for_update()
    row = session.execute(query).scalar_one_or_none()
    if row is None:
        return None
    batches = session.execute(
        select(ProjectBatchRow)
        .where(ProjectBatchRow.project_id == project_id)
        .order_by(ProjectBatchRow.id)
    ).scalars()
    return _project(row, tuple(map(_batch, batches)))


def _project(row: ProjectRow, batches: tuple[StoredBatch, ...]) -> StoredProject:
    return StoredProject(
        row.id,
        row.name,
        row.district,
        row.contractor,
        row.site,
        row.created_by,
        row.created_at,
        row.certificate,
        row.issued_at,
        batches,
    )


def _batch(b: ProjectBatchRow) -> StoredBatch:
    return StoredBatch(
        b.number,
        b.source,
        b.added_by,
        b.checked_at,
        b.accepted,
        tuple(b.reasons),
        b.reinspected_at,
        b.passed,
        b.reinspection_note,
        b.inspector,
    )


def district_range(region: str) -> tuple[str, str]:
    """The district codes a region code covers, as an inclusive range (like ``authz.covers``).

    A province ``XX0000`` covers ``XX0000``-``XX9999``, a city ``XXXX00`` covers
    ``XXXX00``-``XXXX99``, a district itself.  Codes are six ASCII digits, so the range
    means the same in every collation and the index on ``projects.district`` serves it.
    """
    if region.endswith("0000"):
        prefix = region[:2]
    elif region.endswith("00"):
        prefix = region[:4]
    else:
        prefix = region
    width = len(region) - len(prefix)
    return prefix + "0" * width, prefix + "9" * width


def projects_of(
    session: Session, region: str, *, limit: int, offset: int = 0
) -> tuple[int, list[StoredProject]]:
    """Projects of the districts ``region`` covers ("" = all), newest first, and how many.

    Two statements: the count, then the page of projects with their batches (a
    LEFT JOIN onto the page's rows).  ``ix_projects_district`` serves the range.
    """
    where = []
    if region:
        low, high = district_range(region)
        where.append(ProjectRow.district.between(low, high))
    total = session.execute(select(func.count()).select_from(ProjectRow).where(*where)).scalar_one()
    if limit <= 0 or offset >= total:
        return total, []
    page = (
        select(ProjectRow.id, ProjectRow.created_at)
        .where(*where)
        .order_by(ProjectRow.created_at.desc(), ProjectRow.id.desc())
        .limit(limit)
        .offset(offset)
        .subquery()
    )
    rows = session.execute(
        select(ProjectRow, ProjectBatchRow)
        .join(page, page.c.id == ProjectRow.id)
        .outerjoin(ProjectBatchRow, ProjectBatchRow.project_id == ProjectRow.id)
        .order_by(ProjectRow.created_at.desc(), ProjectRow.id.desc(), ProjectBatchRow.id)
    ).all()
    heads: dict[str, ProjectRow] = {}  # in the page's order
    batches: dict[str, list[StoredBatch]] = {}
    for row, b in rows:
        if row.id not in heads:
            heads[row.id], batches[row.id] = row, []
        if b is not None:
            batches[row.id].append(_batch(b))
    return total, [_project(row, tuple(batches[i])) for i, row in heads.items()]


def upsert_batch(session: Session, project_id: str, values: Mapping[str, Any]) -> None:
    """Add the material of a certificate, or check it again (a re-check clears nothing else)."""
    fields = {k: values[k] for k in ("source", "added_by", "checked_at", "accepted", "reasons")}
    stmt = upsert(session, ProjectBatchRow).values(
        project_id=project_id,
        number=values["number"],
        reinspection_note="",
        inspector="",
        **fields,
    )
    session.execute(
        stmt.on_conflict_do_update(index_elements=["project_id", "number"], set_=fields)
    )


def set_reinspection(
    session: Session,
    project_id: str,
    number: str,
    *,
    passed: bool,
    note: str,
    inspector: str,
    at: datetime,
) -> bool:
    row = session.execute(
        select(ProjectBatchRow).where(
            ProjectBatchRow.project_id == project_id, ProjectBatchRow.number == number
        )
    ).scalar_one_or_none()
    if row is None:
        return False
    row.passed, row.reinspection_note, row.inspector, row.reinspected_at = (
        passed,
        note,
        inspector,
        at,
    )
    session.flush()
    return True


def set_project_certificate(session: Session, project_id: str, number: str, at: datetime) -> None:
    row = session.execute(select(ProjectRow).where(ProjectRow.id == project_id)).scalar_one()
    row.certificate, row.issued_at = number, at
    session.flush()


def project_reinspections(
    session: Session, numbers: Iterable[str]
) -> list[tuple[str, StoredBatch, str]]:
    """Project re-inspections of ``numbers``: (number, batch, project id)."""
    wanted = sorted(set(numbers))
    if not wanted:
        return []
    rows = session.execute(
        select(ProjectBatchRow).where(
            ProjectBatchRow.number.in_(wanted), ProjectBatchRow.reinspected_at.is_not(None)
        )
    ).scalars()
    return [(b.number, _batch(b), b.project_id) for b in rows]


__all__ = [
    "AlertRegionRow",
    "AlertRow",
    "InspectionScanRow",
    "ProjectBatchRow",
    "ProjectRow",
    "RecordLinkRow",
    "ScanContext",
    "StoredAlert",
    "StoredBatch",
    "StoredProject",
    "StoredScan",
    "StoredViolation",
    "ViolationRow",
    "add_alerts",
    "add_links",
    "add_scan",
    "add_scan_with_context",
    "add_violation",
    "district_range",
    "get_alert",
    "list_alerts",
    "one_statement_reads",
    "projects_of",
    "referencing",
    "scan_context",
    "scans_of",
    "violation_bars",
    "violations_of",
]
