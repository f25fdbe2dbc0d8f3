"""Federation: this node's signed feed, entries accepted from peers, peers' sync state,
the operators registry and the shared records view.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28

Written by hand (checked against ``quarantine/storage/federation.py`` by the test
suite) so that it runs unchanged on SQLite and PostgreSQL.  ``feed_entries`` and
``peer_entries`` get triggers refusing UPDATE and DELETE (and TRUNCATE on
PostgreSQL): feeds are append-only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APPEND_ONLY_TABLES = ("feed_entries", "peer_entries")


def _id() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _ts() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "feed_entries",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("origin", sa.String(6), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("at", _ts(), nullable=False),
        sa.Column("hash", sa.LargeBinary(32), nullable=False),
        sa.Column("prev_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("cose", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", _ts(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_feed_entries"),
    )
    op.create_table(
        "peer_entries",
        sa.Column("id", _id(), autoincrement=True, nullable=False),
        sa.Column("origin", sa.String(6), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("at", _ts(), nullable=False),
        sa.Column("hash", sa.LargeBinary(32), nullable=False),
        sa.Column("prev_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("cose", sa.LargeBinary(), nullable=False),
        sa.Column("accepted_at", _ts(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_peer_entries"),
        sa.UniqueConstraint("origin", "seq", name="uq_peer_entries_origin_seq"),
    )
    op.create_table(
        "peer_state",
        sa.Column("region", sa.String(6), nullable=False),
        sa.Column("base_url", sa.String(500), nullable=False),
        sa.Column("head_seq", sa.BigInteger(), nullable=False),
        sa.Column("head_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("accepted_total", sa.BigInteger(), nullable=False),
        sa.Column("last_attempt_at", _ts(), nullable=True),
        sa.Column("last_success_at", _ts(), nullable=True),
        sa.Column("halted_at", _ts(), nullable=True),
        sa.Column("alert_code", sa.String(40), nullable=False),
        sa.Column("alert_message", sa.Text(), nullable=False),
        sa.Column("alert_at", _ts(), nullable=True),
        sa.PrimaryKeyConstraint("region", name="pk_peer_state"),
    )
    op.create_table(
        "operators",
        sa.Column("registration", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("region", sa.String(6), nullable=False),
        sa.Column("origin", sa.String(6), nullable=False),
        sa.Column("registered_on", sa.Date(), nullable=False),
        sa.Column("barred_from", sa.Date(), nullable=True),
        sa.Column("barred_until", sa.Date(), nullable=True),
        sa.Column("bar_reason", sa.Text(), nullable=False),
        sa.Column("updated_at", _ts(), nullable=False),
        sa.PrimaryKeyConstraint("registration", name="pk_operators"),
    )
    op.create_index("ix_operators_region", "operators", ["region"])
    op.create_index("ix_operators_name", "operators", ["name"])
    op.create_table(
        "shared_records",
        sa.Column("number", sa.String(18), nullable=False),
        sa.Column("origin", sa.String(6), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("issuing_region", sa.String(6), nullable=False),
        sa.Column("issued_at", _ts(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=False),
        sa.Column("category", sa.String(100), nullable=False),
        sa.Column("products", sa.Text(), nullable=False),
        sa.Column("consignor_name", sa.String(200), nullable=False),
        sa.Column("consignee_name", sa.String(200), nullable=False),
        sa.Column("consignee_registration", sa.String(64), nullable=False),
        sa.Column("producer_name", sa.String(200), nullable=False),
        sa.Column("producer_registration", sa.String(64), nullable=False),
        sa.Column("kid", sa.String(64), nullable=False),
        sa.Column("qr_text", sa.Text(), nullable=False),
        sa.Column("received_at", _ts(), nullable=False),
        sa.PrimaryKeyConstraint("number", name="pk_shared_records"),
    )
    op.create_index("ix_shared_records_kind_valid_to", "shared_records", ["kind", "valid_to"])
    op.create_index("ix_shared_records_origin", "shared_records", ["origin"])
    op.create_index("ix_shared_records_producer_name", "shared_records", ["producer_name"])
    op.create_index(
        "ix_shared_records_consignee_category", "shared_records", ["consignee_name", "category"]
    )
    op.create_table(
        "shared_events",
        sa.Column("id", _id(), autoincrement=True, nullable=False),
        sa.Column("number", sa.String(18), nullable=False),
        sa.Column("origin", sa.String(6), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("at", _ts(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("superseded_by", sa.String(18), nullable=False),
        sa.Column("detail", _json(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_shared_events"),
        sa.UniqueConstraint("origin", "seq", name="uq_shared_events_origin_seq"),
    )
    op.create_index("ix_shared_events_number", "shared_events", ["number"])
    _append_only(op.get_bind().dialect.name)


def _append_only(dialect: str) -> None:
    if dialect == "postgresql":
        op.execute(
            """
            CREATE OR REPLACE FUNCTION quarantine_feed_append_only() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
            END;
            $$ LANGUAGE plpgsql
            """
        )
        for table in APPEND_ONLY_TABLES:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE OR TRUNCATE "
                f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION quarantine_feed_append_only()"
            )
        return
    for table in APPEND_ONLY_TABLES:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
            )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for table in APPEND_ONLY_TABLES:
        if dialect == "postgresql":
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        else:
            for verb in ("update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{verb}")
    if dialect == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS quarantine_feed_append_only()")
    op.drop_index("ix_shared_events_number", table_name="shared_events")
    op.drop_table("shared_events")
    for index in (
        "ix_shared_records_consignee_category",
        "ix_shared_records_producer_name",
        "ix_shared_records_origin",
        "ix_shared_records_kind_valid_to",
    ):
        op.drop_index(index, table_name="shared_records")
    op.drop_table("shared_records")
    op.drop_index("ix_operators_name", table_name="operators")
    op.drop_index("ix_operators_region", table_name="operators")
    op.drop_table("operators")
    op.drop_table("peer_state")
    op.drop_table("peer_entries")
    op.drop_table("feed_entries")
