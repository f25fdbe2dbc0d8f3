"""Console sessions: an API token kept in an HttpOnly cookie, and CSRF tokens for forms.

Signing in checks the token like the API does and keeps it in the ``quarantine_console``
cookie (``HttpOnly``, ``SameSite=Strict``, ``Path=/console``, ``Secure`` over HTTPS,
8 hours).  Every console request authenticates the token again through
:func:`quarantine.web.auth.principal` (and its short per-worker cache), so a revoked
token ends its sessions.  Nothing is stored on the server.

Every form that changes something carries a CSRF token: an HMAC of the constant
``CSRF_LABEL`` under the session's secret.  A page from another site can neither read
the cookie nor compute the token; a request whose ``Origin`` names another site is
refused as well.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from typing import Final

from starlette.requests import Request
from starlette.responses import Response

from quarantine.services.authz import PUBLIC, Principal
from quarantine.web.context import AppContext
from quarantine.web.errors import ApiError

COOKIE: Final = "quarantine_console"
COOKIE_PATH: Final = "/console"
MAX_AGE: Final = 8 * 3600
CSRF_FIELD: Final = "csrf"
CSRF_LABEL: Final = b"quarantine console csrf v1"
#: What a token secret looks like (``secrets.token_urlsafe``); anything else is ignored.
_SECRET_RE: Final = re.compile(r"^[A-Za-z0-9_-]{16,200}$")


def well_formed(secret: str) -> bool:
    """Whether ``secret`` looks like a token secret at all (checked before any look-up)."""
    return _SECRET_RE.match(secret) is not None


def secret_of(request: Request) -> str:
    """The session's token secret ('' when there is none or it is malformed)."""
    value = request.cookies.get(COOKIE, "")
    return value if _SECRET_RE.match(value) else ""


async def authenticate(request: Request, ctx: AppContext, secret: str) -> Principal:
    """The principal of ``secret`` (``ApiError`` 401 when unknown or revoked)."""
    from quarantine.web.auth import principal

    if not _SECRET_RE.match(secret):
        raise ApiError(401, "INVALID_TOKEN", "令牌无效或已撤销", "the token is unknown or revoked")
    scope = dict(request.scope)
    scope["headers"] = [
        *(h for h in request.scope["headers"] if h[0] != b"authorization"),
        (b"authorization", f"Bearer {secret}".encode("ascii")),
    ]
    return await principal(Request(scope), ctx)


async def current(request: Request, ctx: AppContext) -> Principal:
    """The signed-in principal, or the public when there is no (valid) session."""
    secret = secret_of(request)
    if not secret:
        return PUBLIC
    try:
        return await authenticate(request, ctx, secret)
    except ApiError:
        return PUBLIC


def csrf_token(secret: str) -> str:
    return hmac.new(secret.encode("ascii"), CSRF_LABEL, hashlib.sha256).hexdigest()[:32]


def check_origin(request: Request) -> None:
    """Refuse (403) a form posted from another site (browsers send ``Origin``).

    ``Origin: null`` passes (browsers send it from opaque origins and under
    ``Referrer-Policy: no-referrer``); the CSRF token and ``SameSite`` hold then.
    """
    origin = request.headers.get("origin")
    if (
        origin
        and origin != "null"
        and origin.split("://", 1)[-1] != request.headers.get("host", "")
    ):
        raise ApiError(
            403, "CROSS_SITE_REQUEST", "拒绝来自其他网站的请求", "cross-site request refused"
        )


def check_csrf(request: Request, sent: object) -> None:
    """Refuse (403) a form without the session's CSRF token or from another origin."""
    check_origin(request)
    secret = secret_of(request)
    if (
        not secret
        or not isinstance(sent, str)
        or not hmac.compare_digest(sent.encode(), csrf_token(secret).encode())
    ):
        raise ApiError(
            403,
            "CSRF_FAILED",
            "表单已过期或来源无效，请刷新页面后重试",
            "the form is stale or not from this site; reload the page and try again",
        )


def start(request: Request, response: Response, secret: str) -> None:
    response.set_cookie(
        COOKIE,
        secret,
        max_age=MAX_AGE,
        path=COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def end(request: Request, response: Response) -> None:
    response.delete_cookie(
        COOKIE,
        path=COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
