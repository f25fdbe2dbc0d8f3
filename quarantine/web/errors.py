"""Every error leaves as a 4xx JSON body with a reason code; never a traceback."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from quarantine.errors import EnvironmentProblem, InputError, LimitExceeded, QuarantineError

log = logging.getLogger("quarantine.web")


class ApiError(QuarantineError):
    """An error with an HTTP status (auth, not found, conflicts, rate limits)."""

    def __init__(
        self, status: int, code: str, zh: str, en: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(code, zh, en)
        self.status = status
        self.headers = headers or {}


def error_body(code: str, zh: str, en: str, **extra: Any) -> dict[str, Any]:
    return {"error": {"code": code, "zh": zh, "en": en, **extra}}


def _status_of(exc: QuarantineError) -> int:
    if isinstance(exc, ApiError):
        return exc.status
    if isinstance(exc, LimitExceeded):
        return 413
    if isinstance(exc, InputError):
        return 422
    if isinstance(exc, EnvironmentProblem):
        return 503
    return 400


def install(app: FastAPI) -> None:
    @app.exception_handler(QuarantineError)
    async def _quarantine_error(request: Request, exc: QuarantineError) -> JSONResponse:
        extra: dict[str, Any] = {}
        problems = getattr(exc, "problems", None)
        if problems:
            extra["problems"] = [p.as_dict() for p in problems]
        headers = exc.headers if isinstance(exc, ApiError) else None
        return JSONResponse(
            error_body(exc.code, exc.message_zh, exc.message_en, **extra),
            _status_of(exc),
            headers=headers,
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            {
                "field": ".".join(str(p) for p in err.get("loc", ())),
                "code": str(err.get("type", "invalid")),
                "en": str(err.get("msg", "")),
            }
            for err in exc.errors()[:50]
        ]
        return JSONResponse(
            error_body(
                "REQUEST_INVALID", "请求内容无效", "the request is not valid", problems=problems
            ),
            422,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        words = {
            404: ("NOT_FOUND", "未找到", "not found"),
            405: ("METHOD_NOT_ALLOWED", "不支持的请求方法", "method not allowed"),
            413: ("BODY_TOO_LARGE", "请求内容过大", "request body too large"),
        }
        code, zh, en = words.get(exc.status_code, ("HTTP_ERROR", "请求失败", str(exc.detail)))
        return JSONResponse(
            error_body(code, zh, en), exc.status_code, headers=getattr(exc, "headers", None)
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return JSONResponse(error_body("INTERNAL_ERROR", "服务器内部错误", "internal error"), 500)
