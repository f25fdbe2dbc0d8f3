"""Screenshots of the key pages, phone-sized (390×844) and desktop (1280×800).

    .venv/bin/python scripts/make_screenshots.py [--out docs/screenshots]

Starts a demo node (``tests/browser/site.py``: a temporary registry with issued, revoked
and superseded certificates) and photographs its pages in Debian's chromium
(``/usr/bin/chromium``, headless, through Playwright).  The README shows them.
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Final

REPO: Final = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # the site harness is shared with tests/browser
    sys.path.insert(0, str(REPO))

if TYPE_CHECKING:
    from playwright.sync_api import Page, ViewportSize

    from tests.browser.site import Site

PHONE: Final[ViewportSize] = {"width": 390, "height": 844}
DESKTOP: Final[ViewportSize] = {"width": 1280, "height": 800}


def shrink(png: bytes, target: Path) -> None:
    """Save a screenshot with a 64-colour palette (a third of the bytes, text stays crisp)."""
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    image.quantize(colors=64, method=Image.Quantize.MEDIANCUT).save(target, optimize=True)


def two_codes_photo(site: Site, path: Path) -> Path:
    from PIL import Image

    from quarantine.render import qr_png

    codes = [Image.open(io.BytesIO(qr_png(site.qr[n], module_px=6))) for n in ("valid", "revoked")]
    sheet = Image.new("RGB", (sum(c.width for c in codes) + 180, codes[0].height + 120), "white")
    sheet.paste(codes[0], (60, 60))
    sheet.paste(codes[1], (codes[0].width + 120, 60))
    sheet.save(path)
    return path


def shots(site: Site, photo: Path) -> dict[str, Callable[[Page], None]]:
    def scan_result(page: Page) -> None:
        page.goto(site.base + "/scan")
        page.set_input_files("#image", str(photo))
        page.click("[data-test=photo-form] button[type=submit]")
        page.wait_for_selector("[data-test=code-result]")

    def sign_in(page: Page, role: str) -> None:
        page.goto(site.base + "/console")
        page.fill("#token", site.tokens[role])
        page.click("[data-test=signin-form] button[type=submit]")
        page.wait_for_selector("[data-test=signout]")

    def console_issue(page: Page) -> None:
        sign_in(page, "issuer")
        page.goto(site.base + "/console/issue?kind=TRANSPORT")
        page.fill('[name="officer.name"]', "李慧")
        page.fill('[name="items[0].product"]', "香樟")
        page.fill('[name="items[0].quantity"]', "0")
        page.click("[data-test=issue-button]")
        page.wait_for_selector("[data-test=problems]")

    def console_certificate(page: Page) -> None:
        sign_in(page, "inspector")
        page.goto(site.base + f"/console/certificates/{site.numbers['superseded']}")

    def goto(url: str) -> Callable[[Page], None]:
        def visit(page: Page) -> None:
            page.goto(url)

        return visit

    return {
        "verify-valid": goto(site.url("valid")),
        "verify-revoked": goto(site.url("revoked")),
        "verify-tampered": goto(site.base + site.sample_path("tampered")),
        "verify-valid-en": goto(site.url("valid") + "?lang=en"),
        "scan": goto(site.base + "/scan"),
        "scan-result": scan_result,
        "console-issue": console_issue,
        "console-certificate": console_certificate,
    }


PHONE_SHOTS: Final = (
    "verify-valid",
    "verify-revoked",
    "verify-tampered",
    "verify-valid-en",
    "scan",
    "scan-result",
    "console-certificate",
)
DESKTOP_SHOTS: Final = (
    "verify-valid",
    "verify-revoked",
    "scan-result",
    "console-issue",
    "console-certificate",
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "screenshots")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    from tests.browser.site import CHROMIUM, running_site

    if not CHROMIUM.exists():
        print(f"no chromium at {CHROMIUM}: apt-get install chromium", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryDirectory() as tmp,
        running_site(Path(tmp)) as site,
        sync_playwright() as p,
    ):
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            todo = shots(site, two_codes_photo(site, Path(tmp) / "two-codes.png"))
            for size, viewport, names in (
                ("phone", PHONE, PHONE_SHOTS),
                ("desktop", DESKTOP, DESKTOP_SHOTS),
            ):
                for name in names:
                    context = browser.new_context(viewport=viewport, locale="zh-CN")
                    try:
                        page = context.new_page()
                        todo[name](page)
                        page.wait_for_load_state("networkidle")
                        target = args.out / f"{name}-{size}.png"
                        shrink(page.screenshot(), target)
                        print(target.relative_to(REPO) if target.is_relative_to(REPO) else target)
                    finally:
                        context.close()
        finally:
            browser.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
