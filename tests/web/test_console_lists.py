"""Console pages of the shared lists and greening projects, without a browser.

``/console/producing-area`` (共用产地检疫清单), ``/console/registrations`` (检疫登记全覆盖)
and ``/console/projects`` (工程植物检疫复验) on a Shanghai node with a peer, so that what
it issues and registers lands in its shared view as it does in the federation.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from quarantine.core.model import CHINA_TZ
from quarantine.settings import Settings
from quarantine.storage.tokens import TokenStore
from quarantine.web.app import create_app
from quarantine.web.registry import Registry
from tests.federation.documents import document
from tests.web.pg import BASE_URL, demo_keys

PUDONG = "310115"


@dataclasses.dataclass
class Node:
    client: TestClient
    registry: Registry
    secrets: dict[tuple[str, str], str] = dataclasses.field(default_factory=dict)

    def secret(self, role: str, region: str) -> str:
        if (role, region) not in self.secrets:
            with self.registry.session() as session:
                _, secret = TokenStore(session).create(role, region, f"test {role}")
            self.secrets[role, region] = secret
        return self.secrets[role, region]

    def api(self, role: str, region: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.secret(role, region)}"}

    def sign_in(self, role: str, region: str) -> None:
        done = self.client.post("/console/signin", data={"token": self.secret(role, region)})
        assert done.status_code == 303, done.text

    def issue(self, doc: dict[str, Any]) -> dict[str, Any]:
        r = self.client.post("/api/v1/certificates", json=doc, headers=self.api("issuer", "310000"))
        assert r.status_code == 201, r.text
        body: dict[str, Any] = r.json()
        return body

    def register(self, registration: str, name: str, region: str = PUDONG, **bar: str) -> None:
        doc = {"registration": registration, "name": name, "region": region}
        r = self.client.post(
            "/api/v1/federation/operators",
            json={**doc, "registered_on": "2025-03-01", **bar},
            headers=self.api("issuer", "310000"),
        )
        assert r.status_code == 201, r.text


@pytest.fixture
def node(settings: Settings, tmp_path: Path) -> Iterator[Node]:
    configured = dataclasses.replace(
        settings,
        keys_dir=demo_keys(tmp_path / "keys"),
        base_url=BASE_URL,
        region="310000",
        peers="320000=http://127.0.0.1:18102",
        pull_interval_seconds=0,
    )
    app = create_app(configured)
    registry = app.state.context.registry
    assert registry is not None
    with TestClient(app, base_url=BASE_URL, follow_redirects=False) as client:
        yield Node(client, registry)


def _today() -> datetime:
    return datetime.now(UTC).astimezone(CHINA_TZ)


def _passes(node: Node) -> tuple[str, str]:
    """Two producing-area passes: one ending in 10 days, one in 200 (the documents' default)."""
    soon = document(
        "producing-area.json",
        "310000",
        valid_to=(_today() + timedelta(days=10)).date().isoformat(),
    )
    soon["producer"] = {"name": "浦东<b>苗圃</b>", "registration": "沪检登310115-0009"}
    later = document("producing-area.json", "310000")
    later["producer"] = {"name": "崇明花木合作社", "registration": "沪检登310151-0002"}
    later["items"] = [{"product": "银杏", "unit": "株", "quantity": 50}]
    return node.issue(soon)["number"], node.issue(later)["number"]


def _rows(html: str, attribute: str) -> list[str]:
    return re.findall(rf'<tr {attribute}="([^"]+)"', html)


PAGES = ("/console/producing-area", "/console/registrations", "/console/projects")


def test_the_pages_need_a_signed_in_session(node: Node) -> None:
    for path in PAGES:
        r = node.client.get(path)
        assert r.status_code == 401 and 'data-test="signin-form"' in r.text, path
        assert "text/html" in r.headers["content-type"]
    # an API token in a header is not a console session
    r = node.client.get(PAGES[0], headers=node.api("inspector", PUDONG))
    assert r.status_code == 401


def test_inspectors_find_the_pages_in_the_header_and_issuers_may_read_them(node: Node) -> None:
    node.sign_in("inspector", PUDONG)
    home = node.client.get("/console").text
    for name, path in zip(("producing_area", "registrations", "projects"), PAGES, strict=True):
        assert f'<a href="{path}" data-test="nav-{name}">' in home
        page = node.client.get(path)
        assert page.status_code == 200 and 'data-test="nav-projects"' in page.text
    english = node.client.get("/console/producing-area?lang=en").text
    assert "Shared producing-area list" in english and "共用产地检疫清单" in english
    assert 'href="/console/registrations?lang=en"' in english
    node.sign_in("issuer", "310000")
    home = node.client.get("/console").text
    assert 'data-test="nav-projects"' not in home
    assert node.client.get("/console/registrations").status_code == 200


def test_producing_area_list_filters(node: Node) -> None:
    soon, later = _passes(node)
    node.sign_in("inspector", PUDONG)
    page = node.client.get("/console/producing-area")
    assert page.status_code == 200
    assert _rows(page.text, "data-number") == [soon, later]  # the sooner end first
    assert "浦东&lt;b&gt;苗圃&lt;/b&gt;" in page.text and "<b>苗圃" not in page.text
    assert "上海市浦东新区" in page.text
    for query, expected in [
        ({"operator": "崇明"}, [later]),
        ({"operator": "沪检登310115"}, [soon]),
        ({"species": "银杏"}, [later]),
        ({"species": "桂花"}, [soon]),
        ({"region": "310000"}, [soon, later]),
        ({"region": PUDONG}, [soon, later]),
        ({"expiring": "30"}, [soon]),
        ({"expiring": "30", "operator": "崇明"}, []),
        ({"region": "320000"}, []),
    ]:
        r = node.client.get("/console/producing-area", params=query)
        assert r.status_code == 200, (query, r.text)
        assert _rows(r.text, "data-number") == expected, query
        assert ('data-test="empty"' in r.text) == (not expected), query
        assert f"共 {len(expected)} 条" in r.text
    kept = node.client.get("/console/producing-area", params={"species": '"><script>'}).text
    assert "<script>" not in kept and 'value="&#34;&gt;&lt;script&gt;"' in kept


def test_producing_area_list_matches_the_api(node: Node) -> None:
    _passes(node)
    node.sign_in("inspector", PUDONG)
    api = node.client.get(
        "/api/v1/federation/producing-area", params={"expiring_within_days": 30}
    ).json()
    page = node.client.get("/console/producing-area", params={"expiring": "30"}).text
    assert _rows(page, "data-number") == [i["number"] for i in api["items"]]
    assert re.findall(r'data-test="days-left">(\d+)<', page) == ["10"]


@pytest.mark.parametrize(
    ("path", "query", "code"),
    [
        ("/console/producing-area", {"expiring": "abc"}, "BAD_DAYS"),
        ("/console/producing-area", {"expiring": "-1"}, "BAD_DAYS"),
        ("/console/producing-area", {"expiring": "99999"}, "BAD_DAYS"),
        ("/console/producing-area", {"region": "31011"}, "BAD_REGION"),
        ("/console/producing-area", {"region": "３１００００"}, "BAD_REGION"),
        ("/console/producing-area", {"page": "0"}, "BAD_PAGE"),
        ("/console/producing-area", {"page": "9" * 5000}, "BAD_PAGE"),
        ("/console/producing-area", {"operator": "x" * 101}, "FILTER_TOO_LONG"),
        ("/console/registrations", {"region": "abcdef"}, "BAD_REGION"),
        ("/console/registrations", {"page": "x"}, "BAD_PAGE"),
        ("/console/registrations", {"name": "名" * 101}, "FILTER_TOO_LONG"),
    ],
)
def test_bad_list_filters_are_pages_with_codes(
    node: Node, path: str, query: dict[str, str], code: str
) -> None:
    node.sign_in("inspector", PUDONG)
    r = node.client.get(path, params=query)
    assert r.status_code == 422, r.text
    assert "text/html" in r.headers["content-type"]
    assert f'<code data-test="error-code">{code}</code>' in r.text
    assert 'data-test="results"' not in r.text and 'data-test="empty"' not in r.text
    assert 'method="get"' in r.text  # the form is there to correct it


def test_registrations_list_filters_and_shows_bars(node: Node) -> None:
    today = _today().date().isoformat()
    node.register("沪检登310115-0009", "浦东<i>苗圃</i>")
    node.register("沪检登310151-0002", "崇明花木合作社", "310151")
    node.register("沪检登310112-0100", "闵行园艺场", "310112", barred_from=today, reason="伪造证书")
    node.sign_in("inspector", PUDONG)
    page = node.client.get("/console/registrations")
    assert page.status_code == 200
    assert len(_rows(page.text, "data-registration")) == 3 and "共 3 条" in page.text
    assert "浦东&lt;i&gt;苗圃&lt;/i&gt;" in page.text
    assert 'data-registration="沪检登310112-0100" data-barred="yes"' in page.text
    assert "伪造证书" in page.text
    assert 'data-registration="沪检登310151-0002" data-barred="no"' in page.text
    for query, expected in [
        ({"name": "崇明"}, ["沪检登310151-0002"]),
        ({"name": "310115-0009"}, ["沪检登310115-0009"]),
        ({"region": "310112"}, ["沪检登310112-0100"]),
        ({"region": "310000", "name": "园艺"}, ["沪检登310112-0100"]),
        ({"region": "320000"}, []),
        ({"name": "%"}, []),  # a LIKE wildcard is matched as itself
    ]:
        r = node.client.get("/console/registrations", params=query)
        assert r.status_code == 200, (query, r.text)
        assert _rows(r.text, "data-registration") == expected, query
        assert ('data-test="empty"' in r.text) == (not expected), query
    english = node.client.get("/console/registrations?lang=en").text
    assert "Operator registrations of the four regions" in english and "barred" in english


def test_registrations_list_pages(node: Node) -> None:
    for n in range(23):
        node.register(f"沪检登310115-{n:04d}", f"苗圃{n}")
    node.sign_in("inspector", PUDONG)
    first = node.client.get("/console/registrations", params={"name": "苗圃"})
    assert len(_rows(first.text, "data-registration")) == 20 and "共 23 条" in first.text
    assert "第 1 / 2 页" in first.text and 'data-test="prev"' not in first.text
    following = re.search(r'<a href="([^"]+)" data-test="next">', first.text)
    assert following
    second = node.client.get(following.group(1).replace("&amp;", "&"))
    assert second.status_code == 200
    assert _rows(second.text, "data-registration") == [
        "沪检登310115-0020",
        "沪检登310115-0021",
        "沪检登310115-0022",
    ]
    assert 'data-test="next"' not in second.text and 'data-test="prev"' in second.text
    beyond = node.client.get("/console/registrations", params={"page": "9"})
    assert beyond.status_code == 200 and 'data-test="empty"' in beyond.text
    assert '<a href="/console/registrations?page=2" data-test="prev">' in beyond.text


def _project(node: Node, name: str = "川沙绿地改造") -> str:
    r = node.client.post(
        "/api/v1/projects",
        json={"name": name, "district": PUDONG, "contractor": "浦东园林", "site": "川沙"},
        headers=node.api("inspector", PUDONG),
    )
    assert r.status_code == 201, r.text
    project_id: str = r.json()["id"]
    return project_id


def _material(node: Node, project_id: str, number: str) -> None:
    r = node.client.post(
        f"/api/v1/projects/{project_id}/materials",
        json={"number": number},
        headers=node.api("inspector", PUDONG),
    )
    assert r.status_code == 201, r.text


def _reinspect(node: Node, project_id: str, number: str, passed: bool, note: str = "") -> None:
    r = node.client.post(
        f"/api/v1/projects/{project_id}/materials/{number}/reinspection",
        json={"passed": passed, "note": note},
        headers=node.api("inspector", PUDONG),
    )
    assert r.status_code == 200, r.text


def test_project_page_shows_material_and_what_blocks_the_certificate(node: Node) -> None:
    one = node.issue(document("transport-intra.json", "310000"))["number"]
    two = node.issue(document("transport-intra.json", "310000"))["number"]
    project_id = _project(node, "川沙<script>绿地</script>")
    node.sign_in("inspector", PUDONG)
    empty = node.client.get("/console/projects", params={"id": project_id})
    assert empty.status_code == 200
    assert 'data-state="EMPTY"' in empty.text and 'data-code="NO_BATCHES"' in empty.text
    assert 'data-test="no-materials"' in empty.text
    assert "<script>绿地" not in empty.text and "&lt;script&gt;绿地" in empty.text
    _material(node, project_id, one)
    _material(node, project_id, two)
    pending = node.client.get("/console/projects", params={"id": project_id}).text
    assert 'data-state="PENDING"' in pending
    assert f'<tr data-batch="{one}" data-accepted="yes" data-reinspection="none">' in pending
    assert pending.count('data-code="REINSPECTION_PENDING"') == 2
    assert "浦东园林" in pending and "川沙" in pending and "上海市浦东新区" in pending
    _reinspect(node, project_id, one, True)
    _reinspect(node, project_id, two, False, "发现美国白蛾幼虫")
    failed = node.client.get("/console/projects", params={"id": project_id}).text
    assert 'data-state="FAILED"' in failed
    assert f'<tr data-batch="{two}" data-accepted="yes" data-reinspection="failed">' in failed
    assert f'<tr data-batch="{one}" data-accepted="yes" data-reinspection="passed">' in failed
    assert 'data-code="REINSPECTION_FAILED"' in failed and "发现美国白蛾幼虫" in failed
    assert "复验不合格" in failed and "不能签发" in failed
    english = node.client.get("/console/projects", params={"id": project_id, "lang": "en"}).text
    assert "Failed re-inspection" in english and "Cannot be issued" in english


def test_project_page_shows_the_issued_certificate(node: Node) -> None:
    number = node.issue(document("transport-intra.json", "310000"))["number"]
    project_id = _project(node)
    _material(node, project_id, number)
    _reinspect(node, project_id, number, True)
    node.sign_in("inspector", PUDONG)
    ready = node.client.get("/console/projects", params={"id": project_id}).text
    assert 'data-state="READY"' in ready and "可以签发" in ready
    r = node.client.post(
        f"/api/v1/projects/{project_id}/certificate",
        json={"officer": {"name": "刘洋", "number": "沪林检0115"}},
        headers=node.api("issuer", "310000"),
    )
    assert r.status_code == 201, r.text
    issued = r.json()["certificate"]["number"]
    page = node.client.get("/console/projects", params={"id": project_id}).text
    assert 'data-state="CERTIFIED"' in page
    assert f'<a href="/console/certificates/{issued}" data-test="project-certificate">' in page
    assert "银杏 40 株、鸡爪槭 25 株" in page  # the batch's goods


@pytest.mark.parametrize(
    ("project_id", "status", "code"),
    [
        ("nope", 422, "BAD_PROJECT_ID"),
        ("prj_<script>", 422, "BAD_PROJECT_ID"),
        ("prj_0123456789ABCDEF", 422, "BAD_PROJECT_ID"),
        ("x" * 500, 422, "BAD_PROJECT_ID"),
        ("prj_0123456789abcdef", 404, "PROJECT_NOT_FOUND"),
    ],
)
def test_bad_project_ids_are_pages_with_codes(
    node: Node, project_id: str, status: int, code: str
) -> None:
    node.sign_in("inspector", PUDONG)
    r = node.client.get("/console/projects", params={"id": project_id})
    assert r.status_code == status and "text/html" in r.headers["content-type"]
    assert f'<code data-test="error-code">{code}</code>' in r.text
    assert "<script>" not in r.text and 'data-test="project"' not in r.text
    form = node.client.get("/console/projects")
    assert form.status_code == 200 and 'data-test="project-form"' in form.text
    assert 'data-test="form-error"' not in form.text


def _project_in(node: Node, name: str, district: str) -> str:
    r = node.client.post(
        "/api/v1/projects",
        json={"name": name, "district": district, "contractor": "园林公司", "site": "工地"},
        headers=node.api("inspector", district),
    )
    assert r.status_code == 201, r.text
    project_id: str = r.json()["id"]
    return project_id


def test_project_list_shows_the_districts_projects_with_links(node: Node) -> None:
    number = node.issue(document("transport-intra.json", "310000"))["number"]
    first = _project(node, "川沙<b>绿地</b>")
    second = _project(node, "张江绿带")
    _material(node, second, number)
    other = _project_in(node, "闵行公园", "310112")
    node.sign_in("inspector", PUDONG)
    page = node.client.get("/console/projects")
    assert page.status_code == 200, page.text
    assert 'data-test="project-form"' in page.text and 'data-test="project-list"' in page.text
    assert set(_rows(page.text, "data-project")) == {first, second}
    assert other not in page.text and "共 2 条" in page.text
    assert f'<tr data-project="{first}" data-state="EMPTY">' in page.text
    assert f'<tr data-project="{second}" data-state="PENDING">' in page.text
    assert "川沙&lt;b&gt;绿地&lt;/b&gt;" in page.text and "<b>绿地" not in page.text
    assert "上海市浦东新区" in page.text and "等待复验" in page.text
    link = f'<a href="/console/projects?id={second}" data-test="project-link">'
    assert link in page.text
    opened = node.client.get("/console/projects", params={"id": second})
    assert opened.status_code == 200 and f'data-project="{second}"' in opened.text
    assert 'data-test="project-list"' not in opened.text  # with an ID: the project as before
    english = node.client.get("/console/projects", params={"lang": "en"}).text
    assert f'href="/console/projects?id={second}&amp;lang=en"' in english
    assert "Greening projects of the district" in english
    # an issuer of the province sees every district of it
    node.sign_in("issuer", "310000")
    wide = node.client.get("/console/projects")
    assert set(_rows(wide.text, "data-project")) == {first, second, other}
    narrow = node.client.get("/console/projects", params={"district": "310112"})
    assert _rows(narrow.text, "data-project") == [other]


def test_project_list_pages_and_empty(node: Node) -> None:
    node.sign_in("inspector", PUDONG)
    empty = node.client.get("/console/projects")
    assert empty.status_code == 200 and 'data-test="empty"' in empty.text
    assert "共 0 条" in empty.text and 'data-test="pager"' not in empty.text
    made = {_project(node, f"工程{n}") for n in range(23)}
    first = node.client.get("/console/projects")
    rows = _rows(first.text, "data-project")
    assert len(rows) == 20 and "共 23 条" in first.text and "第 1 / 2 页" in first.text
    following = re.search(r'<a href="([^"]+)" data-test="next">', first.text)
    assert following
    second = node.client.get(following.group(1).replace("&amp;", "&"))
    assert second.status_code == 200
    rest = _rows(second.text, "data-project")
    assert len(rest) == 3 and set(rows) | set(rest) == made
    beyond = node.client.get("/console/projects", params={"page": "9"})
    assert beyond.status_code == 200 and 'data-test="empty"' in beyond.text
    assert '<a href="/console/projects?page=2" data-test="prev">' in beyond.text


@pytest.mark.parametrize(
    ("query", "status", "code"),
    [
        ({"page": "0"}, 422, "BAD_PAGE"),
        ({"page": "x"}, 422, "BAD_PAGE"),
        ({"page": "9" * 5000}, 422, "BAD_PAGE"),
        ({"district": "31011"}, 422, "BAD_REGION"),
        ({"district": "999999"}, 422, "UNKNOWN_REGION"),
        ({"district": "310112"}, 403, "FORBIDDEN"),
        ({"district": "310000"}, 403, "FORBIDDEN"),
    ],
)
def test_bad_project_list_parameters_are_pages_with_codes(
    node: Node, query: dict[str, str], status: int, code: str
) -> None:
    _project(node)
    node.sign_in("inspector", PUDONG)
    r = node.client.get("/console/projects", params=query)
    assert r.status_code == status, r.text
    assert "text/html" in r.headers["content-type"]
    assert f'<code data-test="error-code">{code}</code>' in r.text
    assert 'data-test="project-list"' not in r.text and 'data-test="project-form"' in r.text
