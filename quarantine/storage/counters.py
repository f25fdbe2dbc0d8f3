"""Certificate numbers per issuing region and year: handed out once, never reused.

``number_counters`` holds the last serial of each (region, year); the counter
row is bumped with one atomic ``INSERT … ON CONFLICT … DO UPDATE … RETURNING``
(PostgreSQL, SQLite ≥ 3.35), so concurrent issuers each get their own serial;
the row stays locked until the caller's transaction ends.  ``claimed_numbers``
records every number handed out or claimed, so a claim of a used number is
refused and allocation skips numbers claimed ahead of the counter.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from sqlalchemy import case, exists, literal, select
from sqlalchemy.orm import Session

from quarantine.core.model import CertificateNumber
from quarantine.errors import InputError, LimitExceeded
from quarantine.storage._common import check_aware, check_region, upsert
from quarantine.storage.models import CertificateRow, ClaimedNumberRow, NumberCounterRow

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
