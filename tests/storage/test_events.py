"""Status events: append-only, terminal events exclusive, the registry StatusSource."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from quarantine.core.model import Certificate
from quarantine.core.status import EventType, StatusEvent, status_codes
from quarantine.errors import InputError
from quarantine.storage.models import CertificateRow, StatusEventRow
from quarantine.storage.repositories import (
    CertificateStore,
    EventStore,
    NumberCounter,
    RegistryStatusSource,
)
from tests.conftest import cst
from tests.storage.conftest import NOW, numbered

NUMBER = "330109-2026-004871"
AT = cst("2026-11-30T09:00")


@pytest.fixture
def stored(sessions: sessionmaker[Session], reference_cert: Certificate) -> str:
    with sessions.begin() as s:
        CertificateStore(s).add(reference_cert, "HC1:X", "k", NOW)
    return NUMBER


def test_append_and_read_events(sessions: sessionmaker[Session], stored: str) -> None:
    with sessions.begin() as s:
        events = EventStore(s)
        events.append(
            stored,
            StatusEvent(EventType.SUSPENDED, AT, "疫情排查"),
            "tok_1",
            NOW,
            region="330109",
            checkpoint="G60 枫泾",
            detail={"case": 7},
        )
        events.append(stored, StatusEvent(EventType.REINSTATED, AT + timedelta(hours=2)), "a", NOW)
        events.append(stored, StatusEvent(EventType.REINSPECTED, AT - timedelta(hours=1)), "a", NOW)
    with sessions() as s:
        got = EventStore(s).events(stored)
    assert [e.type for e in got] == [
        EventType.REINSPECTED,
        EventType.SUSPENDED,
        EventType.REINSTATED,
    ]
    first = got[1]
    assert (first.reason, first.actor, first.region, first.checkpoint) == (
        "疫情排查",
        "tok_1",
        "330109",
        "G60 枫泾",
    )
    assert first.detail == {"case": 7}
    assert first.at == AT and first.at.tzinfo is not None
    assert first.recorded_at == NOW
    assert first.status_event == StatusEvent(EventType.SUSPENDED, AT, "疫情排查")


def test_unknown_certificate(sessions: sessionmaker[Session]) -> None:
    with sessions() as s:
        with pytest.raises(InputError) as exc:
            EventStore(s).append("330109-2026-000404", StatusEvent(EventType.ARRIVED, AT), "a", NOW)
        assert exc.value.code == "UNKNOWN_CERTIFICATE"
        assert EventStore(s).events("330109-2026-000404") == ()


def test_superseded_must_name_the_new_certificate(
    sessions: sessionmaker[Session], stored: str
) -> None:
    with sessions() as s:
        with pytest.raises(InputError) as exc:
            EventStore(s).append(stored, StatusEvent(EventType.SUPERSEDED, AT), "a", NOW)
        assert exc.value.code == "SUPERSEDED_BY_REQUIRED"
        with pytest.raises(InputError) as exc:
            EventStore(s).append(
                stored, StatusEvent(EventType.REVOKED, AT, "", "330109-2026-000002"), "a", NOW
            )
        assert exc.value.code == "SUPERSEDED_BY_UNEXPECTED"


def test_status_source(sessions: sessionmaker[Session], stored: str) -> None:
    with sessions.begin() as s:
        EventStore(s).append(stored, StatusEvent(EventType.REVOKED, AT, "伪造"), "a", NOW)
    with sessions() as s:
        source = RegistryStatusSource(s)
        info = source.lookup(stored, NOW)
        unknown = source.lookup("330109-2026-000404", NOW)
        garbage = source.lookup("not a number", NOW)
    assert info.known and info.source == "registry" and info.as_of == NOW
    assert info.events == (StatusEvent(EventType.REVOKED, AT, "伪造"),)
    assert [code for code, _ in status_codes(info.events, NOW)] == ["REVOKED"]
    assert not unknown.known and unknown.events == () and unknown.source == "registry"
    assert not garbage.known


def test_a_second_terminal_event_is_refused(sessions: sessionmaker[Session], stored: str) -> None:
    with sessions.begin() as s:
        EventStore(s).append_exclusive(stored, StatusEvent(EventType.REVOKED, AT, "x"), "a", NOW)
    for event, code in [
        (StatusEvent(EventType.REVOKED, AT, "again"), "ALREADY_REVOKED"),
        (StatusEvent(EventType.SUPERSEDED, AT, "", "330109-2026-000002"), "ALREADY_REVOKED"),
    ]:
        with sessions() as s, pytest.raises(InputError) as exc:
            EventStore(s).append(stored, event, "a", NOW)  # plain append takes the same path
        assert exc.value.code == code
        assert "已被撤销" in exc.value.message_zh


def test_status_events_are_append_only(
    engine: Engine, sessions: sessionmaker[Session], stored: str
) -> None:
    with sessions.begin() as s:
        EventStore(s).append(stored, StatusEvent(EventType.SUSPENDED, AT), "a", NOW)
    for sql in (
        "UPDATE status_events SET reason = 'rewritten'",
        "DELETE FROM status_events",
    ):
        with pytest.raises(DBAPIError, match="APPEND_ONLY"), engine.begin() as conn:
            conn.execute(text(sql))
    if engine.dialect.name == "postgresql":
        with pytest.raises(DBAPIError, match="APPEND_ONLY"), engine.begin() as conn:
            conn.execute(text("TRUNCATE status_events"))
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(StatusEventRow)).scalar_one() == 1
    # Certificates with events cannot be deleted either (foreign key, RESTRICT).
    with pytest.raises(DBAPIError), engine.begin() as conn:
        conn.execute(text("DELETE FROM certificates"))


def test_concurrent_revoke_and_supersede_end_in_one_state(
    sessions: sessionmaker[Session], stored: str, reference_cert: Certificate
) -> None:
    """Both lock the certificate; the second sees the first's terminal event and fails.

    The supersede also issues the new certificate in its transaction: when it
    loses, nothing of it is left behind.
    """
    start = threading.Barrier(2)

    def revoke() -> str:
        with sessions() as s:
            start.wait()
            try:
                with s.begin():
                    EventStore(s).append_exclusive(
                        stored, StatusEvent(EventType.REVOKED, AT, "伪造"), "a", NOW
                    )
                    time.sleep(0.3)  # hold the lock while the other one tries
            except InputError as exc:
                return exc.code
            return "ok"

    def supersede() -> str:
        with sessions() as s:
            start.wait()
            try:
                with s.begin():
                    new = NumberCounter(s).allocate("330109", 2026, NOW)
                    CertificateStore(s).add(numbered(reference_cert, str(new)), "HC1:N", "k", NOW)
                    EventStore(s).append_exclusive(
                        stored,
                        StatusEvent(EventType.SUPERSEDED, AT, "换证", str(new)),
                        "b",
                        NOW,
                    )
                    time.sleep(0.3)
            except InputError as exc:
                return exc.code
            return "ok"

    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = sorted(f.result() for f in [pool.submit(revoke), pool.submit(supersede)])
    assert outcomes[1] == "ok"
    assert outcomes[0] in ("ALREADY_REVOKED", "ALREADY_SUPERSEDED")
    with sessions() as s:
        events = EventStore(s).events(stored)
        certificates = s.execute(select(func.count()).select_from(CertificateRow)).scalar_one()
    assert len(events) == 1
    winner = events[0].type
    assert certificates == (2 if winner is EventType.SUPERSEDED else 1)
    assert outcomes[0] == (
        "ALREADY_REVOKED" if winner is EventType.REVOKED else "ALREADY_SUPERSEDED"
    )
