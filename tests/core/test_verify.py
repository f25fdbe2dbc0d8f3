"""Offline verification: verdicts, reason codes and every boundary."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, timedelta

import pytest

from quarantine.core import cbor, compress, cose, qrtext
from quarantine.core.keys import Signer
from quarantine.core.model import Certificate, CertificateNumber
from quarantine.core.signing import sign_certificate
from quarantine.core.status import EventType, StatusEvent, StatusInfo
from quarantine.core.trust import TrustedKey, TrustList
from quarantine.core.verify import Opened, Verdict, conclude, open_text, verify_text
from tests.conftest import MakeCert, cst, make_trust

BASE = "http://127.0.0.1:8000"
SKEW = timedelta(minutes=5)
INSIDE = cst("2026-12-01T12:00")


def text_of(cert: Certificate, signer: Signer, base: str = BASE) -> str:
    return sign_certificate(cert, signer, base_url=base).text


def test_reference_certificate_is_valid(
    reference_cert: Certificate, zj_signer: Signer, trust: TrustList
) -> None:
    report = verify_text(text_of(reference_cert, zj_signer), trust=trust, now=INSIDE)
    assert report.verdict is Verdict.VALID
    assert report.codes == ("STATUS_UNCHECKED",)
    assert report.certificate is not None
    assert report.certificate.number == reference_cert.number
    assert report.issuer_name == "agency 330109"
    assert report.certificate.delegating_agency is not None
    assert report.certificate.delegating_agency.name == "agency 330000"
    assert report.kid == zj_signer.kid.hex()
    assert report.alg == "EdDSA"
    assert report.host_known is True


def test_es256_certificate_is_valid(
    make_cert: MakeCert, ah_signer: Signer, trust: TrustList
) -> None:
    cert = make_cert(number=CertificateNumber("340104", 2026, 77))
    cert = dataclasses.replace(
        cert, issuing_agency=dataclasses.replace(cert.issuing_agency, region="340104")
    )
    report = verify_text(text_of(cert, ah_signer), trust=trust, now=INSIDE)
    assert report.verdict is Verdict.VALID, report.codes
    assert report.alg == "ES256"


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (cst("2026-11-28T00:00") - SKEW, Verdict.VALID),  # exactly at start minus skew
        (cst("2026-11-28T00:00") - SKEW - timedelta(seconds=1), Verdict.INVALID),
        (
            cst("2026-12-06T00:00") + SKEW - timedelta(seconds=1),
            Verdict.VALID,
        ),  # last second of valid_to + skew
        (cst("2026-12-06T00:00") + SKEW, Verdict.INVALID),
    ],
)
def test_validity_window_with_skew_on_both_sides(
    make_cert: MakeCert, zj_signer: Signer, trust: TrustList, now: datetime, expected: Verdict
) -> None:
    cert = make_cert(
        issued_at=cst("2026-11-27T09:30"), valid_from=date(2026, 11, 28), valid_to=date(2026, 12, 5)
    )
    report = verify_text(text_of(cert, zj_signer), trust=trust, now=now, skew=SKEW)
    assert report.verdict is expected, report.codes
    if expected is Verdict.INVALID:
        assert report.codes[0] in ("NOT_YET_VALID", "EXPIRED")


def test_not_yet_valid_and_expired_codes(
    make_cert: MakeCert, zj_signer: Signer, trust: TrustList
) -> None:
    cert = make_cert(
        issued_at=cst("2026-11-27T09:30"), valid_from=date(2026, 11, 28), valid_to=date(2026, 12, 5)
    )
    text = text_of(cert, zj_signer)
    assert "NOT_YET_VALID" in verify_text(text, trust=trust, now=cst("2026-11-27T12:00")).codes
    assert "EXPIRED" in verify_text(text, trust=trust, now=cst("2026-12-07T00:00")).codes


def test_issued_in_future(make_cert: MakeCert, zj_signer: Signer, trust: TrustList) -> None:
    cert = make_cert(issued_at=cst("2026-11-28T12:00"))
    report = verify_text(text_of(cert, zj_signer), trust=trust, now=cst("2026-11-28T11:00"))
    assert "ISSUED_IN_FUTURE" in report.codes
    assert report.verdict is Verdict.INVALID


def test_unknown_key(reference_cert: Certificate, trust: TrustList) -> None:
    report = verify_text(text_of(reference_cert, Signer.generate()), trust=trust, now=INSIDE)
    assert report.verdict is Verdict.INVALID
    assert report.codes == ("UNKNOWN_KEY",)


def _forge_quantity(text: str) -> str:
    parsed = qrtext.decode(text)
    msg = cose.decode_sign1(compress.unpack(parsed.payload))
    content = cbor.strict_loads(msg.payload)
    content[8][0][2] += 1
    forged = cbor.dumps([msg.protected_bytes, msg.unprotected, cbor.dumps(content), msg.signature])
    return qrtext.encode(BASE, compress.pack(forged))


def test_altered_quantity_fails_signature(
    reference_cert: Certificate, zj_signer: Signer, trust: TrustList
) -> None:
    report = verify_text(
        _forge_quantity(text_of(reference_cert, zj_signer)), trust=trust, now=INSIDE
    )
    assert report.verdict is Verdict.INVALID
    assert report.codes == ("BAD_SIGNATURE",)


def test_every_key_with_a_colliding_kid_is_tried(
    reference_cert: Certificate, zj_signer: Signer
) -> None:
    impostor = Signer.generate()
    fake = dataclasses.replace(impostor.public, kid=zj_signer.kid)  # same kid, other key
    for order in ([fake, zj_signer.public], [zj_signer.public, fake]):
        keys = tuple(TrustedKey("330000", k, cst("2025-01-01T00:00")) for k in order)
        trust = dataclasses.replace(make_trust([]), keys=keys)
        report = verify_text(text_of(reference_cert, zj_signer), trust=trust, now=INSIDE)
        assert report.verdict is Verdict.VALID, report.codes


def test_key_outside_its_window(reference_cert: Certificate, zj_signer: Signer) -> None:
    trust = make_trust([("330000", zj_signer, cst("2024-01-01T00:00"), cst("2026-06-30T23:59:59"))])
    report = verify_text(text_of(reference_cert, zj_signer), trust=trust, now=INSIDE)
    assert report.codes[0] == "KEY_OUTSIDE_WINDOW"
    assert report.verdict is Verdict.INVALID


def test_rotation_keeps_old_signatures_valid(make_cert: MakeCert) -> None:
    old, new = Signer.generate(), Signer.generate()
    trust = make_trust(
        [
            ("330000", old, cst("2024-01-01T00:00"), cst("2026-06-30T23:59:59")),
            ("330000", new, cst("2026-07-01T00:00"), None),
        ]
    )
    before = make_cert(
        issued_at=cst("2026-06-01T09:00"), valid_from=date(2026, 6, 1), valid_to=date(2027, 6, 1)
    )
    after = make_cert(issued_at=cst("2026-11-28T09:30"))
    assert verify_text(text_of(before, old), trust=trust, now=INSIDE).verdict is Verdict.VALID
    assert verify_text(text_of(after, new), trust=trust, now=INSIDE).verdict is Verdict.VALID
    assert "KEY_OUTSIDE_WINDOW" in verify_text(text_of(after, old), trust=trust, now=INSIDE).codes


def test_key_of_another_province_cannot_sign(
    reference_cert: Certificate, ah_signer: Signer, trust: TrustList
) -> None:
    report = verify_text(text_of(reference_cert, ah_signer), trust=trust, now=INSIDE)
    assert "ISSUER_MISMATCH" in report.codes
    assert report.verdict is Verdict.INVALID


def test_issuer_not_member_on_issue_day(reference_cert: Certificate, zj_signer: Signer) -> None:
    trust = make_trust(
        [("330000", zj_signer, cst("2024-01-01T00:00"), None)], joined=date(2026, 11, 29)
    )
    report = verify_text(text_of(reference_cert, zj_signer), trust=trust, now=INSIDE)
    assert "ISSUER_NOT_MEMBER" in report.codes


def test_unknown_host_is_a_warning(
    reference_cert: Certificate, zj_signer: Signer, trust: TrustList
) -> None:
    report = verify_text(
        text_of(reference_cert, zj_signer, "https://evil.example"), trust=trust, now=INSIDE
    )
    assert report.verdict is Verdict.VALID
    assert "UNKNOWN_HOST" in report.codes
    assert report.host == "evil.example"
    assert report.host_known is False


def test_expired_trust_list_is_reported(
    reference_cert: Certificate, zj_signer: Signer, trust: TrustList
) -> None:
    stale = dataclasses.replace(trust, expires_at=cst("2026-11-30T00:00"))
    report = verify_text(text_of(reference_cert, zj_signer), trust=stale, now=INSIDE)
    assert "TRUST_LIST_EXPIRED" in report.codes


@pytest.mark.parametrize(
    "text",
    [
        "",
        "hello",
        "https://example.com/hello",
        "HTTPS://EXAMPLE.COM/C/",
        "HTTPS://EXAMPLE.COM/X/0123",
        "WIFI:S:nursery;T:WPA;P:secret;;",
        "ftp://example.com/C/123",
        "9" * 8000,
    ],
)
def test_not_ours_is_not_a_certificate(text: str, trust: TrustList) -> None:
    report = verify_text(text, trust=trust, now=INSIDE)
    assert report.verdict is Verdict.NOT_A_CERTIFICATE
    assert report.codes == ("NOT_A_CERTIFICATE",)


@pytest.mark.parametrize(
    ("digits", "detail"),
    [
        ("0123", "DIGITS_MALFORMED"),  # leading zero: no payload has it
        ("1", "PAYLOAD_FORMAT_UNKNOWN"),  # one byte 0x01: not a format byte
        ("999", "PAYLOAD_FORMAT_UNKNOWN"),  # 0x03E7
        ("16", "CBOR_MALFORMED"),  # 0x10: format byte with no COSE after it
    ],
)
def test_our_shape_with_bad_digits_is_invalid(digits: str, detail: str, trust: TrustList) -> None:
    report = verify_text(f"HTTP://127.0.0.1:8000/C/{digits}", trust=trust, now=INSIDE)
    assert report.verdict is Verdict.INVALID
    assert report.codes == ("MALFORMED",)
    assert report.reasons[0].detail == detail


def test_trailing_bytes_after_cose_are_rejected(
    reference_cert: Certificate, zj_signer: Signer, trust: TrustList
) -> None:
    signed = sign_certificate(reference_cert, zj_signer, base_url=BASE)
    text = qrtext.encode(BASE, compress.pack(signed.cose + b"\x00", compress=False))
    report = verify_text(text, trust=trust, now=INSIDE)
    assert report.codes == ("MALFORMED",)
    assert report.reasons[0].detail == "CBOR_TRAILING_BYTES"


def test_zlib_bomb_is_refused(trust: TrustList) -> None:
    import zlib

    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    bomb = bytes([compress.FORMAT_DEFLATE]) + comp.compress(b"\x00" * 1_000_000) + comp.flush()
    report = verify_text(qrtext.encode(BASE, bomb), trust=trust, now=INSIDE)
    assert report.codes == ("MALFORMED",)
    assert report.reasons[0].detail == "DECOMPRESSED_TOO_LARGE"


class FakeStatus:
    def __init__(self, info: StatusInfo) -> None:
        self.info = info

    def lookup(self, number: str, now: datetime) -> StatusInfo:
        return self.info


@pytest.mark.parametrize(
    ("events", "codes"),
    [
        ((), ()),
        ((StatusEvent(EventType.REVOKED, cst("2026-11-30T10:00"), "伪造货物"),), ("REVOKED",)),
        (
            (
                StatusEvent(
                    EventType.SUPERSEDED,
                    cst("2026-11-30T10:00"),
                    superseded_by="330109-2026-004900",
                ),
            ),
            ("SUPERSEDED",),
        ),
        ((StatusEvent(EventType.SUSPENDED, cst("2026-11-30T10:00")),), ("SUSPENDED",)),
        (
            (
                StatusEvent(EventType.SUSPENDED, cst("2026-11-30T10:00")),
                StatusEvent(EventType.REINSTATED, cst("2026-11-30T11:00")),
            ),
            (),
        ),
        ((StatusEvent(EventType.ARRIVED, cst("2026-11-30T10:00")),), ("CLOSED",)),
        ((StatusEvent(EventType.REVOKED, cst("2026-12-02T10:00")),), ()),  # after now: not yet
        ((StatusEvent(EventType.REINSPECTED, cst("2026-11-30T10:00")),), ()),
    ],
)
def test_status_events(
    reference_cert: Certificate,
    zj_signer: Signer,
    trust: TrustList,
    events: tuple[StatusEvent, ...],
    codes: tuple[str, ...],
) -> None:
    source = FakeStatus(StatusInfo(known=True, events=events, as_of=INSIDE, source="test"))
    report = verify_text(text_of(reference_cert, zj_signer), trust=trust, now=INSIDE, status=source)
    errors = tuple(r.code for r in report.errors)
    assert errors == codes
    assert report.verdict is (Verdict.INVALID if codes else Verdict.VALID)
    assert "STATUS_UNCHECKED" not in report.codes


def test_unknown_to_registry_and_stale_status(
    reference_cert: Certificate, zj_signer: Signer, trust: TrustList
) -> None:
    source = FakeStatus(StatusInfo(known=False, stale=True, source="cache"))
    report = verify_text(text_of(reference_cert, zj_signer), trust=trust, now=INSIDE, status=source)
    assert "UNKNOWN_TO_REGISTRY" in report.codes
    assert "STATUS_STALE" in report.codes
    assert report.verdict is Verdict.INVALID


def test_report_json_shape(
    reference_cert: Certificate, zj_signer: Signer, trust: TrustList
) -> None:
    report = verify_text(text_of(reference_cert, zj_signer), trust=trust, now=INSIDE)
    data = report.to_dict()
    assert data["verdict"] == "VALID"
    assert data["reasons"] == ["STATUS_UNCHECKED"]
    assert data["certificate"]["number"] == "330109-2026-004871"
    assert data["certificate"]["items"][2]["quantity"] == 3000
    assert "id_number" not in str(data)
    for message in data["messages"]:
        assert message["zh"] and message["en"]


def test_now_must_be_aware(
    reference_cert: Certificate, zj_signer: Signer, trust: TrustList
) -> None:
    with pytest.raises(ValueError, match="aware"):
        verify_text(text_of(reference_cert, zj_signer), trust=trust, now=datetime(2026, 12, 1))


@pytest.mark.parametrize(
    "status",
    [
        None,
        StatusInfo(known=False, as_of=INSIDE, source="test"),
        StatusInfo(
            known=True,
            events=(StatusEvent(EventType.REVOKED, cst("2026-11-30T10:00"), "作废"),),
            as_of=INSIDE,
            source="test",
        ),
    ],
)
def test_open_then_conclude_is_verify_text(
    reference_cert: Certificate, zj_signer: Signer, trust: TrustList, status: StatusInfo | None
) -> None:
    """The two halves (status looked up in between) give exactly ``verify_text``'s report."""
    text = text_of(reference_cert, zj_signer)
    opened = open_text(text, trust=trust, now=INSIDE)
    assert isinstance(opened, Opened)
    assert opened.number == "330109-2026-004871"
    split = conclude(opened, trust=trust, now=INSIDE, status=status)
    whole = verify_text(
        text, trust=trust, now=INSIDE, status=None if status is None else FakeStatus(status)
    )
    assert split == whole


@pytest.mark.parametrize(
    ("text", "code"),
    [("HELLO", "NOT_A_CERTIFICATE"), (f"{BASE.upper()}/C/0123", "MALFORMED")],
)
def test_open_text_answers_at_once_what_cannot_be_valid(
    text: str, code: str, trust: TrustList
) -> None:
    opened = open_text(text, trust=trust, now=INSIDE)
    assert not isinstance(opened, Opened)
    assert opened.codes == (code,)


def test_a_public_key_built_field_by_field_derives_its_libsodium_form(zj_signer: Signer) -> None:
    from quarantine.core.keys import PublicKey

    public = zj_signer.public
    rebuilt = PublicKey(key=public.key, spki_der=public.spki_der, alg=public.alg, kid=public.kid)
    assert rebuilt.raw == public.raw and len(rebuilt.raw) == 32
    tbs = b"to be signed"
    signature = zj_signer.sign(tbs)
    assert rebuilt.verify(signature, tbs) is True
    assert rebuilt.verify(signature, tbs + b"!") is False
    # A key object that is not an Ed25519 key has no libsodium form: refused, never read.
    keyless = PublicKey(key=object(), spki_der=b"", alg=public.alg, kid=b"")  # type: ignore[arg-type]
    assert keyless.raw == b"" and keyless.verify(signature, tbs) is False
