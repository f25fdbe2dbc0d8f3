"""COSE_Sign1 (RFC 9052) for EdDSA (-8) and ES256 (-7).

Written on top of ``cbor2`` and ``cryptography`` rather than a COSE library:
the verifier needs strict rules that general libraries leave open (exactly one
item with no trailing bytes, signature lengths checked before any arithmetic,
``alg`` only from the protected header, no ``crit``), and the hot path must
cost little next to the signature check itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from quarantine.core import cbor
from quarantine.core.keys import ALG_EDDSA, ALG_ES256, PublicKey, Signer
from quarantine.errors import InputError

HEADER_ALG: Final = 1
HEADER_CRIT: Final = 2
HEADER_CONTENT_TYPE: Final = 3
HEADER_KID: Final = 4
TAG_SIGN1: Final = 18
SUPPORTED_ALGS: Final = frozenset({ALG_EDDSA, ALG_ES256})


class CoseError(InputError):
    """A COSE structure that is not acceptable."""


@dataclass(frozen=True)
class Sign1:
    """A decoded COSE_Sign1 message (signature not yet checked)."""

    protected_bytes: bytes
    protected: dict[Any, Any]
    unprotected: dict[Any, Any]
    payload: bytes
    signature: bytes

    @property
    def alg(self) -> Any:
        return self.protected.get(HEADER_ALG)

    @property
    def kid(self) -> bytes | None:
        kid = self.protected.get(HEADER_KID, self.unprotected.get(HEADER_KID))
        return kid if isinstance(kid, bytes) else None

    def to_be_signed(self, external_aad: bytes = b"") -> bytes:
        return sig_structure(self.protected_bytes, self.payload, external_aad)

    def verify_with(self, key: PublicKey, external_aad: bytes = b"") -> bool:
        """True when ``key`` made this signature with the protected ``alg``."""
        if type(self.alg) is not int or self.alg != key.alg:
            return False
        return key.verify(self.signature, self.to_be_signed(external_aad))


def sig_structure(protected_bytes: bytes, payload: bytes, external_aad: bytes = b"") -> bytes:
    """The ``Sig_structure`` for COSE_Sign1 (RFC 9052 §4.4)."""
    return cbor.dumps(["Signature1", protected_bytes, external_aad, payload])


def decode_sign1(data: bytes, *, max_depth: int = 4) -> Sign1:
    """Parse a COSE_Sign1, tagged (18) or not; check shapes and headers, not the signature."""
    if data[:1] == bytes([0xC0 | TAG_SIGN1]):  # tag 18 in its one-byte form
        data = data[1:]
    try:
        item = cbor.strict_loads(data, max_depth=max_depth, what="COSE_Sign1")
    except InputError as exc:
        raise CoseError(exc.code, exc.message_zh, exc.message_en) from exc
    if not isinstance(item, list) or len(item) != 4:
        raise CoseError(
            "COSE_MALFORMED", "签名结构无效", "COSE_Sign1 must be an array of four items"
        )
    protected_bytes, unprotected, payload, signature = item
    if not isinstance(protected_bytes, bytes) or not isinstance(unprotected, dict):
        raise CoseError("COSE_MALFORMED", "签名结构无效", "COSE_Sign1 headers are malformed")
    if not isinstance(payload, bytes):
        raise CoseError(
            "COSE_MALFORMED", "签名结构无效", "COSE_Sign1 payload must be attached bytes"
        )
    if not isinstance(signature, bytes):
        raise CoseError("COSE_MALFORMED", "签名结构无效", "COSE_Sign1 signature must be bytes")
    protected: dict[Any, Any] = {}
    if protected_bytes:
        try:
            decoded = cbor.strict_loads(protected_bytes, max_depth=3, what="protected header")
        except InputError as exc:
            raise CoseError("COSE_BAD_PROTECTED", "受保护头部无效", exc.message_en) from exc
        if not isinstance(decoded, dict):
            raise CoseError(
                "COSE_BAD_PROTECTED", "受保护头部无效", "protected header must be a map"
            )
        protected = decoded
    if set(protected) & set(unprotected):
        raise CoseError(
            "COSE_DUPLICATE_HEADER",
            "头部参数重复",
            "a header parameter is both protected and unprotected",
        )
    if HEADER_CRIT in protected or HEADER_CRIT in unprotected:
        raise CoseError(
            "COSE_CRIT", "含有不支持的关键头部参数", "critical header parameters are not supported"
        )
    if HEADER_ALG in unprotected:
        raise CoseError(
            "COSE_ALG_UNPROTECTED", "算法参数必须受保护", "alg must be in the protected header"
        )
    return Sign1(protected_bytes, protected, unprotected, payload, signature)


def check_alg(msg: Sign1) -> int:
    """The protected ``alg`` if it is one we accept; ``CoseError`` otherwise."""
    alg = msg.alg
    if type(alg) is not int or alg not in SUPPORTED_ALGS:
        raise CoseError(
            "ALG_NOT_ALLOWED", "签名算法不被接受", f"signature algorithm {alg!r} is not accepted"
        )
    if alg == ALG_ES256 and len(msg.signature) != 64:
        raise CoseError(
            "SIGNATURE_LENGTH",
            "ES256 签名长度必须为 64 字节",
            "an ES256 signature must be exactly 64 bytes r‖s",
        )
    if alg == ALG_EDDSA and len(msg.signature) != 64:
        raise CoseError(
            "SIGNATURE_LENGTH",
            "EdDSA 签名长度必须为 64 字节",
            "an Ed25519 signature must be exactly 64 bytes",
        )
    return int(alg)


def encode_sign1(
    payload: bytes, signer: Signer, *, extra_protected: dict[int, Any] | None = None
) -> bytes:
    """Sign ``payload``; ``alg`` and ``kid`` go into the protected header (untagged)."""
    protected = {HEADER_ALG: signer.alg, HEADER_KID: signer.kid, **(extra_protected or {})}
    protected_bytes = cbor.dumps(protected)
    signature = signer.sign(sig_structure(protected_bytes, payload))
    return cbor.dumps([protected_bytes, {}, payload, signature])
