"""Certificates as plain documents (JSON / YAML shape) and back.

The shape follows ``reference-transport-certificate.json``.  ``from_document``
checks types and formats; ``validate`` checks the rules.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from quarantine.core.model import (
    Agency,
    Agent,
    Certificate,
    CertificateNumber,
    Conveyance,
    Kind,
    LineItem,
    Officer,
    Party,
    Project,
    References,
    Route,
    Scope,
)
from quarantine.core.validate import CertificateInvalid, Problem

MAX_DOCUMENT_ITEMS = 10


class _Reader:
    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def bad(self, field: str, code: str, zh: str, en: str) -> None:
        self.problems.append(Problem(field, code, zh, en))

    def obj(self, doc: Mapping[str, Any], key: str, field: str) -> Mapping[str, Any] | None:
        value = doc.get(key)
        if value is None:
            return None
        if not isinstance(value, Mapping):
            self.bad(field, "WRONG_TYPE", "应为对象", "must be an object")
            return None
        return value

    def str_(self, doc: Mapping[str, Any] | None, key: str, field: str) -> str:
        if doc is None:
            return ""
        value = doc.get(key, "")
        if value is None:
            return ""
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        if not isinstance(value, str):
            self.bad(field, "WRONG_TYPE", "应为文本", "must be text")
            return ""
        return value.strip()

    def date_(self, doc: Mapping[str, Any], key: str) -> date:
        value = doc.get(key)
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            self.bad(key, "BAD_DATE", "日期格式应为 YYYY-MM-DD", "date must be YYYY-MM-DD")
            return date(2000, 1, 1)

    def datetime_(self, doc: Mapping[str, Any], key: str) -> datetime:
        value = doc.get(key)
        if isinstance(value, datetime):
            result = value
        else:
            try:
                result = datetime.fromisoformat(str(value))
            except ValueError:
                self.bad(key, "BAD_TIME", "时间格式应为 ISO 8601", "time must be ISO 8601")
                return datetime(2000, 1, 1).astimezone()
        if result.tzinfo is None:
            self.bad(
                key,
                "NAIVE_TIME",
                "时间须带时区（如 +08:00）",
                "time must carry a zone (e.g. +08:00)",
            )
            return result.astimezone()
        return result

    def party(self, doc: Mapping[str, Any], key: str) -> Party | None:
        value = self.obj(doc, key, key)
        if value is None:
            return None
        return Party(
            name=self.str_(value, "name", f"{key}.name"),
            address=self.str_(value, "address", f"{key}.address"),
            registration=self.str_(value, "registration", f"{key}.registration"),
        )

    def quantity(self, value: object, field: str) -> Decimal:
        if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
            self.bad(field, "WRONG_TYPE", "数量应为数字", "quantity must be a number")
            return Decimal(0)
        try:
            text = str(value)
            if len(text) > 20:
                raise InvalidOperation
            return Decimal(text)
        except InvalidOperation:
            self.bad(field, "BAD_QUANTITY", "数量应为数字", "quantity must be a number")
            return Decimal(0)


def from_document(doc: Mapping[str, Any]) -> Certificate:
    """Build a certificate from its document form; raise ``CertificateInvalid``."""
    r = _Reader()
    if not isinstance(doc, Mapping):
        raise CertificateInvalid([Problem("", "WRONG_TYPE", "应为对象", "must be an object")])
    try:
        kind = Kind(str(doc.get("kind", "")))
    except ValueError:
        kinds = ", ".join(k.value for k in Kind)
        raise CertificateInvalid(
            [Problem("kind", "UNKNOWN_KIND", f"种类须为 {kinds}", f"kind must be one of {kinds}")]
        ) from None
    number_text = r.str_(doc, "number", "number")
    try:
        number = CertificateNumber.parse(number_text)
    except ValueError:
        r.bad(
            "number",
            "BAD_NUMBER",
            "证书编号格式应为 行政区划代码-年份-六位序号",
            "number must be RRRRRR-YYYY-NNNNNN",
        )
        number = CertificateNumber("000000", 2000, 1)
    issuing = r.obj(doc, "issuing_agency", "issuing_agency") or {}
    delegating = r.obj(doc, "delegating_agency", "delegating_agency")
    officer = r.obj(doc, "officer", "officer") or {}
    agent = r.obj(doc, "agent", "agent")
    conveyance = r.obj(doc, "conveyance", "conveyance")
    route = r.obj(doc, "route", "route")
    refs = r.obj(doc, "references", "references") or {}
    project = r.obj(doc, "project", "project")
    scope: Scope | None = None
    if doc.get("scope"):
        try:
            scope = Scope(str(doc["scope"]))
        except ValueError:
            r.bad(
                "scope",
                "UNKNOWN_SCOPE",
                "范围须为 INTRA_PROVINCE 或 INTER_PROVINCE",
                "scope must be INTRA_PROVINCE or INTER_PROVINCE",
            )
    raw_items = doc.get("items", [])
    if not isinstance(raw_items, list):
        r.bad("items", "WRONG_TYPE", "应为列表", "must be a list")
        raw_items = []
    items: list[LineItem] = []
    for i, raw in enumerate(raw_items[: MAX_DOCUMENT_ITEMS + 1]):
        field = f"items[{i}]"
        if not isinstance(raw, Mapping):
            r.bad(field, "WRONG_TYPE", "应为对象", "must be an object")
            continue
        items.append(
            LineItem(
                product=r.str_(raw, "product", f"{field}.product"),
                variety=r.str_(raw, "variety", f"{field}.variety"),
                specification=r.str_(raw, "specification", f"{field}.specification"),
                unit=r.str_(raw, "unit", f"{field}.unit"),
                quantity=r.quantity(raw.get("quantity"), f"{field}.quantity"),
                remarks=r.str_(raw, "remarks", f"{field}.remarks"),
            )
        )
    via_raw = route.get("via", []) if route else []
    certificates = refs.get("certificates", [])
    if not isinstance(via_raw, list) or not isinstance(certificates, list):
        r.bad("route.via", "WRONG_TYPE", "应为列表", "must be a list")
        via_raw, certificates = [], []
    cert = Certificate(
        kind=kind,
        number=number,
        issuing_agency=Agency(
            r.str_(issuing, "region", "issuing_agency.region"),
            r.str_(issuing, "name", "issuing_agency.name"),
        ),
        delegating_agency=(
            Agency(
                r.str_(delegating, "region", "delegating_agency.region"),
                r.str_(delegating, "name", "delegating_agency.name"),
            )
            if delegating
            else None
        ),
        officer=Officer(
            r.str_(officer, "name", "officer.name"), r.str_(officer, "number", "officer.number")
        ),
        issued_at=r.datetime_(doc, "issued_at"),
        valid_from=r.date_(doc, "valid_from"),
        valid_to=r.date_(doc, "valid_to"),
        items=tuple(items),
        statement=r.str_(doc, "statement", "statement"),
        references=References(
            producing_area_pass=r.str_(
                refs, "producing_area_pass", "references.producing_area_pass"
            ),
            requirement_letter=r.str_(refs, "requirement_letter", "references.requirement_letter"),
            original=r.str_(refs, "original", "references.original"),
            certificates=tuple(str(x) for x in certificates[:51]),
        ),
        scope=scope,
        consignor=r.party(doc, "consignor"),
        consignee=r.party(doc, "consignee"),
        agent=(
            Agent(
                name=r.str_(agent, "name", "agent.name"),
                id_number=r.str_(agent, "id_number", "agent.id_number").upper(),
                phone=r.str_(agent, "phone", "agent.phone"),
            )
            if agent
            else None
        ),
        origin=r.str_(doc, "origin", "origin"),
        conveyance=(
            Conveyance(
                r.str_(conveyance, "type", "conveyance.type"),
                r.str_(conveyance, "identifier", "conveyance.identifier"),
            )
            if conveyance
            else None
        ),
        route=(
            Route(
                origin=r.str_(route, "from", "route.from"),
                destination=r.str_(route, "to", "route.to"),
                via=tuple(str(x) for x in via_raw[:6]),
                text=r.str_(route, "text", "route.text"),
            )
            if route
            else None
        ),
        producer=r.party(doc, "producer"),
        category=r.str_(doc, "category", "category"),
        requirements=r.str_(doc, "requirements", "requirements"),
        project=(
            Project(
                name=r.str_(project, "name", "project.name"),
                district=r.str_(project, "district", "project.district"),
                contractor=r.str_(project, "contractor", "project.contractor"),
                site=r.str_(project, "site", "project.site"),
            )
            if project
            else None
        ),
    )
    if r.problems:
        raise CertificateInvalid(r.problems)
    return cert


def _party_doc(party: Party | None) -> dict[str, str] | None:
    if party is None:
        return None
    out = {"name": party.name}
    if party.address:
        out["address"] = party.address
    if party.registration:
        out["registration"] = party.registration
    return out


def _quantity_doc(q: Decimal) -> int | str:
    return int(q) if q == q.to_integral_value() else str(q.normalize())


def _item_doc(item: LineItem) -> dict[str, Any]:
    """A line item's document form; empty texts left out (in the field order of the form)."""
    out: dict[str, Any] = {"product": item.product} if item.product else {}
    if item.variety:
        out["variety"] = item.variety
    if item.specification:
        out["specification"] = item.specification
    if item.unit:
        out["unit"] = item.unit
    out["quantity"] = _quantity_doc(item.quantity)
    if item.remarks:
        out["remarks"] = item.remarks
    return out


def to_document(cert: Certificate) -> dict[str, Any]:
    """The document form (JSON-ready).  Empty fields are left out."""
    doc: dict[str, Any] = {
        "kind": cert.kind.value,
        "number": str(cert.number),
        "issuing_agency": {"region": cert.issuing_agency.region, "name": cert.issuing_agency.name},
        "officer": {"name": cert.officer.name, "number": cert.officer.number},
        "issued_at": cert.issued_at.isoformat(),
        "valid_from": cert.valid_from.isoformat(),
        "valid_to": cert.valid_to.isoformat(),
        "items": [_item_doc(it) for it in cert.items],
        "statement": cert.statement,
    }
    if cert.delegating_agency:
        doc["delegating_agency"] = {
            "region": cert.delegating_agency.region,
            "name": cert.delegating_agency.name,
        }
    refs = {
        k: v
        for k, v in {
            "producing_area_pass": cert.references.producing_area_pass,
            "requirement_letter": cert.references.requirement_letter,
            "original": cert.references.original,
            "certificates": list(cert.references.certificates),
        }.items()
        if v
    }
    if refs:
        doc["references"] = refs
    if cert.scope:
        doc["scope"] = cert.scope.value
    for key in ("consignor", "consignee", "producer"):
        party = _party_doc(getattr(cert, key))
        if party:
            doc[key] = party
    if cert.agent:
        agent = {"name": cert.agent.name, "id_masked": cert.agent.id_masked}
        doc["agent"] = {k: v for k, v in agent.items() if v}
    if cert.origin:
        doc["origin"] = cert.origin
    if cert.conveyance:
        doc["conveyance"] = {"type": cert.conveyance.type, "identifier": cert.conveyance.identifier}
    if cert.route:
        route: dict[str, Any] = {
            "from": cert.route.origin,
            "via": list(cert.route.via),
            "to": cert.route.destination,
        }
        if cert.route.text:
            route["text"] = cert.route.text
        doc["route"] = route
    if cert.category:
        doc["category"] = cert.category
    if cert.requirements:
        doc["requirements"] = cert.requirements
    if cert.project:
        doc["project"] = {
            k: v
            for k, v in {
                "name": cert.project.name,
                "district": cert.project.district,
                "contractor": cert.project.contractor,
                "site": cert.project.site,
            }.items()
            if v
        }
    if cert.detail_digest:
        doc["detail_digest"] = cert.detail_digest.hex()
    return doc
