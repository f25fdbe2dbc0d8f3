"""Console pages of inspection (``/console/alerts``, ``/console/trace``, ``/console/operators``,
``/console/producing-area``, ``/console/registrations``, ``/console/projects``).

The same session as the consoles (:mod:`quarantine.web.session`: the API token in an
HttpOnly cookie, a CSRF token in every form): open alerts of the inspector's region
with a "checked" form, the trace of a consignment with its chain drawn as SVG on the
server (:mod:`quarantine.render.trace_svg`), an operator's credit with the
violations behind it, the shared producing-area list and the operator registrations of
the four regions (the federation's shared lists, :mod:`quarantine.storage.federation`),
and a greening project with its material and whether its certificate can be issued
(:mod:`quarantine.services.projects`).  A POST answers with a redirect (303); the
lists and the project are read with GET forms.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Annotated, Any, Final
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup

from quarantine.core.acceptance import ProjectCase, decide
from quarantine.core.model import CHINA_TZ
from quarantine.core.reasons import reason
from quarantine.errors import InputError, QuarantineError
from quarantine.services import inspection, projects
from quarantine.services.authz import Action, Forbidden, Role, require
from quarantine.storage import federation as shared
from quarantine.storage._common import check_region, check_whole
from quarantine.storage.inspection import StoredProject
from quarantine.web import i18n, session
from quarantine.web.context import AppContext, context, need_registry
from quarantine.web.errors import ApiError
from quarantine.web.routes.console import Who, lang_query, render_console, signin_page

router = APIRouter(prefix="/console", include_in_schema=False)
Ctx = Annotated[AppContext, Depends(context)]
MAX_FORM_BYTES: Final = 16 * 1024
#: Rows per page of the shared lists; the API's bound on ``offset`` bounds the pages.
LIST_PAGE_SIZE: Final = 20
MAX_LIST_PAGE: Final = 100_000 // LIST_PAGE_SIZE + 1
MAX_LIST_FILTER: Final = 100
MAX_EXPIRING_DAYS: Final = 3660
PROJECT_ID_RE: Final = re.compile(r"^prj_[0-9a-f]{16}$")


def _error(exc: QuarantineError) -> dict[str, str]:
    return {"code": exc.code, "zh": exc.message_zh, "en": exc.message_en}


# --------------------------------------------------------------------------- alerts


@router.get("/alerts", response_class=HTMLResponse)
def alerts_page(
    request: Request,
    ctx: Ctx,
    who: Who,
    region: Annotated[str, Query(max_length=6)] = "",
    status: Annotated[str, Query(max_length=8)] = "open",
    done: Annotated[str, Query(max_length=20)] = "",
) -> Response:
    """一证多用告警 / Open alerts of the inspector's region, each with a "checked" form."""
    if who.role is Role.PUBLIC:
        return signin_page(request, 401)
    error = None
    items: list[dict[str, Any]] = []
    total = 0
    try:
        with need_registry(ctx).reader() as s:
            total, rows = inspection.list_alerts(s, who, region=region, status=status, limit=100)
        items = [inspection.alert_dict(a) for a in rows]
    except InputError as exc:
        error = _error(exc)
    return render_console(
        request,
        who,
        "console_alerts.html",
        status_code=403 if isinstance(error, dict) and error["code"] == "FORBIDDEN" else 200,
        items=items,
        total=total,
        region=region or who.region,
        status=status,
        error=error,
        done=done == "checked",
    )


@router.post("/alerts/{alert_id}/check")
async def alerts_check(request: Request, ctx: Ctx, who: Who, alert_id: str) -> Response:
    if who.role is Role.PUBLIC:
        return signin_page(request, 401)
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_FORM_BYTES:
        raise ApiError(413, "BODY_TOO_LARGE", "请求内容过大", "request body too large")
    raw = await request.form(max_files=0, max_fields=4)
    values = {k: v for k, v in raw.items() if isinstance(v, str)}
    await raw.close()
    session.check_csrf(request, values.get(session.CSRF_FIELD))
    now = ctx.clock()
    try:
        with need_registry(ctx).session() as s:
            inspection.check_alert(s, alert_id, values.get("note", ""), who, now=now)
    except InputError as exc:
        with need_registry(ctx).reader() as s:
            total, rows = inspection.list_alerts(s, who, limit=100)
        status_code = {"FORBIDDEN": 403, "ALERT_NOT_FOUND": 404}.get(exc.code, 422)
        if isinstance(exc, inspection.Conflict):
            status_code = 409
        return render_console(
            request,
            who,
            "console_alerts.html",
            status_code=status_code,
            items=[inspection.alert_dict(a) for a in rows],
            total=total,
            region=who.region,
            status="open",
            error=_error(exc),
            done=False,
        )
    query = "?done=checked" + ("&lang=en" if lang_query(request) else "")
    return RedirectResponse("/console/alerts" + query, status_code=303)


# --------------------------------------------------------------------------- trace


@router.get("/trace", response_class=HTMLResponse)
def trace_page(
    request: Request, ctx: Ctx, who: Who, number: Annotated[str, Query(max_length=40)] = ""
) -> Response:
    """检疫追溯 / The trace of a consignment with its chain drawn."""
    from quarantine.render.trace_svg import render_trace

    if who.role is Role.PUBLIC:
        return signin_page(request, 401)
    lang, _ = i18n.resolve(request)
    error = None
    doc = None
    drawing = Markup("")
    number = number.strip()
    if number:
        try:
            with need_registry(ctx).reader() as s:
                found = inspection.trace(s, number, who)
            doc = inspection.trace_dict(found)
            drawing = Markup(render_trace(found, lang=lang))  # noqa: S704 - every text is escaped
        except InputError as exc:
            error = _error(exc)
    status_code = 200
    if error is not None:
        status_code = 404 if error["code"] == "CERTIFICATE_NOT_FOUND" else 422
    return render_console(
        request,
        who,
        "console_trace.html",
        status_code=status_code,
        number=number,
        trace=doc,
        drawing=drawing,
        error=error,
    )


# --------------------------------------------------------------------------- credit


@router.get("/operators", response_class=HTMLResponse)
def operator_page(
    request: Request,
    ctx: Ctx,
    who: Who,
    registration: Annotated[str, Query(max_length=64)] = "",
) -> Response:
    """经营者信用 / An operator's credit status and why."""
    if who.role is Role.PUBLIC:
        return signin_page(request, 401)
    error = None
    credit = None
    registration = registration.strip()
    if registration:
        today = ctx.clock().astimezone(CHINA_TZ).date()
        try:
            with need_registry(ctx).reader() as s:
                credit = inspection.credit_of(s, registration, who, on=today).as_dict()
        except InputError as exc:
            error = _error(exc)
    return render_console(
        request,
        who,
        "console_operator.html",
        status_code=422 if error else 200,
        registration=registration,
        credit=credit,
        error=error,
    )


# --------------------------------------------------------------------------- shared lists


def _text_filter(value: str, zh: str, en: str) -> str:
    value = value.strip()
    if len(value) > MAX_LIST_FILTER:
        raise InputError(
            "FILTER_TOO_LONG",
            f"{zh}不能超过 {MAX_LIST_FILTER} 个字",
            f"{en}: at most {MAX_LIST_FILTER} characters",
        )
    return value


def _region_filter(value: str) -> str:
    value = value.strip()
    return check_region(value) if value else ""


def _days_filter(value: str) -> int | None:
    value = value.strip()
    if not value:
        return None
    return check_whole(
        value, 0, MAX_EXPIRING_DAYS, "BAD_DAYS", "到期天数", "expiring within (days)"
    )


def _page_no(value: str) -> int:
    return check_whole(value.strip() or "1", 1, MAX_LIST_PAGE, "BAD_PAGE", "页码", "the page")


def _pager(
    request: Request, path: str, filters: Mapping[str, str], page: int, total: int
) -> dict[str, Any]:
    """Page ``page`` of ``total`` rows, with links to the pages before and after (past
    the last page, "previous" leads to the last one)."""
    pages_n = max(1, -(-total // LIST_PAGE_SIZE))
    extra = {"lang": "en"} if lang_query(request) else {}
    kept = {k: v for k, v in filters.items() if v}

    def url(n: int) -> str:
        return path + "?" + urlencode({**kept, "page": n, **extra})

    return {
        "page": page,
        "pages": pages_n,
        "prev": url(min(page - 1, pages_n)) if page > 1 else "",
        "next": url(page + 1) if page < pages_n else "",
    }


def _provinces() -> list[tuple[str, str]]:
    from quarantine.core.regions import PROVINCES

    return sorted(PROVINCES.items())


def _region_name(code: str) -> str:
    from quarantine.reference import region_table

    return region_table().full_name(code)


@router.get("/producing-area", response_class=HTMLResponse)
def producing_area_page(
    request: Request,
    ctx: Ctx,
    who: Who,
    operator: str = "",
    species: str = "",
    region: str = "",
    expiring: str = "",
    page: str = "1",
) -> Response:
    """共用产地检疫清单 / The shared producing-area list, valid today, filtered."""
    if who.role is Role.PUBLIC:
        return signin_page(request, 401)
    today = ctx.clock().astimezone(CHINA_TZ).date()
    filters = {"operator": operator, "species": species, "region": region, "expiring": expiring}
    error = None
    total, page_no = 0, 1
    rows: list[shared.SharedRecord] = []
    try:
        wanted_operator = _text_filter(operator, "生产经营者", "operator")
        wanted_species = _text_filter(species, "植物名称", "species")
        wanted_region = _region_filter(region)
        days = _days_filter(expiring)
        page_no = _page_no(page)
        with need_registry(ctx).reader() as s:
            total, rows = shared.search_producing_area(
                s,
                today=today,
                operator=wanted_operator,
                species=wanted_species,
                region=wanted_region,
                expiring_within_days=days,
                limit=LIST_PAGE_SIZE,
                offset=(page_no - 1) * LIST_PAGE_SIZE,
            )
    except InputError as exc:
        error = _error(exc)
    return render_console(
        request,
        who,
        "console_producing_area.html",
        status_code=422 if error else 200,
        filters=filters,
        items=[_pass_row(r, today) for r in rows],
        total=total,
        today=today.isoformat(),
        paging=_pager(request, "/console/producing-area", filters, page_no, total),
        provinces=_provinces(),
        error=error,
    )


def _pass_row(record: shared.SharedRecord, today: date) -> dict[str, Any]:
    """A pass of the shared list as the API gives it, with its issuer and days left."""
    issuer = record.number[:6]
    return {
        **record.as_dict(),
        "issuer": issuer,
        "issuer_name": _region_name(issuer),
        "days_left": (record.valid_to - today).days,
    }


@router.get("/registrations", response_class=HTMLResponse)
def registrations_page(
    request: Request,
    ctx: Ctx,
    who: Who,
    name: str = "",
    region: str = "",
    page: str = "1",
) -> Response:
    """检疫登记全覆盖 / Operator registrations of the four regions."""
    if who.role is Role.PUBLIC:
        return signin_page(request, 401)
    today = ctx.clock().astimezone(CHINA_TZ).date()
    filters = {"name": name, "region": region}
    error = None
    total, page_no = 0, 1
    items: list[dict[str, Any]] = []
    try:
        require(who, Action.READ)
        wanted_name = _text_filter(name, "名称或登记号", "name or registration")
        wanted_region = _region_filter(region)
        page_no = _page_no(page)
        with need_registry(ctx).reader() as s:
            total, rows = shared.search_operators(
                s,
                name=wanted_name,
                region=wanted_region,
                limit=LIST_PAGE_SIZE,
                offset=(page_no - 1) * LIST_PAGE_SIZE,
            )
        items = [
            {
                **r.as_dict(today),
                "region_name": _region_name(r.region),
                "origin_name": _region_name(r.origin),
            }
            for r in rows
        ]
    except (InputError, Forbidden) as exc:
        error = _error(exc)
    status_code = 200
    if error is not None:
        status_code = 403 if error["code"] == "FORBIDDEN" else 422
    return render_console(
        request,
        who,
        "console_registrations.html",
        status_code=status_code,
        filters=filters,
        items=items,
        total=total,
        today=today.isoformat(),
        paging=_pager(request, "/console/registrations", filters, page_no, total),
        provinces=_provinces(),
        error=error,
    )


# --------------------------------------------------------------------------- projects


@router.get("/projects", response_class=HTMLResponse)
def project_page(
    request: Request,
    ctx: Ctx,
    who: Who,
    project_id: Annotated[str, Query(alias="id")] = "",
    district: str = "",
    page: str = "1",
) -> Response:
    """工程植物检疫复验 / A greening project, its material and whether it can be certified;
    without an ID, the projects of the caller's district (or ``district``), 20 a page."""
    if who.role is Role.PUBLIC:
        return signin_page(request, 401)
    project_id = project_id.strip()
    error = None
    view = None
    listing = None
    if not project_id:
        try:
            with need_registry(ctx).reader() as s:
                found_page = projects.list_projects(
                    s, who, district=district[:40], page=page[:40], per_page=LIST_PAGE_SIZE
                )
            filters = {"district": district.strip()}
            listing = {
                "region": found_page.region,
                "region_name": _region_name(found_page.region) if found_page.region else "",
                "total": found_page.total,
                "rows": [
                    {
                        **projects.summary_dict(i),
                        "created": i.project.created_at,
                        "district_name": _region_name(i.project.district),
                    }
                    for i in found_page.items
                ],
                "paging": _pager(
                    request, "/console/projects", filters, found_page.page, found_page.total
                ),
            }
        except InputError as exc:
            error = _error(exc)
    else:
        try:
            if not PROJECT_ID_RE.match(project_id):
                raise InputError(
                    "BAD_PROJECT_ID",
                    "工程编号格式应为 prj_ 加 16 位十六进制数字",
                    "a project ID is prj_ and 16 hexadecimal digits",
                )
            with need_registry(ctx).reader() as s:
                found = projects.get_project(s, project_id, who)
                view = _project_view(found, projects.case_of(s, found))
        except InputError as exc:
            error = _error(exc)
    status_code = 200
    if error is not None:
        status_code = {"PROJECT_NOT_FOUND": 404, "FORBIDDEN": 403}.get(error["code"], 422)
    return render_console(
        request,
        who,
        "console_project.html",
        status_code=status_code,
        project_id=project_id[:40],
        view=view,
        listing=listing,
        district=district.strip()[:6],
        error=error,
    )


def _goods(case: ProjectCase) -> dict[str, str]:
    """Each batch's goods in one line: ``香樟 600 株、桂花 400 株``."""
    out: dict[str, str] = {}
    for batch in case.batches:
        out[batch.number] = "、".join(
            f"{i.product} {format(i.quantity.normalize(), 'f')} {i.unit}".strip()
            for i in batch.certificate.items
        )
    return out


def _project_view(project: StoredProject, case: ProjectCase) -> dict[str, Any]:
    """The project, its batches (with goods and the words of each reason) and the decision."""
    goods = _goods(case)
    return {
        "project": project,
        "district_name": _region_name(project.district),
        "decision": decide(case),
        "batches": [
            {
                "batch": b,
                "goods": goods.get(b.number, ""),
                "reasons": [reason(code) for code in b.reasons],
            }
            for b in project.batches
        ],
    }
