"""An arrival that reaches a node after scans of its certificate raises their alerts.

Jiangsu issues a transport certificate and later records its arrival (ARRIVED, which
closes it); Shanghai pulls both from Jiangsu's feed, and its inspectors scan the load in
between.  Scans timed after the arrival raise ``SCANNED_AFTER_CLOSED`` once, whichever
reached Shanghai first; applying the arrival again raises nothing new; an arrival after
every scan raises nothing and reads no certificate.

Each test runs on SQLite and on PostgreSQL (skipped when no server answers).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, event, func, select
from sqlalchemy.orm import Session, sessionmaker

from quarantine.core.document import from_document
from quarantine.core.feed import GENESIS, EntryKind, FeedEntry, SignedEntry, sign_entry
from quarantine.core.keys import Signer
from quarantine.core.model import CertificateNumber
from quarantine.core.signing import sign_certificate
from quarantine.core.trust import Member, TrustedKey, TrustList
from quarantine.services import inspection
from quarantine.storage import db
from quarantine.storage import federation as fed
from quarantine.storage.inspection import AlertRegionRow, AlertRow, scans_of
from tests.conftest import REPO, cst
from tests.load import harness

JS = Signer.generate()
TRUST = TrustList(
    1,
    cst("2026-01-01T00:00"),
    cst("2029-12-31T00:00"),
    (
        Member("310000", "上海", "Shanghai", date(2024, 1, 1)),
        Member("320000", "江苏", "Jiangsu", date(2024, 1, 1)),
    ),
    (TrustedKey("320000", JS.public, cst("2024-01-01T00:00")),),
)
JIANGSU = "320000"
AGENCY = "320506"  # the issuing agency: the certificate's region
PUDONG = "310115"
ISSUED = cst("2026-11-30T09:00")
ARRIVED = cst("2026-12-01T12:00")
#: A certificate number and feed sequence numbers of its own for every case (one database).
SERIALS = itertools.count(1)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    """A migrated database for the module (each case uses a certificate of its own)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('arrival') / 'registry.sqlite3'}"
        db.upgrade(url)
        made = db.make_engine(url)
        yield made
        made.dispose()
        return
    admin, why = harness.pg_admin_engine()
    if admin is None:
        pytest.skip(why)
    try:
        with harness.temp_database(admin, "quarantine_test_arrival") as url:
            db.upgrade(url)
            made = db.make_engine(url)
            yield made
            made.dispose()
    finally:
        admin.dispose()


@dataclass
class Load:
    """One transport certificate of Jiangsu and the entries of Jiangsu's feed about it."""

    number: str
    certificate: SignedEntry
    arrival: SignedEntry


def _load(arrived: datetime = ARRIVED) -> Load:
    serial = next(SERIALS)
    doc: dict[str, Any] = json.loads(
        (REPO / "samples" / "input" / "transport-inter.json").read_text("utf-8")
    )
    doc["number"] = f"{AGENCY}-2026-000001"
    doc["issuing_agency"] = {"region": AGENCY}
    doc["delegating_agency"] = None
    doc["route"]["from"] = AGENCY
    cert = replace(
        from_document(doc),
        number=CertificateNumber(AGENCY, 2026, serial),
        salt=serial.to_bytes(16, "big"),
    )
    qr = sign_certificate(cert, JS, base_url="http://127.0.0.1:8102").text
    first = sign_entry(
        FeedEntry(JIANGSU, 2 * serial - 1, GENESIS, EntryKind.CERTIFICATE, ISSUED, {"qr": qr}), JS
    )
    body = {"number": str(cert.number), "type": "ARRIVED", "at": arrived.isoformat(), "reason": ""}
    second = sign_entry(
        FeedEntry(JIANGSU, 2 * serial, first.hash, EntryKind.STATUS_EVENT, arrived, body), JS
    )
    return Load(str(cert.number), first, second)


def _pull(sessions: sessionmaker[Session], entry: SignedEntry, now: datetime) -> None:
    """Accept one entry of Jiangsu's feed as a pull does (verified, stored, applied)."""
    with sessions.begin() as session:
        fed.peer_state(session, JIANGSU, "http://127.0.0.1:8102", lock=True)
        assert fed.accept_peer_entries(session, JIANGSU, [entry], TRUST, now) == 1


def _scan(sessions: sessionmaker[Session], number: str, at: datetime) -> str:
    with sessions.begin() as session:
        scan, _ = inspection.record_scan(
            session, number=number, at=at, region=PUDONG, actor="tok_inspector", now=at
        )
    return scan.id


def _closed_alerts(sessions: sessionmaker[Session], number: str) -> list[AlertRow]:
    with sessions() as session:
        return list(
            session.execute(
                select(AlertRow).where(
                    AlertRow.number == number, AlertRow.rule == "SCANNED_AFTER_CLOSED"
                )
            ).scalars()
        )


def _all_alerts(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return int(session.execute(select(func.count()).select_from(AlertRow)).scalar_one())


def _minutes(offsets: list[int]) -> list[datetime]:
    return [ARRIVED + timedelta(minutes=m) for m in offsets]


@pytest.mark.parametrize(
    ("before", "after", "closed_out"),
    [
        # scans known before the arrival is pulled (minutes from the arrival), scans after
        ([-60, 90], [], [90]),  # the arrival pulled after a later scan: alert raised
        ([30, 120], [], [30, 120]),  # two later scans: one alert each
        ([-120, -30], [], []),  # the arrival after every scan: nothing
        ([], [-30, 60], [60]),  # the arrival known first: the later scan raised it itself
        ([-30], [60], [60]),
        ([], [], []),  # no scans at all
    ],
    ids=["later-scan-first", "two-later", "all-before", "arrival-first", "mixed", "no-scans"],
)
def test_an_arrival_closes_out_the_scans_made_after_it(
    engine: Engine, before: list[int], after: list[int], closed_out: list[int]
) -> None:
    sessions = db.session_factory(engine)
    load = _load()
    _pull(sessions, load.certificate, ISSUED)
    ids = {at: _scan(sessions, load.number, at) for at in _minutes(before)}
    _pull(sessions, load.arrival, ARRIVED + timedelta(hours=6))
    ids |= {at: _scan(sessions, load.number, at) for at in _minutes(after)}
    expected = {ids[at] for at in _minutes(closed_out)}
    alerts = _closed_alerts(sessions, load.number)
    assert sorted(s for a in alerts for s in a.scans) == sorted(expected)
    assert all(len(a.scans) == 1 and datetime.fromisoformat(a.detail) == ARRIVED for a in alerts)
    with sessions() as session:
        for alert in alerts:  # the scan's place and the issuing region
            assert set(
                session.execute(
                    select(AlertRegionRow.region).where(AlertRegionRow.alert_id == alert.id)
                ).scalars()
            ) == {PUDONG, AGENCY}
    # applying the same arrival again (a node re-applying an entry) inserts nothing
    total = _all_alerts(sessions)
    with sessions.begin() as session:
        fed.apply_entries(session, [load.arrival], TRUST, ARRIVED + timedelta(hours=7))
    assert _all_alerts(sessions) == total
    assert sorted(a.id for a in _closed_alerts(sessions, load.number)) == sorted(
        a.id for a in alerts
    )


def test_re_evaluation_is_idempotent_and_matches_a_scan_s_own_evaluation(engine: Engine) -> None:
    """The alert raised when the arrival comes late has the id a scan evaluated after
    the arrival raises; evaluating either way again adds nothing."""
    sessions = db.session_factory(engine)
    load = _load()
    _pull(sessions, load.certificate, ISSUED)
    late = _scan(sessions, load.number, ARRIVED + timedelta(hours=1))
    _pull(sessions, load.arrival, ARRIVED + timedelta(hours=2))
    [alert] = _closed_alerts(sessions, load.number)
    with sessions.begin() as session:
        [stored] = scans_of(session, load.number)
        again = inspection.evaluate_scan(session, stored, now=ARRIVED + timedelta(hours=3))
        repeated = inspection.on_arrivals(
            session, [(load.number, ARRIVED)], ARRIVED + timedelta(hours=3)
        )
    assert [a.id for a in again if a.rule == "SCANNED_AFTER_CLOSED"] == [alert.id]
    assert [(a.id, a.scans) for a in repeated] == [(alert.id, (late,))]
    assert [a.id for a in _closed_alerts(sessions, load.number)] == [alert.id]


def test_an_arrival_after_every_scan_reads_no_certificate(engine: Engine) -> None:
    sessions = db.session_factory(engine)
    load = _load()
    _pull(sessions, load.certificate, ISSUED)
    _scan(sessions, load.number, ARRIVED - timedelta(hours=1))
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", seen)
    try:
        _pull(sessions, load.arrival, ARRIVED + timedelta(hours=1))
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    reads = [s for s in statements if "inspection_scans" in s]
    assert len(reads) == 1  # the scans after the arrival: none
    assert not [s for s in statements if "shared_records" in s or "FROM certificates" in s]
    assert not [s for s in statements if "inspection_alerts" in s]
    assert _closed_alerts(sessions, load.number) == []
