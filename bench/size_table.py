"""Payload size and QR version table (DESIGN §3 budget).

    python bench/size_table.py

Prints a Markdown table: payload bytes and QR version at ECC M and Q for a
minimal certificate, the reference transport certificate and a 10-item one,
stored raw, with plain DEFLATE and with the preset dictionary.
"""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

from quarantine.core import compress, qrtext
from quarantine.core.document import from_document
from quarantine.core.keys import Signer
from quarantine.core.model import Certificate, LineItem
from quarantine.core.signing import sign_certificate
from quarantine.render import qr_version

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT.parent / "shared" / "reference" / "reference-transport-certificate.json"
BASE_URL = "http://127.0.0.1:8000"


def reference() -> Certificate:
    path = REFERENCE if REFERENCE.exists() else ROOT / "samples" / "input" / "transport-inter.json"
    return replace(from_document(json.loads(path.read_text("utf-8"))), salt=b"\x00" * 16)


def minimal(ref: Certificate) -> Certificate:
    assert ref.consignor is not None and ref.consignee is not None
    return replace(
        ref,
        items=(LineItem("香樟", Decimal(10), "株"),),
        references=type(ref.references)(),
        officer=replace(ref.officer, name=""),
        consignor=replace(ref.consignor, name="绿源合作社"),
        consignee=replace(ref.consignee, name="浦东园林"),
        delegating_agency=None,
    )


def ten_items(ref: Certificate) -> Certificate:
    names = ["香樟", "桂花", "红叶石楠", "银杏", "榉树", "朴树", "紫薇", "鸡爪槭", "海桐", "杜鹃"]
    items = tuple(
        LineItem(
            name,
            Decimal(50 + 10 * i),
            "株",
            specification=f"胸径{8 + i}-{10 + i}cm",
            remarks="带土球",
        )
        for i, name in enumerate(names)
    )
    return replace(ref, items=items)


def rows() -> list[tuple[str, str, int, int, int]]:
    signer = Signer.generate()
    ref = reference()
    out = []
    for label, cert in (
        ("minimal (1 item)", minimal(ref)),
        ("reference (3 items)", ref),
        ("10 items", ten_items(ref)),
    ):
        cose_bytes = sign_certificate(cert, signer, base_url=BASE_URL, compress_payload=False).cose
        variants = {
            "raw": bytes([compress.FORMAT_RAW]) + cose_bytes,
            "deflate": bytes([compress.FORMAT_DEFLATE]) + compress._deflate(cose_bytes, None),
            "deflate + dictionary v1": bytes([compress.FORMAT_DEFLATE_DICT1])
            + compress._deflate(cose_bytes, compress.DICTIONARY_V1),
        }
        for name, payload in variants.items():
            text = qrtext.encode(BASE_URL, payload)
            out.append((label, name, len(payload), qr_version(text, "M"), qr_version(text, "Q")))
    return out


def main() -> None:
    print(
        f"URL prefix: {qrtext.normalise_base_url(BASE_URL)} ({len(qrtext.normalise_base_url(BASE_URL))} characters)\n"
    )
    print("| certificate | storage | payload bytes | QR version (M) | QR version (Q) |")
    print("|---|---|---:|---:|---:|")
    for label, name, size, m, q in rows():
        print(f"| {label} | {name} | {size} | {m} | {q} |")


if __name__ == "__main__":
    main()
