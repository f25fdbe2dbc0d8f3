"""Console pages of inspection: alerts with the "checked" form, the trace drawn, credit."""

from __future__ import annotations

import re
from datetime import date

from quarantine.core.model import CHINA_TZ, Kind
from quarantine.core.trace import Edge, Link, Trace
from quarantine.render.trace_svg import render_trace
from tests.inspection.conftest import Node
from tests.web.pg import sample

PUDONG = "310115"


def sign_in(node: Node, role: str, region: str) -> str:
    secret = node.token(role, region)["Authorization"].split()[1]
    done = node.client.post("/console/signin", data={"token": secret})
    assert done.status_code == 200, done.text  # followed to /console
    found = re.search(r'name="csrf" value="([0-9a-f]{32})"', done.text)
    assert found
    return found.group(1)


def test_pages_ask_to_sign_in(node: Node) -> None:
    for path in ("/console/alerts", "/console/trace?number=x", "/console/operators"):
        r = node.client.get(path)
        assert r.status_code == 401 and 'data-test="signin-form"' in r.text


def test_alerts_page_lists_and_checks(node: Node) -> None:
    issued = node.issue(sample("transport-intra"))
    node.scan(issued["qr_text"], "320412")
    node.clock.advance(minutes=20)
    node.scan(issued["qr_text"], PUDONG)
    csrf = sign_in(node, "inspector", PUDONG)
    page = node.client.get("/console/alerts")
    assert page.status_code == 200 and 'data-rule="IMPOSSIBLE_TRAVEL"' in page.text
    alert_id = re.search(r'data-alert="([0-9a-f]+)"', page.text)
    assert alert_id
    url = f"/console/alerts/{alert_id.group(1)}/check"
    r = node.client.post(url, data={"note": "x"}, follow_redirects=False)
    assert r.status_code == 403  # no CSRF token
    r = node.client.post(url, data={"note": " ", "csrf": csrf}, follow_redirects=False)
    assert r.status_code == 422 and "FIELD_REQUIRED" in r.text
    r = node.client.post(url, data={"note": "<b>已核实</b>", "csrf": csrf}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/console/alerts?done=checked"
    page = node.client.get("/console/alerts?done=checked")
    assert 'data-test="done"' in page.text and 'data-test="no-alerts"' in page.text
    page = node.client.get("/console/alerts?status=checked")
    assert "&lt;b&gt;已核实&lt;/b&gt;" in page.text
    page = node.client.get("/console/alerts?region=330000")
    assert page.status_code == 403 and "FORBIDDEN" in page.text


def test_trace_page_draws_the_chain(node: Node) -> None:
    passed = node.issue(sample("producing-area"), "330000")
    doc = sample("transport-inter")
    doc["references"] = {
        "producing_area_pass": passed["number"],
        "requirement_letter": "310000-2026-000031",
    }
    issued = node.issue(doc, "330000")
    sign_in(node, "inspector", PUDONG)
    page = node.client.get(f"/console/trace?number={issued['number']}")
    assert page.status_code == 200
    assert "<svg" in page.text and f'data-number="{passed["number"]}"' in page.text
    assert 'data-missing="true"' in page.text  # the letter is not known here
    assert 'data-step="ISSUED"' in page.text
    page = node.client.get("/console/trace?number=310000-2026-999999")
    assert page.status_code == 404 and "CERTIFICATE_NOT_FOUND" in page.text
    page = node.client.get("/console/trace?number=<script>")
    assert page.status_code == 422 and "<script>" not in page.text


def test_operator_page_shows_why(node: Node) -> None:
    r = node.client.post(
        "/api/v1/violations",
        json={
            "operator": "沪检登9",
            "kind": "PEST_FOUND",
            "severity": "SEVERE",
            "evidence": "松材线虫",
        },
        headers=node.token("inspector", PUDONG),
    )
    assert r.status_code == 201
    sign_in(node, "inspector", "320000")
    page = node.client.get("/console/operators?registration=沪检登9")
    assert page.status_code == 200 and 'data-level="BARRED"' in page.text
    assert "发现检疫性有害生物" in page.text and "松材线虫" in page.text
    page = node.client.get("/console/operators?registration=a b")
    assert page.status_code == 422


def test_svg_escapes_and_marks_the_start() -> None:
    from dataclasses import replace

    from quarantine.core.document import from_document

    cert = from_document({**sample("producing-area", keep_number=True)})
    cert = replace(cert, number=replace(cert.number, region="330109"))
    start = str(cert.number)
    trace = Trace(
        start,
        (cert,),
        (Edge(start, "310115-2026-000001", Link.PROJECT),),
        (),
        missing=("<&>-2026-000001",),
    )
    svg = render_trace(trace, lang="en")
    assert svg.startswith("<svg") and "&lt;&amp;&gt;-2026-000001" in svg
    assert 'stroke="#c0392b"' in svg and "Producing-area pass" in svg
    assert cert.kind is Kind.PRODUCING_AREA and date(2026, 1, 1) < cert.valid_to
    assert cert.issued_at.astimezone(CHINA_TZ).year == 2026
