"""The consoles without a browser: sessions, CSRF, roles, forms, errors as pages."""

from __future__ import annotations

import dataclasses
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from quarantine.settings import Settings
from quarantine.web.app import create_app
from tests.browser.site import REPO, Site, populate

BASE = "http://127.0.0.1:8000"


@dataclasses.dataclass
class Node:
    site: Site
    client: TestClient

    def sign_in(self, role: str) -> str:
        """Sign in; the CSRF token of the session."""
        done = self.client.post("/console/signin", data={"token": self.site.tokens[role]})
        assert done.status_code == 303
        return csrf_of(self.client.get("/console").text)


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]{32})"', html)
    assert found, "no CSRF token on the page"
    return found.group(1)


@pytest.fixture
def node(settings: Settings, tmp_path: Path) -> Iterator[Node]:
    keys = tmp_path / "keys"
    shutil.copytree(REPO / "keys" / "demo", keys)
    configured = dataclasses.replace(settings, keys_dir=keys, base_url=BASE)
    app = create_app(configured)
    site = Site(base=BASE, port=8000, workdir=tmp_path)
    populate(site, configured, app.state.context.registry)
    with TestClient(app, base_url=BASE, follow_redirects=False) as client:
        yield Node(site, client)


def test_console_asks_to_sign_in(node: Node) -> None:
    home = node.client.get("/console")
    assert home.status_code == 200 and 'data-test="signin-form"' in home.text
    assert "default-src 'self'" in home.headers["content-security-policy"]
    issue = node.client.get("/console/issue")
    assert issue.status_code == 401 and 'data-test="signin-form"' in issue.text


def test_sign_in_sets_a_strict_http_only_cookie(node: Node) -> None:
    cross = node.client.post(
        "/console/signin",
        data={"token": node.site.tokens["issuer"]},
        headers={"origin": "https://evil.example"},
    )
    assert cross.status_code == 403 and "set-cookie" not in cross.headers
    bad = node.client.post("/console/signin", data={"token": "x" * 30})
    assert bad.status_code == 401 and "INVALID_TOKEN" in bad.text
    assert "set-cookie" not in bad.headers
    good = node.client.post("/console/signin", data={"token": node.site.tokens["issuer"]})
    assert good.status_code == 303 and good.headers["location"] == "/console"
    cookie = good.headers["set-cookie"].lower()
    assert "quarantine_console=" in cookie
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/console" in cookie
    home = node.client.get("/console")
    assert "签发员" in home.text and "310000" in home.text


def test_forms_need_the_session_csrf_token(node: Node) -> None:
    csrf = node.sign_in("issuer")
    number = node.site.numbers["change"]
    path = f"/console/certificates/{number}/status"
    missing = node.client.post(path, data={"op": "revoke", "reason": "x"})
    assert missing.status_code == 403 and "CSRF_FAILED" in missing.text
    forged = node.client.post(path, data={"op": "revoke", "reason": "x", "csrf": "0" * 32})
    assert forged.status_code == 403
    cross = node.client.post(
        path,
        data={"op": "revoke", "reason": "x", "csrf": csrf},
        headers={"origin": "https://evil.example"},
    )
    assert cross.status_code == 403 and "CROSS_SITE_REQUEST" in cross.text
    done = node.client.post(path, data={"op": "revoke", "reason": "货证不符", "csrf": csrf})
    assert done.status_code == 303
    page = node.client.get(done.headers["location"])
    assert 'data-status="REVOKED"' in page.text and "货证不符" in page.text
    again = node.client.post(path, data={"op": "revoke", "reason": "again", "csrf": csrf})
    assert again.status_code == 409 and "ALREADY_REVOKED" in again.text


def test_roles_are_enforced(node: Node) -> None:
    csrf = node.sign_in("inspector")
    issue = node.client.get("/console/issue")
    assert issue.status_code == 403 and "ROLE_NOT_ALLOWED" in issue.text
    number = node.site.numbers["change"]
    revoke = node.client.post(
        f"/console/certificates/{number}/status",
        data={"op": "revoke", "reason": "no", "csrf": csrf},
    )
    assert revoke.status_code == 403
    page = node.client.get(f"/console/certificates/{number}")
    assert 'data-test="change-status"' not in page.text
    assert 'data-test="arrival"' in page.text


def test_issuer_of_another_region_is_refused_at_the_field(node: Node) -> None:
    csrf = node.sign_in("issuer")  # Shanghai 310000
    form = node.client.get("/console/issue?kind=REQUIREMENT").text
    own = re.search(r'<select id="f-issuing_agency.region".*?</select>', form, re.S)
    assert own and 'value="310112"' in own.group(0)
    assert 'value="330109"' not in own.group(0)  # only its own regions are offered
    sent = {
        "csrf": csrf,
        "kind": "REQUIREMENT",
        "op": "issue",
        "issuing_agency.region": "330109",
        "officer.name": "王建国",
        "officer.number": "浙森检0917",
        "consignee.name": "上海浦东园林建设有限公司",
        "category": "绿化苗木",
        "valid_from": "2026-11-28",
        "valid_to": "2027-11-27",
        "statement": "调入的森林植物及其产品须经产地检疫或调运检疫合格并附植物检疫证书，到达后接受复检。",
        "items[0].product": "香樟",
        "items[0].unit": "株",
        "items[0].quantity": "5",
    }
    refused = node.client.post("/console/issue", data=sent)
    assert refused.status_code == 403
    assert 'data-field="issuing_agency.region"' in refused.text


def test_issue_escapes_what_is_typed(node: Node) -> None:
    csrf = node.sign_in("issuer")
    sent = {
        "csrf": csrf,
        "kind": "PRODUCING_AREA",
        "op": "issue",
        "issuing_agency.region": "310112",
        "officer.name": "李慧",
        "officer.number": "沪林检0231",
        "producer.name": '<script>alert("x")</script>苗圃',
        "origin": "闵行区浦江镇",
        "valid_from": "2026-11-28",
        "valid_to": "2027-02-25",
        "statement": "经产地检疫，未发现林业检疫性有害生物，准予凭此证换发植物检疫证书。",
        "items[0].product": "银杏",
        "items[0].unit": "株",
        "items[0].quantity": "12",
    }
    preview = node.client.post("/console/issue", data={**sent, "op": "preview"})
    assert preview.status_code == 200 and 'data-test="preview"' in preview.text
    assert "<script>alert" not in preview.text
    form_key = re.search(r'name="form_key" value="([^"]+)"', preview.text)
    assert form_key
    sent["form_key"] = form_key.group(1)
    issued = node.client.post("/console/issue", data=sent)
    assert issued.status_code == 303, issued.text[:2000]
    again = node.client.post("/console/issue", data=sent)  # a double click: no second certificate
    assert again.status_code == 303 and again.headers["location"] == issued.headers["location"]
    edited = node.client.post("/console/issue", data={**sent, "origin": "别处"})
    assert edited.status_code == 409 and "IDEMPOTENCY_KEY_REUSED" in edited.text
    page = node.client.get(issued.headers["location"])
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;苗圃" in page.text
    assert "<script>alert" not in page.text


def test_supersede_starts_from_the_original(node: Node) -> None:
    csrf = node.sign_in("issuer")
    number = node.site.numbers["valid"]
    form = node.client.get(f"/console/certificates/{number}/supersede")
    assert form.status_code == 200 and "上海闵行浦江花木有限公司" in form.text
    values = dict(
        re.findall(
            r'<input id="f-[^"]*" name="([^"]+)"(?: type="date")? value="([^"]*)"', form.text
        )
    )
    selects = {
        "issuing_agency.region": "310112",
        "delegating_agency.region": "310000",
        "scope": "INTRA_PROVINCE",
        "conveyance.type": "汽车",
        "statement": "经检疫未发现全国林业检疫性有害生物和本省补充林业检疫性有害生物，同意调运。",
    }
    sent = {**values, **selects, "kind": "TRANSPORT", "csrf": csrf, "op": "issue"}
    sent["conveyance.identifier"] = "沪D99999"
    no_reason = node.client.post(f"/console/certificates/{number}/supersede", data=sent)
    assert no_reason.status_code == 422 and 'data-field="reason"' in no_reason.text
    sent["reason"] = "更换车辆"
    done = node.client.post(f"/console/certificates/{number}/supersede", data=sent)
    assert done.status_code == 303, done.text[:3000]
    new = done.headers["location"].split("/")[-1].split("?")[0]
    assert new != number
    old = node.client.get(f"/console/certificates/{number}").text
    assert 'data-status="SUPERSEDED"' in old and new in old


def test_bad_numbers_and_filters_are_pages_with_codes(node: Node) -> None:
    node.sign_in("inspector")
    bad = node.client.get("/console/certificates/31-nope")
    assert bad.status_code == 422 and "BAD_NUMBER" in bad.text
    assert bad.headers["content-type"].startswith("text/html")
    unknown = node.client.get("/console/certificates/310112-2026-999999")
    assert unknown.status_code == 404 and "CERTIFICATE_NOT_FOUND" in unknown.text
    status = node.client.get("/console/search?status=WHATEVER")
    assert status.status_code == 422 and "BAD_STATUS" in status.text
    found = node.client.get("/console/search?consignee=浦东园林")
    assert found.status_code == 200 and node.site.numbers["valid"] in found.text


def test_print_view_has_its_own_strict_policy(node: Node) -> None:
    node.sign_in("inspector")
    page = node.client.get(f"/console/certificates/{node.site.numbers['valid']}/print")
    assert page.status_code == 200 and "<svg" in page.text
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script" not in csp


def test_a_revoked_token_ends_its_session(node: Node) -> None:
    from quarantine.storage.tokens import TokenStore

    node.sign_in("inspector")
    assert node.client.get("/console/search").status_code == 200
    registry = node.client.app.state.context.registry  # type: ignore[attr-defined]
    with registry.session() as db:
        store = TokenStore(db)
        token = store.authenticate(node.site.tokens["inspector"])
        assert token is not None
        store.revoke(token.id)
    after = node.client.get("/console/search")
    assert after.status_code == 401 and 'data-test="signin-form"' in after.text


def test_signout_forgets_the_session(node: Node) -> None:
    csrf = node.sign_in("inspector")
    out = node.client.post("/console/signout", data={"csrf": csrf})
    assert out.status_code == 303
    assert 'data-test="signin-form"' in node.client.get("/console").text


def test_every_form_label_has_both_languages() -> None:
    from quarantine.core.model import Kind
    from quarantine.web import console_forms

    for kind in Kind:
        for group in console_forms.groups_for(kind):
            assert group.zh and group.en
            for spec in group.specs:
                assert spec.zh.strip() and spec.en.strip(), spec.name
                assert bool(spec.hint[0]) == bool(spec.hint[1]), spec.name
    for zh, en in console_forms.ITEM_LABELS.values():
        assert zh and en


def test_form_round_trip_of_a_stored_record() -> None:
    import json

    from quarantine.core.model import Kind
    from quarantine.web import console_forms

    doc = json.loads((REPO / "samples" / "input" / "transport-inter.json").read_text("utf-8"))
    values = console_forms.from_document(doc, Kind.TRANSPORT)
    assert "agent.id_number" not in values  # the registry keeps it; the form asks again
    back = console_forms.to_document(Kind.TRANSPORT, values)
    assert back["consignor"] == doc["consignor"]
    assert back["route"] == doc["route"]
    assert back["references"] == doc["references"]
    assert [i["product"] for i in back["items"]] == [i["product"] for i in doc["items"]]
    assert [str(i["quantity"]) for i in back["items"]] == [str(i["quantity"]) for i in doc["items"]]


def test_inspectors_find_the_inspection_pages_in_the_header(node: Node) -> None:
    node.sign_in("inspector")
    home = node.client.get("/console")
    links = re.findall(r'<a href="([^"?]+)[^"]*" data-test="nav-(\w+)"', home.text)
    assert {name for _, name in links} >= {"alerts", "trace", "operators", "recognition", "stats"}
    for href, _ in links:
        page = node.client.get(href)
        # The statistics page asks for its own sign-in (its cookie is scoped to /stats).
        assert page.status_code == (401 if href == "/stats" else 200), href
        assert "text/html" in page.headers["content-type"]
    english = node.client.get("/console?lang=en")
    assert "Reuse alerts" in english.text and "Operator credit" in english.text


def test_issuers_do_not_see_the_inspection_links(node: Node) -> None:
    node.sign_in("issuer")
    home = node.client.get("/console")
    assert 'data-test="nav-alerts"' not in home.text and 'data-test="nav-issue"' in home.text


def test_the_console_photo_scan_records_the_device_position(node: Node) -> None:
    from sqlalchemy import select

    from quarantine.storage.inspection import InspectionScanRow

    csrf = node.sign_in("inspector")
    form = node.client.get("/console/scan").text
    assert 'name="lon"' in form and 'name="lat"' in form
    png = (REPO / "samples" / "valid-transport-es256.png").read_bytes()

    def send(lon: str, lat: str) -> int:
        answer = node.client.post(
            "/console/scan",
            files={"image": ("qr.png", png, "image/png")},
            data={"csrf": csrf, "lon": lon, "lat": lat},
        )
        return answer.status_code

    assert send("117.2272", "") == 422  # one coordinate without the other
    assert send("117.2272", "31.8206") == 200
    registry = node.client.app.state.context.registry  # type: ignore[attr-defined]
    with registry.session() as session:
        rows = session.execute(
            select(InspectionScanRow.lon, InspectionScanRow.lat).where(
                InspectionScanRow.number == "340104-2026-000077"
            )
        ).all()
    assert [(r.lon, r.lat) for r in rows] == [(117.2272, 31.8206)]
