"""Regenerate ``samples/`` from the DEMO keys in ``keys/demo``.

Every sample is a QR text file (``NAME.txt``) and a QR image (``NAME.png``);
``samples/manifest.json`` gives each sample's expected verdict and reasons at
the stated ``now``.  The valid samples stay valid in real time until the end of
2027.  Deterministic: Ed25519 and RFC 6979 ES256 signatures, fixed salts.

    python scripts/make_samples.py
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ed25519

from quarantine import keystore
from quarantine.core import cbor, compress, cose, qrtext
from quarantine.core.keys import Signer
from quarantine.core.model import CHINA_TZ, Certificate
from quarantine.core.signing import sign_certificate
from quarantine.reference import region_table
from quarantine.render import qr_png
from quarantine.services.issuing import prepare

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"
INPUT = SAMPLES / "input"
DEMO_KEYS = ROOT / "keys" / "demo"
BASE_URL = "http://127.0.0.1:8000"
NOW = datetime(2026, 12, 1, 10, 0, tzinfo=CHINA_TZ)


def load(name: str, **changes: Any) -> Certificate:
    doc = json.loads((INPUT / f"{name}.json").read_text("utf-8"))
    doc.update(changes)
    salt = hashlib.sha256(b"quarantine demo salt " + str(doc["number"]).encode()).digest()[:16]
    return prepare(doc, region_table(), now=NOW, salt=salt)


def signer(label: str) -> Signer:
    kid = json.loads((DEMO_KEYS / "labels.json").read_text())[label]
    info = next(k for k in keystore.list_keys(DEMO_KEYS) if k.kid == kid)
    return keystore.load_signer(info, None)


def tamper_quantity(text: str) -> str:
    """Change the first item's quantity and re-encode, keeping the old signature."""
    parsed = qrtext.decode(text)
    msg = cose.decode_sign1(compress.unpack(parsed.payload))
    content = cbor.strict_loads(msg.payload)
    content[8][0][2] = content[8][0][2] * 10
    forged = cbor.dumps([msg.protected_bytes, msg.unprotected, cbor.dumps(content), msg.signature])
    return qrtext.encode(BASE_URL, compress.pack(forged))


def main() -> None:
    unknown = Signer.from_object(
        ed25519.Ed25519PrivateKey.from_private_bytes(
            hashlib.sha256(b"quarantine demo unknown key").digest()
        )
    )
    valid_ok = ["STATUS_UNCHECKED"]
    samples: list[tuple[str, str, str, list[str], str]] = []

    def add(
        name: str, cert: Certificate, key: Signer, verdict: str, reasons: list[str], note: str
    ) -> None:
        samples.append(
            (name, sign_certificate(cert, key, base_url=BASE_URL).text, verdict, reasons, note)
        )

    add(
        "valid-transport-inter",
        load("transport-inter"),
        signer("zj-2024"),
        "VALID",
        valid_ok,
        "出省植物检疫证书（参考证书）/ inter-province transport certificate (the reference certificate)",
    )
    add(
        "valid-transport-intra",
        load("transport-intra"),
        signer("sh-2026"),
        "VALID",
        valid_ok,
        "省内植物检疫证书 / intra-province transport certificate",
    )
    add(
        "valid-transport-es256",
        load("transport-anhui"),
        signer("ah-2024"),
        "VALID",
        valid_ok,
        "安徽签发，ES256 签名 / issued in Anhui, signed with ES256",
    )
    add(
        "valid-producing-area",
        load("producing-area"),
        signer("zj-2024"),
        "VALID",
        valid_ok,
        "产地检疫合格证 / producing-area pass",
    )
    add(
        "valid-requirement",
        load("requirement"),
        signer("sh-2026"),
        "VALID",
        valid_ok,
        "植物检疫要求书 / requirement letter",
    )
    add(
        "valid-project",
        load("project"),
        signer("sh-2026"),
        "VALID",
        valid_ok,
        "工程植物检疫复验合格证 / project re-inspection record",
    )
    add(
        "expired",
        load(
            "transport-intra",
            number="310112-2026-000159",
            valid_from="2026-11-20",
            valid_to="2026-11-30",
            issued_at="2026-11-20T14:05:00+08:00",
        ),
        signer("sh-2026"),
        "INVALID",
        ["EXPIRED", "STATUS_UNCHECKED"],
        "已过有效期 / expired",
    )
    add(
        "not-yet-valid",
        load(
            "transport-intra",
            number="310112-2026-000160",
            valid_from="2027-01-10",
            valid_to="2027-01-20",
        ),
        signer("sh-2026"),
        "INVALID",
        ["NOT_YET_VALID", "STATUS_UNCHECKED"],
        "尚未生效 / not yet valid",
    )
    add(
        "unknown-key",
        load("transport-intra", number="310112-2026-000161"),
        unknown,
        "INVALID",
        ["UNKNOWN_KEY"],
        "未知密钥签名 / signed by a key not on the trust list",
    )
    add(
        "rotated-out-key",
        load("transport-intra", number="310112-2026-000162"),
        signer("sh-2024"),
        "INVALID",
        ["KEY_OUTSIDE_WINDOW", "STATUS_UNCHECKED"],
        "已轮换密钥在有效期外签名 / signed by the rotated-out key after its window closed",
    )
    add(
        "wrong-region",
        load("transport-intra", number="310112-2026-000163"),
        signer("js-2024"),
        "INVALID",
        ["ISSUER_MISMATCH", "STATUS_UNCHECKED"],
        "江苏密钥签发上海证书 / a Jiangsu key signing a Shanghai certificate",
    )
    valid_text = next(s[1] for s in samples if s[0] == "valid-transport-inter")
    samples.append(
        (
            "tampered",
            tamper_quantity(valid_text),
            "INVALID",
            ["BAD_SIGNATURE"],
            "数量被改动（未重新签名）/ quantity altered without re-signing",
        )
    )
    samples.append(
        (
            "not-a-certificate",
            "https://example.com/hello",
            "NOT_A_CERTIFICATE",
            ["NOT_A_CERTIFICATE"],
            "普通网址二维码 / an ordinary URL QR code",
        )
    )

    manifest: dict[str, Any] = {
        "now": NOW.isoformat(),
        "base_url": BASE_URL,
        "about": "DEMO samples signed with the demo federation's keys (keys/demo). Never for production.",
        "samples": [],
    }
    for name, text, verdict, reasons, note in samples:
        (SAMPLES / f"{name}.txt").write_text(text + "\n", encoding="ascii")
        (SAMPLES / f"{name}.png").write_bytes(qr_png(text, ecc="Q", module_px=6, border=4))
        manifest["samples"].append(
            {
                "name": name,
                "text_file": f"{name}.txt",
                "image": f"{name}.png",
                "verdict": verdict,
                "reasons": reasons,
                "note": note,
            }
        )
    (SAMPLES / "manifest.json").write_text(
        json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", "utf-8"
    )
    print(f"{len(samples)} samples in {SAMPLES}")


if __name__ == "__main__":
    main()
