"""Certificate status, derived from append-only events and the clock (DESIGN §5)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol


class EventType(StrEnum):
    REVOKED = "REVOKED"
    SUPERSEDED = "SUPERSEDED"
    SUSPENDED = "SUSPENDED"
    REINSTATED = "REINSTATED"
    REINSPECTED = "REINSPECTED"
    ARRIVED = "ARRIVED"  # accepted arrival: closes a transport certificate


@dataclass(frozen=True)
class StatusEvent:
    type: EventType
    at: datetime
    reason: str = ""
    superseded_by: str = ""


@dataclass(frozen=True)
class StatusInfo:
    """What a status source knows of one certificate."""

    known: bool
    events: tuple[StatusEvent, ...] = ()
    as_of: datetime | None = None  # when the source's data was current
    stale: bool = False
    source: str = ""


class StatusSource(Protocol):
    """Anything that can say what happened to a certificate after issue."""

    def lookup(self, number: str, now: datetime) -> StatusInfo: ...


def status_codes(events: Iterable[StatusEvent], now: datetime) -> list[tuple[str, StatusEvent]]:
    """Reason codes that the events up to ``now`` impose, with the event behind each."""
    past = sorted((e for e in events if e.at <= now), key=lambda e: e.at)
    out: list[tuple[str, StatusEvent]] = []
    for e in past:
        if e.type is EventType.REVOKED:
            out.append(("REVOKED", e))
        elif e.type is EventType.SUPERSEDED:
            out.append(("SUPERSEDED", e))
        elif e.type is EventType.ARRIVED:
            out.append(("CLOSED", e))
    suspension = [e for e in past if e.type in (EventType.SUSPENDED, EventType.REINSTATED)]
    if suspension and suspension[-1].type is EventType.SUSPENDED:
        out.append(("SUSPENDED", suspension[-1]))
    return out
