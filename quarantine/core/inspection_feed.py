"""Feed bodies of the inspection records shared between nodes: scans and violations.

A node publishes every scan its inspectors record (``scan`` entries) and every
violation it records against an operator (``violation`` entries) in its signed
feed (:mod:`quarantine.core.feed`), so that every member evaluates reuse alerts
on every scan and applies every violation in recognition.  Here: the bodies to
publish and their checks on arrival (``ValueError`` with the field at fault;
the feed turns it into ``FEED_BAD_BODY``).  Ids carry the origin's code
(``320000:…``): a node cannot publish a record in another member's name.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from quarantine.core.credit import Violation, ViolationKind, ViolationSeverity
from quarantine.core.reuse import Scan

SCAN: Final = "scan"
VIOLATION: Final = "violation"
_MAX_TEXT: Final = 2000


@dataclass(frozen=True)
class ScanBody:
    """A scan entry's body, checked."""

    scan: Scan


@dataclass(frozen=True)
class ViolationBody:
    """A violation entry's body, checked."""

    violation: Violation


def scan_body(scan: Scan) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": scan.id,
        "number": scan.number,
        "at": scan.at.isoformat(),
        "region": scan.region,
        "checkpoint": scan.checkpoint,
        "plate": scan.plate,
        "verdict": scan.verdict,
    }
    if scan.position is not None:
        body["lon"], body["lat"] = float(scan.position[0]), float(scan.position[1])
    return body


def violation_body(v: Violation) -> dict[str, Any]:
    return {
        "id": v.id,
        "operator": v.operator,
        "region": v.region,
        "kind": v.kind.value,
        "severity": int(v.severity),
        "at": v.at.isoformat(),
        "evidence": v.evidence,
        "certificate": v.certificate,
    }


def _text(body: Mapping[str, Any], key: str, limit: int = _MAX_TEXT, *, required: bool) -> str:
    value = body.get(key, "")
    if not isinstance(value, str) or len(value) > limit or (required and not value):
        raise ValueError(key)
    return value


def _when(body: Mapping[str, Any], key: str) -> datetime:
    try:
        value = datetime.fromisoformat(_text(body, key, 40, required=True))
    except ValueError:
        raise ValueError(key) from None
    if value.tzinfo is None:
        raise ValueError(key)
    return value


def _region(body: Mapping[str, Any], key: str) -> str:
    value = _text(body, key, 6, required=True)
    if not (value.isdigit() and len(value) == 6):
        raise ValueError(key)
    return value


def _own_id(body: Mapping[str, Any], origin: str) -> str:
    value = _text(body, "id", 64, required=True)
    if not value.startswith(origin[:2]) or ":" not in value:
        raise ValueError("id of another member")
    return value


def _coordinate(body: Mapping[str, Any], key: str, bound: float) -> float | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(key)
    number = float(value)
    if not math.isfinite(number) or abs(number) > bound:
        raise ValueError(key)
    return number


def parse_scan(origin: str, body: Mapping[str, Any]) -> ScanBody:
    lon = _coordinate(body, "lon", 180.0)
    lat = _coordinate(body, "lat", 90.0)
    if (lon is None) != (lat is None):
        raise ValueError("lon and lat")
    scan = Scan(
        id=_own_id(body, origin),
        number=_text(body, "number", 64, required=True),
        at=_when(body, "at"),
        region=_region(body, "region"),
        checkpoint=_text(body, "checkpoint", 200, required=False),
        plate=_text(body, "plate", 20, required=False),
        position=None if lon is None or lat is None else (lon, lat),
        verdict=_text(body, "verdict", 20, required=False),
    )
    return ScanBody(scan)


def parse_violation(origin: str, body: Mapping[str, Any]) -> ViolationBody:
    region = _region(body, "region")
    if region[:2] != origin[:2]:
        raise ValueError("violation recorded by another member")
    try:
        kind = ViolationKind(_text(body, "kind", 24, required=True))
    except ValueError:
        raise ValueError("kind") from None
    severity = body.get("severity")
    if type(severity) is not int or severity not in {int(s) for s in ViolationSeverity}:
        raise ValueError("severity")
    violation = Violation(
        id=_own_id(body, origin),
        operator=_text(body, "operator", 64, required=True),
        region=region,
        kind=kind,
        severity=ViolationSeverity(severity),
        at=_when(body, "at"),
        evidence=_text(body, "evidence", required=False),
        certificate=_text(body, "certificate", 18, required=False),
    )
    return ViolationBody(violation)


def parse_inspection_body(
    kind: str, origin: str, body: Mapping[str, Any]
) -> ScanBody | ViolationBody:
    """The checked body of a ``scan`` or ``violation`` entry (``ValueError`` naming the field)."""
    if kind == SCAN:
        return parse_scan(origin, body)
    if kind == VIOLATION:
        return parse_violation(origin, body)
    raise ValueError("kind")


__all__ = [
    "SCAN",
    "VIOLATION",
    "ScanBody",
    "ViolationBody",
    "parse_inspection_body",
    "parse_scan",
    "parse_violation",
    "scan_body",
    "violation_body",
]
