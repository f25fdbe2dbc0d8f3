"""Signed status lists cached on disk for offline verification (adapter).

Layout: ``<data_dir>/status-lists/<region>-<year>.cose`` (the signed bytes exactly
as published) and ``<region>-<year>.json`` (where and when it was fetched).

* Nothing is written that did not verify: :meth:`StatusCache.put` runs
  ``load_status_list`` against the trust list first.
* Writes are atomic (temporary file, ``fsync``, ``os.replace``), so a reader sees
  the old list or the new one, never a torn file.
* A list is never replaced by an older one of the same region and year (a
  replayed list cannot hide a revocation the cache already knows).
* Reading verifies every file again: a file edited on disk is reported and
  skipped, never used.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import tempfile
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Final

from quarantine.core.statuslist import (
    MAX_STATUS_LIST_BYTES,
    OfflineStatusSource,
    StatusList,
    StatusListError,
    load_status_list,
)
from quarantine.core.trust import TrustList
from quarantine.errors import EnvironmentProblem, InputError

DIRNAME: Final = "status-lists"
_NAME_RE: Final = re.compile(r"^([1-9]\d{5})-(\d{4})\.cose$")
_MAX_META: Final = 64 * 1024


class PutOutcome(StrEnum):
    STORED = "stored"  # new, or newer than the cached copy
    UNCHANGED = "unchanged"  # the same list was cached already
    KEPT_NEWER = "kept_newer"  # the cache holds a newer list; the fetched one is dropped


@dataclass(frozen=True)
class CachedList:
    """One cache file: its verified list, or why it cannot be used."""

    path: Path
    region: str
    year: int
    status_list: StatusList | None
    source: str = ""
    fetched_at: datetime | None = None
    error: InputError | None = None


def cache_dir(data_dir: Path) -> Path:
    return data_dir / DIRNAME


def _atomic_write(path: Path, data: bytes) -> None:
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(temp, 0o644)
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    with contextlib.suppress(OSError):  # make the rename durable where the OS allows it
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


class StatusCache:
    """The folder of cached status lists."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    @classmethod
    def for_data_dir(cls, data_dir: Path) -> StatusCache:
        return cls(cache_dir(data_dir))

    def _paths(self, region: str, year: int) -> tuple[Path, Path]:
        stem = f"{region}-{year}"
        return self.directory / f"{stem}.cose", self.directory / f"{stem}.json"

    def put(
        self,
        blob: bytes,
        trust: TrustList,
        now: datetime,
        *,
        source: str = "",
        expect: tuple[str, int] | None = None,
    ) -> tuple[StatusList, PutOutcome]:
        """Verify ``blob`` and cache it.  Raises ``StatusListError`` and writes nothing
        when it does not verify or is not the ``expect``-ed (region, year)."""
        lst = load_status_list(blob, trust, now)
        if expect is not None and (lst.region, lst.year) != expect:
            raise StatusListError(
                "STATUS_LIST_MISMATCH",
                f"收到的是 {lst.region}/{lst.year} 的状态列表，而请求的是 {expect[0]}/{expect[1]}",
                f"got the status list of {lst.region}/{lst.year}, asked for {expect[0]}/{expect[1]}",
            )
        held = self.get(lst.region, lst.year, trust, now)
        if held is not None and held.status_list is not None:
            if held.status_list.issued_at > lst.issued_at:
                return held.status_list, PutOutcome.KEPT_NEWER
            if held.status_list.compressed == lst.compressed and (
                held.status_list.issued_at == lst.issued_at
            ):
                return lst, PutOutcome.UNCHANGED
        blob_path, meta_path = self._paths(lst.region, lst.year)
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            meta = {
                "region": lst.region,
                "year": lst.year,
                "issued_at": lst.issued_at.isoformat(),
                "valid_until": lst.valid_until.isoformat(),
                "sha256": hashlib.sha256(blob).hexdigest(),
                "source": source,
                "fetched_at": now.isoformat(),
            }
            _atomic_write(blob_path, blob)
            _atomic_write(meta_path, (json.dumps(meta, indent=2) + "\n").encode("utf-8"))
        except OSError as exc:
            raise EnvironmentProblem(
                "STATUS_CACHE_UNWRITABLE",
                f"无法写入状态列表缓存 {self.directory}",
                f"cannot write the status list cache {self.directory}: {exc.strerror}",
            ) from exc
        return lst, PutOutcome.STORED

    def get(self, region: str, year: int, trust: TrustList, now: datetime) -> CachedList | None:
        path, _ = self._paths(region, year)
        return self._read(path, region, year, trust, now) if path.is_file() else None

    def read(self, trust: TrustList, now: datetime) -> list[CachedList]:
        """Every cache file, verified again (sorted by region and year)."""
        if not self.directory.is_dir():
            return []
        out: list[CachedList] = []
        for path in sorted(self.directory.iterdir()):
            match = _NAME_RE.match(path.name)
            if match and path.is_file():
                out.append(self._read(path, match[1], int(match[2]), trust, now))
        return out

    def source(
        self, trust: TrustList, now: datetime
    ) -> tuple[OfflineStatusSource, list[CachedList]]:
        """An offline status source over every usable cached list, and what was read."""
        cached = self.read(trust, now)
        return OfflineStatusSource(c.status_list for c in cached if c.status_list), cached

    def _read(
        self, path: Path, region: str, year: int, trust: TrustList, now: datetime
    ) -> CachedList:
        source, fetched_at = self._meta(path.with_suffix(".json"))
        try:
            if path.stat().st_size > MAX_STATUS_LIST_BYTES:
                raise StatusListError(
                    "STATUS_LIST_TOO_LARGE",
                    "缓存的状态列表过大",
                    f"cached status list exceeds {MAX_STATUS_LIST_BYTES} bytes",
                )
            lst = load_status_list(path.read_bytes(), trust, now)
            if (lst.region, lst.year) != (region, year):
                raise StatusListError(
                    "STATUS_LIST_MISMATCH",
                    "缓存文件名与状态列表内容不符",
                    f"the file name says {region}/{year}, the list {lst.region}/{lst.year}",
                )
        except OSError as exc:
            error: InputError = InputError(
                "STATUS_CACHE_UNREADABLE",
                f"无法读取 {path}",
                f"cannot read {path}: {exc.strerror}",
            )
            return CachedList(path, region, year, None, source, fetched_at, error)
        except InputError as exc:
            return CachedList(path, region, year, None, source, fetched_at, exc)
        return CachedList(path, region, year, lst, source, fetched_at)

    @staticmethod
    def _meta(path: Path) -> tuple[str, datetime | None]:
        try:
            if path.stat().st_size > _MAX_META:
                return "", None
            meta: Any = json.loads(path.read_text("utf-8"))
            source = str(meta.get("source", ""))[:500]
            fetched = datetime.fromisoformat(str(meta["fetched_at"]))
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return "", None
        return source, fetched if fetched.tzinfo is not None else None
