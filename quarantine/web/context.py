"""What the routes need, built once per app: settings, trust list, clock, limits."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from fastapi import Request

from quarantine.core.status import StatusSource
from quarantine.core.trust import TrustList
from quarantine.settings import Settings
from quarantine.web.errors import ApiError
from quarantine.web.ratelimit import RateLimiter
from quarantine.web.registry import Registry

if TYPE_CHECKING:
    from quarantine.storage.events import AsyncDirectStatus


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class AppContext:
    settings: Settings
    trust: TrustList
    clock: Callable[[], datetime] = utc_now
    #: Registry status for verification when no registry is configured (offline lists, tests).
    status: StatusSource | None = None
    limiter: RateLimiter = field(default_factory=lambda: RateLimiter(120))
    registry: Registry | None = None
    #: The registry's status look-up on the event loop (PostgreSQL), while the app's
    #: lifespan runs; otherwise verification looks the status up in a worker thread.
    async_status: AsyncDirectStatus | None = None

    @property
    def skew(self) -> timedelta:
        return timedelta(seconds=self.settings.clock_skew_seconds)


async def context(request: Request) -> AppContext:
    ctx: AppContext = request.app.state.context
    return ctx


def need_registry(ctx: AppContext) -> Registry:
    """The node's registry; 503 ``REGISTRY_UNAVAILABLE`` on a node without one."""
    if ctx.registry is None:
        raise ApiError(
            503, "REGISTRY_UNAVAILABLE", "登记系统不可用", "the registry is not configured"
        )
    return ctx.registry
