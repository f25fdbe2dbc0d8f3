"""Signed, hash-linked feed entries shared between federation nodes (DESIGN §4).

Each node publishes an append-only feed of what it originates.  Entry ``n`` is a
COSE_Sign1 made with a key of the origin region over canonical CBOR::

    {1: origin region, 2: seq (n ≥ 1), 3: SHA-256 of entry n-1's COSE bytes
     (32 zero bytes for n = 1), 4: entry kind, 5: time (Unix milliseconds),
     6: body (a map with text keys)}

with the protected content type :data:`CONTENT_TYPE`, so that no other message
signed by the same key (a certificate, a status list) can pass for an entry.  An
entry's hash is the SHA-256 of its exact COSE bytes, so re-signing an entry (even
with the same content) changes its hash and breaks the link to the next one.

:func:`verify_page` checks a page pulled from a peer against what was accepted
before (the head's sequence number and hash): size limits first, then for each
entry the signature by a trusted key of the origin region valid at the entry's
time, the origin, the sequence and the hash link, and the body's shape.  It
returns the valid prefix and the first error; the caller keeps the prefix and
stops pulling from that peer.

Nothing here does I/O; ``now`` and the trust list are passed in.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any, Final

from quarantine.core import cbor, codec, compress, cose, qrtext
from quarantine.core.inspection_feed import ScanBody, ViolationBody, parse_inspection_body
from quarantine.core.keys import Signer
from quarantine.core.model import NUMBER_RE, Certificate
from quarantine.core.status import EventType
from quarantine.core.trust import TrustedKey, TrustList
from quarantine.errors import InputError

CONTENT_TYPE: Final = "application/vnd.quarantine.feed-entry+cbor"
GENESIS: Final = bytes(32)
#: Most entries a page may hold (a peer serving more is refused).
MAX_PAGE_ENTRIES: Final = 500
#: Largest single entry (COSE bytes).
MAX_ENTRY_BYTES: Final = 16 * 1024
DEFAULT_SKEW: Final = timedelta(minutes=5)
_MAX_TEXT: Final = 2000

_K_ORIGIN, _K_SEQ, _K_PREV, _K_KIND, _K_AT, _K_BODY = 1, 2, 3, 4, 5, 6


class EntryKind(StrEnum):
    CERTIFICATE = "certificate"
    STATUS_EVENT = "status_event"
    OPERATOR = "operator_registration"
    REINSPECTION = "reinspection"
    # Inspection records, bodies in quarantine.core.inspection_feed:
    SCAN = "scan"
    VIOLATION = "violation"


#: Feed error codes with their words (Chinese, English).
FEED_ERRORS: Final = {
    "FEED_PAGE_TOO_LARGE": ("对方节点返回的分页过大", "the peer served a page over the limit"),
    "FEED_ENTRY_TOO_LARGE": ("同步条目过大", "a feed entry is over the size limit"),
    "FEED_MALFORMED": ("同步条目格式无效", "a feed entry is malformed"),
    "FEED_BAD_SIGNATURE": (
        "同步条目签名无效（内容被改动）",
        "a feed entry's signature is bad (altered content)",
    ),
    "FEED_UNKNOWN_KEY": (
        "同步条目的签名密钥不是该地区的可信密钥",
        "a feed entry is not signed by a trusted key of its origin region",
    ),
    "FEED_KEY_OUTSIDE_WINDOW": (
        "同步条目的时间不在签名密钥有效期内",
        "a feed entry's time lies outside its key's window",
    ),
    "FEED_NOT_MEMBER": (
        "同步条目产生时来源地区不是成员",
        "the origin was not a member at the entry's time",
    ),
    "FEED_WRONG_ORIGIN": (
        "同步条目来源地区与对方节点不符",
        "a feed entry's origin is not the peer's region",
    ),
    "FEED_IN_FUTURE": ("同步条目时间晚于当前时间", "a feed entry's time lies in the future"),
    "FEED_GAP": ("同步条目序号不连续（缺失条目）", "the feed skips entries (a gap)"),
    "FEED_FORK": (
        "同步条目与已接收的历史不衔接（分叉）",
        "the feed does not link to the accepted history (a fork)",
    ),
    "FEED_REWRITTEN": (
        "对方节点改写或重新签署了已接收的条目",
        "the peer rewrote or re-signed an entry already accepted",
    ),
    "FEED_BAD_BODY": ("同步条目内容无效", "a feed entry's body is not acceptable"),
}


class FeedError(InputError):
    """A feed entry or page that is not accepted; ``seq`` names the entry (0: the page)."""

    def __init__(self, code: str, detail: str = "", seq: int = 0) -> None:
        zh, en = FEED_ERRORS.get(code, FEED_ERRORS["FEED_MALFORMED"])
        suffix = f" (seq {seq})" if seq else ""
        super().__init__(code, zh + suffix, en + suffix + (f": {detail}" if detail else ""))
        self.seq = seq
        self.detail = detail


# --------------------------------------------------------------------------- entries


@dataclass(frozen=True)
class FeedEntry:
    origin: str
    seq: int
    prev: bytes
    kind: EntryKind
    at: datetime
    body: Mapping[str, Any] = field(default_factory=dict)

    def to_map(self) -> dict[int, Any]:
        return {
            _K_ORIGIN: self.origin,
            _K_SEQ: self.seq,
            _K_PREV: self.prev,
            _K_KIND: self.kind.value,
            _K_AT: _millis(self.at),
            _K_BODY: dict(self.body),
        }


@dataclass(frozen=True)
class SignedEntry:
    entry: FeedEntry
    cose: bytes
    hash: bytes
    kid: bytes


def _millis(at: datetime) -> int:
    if at.tzinfo is None:
        raise ValueError("entry time must be timezone-aware")
    return int(at.timestamp() * 1000)


def entry_hash(blob: bytes) -> bytes:
    return hashlib.sha256(blob).digest()


def sign_entry(entry: FeedEntry, signer: Signer) -> SignedEntry:
    """Sign ``entry``; its body must be plain CBOR data (text keys)."""
    blob = cose.encode_sign1(
        cbor.dumps(entry.to_map()), signer, extra_protected={cose.HEADER_CONTENT_TYPE: CONTENT_TYPE}
    )
    return SignedEntry(entry, blob, entry_hash(blob), signer.kid)


def _parse(payload: bytes, seq_hint: int) -> FeedEntry:
    try:
        m = cbor.strict_loads(payload, max_depth=6, what="feed entry")
    except InputError as exc:
        raise FeedError("FEED_MALFORMED", exc.message_en, seq_hint) from None
    if not isinstance(m, dict) or set(m) != {_K_ORIGIN, _K_SEQ, _K_PREV, _K_KIND, _K_AT, _K_BODY}:
        raise FeedError("FEED_MALFORMED", "wrong fields", seq_hint)
    origin, seq, prev, kind, at, body = (m[k] for k in range(1, 7))
    if not isinstance(origin, str) or not origin.isdigit() or len(origin) != 6:
        raise FeedError("FEED_MALFORMED", "origin", seq_hint)
    if type(seq) is not int or seq < 1 or type(at) is not int or not 0 <= at < 2**45:
        raise FeedError("FEED_MALFORMED", "seq or time", seq_hint)
    if not isinstance(prev, bytes) or len(prev) != 32 or not isinstance(body, dict):
        raise FeedError("FEED_MALFORMED", "prev or body", seq)
    if not all(isinstance(k, str) for k in body):
        raise FeedError("FEED_MALFORMED", "body keys", seq)
    try:
        entry_kind = EntryKind(kind)
    except ValueError:
        raise FeedError("FEED_MALFORMED", "kind", seq) from None
    when = datetime.fromtimestamp(at / 1000, UTC)
    return FeedEntry(origin, seq, prev, entry_kind, when, body)


def open_entry(
    blob: bytes,
    trust: TrustList,
    *,
    now: datetime,
    skew: timedelta = DEFAULT_SKEW,
    peer_region: str = "",
) -> SignedEntry:
    """Verify one entry on its own (origin, signature, key, time, body), not its place in a feed.

    ``peer_region``: the region of the node that served it (its province must be the origin's).
    """
    if len(blob) > MAX_ENTRY_BYTES:
        raise FeedError("FEED_ENTRY_TOO_LARGE", f"{len(blob)} bytes")
    try:
        msg = cose.decode_sign1(blob)
        cose.check_alg(msg)
    except InputError as exc:
        raise FeedError("FEED_MALFORMED", exc.message_en) from None
    if msg.protected.get(cose.HEADER_CONTENT_TYPE) != CONTENT_TYPE:
        raise FeedError("FEED_MALFORMED", "not a feed entry (content type)")
    entry = _parse(msg.payload, 0)
    if peer_region and entry.origin[:2] != peer_region[:2]:
        raise FeedError("FEED_WRONG_ORIGIN", entry.origin, entry.seq)
    kid = msg.kid or b""
    of_origin = [
        k
        for k in trust.keys_for_kid(kid)
        if (m := trust.member(k.region)) is not None and m.covers_region(entry.origin)
    ]
    if not of_origin:
        raise FeedError("FEED_UNKNOWN_KEY", kid.hex(), entry.seq)
    tbs = msg.to_be_signed()
    key: TrustedKey | None = next(
        (k for k in of_origin if k.public.alg == msg.alg and k.public.verify(msg.signature, tbs)),
        None,
    )
    if key is None:
        raise FeedError("FEED_BAD_SIGNATURE", "", entry.seq)
    if not key.covers(entry.at):
        raise FeedError("FEED_KEY_OUTSIDE_WINDOW", entry.at.isoformat(), entry.seq)
    member = trust.member(entry.origin)
    if member is None or not member.is_member_on(entry.at.date()):
        raise FeedError("FEED_NOT_MEMBER", entry.origin, entry.seq)
    if entry.at > now + skew:
        raise FeedError("FEED_IN_FUTURE", entry.at.isoformat(), entry.seq)
    parse_body(entry, trust)  # shape and, for certificates, the certificate's own signature
    return SignedEntry(entry, blob, entry_hash(blob), kid)


# --------------------------------------------------------------------------- pages


@dataclass(frozen=True)
class PageResult:
    accepted: tuple[SignedEntry, ...]
    error: FeedError | None
    #: The entry at the head that was served again and matched (not accepted twice).
    repeated_head: bool = False


def verify_page(
    blobs: Sequence[bytes],
    *,
    trust: TrustList,
    peer_region: str,
    head_seq: int,
    head_hash: bytes,
    now: datetime,
    skew: timedelta = DEFAULT_SKEW,
    max_entries: int = MAX_PAGE_ENTRIES,
    overlap: bool = False,
) -> PageResult:
    """Verify a page of entries that continues the accepted feed of ``peer_region``.

    The page may start with the head entry itself (``seq == head_seq``): it must be
    byte-identical to what was accepted (else ``FEED_REWRITTEN``) and is not
    returned again.  ``overlap``: the page was asked for from the head on, so it
    must start with the head (a peer that no longer serves it rewrote or lost its
    history: ``FEED_REWRITTEN``).  Every other entry must follow the one before it
    by sequence (``FEED_GAP``) and hash (``FEED_FORK``).
    """
    if len(blobs) > max_entries:
        return PageResult((), FeedError("FEED_PAGE_TOO_LARGE", f"{len(blobs)} > {max_entries}"))
    if overlap and head_seq and (not blobs or entry_hash(blobs[0]) != head_hash):
        return PageResult(
            (), FeedError("FEED_REWRITTEN", "the accepted head is not served as accepted", head_seq)
        )
    accepted: list[SignedEntry] = []
    seq, prev = head_seq, head_hash
    repeated = False
    for blob in blobs:
        try:
            if len(blob) > MAX_ENTRY_BYTES:
                raise FeedError("FEED_ENTRY_TOO_LARGE", f"{len(blob)} bytes", seq + 1)
            if head_seq and not accepted and not repeated and entry_hash(blob) == head_hash:
                repeated = True  # the head again, byte for byte: nothing new
                continue
            signed = open_entry(blob, trust, now=now, skew=skew, peer_region=peer_region)
            entry = signed.entry
            if entry.seq <= seq:  # an accepted position served with other bytes
                raise FeedError("FEED_REWRITTEN", f"seq {entry.seq} again", entry.seq)
            if entry.seq != seq + 1:
                raise FeedError("FEED_GAP", f"expected {seq + 1}, got {entry.seq}", entry.seq)
            if entry.prev != prev:
                raise FeedError("FEED_FORK", "previous hash differs", entry.seq)
        except FeedError as exc:
            return PageResult(tuple(accepted), exc, repeated)
        accepted.append(signed)
        seq, prev = entry.seq, signed.hash
    return PageResult(tuple(accepted), None, repeated)


# --------------------------------------------------------------------------- bodies


@dataclass(frozen=True)
class CertificateBody:
    certificate: Certificate
    kid: bytes
    qr: str


@dataclass(frozen=True)
class StatusBody:
    number: str
    type: EventType
    at: datetime
    reason: str = ""
    superseded_by: str = ""


@dataclass(frozen=True)
class ReinspectionBody:
    number: str
    at: datetime
    result: str
    region: str = ""
    checkpoint: str = ""
    notes: str = ""
    arrival: bool = False


@dataclass(frozen=True)
class OperatorBody:
    """An operator's registration (检疫登记) and its standing (joint credit supervision)."""

    registration: str
    name: str
    region: str
    registered_on: date
    barred_from: date | None = None
    barred_until: date | None = None
    reason: str = ""


Body = CertificateBody | StatusBody | ReinspectionBody | OperatorBody | ScanBody | ViolationBody


def _text(body: Mapping[str, Any], key: str, seq: int, *, required: bool = True) -> str:
    value = body.get(key, "")
    if not isinstance(value, str) or len(value) > _MAX_TEXT or (required and not value):
        raise FeedError("FEED_BAD_BODY", key, seq)
    return value


def _number(body: Mapping[str, Any], seq: int) -> str:
    number = _text(body, "number", seq)
    if not NUMBER_RE.match(number):
        raise FeedError("FEED_BAD_BODY", "number", seq)
    return number


def _when(body: Mapping[str, Any], key: str, seq: int) -> datetime:
    try:
        value = datetime.fromisoformat(_text(body, key, seq))
    except ValueError:
        raise FeedError("FEED_BAD_BODY", key, seq) from None
    if value.tzinfo is None:
        raise FeedError("FEED_BAD_BODY", key, seq)
    return value


def _day(body: Mapping[str, Any], key: str, seq: int, *, required: bool = True) -> date | None:
    raw = _text(body, key, seq, required=required)
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise FeedError("FEED_BAD_BODY", key, seq) from None


def open_certificate(qr: str, trust: TrustList, origin: str) -> tuple[Certificate, bytes]:
    """The certificate in a QR text, its signature checked with a key of ``origin``'s province."""
    try:
        msg = cose.decode_sign1(compress.unpack(qrtext.decode(qr).payload))
        cose.check_alg(msg)
        kid = msg.kid or b""
        tbs = msg.to_be_signed()
        if not any(
            k.public.alg == msg.alg
            and k.region[:2] == origin[:2]
            and k.public.verify(msg.signature, tbs)
            for k in trust.keys_for_kid(kid)
        ):
            raise FeedError("FEED_BAD_BODY", "certificate signature")
        cert = codec.decode_content(msg.payload, trust.display_name)
    except FeedError:
        raise
    except InputError as exc:
        raise FeedError("FEED_BAD_BODY", f"certificate: {exc.code}") from None
    if cert.number.region[:2] != origin[:2]:
        raise FeedError("FEED_BAD_BODY", "certificate of another region")
    return cert, kid


def parse_body(entry: FeedEntry, trust: TrustList) -> Body:
    """The typed body of ``entry``; ``FeedError(FEED_BAD_BODY)`` when it is not acceptable."""
    body, seq = entry.body, entry.seq
    if entry.kind in (EntryKind.SCAN, EntryKind.VIOLATION):  # inspection records
        try:
            return parse_inspection_body(entry.kind.value, entry.origin, body)
        except ValueError as exc:
            raise FeedError("FEED_BAD_BODY", str(exc), seq) from None
    if entry.kind is EntryKind.CERTIFICATE:
        qr = _text(body, "qr", seq)
        try:
            cert, kid = open_certificate(qr, trust, entry.origin)
        except FeedError as exc:
            raise FeedError(exc.code, exc.detail, seq) from None
        return CertificateBody(cert, kid, qr)
    if entry.kind is EntryKind.STATUS_EVENT:
        try:
            kind = EventType(_text(body, "type", seq))
        except ValueError:
            raise FeedError("FEED_BAD_BODY", "type", seq) from None
        number = _number(body, seq)
        if number[:2] != entry.origin[:2]:  # only the issuing province changes a status
            raise FeedError("FEED_BAD_BODY", "status of another region's record", seq)
        superseded_by = _text(body, "superseded_by", seq, required=False)
        if superseded_by and not NUMBER_RE.match(superseded_by):
            raise FeedError("FEED_BAD_BODY", "superseded_by", seq)
        return StatusBody(
            number,
            kind,
            _when(body, "at", seq),
            _text(body, "reason", seq, required=False),
            superseded_by,
        )
    if entry.kind is EntryKind.REINSPECTION:
        result = _text(body, "result", seq)
        if result not in ("PASSED", "FAILED"):
            raise FeedError("FEED_BAD_BODY", "result", seq)
        arrival = body.get("arrival", False)
        if not isinstance(arrival, bool):
            raise FeedError("FEED_BAD_BODY", "arrival", seq)
        return ReinspectionBody(
            _number(body, seq),
            _when(body, "at", seq),
            result,
            _text(body, "region", seq, required=False),
            _text(body, "checkpoint", seq, required=False),
            _text(body, "notes", seq, required=False),
            arrival,
        )
    registration = _text(body, "registration", seq)
    region = _text(body, "region", seq)
    if len(registration) > 64 or not (region.isdigit() and len(region) == 6):
        raise FeedError("FEED_BAD_BODY", "registration or region", seq)
    if region[:2] != entry.origin[:2]:
        raise FeedError("FEED_BAD_BODY", "operator of another region", seq)
    registered = _day(body, "registered_on", seq)
    assert registered is not None
    return OperatorBody(
        registration,
        _text(body, "name", seq),
        region,
        registered,
        _day(body, "barred_from", seq, required=False),
        _day(body, "barred_until", seq, required=False),
        _text(body, "reason", seq, required=False),
    )


__all__ = [
    "CONTENT_TYPE",
    "FEED_ERRORS",
    "GENESIS",
    "MAX_ENTRY_BYTES",
    "MAX_PAGE_ENTRIES",
    "Body",
    "CertificateBody",
    "EntryKind",
    "FeedEntry",
    "FeedError",
    "OperatorBody",
    "PageResult",
    "ReinspectionBody",
    "SignedEntry",
    "StatusBody",
    "entry_hash",
    "open_certificate",
    "open_entry",
    "parse_body",
    "sign_entry",
    "verify_page",
]
