"""The statistics page in a real browser: sign in with a token, filter, chart, CSV, sign out."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from tests.browser.site import Site

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page


def sign_in(page: Page, site: Site, token: str) -> None:
    page.goto(site.base + "/stats")
    page.fill("#token", token)
    page.click("[data-test=signin-form] button[type=submit]")


def test_inspector_signs_in_filters_downloads_and_signs_out(browser: Browser, site: Site) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    try:
        page = context.new_page()
        response = page.goto(site.base + "/stats")
        assert response is not None and response.status == 401
        assert page.locator("[data-test=signin-form]").is_visible()
        sign_in(page, site, site.tokens["inspector"])
        assert page.url == site.base + "/stats"
        chart = page.locator("[data-test=stats-chart] svg[role=img]")
        assert chart.count() == 1
        assert "浦东新区" in page.locator(".stats-who").inner_text()  # a Pudong token
        page.select_option("#f-by", "month")
        page.select_option("#f-group", "district")
        page.fill("#f-from", "")
        page.fill("#f-to", "")
        page.click("[data-test=stats-form] button[type=submit]")
        assert "by=month" in page.url and "group=district" in page.url
        headers = page.locator("[data-test=stats-table] thead th").all_inner_texts()
        assert any("浦东新区" in h for h in headers)
        with page.expect_download() as info:
            page.click("[data-test=csv-link]")
        data = Path(info.value.path()).read_bytes()
        assert data.startswith(b"\xef\xbb\xbf") and "代码 / code".encode() in data
        page.click(".stats-who button[type=submit]")
        assert page.locator("[data-test=signin-form]").is_visible()
        assert not [c for c in context.cookies() if c["name"] == "quarantine_stats"]
    finally:
        context.close()


def test_bad_range_and_an_issuer_are_refused_on_the_page(browser: Browser, site: Site) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844})
    try:
        page = context.new_page()
        sign_in(page, site, site.tokens["issuer"])
        assert page.locator("[data-test=error-code]").inner_text() == "STATS_FORBIDDEN"
        sign_in(page, site, site.tokens["inspector"])
        response = page.goto(site.base + "/stats?from=2026-12-02&to=2026-12-01")
        assert response is not None and response.status == 422
        assert page.locator("[data-test=error-code]").inner_text() == "STATS_RANGE_REVERSED"
        assert page.locator("[data-test=stats-chart]").count() == 0
    finally:
        context.close()
