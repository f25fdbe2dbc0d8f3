"""Web page benchmark: the public verification page in headless chromium, throttled like a phone.

    .venv/bin/python bench/bench_web.py [--runs 9] [--compare-linked-css] [--write]

Starts a node (``tests/browser/site.py``: uvicorn in a thread, a temporary SQLite
registry with issued certificates) and opens a valid certificate's QR URL in Debian's
chromium (``/usr/bin/chromium``, Playwright, no browser download), each run in a fresh
context (empty cache):

- *throttled mobile*: a 390×844 phone viewport, CDP ``Network.emulateNetworkConditions``
  1.6 Mbps down / 750 kbps up / 150 ms round trip, ``Emulation.setCPUThrottlingRate`` 4×;
- *unthrottled*: the same on loopback without throttling.

Per run it records, from the page's own Performance timeline (milliseconds after the
navigation started): first contentful paint, the render time of the verdict heading
(Element Timing, ``elementtiming="verdict"``), DOMContentLoaded and load; and the bytes
transferred for the page and its assets (headers and bodies, as chromium counts them).
``--compare-linked-css`` adds, interleaved, the throttled profile with the stylesheet
linked (``/static/app.css``) instead of inline: the measurement behind the inline copy.
``--write`` replaces ``bench/RESULTS-web.md`` above its ``<!-- analysis -->`` marker.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shlex
import statistics
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

REPO: Final = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # the site harness is shared with tests/browser
    sys.path.insert(0, str(REPO))

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Request, Response, Route

RESULTS: Final = REPO / "bench" / "RESULTS-web.md"
MARKER: Final = "<!-- analysis -->"
BUDGET_MS: Final = 1000
BUDGET_BYTES: Final = 150 * 1024
MOBILE: Final = {"latency": 150, "down_bps": 1_600_000, "up_bps": 750_000, "cpu": 4}

_TIMING_JS: Final = """() => new Promise((resolve) => {
  const nav = performance.getEntriesByType('navigation')[0];
  let verdict = null, fcp = null, settled = false;
  const finish = () => {
    if (settled) return;
    settled = true;
    resolve({fcp: fcp, verdict: verdict, dcl: nav.domContentLoadedEventEnd,
             load: nav.loadEventEnd, ttfb: nav.responseStart});
  };
  const check = () => { if (verdict !== null && fcp !== null) finish(); };
  new PerformanceObserver((list) => {
    const hit = list.getEntries().find((e) => e.identifier === 'verdict');
    if (hit) { verdict = hit.renderTime || hit.loadTime; check(); }
  }).observe({type: 'element', buffered: true});
  new PerformanceObserver((list) => {
    const hit = list.getEntries().find((e) => e.name === 'first-contentful-paint');
    if (hit) { fcp = hit.startTime; check(); }
  }).observe({type: 'paint', buffered: true});
  setTimeout(finish, 5000);
})"""


def _linked_css(route: Route, request: Request) -> None:
    """The page as it would be with ``<link rel=stylesheet>`` instead of the inline copy."""
    response = route.fetch()
    body = re.sub(
        r"<style>.*?</style>",
        '<link rel="stylesheet" href="/static/app.css">',
        response.text(),
        count=1,
        flags=re.S,
    )
    headers = {k: v for k, v in response.headers.items() if k != "content-length"}
    route.fulfill(status=response.status, headers=headers, body=body)


def one_run(browser: Browser, url: str, throttled: bool, linked: bool = False) -> dict[str, float]:
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, device_scale_factor=2
    )
    try:
        if linked:
            context.route("**/C/**", _linked_css)
        page = context.new_page()
        if throttled:
            cdp = context.new_cdp_session(page)
            cdp.send("Network.enable")
            cdp.send(
                "Network.emulateNetworkConditions",
                {
                    "offline": False,
                    "latency": MOBILE["latency"],
                    "downloadThroughput": MOBILE["down_bps"] / 8,
                    "uploadThroughput": MOBILE["up_bps"] / 8,
                },
            )
            cdp.send("Emulation.setCPUThrottlingRate", {"rate": MOBILE["cpu"]})
        responses: list[Response] = []

        def seen(response: Response) -> None:
            responses.append(response)

        page.on("response", seen)
        page.goto(url, wait_until="load")
        timing: dict[str, Any] = page.evaluate(_TIMING_JS)
        page.wait_for_load_state("networkidle")
        total = 0
        for response in responses:
            sizes = response.request.sizes()
            total += sizes["responseBodySize"] + sizes["responseHeadersSize"]
        if page.locator("[data-verdict=valid]").count() != 1:
            raise RuntimeError("the page did not show the valid verdict")
        return {
            "ttfb": float(timing["ttfb"]),
            "fcp": float(timing["fcp"] or "nan"),
            "verdict": float(timing["verdict"] or "nan"),
            "dcl": float(timing["dcl"]),
            "load": float(timing["load"]),
            "bytes": float(total),
            "requests": float(len(responses)),
        }
    finally:
        context.close()


def summarise(runs: list[dict[str, float]]) -> dict[str, float]:
    keys = runs[0].keys()
    out = {f"{k}_median": statistics.median(r[k] for r in runs) for k in keys}
    out.update({f"{k}_max": max(r[k] for r in runs) for k in keys})
    return out


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.platform()}"
    )


def report(
    results: dict[str, list[dict[str, float]]], args: argparse.Namespace, version: str
) -> str:
    lines = [
        "# Web page benchmark",
        "",
        "The public verification page (a valid certificate's QR URL, registry status "
        "looked up) in headless chromium, a fresh context (empty cache) per run. "
        "Reproduce: `.venv/bin/python bench/bench_web.py --write`.",
        "",
        "```",
        f"machine: {machine()}",
        f"browser: Debian chromium {version} (headless, Playwright, /usr/bin/chromium)",
        f"date: {datetime.now(UTC).isoformat(timespec='seconds')}",
        f"load average before the run (1, 5, 15 min): {', '.join(f'{x:.2f}' for x in os.getloadavg())}",
        f"command: python bench/bench_web.py {shlex.join(sys.argv[1:])}".rstrip(),
        "server: uvicorn (1 process, in a thread) on loopback, SQLite registry",
        f"throttled mobile: {MOBILE['down_bps'] / 1e6:g} Mbps down, {MOBILE['up_bps'] / 1e3:g} kbps up, "
        f"{MOBILE['latency']} ms RTT (CDP Network.emulateNetworkConditions), CPU {MOBILE['cpu']}x slower "
        "(Emulation.setCPUThrottlingRate), 390x844 viewport at 2x",
        "```",
        "",
        f"{args.runs} runs per profile; milliseconds after the navigation started.",
        "",
        "| profile | TTFB | first contentful paint | verdict rendered (Element Timing) "
        "| DOMContentLoaded | load | bytes transferred | requests |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, runs in results.items():
        s = summarise(runs)
        lines.append(
            f"| {name}, median | {s['ttfb_median']:.0f} | {s['fcp_median']:.0f} | "
            f"{s['verdict_median']:.0f} | {s['dcl_median']:.0f} | {s['load_median']:.0f} | "
            f"{s['bytes_median']:,.0f} | {s['requests_median']:.0f} |"
        )
        lines.append(
            f"| {name}, worst | {s['ttfb_max']:.0f} | {s['fcp_max']:.0f} | "
            f"{s['verdict_max']:.0f} | {s['dcl_max']:.0f} | {s['load_max']:.0f} | "
            f"{s['bytes_max']:,.0f} | {s['requests_max']:.0f} |"
        )
    throttled = summarise(results["throttled mobile"])
    verdict_ok = throttled["verdict_median"] <= BUDGET_MS
    bytes_ok = throttled["bytes_max"] <= BUDGET_BYTES
    lines += [
        "",
        f"Budget: verdict rendered within {BUDGET_MS} ms on the throttled profile — "
        f"{'met' if verdict_ok else 'MISSED'} at the median "
        f"({throttled['verdict_median']:.0f} ms; worst {throttled['verdict_max']:.0f} ms); "
        f"page and assets ≤ {BUDGET_BYTES:,} bytes — {'met' if bytes_ok else 'MISSED'} "
        f"({throttled['bytes_max']:,.0f} bytes).",
        "",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--write", action="store_true", help="write bench/RESULTS-web.md")
    parser.add_argument(
        "--compare-linked-css",
        action="store_true",
        help="also run the throttled profile with the stylesheet linked instead of inline",
    )
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    from tests.browser.site import CHROMIUM, running_site

    if not CHROMIUM.exists():
        print(f"no chromium at {CHROMIUM}: apt-get install chromium", file=sys.stderr)
        return 2
    profiles = [("throttled mobile", True, False), ("unthrottled", False, False)]
    if args.compare_linked_css:
        profiles.append(("throttled mobile, stylesheet linked (not inline)", True, True))
    results: dict[str, list[dict[str, float]]] = {name: [] for name, _, _ in profiles}
    with (
        tempfile.TemporaryDirectory() as tmp,
        running_site(Path(tmp)) as site,
        sync_playwright() as p,
    ):
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            one_run(browser, site.url("valid"), throttled=False)  # warm the server
            for _ in range(args.runs):
                for name, throttled, linked in profiles:  # interleaved: same conditions
                    results[name].append(one_run(browser, site.url("valid"), throttled, linked))
            version = browser.version
        finally:
            browser.close()
    text = report(results, args, version)
    print(text)
    if args.write:
        kept = ""
        if RESULTS.exists() and MARKER in RESULTS.read_text("utf-8"):
            kept = RESULTS.read_text("utf-8").split(MARKER, 1)[1]
        RESULTS.write_text(text + "\n" + MARKER + kept, "utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
