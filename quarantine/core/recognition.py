"""Recognition between members of the federation (互认), as pure rules.

A record of member region R is recognised in member region S at an instant
``at`` (day ``d`` = ``at`` in China Standard Time) when

* R and S are both members on ``d`` (trust list membership dates), and R was a
  member when the record was issued;
* the agreement covers the record's kind;
* the record's signing key belongs to R and its window covers the issue time;
* ``d`` lies inside the record's recognised validity (see
  :func:`recognition_window`), with the stated clock skew on both edges;
* no status event up to ``at`` revoked, superseded, suspended (without
  reinstatement) or closed it;
* none of its operators (parties with a 检疫登记号) is barred on ``d`` under
  joint credit supervision (共推信用监管).

For a transport certificate going into S from another member, the low-risk
table decides whether a requirement letter (植物检疫要求书) is needed; when it
is, a valid letter of S for the consignee and each category must itself be
recognised in S at ``at``, else the certificate is not recognised
(``REQUIREMENT_LETTER_MISSING``).

"One year from issue" (一次提出、一年有效) follows the period rules of the
Civil Code (民法典 第二百零一条、第二百零三条): the day of issue is not counted,
the period ends on the same calendar date one year later, and a record issued on
29 February ends on 28 February of the next year (the last day of the month
when the corresponding date does not exist).  So a letter issued on
2026-03-15 is recognised through 2027-03-15 (365 days after issue, the 366th
calendar day counting the issue day) and not on 2027-03-16; one issued on
2027-03-15 is recognised through 2028-03-15, 366 days after issue, because the
year holds 29 February 2028.

Nothing here reads a clock, a file or a database: the record, its events, the
trust list, the agreement, the operators' standing and candidate letters are
passed in.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from types import MappingProxyType
from typing import Any, Final

from quarantine.core.model import CHINA_TZ, Certificate, Kind, Party
from quarantine.core.reasons import Reason, Severity, reason
from quarantine.core.status import StatusEvent, status_codes
from quarantine.core.trust import TrustedKey, TrustList
from quarantine.errors import InputError

DEFAULT_SKEW: Final = timedelta(minutes=5)


class AgreementError(InputError):
    """An agreement table that cannot be used."""


# --------------------------------------------------------------------------- agreement


@dataclass(frozen=True)
class Agreement:
    """What the members agreed to recognise (configurable data, see ``to_document``)."""

    #: Kinds of record the agreement covers.
    kinds: frozenset[Kind] = frozenset(Kind)
    #: Kinds recognised for one year from issue (一次提出、一年有效).
    one_year_kinds: frozenset[Kind] = frozenset({Kind.REQUIREMENT, Kind.PRODUCING_AREA})
    #: Plant categories whose transport certificates need no requirement letter.
    low_risk_categories: frozenset[str] = frozenset()
    #: Product name → category, for transport certificates that state no category.
    product_categories: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    def categories_of(self, cert: Certificate) -> tuple[str, ...]:
        """The record's categories: its own, else those of its products (sorted, unique)."""
        if cert.category:
            return (cert.category,)
        found = {self.product_categories.get(it.product, it.product) for it in cert.items}
        return tuple(sorted(found))

    def is_low_risk(self, cert: Certificate) -> bool:
        categories = self.categories_of(cert)
        return bool(categories) and all(c in self.low_risk_categories for c in categories)

    def to_document(self) -> dict[str, Any]:
        return {
            "kinds": sorted(k.value for k in self.kinds),
            "one_year_kinds": sorted(k.value for k in self.one_year_kinds),
            "low_risk_categories": sorted(self.low_risk_categories),
            "product_categories": dict(sorted(self.product_categories.items())),
        }

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> Agreement:
        try:
            kinds = frozenset(Kind(str(k)) for k in doc.get("kinds", [k.value for k in Kind]))
            one_year = frozenset(
                Kind(str(k))
                for k in doc.get("one_year_kinds", [Kind.REQUIREMENT, Kind.PRODUCING_AREA])
            )
            low = doc.get("low_risk_categories", [])
            products = doc.get("product_categories", {})
            if not isinstance(low, list) or not isinstance(products, dict):
                raise TypeError("low_risk_categories must be a list, product_categories a map")
            return cls(
                kinds=kinds,
                one_year_kinds=one_year,
                low_risk_categories=frozenset(str(c) for c in low),
                product_categories=MappingProxyType({str(k): str(v) for k, v in products.items()}),
            )
        except (TypeError, ValueError, AttributeError) as exc:
            raise AgreementError(
                "AGREEMENT_MALFORMED",
                "互认协议表格式无效",
                f"the agreement table is malformed: {exc}",
            ) from exc


# --------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class SharedRecord:
    """A record as the federation shares it: content, signing kid and status events."""

    certificate: Certificate
    kid: bytes
    events: tuple[StatusEvent, ...] = ()


@dataclass(frozen=True)
class BarPeriod:
    """A period in which an operator is barred (joint credit supervision)."""

    start: date
    end: date | None = None  # inclusive; None: until lifted
    region: str = ""  # the member that recorded it
    reason: str = ""

    def covers(self, day: date) -> bool:
        return self.start <= day and (self.end is None or day <= self.end)


# --------------------------------------------------------------------------- result


@dataclass(frozen=True)
class Recognition:
    """The answer to "is record X recognised in region S at ``at``", with every reason."""

    number: str
    region: str
    at: datetime
    recognised: bool
    reasons: tuple[Reason, ...]
    valid_from: date | None = None
    valid_until: date | None = None
    requirement_letter: str = ""

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(r.code for r in self.reasons)

    def to_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "region": self.region,
            "at": self.at.isoformat(),
            "day": self.at.astimezone(CHINA_TZ).date().isoformat(),
            "recognised": self.recognised,
            "reasons": list(self.codes),
            "messages": [r.as_dict() for r in self.reasons],
            "valid_from": self.valid_from.isoformat() if self.valid_from else None,
            "valid_until": self.valid_until.isoformat() if self.valid_until else None,
            "requirement_letter": self.requirement_letter or None,
        }


# --------------------------------------------------------------------------- rules


def one_year_end(issued: date) -> date:
    """The last day of a one-year period starting on ``issued`` (Civil Code art. 201, 203)."""
    year = issued.year + 1
    day = min(issued.day, calendar.monthrange(year, issued.month)[1])
    return date(year, issued.month, day)


def recognition_window(cert: Certificate, agreement: Agreement) -> tuple[date, date]:
    """First and last day (inclusive, China time) on which the record can be recognised.

    One-year kinds: from the issue date (or the stated valid-from, when later)
    to the earlier of one year after issue and the stated valid-to.  Other
    kinds: their own valid-from and valid-to.
    """
    if cert.kind in agreement.one_year_kinds:
        issued = cert.issued_at.astimezone(CHINA_TZ).date()
        return max(cert.valid_from, issued), min(cert.valid_to, one_year_end(issued))
    return cert.valid_from, cert.valid_to


def _day_start(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), CHINA_TZ)


def _signing_key(cert: Certificate, kid: bytes, trust: TrustList) -> tuple[TrustedKey | None, str]:
    """The trusted key of the record's province with ``kid`` covering the issue time."""
    of_region = [
        k
        for k in trust.keys_for_kid(kid)
        if (m := trust.member(k.region)) is not None and m.covers_region(cert.number.region)
    ]
    if not trust.keys_for_kid(kid):
        return None, "UNKNOWN_KEY"
    if not of_region:
        return None, "ISSUER_MISMATCH"
    for key in of_region:
        if key.covers(cert.issued_at):
            return key, ""
    return None, "KEY_OUTSIDE_WINDOW"


def _operators(cert: Certificate) -> list[Party]:
    parties = (cert.consignor, cert.consignee, cert.producer)
    return [p for p in parties if p is not None and p.registration]


def _same_party(a: Party | None, b: Party | None) -> bool:
    if a is None or b is None:
        return False
    if a.registration and b.registration:
        return a.registration == b.registration
    return a.name.strip() == b.name.strip() and bool(a.name.strip())


def _record_reasons(
    record: SharedRecord,
    region: str,
    at: datetime,
    trust: TrustList,
    agreement: Agreement,
    barred: Mapping[str, Sequence[BarPeriod]],
    skew: timedelta,
) -> tuple[list[Reason], date, date]:
    cert = record.certificate
    day = at.astimezone(CHINA_TZ).date()
    out: list[Reason] = []
    origin = trust.member(cert.number.region)
    here = trust.member(region)
    if origin is None:
        out.append(reason("ORIGIN_NOT_MEMBER", f"{cert.number.region} is not a member"))
    else:
        if not origin.is_member_on(day):
            out.append(reason("ORIGIN_NOT_MEMBER", f"{origin.region} on {day.isoformat()}"))
        if not origin.is_member_on(cert.issued_at.astimezone(CHINA_TZ).date()):
            out.append(reason("ISSUER_NOT_MEMBER"))
    if here is None or not here.is_member_on(day):
        out.append(reason("REGION_NOT_MEMBER", f"{region} on {day.isoformat()}"))
    if cert.kind not in agreement.kinds:
        out.append(reason("KIND_NOT_COVERED", cert.kind.value))
    _, key_problem = _signing_key(cert, record.kid, trust)
    if key_problem:
        out.append(reason(key_problem, record.kid.hex()))
    if cert.issued_at > at + skew:
        out.append(reason("ISSUED_IN_FUTURE"))
    first, last = recognition_window(cert, agreement)
    if at + skew < _day_start(first):
        out.append(reason("NOT_YET_VALID", f"valid from {first.isoformat()}"))
    if at - skew >= _day_start(last + timedelta(days=1)):
        out.append(reason("EXPIRED", f"valid to {last.isoformat()}"))
    for code, event in status_codes(record.events, at):
        detail = event.reason + (f" → {event.superseded_by}" if event.superseded_by else "")
        out.append(reason(code, detail))
    for party in _operators(cert):
        for period in barred.get(party.registration, ()):
            if period.covers(day):
                out.append(
                    reason("OPERATOR_BARRED", f"{party.registration} ({period.region})".strip())
                )
                break
    if at > trust.expires_at:
        out.append(reason("TRUST_LIST_EXPIRED", trust.expires_at.isoformat()))
    return out, first, last


def _is_error(r: Reason) -> bool:
    return r.severity is Severity.ERROR


def recognise(
    record: SharedRecord,
    *,
    region: str,
    at: datetime,
    trust: TrustList,
    agreement: Agreement,
    barred: Mapping[str, Sequence[BarPeriod]] | None = None,
    letters: Iterable[SharedRecord] = (),
    skew: timedelta = DEFAULT_SKEW,
) -> Recognition:
    """Is ``record`` recognised in member region ``region`` at ``at``, and why (not)?

    ``barred``: registration number → the operator's bar periods.  ``letters``:
    candidate requirement letters (only those issued in ``region``'s province for
    the consignee and category count).
    """
    if at.tzinfo is None:
        raise ValueError("at must be timezone-aware")
    bars = barred or {}
    cert = record.certificate
    reasons, first, last = _record_reasons(record, region, at, trust, agreement, bars, skew)
    letter_number = ""
    if cert.kind is Kind.TRANSPORT and cert.number.region[:2] != region[:2]:
        extra, letter_number = _requirement(
            record, region, at, trust, agreement, bars, letters, skew
        )
        reasons.extend(extra)
    recognised = not any(_is_error(r) for r in reasons)
    if recognised:
        reasons.insert(0, reason("RECOGNISED"))
    return Recognition(
        number=str(cert.number),
        region=region,
        at=at,
        recognised=recognised,
        reasons=tuple(reasons),
        valid_from=first,
        valid_until=last,
        requirement_letter=letter_number,
    )


def _requirement(
    record: SharedRecord,
    region: str,
    at: datetime,
    trust: TrustList,
    agreement: Agreement,
    barred: Mapping[str, Sequence[BarPeriod]],
    letters: Iterable[SharedRecord],
    skew: timedelta,
) -> tuple[list[Reason], str]:
    cert = record.certificate
    if agreement.is_low_risk(cert):
        return [reason("LOW_RISK_NO_REQUIREMENT", ", ".join(agreement.categories_of(cert)))], ""
    needed = set(agreement.categories_of(cert))
    referenced = cert.references.requirement_letter
    found: dict[str, str] = {}
    candidates = sorted(
        letters,
        key=lambda r: (str(r.certificate.number) != referenced, str(r.certificate.number)),
    )
    for letter in candidates:
        lc = letter.certificate
        if lc.kind is not Kind.REQUIREMENT or lc.number.region[:2] != region[:2]:
            continue
        if not _same_party(lc.consignee, cert.consignee) or lc.category not in needed:
            continue
        if lc.category in found:
            continue
        problems, _, _ = _record_reasons(letter, region, at, trust, agreement, barred, skew)
        if not any(_is_error(p) for p in problems):
            found[lc.category] = str(lc.number)
    missing = sorted(needed - set(found))
    if missing:
        return [reason("REQUIREMENT_LETTER_MISSING", ", ".join(missing))], ""
    numbers = sorted(set(found.values()))
    return [reason("REQUIREMENT_LETTER_FOUND", ", ".join(numbers))], numbers[0]


__all__ = [
    "Agreement",
    "AgreementError",
    "BarPeriod",
    "Recognition",
    "SharedRecord",
    "one_year_end",
    "recognise",
    "recognition_window",
]
