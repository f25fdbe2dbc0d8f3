"""Greening-project acceptance (工程植物检疫复验, 调运检疫证书免交): pure rules.

A project (name, district, contractor, site) collects its plant material by
certificate number or by a scanned QR: nothing is re-submitted on paper.  Each
batch is checked for validity and mutual recognition in the project's region
at the time of planting (the check itself is the recognition rules'; here it
arrives as a :class:`MaterialCheck`), then re-inspected on site.

:func:`decide` says whether the project can be given its PROJECT certificate:
``READY`` when every batch was accepted at planting and passed re-inspection;
``FAILED`` naming each batch that was refused or failed, and why; ``PENDING``
while some batch awaits its re-inspection; ``EMPTY`` with no batch at all.
:func:`project_document` builds the PROJECT certificate document (for the
issuing service) that lists the certificates it rests on and sums their goods.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Final

from quarantine.core.model import CHINA_TZ, Certificate, Kind, LineItem

MAX_BATCHES: Final = 50  # a PROJECT record lists at most 50 certificates (codec limit)
MAX_ITEMS: Final = 10  # and at most 10 lines of goods
PROJECT_STATEMENT: Final = "经复验，工程所用植物材料检疫合格，准予使用。"

#: Problem code → (Chinese, English).
PROBLEMS: Final = MappingProxyType(
    {
        "MATERIAL_REFUSED": (
            "种植时证书未获有效认可",
            "The certificate was not valid and recognised at planting",
        ),
        "REINSPECTION_FAILED": ("复验不合格", "Failed re-inspection"),
        "REINSPECTION_PENDING": ("尚未复验", "Not yet re-inspected"),
        "NO_BATCHES": ("工程尚未登记任何植物材料", "No plant material is registered"),
        "TOO_MANY_BATCHES": (
            f"一个复验记录最多列出 {MAX_BATCHES} 份证书",
            f"A re-inspection record lists at most {MAX_BATCHES} certificates",
        ),
        "TOO_MANY_PRODUCTS": (
            f"合计品种超过 {MAX_ITEMS} 行",
            f"More than {MAX_ITEMS} lines of goods in total",
        ),
    }
)


class DecisionState(StrEnum):
    READY = "READY"
    PENDING = "PENDING"
    FAILED = "FAILED"
    EMPTY = "EMPTY"


@dataclass(frozen=True)
class MaterialCheck:
    """The validity and recognition check of one certificate at planting."""

    number: str
    at: datetime
    accepted: bool
    reasons: tuple[str, ...] = ()  # reason codes of the recognition check


@dataclass(frozen=True)
class Reinspection:
    """The on-site re-inspection of one batch."""

    at: datetime
    passed: bool
    inspector: str = ""
    note: str = ""


@dataclass(frozen=True)
class Batch:
    """Plant material of one certificate delivered to the project."""

    certificate: Certificate
    check: MaterialCheck
    reinspection: Reinspection | None = None

    @property
    def number(self) -> str:
        return str(self.certificate.number)


@dataclass(frozen=True)
class ProjectCase:
    name: str
    district: str  # GB/T 2260 code of the project's district
    contractor: str = ""
    site: str = ""
    batches: tuple[Batch, ...] = ()


@dataclass(frozen=True)
class Problem:
    code: str
    number: str = ""  # the batch's certificate, "" for the whole project
    detail: str = ""

    @property
    def message_zh(self) -> str:
        return PROBLEMS[self.code][0]

    @property
    def message_en(self) -> str:
        return PROBLEMS[self.code][1]


@dataclass(frozen=True)
class Decision:
    state: DecisionState
    problems: tuple[Problem, ...] = ()

    @property
    def ready(self) -> bool:
        return self.state is DecisionState.READY


def _sum_items(batches: Sequence[Batch]) -> list[LineItem]:
    """Goods of every batch, lines of the same product, spec and unit added up."""
    totals: dict[tuple[str, str, str, str], Decimal] = {}
    for batch in batches:
        for item in batch.certificate.items:
            key = (item.product, item.variety, item.specification, item.unit)
            totals[key] = totals.get(key, Decimal(0)) + item.quantity
    return [
        LineItem(product=p, variety=v, specification=s, unit=u, quantity=q)
        for (p, v, s, u), q in totals.items()
    ]


def decide(project: ProjectCase) -> Decision:
    """Whether the PROJECT certificate can be issued, and if not, why."""
    if not project.batches:
        return Decision(DecisionState.EMPTY, (Problem("NO_BATCHES"),))
    failed: list[Problem] = []
    pending: list[Problem] = []
    for batch in project.batches:
        if not batch.check.accepted:
            detail = ",".join(batch.check.reasons)
            failed.append(Problem("MATERIAL_REFUSED", batch.number, detail))
        elif batch.reinspection is None:
            pending.append(Problem("REINSPECTION_PENDING", batch.number))
        elif not batch.reinspection.passed:
            failed.append(Problem("REINSPECTION_FAILED", batch.number, batch.reinspection.note))
    if len({b.number for b in project.batches}) > MAX_BATCHES:
        failed.append(Problem("TOO_MANY_BATCHES"))
    if len(_sum_items(project.batches)) > MAX_ITEMS:
        failed.append(Problem("TOO_MANY_PRODUCTS"))
    if failed:
        return Decision(DecisionState.FAILED, tuple(failed + pending))
    if pending:
        return Decision(DecisionState.PENDING, tuple(pending))
    return Decision(DecisionState.READY)


def project_document(
    project: ProjectCase,
    *,
    agency: dict[str, str],
    officer: dict[str, str],
    now: datetime,
    valid_to: date,
) -> dict[str, Any]:
    """The PROJECT certificate document for a READY project (for the issuing service)."""
    decision = decide(project)
    if not decision.ready:
        raise ValueError(f"project is not ready: {decision.state}")
    numbers = list(dict.fromkeys(b.number for b in project.batches))
    return {
        "kind": Kind.PROJECT.value,
        "issuing_agency": dict(agency),
        "officer": dict(officer),
        "project": {
            "name": project.name,
            "district": project.district,
            "contractor": project.contractor,
            "site": project.site,
        },
        "valid_from": now.astimezone(CHINA_TZ).date().isoformat(),
        "valid_to": valid_to.isoformat(),
        "items": [
            {
                "product": i.product,
                "variety": i.variety,
                "specification": i.specification,
                "unit": i.unit,
                "quantity": int(i.quantity)
                if i.quantity == i.quantity.to_integral_value()
                else str(i.quantity.normalize()),
            }
            for i in _sum_items(project.batches)
        ],
        "references": {"certificates": numbers},
        "statement": PROJECT_STATEMENT,
        "issued_at": now.astimezone(CHINA_TZ).isoformat(timespec="seconds"),
    }
