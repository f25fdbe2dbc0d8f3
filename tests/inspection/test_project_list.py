"""Listing a district's greening projects over the HTTP API (``GET /api/v1/projects``).

Every test runs on SQLite and on PostgreSQL (skipped with the reason without a server).
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event

from quarantine.storage import inspection as store
from tests.inspection.conftest import Node
from tests.web.pg import sample

PUDONG = "310115"
MINHANG = "310112"
WUJIN = "320412"


def _create(node: Node, name: str, district: str = PUDONG) -> str:
    r = node.client.post(
        "/api/v1/projects",
        json={"name": name, "district": district, "contractor": "园林公司", "site": "工地"},
        headers=node.token("inspector", district),
    )
    assert r.status_code == 201, r.text
    node.clock.advance(minutes=1)  # newest first is by registration time
    project_id: str = r.json()["id"]
    return project_id


def _list(node: Node, role: str, region: str, **params: Any) -> dict[str, Any]:
    r = node.client.get("/api/v1/projects", params=params, headers=node.token(role, region))
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def _names(body: dict[str, Any]) -> list[str]:
    return [i["name"] for i in body["items"]]


def test_projects_are_listed_by_district_newest_first_with_roles(node: Node) -> None:
    _create(node, "川沙绿地")
    _create(node, "闵行公园", MINHANG)
    _create(node, "张江绿带")
    _create(node, "武进湿地", WUJIN)
    mine = _list(node, "inspector", PUDONG)
    assert _names(mine) == ["张江绿带", "川沙绿地"] and mine["total"] == 2
    assert mine["region"] == PUDONG and (mine["page"], mine["per_page"], mine["pages"]) == (
        1,
        20,
        1,
    )
    first = mine["items"][0]
    assert set(first) == {
        "id",
        "name",
        "district",
        "contractor",
        "site",
        "created_at",
        "materials",
        "state",
        "certificate",
    }
    assert (first["district"], first["materials"], first["state"]) == (PUDONG, 0, "EMPTY")
    # a province or city code covers its districts
    assert _names(_list(node, "issuer", "310000")) == ["张江绿带", "闵行公园", "川沙绿地"]
    assert _names(_list(node, "inspector", "310000", district=MINHANG)) == ["闵行公园"]
    assert _names(_list(node, "inspector", "310100", district="310100")) == [
        "张江绿带",
        "闵行公园",
        "川沙绿地",
    ]
    assert _names(_list(node, "inspector", "320000")) == ["武进湿地"]
    # admins: every region, or the one asked for
    assert _list(node, "admin", "310000")["total"] == 4
    assert _list(node, "admin", "310000")["region"] is None
    assert _names(_list(node, "admin", "310000", district=WUJIN)) == ["武进湿地"]
    # no one sees another district's list
    for role, region, district in [
        ("inspector", MINHANG, PUDONG),
        ("inspector", PUDONG, "310000"),
        ("issuer", "320000", PUDONG),
        ("inspector", "330000", PUDONG),
    ]:
        r = node.client.get(
            "/api/v1/projects",
            params={"district": district},
            headers=node.token(role, region),
        )
        assert r.status_code == 403, (role, region, district, r.text)
        assert r.json()["error"]["code"] == "FORBIDDEN"
    assert node.client.get("/api/v1/projects").status_code == 401


def test_project_list_states_match_the_project(node: Node) -> None:
    inspector = node.token("inspector", PUDONG)
    numbers = [node.issue(sample("transport-intra"))["number"] for _ in range(4)]
    ids = {state: _create(node, state) for state in ("EMPTY", "PENDING", "FAILED", "ISSUED")}
    for state, number in zip(("PENDING", "FAILED", "ISSUED"), numbers, strict=False):
        base = f"/api/v1/projects/{ids[state]}"
        r = node.client.post(f"{base}/materials", json={"number": number}, headers=inspector)
        assert r.status_code == 201, r.text
    failed = f"/api/v1/projects/{ids['FAILED']}/materials/{numbers[1]}/reinspection"
    r = node.client.post(failed, json={"passed": False, "note": "有虫"}, headers=inspector)
    assert r.status_code == 200, r.text
    issued = f"/api/v1/projects/{ids['ISSUED']}"
    r = node.client.post(
        f"{issued}/materials/{numbers[2]}/reinspection", json={"passed": True}, headers=inspector
    )
    assert r.json()["decision"]["state"] == "READY"
    ready = _list(node, "inspector", PUDONG)["items"][0]
    assert (ready["name"], ready["state"], ready["materials"]) == ("ISSUED", "READY", 1)
    r = node.client.post(
        f"{issued}/certificate",
        json={"officer": {"name": "刘洋", "number": "沪林检0115"}},
        headers=node.token("issuer", PUDONG),
    )
    assert r.status_code == 201, r.text
    listed = {i["id"]: i for i in _list(node, "inspector", PUDONG)["items"]}
    for state, project_id in ids.items():
        assert listed[project_id]["state"] == state
        if state != "ISSUED":  # the same decision as the project itself
            one = node.client.get(f"/api/v1/projects/{project_id}", headers=inspector).json()
            assert one["decision"]["state"] == state
    assert listed[ids["ISSUED"]]["certificate"] == r.json()["certificate"]["number"]
    assert listed[ids["EMPTY"]]["certificate"] is None


def test_project_list_pages(node: Node) -> None:
    for n in range(7):
        _create(node, f"工程{n}")
    first = _list(node, "inspector", PUDONG, per_page=3)
    assert _names(first) == ["工程6", "工程5", "工程4"]
    assert (first["total"], first["pages"]) == (7, 3)
    assert _names(_list(node, "inspector", PUDONG, per_page=3, page=3)) == ["工程0"]
    beyond = _list(node, "inspector", PUDONG, per_page=3, page=9)
    assert beyond["items"] == [] and beyond["total"] == 7
    assert _list(node, "inspector", PUDONG)["per_page"] == 20


def test_project_list_is_empty_without_projects(node: Node) -> None:
    body = _list(node, "inspector", PUDONG)
    assert (body["total"], body["items"], body["pages"]) == (0, [], 1)


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"district": "31011"}, "BAD_REGION"),
        ({"district": "abcdef"}, "BAD_REGION"),
        ({"district": "３１０１１５"}, "BAD_REGION"),
        ({"district": "1" * 500}, "BAD_REGION"),
        ({"district": "999999"}, "UNKNOWN_REGION"),
        ({"page": "0"}, "BAD_PAGE"),
        ({"page": "-1"}, "BAD_PAGE"),
        ({"page": "x"}, "BAD_PAGE"),
        ({"page": "9" * 5000}, "BAD_PAGE"),
        ({"per_page": "0"}, "BAD_PAGE_SIZE"),
        ({"per_page": "51"}, "BAD_PAGE_SIZE"),
        ({"per_page": "1e3"}, "BAD_PAGE_SIZE"),
    ],
)
def test_bad_list_parameters_are_refused_with_codes(
    node: Node, params: dict[str, str], code: str
) -> None:
    r = node.client.get("/api/v1/projects", params=params, headers=node.token("inspector", PUDONG))
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["code"] == code and error["zh"] and error["en"]


def test_projects_of_reads_in_two_statements(node: Node) -> None:
    for n in range(3):
        _create(node, f"工程{n}")
    _create(node, "闵行公园", MINHANG)
    statements: list[str] = []
    with node.registry.reader() as s:
        bind = s.get_bind()

        def seen(*args: Any) -> None:
            statements.append(str(args[2]))

        event.listen(bind, "before_cursor_execute", seen)
        try:
            total, rows = store.projects_of(s, "310000", limit=2, offset=1)
        finally:
            event.remove(bind, "before_cursor_execute", seen)
    assert total == 4 and [p.name for p in rows] == ["工程2", "工程1"]
    assert len([t for t in statements if t.lstrip().upper().startswith("SELECT")]) == 2
    assert store.district_range("310000") == ("310000", "319999")
    assert store.district_range("310100") == ("310100", "310199")
    assert store.district_range(PUDONG) == (PUDONG, PUDONG)
