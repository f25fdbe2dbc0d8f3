"""Registry use cases over a real database (SQLite; PostgreSQL for concurrency)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from quarantine.core.model import CHINA_TZ
from quarantine.core.status import EventType
from quarantine.core.validate import CertificateInvalid
from quarantine.core.verify import verify_text
from quarantine.errors import EnvironmentProblem, InputError
from quarantine.reference import region_table
from quarantine.services import registry
from quarantine.services.authz import Forbidden, Principal, Role
from quarantine.storage.audit import AuditLog
from quarantine.storage.certificates import CertStatus
from quarantine.storage.db import make_engine, session_factory, upgrade
from quarantine.storage.events import RegistryStatusSource
from quarantine.storage.models import CertificateRow, ClaimedNumberRow
from quarantine.trustfile import load as load_trust
from tests.storage.conftest import PgDatabases
from tests.web.pg import demo_keys, pg_databases, sample

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=CHINA_TZ)
BASE = "http://127.0.0.1:8000"
SH = Principal(Role.ISSUER, "310000", "tok_sh")
JS = Principal(Role.ISSUER, "320000", "tok_js")
ZJ = Principal(Role.ISSUER, "330000", "tok_zj")
INSPECTOR = Principal(Role.INSPECTOR, "310115", "tok_in")
REGIONS = region_table()


@pytest.fixture(scope="module")
def signers(tmp_path_factory: pytest.TempPathFactory) -> registry.KeyFolderSigners:
    return registry.KeyFolderSigners(demo_keys(tmp_path_factory.mktemp("keys")), None)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    url = f"sqlite:///{tmp_path / 'registry.sqlite3'}"
    upgrade(url)
    eng = make_engine(url)
    yield eng
    eng.dispose()


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return session_factory(engine)


def issue(
    sessions: sessionmaker[Session],
    signers: registry.SignerFor,
    doc: dict[str, Any],
    who: Principal = SH,
    now: datetime = NOW,
) -> registry.Issued:
    with sessions.begin() as s:
        return registry.issue(
            s, doc, who, signer_for=signers, base_url=BASE, regions=REGIONS, now=now
        )


def status(sessions: sessionmaker[Session], number: str) -> CertStatus:
    with sessions() as s:
        return registry.get(s, number, INSPECTOR, now=NOW).status


def test_issue_numbers_signs_stores_and_audits(
    sessions: sessionmaker[Session], signers: registry.KeyFolderSigners
) -> None:
    issued = issue(sessions, signers, sample("transport-intra"))
    assert str(issued.certificate.number) == "310112-2026-000001"
    assert issued.kid == "2e2bfb5aed7b273f"  # sh-2026: the key whose window covers the issue
    with sessions() as s:
        report = verify_text(
            issued.qr_text, trust=load_trust(None, None), now=NOW, status=RegistryStatusSource(s)
        )
        assert report.verdict.value == "VALID", report.codes
        entry = AuditLog(s).head()
        assert entry is not None
        assert (entry.actor, entry.action, entry.object) == (
            "issuer:tok_sh",
            "certificate.issue",
            "310112-2026-000001",
        )
        assert entry.details == {"kind": "TRANSPORT", "kid": issued.kid}


def test_issue_before_key_rotation_uses_the_old_key(
    sessions: sessionmaker[Session], signers: registry.KeyFolderSigners
) -> None:
    doc = sample("transport-intra")
    doc["issued_at"] = "2026-06-01T09:00:00+08:00"
    doc["valid_from"], doc["valid_to"] = "2026-06-01", "2026-06-30"
    issued = issue(sessions, signers, doc)
    assert issued.kid == "5eef1945ec224c5b"  # sh-2024


def test_refusals_leave_nothing_behind(
    sessions: sessionmaker[Session], signers: registry.KeyFolderSigners
) -> None:
    with pytest.raises(Forbidden):
        issue(sessions, signers, sample("transport-intra"), who=JS)
    with pytest.raises(Forbidden):
        issue(sessions, signers, sample("transport-intra"), who=INSPECTOR)
    bad = sample("transport-intra")
    bad["statement"] = ""
    with pytest.raises(CertificateInvalid) as exc:
        issue(sessions, signers, bad)
    assert [p.field for p in exc.value.problems] == ["statement"]
    future = sample("transport-intra")
    future["issued_at"] = (NOW + timedelta(hours=1)).isoformat()
    with pytest.raises(CertificateInvalid) as exc:
        issue(sessions, signers, future)
    assert exc.value.problems[0].code == "ISSUED_IN_FUTURE"

    def no_key(region: str, at: datetime) -> registry.SigningKey:
        raise EnvironmentProblem("NO_SIGNING_KEY", "无密钥", "no key")

    with pytest.raises(EnvironmentProblem):
        issue(sessions, no_key, sample("transport-intra"))
    with sessions() as s:
        assert s.execute(select(CertificateRow)).first() is None
        assert s.execute(select(ClaimedNumberRow)).first() is None
        assert AuditLog(s).count() == 0


def test_a_number_is_never_issued_twice(
    sessions: sessionmaker[Session], signers: registry.KeyFolderSigners
) -> None:
    issue(sessions, signers, sample("transport-intra", keep_number=True))
    with pytest.raises(registry.Conflict) as exc:
        issue(sessions, signers, sample("transport-intra", keep_number=True))
    assert exc.value.code == "NUMBER_IN_USE"


def test_status_changes_and_audit(
    sessions: sessionmaker[Session], signers: registry.KeyFolderSigners
) -> None:
    number = str(issue(sessions, signers, sample("requirement")).certificate.number)
    with sessions.begin() as s:
        changed = registry.suspend(s, number, " 待查 ", SH, now=NOW)
    assert changed.status is CertStatus.SUSPENDED and changed.event.reason == "待查"
    assert changed.event.region == "310000" and changed.event.actor == "issuer:tok_sh"
    with sessions.begin() as s:
        assert registry.reinstate(s, number, "ok", SH, now=NOW).status is CertStatus.VALID
    with sessions.begin() as s:
        assert registry.revoke(s, number, "作废", SH, now=NOW).status is CertStatus.REVOKED
    for change in (registry.revoke, registry.suspend, registry.reinstate):
        with sessions.begin() as s, pytest.raises(registry.Conflict) as exc:
            change(s, number, "again", SH, now=NOW)
        assert exc.value.code == "ALREADY_REVOKED"
    with sessions() as s:
        log = AuditLog(s)
        assert log.verify() == (True, None)
        assert log.count() == 4


def test_status_changes_are_authorised_before_the_lookup(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as s:
        with pytest.raises(Forbidden):
            registry.revoke(s, "310112-2026-999999", "x", JS, now=NOW)
        with pytest.raises(registry.NotFound) as exc:
            registry.revoke(s, "310112-2026-999999", "x", SH, now=NOW)
        assert exc.value.code == "CERTIFICATE_NOT_FOUND"
        with pytest.raises(InputError) as bad:
            registry.revoke(s, "nonsense", "x", SH, now=NOW)
        assert bad.value.code == "BAD_NUMBER"
        with pytest.raises(CertificateInvalid):
            registry.revoke(s, "310112-2026-999999", "  ", SH, now=NOW)


def test_supersede_in_one_transaction(
    sessions: sessionmaker[Session], signers: registry.KeyFolderSigners
) -> None:
    old = str(issue(sessions, signers, sample("transport-intra")).certificate.number)
    with sessions.begin() as s:
        done = registry.supersede(
            s,
            old,
            sample("transport-intra"),
            "换证",
            SH,
            signer_for=signers,
            base_url=BASE,
            regions=REGIONS,
            now=NOW,
        )
    new = str(done.replacement.certificate.number)
    assert done.replacement.certificate.references.original == old
    assert done.old.status is CertStatus.SUPERSEDED
    assert (done.old.event.type, done.old.event.superseded_by) == (EventType.SUPERSEDED, new)
    with sessions() as s:
        view = registry.get(s, old, INSPECTOR, now=NOW)
        assert registry.replaced(view) == new
        actions = [e.action for e in _audit(s)]
    assert actions == ["certificate.issue", "certificate.issue", "certificate.supersede"]


def test_a_failed_supersede_leaves_no_replacement(
    sessions: sessionmaker[Session], signers: registry.KeyFolderSigners
) -> None:
    old = str(issue(sessions, signers, sample("transport-intra")).certificate.number)
    with sessions.begin() as s:
        registry.revoke(s, old, "x", SH, now=NOW)
    with sessions.begin() as s, pytest.raises(registry.Conflict):
        registry.supersede(
            s,
            old,
            sample("transport-intra"),
            "换证",
            SH,
            signer_for=signers,
            base_url=BASE,
            regions=REGIONS,
            now=NOW,
        )
    with sessions() as s:
        assert len(s.execute(select(CertificateRow)).all()) == 1


def test_arrival_and_reinspection(
    sessions: sessionmaker[Session], signers: registry.KeyFolderSigners
) -> None:
    number = str(issue(sessions, signers, sample("transport-intra")).certificate.number)
    with sessions.begin() as s:
        rejected = registry.record_arrival(
            s, number, INSPECTOR, accepted=False, notes="数量不符", regions=REGIONS, now=NOW
        )
    assert rejected.status is CertStatus.VALID
    assert rejected.event.type is EventType.REINSPECTED
    assert rejected.event.detail == {"result": "FAILED", "arrival": True}
    with sessions.begin() as s, pytest.raises(Forbidden):
        registry.record_arrival(s, number, SH, accepted=True, regions=REGIONS, now=NOW)
    with sessions.begin() as s:
        closed = registry.record_arrival(
            s, number, INSPECTOR, accepted=True, checkpoint="川沙", regions=REGIONS, now=NOW
        )
    assert closed.status is CertStatus.CLOSED and closed.event.region == "310115"
    with sessions.begin() as s, pytest.raises(registry.Conflict) as exc:
        registry.record_arrival(s, number, INSPECTOR, accepted=True, regions=REGIONS, now=NOW)
    assert exc.value.code == "ALREADY_CLOSED"
    with sessions() as s:
        assert [e.action for e in _audit(s)][-2:] == ["certificate.arrival"] * 2


def test_an_expired_certificate_is_not_closed(
    sessions: sessionmaker[Session], signers: registry.KeyFolderSigners
) -> None:
    number = str(issue(sessions, signers, sample("transport-intra")).certificate.number)
    later = datetime(2028, 1, 2, tzinfo=CHINA_TZ)
    with sessions.begin() as s, pytest.raises(registry.Conflict) as exc:
        registry.record_arrival(s, number, INSPECTOR, accepted=True, regions=REGIONS, now=later)
    assert exc.value.code == "CERTIFICATE_EXPIRED"


def test_signers_are_loaded_once(tmp_path: Path) -> None:
    keys = demo_keys(tmp_path / "keys")
    signers = registry.KeyFolderSigners(keys, None)
    a = signers("310112", NOW)
    b = signers("310000", NOW)
    assert a.signer is b.signer and a.region == "310000"
    with pytest.raises(EnvironmentProblem) as exc:
        signers("110000", NOW)
    assert exc.value.code == "NO_SIGNING_KEY"


def _audit(s: Session) -> list[Any]:
    log = AuditLog(s)
    assert log.verify() == (True, None)
    from quarantine.storage.models import AuditRow

    return list(s.execute(select(AuditRow).order_by(AuditRow.seq)).scalars())


# --------------------------------------------------------------------------- PostgreSQL


@pytest.fixture(scope="session")
def pg_dbs() -> Iterator[PgDatabases]:
    yield from pg_databases()


@pytest.fixture
def pg_sessions(pg_dbs: PgDatabases) -> Iterator[sessionmaker[Session]]:
    name = pg_dbs.create(migrated=True)
    eng = make_engine(pg_dbs.url(name))
    try:
        yield session_factory(eng)
    finally:
        eng.dispose()
        pg_dbs.drop(name)


def _race(sessions: sessionmaker[Session], signers: registry.KeyFolderSigners) -> None:
    """One revoke and one supersede of a fresh certificate, started together."""
    old = str(issue(sessions, signers, sample("transport-intra")).certificate.number)
    outcomes: dict[str, str] = {}
    barrier = threading.Barrier(2)

    def revoke() -> None:
        barrier.wait()
        try:
            with sessions.begin() as s:
                registry.revoke(s, old, "撤销", SH, now=NOW)
            outcomes["revoke"] = "ok"
        except registry.Conflict as exc:
            outcomes["revoke"] = exc.code

    def supersede() -> None:
        barrier.wait()
        try:
            with sessions.begin() as s:
                registry.supersede(
                    s, old, sample("transport-intra"), "换证", SH,
                    signer_for=signers, base_url=BASE, regions=REGIONS, now=NOW,
                )  # fmt: skip
            outcomes["supersede"] = "ok"
        except registry.Conflict as exc:
            outcomes["supersede"] = exc.code

    threads = [threading.Thread(target=revoke), threading.Thread(target=supersede)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert list(outcomes.values()).count("ok") == 1, outcomes
    with sessions() as s:
        view = registry.get(s, old, INSPECTOR, now=NOW)
        records = s.execute(select(CertificateRow.record)).scalars().all()
    replacements = [r for r in records if r.get("references", {}).get("original") == old]
    if outcomes["supersede"] == "ok":
        assert view.status is CertStatus.SUPERSEDED
        assert outcomes["revoke"] == "ALREADY_SUPERSEDED"
        assert len(replacements) == 1
    else:
        assert view.status is CertStatus.REVOKED
        assert outcomes["supersede"] == "ALREADY_REVOKED"
        assert replacements == []  # the replacement was rolled back with the refused supersede
    terminal = [e for e in view.events if e.type in (EventType.REVOKED, EventType.SUPERSEDED)]
    assert len(terminal) == 1


def test_concurrent_revoke_and_supersede_end_consistently_on_postgresql(
    pg_sessions: sessionmaker[Session], signers: registry.KeyFolderSigners
) -> None:
    for _ in range(6):
        _race(pg_sessions, signers)
    with pg_sessions() as s:
        assert AuditLog(s).verify() == (True, None)
