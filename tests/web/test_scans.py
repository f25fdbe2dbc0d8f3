"""Scan events: an inspector's verifications are recorded, the public's are not."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from quarantine.errors import InputError
from quarantine.reference import region_table
from quarantine.services.authz import PUBLIC, Principal, Role
from quarantine.services.scans import scan_place, scan_position
from quarantine.settings import Settings
from quarantine.storage.scans import ScanEvent, ScanStore
from quarantine.storage.tokens import TokenStore
from quarantine.web import create_app
from quarantine.web.registry import Registry, open_registry
from tests.web.test_statuslists_api import BASE_URL, DEMO_KEYS, NOW, store_certificate

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "samples"
INTER = "330109-2026-004871"  # the number of samples/valid-transport-inter


def sample_text(name: str) -> str:
    return (SAMPLES / f"{name}.txt").read_text("ascii").strip()


@pytest.fixture
def registry(settings: Settings) -> Iterator[Registry]:
    reg = open_registry(settings)
    yield reg
    reg.close()


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    app = create_app(replace(settings, keys_dir=DEMO_KEYS), clock=lambda: NOW)
    with TestClient(app, base_url=BASE_URL) as c:
        yield c


def token(registry: Registry, role: str, region: str) -> dict[str, str]:
    with registry.session() as session:
        _, secret = TokenStore(session).create(role, region, "test", now=NOW)
    return {"Authorization": f"Bearer {secret}"}


def scans(registry: Registry, number: str) -> tuple[ScanEvent, ...]:
    with registry.session() as session:
        return ScanStore(session).for_number(number)


def all_scans(registry: Registry) -> int:
    from sqlalchemy import func, select

    from quarantine.storage.models import ScanEventRow

    with registry.session() as session:
        return int(session.execute(select(func.count()).select_from(ScanEventRow)).scalar_one())


def test_an_inspector_s_text_verification_records_a_scan(
    client: TestClient, registry: Registry
) -> None:
    headers = token(registry, "inspector", "310000")
    body = {
        "text": sample_text("valid-transport-inter"),
        "region": "310115",
        "checkpoint": "G60 沪杭高速枫泾检查站",
        "plate": "浙a 7k392",
    }
    response = client.post("/api/v1/verify", json=body, headers=headers)
    assert response.status_code == 200
    out = response.json()
    assert out["scan"]["region"] == "310115"
    [event] = scans(registry, INTER)
    assert event.at == NOW
    assert (event.region, event.checkpoint, event.vehicle_plate) == (
        "310115",
        "G60 沪杭高速枫泾检查站",
        "浙A7K392",
    )
    assert event.verdict == out["verdict"]
    assert list(event.reason_codes) == out["reasons"]
    assert event.actor.startswith("inspector:tok_")


def test_the_public_records_nothing(client: TestClient, registry: Registry) -> None:
    text = sample_text("valid-transport-inter")
    body = {"text": text, "region": "310115", "checkpoint": "x", "plate": "沪A1"}
    response = client.post("/api/v1/verify", json=body)
    assert response.status_code == 200
    assert "scan" not in response.json()
    client.get(text.split("8000", 1)[1], headers={"Accept": "application/json"})
    assert all_scans(registry) == 0


@pytest.mark.parametrize("role", ["issuer", "admin"])
def test_other_roles_record_nothing(client: TestClient, registry: Registry, role: str) -> None:
    headers = token(registry, role, "310000")
    response = client.post(
        "/api/v1/verify", json={"text": sample_text("valid-transport-inter")}, headers=headers
    )
    assert response.status_code == 200
    assert all_scans(registry) == 0


def test_the_place_defaults_to_the_inspector_s_region(
    client: TestClient, registry: Registry
) -> None:
    headers = token(registry, "inspector", "330109")
    client.post(
        "/api/v1/verify", json={"text": sample_text("valid-transport-inter")}, headers=headers
    )
    [event] = scans(registry, INTER)
    assert (event.region, event.checkpoint, event.vehicle_plate) == ("330109", "", "")


def test_query_parameters_are_accepted_and_the_body_wins(
    client: TestClient, registry: Registry
) -> None:
    headers = token(registry, "inspector", "310000")
    client.post(
        "/api/v1/verify?region=320583&checkpoint=Q&plate=Q1",
        json={"text": sample_text("valid-transport-inter"), "checkpoint": "B"},
        headers=headers,
    )
    [event] = scans(registry, INTER)
    assert (event.region, event.checkpoint, event.vehicle_plate) == ("320583", "B", "Q1")


def test_a_registered_certificate_is_scanned_with_its_status(
    client: TestClient, registry: Registry
) -> None:
    text = store_certificate(registry, "transport-intra", "310112-2026-000158")
    headers = token(registry, "inspector", "310000")
    out = client.post("/api/v1/verify", json={"text": text}, headers=headers).json()
    assert out["verdict"] == "VALID"
    [event] = scans(registry, "310112-2026-000158")
    assert event.verdict == "VALID"


def test_a_forgery_is_recorded_under_the_number_it_claims(
    client: TestClient, registry: Registry
) -> None:
    headers = token(registry, "inspector", "310000")
    client.post("/api/v1/verify", json={"text": sample_text("tampered")}, headers=headers)
    client.post("/api/v1/verify", json={"text": sample_text("not-a-certificate")}, headers=headers)
    [forged] = scans(registry, INTER)
    assert (forged.verdict, forged.reason_codes) == ("INVALID", ("BAD_SIGNATURE",))
    [other] = scans(registry, "")
    assert other.verdict == "NOT_A_CERTIFICATE"


def test_the_qr_url_records_a_scan_from_query_parameters(
    client: TestClient, registry: Registry
) -> None:
    headers = {**token(registry, "inspector", "310000"), "Accept": "application/json"}
    path = sample_text("valid-transport-inter").split("8000", 1)[1]
    response = client.get(f"{path}?region=310115&checkpoint=K1&plate=ZA1", headers=headers)
    assert response.status_code == 200
    assert response.json()["scan"]["checkpoint"] == "K1"
    html = client.get(path, headers={**headers, "Accept": "text/html"})
    assert html.status_code == 200
    assert len(scans(registry, INTER)) == 2


def test_an_image_verification_records_each_code(client: TestClient, registry: Registry) -> None:
    headers = token(registry, "inspector", "310000")
    png = (SAMPLES / "valid-transport-es256.png").read_bytes()
    response = client.post(
        "/api/v1/verify/image",
        files={"image": ("qr.png", png, "image/png")},
        data={"region": "340104", "checkpoint": "合肥西", "plate": "皖A3C561"},
        headers=headers,
    )
    assert response.status_code == 200
    [code] = response.json()["codes"]
    assert code["scan"]["plate"] == "皖A3C561"
    [event] = scans(registry, "340104-2026-000077")
    assert event.region == "340104"


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"region": "110101"}, "SCAN_REGION_UNKNOWN"),  # Beijing: not in the Delta table
        ({"region": "31011x"}, "SCAN_REGION_UNKNOWN"),
        ({"region": "3101150"}, "REQUEST_INVALID"),
        ({"checkpoint": "x" * 201}, "REQUEST_INVALID"),
        ({"plate": "沪A" * 11}, "REQUEST_INVALID"),
        ({"plate": "沪A\x001"}, "SCAN_FIELD_INVALID"),
        ({"checkpoint": "line\nbreak"}, "SCAN_FIELD_INVALID"),
    ],
)
def test_bad_scan_fields_are_refused(
    client: TestClient, registry: Registry, fields: dict[str, Any], code: str
) -> None:
    headers = token(registry, "inspector", "310000")
    body = {"text": sample_text("valid-transport-inter"), **fields}
    response = client.post("/api/v1/verify", json=body, headers=headers)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == code
    assert all_scans(registry) == 0


def test_bad_fields_are_refused_for_the_public_too(client: TestClient) -> None:
    body = {"text": sample_text("valid-transport-inter"), "region": "110101"}
    assert client.post("/api/v1/verify", json=body).status_code == 422


def test_a_file_in_a_scan_field_is_refused(client: TestClient, registry: Registry) -> None:
    png = (SAMPLES / "valid-transport-es256.png").read_bytes()
    response = client.post(
        "/api/v1/verify/image",
        files={"image": ("qr.png", png, "image/png"), "region": ("r.txt", b"310115", "text/plain")},
        headers=token(registry, "inspector", "310000"),
    )
    # a second file is refused by the upload limits (one file) before anything else
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "UPLOAD_INVALID"
    assert all_scans(registry) == 0


def test_a_bad_token_is_refused(client: TestClient) -> None:
    response = client.post(
        "/api/v1/verify",
        json={"text": sample_text("valid-transport-inter")},
        headers={"Authorization": "Bearer not-a-token"},
    )
    assert response.status_code == 401


def test_a_node_without_registry_records_nothing(settings: Settings) -> None:
    with TestClient(create_app(settings, clock=lambda: NOW, use_registry=False)) as c:
        response = c.post("/api/v1/verify", json={"text": sample_text("valid-transport-inter")})
        assert response.status_code == 200
        assert "scan" not in response.json()


def test_scan_place_rules() -> None:
    regions = region_table()
    inspector = Principal(Role.INSPECTOR, "310000", "tok_1")
    assert scan_place(PUBLIC, regions, region="310115") is None
    place = scan_place(inspector, regions, checkpoint="  枫泾 ", plate=" 沪 b 12345 ")
    assert place is not None
    assert (place.region, place.checkpoint, place.plate) == ("310000", "枫泾", "沪B12345")
    with pytest.raises(Exception, match="SCAN_REGION_REQUIRED"):
        scan_place(Principal(Role.INSPECTOR, "110000", "tok_2"), regions)


def positions(registry: Registry, number: str) -> list[tuple[float | None, float | None]]:
    """The device positions of the reuse-alert scans of ``number``."""
    from sqlalchemy import select

    from quarantine.storage.inspection import InspectionScanRow

    with registry.session() as session:
        rows = session.execute(
            select(InspectionScanRow.lon, InspectionScanRow.lat).where(
                InspectionScanRow.number == number
            )
        ).all()
    return [(r.lon, r.lat) for r in rows]


@pytest.mark.parametrize("where", ["form", "query"])
def test_an_image_verification_records_the_device_position(
    client: TestClient, registry: Registry, where: str
) -> None:
    headers = token(registry, "inspector", "310000")
    png = (SAMPLES / "valid-transport-es256.png").read_bytes()
    position = {"lon": " 117.2272", "lat": "31.8206 "}
    response = client.post(
        "/api/v1/verify/image",
        files={"image": ("qr.png", png, "image/png")},
        data={"region": "340104", **(position if where == "form" else {})},
        params=position if where == "query" else {},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    [code] = response.json()["codes"]
    assert code["scan"]["region"] == "340104"
    assert positions(registry, "340104-2026-000077") == [(117.2272, 31.8206)]


def test_an_image_verification_without_a_position_records_none(
    client: TestClient, registry: Registry
) -> None:
    png = (SAMPLES / "valid-transport-es256.png").read_bytes()
    response = client.post(
        "/api/v1/verify/image",
        files={"image": ("qr.png", png, "image/png")},
        data={"lon": "", "lat": ""},  # an empty form field counts as not given
        headers=token(registry, "inspector", "310000"),
    )
    assert response.status_code == 200, response.text
    assert positions(registry, "340104-2026-000077") == [(None, None)]


@pytest.mark.parametrize(
    ("form", "query", "code"),
    [
        ({"lon": "121.5"}, {}, "SCAN_POSITION_INCOMPLETE"),
        ({"lat": "31.2"}, {}, "SCAN_POSITION_INCOMPLETE"),
        ({"lon": "121.5", "lat": ""}, {}, "SCAN_POSITION_INCOMPLETE"),
        ({}, {"lat": "31.2"}, "SCAN_POSITION_INCOMPLETE"),
        ({"lon": "121.5"}, {"lat": "31.2"}, "SCAN_POSITION_INCOMPLETE"),  # a pair, not mixed
        ({"lon": "180.5", "lat": "31.2"}, {}, "SCAN_POSITION_INVALID"),
        ({"lon": "121.5", "lat": "-90.01"}, {}, "SCAN_POSITION_INVALID"),
        ({}, {"lon": "121.5", "lat": "91"}, "SCAN_POSITION_INVALID"),
        ({"lon": "东经121", "lat": "31.2"}, {}, "SCAN_POSITION_INVALID"),
        ({"lon": "nan", "lat": "31.2"}, {}, "SCAN_POSITION_INVALID"),
        ({"lon": "121.5", "lat": "inf"}, {}, "SCAN_POSITION_INVALID"),
        ({"lon": "1" * 40, "lat": "31.2"}, {}, "SCAN_POSITION_INVALID"),
    ],
)
def test_bad_or_partial_positions_are_refused(
    client: TestClient,
    registry: Registry,
    form: dict[str, str],
    query: dict[str, str],
    code: str,
) -> None:
    png = (SAMPLES / "valid-transport-es256.png").read_bytes()
    response = client.post(
        "/api/v1/verify/image",
        files={"image": ("qr.png", png, "image/png")},
        data=form,
        params=query,
        headers=token(registry, "inspector", "310000"),
    )
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == code and error["zh"] and error["en"]
    assert all_scans(registry) == 0


def test_a_bad_position_is_refused_for_the_public_too(client: TestClient) -> None:
    png = (SAMPLES / "valid-transport-es256.png").read_bytes()
    response = client.post(
        "/api/v1/verify/image", files={"image": ("qr.png", png, "image/png")}, data={"lon": "1"}
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "SCAN_POSITION_INCOMPLETE"


def test_the_photo_page_records_an_inspector_s_position(
    client: TestClient, registry: Registry
) -> None:
    headers = token(registry, "inspector", "340000")
    png = (SAMPLES / "valid-transport-es256.png").read_bytes()
    page = client.post(
        "/scan",
        files={"image": ("qr.png", png, "image/png")},
        data={"lon": "117.2272", "lat": "31.8206"},
        headers=headers,
    )
    assert page.status_code == 200, page.text
    assert positions(registry, "340104-2026-000077") == [(117.2272, 31.8206)]
    refused = client.post(
        "/scan",
        files={"image": ("qr.png", png, "image/png")},
        data={"lon": "117.2272", "lat": "131.8"},
        headers=headers,
    )
    assert refused.status_code == 422 and "SCAN_POSITION_INVALID" in refused.text
    assert "text/html" in refused.headers["content-type"]
    assert all_scans(registry) == 1


def test_scan_position_rules() -> None:
    regions = region_table()
    inspector = Principal(Role.INSPECTOR, "310000", "tok_1")
    place = scan_place(inspector, regions, lon="121.8", lat=31.2)
    assert place is not None and place.position == (121.8, 31.2)
    assert scan_position(None, None) is None and scan_position(" ", "") is None
    assert scan_position(-180, "90") == (-180.0, 90.0)
    cases: list[tuple[str | float | None, str | float | None, str]] = [
        ("121.8", None, "SCAN_POSITION_INCOMPLETE"),
        (True, 31.2, "SCAN_POSITION_INVALID"),
        (float("nan"), 31.2, "SCAN_POSITION_INVALID"),
        ("1e3", "31", "SCAN_POSITION_INVALID"),
    ]
    for lon, lat, code in cases:
        with pytest.raises(InputError) as caught:
            scan_position(lon, lat)
        assert caught.value.code == code and caught.value.message_zh
    with pytest.raises(InputError, match="SCAN_POSITION_INCOMPLETE"):  # the public's too
        scan_place(PUBLIC, regions, lat="31.2")
