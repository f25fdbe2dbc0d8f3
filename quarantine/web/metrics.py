"""Prometheus metrics and a structured JSON access log (a plain ASGI middleware)."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REGISTRY = CollectorRegistry()
REQUESTS = Counter(
    "quarantine_http_requests_total",
    "HTTP requests",
    ["method", "route", "status"],
    registry=REGISTRY,
)
LATENCY = Histogram(
    "quarantine_http_request_seconds",
    "HTTP request latency",
    ["method", "route"],
    registry=REGISTRY,
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)
access_log = logging.getLogger("quarantine.access")


#: Per (method, route, status): the counter and histogram children and the JSON of
#: the method and route, so that a request does no label look-up or escaping.
_Noted = tuple[Any, Any, str]
_noted: dict[tuple[str, str, int], _Noted] = {}
#: More distinct (method, route, status) than this (only odd methods make new ones)
#: and the cache starts over.
_NOTED_MAX = 10_000


def _children(method: str, route: str, status: int) -> _Noted:
    key = (method, route, status)
    found = _noted.get(key)
    if found is None:
        if len(_noted) >= _NOTED_MAX:
            _noted.clear()
        prefix = json.dumps({"method": method, "route": route}, separators=(",", ":"))[:-1]
        found = _noted[key] = (
            REQUESTS.labels(method, route, str(status)),
            LATENCY.labels(method, route),
            f'{prefix},"status":{status},"ms":',
        )
    return found


class Observe:
    """Counts requests by route template and status, times them, logs one JSON line each."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = [500]

        async def send_and_note(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            elapsed = time.perf_counter() - start
            route: Any = scope.get("route")
            path = getattr(route, "path", "unmatched")
            counter, latency, line = _children(scope.get("method", ""), path, status[0])
            counter.inc()
            latency.observe(elapsed)
            if access_log.isEnabledFor(logging.INFO):
                # ``handle`` of a record made here: what ``info`` does, without looking up
                # the caller's file and line in the stack (a third of its cost), which the
                # JSON line does not show.
                access_log.handle(
                    access_log.makeRecord(
                        access_log.name,
                        logging.INFO,
                        __file__,
                        0,
                        f"{line}{round(elapsed * 1000, 2)}}}",
                        (),
                        None,
                    )
                )
