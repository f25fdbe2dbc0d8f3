"""API tokens bound to a role and a region.  Only the SHA-256 of a secret is stored."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from quarantine.errors import InputError
from quarantine.storage._common import check_aware, check_length, check_region
from quarantine.storage.models import ROLES, ApiTokenRow

#: Secrets longer than this are not looked up at all.
MAX_SECRET_LENGTH: Final = 200


#: Bumped by every :meth:`TokenStore.revoke` in this process: caches of verified tokens
#: (``quarantine.web.auth``) drop what they hold when it changes.
_revocations: list[int] = [0]


def revocations() -> int:
    """How many revocations this process has made (see ``_revocations``)."""
    return _revocations[0]


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ApiToken:
    id: str
    role: str
    region: str
    label: str
    created_at: datetime
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    @classmethod
    def from_row(cls, row: ApiTokenRow) -> ApiToken:
        return cls(row.id, row.role, row.region, row.label, row.created_at, row.revoked_at)


class TokenStore:
    def __init__(self, session: Session) -> None:
        self.session = session

    def create(
        self, role: str, region: str, label: str = "", *, now: datetime | None = None
    ) -> tuple[str, str]:
        """A new token: ``(id, secret)``.  The secret is shown once and never stored."""
        if role not in ROLES:
            raise InputError(
                "BAD_ROLE",
                "角色须为 issuer、inspector 或 admin",
                f"role must be one of {', '.join(ROLES)}, not {role[:20]!r}",
            )
        check_region(region)
        check_length(label, 200, "label")
        at = check_aware(now, "now") if now is not None else datetime.now(UTC)
        token_id = "tok_" + secrets.token_hex(8)
        secret = secrets.token_urlsafe(32)
        self.session.add(
            ApiTokenRow(
                id=token_id,
                token_hash=hash_secret(secret),
                role=role,
                region=region,
                label=label,
                created_at=at,
                revoked_at=None,
            )
        )
        self.session.flush()
        return token_id, secret

    def authenticate(self, secret: str) -> ApiToken | None:
        """The active token whose secret this is, else ``None``."""
        if not secret or len(secret) > MAX_SECRET_LENGTH:
            return None
        digest = hash_secret(secret)
        row = self.session.execute(
            select(ApiTokenRow).where(ApiTokenRow.token_hash == digest)
        ).scalar_one_or_none()
        if row is None or not hmac.compare_digest(row.token_hash, digest):
            return None
        if row.revoked_at is not None:
            return None
        return ApiToken.from_row(row)

    def revoke(self, token_id: str, *, now: datetime | None = None) -> ApiToken:
        """Revoke a token (idempotent); ``UNKNOWN_TOKEN`` when there is none."""
        row = self.session.get(ApiTokenRow, token_id)
        if row is None:
            raise InputError(
                "UNKNOWN_TOKEN", f"没有令牌 {token_id[:40]}", f"no token {token_id[:40]!r}"
            )
        if row.revoked_at is None:
            row.revoked_at = check_aware(now, "now") if now is not None else datetime.now(UTC)
            self.session.flush()
        _revocations[0] += 1
        return ApiToken.from_row(row)

    def get(self, token_id: str) -> ApiToken | None:
        row = self.session.get(ApiTokenRow, token_id)
        return None if row is None else ApiToken.from_row(row)

    def list(self) -> tuple[ApiToken, ...]:
        rows = self.session.execute(
            select(ApiTokenRow).order_by(ApiTokenRow.created_at, ApiTokenRow.id)
        ).scalars()
        return tuple(ApiToken.from_row(r) for r in rows)
