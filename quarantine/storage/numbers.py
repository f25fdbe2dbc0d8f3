"""Certificate numbers that are unique per issuing agency and never reused.

A small SQLite file (stdlib ``sqlite3``) holds every number handed out and the
last serial per region and year.  ``BEGIN IMMEDIATE`` serialises concurrent
issuers on one machine; the primary key makes reuse impossible.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from quarantine.core.model import CertificateNumber
from quarantine.errors import InputError, LimitExceeded

_SCHEMA = """
CREATE TABLE IF NOT EXISTS numbers (number TEXT PRIMARY KEY, claimed_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS serials (
    region TEXT NOT NULL, year INTEGER NOT NULL, last INTEGER NOT NULL, PRIMARY KEY (region, year)
);
"""


class NumberInUse(InputError):
    """The certificate number was already issued."""


class NumberStore:
    def __init__(self, path: Path) -> None:
        self.path = path

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            conn.executescript(_SCHEMA)
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        finally:
            conn.close()

    def allocate(self, region: str, year: int, now: datetime) -> CertificateNumber:
        """The next free number of ``region`` in ``year``."""
        with self._tx() as conn:
            row = conn.execute(
                "SELECT last FROM serials WHERE region=? AND year=?", (region, year)
            ).fetchone()
            serial = (row[0] if row else 0) + 1
            while conn.execute(
                "SELECT 1 FROM numbers WHERE number=?",
                (str(CertificateNumber(region, year, serial)),),
            ).fetchone():
                serial += 1
            if serial >= 10**6:
                raise LimitExceeded(
                    "SERIALS_EXHAUSTED",
                    "本年度编号已用尽",
                    f"no serials left for {region} in {year}",
                )
            number = CertificateNumber(region, year, serial)
            conn.execute("INSERT INTO numbers VALUES (?, ?)", (str(number), now.isoformat()))
            conn.execute("INSERT OR REPLACE INTO serials VALUES (?, ?, ?)", (region, year, serial))
            return number

    def claim(self, number: CertificateNumber, now: datetime) -> None:
        """Record a number chosen by the caller; ``NumberInUse`` if it was issued before."""
        with self._tx() as conn:
            try:
                conn.execute("INSERT INTO numbers VALUES (?, ?)", (str(number), now.isoformat()))
            except sqlite3.IntegrityError:
                raise NumberInUse(
                    "NUMBER_IN_USE",
                    f"证书编号 {number} 已使用，不能重复签发",
                    f"certificate number {number} was already issued",
                ) from None
            conn.execute(
                "INSERT INTO serials VALUES (?, ?, ?) ON CONFLICT(region, year) DO UPDATE SET last=max(last, excluded.last)",
                (number.region, number.year, number.serial),
            )
