"""Scan events: every verification by an inspector is recorded (time, place, checkpoint, plate).

The public's verifications record nothing.  The place is a GB/T 2260 region code
of the Delta table (default: the inspector token's region), the checkpoint a
free text of up to 200 characters, the vehicle plate up to 20, and optionally the
inspector device's position (``lon``, ``lat`` in degrees, both or neither).  The fields are
validated for every caller, so a bad field is refused the same way whoever sends it.
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy.orm import Session

from quarantine.core.regions import RegionTable
from quarantine.core.verify import Report, decode_unverified
from quarantine.errors import InputError, LimitExceeded
from quarantine.services.authz import Principal, Role
from quarantine.storage.scans import ScanEvent, ScanStore

MAX_CHECKPOINT: Final = 200
MAX_PLATE: Final = 20
MAX_REGION: Final = 6
#: Longest text accepted for a coordinate (``lon``, ``lat``) before it is read.
MAX_COORDINATE_TEXT: Final = 32


@dataclass(frozen=True)
class ScanPlace:
    """Where an inspector scanned: region code, checkpoint, vehicle plate."""

    region: str
    checkpoint: str = ""
    plate: str = ""
    #: The inspector device's (lon, lat), when given (reuse alerts).
    position: tuple[float, float] | None = None


def _clean(value: str | None, limit: int, field: str, zh: str) -> str:
    if value is None:
        return ""
    if len(value) > limit * 4:  # refuse absurd input before any work
        raise LimitExceeded(
            "SCAN_FIELD_TOO_LONG",
            f"{zh}超过 {limit} 个字符",
            f"{field} is longer than {limit} characters",
        )
    text = unicodedata.normalize("NFC", value).strip()
    if len(text) > limit:
        raise LimitExceeded(
            "SCAN_FIELD_TOO_LONG",
            f"{zh}超过 {limit} 个字符",
            f"{field} is longer than {limit} characters",
        )
    if any(unicodedata.category(ch).startswith("C") for ch in text):
        raise InputError(
            "SCAN_FIELD_INVALID", f"{zh}含有控制字符", f"{field} contains control characters"
        )
    return text


def _region(value: str | None, regions: RegionTable) -> str:
    code = _clean(value, MAX_REGION, "region", "地区代码")
    if code and (not code.isdigit() or len(code) != MAX_REGION or code not in regions):
        raise InputError(
            "SCAN_REGION_UNKNOWN",
            f"地区代码 {code} 不在 GB/T 2260 长三角区划表中",
            f"region {code!r} is not a GB/T 2260 code of the Delta region table",
        )
    return code


def _given(value: str | float | None) -> bool:
    return value is not None and not (isinstance(value, str) and not value.strip())


def _coordinate(value: str | float, field: str, zh: str, limit: float) -> float:
    number: float | None = None
    if isinstance(value, bool):
        number = None
    elif isinstance(value, int | float):
        number = float(value)
    elif len(value) <= MAX_COORDINATE_TEXT:
        try:
            number = float(value.strip())
        except ValueError:
            number = None
    if number is None or not math.isfinite(number) or not -limit <= number <= limit:
        shown = value if len(str(value)) <= MAX_COORDINATE_TEXT else "…"
        raise InputError(
            "SCAN_POSITION_INVALID",
            f"{zh}（{field}）须为 {-limit:g} 至 {limit:g} 之间的度数，而非 {shown!r}",
            f"{field} must be degrees from {-limit:g} to {limit:g}, not {shown!r}",
        )
    return number


def scan_position(lon: str | float | None, lat: str | float | None) -> tuple[float, float] | None:
    """The device's (lon, lat) in degrees from the fields as sent, or ``None`` when
    neither is given (an empty text counts as not given).

    ``InputError`` ``SCAN_POSITION_INCOMPLETE`` when only one is given,
    ``SCAN_POSITION_INVALID`` when one is not a number within its range.
    """
    has_lon, has_lat = _given(lon), _given(lat)
    if not has_lon and not has_lat:
        return None
    if not (has_lon and has_lat):
        raise InputError(
            "SCAN_POSITION_INCOMPLETE",
            "设备位置须同时给出经度（lon）和纬度（lat），或都不给",
            "give both the device's longitude (lon) and latitude (lat), or neither",
        )
    assert lon is not None and lat is not None
    return (
        _coordinate(lon, "lon", "经度", 180.0),
        _coordinate(lat, "lat", "纬度", 90.0),
    )


def scan_place(
    who: Principal,
    regions: RegionTable,
    *,
    region: str | None = None,
    checkpoint: str | None = None,
    plate: str | None = None,
    lon: str | float | None = None,
    lat: str | float | None = None,
) -> ScanPlace | None:
    """The place to record for ``who``'s verification, or ``None`` (not an inspector).

    The fields are validated for every caller (``InputError`` on a bad one); ``lon``
    and ``lat``, the device's position, as :func:`scan_position`.
    """
    code = _region(region, regions)
    point = _clean(checkpoint, MAX_CHECKPOINT, "checkpoint", "检查站")
    plate_text = "".join(_clean(plate, MAX_PLATE, "vehicle plate", "车牌号").split()).upper()
    position = scan_position(lon, lat)
    if who.role is not Role.INSPECTOR:
        return None
    code = code or who.region
    if code not in regions:  # a token region outside the table: refuse rather than guess
        raise InputError(
            "SCAN_REGION_REQUIRED",
            "请注明核验地点的地区代码（region）",
            "give the scan's region code (field 'region')",
        )
    return ScanPlace(code, point, plate_text, position)


def scanned_number(report: Report, text: str) -> str:
    """The certificate number the scan concerns: verified, else claimed, else empty."""
    if report.certificate is not None:
        return str(report.certificate.number)
    try:  # a forged or tampered code still names the number it claims
        cert, _ = decode_unverified(text)
    except (InputError, ValueError):
        return ""
    return str(cert.number)


def record_scan(
    session: Session, who: Principal, place: ScanPlace, report: Report, text: str, at: datetime
) -> ScanEvent:
    """Append the scan event of one verification (the caller commits)."""
    event = ScanStore(session).add(
        scanned_number(report, text)[:64],
        at,
        place.region,
        report.verdict.value,
        report.codes[:50],
        who.actor,
        checkpoint=place.checkpoint,
        vehicle_plate=place.plate,
    )
    from quarantine.services.inspection import on_scan_recorded  # reuse alerts

    on_scan_recorded(
        session,
        number=event.number,
        at=at,
        region=event.region,
        checkpoint=event.checkpoint,
        plate=event.vehicle_plate,
        verdict=event.verdict,
        actor=who.actor,
        position=place.position,
    )
    return event


def scan_summary(event: ScanEvent) -> dict[str, str]:
    """What the API answers about a recorded scan."""
    return {
        "number": event.number,
        "at": event.at.isoformat(),
        "region": event.region,
        "checkpoint": event.checkpoint,
        "plate": event.vehicle_plate,
    }
