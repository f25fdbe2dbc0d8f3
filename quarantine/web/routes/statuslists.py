"""Offline status lists: the signed list of an issuing region and year, and their index.

Public (no token) and rate-limited like verification.  The logic lives in
``quarantine.services.statuslists``; these routes only shape HTTP answers.
"""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response

from quarantine.services.statuslists import (
    HTTP_MAX_AGE,
    MEDIA_TYPE,
    MIN_TTL,
    StatusListNotPublished,
    StatusListService,
)
from quarantine.web.context import AppContext, context
from quarantine.web.errors import ApiError
from quarantine.web.routes.verify import limit_public

router = APIRouter(tags=["status"])

_SERVICE_LOCK = threading.Lock()


def _ttl(ctx: AppContext) -> timedelta:
    """``QUARANTINE_STATUS_LIST_TTL_SECONDS`` (24 h by default, never below 120 s)."""
    return max(timedelta(seconds=ctx.settings.status_list_ttl_seconds), MIN_TTL)


def status_lists(
    request: Request, ctx: Annotated[AppContext, Depends(context)]
) -> StatusListService:
    """The app's one :class:`StatusListService` (made on first use)."""
    service: StatusListService | None = getattr(request.app.state, "status_lists", None)
    if service is None:
        with _SERVICE_LOCK:
            service = getattr(request.app.state, "status_lists", None)
            if service is None:
                from quarantine.reference import region_table

                service = StatusListService(
                    ctx.settings.resolved_keys_dir(),
                    ctx.settings.passphrase_bytes(),
                    region_table(),
                    ttl=_ttl(ctx),
                )
                request.app.state.status_lists = service
    return service


Service = Annotated[StatusListService, Depends(status_lists)]
Context = Annotated[AppContext, Depends(context)]


def _not_found(exc: StatusListNotPublished) -> ApiError:
    return ApiError(404, exc.code, exc.message_zh, exc.message_en)


@router.get("/api/v1/status-lists", dependencies=[Depends(limit_public)])
def list_status_lists(request: Request, ctx: Context, service: Service) -> dict[str, Any]:
    """本节点发布的状态列表 / The status lists this node publishes, with their URLs."""
    from quarantine.reference import region_table

    now = ctx.clock()
    available: list[tuple[str, int]] = []
    if ctx.registry is not None:
        with ctx.registry.session() as session:
            available = service.available(session, now)
    names = region_table()
    return {
        "media_type": MEDIA_TYPE,
        "ttl_seconds": int(service.ttl.total_seconds()),
        "lists": [
            {
                "region": region,
                "name": names.full_name(region),
                "year": year,
                "url": str(request.url_for("get_status_list", region=region, year=str(year))),
            }
            for region, year in available
        ],
    }


@router.get(
    "/api/v1/status-lists/{region}/{year}",
    dependencies=[Depends(limit_public)],
    response_class=Response,
    responses={
        200: {
            "content": {MEDIA_TYPE: {}},
            "description": "签名的状态列表（COSE_Sign1）/ the signed status list (COSE_Sign1)",
        },
        304: {"description": "未变化 / not modified (If-None-Match)"},
        404: {"description": "本节点不发布该列表 / this node publishes no such list"},
    },
)
def get_status_list(
    region: Annotated[
        str, Path(pattern=r"^[1-9]\d{5}$", description="签发机关地区代码 / issuing region")
    ],
    year: Annotated[int, Path(ge=1000, le=9999, description="年份 / year")],
    request: Request,
    ctx: Context,
    service: Service,
) -> Response:
    """签名的离线状态列表 / The signed offline status list of an issuing region and year."""
    if ctx.registry is None:
        raise ApiError(
            404,
            "STATUS_LIST_NOT_FOUND",
            "本节点没有登记系统，不发布状态列表",
            "this node has no registry and publishes no status lists",
        )
    now = ctx.clock()
    try:
        with ctx.registry.session() as session:
            published = service.get(session, region, year, now)
    except StatusListNotPublished as exc:
        raise _not_found(exc) from exc
    headers = {
        "Cache-Control": f"public, max-age={HTTP_MAX_AGE}",
        "ETag": published.etag,
        "Last-Modified": published.issued_at.strftime("%a, %d %b %Y %H:%M:%S GMT"),
        "X-Status-List-Valid-Until": published.valid_until.isoformat(),
    }
    wanted = request.headers.get("if-none-match", "")
    if published.etag in (tag.strip() for tag in wanted.split(",")):
        return Response(status_code=304, headers=headers)
    return Response(published.blob, media_type=MEDIA_TYPE, headers=headers)
