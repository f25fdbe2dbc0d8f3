"""Instruction counts of offline verification, repeatable on a loaded machine.

    valgrind --tool=callgrind --callgrind-out-file=/dev/null \
        .venv/bin/python bench/callgrind_core.py full 400
    (the same with ``full 200`` and ``raw 0``/``raw 200``)

``MODE N`` verifies the reference certificate's QR text ``N`` times (``full``) or
runs the raw ``cryptography`` Ed25519 verify of its signature ``N`` times
(``raw``).  Per-call instructions = (count at N − count at a smaller N) / ΔN;
subtracting a run with fewer iterations removes start-up and set-up.
"""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ed25519

from quarantine.core import compress, cose, qrtext
from quarantine.core.document import from_document
from quarantine.core.keys import Signer
from quarantine.core.model import CHINA_TZ
from quarantine.core.signing import sign_certificate
from quarantine.core.trust import Member, TrustedKey, TrustList
from quarantine.core.verify import verify_text

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT.parent / "shared" / "reference" / "reference-transport-certificate.json"


def main() -> None:
    mode, n = sys.argv[1], int(sys.argv[2])
    path = REFERENCE if REFERENCE.exists() else ROOT / "samples" / "input" / "transport-inter.json"
    cert = replace(from_document(json.loads(path.read_text("utf-8"))), salt=b"\0" * 16)
    signer = Signer.from_object(ed25519.Ed25519PrivateKey.from_private_bytes(b"\1" * 32))
    now = datetime(2026, 12, 1, 12, 0, tzinfo=CHINA_TZ)
    start = datetime(2025, 1, 1, tzinfo=CHINA_TZ)
    members = tuple(
        Member(r, r, r, start.date(), hosts=("127.0.0.1:8000",))
        for r in ("310000", "320000", "330000", "340000")
    )
    trust = TrustList(
        1,
        start,
        datetime(2029, 1, 1, tzinfo=UTC),
        members,
        (TrustedKey("330000", signer.public, start),),
    )
    text = sign_certificate(cert, signer, base_url="http://127.0.0.1:8000").text
    msg = cose.decode_sign1(compress.unpack(qrtext.decode(text).payload))
    tbs, sig, key = msg.to_be_signed(), msg.signature, signer.public.key
    assert isinstance(key, ed25519.Ed25519PublicKey)
    verify_text(text, trust=trust, now=now)  # warm both paths once
    key.verify(sig, tbs)
    if mode == "raw":
        for _ in range(n):
            key.verify(sig, tbs)
    else:
        for _ in range(n):
            verify_text(text, trust=trust, now=now)


if __name__ == "__main__":
    main()
