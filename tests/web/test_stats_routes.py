"""Statistics routes: who may count, reason codes, JSON, CSV and the /stats page."""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from quarantine.core.model import Certificate, Kind
from quarantine.core.status import EventType, StatusEvent
from quarantine.settings import Settings
from quarantine.storage.repositories import CertificateStore, EventStore, ScanStore
from quarantine.web.routes.stats import COOKIE
from tests.conftest import cst
from tests.storage.conftest import PgDatabases, numbered
from tests.web.pg import NOW, Api, open_api, pg_databases, pg_settings

API = "/api/v1/stats"
RANGE = {"from": "2026-11-30", "to": "2026-12-01"}


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def seed(api: Api, cert: Certificate) -> None:
    """Certificates either side of China midnight (16:00 UTC), a revocation, scans."""
    with api.registry.session() as s:
        store = CertificateStore(s)
        for number, kind, at in [
            ("310115-2026-000001", Kind.TRANSPORT, utc("2026-11-30T15:59:59")),
            ("310115-2026-000002", Kind.TRANSPORT, utc("2026-11-30T16:00:00")),
            ("310112-2026-000001", Kind.PRODUCING_AREA, cst("2026-12-01T09:00")),
            ("320583-2026-000001", Kind.TRANSPORT, cst("2026-12-01T08:00")),
        ]:
            store.add(numbered(cert, number, issued_at=at, kind=kind), "Q", "k", NOW)
        EventStore(s).append(
            "310115-2026-000002",
            StatusEvent(EventType.REVOKED, cst("2026-12-01T09:30"), "错填"),
            "t",
            NOW,
        )
        scans = ScanStore(s)
        scans.add("310115-2026-000001", cst("2026-11-30T12:00"), "310117", "VALID", [], "i")
        scans.add("310115-2026-000002", cst("2026-12-01T09:40"), "310117", "INVALID", [], "i")
        scans.add("", cst("2026-12-01T09:50"), "320583", "NOT_A_CERTIFICATE", [], "i")


@pytest.fixture
def api(settings: Settings, tmp_path: Path, reference_cert: Certificate) -> Iterator[Api]:
    with open_api(settings, tmp_path) as a:
        seed(a, reference_cert)
        yield a


@pytest.fixture
def admin(api: Api) -> dict[str, str]:
    return api.token("admin", "310000")


def counts(body: dict[str, Any]) -> dict[str, list[int]]:
    return {g["code"]: g["counts"] for g in body["groups"]}


# --------------------------------------------------------------------------- access


@pytest.mark.parametrize(
    ("role", "region", "status", "code"),
    [
        (None, None, 401, "TOKEN_REQUIRED"),
        ("issuer", "310000", 403, "STATS_FORBIDDEN"),
        ("inspector", "320000", 200, None),
        ("admin", "320000", 200, None),
    ],
)
def test_who_may_count(
    api: Api, role: str | None, region: str | None, status: int, code: str | None
) -> None:
    headers = api.token(role, region) if role and region else {}
    for path in (API, f"{API}.csv"):
        response = api.client.get(path, params=RANGE, headers=headers)
        assert response.status_code == status, response.text
        if code:
            assert response.json()["error"]["code"] == code


def test_bad_token_is_refused(api: Api) -> None:
    response = api.client.get(API, headers={"Authorization": "Bearer nonsense-token-123456"})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "INVALID_TOKEN"


def test_cookie_does_not_authenticate_the_api(api: Api, admin: dict[str, str]) -> None:
    secret = admin["Authorization"].split()[1]
    api.client.cookies.set(COOKIE, secret)
    try:
        assert api.client.get(API).status_code == 401
    finally:
        api.client.cookies.clear()


def test_admin_counts_every_region_inspector_its_own(api: Api, admin: dict[str, str]) -> None:
    everything = api.client.get(API, params=RANGE, headers=admin).json()
    assert counts(everything) == {
        "310000": [1, 2],  # 15:59:59 UTC is 11-30, 16:00 UTC is 12-01 in China
        "320000": [0, 1],
        "330000": [0, 0],
        "340000": [0, 0],
    }
    jiangsu = api.token("inspector", "320000")
    own = api.client.get(API, params=RANGE, headers=jiangsu).json()
    assert counts(own) == {"320000": [0, 1]}
    assert own["scope"] == "320000"
    pudong = api.token("inspector", "310115")
    district = api.client.get(API, params={**RANGE, "group": "district"}, headers=pudong).json()
    assert counts(district) == {"310115": [1, 1]}
    refused = api.client.get(API, params={"group": "district"}, headers=jiangsu)
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "STATS_DISTRICT_OUT_OF_SCOPE"


# --------------------------------------------------------------------------- input


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"metric": "printed"}, "STATS_METRIC_UNKNOWN"),
        ({"by": "week"}, "STATS_PERIOD_UNKNOWN"),
        ({"group": "city"}, "STATS_GROUP_UNKNOWN"),
        ({"kind": "VISA"}, "STATS_KIND_UNKNOWN"),
        ({"metric": "verified", "group": "kind"}, "STATS_KIND_NOT_APPLICABLE"),
        ({"from": "2026-12-32"}, "STATS_DATE_INVALID"),
        ({"from": "yesterday"}, "STATS_DATE_INVALID"),
        ({"from": "2026-12-02", "to": "2026-12-01"}, "STATS_RANGE_REVERSED"),
        ({"from": "2025-01-01", "to": "2026-01-02"}, "STATS_RANGE_TOO_LONG"),
        ({"by": "month", "from": "2016-01", "to": "2026-12"}, "STATS_RANGE_TOO_LONG"),
    ],
)
def test_bad_input_is_422_with_a_reason_code(
    api: Api, admin: dict[str, str], params: dict[str, str], code: str
) -> None:
    for path in (API, f"{API}.csv", "/stats"):
        response = api.client.get(path, params=params, headers=admin)
        assert response.status_code == 422, (path, response.text)
        if path == "/stats":
            assert f'<code data-test="error-code">{code}</code>' in response.text
            assert 'data-test="stats-chart"' not in response.text
        else:
            error = response.json()["error"]
            assert error["code"] == code and error["zh"] and error["en"]


# --------------------------------------------------------------------------- JSON and CSV


def test_metrics_json(api: Api, admin: dict[str, str]) -> None:
    def get(**params: str) -> dict[str, Any]:
        response = api.client.get(API, params={**RANGE, **params}, headers=admin)
        assert response.status_code == 200, response.text
        assert response.headers["cache-control"] == "no-store"
        body: dict[str, Any] = response.json()
        return body

    issued = get()
    assert issued["buckets"] == ["2026-11-30", "2026-12-01"]
    assert issued["totals"] == [1, 3] and issued["total"] == 4
    assert issued["timezone"].startswith("Asia/Shanghai")
    assert (
        issued["groups"][0]["name_zh"] == "上海市" and issued["groups"][0]["name_en"] == "Shanghai"
    )
    assert counts(get(metric="revoked"))["310000"] == [0, 1]
    assert counts(get(metric="verified"))["310000"] == [1, 0]
    failed = counts(get(metric="failed"))
    assert failed["310000"] == [0, 1] and failed["320000"] == [0, 1]
    by_kind = counts(get(group="kind"))
    assert by_kind["TRANSPORT"] == [1, 2] and by_kind["PRODUCING_AREA"] == [0, 1]
    by_month = get(by="month", **{"from": "2026-11", "to": "2026-12"})
    assert by_month["buckets"] == ["2026-11", "2026-12"] and by_month["to"] == "2026-12-31"
    assert counts(by_month)["310000"] == [1, 2]
    defaults = api.client.get(API, headers=admin).json()
    assert defaults["from"] == "2026-11-02" and defaults["to"] == "2026-12-01"  # 30 days to today


def test_csv_export(api: Api, admin: dict[str, str]) -> None:
    response = api.client.get(f"{API}.csv", params={**RANGE, "group": "district"}, headers=admin)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == (
        'attachment; filename="stats-issued-day-district-2026-11-30_2026-12-01.csv"'
    )
    raw = response.content
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads UTF-8 Chinese
    rows = list(csv.reader(io.StringIO(raw[3:].decode("utf-8"), newline="")))
    assert rows[0][0] == "签发 / Issued"
    assert rows[1] == [
        "代码 / code",
        "名称 / name",
        "Name",
        "2026-11-30",
        "2026-12-01",
        "合计 / total",
    ]
    by_code = {r[0]: r for r in rows[2:]}
    assert by_code["310115"] == ["310115", "浦东新区", "Pudong New Area", "1", "1", "2"]
    assert by_code["310112"][3:] == ["0", "1", "1"]
    assert len(rows) == 2 + 17 + 1  # header lines, 16 districts + city level, total
    assert rows[-1] == ["", "合计", "Total", "1", "2", "3"]
    assert b"\r\n" in raw


# --------------------------------------------------------------------------- page


def svg_of(html: str) -> ET.Element:
    start = html.index("<svg", html.index('data-test="stats-chart"'))
    end = html.index("</svg>", start) + len("</svg>")
    return ET.fromstring(html[start:end])


def test_page_with_a_bearer_token(api: Api, admin: dict[str, str]) -> None:
    response = api.client.get("/stats", params={**RANGE, "group": "district"}, headers=admin)
    assert response.status_code == 200
    html = response.text
    assert "Content-Security-Policy" in response.headers
    svg = svg_of(html)
    assert svg.get("role") == "img"
    bars = [r for r in svg.iter("{http://www.w3.org/2000/svg}rect") if r.get("class") == "bar"]
    assert len(bars) == 3  # Pudong on both days, Minhang on 12-01
    assert 'data-test="stats-table"' in html and "浦东新区" in html
    assert 'href="/stats/data.csv?metric=issued&amp;by=day&amp;group=district' in html
    assert "<script" not in html.split("</main>")[0].split("<main")[1]
    english = api.client.get("/stats", params={**RANGE, "lang": "en"}, headers=admin)
    assert "Certificate statistics" in english.text and "Download CSV" in english.text


def test_page_sign_in_with_a_cookie_then_csv_and_sign_out(api: Api) -> None:
    page = api.client.get("/stats")
    assert page.status_code == 401
    assert 'data-test="signin-form"' in page.text
    assert 'data-test="stats-chart"' not in page.text
    secret = api.token("inspector", "310115")["Authorization"].split()[1]
    signed = api.client.post("/stats/session", data={"token": secret}, follow_redirects=False)
    assert signed.status_code == 303 and signed.headers["location"] == "/stats"
    cookie = signed.headers["set-cookie"]
    assert f"{COOKIE}=" in cookie and "HttpOnly" in cookie and "Path=/stats" in cookie
    assert "SameSite=strict" in cookie or "SameSite=Strict" in cookie
    api.client.cookies.set(COOKIE, secret)
    try:
        shown = api.client.get("/stats", params=RANGE)
        assert shown.status_code == 200 and 'data-test="stats-chart"' in shown.text
        assert "浦东新区（310115）" in shown.text
        exported = api.client.get("/stats/data.csv", params=RANGE)
        assert exported.status_code == 200 and exported.content.startswith(b"\xef\xbb\xbf")
        out = api.client.post("/stats/session/end", follow_redirects=False)
        assert out.status_code == 303 and f'{COOKIE}=""' in out.headers["set-cookie"]
    finally:
        api.client.cookies.clear()


def test_page_refuses_issuers_and_bad_tokens(api: Api) -> None:
    secret = api.token("issuer", "310000")["Authorization"].split()[1]
    refused = api.client.post("/stats/session", data={"token": secret}, follow_redirects=False)
    assert refused.status_code == 403
    assert '<code data-test="error-code">STATS_FORBIDDEN</code>' in refused.text
    bad = api.client.post("/stats/session", data={"token": "x" * 30}, follow_redirects=False)
    assert bad.status_code == 401 and "INVALID_TOKEN" in bad.text
    not_form = api.client.post("/stats/session", json={"token": secret})
    assert not_form.status_code == 415
    assert api.client.get("/stats/data.csv").status_code == 401


# --------------------------------------------------------------------------- PostgreSQL


@pytest.fixture(scope="session")
def pg_dbs() -> Iterator[PgDatabases]:
    yield from pg_databases()


def test_json_on_postgresql(
    pg_dbs: PgDatabases, tmp_path: Path, reference_cert: Certificate
) -> None:
    with pg_settings(pg_dbs, tmp_path) as settings, open_api(settings, tmp_path) as api:
        seed(api, reference_cert)
        admin = api.token("admin", "310000")
        body = api.client.get(API, params=RANGE, headers=admin).json()
        assert counts(body)["310000"] == [1, 2]
        district = api.client.get(
            API, params={**RANGE, "metric": "failed", "group": "district"}, headers=admin
        ).json()
        assert counts(district)["310117"] == [0, 1]
