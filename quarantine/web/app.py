"""The FastAPI app factory."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime

from fastapi import FastAPI

from quarantine.core.status import StatusSource
from quarantine.core.trust import TrustList
from quarantine.settings import Settings
from quarantine.web import errors
from quarantine.web.context import AppContext, utc_now
from quarantine.web.metrics import Observe
from quarantine.web.ratelimit import RateLimiter
from quarantine.web.registry import Registry, open_registry


def create_app(
    settings: Settings,
    *,
    trust: TrustList | None = None,
    status: StatusSource | None = None,
    clock: Callable[[], datetime] | None = None,
    registry: Registry | None = None,
    use_registry: bool = True,
) -> FastAPI:
    """Build the service.

    ``trust`` defaults to the configured trust list; the registry to the configured
    database, which must be migrated (``quarantine db upgrade``).  ``use_registry=False``
    runs a verification-only node.
    """
    from quarantine import trustfile
    from quarantine.web.routes import (
        certificates,
        federation,
        health,
        inspection,
        pages_public,
        stats,
        statuslists,
        verify,
    )

    if trust is None:
        trust = trustfile.load(settings.trust_list, settings.trust_anchor)
    opened_here = None
    if registry is None and use_registry:
        opened_here = registry = open_registry(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        ctx: AppContext = app.state.context
        reads = None
        if registry is not None and registry.engine.dialect.name == "postgresql":
            from quarantine.storage.direct import AsyncDirectReads
            from quarantine.storage.events import AsyncDirectStatus

            reads = AsyncDirectReads(registry.engine)
            ctx.async_status = AsyncDirectStatus(reads)
        try:
            yield
        finally:
            ctx.async_status = None
            if reads is not None:
                await reads.close()
            if opened_here is not None:
                opened_here.close()

    app = FastAPI(
        lifespan=lifespan,
        title="quarantine — 植物检疫证书 API",
        version="1",
        description="签发、核验长三角植物检疫证书 / Issue and verify Yangtze River Delta plant-quarantine certificates.",
    )
    app.state.context = AppContext(
        settings=settings,
        trust=trust,
        clock=clock or utc_now,
        status=status,
        limiter=RateLimiter(settings.verify_rate_per_minute),
        registry=registry,
    )
    errors.install(app)
    app.add_middleware(Observe)
    app.include_router(health.router)
    app.include_router(verify.router)
    app.include_router(certificates.router)
    app.include_router(statuslists.router)
    app.include_router(stats.router)
    federation.install(app)  # feed, recognition, shared lists; publisher and pulling loop
    inspection.install(app)  # alerts, violations, credit, trace, projects
    pages_public.install(app)  # pages, /static, HTML errors for browsers (after errors.install)
    return app
