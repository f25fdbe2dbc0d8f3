"""JSON answers built directly, without FastAPI's validation and encoding of the result.

For hot routes whose result is already in the declared shape (the OpenAPI still shows
the ``response_model``): one ``json.dumps`` instead of validating the result into the
pydantic model and dumping it again.  Instants are written the way pydantic writes
them (ISO 8601, ``Z`` for UTC), so the answer is byte-for-byte what the model gave.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from starlette.responses import Response


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        text = value.isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def dumps(body: Any) -> bytes:
    return json.dumps(
        body, default=_default, ensure_ascii=False, allow_nan=False, separators=(",", ":")
    ).encode("utf-8")


class FastJSONResponse(Response):
    """``application/json`` from a plain result (see the module notes)."""

    media_type = "application/json"

    def __init__(
        self, content: Any, status_code: int = 200, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(dumps(content), status_code, headers)
