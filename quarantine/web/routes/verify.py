"""Verification: by QR text, by photo, and the page the QR's URL opens."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field

from quarantine.core.verify import Report, conclude, open_text, verify_text
from quarantine.services.authz import Principal
from quarantine.web.auth import Caller, principal
from quarantine.web.bodies import read_json_body
from quarantine.web.context import AppContext, context
from quarantine.web.errors import ApiError
from quarantine.web.fastjson import FastJSONResponse
from quarantine.web.pages import verification_page

if TYPE_CHECKING:
    from quarantine.services.scans import ScanPlace
    from quarantine.storage.scans import ScanEvent

router = APIRouter()

MAX_TEXT = 8000
#: A verification request's body: the text and the scan fields, with room for JSON escapes.
MAX_BODY = 64 * 1024
#: Limits of the optional scan fields (see ``quarantine.services.scans``).
MAX_REGION = 6
MAX_CHECKPOINT = 200
MAX_PLATE = 20
_REGION_DOC = "核验地点的地区代码（检查员扫描时记录）/ GB/T 2260 code of the scan's place (recorded for inspectors)"
_CHECKPOINT_DOC = "检查站 / checkpoint (recorded for inspectors)"
_PLATE_DOC = "车牌号 / vehicle plate (recorded for inspectors)"


class VerifyTextRequest(BaseModel):
    text: str = Field(
        min_length=1, max_length=MAX_TEXT, description="扫描得到的二维码文本 / the scanned QR text"
    )
    region: str | None = Field(default=None, max_length=MAX_REGION, description=_REGION_DOC)
    checkpoint: str | None = Field(
        default=None, max_length=MAX_CHECKPOINT, description=_CHECKPOINT_DOC
    )
    plate: str | None = Field(default=None, max_length=MAX_PLATE, description=_PLATE_DOC)
    # The inspector device's position, when given (reuse alerts).
    lon: float | None = Field(default=None, ge=-180, le=180, description="经度 / device longitude")
    lat: float | None = Field(default=None, ge=-90, le=90, description="纬度 / device latitude")


@dataclass(frozen=True)
class ScanFields:
    """The optional scan fields as sent (body, form or query)."""

    region: str | None = None
    checkpoint: str | None = None
    plate: str | None = None
    #: The device's position as sent (photo verification: form or query, both or neither).
    lon: str | None = None
    lat: str | None = None

    def over(self, other: ScanFields) -> ScanFields:
        """These fields, with ``other``'s where these are missing (the position as a
        pair: these when either coordinate is given, empty texts counting as not)."""
        here = bool(self.lon) or bool(self.lat)
        return ScanFields(
            self.region if self.region is not None else other.region,
            self.checkpoint if self.checkpoint is not None else other.checkpoint,
            self.plate if self.plate is not None else other.plate,
            self.lon if here else other.lon,
            self.lat if here else other.lat,
        )


def scan_query(
    region: Annotated[str | None, Query(max_length=MAX_REGION, description=_REGION_DOC)] = None,
    checkpoint: Annotated[
        str | None, Query(max_length=MAX_CHECKPOINT, description=_CHECKPOINT_DOC)
    ] = None,
    plate: Annotated[str | None, Query(max_length=MAX_PLATE, description=_PLATE_DOC)] = None,
) -> ScanFields:
    return ScanFields(region, checkpoint, plate)


ScanQuery = Annotated[ScanFields, Depends(scan_query)]

_LON_DOC = "设备经度（度，须与 lat 同时给出）/ device longitude in degrees (with lat)"
_LAT_DOC = "设备纬度（度，须与 lon 同时给出）/ device latitude in degrees (with lon)"


def position_query(
    lon: Annotated[str | None, Query(description=_LON_DOC)] = None,
    lat: Annotated[str | None, Query(description=_LAT_DOC)] = None,
) -> tuple[str | None, str | None]:
    """The device's position as sent in the query (checked by ``services.scans.scan_position``,
    which answers with its own reason codes)."""
    return lon, lat


PositionQuery = Annotated[tuple[str | None, str | None], Depends(position_query)]


def scan_for(who: Principal, fields: ScanFields) -> tuple[Principal, ScanPlace] | None:
    """Validate the scan fields; the place to record when ``who`` is an inspector."""
    from quarantine.reference import region_table
    from quarantine.services.scans import scan_place

    place = scan_place(
        who,
        region_table(),
        region=fields.region,
        checkpoint=fields.checkpoint,
        plate=fields.plate,
        lon=fields.lon,
        lat=fields.lat,
    )
    return None if place is None else (who, place)


async def limit_public(request: Request, ctx: Annotated[AppContext, Depends(context)]) -> None:
    client = request.client.host if request.client else "unknown"
    wait = ctx.limiter.take(client)
    if wait > 0:
        raise ApiError(
            429,
            "RATE_LIMITED",
            "请求过于频繁，请稍后再试",
            "too many requests; try again later",
            headers={"Retry-After": ctx.limiter.retry_after(wait)},
        )


def verify_and_record(
    ctx: AppContext, text: str, now: datetime, scan: tuple[Principal, ScanPlace] | None = None
) -> tuple[Report, ScanEvent | None]:
    """Verify with the registry's status (else ``ctx.status``), and record an inspector's
    scan in the same transaction.

    A node without a registry records nothing.
    """
    if ctx.registry is None:
        report = verify_text(text, trust=ctx.trust, now=now, skew=ctx.skew, status=ctx.status)
        return report, None
    from quarantine.storage.events import RegistryStatusSource

    if scan is None:
        direct = ctx.registry.direct_status()
        if direct is not None:  # PostgreSQL: one prepared statement on the driver
            report = verify_text(text, trust=ctx.trust, now=now, skew=ctx.skew, status=direct)
            return report, None
        report = ctx.registry.read(
            lambda session: verify_text(
                text, trust=ctx.trust, now=now, skew=ctx.skew, status=RegistryStatusSource(session)
            )
        )
        return report, None
    from quarantine.services.scans import record_scan

    with ctx.registry.session() as session:
        report = verify_text(
            text, trust=ctx.trust, now=now, skew=ctx.skew, status=RegistryStatusSource(session)
        )
        return report, record_scan(session, scan[0], scan[1], report, text, now)


async def verify_online(
    ctx: AppContext, text: str, now: datetime, scan: tuple[Principal, ScanPlace] | None = None
) -> tuple[Report, ScanEvent | None]:
    """:func:`verify_and_record` for async routes.

    On PostgreSQL a verification that records nothing answers on the event loop: the
    signature and content checked here, the status looked up on an asynchronous
    connection (``ctx.async_status``) — no hop to a worker thread.  A node without a
    registry has no I/O to wait for.  Everything else (an inspector's scan, SQLite) runs
    in a worker thread.
    """
    if ctx.registry is None:
        return verify_and_record(ctx, text, now, scan)
    status = ctx.async_status
    if scan is None and status is not None:
        opened = open_text(text, trust=ctx.trust, now=now)
        if isinstance(opened, Report):
            return opened, None
        info = await status.lookup(opened.number, now)
        return conclude(opened, trust=ctx.trust, now=now, skew=ctx.skew, status=info), None
    from starlette.concurrency import run_in_threadpool

    return await run_in_threadpool(verify_and_record, ctx, text, now, scan)


def _with_scan(report: Report, event: ScanEvent | None) -> dict[str, Any]:
    out = report.to_dict()
    if event is not None:
        from quarantine.services.scans import scan_summary

        out["scan"] = scan_summary(event)
    return out


class _ScanQuery(BaseModel):
    region: str | None = Field(default=None, max_length=MAX_REGION)
    checkpoint: str | None = Field(default=None, max_length=MAX_CHECKPOINT)
    plate: str | None = Field(default=None, max_length=MAX_PLATE)


_NO_SCAN_FIELDS = ScanFields()
_SCAN_QUERY_NAMES = ("region", "checkpoint", "plate")
#: The query parameters of ``POST /api/v1/verify`` as the OpenAPI shows them.
_SCAN_QUERY_DOC = [
    {
        "name": name,
        "in": "query",
        "required": False,
        "description": doc,
        "schema": {"anyOf": [{"type": "string", "maxLength": limit}, {"type": "null"}]},
    }
    for name, doc, limit in (
        ("region", _REGION_DOC, MAX_REGION),
        ("checkpoint", _CHECKPOINT_DOC, MAX_CHECKPOINT),
        ("plate", _PLATE_DOC, MAX_PLATE),
    )
]


def scan_query_of(request: Request) -> ScanFields:
    """The optional scan fields of the query string, validated like declared ``Query``
    parameters (same limits, same 422) but read directly: FastAPI's solving of three
    declared parameters cost a verification as much as its status look-up."""
    query = request.query_params
    if not query:
        return _NO_SCAN_FIELDS
    from pydantic import ValidationError

    try:
        fields = _ScanQuery.model_validate(
            {name: query[name] for name in _SCAN_QUERY_NAMES if name in query}
        )
    except ValidationError as exc:
        raise RequestValidationError(
            [{**error, "loc": ("query", *error["loc"])} for error in exc.errors()]
        ) from None
    return ScanFields(fields.region, fields.checkpoint, fields.plate)


async def verifying(request: Request) -> tuple[AppContext, Principal, ScanFields]:
    """Everything ``POST /api/v1/verify`` needs besides its body, as one dependency
    (the rate limit, then the caller, then the query's scan fields): what separate
    dependencies do, solved once."""
    ctx = await context(request)
    await limit_public(request, ctx)
    return ctx, await principal(request, ctx), scan_query_of(request)


class _ReadDirectly(APIRoute):
    """``POST /api/v1/verify`` with its inputs read directly instead of by FastAPI's
    parameter solving, which cost the route as much as its status look-up.

    The endpoint and its signature stay as declared (the OpenAPI, the exception
    handlers and the answers are the same); the handler below reads the same inputs —
    the caller through :func:`verifying`, the body validated by pydantic from the raw
    JSON — and calls it.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        endpoint = self.endpoint

        async def handler(request: Request) -> Response:
            verifier = await verifying(request)
            body = await read_json_body(request, VerifyTextRequest, max_bytes=MAX_BODY)
            response: Response = await endpoint(body, verifier)
            return response

        return handler


async def verify_by_text(
    body: VerifyTextRequest,
    verifier: Annotated[tuple[AppContext, Principal, ScanFields], Depends(verifying)],
) -> Response:
    """核验二维码文本 / Verify a scanned QR text.

    检查员（令牌）的每次核验都记录扫描事件 / every verification by an inspector (token)
    records a scan event (place ``region``, ``checkpoint``, vehicle ``plate``).
    """
    ctx, who, query = verifier
    if (body.lon is None) != (body.lat is None):
        from quarantine.services.scans import scan_position

        scan_position(body.lon, body.lat)  # raises SCAN_POSITION_INCOMPLETE (422)
    fields = ScanFields(body.region, body.checkpoint, body.plate)
    scan = scan_for(who, fields.over(query))
    if scan is not None and body.lon is not None and body.lat is not None:
        from dataclasses import replace

        scan = (scan[0], replace(scan[1], position=(body.lon, body.lat)))
    # The report is JSON-ready: answered as is, without FastAPI's validation and encoding
    # of a ``dict[str, Any]`` (the schema stays the declared ``response_model``).
    return FastJSONResponse(_with_scan(*await verify_online(ctx, body.text, ctx.clock(), scan)))


router.add_api_route(
    "/api/v1/verify",
    verify_by_text,
    methods=["POST"],
    tags=["verify"],
    response_model=dict[str, Any],
    openapi_extra={"parameters": _SCAN_QUERY_DOC},
    route_class_override=_ReadDirectly,
)


@router.post("/api/v1/verify/image", dependencies=[Depends(limit_public)], tags=["verify"])
async def verify_by_image(
    request: Request,
    ctx: Annotated[AppContext, Depends(context)],
    who: Caller,
    query: ScanQuery,
    position: PositionQuery,
) -> dict[str, Any]:
    """核验照片中的所有证书二维码 / Verify every certificate QR code in a photo (multipart field ``image``).

    Optional form fields (or query parameters) ``region``, ``checkpoint``, ``plate`` and
    the device's position ``lon``, ``lat`` (degrees, both or neither; 422
    ``SCAN_POSITION_INCOMPLETE`` / ``SCAN_POSITION_INVALID``): recorded with an
    inspector's scan.
    """
    from starlette.datastructures import UploadFile

    limit = ctx.settings.max_upload_bytes
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit + 64 * 1024:
        raise ApiError(413, "UPLOAD_TOO_LARGE", "上传文件过大", f"upload larger than {limit} bytes")
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise ApiError(
            415,
            "UPLOAD_NOT_MULTIPART",
            "请以 multipart/form-data 上传图片",
            "send the image as multipart/form-data (field 'image')",
        )
    try:
        form = await request.form(max_files=1, max_fields=6, max_part_size=limit)
    except Exception as exc:  # starlette raises MultiPartException and HTTPException variants
        raise ApiError(
            413 if "size" in str(exc).lower() else 400,
            "UPLOAD_INVALID",
            "上传内容无效或过大",
            f"upload rejected: {exc}",
        ) from exc
    try:
        upload = form.get("image")
        if not isinstance(upload, UploadFile):
            raise ApiError(
                422, "UPLOAD_MISSING", "缺少图片（字段 image）", "no image in field 'image'"
            )
        data = await upload.read(limit + 1)
        sent = {name: form.get(name) for name in ("region", "checkpoint", "plate", "lon", "lat")}
    finally:
        await form.close()
    bad = [name for name, value in sent.items() if value is not None and not isinstance(value, str)]
    if bad:
        raise ApiError(
            422, "SCAN_FIELD_INVALID", "扫描字段须为文本", f"form field {bad[0]!r} must be text"
        )
    scan = scan_for(
        who,
        ScanFields(*(v if isinstance(v, str) else None for v in sent.values())).over(
            ScanFields(query.region, query.checkpoint, query.plate, *position)
        ),
    )
    if len(data) > limit:
        raise ApiError(413, "UPLOAD_TOO_LARGE", "上传文件过大", f"upload larger than {limit} bytes")
    from starlette.concurrency import run_in_threadpool

    from quarantine.imaging import ImageLimits, decode_image_bytes

    result = await run_in_threadpool(
        decode_image_bytes, data, ImageLimits(max_bytes=limit), want=None
    )
    now = ctx.clock()
    reports = [
        {
            **_with_scan(*await verify_online(ctx, code.text, now, scan)),
            "position": [list(p) for p in code.position],
            "stage": code.stage,
        }
        for code in result.codes
    ]
    return {"codes": reports, "hints": list(result.hints), "ms": round(result.ms, 1)}


def _wants_html(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    if "application/json" in accept and "text/html" not in accept:
        return False
    return "text/html" in accept or "*/*" in accept or not accept


@router.get("/C/{digits}", include_in_schema=False, dependencies=[Depends(limit_public)])
@router.get("/c/{digits}", include_in_schema=False, dependencies=[Depends(limit_public)])
async def qr_url(
    digits: str,
    request: Request,
    ctx: Annotated[AppContext, Depends(context)],
    who: Caller,
    query: ScanQuery,
) -> Response:
    """The URL inside the QR: an HTML verdict for browsers, JSON for API clients."""
    host = request.headers.get("host", "127.0.0.1")
    scheme = request.url.scheme.upper()
    text = f"{scheme}://{host.upper()}/C/{digits}"
    report, event = await verify_online(ctx, text, ctx.clock(), scan_for(who, query))
    if _wants_html(request):
        return verification_page(request, report)
    return FastJSONResponse(_with_scan(report, event), headers={"Cache-Control": "no-store"})
