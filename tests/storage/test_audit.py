"""The hash-chained audit log."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from quarantine.storage.audit import GENESIS, entry_hash
from quarantine.storage.repositories import AuditLog
from tests.storage.conftest import NOW, raw_admin


def _fill(sessions: sessionmaker[Session], n: int = 5) -> None:
    for i in range(n):
        with sessions.begin() as s:
            AuditLog(s).append(
                f"tok_{i}",
                "certificate.revoke",
                f"330109-2026-00000{i}",
                {"reason": "伪造", "i": i, "nested": {"b": [1, 2.5, None], "a": True}},
                NOW + timedelta(seconds=i, microseconds=123),
            )


def test_entries_are_chained(sessions: sessionmaker[Session]) -> None:
    _fill(sessions)
    with sessions() as s:
        log = AuditLog(s)
        assert log.verify() == (True, None)
        assert log.count() == 5
        head = log.head()
    assert head is not None and head.seq == 5
    with sessions.begin() as s:
        first = AuditLog(s).append("admin", "token.create", "tok_x", {}, NOW)
    assert first.seq == 6 and first.prev_hash == head.hash
    assert first.hash == entry_hash(6, NOW, "admin", "token.create", "tok_x", {}, head.hash)


def test_an_empty_log_verifies(sessions: sessionmaker[Session]) -> None:
    with sessions() as s:
        assert AuditLog(s).verify() == (True, None)
        assert AuditLog(s).head() is None


def test_first_entry_links_to_genesis(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        entry = AuditLog(s).append("a", "x", "y", {"k": "v"}, NOW)
    assert entry.seq == 1 and entry.prev_hash == GENESIS


def test_audit_log_refuses_update_and_delete(
    engine: Engine, sessions: sessionmaker[Session]
) -> None:
    _fill(sessions, 2)
    for sql in ("UPDATE audit_log SET actor = 'mallory'", "DELETE FROM audit_log WHERE seq = 2"):
        with pytest.raises(DBAPIError, match="APPEND_ONLY"), engine.begin() as conn:
            conn.execute(text(sql))


@pytest.mark.parametrize(
    "tamper",
    [
        "UPDATE audit_log SET actor = 'mallory' WHERE seq = 3",
        'UPDATE audit_log SET details = \'{"reason": "typo"}\' WHERE seq = 3',
        "UPDATE audit_log SET at = at + INTERVAL '1 second' WHERE seq = 3",
        "DELETE FROM audit_log WHERE seq = 3",
    ],
)
def test_tampering_names_the_first_broken_seq(
    engine: Engine, sessions: sessionmaker[Session], tamper: str
) -> None:
    _fill(sessions)
    if engine.dialect.name == "sqlite":
        tamper = tamper.replace("at + INTERVAL '1 second'", "'2026-12-01 02:00:09.000000'")
    raw_admin(engine)(tamper)
    with sessions() as s:
        ok, broken = AuditLog(s).verify()
    assert not ok
    assert broken == (4 if tamper.startswith("DELETE") else 3)


def test_a_rewritten_tail_with_recomputed_hash_still_breaks_the_link(
    engine: Engine, sessions: sessionmaker[Session]
) -> None:
    """Recomputing the tampered entry's own hash does not help: the next link breaks."""
    _fill(sessions)
    with sessions() as s:
        from quarantine.storage.models import AuditRow

        row = s.get(AuditRow, 3)
        assert row is not None
        forged = entry_hash(
            3, row.at, "mallory", row.action, row.object, row.details, row.prev_hash
        )
    raw_admin(engine)(f"UPDATE audit_log SET actor = 'mallory', hash = '{forged}' WHERE seq = 3")
    with sessions() as s:
        assert AuditLog(s).verify() == (False, 4)


def test_append_many_extends_the_chain_in_order(sessions: sessionmaker[Session]) -> None:
    _fill(sessions, 2)
    with sessions.begin() as s:
        added = AuditLog(s).append_many(
            [
                (f"tok_{i}", "certificate.issue", f"310112-2026-00000{i}", {"i": i}, NOW)
                for i in range(3)
            ]
        )
        assert AuditLog(s).append_many([]) == []
    assert [e.seq for e in added] == [3, 4, 5]
    assert added[1].prev_hash == added[0].hash and added[2].prev_hash == added[1].hash
    with sessions.begin() as s:
        single = AuditLog(s).append("admin", "token.create", "tok_x", {}, NOW)
    assert single.seq == 6 and single.prev_hash == added[2].hash
    with sessions() as s:
        log = AuditLog(s)
        assert log.verify() == (True, None) and log.count() == 6
