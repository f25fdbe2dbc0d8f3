"""The printed form as data: what goes where, in Chinese with English labels.

:func:`build_form` turns a :class:`~quarantine.core.model.Certificate` into a
:class:`Form` that both the HTML and the raster renderers draw, so the two
outputs always show the same fields with the same labels.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Final

from quarantine.core.model import CHINA_TZ, Agency, Certificate, Kind, Party, Scope
from quarantine.core.vocab import STATEMENTS, statement_code

RegionName = Callable[[str], str]

RULE_ZH: Final = "转让、涂改或重复使用无效；一车一证，全程有效"
RULE_EN: Final = "Void if transferred, altered or reused. One vehicle, one certificate, valid for the whole route."
BLANK_BELOW_ZH: Final = "以下空白"
BLANK_BELOW_EN: Final = "blank below"
CAPTION_ZH: Final = "扫码核验"
CAPTION_EN: Final = "Scan to verify"
SEAL_ZH: Final = "（植物检疫专用章）"
SEAL_EN: Final = "(official plant quarantine seal)"
FOOTER_ZH: Final = "长三角区域林业植物检疫 · 扫描二维码可离线核验证书内容、签名与状态"
FOOTER_EN: Final = (
    "Yangtze River Delta forestry plant quarantine · scan the QR code to verify content, "
    "signature and status"
)
DASH: Final = "—"


def code_only(code: str) -> str:
    """Default ``region_name``: the code itself."""
    return code


@dataclass(frozen=True)
class Cell:
    """One labelled value of the form."""

    key: str  # field path, e.g. "consignor.name"
    label_zh: str
    label_en: str
    value: str
    weight: float = 1.0  # relative width of the value cell within its row
    note: str = ""  # a second, smaller line (English gloss)


@dataclass(frozen=True)
class Column:
    """A column of the line-item table."""

    key: str
    label_zh: str
    label_en: str
    weight: float
    align: str = "left"  # left / center / right


ITEM_COLUMNS: Final = (
    Column("no", "序号", "No.", 0.55, "center"),
    Column("product", "品名", "Product", 1.6),
    Column("variety", "品种/材种", "Variety / timber", 1.9),
    Column("specification", "规格", "Specification", 1.4),
    Column("unit", "单位", "Unit", 0.75, "center"),
    Column("quantity", "数量", "Quantity", 1.0, "right"),
    Column("remarks", "备注", "Remarks", 2.4),
)


@dataclass(frozen=True)
class Form:
    """Everything printed on one certificate."""

    kind: Kind
    title_zh: str
    title_en: str
    scope_zh: str
    scope_en: str
    number: str
    agencies: tuple[Cell, ...]
    rows: tuple[tuple[Cell, ...], ...]  # before the item table
    items: tuple[tuple[str, ...], ...]  # one tuple per line item, in ITEM_COLUMNS order
    blank_below: bool  # print 以下空白 after the last item
    after: tuple[tuple[Cell, ...], ...]  # after the item table: result, references
    seal: Cell
    officer: Cell
    issued: Cell
    rule_zh: str
    rule_en: str
    qr_text: str


def cn_date(value: date) -> str:
    """``2026年11月28日``."""
    return f"{value.year}年{value.month:02d}月{value.day:02d}日"


def quantity_text(q: Decimal) -> str:
    """A quantity without exponent or trailing zeros: ``3000``, ``12.5``."""
    return format(q.normalize(), "f")


def place(code: str, region_name: RegionName) -> str:
    """``浙江省杭州市萧山区（330109）`` or just the code when no name is known."""
    if not code:
        return ""
    name = region_name(code)
    return code if not name or name == code else f"{name}（{code}）"


def _agency(agency: Agency, region_name: RegionName) -> str:
    if agency.name:
        return f"{agency.name}（{agency.region}）" if agency.region else agency.name
    return place(agency.region, region_name)


def _party_cells(key: str, label_zh: str, label_en: str, party: Party | None) -> list[Cell]:
    p = party or Party("")
    name = p.name
    if p.registration:
        name = f"{name}（检疫登记号 Reg. {p.registration}）" if name else p.registration
    return [
        Cell(f"{key}.name", label_zh, label_en, name, 1.0),
        Cell(f"{key}.address", "地址", "Address", p.address, 1.35),
    ]


def build_form(cert: Certificate, qr_text: str, region_name: RegionName = code_only) -> Form:
    """Lay out the fields of ``cert`` as the official form of its kind."""
    kind = cert.kind
    scope_zh, scope_en = "", ""
    if kind is Kind.TRANSPORT and cert.scope is not None:
        scope_zh, scope_en = (
            ("省内", "intra-province")
            if cert.scope is Scope.INTRA_PROVINCE
            else ("出省", "inter-province")
        )
    agencies = [
        Cell(
            "issuing_agency",
            "签发机关",
            "Issuing agency",
            _agency(cert.issuing_agency, region_name),
            1.3,
        )
    ]
    if cert.delegating_agency is not None:
        agencies.append(
            Cell(
                "delegating_agency",
                "委托机关",
                "Delegating agency",
                _agency(cert.delegating_agency, region_name),
            )
        )

    rows: list[tuple[Cell, ...]] = []
    transport = kind is Kind.TRANSPORT
    if kind is Kind.PROJECT and cert.project is not None:
        pr = cert.project
        rows.append(
            (
                Cell("project.name", "工程名称", "Project", pr.name, 1.0),
                Cell(
                    "project.district", "所在区", "District", place(pr.district, region_name), 1.0
                ),
            )
        )
        if pr.contractor or pr.site:
            rows.append(
                (
                    Cell("project.contractor", "施工单位", "Contractor", pr.contractor, 1.0),
                    Cell("project.site", "工程地点", "Site", pr.site, 1.35),
                )
            )
    if kind is Kind.PRODUCING_AREA or cert.producer is not None:
        rows.append(tuple(_party_cells("producer", "生产单位/人", "Producer", cert.producer)))
    if transport or cert.consignor is not None:
        rows.append(tuple(_party_cells("consignor", "调运单位/人", "Consignor", cert.consignor)))
    if transport or cert.agent is not None:
        agent = cert.agent
        rows.append(
            (
                Cell("agent.name", "经办人", "Agent", agent.name if agent else "", 0.8),
                Cell(
                    "agent.id_masked", "身份证号", "ID no.", agent.id_masked if agent else "", 1.0
                ),
                Cell("agent.phone", "联系电话", "Phone", agent.phone if agent else "", 0.8),
            )
        )
    consignee_label = ("调入单位/人", "Consignee") if kind is Kind.REQUIREMENT else None
    if transport or kind is Kind.REQUIREMENT or cert.consignee is not None:
        zh, en = consignee_label or ("收货单位/人", "Consignee")
        rows.append(tuple(_party_cells("consignee", zh, en, cert.consignee)))
    if kind is Kind.REQUIREMENT or cert.category:
        rows.append((Cell("category", "调入品类", "Product category", cert.category),))
    if kind is Kind.REQUIREMENT or cert.requirements:
        rows.append((Cell("requirements", "检疫要求", "Requirements", cert.requirements),))
    if transport or kind is Kind.PRODUCING_AREA or cert.origin:
        origin_label = "产地" if kind is Kind.PRODUCING_AREA else "来源/产地"
        rows.append((Cell("origin", origin_label, "Origin", cert.origin),))
    if transport or cert.conveyance is not None:
        conv = cert.conveyance
        rows.append(
            (
                Cell("conveyance.type", "运输工具", "Conveyance", conv.type if conv else "", 1.0),
                Cell(
                    "conveyance.identifier",
                    "车船号/编号",
                    "Plate / number",
                    conv.identifier if conv else "",
                    1.0,
                ),
            )
        )
    if transport or cert.route is not None:
        route = cert.route
        if route is not None:
            via = "、".join(place(code, region_name) for code in route.via) or DASH
            value = (
                f"自 {place(route.origin, region_name)}　经 {via}　"
                f"至 {place(route.destination, region_name)}"
            )
            text = route.text
        else:
            value, text = "", ""
        rows.append((Cell("route", "运输起讫", "Route from / via / to", value, note=text),))
    rows.append(
        (
            Cell(
                "validity",
                "有效期",
                "Valid",
                f"自 {cn_date(cert.valid_from)} 至 {cn_date(cert.valid_to)}",
                note=f"from {cert.valid_from.isoformat()} to {cert.valid_to.isoformat()}",
            ),
        )
    )

    items = tuple(
        (
            str(i),
            it.product,
            it.variety,
            it.specification,
            it.unit,
            quantity_text(it.quantity),
            it.remarks,
        )
        for i, it in enumerate(cert.items, start=1)
    )

    after: list[tuple[Cell, ...]] = []
    code = statement_code(cert.statement)
    gloss = STATEMENTS[code][1] if code is not None else ""
    after.append((Cell("statement", "检疫结果", "Result", cert.statement, note=gloss),))
    refs = cert.references
    ref_cells = [
        Cell(
            "references.producing_area_pass",
            "产地检疫合格证",
            "Producing-area pass",
            refs.producing_area_pass,
        ),
        Cell(
            "references.requirement_letter",
            "植物检疫要求书",
            "Requirement letter",
            refs.requirement_letter,
        ),
    ]
    if refs.original:
        ref_cells.append(Cell("references.original", "原证书（换证）", "Replaces", refs.original))
    shown = [c for c in ref_cells if c.value] or ([] if kind is Kind.PROJECT else ref_cells[:2])
    if shown:
        after.append(tuple(shown))
    if kind is Kind.PROJECT or refs.certificates:
        after.append(
            (
                Cell(
                    "references.certificates",
                    "复验证书",
                    "Certificates re-inspected",
                    "、".join(refs.certificates),
                ),
            )
        )

    issued_day = cert.issued_at.astimezone(CHINA_TZ).date()
    officer = cert.officer
    officer_text = (
        f"{officer.name}（{officer.number}）"
        if officer.name and officer.number
        else officer.name or officer.number
    )
    return Form(
        kind=kind,
        title_zh=kind.title_zh,
        title_en=kind.title_en,
        scope_zh=scope_zh,
        scope_en=scope_en,
        number=str(cert.number),
        agencies=tuple(agencies),
        rows=tuple(rows),
        items=items,
        blank_below=len(items) < 10,
        after=tuple(after),
        seal=Cell(
            "seal",
            "签发机关",
            "Issuing agency",
            _agency(cert.issuing_agency, region_name),
            note=f"{SEAL_ZH} {SEAL_EN}",
        ),
        officer=Cell("officer", "检疫员", "Quarantine officer", officer_text),
        issued=Cell(
            "issued_at",
            "签证日期",
            "Date of issue",
            cn_date(issued_day),
            note=issued_day.isoformat(),
        ),
        rule_zh=RULE_ZH if transport else "",
        rule_en=RULE_EN if transport else "",
        qr_text=qr_text,
    )
