"""``quarantine status pull|show``: offline status lists for inspectors.

``pull`` fetches the signed lists a node publishes, verifies each against the
trust list and only then caches it (``quarantine.statuscache``); ``show`` prints
what is cached, with its age and staleness.  ``quarantine verify --offline``
uses the cache.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Final
from urllib.parse import urlsplit

import typer

from quarantine.cli.common import (
    EXIT_NOT_VALID,
    EXIT_OK,
    fail,
    guarded,
    parse_now,
    print_json_line,
)

if TYPE_CHECKING:
    import httpx2

    from quarantine.core.trust import TrustList
    from quarantine.statuscache import CachedList, StatusCache

#: Largest index document accepted from a node.
MAX_INDEX_BYTES: Final = 1 << 20
#: Most lists one pull fetches.
MAX_LISTS: Final = 2000
TIMEOUT_SECONDS: Final = 15.0
INDEX_PATH: Final = "/api/v1/status-lists"

status_app = typer.Typer(
    help="离线状态列表 / Offline status lists (pull, show)", no_args_is_help=True
)


class PullError(Exception):
    """One fetch failed: a code and messages in Chinese and English."""

    def __init__(self, code: str, zh: str, en: str) -> None:
        super().__init__(f"{code}: {en}")
        self.code = code
        self.zh = zh
        self.en = en


@dataclass(frozen=True)
class PullResult:
    region: str
    year: int
    url: str
    outcome: str = ""  # PutOutcome value when it worked
    issued_at: datetime | None = None
    valid_until: datetime | None = None
    error: PullError | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"region": self.region, "year": self.year, "url": self.url}
        if self.error is not None:
            out["error"] = {"code": self.error.code, "zh": self.error.zh, "en": self.error.en}
        else:
            out["outcome"] = self.outcome
            out["issued_at"] = self.issued_at.isoformat() if self.issued_at else None
            out["valid_until"] = self.valid_until.isoformat() if self.valid_until else None
        return out


# ------------------------------------------------------------------ peers


def _loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_peer(url: str, trust: TrustList, base_url: str) -> str:
    """``url`` without a trailing slash, if it is a loopback or configured peer.

    Configured peers are the hosts of the trust list's members and this
    installation's own ``QUARANTINE_BASE_URL``.  Anything else is refused
    (``PEER_NOT_ALLOWED``), as is a URL with credentials, a query or a fragment.
    """
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        fail(
            "PEER_URL_INVALID", "节点地址须为 http(s)://主机[:端口]", f"not an http(s) URL: {url!r}"
        )
    if parts.username or parts.password or parts.query or parts.fragment:
        fail(
            "PEER_URL_INVALID",
            "节点地址不能包含用户名、查询或片段",
            "the node URL may not carry credentials, a query or a fragment",
        )
    netloc = parts.netloc.lower()
    own = urlsplit(base_url).netloc.lower()
    if not (_loopback(parts.hostname) or trust.known_host(netloc) or netloc == own):
        fail(
            "PEER_NOT_ALLOWED",
            f"{netloc} 不是本机或信任列表中的节点",
            f"{netloc} is neither loopback nor a node named in the trust list",
        )
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"


def make_client(base: str) -> httpx2.Client:
    """The HTTP client of a pull (tests replace this to mount the app in process)."""
    import httpx2

    return httpx2.Client(
        base_url=base,
        timeout=TIMEOUT_SECONDS,
        follow_redirects=False,
        trust_env=False,  # no proxies from the environment: peers are reached directly
        headers={"User-Agent": "quarantine-status-pull"},
    )


_client_factory: Callable[[str], httpx2.Client] = make_client


def _get(client: httpx2.Client, path: str, limit: int, accept: str) -> tuple[bytes, str]:
    import httpx2

    try:
        with client.stream("GET", path, headers={"Accept": accept}) as response:
            if response.status_code != 200:
                code = "STATUS_LIST_NOT_FOUND" if response.status_code == 404 else "FETCH_FAILED"
                raise PullError(
                    code,
                    f"节点答复 HTTP {response.status_code}",
                    f"the node answered HTTP {response.status_code}",
                )
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > limit:
                raise PullError("FETCH_TOO_LARGE", "内容过大", f"larger than {limit} bytes")
            body = bytearray()
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > limit:
                    raise PullError("FETCH_TOO_LARGE", "内容过大", f"larger than {limit} bytes")
            media = response.headers.get("content-type", "").split(";")[0].strip().lower()
    except httpx2.HTTPError as exc:
        raise PullError(
            "FETCH_FAILED", "无法连接节点", f"cannot fetch from the node: {exc}"
        ) from exc
    return bytes(body), media


def fetch_index(client: httpx2.Client) -> list[tuple[str, int]]:
    """The (region, year) pairs a node publishes (its index, strictly checked)."""
    body, media = _get(client, INDEX_PATH, MAX_INDEX_BYTES, "application/json")
    try:
        doc = json.loads(body) if media == "application/json" else None
        items = doc["lists"] if isinstance(doc, dict) else None
        if not isinstance(items, list) or len(items) > MAX_LISTS:
            raise ValueError("no list of lists")
        out: list[tuple[str, int]] = []
        for item in items:
            region, year = item["region"], item["year"]
            if not (isinstance(region, str) and len(region) == 6 and region.isdigit()):
                raise ValueError(f"bad region {region!r}")
            if type(year) is not int or not 1000 <= year <= 9999:
                raise ValueError(f"bad year {year!r}")
            out.append((region, year))
    except (ValueError, KeyError, TypeError) as exc:
        raise PullError(
            "INDEX_INVALID",
            "节点的状态列表目录无效",
            f"the node's status list index is invalid: {exc}",
        ) from exc
    return out


def select_lists(
    index: list[tuple[str, int]], regions: list[str], year: int | None
) -> list[tuple[str, int]]:
    """The pairs to fetch: ``--region`` (a province or city code covers its parts) and ``--year``."""
    from quarantine.services.authz import covers

    chosen = [
        (r, y)
        for r, y in index
        if (not regions or any(covers(want, r) for want in regions)) and (year is None or y == year)
    ]
    if year is not None:  # an exact region asked for by name is fetched even if unlisted
        chosen += [(r, year) for r in regions if not r.endswith("00") and (r, year) not in chosen]
    return chosen


def pull_lists(
    client: httpx2.Client,
    base: str,
    wanted: list[tuple[str, int]],
    *,
    trust: TrustList,
    cache: StatusCache,
    now: datetime,
) -> list[PullResult]:
    """Fetch, verify and cache each list; a list that fails is reported, never cached."""
    from quarantine.core.statuslist import MAX_STATUS_LIST_BYTES
    from quarantine.errors import QuarantineError

    results: list[PullResult] = []
    for region, year in wanted:
        path = f"{INDEX_PATH}/{region}/{year}"
        url = base + path
        try:
            blob, media = _get(client, path, MAX_STATUS_LIST_BYTES, "application/cose")
            if media != "application/cose":
                raise PullError(
                    "FETCH_WRONG_TYPE",
                    f"内容类型 {media or '-'} 不是 application/cose",
                    f"content type {media or '-'} is not application/cose",
                )
            lst, outcome = cache.put(blob, trust, now, source=url, expect=(region, year))
        except PullError as exc:
            results.append(PullResult(region, year, url, error=exc))
            continue
        except QuarantineError as exc:
            err = PullError(exc.code, exc.message_zh, exc.message_en)
            results.append(PullResult(region, year, url, error=err))
            continue
        results.append(PullResult(region, year, url, outcome.value, lst.issued_at, lst.valid_until))
    return results


# ------------------------------------------------------------------ output


def human_age(age: timedelta) -> str:
    """``3 d 4 h``, ``2 h 5 min``, ``40 s``; negative ages (clock skew) as ``-…``."""
    seconds = int(age.total_seconds())
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{sign}{days} d {hours} h"
    if hours:
        return f"{sign}{hours} h {minutes} min"
    if minutes:
        return f"{sign}{minutes} min"
    return f"{sign}{secs} s"


def freshness(stale: bool) -> str:
    return "已过期 STALE" if stale else "有效 fresh"


def describe_cached(entry: CachedList, now: datetime) -> dict[str, Any]:
    lst = entry.status_list
    out: dict[str, Any] = {
        "region": entry.region,
        "year": entry.year,
        "file": str(entry.path),
        "source": entry.source or None,
        "fetched_at": entry.fetched_at.isoformat() if entry.fetched_at else None,
    }
    if lst is None:
        assert entry.error is not None
        out["error"] = {
            "code": entry.error.code,
            "zh": entry.error.message_zh,
            "en": entry.error.message_en,
        }
        return out
    out.update(
        issued_at=lst.issued_at.isoformat(),
        valid_until=lst.valid_until.isoformat(),
        age_seconds=int(lst.age(now).total_seconds()),
        stale=lst.stale(now),
        length=lst.length,
    )
    return out


def _trust_and_settings(trust: Path | None, anchor: Path | None) -> tuple[TrustList, Any]:
    from quarantine import trustfile
    from quarantine.settings import Settings

    settings = guarded(Settings.from_env)
    trust_list = guarded(
        lambda: trustfile.load(trust or settings.trust_list, anchor or settings.trust_anchor)
    )
    return trust_list, settings


TrustOpt = Annotated[Path | None, typer.Option(help="信任列表文件 / signed trust list file")]
AnchorOpt = Annotated[Path | None, typer.Option(help="信任锚公钥 PEM / trust anchor public key(s)")]
NowOpt = Annotated[str | None, typer.Option(help="当前时间 ISO 8601 / as of this time")]
JsonOpt = Annotated[
    bool, typer.Option("--json", help="每个列表一行 JSON / one JSON object per list")
]


@status_app.command("pull")
def pull(
    from_url: Annotated[
        str | None,
        typer.Option(
            "--from",
            help="节点地址（本机或信任列表中的节点）/ node URL (loopback or a trust-list host); default QUARANTINE_BASE_URL",
        ),
    ] = None,
    region: Annotated[
        list[str] | None,
        typer.Option(help="地区代码，可重复；省、市代码包含下辖地区 / region code (repeatable)"),
    ] = None,
    year: Annotated[int | None, typer.Option(min=1000, max=9999, help="年份 / year")] = None,
    trust: TrustOpt = None,
    anchor: AnchorOpt = None,
    now: NowOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """下载、验证并缓存状态列表 / Fetch, verify and cache a node's signed status lists."""
    from quarantine.statuscache import StatusCache

    at = parse_now(now)
    regions = list(region or [])
    for code in regions:
        if len(code) != 6 or not code.isdigit():
            fail(
                "BAD_REGION",
                f"地区代码 {code!r} 须为六位数字",
                f"region {code!r} is not six digits",
            )
    trust_list, settings = _trust_and_settings(trust, anchor)
    base = check_peer(from_url or settings.base_url, trust_list, settings.base_url)
    cache = StatusCache.for_data_dir(settings.data_dir)
    with _client_factory(base) as client:
        try:
            wanted = (
                [(r, year) for r in regions]
                if year is not None and regions and all(not r.endswith("00") for r in regions)
                else select_lists(fetch_index(client), regions, year)
            )
        except PullError as exc:
            fail(exc.code, exc.zh, exc.en)
        results = pull_lists(client, base, wanted, trust=trust_list, cache=cache, now=at)
    worst = EXIT_OK
    for res in results:
        if res.error is not None:
            worst = EXIT_NOT_VALID
        if json_out:
            print_json_line(res.as_dict())
        elif res.error is not None:
            typer.echo(
                f"✘ {res.region}/{res.year} [{res.error.code}] {res.error.zh} / {res.error.en}"
            )
        else:
            words = {
                "stored": "已缓存 cached",
                "unchanged": "未变化 unchanged",
                "kept_newer": "保留较新的缓存 kept the newer cached list",
            }[res.outcome]
            assert res.issued_at is not None and res.valid_until is not None
            typer.echo(
                f"✔ {res.region}/{res.year} {words}: 签发 issued {res.issued_at.isoformat()}, "
                f"有效至 valid until {res.valid_until.isoformat()}"
            )
    if not results and not json_out:
        typer.echo(f"{base} 没有可下载的状态列表 / publishes no matching status lists")
    if not json_out:
        typer.echo(f"缓存 cache: {cache.directory}")
    raise typer.Exit(worst)


@status_app.command("show")
def show(
    trust: TrustOpt = None,
    anchor: AnchorOpt = None,
    now: NowOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """显示缓存的状态列表及其新旧 / Print the cached status lists with their age and staleness."""
    from quarantine.reference import region_table
    from quarantine.statuscache import StatusCache

    at = parse_now(now)
    trust_list, settings = _trust_and_settings(trust, anchor)
    cache = StatusCache.for_data_dir(settings.data_dir)
    entries = cache.read(trust_list, at)
    names = region_table()
    worst = EXIT_OK
    if not entries and not json_out:
        typer.echo(
            f"没有缓存的状态列表（{cache.directory}）；请运行 quarantine status pull / "
            "no cached status lists; run `quarantine status pull`"
        )
    for entry in entries:
        info = describe_cached(entry, at)
        if entry.status_list is None:
            worst = EXIT_NOT_VALID
        if json_out:
            print_json_line(info)
            continue
        head = f"{entry.region}/{entry.year} {names.full_name(entry.region)}"
        if entry.status_list is None:
            err = info["error"]
            typer.echo(f"✘ {head}: [{err['code']}] {err['zh']} / {err['en']} ({entry.path})")
            continue
        lst = entry.status_list
        typer.echo(
            f"{'!' if lst.stale(at) else '✔'} {head}: 签发 issued {lst.issued_at.isoformat()} "
            f"(age {human_age(lst.age(at))}), 有效至 valid until {lst.valid_until.isoformat()} — "
            f"{freshness(lst.stale(at))}"
        )
        if entry.source:
            fetched = entry.fetched_at.isoformat() if entry.fetched_at else "-"
            typer.echo(f"    来源 from {entry.source} at {fetched}")
    raise typer.Exit(worst)


def register(app: typer.Typer) -> None:
    """Adds ``quarantine status pull|show`` to ``app``."""
    app.add_typer(status_app, name="status")
