"""``Idempotency-Key`` on POSTs: the first response is kept and replayed.

- same key, same body, same actor (and method and path) → the first response again,
  with the same status and body and the header ``Idempotent-Replayed: true``;
- same key with another body → 409 ``IDEMPOTENCY_KEY_REUSED``;
- keys are scoped per actor: another token's key of the same name is another key.

The response is stored in the same transaction as the work, through
:class:`~quarantine.storage.idempotency.IdempotencyStore`.  When a concurrent
request with the same key stored its response first, this request's work is
rolled back and the stored response is the answer.  Only successful responses
are stored; a refused request wrote nothing and may simply be retried.
The body's hash is taken over its parsed JSON in canonical form (sorted keys,
compact), so formatting differences do not count as another body.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Final

from fastapi import Header
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from quarantine.errors import InputError
from quarantine.storage.idempotency import (
    MAX_KEY_LENGTH,
    IdempotencyStore,
    StoredResponse,
    hash_body,
)
from quarantine.web.errors import ApiError
from quarantine.web.registry import Registry

HEADER: Final = "Idempotency-Key"
REPLAYED_HEADER: Final = "Idempotent-Replayed"
_KEY_RE: Final = re.compile(r"^[\x21-\x7e]{1,%d}$" % MAX_KEY_LENGTH)  # noqa: UP031

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias=HEADER,
        description=(
            "可选：重试安全键（1–200 个可见 ASCII 字符）。同一键与相同请求体返回首次响应；"
            "请求体不同则 409。/ Optional retry key (1–200 visible ASCII characters): the same "
            "key and body replay the first response; another body gets 409."
        ),
    ),
]


def request_hash(payload: Any) -> str:
    """SHA-256 of the request's JSON in canonical form."""
    canonical = json.dumps(
        jsonable_encoder(payload), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    return hash_body(canonical.encode("utf-8"))


def check_key(key: str) -> str:
    if not _KEY_RE.match(key):
        raise ApiError(
            422,
            "IDEMPOTENCY_KEY_INVALID",
            "Idempotency-Key 须为 1 至 200 个可见 ASCII 字符",
            "Idempotency-Key must be 1 to 200 visible ASCII characters",
        )
    return key


def _reused(exc: InputError) -> ApiError:
    return ApiError(409, exc.code, exc.message_zh, exc.message_en)


def _replay(stored: StoredResponse) -> JSONResponse:
    return JSONResponse(stored.body, stored.status, headers={REPLAYED_HEADER: "true"})


class _AlreadyStored(Exception):
    """Raised inside the unit of work to roll it back when another request won."""

    def __init__(self, stored: StoredResponse) -> None:
        super().__init__("idempotency key stored by a concurrent request")
        self.stored = stored


def _lookup(
    registry: Registry, key: str, actor: str, method: str, path: str, digest: str
) -> StoredResponse | None:
    def get(session: Session) -> StoredResponse | None:
        return IdempotencyStore(session).get(key, actor, method, path, request_hash=digest)

    try:
        return registry.read(get)
    except InputError as exc:
        if exc.code == "IDEMPOTENCY_KEY_REUSED":
            raise _reused(exc) from None
        raise


def run(
    registry: Registry,
    *,
    key: str | None,
    actor: str,
    method: str,
    path: str,
    payload: Any,
    status: int,
    now: datetime,
    work: Callable[[Session], Any],
) -> JSONResponse:
    """Run ``work`` in one unit of work and answer ``status`` with its JSON result.

    With a ``key``, the first successful response is stored with the work and
    replayed for a repeated request (see the module notes).
    """
    digest = None
    if key is not None:
        check_key(key)
        digest = request_hash(payload)
    return run_prepared(
        registry,
        key=key,
        actor=actor,
        method=method,
        path=path,
        digest=digest,
        status=status,
        now=now,
        work=work,
    )


def stored_answer(
    registry: Registry, *, key: str, actor: str, method: str, path: str, digest: str
) -> JSONResponse | None:
    """The stored first response to this key (replayed), ``None`` when there is none;
    409 ``IDEMPOTENCY_KEY_REUSED`` for another body."""
    stored = _lookup(registry, key, actor, method, path, digest)
    return None if stored is None else _replay(stored)


def run_prepared(
    registry: Registry,
    *,
    key: str | None,
    actor: str,
    method: str,
    path: str,
    digest: str | None,
    status: int,
    now: datetime,
    work: Callable[[Session], Any],
) -> JSONResponse:
    """:func:`run` with the key already checked and the request hash ``digest`` taken."""
    if key is None:
        body = registry.write(lambda session: jsonable_encoder(work(session)))
        return JSONResponse(body, status)
    assert digest is not None
    stored = _lookup(registry, key, actor, method, path, digest)
    if stored is not None:
        return _replay(stored)

    def work_and_keep(session: Session) -> Any:
        body = jsonable_encoder(work(session))
        try:
            kept, created = IdempotencyStore(session).put(
                key, actor, method, path, digest, status, body, now
            )
        except InputError as exc:
            if exc.code == "IDEMPOTENCY_KEY_REUSED":
                raise _reused(exc) from None
            raise
        if not created:
            raise _AlreadyStored(kept)
        return body

    try:
        body = registry.write(work_and_keep)
    except _AlreadyStored as won:
        return _replay(won.stored)
    except (InputError, ApiError) as exc:
        if isinstance(exc, ApiError) and exc.code == "IDEMPOTENCY_KEY_REUSED":
            raise
        # A concurrent request with this key may have done the work first (for
        # example revoked the certificate): answer as it was answered.
        stored = _lookup(registry, key, actor, method, path, digest)
        if stored is not None:
            return _replay(stored)
        raise
    return JSONResponse(body, status)
