"""The verification API and the page behind the QR's URL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from quarantine.settings import Settings
from quarantine.web import create_app

REPO = Path(__file__).resolve().parents[2]
MANIFEST = json.loads((REPO / "samples" / "manifest.json").read_text("utf-8"))
NOW = datetime.fromisoformat(MANIFEST["now"])


def sample_text(name: str) -> str:
    return (REPO / "samples" / f"{name}.txt").read_text("ascii").strip()


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings, clock=lambda: NOW), base_url="http://127.0.0.1:8000") as c:
        yield c


@pytest.mark.parametrize("sample", MANIFEST["samples"], ids=lambda s: s["name"])
def test_verify_by_text_matches_the_manifest(client: TestClient, sample: dict[str, Any]) -> None:
    """Online, this node's (empty) registry adds UNKNOWN_TO_REGISTRY to every signed sample."""
    response = client.post("/api/v1/verify", json={"text": sample_text(sample["name"])})
    assert response.status_code == 200
    body = response.json()
    expected = [r for r in sample["reasons"] if r != "STATUS_UNCHECKED"]
    if "STATUS_UNCHECKED" in sample["reasons"]:  # the signature held, so the registry was asked
        expected.append("UNKNOWN_TO_REGISTRY")
    assert sorted(body["reasons"]) == sorted(expected)
    assert body["verdict"] == ("INVALID" if sample["verdict"] == "VALID" else sample["verdict"])


def test_offline_node_matches_the_manifest(settings: Settings) -> None:
    with TestClient(create_app(settings, clock=lambda: NOW, use_registry=False)) as c:
        for sample in MANIFEST["samples"]:
            body = c.post("/api/v1/verify", json={"text": sample_text(sample["name"])}).json()
            assert (body["verdict"], body["reasons"]) == (sample["verdict"], sample["reasons"])


def test_verify_by_image(client: TestClient) -> None:
    png = (REPO / "samples" / "valid-transport-es256.png").read_bytes()
    response = client.post("/api/v1/verify/image", files={"image": ("qr.png", png, "image/png")})
    assert response.status_code == 200
    codes = response.json()["codes"]
    assert [c["reasons"] for c in codes] == [["UNKNOWN_TO_REGISTRY"]]
    assert len(codes[0]["position"]) == 4


@pytest.mark.parametrize(
    ("files", "status", "code"),
    [
        ({"image": ("x.png", b"not an image", "image/png")}, 422, "IMAGE_FORMAT_NOT_ALLOWED"),
        ({"other": ("x.png", b"\x89PNG", "image/png")}, 422, "UPLOAD_MISSING"),
        (
            {"image": ("x.gif", b"GIF89a" + b"\x00" * 20, "image/gif")},
            422,
            "IMAGE_FORMAT_NOT_ALLOWED",
        ),
    ],
)
def test_bad_uploads_get_reason_codes(
    client: TestClient, files: dict[str, Any], status: int, code: str
) -> None:
    response = client.post("/api/v1/verify/image", files=files)
    assert response.status_code == status
    assert response.json()["error"]["code"] == code


def test_upload_size_is_checked_before_reading(client: TestClient) -> None:
    big = b"\xff\xd8\xff" + b"\x00" * 3_000_000
    response = client.post("/api/v1/verify/image", files={"image": ("x.jpg", big, "image/jpeg")})
    assert response.status_code == 413
    assert response.json()["error"]["code"] in ("UPLOAD_TOO_LARGE", "UPLOAD_INVALID")


def test_upload_must_be_multipart(client: TestClient) -> None:
    response = client.post(
        "/api/v1/verify/image", content=b"\x89PNG", headers={"content-type": "image/png"}
    )
    assert response.status_code == 415


@pytest.mark.parametrize("body", [{}, {"text": ""}, {"text": "x" * 9000}, {"text": 5}, []])
def test_bad_text_requests(client: TestClient, body: Any) -> None:
    response = client.post("/api/v1/verify", json=body)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "REQUEST_INVALID"


def test_not_json_at_all(client: TestClient) -> None:
    response = client.post(
        "/api/v1/verify", content=b"\xff\x00", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422


@pytest.mark.parametrize(
    ("content", "headers", "field"),
    [
        (b"", {"content-type": "application/json"}, "body"),
        (b'{"text": "x"}', {"content-type": "text/plain"}, "body"),
        (b'{"text": "x"}', {}, "body"),
        (b'{"text": "x",', {"content-type": "application/json"}, "body"),
        (b'{"text": "x", "lat": 91}', {"content-type": "application/json"}, "body.lat"),
    ],
)
def test_the_verify_body_is_read_with_fastapi_s_errors(
    client: TestClient, content: bytes, headers: dict[str, str], field: str
) -> None:
    response = client.post("/api/v1/verify", content=content, headers=headers)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "REQUEST_INVALID"
    assert error["problems"][0]["field"] == field


def test_a_json_media_type_with_parameters_or_suffix_is_json(client: TestClient) -> None:
    body = json.dumps({"text": sample_text("valid-transport-inter")}).encode()
    for media in ("application/json; charset=utf-8", "application/problem+json"):
        response = client.post("/api/v1/verify", content=body, headers={"content-type": media})
        assert response.status_code == 200, (media, response.text)
        assert response.json()["reasons"] == ["UNKNOWN_TO_REGISTRY"]


def test_an_oversized_verify_body_is_refused_before_it_is_read(client: TestClient) -> None:
    big = b'{"text": "' + b"1" * (70 * 1024) + b'"}'
    response = client.post(
        "/api/v1/verify", content=big, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "BODY_TOO_LARGE"


@pytest.mark.parametrize(
    ("query", "field"), [("region=1234567", "query.region"), ("plate=" + "A" * 21, "query.plate")]
)
def test_scan_fields_in_the_query_are_validated(client: TestClient, query: str, field: str) -> None:
    response = client.post(
        f"/api/v1/verify?{query}", json={"text": sample_text("valid-transport-inter")}
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["problems"][0]["field"] == field


def test_qr_url_serves_html_to_browsers_and_json_to_clients(client: TestClient) -> None:
    digits = sample_text("valid-transport-inter").split("/C/")[1]
    page = client.get(f"/C/{digits}", headers={"accept": "text/html,application/xhtml+xml"})
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "登记系统中没有此证书" in page.text  # this node's registry does not hold the sample
    assert "杭州萧山绿源苗木专业合作社" in page.text
    assert "330109-2026-004871" in page.text
    data = client.get(f"/C/{digits}", headers={"accept": "application/json"}).json()
    assert data["reasons"] == ["UNKNOWN_TO_REGISTRY"]
    assert data["host"] == {"host": "127.0.0.1:8000", "known": True}


def test_offline_node_shows_a_valid_sample(settings: Settings) -> None:
    app = create_app(settings, clock=lambda: NOW, use_registry=False)
    with TestClient(app, base_url="http://127.0.0.1:8000") as c:
        digits = sample_text("valid-transport-inter").split("/C/")[1]
        page = c.get(f"/C/{digits}", headers={"accept": "text/html"})
    assert "证书真实有效" in page.text


def test_unmigrated_database_refuses_to_start(tmp_path: Path) -> None:
    from quarantine.errors import EnvironmentProblem

    with pytest.raises(EnvironmentProblem) as info:
        create_app(Settings(data_dir=tmp_path))
    assert info.value.code == "DB_NOT_MIGRATED"
    assert "quarantine db upgrade" in info.value.message_en


def test_qr_url_under_an_unknown_host_warns(settings: Settings) -> None:
    with TestClient(
        create_app(settings, clock=lambda: NOW), base_url="http://verify.evil.example"
    ) as c:
        digits = sample_text("valid-transport-inter").split("/C/")[1]
        data = c.get(f"/C/{digits}", headers={"accept": "application/json"}).json()
    assert "UNKNOWN_HOST" in data["reasons"]


def test_tampered_page_says_not_valid(client: TestClient) -> None:
    digits = sample_text("tampered").split("/C/")[1]
    page = client.get(f"/C/{digits}")
    assert "证书无效" in page.text
    assert "BAD_SIGNATURE" in page.text


def test_page_for_damaged_digits_says_malformed(client: TestClient) -> None:
    page = client.get("/C/0123")
    assert page.status_code == 200
    assert "MALFORMED" in page.text


def test_page_escapes_signed_content(settings: Settings) -> None:
    """A name with markup, signed by a trusted key, is shown as text, never as markup."""
    import dataclasses

    from quarantine.core.document import from_document
    from quarantine.core.keys import Signer
    from quarantine.core.signing import sign_certificate
    from tests.conftest import cst, make_trust

    signer = Signer.generate()
    trust = make_trust([("330000", signer, cst("2025-01-01T00:00"), None)])
    doc = json.loads((REPO / "samples" / "input" / "transport-inter.json").read_text("utf-8"))
    cert = from_document(doc)
    assert cert.consignor is not None
    evil = dataclasses.replace(cert.consignor, name='<script>alert("x")</script>')
    text = sign_certificate(
        dataclasses.replace(cert, consignor=evil), signer, base_url="http://127.0.0.1:8000"
    ).text
    app = create_app(settings, trust=trust, clock=lambda: NOW, use_registry=False)
    with TestClient(app, base_url="http://127.0.0.1:8000") as c:
        page = c.get("/C/" + text.split("/C/")[1], headers={"accept": "text/html"})
    assert "证书真实有效" in page.text  # the signature held: the name really was signed
    assert "<script>" not in page.text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page.text


def test_rate_limit_answers_429_with_retry_after(settings: Settings) -> None:
    import dataclasses

    limited = dataclasses.replace(settings, verify_rate_per_minute=3)
    with TestClient(create_app(limited, clock=lambda: NOW)) as c:
        statuses = [c.post("/api/v1/verify", json={"text": "hello"}).status_code for _ in range(5)]
        last = c.post("/api/v1/verify", json={"text": "hello"})
    assert statuses[:3] == [200, 200, 200]
    assert last.status_code == 429
    assert int(last.headers["retry-after"]) >= 1
    assert last.json()["error"]["code"] == "RATE_LIMITED"


def test_health_readiness_metrics_and_docs(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json()["status"] == "ready"
    client.post("/api/v1/verify", json={"text": "hello"})
    metrics = client.get("/metrics").text
    assert "quarantine_http_requests_total" in metrics
    assert client.get("/openapi.json").json()["info"]["title"].startswith("quarantine")
    assert client.get("/nope").json()["error"]["code"] == "NOT_FOUND"


def test_each_request_logs_one_json_line(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("INFO", logger="quarantine.access"):
        client.post("/api/v1/verify", json={"text": sample_text("valid-transport-inter")})
    [record] = [r for r in caplog.records if r.name == "quarantine.access"]
    line = json.loads(record.getMessage())
    assert line["method"] == "POST" and line["route"] == "/api/v1/verify"
    assert line["status"] == 200 and line["ms"] >= 0


def test_a_position_needs_both_coordinates(client: TestClient) -> None:
    text = sample_text("valid-transport-inter")
    response = client.post("/api/v1/verify", json={"text": text, "lon": 121.5})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "SCAN_POSITION_INCOMPLETE"
    both = client.post("/api/v1/verify", json={"text": text, "lon": 121.5, "lat": 31.2})
    assert both.status_code == 200
