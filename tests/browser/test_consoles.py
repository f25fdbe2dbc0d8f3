"""The issuer and inspector consoles in a real browser."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from tests.browser.site import Site

if TYPE_CHECKING:
    from playwright.sync_api import Page


def sign_in(page: Page, site: Site, role: str) -> None:
    page.goto(site.base + "/console")
    page.fill("#token", site.tokens[role])
    page.click("[data-test=signin-form] button[type=submit]")
    page.wait_for_selector("[data-test=signout]")


def field(name: str) -> str:
    return f'[name="{name}"]'


def test_sign_in_refuses_a_bad_token(page: Page, site: Site) -> None:
    page.goto(site.base + "/console")
    page.fill("#token", "not-a-real-token-at-all")
    page.click("[data-test=signin-form] button[type=submit]")
    assert "INVALID_TOKEN" in page.inner_text("[data-test=form-error]")
    cookies = page.context.cookies()
    assert not [c for c in cookies if c["name"] == "quarantine_console"]


def test_issue_in_the_console_and_verify_the_qr_of_its_print_view(page: Page, site: Site) -> None:
    from quarantine.imaging import decode_image_bytes

    sign_in(page, site, "issuer")
    session = next(c for c in page.context.cookies() if c["name"] == "quarantine_console")
    assert session["httpOnly"] and session["sameSite"] == "Strict"
    page.goto(site.base + "/console/issue?kind=TRANSPORT")
    page.select_option(field("issuing_agency.region"), "310112")
    page.fill(field("issuing_agency.name"), "上海市闵行区林业站")
    page.fill(field("officer.name"), "李慧")
    page.fill(field("officer.number"), "沪林检0231")
    page.fill(field("consignee.name"), "上海浦东园林建设有限公司")
    page.fill(field("conveyance.identifier"), "沪C12345")
    page.fill(field("route.from"), "310112")
    page.fill(field("route.to"), "310115")
    page.fill(field("items[0].product"), "香樟")
    page.fill(field("items[0].unit"), "株")
    page.fill(field("items[0].quantity"), "-3")
    # Field-level problems: the consignor is missing, the quantity is not positive.
    page.click("[data-test=issue-button]")
    page.wait_for_selector("[data-test=problems]")
    assert page.locator('.field-error[data-field="consignor.name"]').count() == 1
    quantity_error = page.locator('.field-error[data-field="items[0].quantity"]')
    assert "数量须为正数" in quantity_error.inner_text()
    assert page.input_value(field("consignee.name")) == "上海浦东园林建设有限公司"  # kept
    page.fill(field("consignor.name"), "上海闵行浦江花木有限公司")
    page.fill(field("items[0].quantity"), "30")
    page.click("[data-test=preview-button]")
    preview = page.locator("[data-test=preview]")
    preview.wait_for()
    assert "香樟" in preview.inner_text() and "沪C12345" in preview.inner_text()
    page.click("[data-test=issue-button]")
    page.wait_for_selector("[data-test=done]")
    number = page.inner_text("h1").split()[0]
    assert number.startswith("310112-")
    assert page.get_attribute("[data-test=status]", "data-status") == "VALID"
    # The print view: an A4 page with the QR; read the QR from the screen and verify it.
    page.click("[data-test=print-link]")
    page.wait_for_load_state()
    qr = page.locator("svg").first
    assert qr.is_visible()
    # Printed at 0.5 mm per module the QR is ~2 screen pixels per module: show it larger.
    qr.evaluate("svg => { svg.style.width = '640px'; svg.style.height = '640px'; }")
    shot = qr.screenshot()
    decoded = decode_image_bytes(shot, want=1)
    assert len(decoded.codes) == 1
    text = decoded.codes[0].text
    assert text.upper().startswith(site.base.upper() + "/C/")
    page.goto(text)
    assert page.get_attribute("[data-verdict]", "data-verdict") == "valid"
    assert number in page.inner_text("main")
    assert "沪C12345" in page.inner_text("main")


def test_issue_form_of_every_kind_renders(page: Page, site: Site) -> None:
    sign_in(page, site, "issuer")
    for kind, marker in (
        ("PRODUCING_AREA", "producer.name"),
        ("REQUIREMENT", "category"),
        ("PROJECT", "references.certificates"),
    ):
        page.goto(site.base + f"/console/issue?kind={kind}")
        assert page.locator(field(marker)).count() == 1, kind
        page.click("[data-test=preview-button]")
        page.wait_for_selector("[data-test=problems]")  # empty required fields are named
        assert page.locator(f'.field-error[data-field="{marker}"]').count() == 1, kind


def test_inspector_records_an_arrival_then_the_public_page_says_closed(
    page: Page, site: Site
) -> None:
    number = site.numbers["arrival"]
    sign_in(page, site, "inspector")
    page.goto(site.base + "/console/search?number=" + number)
    page.click(f"[data-test=results] a:has-text('{number}')")
    page.wait_for_selector("[data-test=arrival]")
    page.fill("#a-checkpoint", "川沙检查站")
    page.fill("#a-notes", "货证相符")
    page.click("[data-test=arrival-submit]")
    page.wait_for_selector("[data-test=done]")
    assert page.get_attribute("[data-test=status]", "data-status") == "CLOSED"
    assert page.locator("[data-test=history] tr[data-event=ARRIVED]").count() == 1
    page.goto(site.url("arrival"))
    assert page.get_attribute("[data-verdict]", "data-verdict") == "invalid"
    assert "货物已到达，证书已核销" in page.inner_text("[data-test=registry]")


def test_issuer_revokes_with_a_reason(page: Page, site: Site) -> None:
    number = site.numbers["change"]
    sign_in(page, site, "issuer")
    page.goto(site.base + f"/console/certificates/{number}")
    page.select_option("#op", "revoke")
    page.click("[data-test=change-status] button[type=submit]")  # no reason: refused
    assert page.get_attribute("[data-test=status]", "data-status") == "VALID"
    page.fill("#reason", "检疫复查发现问题 / found at re-check")
    page.click("[data-test=change-status] button[type=submit]")
    page.wait_for_selector("[data-test=done]")
    assert page.get_attribute("[data-test=status]", "data-status") == "REVOKED"
    page.goto(site.url("change"))
    assert "检疫复查发现问题" in page.inner_text("[data-test=registry]")


def test_inspector_verifies_by_photo_and_the_scan_is_kept(
    page: Page, site: Site, tmp_path: Path
) -> None:
    from tests.browser.test_public_pages import qr_photo

    sign_in(page, site, "inspector")
    page.goto(site.base + "/console/scan")
    page.set_input_files("#image", str(qr_photo(tmp_path / "p.png", site.qr["inter"])))
    page.fill("#checkpoint", "G60 枫泾检查站")
    page.fill("#plate", "浙A7K392")
    page.click("[data-test=photo-form] button[type=submit]")
    page.wait_for_selector("[data-test=code-result]")
    assert page.get_attribute("[data-verdict]", "data-verdict") == "valid"
    page.goto(site.base + f"/console/certificates/{site.numbers['inter']}")
    history = page.inner_text("[data-test=history]")
    assert "G60 枫泾检查站" in history and "浙A7K392" in history
