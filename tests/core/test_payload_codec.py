"""The compact CBOR codec, QR digits and compression: round trips, tampering, limits."""

from __future__ import annotations

import dataclasses
import zlib
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from quarantine.core import codec, compress, qrtext
from quarantine.core.keys import Signer
from quarantine.core.model import (
    Agency,
    Certificate,
    CertificateNumber,
    Conveyance,
    Kind,
    LineItem,
    Officer,
    Party,
    Project,
    References,
    Route,
    Scope,
)
from quarantine.core.signing import sign_certificate
from quarantine.core.trust import TrustList
from quarantine.core.verify import Verdict, verify_text
from quarantine.core.vocab import SPECIES, UNITS
from quarantine.errors import LimitExceeded
from tests.conftest import cst

INSIDE = cst("2026-12-01T12:00")
CJK = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5)
TEXT = (
    st.text(
        alphabet=st.one_of(CJK, st.characters(min_codepoint=0x20, max_codepoint=0x7E)),
        min_size=1,
        max_size=30,
    )
    .map(str.strip)
    .filter(bool)
)


def roadside(cert: Certificate) -> dict[int, object]:
    return codec.to_payload_map(cert)


def test_reference_round_trip(reference_cert: Certificate) -> None:
    decoded = codec.decode_content(codec.encode_content(reference_cert))
    assert codec.record_matches(decoded, reference_cert)
    assert decoded.consignor is not None and decoded.consignor.name == "杭州萧山绿源苗木专业合作社"
    assert [(i.product, i.specification, i.quantity) for i in decoded.items] == [
        ("香樟", "胸径12-15cm", Decimal(120)),
        ("桂花", "胸径8-10cm", Decimal(80)),
        ("红叶石楠", "高80-100cm", Decimal(3000)),
    ]
    assert decoded.valid_to == date(2026, 12, 5)
    assert decoded.references.requirement_letter == "310000-2026-000031"


def test_agent_id_number_never_in_the_qr(reference_cert: Certificate, zj_signer: Signer) -> None:
    assert reference_cert.agent is not None
    signed = sign_certificate(reference_cert, zj_signer, base_url="http://127.0.0.1:8000")
    content = codec.encode_content(reference_cert)
    for form in (reference_cert.agent.id_number, reference_cert.agent.phone):
        assert form.encode() not in content
        assert form.encode() not in signed.cose
    assert b"\x00" * 0 + reference_cert.agent.id_number[-8:].encode() not in content


def test_full_record_binds_registry_fields(reference_cert: Certificate) -> None:
    decoded = codec.decode_content(codec.encode_content(reference_cert))
    assert reference_cert.consignor is not None
    moved = dataclasses.replace(
        reference_cert, consignor=dataclasses.replace(reference_cert.consignor, address="别处")
    )
    assert not codec.record_matches(decoded, moved)
    other_salt = dataclasses.replace(reference_cert, salt=b"\x02" * 16)
    assert not codec.record_matches(decoded, other_salt)


def test_gb18030_is_used_only_when_shorter() -> None:
    assert codec._text("ABC") == "ABC"
    assert codec._text("上海") == "上海".encode("gb18030")
    assert codec._untext("上海".encode("gb18030"), "x") == "上海"
    with pytest.raises(codec.PayloadContentError):
        codec._untext(b"\xff\xff\xff", "x")


# ------------------------------------------------------------------ properties

items_st = st.lists(
    st.builds(
        LineItem,
        product=st.one_of(st.sampled_from([n for n, _ in SPECIES.values()]), TEXT),
        quantity=st.one_of(
            st.integers(1, 10**9).map(Decimal),
            st.builds(lambda m, e: Decimal(m).scaleb(-e), st.integers(1, 10**6), st.integers(1, 3)),
        ),
        unit=st.one_of(st.sampled_from(list(UNITS.values())), TEXT),
        variety=st.one_of(st.just(""), TEXT),
        specification=st.one_of(
            st.just(""), st.sampled_from(["胸径12-15cm", "高80cm", "地径3-4mm", "冠幅2m"]), TEXT
        ),
    ),
    min_size=1,
    max_size=10,
)


@st.composite
def certificates(draw: st.DrawFn) -> Certificate:
    kind = draw(st.sampled_from(list(Kind)))
    start = date(2026, 1, 1) + timedelta(days=draw(st.integers(0, 700)))
    issued = cst(f"{start.isoformat()}T08:00") + timedelta(seconds=draw(st.integers(0, 36000)))
    region = draw(st.sampled_from(["330109", "310115", "320583", "340104"]))
    party = st.builds(Party, name=TEXT, registration=st.one_of(st.just(""), TEXT))
    return Certificate(
        kind=kind,
        number=CertificateNumber(region, issued.year, draw(st.integers(1, 999_999))),
        issuing_agency=Agency(region),
        officer=Officer(name=draw(st.one_of(st.just(""), TEXT)), number=draw(TEXT)),
        issued_at=issued,
        valid_from=start,
        valid_to=start + timedelta(days=draw(st.integers(0, 400))),
        items=tuple(draw(items_st)),
        statement=draw(TEXT),
        delegating_agency=draw(
            st.one_of(st.none(), st.just(Agency(region[:2] + "0000")), st.just(Agency("310000")))
        ),
        references=References(
            producing_area_pass=draw(st.sampled_from(["", "330109-2026-004512"])),
            certificates=tuple(draw(st.lists(st.just("340104-2026-000077"), max_size=3))),
        ),
        scope=draw(st.one_of(st.none(), st.sampled_from(list(Scope)))),
        consignor=draw(st.one_of(st.none(), party)),
        consignee=draw(st.one_of(st.none(), party)),
        producer=draw(st.one_of(st.none(), party)),
        conveyance=draw(
            st.one_of(
                st.none(), st.builds(Conveyance, st.sampled_from(["汽车", "火车", "马车"]), TEXT)
            )
        ),
        route=draw(st.one_of(st.none(), st.just(Route("330109", "310115", ("320583",))))),
        origin=draw(st.one_of(st.just(""), TEXT)) if kind is Kind.PRODUCING_AREA else "",
        category=draw(st.one_of(st.just(""), TEXT)),
        requirements=draw(st.one_of(st.just(""), TEXT)),
        project=draw(st.one_of(st.none(), st.builds(Project, TEXT, st.just("310115"), TEXT, TEXT))),
        salt=draw(st.binary(min_size=16, max_size=16)),
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(certificates())
def test_codec_round_trip(cert: Certificate) -> None:
    decoded = codec.decode_content(codec.encode_content(cert))
    assert roadside(decoded) == roadside(cert)
    assert decoded.number == cert.number
    assert decoded.issued_at == cert.issued_at
    assert [i.quantity for i in decoded.items] == [i.quantity for i in cert.items]
    assert [i.product for i in decoded.items] == [i.product for i in cert.items]
    assert [i.specification for i in decoded.items] == [i.specification for i in cert.items]
    assert codec.encode_content(decoded) == codec.encode_content(cert)
    assert_built_like_init(decoded)


def assert_built_like_init(decoded: Certificate) -> None:
    """Decoded objects skip ``__init__``: they must still be exactly what it builds."""
    nested = (decoded.issuing_agency, decoded.delegating_agency, decoded.officer, decoded.route)
    parts = (decoded.consignor, decoded.consignee, decoded.producer, decoded.conveyance)
    objects = [decoded, *decoded.items, decoded.references, *nested, *parts, decoded.project]
    for obj in [o for o in objects if o is not None]:
        names = [f.name for f in dataclasses.fields(obj)]
        assert sorted(vars(obj)) == sorted(names)
        rebuilt = type(obj)(**{name: getattr(obj, name) for name in names})
        assert rebuilt == obj
        assert repr(rebuilt) == repr(obj)
        assert hash(rebuilt) == hash(obj)
    with pytest.raises(dataclasses.FrozenInstanceError):
        decoded.statement = "x"  # type: ignore[misc]


def test_reference_decodes_like_init(reference_cert: Certificate) -> None:
    assert_built_like_init(codec.decode_content(codec.encode_content(reference_cert)))


@given(st.integers(1, 255), st.binary(max_size=1700))
def test_digits_round_trip(first: int, rest: bytes) -> None:
    data = bytes([first]) + rest
    digits = qrtext.bytes_to_digits(data)
    assert digits.isdigit()
    assert digits[0] != "0"
    assert qrtext.digits_to_bytes(digits) == data


@given(st.text(alphabet="0123456789", max_size=60))
def test_every_digit_string_decodes_or_is_refused_cleanly(digits: str) -> None:
    try:
        data = qrtext.digits_to_bytes(digits)
    except qrtext.DigitsError:
        assert digits == "" or digits.startswith("0")
        return
    assert qrtext.bytes_to_digits(data) == digits  # one digit string per payload


@given(st.binary(min_size=1, max_size=400), st.booleans())
def test_pack_round_trip(data: bytes, comp: bool) -> None:
    assert compress.unpack(compress.pack(data, compress=comp)) == data


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_any_tampered_payload_byte_is_never_valid(
    reference_cert: Certificate, zj_signer: Signer, trust: TrustList, data: st.DataObject
) -> None:
    signed = sign_certificate(reference_cert, zj_signer, base_url="http://127.0.0.1:8000")
    raw = bytearray(compress.unpack(signed.payload))
    index = data.draw(st.integers(0, len(raw) - 1))
    raw[index] ^= data.draw(st.integers(1, 255))
    text = qrtext.encode("http://127.0.0.1:8000", compress.pack(bytes(raw)))
    report = verify_text(text, trust=trust, now=INSIDE)
    assert report.verdict is Verdict.INVALID


# ------------------------------------------------------------------ limits and formats


def test_digit_strings_that_cannot_be_payloads() -> None:
    for bad in ("", "0", "0123", "12a4", "١٢٣", "1_000", " 12"):
        with pytest.raises(qrtext.DigitsError):
            qrtext.digits_to_bytes(bad)
    with pytest.raises(LimitExceeded) as info:
        qrtext.digits_to_bytes("1" * 4301)
    assert info.value.code == "QR_TEXT_TOO_LONG"
    with pytest.raises(ValueError, match="non-zero"):
        qrtext.bytes_to_digits(b"\x00\x10")


def test_base_url_normalisation() -> None:
    assert qrtext.normalise_base_url("https://verify.example/qz/") == "HTTPS://VERIFY.EXAMPLE/QZ/C/"
    with pytest.raises(ValueError, match="alphanumeric"):
        qrtext.normalise_base_url("https://verify.example/q?z")


def test_lower_case_url_from_a_browser_is_accepted() -> None:
    text = qrtext.encode("http://127.0.0.1:8000", b"\x10abc")
    parsed = qrtext.decode(text.lower())
    assert parsed.payload == b"\x10abc"
    assert parsed.host == "127.0.0.1:8000"


def test_decompression_limits() -> None:
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    bomb = bytes([compress.FORMAT_DEFLATE]) + comp.compress(b"a" * 100_000) + comp.flush()
    with pytest.raises(LimitExceeded) as info:
        compress.unpack(bomb)
    assert info.value.code == "DECOMPRESSED_TOO_LARGE"
    good = compress.pack(b"x" * 300)
    with pytest.raises(compress.PayloadFormatError) as info2:
        compress.unpack(good[:-2])
    assert info2.value.code == "DECOMPRESSION_FAILED"
    with pytest.raises(compress.PayloadFormatError) as info3:
        compress.unpack(good + b"\x00")
    assert info3.value.code in ("TRAILING_BYTES", "DECOMPRESSION_FAILED")
    with pytest.raises(compress.PayloadFormatError):
        compress.unpack(b"\x99abc")
    with pytest.raises(LimitExceeded):
        compress.unpack(b"\x10" + b"x" * 5000)


def test_dictionary_helps_chinese_certificates(
    reference_cert: Certificate, zj_signer: Signer
) -> None:
    signed = sign_certificate(reference_cert, zj_signer, base_url="http://127.0.0.1:8000")
    plain = compress.pack(signed.cose, compress=False)
    assert signed.payload[0] == compress.FORMAT_DEFLATE_DICT1
    assert len(signed.payload) < len(plain)


def _with(m: dict[object, object], **changes: object) -> dict[object, object]:
    out = dict(m)
    for key, value in changes.items():
        out[int(key[1:])] = value
    return out


@pytest.mark.parametrize(
    "mutate",
    [
        lambda m: {**{k: v for k, v in m.items() if k != 1}, True: m[1]},  # bool key for 1
        lambda m: {**m, 22: 0},
        lambda m: {k: v for k, v in m.items() if k != 11},
        lambda m: _with(m, k10={True: m[10][1]}),  # bool key in references
        lambda m: _with(m, k10={1: m[10][1], 5: 1}),
        lambda m: _with(m, k10={4: [0]}),  # a referenced number out of range
        lambda m: _with(m, k8=[[1, 1, 120, [1, 1, True]]]),  # bool inside a specification
        lambda m: _with(m, k8=[[1, 1, 120, [1, 1, 12, 15, 16]]]),
    ],
)
def test_content_maps_of_the_wrong_shape_are_refused(
    reference_cert: Certificate, mutate: Callable[[dict[object, object]], dict[object, object]]
) -> None:
    m: dict[object, object] = dict(codec.to_payload_map(reference_cert).items())
    assert 10 in m
    codec.from_payload_map(m)  # the unchanged map decodes
    with pytest.raises(codec.PayloadContentError):
        codec.from_payload_map(mutate(m))
