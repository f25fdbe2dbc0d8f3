"""Turning a certificate into its signed QR text, and back into COSE bytes."""

from __future__ import annotations

from dataclasses import dataclass

from quarantine.core import codec, compress, cose, qrtext
from quarantine.core.keys import Signer
from quarantine.core.model import Certificate


@dataclass(frozen=True)
class SignedCertificate:
    certificate: Certificate
    cose: bytes  # COSE_Sign1
    payload: bytes  # format byte + (compressed) COSE
    text: str  # the QR text


def sign_certificate(
    cert: Certificate, signer: Signer, *, base_url: str, compress_payload: bool = True
) -> SignedCertificate:
    """Sign the roadside view of ``cert`` and wrap it as a QR text."""
    content = codec.encode_content(cert)
    signed = cose.encode_sign1(content, signer)
    payload = compress.pack(signed, compress=compress_payload)
    return SignedCertificate(cert, signed, payload, qrtext.encode(base_url, payload))
