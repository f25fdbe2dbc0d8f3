"""Console pages of inspection (``/console/alerts``, ``/console/trace``, ``/console/operators``).

The same session as the consoles (:mod:`quarantine.web.session`: the API token in an
HttpOnly cookie, a CSRF token in every form): open alerts of the inspector's region
with a "checked" form, the trace of a consignment with its chain drawn as SVG on the
server (:mod:`quarantine.render.trace_svg`), and an operator's credit with the
violations behind it.  A POST answers with a redirect (303).
"""

from __future__ import annotations

from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup

from quarantine.core.model import CHINA_TZ
from quarantine.errors import InputError
from quarantine.services import inspection
from quarantine.services.authz import Principal, Role
from quarantine.web import i18n, pages, session
from quarantine.web.context import AppContext, context
from quarantine.web.errors import ApiError

router = APIRouter(prefix="/console", include_in_schema=False)
Ctx = Annotated[AppContext, Depends(context)]
MAX_FORM_BYTES: Final = 16 * 1024


async def _caller(request: Request, ctx: Ctx) -> Principal:
    return await session.current(request, ctx)


Who = Annotated[Principal, Depends(_caller)]


def _q(request: Request) -> str:
    lang, _ = i18n.resolve(request)
    return "?lang=en" if lang == "en" else ""


def _render(
    request: Request, who: Principal | None, template: str, status_code: int = 200, **ctx: Any
) -> HTMLResponse:
    secret = session.secret_of(request)
    return pages.render(
        request,
        template,
        status_code=status_code,
        me=who,
        csrf=session.csrf_token(secret) if secret and who is not None else "",
        q=_q(request),
        china_time=pages.china_time,
        **ctx,
    )


def _signin(request: Request) -> Response:
    return pages.render(
        request, "console_signin.html", status_code=401, me=None, error=None, q=_q(request)
    )


def _error(exc: InputError) -> dict[str, str]:
    return {"code": exc.code, "zh": exc.message_zh, "en": exc.message_en}


def _registry(ctx: AppContext) -> Any:
    if ctx.registry is None:
        raise ApiError(
            503, "REGISTRY_UNAVAILABLE", "登记系统不可用", "the registry is not configured"
        )
    return ctx.registry


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
        return _signin(request)
    error = None
    items: list[dict[str, Any]] = []
    total = 0
    try:
        with _registry(ctx).reader() as s:
            total, rows = inspection.list_alerts(s, who, region=region, status=status, limit=100)
        items = [inspection.alert_dict(a) for a in rows]
    except InputError as exc:
        error = _error(exc)
    return _render(
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
        return _signin(request)
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_FORM_BYTES:
        raise ApiError(413, "BODY_TOO_LARGE", "请求内容过大", "request body too large")
    raw = await request.form(max_files=0, max_fields=4)
    values = {k: v for k, v in raw.items() if isinstance(v, str)}
    await raw.close()
    session.check_csrf(request, values.get(session.CSRF_FIELD))
    now = ctx.clock()
    try:
        with _registry(ctx).session() as s:
            inspection.check_alert(s, alert_id, values.get("note", ""), who, now=now)
    except InputError as exc:
        with _registry(ctx).reader() as s:
            total, rows = inspection.list_alerts(s, who, limit=100)
        status_code = {"FORBIDDEN": 403, "ALERT_NOT_FOUND": 404}.get(exc.code, 422)
        if isinstance(exc, inspection.Conflict):
            status_code = 409
        return _render(
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
    query = "?done=checked" + ("&lang=en" if _q(request) else "")
    return RedirectResponse("/console/alerts" + query, status_code=303)


# --------------------------------------------------------------------------- trace


@router.get("/trace", response_class=HTMLResponse)
def trace_page(
    request: Request, ctx: Ctx, who: Who, number: Annotated[str, Query(max_length=40)] = ""
) -> Response:
    """检疫追溯 / The trace of a consignment with its chain drawn."""
    from quarantine.render.trace_svg import render_trace

    if who.role is Role.PUBLIC:
        return _signin(request)
    lang, _ = i18n.resolve(request)
    error = None
    doc = None
    drawing = Markup("")
    number = number.strip()
    if number:
        try:
            with _registry(ctx).reader() as s:
                found = inspection.trace(s, number, who)
            doc = inspection.trace_dict(found)
            drawing = Markup(render_trace(found, lang=lang))  # noqa: S704 - every text is escaped
        except InputError as exc:
            error = _error(exc)
    status_code = 200
    if error is not None:
        status_code = 404 if error["code"] == "CERTIFICATE_NOT_FOUND" else 422
    return _render(
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
        return _signin(request)
    error = None
    credit = None
    registration = registration.strip()
    if registration:
        today = ctx.clock().astimezone(CHINA_TZ).date()
        try:
            with _registry(ctx).reader() as s:
                credit = inspection.credit_of(s, registration, who, on=today).as_dict()
        except InputError as exc:
            error = _error(exc)
    return _render(
        request,
        who,
        "console_operator.html",
        status_code=422 if error else 200,
        registration=registration,
        credit=credit,
        error=error,
    )
