"""Helpers shared by the repositories (dialect-specific INSERT, checks, errors)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Final

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from quarantine.errors import InputError, LimitExceeded

#: Six ASCII digits (``\d`` would take full-width digits, ``$`` a trailing newline).
REGION_RE: Final = re.compile(r"[0-9]{6}")


def upsert(session: Session, model: Any) -> postgresql.Insert | sqlite.Insert:
    """``INSERT`` with ``ON CONFLICT`` support for the session's backend."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(model)
    return sqlite.insert(model)


def is_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def check_region(region: str, what: str = "region") -> str:
    if not REGION_RE.fullmatch(region):
        raise InputError(
            "BAD_REGION",
            f"{what} 须为六位行政区划代码",
            f"{what} must be a six-digit GB/T 2260 region code, not {region[:20]!r}",
        )
    return region


def check_whole(value: str | int, low: int, high: int, code: str, zh: str, en: str) -> int:
    """``value`` (ASCII digits, or an int) as a whole number from ``low`` to ``high``;
    ``InputError`` ``code`` otherwise (``zh`` / ``en`` name the field)."""
    text = str(value).strip()
    if 0 < len(text) <= 9 and text.isascii() and text.isdigit() and low <= int(text) <= high:
        return int(text)
    raise InputError(
        code,
        f"{zh}须为 {low} 至 {high} 的整数",
        f"{en} must be a whole number from {low} to {high}",
    )


def check_aware(at: datetime, what: str) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise InputError("BAD_TIME", f"{what} 须带时区", f"{what} must carry a time zone")
    return at


def check_length(value: str, limit: int, what: str) -> str:
    if len(value) > limit:
        raise LimitExceeded(
            "TOO_LONG",
            f"{what} 超过 {limit} 个字符",
            f"{what} is longer than {limit} characters",
        )
    return value


def unknown_certificate(number: str) -> InputError:
    shown = number[:40]
    return InputError(
        "UNKNOWN_CERTIFICATE",
        f"登记系统中没有证书 {shown}",
        f"certificate {shown} is not in the registry",
    )
