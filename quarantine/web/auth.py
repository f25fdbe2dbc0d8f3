"""Who is calling: ``Authorization: Bearer <token>`` → a :class:`Principal`."""

from __future__ import annotations

import time
from typing import Annotated, Final

from fastapi import Depends, Request

from quarantine.services.authz import PUBLIC, Action, Forbidden, Principal, Role, require
from quarantine.web.context import AppContext, context, need_registry
from quarantine.web.errors import ApiError

_UNAUTHORIZED = {"WWW-Authenticate": "Bearer"}

#: A verified token is trusted for this long per worker without asking the database
#: again: a revocation by another process (``quarantine tokens revoke``) takes up to
#: this long to reach a running server (docs/api.md).  Revocations in the same
#: process drop the cache at once; unknown and revoked tokens are never cached.
TOKEN_CACHE_SECONDS: Final = 5.0
#: More cached tokens than this and the cache starts over.
TOKEN_CACHE_SIZE: Final = 10_000


async def principal(request: Request, ctx: Annotated[AppContext, Depends(context)]) -> Principal:
    """The caller; the public when no token is sent.  A bad token is refused (401)."""
    header = request.headers.get("authorization")
    if not header:
        return PUBLIC
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip() or len(secret) > 200:
        raise ApiError(
            401,
            "INVALID_TOKEN",
            "令牌格式无效",
            "use 'Authorization: Bearer <token>'",
            _UNAUTHORIZED,
        )
    registry = need_registry(ctx)
    from starlette.concurrency import run_in_threadpool

    from quarantine.storage.tokens import ApiToken, TokenStore, hash_secret, revocations

    digest = hash_secret(secret.strip())
    generation = revocations()
    cached = registry.token_cache.get(digest)
    if cached is not None and cached[0] > time.monotonic() and cached[1] == generation:
        return Principal(Role(cached[2].role), cached[2].region, cached[2].id)

    def lookup() -> ApiToken | None:
        return registry.read(lambda session: TokenStore(session).authenticate(secret.strip()))

    token = await run_in_threadpool(lookup)
    if token is not None:
        if len(registry.token_cache) >= TOKEN_CACHE_SIZE:
            registry.token_cache.clear()
        registry.token_cache[digest] = (time.monotonic() + TOKEN_CACHE_SECONDS, generation, token)
    if token is None:
        raise ApiError(
            401,
            "INVALID_TOKEN",
            "令牌无效或已撤销",
            "the token is unknown or revoked",
            _UNAUTHORIZED,
        )
    return Principal(Role(token.role), token.region, token.id)


Caller = Annotated[Principal, Depends(principal)]


async def signed_in(who: Caller) -> Principal:
    """Any valid token (401 for the public)."""
    if who.role is Role.PUBLIC:
        raise ApiError(401, "TOKEN_REQUIRED", "需要令牌", "this needs an API token", _UNAUTHORIZED)
    return who


def may(action: Action, who: Principal, region: str = "") -> None:
    """403 unless ``who`` may do ``action`` in ``region`` (401 first for the public)."""
    if who.role is Role.PUBLIC and action is not Action.VERIFY:
        raise ApiError(401, "TOKEN_REQUIRED", "需要令牌", "this needs an API token", _UNAUTHORIZED)
    try:
        require(who, action, region)
    except Forbidden as exc:
        raise ApiError(403, exc.code, exc.message_zh, exc.message_en) from exc
