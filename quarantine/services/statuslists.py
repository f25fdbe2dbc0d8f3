"""Publishing offline status lists: build, sign and cache one list per (region, year).

The list of an issuing region and year holds, at the index of each certificate's
serial, ``value_for_events(events, now)`` (``quarantine.core.statuslist``).  It is
built from the registry with one query over the status events of that region and
year (the unique index on ``(issuing_region, year, serial)`` drives the join),
signed with this node's key for the region's province, and cached in memory.

Cache rules (per process; each API worker keeps its own):

* a cached list is served without touching the database for ``recheck``
  (default 5 s);
* after that, a cheap *fingerprint* query (highest serial, number and highest id
  of the region-year's status events) decides: when anything changed — a new
  certificate or a new status event — the list is rebuilt at once;
* in any case a list is rebuilt when half its TTL has passed (so a client always
  gets at least TTL/2 of freshness) or when a future-dated event becomes due.

So a revocation reaches the published list within ``recheck`` seconds, and
the HTTP ``Cache-Control: max-age`` (:data:`HTTP_MAX_AGE`) bounds how long
clients and proxies keep an older copy.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import groupby
from pathlib import Path
from typing import Final

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from quarantine import keystore
from quarantine.core.regions import RegionTable
from quarantine.core.status import EventType, StatusEvent
from quarantine.core.statuslist import (
    MAX_LENGTH,
    build_status_list,
    default_length,
    sign_status_list,
    value_for_events,
)
from quarantine.errors import QuarantineError
from quarantine.services.authz import covers
from quarantine.storage.models import CertificateRow, StatusEventRow

#: Recommended time-to-live of a published list (``docs/status-lists.md``).
DEFAULT_TTL: Final = timedelta(hours=24)
MIN_TTL: Final = timedelta(minutes=2)
#: A cached list is served without asking the database for this long.
DEFAULT_RECHECK: Final = timedelta(seconds=5)
#: ``Cache-Control: max-age`` of a published list, in seconds.
HTTP_MAX_AGE: Final = 60
#: Oldest year a list is published for.
MIN_YEAR: Final = 2000
#: Media type of a signed list on the wire.
MEDIA_TYPE: Final = "application/cose"
_KEYS_RECHECK: Final = timedelta(seconds=60)
#: The index (which region-years exist) is re-read from the database at most this often.
_INDEX_RECHECK: Final = timedelta(seconds=30)


class StatusListNotPublished(QuarantineError):
    """This node publishes no list for that region and year (HTTP 404)."""


@dataclass(frozen=True)
class PublishedList:
    """A signed list as served: the bytes and what the HTTP layer needs."""

    region: str
    year: int
    blob: bytes
    issued_at: datetime
    valid_until: datetime
    kid: str
    entries: int  # non-zero entries

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha256(self.blob).hexdigest()[:32] + '"'


@dataclass(frozen=True)
class _Fingerprint:
    max_serial: int
    events: int
    last_event: int


@dataclass(frozen=True)
class _Entry:
    published: PublishedList
    fingerprint: _Fingerprint
    checked_at: datetime
    rebuild_at: datetime


def _not_published(region: str, year: int, why_zh: str, why_en: str) -> StatusListNotPublished:
    return StatusListNotPublished(
        "STATUS_LIST_NOT_FOUND",
        f"本节点不发布 {region}/{year} 的状态列表：{why_zh}",
        f"this node publishes no status list for {region}/{year}: {why_en}",
    )


class StatusListService:
    """Builds, signs and caches status lists for the regions this node holds keys for."""

    def __init__(
        self,
        keys_dir: Path,
        passphrase: bytes | None,
        regions: RegionTable,
        *,
        ttl: timedelta = DEFAULT_TTL,
        recheck: timedelta = DEFAULT_RECHECK,
    ) -> None:
        if ttl < MIN_TTL:
            raise ValueError("the status list TTL must be at least two minutes")
        self.keys_dir = keys_dir
        self.passphrase = passphrase
        self.regions = regions
        self.ttl = ttl
        self.recheck = recheck
        self._cache: dict[tuple[str, int], _Entry] = {}
        self._locks: dict[tuple[str, int], threading.Lock] = {}
        self._guard = threading.Lock()
        self._keys: tuple[datetime, tuple[keystore.KeyInfo, ...]] | None = None
        self._index: tuple[datetime, tuple[tuple[str, int], ...]] | None = None

    # ------------------------------------------------------------ coverage

    def _held_keys(self, now: datetime) -> tuple[keystore.KeyInfo, ...]:
        held = self._keys
        if held is None or not held[0] <= now < held[0] + _KEYS_RECHECK:
            keys = tuple(k for k in keystore.list_keys(self.keys_dir) if k.private_path)
            held = self._keys = (now, keys)
        return held[1]

    def issues_for(self, region: str, now: datetime) -> bool:
        """True when ``region`` is a known division and a held key covers it at ``now``."""
        if region not in self.regions:
            return False
        return any(covers(k.region, region) and k.covers(now) for k in self._held_keys(now))

    def _check(self, region: str, year: int, now: datetime) -> None:
        if not self.issues_for(region, now):
            raise _not_published(
                region,
                year,
                "未持有该地区的签名密钥",
                "it holds no signing key for that region",
            )
        if not MIN_YEAR <= year <= now.year + 1:
            raise _not_published(region, year, "年份超出范围", "the year is out of range")

    def available(self, session: Session, now: datetime) -> list[tuple[str, int]]:
        """Every (region, year) with certificates in the registry that this node publishes.

        The distinct pairs are read at most every 30 s (an index-only scan of the
        ``(issuing_region, year, serial)`` index, cheap but not free at millions of rows).
        """
        index = self._index
        if index is None or not index[0] <= now < index[0] + _INDEX_RECHECK:
            pairs = session.execute(
                select(CertificateRow.issuing_region, CertificateRow.year)
                .distinct()
                .order_by(CertificateRow.issuing_region, CertificateRow.year)
            ).all()
            index = self._index = (now, tuple((str(r), int(y)) for r, y in pairs))
        rows = index[1]
        return [
            (region, year)
            for region, year in rows
            if MIN_YEAR <= year <= now.year + 1 and self.issues_for(region, now)
        ]

    # ------------------------------------------------------------ lists

    def get(self, session: Session, region: str, year: int, now: datetime) -> PublishedList:
        """The current signed list of ``region`` for ``year`` (cached; see the module doc)."""
        self._check(region, year, now)
        key = (region, year)
        entry = self._cache.get(key)
        if entry is not None and self._fresh_without_db(entry, now):
            return entry.published
        with self._lock_for(key):
            entry = self._cache.get(key)
            if entry is not None and self._fresh_without_db(entry, now):
                return entry.published
            fingerprint = self._fingerprint(session, region, year)
            if entry is not None and entry.fingerprint == fingerprint and now < entry.rebuild_at:
                self._cache[key] = _Entry(entry.published, fingerprint, now, entry.rebuild_at)
                return entry.published
            entry = self._build(session, region, year, fingerprint, now)
            self._cache[key] = entry
            return entry.published

    def invalidate(self, region: str | None = None, year: int | None = None) -> None:
        """Forget cached lists (all, a region's or one); the next request rebuilds them."""
        with self._guard:
            for key in list(self._cache):
                if (region is None or key[0] == region) and (year is None or key[1] == year):
                    del self._cache[key]

    def _fresh_without_db(self, entry: _Entry, now: datetime) -> bool:
        return entry.checked_at <= now < entry.checked_at + self.recheck and now < entry.rebuild_at

    def _lock_for(self, key: tuple[str, int]) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())

    @staticmethod
    def _fingerprint(session: Session, region: str, year: int) -> _Fingerprint:
        events = (
            select(func.count(StatusEventRow.id), func.max(StatusEventRow.id))
            .join(CertificateRow, CertificateRow.id == StatusEventRow.certificate_id)
            .where(CertificateRow.issuing_region == region, CertificateRow.year == year)
        )
        count, last = session.execute(events).one()
        top = session.execute(
            select(func.max(CertificateRow.serial)).where(
                CertificateRow.issuing_region == region, CertificateRow.year == year
            )
        ).scalar_one()
        return _Fingerprint(int(top or 0), int(count or 0), int(last or 0))

    def _build(
        self, session: Session, region: str, year: int, fingerprint: _Fingerprint, now: datetime
    ) -> _Entry:
        rows = session.execute(
            select(
                CertificateRow.serial,
                StatusEventRow.type,
                StatusEventRow.at,
                StatusEventRow.reason,
                StatusEventRow.superseded_by,
            )
            .join(CertificateRow, CertificateRow.id == StatusEventRow.certificate_id)
            .where(CertificateRow.issuing_region == region, CertificateRow.year == year)
            .order_by(CertificateRow.serial, StatusEventRow.at, StatusEventRow.id)
        ).all()
        entries, next_due = entries_from_events(
            (
                (serial, StatusEvent(EventType(t), at, reason, sup))
                for serial, t, at, reason, sup in rows
            ),
            now,
        )
        top = max(fingerprint.max_serial, max(entries, default=0))
        length = default_length(min(top, MAX_LENGTH - 1))
        lst = build_status_list(region, year, entries, issued_at=now, ttl=self.ttl, length=length)
        info = keystore.signing_key_for(self.keys_dir, region, lst.issued_at)
        signer = keystore.load_signer(info, self.passphrase)
        published = PublishedList(
            region=region,
            year=year,
            blob=sign_status_list(lst, signer),
            issued_at=lst.issued_at,
            valid_until=lst.valid_until,
            kid=info.kid,
            entries=len(entries),
        )
        rebuild_at = now + self.ttl / 2
        if next_due is not None:
            rebuild_at = min(rebuild_at, next_due)
        return _Entry(published, fingerprint, now, rebuild_at)


def entries_from_events(
    events: Iterable[tuple[int, StatusEvent]], now: datetime
) -> tuple[dict[int, int], datetime | None]:
    """Serial → non-zero list value, from ``(serial, event)`` pairs grouped by serial.

    Also returns the earliest event time after ``now`` (a future-dated event that
    will change the list when it becomes due), or ``None``.
    """
    entries: dict[int, int] = {}
    next_due: datetime | None = None
    for serial, group in groupby(events, key=lambda pair: pair[0]):
        evs = [ev for _, ev in group]
        for ev in evs:
            if ev.at > now and (next_due is None or ev.at < next_due):
                next_due = ev.at
        if not 1 <= serial < MAX_LENGTH:
            continue
        value = value_for_events(evs, now)
        if value:
            entries[serial] = value
    return entries, next_due
