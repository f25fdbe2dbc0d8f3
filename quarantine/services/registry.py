"""Registry use cases: issue, look up, search and change the status of certificates.

Plain functions over a SQLAlchemy ``Session`` (the caller owns the transaction:
nothing here commits), the node's signing keys and ``now``.  Every change is
checked against the role and region policy (:mod:`quarantine.services.authz`)
and writes an audit entry whose actor is the principal's.

Status changes lock the certificate first (``SELECT … FOR UPDATE`` on
PostgreSQL; SQLite serialises writers), check the current status, then append
the event, so concurrent changes of one certificate end in one consistent state.
A supersede (换证) issues the replacement and marks the old certificate in the
same transaction: when it fails, nothing of the replacement is left.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Final, Literal, Unpack

from sqlalchemy import select
from sqlalchemy.orm import Session

from quarantine import keystore
from quarantine.core.keys import Signer
from quarantine.core.model import CHINA_TZ, Certificate, CertificateNumber, Kind
from quarantine.core.regions import RegionTable
from quarantine.core.status import EventType, StatusEvent
from quarantine.core.validate import CertificateInvalid, Problem
from quarantine.errors import InputError
from quarantine.federation.publish import publish_certificates, publish_to_feed
from quarantine.services import issuing
from quarantine.services.authz import Action, Principal, require
from quarantine.storage.audit import AuditLog
from quarantine.storage.certificates import (
    CertificateStore,
    CertStatus,
    Page,
    SearchFilters,
    StoredCertificate,
    derive_status,
)
from quarantine.storage.counters import NumberCounter, NumberInUse
from quarantine.storage.events import MAX_REASON, EventStore, RecordedEvent
from quarantine.storage.inspection import add_links
from quarantine.storage.models import CertificateRow

#: Issue times may lie this far in the future (clock skew between nodes).
FUTURE_SKEW: Final = timedelta(minutes=5)
MAX_NOTES: Final = MAX_REASON
MAX_CHECKPOINT: Final = 200
ReinspectionResult = Literal["PASSED", "FAILED"]


# --------------------------------------------------------------------------- errors


class NotFound(InputError):
    """No certificate with this number in the registry."""


class Conflict(InputError):
    """The certificate's current status does not allow the change."""


def not_found(number: str) -> NotFound:
    shown = number[:40]
    return NotFound(
        "CERTIFICATE_NOT_FOUND",
        f"登记系统中没有证书 {shown}",
        f"certificate {shown} is not in the registry",
    )


_STATUS_WORDS: Final = {
    CertStatus.REVOKED: ("ALREADY_REVOKED", "证书已被撤销", "the certificate was revoked"),
    CertStatus.SUPERSEDED: (
        "ALREADY_SUPERSEDED",
        "证书已被换发的新证书取代",
        "the certificate was superseded",
    ),
    CertStatus.CLOSED: (
        "ALREADY_CLOSED",
        "证书已到达核销",
        "the certificate was closed on arrival",
    ),
    CertStatus.SUSPENDED: ("ALREADY_SUSPENDED", "证书已被暂停", "the certificate is suspended"),
    CertStatus.EXPIRED: ("CERTIFICATE_EXPIRED", "证书已过期", "the certificate has expired"),
    CertStatus.NOT_YET_VALID: (
        "CERTIFICATE_NOT_YET_VALID",
        "证书尚未生效",
        "the certificate is not yet valid",
    ),
}


def _conflict(status: CertStatus, verb_zh: str, verb_en: str) -> Conflict:
    code, zh, en = _STATUS_WORDS.get(
        status, ("STATUS_CONFLICT", "证书状态不允许此操作", "the status does not allow this")
    )
    return Conflict(code, f"{zh}，不能{verb_zh}", f"{en}; it cannot be {verb_en}")


# --------------------------------------------------------------------------- keys


@dataclass(frozen=True)
class SigningKey:
    """A private key of this node, ready to sign."""

    signer: Signer
    #: The key's region (the agency's or its province's code).
    region: str
    kid: str


#: ``signer_for(region, at)``: the key that signs for ``region`` at ``at``.
SignerFor = Callable[[str, datetime], SigningKey]


#: How long :class:`KeyFolderSigners` uses one listing of the key folder.
KEY_LISTING_SECONDS: Final = 5.0


class KeyFolderSigners:
    """``SignerFor`` over a folder of keys (:mod:`quarantine.keystore`); loaded keys are cached.

    The folder is listed again after ``KEY_LISTING_SECONDS`` (a few small files to
    read and parse), so a rotated key is picked up within that time without a
    restart; private keys are decrypted once.
    """

    def __init__(
        self,
        directory: Path,
        passphrase: bytes | None,
        *,
        listing_seconds: float = KEY_LISTING_SECONDS,
    ) -> None:
        self.directory = directory
        self._passphrase = passphrase
        self._loaded: dict[Path, Signer] = {}
        self._lock = threading.Lock()
        self._listing_seconds = listing_seconds
        self._listed: tuple[float, list[keystore.KeyInfo]] | None = None

    def _keys(self) -> list[keystore.KeyInfo]:
        listed = self._listed
        if listed is None or time.monotonic() >= listed[0]:
            keys = keystore.list_keys(self.directory)
            self._listed = listed = (time.monotonic() + self._listing_seconds, keys)
        return listed[1]

    def __call__(self, region: str, at: datetime) -> SigningKey:
        info = keystore.choose_signing_key(self._keys(), self.directory, region, at)
        assert info.private_path is not None  # choose_signing_key only returns usable keys
        with self._lock:
            signer = self._loaded.get(info.private_path)
            if signer is None:
                signer = keystore.load_signer(info, self._passphrase)
                self._loaded[info.private_path] = signer
        return SigningKey(signer, info.region, info.kid)


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Issued:
    """A certificate just signed and stored."""

    certificate: Certificate
    stored: StoredCertificate
    qr_text: str
    kid: str


@dataclass(frozen=True)
class CertificateView:
    """One certificate with its derived status and every event."""

    stored: StoredCertificate
    status: CertStatus
    events: tuple[RecordedEvent, ...]


@dataclass(frozen=True)
class Changed:
    """The outcome of a status change."""

    number: str
    status: CertStatus
    event: RecordedEvent


@dataclass(frozen=True)
class Superseded:
    old: Changed
    replacement: Issued


# --------------------------------------------------------------------------- helpers


def _parse_number(number: str) -> CertificateNumber:
    try:
        return CertificateNumber.parse(number)
    except ValueError:
        raise InputError(
            "BAD_NUMBER",
            "证书编号格式应为 行政区划代码-年份-六位序号",
            "number must be RRRRRR-YYYY-NNNNNN",
        ) from None


def _lock(session: Session, number: str) -> None:
    """Lock the certificate's row until the transaction ends; ``NotFound`` when unknown."""
    found = session.execute(
        select(CertificateRow.id).where(CertificateRow.number == number).with_for_update()
    ).scalar_one_or_none()
    if found is None:
        raise not_found(number)


def _status(session: Session, number: str, now: datetime) -> CertStatus:
    status = CertificateStore(session).status(number, now)
    if status is None:
        raise not_found(number)
    return status


def _audit(
    session: Session,
    principal: Principal,
    action: str,
    number: str,
    details: dict[str, Any],
    now: datetime,
) -> None:
    AuditLog(session).append(principal.actor, action, number, details, now)


def _check_text(value: str, limit: int, field: str) -> str:
    if len(value) > limit:
        raise CertificateInvalid(
            [Problem(field, "TOO_LONG", f"超过 {limit} 个字符", f"longer than {limit} characters")]
        )
    return value


def _reason(reason: str) -> str:
    text = _check_text(reason.strip(), MAX_REASON, "reason")
    if not text:
        raise CertificateInvalid(
            [Problem("reason", "REQUIRED", "须说明原因", "a reason is required")]
        )
    return text


def _place(region: str, regions: RegionTable, principal: Principal) -> str:
    where = region or principal.region
    if where and where not in regions:
        raise CertificateInvalid(
            [
                Problem(
                    "region",
                    "UNKNOWN_REGION",
                    "不是长三角的行政区划代码",
                    "not a Yangtze River Delta region code",
                )
            ]
        )
    return where


def _as_conflict(exc: InputError) -> InputError:
    if exc.code in ("ALREADY_REVOKED", "ALREADY_SUPERSEDED"):
        return Conflict(exc.code, exc.message_zh, exc.message_en)
    return exc


# --------------------------------------------------------------------------- issue


@dataclass(frozen=True)
class PreparedIssue:
    """A certificate document checked, authorised and matched with its signing key:
    everything of an issue that needs no database."""

    draft: issuing.Draft
    key: SigningKey
    principal: Principal
    audit_details: Mapping[str, Any]


def _prepare(
    draft: issuing.Draft,
    principal: Principal,
    *,
    signer_for: SignerFor,
    now: datetime,
    audit_details: Mapping[str, Any],
) -> PreparedIssue:
    region = draft.certificate.issuing_agency.region
    require(principal, Action.ISSUE, region)
    if not draft.wants_number:
        require(principal, Action.ISSUE, draft.certificate.number.region)
    if draft.certificate.issued_at > now + FUTURE_SKEW:
        raise CertificateInvalid(
            [
                Problem(
                    "issued_at",
                    "ISSUED_IN_FUTURE",
                    "签发时间不能晚于当前时间",
                    "the issue time lies in the future",
                )
            ]
        )
    # The key first: no number is taken when the node cannot sign.
    key = signer_for(region, draft.certificate.issued_at)
    number_region = region if draft.wants_number else draft.certificate.number.region
    if number_region[:2] != key.region[:2]:
        raise InputError(
            "KEY_REGION_MISMATCH",
            "签名密钥不属于签发机关所在省份",
            f"a key of {key.region} cannot sign for {number_region}",
        )
    return PreparedIssue(draft, key, principal, audit_details)


def _audit_entry(
    issued: Issued, prepared: PreparedIssue, action: str, now: datetime
) -> tuple[str, str, str, dict[str, Any], datetime]:
    cert = issued.certificate
    details = {"kind": cert.kind.value, "kid": issued.kid, **prepared.audit_details}
    return (prepared.principal.actor, action, str(cert.number), details, now)


def store_prepared(
    session: Session,
    prepared: PreparedIssue,
    *,
    base_url: str,
    now: datetime,
    audit_action: str = "certificate.issue",
) -> Issued:
    """Number, sign, store and audit one prepared certificate."""
    key = prepared.key
    try:
        cert = issuing.finalize(prepared.draft, NumberCounter(session), now=now)
        signed = issuing.issue(cert, key.signer, key_region=key.region, base_url=base_url)
        stored = CertificateStore(session).add(cert, signed.text, key.kid, now)
    except NumberInUse as exc:
        raise Conflict(exc.code, exc.message_zh, exc.message_en) from None
    issued = Issued(cert, stored, signed.text, key.kid)
    add_links(session, [cert])  # references for the trace
    publish_to_feed(session, str(cert.number), now, qr_text=signed.text)
    actor, action, obj, details, at = _audit_entry(issued, prepared, audit_action, now)
    AuditLog(session).append(actor, action, obj, details, at)
    return issued


def issue_many(
    session: Session,
    batch: Sequence[tuple[PreparedIssue, datetime]],
    *,
    base_url: str,
) -> list[Issued]:
    """Issue several prepared certificates, each with its own ``now``, in the caller's
    transaction, all or nothing (group commit).

    The numbers of each agency and year come from one counter bump (agencies in a
    fixed order, so that two batches cannot deadlock), the certificates and their
    line items are stored with two statements, and the audit chain is extended once.
    Any failure raises: roll back and issue them one by one (:func:`store_prepared`)
    so that each gets its own answer.
    """
    if not batch:
        return []
    wanting: dict[tuple[str, int], list[int]] = {}
    for i, (prepared, _) in enumerate(batch):
        cert = prepared.draft.certificate
        if not prepared.draft.wants_number:
            raise InputError("NUMBER_GIVEN", "批量签发只分配编号", "a batch only allocates numbers")
        year = cert.issued_at.astimezone(CHINA_TZ).year
        wanting.setdefault((cert.issuing_agency.region, year), []).append(i)
    numbers: dict[int, CertificateNumber] = {}
    latest = max(now for _, now in batch)
    allocated = NumberCounter(session).allocate_many(
        {group: len(members) for group, members in wanting.items()}, latest
    )
    for group, members in wanting.items():
        for i, number in zip(members, allocated[group], strict=True):
            numbers[i] = number
    done: list[tuple[Certificate, str, str]] = []
    for i, (prepared, _) in enumerate(batch):
        cert = replace(prepared.draft.certificate, number=numbers[i], salt=os.urandom(16))
        key = prepared.key
        signed = issuing.issue(cert, key.signer, key_region=key.region, base_url=base_url)
        done.append((cert, signed.text, key.kid))
    try:
        stored = CertificateStore(session).add_many(done, latest)
    except NumberInUse as exc:
        raise Conflict(exc.code, exc.message_zh, exc.message_en) from None
    issued = [
        Issued(cert, row, qr_text, kid)
        for (cert, qr_text, kid), row in zip(done, stored, strict=True)
    ]
    add_links(session, [cert for cert, _, _ in done])  # references for the trace
    publish_certificates(
        session, [(str(cert.number), qr_text) for cert, qr_text, _ in done], latest
    )
    AuditLog(session).append_many(
        [
            _audit_entry(one, prepared, "certificate.issue", now)
            for one, (prepared, now) in zip(issued, batch, strict=True)
        ]
    )
    return issued


def _sign_and_store(
    session: Session,
    draft: issuing.Draft,
    principal: Principal,
    *,
    signer_for: SignerFor,
    base_url: str,
    now: datetime,
    audit_action: str,
    audit_details: dict[str, Any],
) -> Issued:
    prepared = _prepare(
        draft, principal, signer_for=signer_for, now=now, audit_details=audit_details
    )
    return store_prepared(session, prepared, base_url=base_url, now=now, audit_action=audit_action)


def prepare_issue(
    doc: Mapping[str, Any],
    principal: Principal,
    *,
    signer_for: SignerFor,
    regions: RegionTable,
    now: datetime,
) -> PreparedIssue:
    """Everything of :func:`issue` before the database: validate the document (every
    problem), authorise, find the signing key.  Raises as :func:`issue` does."""
    require(principal, Action.ISSUE, principal.region)  # the role at all, before any work
    draft = issuing.check(doc, regions, now=now)
    return _prepare(draft, principal, signer_for=signer_for, now=now, audit_details={})


def issue(
    session: Session,
    doc: Mapping[str, Any],
    principal: Principal,
    *,
    signer_for: SignerFor,
    base_url: str,
    regions: RegionTable,
    now: datetime,
) -> Issued:
    """Validate, number, sign and store one certificate document.

    ``CertificateInvalid`` lists every problem; ``Forbidden`` when the
    principal may not issue for the certificate's issuing region; ``Conflict``
    (``NUMBER_IN_USE``) for a number that was used before.
    """
    prepared = prepare_issue(doc, principal, signer_for=signer_for, regions=regions, now=now)
    return store_prepared(session, prepared, base_url=base_url, now=now)


# --------------------------------------------------------------------------- read


def get(session: Session, number: str, principal: Principal, *, now: datetime) -> CertificateView:
    """One certificate with status and events; ``NotFound`` when unknown."""
    require(principal, Action.READ)
    return view_of(CertificateStore(session).get_with_events(number), number, principal, now=now)


def view_of(
    found: tuple[StoredCertificate, tuple[RecordedEvent, ...]] | None,
    number: str,
    principal: Principal,
    *,
    now: datetime,
) -> CertificateView:
    """:func:`get` from a certificate and its events read elsewhere (``None``: unknown)."""
    require(principal, Action.READ)
    if found is None:
        raise not_found(number)
    stored, events = found
    status = derive_status(
        stored.valid_from, stored.valid_to, [e.status_event for e in events], now
    )
    return CertificateView(stored, status, events)


def search(
    session: Session, principal: Principal, *, now: datetime, **filters: Unpack[SearchFilters]
) -> Page:
    """Search the registry (see ``CertificateStore.search`` for the rules)."""
    require(principal, Action.READ)
    return CertificateStore(session).search(now=now, **filters)


# --------------------------------------------------------------------------- status changes


def _authorize_change(principal: Principal, number: str) -> None:
    """The number names the issuing region: authorise before looking anything up."""
    require(principal, Action.CHANGE_STATUS, _parse_number(number).region)


def _append(
    session: Session,
    number: str,
    event: StatusEvent,
    principal: Principal,
    now: datetime,
    *,
    region: str = "",
    checkpoint: str = "",
    detail: dict[str, Any] | None = None,
) -> RecordedEvent:
    try:
        recorded = EventStore(session).append_exclusive(
            number,
            event,
            principal.actor,
            now,
            region=region or principal.region,
            checkpoint=checkpoint,
            detail=detail,
        )
    except InputError as exc:
        raise _as_conflict(exc) from None
    publish_to_feed(session, number, now, event=recorded)
    return recorded


def revoke(
    session: Session, number: str, reason: str, principal: Principal, *, now: datetime
) -> Changed:
    """Revoke (撤销): final.  ``Conflict`` when already revoked or superseded."""
    _authorize_change(principal, number)
    text = _reason(reason)
    _lock(session, number)
    event = _append(session, number, StatusEvent(EventType.REVOKED, now, text), principal, now)
    _audit(session, principal, "certificate.revoke", number, {"reason": text}, now)
    return Changed(number, _status(session, number, now), event)


def suspend(
    session: Session, number: str, reason: str, principal: Principal, *, now: datetime
) -> Changed:
    """Suspend (暂停) until reinstated.  Only a certificate that is not final or suspended."""
    _authorize_change(principal, number)
    text = _reason(reason)
    _lock(session, number)
    current = _status(session, number, now)
    if current in (
        CertStatus.REVOKED,
        CertStatus.SUPERSEDED,
        CertStatus.CLOSED,
        CertStatus.SUSPENDED,
    ):
        raise _conflict(current, "暂停", "suspended")
    event = _append(session, number, StatusEvent(EventType.SUSPENDED, now, text), principal, now)
    _audit(session, principal, "certificate.suspend", number, {"reason": text}, now)
    return Changed(number, _status(session, number, now), event)


def reinstate(
    session: Session, number: str, reason: str, principal: Principal, *, now: datetime
) -> Changed:
    """Reinstate (恢复) a suspended certificate."""
    _authorize_change(principal, number)
    text = _reason(reason)
    _lock(session, number)
    current = _status(session, number, now)
    if current is not CertStatus.SUSPENDED:
        if current in (CertStatus.REVOKED, CertStatus.SUPERSEDED, CertStatus.CLOSED):
            raise _conflict(current, "恢复", "reinstated")
        raise Conflict(
            "NOT_SUSPENDED",
            "证书未被暂停，无需恢复",
            "the certificate is not suspended",
        )
    event = _append(session, number, StatusEvent(EventType.REINSTATED, now, text), principal, now)
    _audit(session, principal, "certificate.reinstate", number, {"reason": text}, now)
    return Changed(number, _status(session, number, now), event)


def supersede(
    session: Session,
    number: str,
    doc: Mapping[str, Any],
    reason: str,
    principal: Principal,
    *,
    signer_for: SignerFor,
    base_url: str,
    regions: RegionTable,
    now: datetime,
) -> Superseded:
    """Re-issue (换证): a new certificate carrying ``references.original = number``,
    then a SUPERSEDED event on the old one naming the new number, in one transaction.
    """
    _authorize_change(principal, number)
    text = _reason(reason)
    _lock(session, number)
    current = _status(session, number, now)
    if current in (CertStatus.REVOKED, CertStatus.SUPERSEDED, CertStatus.CLOSED):
        raise _conflict(current, "换发", "superseded")
    old = CertificateStore(session).get(number)
    assert old is not None  # locked above
    body = dict(doc)
    refs = body.get("references")
    if refs is None:
        refs = {}
    if not isinstance(refs, Mapping):
        raise CertificateInvalid(
            [Problem("references", "WRONG_TYPE", "应为对象", "must be an object")]
        )
    given = refs.get("original")
    if given not in (None, "", number):
        raise CertificateInvalid(
            [
                Problem(
                    "references.original",
                    "ORIGINAL_MISMATCH",
                    f"换发证书的原证书编号须为 {number}",
                    f"the original of this re-issue is {number}",
                )
            ]
        )
    body["references"] = {**refs, "original": number}
    draft = issuing.check(body, regions, now=now)
    if draft.certificate.kind is not old.kind:
        raise CertificateInvalid(
            [
                Problem(
                    "kind",
                    "KIND_MISMATCH",
                    f"换发证书须与原证书种类相同（{old.kind.value}）",
                    f"a re-issue must be of the original's kind ({old.kind.value})",
                )
            ]
        )
    issued = _sign_and_store(
        session,
        draft,
        principal,
        signer_for=signer_for,
        base_url=base_url,
        now=now,
        audit_action="certificate.issue",
        audit_details={"original": number},
    )
    new_number = str(issued.certificate.number)
    event = _append(
        session,
        number,
        StatusEvent(EventType.SUPERSEDED, now, text, superseded_by=new_number),
        principal,
        now,
    )
    _audit(
        session,
        principal,
        "certificate.supersede",
        number,
        {"reason": text, "superseded_by": new_number},
        now,
    )
    return Superseded(Changed(number, _status(session, number, now), event), issued)


# --------------------------------------------------------------------------- inspections


def record_reinspection(
    session: Session,
    number: str,
    principal: Principal,
    *,
    result: ReinspectionResult,
    notes: str = "",
    region: str = "",
    checkpoint: str = "",
    regions: RegionTable,
    now: datetime,
    arrival: bool = False,
) -> Changed:
    """Record a re-inspection (复检) result against a certificate (inspectors)."""
    require(principal, Action.RECORD_INSPECTION)
    _parse_number(number)
    text = _check_text(notes.strip(), MAX_NOTES, "notes")
    place = _place(region, regions, principal)
    spot = _check_text(checkpoint.strip(), MAX_CHECKPOINT, "checkpoint")
    if result not in ("PASSED", "FAILED"):
        raise CertificateInvalid(
            [Problem("result", "BAD_RESULT", "结果须为 PASSED 或 FAILED", "PASSED or FAILED")]
        )
    detail: dict[str, Any] = {"result": result}
    if arrival:
        detail["arrival"] = True
    if not _exists(session, number):
        raise not_found(number)
    event = EventStore(session).append(
        number,
        StatusEvent(EventType.REINSPECTED, now, text),
        principal.actor,
        now,
        region=place,
        checkpoint=spot,
        detail=detail,
    )
    publish_to_feed(session, number, now, event=event)
    _audit(
        session,
        principal,
        "certificate.arrival" if arrival else "certificate.reinspect",
        number,
        {**detail, "region": place, "checkpoint": spot},
        now,
    )
    return Changed(number, _status(session, number, now), event)


def _exists(session: Session, number: str) -> bool:
    return (
        session.execute(
            select(CertificateRow.id).where(CertificateRow.number == number)
        ).scalar_one_or_none()
        is not None
    )


def record_arrival(
    session: Session,
    number: str,
    principal: Principal,
    *,
    accepted: bool,
    notes: str = "",
    region: str = "",
    checkpoint: str = "",
    regions: RegionTable,
    now: datetime,
) -> Changed:
    """Record an arrival check at the destination (到达查验).

    Accepted: an ARRIVED event closes the transport certificate (only a valid
    transport certificate can be closed, once).  Rejected: the re-inspection
    result is recorded and the status does not change.
    """
    require(principal, Action.RECORD_INSPECTION)
    _parse_number(number)
    if not accepted:
        return record_reinspection(
            session,
            number,
            principal,
            result="FAILED",
            notes=notes,
            region=region,
            checkpoint=checkpoint,
            regions=regions,
            now=now,
            arrival=True,
        )
    text = _check_text(notes.strip(), MAX_NOTES, "notes")
    place = _place(region, regions, principal)
    spot = _check_text(checkpoint.strip(), MAX_CHECKPOINT, "checkpoint")
    _lock(session, number)
    stored = CertificateStore(session).get(number)
    assert stored is not None
    if stored.kind is not Kind.TRANSPORT:
        raise Conflict(
            "NOT_A_TRANSPORT_CERTIFICATE",
            "只有植物检疫证书（调运）可到达核销",
            "only a transport certificate is closed on arrival",
        )
    current = _status(session, number, now)
    if current is not CertStatus.VALID:
        raise _conflict(current, "到达核销", "closed on arrival")
    event = _append(
        session,
        number,
        StatusEvent(EventType.ARRIVED, now, text),
        principal,
        now,
        region=place,
        checkpoint=spot,
        detail={"accepted": True},
    )
    _audit(
        session,
        principal,
        "certificate.arrival",
        number,
        {"accepted": True, "region": place, "checkpoint": spot},
        now,
    )
    return Changed(number, _status(session, number, now), event)


def replaced(view: CertificateView) -> str:
    """The number that superseded this certificate ('' when none)."""
    for event in view.events:
        if event.type is EventType.SUPERSEDED:
            return event.superseded_by
    return ""


__all__ = [
    "CertificateView",
    "Changed",
    "Conflict",
    "Issued",
    "KeyFolderSigners",
    "NotFound",
    "PreparedIssue",
    "SignerFor",
    "SigningKey",
    "Superseded",
    "get",
    "issue",
    "issue_many",
    "not_found",
    "prepare_issue",
    "record_arrival",
    "record_reinspection",
    "reinstate",
    "revoke",
    "search",
    "store_prepared",
    "supersede",
    "suspend",
    "view_of",
]
