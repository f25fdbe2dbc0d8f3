"""Liveness, readiness and metrics."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from quarantine.web.context import AppContext, context
from quarantine.web.errors import ApiError

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process answers."""
    return {"status": "ok"}


@router.get("/readyz")
def readyz(ctx: Annotated[AppContext, Depends(context)]) -> dict[str, Any]:
    """Ready to verify: the trust list is loaded and current."""
    now = ctx.clock()
    if now > ctx.trust.expires_at:
        raise ApiError(503, "TRUST_LIST_EXPIRED", "信任列表已过期", "the trust list has expired")
    if ctx.registry is not None:
        from sqlalchemy import text
        from sqlalchemy.exc import SQLAlchemyError

        try:
            with ctx.registry.reader() as session:
                session.execute(text("SELECT 1"))
        except SQLAlchemyError as exc:
            raise ApiError(
                503,
                "REGISTRY_UNAVAILABLE",
                "登记数据库不可用",
                "the registry database does not answer",
            ) from exc
    return {
        "status": "ready",
        "trust_list_version": ctx.trust.version,
        "trust_list_age_seconds": int((now - ctx.trust.issued_at).total_seconds()),
    }


@router.get("/metrics", include_in_schema=False)
def metrics() -> Response:
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    from quarantine.web.metrics import REGISTRY

    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
