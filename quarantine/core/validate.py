"""Validation of certificates with clear, field-level messages."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Final

from quarantine.core.model import Certificate, CertificateNumber, Kind, Party, Scope
from quarantine.core.regions import PROVINCES, RegionTable
from quarantine.core.vocab import CONVEYANCE_TYPES
from quarantine.errors import InputError

MAX_ITEMS: Final = 10
MAX_NAME: Final = 60
MAX_TEXT: Final = 200
#: Sanity bounds on the validity span; each agency's policy sets the real one.
MAX_VALIDITY_DAYS: Final = {
    Kind.TRANSPORT: 400,
    Kind.PRODUCING_AREA: 400,
    Kind.REQUIREMENT: 400,
    Kind.PROJECT: 3660,
}
ID_NUMBER_RE: Final = re.compile(r"^\d{17}[\dX]$")
PHONE_RE: Final = re.compile(r"^\+?[\d\- ]{5,20}$")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one field."""

    field: str
    code: str
    message_zh: str
    message_en: str

    def as_dict(self) -> dict[str, str]:
        return {
            "field": self.field,
            "code": self.code,
            "zh": self.message_zh,
            "en": self.message_en,
        }


class CertificateInvalid(InputError):
    """A certificate that cannot be issued as it stands."""

    def __init__(self, problems: list[Problem]) -> None:
        first = problems[0]
        super().__init__(
            "CERTIFICATE_INVALID",
            f"证书内容有 {len(problems)} 处问题，首个：{first.field} {first.message_zh}",
            f"{len(problems)} problem(s); first: {first.field}: {first.message_en}",
        )
        self.problems = problems


def id_number_ok(value: str) -> bool:
    """GB 11643 resident ID shape: 18 characters with a real birth date.

    The check digit is not enforced: officers copy numbers from documents and a
    wrong check digit is better caught by the ID card itself than by refusing
    to issue.
    """
    if not ID_NUMBER_RE.match(value):
        return False
    try:
        date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return False
    return True


class _Checker:
    def __init__(self, regions: RegionTable) -> None:
        self.regions = regions
        self.problems: list[Problem] = []

    def add(self, field: str, code: str, zh: str, en: str) -> None:
        self.problems.append(Problem(field, code, zh, en))

    def text(self, field: str, value: str, *, required: bool, limit: int = MAX_NAME) -> None:
        if required and not value.strip():
            self.add(field, "REQUIRED", "必填", "is required")
        elif len(value) > limit:
            self.add(field, "TOO_LONG", f"超过 {limit} 个字符", f"longer than {limit} characters")
        elif any(ord(c) < 32 for c in value):
            self.add(field, "CONTROL_CHARACTER", "含有控制字符", "contains control characters")

    def region(self, field: str, code: str) -> None:
        if code not in self.regions:
            self.add(
                field,
                "UNKNOWN_REGION",
                f"行政区划代码 {code} 不在长三角四省市的 GB/T 2260 代码表中",
                f"region code {code!r} is not a GB/T 2260 code of the four Delta provinces",
            )

    def number(self, field: str, value: str) -> None:
        try:
            number = CertificateNumber.parse(value)
        except ValueError:
            self.add(
                field,
                "BAD_NUMBER",
                "证书编号格式应为 行政区划代码-年份-六位序号",
                "certificate number must be RRRRRR-YYYY-NNNNNN",
            )
            return
        self.region(field, number.region)

    def party(self, field: str, party: Party | None, *, required: bool) -> None:
        if party is None:
            if required:
                self.add(field, "REQUIRED", "必填", "is required")
            return
        self.text(f"{field}.name", party.name, required=True)
        self.text(f"{field}.address", party.address, required=False, limit=MAX_TEXT)
        self.text(f"{field}.registration", party.registration, required=False, limit=32)


def validate(cert: Certificate, regions: RegionTable) -> list[Problem]:
    """Every problem of ``cert``; an empty list when it may be issued."""
    c = _Checker(regions)
    number = cert.number
    c.region("issuing_agency.region", cert.issuing_agency.region)
    c.text("issuing_agency.name", cert.issuing_agency.name, required=False)
    if number.region != cert.issuing_agency.region:
        c.add(
            "number",
            "NUMBER_REGION_MISMATCH",
            "证书编号的区划代码须与签发机关一致",
            "the number's region code must be the issuing agency's",
        )
    if not 2000 <= number.year <= 2099 or not 0 < number.serial < 10**6:
        c.add(
            "number", "BAD_NUMBER", "证书编号年份或序号无效", "number year or serial out of range"
        )
    elif number.year != cert.issued_at.year:
        c.add(
            "number",
            "NUMBER_YEAR_MISMATCH",
            "编号年份须为签发年份",
            "number year must be the year of issue",
        )
    if cert.delegating_agency is not None:
        c.region("delegating_agency.region", cert.delegating_agency.region)
        if cert.delegating_agency.region not in PROVINCES:
            c.add(
                "delegating_agency.region",
                "NOT_A_PROVINCE",
                "委托机关须为省级机关",
                "the delegating agency must be a provincial agency",
            )
        c.text("delegating_agency.name", cert.delegating_agency.name, required=False)
    c.text("officer.name", cert.officer.name, required=True, limit=20)
    c.text("officer.number", cert.officer.number, required=True, limit=20)
    if cert.issued_at.tzinfo is None:
        c.add("issued_at", "NAIVE_TIME", "签发时间须带时区", "issue time must carry a time zone")
    if cert.valid_from > cert.valid_to:
        c.add(
            "valid_to", "VALIDITY_REVERSED", "有效期止早于有效期起", "valid_to is before valid_from"
        )
    elif (cert.valid_to - cert.valid_from).days + 1 > MAX_VALIDITY_DAYS[cert.kind]:
        limit = MAX_VALIDITY_DAYS[cert.kind]
        c.add(
            "valid_to",
            "VALIDITY_TOO_LONG",
            f"有效期超过 {limit} 天",
            f"validity longer than {limit} days",
        )
    _items(c, cert)
    c.text("statement", cert.statement, required=True, limit=MAX_TEXT)
    for name in ("producing_area_pass", "requirement_letter", "original"):
        value = getattr(cert.references, name)
        if value:
            c.number(f"references.{name}", value)
            if value == str(number):
                c.add(f"references.{name}", "SELF_REFERENCE", "不能引用自身", "refers to itself")
    if len(cert.references.certificates) > 50:
        c.add("references.certificates", "TOO_MANY", "最多 50 份", "at most 50")
    for i, value in enumerate(cert.references.certificates):
        c.number(f"references.certificates[{i}]", value)
    _by_kind(c, cert)
    return c.problems


def _items(c: _Checker, cert: Certificate) -> None:
    if not 1 <= len(cert.items) <= MAX_ITEMS:
        c.add("items", "ITEM_COUNT", "货物须为 1 至 10 项", "there must be 1 to 10 line items")
    for i, item in enumerate(cert.items[:MAX_ITEMS]):
        f = f"items[{i}]"
        c.text(f"{f}.product", item.product, required=True, limit=30)
        c.text(f"{f}.variety", item.variety, required=False)
        c.text(f"{f}.specification", item.specification, required=False, limit=30)
        c.text(f"{f}.unit", item.unit, required=True, limit=8)
        c.text(f"{f}.remarks", item.remarks, required=False, limit=MAX_TEXT)
        q = item.quantity
        if not q.is_finite() or q <= 0:
            c.add(
                f"{f}.quantity",
                "QUANTITY_NOT_POSITIVE",
                "数量须为正数",
                "quantity must be positive",
            )
        elif q > Decimal(10) ** 9 or q.as_tuple().exponent < -3:  # type: ignore[operator]
            c.add(
                f"{f}.quantity",
                "QUANTITY_OUT_OF_RANGE",
                "数量过大或小数位超过 3 位",
                "quantity too large or more than 3 decimal places",
            )


def _by_kind(c: _Checker, cert: Certificate) -> None:
    kind = cert.kind
    if kind is Kind.TRANSPORT:
        _transport(c, cert)
    elif kind is Kind.PRODUCING_AREA:
        c.party("producer", cert.producer, required=True)
        c.text("origin", cert.origin, required=True, limit=MAX_TEXT)
    elif kind is Kind.REQUIREMENT:
        c.party("consignee", cert.consignee, required=True)
        c.text("category", cert.category, required=True, limit=30)
        c.text("requirements", cert.requirements, required=False, limit=MAX_TEXT)
    elif kind is Kind.PROJECT:
        if cert.project is None:
            c.add("project", "REQUIRED", "必填", "is required")
        else:
            c.text("project.name", cert.project.name, required=True)
            c.region("project.district", cert.project.district)
            c.text("project.contractor", cert.project.contractor, required=False)
            c.text("project.site", cert.project.site, required=False, limit=MAX_TEXT)
        if not cert.references.certificates:
            c.add(
                "references.certificates",
                "REQUIRED",
                "复验记录须列出所依据的证书",
                "a re-inspection record must list the certificates it rests on",
            )


def _transport(c: _Checker, cert: Certificate) -> None:
    if cert.scope is None:
        c.add("scope", "REQUIRED", "必填（省内 / 出省）", "is required (intra / inter)")
    c.party("consignor", cert.consignor, required=True)
    c.party("consignee", cert.consignee, required=True)
    c.text("origin", cert.origin, required=False, limit=MAX_TEXT)
    if cert.agent is not None:
        c.text("agent.name", cert.agent.name, required=False, limit=20)
        if cert.agent.id_number and not id_number_ok(cert.agent.id_number):
            c.add(
                "agent.id_number",
                "BAD_ID_NUMBER",
                "身份证号码无效",
                "not a valid resident ID number",
            )
        if cert.agent.phone and not PHONE_RE.match(cert.agent.phone):
            c.add("agent.phone", "BAD_PHONE", "电话号码格式无效", "not a phone number")
    if cert.conveyance is None:
        c.add("conveyance", "REQUIRED", "必填", "is required")
    else:
        if cert.conveyance.type not in CONVEYANCE_TYPES.values():
            allowed = "/".join(CONVEYANCE_TYPES.values())
            c.add(
                "conveyance.type",
                "UNKNOWN_CONVEYANCE",
                f"运输工具须为 {allowed} 之一",
                f"conveyance type must be one of {allowed}",
            )
        c.text("conveyance.identifier", cert.conveyance.identifier, required=False, limit=20)
    if cert.route is None:
        c.add("route", "REQUIRED", "必填", "is required")
        return
    route = cert.route
    c.region("route.from", route.origin)
    c.region("route.to", route.destination)
    if len(route.via) > 5:
        c.add("route.via", "TOO_MANY", "途经地最多 5 个", "at most 5 places via")
    for i, code in enumerate(route.via[:5]):
        c.region(f"route.via[{i}]", code)
    c.text("route.text", route.text, required=False, limit=MAX_TEXT)
    same = c.regions.province_of(route.origin) == c.regions.province_of(route.destination)
    if cert.scope is Scope.INTRA_PROVINCE and not same:
        c.add(
            "scope",
            "SCOPE_MISMATCH",
            "省内证书的起讫地须在同一省",
            "an intra-province route must stay in one province",
        )
    if cert.scope is Scope.INTER_PROVINCE and same:
        c.add(
            "scope",
            "SCOPE_MISMATCH",
            "出省证书的目的地须在外省",
            "an inter-province route must leave the province",
        )
