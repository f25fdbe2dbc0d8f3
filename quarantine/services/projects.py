"""Greening-project acceptance (工程植物检疫复验, 调运检疫证书免交): use cases.

A project (name, district, contractor, site) collects its plant material by
certificate number or by a scanned QR text (checked with the verifier; its number
is taken from the signed content) — nothing re-submitted on paper.  Each
certificate is checked for validity and mutual recognition in the project's
district at the time it is added (planting), then re-inspected on site.  When
:func:`quarantine.core.acceptance.decide` says ``READY`` the PROJECT certificate
is issued through the registry's issuing use case with the certificates it rests
on as its references; otherwise the answer names each batch and why.

The caller owns the transaction; nothing here commits.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Final

from sqlalchemy.orm import Session

from quarantine.core.acceptance import (
    Batch,
    Decision,
    DecisionState,
    MaterialCheck,
    ProjectCase,
    Reinspection,
    decide,
    project_document,
)
from quarantine.core.model import CHINA_TZ, NUMBER_RE
from quarantine.core.recognition import Agreement, Recognition, SharedRecord, recognise
from quarantine.core.trust import TrustList
from quarantine.core.verify import verify_text
from quarantine.errors import InputError
from quarantine.services import inspection
from quarantine.services.authz import Principal, Role
from quarantine.services.inspection import Conflict, NotFound, load_known, may_act_in
from quarantine.services.registry import Issued, SignerFor
from quarantine.storage import inspection as store
from quarantine.storage._common import check_region, check_whole

MAX_QR_TEXT: Final = 8000
PROJECT_ROLES: Final = (Role.INSPECTOR, Role.ISSUER)


@dataclass(frozen=True)
class RecognitionContext:
    """What the recognition check at planting needs (the node's federation settings)."""

    trust: TrustList
    agreement: Agreement
    skew: timedelta
    own_region: str
    stale_after: timedelta


def _project(session: Session, project_id: str, *, lock: bool = False) -> store.StoredProject:
    found = None
    if 0 < len(project_id) <= 32 and project_id.replace("_", "").isalnum():
        found = store.get_project(session, project_id, lock=lock)
    if found is None:
        raise NotFound("PROJECT_NOT_FOUND", "没有此工程", "no such project")
    return found


def _open(project: store.StoredProject) -> None:
    if project.certificate:
        raise Conflict(
            "PROJECT_CERTIFIED",
            f"工程已签发复验证书 {project.certificate}",
            f"the project's certificate {project.certificate} was already issued",
        )


def create_project(
    session: Session, doc: Mapping[str, Any], principal: Principal, *, now: datetime
) -> store.StoredProject:
    """A new project of a district (inspectors or issuers of the district; admins)."""
    unknown = set(doc) - {"name", "district", "contractor", "site"}
    if unknown:
        raise InputError(
            "REQUEST_INVALID", "请求含未知字段", f"unknown fields: {', '.join(sorted(unknown))}"
        )
    name = inspection.clean_text(doc.get("name"), 200, "name", required=True)
    district = inspection.clean_text(doc.get("district"), 6, "district", required=True)
    if district not in inspection.regions():
        raise InputError(
            "UNKNOWN_REGION", "不是长三角的行政区划代码", "not a Yangtze River Delta region code"
        )
    may_act_in(principal, district, PROJECT_ROLES)
    project_id = "prj_" + secrets.token_hex(8)
    store.add_project(
        session,
        {
            "id": project_id,
            "name": name,
            "district": district,
            "contractor": inspection.clean_text(doc.get("contractor"), 200, "contractor"),
            "site": inspection.clean_text(doc.get("site"), 500, "site"),
            "created_by": principal.actor,
            "created_at": now,
            "certificate": "",
            "issued_at": None,
        },
    )
    return _project(session, project_id)


def get_project(session: Session, project_id: str, principal: Principal) -> store.StoredProject:
    if principal.role is Role.PUBLIC:
        raise inspection.Forbidden("FORBIDDEN", "需要令牌", "this needs an API token")
    return _project(session, project_id)


def _recognition(
    session: Session, number: str, district: str, ctx: RecognitionContext, now: datetime
) -> Recognition:
    """Recognition in ``district`` now: the shared view, else this registry's own record."""
    from quarantine.federation.service import check_recognition

    result = check_recognition(
        session,
        number,
        district,
        at=now,
        trust=ctx.trust,
        agreement=ctx.agreement,
        skew=ctx.skew,
        own_region=ctx.own_region,
        stale_after=ctx.stale_after,
        now=now,
    )
    if result.codes != ("UNKNOWN_TO_REGISTRY",):
        return result
    known = load_known(session, [number]).get(number)
    if known is None or not known.local:
        return result
    from quarantine.storage import federation as fed
    from quarantine.storage.certificates import CertificateStore

    stored = CertificateStore(session).get(number)
    assert stored is not None
    cert = known.certificate
    parties = (cert.consignor, cert.consignee, cert.producer)
    bars = fed.bars_of(session, [p.registration for p in parties if p is not None])
    return recognise(
        SharedRecord(cert, bytes.fromhex(stored.kid), known.events),
        region=district,
        at=now,
        trust=ctx.trust,
        agreement=ctx.agreement,
        barred=bars,
        skew=ctx.skew,
    )


def add_material(
    session: Session,
    project_id: str,
    doc: Mapping[str, Any],
    principal: Principal,
    *,
    ctx: RecognitionContext,
    now: datetime,
) -> tuple[store.StoredProject, Recognition]:
    """Add a certificate's material by ``number`` or by ``qr_text``; check it at planting.

    A QR text is verified (its signature must be a member's); its number is what
    counts.  A certificate already added is checked again.
    """
    unknown = set(doc) - {"number", "qr_text"}
    if unknown:
        raise InputError(
            "REQUEST_INVALID", "请求含未知字段", f"unknown fields: {', '.join(sorted(unknown))}"
        )
    number, qr = doc.get("number"), doc.get("qr_text")
    if (number is None) == (qr is None):
        raise InputError(
            "MATERIAL_NUMBER_OR_QR",
            "须给出证书编号（number）或二维码文本（qr_text）之一",
            "give exactly one of number and qr_text",
        )
    project = _project(session, project_id, lock=True)
    may_act_in(principal, project.district, PROJECT_ROLES)
    _open(project)
    source = "NUMBER"
    if qr is not None:
        if not isinstance(qr, str) or not 0 < len(qr) <= MAX_QR_TEXT:
            raise InputError(
                "MATERIAL_QR_INVALID", "二维码文本无效", "qr_text must be 1-8000 characters"
            )
        report = verify_text(qr, trust=ctx.trust, now=now, skew=ctx.skew)
        if report.certificate is None:
            raise InputError(
                "MATERIAL_QR_INVALID",
                "二维码不是联盟成员签发的有效证书（" + ",".join(report.codes) + "）",
                "the QR is not a certificate signed by a member (" + ",".join(report.codes) + ")",
            )
        number = str(report.certificate.number)
        source = "QR"
    if not isinstance(number, str) or not NUMBER_RE.match(number):
        raise InputError(
            "BAD_NUMBER",
            "证书编号格式应为 行政区划代码-年份-六位序号",
            "number must be RRRRRR-YYYY-NNNNNN",
        )
    result = _recognition(session, number, project.district, ctx, now)
    if result.codes == ("UNKNOWN_TO_REGISTRY",):
        raise NotFound(
            "CERTIFICATE_NOT_FOUND",
            f"登记系统与共享记录中没有证书 {number}",
            f"certificate {number} is neither in the registry nor in the shared records",
        )
    store.upsert_batch(
        session,
        project_id,
        {
            "number": number,
            "source": source,
            "added_by": principal.actor,
            "checked_at": now,
            "accepted": result.recognised,
            "reasons": list(result.codes),
        },
    )
    return _project(session, project_id), result


def record_reinspection(
    session: Session,
    project_id: str,
    number: str,
    *,
    passed: object,
    note: object,
    principal: Principal,
    now: datetime,
) -> store.StoredProject:
    """The on-site re-inspection of one batch (inspectors of the district; admins)."""
    if not isinstance(passed, bool):
        raise InputError("BAD_RESULT", "passed 须为 true 或 false", "passed must be true or false")
    text = inspection.clean_text(note, inspection.MAX_NOTE, "note", required=not passed)
    project = _project(session, project_id, lock=True)
    may_act_in(principal, project.district, (Role.INSPECTOR,))
    _open(project)
    if not NUMBER_RE.match(number) or not store.set_reinspection(
        session, project_id, number, passed=passed, note=text, inspector=principal.actor, at=now
    ):
        raise NotFound(
            "BATCH_NOT_FOUND",
            f"工程中没有证书 {number[:40]} 的植物材料",
            f"the project has no material of certificate {number[:40]}",
        )
    return _project(session, project_id)


def case_of(session: Session, project: store.StoredProject) -> ProjectCase:
    return _case(project, load_known(session, [b.number for b in project.batches]))


def _case(project: store.StoredProject, known: Mapping[str, inspection.Known]) -> ProjectCase:
    batches = []
    for b in project.batches:
        k = known.get(b.number)
        if k is None:  # was known when added; a registry never forgets a record
            continue
        check = MaterialCheck(b.number, b.checked_at, b.accepted, b.reasons)
        re = None
        if b.reinspected_at is not None and b.passed is not None:
            re = Reinspection(b.reinspected_at, b.passed, b.inspector, b.reinspection_note)
        batches.append(Batch(k.certificate, check, re))
    return ProjectCase(
        project.name, project.district, project.contractor, project.site, tuple(batches)
    )


def decision_of(session: Session, project: store.StoredProject) -> Decision:
    return decide(case_of(session, project))


#: Projects per page of a list (the API's default and bound; the console shows 20).
PAGE_SIZE: Final = 20
MAX_PAGE_SIZE: Final = 50
MAX_PAGE: Final = 5000
ISSUED: Final = "ISSUED"


@dataclass(frozen=True)
class ProjectSummary:
    """A project in a list: its state is the project page's decision, or ``ISSUED``."""

    project: store.StoredProject
    state: str  # READY, PENDING, FAILED, EMPTY or ISSUED


@dataclass(frozen=True)
class ProjectPage:
    region: str  # the region listed ("" = every region, for admins)
    total: int
    page: int
    per_page: int
    items: tuple[ProjectSummary, ...]

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def list_projects(
    session: Session,
    principal: Principal,
    *,
    district: str = "",
    page: str | int = 1,
    per_page: str | int = PAGE_SIZE,
) -> ProjectPage:
    """Projects of ``district`` (a district, or a city or province code covering districts;
    default: the caller's region), newest first, each with its state.

    Inspectors or issuers of a region covering ``district``; admins (every region when
    no district is given).  The state is :func:`decision_of`'s, computed for the page
    with a fixed number of statements (projects, their batches, their certificates).
    """
    if principal.role is Role.PUBLIC:
        raise inspection.Forbidden("FORBIDDEN", "需要令牌", "this needs an API token")
    wanted = check_region(district.strip(), "district") if district.strip() else ""
    if wanted and wanted not in inspection.regions():
        raise InputError(
            "UNKNOWN_REGION", "不是长三角的行政区划代码", "not a Yangtze River Delta region code"
        )
    page_no = check_whole(page, 1, MAX_PAGE, "BAD_PAGE", "页码", "the page")
    size = check_whole(per_page, 1, MAX_PAGE_SIZE, "BAD_PAGE_SIZE", "每页条数", "per_page")
    where = wanted or ("" if principal.role is Role.ADMIN else principal.region)
    if where:
        may_act_in(principal, where, PROJECT_ROLES)
    elif principal.role is not Role.ADMIN:
        raise inspection.Forbidden("FORBIDDEN", "须指定区县", "a district is needed")
    total, rows = store.projects_of(session, where, limit=size, offset=(page_no - 1) * size)
    open_ = [p for p in rows if not p.certificate]
    known = load_known(session, [b.number for p in open_ for b in p.batches])
    items = tuple(
        ProjectSummary(p, ISSUED if p.certificate else decide(_case(p, known)).state.value)
        for p in rows
    )
    return ProjectPage(where, total, page_no, size, items)


def summary_dict(summary: ProjectSummary) -> dict[str, Any]:
    p = summary.project
    return {
        "id": p.id,
        "name": p.name,
        "district": p.district,
        "contractor": p.contractor,
        "site": p.site,
        "created_at": p.created_at.isoformat(),
        "materials": len(p.batches),
        "state": summary.state,
        "certificate": p.certificate or None,
    }


class NotReady(Conflict):
    """The project cannot be certified yet; ``decision`` says which batches and why."""

    def __init__(self, decision: Decision) -> None:
        first = decision.problems[0] if decision.problems else None
        zh = "工程尚不能签发复验证书"
        en = "the project cannot be certified yet"
        if first is not None:
            zh += f"：{first.number} {first.message_zh}".rstrip()
            en += f": {first.number} {first.message_en}".rstrip()
        super().__init__(f"PROJECT_{decision.state.value}", zh, en)
        self.decision = decision


def issue_certificate(
    session: Session,
    project_id: str,
    doc: Mapping[str, Any],
    principal: Principal,
    *,
    signer_for: SignerFor,
    base_url: str,
    now: datetime,
) -> tuple[store.StoredProject, Issued]:
    """Issue the PROJECT certificate when every batch passed (issuers of the district).

    ``doc``: ``officer`` {name, number} (required), optional ``valid_to`` (default:
    one year), optional ``agency_name``.
    """
    from quarantine.core.recognition import one_year_end
    from quarantine.services import registry

    unknown = set(doc) - {"officer", "valid_to", "agency_name"}
    if unknown:
        raise InputError(
            "REQUEST_INVALID", "请求含未知字段", f"unknown fields: {', '.join(sorted(unknown))}"
        )
    project = _project(session, project_id, lock=True)
    _open(project)
    officer = doc.get("officer")
    if not isinstance(officer, Mapping):
        raise InputError("FIELD_REQUIRED", "officer 必填", "officer {name, number} is required")
    officer_doc = {
        "name": inspection.clean_text(officer.get("name"), 50, "officer.name", required=True),
        "number": inspection.clean_text(officer.get("number"), 50, "officer.number", required=True),
    }
    today = now.astimezone(CHINA_TZ).date()
    valid_to = one_year_end(today)
    if doc.get("valid_to") not in (None, ""):
        try:
            valid_to = date.fromisoformat(str(doc["valid_to"]))
        except ValueError:
            raise InputError(
                "BAD_DATE", "valid_to 须为 YYYY-MM-DD", "valid_to must be YYYY-MM-DD"
            ) from None
    case = case_of(session, project)
    decision = decide(case)
    if decision.state is not DecisionState.READY:
        raise NotReady(decision)
    agency = {"region": project.district}
    name = inspection.clean_text(doc.get("agency_name"), 100, "agency_name")
    if name:
        agency["name"] = name
    document = project_document(
        case, agency=agency, officer=officer_doc, now=now, valid_to=valid_to
    )
    issued = registry.issue(
        session,
        document,
        principal,
        signer_for=signer_for,
        base_url=base_url,
        regions=inspection.regions(),
        now=now,
    )
    store.set_project_certificate(session, project_id, str(issued.certificate.number), now)
    return _project(session, project_id), issued


def project_dict(project: store.StoredProject, decision: Decision | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": project.id,
        "name": project.name,
        "district": project.district,
        "contractor": project.contractor,
        "site": project.site,
        "created_at": project.created_at.isoformat(),
        "certificate": project.certificate or None,
        "issued_at": project.issued_at.isoformat() if project.issued_at else None,
        "batches": [
            {
                "number": b.number,
                "source": b.source,
                "checked_at": b.checked_at.isoformat(),
                "accepted": b.accepted,
                "reasons": list(b.reasons),
                "reinspection": None
                if b.reinspected_at is None
                else {
                    "at": b.reinspected_at.isoformat(),
                    "passed": b.passed,
                    "note": b.reinspection_note,
                },
            }
            for b in project.batches
        ],
    }
    if decision is not None:
        out["decision"] = decision_dict(decision)
    return out


def decision_dict(decision: Decision) -> dict[str, Any]:
    return {
        "state": decision.state.value,
        "problems": [
            {
                "code": p.code,
                "number": p.number,
                "detail": p.detail,
                "zh": p.message_zh,
                "en": p.message_en,
            }
            for p in decision.problems
        ],
    }


__all__ = [
    "NotReady",
    "ProjectPage",
    "ProjectSummary",
    "RecognitionContext",
    "add_material",
    "case_of",
    "create_project",
    "decision_dict",
    "decision_of",
    "get_project",
    "issue_certificate",
    "list_projects",
    "project_dict",
    "record_reinspection",
    "summary_dict",
]
