"""Inspectors' questions and operator registrations, over a SQLAlchemy session.

* :func:`check_recognition` — is record X recognised in region S on day d, and why (not)?
  Reads the shared records view (this node's own records and every accepted peer
  entry), the record's events, requirement letters and operators' bars, then asks
  :func:`quarantine.core.recognition.recognise`.  A record whose origin node has not
  been heard from within the stale window gets ``SHARED_DATA_STALE``.
* :func:`register_operator` — record an operator's registration (检疫登记) or a bar
  under joint credit supervision; published to the feed like any other change.

The caller owns the transaction; nothing here commits.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from typing import Any, Final

from sqlalchemy.orm import Session

from quarantine.core.feed import EntryKind
from quarantine.core.model import CHINA_TZ, NUMBER_RE, Kind
from quarantine.core.reasons import reason
from quarantine.core.recognition import Agreement, Recognition, SharedRecord, recognise
from quarantine.core.trust import TrustList
from quarantine.core.verify import decode_unverified
from quarantine.errors import InputError
from quarantine.federation.publish import append, publisher_of
from quarantine.services.authz import Action, Principal, require
from quarantine.storage import federation as store

MAX_NAME: Final = 200
MAX_REGISTRATION: Final = 64


def day_instant(day: date | None, now: datetime) -> datetime:
    """The instant a question about ``day`` is judged at: now for today (or no day),
    else the last second of that day in China Standard Time."""
    if day is None or day == now.astimezone(CHINA_TZ).date():
        return now
    return datetime.combine(day, time(23, 59, 59), CHINA_TZ)


def _bad(code: str, zh: str, en: str) -> InputError:
    return InputError(code, zh, en)


def check_number(number: str) -> str:
    if not NUMBER_RE.match(number):
        raise _bad(
            "BAD_NUMBER",
            "证书编号格式应为 行政区划代码-年份-六位序号",
            "number must be RRRRRR-YYYY-NNNNNN",
        )
    return number


def check_region(region: str) -> str:
    if not (len(region) == 6 and region.isdigit()):
        raise _bad("BAD_REGION", "地区须为六位行政区划代码", "region must be a six-digit code")
    return region


def _shared(row: store.SharedRecord, events: Mapping[str, Any]) -> SharedRecord:
    cert, msg = decode_unverified(row.qr_text)  # verified when it was accepted
    return SharedRecord(cert, msg.kid or b"", tuple(events.get(row.number, ())))


def _local_record(session: Session, number: str) -> SharedRecord | None:
    """A record of this node's own registry that is not in the shared view (issued before
    the node had peers, or on a node without peers)."""
    from quarantine.storage.certificates import CertificateStore
    from quarantine.storage.events import EventStore

    stored = CertificateStore(session).get(number)
    if stored is None:
        return None
    cert, msg = decode_unverified(stored.qr_text)
    events = tuple(e.status_event for e in EventStore(session).events(number))
    return SharedRecord(cert, msg.kid or b"", events)


def check_recognition(
    session: Session,
    number: str,
    region: str,
    *,
    at: datetime,
    trust: TrustList,
    agreement: Agreement,
    skew: timedelta,
    own_region: str,
    stale_after: timedelta,
    now: datetime,
) -> Recognition:
    """Is record ``number`` recognised in ``region`` at ``at``?  (See the module text.)"""
    check_number(number)
    check_region(region)
    found = store.shared_record_and_sync(session, number)
    if found is not None:
        row_origin, heard = found[0].origin, found[1]
        record = _shared(found[0], store.shared_events(session, [number]))
    else:
        local = _local_record(session, number)
        if local is None:
            return Recognition(
                number, region, at, False, (reason("UNKNOWN_TO_REGISTRY", "shared records"),)
            )
        row_origin, heard, record = own_region, None, local
    cert = record.certificate
    letters: list[SharedRecord] = []
    if cert.kind is Kind.TRANSPORT and cert.consignee is not None:
        candidates = store.requirement_letters(
            session, region, cert.consignee.name, agreement.categories_of(cert)
        )
        events = store.shared_events(session, [r.number for r in candidates])
        letters = [_shared(r, events) for r in candidates]
    parties = (cert.consignor, cert.consignee, cert.producer)
    bars = store.bars_of(session, [p.registration for p in parties if p is not None])
    result = recognise(
        record,
        region=region,
        at=at,
        trust=trust,
        agreement=agreement,
        barred=bars,
        letters=letters,
        skew=skew,
    )
    if row_origin[:2] != own_region[:2] and (heard is None or now - heard > stale_after):
        when = heard.isoformat() if heard else "-"
        result = replace(
            result, reasons=(*result.reasons, reason("SHARED_DATA_STALE", f"last sync {when}"))
        )
    return result


def _text(doc: Mapping[str, Any], key: str, limit: int, *, required: bool = True) -> str:
    value = doc.get(key, "")
    if value is None:
        value = ""
    if not isinstance(value, str) or len(value) > limit or (required and not value.strip()):
        raise _bad(
            "BAD_OPERATOR",
            f"检疫登记字段 {key} 无效",
            f"operator field {key!r} is missing, too long or not text",
        )
    return value.strip()


def _date(doc: Mapping[str, Any], key: str, *, required: bool) -> date | None:
    raw = _text(doc, key, 10, required=required)
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise _bad(
            "BAD_OPERATOR", f"{key} 须为 YYYY-MM-DD", f"{key} must be a date YYYY-MM-DD"
        ) from None


def register_operator(
    session: Session, doc: Mapping[str, Any], principal: Principal, *, now: datetime
) -> store.Operator:
    """Record an operator registration (or a bar) of this node's province and publish it.

    ``doc``: registration, name, region (district code), registered_on, and optional
    barred_from / barred_until / reason.  Issuers of the operator's region only.
    """
    registration = _text(doc, "registration", MAX_REGISTRATION)
    name = _text(doc, "name", MAX_NAME)
    region = check_region(_text(doc, "region", 6))
    require(principal, Action.ISSUE, region)
    registered = _date(doc, "registered_on", required=True)
    barred_from = _date(doc, "barred_from", required=False)
    barred_until = _date(doc, "barred_until", required=False)
    if barred_until is not None and (barred_from is None or barred_until < barred_from):
        raise _bad(
            "BAD_OPERATOR",
            "限制结束日期须晚于开始日期",
            "barred_until needs a barred_from on or before it",
        )
    body: dict[str, Any] = {
        "registration": registration,
        "name": name,
        "region": region,
        "registered_on": (registered or now.date()).isoformat(),
        "barred_from": barred_from.isoformat() if barred_from else "",
        "barred_until": barred_until.isoformat() if barred_until else "",
        "reason": _text(doc, "reason", 2000, required=False),
    }
    publisher = publisher_of(session)
    if publisher is None:
        raise _bad(
            "FEDERATION_DISABLED",
            "本节点未配置互认联盟（QUARANTINE_PEERS）",
            "this node is not part of a federation (QUARANTINE_PEERS)",
        )
    if region[:2] != publisher.region[:2]:
        raise _bad(
            "OPERATOR_OF_ANOTHER_REGION",
            "只能登记本省的经营者",
            "a node registers operators of its own province only",
        )
    append(session, publisher, EntryKind.OPERATOR, body, now)
    found = store.operator(session, registration)
    assert found is not None
    return found
