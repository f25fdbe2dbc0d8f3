"""SQLAlchemy 2 tables of the registry, portable between SQLite and PostgreSQL.

Timestamps are stored in UTC and always come back timezone-aware
(:class:`UTCDateTime`); JSON columns are ``JSONB`` on PostgreSQL and text on
SQLite.  The schema itself is created by the Alembic migrations in
``quarantine/storage/migrations``; ``Base.metadata`` is what they are checked
against (``tests/storage/test_migrations.py``).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Final

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from quarantine.core.status import EventType

#: Constraint names that are the same on every backend (Alembic needs names).
NAMING_CONVENTION: Final = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ROLES: Final = ("issuer", "inspector", "admin")
TERMINAL_EVENTS: Final = (EventType.REVOKED, EventType.SUPERSEDED)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware instant, stored in UTC.

    PostgreSQL keeps it as ``timestamptz``; SQLite as ISO text in UTC (naive on
    disk, so that text order is time order).  Naive datetimes are refused.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("naive datetime: registry timestamps must carry a time zone")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


#: JSON column type: JSONB on PostgreSQL, JSON (text) elsewhere.
JSONType: Final = JSON().with_variant(JSONB(), "postgresql")
#: Surrogate key type: BIGINT on PostgreSQL, INTEGER (rowid alias) on SQLite.
IdType: Final = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class CertificateRow(Base):
    """One issued certificate: searchable columns plus the full record as JSON."""

    __tablename__ = "certificates"
    __table_args__ = (
        # Also the index a status-list build walks: (issuing_region, year) → serials.
        UniqueConstraint("issuing_region", "year", "serial"),
        Index("ix_certificates_issued_at_id", "issued_at", "id"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    number: Mapped[str] = mapped_column(String(18), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    issuing_region: Mapped[str] = mapped_column(String(6))
    year: Mapped[int] = mapped_column(Integer)
    serial: Mapped[int] = mapped_column(Integer)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime())
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date] = mapped_column(Date)
    consignor_name: Mapped[str] = mapped_column(String(200), index=True, default="")
    consignee_name: Mapped[str] = mapped_column(String(200), index=True, default="")
    producer_name: Mapped[str] = mapped_column(String(200), index=True, default="")
    kid: Mapped[str] = mapped_column(String(64))
    qr_text: Mapped[str] = mapped_column(Text)
    detail_digest: Mapped[bytes] = mapped_column(LargeBinary(32))
    #: ``codec.full_record(cert)``: includes the agent's ID number (registry only).
    record: Mapped[dict[str, Any]] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class LineItemRow(Base):
    __tablename__ = "line_items"
    __table_args__ = (UniqueConstraint("certificate_id", "position"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    certificate_id: Mapped[int] = mapped_column(
        ForeignKey("certificates.id", ondelete="RESTRICT"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    product: Mapped[str] = mapped_column(String(200), index=True)
    variety: Mapped[str] = mapped_column(String(200), default="")
    specification: Mapped[str] = mapped_column(String(200), default="")
    unit: Mapped[str] = mapped_column(String(40), default="")
    quantity: Mapped[Decimal] = mapped_column(Numeric(18, 3, asdecimal=True))
    remarks: Mapped[str] = mapped_column(Text, default="")


class StatusEventRow(Base):
    """Append-only: never updated or deleted (repository API; triggers in the database)."""

    __tablename__ = "status_events"
    __table_args__ = (
        CheckConstraint(_in("type", tuple(t.value for t in EventType)), name="type"),
        Index("ix_status_events_certificate_id_at", "certificate_id", "at"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    certificate_id: Mapped[int] = mapped_column(ForeignKey("certificates.id", ondelete="RESTRICT"))
    type: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    reason: Mapped[str] = mapped_column(Text, default="")
    superseded_by: Mapped[str] = mapped_column(String(18), default="")
    #: Token id or name of whoever recorded the event.
    actor: Mapped[str] = mapped_column(String(100))
    region: Mapped[str] = mapped_column(String(6), default="")
    checkpoint: Mapped[str] = mapped_column(String(200), default="")
    detail: Mapped[dict[str, Any]] = mapped_column(JSONType)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ScanEventRow(Base):
    """A verification at a checkpoint; the number may be unknown to the registry."""

    __tablename__ = "scan_events"
    __table_args__ = (Index("ix_scan_events_number_at", "number", "at"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    number: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    region: Mapped[str] = mapped_column(String(6))
    checkpoint: Mapped[str] = mapped_column(String(200), default="")
    vehicle_plate: Mapped[str] = mapped_column(String(20), default="")
    verdict: Mapped[str] = mapped_column(String(20))
    reason_codes: Mapped[list[str]] = mapped_column(JSONType)
    actor: Mapped[str] = mapped_column(String(100))


class SigningKeyRow(Base):
    """Public part of a signing key and its validity window."""

    __tablename__ = "signing_keys"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    region: Mapped[str] = mapped_column(String(6), index=True)
    kid: Mapped[str] = mapped_column(String(64), unique=True)
    alg: Mapped[str] = mapped_column(String(16))
    spki: Mapped[bytes] = mapped_column(LargeBinary)
    not_before: Mapped[datetime] = mapped_column(UTCDateTime())
    not_after: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ApiTokenRow(Base):
    """An API token; only the SHA-256 of its secret is stored."""

    __tablename__ = "api_tokens"
    __table_args__ = (CheckConstraint(_in("role", ROLES), name="role"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    region: Mapped[str] = mapped_column(String(6))
    label: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class AuditRow(Base):
    """Hash-chained audit log; ``hash`` covers the entry and ``prev_hash``."""

    __tablename__ = "audit_log"

    seq: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(100))
    object: Mapped[str] = mapped_column(String(200))
    details: Mapped[dict[str, Any]] = mapped_column(JSONType)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class NumberCounterRow(Base):
    """Last serial handed out per issuing region and year."""

    __tablename__ = "number_counters"

    region: Mapped[str] = mapped_column(String(6), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last: Mapped[int] = mapped_column(Integer)


class ClaimedNumberRow(Base):
    """Every number handed out or claimed, so that none is handed out twice."""

    __tablename__ = "claimed_numbers"

    number: Mapped[str] = mapped_column(String(18), primary_key=True)
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime())


class IdempotencyRow(Base):
    """The first response to a request carrying an ``Idempotency-Key``."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("key", "actor", "method", "path"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(200))
    actor: Mapped[str] = mapped_column(String(100))
    method: Mapped[str] = mapped_column(String(10))
    path: Mapped[str] = mapped_column(String(500))
    request_hash: Mapped[str] = mapped_column(String(64))
    response_status: Mapped[int] = mapped_column(Integer)
    response_body: Mapped[Any] = mapped_column(JSONType, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
