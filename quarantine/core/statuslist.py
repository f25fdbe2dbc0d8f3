"""Signed, compressed offline status lists (W3C Bitstring Status List model).

One list per (issuing region, year).  The entry of a certificate is at the index
given by its serial, so a verifier finds it from the number in the QR alone.
Each entry is ``STATUS_BITS = 3`` bits, most significant bit first, entries packed
from the left-most bit of the first byte (the W3C order):

=====  ============================  ==========================
value  meaning                       event synthesised
=====  ============================  ==========================
0      nothing against it            none
1      revoked                       ``EventType.REVOKED``
2      superseded by a re-issue      ``EventType.SUPERSEDED``
3      suspended                     ``EventType.SUSPENDED``
4      closed (the load arrived)     ``EventType.ARRIVED``
5-7    reserved: a list holding one is refused
=====  ============================  ==========================

The bitstring is gzip-compressed (as the W3C spec) and signed as a COSE_Sign1 over
canonical CBOR with small integer keys (see ``docs/status-lists.md``).  Loading is
strict and bounded: size limits are checked before any work, the signature
before the payload is parsed, and decompression never produces more than the
announced length plus one byte.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from quarantine.core import cbor, cose
from quarantine.core.keys import Signer
from quarantine.core.model import CHINA_TZ, CertificateNumber
from quarantine.core.status import EventType, StatusEvent, StatusInfo, status_codes
from quarantine.core.trust import TrustedKey, TrustList
from quarantine.errors import InputError, LimitExceeded

STATUS_BITS: Final = 3
VALUE_NONE: Final = 0
VALUE_REVOKED: Final = 1
VALUE_SUPERSEDED: Final = 2
VALUE_SUSPENDED: Final = 3
VALUE_CLOSED: Final = 4
MAX_VALUE: Final = VALUE_CLOSED

#: Smallest list, in entries (the W3C herd-privacy figure of 131,072).
MIN_LENGTH: Final = 131_072
#: Largest list: one entry for every possible serial 0..999,999 (0 is unused).
MAX_LENGTH: Final = 1_000_000
#: Lengths the builder picks by default: powers of two from ``MIN_LENGTH``,
#: capped at ``MAX_LENGTH``.  A list thus only says into which bucket the
#: region's highest listed serial falls.
STANDARD_LENGTHS: Final = (131_072, 262_144, 524_288, MAX_LENGTH)
#: Largest signed status list accepted, checked before anything is parsed.
MAX_STATUS_LIST_BYTES: Final = 1 << 20
#: COSE content type (protected header 3) that marks a status list, so that no
#: other message signed by the same key can be taken for one.
CONTENT_TYPE: Final = "application/vnd.quarantine.status-list+cbor"
DEFAULT_SKEW: Final = timedelta(minutes=5)
SOURCE_NAME: Final = "status-list"

KEY_REGION: Final = 1
KEY_YEAR: Final = 2
KEY_ISSUED_AT: Final = 3
KEY_VALID_UNTIL: Final = 4
KEY_BITS: Final = 5
KEY_LENGTH: Final = 6
KEY_LIST: Final = 7
_KEYS: Final = frozenset(range(1, 8))
_MAX_EPOCH: Final = 253_402_300_799  # 9999-12-31T23:59:59Z
_GZIP_WBITS: Final = 31  # zlib: gzip wrapper only

_EVENT_OF_VALUE: Final = {
    VALUE_REVOKED: EventType.REVOKED,
    VALUE_SUPERSEDED: EventType.SUPERSEDED,
    VALUE_SUSPENDED: EventType.SUSPENDED,
    VALUE_CLOSED: EventType.ARRIVED,
}
#: When events impose several codes, the one value a list can carry.
_PRECEDENCE: Final = (
    ("REVOKED", VALUE_REVOKED),
    ("SUPERSEDED", VALUE_SUPERSEDED),
    ("SUSPENDED", VALUE_SUSPENDED),
    ("CLOSED", VALUE_CLOSED),
)


class StatusListError(InputError):
    """A status list that cannot be used."""


class StatusListTooLarge(StatusListError, LimitExceeded):
    """A status list over a size limit (checked before the work is done)."""


def _malformed(detail: str) -> StatusListError:
    return StatusListError(
        "STATUS_LIST_MALFORMED", "状态列表格式无效", f"status list is malformed: {detail}"
    )


@dataclass(frozen=True)
class StatusList:
    """A status list, as built by the issuer or loaded (and verified) by a verifier.

    ``bitstring`` is the uncompressed list; ``compressed`` the gzip bytes that are
    (or will be) signed.  Obtain instances from :func:`build_status_list` or
    :func:`load_status_list`, which keep the two consistent.
    """

    region: str
    year: int
    issued_at: datetime
    valid_until: datetime
    length: int
    bitstring: bytes = field(repr=False)
    compressed: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if len(self.bitstring) * 8 != self.length * STATUS_BITS:
            raise ValueError("bitstring does not hold length entries")

    def covers(self, serial: int) -> bool:
        """True when the list has an entry for ``serial``."""
        return 1 <= serial < self.length

    def value(self, serial: int) -> int:
        """The entry for ``serial`` (0 = nothing against it)."""
        if not self.covers(serial):
            raise ValueError(f"serial {serial} is outside the list (length {self.length})")
        return _read(self.bitstring, serial)

    def age(self, now: datetime) -> timedelta:
        return now - self.issued_at

    def stale(self, now: datetime) -> bool:
        return now > self.valid_until


# ------------------------------------------------------------------ bits


def _read(bits: bytes, index: int) -> int:
    offset = index * STATUS_BITS
    pos = offset >> 3
    window = bits[pos] << 8 | (bits[pos + 1] if pos + 1 < len(bits) else 0)
    return (window >> (16 - STATUS_BITS - (offset & 7))) & ((1 << STATUS_BITS) - 1)


def _pack(length: int, entries: Mapping[int, int]) -> bytes:
    out = bytearray(length * STATUS_BITS // 8 + 1)  # one spare byte for the window
    for index, value in entries.items():
        if value:
            offset = index * STATUS_BITS
            window = value << (16 - STATUS_BITS - (offset & 7))
            out[offset >> 3] |= window >> 8
            out[(offset >> 3) + 1] |= window & 0xFF
    return bytes(out[:-1])


def _mask(pattern: int, nbytes: int) -> int:
    """``pattern`` (three bytes = eight entries) repeated over ``nbytes``."""
    return int.from_bytes(pattern.to_bytes(3, "big") * (nbytes // 3), "big")


def _has_reserved_values(bits: bytes) -> bool:
    """True when some entry is 5, 6 or 7 (top bit set with another bit set)."""
    x = int.from_bytes(bits, "big")
    top = _mask(0x924924, len(bits))  # 100 100 100 … : the top bit of every entry
    return bool(x & top & ((x << 1) | (x << 2)))


def _gzip(data: bytes) -> bytes:
    # zlib's gzip wrapper writes MTIME 0 and no name: the same bits give the same bytes.
    comp = zlib.compressobj(9, zlib.DEFLATED, _GZIP_WBITS, 9)
    return comp.compress(data) + comp.flush()


def _gunzip(data: bytes, expected: int) -> bytes:
    """Exactly ``expected`` bytes from one gzip member; never more than one byte over."""
    decomp = zlib.decompressobj(_GZIP_WBITS)
    try:
        out = decomp.decompress(data, expected + 1)
    except zlib.error as exc:
        raise _malformed(f"bitstring does not decompress: {exc}") from exc
    if len(out) > expected or decomp.unconsumed_tail:
        raise StatusListTooLarge(
            "STATUS_LIST_TOO_LARGE",
            "状态列表解压后超过声明的长度",
            f"decompressed status list exceeds the announced {expected} bytes",
        )
    if not decomp.eof:
        raise _malformed("compressed bitstring is truncated")
    if decomp.unused_data:
        raise _malformed("trailing bytes after the compressed bitstring")
    if len(out) != expected:
        raise _malformed(f"bitstring is {len(out)} bytes, the length announces {expected}")
    return out


# ------------------------------------------------------------------ build


def _epoch_floor(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise ValueError("times must be timezone-aware")
    return datetime.fromtimestamp(int(at.timestamp()), UTC)


def default_length(max_serial: int) -> int:
    """The smallest standard length with an entry for ``max_serial``."""
    for length in STANDARD_LENGTHS:
        if max_serial < length:
            return length
    raise ValueError(f"serial {max_serial} is out of range")


def value_for_events(events: Iterable[StatusEvent], at: datetime) -> int:
    """The entry that the events up to ``at`` give (issuer side).

    A list holds one value per certificate; when events impose several codes the
    most severe wins: revoked, superseded, suspended, closed.
    """
    codes = {code for code, _ in status_codes(events, at)}
    for code, value in _PRECEDENCE:
        if code in codes:
            return value
    return VALUE_NONE


def build_status_list(
    region: str,
    year: int,
    entries: Mapping[int, int] | Iterable[tuple[int, int]],
    *,
    issued_at: datetime,
    ttl: timedelta,
    length: int | None = None,
) -> StatusList:
    """A status list of ``region`` for ``year``; ``entries`` maps serial → value.

    ``length`` defaults to the smallest of ``STANDARD_LENGTHS`` that holds every
    serial; an explicit length must be a multiple of 8 in
    ``MIN_LENGTH..MAX_LENGTH``.  ``issued_at`` and ``issued_at + ttl`` are kept to
    the whole second (the signed form holds epoch seconds).
    """
    if len(region) != 6 or not region.isdigit() or region[0] == "0":
        raise ValueError(f"region {region!r} is not a six-digit region code")
    if not 1000 <= year <= 9999:
        raise ValueError(f"year {year} is out of range")
    if ttl <= timedelta(0):
        raise ValueError("ttl must be positive")
    items = entries.items() if isinstance(entries, Mapping) else entries
    table: dict[int, int] = {}
    for serial, value in items:
        if type(serial) is not int or not 1 <= serial < MAX_LENGTH:
            raise ValueError(f"serial {serial!r} is not in 1..{MAX_LENGTH - 1}")
        if type(value) is not int or not 0 <= value <= MAX_VALUE:
            raise ValueError(f"status value {value!r} of serial {serial} is not in 0..{MAX_VALUE}")
        if serial in table:
            raise ValueError(f"serial {serial} is listed twice")
        table[serial] = value
    top = max(table, default=0)
    if length is None:
        length = default_length(top)
    elif not MIN_LENGTH <= length <= MAX_LENGTH or length % 8:
        raise ValueError(f"length must be a multiple of 8 in {MIN_LENGTH}..{MAX_LENGTH}")
    elif top >= length:
        raise ValueError(f"serial {top} does not fit a list of {length} entries")
    start = _epoch_floor(issued_at)
    until = _epoch_floor(issued_at + ttl)
    if until <= start:
        raise ValueError("ttl must be at least one second")
    bits = _pack(length, table)
    return StatusList(region, year, start, until, length, bits, _gzip(bits))


def sign_status_list(lst: StatusList, signer: Signer) -> bytes:
    """The list as a COSE_Sign1 over canonical CBOR (untagged)."""
    payload = cbor.dumps(
        {
            KEY_REGION: int(lst.region),
            KEY_YEAR: lst.year,
            KEY_ISSUED_AT: int(lst.issued_at.timestamp()),
            KEY_VALID_UNTIL: int(lst.valid_until.timestamp()),
            KEY_BITS: STATUS_BITS,
            KEY_LENGTH: lst.length,
            KEY_LIST: lst.compressed,
        }
    )
    return cose.encode_sign1(
        payload, signer, extra_protected={cose.HEADER_CONTENT_TYPE: CONTENT_TYPE}
    )


# ------------------------------------------------------------------ load


def _int_field(body: Mapping[Any, Any], key: int, name: str, low: int, high: int) -> int:
    value = body[key]
    if type(value) is not int or not low <= value <= high:
        raise _malformed(f"{name} must be an integer in {low}..{high}")
    return value


def _signing_keys(msg: cose.Sign1, trust: TrustList) -> list[TrustedKey]:
    kid = msg.kid
    candidates = trust.keys_for_kid(kid) if kid else []
    tbs = msg.to_be_signed()
    # kids are hints and may collide: every key with the kid is tried.
    verified = [
        k for k in candidates if k.public.alg == msg.alg and k.public.verify(msg.signature, tbs)
    ]
    if not verified:
        raise StatusListError(
            "STATUS_LIST_SIGNATURE",
            "状态列表签名无效",
            "status list is not signed by a key on the trust list",
        )
    return verified


def _check_issuer(keys: list[TrustedKey], trust: TrustList, region: str, at: datetime) -> None:
    day = at.astimezone(CHINA_TZ).date()
    members_ok = []
    for key in keys:
        member = trust.member(key.region)
        if member is not None and member.covers_region(region) and member.is_member_on(day):
            members_ok.append(key)
    if not members_ok:
        raise StatusListError(
            "STATUS_LIST_WRONG_ISSUER",
            "状态列表不是由该地区的成员签发",
            f"status list of {region} is not signed by a member covering {region}",
        )
    if not any(key.covers(at) for key in members_ok):
        raise StatusListError(
            "STATUS_LIST_KEY_OUTSIDE_WINDOW",
            "签名密钥在状态列表签发时不在有效期内",
            "the signing key's window does not cover the list's issue time",
        )


def load_status_list(
    blob: bytes, trust: TrustList, now: datetime, *, skew: timedelta = DEFAULT_SKEW
) -> StatusList:
    """Verify a signed status list against ``trust`` and decode it.

    A stale list (``now`` past ``valid_until``) loads: the verifier reports it as
    stale.  A list issued after ``now + skew`` is refused.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if len(blob) > MAX_STATUS_LIST_BYTES:
        raise StatusListTooLarge(
            "STATUS_LIST_TOO_LARGE",
            "状态列表过大",
            f"status list exceeds {MAX_STATUS_LIST_BYTES} bytes",
        )
    try:
        msg = cose.decode_sign1(blob)
    except InputError as exc:
        raise _malformed(exc.code) from exc
    try:
        cose.check_alg(msg)
    except InputError as exc:
        raise StatusListError(
            "STATUS_LIST_SIGNATURE", "状态列表签名无效", f"status list signature: {exc.code}"
        ) from exc
    if msg.protected.get(cose.HEADER_CONTENT_TYPE) != CONTENT_TYPE:
        raise _malformed("content type is not a status list")
    keys = _signing_keys(msg, trust)

    try:
        body = cbor.strict_loads(msg.payload, max_depth=2, what="status list")
    except InputError as exc:
        raise _malformed(exc.code) from exc
    if not isinstance(body, dict) or set(body) != _KEYS:
        raise _malformed("payload must be a map with keys 1..7")
    region = str(_int_field(body, KEY_REGION, "region", 100_000, 999_999))
    year = _int_field(body, KEY_YEAR, "year", 1000, 9999)
    issued_ts = _int_field(body, KEY_ISSUED_AT, "issued_at", 0, _MAX_EPOCH)
    until_ts = _int_field(body, KEY_VALID_UNTIL, "valid_until", 0, _MAX_EPOCH)
    if body[KEY_BITS] != STATUS_BITS or type(body[KEY_BITS]) is not int:
        raise _malformed(f"only {STATUS_BITS}-bit entries are supported")
    length = body[KEY_LENGTH]
    if type(length) is not int or length < 0:
        raise _malformed("length must be a non-negative integer")
    if length > MAX_LENGTH:
        raise StatusListTooLarge(
            "STATUS_LIST_TOO_LARGE",
            "状态列表条目过多",
            f"status list announces {length} entries, over {MAX_LENGTH}",
        )
    if length < MIN_LENGTH or length % 8:
        raise _malformed(f"length must be a multiple of 8 in {MIN_LENGTH}..{MAX_LENGTH}")
    compressed = body[KEY_LIST]
    if not isinstance(compressed, bytes):
        raise _malformed("the compressed bitstring must be bytes")
    if until_ts <= issued_ts:
        raise _malformed("valid_until must be after issued_at")
    issued_at = datetime.fromtimestamp(issued_ts, UTC)
    valid_until = datetime.fromtimestamp(until_ts, UTC)
    if issued_at > now + skew:
        raise StatusListError(
            "STATUS_LIST_IN_FUTURE",
            "状态列表的签发时间晚于当前时间",
            f"status list is issued at {issued_at.isoformat()}, after now",
        )
    _check_issuer(keys, trust, region, issued_at)

    bits = _gunzip(compressed, length * STATUS_BITS // 8)
    if _has_reserved_values(bits):
        raise _malformed("an entry holds a reserved value (5-7)")
    if _read(bits, 0) != VALUE_NONE:
        raise _malformed("entry 0 (no certificate has serial 0) must be 0")
    return StatusList(region, year, issued_at, valid_until, length, bits, compressed)


# ------------------------------------------------------------------ verifier side


class OfflineStatusSource:
    """A :class:`~quarantine.core.status.StatusSource` over loaded status lists.

    An offline list cannot tell whether a certificate exists, so it never answers
    ``known=False`` (UNKNOWN_TO_REGISTRY): a 0 entry means "nothing against it";
    a certificate no list covers is reported as ``stale`` (STATUS_STALE, a
    warning), not as unknown.  Of several lists for one (region, year) the most
    recently issued is used.
    """

    def __init__(self, lists: Iterable[StatusList]) -> None:
        newest: dict[tuple[str, int], StatusList] = {}
        for lst in lists:
            held = newest.get((lst.region, lst.year))
            if held is None or lst.issued_at > held.issued_at:
                newest[(lst.region, lst.year)] = lst
        self._lists: Mapping[tuple[str, int], StatusList] = newest

    def list_for(self, region: str, year: int) -> StatusList | None:
        return self._lists.get((region, year))

    def lookup(self, number: str, now: datetime) -> StatusInfo:
        try:
            parsed = CertificateNumber.parse(number)
        except ValueError:
            return StatusInfo(known=True, stale=True, source=SOURCE_NAME)
        lst = self._lists.get((parsed.region, parsed.year))
        if lst is None:
            return StatusInfo(known=True, events=(), as_of=None, stale=True, source=SOURCE_NAME)
        if not lst.covers(parsed.serial):  # a list built before this serial existed
            return StatusInfo(known=True, as_of=lst.issued_at, stale=True, source=SOURCE_NAME)
        value = lst.value(parsed.serial)
        events: tuple[StatusEvent, ...] = ()
        if value:
            # The list says "by issued_at"; an issue time within the clock skew
            # ahead of now must still count, or status_codes would skip it.
            events = (
                StatusEvent(
                    _EVENT_OF_VALUE[value],
                    at=min(lst.issued_at, now),
                    reason=f"status list {lst.region}/{lst.year} of {lst.issued_at.isoformat()}",
                ),
            )
        return StatusInfo(
            known=True,
            events=events,
            as_of=lst.issued_at,
            stale=lst.stale(now),
            source=SOURCE_NAME,
        )
