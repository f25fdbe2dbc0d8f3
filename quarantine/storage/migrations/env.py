"""Alembic environment of the registry (run through ``quarantine.storage.db.upgrade``).

The caller passes an open connection in ``config.attributes["connection"]``;
without one (the ``alembic`` command line with ``-x url=...``) an engine is made
from that URL or from ``QUARANTINE_DATABASE_URL``.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, text

from quarantine.storage.models import Base

#: Serialises concurrent upgrades of one PostgreSQL database (any constant works).
_PG_MIGRATION_LOCK = 0x5155_4152_414E  # "QUARAN"


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    import os

    from quarantine.storage.db import make_engine

    url = context.get_x_argument(as_dictionary=True).get("url") or os.environ.get(
        "QUARANTINE_DATABASE_URL", ""
    )
    if not url:
        raise SystemExit("set QUARANTINE_DATABASE_URL or pass -x url=...")
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            _run(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported")
run_migrations_online()
