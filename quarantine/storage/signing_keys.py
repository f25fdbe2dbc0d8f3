"""Public parts of signing keys (SubjectPublicKeyInfo) and their windows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from quarantine.errors import InputError
from quarantine.storage._common import check_aware, check_region
from quarantine.storage.models import SigningKeyRow


@dataclass(frozen=True)
class PublicKeyRecord:
    region: str
    kid: str
    alg: str
    spki: bytes
    not_before: datetime
    not_after: datetime | None

    @classmethod
    def from_row(cls, row: SigningKeyRow) -> PublicKeyRecord:
        return cls(row.region, row.kid, row.alg, row.spki, row.not_before, row.not_after)


class SigningKeyStore:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(
        self,
        region: str,
        kid: str,
        alg: str,
        spki: bytes,
        not_before: datetime,
        not_after: datetime | None = None,
    ) -> PublicKeyRecord:
        check_region(region)
        check_aware(not_before, "not_before")
        if not_after is not None and check_aware(not_after, "not_after") <= not_before:
            raise InputError(
                "BAD_WINDOW", "停用时间须晚于启用时间", "not_after must be later than not_before"
            )
        if self.get(kid) is not None:
            raise InputError("KEY_EXISTS", f"密钥 {kid} 已登记", f"key {kid} is already registered")
        row = SigningKeyRow(
            region=region,
            kid=kid,
            alg=alg,
            spki=spki,
            not_before=not_before,
            not_after=not_after,
        )
        self.session.add(row)
        self.session.flush()
        return PublicKeyRecord.from_row(row)

    def get(self, kid: str) -> PublicKeyRecord | None:
        row = self.session.execute(
            select(SigningKeyRow).where(SigningKeyRow.kid == kid)
        ).scalar_one_or_none()
        return None if row is None else PublicKeyRecord.from_row(row)

    def list(self, region: str | None = None) -> tuple[PublicKeyRecord, ...]:
        stmt = select(SigningKeyRow).order_by(SigningKeyRow.region, SigningKeyRow.not_before)
        if region is not None:
            stmt = stmt.where(SigningKeyRow.region == region)
        return tuple(PublicKeyRecord.from_row(r) for r in self.session.execute(stmt).scalars())
