"""Offline status lists: format, limits, issuer checks and use by the verifier."""

from __future__ import annotations

import gzip
import random
import zlib
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quarantine.core import cbor, cose
from quarantine.core.keys import ALG_EDDSA, PublicKey, Signer
from quarantine.core.model import Certificate
from quarantine.core.signing import sign_certificate
from quarantine.core.status import EventType, StatusEvent
from quarantine.core.statuslist import (
    CONTENT_TYPE,
    MAX_LENGTH,
    MAX_STATUS_LIST_BYTES,
    MIN_LENGTH,
    STATUS_BITS,
    OfflineStatusSource,
    StatusList,
    StatusListError,
    StatusListTooLarge,
    build_status_list,
    default_length,
    load_status_list,
    sign_status_list,
    value_for_events,
)
from quarantine.core.trust import TrustedKey, TrustList
from quarantine.core.verify import Verdict, verify_text
from quarantine.errors import LimitExceeded
from tests.conftest import cst, make_trust

BASE: Final = "http://127.0.0.1:8000"
ISSUED: Final = cst("2026-12-01T00:00")
NOW: Final = cst("2026-12-01T12:00")
TTL: Final = timedelta(days=1)
REGION: Final = "330109"
# Module-level keys for the Hypothesis test (function-scoped fixtures do not mix with @given).
PROP_SIGNER: Final = Signer.generate(ALG_EDDSA)
PROP_TRUST: Final = make_trust([("330000", PROP_SIGNER, cst("2025-01-01T00:00"), None)])


def build(entries: dict[int, int] | None = None, **kw: Any) -> StatusList:
    kw.setdefault("issued_at", ISSUED)
    kw.setdefault("ttl", TTL)
    return build_status_list(kw.pop("region", REGION), kw.pop("year", 2026), entries or {}, **kw)


def body_of(lst: StatusList, **changes: Any) -> dict[int, Any]:
    body: dict[int, Any] = {
        1: int(lst.region),
        2: lst.year,
        3: int(lst.issued_at.timestamp()),
        4: int(lst.valid_until.timestamp()),
        5: STATUS_BITS,
        6: lst.length,
        7: lst.compressed,
    }
    for key, value in changes.items():
        index = int(key.removeprefix("k"))
        if value is None:
            del body[index]
        else:
            body[index] = value
    return body


def signed(body: dict[int, Any], signer: Signer, ctype: Any = CONTENT_TYPE) -> bytes:
    return cose.encode_sign1(
        cbor.dumps(body), signer, extra_protected={cose.HEADER_CONTENT_TYPE: ctype}
    )


def gz(data: bytes) -> bytes:
    comp = zlib.compressobj(9, zlib.DEFLATED, 31)
    return comp.compress(data) + comp.flush()


# ------------------------------------------------------------------ format


def test_round_trip(zj_signer: Signer, trust: TrustList) -> None:
    entries = {1: 1, 2: 2, 4871: 3, 99_999: 4, 131_071: 1}
    lst = build(entries)
    loaded = load_status_list(sign_status_list(lst, zj_signer), trust, NOW)
    assert loaded == lst
    assert (loaded.region, loaded.year, loaded.length) == (REGION, 2026, MIN_LENGTH)
    assert loaded.issued_at == ISSUED
    assert loaded.valid_until == ISSUED + TTL
    for serial, value in entries.items():
        assert loaded.value(serial) == value
    assert loaded.value(3) == 0
    assert loaded.value(131_070) == 0


def test_bit_order_matches_a_hand_computed_example() -> None:
    # entries 0..7 = 0,1,2,3,4,0,0,1 → 000 001 010 011 100 000 000 001
    #                                 = 00000101 00111000 00000001 = 05 38 01
    lst = build({1: 1, 2: 2, 3: 3, 4: 4, 7: 1})
    assert lst.bitstring[:3] == b"\x05\x38\x01"
    assert not any(lst.bitstring[3:])
    # W3C form: a plain gzip member that any gzip reader opens
    assert gzip.decompress(lst.compressed) == lst.bitstring
    assert lst.compressed[:2] == b"\x1f\x8b"
    # the last entry (index 131071) takes the three low bits of the last byte
    last = build({MIN_LENGTH - 1: 4})
    assert last.bitstring[-1] == 0b100
    assert not any(last.bitstring[:-1])
    # an entry straddling a byte boundary: index 5 covers bits 15..17
    assert build({5: 4}).bitstring[1:3] == bytes([0b00000001, 0b00000000])
    assert build({5: 3}).bitstring[1:3] == bytes([0b00000000, 0b11000000])


def test_compression_is_deterministic() -> None:
    assert build({17: 1}).compressed == build({17: 1}).compressed


@pytest.mark.parametrize(
    ("top", "length"),
    [
        (0, 131_072),
        (1, 131_072),
        (131_071, 131_072),
        (131_072, 262_144),
        (262_143, 262_144),
        (262_144, 524_288),
        (524_288, 1_000_000),
        (999_999, 1_000_000),
    ],
)
def test_minimum_and_standard_lengths(top: int, length: int) -> None:
    assert default_length(top) == length
    entries = {top: 1} if top else {}
    assert build(entries).length == length
    assert len(build(entries).bitstring) == length * 3 // 8


def test_explicit_length_rules() -> None:
    assert build(length=MIN_LENGTH + 8).length == MIN_LENGTH + 8
    for bad in (MIN_LENGTH - 8, MIN_LENGTH + 4, MAX_LENGTH + 8):
        with pytest.raises(ValueError, match="length"):
            build(length=bad)
    with pytest.raises(ValueError, match="does not fit"):
        build({200_000: 1}, length=MIN_LENGTH)


@pytest.mark.parametrize(
    ("entries", "match"),
    [
        ({0: 1}, "serial"),
        ({1_000_000: 1}, "serial"),
        ({5: 5}, "value"),
        ({5: -1}, "value"),
    ],
)
def test_build_refuses_bad_entries(entries: dict[int, int], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        build(entries)


def test_build_accepts_pairs_and_refuses_duplicates() -> None:
    lst = build_status_list(REGION, 2026, [(9, 2), (10, 0)], issued_at=ISSUED, ttl=TTL)
    assert lst.value(9) == 2
    with pytest.raises(ValueError, match="twice"):
        build_status_list(REGION, 2026, [(9, 2), (9, 1)], issued_at=ISSUED, ttl=TTL)


@pytest.mark.parametrize(
    ("region", "year", "ttl", "issued_at"),
    [
        ("33010", 2026, TTL, ISSUED),
        ("033010", 2026, TTL, ISSUED),
        (REGION, 999, TTL, ISSUED),
        (REGION, 2026, timedelta(0), ISSUED),
        (REGION, 2026, timedelta(milliseconds=10), ISSUED),
        (REGION, 2026, TTL, datetime(2026, 12, 1)),  # naive
    ],
)
def test_build_refuses_bad_arguments(
    region: str, year: int, ttl: timedelta, issued_at: datetime
) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - several messages
        build_status_list(region, year, {}, issued_at=issued_at, ttl=ttl)


@pytest.mark.parametrize("length", [MIN_LENGTH, MAX_LENGTH])
@pytest.mark.parametrize("value", [1, 2, 3, 4])
def test_values_at_first_and_last_index(
    zj_signer: Signer, trust: TrustList, length: int, value: int
) -> None:
    lst = build({1: value, length - 1: value}, length=length)
    loaded = load_status_list(sign_status_list(lst, zj_signer), trust, NOW)
    assert loaded.value(1) == value
    assert loaded.value(length - 1) == value
    assert loaded.value(2) == 0
    assert loaded.value(length - 2) == 0
    assert not loaded.covers(0)
    assert not loaded.covers(length)
    with pytest.raises(ValueError, match="outside"):
        loaded.value(length)


def test_age_and_stale() -> None:
    lst = build()
    assert lst.age(NOW) == timedelta(hours=12)
    assert not lst.stale(ISSUED + TTL)  # valid_until itself is still fresh
    assert lst.stale(ISSUED + TTL + timedelta(seconds=1))


def test_sub_second_times_are_floored() -> None:
    lst = build(issued_at=ISSUED + timedelta(microseconds=700_000))
    assert lst.issued_at == ISSUED
    assert lst.issued_at.tzinfo is UTC


def test_value_for_events_precedence() -> None:
    at = cst("2026-11-30T10:00")

    def ev(kind: EventType) -> StatusEvent:
        return StatusEvent(kind, at)

    assert value_for_events([], NOW) == 0
    assert value_for_events([ev(EventType.ARRIVED)], NOW) == 4
    assert value_for_events([ev(EventType.SUSPENDED), ev(EventType.ARRIVED)], NOW) == 3
    assert value_for_events([ev(EventType.SUPERSEDED), ev(EventType.SUSPENDED)], NOW) == 2
    assert value_for_events([ev(EventType.SUPERSEDED), ev(EventType.REVOKED)], NOW) == 1
    reinstated = [ev(EventType.SUSPENDED), StatusEvent(EventType.REINSTATED, NOW)]
    assert value_for_events(reinstated, NOW) == 0
    assert value_for_events([StatusEvent(EventType.REVOKED, NOW)], at) == 0  # not yet


# ------------------------------------------------------------------ signature and issuer


def test_wrong_regions_key_is_refused(ah_signer: Signer, trust: TrustList) -> None:
    blob = sign_status_list(build(), ah_signer)  # Anhui key, Zhejiang list
    with pytest.raises(StatusListError) as exc:
        load_status_list(blob, trust, NOW)
    assert exc.value.code == "STATUS_LIST_WRONG_ISSUER"


def test_issuer_must_be_a_member_on_the_issue_day(zj_signer: Signer) -> None:
    trust = make_trust(
        [("330000", zj_signer, cst("2025-01-01T00:00"), None)],
        left=cst("2026-06-30T00:00").date(),
    )
    with pytest.raises(StatusListError) as exc:
        load_status_list(sign_status_list(build(), zj_signer), trust, NOW)
    assert exc.value.code == "STATUS_LIST_WRONG_ISSUER"


@pytest.mark.parametrize(
    ("not_before", "not_after"),
    [
        (cst("2026-12-01T00:00:01"), None),  # key starts a second after the list
        (cst("2025-01-01T00:00"), cst("2026-11-30T23:59:59")),  # key ended before it
    ],
)
def test_key_outside_its_window(
    zj_signer: Signer, not_before: datetime, not_after: datetime | None
) -> None:
    trust = make_trust([("330000", zj_signer, not_before, not_after)])
    with pytest.raises(StatusListError) as exc:
        load_status_list(sign_status_list(build(), zj_signer), trust, NOW)
    assert exc.value.code == "STATUS_LIST_KEY_OUTSIDE_WINDOW"


def test_key_window_edges_are_inclusive(zj_signer: Signer) -> None:
    trust = make_trust([("330000", zj_signer, ISSUED, ISSUED)])
    assert load_status_list(sign_status_list(build(), zj_signer), trust, NOW).region == REGION


def test_tampered_bitstring_fails_the_signature(zj_signer: Signer, trust: TrustList) -> None:
    lst = build({4871: 1})
    blob = sign_status_list(lst, zj_signer)
    protected, unprotected, payload, signature = cbor.strict_loads(blob)
    body = cbor.strict_loads(payload)
    body[7] = gz(build().bitstring)  # a clean list under the old signature
    forged = cbor.dumps([protected, unprotected, cbor.dumps(body), signature])
    with pytest.raises(StatusListError) as exc:
        load_status_list(forged, trust, NOW)
    assert exc.value.code == "STATUS_LIST_SIGNATURE"
    # one flipped bit inside the compressed bytes of the original blob
    start = blob.index(lst.compressed)
    flipped = bytearray(blob)
    flipped[start + len(lst.compressed) // 2] ^= 0x01
    with pytest.raises(StatusListError) as exc:
        load_status_list(bytes(flipped), trust, NOW)
    assert exc.value.code == "STATUS_LIST_SIGNATURE"


def test_unknown_key_is_a_signature_failure(trust: TrustList) -> None:
    with pytest.raises(StatusListError) as exc:
        load_status_list(sign_status_list(build(), Signer.generate()), trust, NOW)
    assert exc.value.code == "STATUS_LIST_SIGNATURE"


def test_every_key_with_the_kid_is_tried(zj_signer: Signer) -> None:
    impostor = Signer.generate().public
    colliding = PublicKey(
        key=impostor.key, spki_der=impostor.spki_der, alg=impostor.alg, kid=zj_signer.kid
    )
    base = make_trust([("330000", zj_signer, cst("2025-01-01T00:00"), None)])
    keys = (TrustedKey("330000", colliding, cst("2025-01-01T00:00")), *base.keys)
    trust = TrustList(base.version, base.issued_at, base.expires_at, base.members, keys)
    assert len(trust.keys_for_kid(zj_signer.kid)) == 2
    loaded = load_status_list(sign_status_list(build({3: 1}), zj_signer), trust, NOW)
    assert loaded.value(3) == 1


def test_wrong_content_type_is_refused(zj_signer: Signer, trust: TrustList) -> None:
    lst = build()
    for blob in (
        signed(body_of(lst), zj_signer, ctype="application/cbor"),
        cose.encode_sign1(cbor.dumps(body_of(lst)), zj_signer),
    ):
        with pytest.raises(StatusListError) as exc:
            load_status_list(blob, trust, NOW)
        assert exc.value.code == "STATUS_LIST_MALFORMED"


def test_not_cose_is_malformed(trust: TrustList) -> None:
    with pytest.raises(StatusListError) as exc:
        load_status_list(b"\x01\x02", trust, NOW)
    assert exc.value.code == "STATUS_LIST_MALFORMED"


def test_list_from_the_future_is_refused(zj_signer: Signer, trust: TrustList) -> None:
    blob = sign_status_list(build(issued_at=NOW + timedelta(minutes=6)), zj_signer)
    with pytest.raises(StatusListError) as exc:
        load_status_list(blob, trust, NOW)
    assert exc.value.code == "STATUS_LIST_IN_FUTURE"
    # within the skew it loads
    blob = sign_status_list(build(issued_at=NOW + timedelta(minutes=4)), zj_signer)
    assert load_status_list(blob, trust, NOW).issued_at > NOW


@pytest.mark.parametrize(
    "changes",
    [
        {"k8": 1},  # unknown key
        {"k6": None},  # missing key
        {"k1": "330109"},  # region as text
        {"k1": 33010},  # region of five digits
        {"k2": True},  # bool is not an int
        {"k3": -1},
        {"k4": 1_764_518_400},  # valid_until before issued_at
        {"k5": 1},  # 1-bit entries are not this format
        {"k5": 3.0},
        {"k6": MIN_LENGTH - 8},  # below the minimum
        {"k6": MIN_LENGTH + 4},  # entries do not fill whole bytes
        {"k6": -8},
        {"k7": "H4sI"},  # text, not bytes
    ],
)
def test_malformed_payloads(zj_signer: Signer, trust: TrustList, changes: dict[str, Any]) -> None:
    with pytest.raises(StatusListError) as exc:
        load_status_list(signed(body_of(build(), **changes), zj_signer), trust, NOW)
    assert exc.value.code == "STATUS_LIST_MALFORMED"


def test_payload_must_be_a_map(zj_signer: Signer, trust: TrustList) -> None:
    blob = cose.encode_sign1(
        cbor.dumps([1, 2]), zj_signer, extra_protected={cose.HEADER_CONTENT_TYPE: CONTENT_TYPE}
    )
    with pytest.raises(StatusListError) as exc:
        load_status_list(blob, trust, NOW)
    assert exc.value.code == "STATUS_LIST_MALFORMED"


def test_reserved_values_are_refused(zj_signer: Signer, trust: TrustList) -> None:
    for value in (5, 6, 7):
        bits = bytearray(MIN_LENGTH * 3 // 8)
        offset = 4871 * 3  # bits 14613..14615: byte 1826, bit positions 5..7
        bits[offset // 8] |= value
        assert offset % 8 == 5
        body = body_of(build(), k7=gz(bytes(bits)))
        with pytest.raises(StatusListError) as exc:
            load_status_list(signed(body, zj_signer), trust, NOW)
        assert exc.value.code == "STATUS_LIST_MALFORMED"
    # index 0 (no certificate has serial 0) must hold nothing
    bits = bytearray(MIN_LENGTH * 3 // 8)
    bits[0] = 0b00100000
    with pytest.raises(StatusListError) as exc:
        load_status_list(signed(body_of(build(), k7=gz(bytes(bits))), zj_signer), trust, NOW)
    assert exc.value.code == "STATUS_LIST_MALFORMED"


# ------------------------------------------------------------------ bounded decompression


class _Recording:
    """Wraps zlib.decompressobj and records every output length it produced."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.outputs: list[int] = []
        self.calls = 0
        real = zlib.decompressobj
        outer = self

        class Proxy:
            def __init__(self, wbits: int) -> None:
                self._d = real(wbits)

            def decompress(self, data: bytes, max_length: int = 0) -> bytes:
                out = self._d.decompress(data, max_length)
                outer.outputs.append(len(out))
                return out

            def __getattr__(self, name: str) -> Any:
                return getattr(self._d, name)

        def factory(wbits: int) -> Proxy:
            outer.calls += 1
            return Proxy(wbits)

        monkeypatch.setattr(zlib, "decompressobj", factory)  # the module statuslist uses


@pytest.fixture
def recording(monkeypatch: pytest.MonkeyPatch) -> _Recording:
    return _Recording(monkeypatch)


def test_decompression_bomb_is_bounded(
    zj_signer: Signer, trust: TrustList, recording: _Recording
) -> None:
    bomb = gz(bytes(64 << 20))  # 64 MiB of zeros in ~64 KiB
    assert len(bomb) < 100_000
    blob = signed(body_of(build(), k7=bomb), zj_signer)
    with pytest.raises(StatusListTooLarge) as exc:
        load_status_list(blob, trust, NOW)
    assert exc.value.code == "STATUS_LIST_TOO_LARGE"
    assert isinstance(exc.value, LimitExceeded)
    expected = MIN_LENGTH * 3 // 8
    assert recording.outputs
    assert max(recording.outputs) <= expected + 1


def test_one_byte_too_many_is_too_large(zj_signer: Signer, trust: TrustList) -> None:
    body = body_of(build(), k7=gz(bytes(MIN_LENGTH * 3 // 8 + 1)))
    with pytest.raises(StatusListTooLarge):
        load_status_list(signed(body, zj_signer), trust, NOW)


@pytest.mark.parametrize(
    "compressed",
    [
        gz(bytes(MIN_LENGTH * 3 // 8 - 1)),  # one byte short
        gz(bytes(MIN_LENGTH * 3 // 8 // 2)),  # the bitstring of a shorter list
        gz(bytes(MIN_LENGTH * 3 // 8))[:-6],  # truncated gzip trailer
        gz(bytes(MIN_LENGTH * 3 // 8)) + b"\x00",  # trailing byte
        gz(bytes(MIN_LENGTH * 3 // 8)) + gz(b""),  # a second gzip member
        zlib.compress(bytes(MIN_LENGTH * 3 // 8)),  # zlib, not gzip
        b"not compressed",
        b"",
    ],
)
def test_wrong_decompressed_length_or_container(
    zj_signer: Signer, trust: TrustList, compressed: bytes
) -> None:
    blob = signed(body_of(build(), k7=compressed), zj_signer)
    with pytest.raises(StatusListError) as exc:
        load_status_list(blob, trust, NOW)
    assert exc.value.code == "STATUS_LIST_MALFORMED"


def test_blob_over_the_limit_is_refused_before_parsing(
    trust: TrustList, recording: _Recording
) -> None:
    with pytest.raises(StatusListTooLarge) as exc:
        load_status_list(b"\xff" * (MAX_STATUS_LIST_BYTES + 1), trust, NOW)
    assert exc.value.code == "STATUS_LIST_TOO_LARGE"  # not MALFORMED: nothing was parsed
    assert recording.calls == 0


def test_announced_length_over_the_limit_is_refused_before_decompressing(
    zj_signer: Signer, trust: TrustList, recording: _Recording
) -> None:
    blob = signed(body_of(build(), k6=MAX_LENGTH + 8), zj_signer)
    with pytest.raises(StatusListTooLarge) as exc:
        load_status_list(blob, trust, NOW)
    assert exc.value.code == "STATUS_LIST_TOO_LARGE"
    assert recording.calls == 0


def test_largest_list_fits_the_blob_limit(zj_signer: Signer, trust: TrustList) -> None:
    # worst case: incompressible entries over the whole serial space
    rng = random.Random(7)
    entries = {s: rng.randrange(5) for s in range(1, MAX_LENGTH)}
    lst = build(entries)
    blob = sign_status_list(lst, zj_signer)
    assert len(blob) < MAX_STATUS_LIST_BYTES
    assert load_status_list(blob, trust, NOW).value(999_999) == entries[999_999]


def test_size_of_a_full_list_with_one_percent_revoked() -> None:
    """The figure in docs/status-lists.md (seeded: 16,866 bytes with zlib 1.x)."""
    rng = random.Random(20261201)
    revoked = rng.sample(range(1, MAX_LENGTH), MAX_LENGTH // 100)
    lst = build(dict.fromkeys(revoked, 1))
    assert lst.length == MAX_LENGTH
    assert len(lst.bitstring) == 375_000
    assert 12_000 < len(lst.compressed) < 20_000
    assert len(build().compressed) < 128  # an empty minimum list


# ------------------------------------------------------------------ property


@settings(max_examples=40, deadline=None)
@given(
    entries=st.dictionaries(
        st.integers(min_value=1, max_value=MAX_LENGTH - 1),
        st.integers(min_value=0, max_value=4),
        max_size=200,
    ),
    probe=st.integers(min_value=1, max_value=MAX_LENGTH - 1),
)
def test_build_and_load_return_the_same_values(entries: dict[int, int], probe: int) -> None:
    lst = build(entries)
    loaded = load_status_list(sign_status_list(lst, PROP_SIGNER), PROP_TRUST, NOW)
    for serial, value in entries.items():
        assert loaded.value(serial) == value
    if loaded.covers(probe):
        assert loaded.value(probe) == entries.get(probe, 0)
    assert loaded.length == default_length(max(entries, default=0))


# ------------------------------------------------------------------ the verifier


def _text(cert: Certificate, signer: Signer) -> str:
    return sign_certificate(cert, signer, base_url=BASE).text


def _source(entries: dict[int, int], signer: Signer, trust: TrustList) -> OfflineStatusSource:
    blob = sign_status_list(build(entries), signer)
    return OfflineStatusSource([load_status_list(blob, trust, NOW)])


@pytest.mark.parametrize(
    ("value", "code"),
    [(1, "REVOKED"), (2, "SUPERSEDED"), (3, "SUSPENDED"), (4, "CLOSED")],
)
def test_verifier_reports_the_listed_status(
    reference_cert: Certificate, zj_signer: Signer, trust: TrustList, value: int, code: str
) -> None:
    serial = reference_cert.number.serial
    source = _source({serial: value, serial + 1: 1}, zj_signer, trust)
    report = verify_text(_text(reference_cert, zj_signer), trust=trust, now=NOW, status=source)
    assert report.verdict is Verdict.INVALID
    assert tuple(r.code for r in report.errors) == (code,)
    assert "STATUS_STALE" not in report.codes
    assert report.status_source == "status-list"
    assert report.status_as_of == ISSUED


def test_verifier_with_a_clean_entry_is_valid(
    reference_cert: Certificate, zj_signer: Signer, trust: TrustList
) -> None:
    source = _source({reference_cert.number.serial + 1: 1}, zj_signer, trust)
    report = verify_text(_text(reference_cert, zj_signer), trust=trust, now=NOW, status=source)
    assert report.verdict is Verdict.VALID
    assert report.codes == ()
    assert report.to_dict()["status"] == {
        "source": "status-list",
        "as_of": "2026-11-30T16:00:00+00:00",  # epoch seconds come back in UTC
    }


def test_verifier_reports_a_stale_list(
    reference_cert: Certificate, zj_signer: Signer, trust: TrustList
) -> None:
    later = ISSUED + TTL + timedelta(seconds=1)
    source = _source({}, zj_signer, trust)
    report = verify_text(_text(reference_cert, zj_signer), trust=trust, now=later, status=source)
    assert report.codes == ("STATUS_STALE",)
    assert report.verdict is Verdict.VALID  # a warning
    # a stale list still reports what it knows
    source = _source({reference_cert.number.serial: 1}, zj_signer, trust)
    report = verify_text(_text(reference_cert, zj_signer), trust=trust, now=later, status=source)
    assert report.codes == ("REVOKED", "STATUS_STALE")


def test_no_list_for_the_region_or_year_is_stale_not_unknown(
    reference_cert: Certificate, zj_signer: Signer, trust: TrustList
) -> None:
    text = _text(reference_cert, zj_signer)
    for source in (
        OfflineStatusSource([]),
        _source_for(zj_signer, trust, region="330000"),
        _source_for(zj_signer, trust, year=2025),
    ):
        report = verify_text(text, trust=trust, now=NOW, status=source)
        assert report.codes == ("STATUS_STALE",)
        assert "UNKNOWN_TO_REGISTRY" not in report.codes
        assert report.status_source == "status-list"


def _source_for(signer: Signer, trust: TrustList, **kw: Any) -> OfflineStatusSource:
    lst = load_status_list(sign_status_list(build({1: 1}, **kw), signer), trust, NOW)
    return OfflineStatusSource([lst])


def test_lookup_details(zj_signer: Signer, trust: TrustList) -> None:
    old = build({7: 1}, issued_at=ISSUED - timedelta(days=1))
    new = build({8: 3}, issued_at=ISSUED, length=MIN_LENGTH + 8)
    source = OfflineStatusSource([new, old])
    assert source.list_for(REGION, 2026) is new
    info = source.lookup(f"{REGION}-2026-000008", NOW)
    assert info.known and not info.stale and info.as_of == ISSUED
    assert [e.type for e in info.events] == [EventType.SUSPENDED]
    assert source.lookup(f"{REGION}-2026-000007", NOW).events == ()  # the newer list wins
    # a serial past the end of the list: nothing known, reported as stale
    beyond = source.lookup(f"{REGION}-2026-{MIN_LENGTH + 8:06d}", NOW)
    assert beyond.known and beyond.stale and beyond.events == () and beyond.as_of == ISSUED
    # a malformed number cannot be looked up
    assert source.lookup("nonsense", NOW).stale
    # a list issued within the skew ahead of now still counts its events now
    ahead = OfflineStatusSource([build({8: 1}, issued_at=NOW + timedelta(minutes=2))])
    (event,) = ahead.lookup(f"{REGION}-2026-000008", NOW).events
    assert event.type is EventType.REVOKED
    assert event.at == NOW
