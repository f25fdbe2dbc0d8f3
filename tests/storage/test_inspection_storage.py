"""Inspection tables on SQLite and PostgreSQL: idempotent alerts, links, the migration's backfill."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from quarantine.core.reuse import Alert, Scan
from quarantine.storage import inspection as store
from quarantine.storage.db import make_engine, upgrade
from tests.storage.conftest import NOW


def test_alerts_are_inserted_once_with_their_regions(sessions: sessionmaker[Session]) -> None:
    a = Alert("PLATE_MISMATCH", "310112-2026-000001", ("310000:1",), "x", "a1")
    b = Alert("TOO_MANY_SCANS", "310112-2026-000001", ("310000:1", "310000:2"), "y", "b2")
    with sessions.begin() as s:
        assert store.add_alerts(s, [a, b, a], {"a1": ["310112", "310115"], "b2": []}, NOW) == [
            "a1",
            "b2",
        ]
    with sessions.begin() as s:
        assert store.add_alerts(s, [a], {"a1": ["320412"]}, NOW) == []
        assert store.add_alerts(s, [], {}, NOW) == []
    with sessions() as s:
        total, rows = store.list_alerts(s, region="310000", status="OPEN")
        assert total == 1 and rows[0].id == "a1" and rows[0].regions == ("310112", "310115")
        assert store.list_alerts(s, region="310115")[0] == 1
        assert store.list_alerts(s, region="320000")[0] == 0
        assert store.list_alerts(s)[0] == 2
    with sessions.begin() as s:
        store.mark_checked(s, "a1", "inspector:t", "ok", NOW)
    with sessions() as s:
        found = store.get_alert(s, "a1")
        assert found is not None and found.status == "CHECKED" and found.checked_at == NOW


def test_scans_are_stored_once_and_read_newest_first(sessions: sessionmaker[Session]) -> None:
    number = "310112-2026-000001"
    scans = [
        Scan(
            f"310000:{i}",
            number,
            NOW + timedelta(minutes=i),
            "310115",
            "站",
            "沪B1",
            (121.5, 31.2) if i % 2 else None,
            "VALID",
        )
        for i in range(5)
    ]
    with sessions.begin() as s:
        assert all(store.add_scan(s, x, origin="310000", actor="a", recorded_at=NOW) for x in scans)
        assert not store.add_scan(s, scans[0], origin="310000", actor="a", recorded_at=NOW)
    with sessions() as s:
        found = store.scans_of(s, number, limit=3)
        assert [x.id for x in found] == ["310000:4", "310000:3", "310000:2"]
        assert found[1].position == (121.5, 31.2) and found[0].position is None
        assert len(store.scans_for(s, [number, "x"])) == 5


def test_links_answer_who_references_a_record(engine: Engine) -> None:
    from quarantine.core.document import from_document
    from tests.web.pg import sample

    project = from_document(sample("project", keep_number=True))
    transport = from_document(sample("transport-inter", keep_number=True))
    sessions = store_sessions(engine)
    with sessions.begin() as s:
        store.add_links(s, [project, transport, project])
    with sessions() as s:
        assert store.referencing(s, ["330109-2026-004871"]) == [str(project.number)]
        assert store.referencing(s, ["330109-2026-004512"]) == [str(transport.number)]
        assert store.referencing(s, []) == []


def store_sessions(engine: Engine) -> sessionmaker[Session]:
    from quarantine.storage.db import session_factory

    return session_factory(engine)


def test_the_migration_fills_links_of_earlier_certificates(empty_url: str) -> None:
    from tests.web.pg import sample

    upgrade(empty_url, "0002")
    record = sample("transport-inter", keep_number=True)
    engine = make_engine(empty_url)
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO certificates (number, kind, issuing_region, year, serial, "
                    "issued_at, valid_from, valid_to, consignor_name, consignee_name, "
                    "producer_name, kid, qr_text, detail_digest, record, created_at) VALUES "
                    "('330109-2026-004871', 'TRANSPORT', '330109', 2026, 4871, :at, :d, :d, "
                    "'', '', '', 'k', 'q', :digest, :record, :at)"
                ),
                {"at": NOW, "d": NOW.date(), "digest": b"\0" * 32, "record": json.dumps(record)},
            )
        upgrade(empty_url)
        with engine.connect() as conn:
            rows = conn.execute(
                select(store.RecordLinkRow.source, store.RecordLinkRow.link).order_by(
                    store.RecordLinkRow.source
                )
            ).all()
            assert [tuple(r) for r in rows] == [
                ("310000-2026-000031", "REQUIREMENT"),
                ("330109-2026-004512", "PRODUCING_AREA"),
            ]
            assert conn.execute(select(func.count()).select_from(store.ProjectRow)).scalar() == 0
    finally:
        engine.dispose()
