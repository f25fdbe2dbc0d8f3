"""Core benchmark: sign+encode and decode+verify of the reference certificate.

    python bench/bench_core.py [--rounds 15] [--loops 2000]

Everything runs on one core in one process.  Each round times, back to back,
(a) the raw ``cryptography`` (OpenSSL) Ed25519 verify of the same signature, (a')
the raw libsodium verify (PyNaCl ``crypto_sign_open``, the check verification
itself makes), (b) the full offline verification of the QR text (digits → bytes →
COSE → CBOR → signature → rules) and (c) sign+encode; rounds are interleaved so
machine noise hits all alike, and the ratios b/a and b/a' are taken per round.  The CLI's
cold start is timed with fresh processes against ``python -c pass``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
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
from quarantine.core.verify import Verdict, verify_text

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT.parent / "shared" / "reference" / "reference-transport-certificate.json"


def per_call_us(func: Callable[[], object], loops: int) -> float:
    start = time.perf_counter()
    for _ in range(loops):
        func()
    return (time.perf_counter() - start) / loops * 1e6


def cold_start_ms(argv: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, check=False, capture_output=True)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--loops", type=int, default=2000)
    parser.add_argument("--cold-runs", type=int, default=15)
    args = parser.parse_args()

    path = REFERENCE if REFERENCE.exists() else ROOT / "samples" / "input" / "transport-inter.json"
    cert = replace(from_document(json.loads(path.read_text("utf-8"))), salt=b"\x00" * 16)
    signer = Signer.generate()
    now = datetime(2026, 12, 1, 12, 0, tzinfo=CHINA_TZ)
    start = datetime(2025, 1, 1, tzinfo=CHINA_TZ)
    members = tuple(
        Member(r, r, r, start.date(), hosts=("127.0.0.1:8000",))
        for r in ("310000", "320000", "330000", "340000")
    )
    others = tuple(
        TrustedKey(r, Signer.generate().public, start) for r in ("310000", "320000", "340000")
    )
    trust = TrustList(
        1,
        start,
        datetime(2029, 1, 1, tzinfo=UTC),
        members,
        (*others, TrustedKey("330000", signer.public, start)),
    )

    signed = sign_certificate(cert, signer, base_url="http://127.0.0.1:8000")
    text = signed.text
    assert verify_text(text, trust=trust, now=now).verdict is Verdict.VALID
    msg = cose.decode_sign1(compress.unpack(qrtext.decode(text).payload))
    tbs, signature, raw_key = msg.to_be_signed(), msg.signature, signer.public.key
    assert isinstance(raw_key, ed25519.Ed25519PublicKey)

    from nacl.bindings import crypto_sign_open

    raw_bytes, signed_message = signer.public.raw, signature + tbs
    raw, sodium, full, sign, ratios, sodium_ratios = [], [], [], [], [], []
    for _ in range(args.rounds):
        a = per_call_us(lambda: raw_key.verify(signature, tbs), args.loops)
        a2 = per_call_us(lambda: crypto_sign_open(signed_message, raw_bytes), args.loops)
        b = per_call_us(lambda: verify_text(text, trust=trust, now=now), args.loops)
        c = per_call_us(
            lambda: sign_certificate(cert, signer, base_url="http://127.0.0.1:8000"),
            args.loops // 4,
        )
        raw.append(a)
        sodium.append(a2)
        full.append(b)
        sign.append(c)
        ratios.append(b / a)
        sodium_ratios.append(b / a2)

    cli = [sys.executable, "-m", "quarantine", "verify", "--now", now.isoformat(), text]
    bare = [sys.executable, "-c", "pass"]
    cold_cli = cold_start_ms(cli, args.cold_runs)
    cold_bare = cold_start_ms(bare, args.cold_runs)

    cpu = next(
        (
            ln.split(":", 1)[1].strip()
            for ln in Path("/proc/cpuinfo").read_text().splitlines()
            if ln.startswith("model name")
        ),
        platform.processor(),
    )
    print(
        f"machine: {cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.platform()}"
    )
    print(f"date: {datetime.now(UTC).isoformat(timespec='seconds')}")
    print(f"command: python bench/bench_core.py --rounds {args.rounds} --loops {args.loops}")
    print(f"QR text {len(text)} characters, payload {len(signed.payload)} bytes")
    print()
    print("| measure | median | min |")
    print("|---|---:|---:|")
    print(
        f"| raw Ed25519 verify (cryptography) | {statistics.median(raw):.1f} µs | {min(raw):.1f} µs |"
    )
    print(
        f"| raw Ed25519 verify (libsodium, as verification does it) | {statistics.median(sodium):.1f} µs | {min(sodium):.1f} µs |"
    )
    print(
        f"| offline verify of the QR text | {statistics.median(full):.1f} µs | {min(full):.1f} µs |"
    )
    print(f"| sign + encode | {statistics.median(sign):.1f} µs | {min(sign):.1f} µs |")
    print(
        f"| ratio verify / raw cryptography (per round) | {statistics.median(ratios):.2f}× | {min(ratios):.2f}× |"
    )
    print(
        f"| ratio verify / raw libsodium (per round) | {statistics.median(sodium_ratios):.2f}× | {min(sodium_ratios):.2f}× |"
    )
    print(f"| `quarantine verify TEXT` cold start | {cold_cli:.0f} ms | |")
    print(f"| `python -c pass` cold start | {cold_bare:.0f} ms | |")
    print()
    ok_ratio = statistics.median(ratios) <= 2.0
    ok_sodium = statistics.median(sodium_ratios) <= 2.0
    ok_cold = cold_cli <= 500
    print(
        f"target verify ≤ 2× raw cryptography verify: {'met' if ok_ratio else 'MISSED'}; "
        f"≤ 2× the libsodium check it makes: {'met' if ok_sodium else 'MISSED'}; "
        f"cold start ≤ 500 ms: {'met' if ok_cold else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
