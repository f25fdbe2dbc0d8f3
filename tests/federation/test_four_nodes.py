"""Four real ``quarantine serve`` processes on loopback, each with its own database.

Shanghai's registry is on PostgreSQL when a server answers at
``QUARANTINE_TEST_POSTGRES_URL`` (a fresh database, dropped afterwards); the others
(and Shanghai without PostgreSQL) use SQLite files.  Pulls are triggered on demand
(``POST /api/v1/federation/sync``) so that every step is deterministic.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import ExitStack, suppress
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2
import pytest
from sqlalchemy import text

from quarantine import trustfile
from quarantine.core.document import from_document
from quarantine.core.feed import EntryKind
from quarantine.core.keys import Signer
from quarantine.core.model import CertificateNumber
from quarantine.core.signing import sign_certificate
from quarantine.federation.publish import FeedPublisher, append, attach
from quarantine.services.registry import KeyFolderSigners
from quarantine.storage import db
from tests.federation.documents import document
from tests.load import harness

REGIONS = ("310000", "320000", "330000", "340000")


@dataclass
class LiveNode:
    region: str
    url: str  # database URL
    env: dict[str, str]
    server: harness.Server
    issuer: dict[str, str]
    admin: dict[str, str]
    inspector: dict[str, str]

    @property
    def base(self) -> str:
        return self.server.base

    def client(self) -> httpx2.Client:
        return httpx2.Client(base_url=self.base, timeout=120, trust_env=False)

    def issue(self, doc: dict[str, Any]) -> str:
        with self.client() as c:
            r = c.post("/api/v1/certificates", json=doc, headers=self.issuer)
        assert r.status_code == 201, r.text
        number: str = r.json()["number"]
        return number

    def sync(self, peer: str | None = None) -> list[dict[str, Any]]:
        with self.client() as c:
            params = {"peer": peer} if peer else {}
            r = c.post("/api/v1/federation/sync", params=params, headers=self.admin)
        assert r.status_code == 200, r.text
        results: list[dict[str, Any]] = r.json()["results"]
        return results

    def recognition(self, number: str) -> dict[str, Any]:
        with self.client() as c:
            r = c.get(f"/api/v1/recognition/{number}", params={"region": self.region})
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body

    def peers(self) -> dict[str, dict[str, Any]]:
        with self.client() as c:
            r = c.get("/api/v1/federation/peers", headers=self.inspector)
        assert r.status_code == 200, r.text
        return {p["region"]: p for p in r.json()["peers"]}

    def scalar(self, sql: str, **params: Any) -> Any:
        engine = db.make_engine(self.url)
        try:
            with engine.connect() as conn:
                return conn.execute(text(sql), params).scalar_one()
        finally:
            engine.dispose()


def _headers(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, LiveNode]]:
    root = tmp_path_factory.mktemp("federation")
    ports = {r: harness.free_port() for r in REGIONS}
    with ExitStack() as stack:
        admin, _ = harness.pg_admin_engine()
        if admin is not None:
            stack.callback(admin.dispose)
        out: dict[str, LiveNode] = {}
        for region in REGIONS:
            work = root / region
            work.mkdir()
            if region == "310000" and admin is not None:
                url = stack.enter_context(harness.temp_database(admin, "quarantine_federation"))
            else:
                url = f"sqlite:///{work / 'registry.sqlite3'}"
            peers = ",".join(f"{r}=http://127.0.0.1:{p}" for r, p in ports.items() if r != region)
            env = harness.server_env(
                url,
                work,
                QUARANTINE_REGION=region,
                QUARANTINE_PEERS=peers,
                QUARANTINE_PULL_INTERVAL_SECONDS="0",
                QUARANTINE_STALE_AFTER_SECONDS="600",
            )
            harness.migrate(env)
            server = harness.Server(env, work / "server.log", port=ports[region])
            server.start()
            stack.callback(server.stop)
            out[region] = LiveNode(
                region,
                url,
                env,
                server,
                _headers(harness.create_token(url, "issuer", region)),
                _headers(harness.create_token(url, "admin", region)),
                _headers(harness.create_token(url, "inspector", region)),
            )
        yield out


def test_issue_in_jiangsu_is_recognised_in_shanghai(nodes: dict[str, LiveNode]) -> None:
    js, sh = nodes["320000"], nodes["310000"]
    number = js.issue(document("producing-area.json", "320000"))
    assert sh.recognition(number)["reasons"] == ["UNKNOWN_TO_REGISTRY"]
    [result] = sh.sync("320000")
    assert result["error"] is None and result["accepted"] >= 1
    answer = sh.recognition(number)
    assert answer["recognised"] is True and answer["reasons"] == ["RECOGNISED"]
    # every other member recognises it too once it has pulled
    for region in ("330000", "340000"):
        nodes[region].sync("320000")
        assert nodes[region].recognition(number)["recognised"] is True


def test_revoke_in_jiangsu_is_reported_in_shanghai(nodes: dict[str, LiveNode]) -> None:
    js, sh = nodes["320000"], nodes["310000"]
    number = js.issue(document("producing-area.json", "320000"))
    sh.sync("320000")
    assert sh.recognition(number)["recognised"] is True
    with js.client() as c:
        r = c.post(
            f"/api/v1/certificates/{number}/revoke", json={"reason": "伪造"}, headers=js.issuer
        )
    assert r.status_code == 200, r.text
    sh.sync("320000")
    answer = sh.recognition(number)
    assert answer["recognised"] is False and "REVOKED" in answer["reasons"]


def _bulk_publish(node: LiveNode, count: int) -> None:
    """``count`` certificate entries appended to ``node``'s feed the way its hook does."""
    trust = trustfile.load(None, None)
    signers = KeyFolderSigners(Path(node.env["QUARANTINE_KEYS_DIR"]), None)
    now = datetime.now(UTC)
    signer: Signer = signers(node.region, now).signer
    publisher = FeedPublisher(node.region, lambda r, at: signers(r, at).signer, trust)
    doc = {**document("producing-area.json", node.region), "number": "320506-2026-900000"}
    base = from_document(doc)
    engine = db.make_engine(node.url)
    try:
        sessions = db.session_factory(engine)
        attach(sessions, publisher)
        for start in range(0, count, 200):
            with sessions.begin() as session:
                for i in range(start, min(count, start + 200)):
                    number = CertificateNumber("320506", base.number.year, 900_001 + i)
                    cert = replace(base, number=number, salt=b"\x03" * 16)
                    qr = sign_certificate(cert, signer, base_url="http://127.0.0.1:8000").text
                    append(session, publisher, EntryKind.CERTIFICATE, {"qr": qr}, now)
    finally:
        engine.dispose()


def test_killed_mid_sync_loses_and_repeats_nothing(nodes: dict[str, LiveNode]) -> None:
    js, sh = nodes["320000"], nodes["310000"]
    sh.sync("320000")
    start_head = sh.scalar("SELECT head_seq FROM peer_state WHERE region = '320000'")
    _bulk_publish(js, 1200)
    target = js.scalar("SELECT max(seq) FROM feed_entries")
    assert target == start_head + 1200

    def pull() -> None:
        with suppress(httpx2.HTTPError):
            sh.sync("320000")

    puller = threading.Thread(target=pull)
    puller.start()
    deadline = datetime.now(UTC) + timedelta(seconds=60)
    head = start_head
    while head == start_head and datetime.now(UTC) < deadline:
        head = sh.scalar("SELECT head_seq FROM peer_state WHERE region = '320000'")
    sh.server.kill9()  # in the middle of the pull (some pages committed, not all)
    puller.join(timeout=60)
    killed_at = sh.scalar("SELECT head_seq FROM peer_state WHERE region = '320000'")
    assert start_head < killed_at < target, "the kill did not land mid-sync"
    sh.server.start()
    [result] = sh.sync("320000")
    assert result["error"] is None and result["head_seq"] == target
    count = sh.scalar("SELECT count(*) FROM peer_entries WHERE origin = '320000'")
    distinct = sh.scalar("SELECT count(DISTINCT seq) FROM peer_entries WHERE origin = '320000'")
    top = sh.scalar("SELECT max(seq) FROM peer_entries WHERE origin = '320000'")
    assert count == distinct == top == target
    shared = sh.scalar("SELECT count(*) FROM shared_records WHERE number LIKE '320506-2026-9%'")
    assert shared == 1200
    assert sh.sync("320000")[0]["accepted"] == 0  # pulling again changes nothing


def test_tampered_entry_is_rejected_and_reported(nodes: dict[str, LiveNode]) -> None:
    zj, ah = nodes["330000"], nodes["340000"]
    first = zj.issue(document("producing-area.json", "330000"))
    ah.sync("330000")
    second = zj.issue(document("producing-area.json", "330000"))
    third = zj.issue(document("producing-area.json", "330000"))
    seq = zj.scalar("SELECT max(seq) FROM feed_entries") - 1  # the entry of ``second``
    # Zhejiang's database is altered behind its back: one byte of entry ``seq`` flips.
    engine = db.make_engine(zj.url)
    try:
        with engine.begin() as conn:
            conn.execute(text("DROP TRIGGER feed_entries_no_update"))
            blob = conn.execute(
                text("SELECT cose FROM feed_entries WHERE seq = :s"), {"s": seq}
            ).scalar_one()
            tampered = blob[:-70] + bytes([blob[-70] ^ 1]) + blob[-69:]
            conn.execute(
                text("UPDATE feed_entries SET cose = :c WHERE seq = :s"), {"c": tampered, "s": seq}
            )
    finally:
        engine.dispose()
    [result] = ah.sync("330000")
    assert result["error"]["code"] in ("FEED_BAD_SIGNATURE", "FEED_MALFORMED")
    assert result["halted"] is True
    assert ah.recognition(first)["recognised"] is True
    assert ah.recognition(second)["reasons"] == ["UNKNOWN_TO_REGISTRY"]
    assert ah.recognition(third)["reasons"] == ["UNKNOWN_TO_REGISTRY"]
    head = ah.scalar("SELECT head_seq FROM peer_state WHERE region = '330000'")
    assert head == seq - 1
    assert ah.scalar("SELECT max(seq) FROM peer_entries WHERE origin = '330000'") == seq - 1
    reported = ah.peers()["330000"]
    assert reported["halted"] is True and reported["alert"]["code"] == result["error"]["code"]
    # halted: pulling again accepts nothing and keeps the alert
    [again] = ah.sync("330000")
    assert again["halted"] is True and again["accepted"] == 0
    # other peers are unaffected
    assert ah.sync("320000")[0]["error"] is None
