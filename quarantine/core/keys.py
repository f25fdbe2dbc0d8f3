"""Signing and verification keys (Ed25519 by default, ES256 accepted).

``kid`` is the first 8 bytes of SHA-256 over the key's SubjectPublicKeyInfo
(DESIGN §4).  ES256 signatures are exactly 64 bytes r‖s; anything else is
refused before any arithmetic.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Final, cast

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from nacl.bindings import crypto_sign_open
from nacl.exceptions import BadSignatureError
from nacl.exceptions import ValueError as NaclValueError

from quarantine.errors import InputError

ALG_EDDSA: Final = -8
ALG_ES256: Final = -7
ALG_NAMES: Final = {ALG_EDDSA: "EdDSA", ALG_ES256: "ES256"}
_P256_ORDER_BYTES: Final = 32

PublicKeyObject = ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey
PrivateKeyObject = ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey


class KeyError_(InputError):
    """A key that cannot be used."""


def _ed25519_verify(signature: bytes, message: bytes, raw_key: bytes) -> bool:

    try:
        crypto_sign_open(signature + message, raw_key)
    except (BadSignatureError, NaclValueError):
        return False
    return True


def kid_of(spki_der: bytes) -> bytes:
    """The 8-byte key identifier of a SubjectPublicKeyInfo."""
    return hashlib.sha256(spki_der).digest()[:8]


def _alg_of(key: object) -> int:
    if isinstance(key, ed25519.Ed25519PublicKey):
        return ALG_EDDSA
    if isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1):
        return ALG_ES256
    raise KeyError_(
        "KEY_UNSUPPORTED", "不支持的密钥类型", "only Ed25519 and P-256 keys are supported"
    )


@dataclass(frozen=True)
class PublicKey:
    """A verification key with its algorithm and kid."""

    key: PublicKeyObject = field(repr=False, compare=False)
    spki_der: bytes
    alg: int
    kid: bytes
    #: The 32-byte Ed25519 key as libsodium takes it (derived from ``key``; empty for P-256).
    raw: bytes = field(default=b"", repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.raw and isinstance(self.key, ed25519.Ed25519PublicKey):
            raw = self.key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
            object.__setattr__(self, "raw", raw)

    @classmethod
    def from_object(cls, key: PublicKeyObject) -> PublicKey:
        spki = key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return cls(key=key, spki_der=spki, alg=_alg_of(key), kid=kid_of(spki))

    @classmethod
    def from_spki(cls, spki_der: bytes) -> PublicKey:
        try:
            key = serialization.load_der_public_key(spki_der)
        except (ValueError, TypeError) as exc:
            raise KeyError_(
                "KEY_MALFORMED", "公钥无法解析", f"public key cannot be parsed: {exc}"
            ) from exc
        if not isinstance(key, (ed25519.Ed25519PublicKey, ec.EllipticCurvePublicKey)):
            raise KeyError_(
                "KEY_UNSUPPORTED", "不支持的密钥类型", "only Ed25519 and P-256 keys are supported"
            )
        return cls.from_object(key)

    @classmethod
    def from_pem(cls, pem: bytes) -> PublicKey:
        try:
            key = serialization.load_pem_public_key(pem)
        except (ValueError, TypeError) as exc:
            raise KeyError_(
                "KEY_MALFORMED", "公钥无法解析", f"public key cannot be parsed: {exc}"
            ) from exc
        if not isinstance(key, (ed25519.Ed25519PublicKey, ec.EllipticCurvePublicKey)):
            raise KeyError_(
                "KEY_UNSUPPORTED", "不支持的密钥类型", "only Ed25519 and P-256 keys are supported"
            )
        return cls.from_object(key)

    def to_pem(self) -> bytes:
        return self.key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def verify(self, signature: bytes, message: bytes) -> bool:
        """True only for a valid signature in COSE form (Ed25519 or ES256 r‖s).

        Ed25519 signatures are checked by libsodium (PyNaCl), which does the same check
        as OpenSSL about 1.7 times faster — the signature is most of a verification's
        cost — and is strict where RFC 8032 leaves room: non-canonical ``S``, and
        small-order or non-canonical keys and ``R``, are refused (the Wycheproof vectors
        in tests/core/test_vectors_wycheproof.py hold it to that).
        """
        if len(signature) != 64:
            return False
        # ``alg`` is derived from the key's type; comparing it is cheaper than isinstance
        # against cryptography's abstract classes on every verification.
        if self.alg == ALG_EDDSA:
            # libsodium reads 32 key bytes whatever it is given: never hand it fewer.
            return len(self.raw) == 32 and _ed25519_verify(signature, message, self.raw)
        r = int.from_bytes(signature[:_P256_ORDER_BYTES], "big")
        s = int.from_bytes(signature[_P256_ORDER_BYTES:], "big")
        try:
            cast("ec.EllipticCurvePublicKey", self.key).verify(
                encode_dss_signature(r, s), message, ec.ECDSA(hashes.SHA256())
            )
        except InvalidSignature:
            return False
        return True


@dataclass(frozen=True)
class Signer:
    """A private key that signs in COSE form."""

    key: PrivateKeyObject = field(repr=False)
    public: PublicKey

    @classmethod
    def from_object(cls, key: PrivateKeyObject) -> Signer:
        return cls(key=key, public=PublicKey.from_object(key.public_key()))

    @classmethod
    def generate(cls, alg: int = ALG_EDDSA) -> Signer:
        if alg == ALG_EDDSA:
            return cls.from_object(ed25519.Ed25519PrivateKey.generate())
        if alg == ALG_ES256:
            return cls.from_object(ec.generate_private_key(ec.SECP256R1()))
        raise KeyError_("ALG_UNSUPPORTED", "不支持的算法", f"unsupported algorithm {alg}")

    @classmethod
    def from_pem(cls, pem: bytes, password: bytes | None) -> Signer:
        try:
            key = serialization.load_pem_private_key(pem, password=password)
        except (ValueError, TypeError) as exc:
            raise KeyError_(
                "KEY_MALFORMED",
                "私钥无法读取（口令错误或格式无效）",
                f"private key cannot be read: {exc}",
            ) from exc
        if not isinstance(key, (ed25519.Ed25519PrivateKey, ec.EllipticCurvePrivateKey)):
            raise KeyError_(
                "KEY_UNSUPPORTED", "不支持的密钥类型", "only Ed25519 and P-256 keys are supported"
            )
        return cls.from_object(key)

    def to_pem(self, password: bytes | None) -> bytes:
        encryption: serialization.KeySerializationEncryption = (
            serialization.BestAvailableEncryption(password)
            if password
            else serialization.NoEncryption()
        )
        return self.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
        )

    @property
    def alg(self) -> int:
        return self.public.alg

    @property
    def kid(self) -> bytes:
        return self.public.kid

    def sign(self, message: bytes) -> bytes:
        if isinstance(self.key, ed25519.Ed25519PrivateKey):
            return self.key.sign(message)
        # RFC 6979 deterministic nonces: no dependence on the RNG at signing time.
        der = self.key.sign(message, ec.ECDSA(hashes.SHA256(), deterministic_signing=True))
        r, s = decode_dss_signature(der)
        return r.to_bytes(_P256_ORDER_BYTES, "big") + s.to_bytes(_P256_ORDER_BYTES, "big")
