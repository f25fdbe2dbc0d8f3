"""Federation settings read from :class:`~quarantine.settings.Settings` (adapter).

Peers come from ``QUARANTINE_PEERS`` as ``REGION=BASE_URL`` pairs separated by
commas.  A peer's URL must be loopback or a host the trust list names for a
member: a node never pulls from anywhere else.  The agreement table (kinds,
one-year kinds, low-risk categories) is JSON: ``QUARANTINE_AGREEMENT`` or the
packaged ``quarantine/data/agreement.json``.
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass
from datetime import timedelta
from importlib import resources
from typing import Final
from urllib.parse import urlsplit

from quarantine.core.recognition import Agreement
from quarantine.core.trust import TrustList
from quarantine.errors import EnvironmentProblem, InputError
from quarantine.settings import Settings

DEFAULT_AGREEMENT: Final = "agreement.json"


@dataclass(frozen=True)
class Peer:
    region: str
    base_url: str


@dataclass(frozen=True)
class FederationConfig:
    region: str
    peers: tuple[Peer, ...]
    pull_interval: timedelta
    stale_after: timedelta
    agreement: Agreement

    @property
    def enabled(self) -> bool:
        return bool(self.peers)

    def peer(self, region: str) -> Peer | None:
        return next((p for p in self.peers if p.region == region), None)


def _bad(zh: str, en: str) -> EnvironmentProblem:
    return EnvironmentProblem("BAD_PEERS", f"QUARANTINE_PEERS：{zh}", f"QUARANTINE_PEERS: {en}")


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_peer_url(url: str, trust: TrustList) -> str:
    """``url`` without a trailing slash when it is loopback or a member's host; else an error."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _bad(f"{url!r} 不是 http(s) 地址", f"{url!r} is not an http(s) URL")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise _bad(
            "地址不能含用户名、查询或片段", f"{url!r} carries credentials, a query or a fragment"
        )
    if not (_loopback(parts.hostname) or trust.known_host(parts.netloc.lower())):
        raise _bad(
            f"{parts.netloc} 不是本机或信任列表中的节点",
            f"{parts.netloc} is neither loopback nor a host named in the trust list",
        )
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"


def parse_peers(text: str, trust: TrustList, own_region: str) -> tuple[Peer, ...]:
    peers: dict[str, Peer] = {}
    for item in (p.strip() for p in text.split(",")):
        if not item:
            continue
        region, sep, url = item.partition("=")
        region = region.strip()
        if not sep or not (region.isdigit() and len(region) == 6):
            raise _bad(f"{item!r} 应为 地区代码=地址", f"{item!r} must be REGION=BASE_URL")
        member = trust.member(region)
        if member is None or member.region != region:
            raise _bad(
                f"{region} 不是信任列表中的成员", f"{region} is not a member of the trust list"
            )
        if region[:2] == own_region[:2]:
            raise _bad(f"{region} 是本节点自己的地区", f"{region} is this node's own region")
        if region in peers:
            raise _bad(f"{region} 重复", f"{region} is listed twice")
        peers[region] = Peer(region, check_peer_url(url, trust))
    return tuple(peers[r] for r in sorted(peers))


def load_agreement(settings: Settings) -> Agreement:
    try:
        if settings.agreement is None:
            raw = resources.files("quarantine.data").joinpath(DEFAULT_AGREEMENT).read_bytes()
        else:
            raw = settings.agreement.read_bytes()
        doc = json.loads(raw.decode("utf-8"))
        if not isinstance(doc, dict):
            raise ValueError("not an object")
    except (OSError, ValueError) as exc:
        raise EnvironmentProblem(
            "AGREEMENT_UNREADABLE", "无法读取互认协议表", f"cannot read the agreement table: {exc}"
        ) from exc
    try:
        return Agreement.from_document(doc)
    except InputError as exc:
        raise EnvironmentProblem(exc.code, exc.message_zh, exc.message_en) from exc


def load(settings: Settings, trust: TrustList) -> FederationConfig:
    """The federation configuration of this node (checked: peers, agreement)."""
    return FederationConfig(
        region=settings.region,
        peers=parse_peers(settings.peers, trust, settings.region),
        pull_interval=timedelta(seconds=settings.pull_interval_seconds),
        stale_after=timedelta(seconds=max(1, settings.stale_after_seconds)),
        agreement=load_agreement(settings),
    )
