"""Certificates in the registry: issue, read, search, change status, record inspections.

Thin routes: parse and authorise, call :mod:`quarantine.services.registry`, shape
the answer.  Certificate numbers are the only identifiers in URLs; a number is
checked against its pattern before any database work, and for status changes
the caller's region is checked against the number's region before the registry
is asked whether the number exists.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Annotated, Any, Final, Literal

from fastapi import APIRouter, Body, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.routing import APIRoute
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictBool

from quarantine.core.model import NUMBER_RE, CertificateNumber
from quarantine.core.regions import RegionTable
from quarantine.services import registry as service
from quarantine.services.authz import Action, Forbidden, Principal
from quarantine.storage.certificates import (
    MAX_FILTER_LENGTH,
    MAX_PAGE,
    MAX_PAGE_SIZE,
    WITH_EVENTS,
    CertStatus,
    StoredCertificate,
    derive_status,
    with_events,
)
from quarantine.storage.events import RecordedEvent
from quarantine.web import batching, idempotency
from quarantine.web.auth import Caller, may, principal
from quarantine.web.context import AppContext, context, need_registry
from quarantine.web.errors import ApiError
from quarantine.web.fastjson import FastJSONResponse
from quarantine.web.registry import Registry

PREFIX: Final = "/api/v1/certificates"
#: Largest request body accepted on these routes (a certificate is a few KiB).
MAX_BODY_BYTES: Final = 64 * 1024
NUMBER_PATTERN: Final = NUMBER_RE.pattern


# --------------------------------------------------------------------------- body limit


def _too_large() -> ApiError:
    return ApiError(
        413,
        "BODY_TOO_LARGE",
        f"请求内容超过 {MAX_BODY_BYTES} 字节",
        f"the request body is larger than {MAX_BODY_BYTES} bytes",
    )


class LimitedBodyRoute(APIRoute):
    """Refuses bodies over ``MAX_BODY_BYTES`` before parsing: by Content-Length
    first, then by counting what arrives (chunked uploads)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def limited(request: Request) -> Response:
            if request.method in ("GET", "HEAD", "OPTIONS"):
                return await handler(request)
            declared = request.headers.get("content-length")
            if declared is not None and (
                not declared.isdigit() or len(declared) > 12 or int(declared) > MAX_BODY_BYTES
            ):
                raise _too_large()
            chunks: list[bytes] = []
            size = 0
            async for chunk in request.stream():
                size += len(chunk)
                if size > MAX_BODY_BYTES:
                    raise _too_large()
                chunks.append(chunk)
            body = b"".join(chunks)
            delivered = False

            async def replay() -> dict[str, Any]:
                nonlocal delivered
                if not delivered:
                    delivered = True
                    return {"type": "http.request", "body": body, "more_body": False}
                message: dict[str, Any] = dict(await request.receive())
                return message

            return await handler(Request(request.scope, replay))

        return limited


router = APIRouter(route_class=LimitedBodyRoute, tags=["certificates"])


# --------------------------------------------------------------------------- models


class ErrorDetail(BaseModel):
    code: str = Field(description="原因代码 / machine reason code")
    zh: str
    en: str
    problems: list[dict[str, str]] | None = Field(
        None, description="逐字段问题 / field-level problems (field, code, zh, en)"
    )


class ErrorBody(BaseModel):
    error: ErrorDetail


class Links(BaseModel):
    certificate: str
    qr_png: str
    qr_svg: str
    print_html: str
    print_png: str
    verify: str = Field(description="二维码中的核验网址 / the verification URL inside the QR")


class IssuedOut(BaseModel):
    number: str
    kind: str
    kind_zh: str
    issuing_region: str
    issued_at: datetime
    valid_from: str
    valid_to: str
    kid: str
    status: CertStatus
    qr_text: str = Field(description="签名二维码文本 / the signed QR text")
    original: str | None = Field(
        None, description="换发时的原证书编号 / number this re-issue replaces"
    )
    links: Links


class EventOut(BaseModel):
    type: str
    at: datetime
    reason: str
    superseded_by: str
    actor: str
    region: str
    checkpoint: str
    detail: dict[str, Any]
    recorded_at: datetime


class CertificateOut(BaseModel):
    number: str
    kind: str
    kind_zh: str
    issuing_region: str
    issued_at: datetime
    valid_from: str
    valid_to: str
    kid: str
    status: CertStatus
    superseded_by: str | None
    qr_text: str
    record: dict[str, Any] = Field(
        description="登记的完整内容（身份证号已遮蔽）/ the full record (ID number masked)"
    )
    events: list[EventOut]
    links: Links


class SummaryOut(BaseModel):
    number: str
    kind: str
    issuing_region: str
    issued_at: datetime
    valid_from: str
    valid_to: str
    consignor: str
    consignee: str
    producer: str
    status: CertStatus
    links: Links


class PageOut(BaseModel):
    items: list[SummaryOut]
    total: int
    page: int
    size: int
    pages: int


class ChangedOut(BaseModel):
    number: str
    status: CertStatus
    event: EventOut


class SupersededOut(ChangedOut):
    superseded_by: str
    replacement: IssuedOut


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class ReasonIn(_Strict):
    reason: str = Field(
        min_length=1, max_length=2000, description="原因（必填）/ reason (required)"
    )


class SupersedeIn(ReasonIn):
    certificate: dict[str, Any] = Field(
        description=(
            "换发的新证书内容（与签发相同；references.original 自动填写）/ the replacement "
            "document, as for issuing; references.original is filled in"
        )
    )


class _Place(_Strict):
    notes: str = Field("", max_length=2000, description="说明 / notes")
    region: str = Field(
        "",
        pattern=r"^(\d{6})?$",
        description="查验地行政区划代码（默认令牌所属地区）/ where (default: the token's region)",
    )
    checkpoint: str = Field("", max_length=200, description="检查站 / checkpoint")


class ReinspectionIn(_Place):
    result: Literal["PASSED", "FAILED"] = Field(description="复检结果 / re-inspection result")


class ArrivalIn(_Place):
    accepted: StrictBool = Field(
        description="true：查验合格，证书核销；false：仅记录不合格的复检结果 / "
        "true closes the transport certificate; false records a failed re-inspection"
    )


_ERRORS: Final[dict[int | str, dict[str, Any]]] = {
    401: {"model": ErrorBody, "description": "需要有效令牌 / a valid token is needed"},
    403: {"model": ErrorBody, "description": "无权操作 / not allowed for this role or region"},
    413: {"model": ErrorBody, "description": "请求过大 / request body too large"},
    422: {"model": ErrorBody, "description": "请求无效 / invalid request (field problems)"},
}
_NOT_FOUND: Final[dict[int | str, dict[str, Any]]] = {
    404: {"model": ErrorBody, "description": "CERTIFICATE_NOT_FOUND"},
}
_CONFLICT: Final[dict[int | str, dict[str, Any]]] = {
    409: {
        "model": ErrorBody,
        "description": "状态冲突或 Idempotency-Key 重用 / status conflict or IDEMPOTENCY_KEY_REUSED",
    },
}


# --------------------------------------------------------------------------- dependencies


async def cert_number(
    number: Annotated[
        str,
        Path(
            description="证书编号 / certificate number RRRRRR-YYYY-NNNNNN",
            examples=["310112-2026-000158"],
            json_schema_extra={"pattern": NUMBER_PATTERN},
        ),
    ],
) -> str:
    """The number from the URL, checked before anything else is done."""
    try:
        CertificateNumber.parse(number)
    except ValueError:
        raise ApiError(
            422,
            "BAD_NUMBER",
            "证书编号格式应为 行政区划代码-年份-六位序号",
            "the certificate number must be RRRRRR-YYYY-NNNNNN",
        ) from None
    return number


Number = Annotated[str, Depends(cert_number)]


async def _registry(ctx: Annotated[AppContext, Depends(context)]) -> Registry:
    return need_registry(ctx)


Db = Annotated[Registry, Depends(_registry)]
Ctx = Annotated[AppContext, Depends(context)]


async def _reader(who: Caller) -> Principal:
    may(Action.READ, who)
    return who


async def _issuer(who: Caller) -> Principal:
    may(Action.ISSUE, who, who.region)  # the role; the certificate's region is checked later
    return who


async def _inspector(who: Caller) -> Principal:
    may(Action.RECORD_INSPECTION, who)
    return who


async def _changer(number: Number, who: Caller) -> Principal:
    may(Action.CHANGE_STATUS, who, number[:6])
    return who


def _regions() -> RegionTable:
    from quarantine.reference import region_table

    return region_table()


async def _signers(request: Request, ctx: Ctx) -> service.SignerFor:
    signers: service.SignerFor | None = getattr(request.app.state, "quarantine_signers", None)
    if signers is None:
        signers = service.KeyFolderSigners(
            ctx.settings.resolved_keys_dir(), ctx.settings.passphrase_bytes()
        )
        request.app.state.quarantine_signers = signers
    return signers


async def _reading(request: Request) -> tuple[AppContext, Registry, Principal]:
    """``Reader``, ``Db`` and ``Ctx`` of the hot read routes as one dependency (solved once)."""
    ctx = await context(request)
    who = await principal(request, ctx)
    may(Action.READ, who)
    return ctx, await _registry(ctx), who


async def _issuing(
    request: Request,
) -> tuple[AppContext, Registry, Principal, service.SignerFor]:
    """``Issuer``, ``Db``, ``Ctx`` and ``Signers`` of the issue route as one dependency."""
    ctx = await context(request)
    who = await principal(request, ctx)
    may(Action.ISSUE, who, who.region)  # the role; the certificate's region is checked later
    return ctx, await _registry(ctx), who, await _signers(request, ctx)


Reader = Annotated[Principal, Depends(_reader)]
Issuer = Annotated[Principal, Depends(_issuer)]
Inspector = Annotated[Principal, Depends(_inspector)]
Changer = Annotated[Principal, Depends(_changer)]
Signers = Annotated[service.SignerFor, Depends(_signers)]


@contextmanager
def _answers() -> Iterator[None]:
    """Service errors as HTTP statuses."""
    try:
        yield
    except service.NotFound as exc:
        raise ApiError(404, exc.code, exc.message_zh, exc.message_en) from None
    except service.Conflict as exc:
        raise ApiError(409, exc.code, exc.message_zh, exc.message_en) from None
    except Forbidden as exc:
        raise ApiError(403, exc.code, exc.message_zh, exc.message_en) from None


# --------------------------------------------------------------------------- shapes


def _links(number: str, qr_text: str) -> dict[str, str]:
    base = f"{PREFIX}/{number}"
    return {
        "certificate": base,
        "qr_png": f"{base}/qr.png",
        "qr_svg": f"{base}/qr.svg",
        "print_html": f"{base}/print",
        "print_png": f"{base}/print.png",
        "verify": qr_text,
    }


def _issued(issued: service.Issued, now: datetime) -> dict[str, Any]:
    """The answer to an issue, JSON-ready (plain strings, as ``jsonable_encoder`` makes them)."""
    cert = issued.certificate
    number = str(cert.number)
    return {
        "number": number,
        "kind": cert.kind.value,
        "kind_zh": cert.kind.title_zh,
        "issuing_region": cert.number.region,
        "issued_at": cert.issued_at.isoformat(),
        "valid_from": cert.valid_from.isoformat(),
        "valid_to": cert.valid_to.isoformat(),
        "kid": issued.kid,
        "status": derive_status(cert.valid_from, cert.valid_to, (), now).value,
        "qr_text": issued.qr_text,
        "original": cert.references.original or None,
        "links": _links(number, issued.qr_text),
    }


def _event(event: RecordedEvent) -> dict[str, Any]:
    return {
        "type": event.type.value,
        "at": event.at.astimezone(UTC),
        "reason": event.reason,
        "superseded_by": event.superseded_by,
        "actor": event.actor,
        "region": event.region,
        "checkpoint": event.checkpoint,
        "detail": event.detail,
        "recorded_at": event.recorded_at.astimezone(UTC),
    }


def _masked(record: dict[str, Any]) -> dict[str, Any]:
    """The record without the digest salt and with the agent's ID number masked."""
    out = {k: v for k, v in record.items() if k != "salt"}
    agent = out.get("agent")
    if isinstance(agent, dict) and agent.get("id_number"):
        id_number = str(agent["id_number"])
        out["agent"] = {
            **{k: v for k, v in agent.items() if k != "id_number"},
            "id_masked": "*" * 14 + id_number[-4:],
        }
    return out


def _view(view: service.CertificateView) -> dict[str, Any]:
    s = view.stored
    return {
        "number": s.number,
        "kind": s.kind.value,
        "kind_zh": s.kind.title_zh,
        "issuing_region": s.issuing_region,
        "issued_at": s.issued_at,
        "valid_from": s.valid_from.isoformat(),
        "valid_to": s.valid_to.isoformat(),
        "kid": s.kid,
        "status": view.status,
        "superseded_by": service.replaced(view) or None,
        "qr_text": s.qr_text,
        "record": _masked(s.record),
        "events": [_event(e) for e in view.events],
        "links": _links(s.number, s.qr_text),
    }


def _summary(s: StoredCertificate, status: CertStatus) -> dict[str, Any]:
    return {
        "number": s.number,
        "kind": s.kind.value,
        "issuing_region": s.issuing_region,
        "issued_at": s.issued_at,
        "valid_from": s.valid_from.isoformat(),
        "valid_to": s.valid_to.isoformat(),
        "consignor": s.consignor,
        "consignee": s.consignee,
        "producer": s.producer,
        "status": status,
        "links": _links(s.number, s.qr_text),
    }


def _changed(changed: service.Changed) -> dict[str, Any]:
    return {"number": changed.number, "status": changed.status, "event": _event(changed.event)}


# --------------------------------------------------------------------------- issue


_EXAMPLE: Final = {
    "kind": "TRANSPORT",
    "scope": "INTRA_PROVINCE",
    "issuing_agency": {"region": "310112", "name": "上海市闵行区林业站"},
    "delegating_agency": {"region": "310000", "name": "上海市林业总站"},
    "officer": {"name": "李慧", "number": "沪林检0231"},
    "consignor": {
        "name": "上海闵行浦江花木有限公司",
        "address": "上海市闵行区浦江镇陈行公路2388号",
    },
    "consignee": {"name": "上海浦东园林建设有限公司", "address": "上海市浦东新区川沙路5558号"},
    "conveyance": {"type": "汽车", "identifier": "沪B5D218"},
    "route": {"from": "310112", "via": [], "to": "310115"},
    "valid_from": "2026-11-27",
    "valid_to": "2026-12-31",
    "items": [{"product": "银杏", "specification": "胸径15-18cm", "unit": "株", "quantity": 40}],
    "statement": "经检疫未发现全国林业检疫性有害生物和本省补充林业检疫性有害生物，同意调运。",
}


@router.post(
    PREFIX,
    status_code=201,
    response_model=IssuedOut,
    responses={**_ERRORS, **_CONFLICT},
)
def issue_certificate(
    request: Request,
    doc: Annotated[
        dict[str, Any],
        Body(
            description=(
                "证书内容（同 samples/input/*.json；number、issued_at 可省略）/ the certificate "
                "document as in samples/input/*.json; number and issued_at are optional"
            ),
            openapi_examples={"transport": {"summary": "省内调运", "value": _EXAMPLE}},
        ),
    ],
    issuing: Annotated[
        tuple[AppContext, Registry, Principal, service.SignerFor], Depends(_issuing)
    ],
    key: idempotency.IdempotencyKey = None,
) -> Response:
    """签发证书 / Issue a certificate (issuers, for their own region).

    Returns the number, the signed QR text and links to the QR images and the
    printable certificate.
    """
    ctx, db, who, signers = issuing
    now = ctx.clock()
    path = request.url.path
    digest = None
    if key is not None:
        idempotency.check_key(key)
        digest = idempotency.request_hash(doc)
        with _answers():
            replay = idempotency.stored_answer(
                db, key=key, actor=who.actor, method="POST", path=path, digest=digest
            )
        if replay is not None:
            return replay
    base_url = ctx.settings.base_url
    with _answers():
        # Validation, authorisation and the signing key first, in this request alone.
        prepared = service.prepare_issue(doc, who, signer_for=signers, regions=_regions(), now=now)

        def render(issued: service.Issued) -> dict[str, Any]:
            return _issued(issued, now)

        batcher = batching.batcher_for(db)
        if batcher is not None and prepared.draft.wants_number:
            return batcher.issue(
                batching.IssueJob(
                    prepared,
                    now,
                    base_url,
                    render,
                    idempotency=None
                    if key is None or digest is None
                    else (key, who.actor, "POST", path, digest),
                )
            )
        return idempotency.run_prepared(
            db,
            key=key,
            actor=who.actor,
            method="POST",
            path=path,
            digest=digest,
            status=201,
            now=now,
            work=lambda session: render(
                service.store_prepared(session, prepared, base_url=base_url, now=now)
            ),
        )


# --------------------------------------------------------------------------- read


@router.get(PREFIX, response_model=PageOut, responses=_ERRORS)
def search_certificates(
    who: Reader,
    db: Db,
    ctx: Ctx,
    number: Annotated[
        str | None,
        Query(
            max_length=18,
            pattern=r"^[0-9-]+$",
            description="编号前缀 / number prefix",
            examples=["310112-2026"],
        ),
    ] = None,
    consignor: Annotated[
        str | None, Query(max_length=MAX_FILTER_LENGTH, description="发货人 / consignor contains")
    ] = None,
    consignee: Annotated[
        str | None, Query(max_length=MAX_FILTER_LENGTH, description="收货人 / consignee contains")
    ] = None,
    product: Annotated[
        str | None, Query(max_length=MAX_FILTER_LENGTH, description="品名 / product contains")
    ] = None,
    region: Annotated[
        str | None,
        Query(
            pattern=r"^\d{6}$",
            description="签发地区（省、市代码含下辖区）/ issuing region; province or city codes cover their parts",
        ),
    ] = None,
    status: Annotated[CertStatus | None, Query(description="当前状态 / status now")] = None,
    issued_from: Annotated[
        AwareDatetime | None, Query(description="签发时间起（含）/ issued at or after")
    ] = None,
    issued_to: Annotated[
        AwareDatetime | None, Query(description="签发时间止（不含）/ issued before")
    ] = None,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="每页条数 / page size")] = 20,
) -> dict[str, Any]:
    """查询证书 / Search certificates (inspectors, issuers, admins); newest first."""
    now = ctx.clock()
    with _answers(), db.reader() as session:
        found = service.search(
            session,
            who,
            now=now,
            number=number or None,
            consignor=consignor or None,
            consignee=consignee or None,
            product=product or None,
            region=region,
            status=status,
            issued_from=issued_from,
            issued_to=issued_to,
            page=page,
            size=size,
        )
    return {
        "items": [_summary(hit.certificate, hit.status) for hit in found.items],
        "total": found.total,
        "page": found.page,
        "size": found.size,
        "pages": found.pages,
    }


def _load(db: Registry, number: str, who: Principal, now: datetime) -> service.CertificateView:
    with _answers():
        direct = db.direct_reads()
        if direct is not None:  # PostgreSQL: one prepared statement on the driver
            found = with_events(direct.rows(WITH_EVENTS, {"number": number}))
            return service.view_of(found, number, who, now=now)
        return db.read(lambda session: service.get(session, number, who, now=now))


@router.get(
    PREFIX + "/{number}", response_model=CertificateOut, responses={**_ERRORS, **_NOT_FOUND}
)
def get_certificate(
    number: Number, reading: Annotated[tuple[AppContext, Registry, Principal], Depends(_reading)]
) -> Response:
    """证书详情 / One certificate: the full record, its status now and every event."""
    ctx, db, who = reading
    # Already in the declared shape: answered without validating it into the model again.
    return FastJSONResponse(_view(_load(db, number, who, ctx.clock())))


_PRIVATE: Final = {"Cache-Control": "private, no-store"}


@router.get(
    PREFIX + "/{number}/qr.png",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}, **_ERRORS, **_NOT_FOUND},
)
def qr_png(number: Number, who: Reader, db: Db, ctx: Ctx) -> Response:
    """二维码 PNG / The QR code as PNG."""
    from quarantine.render import qr_png as render

    view = _load(db, number, who, ctx.clock())
    return Response(render(view.stored.qr_text), media_type="image/png", headers=_PRIVATE)


@router.get(
    PREFIX + "/{number}/qr.svg",
    response_class=Response,
    responses={200: {"content": {"image/svg+xml": {}}}, **_ERRORS, **_NOT_FOUND},
)
def qr_svg(number: Number, who: Reader, db: Db, ctx: Ctx) -> Response:
    """二维码 SVG（0.5 mm 模块）/ The QR code as SVG (0.5 mm modules)."""
    from quarantine.render import qr_svg as render

    view = _load(db, number, who, ctx.clock())
    return Response(render(view.stored.qr_text), media_type="image/svg+xml", headers=_PRIVATE)


@router.get(
    PREFIX + "/{number}/print",
    response_class=HTMLResponse,
    responses={**_ERRORS, **_NOT_FOUND},
)
def print_html(number: Number, who: Reader, db: Db, ctx: Ctx) -> HTMLResponse:
    """可打印证书（A4 HTML）/ The printable certificate (A4 HTML)."""
    from quarantine.render import certificate_html

    view = _load(db, number, who, ctx.clock())
    regions = _regions()
    page = certificate_html(
        view.stored.certificate(), view.stored.qr_text, region_name=regions.full_name
    )
    return HTMLResponse(page, headers=_PRIVATE)


@router.get(
    PREFIX + "/{number}/print.png",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}, **_ERRORS, **_NOT_FOUND},
)
def print_png(number: Number, who: Reader, db: Db, ctx: Ctx) -> Response:
    """可打印证书（A4 PNG，150 dpi）/ The printable certificate (A4 PNG, 150 dpi)."""
    from quarantine.render import certificate_png

    view = _load(db, number, who, ctx.clock())
    regions = _regions()
    png = certificate_png(
        view.stored.certificate(), view.stored.qr_text, region_name=regions.full_name
    )
    return Response(png, media_type="image/png", headers=_PRIVATE)


# --------------------------------------------------------------------------- status changes


_CHANGES: Final[dict[int | str, dict[str, Any]]] = {**_ERRORS, **_NOT_FOUND, **_CONFLICT}


def _change(
    request: Request,
    db: Registry,
    who: Principal,
    key: str | None,
    payload: Any,
    now: datetime,
    status: int,
    work: Callable[[Any], dict[str, Any]],
) -> Response:
    with _answers():
        return idempotency.run(
            db,
            key=key,
            actor=who.actor,
            method="POST",
            path=request.url.path,
            payload=payload,
            status=status,
            now=now,
            work=work,
        )


@router.post(PREFIX + "/{number}/revoke", response_model=ChangedOut, responses=_CHANGES)
def revoke(
    request: Request,
    number: Number,
    who: Changer,
    body: ReasonIn,
    db: Db,
    ctx: Ctx,
    key: idempotency.IdempotencyKey = None,
) -> Response:
    """撤销证书（最终）/ Revoke a certificate (final; issuers of its region)."""
    now = ctx.clock()
    return _change(
        request,
        db,
        who,
        key,
        body.model_dump(),
        now,
        200,
        lambda s: _changed(service.revoke(s, number, body.reason, who, now=now)),
    )


@router.post(PREFIX + "/{number}/suspend", response_model=ChangedOut, responses=_CHANGES)
def suspend(
    request: Request,
    number: Number,
    who: Changer,
    body: ReasonIn,
    db: Db,
    ctx: Ctx,
    key: idempotency.IdempotencyKey = None,
) -> Response:
    """暂停证书 / Suspend a certificate until it is reinstated (issuers of its region)."""
    now = ctx.clock()
    return _change(
        request,
        db,
        who,
        key,
        body.model_dump(),
        now,
        200,
        lambda s: _changed(service.suspend(s, number, body.reason, who, now=now)),
    )


@router.post(PREFIX + "/{number}/reinstate", response_model=ChangedOut, responses=_CHANGES)
def reinstate(
    request: Request,
    number: Number,
    who: Changer,
    body: ReasonIn,
    db: Db,
    ctx: Ctx,
    key: idempotency.IdempotencyKey = None,
) -> Response:
    """恢复被暂停的证书 / Reinstate a suspended certificate (issuers of its region)."""
    now = ctx.clock()
    return _change(
        request,
        db,
        who,
        key,
        body.model_dump(),
        now,
        200,
        lambda s: _changed(service.reinstate(s, number, body.reason, who, now=now)),
    )


@router.post(
    PREFIX + "/{number}/supersede",
    status_code=201,
    response_model=SupersededOut,
    responses=_CHANGES,
)
def supersede(
    request: Request,
    number: Number,
    who: Changer,
    body: SupersedeIn,
    db: Db,
    ctx: Ctx,
    signers: Signers,
    key: idempotency.IdempotencyKey = None,
) -> Response:
    """换发证书 / Supersede: issue a replacement carrying the original number, mark the old one."""
    now = ctx.clock()
    regions = _regions()

    def work(session: Any) -> dict[str, Any]:
        done = service.supersede(
            session,
            number,
            body.certificate,
            body.reason,
            who,
            signer_for=signers,
            base_url=ctx.settings.base_url,
            regions=regions,
            now=now,
        )
        return {
            **_changed(done.old),
            "superseded_by": str(done.replacement.certificate.number),
            "replacement": _issued(done.replacement, now),
        }

    return _change(request, db, who, key, body.model_dump(), now, 201, work)


# --------------------------------------------------------------------------- inspections


@router.post(
    PREFIX + "/{number}/reinspections",
    status_code=201,
    response_model=ChangedOut,
    responses=_CHANGES,
)
def record_reinspection(
    request: Request,
    number: Number,
    who: Inspector,
    body: ReinspectionIn,
    db: Db,
    ctx: Ctx,
    key: idempotency.IdempotencyKey = None,
) -> Response:
    """记录复检结果 / Record a re-inspection result (inspectors)."""
    now = ctx.clock()
    regions = _regions()
    return _change(
        request,
        db,
        who,
        key,
        body.model_dump(),
        now,
        201,
        lambda s: _changed(
            service.record_reinspection(
                s,
                number,
                who,
                result=body.result,
                notes=body.notes,
                region=body.region,
                checkpoint=body.checkpoint,
                regions=regions,
                now=now,
            )
        ),
    )


@router.post(PREFIX + "/{number}/arrival", response_model=ChangedOut, responses=_CHANGES)
def record_arrival(
    request: Request,
    number: Number,
    who: Inspector,
    body: ArrivalIn,
    db: Db,
    ctx: Ctx,
    key: idempotency.IdempotencyKey = None,
) -> Response:
    """到达查验 / Record an arrival check (inspectors).

    Accepted: the transport certificate is closed (核销).  Rejected: the failed
    re-inspection is recorded and the status is unchanged.
    """
    now = ctx.clock()
    regions = _regions()
    return _change(
        request,
        db,
        who,
        key,
        body.model_dump(),
        now,
        200,
        lambda s: _changed(
            service.record_arrival(
                s,
                number,
                who,
                accepted=body.accepted,
                notes=body.notes,
                region=body.region,
                checkpoint=body.checkpoint,
                regions=regions,
                now=now,
            )
        ),
    )
