"""Inspection across four real nodes (the federation's four-node setup, ``tests/federation``).

* a certificate scanned at a Jiangsu checkpoint and, 20 minutes later, at a Shanghai
  checkpoint about 160 km away raises the same alert at both nodes;
* a violation recorded in Zhejiang bars the operator's records in Shanghai after sync;
* a greening project in Pudong accepts material from an Anhui nursery by its QR text
  (no paper) and issues its PROJECT certificate.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from quarantine import trustfile
from quarantine.federation.publish import FeedPublisher, attach
from quarantine.services import inspection
from quarantine.services.registry import KeyFolderSigners
from quarantine.storage import db
from tests.federation.documents import document
from tests.federation.test_four_nodes import LiveNode, nodes

__all__ = ["nodes"]  # the module-scoped fixture: four servers on loopback

WUJIN = "320412"  # 常州市武进区
PUDONG = "310115"


def _alerts(node: LiveNode, region: str) -> list[dict[str, Any]]:
    with node.client() as c:
        r = c.get("/api/v1/alerts", params={"region": region}, headers=node.inspector)
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


def _scan_20_minutes_ago(node: LiveNode, number: str, plate: str = "苏D12345") -> None:
    """An inspector's scan at a Jiangsu checkpoint, recorded 20 minutes ago (published)."""
    trust = trustfile.load(None, None)
    signers = KeyFolderSigners(Path(node.env["QUARANTINE_KEYS_DIR"]), None)
    engine = db.make_engine(node.url)
    try:
        sessions = db.session_factory(engine)
        attach(sessions, FeedPublisher(node.region, lambda r, at: signers(r, at).signer, trust))
        now = datetime.now(UTC)
        with sessions.begin() as session:
            inspection.record_scan(
                session,
                number=number,
                at=now - timedelta(minutes=20),
                region=WUJIN,
                actor="inspector:js",
                checkpoint="沪蓉高速武进站",
                plate=plate,
                verdict="VALID",
                now=now,
            )
    finally:
        engine.dispose()


def test_one_certificate_on_two_roads_raises_an_alert_at_both_nodes(
    nodes: dict[str, LiveNode],
) -> None:
    js, sh = nodes["320000"], nodes["310000"]
    doc = document("transport-inter.json", "320000")
    doc["conveyance"] = {"type": "汽车", "identifier": "苏D12345"}
    with js.client() as c:
        r = c.post("/api/v1/certificates", json=doc, headers=js.issuer)
    assert r.status_code == 201, r.text
    number, qr = r.json()["number"], r.json()["qr_text"]
    _scan_20_minutes_ago(js, number)
    sh.sync("320000")  # the certificate and the Jiangsu scan reach Shanghai
    with sh.client() as c:
        r = c.post(
            "/api/v1/verify",
            json={"text": qr, "region": PUDONG, "checkpoint": "川沙检查站", "plate": "苏D12345"},
            headers=sh.inspector,
        )
    assert r.status_code == 200, r.text
    [at_sh] = [a for a in _alerts(sh, "310000") if a["number"] == number]
    assert at_sh["rule"] == "IMPOSSIBLE_TRAVEL" and len(at_sh["scans"]) == 2
    js.sync("310000")  # Shanghai's scan reaches Jiangsu
    [at_js] = [a for a in _alerts(js, "320000") if a["number"] == number]
    assert at_js["id"] == at_sh["id"] and at_js["rule"] == "IMPOSSIBLE_TRAVEL"
    assert at_js["scans"] == at_sh["scans"]


def test_violation_in_zhejiang_bars_the_operator_in_shanghai(nodes: dict[str, LiveNode]) -> None:
    zj, sh = nodes["330000"], nodes["310000"]
    operator = "沪检登310115-0999"
    doc = document("producing-area.json", "310000")
    doc["producer"] = {**doc["producer"], "registration": operator}
    number = sh.issue(doc)
    assert sh.recognition(number)["recognised"] is True
    with zj.client() as c:
        r = c.post(
            "/api/v1/violations",
            json={
                "operator": operator,
                "kind": "FORGED",
                "severity": "SEVERE",
                "evidence": "变造产地检疫合格证数量",
                "region": "330109",
            },
            headers=zj.inspector,
        )
    assert r.status_code == 201, r.text
    assert sh.recognition(number)["recognised"] is True  # not yet synced
    sh.sync("330000")
    answer = sh.recognition(number)
    assert answer["recognised"] is False and "OPERATOR_BARRED" in answer["reasons"]
    with sh.client() as c:
        r = c.get(f"/api/v1/operators/{operator}/credit", headers=sh.inspector)
    assert r.json()["level"] == "BARRED" and r.json()["violations"][0]["region"] == "330109"


def test_pudong_project_accepts_anhui_material_without_paper(nodes: dict[str, LiveNode]) -> None:
    ah, sh = nodes["340000"], nodes["310000"]
    sh.issue(document("requirement.json", "310000"))  # 一次提出、一年有效
    with ah.client() as c:
        r = c.post(
            "/api/v1/certificates",
            json=document("transport-anhui.json", "340000"),
            headers=ah.issuer,
        )
    assert r.status_code == 201, r.text
    number, qr = r.json()["number"], r.json()["qr_text"]
    sh.sync("340000")
    with sh.client() as c:
        r = c.post(
            "/api/v1/projects",
            json={"name": "川沙绿地改造工程", "district": PUDONG, "contractor": "上海浦东园林"},
            headers=sh.inspector,
        )
        assert r.status_code == 201, r.text
        base = f"/api/v1/projects/{r.json()['id']}"
        r = c.post(f"{base}/materials", json={"qr_text": qr}, headers=sh.inspector)
        assert r.status_code == 201, r.text
        assert r.json()["recognition"]["recognised"] is True, r.json()["recognition"]
        assert r.json()["batches"][0]["source"] == "QR"
        r = c.post(
            f"{base}/materials/{number}/reinspection",
            json={"passed": True, "note": "未发现检疫性有害生物"},
            headers=sh.inspector,
        )
        assert r.json()["decision"]["state"] == "READY"
        r = c.post(
            f"{base}/certificate",
            json={"officer": {"name": "刘洋", "number": "沪林检0115"}},
            headers=sh.issuer,
        )
        assert r.status_code == 201, r.text
        project_number = r.json()["certificate"]["number"]
        r = c.get(f"/api/v1/certificates/{project_number}", headers=sh.inspector)
        assert r.json()["record"]["references"]["certificates"] == [number]
        r = c.get(f"/api/v1/trace/{number}", headers=sh.inspector)
    kinds = {rec["number"]: rec["kind"] for rec in r.json()["records"]}
    assert kinds[number] == "TRANSPORT" and kinds[project_number] == "PROJECT"


def test_scans_pulled_before_their_certificate_are_evaluated_when_it_arrives(
    nodes: dict[str, LiveNode],
) -> None:
    zj, js, sh = nodes["330000"], nodes["320000"], nodes["310000"]
    with zj.client() as c:
        r = c.post(
            "/api/v1/certificates",
            json=document("transport-inter.json", "330000"),
            headers=zj.issuer,
        )
    assert r.status_code == 201, r.text
    number, qr = r.json()["number"], r.json()["qr_text"]
    _scan_20_minutes_ago(js, number, plate="")  # Jiangsu does not know it: no alert there
    sh.sync("320000")  # the scan, before the certificate
    with sh.client() as c:
        r = c.post("/api/v1/verify", json={"text": qr, "region": PUDONG}, headers=sh.inspector)
    assert r.status_code == 200
    assert not [a for a in _alerts(sh, "310000") if a["number"] == number]
    sh.sync("330000")  # the certificate arrives: the scans are evaluated now
    rules = [a["rule"] for a in _alerts(sh, "310000") if a["number"] == number]
    assert rules == ["IMPOSSIBLE_TRAVEL"]
