"""Inspection across the Delta: shared scans with positions, reuse alerts, violations,
record links for the trace, greening projects and their batches.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28

Written by hand (checked against ``quarantine/storage/inspection.py`` by the test
suite) so that it runs unchanged on SQLite and PostgreSQL.  The links of the
certificates already in the registry are filled in from their records.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _id() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _ts() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "inspection_scans",
        sa.Column("uid", sa.String(64), nullable=False),
        sa.Column("origin", sa.String(6), nullable=False),
        sa.Column("number", sa.String(64), nullable=False),
        sa.Column("at", _ts(), nullable=False),
        sa.Column("region", sa.String(6), nullable=False),
        sa.Column("checkpoint", sa.String(200), nullable=False),
        sa.Column("plate", sa.String(20), nullable=False),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("verdict", sa.String(20), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("recorded_at", _ts(), nullable=False),
        sa.PrimaryKeyConstraint("uid", name="pk_inspection_scans"),
    )
    op.create_index("ix_inspection_scans_number_at", "inspection_scans", ["number", "at"])
    op.create_table(
        "inspection_alerts",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("rule", sa.String(32), nullable=False),
        sa.Column("number", sa.String(64), nullable=False),
        sa.Column("scans", _json(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("raised_at", _ts(), nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("checked_by", sa.String(100), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("checked_at", _ts(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_inspection_alerts"),
    )
    op.create_index(
        "ix_inspection_alerts_status_raised_at", "inspection_alerts", ["status", "raised_at"]
    )
    op.create_index("ix_inspection_alerts_number", "inspection_alerts", ["number"])
    op.create_table(
        "alert_regions",
        sa.Column("alert_id", sa.String(32), nullable=False),
        sa.Column("region", sa.String(6), nullable=False),
        sa.ForeignKeyConstraint(
            ["alert_id"],
            ["inspection_alerts.id"],
            name="fk_alert_regions_alert_id_inspection_alerts",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("alert_id", "region", name="pk_alert_regions"),
    )
    op.create_index("ix_alert_regions_region", "alert_regions", ["region"])
    op.create_table(
        "violations",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("operator", sa.String(64), nullable=False),
        sa.Column("region", sa.String(6), nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("severity", sa.Integer(), nullable=False),
        sa.Column("at", _ts(), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("certificate", sa.String(18), nullable=False),
        sa.Column("origin", sa.String(6), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("recorded_by", sa.String(100), nullable=False),
        sa.Column("recorded_at", _ts(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_violations"),
    )
    op.create_index("ix_violations_operator_at", "violations", ["operator", "at"])
    op.create_table(
        "record_links",
        sa.Column("source", sa.String(18), nullable=False),
        sa.Column("target", sa.String(18), nullable=False),
        sa.Column("link", sa.String(16), nullable=False),
        sa.PrimaryKeyConstraint("source", "target", "link", name="pk_record_links"),
    )
    op.create_table(
        "projects",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("district", sa.String(6), nullable=False),
        sa.Column("contractor", sa.String(200), nullable=False),
        sa.Column("site", sa.String(500), nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", _ts(), nullable=False),
        sa.Column("certificate", sa.String(18), nullable=False),
        sa.Column("issued_at", _ts(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_projects"),
    )
    op.create_index("ix_projects_district", "projects", ["district"])
    op.create_table(
        "project_batches",
        sa.Column("id", _id(), autoincrement=True, nullable=False),
        sa.Column("project_id", sa.String(32), nullable=False),
        sa.Column("number", sa.String(18), nullable=False),
        sa.Column("source", sa.String(8), nullable=False),
        sa.Column("added_by", sa.String(100), nullable=False),
        sa.Column("checked_at", _ts(), nullable=False),
        sa.Column("accepted", sa.Boolean(), nullable=False),
        sa.Column("reasons", _json(), nullable=False),
        sa.Column("reinspected_at", _ts(), nullable=True),
        sa.Column("passed", sa.Boolean(), nullable=True),
        sa.Column("reinspection_note", sa.Text(), nullable=False),
        sa.Column("inspector", sa.String(100), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name="fk_project_batches_project_id_projects",
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_project_batches"),
        sa.UniqueConstraint("project_id", "number", name="uq_project_batches_project_id_number"),
    )
    op.create_index("ix_project_batches_number", "project_batches", ["number"])
    _backfill_links()


def _backfill_links() -> None:
    """Links of the certificates issued before this revision (from their records)."""
    bind = op.get_bind()
    links = sa.table("record_links", sa.column("source"), sa.column("target"), sa.column("link"))
    fields = (
        ("producing_area_pass", "PRODUCING_AREA"),
        ("requirement_letter", "REQUIREMENT"),
        ("original", "REISSUE"),
    )
    seen: set[tuple[str, str, str]] = set()
    rows = bind.execute(sa.text("SELECT number, record FROM certificates")).all()
    for number, record in rows:
        doc = record if isinstance(record, dict) else _loads(record)
        refs = doc.get("references") or {}
        if not isinstance(refs, dict):
            continue
        for key, link in fields:
            source = refs.get(key)
            if isinstance(source, str) and source:
                seen.add((source[:18], number, link))
        for source in refs.get("certificates") or ():
            if isinstance(source, str) and source:
                seen.add((source[:18], number, "PROJECT"))
    if seen:
        op.bulk_insert(links, [{"source": s, "target": t, "link": k} for s, t, k in sorted(seen)])


def _loads(raw: Any) -> dict[str, Any]:
    import json

    try:
        doc = json.loads(raw) if isinstance(raw, str | bytes) else {}
    except ValueError:
        return {}
    return doc if isinstance(doc, dict) else {}


def downgrade() -> None:
    op.drop_index("ix_project_batches_number", table_name="project_batches")
    op.drop_table("project_batches")
    op.drop_index("ix_projects_district", table_name="projects")
    op.drop_table("projects")
    op.drop_table("record_links")
    op.drop_index("ix_violations_operator_at", table_name="violations")
    op.drop_table("violations")
    op.drop_index("ix_alert_regions_region", table_name="alert_regions")
    op.drop_table("alert_regions")
    op.drop_index("ix_inspection_alerts_number", table_name="inspection_alerts")
    op.drop_index("ix_inspection_alerts_status_raised_at", table_name="inspection_alerts")
    op.drop_table("inspection_alerts")
    op.drop_index("ix_inspection_scans_number_at", table_name="inspection_scans")
    op.drop_table("inspection_scans")
