"""Verification: by QR text, by photo, and the page the QR's URL opens."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, Field

from quarantine.core.verify import Report, verify_text
from quarantine.web.context import AppContext, context
from quarantine.web.errors import ApiError
from quarantine.web.pages import render_verification

router = APIRouter()

MAX_TEXT = 8000


class VerifyTextRequest(BaseModel):
    text: str = Field(
        min_length=1, max_length=MAX_TEXT, description="扫描得到的二维码文本 / the scanned QR text"
    )


def limit_public(request: Request, ctx: Annotated[AppContext, Depends(context)]) -> None:
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


def verify_one(ctx: AppContext, text: str, now: datetime) -> Report:
    """Verify with the registry's status when there is a registry, else ``ctx.status``."""
    if ctx.registry is None:
        return verify_text(text, trust=ctx.trust, now=now, skew=ctx.skew, status=ctx.status)
    from quarantine.storage.events import RegistryStatusSource

    with ctx.registry.session() as session:
        return verify_text(
            text, trust=ctx.trust, now=now, skew=ctx.skew, status=RegistryStatusSource(session)
        )


@router.post("/api/v1/verify", dependencies=[Depends(limit_public)], tags=["verify"])
def verify_by_text(
    body: VerifyTextRequest, ctx: Annotated[AppContext, Depends(context)]
) -> dict[str, Any]:
    """核验二维码文本 / Verify a scanned QR text."""
    return verify_one(ctx, body.text, ctx.clock()).to_dict()


@router.post("/api/v1/verify/image", dependencies=[Depends(limit_public)], tags=["verify"])
async def verify_by_image(
    request: Request, ctx: Annotated[AppContext, Depends(context)]
) -> dict[str, Any]:
    """核验照片中的所有证书二维码 / Verify every certificate QR code in a photo (multipart field ``image``)."""
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
        form = await request.form(max_files=1, max_fields=4, max_part_size=limit)
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
    finally:
        await form.close()
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
            **verify_one(ctx, code.text, now).to_dict(),
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
def qr_url(digits: str, request: Request, ctx: Annotated[AppContext, Depends(context)]) -> Response:
    """The URL inside the QR: an HTML verdict for browsers, JSON for API clients."""
    host = request.headers.get("host", "127.0.0.1")
    scheme = request.url.scheme.upper()
    text = f"{scheme}://{host.upper()}/C/{digits}"
    report = verify_one(ctx, text, ctx.clock())
    if _wants_html(request):
        return HTMLResponse(render_verification(report), headers={"Cache-Control": "no-store"})
    return JSONResponse(report.to_dict(), headers={"Cache-Control": "no-store"})
