"""The ``(number, at)`` index of ``inspection_scans`` covers what the reuse rules read.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28

On PostgreSQL the index is rebuilt with ``INCLUDE (uid, region, checkpoint, plate,
lon, lat, verdict)``, so that the earlier scans of a certificate are an index-only
range read.  SQLite has no ``INCLUDE``: nothing changes there.  The rebuild reads the
whole table once (about a minute for ten million scans).
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INCLUDE = ["uid", "region", "checkpoint", "plate", "lon", "lat", "verdict"]


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_index("ix_inspection_scans_number_at", table_name="inspection_scans")
    op.create_index(
        "ix_inspection_scans_number_at",
        "inspection_scans",
        ["number", "at"],
        postgresql_include=INCLUDE,
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_index("ix_inspection_scans_number_at", table_name="inspection_scans")
    op.create_index("ix_inspection_scans_number_at", "inspection_scans", ["number", "at"])
