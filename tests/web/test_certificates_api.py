"""The certificates API over a registry: issue, read, search, status changes, inspections."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from quarantine.settings import Settings
from quarantine.web.routes.certificates import (
    MAX_BODY_BYTES,
    CertificateOut,
    ChangedOut,
    IssuedOut,
    PageOut,
    SupersededOut,
)
from tests.storage.conftest import PgDatabases
from tests.web.pg import SAMPLE_FILES, Api, open_api, pg_databases, pg_settings, sample

ROOT = "/api/v1/certificates"


@pytest.fixture
def api(settings: Settings, tmp_path: Path) -> Iterator[Api]:
    with open_api(settings, tmp_path) as a:
        yield a


@pytest.fixture
def sh(api: Api) -> dict[str, str]:
    """A Shanghai provincial issuer."""
    return api.token("issuer", "310000")


@pytest.fixture
def inspector(api: Api) -> dict[str, str]:
    return api.token("inspector", "310115")


def issuer_for(api: Api, name: str) -> dict[str, str]:
    return api.token("issuer", SAMPLE_FILES[name])


# --------------------------------------------------------------------------- issue


@pytest.mark.parametrize("name", sorted(SAMPLE_FILES))
def test_issue_every_kind_and_verify_with_the_registry(api: Api, name: str) -> None:
    doc = sample(name)
    body = api.issue(issuer_for(api, name), doc)
    IssuedOut.model_validate(body)
    assert body["kind"] == doc["kind"]
    assert body["number"].startswith(doc["issuing_agency"]["region"] + "-2026-")
    assert body["qr_text"].startswith("HTTP://127.0.0.1:8000/C/")
    links = body["links"]
    assert links["qr_png"] == f"{ROOT}/{body['number']}/qr.png"
    report = api.verify(body["qr_text"])
    assert report["verdict"] == "VALID", report["reasons"]
    assert "UNKNOWN_TO_REGISTRY" not in report["reasons"]
    assert report["certificate"]["number"] == body["number"]


def test_numbers_are_allocated_in_sequence_and_a_given_number_is_claimed(
    api: Api, sh: dict[str, str]
) -> None:
    first = api.issue(sh, sample("transport-intra"))["number"]
    second = api.issue(sh, sample("transport-intra"))["number"]
    assert (first, second) == ("310112-2026-000001", "310112-2026-000002")
    given = api.issue(sh, sample("transport-intra", keep_number=True))["number"]
    assert given == "310112-2026-000158"
    again = api.client.post(ROOT, json=sample("transport-intra", keep_number=True), headers=sh)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "NUMBER_IN_USE"
    assert api.issue(sh, sample("transport-intra"))["number"] == "310112-2026-000159"


def test_links_serve_images_and_printable_certificates(api: Api, sh: dict[str, str]) -> None:
    issued = api.issue(sh, sample("transport-intra"))
    links = issued["links"]
    png = api.client.get(links["qr_png"], headers=sh)
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    assert png.content.startswith(b"\x89PNG")
    svg = api.client.get(links["qr_svg"], headers=sh)
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
    page = api.client.get(links["print_html"], headers=sh)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert issued["number"] in page.text and "上海闵行浦江花木有限公司" in page.text
    printed = api.client.get(links["print_png"], headers=sh)
    assert printed.status_code in (200, 503)  # 503 CJK_FONT_MISSING on a machine with no font
    if printed.status_code == 200:
        assert printed.content.startswith(b"\x89PNG")
    for link in ("qr_png", "print_html"):
        assert api.client.get(links[link]).status_code == 401


def test_get_full_record(api: Api, inspector: dict[str, str]) -> None:
    zj = api.token("issuer", "330000")
    number = api.issue(zj, sample("transport-inter"))["number"]
    response = api.client.get(f"{ROOT}/{number}", headers=inspector)
    assert response.status_code == 200
    body = response.json()
    CertificateOut.model_validate(body)
    assert body["status"] == "VALID" and body["events"] == [] and body["superseded_by"] is None
    record = body["record"]
    assert record["consignor"]["address"] == "浙江省杭州市萧山区新街街道花木城路18号"
    assert "salt" not in record
    assert record["agent"] == {
        "name": "陈立明",
        "phone": "13857100000",
        "id_masked": "**************3456",
    }
    assert "330181198605123456" not in response.text


def test_unknown_and_malformed_numbers(api: Api, inspector: dict[str, str]) -> None:
    unknown = api.client.get(f"{ROOT}/310112-2026-999999", headers=inspector)
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "CERTIFICATE_NOT_FOUND"
    for bad in ("1", "310112-2026-000000", "310112-2026-00001x", "x" * 300, "310112_2026_000001"):
        response = api.client.get(f"{ROOT}/{bad}", headers=inspector)
        assert response.status_code == 422, bad
        assert response.json()["error"]["code"] == "BAD_NUMBER"


def test_malformed_numbers_are_refused_before_the_token_is_looked_up(api: Api) -> None:
    """422 even with a bogus token: the number is checked before any database work."""
    bogus = {"Authorization": "Bearer not-a-real-token"}
    for path in (f"{ROOT}/12", f"{ROOT}/12/revoke", f"{ROOT}/12/arrival"):
        method = api.client.get if path.endswith("12") else api.client.post
        response = method(path, headers=bogus)
        assert response.status_code == 422, path
        assert response.json()["error"]["code"] == "BAD_NUMBER"


# --------------------------------------------------------------------------- search


def test_search_filters_and_pages(api: Api, inspector: dict[str, str]) -> None:
    for name in SAMPLE_FILES:
        api.issue(issuer_for(api, name), sample(name))
    for _ in range(3):
        api.issue(issuer_for(api, "transport-intra"), sample("transport-intra"))

    def search(**params: Any) -> dict[str, Any]:
        response = api.client.get(ROOT, params=params, headers=inspector)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        PageOut.model_validate(body)
        return body

    everything = search()
    assert everything["total"] == 9 and everything["pages"] == 1
    assert search(region="310000")["total"] == 6
    assert search(region="310112")["total"] == 4
    assert search(number="310112-2026-00000")["total"] == 4
    assert search(consignee="浦东园林")["total"] == 7  # two transports, 4 intra, requirement
    assert search(consignor="蜀山")["total"] == 1
    assert search(product="银杏")["total"] == 5  # 4 intra + project
    assert search(status="VALID")["total"] == 9
    assert search(status="REVOKED")["total"] == 0
    assert search(issued_from="2026-11-27T12:00:00+08:00")["total"] == 6  # inter, project, intra x4
    assert search(issued_to="2026-11-27T09:00:00+08:00")["total"] == 1  # anhui 08:45
    pages = [search(size=4, page=p) for p in (1, 2, 3)]
    assert [len(p["items"]) for p in pages] == [4, 4, 1]
    numbers = [i["number"] for p in pages for i in p["items"]]
    assert len(set(numbers)) == 9
    assert pages[0]["pages"] == 3
    issued = [i["issued_at"] for p in pages for i in p["items"]]
    assert issued == sorted(issued, reverse=True)


@pytest.mark.parametrize(
    "params",
    [
        {"size": 101},
        {"size": 0},
        {"page": 0},
        {"page": 10_001},
        {"region": "31"},
        {"number": "abc"},
        {"status": "LOST"},
        {"issued_from": "2026-11-27T12:00:00"},  # no time zone
        {"issued_to": "yesterday"},
        {"consignor": "x" * 101},
        {"size": "many"},
    ],
)
def test_search_refuses_bad_parameters(
    api: Api, inspector: dict[str, str], params: dict[str, Any]
) -> None:
    response = api.client.get(ROOT, params=params, headers=inspector)
    assert response.status_code == 422
    body = response.json()["error"]
    assert body["code"] == "REQUEST_INVALID" and body["problems"]


# --------------------------------------------------------------------------- status changes


def test_revoke_then_verify_says_revoked_with_the_reason(api: Api, sh: dict[str, str]) -> None:
    issued = api.issue(sh, sample("transport-intra"))
    number = issued["number"]
    response = api.client.post(f"{ROOT}/{number}/revoke", json={"reason": "货物不符"}, headers=sh)
    assert response.status_code == 200, response.text
    ChangedOut.model_validate(response.json())
    assert response.json()["status"] == "REVOKED"
    assert response.json()["event"]["type"] == "REVOKED"
    report = api.verify(issued["qr_text"])
    assert report["verdict"] == "INVALID"
    assert "REVOKED" in report["reasons"]
    assert any("货物不符" in m.get("detail", "") for m in report["messages"]), report["messages"]
    again = api.client.post(f"{ROOT}/{number}/revoke", json={"reason": "again"}, headers=sh)
    assert again.status_code == 409 and again.json()["error"]["code"] == "ALREADY_REVOKED"
    for action in ("suspend", "reinstate"):
        refused = api.client.post(f"{ROOT}/{number}/{action}", json={"reason": "x"}, headers=sh)
        assert refused.status_code == 409, action
    ok, count = api.audit_intact()
    assert ok and count == 2


def test_supersede_reissues_with_the_original_number(api: Api, sh: dict[str, str]) -> None:
    old = api.issue(sh, sample("transport-intra"))
    replacement = sample("transport-intra")
    replacement["items"][0]["quantity"] = 38
    response = api.client.post(
        f"{ROOT}/{old['number']}/supersede",
        json={"reason": "数量更正", "certificate": replacement},
        headers=sh,
    )
    assert response.status_code == 201, response.text
    body = response.json()
    SupersededOut.model_validate(body)
    new = body["replacement"]
    assert body["status"] == "SUPERSEDED" and body["superseded_by"] == new["number"]
    assert new["number"] != old["number"] and new["original"] == old["number"]
    old_report = api.verify(old["qr_text"])
    assert "SUPERSEDED" in old_report["reasons"]
    assert any(new["number"] in m.get("detail", "") for m in old_report["messages"])
    new_report = api.verify(new["qr_text"])
    assert new_report["verdict"] == "VALID", new_report["reasons"]
    assert new_report["certificate"]["references"]["original"] == old["number"]
    detail = api.client.get(f"{ROOT}/{old['number']}", headers=sh).json()
    assert detail["status"] == "SUPERSEDED" and detail["superseded_by"] == new["number"]
    second = api.client.post(
        f"{ROOT}/{old['number']}/supersede",
        json={"reason": "再次", "certificate": sample("transport-intra")},
        headers=sh,
    )
    assert second.status_code == 409 and second.json()["error"]["code"] == "ALREADY_SUPERSEDED"
    ok, count = api.audit_intact()
    assert ok and count == 3  # issue, issue of the replacement, supersede


def test_supersede_refuses_a_bad_replacement_and_leaves_nothing(
    api: Api, sh: dict[str, str]
) -> None:
    old = api.issue(sh, sample("transport-intra"))
    bad = sample("transport-intra")
    bad["items"] = []
    response = api.client.post(
        f"{ROOT}/{old['number']}/supersede", json={"reason": "x", "certificate": bad}, headers=sh
    )
    assert response.status_code == 422
    assert response.json()["error"]["problems"][0]["field"] == "items"
    other_kind = sample("requirement")
    response = api.client.post(
        f"{ROOT}/{old['number']}/supersede",
        json={"reason": "x", "certificate": other_kind},
        headers=sh,
    )
    assert response.status_code == 422
    assert response.json()["error"]["problems"][0]["code"] == "KIND_MISMATCH"
    wrong_original = sample("transport-intra")
    wrong_original["references"] = {"original": "310112-2026-000077"}
    response = api.client.post(
        f"{ROOT}/{old['number']}/supersede",
        json={"reason": "x", "certificate": wrong_original},
        headers=sh,
    )
    assert response.status_code == 422
    assert api.client.get(f"{ROOT}/{old['number']}", headers=sh).json()["status"] == "VALID"
    assert api.client.get(ROOT, headers=sh).json()["total"] == 1
    # No number was used up by the refused re-issues.
    assert api.issue(sh, sample("transport-intra"))["number"] == "310112-2026-000002"


def test_suspend_and_reinstate(api: Api, sh: dict[str, str]) -> None:
    issued = api.issue(sh, sample("requirement"))
    number = issued["number"]
    url = f"{ROOT}/{number}"
    not_suspended = api.client.post(f"{url}/reinstate", json={"reason": "x"}, headers=sh)
    assert not_suspended.status_code == 409
    assert not_suspended.json()["error"]["code"] == "NOT_SUSPENDED"
    suspended = api.client.post(f"{url}/suspend", json={"reason": "待核查"}, headers=sh)
    assert suspended.status_code == 200 and suspended.json()["status"] == "SUSPENDED"
    assert "SUSPENDED" in api.verify(issued["qr_text"])["reasons"]
    twice = api.client.post(f"{url}/suspend", json={"reason": "x"}, headers=sh)
    assert twice.status_code == 409 and twice.json()["error"]["code"] == "ALREADY_SUSPENDED"
    reinstated = api.client.post(f"{url}/reinstate", json={"reason": "核查无误"}, headers=sh)
    assert reinstated.status_code == 200 and reinstated.json()["status"] == "VALID"
    assert api.verify(issued["qr_text"])["verdict"] == "VALID"
    events = api.client.get(url, headers=sh).json()["events"]
    assert [e["type"] for e in events] == ["SUSPENDED", "REINSTATED"]
    assert events[0]["reason"] == "待核查" and events[0]["actor"].startswith("issuer:tok_")


def test_accepted_arrival_closes_a_transport_certificate(
    api: Api, sh: dict[str, str], inspector: dict[str, str]
) -> None:
    issued = api.issue(sh, sample("transport-intra"))
    url = f"{ROOT}/{issued['number']}"
    response = api.client.post(
        f"{url}/arrival",
        json={"accepted": True, "checkpoint": "川沙检查站", "notes": "货证相符"},
        headers=inspector,
    )
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "CLOSED"
    event = response.json()["event"]
    assert (event["type"], event["region"], event["checkpoint"]) == (
        "ARRIVED",
        "310115",
        "川沙检查站",
    )
    report = api.verify(issued["qr_text"])
    assert report["verdict"] == "INVALID" and "CLOSED" in report["reasons"]
    again = api.client.post(f"{url}/arrival", json={"accepted": True}, headers=inspector)
    assert again.status_code == 409 and again.json()["error"]["code"] == "ALREADY_CLOSED"
    # A closed certificate cannot be re-issued (一车一证).
    reissue = api.client.post(
        f"{url}/supersede",
        json={"reason": "x", "certificate": sample("transport-intra")},
        headers=sh,
    )
    assert reissue.status_code == 409


def test_rejected_arrival_records_the_reinspection_only(
    api: Api, sh: dict[str, str], inspector: dict[str, str]
) -> None:
    issued = api.issue(sh, sample("transport-intra"))
    url = f"{ROOT}/{issued['number']}"
    response = api.client.post(
        f"{url}/arrival", json={"accepted": False, "notes": "数量不符"}, headers=inspector
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "VALID"
    assert body["event"]["type"] == "REINSPECTED"
    assert body["event"]["detail"] == {"result": "FAILED", "arrival": True}
    assert api.verify(issued["qr_text"])["verdict"] == "VALID"


def test_only_transport_certificates_are_closed(api: Api, inspector: dict[str, str]) -> None:
    issued = api.issue(api.token("issuer", "310000"), sample("requirement"))
    response = api.client.post(
        f"{ROOT}/{issued['number']}/arrival", json={"accepted": True}, headers=inspector
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "NOT_A_TRANSPORT_CERTIFICATE"


def test_reinspection(api: Api, inspector: dict[str, str]) -> None:
    issued = api.issue(api.token("issuer", "330000"), sample("producing-area"))
    url = f"{ROOT}/{issued['number']}/reinspections"
    response = api.client.post(
        url,
        json={"result": "PASSED", "region": "310115", "checkpoint": "川沙", "notes": "合格"},
        headers=inspector,
    )
    assert response.status_code == 201, response.text
    event = response.json()["event"]
    assert (event["type"], event["detail"], event["reason"]) == (
        "REINSPECTED",
        {"result": "PASSED"},
        "合格",
    )
    assert response.json()["status"] == "VALID"
    unknown_region = api.client.post(
        url, json={"result": "PASSED", "region": "110000"}, headers=inspector
    )
    assert unknown_region.status_code == 422
    assert unknown_region.json()["error"]["problems"][0]["field"] == "region"
    missing = api.client.post(
        f"{ROOT}/310000-2026-000999/reinspections", json={"result": "PASSED"}, headers=inspector
    )
    assert missing.status_code == 404


# --------------------------------------------------------------------------- bad input


def test_every_field_problem_is_listed(api: Api, sh: dict[str, str]) -> None:
    doc = sample("transport-intra")
    doc["valid_from"] = "2026-13-01"
    doc["officer"] = {"name": "", "number": ""}
    doc["items"][0]["quantity"] = -3
    doc["conveyance"] = "truck"
    response = api.client.post(ROOT, json=doc, headers=sh)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "CERTIFICATE_INVALID"
    fields = {p["field"] for p in error["problems"]}
    assert {"valid_from", "conveyance"} <= fields
    doc = sample("transport-intra")
    doc["officer"] = {"name": "", "number": ""}
    doc["items"][0]["quantity"] = -3
    error = api.client.post(ROOT, json=doc, headers=sh).json()["error"]
    fields = {p["field"] for p in error["problems"]}
    assert {"officer.name", "officer.number", "items[0].quantity"} <= fields
    assert all(p["zh"] and p["en"] for p in error["problems"])


@pytest.mark.parametrize(
    "change",
    [
        {"kind": "PASSPORT"},
        {"kind": ["TRANSPORT"]},
        {"items": "many"},
        {"items": [1, 2]},
        {"items": [{"product": "x", "unit": "株", "quantity": "NaN"}]},
        {"items": [{"product": "x", "unit": "株", "quantity": "1e400"}]},
        {"items": [{"product": "x", "unit": "株", "quantity": True}]},
        {"items": [{"product": {"a": 1}, "unit": "株", "quantity": 1}]},
        {"items": [{"product": "x", "unit": "株", "quantity": 1}] * 30},
        {"issued_at": "2026-11-27T14:05:00"},
        {"issued_at": "2027-11-27T14:05:00+08:00"},
        {"issued_at": 17},
        {"valid_to": None},
        {"route": {"from": "310112", "via": "x", "to": 5}},
        {"route": {"from": "310112", "via": [[1]], "to": "999999"}},
        {"references": {"certificates": "x"}},
        {"references": {"original": "no"}},
        {"scope": "EVERYWHERE"},
        {"agent": {"name": "a", "id_number": "123"}},
        {"statement": "长" * 5000},
        {"consignor": None},
        {"consignor": "someone"},
        {"number": "310112-2026-000000"},
        {"number": 12},
        {"number": "320000-2026-000001"},
        {"issuing_agency": {"region": "320000"}},
        {"delegating_agency": {"region": "310112"}},
        {"officer": []},
    ],
)
def test_bad_documents_get_field_problems_never_a_500(
    api: Api, sh: dict[str, str], change: dict[str, Any]
) -> None:
    doc = {**sample("transport-intra"), **change}
    response = api.client.post(ROOT, json=doc, headers=sh)
    assert response.status_code in (403, 422), response.text
    error = response.json()["error"]
    assert error["code"] and error["zh"] and error["en"]
    if response.status_code == 422:
        assert error["problems"], error


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b"[1, 2]", "application/json"),
        (b'"text"', "application/json"),
        (b"{not json", "application/json"),
        (b"\xff\xfe", "application/json"),
        (b'{"kind": "TRANSPORT"}', "text/plain"),
        (b"", "application/json"),
        (b"[" * 5000 + b"]" * 5000, "application/json"),
        (b'{"kind": NaN}', "application/json"),
    ],
)
def test_bodies_that_are_not_a_json_object(
    api: Api, sh: dict[str, str], content: bytes, content_type: str
) -> None:
    response = api.client.post(ROOT, content=content, headers={**sh, "content-type": content_type})
    assert 400 <= response.status_code < 500, response.text
    assert response.json()["error"]["code"]


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e400", "1e-400"])
def test_non_finite_quantities(api: Api, sh: dict[str, str], number: str) -> None:
    doc = json.dumps(sample("transport-intra"), ensure_ascii=False)
    doc = doc.replace('"quantity": 40', f'"quantity": {number}')
    assert number in doc
    response = api.client.post(
        ROOT, content=doc.encode(), headers={**sh, "content-type": "application/json"}
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["problems"][0]["field"] == "items[0].quantity"


def test_huge_bodies_are_refused_before_parsing(api: Api, sh: dict[str, str]) -> None:
    doc = sample("transport-intra")
    doc["padding"] = "x" * (MAX_BODY_BYTES + 1)
    response = api.client.post(ROOT, json=doc, headers=sh)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "BODY_TOO_LARGE"

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        yield b'{"kind": "'
        for _ in range(100):
            yield b"x" * 1024
        yield b'"}'

    streamed = api.client.post(
        ROOT, content=chunks(), headers={**sh, "content-type": "application/json"}
    )
    assert streamed.status_code == 413
    assert streamed.json()["error"]["code"] == "BODY_TOO_LARGE"
    lying = api.client.post(
        ROOT,
        content=b"{}",
        headers={**sh, "content-type": "application/json", "content-length": "99999999999999"},
    )
    assert lying.status_code in (400, 413)


@pytest.mark.parametrize(
    "body",
    [{}, {"reason": ""}, {"reason": 5}, {"reason": "x" * 2001}, {"reason": "x", "extra": 1}, []],
)
def test_bad_status_change_bodies(api: Api, sh: dict[str, str], body: Any) -> None:
    number = api.issue(sh, sample("transport-intra"))["number"]
    response = api.client.post(f"{ROOT}/{number}/revoke", json=body, headers=sh)
    assert response.status_code == 422
    assert response.json()["error"]["problems"]


def test_blank_reason_is_refused(api: Api, sh: dict[str, str]) -> None:
    number = api.issue(sh, sample("transport-intra"))["number"]
    response = api.client.post(f"{ROOT}/{number}/revoke", json={"reason": "   "}, headers=sh)
    assert response.status_code == 422
    assert response.json()["error"]["problems"][0]["field"] == "reason"


@pytest.mark.parametrize(
    "body",
    [
        {"accepted": "yes"},
        {"accepted": 1},
        {},
        {"accepted": True, "region": "31"},
        {"accepted": True, "checkpoint": "x" * 201},
    ],
)
def test_bad_arrival_bodies(api: Api, inspector: dict[str, str], body: Any) -> None:
    response = api.client.post(f"{ROOT}/310112-2026-000001/arrival", json=body, headers=inspector)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "REQUEST_INVALID"


def test_openapi_documents_the_routes(api: Api) -> None:
    spec = api.client.get("/openapi.json").json()
    paths = spec["paths"]
    for path in (
        ROOT,
        ROOT + "/{number}",
        ROOT + "/{number}/revoke",
        ROOT + "/{number}/supersede",
        ROOT + "/{number}/suspend",
        ROOT + "/{number}/reinstate",
        ROOT + "/{number}/reinspections",
        ROOT + "/{number}/arrival",
        ROOT + "/{number}/qr.png",
        ROOT + "/{number}/qr.svg",
        ROOT + "/{number}/print",
        ROOT + "/{number}/print.png",
    ):
        assert path in paths, path
    post = paths[ROOT]["post"]
    assert {"201", "401", "403", "409", "422"} <= set(post["responses"])
    assert any(p["name"] == "Idempotency-Key" for p in post["parameters"])
    json.dumps(spec)


# --------------------------------------------------------------------------- PostgreSQL


@pytest.fixture(scope="session")
def pg_dbs() -> Iterator[PgDatabases]:
    yield from pg_databases()


@pytest.fixture
def pg_api(pg_dbs: PgDatabases, tmp_path: Path) -> Iterator[Api]:
    with pg_settings(pg_dbs, tmp_path) as settings, open_api(settings, tmp_path) as a:
        yield a


def test_issue_revoke_supersede_on_postgresql(pg_api: Api) -> None:
    api = pg_api
    sh = api.token("issuer", "310000")
    js = api.token("issuer", "320000")
    inspector = api.token("inspector", "320000")
    issued = {name: api.issue(issuer_for(api, name), sample(name)) for name in SAMPLE_FILES}
    for body in issued.values():
        assert api.verify(body["qr_text"])["verdict"] == "VALID"
    intra = issued["transport-intra"]["number"]
    assert (
        api.client.post(f"{ROOT}/{intra}/revoke", json={"reason": "x"}, headers=js).status_code
        == 403
    )
    revoked = api.client.post(f"{ROOT}/{intra}/revoke", json={"reason": "作废"}, headers=sh)
    assert revoked.status_code == 200 and revoked.json()["status"] == "REVOKED"
    assert "REVOKED" in api.verify(issued["transport-intra"]["qr_text"])["reasons"]
    req = issued["requirement"]["number"]
    response = api.client.post(
        f"{ROOT}/{req}/supersede",
        json={"reason": "更正", "certificate": sample("requirement")},
        headers=sh,
    )
    assert response.status_code == 201, response.text
    new = response.json()["replacement"]
    assert new["original"] == req
    assert "SUPERSEDED" in api.verify(issued["requirement"]["qr_text"])["reasons"]
    assert api.verify(new["qr_text"])["verdict"] == "VALID"
    refused = api.client.post(
        f"{ROOT}/{req}/supersede",
        json={"reason": "再次", "certificate": sample("requirement")},
        headers=sh,
    )
    assert refused.status_code == 409
    anhui = issued["transport-anhui"]["number"]
    closed = api.client.post(f"{ROOT}/{anhui}/arrival", json={"accepted": True}, headers=inspector)
    assert closed.status_code == 200 and closed.json()["status"] == "CLOSED"
    found = api.client.get(ROOT, params={"status": "VALID"}, headers=inspector).json()
    assert found["total"] == 4  # 6 issued + 1 replacement − revoked − superseded − closed
    ok, count = api.audit_intact()
    assert ok and count == 6 + 1 + 1 + 1 + 1  # issues, revoke, re-issue, supersede, arrival
