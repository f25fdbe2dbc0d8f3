"""COSE working-group examples run through the project's own COSE_Sign1 layer.

Vectors: cose-wg/Examples (Unlicense) folders ``sign1-tests``, ``eddsa-examples`` and
``ecdsa-examples``, read in place from ``<repo>/../shared/vectors/cose-wg``.

Pipeline under test, for each COSE_Sign1 file: ``decode_sign1(output.cbor)`` →
``check_alg`` → key from ``input.sign0.key`` (JWK, imported with
``PublicKey.from_spki``) → ``Sign1.verify_with(key, input.sign0.external)``; and
``Sign1.to_be_signed`` is compared with ``intermediates.ToBeSign_hex``.

Files are classified *by structure* of ``output.cbor`` (not by name):

* COSE_Sign (tag 98, fourth element an array of signers) — multi-signer messages,
  which the project never produces or accepts.  They are not run as Sign1 vectors
  but counted, and ``decode_sign1`` is shown to reject each one.
* COSE_Sign1 — every one is run, and its outcome compared with ``EXPECTED``.

Where the project is deliberately stricter than RFC 9052:

* ``alg`` must be in the protected header; ``alg`` in the unprotected header is
  refused (``COSE_ALG_UNPROTECTED``).  In a certificate the algorithm is part of
  what the issuer vouches for, and a verifier that takes ``alg`` from an unsigned
  bucket invites algorithm-substitution games.  ``sign-pass-01`` ("Redo protected")
  is a pass case for COSE, with an empty protected map re-encoded as ``h'a0'`` and
  ``alg`` only in the unprotected header: our layer refuses it.  (Its signature is
  in fact made over the zero-length protected bstr of ``ToBeSign_hex``, not over
  the transmitted ``h'a0'``; a verifier that signs the bytes on the wire, as RFC 9052
  §4.4 requires, could not have accepted it either.)
* Only EdDSA (-8, Ed25519 keys only) and ES256 (-7) are accepted.  ES384/ES512
  messages are refused by ``check_alg`` with ``ALG_NOT_ALLOWED``.  Ed448 messages
  carry the same ``alg`` -8 ("EdDSA") as Ed25519 — COSE's polymorphic EdDSA
  identifier — so ``check_alg`` cannot refuse them by ``alg``; it refuses them by
  the signature length instead (114 bytes, ``SIGNATURE_LENGTH``), and the Ed448 key
  itself is refused by ``PublicKey.from_spki`` (``KEY_UNSUPPORTED``).
"""

from __future__ import annotations

import base64
import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import cbor2
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519

from quarantine.core.cose import (
    HEADER_ALG,
    CoseError,
    Sign1,
    check_alg,
    decode_sign1,
    sig_structure,
)
from quarantine.core.keys import ALG_EDDSA, ALG_ES256, PublicKey
from quarantine.errors import InputError

REPO_ROOT: Final = Path(__file__).resolve().parents[2]
VECTORS: Final = REPO_ROOT.parent / "shared" / "vectors"
COSE_WG: Final = VECTORS / "cose-wg"
FOLDERS: Final = ("sign1-tests", "eddsa-examples", "ecdsa-examples")

pytestmark = pytest.mark.skipif(
    not VECTORS.is_dir(),
    reason=f"public test vectors not found at {VECTORS} (expected <repo>/../shared/vectors)",
)

TAG_SIGN1: Final = 18
TAG_SIGN: Final = 98
VERIFIED: Final = "VERIFIED"
SIGNATURE_INVALID: Final = "SIGNATURE_INVALID"

#: COSE algorithm names used in the examples → their COSE identifiers.
ALG_IDS: Final = {"EdDSA": ALG_EDDSA, "ES256": ALG_ES256, "ES384": -35, "ES512": -36}

#: (stage, result) of the pipeline for every COSE_Sign1 vector (cose-wg commit 53c9d634).
EXPECTED: Final[dict[str, tuple[str, str]]] = {
    "ecdsa-examples/ecdsa-sig-01": ("verify", VERIFIED),
    # ES384 with a P-384 key: algorithm not accepted.
    "ecdsa-examples/ecdsa-sig-02": ("check_alg", "ALG_NOT_ALLOWED"),
    # ES512 with a P-521 key: algorithm not accepted.
    "ecdsa-examples/ecdsa-sig-03": ("check_alg", "ALG_NOT_ALLOWED"),
    # ES512 (SHA-512) with a P-256 key: algorithm not accepted.
    "ecdsa-examples/ecdsa-sig-04": ("check_alg", "ALG_NOT_ALLOWED"),
    "eddsa-examples/eddsa-sig-01": ("verify", VERIFIED),
    # Ed448 under alg -8 "EdDSA": refused by its 114-byte signature (see module doc).
    "eddsa-examples/eddsa-sig-02": ("check_alg", "SIGNATURE_LENGTH"),
    # Tag 998 instead of 18: no tag other than 18 is accepted.
    "sign1-tests/sign-fail-01": ("decode", "CBOR_MALFORMED"),
    # Payload changed after signing.
    "sign1-tests/sign-fail-02": ("verify", SIGNATURE_INVALID),
    # Protected alg changed to -999.
    "sign1-tests/sign-fail-03": ("check_alg", "ALG_NOT_ALLOWED"),
    # Protected alg changed to the string "unknown".
    "sign1-tests/sign-fail-04": ("check_alg", "ALG_NOT_ALLOWED"),
    # A protected header parameter added after signing.
    "sign1-tests/sign-fail-06": ("verify", SIGNATURE_INVALID),
    # A protected header parameter removed after signing.
    "sign1-tests/sign-fail-07": ("verify", SIGNATURE_INVALID),
    # COSE pass case, refused on purpose: alg only in the unprotected header.
    "sign1-tests/sign-pass-01": ("decode", "COSE_ALG_UNPROTECTED"),
    # External AAD.
    "sign1-tests/sign-pass-02": ("verify", VERIFIED),
    # Untagged COSE_Sign1.
    "sign1-tests/sign-pass-03": ("verify", VERIFIED),
}

#: Pass-case vectors that the project refuses because it is stricter than COSE,
#: with the reason code.
STRICTER_THAN_COSE: Final = {"sign1-tests/sign-pass-01": "COSE_ALG_UNPROTECTED"}

#: COSE_Sign (multi-signer) files, identified by structure; never run as Sign1.
MULTI_SIGNER: Final = frozenset(
    {
        "ecdsa-examples/ecdsa-01",
        "ecdsa-examples/ecdsa-02",
        "ecdsa-examples/ecdsa-03",
        "ecdsa-examples/ecdsa-04",
        "eddsa-examples/eddsa-01",
        "eddsa-examples/eddsa-02",
    }
)


@dataclass(frozen=True)
class Vector:
    """One cose-wg example file."""

    name: str
    data: Mapping[str, Any]

    @property
    def fail(self) -> bool:
        return bool(self.data.get("fail", False))

    @property
    def raw(self) -> bytes:
        return bytes.fromhex(self.data["output"]["cbor"])

    @property
    def sign0(self) -> Mapping[str, Any]:
        sign0: Mapping[str, Any] = self.data["input"]["sign0"]
        return sign0

    @property
    def external(self) -> bytes:
        return bytes.fromhex(self.sign0.get("external", ""))

    @property
    def to_be_signed_hex(self) -> str | None:
        value = self.data.get("intermediates", {}).get("ToBeSign_hex")
        return None if value is None else str(value)

    @property
    def alg_name(self) -> str:
        """The algorithm the example says it signs with."""
        alg = self.sign0.get("alg") or self.sign0.get("protected", {}).get("alg")
        assert isinstance(alg, str), self.name
        return alg

    @property
    def supported(self) -> bool:
        """Alg and key are both ones the project accepts."""
        key = self.sign0["key"]
        curve_ok = (key["kty"], key["crv"]) in {("OKP", "Ed25519"), ("EC", "P-256")}
        return curve_ok and self.alg_name in {"EdDSA", "ES256"}


def _all_vectors() -> list[Vector]:
    out: list[Vector] = []
    for folder in FOLDERS:
        directory = COSE_WG / folder
        if not directory.is_dir():
            continue
        for path in sorted(directory.glob("*.json")):
            data = json.loads(path.read_text(encoding="utf-8"))
            out.append(Vector(f"{folder}/{path.stem}", data))
    return out


ALL: Final = _all_vectors()


def structure(raw: bytes) -> str:
    """``"COSE_Sign1"`` or ``"COSE_Sign"``, from the CBOR shape (lenient, test-side parse)."""
    item = cbor2.loads(raw)
    tag: int | None = None
    if isinstance(item, cbor2.CBORTag):
        tag, item = item.tag, item.value
    # cbor2 decodes a tagged item immutably: arrays come back as tuples.
    assert isinstance(item, (list, tuple)), "a COSE message is an array"
    assert len(item) == 4, "COSE_Sign and COSE_Sign1 are arrays of four items"
    last = item[3]
    if isinstance(last, (list, tuple)):
        assert tag in (None, TAG_SIGN)
        assert all(isinstance(s, (list, tuple)) and len(s) == 3 for s in last), "COSE_Signature"
        return "COSE_Sign"
    assert isinstance(last, bytes), "a COSE_Sign1 signature is a bstr"
    return "COSE_Sign1"


SIGN1: Final = [v for v in ALL if structure(v.raw) == "COSE_Sign1"]
MULTI: Final = [v for v in ALL if structure(v.raw) == "COSE_Sign"]


def _b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _coordinate(jwk: Mapping[str, Any], name: str) -> bytes:
    if name in jwk:
        return _b64url(str(jwk[name]))
    return bytes.fromhex(str(jwk[f"{name}_hex"]))


_CURVES: Final[dict[str, ec.EllipticCurve]] = {
    "P-256": ec.SECP256R1(),
    "P-384": ec.SECP384R1(),
    "P-521": ec.SECP521R1(),
}


def jwk_spki(jwk: Mapping[str, Any]) -> bytes:
    """SubjectPublicKeyInfo DER of a JWK public key (OKP Ed25519/Ed448, EC P-256/384/521)."""
    key: Any
    if jwk["kty"] == "OKP":
        raw = _coordinate(jwk, "x")
        if jwk["crv"] == "Ed25519":
            key = ed25519.Ed25519PublicKey.from_public_bytes(raw)
        else:
            assert jwk["crv"] == "Ed448", jwk["crv"]
            key = ed448.Ed448PublicKey.from_public_bytes(raw)
    else:
        assert jwk["kty"] == "EC", jwk["kty"]
        numbers = ec.EllipticCurvePublicNumbers(
            int.from_bytes(_coordinate(jwk, "x"), "big"),
            int.from_bytes(_coordinate(jwk, "y"), "big"),
            _CURVES[jwk["crv"]],
        )
        key = numbers.public_key()
    spki: bytes = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return spki


def key_of(vector: Vector) -> PublicKey:
    """The verification key, through the layer's own import."""
    return PublicKey.from_spki(jwk_spki(vector.sign0["key"]))


def pipeline(vector: Vector) -> tuple[str, str]:
    """Run the verifier's steps; return the stage that decided and its result."""
    try:
        msg = decode_sign1(vector.raw)
    except CoseError as exc:
        return ("decode", exc.code)
    try:
        check_alg(msg)
    except CoseError as exc:
        return ("check_alg", exc.code)
    ok = msg.verify_with(key_of(vector), vector.external)
    return ("verify", VERIFIED if ok else SIGNATURE_INVALID)


def _decoded(vector: Vector) -> Sign1 | None:
    try:
        return decode_sign1(vector.raw)
    except CoseError:
        return None


# --- inventory ----------------------------------------------------------------------------


def test_inventory_every_file_is_accounted_for() -> None:
    names = [v.name for v in ALL]
    assert len(names) == len(set(names))
    assert len(ALL) == 21
    assert len(SIGN1) == 15
    assert len(MULTI) == 6
    assert len(SIGN1) + len(MULTI) == len(ALL), "a file is neither COSE_Sign1 nor COSE_Sign"
    assert {v.name for v in SIGN1} == set(EXPECTED), "EXPECTED must cover every Sign1 vector"
    assert {v.name for v in MULTI} == MULTI_SIGNER
    assert Counter(v.fail for v in SIGN1) == Counter({False: 9, True: 6})
    # The input section agrees with the structure.
    assert all("sign0" in v.data["input"] for v in SIGN1)
    assert all("sign" in v.data["input"] and "sign0" not in v.data["input"] for v in MULTI)


# --- COSE_Sign1 vectors ------------------------------------------------------------------


@pytest.mark.parametrize("vector", SIGN1, ids=lambda v: v.name)
def test_sign1_vector(vector: Vector) -> None:
    stage, result = pipeline(vector)
    assert (stage, result) == EXPECTED[vector.name]

    if vector.fail:
        assert result != VERIFIED, f"{vector.name}: a fail case verified"
    elif vector.name in STRICTER_THAN_COSE:
        assert (stage, result) == ("decode", STRICTER_THAN_COSE[vector.name])
    elif not vector.supported:
        assert stage == "check_alg"
        assert result in {"ALG_NOT_ALLOWED", "SIGNATURE_LENGTH"}
    else:
        assert result == VERIFIED, f"{vector.name}: a pass case did not verify"


@pytest.mark.parametrize("vector", SIGN1, ids=lambda v: v.name)
def test_sign1_to_be_signed_matches_intermediates(vector: Vector) -> None:
    msg = _decoded(vector)
    expected_hex = vector.to_be_signed_hex
    assert expected_hex is not None, f"{vector.name}: every Sign1 example gives ToBeSign_hex"
    if msg is None:
        # Refused before a Sig_structure exists (sign-fail-01, sign-pass-01).
        assert EXPECTED[vector.name][0] == "decode"
        return
    got = msg.to_be_signed(vector.external).hex().upper()
    if vector.fail:
        # The intermediates are those of the message *before* it was broken; each
        # decodable fail case was broken inside what is signed.
        assert got != expected_hex.upper(), vector.name
    else:
        assert got == expected_hex.upper(), vector.name
    # The Sig_structure is built from the bytes on the wire, not a re-encoding.
    assert msg.to_be_signed(vector.external) == sig_structure(
        msg.protected_bytes, msg.payload, vector.external
    )


@pytest.mark.parametrize("vector", SIGN1, ids=lambda v: v.name)
def test_sign1_kid_is_read_from_the_headers(vector: Vector) -> None:
    msg = _decoded(vector)
    if msg is None:
        assert EXPECTED[vector.name][0] == "decode"
        return
    assert msg.kid == str(vector.sign0["key"]["kid"]).encode("utf-8")


UNSUPPORTED: Final = [v for v in SIGN1 if not v.supported]


def test_unsupported_algorithm_vectors_are_listed() -> None:
    assert sorted(v.name for v in UNSUPPORTED) == [
        "ecdsa-examples/ecdsa-sig-02",
        "ecdsa-examples/ecdsa-sig-03",
        "ecdsa-examples/ecdsa-sig-04",
        "eddsa-examples/eddsa-sig-02",
    ]


@pytest.mark.parametrize("vector", UNSUPPORTED, ids=lambda v: v.name)
def test_unsupported_algorithm_is_refused_by_check_alg(vector: Vector) -> None:
    """Keys we do not accept are not used; ``check_alg`` refuses the message itself."""
    jwk = vector.sign0["key"]
    if (jwk["kty"], jwk["crv"]) not in {("OKP", "Ed25519"), ("EC", "P-256")}:
        with pytest.raises(InputError) as key_exc:
            key_of(vector)
        assert key_exc.value.code == "KEY_UNSUPPORTED"
    msg = decode_sign1(vector.raw)
    with pytest.raises(CoseError) as exc:
        check_alg(msg)
    alg_id = ALG_IDS[vector.alg_name]
    assert msg.alg == alg_id
    if alg_id in (ALG_EDDSA, ALG_ES256):
        # Ed448 shares alg -8 with Ed25519; its 114-byte signature is what is refused.
        assert jwk["crv"] == "Ed448"
        assert len(msg.signature) == 114
        assert exc.value.code == "SIGNATURE_LENGTH"
    else:
        assert exc.value.code == "ALG_NOT_ALLOWED"
    if jwk["crv"] == "P-256":
        # ecdsa-sig-04: a P-256 key but alg ES512; verify_with refuses the mismatch too.
        assert msg.verify_with(key_of(vector), vector.external) is False


def _raw_headers(raw: bytes) -> tuple[bytes, Mapping[Any, Any], Mapping[Any, Any]]:
    """Protected bytes and both header maps, parsed leniently (test-side)."""
    item = cbor2.loads(raw)
    if isinstance(item, cbor2.CBORTag):
        item = item.value
    protected_bytes = item[0]
    protected = cbor2.loads(protected_bytes) if protected_bytes else {}
    return protected_bytes, protected, item[1]


def test_pass_vectors_with_alg_only_unprotected_are_refused_on_purpose() -> None:
    """COSE allows ``alg`` in the unprotected bucket; our payloads do not."""
    listed = []
    for vector in SIGN1:
        if vector.fail:
            continue
        _, protected, unprotected = _raw_headers(vector.raw)
        if HEADER_ALG in unprotected and HEADER_ALG not in protected:
            listed.append(vector.name)
    assert listed == ["sign1-tests/sign-pass-01"]
    assert set(listed) == set(STRICTER_THAN_COSE)

    vector = next(v for v in SIGN1 if v.name == "sign1-tests/sign-pass-01")
    with pytest.raises(CoseError) as exc:
        decode_sign1(vector.raw)
    assert exc.value.code == "COSE_ALG_UNPROTECTED"

    # Documentation of the vector itself: the signature is valid over the
    # intermediates' Sig_structure (zero-length protected bstr) but not over the
    # protected bytes actually transmitted (h'a0').
    protected_bytes, _, _ = _raw_headers(vector.raw)
    assert protected_bytes == b"\xa0"
    item = cbor2.loads(vector.raw).value
    payload, signature = item[2], item[3]
    key = key_of(vector)
    tbs_hex = vector.to_be_signed_hex
    assert tbs_hex is not None
    assert sig_structure(b"", payload) == bytes.fromhex(tbs_hex)
    assert key.verify(signature, bytes.fromhex(tbs_hex)) is True
    assert key.verify(signature, sig_structure(protected_bytes, payload)) is False


def test_supported_keys_import_with_the_right_algorithm() -> None:
    for vector in SIGN1:
        jwk = vector.sign0["key"]
        if (jwk["kty"], jwk["crv"]) == ("OKP", "Ed25519"):
            assert key_of(vector).alg == ALG_EDDSA, vector.name
        elif (jwk["kty"], jwk["crv"]) == ("EC", "P-256"):
            assert key_of(vector).alg == ALG_ES256, vector.name


# --- COSE_Sign (multi-signer) files: skipped as Sign1 vectors, but refused --------------


@pytest.mark.parametrize("vector", MULTI, ids=lambda v: v.name)
def test_multi_signer_file_is_refused_by_decode_sign1(vector: Vector) -> None:
    item = cbor2.loads(vector.raw)
    assert isinstance(item, cbor2.CBORTag)
    assert item.tag == TAG_SIGN
    with pytest.raises(CoseError) as exc:
        decode_sign1(vector.raw)
    # cbor2 decodes a tag's content before the tag hook sees the tag, and the tag
    # counts as one nesting level: the signer array is deeper than decode_sign1's
    # max_depth of 4 allows, so the depth limit trips first.
    assert exc.value.code == "CBOR_TOO_DEEP"
    with pytest.raises(CoseError) as deep:
        decode_sign1(vector.raw, max_depth=16)
    assert deep.value.code == "CBOR_MALFORMED"  # then tag 98 itself is refused
    # Untagged, the array of signers is not a signature bstr.
    with pytest.raises(CoseError) as untagged:
        decode_sign1(cbor2.dumps(item.value))
    assert untagged.value.code == "COSE_MALFORMED"


# --- the sweep: every file, counted ------------------------------------------------------


def test_sweep_counts_every_vector() -> None:
    ran = 0
    outcomes: Counter[str] = Counter()
    for vector in ALL:
        ran += 1
        if structure(vector.raw) == "COSE_Sign":
            outcomes["multi-signer (refused, not run as Sign1)"] += 1
            with pytest.raises(CoseError):
                decode_sign1(vector.raw)
            continue
        stage, result = pipeline(vector)
        assert (stage, result) == EXPECTED[vector.name], vector.name
        if vector.fail:
            assert result != VERIFIED, vector.name
            outcomes["fail case rejected"] += 1
        elif result == VERIFIED:
            outcomes["pass case verified"] += 1
        elif vector.name in STRICTER_THAN_COSE:
            outcomes["pass case refused: stricter than COSE"] += 1
        else:
            assert not vector.supported, vector.name
            outcomes["pass case refused: algorithm not accepted"] += 1

    assert ran == len(ALL) == 21
    assert outcomes == Counter(
        {
            "pass case verified": 4,
            "pass case refused: algorithm not accepted": 4,
            "pass case refused: stricter than COSE": 1,
            "fail case rejected": 6,
            "multi-signer (refused, not run as Sign1)": 6,
        }
    )
