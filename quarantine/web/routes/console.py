"""The issuer and inspector consoles (``/console``): server-rendered forms over the
registry use cases (:mod:`quarantine.services.registry`).

Sign in with an API token (kept in an HttpOnly session cookie,
:mod:`quarantine.web.session`); every form that changes something carries the
session's CSRF token.  Issuers issue certificates of every kind (field-level
problems next to their inputs, a preview before signing), open the A4 print view with
the QR, revoke, suspend, reinstate and re-issue.  Inspectors search, read a
certificate's history (status events, re-inspections, scans), record re-inspections and
arrivals, and verify by photo (their scans are recorded).  Each POST answers with a
redirect (303) on success, so a reload does not repeat it.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated, Any, Final, TypeVar
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from quarantine.core.model import CHINA_TZ, NUMBER_RE, Kind
from quarantine.core.validate import CertificateInvalid, Problem
from quarantine.services import registry as service
from quarantine.services.authz import Action, Forbidden, Principal, Role, allowed, covers
from quarantine.storage.certificates import MAX_FILTER_LENGTH, CertStatus
from quarantine.web import console_forms as forms
from quarantine.web import i18n, idempotency, pages, session
from quarantine.web.context import AppContext, context, need_registry
from quarantine.web.errors import ApiError
from quarantine.web.routes.pages_public import photo_page, read_photo_form
from quarantine.web.routes.verify import ScanFields

router = APIRouter(prefix="/console", include_in_schema=False)
Ctx = Annotated[AppContext, Depends(context)]
T = TypeVar("T")

#: The printable certificate is self-contained HTML with inline CSS and an inline SVG QR:
#: styles inline, images from data: URIs, no script at all.
PRINT_CSP: Final = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
SEARCH_PAGE_SIZE: Final = 20
MAX_REASON_FORM: Final = 2000
_DONE: Final = frozenset(
    {"issued", "revoke", "suspend", "reinstate", "superseded", "arrival", "reinspection"}
)


async def caller(request: Request, ctx: Ctx) -> Principal:
    return await session.current(request, ctx)


Who = Annotated[Principal, Depends(caller)]


# --------------------------------------------------------------------------- helpers


def lang_query(request: Request) -> str:
    lang, _ = i18n.resolve(request)
    return "?lang=en" if lang == "en" else ""


def render_console(
    request: Request, who: Principal | None, template: str, status_code: int = 200, **context: Any
) -> HTMLResponse:
    """A console page: the caller, the session's CSRF token, the language query, China time."""
    secret = session.secret_of(request)
    return pages.render(
        request,
        template,
        status_code=status_code,
        me=who,
        csrf=session.csrf_token(secret) if secret and who is not None else "",
        q=lang_query(request),
        china_time=pages.china_time,
        **context,
    )


def signin_page(request: Request, status_code: int = 200, error: Problem | None = None) -> Response:
    return pages.render(
        request,
        "console_signin.html",
        status_code=status_code,
        me=None,
        error=error,
        q=lang_query(request),
    )


def _redirect(request: Request, path: str, done: str = "") -> RedirectResponse:
    query = []
    if done:
        query.append(f"done={done}")
    if lang_query(request):
        query.append("lang=en")
    return RedirectResponse(path + ("?" + "&".join(query) if query else ""), status_code=303)


def _number(number: str) -> str:
    if not NUMBER_RE.match(number):
        raise ApiError(
            422,
            "BAD_NUMBER",
            "证书编号格式应为 行政区划代码-年份-六位序号",
            "number must be RRRRRR-YYYY-NNNNNN",
        )
    return number


@contextmanager
def _answers() -> Iterator[None]:
    """Service errors as HTTP errors (pages render them)."""
    try:
        yield
    except Forbidden as exc:
        raise ApiError(403, exc.code, exc.message_zh, exc.message_en) from exc
    except service.NotFound as exc:
        raise ApiError(404, exc.code, exc.message_zh, exc.message_en) from exc


async def _form(request: Request) -> dict[str, str]:
    """The form's text fields, after the CSRF check."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > 256 * 1024:
        raise ApiError(413, "BODY_TOO_LARGE", "请求内容过大", "request body too large")
    try:
        raw = await request.form(max_files=0, max_fields=forms.MAX_FORM_FIELDS + 10)
    except Exception as exc:  # starlette raises MultiPartException and HTTPException variants
        raise ApiError(400, "FORM_INVALID", "表单内容无效", f"form rejected: {exc}") from exc
    try:
        values = forms.clean(raw)
    finally:
        await raw.close()
    session.check_csrf(request, values.get(session.CSRF_FIELD))
    return values


def _signed_in(request: Request, who: Principal) -> Response | None:
    """The sign-in page (401) for the public, else ``None``."""
    if who.role is Role.PUBLIC:
        return signin_page(request, 401)
    return None


def _role(who: Principal, *roles: Role) -> None:
    if who.role not in roles:
        raise ApiError(
            403, "ROLE_NOT_ALLOWED", "当前令牌无权进行此操作", "this token may not do that"
        )


def _regions_of(who: Principal) -> list[tuple[str, str]]:
    from quarantine.reference import region_table

    table = region_table()
    return [
        (code, table.full_name(code))
        for code in sorted(table.divisions)
        if covers(who.region, code)
    ]


def _all_regions() -> list[tuple[str, str]]:
    from quarantine.reference import region_table

    table = region_table()
    return [(code, table.full_name(code)) for code in sorted(table.divisions)]


# --------------------------------------------------------------------------- sign in


@router.get("", response_class=HTMLResponse)
def home(request: Request, who: Who) -> Response:
    """工作台 / The console's start page (sign-in when there is no session)."""
    if who.role is Role.PUBLIC:
        return signin_page(request)
    return render_console(request, who, "console_home.html", kinds=list(Kind))


@router.post("/signin")
async def signin(request: Request, ctx: Ctx) -> Response:
    session.check_origin(request)  # no session yet: no CSRF token, but never cross-site
    try:
        raw = await request.form(max_files=0, max_fields=4)
        token = raw.get("token")
        await raw.close()
    except Exception as exc:  # starlette raises MultiPartException and HTTPException variants
        raise ApiError(400, "FORM_INVALID", "表单内容无效", f"form rejected: {exc}") from exc
    secret = token.strip() if isinstance(token, str) else ""
    try:
        who = await session.authenticate(request, ctx, secret)
    except ApiError as exc:
        return signin_page(request, 401, Problem("token", exc.code, exc.message_zh, exc.message_en))
    if who.role is Role.PUBLIC:  # pragma: no cover - a valid token always has a role
        return signin_page(request, 401)
    response = _redirect(request, "/console")
    session.start(request, response, secret)
    return response


@router.post("/signout")
async def signout(request: Request) -> Response:
    await _form(request)
    response = _redirect(request, "/console")
    session.end(request, response)
    return response


# --------------------------------------------------------------------------- issue


def _signers(request: Request, ctx: AppContext) -> service.SignerFor:
    """The node's signing keys, loaded once per app (shared with the API's issue route)."""
    signers: service.SignerFor | None = getattr(request.app.state, "quarantine_signers", None)
    if signers is None:
        signers = service.KeyFolderSigners(
            ctx.settings.resolved_keys_dir(), ctx.settings.passphrase_bytes()
        )
        request.app.state.quarantine_signers = signers
    return signers


def _kind(value: str) -> Kind:
    try:
        return Kind(value)
    except ValueError:
        raise ApiError(
            422, "UNKNOWN_KIND", "未知的证书种类", f"kind must be one of {', '.join(Kind)}"
        ) from None


def _issue_page(
    request: Request,
    who: Principal,
    kind: Kind,
    values: Mapping[str, str],
    *,
    problems: list[Problem] | None = None,
    preview: dict[str, Any] | None = None,
    original: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    return render_console(
        request,
        who,
        "console_issue.html",
        status_code=status_code,
        form_key=values.get("form_key") or secrets.token_urlsafe(18),
        kind=kind,
        kinds=list(Kind),
        groups=forms.groups_for(kind),
        values=values,
        rows=forms.row_count(values),
        item_keys=forms.ITEM_KEYS,
        item_labels=forms.ITEM_LABELS,
        units=forms.unit_options(),
        problems=forms.sort_problems(kind, problems or []),
        preview=preview,
        own_regions=_regions_of(who),
        all_regions=_all_regions(),
        original=original,
        action=f"/console/certificates/{original}/supersede" if original else "/console/issue",
    )


@router.get("/issue", response_class=HTMLResponse)
def issue_form(request: Request, ctx: Ctx, who: Who, kind: str = "TRANSPORT") -> Response:
    """签发证书 / The issue form of one kind."""
    if (page := _signed_in(request, who)) is not None:
        return page
    _role(who, Role.ISSUER)
    chosen = _kind(kind)
    values = forms.defaults(chosen, who.region, ctx.clock().astimezone(CHINA_TZ).date())
    return _issue_page(request, who, chosen, values)


def _preview(kind: Kind, values: Mapping[str, str], tr: i18n.Translator, now: datetime) -> Any:
    from quarantine.reference import region_table
    from quarantine.services import issuing

    draft = issuing.check(forms.to_document(kind, values), region_table(), now=now)
    block = pages.certificate_block(draft.certificate, tr)
    block["number"] = "—"
    return block


def _forbidden_problem(exc: Forbidden) -> Problem:
    return Problem("issuing_agency.region", exc.code, exc.message_zh, exc.message_en)


async def _issue_or_supersede(
    request: Request, ctx: AppContext, who: Principal, original: str = ""
) -> Response:
    from quarantine.reference import region_table

    registry = need_registry(ctx)
    values = await _form(request)
    kind = _kind(values.get("kind", ""))
    lang, _ = i18n.resolve(request)
    tr = i18n.Translator(lang)
    now = ctx.clock()
    reason = values.get("reason", "")
    if values.get("op") == "preview":
        try:
            block = _preview(kind, values, tr, now)
        except CertificateInvalid as exc:
            return _issue_page(
                request,
                who,
                kind,
                values,
                problems=exc.problems,
                original=original,
                status_code=422,
            )
        return _issue_page(request, who, kind, values, preview=block, original=original)
    doc = forms.to_document(kind, values)
    signers = _signers(request, ctx)

    def work(db: Any) -> dict[str, str]:
        if original:
            done = service.supersede(
                db,
                original,
                doc,
                reason,
                who,
                signer_for=signers,
                base_url=ctx.settings.base_url,
                regions=region_table(),
                now=now,
            )
            return {"number": str(done.replacement.certificate.number)}
        issued = service.issue(
            db,
            doc,
            who,
            signer_for=signers,
            base_url=ctx.settings.base_url,
            regions=region_table(),
            now=now,
        )
        return {"number": str(issued.certificate.number)}

    def once() -> str:
        """The form's key makes a repeated post (double click, resubmission) answer
        with the first certificate instead of issuing another (web/idempotency.py)."""
        answer = idempotency.run(
            registry,
            key=idempotency.check_key(values["form_key"]) if values.get("form_key") else None,
            actor=who.actor,
            method="POST",
            path=request.url.path,
            payload={"document": doc, "reason": reason},
            status=201,
            now=now,
            work=work,
        )
        number: str = json.loads(bytes(answer.body))["number"]
        return number

    try:
        number = await run_in_threadpool(once)
    except Forbidden as exc:
        if original:
            raise ApiError(403, exc.code, exc.message_zh, exc.message_en) from exc
        return _issue_page(
            request, who, kind, values, problems=[_forbidden_problem(exc)], status_code=403
        )
    except service.NotFound as exc:
        raise ApiError(404, exc.code, exc.message_zh, exc.message_en) from exc
    except CertificateInvalid as exc:
        return _issue_page(
            request, who, kind, values, problems=exc.problems, original=original, status_code=422
        )
    except (service.Conflict, ApiError) as exc:
        if isinstance(exc, ApiError) and exc.status != 409:
            raise
        problem = Problem("", exc.code, exc.message_zh, exc.message_en)
        return _issue_page(
            request, who, kind, values, problems=[problem], original=original, status_code=409
        )
    return _redirect(
        request, f"/console/certificates/{number}", "superseded" if original else "issued"
    )


@router.post("/issue", response_class=HTMLResponse)
async def issue_submit(request: Request, ctx: Ctx, who: Who) -> Response:
    """Preview (``op=preview``) or issue and sign the form's certificate."""
    if (page := _signed_in(request, who)) is not None:
        return page
    _role(who, Role.ISSUER)
    return await _issue_or_supersede(request, ctx, who)


# --------------------------------------------------------------------------- read


def _read(ctx: AppContext, fn: Callable[[Any], T]) -> T:
    registry = need_registry(ctx)
    with _answers(), registry.reader() as db:
        return fn(db)


@router.get("/search", response_class=HTMLResponse)
def search(
    request: Request,
    ctx: Ctx,
    who: Who,
    number: str = "",
    consignor: str = "",
    consignee: str = "",
    product: str = "",
    status: str = "",
    page: str = "1",
) -> Response:
    """查询证书 / Search the registry."""
    if (signin := _signed_in(request, who)) is not None:
        return signin
    if len(number) > 18 or any(ch not in "0123456789-" for ch in number):
        raise ApiError(
            422, "BAD_NUMBER", "编号前缀只能含数字和连字符", "number prefix: digits and '-'"
        )
    for value in (consignor, consignee, product):
        if len(value) > MAX_FILTER_LENGTH:
            raise ApiError(
                422, "FILTER_TOO_LONG", "查询条件过长", f"filters are at most {MAX_FILTER_LENGTH}"
            )
    wanted: CertStatus | None = None
    if status:
        try:
            wanted = CertStatus(status)
        except ValueError:
            raise ApiError(422, "BAD_STATUS", "未知的状态", "unknown status") from None
    page_no = int(page) if page.isdigit() and 1 <= int(page) <= 10_000 else 1
    now = ctx.clock()
    found = _read(
        ctx,
        lambda db: service.search(
            db,
            who,
            now=now,
            number=number.strip() or None,
            consignor=consignor.strip() or None,
            consignee=consignee.strip() or None,
            product=product.strip() or None,
            status=wanted,
            page=page_no,
            size=SEARCH_PAGE_SIZE,
        ),
    )
    filters = {
        "number": number,
        "consignor": consignor,
        "consignee": consignee,
        "product": product,
        "status": status,
    }
    return render_console(
        request,
        who,
        "console_search.html",
        found=found,
        filters=filters,
        statuses=list(CertStatus),
        page_query=lambda p: urlencode({**{k: v for k, v in filters.items() if v}, "page": p}),
    )


def _certificate_page(
    request: Request,
    ctx: AppContext,
    who: Principal,
    number: str,
    *,
    error: Problem | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    from quarantine.storage.scans import ScanStore

    now = ctx.clock()

    def load(db: Any) -> tuple[service.CertificateView, Any]:
        view = service.get(db, number, who, now=now)
        return view, ScanStore(db).for_number(number, limit=50)

    view, scans = _read(ctx, load)
    lang, _ = i18n.resolve(request)
    tr = i18n.Translator(lang)
    cert = view.stored.certificate()
    done = request.query_params.get("done", "")
    return render_console(
        request,
        who,
        "console_certificate.html",
        status_code=status_code,
        view=view,
        block=pages.certificate_block(cert, tr, "", view.stored.kid),
        cert=cert,
        scans=scans,
        replaced=service.replaced(view),
        public_path="/C/" + view.stored.qr_text.split("/C/", 1)[-1],
        may_change=allowed(who, Action.CHANGE_STATUS, view.stored.issuing_region),
        may_inspect=allowed(who, Action.RECORD_INSPECTION),
        is_transport=view.stored.kind is Kind.TRANSPORT,
        done=done if done in _DONE else "",
        error=error,
    )


@router.get("/certificates/{number}", response_class=HTMLResponse)
def certificate(request: Request, ctx: Ctx, who: Who, number: str) -> Response:
    """One certificate: what it says, its status, its history, and the actions."""
    if (signin := _signed_in(request, who)) is not None:
        return signin
    return _certificate_page(request, ctx, who, _number(number))


@router.get("/certificates/{number}/print", response_class=HTMLResponse)
def print_view(request: Request, ctx: Ctx, who: Who, number: str) -> Response:
    """打印视图 / The A4 printable certificate with its QR (quarantine.render)."""
    if (signin := _signed_in(request, who)) is not None:
        return signin
    from quarantine.reference import region_table
    from quarantine.render import certificate_html

    now = ctx.clock()
    view = _read(ctx, lambda db: service.get(db, _number(number), who, now=now))
    html = certificate_html(
        view.stored.certificate(), view.stored.qr_text, region_name=region_table().full_name
    )
    headers = {**pages.PAGE_HEADERS, "Content-Security-Policy": PRINT_CSP}
    return HTMLResponse(html, headers=headers)


# --------------------------------------------------------------------------- changes


def _change(
    request: Request,
    ctx: AppContext,
    who: Principal,
    number: str,
    work: Callable[[Any], object],
    done: str,
) -> Response:
    registry = need_registry(ctx)
    try:
        with _answers(), registry.session() as db:
            work(db)
    except (CertificateInvalid, service.Conflict) as exc:
        problems = getattr(exc, "problems", None)
        first = problems[0] if problems else Problem("", exc.code, exc.message_zh, exc.message_en)
        code = 409 if isinstance(exc, service.Conflict) else 422
        return _certificate_page(request, ctx, who, number, error=first, status_code=code)
    return _redirect(request, f"/console/certificates/{number}", done)


@router.post("/certificates/{number}/status")
async def change_status(request: Request, ctx: Ctx, who: Who, number: str) -> Response:
    """Revoke, suspend or reinstate with a reason (issuers of the number's region)."""
    if (signin := _signed_in(request, who)) is not None:
        return signin
    number = _number(number)
    values = await _form(request)
    op = values.get("op", "")
    actions = {"revoke": service.revoke, "suspend": service.suspend, "reinstate": service.reinstate}
    if op not in actions:
        raise ApiError(
            422, "UNKNOWN_ACTION", "未知的操作", "op must be revoke, suspend or reinstate"
        )
    reason = values.get("reason", "")[:MAX_REASON_FORM]
    now = ctx.clock()
    fn = actions[op]
    return await run_in_threadpool(
        _change, request, ctx, who, number, lambda db: fn(db, number, reason, who, now=now), op
    )


@router.get("/certificates/{number}/supersede", response_class=HTMLResponse)
def supersede_form(request: Request, ctx: Ctx, who: Who, number: str) -> Response:
    """换发 / The re-issue form, filled in from the original's record."""
    if (signin := _signed_in(request, who)) is not None:
        return signin
    _role(who, Role.ISSUER)
    now = ctx.clock()
    view = _read(ctx, lambda db: service.get(db, _number(number), who, now=now))
    kind = view.stored.kind
    values = forms.from_document(view.stored.record, kind)
    today = now.astimezone(CHINA_TZ).date()
    values["valid_from"] = max(today, view.stored.valid_from).isoformat()
    return _issue_page(request, who, kind, values, original=number)


@router.post("/certificates/{number}/supersede", response_class=HTMLResponse)
async def supersede_submit(request: Request, ctx: Ctx, who: Who, number: str) -> Response:
    if (signin := _signed_in(request, who)) is not None:
        return signin
    _role(who, Role.ISSUER)
    return await _issue_or_supersede(request, ctx, who, _number(number))


@router.post("/certificates/{number}/arrival")
async def arrival(request: Request, ctx: Ctx, who: Who, number: str) -> Response:
    """到达查验 / Record an arrival (inspectors): accepted closes the certificate."""
    from quarantine.reference import region_table

    if (signin := _signed_in(request, who)) is not None:
        return signin
    number = _number(number)
    values = await _form(request)
    accepted = values.get("accepted") == "yes"
    now = ctx.clock()

    def work(db: Any) -> object:
        return service.record_arrival(
            db,
            number,
            who,
            accepted=accepted,
            notes=values.get("notes", ""),
            region=values.get("region", ""),
            checkpoint=values.get("checkpoint", ""),
            regions=region_table(),
            now=now,
        )

    return await run_in_threadpool(_change, request, ctx, who, number, work, "arrival")


@router.post("/certificates/{number}/reinspection")
async def reinspection(request: Request, ctx: Ctx, who: Who, number: str) -> Response:
    """复检 / Record a re-inspection result (inspectors)."""
    from quarantine.reference import region_table

    if (signin := _signed_in(request, who)) is not None:
        return signin
    number = _number(number)
    values = await _form(request)
    result: service.ReinspectionResult = "PASSED" if values.get("result") == "PASSED" else "FAILED"
    if values.get("result") not in ("PASSED", "FAILED"):
        raise ApiError(422, "BAD_RESULT", "结果须为合格或不合格", "result must be PASSED or FAILED")
    now = ctx.clock()

    def work(db: Any) -> object:
        return service.record_reinspection(
            db,
            number,
            who,
            result=result,
            notes=values.get("notes", ""),
            region=values.get("region", ""),
            checkpoint=values.get("checkpoint", ""),
            regions=region_table(),
            now=now,
        )

    return await run_in_threadpool(_change, request, ctx, who, number, work, "reinspection")


# --------------------------------------------------------------------------- verify by photo


@router.get("/scan", response_class=HTMLResponse)
def scan_form(request: Request, ctx: Ctx, who: Who) -> Response:
    """拍照核验 / Verify by photo; an inspector's scans are recorded with the place."""
    if (signin := _signed_in(request, who)) is not None:
        return signin
    return render_console(
        request,
        who,
        "console_scan.html",
        max_mb=max(1, ctx.settings.max_upload_bytes // 1_000_000),
    )


@router.post("/scan", response_class=HTMLResponse)
async def scan_submit(request: Request, ctx: Ctx, who: Who) -> Response:
    if (signin := _signed_in(request, who)) is not None:
        return signin
    data, fields = await read_photo_form(request, ctx.settings.max_upload_bytes)
    session.check_csrf(request, fields.get(session.CSRF_FIELD))
    place = ScanFields(
        fields.get("region") or None,
        fields.get("checkpoint") or None,
        fields.get("plate") or None,
        fields.get("lon") or None,
        fields.get("lat") or None,
    )
    return await photo_page(request, ctx, who, data, place)
