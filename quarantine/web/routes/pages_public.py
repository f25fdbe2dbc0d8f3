"""Public pages: the scan page (camera, photo upload, typed text), static files, and
HTML error pages for browsers.

The verification page itself is the QR's URL (``/C/…`` in :mod:`.verify`), rendered
by :func:`quarantine.web.pages.verification_page`.  Everything here works without
JavaScript: the photo and the text are plain form posts answered with a page.
"""

from __future__ import annotations

import inspect
import json
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.staticfiles import StaticFiles

from quarantine.errors import QuarantineError
from quarantine.services.authz import Principal
from quarantine.web import i18n, pages
from quarantine.web.auth import Caller
from quarantine.web.context import AppContext, context
from quarantine.web.errors import ApiError
from quarantine.web.routes.verify import (
    MAX_TEXT,
    ScanFields,
    limit_public,
    scan_for,
    verify_online,
)

#: Paths answered with HTML pages (errors included) rather than JSON.
PAGE_PREFIXES: Final = ("/scan", "/console")

router = APIRouter(include_in_schema=False)
Ctx = Annotated[AppContext, Depends(context)]


def _query(request: Request) -> str:
    """``?lang=en`` for forms when the visitor reads English (works without cookies)."""
    lang, _ = i18n.resolve(request)
    return "?lang=en" if lang == "en" else ""


@router.get("/scan", response_class=HTMLResponse)
def scan_page(request: Request, ctx: Ctx) -> HTMLResponse:
    """扫码核验 / The scan page: live camera (where offered), photo, or typed text."""
    return pages.render(
        request,
        "scan.html",
        max_mb=max(1, ctx.settings.max_upload_bytes // 1_000_000),
        max_text=MAX_TEXT,
        query=_query(request),
    )


async def _form(request: Request, limit: int, files: int) -> Any:
    if not request.headers.get("content-type", "").startswith(
        ("multipart/form-data", "application/x-www-form-urlencoded")
    ):
        raise ApiError(
            415,
            "FORM_REQUIRED",
            "请通过页面表单提交",
            "send the page's form (multipart or urlencoded)",
        )
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit + 64 * 1024:
        raise ApiError(413, "UPLOAD_TOO_LARGE", "上传文件过大", f"upload larger than {limit} bytes")
    try:
        return await request.form(max_files=files, max_fields=8, max_part_size=limit)
    except Exception as exc:  # starlette raises MultiPartException and HTTPException variants
        raise ApiError(
            413 if "size" in str(exc).lower() else 400,
            "UPLOAD_INVALID",
            "上传内容无效或过大",
            f"upload rejected: {exc}",
        ) from exc


async def read_photo_form(request: Request, limit: int) -> tuple[bytes, dict[str, str]]:
    """The photo (field ``image``) and the other text fields of a scan form."""
    form = await _form(request, limit, files=1)
    try:
        upload = form.get("image")
        if not isinstance(upload, UploadFile):
            raise ApiError(
                422, "UPLOAD_MISSING", "请选择一张照片", "choose a photo (field 'image')"
            )
        data = await upload.read(limit + 1)
        fields = {k: v for k, v in form.items() if isinstance(v, str)}
    finally:
        await form.close()
    if not data:
        raise ApiError(422, "UPLOAD_MISSING", "请选择一张照片", "choose a photo (field 'image')")
    if len(data) > limit:
        raise ApiError(413, "UPLOAD_TOO_LARGE", "上传文件过大", f"upload larger than {limit} bytes")
    return data, fields


async def photo_page(
    request: Request,
    ctx: AppContext,
    who: Principal,
    data: bytes,
    place: ScanFields,
    **context: Any,
) -> HTMLResponse:
    """Every certificate QR code in the photo, verified (an inspector's scans recorded,
    with the device's position when ``place`` has ``lon`` and ``lat``), or the
    pipeline's hints when none was read."""
    from quarantine.imaging import HINTS, ImageLimits, decode_image_bytes

    scan = scan_for(who, place)
    result = await run_in_threadpool(
        decode_image_bytes, data, ImageLimits(max_bytes=ctx.settings.max_upload_bytes), want=None
    )
    now = ctx.clock()
    lang, _ = i18n.resolve(request)
    tr = i18n.Translator(lang)

    views = [
        pages.verification_view((await verify_online(ctx, code.text, now, scan))[0], tr)
        for code in result.codes
    ]
    hints = [
        {"code": code, **HINTS.get(code, {"zh": code, "en": code})}
        for code in result.hints
        if code != "TIME_BUDGET" or not views
    ]
    return pages.render(
        request, "scan_result.html", results=views, hints=hints, ms=round(result.ms), **context
    )


@router.post("/scan", response_class=HTMLResponse, dependencies=[Depends(limit_public)])
async def scan_photo(request: Request, ctx: Ctx, who: Caller) -> HTMLResponse:
    """A photo from the form: every certificate QR code in it, verified (or hints); an
    inspector's scans are recorded with the device's position when the form has
    ``lon`` and ``lat``."""
    data, fields = await read_photo_form(request, ctx.settings.max_upload_bytes)
    return await photo_page(
        request, ctx, who, data, ScanFields(lon=fields.get("lon"), lat=fields.get("lat"))
    )


@router.post("/scan/text", response_class=HTMLResponse, dependencies=[Depends(limit_public)])
async def scan_text(request: Request, ctx: Ctx, who: Caller) -> HTMLResponse:
    """A QR text (typed, or read by the live scanner): its verification page."""
    form = await _form(request, MAX_TEXT * 4, files=0)
    try:
        value = form.get("text")
    finally:
        await form.close()
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        raise ApiError(422, "TEXT_MISSING", "请输入二维码内容", "enter the QR text (field 'text')")
    if len(text) > MAX_TEXT:
        raise ApiError(
            413, "TEXT_TOO_LONG", "二维码内容过长", f"the QR text is longer than {MAX_TEXT}"
        )
    scan = scan_for(who, ScanFields())
    report, _ = await verify_online(ctx, text, ctx.clock(), scan)
    return pages.verification_page(request, report)


# --------------------------------------------------------------------------- HTML errors


def wants_page(request: Request) -> bool:
    """Whether an error on this request is answered as a page (browsers on page paths)."""
    path = request.url.path
    if path.startswith(PAGE_PREFIXES):
        return True
    if path.startswith(("/C/", "/c/")):
        accept = request.headers.get("accept", "")
        return not ("application/json" in accept and "text/html" not in accept)
    return False


_UNAVAILABLE: Final = frozenset({429, 500, 502, 503, 504})


def error_page(
    request: Request, status: int, error: dict[str, Any], headers: dict[str, str]
) -> HTMLResponse:
    """The page for an error body ``{"code", "zh", "en"}``: "cannot be checked now" for
    rate limits and server trouble, else the reason."""
    lang, _ = i18n.resolve(request)
    tr = i18n.Translator(lang)
    kind = "unavailable" if status in _UNAVAILABLE else ("notcert" if status == 404 else "invalid")
    headline_key = {
        "unavailable": "verdict_unavailable",
        "notcert": "not_found",
        "invalid": "error_title",
    }[kind]
    keep = {k: v for k, v in headers.items() if k.lower() in ("retry-after", "www-authenticate")}
    return pages.render(
        request,
        "error.html",
        status_code=status,
        headers=keep,
        css=kind,
        headline=tr.t(headline_key),
        headline_alt=tr.alt(headline_key),
        lead=tr.t("lead_unavailable") if kind == "unavailable" else "",
        code=str(error.get("code", "ERROR")),
        zh=str(error.get("zh", "")),
        en=str(error.get("en", "")),
    )


def _html_errors(app: FastAPI, exc_class: type[Exception] | int) -> None:
    inner = app.exception_handlers.get(exc_class)
    if inner is None:
        return

    async def handler(request: Request, exc: Exception) -> Response:
        answered = inner(request, exc)
        response = await answered if inspect.isawaitable(answered) else answered
        if not wants_page(request):
            return response
        try:
            error = json.loads(bytes(response.body))["error"]
        except (ValueError, KeyError, TypeError):
            error = {"code": "ERROR", "zh": "请求失败", "en": "request failed"}
        return error_page(request, response.status_code, error, dict(response.headers))

    app.add_exception_handler(exc_class, handler)


def install(app: FastAPI) -> None:
    """Add the public pages, the consoles, ``/static`` and HTML error pages for browsers
    (after :func:`quarantine.web.errors.install`)."""
    from quarantine.web.routes import console

    app.include_router(router)
    app.include_router(console.router)
    app.mount("/static", StaticFiles(directory=pages.STATIC_DIR), name="static")
    for exc_class in (QuarantineError, RequestValidationError, StarletteHTTPException, Exception):
        _html_errors(app, exc_class)
