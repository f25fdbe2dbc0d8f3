"""Inspection routes: reuse alerts, violations and credit, the trace, greening projects.

Thin routes over :mod:`quarantine.services.inspection` and
:mod:`quarantine.services.projects`; every change runs in one unit of work
(nothing half-written on an error).  Roles: inspectors of their region,
administrators everywhere (docs/inspection.md).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from typing import Annotated, Any, Final, TypeVar

from fastapi import APIRouter, Body, Depends, FastAPI, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from quarantine.core.model import CHINA_TZ, NUMBER_RE
from quarantine.services import inspection, projects, registry
from quarantine.services.authz import Forbidden, Principal
from quarantine.services.registry import SignerFor
from quarantine.web.auth import signed_in
from quarantine.web.context import AppContext, context, need_registry
from quarantine.web.errors import ApiError, error_body
from quarantine.web.routes.certificates import ErrorBody, LimitedBodyRoute

PREFIX: Final = "/api/v1"
T = TypeVar("T")

_ERRORS: Final[dict[int | str, dict[str, Any]]] = {
    status: {"model": ErrorBody, "description": words}
    for status, words in (
        (401, "需要有效令牌 / a valid token is needed"),
        (403, "无权操作 / not allowed for this role or region"),
        (404, "未找到 / not found"),
        (409, "状态冲突 / the current state does not allow this"),
        (413, "请求过大 / request body too large"),
        (422, "请求无效 / invalid request"),
    )
}
router = APIRouter(route_class=LimitedBodyRoute, tags=["inspection"], responses=_ERRORS)
Ctx = Annotated[AppContext, Depends(context)]
Who = Annotated[Principal, Depends(signed_in)]
Number = Annotated[str, Path(pattern=NUMBER_RE.pattern, description="证书编号 / number")]
ProjectId = Annotated[str, Path(pattern=r"^prj_[0-9a-f]{16}$", description="工程编号 / project id")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CheckIn(_Strict):
    note: str = Field(min_length=1, max_length=2000, description="处理说明 / what was found")


class ReinspectionIn(_Strict):
    passed: bool = Field(description="复验合格 / passed")
    note: str = Field(default="", max_length=2000, description="说明（不合格时必填）/ note")


@contextmanager
def _answers() -> Iterator[None]:
    """Service errors as HTTP statuses."""
    try:
        yield
    except (inspection.NotFound, registry.NotFound) as exc:
        raise ApiError(404, exc.code, exc.message_zh, exc.message_en) from None
    except projects.NotReady:
        raise
    except (inspection.Conflict, registry.Conflict) as exc:
        raise ApiError(409, exc.code, exc.message_zh, exc.message_en) from None
    except (inspection.Forbidden, Forbidden) as exc:
        raise ApiError(403, exc.code, exc.message_zh, exc.message_en) from None


def _write(ctx: AppContext, work: Callable[[Session], T]) -> T:
    with _answers(), need_registry(ctx).session() as session:
        return work(session)


def _read(ctx: AppContext, work: Callable[[Session], T]) -> T:
    with _answers(), need_registry(ctx).reader() as session:
        return work(session)


# --------------------------------------------------------------------------- alerts


@router.get(f"{PREFIX}/alerts")
def list_alerts(
    ctx: Ctx,
    who: Who,
    region: Annotated[str, Query(pattern=r"^(\d{6})?$", description="地区 / region")] = "",
    status: Annotated[str, Query(pattern=r"^(open|checked|all|OPEN|CHECKED|ALL)$")] = "open",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> dict[str, Any]:
    """一证多用告警 / Reuse alerts of a region (inspectors of the region, admins)."""

    def work(s: Session) -> dict[str, Any]:
        total, rows = inspection.list_alerts(
            s, who, region=region, status=status, limit=limit, offset=offset
        )
        return {"total": total, "items": [inspection.alert_dict(a) for a in rows]}

    return _read(ctx, work)


@router.post(f"{PREFIX}/alerts/{{alert_id}}/check")
def check_alert(
    ctx: Ctx,
    who: Who,
    alert_id: Annotated[str, Path(pattern=r"^[0-9a-f]{1,32}$")],
    body: CheckIn,
) -> dict[str, Any]:
    """处理告警 / Mark an alert checked with a note."""
    now = ctx.clock()
    return _write(
        ctx,
        lambda s: inspection.alert_dict(
            inspection.check_alert(s, alert_id, body.note, who, now=now)
        ),
    )


# --------------------------------------------------------------------------- credit


@router.post(f"{PREFIX}/violations", status_code=201)
def record_violation(ctx: Ctx, who: Who, doc: Annotated[dict[str, Any], Body()]) -> dict[str, Any]:
    """记录违规 / Record a violation against an operator (inspectors of the region, admins)."""
    now = ctx.clock()

    def work(s: Session) -> dict[str, Any]:
        stored = inspection.record_violation(s, doc, who, now=now)
        v = stored.violation
        today = now.astimezone(CHINA_TZ).date()
        credit = inspection.credit_of(s, v.operator, who, on=today)
        return {
            "id": v.id,
            "operator": v.operator,
            "region": v.region,
            "kind": v.kind.value,
            "severity": v.severity.name,
            "at": v.at.isoformat(),
            "evidence": v.evidence,
            "certificate": v.certificate,
            "credit": credit.as_dict(),
        }

    return _write(ctx, work)


@router.get(f"{PREFIX}/operators/{{registration}}/credit")
def operator_credit(
    ctx: Ctx,
    who: Who,
    registration: Annotated[str, Path(min_length=1, max_length=64)],
    day: Annotated[date | None, Query(alias="date", description="日期 / day (China time)")] = None,
) -> dict[str, Any]:
    """经营者信用 / An operator's credit status and the violations behind it."""
    on = day or ctx.clock().astimezone(CHINA_TZ).date()
    return _read(ctx, lambda s: inspection.credit_of(s, registration, who, on=on).as_dict())


@router.get(f"{PREFIX}/inspection/rules")
def inspection_rules_in_force(who: Who) -> dict[str, Any]:
    """检查规则 / The reuse-alert limits and credit rules in force on this node (any token)."""
    from quarantine import inspection_rules

    return inspection_rules.as_dict(inspection_rules.current())


# --------------------------------------------------------------------------- trace


@router.get(f"{PREFIX}/trace/{{number}}")
def trace(ctx: Ctx, who: Who, number: Number) -> dict[str, Any]:
    """检疫追溯 / The trace of a consignment: records, links and every event."""
    return _read(ctx, lambda s: inspection.trace_dict(inspection.trace(s, number, who)))


# --------------------------------------------------------------------------- projects


def _recognition_context(request: Request, ctx: AppContext) -> projects.RecognitionContext:
    fed = request.app.state.federation
    return projects.RecognitionContext(
        ctx.trust, fed.agreement, ctx.skew, fed.region, fed.stale_after
    )


def _not_ready(exc: projects.NotReady) -> JSONResponse:
    body = error_body(
        exc.code, exc.message_zh, exc.message_en, decision=projects.decision_dict(exc.decision)
    )
    return JSONResponse(body, 409)


@router.post(f"{PREFIX}/projects", status_code=201)
def create_project(ctx: Ctx, who: Who, doc: Annotated[dict[str, Any], Body()]) -> dict[str, Any]:
    """登记绿化工程 / Register a greening project (inspectors or issuers of the district)."""
    now = ctx.clock()

    def work(s: Session) -> dict[str, Any]:
        p = projects.create_project(s, doc, who, now=now)
        return projects.project_dict(p, projects.decision_of(s, p))

    return _write(ctx, work)


@router.get(f"{PREFIX}/projects")
def list_projects(
    ctx: Ctx,
    who: Who,
    district: Annotated[str, Query(description="区县、地市或省级代码 / region code")] = "",
    page: Annotated[str, Query(description="页码 / page, from 1")] = "1",
    per_page: Annotated[str, Query(description="每页条数 / per page, 1-50")] = "20",
) -> dict[str, Any]:
    """绿化工程列表 / Projects of a district (or a city or province), newest first.

    Inspectors or issuers of a region covering it; admins.  422 ``BAD_REGION``,
    ``UNKNOWN_REGION``, ``BAD_PAGE``, ``BAD_PAGE_SIZE``.
    """

    def work(s: Session) -> dict[str, Any]:
        found = projects.list_projects(s, who, district=district, page=page, per_page=per_page)
        return {
            "region": found.region or None,
            "total": found.total,
            "page": found.page,
            "per_page": found.per_page,
            "pages": found.pages,
            "items": [projects.summary_dict(i) for i in found.items],
        }

    return _read(ctx, work)


@router.get(f"{PREFIX}/projects/{{project_id}}")
def get_project(ctx: Ctx, who: Who, project_id: ProjectId) -> dict[str, Any]:
    """工程及其植物材料 / A project, its batches and whether it can be certified."""

    def work(s: Session) -> dict[str, Any]:
        p = projects.get_project(s, project_id, who)
        return projects.project_dict(p, projects.decision_of(s, p))

    return _read(ctx, work)


@router.post(f"{PREFIX}/projects/{{project_id}}/materials", status_code=201)
def add_material(
    request: Request,
    ctx: Ctx,
    who: Who,
    project_id: ProjectId,
    doc: Annotated[dict[str, Any], Body()],
) -> dict[str, Any]:
    """登记植物材料 / Add material by certificate number or scanned QR text (no paper)."""
    now = ctx.clock()
    rctx = _recognition_context(request, ctx)

    def work(s: Session) -> dict[str, Any]:
        p, result = projects.add_material(s, project_id, doc, who, ctx=rctx, now=now)
        return {
            **projects.project_dict(p, projects.decision_of(s, p)),
            "recognition": result.to_dict(),
        }

    return _write(ctx, work)


@router.post(f"{PREFIX}/projects/{{project_id}}/materials/{{number}}/reinspection")
def reinspect_material(
    ctx: Ctx, who: Who, project_id: ProjectId, number: Number, body: ReinspectionIn
) -> dict[str, Any]:
    """材料复验 / Record the on-site re-inspection of one batch (inspectors)."""
    now = ctx.clock()

    def work(s: Session) -> dict[str, Any]:
        p = projects.record_reinspection(
            s, project_id, number, passed=body.passed, note=body.note, principal=who, now=now
        )
        return projects.project_dict(p, projects.decision_of(s, p))

    return _write(ctx, work)


@router.post(f"{PREFIX}/projects/{{project_id}}/certificate", status_code=201, response_model=None)
def issue_project_certificate(
    request: Request,
    ctx: Ctx,
    who: Who,
    project_id: ProjectId,
    doc: Annotated[dict[str, Any], Body()],
) -> dict[str, Any] | JSONResponse:
    """签发工程复验证书 / Issue the PROJECT certificate once every batch passed (issuers).

    409 ``PROJECT_FAILED`` / ``PROJECT_PENDING`` / ``PROJECT_EMPTY`` name each batch and why.
    """
    from quarantine.web.routes.certificates import _issued

    now = ctx.clock()
    signers = _signers(request, ctx)

    def work(s: Session) -> dict[str, Any]:
        p, issued = projects.issue_certificate(
            s, project_id, doc, who, signer_for=signers, base_url=ctx.settings.base_url, now=now
        )
        return {"project": projects.project_dict(p), "certificate": _issued(issued, now)}

    try:
        return _write(ctx, work)
    except projects.NotReady as exc:
        return _not_ready(exc)


def _signers(request: Request, ctx: AppContext) -> SignerFor:
    from quarantine.services.registry import KeyFolderSigners

    signers: SignerFor | None = getattr(request.app.state, "quarantine_signers", None)
    if signers is None:
        signers = KeyFolderSigners(
            ctx.settings.resolved_keys_dir(), ctx.settings.passphrase_bytes()
        )
        request.app.state.quarantine_signers = signers
    return signers


def install(app: FastAPI) -> None:
    """Add the API routes and the console pages; put the configured inspection rules
    (``QUARANTINE_INSPECTION_RULES``) in force, refusing a bad file at start-up."""
    from quarantine import inspection_rules
    from quarantine.web.routes import inspection_pages

    inspection_rules.configure(app.state.context.settings)
    app.include_router(router)
    app.include_router(inspection_pages.router)
