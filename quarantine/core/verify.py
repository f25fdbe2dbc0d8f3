"""Offline verification of a certificate QR text: one entry point, one report.

``verify_text(text, trust=…, now=…)`` walks digits → bytes → COSE → signature
→ CBOR → rules and returns a :class:`Report` with a verdict and every reason.
Its two halves, :func:`open_text` (signature and content) and :func:`conclude` (the
rules and a status already looked up), serve callers that look the status up
asynchronously.
Nothing here reads a clock, a file or the network: ``now``, the trust list and
an optional status source are passed in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Final

from quarantine.core import codec, compress, cose, qrtext
from quarantine.core.document import to_document
from quarantine.core.keys import ALG_NAMES
from quarantine.core.model import CHINA_TZ, Certificate
from quarantine.core.reasons import Reason, Severity, reason
from quarantine.core.status import StatusInfo, StatusSource, status_codes
from quarantine.core.trust import TrustedKey, TrustList
from quarantine.errors import InputError

DEFAULT_SKEW: Final = timedelta(minutes=5)


class Verdict(StrEnum):
    VALID = "VALID"
    INVALID = "INVALID"
    NOT_A_CERTIFICATE = "NOT_A_CERTIFICATE"


@dataclass(frozen=True)
class Report:
    """What a verifier concluded, and why."""

    verdict: Verdict
    reasons: tuple[Reason, ...]
    checked_at: datetime
    certificate: Certificate | None = None
    issuer_name: str = ""
    issuer_region: str = ""
    kid: str = ""
    alg: str = ""
    host: str = ""
    host_known: bool | None = None
    trust_list_version: int | None = None
    trust_list_age: timedelta | None = None
    status_source: str = ""
    status_as_of: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(r.code for r in self.reasons)

    @property
    def errors(self) -> tuple[Reason, ...]:
        return tuple(r for r in self.reasons if r.severity is Severity.ERROR)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the CLI's and the API's schema)."""
        out: dict[str, Any] = {
            "verdict": self.verdict.value,
            "reasons": [r.code for r in self.reasons],
            "messages": [r.as_dict() for r in self.reasons],
            "checked_at": self.checked_at.isoformat(),
            "certificate": to_document(self.certificate) if self.certificate else None,
            "issuer": {"region": self.issuer_region, "name": self.issuer_name}
            if self.issuer_region
            else None,
            "key": {"kid": self.kid, "alg": self.alg} if self.kid else None,
            "host": {"host": self.host, "known": self.host_known} if self.host else None,
            "trust_list": (
                {
                    "version": self.trust_list_version,
                    "age_seconds": int(self.trust_list_age.total_seconds()),
                }
                if self.trust_list_version is not None and self.trust_list_age is not None
                else None
            ),
        }
        if self.status_source:
            out["status"] = {
                "source": self.status_source,
                "as_of": self.status_as_of.isoformat() if self.status_as_of else None,
            }
        return out


def _fail(code: str, now: datetime, detail: str = "", **kw: Any) -> Report:
    verdict = Verdict.NOT_A_CERTIFICATE if code == "NOT_A_CERTIFICATE" else Verdict.INVALID
    return Report(verdict=verdict, reasons=(reason(code, detail),), checked_at=now, **kw)


@dataclass(frozen=True)
class Opened:
    """A QR text whose signature and content checked out, before the rules are applied.

    The first half of a verification: :func:`open_text` gives it, :func:`conclude`
    applies the rules and the status.  Between the two the caller looks up the status of
    ``number`` (a registry on the network, say) in whatever way suits it; the core
    itself does no I/O.
    """

    certificate: Certificate
    key: TrustedKey
    where: dict[str, Any]

    @property
    def number(self) -> str:
        return str(self.certificate.number)


def open_text(
    text: str,
    *,
    trust: TrustList,
    now: datetime,
    max_payload: int = compress.DEFAULT_MAX_OUTPUT,
) -> Opened | Report:
    """Digits → bytes → COSE → signature → content: an :class:`Opened` text, or the
    final :class:`Report` when it cannot be a valid certificate."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    trust_info: dict[str, Any] = {
        "trust_list_version": trust.version,
        "trust_list_age": now - trust.issued_at,
    }
    try:
        parsed = qrtext.decode(text)
    except qrtext.NotOurs:
        return _fail("NOT_A_CERTIFICATE", now, **trust_info)
    except InputError as exc:
        return _fail("MALFORMED", now, exc.code, **trust_info)
    where: dict[str, Any] = {
        "host": parsed.host,
        "host_known": trust.known_host(parsed.host),
        **trust_info,
    }
    try:
        msg = cose.decode_sign1(compress.unpack(parsed.payload, max_output=max_payload))
        alg = cose.check_alg(msg)
    except InputError as exc:
        return _fail("MALFORMED", now, exc.code, **where)
    kid = msg.kid
    where.update(kid=kid.hex() if kid else "", alg=ALG_NAMES[alg])
    candidates = trust.keys_for_kid(kid) if kid else []
    if not candidates:
        return _fail("UNKNOWN_KEY", now, **where)
    signing_key: TrustedKey | None = None
    tbs = msg.to_be_signed()
    for candidate in candidates:  # kids are hints and may collide: try each
        if candidate.public.alg == alg and candidate.public.verify(msg.signature, tbs):
            signing_key = candidate
            break
    if signing_key is None:
        return _fail("BAD_SIGNATURE", now, **where)
    try:
        cert = codec.decode_content(msg.payload, trust.display_name)
    except InputError as exc:
        return _fail("MALFORMED", now, exc.code, **where)
    return Opened(cert, signing_key, where)


def verify_text(
    text: str,
    *,
    trust: TrustList,
    now: datetime,
    skew: timedelta = DEFAULT_SKEW,
    status: StatusSource | None = None,
    max_payload: int = compress.DEFAULT_MAX_OUTPUT,
) -> Report:
    """Verify one scanned QR text at ``now`` (aware datetime)."""
    opened = open_text(text, trust=trust, now=now, max_payload=max_payload)
    if isinstance(opened, Report):
        return opened
    info = None if status is None else status.lookup(opened.number, now)
    return conclude(opened, trust=trust, now=now, skew=skew, status=info)


def conclude(
    opened: Opened,
    *,
    trust: TrustList,
    now: datetime,
    skew: timedelta = DEFAULT_SKEW,
    status: StatusInfo | None = None,
) -> Report:
    """The rules at ``now`` and, when given, the status of ``opened.number``
    (``None``: the status was not checked)."""
    cert, key, where = opened.certificate, opened.key, opened.where
    reasons: list[Reason] = []
    region = cert.number.region
    member = trust.member(key.region)
    if member is None or not member.covers_region(region):
        reasons.append(reason("ISSUER_MISMATCH", f"key of {key.region}, certificate of {region}"))
    elif not member.is_member_on(cert.issued_at.astimezone(CHINA_TZ).date()):
        reasons.append(reason("ISSUER_NOT_MEMBER"))
    if not key.covers(cert.issued_at):
        reasons.append(reason("KEY_OUTSIDE_WINDOW"))
    if cert.issued_at > now + skew:
        reasons.append(reason("ISSUED_IN_FUTURE"))
    start, end = cert.valid_window()
    if now + skew < start:
        reasons.append(reason("NOT_YET_VALID", f"valid from {cert.valid_from.isoformat()}"))
    if now - skew >= end:
        reasons.append(reason("EXPIRED", f"valid to {cert.valid_to.isoformat()}"))
    if not where.get("host_known", True):
        reasons.append(reason("UNKNOWN_HOST", where.get("host", "")))
    if now > trust.expires_at:
        reasons.append(reason("TRUST_LIST_EXPIRED", trust.expires_at.isoformat()))
    status_fields: dict[str, Any] = {}
    if status is None:
        reasons.append(reason("STATUS_UNCHECKED"))
    else:
        status_fields = {"status_source": status.source, "status_as_of": status.as_of}
        if not status.known:
            reasons.append(reason("UNKNOWN_TO_REGISTRY"))
        for code, event in status_codes(status.events, now):
            detail = event.reason + (f" → {event.superseded_by}" if event.superseded_by else "")
            reasons.append(reason(code, detail))
        if status.stale:
            reasons.append(reason("STATUS_STALE"))
    issuer_name = cert.issuing_agency.name
    verdict = (
        Verdict.INVALID if any(r.severity is Severity.ERROR for r in reasons) else Verdict.VALID
    )
    return Report(
        verdict=verdict,
        reasons=tuple(reasons),
        checked_at=now,
        certificate=cert,
        issuer_name=issuer_name,
        issuer_region=region,
        **status_fields,
        **where,
    )


def decode_unverified(
    text: str, *, max_payload: int = compress.DEFAULT_MAX_OUTPUT
) -> tuple[Certificate, cose.Sign1]:
    """The content of a QR text WITHOUT checking its signature (for display only)."""
    parsed = qrtext.decode(text)
    msg = cose.decode_sign1(compress.unpack(parsed.payload, max_output=max_payload))
    return codec.decode_content(msg.payload), msg
