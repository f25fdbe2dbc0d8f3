"""Inspection across the Delta: reuse alerts, joint credit supervision, the trace.

Use cases over a SQLAlchemy session (the caller owns the transaction; nothing
here commits), on top of the pure rules in :mod:`quarantine.core.reuse`,
:mod:`quarantine.core.credit` and :mod:`quarantine.core.trace`:

* every new scan — recorded here (:func:`on_scan_recorded`, called where the
  scan event is stored) or accepted from a peer's feed (:func:`apply_shared`) —
  is stored in ``inspection_scans``, evaluated against the certificate and its
  earlier scans (one indexed read), and the alerts it raises are inserted
  idempotently (their ids are the rules' stable ids); a node with peers
  publishes its own scans in its feed;
* an arrival (ARRIVED event) stored after scans of its certificate that came later
  (:func:`on_arrivals`, called where status events enter the shared view) raises
  the alerts of those scans;
* open alerts per region, marking one checked with a note;
* violations recorded by inspectors or administrators, published like scans;
  an operator's credit status; recognition applies the bars they give
  (``storage.federation.bars_of``);
* the trace of a consignment over record links, status events, scans and
  project re-inspections.

Greening projects are in :mod:`quarantine.services.projects`.
"""

from __future__ import annotations

import secrets
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from quarantine import inspection_rules
from quarantine.core.credit import (
    CreditRule,
    CreditStatus,
    Violation,
    ViolationKind,
    ViolationSeverity,
    credit_status,
)
from quarantine.core.feed import EntryKind
from quarantine.core.inspection_feed import ScanBody, ViolationBody, scan_body, violation_body
from quarantine.core.model import CHINA_TZ, NUMBER_RE, Certificate, Kind
from quarantine.core.regions import RegionTable
from quarantine.core.reuse import (
    Alert,
    CertificateFacts,
    LonLat,
    ReusePolicy,
    Scan,
    evaluate,
    scanned_after_closed,
)
from quarantine.core.status import EventType, StatusEvent
from quarantine.core.trace import Step, Trace, assemble, collect
from quarantine.core.verify import decode_unverified
from quarantine.errors import InputError
from quarantine.services.authz import Principal, Role, covers
from quarantine.storage import inspection as store

MAX_NOTE: Final = 2000
MAX_OPERATOR: Final = 64
#: The built-in limits; a deployment may set its own (``QUARANTINE_INSPECTION_RULES``).
DEFAULT_POLICY: Final = ReusePolicy()


class Forbidden(InputError):
    """The caller's role or region does not allow this (HTTP 403)."""


class NotFound(InputError):
    """No such alert, operator record or project (HTTP 404)."""


class Conflict(InputError):
    """The current state does not allow this (HTTP 409)."""


@lru_cache(maxsize=1)
def regions() -> RegionTable:
    from quarantine.reference import region_table

    return region_table()


def centre(code: str) -> LonLat | None:
    return regions().centre(code)


def _node_origin(session: Session, fallback: str) -> str:
    """This node's region: its feed publisher's, else the province of ``fallback``."""
    from quarantine.federation.publish import publisher_of

    publisher = publisher_of(session)
    if publisher is not None:
        return publisher.region
    return fallback[:2] + "0000"


def _publish(session: Session, kind: EntryKind, body: Mapping[str, Any], now: datetime) -> None:
    from quarantine.federation.publish import append, publisher_of

    publisher = publisher_of(session)
    if publisher is not None:
        append(session, publisher, kind, body, now)


def clean_text(value: object, limit: int, field: str, *, required: bool = False) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InputError("BAD_FIELD", f"{field} 须为文本", f"{field} must be text")
    text = unicodedata.normalize("NFC", value).strip()
    if len(text) > limit:
        raise InputError(
            "FIELD_TOO_LONG", f"{field} 超过 {limit} 个字符", f"{field} is over {limit} characters"
        )
    if required and not text:
        raise InputError("FIELD_REQUIRED", f"{field} 必填", f"{field} is required")
    if any(unicodedata.category(ch) == "Cc" and ch not in "\n\t" for ch in text):
        raise InputError(
            "BAD_FIELD", f"{field} 含有控制字符", f"{field} contains control characters"
        )
    return text


def _forbidden(zh: str, en: str) -> Forbidden:
    return Forbidden("FORBIDDEN", zh, en)


def may_act_in(principal: Principal, region: str, roles: Iterable[Role]) -> None:
    """Inspectors (or the roles given) of a region covering ``region``; admins everywhere."""
    if principal.role is Role.ADMIN:
        return
    if principal.role not in set(roles):
        raise _forbidden(
            f"{principal.role.value} 无权执行此操作", f"a {principal.role.value} may not do this"
        )
    if not covers(principal.region, region):
        raise _forbidden(
            f"{principal.region} 的令牌不能处理 {region} 的事项",
            f"a token of {principal.region} may not act for {region}",
        )


# --------------------------------------------------------------------------- certificates


@dataclass(frozen=True)
class Known:
    """A certificate as this node knows it: its content and status events."""

    certificate: Certificate
    events: tuple[StatusEvent, ...]
    local: bool  # issued here (in ``certificates``), else from the shared records
    #: This registry's events as trace steps (with place and detail); () for shared records.
    steps: tuple[Step, ...] = ()


def load_known(session: Session, numbers: Iterable[str]) -> dict[str, Known]:
    """The known certificates among ``numbers``: this registry's first, then the shared view."""
    from quarantine.storage import federation as fed
    from quarantine.storage.certificates import StoredCertificate
    from quarantine.storage.models import CertificateRow, StatusEventRow

    wanted = sorted({n for n in numbers if NUMBER_RE.match(n)})
    out: dict[str, Known] = {}
    if not wanted:
        return out
    if len(wanted) == 1:  # the hot path (a new scan): one statement for record and events
        from quarantine.storage.certificates import CertificateStore

        found = CertificateStore(session).get_with_events(wanted[0])
        if found is not None:
            stored, recorded = found
            own = tuple(e.status_event for e in recorded)
            steps = tuple(
                _step(
                    wanted[0],
                    e.type,
                    e.at,
                    e.region,
                    e.reason,
                    e.superseded_by,
                    e.detail,
                    e.checkpoint,
                )
                for e in recorded
            )
            return {wanted[0]: Known(stored.certificate(), own, True, steps)}
    # Every record of ours with its events: one statement (the rows LEFT JOIN their events).
    rows = session.execute(
        select(CertificateRow, StatusEventRow)
        .outerjoin(StatusEventRow, StatusEventRow.certificate_id == CertificateRow.id)
        .where(CertificateRow.number.in_(wanted))
        .order_by(CertificateRow.id, StatusEventRow.at, StatusEventRow.id)
    ).all()
    certs: dict[str, Certificate] = {}
    events: dict[str, list[StatusEvent]] = {}
    steps_of: dict[str, list[Step]] = {}
    for row, e in rows:
        if row.number not in certs:
            certs[row.number] = StoredCertificate.from_row(row).certificate()
            events[row.number], steps_of[row.number] = [], []
        if e is not None:
            kind = EventType(e.type)
            events[row.number].append(StatusEvent(kind, e.at, e.reason, e.superseded_by))
            steps_of[row.number].append(
                _step(
                    row.number,
                    kind,
                    e.at,
                    e.region,
                    e.reason,
                    e.superseded_by,
                    e.detail,
                    e.checkpoint,
                )
            )
    for number, cert in certs.items():
        out[number] = Known(cert, tuple(events[number]), True, tuple(steps_of[number]))
    rest = [n for n in wanted if n not in out]
    if rest:
        shared = session.execute(
            select(fed.SharedRecordRow.number, fed.SharedRecordRow.qr_text).where(
                fed.SharedRecordRow.number.in_(rest)
            )
        ).all()
        shared_events = fed.shared_events(session, [r.number for r in shared])
        for r in shared:
            cert, _ = decode_unverified(r.qr_text)  # verified when it was accepted
            out[r.number] = Known(cert, tuple(shared_events.get(r.number, ())), False)
    return out


def _facts(
    number: str,
    kind: Kind,
    valid_to: date,
    plate: str,
    route: Iterable[str],
    closed_at: datetime | None,
) -> CertificateFacts:
    return CertificateFacts(
        number=number,
        kind=kind,
        valid_until=datetime.combine(valid_to + timedelta(days=1), time(0), CHINA_TZ),
        plate=plate,
        closed_at=closed_at,
        route=tuple(r for r in route if r),
    )


def facts_of(known: Known) -> CertificateFacts:
    cert = known.certificate
    closed = [e.at for e in known.events if e.type is EventType.ARRIVED]
    route: tuple[str, ...] = ()
    if cert.route is not None:
        route = (cert.route.origin, *cert.route.via, cert.route.destination)
    return _facts(
        str(cert.number),
        cert.kind,
        cert.valid_to,
        cert.conveyance.identifier if cert.conveyance is not None else "",
        route,
        min(closed) if closed else None,
    )


def _record_text(value: object) -> str:
    """A text field of a stored record as ``core.document.from_document`` reads it."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value.strip() if isinstance(value, str) else ""


def facts_of_context(context: store.ScanContext) -> CertificateFacts:
    """The same facts as :func:`facts_of`, from the stored record's columns (no decoding)."""
    route: tuple[str, ...] = ()
    doc = context.route
    if doc:
        via = doc.get("via", [])
        route = (
            _record_text(doc.get("from")),
            *(str(x) for x in (via[:6] if isinstance(via, list) else [])),
            _record_text(doc.get("to")),
        )
    return _facts(
        context.number,
        Kind(context.kind),
        context.valid_to,
        _record_text(context.plate),
        route,
        context.closed_at,
    )


# --------------------------------------------------------------------------- scans and alerts


def evaluate_scan(
    session: Session, scan: Scan, *, now: datetime, policy: ReusePolicy | None = None
) -> list[Alert]:
    """Evaluate ``scan`` against its certificate and earlier scans; store new alerts.

    Returns every alert the scan raises (also those already known).  A scan of a
    number this node does not know raises nothing.  ``policy`` defaults to the
    deployment's (:func:`quarantine.inspection_rules.current`).

    On PostgreSQL a certificate of this registry is read with its earlier scans in
    one statement (``storage.inspection.scan_context``) and new alerts are written
    with one more, only when the scan raises any; shared records and SQLite take
    the general path (the certificate with its events, then the earlier scans).
    """
    if not NUMBER_RE.match(scan.number):
        return []
    return _evaluate(session, scan, store.scan_context(session, scan.number), now, policy)


def _evaluate(
    session: Session,
    scan: Scan,
    context: store.ScanContext | None,
    now: datetime,
    policy: ReusePolicy | None,
) -> list[Alert]:
    """:func:`evaluate_scan` once the one-statement read was made (``None``: the general way)."""
    if context is not None:
        facts, earlier = facts_of_context(context), context.earlier
        issuing = context.number.split("-", 1)[0]
    else:
        known = load_known(session, [scan.number]).get(scan.number)
        if known is None:
            return []
        facts, earlier = facts_of(known), store.scans_of(session, scan.number)
        issuing = known.certificate.number.region
    rules = policy if policy is not None else inspection_rules.current().policy
    alerts = evaluate(scan, earlier, facts, rules, centre)
    if alerts:
        places = {s.id: s.region for s in (*earlier, scan)}
        concerned = {a.id: {places.get(i, "") for i in a.scans} | {issuing} for a in alerts}
        store.add_alerts(session, alerts, concerned, now)
    return alerts


def record_scan(
    session: Session,
    *,
    number: str,
    at: datetime,
    region: str,
    actor: str,
    checkpoint: str = "",
    plate: str = "",
    verdict: str = "",
    position: LonLat | None = None,
    now: datetime,
    policy: ReusePolicy | None = None,
) -> tuple[Scan, list[Alert]]:
    """Store a scan recorded by this node's inspector, publish it, evaluate it.

    On PostgreSQL the scan is stored and its certificate read with the earlier scans in
    one statement (``storage.inspection.add_scan_with_context``).
    """
    origin = _node_origin(session, region)
    scan = Scan(
        id=f"{origin}:{secrets.token_hex(8)}",
        number=number[:64],
        at=at,
        region=region,
        checkpoint=checkpoint[:200],
        plate=plate[:20],
        position=position,
        verdict=verdict[:20],
    )
    if NUMBER_RE.match(scan.number) and store.one_statement_reads(session):
        context = store.add_scan_with_context(
            session, scan, origin=origin, actor=actor, recorded_at=now
        )
        alerts = _evaluate(session, scan, context, now, policy)
    else:
        store.add_scan(session, scan, origin=origin, actor=actor, recorded_at=now)
        alerts = evaluate_scan(session, scan, now=now, policy=policy)
    _publish(session, EntryKind.SCAN, scan_body(scan), now)
    return scan, alerts


def on_scan_recorded(
    session: Session,
    *,
    number: str,
    at: datetime,
    region: str,
    checkpoint: str,
    plate: str,
    verdict: str,
    actor: str,
    position: LonLat | None = None,
) -> list[Alert]:
    """The hook of ``services.scans.record_scan``: a verification by an inspector."""
    if not number:
        return []
    _, alerts = record_scan(
        session,
        number=number,
        at=at,
        region=region,
        actor=actor,
        checkpoint=checkpoint,
        plate=plate,
        verdict=verdict,
        position=position,
        now=at,
    )
    return alerts


def apply_shared(
    session: Session, origin: str, seq: int, body: ScanBody | ViolationBody, now: datetime
) -> None:
    """Apply a scan or violation entry of a feed (a peer's, or this node's own again)."""
    if isinstance(body, ScanBody):
        if store.add_scan(session, body.scan, origin=origin, actor="", recorded_at=now):
            evaluate_scan(session, body.scan, now=now)
        return
    store.add_violation(
        session, body.violation, origin=origin, seq=seq, recorded_by="", recorded_at=now
    )


def on_shared_certificate(session: Session, origin: str, cert: Certificate, now: datetime) -> None:
    """A certificate entered the shared view: record its links; a peer's certificate that
    arrives after scans of it (feeds are pulled from each peer separately) has those
    scans evaluated now."""
    from quarantine.federation.publish import publisher_of

    store.add_links(session, [cert])
    publisher = publisher_of(session)
    if publisher is not None and publisher.region[:2] == origin[:2]:
        return  # this node's own record: no scan can have come before it here
    for scan in store.scans_of(session, str(cert.number), limit=50):
        evaluate_scan(session, scan, now=now)


def on_arrivals(
    session: Session, arrivals: Iterable[tuple[str, datetime]], now: datetime
) -> list[Alert]:
    """Arrivals (ARRIVED events, number and time) just stored here, this node's or a
    peer's: the scans of those certificates already known and made after the arrival
    (pulled before it, or timed after it) raise ``SCANNED_AFTER_CLOSED`` now, by the
    rule a scan is evaluated with (``core.reuse.scanned_after_closed``, same alert ids:
    applying the arrival again inserts nothing).

    One indexed read of the scans; the certificates are read only when a scan is later
    than its arrival.  A certificate not known here raises nothing, as its scans do not.
    Returns the alerts raised (also those already known).
    """
    first: dict[str, datetime] = {}
    for number, at in arrivals:
        first[number] = min(at, first.get(number, at))
    later = store.scans_after(session, first)
    if not later:
        return []
    alerts: list[Alert] = []
    concerned: dict[str, set[str]] = {}
    for number, known in load_known(session, {s.number for s in later}).items():
        scans = [s for s in later if s.number == number]
        places = {s.id: s.region for s in scans}
        issuing = known.certificate.number.region
        for alert in scanned_after_closed(scans, facts_of(known)):
            concerned[alert.id] = {places[i] for i in alert.scans} | {issuing}
            alerts.append(alert)
    if alerts:
        store.add_alerts(session, alerts, concerned, now)
    return alerts


def list_alerts(
    session: Session,
    principal: Principal,
    *,
    region: str = "",
    status: str = "OPEN",
    limit: int = 50,
    offset: int = 0,
) -> tuple[int, list[store.StoredAlert]]:
    """Alerts of ``region`` (default: the caller's); inspectors of their region, admins all."""
    where = region or ("" if principal.role is Role.ADMIN else principal.region)
    if where:
        may_act_in(principal, where, (Role.INSPECTOR,))
    elif principal.role is not Role.ADMIN:
        raise _forbidden("须指定地区", "a region is needed")
    wanted = status.upper()
    if wanted not in ("OPEN", "CHECKED", "ALL", ""):
        raise InputError(
            "BAD_STATUS", "状态须为 open、checked 或 all", "status must be open, checked or all"
        )
    return store.list_alerts(
        session,
        region=where,
        status="" if wanted in ("ALL", "") else wanted,
        limit=limit,
        offset=offset,
    )


def check_alert(
    session: Session, alert_id: str, note: str, principal: Principal, *, now: datetime
) -> store.StoredAlert:
    """Mark an alert checked with a note (an inspector of a region it concerns, or an admin)."""
    text = clean_text(note, MAX_NOTE, "note", required=True)
    if len(alert_id) > 32 or not alert_id.isalnum():
        raise NotFound("ALERT_NOT_FOUND", "没有此告警", "no such alert")
    found = store.get_alert(session, alert_id, lock=True)
    if found is None:
        raise NotFound("ALERT_NOT_FOUND", "没有此告警", "no such alert")
    concerned = any(covers(principal.region, r) for r in found.regions)
    if principal.role is not Role.ADMIN and (principal.role is not Role.INSPECTOR or not concerned):
        raise _forbidden(
            "只有告警所涉地区的检查员可以处理", "only inspectors of a region concerned may check it"
        )
    if found.status == "CHECKED":
        raise Conflict("ALERT_ALREADY_CHECKED", "告警已处理", "the alert was already checked")
    store.mark_checked(session, alert_id, principal.actor, text, now)
    checked = store.get_alert(session, alert_id)
    assert checked is not None
    return checked


# --------------------------------------------------------------------------- credit


_SEVERITY_NAMES: Final = {s.name: s for s in ViolationSeverity}


def _severity(value: object) -> ViolationSeverity:
    if isinstance(value, str) and value.upper() in _SEVERITY_NAMES:
        return _SEVERITY_NAMES[value.upper()]
    if type(value) is int and value in {int(s) for s in ViolationSeverity}:
        return ViolationSeverity(value)
    raise InputError(
        "BAD_SEVERITY",
        "严重程度须为 MINOR、SERIOUS 或 SEVERE（1–3）",
        "severity must be MINOR, SERIOUS or SEVERE (1-3)",
    )


def _kind(value: object) -> ViolationKind:
    try:
        return ViolationKind(str(value).upper())
    except ValueError:
        raise InputError(
            "BAD_VIOLATION_KIND",
            "违规类型须为 " + "、".join(k.value for k in ViolationKind),
            "kind must be one of " + ", ".join(k.value for k in ViolationKind),
        ) from None


def _instant(value: object, now: datetime) -> datetime:
    if value in (None, ""):
        return now
    try:
        at = datetime.fromisoformat(str(value))
    except ValueError:
        at = None
    if at is None or at.tzinfo is None:
        raise InputError("BAD_TIME", "时间须为带时区的 ISO 8601", "at must be ISO 8601 with a zone")
    if at > now + timedelta(minutes=5):
        raise InputError("TIME_IN_FUTURE", "时间不能晚于当前时间", "at lies in the future")
    return at


def check_operator(value: object) -> str:
    text = clean_text(value, MAX_OPERATOR, "operator", required=True)
    if any(ch.isspace() for ch in text):
        raise InputError("BAD_OPERATOR", "登记号不能含空白", "the registration has whitespace")
    return text


def record_violation(
    session: Session, doc: Mapping[str, Any], principal: Principal, *, now: datetime
) -> store.StoredViolation:
    """Record a violation against an operator (inspectors of the region, admins) and share it.

    ``doc``: operator (registration number), kind, severity, optional region
    (default: the caller's), at (default now), evidence, certificate.
    """
    unknown = set(doc) - {"operator", "kind", "severity", "region", "at", "evidence", "certificate"}
    if unknown:
        raise InputError(
            "REQUEST_INVALID", "请求含未知字段", f"unknown fields: {', '.join(sorted(unknown))}"
        )
    operator = check_operator(doc.get("operator"))
    kind = _kind(doc.get("kind"))
    severity = _severity(doc.get("severity"))
    region = clean_text(doc.get("region"), 6, "region") or principal.region
    if region not in regions():
        raise InputError(
            "UNKNOWN_REGION", "不是长三角的行政区划代码", "not a Yangtze River Delta region code"
        )
    may_act_in(principal, region, (Role.INSPECTOR,))
    at = _instant(doc.get("at"), now)
    evidence = clean_text(doc.get("evidence"), MAX_NOTE, "evidence", required=True)
    certificate = clean_text(doc.get("certificate"), 18, "certificate")
    if certificate and not NUMBER_RE.match(certificate):
        raise InputError(
            "BAD_NUMBER",
            "证书编号格式应为 行政区划代码-年份-六位序号",
            "number must be RRRRRR-YYYY-NNNNNN",
        )
    origin = _node_origin(session, region)
    if origin[:2] != region[:2]:
        raise _forbidden(
            "本节点只记录本省的违规", "this node records violations of its own province only"
        )
    violation = Violation(
        f"{origin}:{secrets.token_hex(8)}",
        operator,
        region,
        kind,
        severity,
        at,
        evidence,
        certificate,
    )
    store.add_violation(
        session, violation, origin=origin, seq=0, recorded_by=principal.actor, recorded_at=now
    )
    _publish(session, EntryKind.VIOLATION, violation_body(violation), now)
    return store.StoredViolation(violation, origin, 0, principal.actor, now)


@dataclass(frozen=True)
class Credit:
    status: CreditStatus
    violations: tuple[store.StoredViolation, ...]

    def as_dict(self) -> dict[str, Any]:
        from quarantine.core.credit import LEVEL_WORDS, SEVERITY_WORDS, VIOLATION_WORDS

        s = self.status
        zh, en = s.explain()
        because = {v.id for v in s.because}
        return {
            "operator": s.operator,
            "on": s.on.isoformat(),
            "level": s.level.value,
            "level_zh": LEVEL_WORDS[s.level][0],
            "level_en": LEVEL_WORDS[s.level][1],
            "barred": s.barred,
            "barred_through": s.barred_through.isoformat() if s.barred_through else None,
            "why": {"zh": zh, "en": en},
            "violations": [
                {
                    "id": v.violation.id,
                    "region": v.violation.region,
                    "kind": v.violation.kind.value,
                    "kind_zh": VIOLATION_WORDS[v.violation.kind][0],
                    "kind_en": VIOLATION_WORDS[v.violation.kind][1],
                    "severity": v.violation.severity.name,
                    "severity_zh": SEVERITY_WORDS[v.violation.severity][0],
                    "at": v.violation.at.isoformat(),
                    "evidence": v.violation.evidence,
                    "certificate": v.violation.certificate,
                    "origin": v.origin,
                    "counts": v.violation.id in because,
                }
                for v in self.violations
            ],
        }


def credit_of(
    session: Session,
    operator: str,
    principal: Principal,
    *,
    on: date,
    rules: Sequence[CreditRule] | None = None,
) -> Credit:
    """The operator's credit status on day ``on`` and the violations behind it (signed-in callers).

    ``rules`` default to the deployment's (:func:`quarantine.inspection_rules.current`).
    """
    if principal.role is Role.PUBLIC:
        raise _forbidden("需要令牌", "this needs an API token")
    registration = check_operator(operator)
    found = store.violations_of(session, [registration])
    effective = inspection_rules.current()
    status = credit_status(
        registration,
        [v.violation for v in found],
        on,
        effective.credit if rules is None else rules,
        effective.watch_days,
    )
    return Credit(status, tuple(found))


# --------------------------------------------------------------------------- trace


_STEP_TYPES: Final = {EventType.REINSPECTED: "REINSPECTION", EventType.ARRIVED: "ARRIVAL"}


def trace(session: Session, number: str, principal: Principal) -> Trace:
    """The consignment behind ``number``: records, links and every event on one time line."""
    if principal.role is Role.PUBLIC:
        raise _forbidden("需要令牌", "this needs an API token")
    if not NUMBER_RE.match(number):
        raise InputError(
            "BAD_NUMBER",
            "证书编号格式应为 行政区划代码-年份-六位序号",
            "number must be RRRRRR-YYYY-NNNNNN",
        )
    known: dict[str, Known] = {}

    def load(numbers: set[str]) -> Mapping[str, Certificate]:
        found = load_known(session, numbers)
        known.update(found)
        return {n: k.certificate for n, k in found.items()}

    def referencing(numbers: set[str]) -> Iterable[Certificate]:
        targets = set(store.referencing(session, numbers)) - set(known)
        found = load_known(session, targets)
        known.update(found)
        return [k.certificate for k in found.values()]

    records, missing, truncated = collect(number, load, referencing)
    if not records:
        raise NotFound(
            "CERTIFICATE_NOT_FOUND",
            f"登记系统与共享记录中没有证书 {number}",
            f"certificate {number} is neither in the registry nor in the shared records",
        )
    steps = _steps(session, {n: known[n] for n in records if n in known})
    return assemble(number, records, steps, missing, truncated)


def _steps(session: Session, records: Mapping[str, Known]) -> list[Step]:
    from quarantine.storage import federation as fed

    steps: list[Step] = [step for k in records.values() for step in k.steps]
    shared = [n for n, k in records.items() if not k.local]
    if shared:
        rows2 = session.execute(
            select(fed.SharedEventRow).where(fed.SharedEventRow.number.in_(shared))
        ).scalars()
        for se in rows2:
            kind = EventType(se.type)
            detail = _event_detail(
                kind, se.reason, se.superseded_by, se.detail, str(se.detail.get("checkpoint", ""))
            )
            region = str(se.detail.get("region", "")) or se.origin
            steps.append(Step(se.number, se.at, _STEP_TYPES.get(kind, kind.value), region, detail))
    for scan in store.scans_for(session, records):
        words = " ".join(w for w in (scan.checkpoint, scan.plate, scan.verdict) if w)
        steps.append(Step(scan.number, scan.at, "SCAN", scan.region, words))
    for number, batch, project in store.project_reinspections(session, records):
        assert batch.reinspected_at is not None
        result = "PASSED" if batch.passed else "FAILED"
        steps.append(
            Step(
                number,
                batch.reinspected_at,
                "PROJECT_REINSPECTION",
                "",
                f"{project} {result} {batch.reinspection_note}".strip(),
            )
        )
    return steps


def _step(
    number: str,
    kind: EventType,
    at: datetime,
    region: str,
    reason: str,
    superseded_by: str,
    detail: Mapping[str, Any],
    checkpoint: str,
) -> Step:
    words = _event_detail(kind, reason, superseded_by, detail, checkpoint)
    return Step(number, at, _STEP_TYPES.get(kind, kind.value), region, words)


def _event_detail(
    kind: EventType, reason: str, superseded_by: str, detail: Mapping[str, Any], checkpoint: str
) -> str:
    parts = [checkpoint, str(detail.get("result", "")), reason]
    if superseded_by:
        parts.append(f"→ {superseded_by}")
    return " ".join(p for p in parts if p)


def trace_dict(t: Trace) -> dict[str, Any]:
    return {
        "start": t.start,
        "records": [
            {
                "number": str(c.number),
                "kind": c.kind.value,
                "issuing_region": c.number.region,
                "issued_at": c.issued_at.isoformat(),
                "valid_from": c.valid_from.isoformat(),
                "valid_to": c.valid_to.isoformat(),
                "products": [i.product for i in c.items],
            }
            for c in t.records
        ],
        "edges": [{"source": e.source, "target": e.target, "link": e.link.value} for e in t.edges],
        "steps": [
            {
                "number": s.number,
                "at": s.at.isoformat(),
                "type": s.type,
                "region": s.region,
                "detail": s.detail,
            }
            for s in t.steps
        ],
        "missing": list(t.missing),
        "truncated": t.truncated,
    }


def alert_dict(a: store.StoredAlert) -> dict[str, Any]:
    from quarantine.core.reuse import ALERT_RULES

    zh, en = ALERT_RULES.get(a.rule, (a.rule, a.rule))
    return {
        "id": a.id,
        "rule": a.rule,
        "zh": zh,
        "en": en,
        "number": a.number,
        "scans": list(a.scans),
        "detail": a.detail,
        "regions": list(a.regions),
        "raised_at": a.raised_at.isoformat(),
        "status": a.status,
        "checked_by": a.checked_by,
        "note": a.note,
        "checked_at": a.checked_at.isoformat() if a.checked_at else None,
    }


__all__ = [
    "Conflict",
    "Credit",
    "Forbidden",
    "Known",
    "NotFound",
    "alert_dict",
    "apply_shared",
    "check_alert",
    "credit_of",
    "evaluate_scan",
    "list_alerts",
    "load_known",
    "on_arrivals",
    "on_scan_recorded",
    "record_scan",
    "record_violation",
    "trace",
    "trace_dict",
]
