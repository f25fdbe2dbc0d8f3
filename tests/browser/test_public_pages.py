"""The public pages in a real browser (Debian's chromium, headless, via Playwright)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import TYPE_CHECKING

from tests.browser.site import REVOKE_REASON, SUPERSEDE_REASON, Site

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Response

#: The public verification page with its assets must transfer at most this much.
MAX_PAGE_BYTES = 150 * 1024


def verdict(page: Page) -> str:
    value = page.locator("[data-verdict]").first.get_attribute("data-verdict")
    return value or ""


def qr_photo(path: Path, *texts: str) -> Path:
    """A PNG holding the QR codes of ``texts`` side by side (a photo of several codes)."""
    from PIL import Image

    from quarantine.render import qr_png

    codes = [Image.open(io.BytesIO(qr_png(t, module_px=6))) for t in texts]
    gap = 60
    width = sum(c.width for c in codes) + gap * (len(codes) + 1)
    height = max(c.height for c in codes) + 2 * gap
    sheet = Image.new("RGB", (width, height), "white")
    x = gap
    for code in codes:
        sheet.paste(code, (x, gap))
        x += code.width + gap
    sheet.save(path)
    return path


def test_valid_certificate_qr_url_shows_valid(page: Page, site: Site) -> None:
    page.goto(site.url("valid"))
    assert verdict(page) == "valid"
    body = page.inner_text("main")
    assert "证书真实有效" in body and "Genuine and valid" in body
    assert site.numbers["valid"] in body
    for expected in (
        "上海闵行浦江花木有限公司",
        "上海浦东园林建设有限公司",
        "沪B5D218",
        "银杏",
        "40 株",
    ):
        assert expected in body
    assert "上海市闵行区林业站" in body  # the issuing agency
    assert "登记系统中有效" in body  # the registry status, and when it was checked
    assert "核验时间" in body
    assert page.locator("[data-test=host-warning]").count() == 0


def test_revoked_certificate_shows_revoked_with_reason(page: Page, site: Site) -> None:
    page.goto(site.url("revoked"))
    assert verdict(page) == "invalid"
    registry = page.inner_text("[data-test=registry]")
    assert "已撤销" in registry
    assert REVOKE_REASON in registry


def test_superseded_certificate_names_its_replacement(page: Page, site: Site) -> None:
    page.goto(site.url("superseded"))
    assert verdict(page) == "invalid"
    registry = page.inner_text("[data-test=registry]")
    assert "已换发新证" in registry
    assert site.numbers["replacement"] in registry
    assert SUPERSEDE_REASON in registry


def test_tampered_certificate_is_not_valid(page: Page, site: Site) -> None:
    page.goto(site.base + site.sample_path("tampered"))
    assert verdict(page) == "invalid"
    body = page.inner_text("main")
    assert "签名无效" in body and "BAD_SIGNATURE" in body


def test_qr_under_an_unknown_host_warns(page: Page, site: Site) -> None:
    # Same server, reached under a host name the trust list does not hold.
    page.goto(site.url("valid").replace("127.0.0.1", "localhost"))
    warning = page.locator("[data-test=host-warning]")
    assert warning.count() == 1
    assert f"localhost:{site.port}" in warning.inner_text().lower()


def test_every_kind_shows_its_title(page: Page, site: Site) -> None:
    for name, title in (
        ("producing", "产地检疫合格证"),
        ("requirement", "植物检疫要求书"),
        ("project", "工程植物检疫复验合格证"),
        ("inter", "植物检疫证书（出省）"),
        ("anhui", "植物检疫证书"),
    ):
        page.goto(site.url(name))
        assert verdict(page) == "valid", name
        assert title in page.inner_text(".cert h2"), name


def test_photo_upload_on_the_scan_page(page: Page, site: Site, tmp_path: Path) -> None:
    page.goto(site.base + "/scan")
    photo = qr_photo(tmp_path / "one.png", site.qr["valid"])
    page.set_input_files("#image", str(photo))
    page.click("[data-test=photo-form] button[type=submit]")
    page.wait_for_selector("[data-test=code-result]")
    assert verdict(page) == "valid"
    assert site.numbers["valid"] in page.inner_text("main")


def test_photo_with_several_codes_lists_each(page: Page, site: Site, tmp_path: Path) -> None:
    page.goto(site.base + "/scan")
    photo = qr_photo(tmp_path / "two.png", site.qr["valid"], site.qr["revoked"])
    page.set_input_files("#image", str(photo))
    page.click("[data-test=photo-form] button[type=submit]")
    page.wait_for_selector("[data-test=code-result]")
    assert "照片中找到 2 个二维码" in page.inner_text("[data-test=codes-found]")
    verdicts = page.locator("[data-test=code-result] [data-verdict]")
    assert sorted(v.get_attribute("data-verdict") or "" for v in verdicts.all()) == [
        "invalid",
        "valid",
    ]


def test_photo_without_a_code_gives_hints(page: Page, site: Site, tmp_path: Path) -> None:
    from PIL import Image

    blank = tmp_path / "blank.png"
    Image.new("RGB", (640, 480), (200, 200, 200)).save(blank)
    page.goto(site.base + "/scan")
    page.set_input_files("#image", str(blank))
    page.click("[data-test=photo-form] button[type=submit]")
    hints = page.locator("[data-test=hints]")
    hints.wait_for()
    assert "NO_CODE" in hints.inner_text()
    assert "未在图片中找到二维码" in hints.inner_text()


def test_typed_text_that_is_not_a_certificate(page: Page, site: Site) -> None:
    page.goto(site.base + "/scan")
    page.fill("#text", "https://example.com/hello")
    page.click("#text-form button[type=submit]")
    page.wait_for_selector("[data-verdict]")
    assert verdict(page) == "notcert"
    assert "不是检疫证书" in page.inner_text("main")


def test_pages_work_with_javascript_off(browser: Browser, site: Site, tmp_path: Path) -> None:
    context = browser.new_context(java_script_enabled=False, viewport={"width": 390, "height": 844})
    try:
        page = context.new_page()
        page.goto(site.url("valid"))
        assert verdict(page) == "valid"
        page.goto(site.base + "/scan")
        assert page.locator("#live").is_hidden()  # the camera needs JavaScript
        page.set_input_files("#image", str(qr_photo(tmp_path / "p.png", site.qr["revoked"])))
        page.click("[data-test=photo-form] button[type=submit]")
        page.wait_for_selector("[data-test=code-result]")
        assert verdict(page) == "invalid"
        assert REVOKE_REASON in page.inner_text("[data-test=registry]")
    finally:
        context.close()


def test_english_switch_sticks(page: Page, site: Site) -> None:
    page.goto(site.url("valid"))
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    page.click("[data-test=lang-switch]")
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "en"
    title = page.inner_text(".verdict-title")
    assert title == "Genuine and valid"
    assert "Consignor" in page.inner_text(".cert")
    page.goto(site.base + "/scan")  # the cookie carries the choice
    assert "Scan and verify" in page.inner_text("h1")
    page.click("[data-test=lang-switch]")
    page.wait_for_load_state()
    assert page.inner_text("h1") == "扫码核验"


def test_page_weight_and_no_external_requests(page: Page, site: Site) -> None:
    """Page + every asset it loads, as transferred (bodies and headers) ≤ 150 KB."""
    responses: list[Response] = []

    def seen(response: Response) -> None:
        responses.append(response)

    page.on("response", seen)
    complaints: list[str] = []
    page.on("console", lambda message: complaints.append(message.text))
    page.goto(site.url("valid"), wait_until="networkidle")
    assert not complaints  # no Content-Security-Policy violation, no error
    total = 0
    for response in responses:
        assert response.url.startswith(site.base), f"external request: {response.url}"
        sizes = response.request.sizes()
        total += sizes["responseBodySize"] + sizes["responseHeadersSize"]
    assert len(responses) >= 2  # the page (stylesheet inline) and its icon
    assert total <= MAX_PAGE_BYTES, f"{total} bytes"
    csp = responses[0].headers["content-security-policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp


def test_throttled_mobile_profile_renders_the_verdict(browser: Browser, site: Site) -> None:
    """1.6 Mbps / 150 ms RTT, CPU 4× slower: the verdict is there (timing: bench/bench_web.py)."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    try:
        page = context.new_page()
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send(
            "Network.emulateNetworkConditions",
            {
                "offline": False,
                "latency": 150,
                "downloadThroughput": 1_600_000 / 8,
                "uploadThroughput": 750_000 / 8,
            },
        )
        cdp.send("Emulation.setCPUThrottlingRate", {"rate": 4})
        page.goto(site.url("valid"), wait_until="domcontentloaded")
        assert verdict(page) == "valid"
        assert page.locator(".verdict-title").is_visible()
    finally:
        context.close()


def test_live_scanning_where_the_browser_offers_barcode_detector(
    browser: Browser, site: Site
) -> None:
    """Debian's chromium has no BarcodeDetector: stand one in (and a camera) to drive scan.js."""
    fake = (
        "const QR_TEXT = "
        + json.dumps(site.qr["revoked"])
        + ";\n"
        + """
    window.BarcodeDetector = class {
      static getSupportedFormats() { return Promise.resolve(["qr_code"]); }
      detect() { return Promise.resolve([{ rawValue: QR_TEXT }]); }
    };
    navigator.mediaDevices.getUserMedia = () => {
      const canvas = document.createElement("canvas");
      canvas.width = 64; canvas.height = 64;
      canvas.getContext("2d").fillRect(0, 0, 32, 32);
      return Promise.resolve(canvas.captureStream(5));
    };
    """
    )
    context = browser.new_context(viewport={"width": 390, "height": 844})
    try:
        context.add_init_script(fake)
        page = context.new_page()
        page.goto(site.base + "/scan")
        assert page.locator("#live").is_visible()
        page.click("#live-start")
        page.wait_for_selector("[data-verdict]")
        assert verdict(page) == "invalid"
        assert REVOKE_REASON in page.inner_text("[data-test=registry]")
    finally:
        context.close()
