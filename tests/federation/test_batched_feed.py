"""Feed appends and peer pages written in batches give what one-by-one writing gives.

* a group commit publishes its certificates with one append: consecutive sequence
  numbers, each linked to the one before, a page a peer verifies from the start;
* a page of mixed entries applied at once leaves the shared view exactly as applying
  the entries one by one does;
* a transaction that rolls back leaves no entry and nothing in the shared view, and a
  certificate that peers would refuse (a key not on the trust list) is not published;
* a pull records its attempt in the transaction of its outcome (a page, an alert).

Each test runs on SQLite and on PostgreSQL (skipped when no server answers).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx2
import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from quarantine.core.document import from_document
from quarantine.core.feed import (
    GENESIS,
    EntryKind,
    FeedEntry,
    FeedError,
    SignedEntry,
    sign_entry,
    verify_page,
)
from quarantine.core.keys import Signer
from quarantine.core.model import Certificate, CertificateNumber
from quarantine.core.signing import sign_certificate
from quarantine.core.trust import Member, TrustedKey, TrustList
from quarantine.federation.config import FederationConfig, Peer, load_agreement
from quarantine.federation.publish import (
    FeedPublisher,
    append,
    append_many,
    attach,
    publish_certificates,
)
from quarantine.federation.sync import Puller
from quarantine.settings import Settings
from quarantine.storage import db
from quarantine.storage import federation as store
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
NOW = cst("2026-12-01T12:00")
PUBLISHER = FeedPublisher("320000", lambda _region, _at: JS, TRUST)


def _certificate(serial: int) -> Certificate:
    doc: dict[str, Any] = json.loads(
        (REPO / "samples" / "input" / "transport-inter.json").read_text("utf-8")
    )
    doc["number"] = "320506-2026-000001"
    doc["issuing_agency"] = {"region": "320506"}
    doc["delegating_agency"] = None
    doc["route"]["from"] = "320506"
    return replace(
        from_document(doc),
        number=CertificateNumber("320506", 2026, serial),
        salt=serial.to_bytes(16, "big"),
    )


def _qr(serial: int) -> str:
    return sign_certificate(_certificate(serial), JS, base_url="http://127.0.0.1:8102").text


def _body(kind: EntryKind, n: int) -> dict[str, Any]:
    number = f"320506-2026-{(n % 7) + 1:06d}"
    if kind is EntryKind.CERTIFICATE:
        return {"qr": _qr((n % 7) + 1)}  # some numbers twice: the first entry wins
    if kind is EntryKind.STATUS_EVENT:
        return {"number": number, "type": "REVOKED", "at": NOW.isoformat(), "reason": f"r{n}"}
    if kind is EntryKind.REINSPECTION:
        return {"number": number, "at": NOW.isoformat(), "result": "PASSED", "region": "310115"}
    return {  # an operator registration, the latest entry of a registration wins
        "registration": f"苏检登320506-{n % 3:04d}",
        "name": f"吴中苗圃 {n}",
        "region": "320506",
        "registered_on": "2026-01-05",
        "barred_from": "2026-12-01" if n % 2 else "",
    }


#: A feed with runs of certificates and events broken by operator registrations.
PATTERN = [
    EntryKind.CERTIFICATE,
    EntryKind.CERTIFICATE,
    EntryKind.STATUS_EVENT,
    EntryKind.CERTIFICATE,
    EntryKind.REINSPECTION,
    EntryKind.OPERATOR,
    EntryKind.CERTIFICATE,
    EntryKind.OPERATOR,
    EntryKind.STATUS_EVENT,
    EntryKind.CERTIFICATE,
    EntryKind.CERTIFICATE,
    EntryKind.OPERATOR,
]


def _chain(n: int) -> list[SignedEntry]:
    out: list[SignedEntry] = []
    prev = GENESIS
    for seq in range(1, n + 1):
        kind = PATTERN[(seq - 1) % len(PATTERN)]
        at = cst("2026-11-30T10:00") + timedelta(seconds=seq)
        signed = sign_entry(FeedEntry("320000", seq, prev, kind, at, _body(kind, seq)), JS)
        out.append(signed)
        prev = signed.hash
    return out


@pytest.fixture(params=["sqlite", "postgresql"])
def urls(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[list[str]]:
    """Two fresh migrated databases."""
    if request.param == "sqlite":
        found = [f"sqlite:///{tmp_path / f'registry{i}.sqlite3'}" for i in range(2)]
        for url in found:
            db.upgrade(url)
        yield found
        return
    admin, why = harness.pg_admin_engine()
    if admin is None:
        pytest.skip(why)
    try:
        with (
            harness.temp_database(admin, "quarantine_test_batch") as one,
            harness.temp_database(admin, "quarantine_test_batch") as two,
        ):
            for url in (one, two):
                db.upgrade(url)
            yield [one, two]
    finally:
        admin.dispose()


@pytest.fixture
def engines(urls: list[str]) -> Iterator[list[Engine]]:
    made = [db.make_engine(url) for url in urls]
    yield made
    for engine in made:
        engine.dispose()


def _publishing(engine: Engine) -> sessionmaker[Session]:
    sessions = db.session_factory(engine)
    attach(sessions, PUBLISHER)
    return sessions


def _view(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    queries = {
        "records": "SELECT number, origin, seq, kind, valid_to, products, kid, qr_text "
        "FROM shared_records ORDER BY number",
        "events": "SELECT number, origin, seq, type, reason, superseded_by, detail "
        "FROM shared_events ORDER BY origin, seq",
        "operators": "SELECT registration, name, origin, barred_from, barred_until "
        "FROM operators ORDER BY registration",
    }
    with engine.connect() as conn:
        return {
            name: [tuple(str(v) for v in row) for row in conn.execute(text(sql))]
            for name, sql in queries.items()
        }


def test_a_group_commit_publishes_consecutive_linked_entries(engines: list[Engine]) -> None:
    sessions = _publishing(engines[0])
    with sessions.begin() as session:
        append(session, PUBLISHER, EntryKind.OPERATOR, _body(EntryKind.OPERATOR, 0), NOW)
    issued = [(f"320506-2026-{n:06d}", _qr(n)) for n in range(1, 6)]
    with sessions.begin() as session:
        published = publish_certificates(
            session, [*issued, ("310115-2026-000001", "not published")], NOW
        )
    assert [s.entry.seq for s in published] == [2, 3, 4, 5, 6]
    with sessions() as session:
        blobs = [blob for _, blob in store.feed_page(session, 0, 100)]
        head = store.feed_head(session)
    assert head.seq == 6 and head.hash == published[-1].hash
    result = verify_page(
        blobs, trust=TRUST, peer_region="320000", head_seq=0, head_hash=GENESIS, now=NOW
    )
    assert result.error is None and len(result.accepted) == 6
    records = _view(engines[0])["records"]
    assert [r[0] for r in records] == [number for number, _ in issued]
    assert [r[2] for r in records] == ["2", "3", "4", "5", "6"]


def test_a_page_applied_at_once_equals_one_by_one(engines: list[Engine]) -> None:
    entries = _chain(3 * len(PATTERN))
    result = verify_page(
        [s.cose for s in entries],
        trust=TRUST,
        peer_region="320000",
        head_seq=0,
        head_hash=GENESIS,
        now=NOW,
    )
    assert result.error is None and len(result.accepted) == len(entries)
    at_once, one_by_one = (db.session_factory(e) for e in engines)
    with at_once.begin() as session:
        store.peer_state(session, "320000", "http://127.0.0.1:8102", lock=True)
        assert store.accept_peer_entries(session, "320000", result.accepted, TRUST, NOW) == len(
            entries
        )
    for signed in result.accepted:
        with one_by_one.begin() as session:
            store.peer_state(session, "320000", "http://127.0.0.1:8102", lock=True)
            store.accept_peer_entries(session, "320000", [signed], TRUST, NOW)
    view = _view(engines[0])
    assert view == _view(engines[1])
    certificates = [s for s in entries if s.entry.kind is EntryKind.CERTIFICATE]
    assert len(view["records"]) == len({s.entry.body["qr"] for s in certificates}) == 7
    first_seq = {r[0]: int(r[2]) for r in view["records"]}
    assert sorted(first_seq.values()) == sorted(
        min(s.entry.seq for s in certificates if s.entry.body["qr"] == qr)
        for qr in {s.entry.body["qr"] for s in certificates}
    )
    assert len(view["operators"]) == len(
        {s.entry.body["registration"] for s in entries if s.entry.kind is EntryKind.OPERATOR}
    )
    assert len(view["events"]) == sum(
        1 for s in entries if s.entry.kind in (EntryKind.STATUS_EVENT, EntryKind.REINSPECTION)
    )
    for session_of in (at_once, one_by_one):
        with session_of() as session:
            state = store.peer_state(session, "320000")
            assert (state.head_seq, state.head_hash) == (len(entries), entries[-1].hash)
            assert state.accepted_total == len(entries)


def test_a_rolled_back_batch_leaves_nothing(engines: list[Engine]) -> None:
    sessions = _publishing(engines[0])

    class Boom(Exception):
        pass

    def issue_then_fail() -> None:
        with sessions.begin() as session:
            append_many(
                session,
                PUBLISHER,
                [(EntryKind.CERTIFICATE, {"qr": _qr(n)}) for n in range(1, 4)],
                NOW,
            )
            raise Boom

    with pytest.raises(Boom):
        issue_then_fail()
    with sessions() as session:
        assert store.feed_head(session) == store.FeedHead(0, GENESIS)
    assert _view(engines[0]) == {"records": [], "events": [], "operators": []}
    with sessions.begin() as session:  # the next append starts the feed again
        first = append_many(session, PUBLISHER, [(EntryKind.CERTIFICATE, {"qr": _qr(9)})], NOW)
    assert first[0].entry.seq == 1 and first[0].entry.prev == GENESIS


def test_every_pull_records_its_attempt_with_its_outcome(engines: list[Engine]) -> None:
    entries = _chain(5)
    up = [True]

    def serve(request: httpx2.Request) -> httpx2.Response:
        if not up[0]:
            raise httpx2.ConnectError("refused", request=request)
        after, limit = int(request.url.params["after"]), int(request.url.params["limit"])
        page = [s.cose for s in entries if s.entry.seq > after][:limit]
        return httpx2.Response(200, json={"entries": [base64.b64encode(b).decode() for b in page]})

    clock = [NOW]
    peer = Peer("320000", "http://127.0.0.1:8102")
    config = FederationConfig(
        "310000", (peer,), timedelta(0), timedelta(minutes=15), load_agreement(Settings())
    )
    puller = Puller(
        db.session_factory(engines[1]),
        TRUST,
        config,
        clock=lambda: clock[0],
        client_factory=lambda: httpx2.Client(transport=httpx2.MockTransport(serve)),
        page_size=2,
    )

    def state() -> store.PeerState:
        with db.session_factory(engines[1])() as session:
            return store.peer_state(session, "320000")

    assert puller.pull(peer).accepted == 5  # three pages, each overlapping the head
    first = state()
    assert (first.head_seq, first.head_hash) == (5, entries[-1].hash)
    assert first.last_attempt_at == first.last_success_at == NOW
    up[0], clock[0] = False, NOW + timedelta(minutes=1)
    assert puller.pull(peer).error_code == "PEER_UNREACHABLE"
    down = state()
    assert down.last_attempt_at == clock[0] and down.last_success_at == NOW
    assert down.alert_code == "PEER_UNREACHABLE" and down.halted_at is None
    up[0], clock[0] = True, NOW + timedelta(minutes=2)
    assert puller.pull(peer).accepted == 0  # nothing new: pulling again is idempotent
    again = state()
    assert again.last_attempt_at == again.last_success_at == clock[0]
    assert again.alert_code == "" and again.head_seq == 5 and again.accepted_total == 5


def test_a_certificate_peers_would_refuse_is_not_published(engines: list[Engine]) -> None:
    sessions = _publishing(engines[0])
    untrusted = Signer.generate()
    doc_qr = _qr(1)
    stranger = sign_certificate(
        replace(_certificate(2), salt=b"\x03" * 16), untrusted, base_url="http://127.0.0.1:8102"
    ).text

    def publish() -> None:
        with sessions.begin() as session:
            publish_certificates(
                session, [("320506-2026-000001", doc_qr), ("320506-2026-000002", stranger)], NOW
            )

    with pytest.raises(FeedError) as caught:
        publish()
    assert caught.value.code == "FEED_BAD_BODY"
    with sessions() as session:
        assert store.feed_head(session).seq == 0
    assert _view(engines[0])["records"] == []
