"""The FastAPI app factory."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from fastapi import FastAPI

from quarantine.core.status import StatusSource
from quarantine.core.trust import TrustList
from quarantine.settings import Settings
from quarantine.web import errors
from quarantine.web.context import AppContext, utc_now
from quarantine.web.metrics import observe
from quarantine.web.ratelimit import RateLimiter


def create_app(
    settings: Settings,
    *,
    trust: TrustList | None = None,
    status: StatusSource | None = None,
    clock: Callable[[], datetime] | None = None,
) -> FastAPI:
    """Build the service.  ``trust`` defaults to the configured trust list."""
    from quarantine import trustfile
    from quarantine.web.routes import health, verify

    if trust is None:
        trust = trustfile.load(settings.trust_list, settings.trust_anchor)
    app = FastAPI(
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
    )
    errors.install(app)
    app.middleware("http")(observe)
    app.include_router(health.router)
    app.include_router(verify.router)
    return app
