"""The certificate model: frozen dataclasses mirroring the official forms.

One ``Certificate`` type carries the four kinds; fields that a kind does not
use stay empty.  A certificate decoded from a QR code holds the roadside view
(what the QR carries) plus ``detail_digest``, the digest that binds the full
registry record (addresses, the agent's ID number, remarks, …) to the QR.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from enum import StrEnum
from typing import Final

#: Certificates state dates in China Standard Time.
CHINA_TZ: Final = timezone(timedelta(hours=8), "CST")

NUMBER_RE: Final = re.compile(r"^(\d{6})-(\d{4})-(\d{6})$")


class Kind(StrEnum):
    """The four kinds of record."""

    TRANSPORT = "TRANSPORT"  # 植物检疫证书
    PRODUCING_AREA = "PRODUCING_AREA"  # 产地检疫合格证
    REQUIREMENT = "REQUIREMENT"  # 植物检疫要求书
    PROJECT = "PROJECT"  # 工程植物检疫复验

    @property
    def title_zh(self) -> str:
        return _KIND_TITLES[self][0]

    @property
    def title_en(self) -> str:
        return _KIND_TITLES[self][1]


_KIND_TITLES: Final = {
    Kind.TRANSPORT: ("植物检疫证书", "Plant quarantine certificate (transport)"),
    Kind.PRODUCING_AREA: ("产地检疫合格证", "Producing-area quarantine pass"),
    Kind.REQUIREMENT: ("植物检疫要求书", "Plant quarantine requirement letter"),
    Kind.PROJECT: ("工程植物检疫复验合格证", "Project plant re-inspection record"),
}


class Scope(StrEnum):
    """Scope of a transport certificate."""

    INTRA_PROVINCE = "INTRA_PROVINCE"  # 省内
    INTER_PROVINCE = "INTER_PROVINCE"  # 出省


@dataclass(frozen=True, order=True)
class CertificateNumber:
    """Issuing region code + year + serial, e.g. ``330109-2026-004871``."""

    region: str
    year: int
    serial: int

    def __str__(self) -> str:
        return f"{self.region}-{self.year:04d}-{self.serial:06d}"

    @classmethod
    def parse(cls, text: str) -> CertificateNumber:
        """Parse ``RRRRRR-YYYY-NNNNNN``; raises ``ValueError`` when malformed."""
        match = NUMBER_RE.match(text)
        if match is None:
            raise ValueError(f"certificate number {text!r} is not of the form RRRRRR-YYYY-NNNNNN")
        serial = int(match.group(3))
        if serial == 0:
            raise ValueError("certificate serial 000000 is not used")
        return cls(match.group(1), int(match.group(2)), serial)

    def as_int(self) -> int:
        return int(self.region) * 10**10 + self.year * 10**6 + self.serial

    @classmethod
    def from_int(cls, value: int) -> CertificateNumber:
        if not 10**15 <= value < 10**16:
            raise ValueError("certificate number out of range")
        region, rest = divmod(value, 10**10)
        year, serial = divmod(rest, 10**6)
        if serial == 0 or year < 1000:
            raise ValueError("certificate number has no serial or year")
        return cls(str(region), year, serial)


@dataclass(frozen=True)
class Agency:
    """An agency identified by its GB/T 2260 region code."""

    region: str
    name: str = ""


@dataclass(frozen=True)
class Officer:
    """检疫员: the signing quarantine officer."""

    name: str = ""
    number: str = ""


@dataclass(frozen=True)
class Party:
    """A consignor, consignee, producer or contractor."""

    name: str
    address: str = ""
    registration: str = ""  # 检疫登记号, shared across the Delta


@dataclass(frozen=True)
class Agent:
    """经办人.  The QR carries only the last four characters of the ID number."""

    name: str = ""
    id_number: str = ""
    phone: str = ""
    id_tail: str = ""

    @property
    def id_masked(self) -> str:
        tail = self.id_number[-4:] if self.id_number else self.id_tail
        return ("*" * 14 + tail) if tail else ""


@dataclass(frozen=True)
class Conveyance:
    """运输工具: type from the fixed list, plus plate or number."""

    type: str
    identifier: str = ""


@dataclass(frozen=True)
class Route:
    """运输起讫: region codes and free text."""

    origin: str
    destination: str
    via: tuple[str, ...] = ()
    text: str = ""


@dataclass(frozen=True)
class LineItem:
    """One line of goods."""

    product: str
    quantity: Decimal
    unit: str
    variety: str = ""
    specification: str = ""
    remarks: str = ""


@dataclass(frozen=True)
class References:
    """Other certificates this one rests on."""

    producing_area_pass: str = ""
    requirement_letter: str = ""
    original: str = ""  # the certificate a re-issue (换证) replaces
    certificates: tuple[str, ...] = ()  # PROJECT: the certificates re-inspected

    def all_numbers(self) -> tuple[str, ...]:
        single = (self.producing_area_pass, self.requirement_letter, self.original)
        return tuple(n for n in single if n) + self.certificates


@dataclass(frozen=True)
class Project:
    """A greening project (工程) for re-inspection records."""

    name: str
    district: str
    contractor: str = ""
    site: str = ""


@dataclass(frozen=True)
class Certificate:
    """A quarantine record of any kind."""

    kind: Kind
    number: CertificateNumber
    issuing_agency: Agency
    officer: Officer
    issued_at: datetime
    valid_from: date
    valid_to: date
    items: tuple[LineItem, ...]
    statement: str
    delegating_agency: Agency | None = None
    references: References = field(default_factory=References)
    scope: Scope | None = None
    consignor: Party | None = None
    consignee: Party | None = None
    agent: Agent | None = None
    origin: str = ""
    conveyance: Conveyance | None = None
    route: Route | None = None
    producer: Party | None = None
    category: str = ""
    requirements: str = ""
    project: Project | None = None
    #: Per-record random salt of the full-record digest (registry only).
    salt: bytes = b""
    #: Digest binding the full record; set on certificates decoded from a QR.
    detail_digest: bytes = b""

    def valid_window(self) -> tuple[datetime, datetime]:
        """Start and end instants of validity (dates are China Standard Time)."""
        start = datetime.combine(self.valid_from, datetime.min.time(), CHINA_TZ)
        end = datetime.combine(self.valid_to + timedelta(days=1), datetime.min.time(), CHINA_TZ)
        return start, end
