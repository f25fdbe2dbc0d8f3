"""Pulling peers' feeds: verify every entry, store what is valid, stop at what is not.

One pull of a peer asks for the entries after the accepted head *minus one*, so
the first entry served must be the accepted head itself, byte for byte
(a rewritten or re-signed head is caught at once), and the rest must continue it
(:func:`quarantine.core.feed.verify_page`).  Each page is stored in one
transaction that moves the peer's head only if no one else moved it meanwhile
(several workers may pull): a process killed mid-pull loses nothing it committed
and repeats nothing, and pulling again is idempotent.

On a gap, a fork, a rewritten or re-signed entry, a bad signature or an
oversized page the valid prefix is kept, an alert is raised and ingestion from
that peer halts until an administrator resumes it
(``quarantine federation resume --peer CODE``).  An unreachable peer raises a
non-halting alert; a peer not heard from within the stale window is reported
stale.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import logging
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy.orm import Session, sessionmaker

from quarantine.core.feed import MAX_ENTRY_BYTES, FeedError, verify_page
from quarantine.core.trust import TrustList
from quarantine.federation.config import FederationConfig, Peer
from quarantine.storage import federation as store

if TYPE_CHECKING:
    import httpx2

#: Entries asked for per page (the feed serves at most ``MAX_PAGE_ENTRIES``).
PAGE_SIZE: Final = 200
#: Largest page body accepted (JSON with base64 entries), checked while reading.
MAX_PAGE_BYTES: Final = PAGE_SIZE * MAX_ENTRY_BYTES * 2
MAX_PAGES_PER_PULL: Final = 1000
TIMEOUT_SECONDS: Final = 10.0
FEED_PATH: Final = "/api/v1/federation/feed"

log = logging.getLogger("quarantine.federation")


class PeerUnreachable(Exception):
    """The peer did not answer with a feed page (network, HTTP status, size, shape)."""


@dataclass(frozen=True)
class PullOutcome:
    region: str
    accepted: int
    head_seq: int
    error_code: str = ""
    error_message: str = ""
    halted: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "region": self.region,
            "accepted": self.accepted,
            "head_seq": self.head_seq,
            "error": {"code": self.error_code, "message": self.error_message}
            if self.error_code
            else None,
            "halted": self.halted,
        }


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """The TLS context of every client of this process (certificates verified as by
    default), built once: building one reads the CA bundle (tens of milliseconds)."""
    import httpx2

    return httpx2.create_ssl_context(trust_env=False)


def make_client() -> httpx2.Client:
    import httpx2

    return httpx2.Client(
        timeout=TIMEOUT_SECONDS,
        follow_redirects=False,
        trust_env=False,  # no proxies from the environment: peers are reached directly
        verify=_tls_context(),
        headers={"User-Agent": "quarantine-federation-sync"},
    )


def fetch_page(client: httpx2.Client, peer: Peer, after: int, limit: int) -> list[bytes]:
    """One page of the peer's feed as COSE blobs (``PeerUnreachable`` on any failure)."""
    import httpx2

    url = f"{peer.base_url}{FEED_PATH}"
    try:
        with client.stream("GET", url, params={"after": after, "limit": limit}) as response:
            if response.status_code != 200:
                raise PeerUnreachable(f"HTTP {response.status_code}")
            body = bytearray()
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > MAX_PAGE_BYTES:
                    raise PeerUnreachable(f"page larger than {MAX_PAGE_BYTES} bytes")
    except httpx2.HTTPError as exc:
        raise PeerUnreachable(str(exc) or type(exc).__name__) from exc
    try:
        doc = json.loads(bytes(body))
        entries = doc["entries"]
        if not isinstance(entries, list):
            raise TypeError("entries is not a list")
        return [base64.b64decode(e, validate=True) for e in entries]
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise PeerUnreachable(f"not a feed page: {exc}") from exc


class Puller:
    """Pulls peers' feeds into the registry behind ``sessions``."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        trust: TrustList,
        config: FederationConfig,
        *,
        clock: Callable[[], datetime] | None = None,
        client_factory: Callable[[], httpx2.Client] = make_client,
        skew_seconds: int = 300,
        page_size: int = PAGE_SIZE,
    ) -> None:
        from datetime import timedelta

        self.sessions = sessions
        self.trust = trust
        self.config = config
        self.clock = clock or (lambda: datetime.now(UTC))
        self.client_factory = client_factory
        self.skew = timedelta(seconds=skew_seconds)
        self.page_size = page_size
        self._lock = threading.Lock()

    def pull_all(self, client: httpx2.Client | None = None) -> list[PullOutcome]:
        if client is None:
            with self.client_factory() as own:
                return self.pull_all(own)
        return [self.pull(peer, client) for peer in self.config.peers]

    def pull(self, peer: Peer, client: httpx2.Client | None = None) -> PullOutcome:
        if client is None:
            with self.client_factory() as own:
                return self.pull(peer, own)
        with self._lock:  # one pull at a time per process
            return self._pull(peer, client)

    def _pull(self, peer: Peer, client: httpx2.Client) -> PullOutcome:
        now = self.clock()
        with self.sessions.begin() as session:
            state = store.peer_state(session, peer.region, peer.base_url)
            if state.halted_at is not None:
                store.mark_attempt(session, peer.region, now)
        if state.halted_at is not None:
            return PullOutcome(
                peer.region, 0, state.head_seq, state.alert_code, state.alert_message, True
            )
        # The attempt is recorded with what it ends in (a page stored, an alert): one
        # transaction per page, none more.
        attempt: datetime | None = now
        accepted = 0
        for _ in range(MAX_PAGES_PER_PULL):
            after = max(state.head_seq - 1, 0)
            try:
                blobs = fetch_page(client, peer, after, self.page_size)
            except PeerUnreachable as exc:
                message = f"无法从节点同步 / cannot pull from the peer: {exc}"
                with self.sessions.begin() as session:
                    if attempt is not None:
                        store.mark_attempt(session, peer.region, attempt)
                    store.raise_alert(
                        session, peer.region, "PEER_UNREACHABLE", message, self.clock(), halt=False
                    )
                log.warning("peer %s unreachable: %s", peer.region, exc)
                return PullOutcome(
                    peer.region, accepted, state.head_seq, "PEER_UNREACHABLE", str(exc)
                )
            now = self.clock()
            result = verify_page(
                blobs,
                trust=self.trust,
                peer_region=peer.region,
                head_seq=state.head_seq,
                head_hash=state.head_hash,
                now=now,
                skew=self.skew,
                max_entries=self.page_size,
                overlap=True,
            )
            with self.sessions.begin() as session:
                current = store.peer_state(session, peer.region, lock=True)
                if attempt is not None:
                    store.mark_attempt(session, peer.region, attempt)
                    attempt = None
                if (current.head_seq, current.head_hash) != (state.head_seq, state.head_hash):
                    state = current  # another worker moved the head: start from there
                    continue
                accepted += store.accept_peer_entries(
                    session, peer.region, result.accepted, self.trust, now
                )
                if result.error is not None:
                    store.raise_alert(
                        session,
                        peer.region,
                        result.error.code,
                        result.error.message,
                        now,
                        halt=True,
                    )
                else:
                    store.mark_success(session, peer.region, now)
                state = store.peer_state(session, peer.region)
            if result.error is not None:
                log.error("peer %s halted: %s", peer.region, result.error)
                return _halted(peer.region, accepted, state.head_seq, result.error)
            if len(blobs) < self.page_size:
                break
        return PullOutcome(peer.region, accepted, state.head_seq)


def _halted(region: str, accepted: int, head: int, error: FeedError) -> PullOutcome:
    return PullOutcome(region, accepted, head, error.code, error.message, True)


class SyncLoop:
    """Pulls every peer every ``interval`` in a daemon thread until stopped."""

    def __init__(self, puller: Puller, interval: float) -> None:
        self.puller = puller
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="federation-sync", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        # One client for the rounds (its connections to the peers are kept alive); a new
        # one after a round in which a peer could not be reached or that failed.
        client: httpx2.Client | None = None
        try:
            while not self._stop.is_set():
                if client is None:
                    client = self.puller.client_factory()
                try:
                    outcomes = self.puller.pull_all(client)
                    fresh = any(o.error_code == "PEER_UNREACHABLE" for o in outcomes)
                except Exception:  # keep pulling: one bad round must not end the loop
                    log.exception("federation sync round failed")
                    fresh = True
                if fresh:
                    client.close()
                    client = None
                self._stop.wait(self.interval)
        finally:
            if client is not None:
                client.close()

    def stop(self, timeout: float = 15) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
