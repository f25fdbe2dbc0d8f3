"""Focused rules of the COSE_Sign1 layer (``quarantine.core.cose``/``cbor``/``keys``).

Some tests here FAIL on purpose against the current layer: each documents a bug
(see the ``BUG:`` notes next to them); they pass once the layer is fixed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from typing import Any, Final, cast

import cbor2
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from quarantine.core import cbor
from quarantine.core.cose import (
    HEADER_ALG,
    HEADER_CONTENT_TYPE,
    HEADER_CRIT,
    HEADER_KID,
    Sign1,
    check_alg,
    decode_sign1,
    encode_sign1,
    sig_structure,
)
from quarantine.core.keys import ALG_EDDSA, ALG_ES256, PublicKey, Signer, kid_of
from quarantine.errors import InputError

ED25519: Final = Signer.generate(ALG_EDDSA)
ES256: Final = Signer.generate(ALG_ES256)
OTHER_ED25519: Final = Signer.generate(ALG_EDDSA)
OTHER_ES256: Final = Signer.generate(ALG_ES256)
SIGNERS: Final = {"EdDSA": ED25519, "ES256": ES256}
PAYLOAD: Final = b"\x01certificate payload\xff"


def _message(
    protected_bytes: bytes, unprotected: Mapping[Any, Any], payload: bytes, signature: bytes
) -> bytes:
    return cbor.dumps([protected_bytes, dict(unprotected), payload, signature])


def _signed(
    signer: Signer,
    protected: Mapping[Any, Any] | None = None,
    *,
    unprotected: Mapping[Any, Any] | None = None,
    payload: bytes = PAYLOAD,
    protected_bytes: bytes | None = None,
) -> bytes:
    """A COSE_Sign1 signed by ``signer`` over exactly the protected bytes given."""
    if protected_bytes is None:
        if protected is None:
            protected = {HEADER_ALG: signer.alg, HEADER_KID: signer.kid}
        protected_bytes = cbor.dumps(dict(protected))
    signature = signer.sign(sig_structure(protected_bytes, payload))
    return _message(protected_bytes, unprotected or {}, payload, signature)


def _code(call: Callable[[], object]) -> str:
    with pytest.raises(InputError) as exc:
        call()
    return exc.value.code


def _decode_code(data: bytes) -> str:
    return _code(lambda: decode_sign1(data))


def _check_alg_code(msg: Sign1) -> str:
    return _code(lambda: check_alg(msg))


def _strict_code(data: bytes) -> str:
    return _code(lambda: cbor.strict_loads(data))


class _ExplodingKey:
    """Stands in for a key object: any arithmetic on it fails the test."""

    def verify(self, *_: object) -> None:
        raise AssertionError("signature arithmetic reached despite a bad length")


def _spy_public(signer: Signer) -> PublicKey:
    return PublicKey(
        key=cast(Any, _ExplodingKey()),
        spki_der=signer.public.spki_der,
        alg=signer.alg,
        kid=signer.kid,
    )


# --- signature length -------------------------------------------------------------------


def _der_signature_of_length(length: int, tbs: bytes) -> bytes:
    """A real DER ECDSA signature of ``tbs`` by ES256 with exactly ``length`` bytes."""
    assert isinstance(ES256.key, ec.EllipticCurvePrivateKey)
    for _ in range(500):
        der = ES256.key.sign(tbs, ec.ECDSA(hashes.SHA256()))
        if len(der) == length:
            return der
    raise AssertionError(f"no {length}-byte DER signature in 500 tries")


def _resized(signature: bytes, length: int) -> bytes:
    return signature[:length] if length < len(signature) else signature.ljust(length, b"\x00")


@pytest.mark.parametrize("length", [0, 1, 32, 63, 65, 70, 71, 72, 96, 128])
def test_es256_signature_of_wrong_length_is_refused_before_verification(length: int) -> None:
    protected_bytes = cbor.dumps({HEADER_ALG: ALG_ES256, HEADER_KID: ES256.kid})
    tbs = sig_structure(protected_bytes, PAYLOAD)
    if length in (70, 71, 72):
        # The DER form of a genuine signature of this very message.
        signature = _der_signature_of_length(length, tbs)
        assert signature[0] == 0x30
    else:
        signature = _resized(ES256.sign(tbs), length)
    msg = decode_sign1(_message(protected_bytes, {}, PAYLOAD, signature))
    assert len(msg.signature) == length

    assert _check_alg_code(msg) == "SIGNATURE_LENGTH"
    # check_alg needs no key: the refusal precedes any verification.  And the
    # verifier itself never hands a wrong-length signature to the arithmetic.
    assert msg.verify_with(_spy_public(ES256)) is False
    assert ES256.public.verify(signature, tbs) is False


@pytest.mark.parametrize("length", [0, 63, 65, 114, 128])
def test_eddsa_signature_of_wrong_length_is_refused(length: int) -> None:
    protected_bytes = cbor.dumps({HEADER_ALG: ALG_EDDSA, HEADER_KID: ED25519.kid})
    tbs = sig_structure(protected_bytes, PAYLOAD)
    signature = _resized(ED25519.sign(tbs), length)
    msg = decode_sign1(_message(protected_bytes, {}, PAYLOAD, signature))
    assert _check_alg_code(msg) == "SIGNATURE_LENGTH"
    assert ED25519.public.verify(signature, tbs) is False


def test_es256_exactly_64_bytes_reaches_verification() -> None:
    """Contrast to the above: the spy key *is* reached with a 64-byte signature."""
    msg = decode_sign1(_signed(ES256))
    assert check_alg(msg) == ALG_ES256
    with pytest.raises(AssertionError, match="arithmetic reached"):
        msg.verify_with(_spy_public(ES256))


# --- algorithms -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "alg",
    [-35, -36, -37, -38, -39, -19, -9, -6, 0, 1, 2, -1, 2**64 - 1, "EdDSA", "ES256", "-7", b"\x26"],
    ids=repr,
)
def test_unknown_alg_is_not_allowed(alg: object) -> None:
    msg = decode_sign1(_signed(ES256, {HEADER_ALG: alg, HEADER_KID: ES256.kid}))
    assert _check_alg_code(msg) == "ALG_NOT_ALLOWED"
    assert msg.verify_with(ES256.public) is False


def test_missing_alg_is_not_allowed() -> None:
    for protected in ({HEADER_KID: ES256.kid}, {}):
        without_alg = decode_sign1(_signed(ES256, protected))
        assert _check_alg_code(without_alg) == "ALG_NOT_ALLOWED"
        assert without_alg.verify_with(ES256.public) is False
    # An empty protected bucket encoded as a zero-length bstr: no alg either.
    msg = decode_sign1(_signed(ES256, protected_bytes=b""))
    assert _check_alg_code(msg) == "ALG_NOT_ALLOWED"


@pytest.mark.parametrize(
    "alg",
    [-7.0, -8.0, True, False, None, [], [-7], {}, {1: -7}],
    ids=repr,
)
def test_alg_of_a_non_integer_type_is_not_allowed(alg: object) -> None:
    """``alg`` is an int (or tstr) label; any other CBOR type must be refused cleanly.

    BUG (fails today): ``check_alg`` tests ``alg not in SUPPORTED_ALGS``.
    * -7.0 / -8.0 (CBOR floats) compare and hash equal to -7 / -8, so a message
      whose protected ``alg`` is the float -7.0 passes ``check_alg`` (returning
      ``int(alg)``) and ``verify_with`` (``-7.0 != -7`` is False) — a non-integer
      algorithm identifier is accepted.
    * An array or map ``alg`` is unhashable: ``check_alg`` raises ``TypeError``
      instead of ``CoseError``, so a hostile QR code escapes the InputError
      handling of every caller.
    Fix: in ``check_alg`` (and ``Sign1.verify_with``), require
    ``type(alg) is int`` before the membership test.
    """
    msg = decode_sign1(_signed(ES256, {HEADER_ALG: alg, HEADER_KID: ES256.kid}))
    assert _check_alg_code(msg) == "ALG_NOT_ALLOWED"
    assert msg.verify_with(ES256.public) is False


def test_alg_mismatch_with_key_fails_verification() -> None:
    # An ES256 message checked with an Ed25519 key, and the other way round.
    assert decode_sign1(_signed(ES256)).verify_with(ED25519.public) is False
    assert decode_sign1(_signed(ED25519)).verify_with(ES256.public) is False
    # Protected alg claims EdDSA but an ES256 key signed: the alg/key pairing fails.
    lying = decode_sign1(_signed(ES256, {HEADER_ALG: ALG_EDDSA, HEADER_KID: ES256.kid}))
    assert check_alg(lying) == ALG_EDDSA
    assert lying.verify_with(ES256.public) is False
    assert lying.verify_with(ED25519.public) is False


# --- header rules -----------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(SIGNERS))
def test_alg_in_unprotected_header_is_refused(name: str) -> None:
    signer = SIGNERS[name]
    data = _signed(signer, {HEADER_KID: signer.kid}, unprotected={HEADER_ALG: signer.alg})
    assert _decode_code(data) == "COSE_ALG_UNPROTECTED"
    # Empty protected bucket, alg only unprotected (cose-wg sign-pass-01's shape).
    data = _signed(signer, protected_bytes=b"", unprotected={HEADER_ALG: signer.alg})
    assert _decode_code(data) == "COSE_ALG_UNPROTECTED"


def test_alg_in_both_buckets_is_a_duplicate_header() -> None:
    """A parameter in both buckets is refused first (before the alg rule)."""
    data = _signed(ES256, unprotected={HEADER_ALG: ALG_ES256})
    assert _decode_code(data) == "COSE_DUPLICATE_HEADER"
    data = _signed(ES256, unprotected={HEADER_KID: ES256.kid})
    assert _decode_code(data) == "COSE_DUPLICATE_HEADER"


@pytest.mark.parametrize("crit", [[HEADER_CONTENT_TYPE], [-65537], ["reserved"], []], ids=repr)
def test_crit_in_protected_header_is_refused(crit: list[object]) -> None:
    protected = {HEADER_ALG: ALG_EDDSA, HEADER_KID: ED25519.kid, HEADER_CRIT: crit}
    if crit and crit[0] == HEADER_CONTENT_TYPE:
        protected[HEADER_CONTENT_TYPE] = 0
    assert _decode_code(_signed(ED25519, protected)) == "COSE_CRIT"


def test_crit_in_unprotected_header_is_refused() -> None:
    """BUG (fails today): ``crit`` is only looked for in the protected bucket.

    RFC 9052 §3.1 says ``crit`` MUST be in the protected bucket; in the unprotected
    one it can be added by anyone and is today silently ignored, although the
    layer's contract is "no crit".  Fix, in ``decode_sign1``:
    ``if HEADER_CRIT in protected or HEADER_CRIT in unprotected: raise CoseError("COSE_CRIT", ...)``.
    """
    data = _signed(ED25519, unprotected={HEADER_CRIT: [HEADER_CONTENT_TYPE], 3: 0})
    assert _decode_code(data) == "COSE_CRIT"


# --- tampering with what is signed -------------------------------------------------------


def _tampered(data: bytes, new_protected_bytes: bytes) -> bytes:
    item = cbor2.loads(data)
    item[0] = new_protected_bytes
    return cbor.dumps(item)


@pytest.mark.parametrize("name", sorted(SIGNERS))
def test_tampered_protected_header_fails_verification(name: str) -> None:
    signer = SIGNERS[name]
    original = _signed(signer)
    assert decode_sign1(original).verify_with(signer.public) is True

    other_kid = bytes(b ^ 0xFF for b in signer.kid)
    variants = {
        "another kid": cbor.dumps({HEADER_ALG: signer.alg, HEADER_KID: other_kid}),
        "content type added": cbor.dumps(
            {HEADER_ALG: signer.alg, HEADER_KID: signer.kid, HEADER_CONTENT_TYPE: 60}
        ),
        "kid removed": cbor.dumps({HEADER_ALG: signer.alg}),
        "private label added": cbor.dumps(
            {HEADER_ALG: signer.alg, HEADER_KID: signer.kid, -65537: b"x"}
        ),
        # Same map, different bytes: the signature covers the bytes on the wire.
        "keys reordered": cbor2.dumps({HEADER_KID: signer.kid, HEADER_ALG: signer.alg}),
        "alg non-minimal int": b"\xa2\x01\x38"
        + bytes([-1 - signer.alg])
        + b"\x04\x48"
        + signer.kid,
    }
    for label, protected_bytes in variants.items():
        msg = decode_sign1(_tampered(original, protected_bytes))
        assert check_alg(msg) == signer.alg, label
        assert msg.verify_with(signer.public) is False, label


@pytest.mark.parametrize("name", sorted(SIGNERS))
def test_tampered_payload_or_signature_fails_verification(name: str) -> None:
    signer = SIGNERS[name]
    item = cbor2.loads(_signed(signer))
    for index, value in (
        (2, PAYLOAD + b"!"),
        (2, b""),
        (3, bytes([item[3][0] ^ 1]) + item[3][1:]),
        (3, item[3][:-1] + bytes([item[3][-1] ^ 0x80])),
    ):
        changed = list(item)
        changed[index] = value
        msg = decode_sign1(cbor.dumps(changed))
        assert msg.verify_with(signer.public) is False


def test_unprotected_header_is_not_covered_by_the_signature() -> None:
    """Documented COSE behaviour: unprotected parameters can change without breaking the
    signature, which is why alg (and crit) must not be taken from there."""
    data = _signed(ED25519, unprotected={HEADER_CONTENT_TYPE: 0})
    msg = decode_sign1(_tampered(data, cbor2.loads(data)[0]))
    assert msg.verify_with(ED25519.public) is True
    item = cbor2.loads(data)
    item[1] = {HEADER_CONTENT_TYPE: 42, -65537: "added"}
    assert decode_sign1(cbor.dumps(item)).verify_with(ED25519.public) is True


def test_external_aad_is_covered_by_the_signature() -> None:
    msg = decode_sign1(_signed(ES256))
    assert msg.verify_with(ES256.public, b"") is True
    assert msg.verify_with(ES256.public, b"\x00") is False


# --- CBOR strictness --------------------------------------------------------------------


def test_trailing_bytes_after_the_cose_array_are_refused() -> None:
    data = _signed(ED25519)
    for extra in (b"\x00", b"\xff", b"\xf6", data):
        assert _decode_code(data + extra) == "CBOR_TRAILING_BYTES"
        assert _decode_code(b"\xd2" + data + extra) == "CBOR_TRAILING_BYTES"
    assert _strict_code(b"\x01\x02") == "CBOR_TRAILING_BYTES"


def test_trailing_bytes_inside_the_protected_bstr_are_refused() -> None:
    protected_bytes = cbor.dumps({HEADER_ALG: ALG_EDDSA, HEADER_KID: ED25519.kid}) + b"\x00"
    assert _decode_code(_signed(ED25519, protected_bytes=protected_bytes)) == "COSE_BAD_PROTECTED"


def _nested(depth: int) -> object:
    value: object = b"x"
    for _ in range(depth):
        value = [value]
    return value


def test_nesting_too_deep_is_refused() -> None:
    data = _signed(ED25519, unprotected={-65537: _nested(8)})
    assert _decode_code(data) == "CBOR_TOO_DEEP"
    assert _strict_code(cbor2.dumps(_nested(64))) == "CBOR_TOO_DEEP"
    assert _code(lambda: cbor.strict_loads(cbor2.dumps(_nested(3)), max_depth=2)) == (
        "CBOR_TOO_DEEP"
    )
    assert cbor.strict_loads(cbor2.dumps(_nested(2)), max_depth=3) == [[b"x"]]
    # Very deep input: refused cleanly, never a RecursionError.
    deep = b"\x81" * 100_000 + b"\x00"
    assert _strict_code(deep) == "CBOR_TOO_DEEP"
    assert _decode_code(deep) == "CBOR_TOO_DEEP"


def test_protected_header_nesting_too_deep_is_refused() -> None:
    protected = {HEADER_ALG: ALG_EDDSA, HEADER_KID: ED25519.kid, -65537: _nested(6)}
    assert _decode_code(_signed(ED25519, protected)) == "COSE_BAD_PROTECTED"


def _items(data: bytes) -> list[bytes]:
    """The four encoded items of a (definite-length) COSE_Sign1 array."""
    item = cbor2.loads(data)
    return [cbor.dumps(part) for part in item]


def test_indefinite_length_items_are_refused() -> None:
    protected, unprotected, payload, signature = _items(_signed(ED25519))
    raw_payload = cbor2.loads(payload)
    indefinite_array = b"\x9f" + protected + unprotected + payload + signature + b"\xff"
    assert _decode_code(indefinite_array) == "CBOR_MALFORMED"
    indefinite_map = b"\x84" + protected + b"\xbf\x03\x00\xff" + payload + signature
    assert _decode_code(indefinite_map) == "CBOR_MALFORMED"
    chunked_payload = b"\x5f" + cbor.dumps(raw_payload[:3]) + cbor.dumps(raw_payload[3:]) + b"\xff"
    assert _decode_code(b"\x84" + protected + unprotected + chunked_payload + signature) == (
        "CBOR_MALFORMED"
    )
    for raw in (b"\x9f\xff", b"\xbf\xff", b"\x5f\xff", b"\x7f\xff", b"\x7f\x61a\xff"):
        assert _strict_code(raw) == "CBOR_MALFORMED"


def test_indefinite_length_protected_header_is_refused() -> None:
    protected_bytes = b"\xbf\x01\x27\xff"
    assert _decode_code(_signed(ED25519, protected_bytes=protected_bytes)) == "COSE_BAD_PROTECTED"


def test_duplicate_map_keys_are_refused() -> None:
    protected, _, payload, signature = _items(_signed(ED25519))
    duplicate_unprotected = b"\xa2\x03\x00\x03\x01"
    assert _decode_code(b"\x84" + protected + duplicate_unprotected + payload + signature) == (
        "CBOR_MALFORMED"
    )
    assert _strict_code(b"\xa2\x01\x02\x01\x02") == "CBOR_MALFORMED"
    assert _strict_code(b"\xa2\x61a\x00\x61a\x01") == "CBOR_MALFORMED"


def test_duplicate_keys_in_protected_header_are_refused() -> None:
    # {1: -8, 1: -8, 4: kid}: a duplicate alg, even with the same value.
    protected_bytes = b"\xa3\x01\x27\x01\x27\x04\x48" + ED25519.kid
    assert _decode_code(_signed(ED25519, protected_bytes=protected_bytes)) == "COSE_BAD_PROTECTED"


# --- tags -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(SIGNERS))
def test_tag_18_is_accepted_and_untagged_too(name: str) -> None:
    signer = SIGNERS[name]
    data = _signed(signer)
    assert data[0] == 0x84
    for candidate in (data, b"\xd2" + data):
        msg = decode_sign1(candidate)
        assert check_alg(msg) == signer.alg
        assert msg.verify_with(signer.public) is True


def test_tag_18_only_once_and_only_in_its_preferred_encoding() -> None:
    data = _signed(ED25519)
    assert _decode_code(b"\xd2\xd2" + data) == "CBOR_MALFORMED"
    # Tag 18 written in a longer head (0xd8 0x12): not the preferred serialization.
    assert _decode_code(b"\xd8\x12" + data) == "CBOR_MALFORMED"
    assert _decode_code(b"\xd2") == "CBOR_MALFORMED"


#: Tag numbers with content of a type that cbor2 would otherwise turn into an object.
TAG_CONTENT: Final[dict[int, object]] = {
    0: "2024-01-01T00:00:00Z",
    1: 1_700_000_000,
    2: b"\x01\x00",
    3: b"\x01\x00",
    4: [-2, 27315],
    5: [-1, 3],
    16: [b"", {}, b""],
    17: [b"", {}, b"", b""],
    19: [b"", {}, b""],
    21: b"x",
    24: b"\x01",
    25: 0,
    28: [1],
    29: 0,
    30: [1, 3],
    32: "https://example.org/",
    33: "AA",
    35: "a+",
    36: "Content-Type: text/plain\n\nx",
    37: b"\x00" * 16,
    52: b"\xc0\xa8\x00\x01",
    54: b"\x20\x01\x0d\xb8" + b"\x00" * 12,
    61: [1],
    96: [b"", {}, b"", []],
    97: [b"", {}, b"", b"", []],
    98: [b"", {}, b"", []],
    256: [1],
    258: [1, 2],
    259: {1: 2},
    260: b"\x7f\x00\x00\x01",
    261: [24, b"\x0a"],
    1004: "2024-01-01",
    55799: 0,
    65535: 0,
    2**32: 0,
}


@pytest.mark.parametrize("tag", sorted(TAG_CONTENT), ids=lambda t: f"tag{t}")
def test_tags_other_than_18_are_refused(tag: int) -> None:
    """No tag but the outer COSE_Sign1 tag 18: not around the message, not inside it.

    BUG (tag52 and tag54 fail today): cbor2 ≥ 5.7 decodes tag 52 (IPv4 address or
    network) and tag 54 (IPv6) into ``ipaddress`` objects by itself, and
    ``quarantine.core.cbor._SEMANTIC_TAGS`` — the list of built-in tags overridden
    with a refusal — does not contain 52 or 54, so ``strict_loads`` returns an
    ``IPv4Address``/``IPv6Address`` (and ``decode_sign1`` accepts a message
    carrying one in a header), contrary to "no tags at all".  Fix: add 52 and 54 to
    ``_SEMANTIC_TAGS``; better, stop relying on a hand-kept list — e.g. check in a
    test that every tag cbor2 decodes natively is listed, or pre-scan the item for
    major type 6 heads and refuse them before cbor2 sees any.
    """
    content = TAG_CONTENT[tag]
    tagged = cbor2.dumps(cbor2.CBORTag(tag, content))
    assert _strict_code(tagged) in {"CBOR_MALFORMED", "CBOR_TOO_DEEP"}
    # Inside the unprotected header of an otherwise valid message.
    data = _signed(ED25519, unprotected={-65537: cbor2.CBORTag(tag, content)})
    assert _decode_code(data) in {"CBOR_MALFORMED", "CBOR_TOO_DEEP"}
    # Inside the protected header.
    protected_bytes = cbor2.dumps(
        {HEADER_ALG: ALG_EDDSA, HEADER_KID: ED25519.kid, -65537: cbor2.CBORTag(tag, content)}
    )
    assert _decode_code(_signed(ED25519, protected_bytes=protected_bytes)) == "COSE_BAD_PROTECTED"
    # Around the whole message.
    wrapped = cbor2.dumps(cbor2.CBORTag(tag, cbor2.loads(_signed(ED25519))))
    assert _decode_code(wrapped) in {"CBOR_MALFORMED", "CBOR_TOO_DEEP"}


# --- shapes -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("item", "code"),
    [
        ([], "COSE_MALFORMED"),
        ([b"", {}, b""], "COSE_MALFORMED"),
        ([b"", {}, b"", b"", b""], "COSE_MALFORMED"),
        ({1: 2}, "COSE_MALFORMED"),
        (b"", "COSE_MALFORMED"),
        ([{}, {}, b"", b"\x00" * 64], "COSE_MALFORMED"),
        ([b"", [], b"", b"\x00" * 64], "COSE_MALFORMED"),
        ([b"", {}, None, b"\x00" * 64], "COSE_MALFORMED"),
        ([b"", {}, "text", b"\x00" * 64], "COSE_MALFORMED"),
        ([b"", {}, b"", "sig"], "COSE_MALFORMED"),
        ([b"\x80", {}, b"", b"\x00" * 64], "COSE_BAD_PROTECTED"),
        ([b"\x01", {}, b"", b"\x00" * 64], "COSE_BAD_PROTECTED"),
        ([b"\xff", {}, b"", b"\x00" * 64], "COSE_BAD_PROTECTED"),
    ],
    ids=repr,
)
def test_malformed_shapes_are_refused(item: object, code: str) -> None:
    assert _decode_code(cbor.dumps(item)) == code


def test_detached_payload_is_refused() -> None:
    protected_bytes = cbor.dumps({HEADER_ALG: ALG_EDDSA, HEADER_KID: ED25519.kid})
    signature = ED25519.sign(sig_structure(protected_bytes, PAYLOAD))
    data = cbor.dumps([protected_bytes, {}, None, signature])
    assert _decode_code(data) == "COSE_MALFORMED"


# --- round trips ------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(SIGNERS))
@pytest.mark.parametrize("payload", [b"", b"\x00", PAYLOAD, bytes(range(256)) * 8])
def test_round_trip(name: str, payload: bytes) -> None:
    signer = SIGNERS[name]
    data = encode_sign1(payload, signer)
    msg = decode_sign1(data)
    assert isinstance(msg, Sign1)
    assert msg.payload == payload
    assert msg.protected == {HEADER_ALG: signer.alg, HEADER_KID: signer.kid}
    assert msg.protected_bytes == cbor.dumps({HEADER_ALG: signer.alg, HEADER_KID: signer.kid})
    assert msg.unprotected == {}
    assert len(msg.signature) == 64
    assert check_alg(msg) == signer.alg
    assert msg.kid == signer.kid
    assert msg.verify_with(signer.public) is True
    assert decode_sign1(b"\xd2" + data).verify_with(signer.public) is True
    other = OTHER_ED25519 if signer.alg == ALG_EDDSA else OTHER_ES256
    assert msg.verify_with(other.public) is False
    assert msg.verify_with(signer.public, b"aad") is False
    assert cbor.dumps(cbor.strict_loads(data)) == data, "the encoding is canonical"


@pytest.mark.parametrize("name", sorted(SIGNERS))
def test_kid_is_first_8_bytes_of_sha256_of_spki(name: str) -> None:
    signer = SIGNERS[name]
    spki = signer.key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert signer.public.spki_der == spki
    assert signer.kid == hashlib.sha256(spki).digest()[:8] == kid_of(spki)
    assert len(signer.kid) == 8
    assert PublicKey.from_spki(spki).kid == signer.kid
    assert PublicKey.from_pem(signer.public.to_pem()).kid == signer.kid
    assert decode_sign1(encode_sign1(PAYLOAD, signer)).kid == signer.kid


def test_signer_generate_es256_signs_64_byte_r_s() -> None:
    signer = Signer.generate(ALG_ES256)
    assert signer.alg == ALG_ES256
    assert isinstance(signer.key, ec.EllipticCurvePrivateKey)
    assert isinstance(signer.key.curve, ec.SECP256R1)
    for _ in range(20):
        assert len(signer.sign(b"message")) == 64


def test_encode_sign1_with_extra_protected_header_round_trips() -> None:
    data = encode_sign1(PAYLOAD, ES256, extra_protected={HEADER_CONTENT_TYPE: 60})
    msg = decode_sign1(data)
    assert msg.protected[HEADER_CONTENT_TYPE] == 60
    assert msg.verify_with(ES256.public) is True
