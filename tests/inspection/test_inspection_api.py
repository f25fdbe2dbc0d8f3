"""Reuse alerts, violations and credit, the trace and greening projects over the HTTP API.

Every test runs on SQLite and on PostgreSQL (skipped with the reason without a server).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from quarantine.storage import federation as fed
from quarantine.storage.inspection import AlertRow, ProjectBatchRow, ViolationRow
from tests.inspection.conftest import Node
from tests.web.pg import sample

WUJIN = "320412"  # 常州市武进区, about 160 km from Pudong's centre
PUDONG = "310115"


def _alerts(node: Node, region: str, status: str = "open", who: str = "") -> dict[str, Any]:
    r = node.client.get(
        "/api/v1/alerts",
        params={"region": region, "status": status},
        headers=node.token("inspector", who or region),
    )
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def test_impossible_travel_raises_one_alert_seen_and_checked_by_inspectors(node: Node) -> None:
    issued = node.issue(sample("transport-intra"))
    node.scan(issued["qr_text"], WUJIN, checkpoint="沪蓉高速武进站", plate="沪B5D218")
    node.clock.advance(minutes=20)
    node.scan(issued["qr_text"], PUDONG, checkpoint="川沙检查站", plate="沪B·5D218")
    found = _alerts(node, PUDONG)
    assert [a["rule"] for a in found["items"]] == ["IMPOSSIBLE_TRAVEL"]
    alert = found["items"][0]
    assert alert["number"] == issued["number"] and len(alert["scans"]) == 2
    assert set(alert["regions"]) >= {WUJIN, PUDONG} and alert["zh"] and alert["en"]
    # the Jiangsu inspector sees it too (a scan of theirs); Zhejiang's does not
    assert _alerts(node, "320000")["total"] == 1
    assert _alerts(node, "330000")["total"] == 0
    r = node.client.get(
        "/api/v1/alerts", params={"region": PUDONG}, headers=node.token("inspector", "330000")
    )
    assert r.status_code == 403 and r.json()["error"]["code"] == "FORBIDDEN"
    # scanning again at the same place raises nothing new for the same pair
    with node.registry.session() as s:
        assert s.execute(select(func.count()).select_from(AlertRow)).scalar_one() == 1
    url = f"/api/v1/alerts/{alert['id']}/check"
    r = node.client.post(url, json={"note": "   "}, headers=node.token("inspector", PUDONG))
    assert r.status_code == 422 and r.json()["error"]["code"] == "FIELD_REQUIRED"
    r = node.client.post(url, json={"note": "x"}, headers=node.token("inspector", "330000"))
    assert r.status_code == 403
    r = node.client.post(
        url, json={"note": "核实：两车同证，已扣留"}, headers=node.token("inspector", PUDONG)
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "CHECKED" and r.json()["note"] == "核实：两车同证，已扣留"
    r = node.client.post(url, json={"note": "again"}, headers=node.token("inspector", PUDONG))
    assert r.status_code == 409 and r.json()["error"]["code"] == "ALERT_ALREADY_CHECKED"
    assert _alerts(node, PUDONG)["total"] == 0
    assert _alerts(node, PUDONG, "checked")["total"] == 1
    r = node.client.post(
        "/api/v1/alerts/0123abcd/check", json={"note": "x"}, headers=node.token("admin", "310000")
    )
    assert r.status_code == 404 and r.json()["error"]["code"] == "ALERT_NOT_FOUND"
    assert node.client.get("/api/v1/alerts").status_code == 401


def test_plate_mismatch_and_scan_after_arrival(node: Node) -> None:
    issued = node.issue(sample("transport-intra"))
    node.scan(issued["qr_text"], "310112", plate="沪C99999")
    assert [a["rule"] for a in _alerts(node, "310112")["items"]] == ["PLATE_MISMATCH"]
    r = node.client.post(
        f"/api/v1/certificates/{issued['number']}/arrival",
        json={"accepted": True, "region": PUDONG},
        headers=node.token("inspector", PUDONG),
    )
    assert r.status_code == 200, r.text
    node.clock.advance(hours=2)
    node.scan(issued["qr_text"], PUDONG, plate="沪B5D218")
    rules = {a["rule"] for a in _alerts(node, PUDONG)["items"]}
    assert "SCANNED_AFTER_CLOSED" in rules


def test_violation_bars_the_operator_and_the_credit_page_says_why(node: Node) -> None:
    operator = "浙检登330109-0087"
    body = {
        "operator": operator,
        "kind": "FORGED",
        "severity": "SEVERE",
        "evidence": "变造数量：证书 60 株，实装 200 株",
    }
    r = node.client.post("/api/v1/violations", json=body, headers=node.token("inspector", "330109"))
    assert r.status_code == 201, r.text
    answer = r.json()
    assert answer["id"].startswith("33") and answer["region"] == "330109"
    credit = answer["credit"]
    assert credit["level"] == "BARRED" and credit["barred_through"] == "2027-11-30"
    assert "伪造" in credit["why"]["zh"] and "Forged" in credit["why"]["en"]
    r = node.client.get(
        f"/api/v1/operators/{operator}/credit", headers=node.token("inspector", PUDONG)
    )
    assert r.status_code == 200 and r.json()["level"] == "BARRED"
    assert r.json()["violations"][0]["counts"] is True
    r = node.client.get(
        f"/api/v1/operators/{operator}/credit",
        params={"date": "2027-12-01"},
        headers=node.token("inspector", PUDONG),
    )
    assert r.json()["level"] == "GOOD"
    with node.registry.session() as s:
        bars = fed.bars_of(s, [operator])
    assert bars[operator][0].covers(node.clock.now.date())


def test_bad_violations_are_refused_and_nothing_is_written(node: Node) -> None:
    good = {"operator": "沪检登1", "kind": "REUSE", "severity": 3, "evidence": "同证两车"}
    cases: list[tuple[dict[str, Any], str, int, str]] = [
        ({**good, "kind": "LATE"}, "inspector", 422, "BAD_VIOLATION_KIND"),
        ({**good, "severity": 7}, "inspector", 422, "BAD_SEVERITY"),
        ({**good, "operator": ""}, "inspector", 422, "FIELD_REQUIRED"),
        ({**good, "evidence": ""}, "inspector", 422, "FIELD_REQUIRED"),
        ({**good, "at": "2026-12-01T10:00:00"}, "inspector", 422, "BAD_TIME"),
        ({**good, "at": "2027-01-01T10:00:00+08:00"}, "inspector", 422, "TIME_IN_FUTURE"),
        ({**good, "certificate": "nope"}, "inspector", 422, "BAD_NUMBER"),
        ({**good, "extra": 1}, "inspector", 422, "REQUEST_INVALID"),
        ({**good, "region": "320412"}, "inspector", 403, "FORBIDDEN"),
        ({**good, "region": "999999"}, "inspector", 422, "UNKNOWN_REGION"),
        (good, "issuer", 403, "FORBIDDEN"),
    ]
    for doc, role, status, code in cases:
        r = node.client.post("/api/v1/violations", json=doc, headers=node.token(role, "310115"))
        assert (r.status_code, r.json()["error"]["code"]) == (status, code), (doc, r.text)
    with node.registry.session() as s:
        assert s.execute(select(func.count()).select_from(ViolationRow)).scalar_one() == 0


def test_trace_follows_the_pass_the_reissue_scans_and_arrival(node: Node) -> None:
    passed = node.issue(sample("producing-area"), "330000")
    doc = sample("transport-inter")
    doc["references"] = {"producing_area_pass": passed["number"]}
    first = node.issue(doc, "330000")
    r = node.client.post(
        f"/api/v1/certificates/{first['number']}/supersede",
        json={"reason": "换证：更正数量", "certificate": doc},
        headers=node.token("issuer", "330000"),
    )
    assert r.status_code == 201, r.text
    second = r.json()["replacement"]
    node.clock.advance(minutes=30)
    node.scan(second["qr_text"], "330109", checkpoint="萧山检查站")
    node.clock.advance(hours=3)
    r = node.client.post(
        f"/api/v1/certificates/{second['number']}/arrival",
        json={"accepted": True, "region": PUDONG, "checkpoint": "川沙"},
        headers=node.token("inspector", PUDONG),
    )
    assert r.status_code == 200, r.text
    r = node.client.get(
        f"/api/v1/trace/{second['number']}", headers=node.token("inspector", PUDONG)
    )
    assert r.status_code == 200, r.text
    t = r.json()
    numbers = [rec["number"] for rec in t["records"]]
    assert numbers == [passed["number"], first["number"], second["number"]]
    links = {(e["source"], e["target"], e["link"]) for e in t["edges"]}
    assert (passed["number"], first["number"], "PRODUCING_AREA") in links
    assert (first["number"], second["number"], "REISSUE") in links
    types = [s["type"] for s in t["steps"]]
    assert {"ISSUED", "SUPERSEDED", "SCAN", "ARRIVAL"} <= set(types)
    assert types.index("SCAN") < types.index("ARRIVAL")
    # from the pass, downstream: the first transport certificate and its re-issue
    r = node.client.get(
        f"/api/v1/trace/{passed['number']}", headers=node.token("inspector", PUDONG)
    )
    assert len(r.json()["records"]) == 3
    r = node.client.get("/api/v1/trace/310000-2026-999999", headers=node.token("inspector", PUDONG))
    assert r.status_code == 404
    assert node.client.get(f"/api/v1/trace/{passed['number']}").status_code == 401
    assert (
        node.client.get("/api/v1/trace/bad", headers=node.token("inspector", PUDONG)).status_code
        == 422
    )


def test_greening_project_collects_material_without_paper_and_is_certified(node: Node) -> None:
    intra = node.issue(sample("transport-intra"))
    other = node.issue(sample("transport-intra"))
    inspector, issuer = node.token("inspector", PUDONG), node.token("issuer", PUDONG)
    r = node.client.post(
        "/api/v1/projects",
        json={"name": "川沙绿地改造", "district": PUDONG, "contractor": "浦东园林", "site": "川沙"},
        headers=inspector,
    )
    assert r.status_code == 201, r.text
    project = r.json()
    assert project["decision"]["state"] == "EMPTY"
    base = f"/api/v1/projects/{project['id']}"
    r = node.client.post(f"{base}/materials", json={"number": intra["number"]}, headers=inspector)
    assert r.status_code == 201, r.text
    assert r.json()["recognition"]["recognised"] is True
    r = node.client.post(f"{base}/materials", json={"qr_text": other["qr_text"]}, headers=inspector)
    assert r.status_code == 201, r.text
    batches = {b["number"]: b for b in r.json()["batches"]}
    assert batches[other["number"]]["source"] == "QR" and r.json()["decision"]["state"] == "PENDING"
    # bad material requests change nothing
    for doc, status, code in [
        ({"number": intra["number"], "qr_text": other["qr_text"]}, 422, "MATERIAL_NUMBER_OR_QR"),
        ({"qr_text": "HTTP://X/C/123"}, 422, "MATERIAL_QR_INVALID"),
        ({"number": "310115-2026-999999"}, 404, "CERTIFICATE_NOT_FOUND"),
        ({"number": "garbage"}, 422, "BAD_NUMBER"),
    ]:
        r = node.client.post(f"{base}/materials", json=doc, headers=inspector)
        assert (r.status_code, r.json()["error"]["code"]) == (status, code), r.text
    r = node.client.post(
        f"{base}/materials",
        json={"number": intra["number"]},
        headers=node.token("inspector", "310112"),
    )
    assert r.status_code == 403
    # re-inspection: one passes, one fails → the certificate is refused, naming the batch
    r = node.client.post(
        f"{base}/materials/{intra['number']}/reinspection", json={"passed": True}, headers=inspector
    )
    assert r.status_code == 200, r.text
    r = node.client.post(
        f"{base}/materials/{other['number']}/reinspection",
        json={"passed": False, "note": "发现美国白蛾幼虫"},
        headers=inspector,
    )
    assert r.json()["decision"]["state"] == "FAILED"
    officer = {"officer": {"name": "刘洋", "number": "沪林检0115"}}
    r = node.client.post(f"{base}/certificate", json=officer, headers=issuer)
    assert r.status_code == 409, r.text
    error = r.json()["error"]
    assert error["code"] == "PROJECT_FAILED"
    assert error["decision"]["problems"] == [
        {
            "code": "REINSPECTION_FAILED",
            "number": other["number"],
            "detail": "发现美国白蛾幼虫",
            "zh": "复验不合格",
            "en": "Failed re-inspection",
        }
    ]
    r = node.client.post(
        f"{base}/materials/{other['number']}/reinspection",
        json={"passed": False},
        headers=inspector,
    )
    assert r.status_code == 422  # a failure needs a note
    r = node.client.post(
        f"{base}/materials/310115-2026-999999/reinspection",
        json={"passed": True},
        headers=inspector,
    )
    assert r.status_code == 404 and r.json()["error"]["code"] == "BATCH_NOT_FOUND"
    r = node.client.post(
        f"{base}/materials/{other['number']}/reinspection",
        json={"passed": True, "note": "除害处理后复验合格"},
        headers=inspector,
    )
    assert r.json()["decision"]["state"] == "READY"
    r = node.client.post(f"{base}/certificate", json=officer, headers=inspector)
    assert r.status_code == 403  # inspectors do not issue
    r = node.client.post(f"{base}/certificate", json={}, headers=issuer)
    assert r.status_code == 422
    r = node.client.post(f"{base}/certificate", json=officer, headers=issuer)
    assert r.status_code == 201, r.text
    cert = r.json()["certificate"]
    assert cert["kind"] == "PROJECT" and r.json()["project"]["certificate"] == cert["number"]
    r = node.client.get(f"/api/v1/certificates/{cert['number']}", headers=inspector)
    refs = r.json()["record"]["references"]["certificates"]
    assert sorted(refs) == sorted([intra["number"], other["number"]])
    assert (
        node.client.post("/api/v1/verify", json={"text": cert["qr_text"]}).json()["verdict"]
        == "VALID"
    )
    # closed: no more material, no second certificate
    r = node.client.post(f"{base}/materials", json={"number": intra["number"]}, headers=inspector)
    assert r.status_code == 409 and r.json()["error"]["code"] == "PROJECT_CERTIFIED"
    r = node.client.post(f"{base}/certificate", json=officer, headers=issuer)
    assert r.status_code == 409
    # the trace of the transport certificate reaches the project record
    r = node.client.get(f"/api/v1/trace/{intra['number']}", headers=inspector)
    assert cert["number"] in [rec["number"] for rec in r.json()["records"]]
    assert "PROJECT_REINSPECTION" in {s["type"] for s in r.json()["steps"]}
    with node.registry.session() as s:
        assert s.execute(select(func.count()).select_from(ProjectBatchRow)).scalar_one() == 2


def test_projects_refuse_bad_input(node: Node) -> None:
    inspector = node.token("inspector", PUDONG)
    for doc, status in [
        ({"name": "", "district": PUDONG}, 422),
        ({"name": "x", "district": "999999"}, 422),
        ({"name": "x", "district": "310112"}, 403),
        ({"name": "x", "district": PUDONG, "budget": 1}, 422),
    ]:
        r = node.client.post("/api/v1/projects", json=doc, headers=inspector)
        assert r.status_code == status, (doc, r.text)
    r = node.client.get("/api/v1/projects/prj_0123456789abcdef", headers=inspector)
    assert r.status_code == 404 and r.json()["error"]["code"] == "PROJECT_NOT_FOUND"
    r = node.client.post(
        "/api/v1/projects", json={"name": "x", "district": PUDONG}, headers=inspector
    )
    base = f"/api/v1/projects/{r.json()['id']}"
    r = node.client.post(
        f"{base}/certificate",
        json={"officer": {"name": "刘洋", "number": "1"}},
        headers=node.token("issuer", PUDONG),
    )
    assert r.status_code == 409 and r.json()["error"]["code"] == "PROJECT_EMPTY"


def test_device_positions_override_district_centres(node: Node) -> None:
    issued = node.issue(sample("transport-intra"))
    node.scan(issued["qr_text"], PUDONG, lon=121.80, lat=31.20)
    node.clock.advance(minutes=5)
    node.scan(issued["qr_text"], PUDONG, lon=121.81, lat=31.21)  # 1.4 km in 5 min: one load
    assert _alerts(node, PUDONG)["total"] == 0
    node.clock.advance(minutes=5)
    node.scan(issued["qr_text"], PUDONG, lon=120.30, lat=31.60)  # same district code, 150 km off
    alerts = _alerts(node, PUDONG)["items"]  # against each of the two earlier scans
    assert [a["rule"] for a in alerts] == ["IMPOSSIBLE_TRAVEL"] * 2
    r = node.client.post(
        "/api/v1/verify",
        json={"text": issued["qr_text"], "region": PUDONG, "lon": 500},
        headers=node.token("inspector", PUDONG),
    )
    assert r.status_code == 422
