"""Certificate numbers per issuing region and year: handed out once, never reused.

``number_counters`` holds the last serial of each (region, year); the counter
row is bumped with one atomic ``INSERT … ON CONFLICT … DO UPDATE … RETURNING``
(PostgreSQL, SQLite ≥ 3.35), so concurrent issuers each get their own serial;
the row stays locked until the caller's transaction ends.  ``claimed_numbers``
records every number handed out or claimed, so a claim of a used number is
refused and allocation skips numbers claimed ahead of the counter.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Final

from sqlalchemy import bindparam, case, exists, literal, select, text
from sqlalchemy.orm import Session

from quarantine.core.model import CertificateNumber
from quarantine.errors import InputError, LimitExceeded
from quarantine.storage._common import check_aware, check_region, is_postgresql, upsert
from quarantine.storage.models import (
    CertificateRow,
    ClaimedNumberRow,
    NumberCounterRow,
    UTCDateTime,
)

MAX_SERIAL: Final = 999_999


class NumberInUse(InputError):
    """The certificate number was already issued or claimed."""


def _in_use(number: CertificateNumber) -> NumberInUse:
    return NumberInUse(
        "NUMBER_IN_USE",
        f"证书编号 {number} 已使用，不能重复签发",
        f"certificate number {number} was already issued",
    )


def _check_number(region: str, year: int, serial: int | None = None) -> None:
    check_region(region, "issuing region")
    if not 1000 <= year <= 9999:
        raise InputError("BAD_NUMBER", "年份须为四位数", f"year {year} is not a four-digit year")
    if serial is not None and not 1 <= serial <= MAX_SERIAL:
        raise InputError(
            "BAD_NUMBER", "序号须在 1 至 999999 之间", f"serial {serial} is not in 1..999999"
        )


#: PostgreSQL: bump many counters at once, locking their rows in (region, year) order.
_BUMP_MANY: Final = text(
    "INSERT INTO number_counters (region, year, last) "
    "SELECT r, y, n FROM unnest(CAST(:regions AS varchar[]), CAST(:years AS integer[]), "
    "CAST(:counts AS integer[])) AS w(r, y, n) ORDER BY r, y "
    "ON CONFLICT (region, year) DO UPDATE SET last = number_counters.last + EXCLUDED.last "
    "RETURNING region, year, last"
)
#: PostgreSQL: record many allocated numbers at once (see ``NumberCounter._take``).
_TAKE_MANY: Final = text(
    "INSERT INTO claimed_numbers (number, claimed_at) "
    "SELECT n, :now FROM unnest(CAST(:numbers AS varchar[])) AS n "
    "WHERE NOT EXISTS (SELECT 1 FROM certificates c WHERE c.number = n) "
    "ON CONFLICT (number) DO NOTHING RETURNING number"
).bindparams(bindparam("now", type_=UTCDateTime()))


class NumberCounter:
    """The database-backed ``NumberRegistry`` (see ``quarantine.services.issuing``)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def allocate(self, region: str, year: int, now: datetime) -> CertificateNumber:
        """The next free number of ``region`` in ``year``."""
        _check_number(region, year)
        check_aware(now, "now")
        insert = upsert(self.session, NumberCounterRow)
        bump = (
            insert.values(region=region, year=year, last=1)
            .on_conflict_do_update(
                index_elements=[NumberCounterRow.region, NumberCounterRow.year],
                set_={"last": NumberCounterRow.last + 1},
            )
            .returning(NumberCounterRow.last)
        )
        while True:
            serial = self.session.execute(bump).scalar_one()
            if serial > MAX_SERIAL:
                raise LimitExceeded(
                    "SERIALS_EXHAUSTED",
                    "本年度编号已用尽",
                    f"no serials left for {region} in {year}",
                )
            number = CertificateNumber(region, year, serial)
            if self._take(number, now):
                return number

    def allocate_many(
        self, wanted: Mapping[tuple[str, int], int], now: datetime
    ) -> dict[tuple[str, int], list[CertificateNumber]]:
        """The next ``count`` free numbers of each ``(region, year): count``, in order.

        PostgreSQL: two statements for all of them.  One ``INSERT … SELECT FROM
        unnest(…) ORDER BY region, year ON CONFLICT DO UPDATE SET last = last +
        count RETURNING`` bumps every counter (locking the rows in one fixed order,
        so that two batches cannot deadlock), one ``INSERT … SELECT FROM unnest(…)``
        records the numbers in ``claimed_numbers``; a number claimed ahead of the
        counter is skipped and replaced by the next free one.  Elsewhere:
        :meth:`allocate` once per number.
        """
        check_aware(now, "now")
        groups = sorted((key, count) for key, count in wanted.items() if count > 0)
        for (region, year), _ in groups:
            _check_number(region, year)
        if not is_postgresql(self.session):
            return {
                (region, year): [self.allocate(region, year, now) for _ in range(count)]
                for (region, year), count in groups
            }
        out: dict[tuple[str, int], list[CertificateNumber]] = {}
        if not groups:
            return out
        conn = self.session.connection()  # plain statements: no ORM execution needed
        bumped = conn.execute(
            _BUMP_MANY,
            {
                "regions": [region for (region, _), _ in groups],
                "years": [year for (_, year), _ in groups],
                "counts": [count for _, count in groups],
            },
        ).all()
        lasts = {(row.region, row.year): row.last for row in bumped}
        candidates: list[CertificateNumber] = []
        for (region, year), count in groups:
            last = lasts[(region, year)]
            if last > MAX_SERIAL:
                raise LimitExceeded(
                    "SERIALS_EXHAUSTED",
                    "本年度编号已用尽",
                    f"no serials left for {region} in {year}",
                )
            candidates += [
                CertificateNumber(region, year, s) for s in range(last - count + 1, last + 1)
            ]
        taken = set(
            conn.execute(
                _TAKE_MANY, {"numbers": [str(n) for n in candidates], "now": now}
            ).scalars()
        )
        for number in candidates:
            if str(number) in taken:
                out.setdefault((number.region, number.year), []).append(number)
        for (region, year), count in groups:
            got = out.setdefault((region, year), [])
            while len(got) < count:
                got.append(self.allocate(region, year, now))
        return out

    def claim(self, number: CertificateNumber, now: datetime) -> None:
        """Record a number chosen by the caller; ``NumberInUse`` if it was used before."""
        _check_number(number.region, number.year, number.serial)
        check_aware(now, "now")
        # Counter row first (the same lock order as allocate: no deadlock).
        insert = upsert(self.session, NumberCounterRow)
        self.session.execute(
            insert.values(
                region=number.region, year=number.year, last=number.serial
            ).on_conflict_do_update(
                index_elements=[NumberCounterRow.region, NumberCounterRow.year],
                set_={
                    "last": case(
                        (insert.excluded.last > NumberCounterRow.last, insert.excluded.last),
                        else_=NumberCounterRow.last,
                    )
                },
            )
        )
        if not self._take(number, now):
            raise _in_use(number)

    def _take(self, number: CertificateNumber, now: datetime) -> bool:
        """Record ``number`` in ``claimed_numbers`` unless it is claimed or issued already.

        One statement (``INSERT … SELECT … WHERE NOT EXISTS (certificates) ON
        CONFLICT DO NOTHING RETURNING``): ``claimed_numbers`` alone does not cover
        certificates stored without passing the counter (e.g. imported).
        """
        text = str(number)
        insert = upsert(self.session, ClaimedNumberRow)
        taken = self.session.execute(
            insert.from_select(
                [ClaimedNumberRow.number, ClaimedNumberRow.claimed_at],
                select(
                    literal(text, ClaimedNumberRow.number.type),
                    literal(now, ClaimedNumberRow.claimed_at.type),
                ).where(~exists().where(CertificateRow.number == text)),
            )
            .on_conflict_do_nothing(index_elements=[ClaimedNumberRow.number])
            .returning(ClaimedNumberRow.number)
        ).scalar_one_or_none()
        return taken is not None
