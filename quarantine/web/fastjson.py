"""JSON answers built directly, without FastAPI's validation and encoding of the result.

For hot routes whose result is already in the declared shape (the OpenAPI still shows
the ``response_model``): one ``orjson.dumps`` instead of validating the result into the
pydantic model and dumping it again.  Instants are written the way pydantic writes
them (ISO 8601, ``Z`` for UTC), so the answer is what the model gave; orjson encodes a
verification report about ten times faster than the standard library.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Final

import orjson
from starlette.responses import Response

#: Keys that are not strings (e.g. ints) are written as strings, as ``json.dumps`` does.
_OPTIONS: Final = orjson.OPT_UTC_Z | orjson.OPT_NON_STR_KEYS


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def dumps(body: Any) -> bytes:
    return orjson.dumps(body, default=_default, option=_OPTIONS)


class FastJSONResponse(Response):
    """``application/json`` from a plain result (see the module notes)."""

    media_type = "application/json"

    def __init__(
        self, content: Any, status_code: int = 200, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(dumps(content), status_code, headers)
