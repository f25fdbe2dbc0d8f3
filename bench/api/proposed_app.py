"""The service with the proposed registry status look-up, to measure the proposal.

    python bench/api/serve_tcp.py proposed_app:build --app-dir bench/api --port P --workers N

Identical to ``quarantine.web.asgi:build`` except that verification asks the registry
with one statement on an autocommit connection without a pre-ping (one round trip)
instead of ``RegistryStatusSource``'s two statements in a transaction on a pre-pinged
connection (five round trips: ping, BEGIN, two SELECTs, COMMIT).  The answer is the
same ``StatusInfo``.  Nothing else changes; the benchmark serves it like the others.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import FastAPI
from sqlalchemy import Engine, create_engine, make_url, text

from quarantine.core.status import EventType, StatusEvent, StatusInfo
from quarantine.settings import Settings
from quarantine.web.app import create_app

_LOOKUP = text(
    "SELECT c.id, e.type, e.at, e.reason, e.superseded_by FROM certificates c "
    "LEFT JOIN status_events e ON e.certificate_id = c.id "
    "WHERE c.number = :number ORDER BY e.at, e.id"
)


class OneStatementStatusSource:
    """``StatusSource`` over the registry in one round trip (autocommit, no pre-ping)."""

    engine: Engine | None = None

    def __init__(self, session: Any = None) -> None:
        del session  # the unit of work stays unused: no connection, no BEGIN/COMMIT

    def lookup(self, number: str, now: datetime) -> StatusInfo:
        assert self.engine is not None
        with self.engine.connect() as conn:
            rows = conn.execute(_LOOKUP, {"number": number}).all()
        if not rows:
            return StatusInfo(known=False, as_of=now, source="registry")
        events = tuple(
            StatusEvent(EventType(r.type), r.at, r.reason, r.superseded_by)
            for r in rows
            if r.type is not None
        )
        return StatusInfo(known=True, events=events, as_of=now, source="registry")


def build() -> FastAPI:
    from quarantine.storage import events

    settings = Settings.from_env()
    url = make_url(settings.database_url or "")
    OneStatementStatusSource.engine = create_engine(
        url.set(drivername="postgresql+psycopg"),
        isolation_level="AUTOCOMMIT",
        pool_size=10,
        max_overflow=10,
        connect_args={"options": "-c timezone=UTC"},
    )
    # ``verify_and_record`` imports the name at call time: this is what it gets.
    events.RegistryStatusSource = OneStatementStatusSource  # type: ignore[misc,assignment]
    return create_app(settings)
