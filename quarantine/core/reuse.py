"""Reuse alerts (一证多用): pure rules over the scans of one certificate.

A transport certificate covers one load on one trip.  Inspectors at
checkpoints scan it; the scans of every node are shared.  When a new scan
reaches a node (scanned there or pulled from a peer), :func:`evaluate` compares
it with the certificate and with the earlier scans of the same certificate and
returns the alerts it raises.  Every alert names its rule, the scans and the
certificate, and has an id derived from those, so two nodes that see the same
scans raise the same alert and a re-evaluation never duplicates one.

Rules (codes in :data:`ALERT_RULES`):

* ``SCANNED_AFTER_CLOSED`` - the arrival already closed the certificate
  (:func:`scanned_after_closed`, also applied to the scans already known when an
  arrival becomes known after them).
* ``PLATE_MISMATCH`` - the plate the inspector read is not the certificate's.
* ``IMPOSSIBLE_TRAVEL`` - two scans whose distance over the time between them
  needs a speed above ``ReusePolicy.max_speed_kmh``.  Places are the device's
  position where given, else the centre of the checkpoint's district; since a
  centre can be far from the road, ``distance_slack_km`` is taken off each
  distance that uses a centre before the speed is computed.
* ``SCANNED_AFTER_EXPIRY`` - scanned after the end of validity.
* ``TOO_MANY_SCANS`` - more separate inspections than the route explains:
  ``base_scans + scans_per_route_place × places on the route``.  Scans at the
  same checkpoint within ``same_inspection_minutes`` count as one inspection.
"""

from __future__ import annotations

import hashlib
import math
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Final

from quarantine.core.model import Kind
from quarantine.errors import InputError

#: Rule code → (Chinese, English) words shown to inspectors.
ALERT_RULES: Final = MappingProxyType(
    {
        "SCANNED_AFTER_CLOSED": (
            "证书已因到达核销而关闭，仍被扫描",
            "Scanned after the arrival closed the certificate",
        ),
        "PLATE_MISMATCH": (
            "车牌与证书所载运输工具不符",
            "The vehicle plate differs from the certificate's",
        ),
        "IMPOSSIBLE_TRAVEL": (
            "两次扫描的地点与时间不可能属于同一批货物",
            "Two scans too far apart for the time between them to be one load",
        ),
        "SCANNED_AFTER_EXPIRY": (
            "证书已过有效期，仍被扫描",
            "Scanned after the certificate expired",
        ),
        "TOO_MANY_SCANS": (
            "查验次数超过运输路线所能解释的次数",
            "More inspections than the route explains",
        ),
    }
)

#: A (longitude, latitude) pair in degrees.
LonLat = tuple[float, float]

EARTH_RADIUS_KM: Final = 6371.0088


@dataclass(frozen=True)
class Scan:
    """One scan of a certificate as the rules see it."""

    id: str  # unique across the federation, e.g. ``310000:42`` (node:sequence)
    number: str  # the certificate scanned
    at: datetime  # aware
    region: str  # place of the checkpoint as a GB/T 2260 code
    checkpoint: str = ""
    plate: str = ""  # as read by the inspector; "" when not given
    position: LonLat | None = None  # the inspector device's position, when given
    verdict: str = ""


@dataclass(frozen=True)
class CertificateFacts:
    """What the rules need to know of the certificate scanned."""

    number: str
    kind: Kind
    valid_until: datetime  # end of validity (exclusive instant)
    plate: str = ""  # conveyance identifier on the certificate
    closed_at: datetime | None = None  # when an accepted arrival closed it
    route: tuple[str, ...] = ()  # origin, via…, destination (region codes)


@dataclass(frozen=True)
class ReusePolicy:
    """Configurable limits of the rules (documented defaults)."""

    max_speed_kmh: float = 120.0  # expressway limit in China
    distance_slack_km: float = 25.0  # taken off per district centre used
    base_scans: int = 2
    scans_per_route_place: int = 2
    same_inspection_minutes: int = 30
    expiry_grace: timedelta = timedelta(minutes=5)  # clock skew between devices

    def __post_init__(self) -> None:
        if self.max_speed_kmh <= 0 or self.distance_slack_km < 0:
            raise ValueError("max_speed_kmh must be > 0 and distance_slack_km ≥ 0")
        if self.base_scans < 1 or self.scans_per_route_place < 0:
            raise ValueError("base_scans must be ≥ 1 and scans_per_route_place ≥ 0")
        if self.same_inspection_minutes < 0 or self.expiry_grace < timedelta(0):
            raise ValueError("same_inspection_minutes and expiry_grace must be ≥ 0")

    @classmethod
    def from_mapping(cls, doc: Mapping[str, object], where: str = "reuse") -> ReusePolicy:
        """A policy from a deployment's settings (``[reuse]`` of the inspection rules file).

        Keys are those of :data:`POLICY_LIMITS`; a key left out keeps its default.  Raises
        ``InputError`` ``INSPECTION_RULES_INVALID`` naming the field.
        """
        unknown = sorted(set(doc) - set(POLICY_LIMITS))
        if unknown:
            raise rules_invalid(
                f"{where} 含未知字段：{', '.join(unknown)}（可用：{', '.join(POLICY_LIMITS)}）",
                f"{where} has unknown fields: {', '.join(unknown)} "
                f"(known: {', '.join(POLICY_LIMITS)})",
            )
        values: dict[str, object] = {}
        for key, (integral, low, high) in POLICY_LIMITS.items():
            if key in doc:
                number = checked_number(doc[key], f"{where}.{key}", integral, low, high)
                if key == "expiry_grace_minutes":
                    values["expiry_grace"] = timedelta(minutes=number)
                else:
                    values[key] = number
        return cls(**values)  # type: ignore[arg-type]

    def as_mapping(self) -> dict[str, float | int]:
        """The settings form of this policy (the keys of :data:`POLICY_LIMITS`)."""
        grace = self.expiry_grace.total_seconds() / 60
        return {
            "max_speed_kmh": self.max_speed_kmh,
            "distance_slack_km": self.distance_slack_km,
            "base_scans": self.base_scans,
            "scans_per_route_place": self.scans_per_route_place,
            "same_inspection_minutes": self.same_inspection_minutes,
            "expiry_grace_minutes": int(grace) if grace.is_integer() else grace,
        }


#: Settable limits of :class:`ReusePolicy`: key → (integer only, minimum, maximum).
POLICY_LIMITS: Final = MappingProxyType(
    {
        "max_speed_kmh": (False, 1.0, 2000.0),
        "distance_slack_km": (False, 0.0, 500.0),
        "base_scans": (True, 1, 1000),
        "scans_per_route_place": (True, 0, 100),
        "same_inspection_minutes": (True, 0, 1440),
        "expiry_grace_minutes": (False, 0.0, 1440.0),
    }
)


def rules_invalid(zh: str, en: str) -> InputError:
    """The error of a bad inspection rules setting (reason ``INSPECTION_RULES_INVALID``)."""
    return InputError(
        "INSPECTION_RULES_INVALID", "检查规则配置无效：" + zh, "bad inspection rules: " + en
    )


def checked_number(value: object, field: str, integral: bool, low: float, high: float) -> float:
    """``value`` as a number within ``[low, high]`` (an integer when ``integral``)."""
    number: float | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, float) and (not integral or value.is_integer()):
        number = int(value) if integral else value
    if number is None or not low <= number <= high:
        what_zh = "整数" if integral else "数"
        what_en = "an integer" if integral else "a number"
        raise rules_invalid(
            f"{field} 须为 {low:g} 至 {high:g} 之间的{what_zh}，而非 {value!r}",
            f"{field} must be {what_en} from {low:g} to {high:g}, not {value!r}",
        )
    return number if integral else float(number)


@dataclass(frozen=True)
class Alert:
    """One alert: a rule, the scans that raised it and the certificate."""

    rule: str
    number: str
    scans: tuple[str, ...]
    detail: str = ""
    id: str = field(default="", compare=False)

    @property
    def message_zh(self) -> str:
        return ALERT_RULES[self.rule][0]

    @property
    def message_en(self) -> str:
        return ALERT_RULES[self.rule][1]


def _alert(rule: str, number: str, scans: Iterable[str], detail: str = "") -> Alert:
    ordered = tuple(sorted(set(scans)))
    digest = hashlib.sha256("\x1f".join((rule, number, *ordered)).encode()).hexdigest()[:24]
    return Alert(rule, number, ordered, detail, id=digest)


def normalise_plate(plate: str) -> str:
    """``浙A·7K392``, ``浙a 7k392`` and ``浙Ａ７Ｋ３９２`` all become ``浙A7K392``."""
    text = unicodedata.normalize("NFKC", plate).upper()
    return "".join(ch for ch in text if ch.isalnum())


def distance_km(a: LonLat, b: LonLat) -> float:
    """Great-circle distance (haversine) between two (lon, lat) points."""
    lon1, lat1, lon2, lat2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def _place(scan: Scan, centre: Callable[[str], LonLat | None]) -> tuple[LonLat | None, bool]:
    """The scan's place and whether it is a district centre (an approximation)."""
    if scan.position is not None:
        return scan.position, False
    return centre(scan.region), True


def _travel(
    a: Scan, b: Scan, policy: ReusePolicy, centre: Callable[[str], LonLat | None]
) -> str | None:
    """A detail text when ``a`` and ``b`` cannot be one load, else ``None``."""
    pa, approx_a = _place(a, centre)
    pb, approx_b = _place(b, centre)
    if pa is None or pb is None:
        return None  # unknown place: no claim either way
    raw = distance_km(pa, pb)
    km = raw - policy.distance_slack_km * (int(approx_a) + int(approx_b))
    if km <= 0:
        return None
    hours = abs((b.at - a.at).total_seconds()) / 3600
    if hours > 0 and km / hours <= policy.max_speed_kmh:
        return None
    speed = "∞" if hours == 0 else f"{km / hours:.0f}"
    return f"{raw:.0f} km in {hours * 60:.0f} min (≥ {speed} km/h)"


def _inspections(scans: Sequence[Scan], policy: ReusePolicy) -> int:
    """Separate inspections: same checkpoint within the window counts once."""
    window = timedelta(minutes=policy.same_inspection_minutes)
    last: dict[tuple[str, str], datetime] = {}
    count = 0
    for scan in sorted(scans, key=lambda s: (s.at, s.id)):
        key = (scan.region, scan.checkpoint)
        previous = last.get(key)
        if previous is None or scan.at - previous > window:
            count += 1
        last[key] = scan.at
    return count


def allowed_inspections(facts: CertificateFacts, policy: ReusePolicy) -> int:
    return policy.base_scans + policy.scans_per_route_place * len(set(facts.route))


def scanned_after_closed(scans: Iterable[Scan], facts: CertificateFacts) -> list[Alert]:
    """``SCANNED_AFTER_CLOSED`` for each of ``scans`` made after the arrival closed the
    certificate (none while it is not closed).

    :func:`evaluate` applies it to a new scan; when an arrival becomes known after
    scans of the certificate, it is applied to the scans already known, with the
    same alert ids.
    """
    closed = facts.closed_at
    if closed is None:
        return []
    return [
        _alert("SCANNED_AFTER_CLOSED", facts.number, [s.id], closed.isoformat())
        for s in scans
        if s.number == facts.number and s.at > closed
    ]


def evaluate(
    new: Scan,
    earlier: Sequence[Scan],
    facts: CertificateFacts,
    policy: ReusePolicy,
    centre: Callable[[str], LonLat | None],
) -> list[Alert]:
    """The alerts raised by ``new`` given the certificate's other scans.

    ``earlier`` holds the other known scans of the same certificate in any
    order (scans reach a node out of order through sync); ``new`` itself and
    scans of other certificates in it are ignored.
    """
    if new.number != facts.number:
        raise ValueError("the scan is not of this certificate")
    others = [s for s in earlier if s.number == facts.number and s.id != new.id]
    alerts = scanned_after_closed([new], facts)
    n = facts.number
    if new.at > facts.valid_until + policy.expiry_grace:
        alerts.append(_alert("SCANNED_AFTER_EXPIRY", n, [new.id], facts.valid_until.isoformat()))
    if facts.kind is not Kind.TRANSPORT:
        return alerts
    if new.plate and facts.plate and normalise_plate(new.plate) != normalise_plate(facts.plate):
        alerts.append(_alert("PLATE_MISMATCH", n, [new.id], f"{new.plate} ≠ {facts.plate}"))
    for other in others:
        detail = _travel(other, new, policy, centre)
        if detail is not None:
            alerts.append(_alert("IMPOSSIBLE_TRAVEL", n, [other.id, new.id], detail))
    allowed = allowed_inspections(facts, policy)
    everything = [*others, new]
    if _inspections(everything, policy) > allowed:
        alerts.append(
            _alert(
                "TOO_MANY_SCANS",
                n,
                [s.id for s in everything],
                f"{_inspections(everything, policy)} > {allowed}",
            )
        )
    return alerts
