"""JSON request bodies read directly into a pydantic model, with FastAPI's errors.

For hot routes whose parameters are not solved by FastAPI (see
``quarantine.web.routes.verify``): the size is checked before anything is read, the
media type must be JSON, and pydantic validates the raw bytes in one call.  Problems
raise the same ``RequestValidationError`` (422 ``REQUEST_INVALID``) FastAPI would.
"""

from __future__ import annotations

from typing import Any, TypeVar

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

from quarantine.web.errors import ApiError

M = TypeVar("M", bound=BaseModel)


def _invalid(kind: str, message: str) -> RequestValidationError:
    return RequestValidationError([{"type": kind, "loc": ("body",), "msg": message, "input": None}])


def _is_json(content_type: str) -> bool:
    media = content_type.partition(";")[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


async def read_json_body(request: Request, model: type[M], *, max_bytes: int) -> M:
    """The body as ``model``; 413 over ``max_bytes``, 422 when missing, not JSON or
    not valid."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise ApiError(
            413, "BODY_TOO_LARGE", "请求内容过大", f"request body larger than {max_bytes} bytes"
        )
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > max_bytes:
            raise ApiError(
                413, "BODY_TOO_LARGE", "请求内容过大", f"request body larger than {max_bytes} bytes"
            )
    if not raw:
        raise _invalid("missing", "Field required")
    if not _is_json(request.headers.get("content-type", "")):
        raise _invalid("model_attributes_type", "Input should be a JSON object (application/json)")
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        errors: list[dict[str, Any]] = [
            {**error, "loc": ("body", *error["loc"])} for error in exc.errors(include_url=False)
        ]
        raise RequestValidationError(errors) from None
