"""The issuer console's certificate form: fields of each kind, form ⇄ document, problems.

Inputs are named by their path in the certificate document (``consignor.name``,
``items[2].quantity``), so the field-level problems of validation
(:class:`quarantine.core.validate.Problem`, e.g. ``items[0].quantity``) land next to
the input they concern.  Labels carry Chinese and English.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Final

from quarantine.core.model import Kind
from quarantine.core.validate import Problem
from quarantine.core.vocab import CONVEYANCE_TYPES, STATEMENTS, UNITS

MAX_ROWS: Final = 10
BLANK_ROWS: Final = 5
ITEM_KEYS: Final = ("product", "variety", "specification", "unit", "quantity", "remarks")
ITEM_LABELS: Final = {
    "product": ("品名", "Product"),
    "variety": ("品种", "Variety"),
    "specification": ("规格", "Specification"),
    "unit": ("单位", "Unit"),
    "quantity": ("数量", "Quantity"),
    "remarks": ("备注", "Remarks"),
}
_ALL = frozenset(Kind)
_T = frozenset({Kind.TRANSPORT})
#: A field longer than this is refused before any work (the document rules are tighter).
MAX_FIELD: Final = 2000
MAX_FORM_FIELDS: Final = 120


@dataclass(frozen=True)
class Spec:
    """One input of the form."""

    name: str
    zh: str
    en: str
    kinds: frozenset[Kind] = _ALL
    type: str = "text"  # text | date | select | textarea | region | regions | numbers
    required: bool = False
    options: tuple[tuple[str, str], ...] = ()  # (value, label) for selects
    hint: tuple[str, str] = ("", "")


@dataclass(frozen=True)
class Group:
    zh: str
    en: str
    specs: tuple[Spec, ...]


_STATEMENT_OPTIONS = tuple((zh, zh) for zh, _ in STATEMENTS.values())
_CONVEYANCES = tuple((v, v) for v in CONVEYANCE_TYPES.values())
_SCOPES = (("INTRA_PROVINCE", "省内 / intra-province"), ("INTER_PROVINCE", "出省 / inter-province"))
_PROVINCES = (
    ("", "—"),
    ("310000", "上海市 310000"),
    ("320000", "江苏省 320000"),
    ("330000", "浙江省 330000"),
    ("340000", "安徽省 340000"),
)

GROUPS: Final = (
    Group(
        "签发机关与检疫员",
        "Issuing agency and officer",
        (
            Spec("issuing_agency.region", "签发机关区划代码", "Issuing agency (region)", type="region", required=True),
            Spec("issuing_agency.name", "签发机关名称", "Issuing agency name"),
            Spec("delegating_agency.region", "委托机关（省级）", "Delegating provincial agency", type="select", options=_PROVINCES),
            Spec("delegating_agency.name", "委托机关名称", "Delegating agency name"),
            Spec("officer.name", "检疫员", "Officer", required=True),
            Spec("officer.number", "检疫员编号", "Officer number", required=True),
        ),
    ),
    Group(
        "当事人",
        "Parties",
        (
            Spec("scope", "范围", "Scope", _T, "select", True, _SCOPES),
            Spec("consignor.name", "调运单位（人）", "Consignor", _T, required=True),
            Spec("consignor.address", "调运单位地址", "Consignor address", _T),
            Spec("consignor.registration", "检疫登记号", "Registration No.", _T),
            Spec("agent.name", "经办人", "Agent", _T),
            Spec("agent.id_number", "经办人身份证号", "Agent ID number", _T, hint=("不写入二维码", "never put into the QR")),
            Spec("agent.phone", "经办人电话", "Agent phone", _T),
            Spec("producer.name", "生产单位（人）", "Producer", frozenset({Kind.PRODUCING_AREA}), required=True),
            Spec("producer.address", "生产单位地址", "Producer address", frozenset({Kind.PRODUCING_AREA})),
            Spec("producer.registration", "检疫登记号", "Registration No.", frozenset({Kind.PRODUCING_AREA})),
            Spec("consignee.name", "收货单位（人）", "Consignee", frozenset({Kind.TRANSPORT, Kind.REQUIREMENT}), required=True),
            Spec("consignee.address", "收货单位地址", "Consignee address", frozenset({Kind.TRANSPORT, Kind.REQUIREMENT})),
            Spec("consignee.registration", "收货单位登记号", "Consignee registration No.", frozenset({Kind.REQUIREMENT})),
            Spec("origin", "产地（来源）", "Origin", frozenset({Kind.TRANSPORT, Kind.PRODUCING_AREA})),
            Spec("category", "品类", "Category", frozenset({Kind.REQUIREMENT}), required=True),
            Spec("requirements", "检疫要求", "Requirements", frozenset({Kind.REQUIREMENT}), "textarea"),
            Spec("project.name", "工程名称", "Project", frozenset({Kind.PROJECT}), required=True),
            Spec("project.district", "工程所在区", "Project district", frozenset({Kind.PROJECT}), "region", True),
            Spec("project.contractor", "施工单位", "Contractor", frozenset({Kind.PROJECT})),
            Spec("project.site", "工程地点", "Site", frozenset({Kind.PROJECT})),
        ),
    ),
    Group(
        "运输",
        "Transport",
        (
            Spec("conveyance.type", "运输工具", "Conveyance", _T, "select", True, _CONVEYANCES),
            Spec("conveyance.identifier", "车牌或班次", "Plate or number", _T),
            Spec("route.from", "起运地区划代码", "From (region)", _T, "region", True),
            Spec("route.via", "途经地区划代码", "Via (regions)", _T, "regions", hint=("多个用逗号分隔", "separate with commas")),
            Spec("route.to", "到达地区划代码", "To (region)", _T, "region", True),
            Spec("route.text", "运输路线说明", "Route description", _T),
        ),
    ),
    Group(
        "有效期与检疫结果",
        "Validity and result",
        (
            Spec("valid_from", "有效期起", "Valid from", type="date", required=True),
            Spec("valid_to", "有效期止", "Valid to", type="date", required=True),
            Spec("statement", "检疫结果", "Result statement", type="select", required=True, options=_STATEMENT_OPTIONS),
        ),
    ),
    Group(
        "关联证书",
        "References",
        (
            Spec("references.producing_area_pass", "产地检疫合格证编号", "Producing-area pass No.", _T),
            Spec("references.requirement_letter", "检疫要求书编号", "Requirement letter No.", _T),
            Spec("references.certificates", "复验所依据的证书编号", "Certificates re-inspected", frozenset({Kind.PROJECT}), "numbers", True, hint=("每行或以逗号分隔一个编号", "one number per line or comma")),
        ),
    ),
)  # fmt: skip

#: The default statement of each kind (STATEMENTS codes).
_DEFAULT_STATEMENT: Final = {
    Kind.TRANSPORT: 2,
    Kind.PRODUCING_AREA: 3,
    Kind.REQUIREMENT: 4,
    Kind.PROJECT: 5,
}
_DEFAULT_DAYS: Final = {
    Kind.TRANSPORT: 30,
    Kind.PRODUCING_AREA: 90,
    Kind.REQUIREMENT: 365,
    Kind.PROJECT: 365,
}
_SPLIT = re.compile(r"[\s,，、;；]+")
_UNIT_OPTIONS: Final = tuple(UNITS.values())


def groups_for(kind: Kind) -> list[Group]:
    out = []
    for group in GROUPS:
        specs = tuple(s for s in group.specs if kind in s.kinds)
        if specs:
            out.append(Group(group.zh, group.en, specs))
    return out


def specs_for(kind: Kind) -> list[Spec]:
    return [s for g in groups_for(kind) for s in g.specs]


def unit_options() -> tuple[str, ...]:
    return _UNIT_OPTIONS


def defaults(kind: Kind, region: str, today: date) -> dict[str, str]:
    """Values of a new form: the issuer's region, today, the kind's standard statement."""
    province = region[:2] + "0000"
    values = {
        "issuing_agency.region": region,
        "valid_from": today.isoformat(),
        "valid_to": (today + timedelta(days=_DEFAULT_DAYS[kind] - 1)).isoformat(),
        "statement": STATEMENTS[_DEFAULT_STATEMENT[kind]][0],
    }
    if region != province:
        values["delegating_agency.region"] = province
    if kind is Kind.TRANSPORT:
        values["scope"] = "INTRA_PROVINCE"
        values["conveyance.type"] = CONVEYANCE_TYPES[1]
        values["route.from"] = region
    if kind is Kind.PROJECT:
        values["project.district"] = region
    return values


def _set(doc: dict[str, Any], path: str, value: Any) -> None:
    head, _, rest = path.partition(".")
    if not rest:
        doc[head] = value
        return
    child = doc.setdefault(head, {})
    if isinstance(child, dict):
        _set(child, rest, value)


def clean(form: Mapping[str, Any]) -> dict[str, str]:
    """The form's text fields (first value each), stripped; files and oversize dropped."""
    out: dict[str, str] = {}
    for key, value in list(form.items())[:MAX_FORM_FIELDS]:
        if isinstance(value, str) and len(key) <= 60:
            out[key] = value.strip()[:MAX_FIELD]
    return out


def to_document(kind: Kind, values: Mapping[str, str]) -> dict[str, Any]:
    """The certificate document the form describes (empty inputs left out)."""
    doc: dict[str, Any] = {"kind": kind.value}
    for spec in specs_for(kind):
        value = values.get(spec.name, "")
        if not value:
            continue
        if spec.type in ("regions", "numbers"):
            _set(doc, spec.name, [v for v in _SPLIT.split(value) if v])
        else:
            _set(doc, spec.name, value)
    if kind is Kind.TRANSPORT and "route" in doc:
        doc["route"].setdefault("via", [])
    items = []
    for i in range(MAX_ROWS):
        row = {k: values.get(f"items[{i}].{k}", "") for k in ITEM_KEYS}
        if any(row.values()):
            items.append({k: v for k, v in row.items() if v or k == "quantity"})
    doc["items"] = items
    return doc


def from_document(doc: Mapping[str, Any], kind: Kind) -> dict[str, str]:
    """Form values of a stored record (a re-issue starts from the original).

    The agent's ID number is left out: the registry keeps it, the form asks again.
    """
    values: dict[str, str] = {}
    for spec in specs_for(kind):
        if spec.name == "agent.id_number":
            continue
        node: Any = doc
        for part in spec.name.split("."):
            node = node.get(part) if isinstance(node, Mapping) else None
        if isinstance(node, list):
            values[spec.name] = ", ".join(str(v) for v in node)
        elif node not in (None, ""):
            values[spec.name] = str(node)
    for i, item in enumerate(doc.get("items", [])[:MAX_ROWS]):
        if isinstance(item, Mapping):
            for k in ITEM_KEYS:
                if item.get(k) not in (None, ""):
                    values[f"items[{i}].{k}"] = str(item[k])
    return values


def row_count(values: Mapping[str, str]) -> int:
    """Rows of goods to show: the filled ones and blank ones up to ``BLANK_ROWS`` (≤ 10)."""
    used = [i for i in range(MAX_ROWS) if any(values.get(f"items[{i}].{k}") for k in ITEM_KEYS)]
    return min(MAX_ROWS, max(BLANK_ROWS, (used[-1] + 2) if used else 0))


_INDEX = re.compile(r"\[\d+\]$")


@dataclass
class Problems:
    """Problems by input name, and those that belong to no single input."""

    by_field: dict[str, list[Problem]] = field(default_factory=dict)
    general: list[Problem] = field(default_factory=list)
    every: list[Problem] = field(default_factory=list)
    #: The label (Chinese, English) of each problem's field, for the summary.
    labels: dict[str, tuple[str, str]] = field(default_factory=dict)

    def of(self, name: str) -> list[Problem]:
        return self.by_field.get(name, [])


def sort_problems(kind: Kind, problems: Iterable[Problem]) -> Problems:
    names = {s.name for s in specs_for(kind)} | {"reason"}  # a re-issue's reason
    first_child: dict[str, str] = {}
    for s in specs_for(kind):
        first_child.setdefault(s.name.split(".", 1)[0], s.name)
    out = Problems()
    for p in problems:
        out.every.append(p)
        name = p.field
        if name.startswith("items"):
            target = name if re.match(r"^items\[\d+\]\.\w+$", name) else ""
        else:
            base = _INDEX.sub("", name)
            target = base if base in names else first_child.get(base, "")
        if target:
            out.by_field.setdefault(target, []).append(p)
        else:
            out.general.append(p)
        out.labels[p.field] = _label(kind, target or p.field)
    return out


def _label(kind: Kind, name: str) -> tuple[str, str]:
    row = re.match(r"^items\[(\d+)\]\.(\w+)$", name)
    if row:
        zh, en = ITEM_LABELS.get(row.group(2), (row.group(2), row.group(2)))
        n = int(row.group(1)) + 1
        return f"货物第 {n} 行 · {zh}", f"goods line {n} · {en}"
    if name == "items":
        return "货物", "goods"
    if name == "reason":
        return "原因", "reason"
    for spec in specs_for(kind):
        if spec.name == name:
            return spec.zh, spec.en
    return name, name
