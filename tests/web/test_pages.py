"""Server-rendered pages without a browser: language, headers, errors as pages, weight."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import io
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from quarantine.core.model import CHINA_TZ
from quarantine.core.status import EventType, StatusEvent, StatusInfo
from quarantine.settings import Settings
from quarantine.web.app import create_app

REPO = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 12, 1, 10, 0, tzinfo=CHINA_TZ)
HTML = {"accept": "text/html,application/xhtml+xml"}


def sample_path(name: str) -> str:
    text = (REPO / "samples" / f"{name}.txt").read_text("utf-8").strip()
    return "/C/" + text.split("/C/", 1)[1]


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    app = create_app(settings, clock=lambda: NOW, use_registry=False)
    with TestClient(app, base_url="http://127.0.0.1:8000") as c:
        yield c


def test_verification_page_headers(client: TestClient) -> None:
    page = client.get(sample_path("valid-transport-inter"), headers=HTML)
    assert page.status_code == 200
    csp = page.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp and "'unsafe" not in csp
    assert page.headers["referrer-policy"] == "same-origin"
    assert page.headers["cache-control"] == "no-store"
    assert '<html lang="zh-CN">' in page.text
    assert "<script" not in page.text and " style=" not in page.text
    # The stylesheet is inline on this page, admitted by its hash and by nothing else.
    styles = re.findall(r"<style>(.*?)</style>", page.text, re.S)
    assert len(styles) == 1
    digest = base64.b64encode(hashlib.sha256(styles[0].encode()).digest()).decode()
    assert f"style-src 'self' 'sha256-{digest}';" in csp
    assert styles[0] == (REPO / "quarantine" / "web" / "static" / "app.css").read_text("utf-8")
    assert 'data-verdict="valid"' in page.text


def test_english_by_query_then_by_cookie(client: TestClient) -> None:
    path = sample_path("valid-transport-inter")
    page = client.get(path + "?lang=en", headers=HTML)
    assert '<html lang="en">' in page.text
    assert "Genuine and valid" in page.text and "Consignor" in page.text
    assert "lang=en" in page.headers["set-cookie"]
    again = client.get(path, headers=HTML)  # the client kept the cookie
    assert '<html lang="en">' in again.text
    assert "set-cookie" not in again.headers
    back = client.get(path + "?lang=zh", headers=HTML)
    assert '<html lang="zh-CN">' in back.text and "调运单位" in back.text


def test_unknown_language_falls_back_to_chinese(client: TestClient) -> None:
    page = client.get("/scan?lang=fr", headers=HTML)
    assert '<html lang="zh-CN">' in page.text
    assert "set-cookie" not in page.headers


def test_every_word_has_both_languages() -> None:
    from quarantine.web.i18n import WORDS

    for key, (zh, en) in WORDS.items():
        assert zh.strip() and en.strip(), key
        assert re.findall(r"{\w+}", zh) == re.findall(r"{\w+}", en), key


def test_page_weight_with_assets(client: TestClient) -> None:
    """The verification page and every asset it links: ≤ 150 KB."""
    page = client.get(sample_path("valid-transport-inter"), headers=HTML)
    assets = re.findall(r'(?:href|src)="(/static/[^"]+)"', page.text)
    assert "/static/icon.png" in assets
    total = len(page.content)
    for asset in assets:
        response = client.get(asset)
        assert response.status_code == 200, asset
        total += len(response.content)
    assert total <= 150 * 1024


def test_static_files_have_their_types(client: TestClient) -> None:
    assert client.get("/static/app.css").headers["content-type"].startswith("text/css")
    assert "javascript" in client.get("/static/scan.js").headers["content-type"]
    assert client.get("/static/icon.png").headers["content-type"] == "image/png"
    assert client.get("/static/../app.py").status_code == 404


def test_scan_page_offers_camera_photo_and_text(client: TestClient) -> None:
    page = client.get("/scan", headers=HTML)
    assert page.status_code == 200
    assert 'capture="environment"' in page.text and 'accept="image/*"' in page.text
    assert 'enctype="multipart/form-data"' in page.text
    assert 'id="live" hidden' in page.text  # shown by scan.js only where BarcodeDetector exists
    assert '<script src="/static/scan.js" defer>' in page.text
    assert '<link rel="stylesheet" href="/static/app.css">' in page.text


def test_scan_upload_without_javascript(client: TestClient) -> None:
    png = (REPO / "samples" / "valid-transport-inter.png").read_bytes()
    page = client.post("/scan", files={"image": ("photo.png", png, "image/png")}, headers=HTML)
    assert page.status_code == 200
    assert "照片中找到 1 个二维码" in page.text
    assert 'data-verdict="valid"' in page.text
    assert "330109-2026-004871" in page.text


def test_scan_upload_of_a_blank_picture_gives_hints(client: TestClient) -> None:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("L", (320, 240), 30).save(buffer, "PNG")
    page = client.post("/scan", files={"image": ("dark.png", buffer.getvalue(), "image/png")})
    assert page.status_code == 200
    assert "照片中没有识别到二维码" in page.text
    assert "TOO_DARK" in page.text and "图片太暗" in page.text


def test_scan_form_errors_are_pages_with_reason_codes(client: TestClient) -> None:
    missing = client.post("/scan", files={"other": ("x.txt", b"x", "text/plain")}, headers=HTML)
    assert missing.status_code == 422
    assert missing.headers["content-type"].startswith("text/html")
    assert "UPLOAD_MISSING" in missing.text and "请选择一张照片" in missing.text
    garbage = client.post("/scan", files={"image": ("x.png", b"not an image", "image/png")})
    assert garbage.status_code in (413, 415, 422)
    assert "text/html" in garbage.headers["content-type"] and "Traceback" not in garbage.text
    empty = client.post("/scan/text", data={"text": "  "})
    assert empty.status_code == 422 and "TEXT_MISSING" in empty.text
    wrong = client.post("/scan/text", content=b"text=x", headers={"content-type": "text/plain"})
    assert wrong.status_code == 415 and "FORM_REQUIRED" in wrong.text


def test_typed_text_is_verified(client: TestClient) -> None:
    text = (REPO / "samples" / "tampered.txt").read_text("utf-8").strip()
    page = client.post("/scan/text?lang=en", data={"text": text})
    assert page.status_code == 200
    assert 'data-verdict="invalid"' in page.text and "BAD_SIGNATURE" in page.text
    assert "Not valid" in page.text


def test_rate_limited_page_says_cannot_be_checked_now(settings: Settings) -> None:
    limited = dataclasses.replace(settings, verify_rate_per_minute=1)
    app = create_app(limited, clock=lambda: NOW, use_registry=False)
    with TestClient(app, base_url="http://127.0.0.1:8000") as c:
        path = sample_path("valid-transport-inter")
        assert c.get(path, headers=HTML).status_code == 200
        page = c.get(path, headers=HTML)
        data = c.get(path, headers={"accept": "application/json"})
    assert page.status_code == 429
    assert 'data-verdict="unavailable"' in page.text and "暂时无法核验" in page.text
    assert "RATE_LIMITED" in page.text
    assert int(page.headers["retry-after"]) >= 1
    assert data.status_code == 429 and data.json()["error"]["code"] == "RATE_LIMITED"


def test_api_errors_stay_json(client: TestClient) -> None:
    response = client.get("/api/v1/nothing-here", headers=HTML)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"


def test_server_trouble_on_a_page_says_cannot_be_checked_now(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = create_app(settings, clock=lambda: NOW)

    def broken() -> None:
        raise RuntimeError("database down")

    monkeypatch.setattr(app.state.context.registry, "reader", broken)
    with TestClient(app, base_url="http://127.0.0.1:8000", raise_server_exceptions=False) as c:
        page = c.get(sample_path("valid-transport-inter"), headers=HTML)
    assert page.status_code == 500
    assert 'data-verdict="unavailable"' in page.text and "INTERNAL_ERROR" in page.text
    assert "Traceback" not in page.text


class _Events:
    """A status source that reports the given events for every number."""

    def __init__(self, *events: StatusEvent) -> None:
        self.events = events

    def lookup(self, number: str, now: datetime) -> StatusInfo:
        return StatusInfo(known=True, events=self.events, as_of=now, source="registry")


@pytest.mark.parametrize(
    ("event", "words"),
    [
        ("SUSPENDED", ["已暂停使用", "待查"]),
        ("ARRIVED", ["货物已到达，证书已核销"]),
        ("SUPERSEDED", ["已换发新证", "新证书编号", "330109-2026-004999", "待查"]),
        ("REVOKED", ["已撤销", "待查"]),
    ],
)
def test_registry_status_in_plain_words(event: str, words: list[str], settings: Settings) -> None:
    happened = StatusEvent(
        EventType(event),
        datetime(2026, 11, 30, 9, 0, tzinfo=CHINA_TZ),
        "待查",
        "330109-2026-004999" if event == "SUPERSEDED" else "",
    )
    source = _Events(happened)
    app = create_app(settings, status=source, clock=lambda: NOW, use_registry=False)
    with TestClient(app, base_url="http://127.0.0.1:8000") as c:
        page = c.get(sample_path("valid-transport-inter"), headers=HTML)
    assert 'data-verdict="invalid"' in page.text
    registry = page.text.split('data-test="registry"', 1)[1].split("</section>", 1)[0]
    for word in words:
        assert word in registry, word
    assert "状态截至 2026-12-01 10:00:00" in registry
