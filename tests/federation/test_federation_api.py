"""Two nodes in process (Jiangsu and Shanghai), each with its own SQLite registry.

Peers reach each other through a mock transport that forwards to the other
app's test client, so the full path runs: issue → signed feed entry in the same
transaction → pull → verify → shared view → recognition answer.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2
import pytest
from fastapi.testclient import TestClient

from quarantine.core.model import CHINA_TZ
from quarantine.settings import Settings
from quarantine.storage import db
from quarantine.storage.tokens import TokenStore
from quarantine.web import create_app
from tests.federation.documents import document

REPO = Path(__file__).resolve().parents[2]
PORTS = {"310000": 18101, "320000": 18102}


@dataclass
class Node:
    region: str
    client: TestClient
    issuer: dict[str, str]
    admin: dict[str, str]
    inspector: dict[str, str]

    def issue(self, doc: dict[str, Any]) -> str:
        r = self.client.post("/api/v1/certificates", json=doc, headers=self.issuer)
        assert r.status_code == 201, r.text
        number: str = r.json()["number"]
        return number

    def sync(self) -> list[dict[str, Any]]:
        r = self.client.post("/api/v1/federation/sync", headers=self.admin)
        assert r.status_code == 200, r.text
        results: list[dict[str, Any]] = r.json()["results"]
        return results

    def recognition(self, number: str, **params: str) -> dict[str, Any]:
        r = self.client.get(f"/api/v1/recognition/{number}", params=params)
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body


def _token(settings: Settings, role: str, region: str) -> dict[str, str]:
    engine = db.make_engine(db.database_url(settings))
    try:
        with db.session_factory(engine).begin() as session:
            _, secret = TokenStore(session).create(role, region, f"test {role}")
    finally:
        engine.dispose()
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def nodes(tmp_path: Path) -> Iterator[dict[str, Node]]:
    out: dict[str, Node] = {}
    clients: dict[int, TestClient] = {}

    def forward(request: httpx2.Request) -> httpx2.Response:
        client = clients[request.url.port or 80]
        r = client.get(request.url.raw_path.decode("ascii"))
        return httpx2.Response(
            r.status_code, content=r.content, headers={"content-type": "application/json"}
        )

    try:
        for region, port in PORTS.items():
            other = next(r for r in PORTS if r != region)
            settings = Settings(
                data_dir=tmp_path / region,
                keys_dir=REPO / "keys" / "demo",
                region=region,
                peers=f"{other}=http://127.0.0.1:{PORTS[other]}",
                pull_interval_seconds=0,
                verify_rate_per_minute=100_000,
            )
            db.upgrade(db.database_url(settings))
            client = TestClient(create_app(settings), base_url=f"http://127.0.0.1:{port}")
            client.__enter__()
            clients[port] = client
            puller = client.app.state.federation_puller  # type: ignore[attr-defined]
            puller.client_factory = lambda: httpx2.Client(transport=httpx2.MockTransport(forward))
            out[region] = Node(
                region,
                client,
                _token(settings, "issuer", region),
                _token(settings, "admin", region),
                _token(settings, "inspector", region),
            )
        yield out
    finally:
        for client in clients.values():
            client.__exit__(None, None, None)


def test_issue_in_jiangsu_recognised_in_shanghai(nodes: dict[str, Node]) -> None:
    js, sh = nodes["320000"], nodes["310000"]
    number = js.issue(document("producing-area.json", "320000"))
    before = sh.recognition(number)
    assert before["recognised"] is False and before["reasons"] == ["UNKNOWN_TO_REGISTRY"]
    [result] = sh.sync()
    assert result["error"] is None and result["accepted"] == 1
    after = sh.recognition(number, region="310000")
    assert after["recognised"] is True, after
    assert after["reasons"] == ["RECOGNISED"]
    assert after["messages"][0]["zh"] == "本地区互认有效"
    # the origin answers too, from its own shared view
    assert js.recognition(number)["recognised"] is True


def test_revoke_in_jiangsu_reported_in_shanghai(nodes: dict[str, Node]) -> None:
    js, sh = nodes["320000"], nodes["310000"]
    number = js.issue(document("producing-area.json", "320000"))
    sh.sync()
    r = js.client.post(
        f"/api/v1/certificates/{number}/revoke", json={"reason": "伪造"}, headers=js.issuer
    )
    assert r.status_code == 200, r.text
    assert sh.recognition(number)["recognised"] is True  # not pulled yet
    [result] = sh.sync()
    assert result["accepted"] == 1
    after = sh.recognition(number)
    assert after["recognised"] is False and "REVOKED" in after["reasons"]
    # yesterday it was still recognised
    yesterday = (datetime.now(CHINA_TZ) - timedelta(days=1)).date().isoformat()
    assert "REVOKED" not in sh.recognition(number, date=yesterday)["reasons"]


def test_repull_is_idempotent(nodes: dict[str, Node]) -> None:
    js, sh = nodes["320000"], nodes["310000"]
    for _ in range(3):
        js.issue(document("producing-area.json", "320000"))
    assert sh.sync()[0]["accepted"] == 3
    assert sh.sync()[0]["accepted"] == 0
    assert sh.sync()[0]["head_seq"] == 3
    feed = js.client.get("/api/v1/federation/feed", params={"after": 1, "limit": 1}).json()
    assert feed["head_seq"] == 3 and feed["next_after"] == 2 and len(feed["entries"]) == 1


def test_transport_needs_shanghais_requirement_letter(nodes: dict[str, Node]) -> None:
    js, sh = nodes["320000"], nodes["310000"]
    transport = js.issue(document("transport-inter.json", "320000"))
    sh.sync()
    missing = sh.recognition(transport)
    assert not missing["recognised"] and "REQUIREMENT_LETTER_MISSING" in missing["reasons"]
    letter = sh.issue(document("requirement.json", "310000"))
    found = sh.recognition(transport)
    assert found["recognised"] is True and found["requirement_letter"] == letter
    assert "REQUIREMENT_LETTER_FOUND" in found["reasons"]


def test_operators_and_bars_are_shared(nodes: dict[str, Node]) -> None:
    js, sh = nodes["320000"], nodes["310000"]
    doc = document("producing-area.json", "320000")
    doc["producer"] = {"name": "吴中绿源苗圃", "registration": "苏检登320506-0001"}
    number = js.issue(doc)
    operator = {
        "registration": "苏检登320506-0001",
        "name": "吴中绿源苗圃",
        "region": "320506",
        "registered_on": "2025-03-01",
    }
    r = js.client.post("/api/v1/federation/operators", json=operator, headers=js.issuer)
    assert r.status_code == 201, r.text
    sh.sync()
    listed = sh.client.get(
        "/api/v1/federation/operators", params={"region": "320000"}, headers=sh.inspector
    ).json()
    assert listed["total"] == 1 and listed["items"][0]["barred"] is False
    today = datetime.now(UTC).astimezone(CHINA_TZ).date().isoformat()
    barred = {**operator, "barred_from": today, "reason": "伪造证书"}
    assert (
        js.client.post("/api/v1/federation/operators", json=barred, headers=js.issuer).status_code
        == 201
    )
    sh.sync()
    answer = sh.recognition(number)
    assert not answer["recognised"] and "OPERATOR_BARRED" in answer["reasons"]
    # an issuer of Shanghai cannot register Jiangsu's operators
    r = sh.client.post("/api/v1/federation/operators", json=operator, headers=sh.issuer)
    assert r.status_code == 403


def test_shared_producing_area_list(nodes: dict[str, Node]) -> None:
    js, sh = nodes["320000"], nodes["310000"]
    later = (datetime.now(CHINA_TZ) + timedelta(days=390)).date().isoformat()
    js.issue(document("producing-area.json", "320000", valid_to=later))
    soon = document("producing-area.json", "310000")
    soon["producer"] = {"name": "浦东苗圃", "registration": "沪检登310115-0009"}
    sh.issue(soon)
    sh.sync()
    everything = sh.client.get("/api/v1/federation/producing-area").json()
    assert everything["total"] == 2
    jiangsu = sh.client.get("/api/v1/federation/producing-area", params={"region": "320000"}).json()
    assert jiangsu["total"] == 1 and jiangsu["items"][0]["origin"] == "320000"
    by_species = sh.client.get("/api/v1/federation/producing-area", params={"species": "桂花"})
    assert by_species.json()["total"] == 2
    expiring = sh.client.get(
        "/api/v1/federation/producing-area", params={"expiring_within_days": 300}
    ).json()
    assert [i["producer"] for i in expiring["items"]] == ["浦东苗圃"]
    by_operator = sh.client.get(
        "/api/v1/federation/producing-area", params={"operator": "沪检登310115"}
    ).json()
    assert by_operator["total"] == 1


def test_peers_report_staleness_and_limits(nodes: dict[str, Node]) -> None:
    sh = nodes["310000"]
    peers = sh.client.get("/api/v1/federation/peers", headers=sh.inspector).json()
    assert peers["peers"][0]["stale"] is True
    sh.sync()
    peers = sh.client.get("/api/v1/federation/peers", headers=sh.inspector).json()
    assert peers["peers"][0]["stale"] is False and peers["peers"][0]["alert"] is None
    assert sh.client.get("/api/v1/federation/feed", params={"limit": 100_000}).status_code == 200
    assert sh.client.get("/api/v1/federation/feed", params={"after": -1}).status_code == 422
    assert sh.client.get("/api/v1/recognition/nope").status_code in (404, 422)
    bad = sh.client.get("/api/v1/recognition/320506-2026-000001", params={"region": "abc"})
    assert bad.status_code == 422
    assert sh.client.post("/api/v1/federation/sync", headers=sh.issuer).status_code == 403


def test_recognition_page(nodes: dict[str, Node]) -> None:
    js, sh = nodes["320000"], nodes["310000"]
    number = js.issue(document("producing-area.json", "320000"))
    sh.sync()
    page = sh.client.get("/federation/recognition", params={"number": number})
    assert page.status_code == 200
    assert 'data-recognised="yes"' in page.text and "本地区互认有效" in page.text
    assert "Content-Security-Policy" in page.headers
    form = sh.client.get("/federation/recognition")
    assert form.status_code == 200 and "recognition-result" not in form.text
    bad = sh.client.get("/federation/recognition", params={"number": "<script>"})
    assert bad.status_code == 422 and "<script>" not in bad.text and "BAD_NUMBER" in bad.text


def test_a_node_without_peers_answers_from_its_own_registry(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path,
        keys_dir=REPO / "keys" / "demo",
        region="320000",
        verify_rate_per_minute=100_000,
    )
    db.upgrade(db.database_url(settings))
    issuer = _token(settings, "issuer", "320000")
    with TestClient(create_app(settings)) as client:
        r = client.post(
            "/api/v1/certificates", json=document("producing-area.json", "320000"), headers=issuer
        )
        assert r.status_code == 201, r.text
        number = r.json()["number"]
        assert client.get("/api/v1/federation/feed").json()["entries"] == []  # no peers: no feed
        answer = client.get(f"/api/v1/recognition/{number}", params={"region": "310000"}).json()
        assert answer["recognised"] is True and answer["reasons"] == ["RECOGNISED"]
        assert client.post("/api/v1/federation/sync", headers=issuer).status_code == 403
