"""The published status lists: index, signed list, caching, coverage, limits.

Also holds the helpers that put signed certificates into a test registry
(:func:`store_certificate`), used by the scan and offline CLI tests.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from quarantine import keystore, trustfile
from quarantine.core.model import CHINA_TZ
from quarantine.core.signing import sign_certificate
from quarantine.core.status import EventType, StatusEvent
from quarantine.core.statuslist import (
    VALUE_CLOSED,
    VALUE_NONE,
    VALUE_REVOKED,
    VALUE_SUSPENDED,
    load_status_list,
)
from quarantine.reference import region_table
from quarantine.services.issuing import prepare
from quarantine.services.statuslists import StatusListService, entries_from_events
from quarantine.settings import Settings
from quarantine.storage.certificates import CertificateStore
from quarantine.storage.events import EventStore
from quarantine.web import create_app
from quarantine.web.registry import Registry, open_registry

REPO = Path(__file__).resolve().parents[2]
DEMO_KEYS = REPO / "keys" / "demo"
INPUT = REPO / "samples" / "input"
BASE_URL = "http://127.0.0.1:8000"
NOW = datetime(2026, 12, 1, 10, 0, tzinfo=CHINA_TZ)
LISTS = "/api/v1/status-lists"


# ------------------------------------------------------------------ helpers (shared)


def store_certificate(registry: Registry, sample: str, number: str, *, now: datetime = NOW) -> str:
    """Sign ``samples/input/<sample>.json`` as ``number`` with the demo key; store it; its QR text."""
    doc = json.loads((INPUT / f"{sample}.json").read_text("utf-8"))
    doc["number"] = number
    doc["issued_at"] = f"{number[7:11]}-11-27T09:00:00+08:00"
    cert = prepare(doc, region_table(), now=now, salt=b"\x05" * 16)
    info = keystore.signing_key_for(DEMO_KEYS, cert.number.region, cert.issued_at)
    signed = sign_certificate(cert, keystore.load_signer(info, None), base_url=BASE_URL)
    with registry.session() as session:
        CertificateStore(session).add(cert, signed.text, info.kid, now)
    return signed.text


def add_event(
    registry: Registry, number: str, kind: EventType, at: datetime, *, now: datetime = NOW
) -> None:
    with registry.session() as session:
        EventStore(session).append(number, StatusEvent(kind, at, "test"), "issuer:test", now)


def demo_trust() -> Any:
    return trustfile.load(None, None)


class Clock:
    """A settable clock for the app."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def advance(self, **kw: float) -> None:
        self.at += timedelta(**kw)


# ------------------------------------------------------------------ fixtures


@pytest.fixture
def node_settings(settings: Settings) -> Settings:
    return replace(settings, keys_dir=DEMO_KEYS)


@pytest.fixture
def registry(node_settings: Settings) -> Iterator[Registry]:
    reg = open_registry(node_settings)
    yield reg
    reg.close()


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def client(node_settings: Settings, clock: Clock) -> Iterator[TestClient]:
    with TestClient(create_app(node_settings, clock=clock), base_url=BASE_URL) as c:
        yield c


# ------------------------------------------------------------------ API


def test_index_lists_the_region_years_with_certificates(
    client: TestClient, registry: Registry
) -> None:
    store_certificate(registry, "transport-intra", "310112-2026-000158")
    store_certificate(registry, "transport-inter", "330109-2026-004871")
    store_certificate(registry, "transport-intra", "310112-2025-000001")
    response = client.get(LISTS)
    assert response.status_code == 200
    body = response.json()
    assert body["ttl_seconds"] == 86400
    assert [(i["region"], i["year"]) for i in body["lists"]] == [
        ("310112", 2025),
        ("310112", 2026),
        ("330109", 2026),
    ]
    assert body["lists"][1]["url"] == f"{BASE_URL}{LISTS}/310112/2026"
    assert body["lists"][1]["name"] == "上海市闵行区"


def test_the_list_is_signed_cacheable_and_holds_the_status(
    client: TestClient, registry: Registry
) -> None:
    for serial in (158, 159, 160, 161):
        store_certificate(registry, "transport-intra", f"310112-2026-{serial:06d}")
    add_event(registry, "310112-2026-000159", EventType.REVOKED, NOW - timedelta(hours=1))
    add_event(registry, "310112-2026-000160", EventType.SUSPENDED, NOW - timedelta(hours=1))
    add_event(registry, "310112-2026-000161", EventType.ARRIVED, NOW - timedelta(hours=1))

    response = client.get(f"{LISTS}/310112/2026")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/cose"
    assert response.headers["cache-control"] == "public, max-age=60"
    assert response.headers["etag"].startswith('"')
    lst = load_status_list(response.content, demo_trust(), NOW)
    assert (lst.region, lst.year, lst.length) == ("310112", 2026, 131_072)
    assert lst.issued_at == NOW.astimezone(UTC)
    assert lst.valid_until - lst.issued_at == timedelta(hours=24)
    assert [lst.value(s) for s in (158, 159, 160, 161)] == [
        VALUE_NONE,
        VALUE_REVOKED,
        VALUE_SUSPENDED,
        VALUE_CLOSED,
    ]


def test_if_none_match_gives_304(client: TestClient, registry: Registry) -> None:
    store_certificate(registry, "transport-intra", "310112-2026-000158")
    first = client.get(f"{LISTS}/310112/2026")
    again = client.get(f"{LISTS}/310112/2026", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == first.headers["etag"]


def test_a_revocation_reaches_the_list_after_the_recheck_interval(
    client: TestClient, registry: Registry, clock: Clock
) -> None:
    store_certificate(registry, "transport-intra", "310112-2026-000158")
    first = client.get(f"{LISTS}/310112/2026")
    add_event(registry, "310112-2026-000158", EventType.REVOKED, NOW - timedelta(minutes=1))
    # within the recheck interval the cached bytes are served without asking the database
    clock.advance(seconds=2)
    assert client.get(f"{LISTS}/310112/2026").content == first.content
    clock.advance(seconds=5)
    later = client.get(f"{LISTS}/310112/2026")
    assert later.headers["etag"] != first.headers["etag"]
    assert load_status_list(later.content, demo_trust(), clock.at).value(158) == VALUE_REVOKED


def test_an_unchanged_list_is_kept_until_half_its_ttl(
    client: TestClient, registry: Registry, clock: Clock
) -> None:
    store_certificate(registry, "transport-intra", "310112-2026-000158")
    first = client.get(f"{LISTS}/310112/2026")
    clock.advance(hours=11)
    assert client.get(f"{LISTS}/310112/2026").content == first.content
    clock.advance(hours=1, seconds=1)
    renewed = load_status_list(client.get(f"{LISTS}/310112/2026").content, demo_trust(), clock.at)
    assert renewed.issued_at == clock.at.astimezone(UTC).replace(microsecond=0)


def test_a_new_certificate_beyond_the_length_grows_the_list(
    client: TestClient, registry: Registry, clock: Clock
) -> None:
    store_certificate(registry, "transport-intra", "310112-2026-000158")
    assert (
        load_status_list(client.get(f"{LISTS}/310112/2026").content, demo_trust(), NOW).length
        == 131_072
    )
    store_certificate(registry, "transport-intra", "310112-2026-200000")
    clock.advance(seconds=10)
    lst = load_status_list(client.get(f"{LISTS}/310112/2026").content, demo_trust(), clock.at)
    assert lst.length == 262_144
    assert lst.covers(200_000)


def test_an_empty_region_year_gets_an_empty_signed_list(client: TestClient) -> None:
    response = client.get(f"{LISTS}/320583/2026")
    assert response.status_code == 200
    lst = load_status_list(response.content, demo_trust(), NOW)
    assert lst.region == "320583"
    assert not any(lst.bitstring)


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("110101/2026", 404, "STATUS_LIST_NOT_FOUND"),  # Beijing: no key here
        ("319999/2026", 404, "STATUS_LIST_NOT_FOUND"),  # not a division
        ("310112/1999", 404, "STATUS_LIST_NOT_FOUND"),
        ("310112/2028", 404, "STATUS_LIST_NOT_FOUND"),  # beyond next year
        ("31011/2026", 422, "REQUEST_INVALID"),
        ("310112/20x6", 422, "REQUEST_INVALID"),
        ("310112/99999", 422, "REQUEST_INVALID"),
    ],
)
def test_what_this_node_does_not_publish(
    client: TestClient, path: str, status: int, code: str
) -> None:
    response = client.get(f"{LISTS}/{path}")
    assert response.status_code == status
    assert response.json()["error"]["code"] == code


def test_only_regions_covered_by_the_keys_held(
    settings: Settings, tmp_path: Path, clock: Clock
) -> None:
    keys = tmp_path / "sh-keys"
    keys.mkdir()
    for f in DEMO_KEYS.glob("310000-*"):
        shutil.copy(f, keys / f.name)
    with TestClient(create_app(replace(settings, keys_dir=keys), clock=clock)) as c:
        assert c.get(f"{LISTS}/310112/2026").status_code == 200
        assert c.get(f"{LISTS}/330109/2026").status_code == 404
        reg = open_registry(settings)
        try:
            store_certificate(reg, "transport-inter", "330109-2026-004871")
            store_certificate(reg, "transport-intra", "310112-2026-000158")
        finally:
            reg.close()
        assert [i["region"] for i in c.get(LISTS).json()["lists"]] == ["310112"]


def test_public_and_rate_limited(node_settings: Settings, clock: Clock) -> None:
    app = create_app(replace(node_settings, verify_rate_per_minute=2), clock=clock)
    with TestClient(app) as c:
        assert c.get(f"{LISTS}/310112/2026").status_code == 200
        assert c.get(LISTS).status_code == 200
        limited = c.get(f"{LISTS}/310112/2026")
        assert limited.status_code == 429
        assert int(limited.headers["retry-after"]) >= 1


def test_a_node_without_registry_publishes_nothing(node_settings: Settings) -> None:
    with TestClient(create_app(node_settings, clock=lambda: NOW, use_registry=False)) as c:
        assert c.get(LISTS).json()["lists"] == []
        assert c.get(f"{LISTS}/310112/2026").status_code == 404


def test_openapi_documents_the_routes(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert "application/cose" in str(paths[f"{LISTS}/{{region}}/{{year}}"]["get"]["responses"])
    assert LISTS in paths


# ------------------------------------------------------------------ service


def test_entries_from_events_takes_the_most_severe_and_notes_future_events() -> None:
    later = NOW + timedelta(hours=3)
    events = [
        (5, StatusEvent(EventType.SUSPENDED, NOW - timedelta(days=2))),
        (5, StatusEvent(EventType.REINSTATED, NOW - timedelta(days=1))),
        (7, StatusEvent(EventType.ARRIVED, NOW - timedelta(days=1))),
        (7, StatusEvent(EventType.REVOKED, NOW - timedelta(hours=1))),
        (9, StatusEvent(EventType.REVOKED, later)),
    ]
    entries, due = entries_from_events(events, NOW)
    assert entries == {7: VALUE_REVOKED}
    assert due == later


def test_a_future_dated_event_rebuilds_the_list_when_due(
    node_settings: Settings, registry: Registry
) -> None:
    store_certificate(registry, "transport-intra", "310112-2026-000158")
    add_event(registry, "310112-2026-000158", EventType.REVOKED, NOW + timedelta(hours=1))
    service = StatusListService(DEMO_KEYS, None, region_table())
    with registry.session() as session:
        first = service.get(session, "310112", 2026, NOW)
        assert load_status_list(first.blob, demo_trust(), NOW).value(158) == VALUE_NONE
        due = NOW + timedelta(hours=1, seconds=1)
        later = service.get(session, "310112", 2026, due)
    assert load_status_list(later.blob, demo_trust(), due).value(158) == VALUE_REVOKED


def test_invalidate_forgets_cached_lists(registry: Registry) -> None:
    service = StatusListService(DEMO_KEYS, None, region_table())
    with registry.session() as session:
        first = service.get(session, "310112", 2026, NOW)
        service.invalidate("310112")
        second = service.get(session, "310112", 2026, NOW + timedelta(seconds=1))
    assert first.issued_at != second.issued_at


def test_a_too_short_ttl_is_refused() -> None:
    with pytest.raises(ValueError, match="TTL"):
        StatusListService(DEMO_KEYS, None, region_table(), ttl=timedelta(seconds=30))
