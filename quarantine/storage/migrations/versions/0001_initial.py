"""Initial registry schema: certificates, events, keys, tokens, audit log, counters.

Revision ID: 0001
Revises:
Create Date: 2026-05-01

Written by hand (checked against ``models.py`` by the test suite) so that it
runs unchanged on SQLite and PostgreSQL.  ``status_events`` and ``audit_log``
get triggers refusing UPDATE and DELETE (and TRUNCATE on PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APPEND_ONLY_TABLES = ("status_events", "audit_log")
EVENT_TYPES = ("REVOKED", "SUPERSEDED", "SUSPENDED", "REINSTATED", "REINSPECTED", "ARRIVED")
ROLES = ("issuer", "inspector", "admin")


def _id() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _ts() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    op.create_table(
        "certificates",
        sa.Column("id", _id(), autoincrement=True, nullable=False),
        sa.Column("number", sa.String(18), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("issuing_region", sa.String(6), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("serial", sa.Integer(), nullable=False),
        sa.Column("issued_at", _ts(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=False),
        sa.Column("consignor_name", sa.String(200), nullable=False),
        sa.Column("consignee_name", sa.String(200), nullable=False),
        sa.Column("producer_name", sa.String(200), nullable=False),
        sa.Column("kid", sa.String(64), nullable=False),
        sa.Column("qr_text", sa.Text(), nullable=False),
        sa.Column("detail_digest", sa.LargeBinary(32), nullable=False),
        sa.Column("record", _json(), nullable=False),
        sa.Column("created_at", _ts(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_certificates"),
        sa.UniqueConstraint("number", name="uq_certificates_number"),
        sa.UniqueConstraint(
            "issuing_region", "year", "serial", name="uq_certificates_issuing_region_year_serial"
        ),
    )
    for column in ("consignor_name", "consignee_name", "producer_name"):
        op.create_index(f"ix_certificates_{column}", "certificates", [column])
    op.create_index("ix_certificates_issued_at_id", "certificates", ["issued_at", "id"])

    op.create_table(
        "line_items",
        sa.Column("id", _id(), autoincrement=True, nullable=False),
        sa.Column("certificate_id", _id(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("product", sa.String(200), nullable=False),
        sa.Column("variety", sa.String(200), nullable=False),
        sa.Column("specification", sa.String(200), nullable=False),
        sa.Column("unit", sa.String(40), nullable=False),
        sa.Column("quantity", sa.Numeric(18, 3), nullable=False),
        sa.Column("remarks", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["certificate_id"],
            ["certificates.id"],
            name="fk_line_items_certificate_id_certificates",
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_line_items"),
        sa.UniqueConstraint(
            "certificate_id", "position", name="uq_line_items_certificate_id_position"
        ),
    )
    op.create_index("ix_line_items_certificate_id", "line_items", ["certificate_id"])
    op.create_index("ix_line_items_product", "line_items", ["product"])

    op.create_table(
        "status_events",
        sa.Column("id", _id(), autoincrement=True, nullable=False),
        sa.Column("certificate_id", _id(), nullable=False),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("at", _ts(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("superseded_by", sa.String(18), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("region", sa.String(6), nullable=False),
        sa.Column("checkpoint", sa.String(200), nullable=False),
        sa.Column("detail", _json(), nullable=False),
        sa.Column("recorded_at", _ts(), nullable=False),
        sa.CheckConstraint(_in("type", EVENT_TYPES), name="ck_status_events_type"),
        sa.ForeignKeyConstraint(
            ["certificate_id"],
            ["certificates.id"],
            name="fk_status_events_certificate_id_certificates",
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_status_events"),
    )
    op.create_index("ix_status_events_certificate_id_at", "status_events", ["certificate_id", "at"])

    op.create_table(
        "scan_events",
        sa.Column("id", _id(), autoincrement=True, nullable=False),
        sa.Column("number", sa.String(64), nullable=False),
        sa.Column("at", _ts(), nullable=False),
        sa.Column("region", sa.String(6), nullable=False),
        sa.Column("checkpoint", sa.String(200), nullable=False),
        sa.Column("vehicle_plate", sa.String(20), nullable=False),
        sa.Column("verdict", sa.String(20), nullable=False),
        sa.Column("reason_codes", _json(), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_scan_events"),
    )
    op.create_index("ix_scan_events_at", "scan_events", ["at"])
    op.create_index("ix_scan_events_number_at", "scan_events", ["number", "at"])

    op.create_table(
        "signing_keys",
        sa.Column("id", _id(), autoincrement=True, nullable=False),
        sa.Column("region", sa.String(6), nullable=False),
        sa.Column("kid", sa.String(64), nullable=False),
        sa.Column("alg", sa.String(16), nullable=False),
        sa.Column("spki", sa.LargeBinary(), nullable=False),
        sa.Column("not_before", _ts(), nullable=False),
        sa.Column("not_after", _ts(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_signing_keys"),
        sa.UniqueConstraint("kid", name="uq_signing_keys_kid"),
    )
    op.create_index("ix_signing_keys_region", "signing_keys", ["region"])

    op.create_table(
        "api_tokens",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("region", sa.String(6), nullable=False),
        sa.Column("label", sa.String(200), nullable=False),
        sa.Column("created_at", _ts(), nullable=False),
        sa.Column("revoked_at", _ts(), nullable=True),
        sa.CheckConstraint(_in("role", ROLES), name="ck_api_tokens_role"),
        sa.PrimaryKeyConstraint("id", name="pk_api_tokens"),
        sa.UniqueConstraint("token_hash", name="uq_api_tokens_token_hash"),
    )

    op.create_table(
        "audit_log",
        sa.Column("seq", _id(), autoincrement=False, nullable=False),
        sa.Column("at", _ts(), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("action", sa.String(100), nullable=False),
        sa.Column("object", sa.String(200), nullable=False),
        sa.Column("details", _json(), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_audit_log"),
    )

    op.create_table(
        "number_counters",
        sa.Column("region", sa.String(6), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("region", "year", name="pk_number_counters"),
    )
    op.create_table(
        "claimed_numbers",
        sa.Column("number", sa.String(18), nullable=False),
        sa.Column("claimed_at", _ts(), nullable=False),
        sa.PrimaryKeyConstraint("number", name="pk_claimed_numbers"),
    )

    op.create_table(
        "idempotency_keys",
        sa.Column("id", _id(), autoincrement=True, nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("method", sa.String(10), nullable=False),
        sa.Column("path", sa.String(500), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("response_status", sa.Integer(), nullable=False),
        sa.Column("response_body", _json(), nullable=False),
        sa.Column("created_at", _ts(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_idempotency_keys"),
        sa.UniqueConstraint(
            "key", "actor", "method", "path", name="uq_idempotency_keys_key_actor_method_path"
        ),
    )
    op.create_index("ix_idempotency_keys_created_at", "idempotency_keys", ["created_at"])

    _append_only_triggers()


def _append_only_triggers() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute(
            """
            CREATE FUNCTION quarantine_append_only() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'APPEND_ONLY: % on % refused (append-only table)',
                    TG_OP, TG_TABLE_NAME;
            END
            $$
            """
        )
        for table in APPEND_ONLY_TABLES:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION quarantine_append_only()"
            )
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION quarantine_append_only()"
            )
    elif dialect == "sqlite":
        for table in APPEND_ONLY_TABLES:
            for what in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{what.lower()} BEFORE {what} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, 'APPEND_ONLY: {what} on {table} refused "
                    "(append-only table)'); END"
                )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for table in APPEND_ONLY_TABLES:
        if dialect == "postgresql":
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        elif dialect == "sqlite":
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_update")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")
    if dialect == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS quarantine_append_only()")
    for table in (
        "idempotency_keys",
        "claimed_numbers",
        "number_counters",
        "audit_log",
        "api_tokens",
        "signing_keys",
        "scan_events",
        "status_events",
        "line_items",
        "certificates",
    ):
        op.drop_table(table)
