"""Scan events: every verification by an inspector at a checkpoint."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from quarantine.errors import LimitExceeded
from quarantine.storage._common import check_aware, check_length, check_region
from quarantine.storage.models import ScanEventRow

MAX_REASON_CODES: Final = 50


@dataclass(frozen=True)
class ScanEvent:
    number: str
    at: datetime
    region: str
    checkpoint: str
    vehicle_plate: str
    verdict: str
    reason_codes: tuple[str, ...]
    actor: str

    @classmethod
    def from_row(cls, row: ScanEventRow) -> ScanEvent:
        return cls(
            row.number,
            row.at,
            row.region,
            row.checkpoint,
            row.vehicle_plate,
            row.verdict,
            tuple(row.reason_codes),
            row.actor,
        )


class ScanStore:
    """Append scan events; the number may be unknown to the registry."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(
        self,
        number: str,
        at: datetime,
        region: str,
        verdict: str,
        reason_codes: Sequence[str],
        actor: str,
        *,
        checkpoint: str = "",
        vehicle_plate: str = "",
    ) -> ScanEvent:
        check_aware(at, "scan time")
        check_region(region)
        check_length(number, 64, "number")
        check_length(verdict, 20, "verdict")
        check_length(actor, 100, "actor")
        check_length(checkpoint, 200, "checkpoint")
        check_length(vehicle_plate, 20, "vehicle plate")
        if len(reason_codes) > MAX_REASON_CODES:
            raise LimitExceeded(
                "TOO_MANY", "原因代码过多", f"more than {MAX_REASON_CODES} reason codes"
            )
        row = ScanEventRow(
            number=number,
            at=at,
            region=region,
            checkpoint=checkpoint,
            vehicle_plate=vehicle_plate,
            verdict=verdict,
            reason_codes=[check_length(str(c), 64, "reason code") for c in reason_codes],
            actor=actor,
        )
        self.session.add(row)
        self.session.flush()
        return ScanEvent.from_row(row)

    def for_number(self, number: str, *, limit: int = 100) -> tuple[ScanEvent, ...]:
        """The latest scans of ``number``, newest first."""
        rows = self.session.execute(
            select(ScanEventRow)
            .where(ScanEventRow.number == number)
            .order_by(ScanEventRow.at.desc(), ScanEventRow.id.desc())
            .limit(min(max(limit, 1), 1000))
        ).scalars()
        return tuple(ScanEvent.from_row(r) for r in rows)
