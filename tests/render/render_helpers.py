"""Helpers for the rendering tests: keys, QR texts, maximal certificates, decoding."""

from __future__ import annotations

import io
import re
from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

import zxingcpp
from cryptography.hazmat.primitives.asymmetric import ed25519
from PIL import Image

from quarantine.core.keys import Signer
from quarantine.core.model import (
    Agency,
    Agent,
    Certificate,
    Conveyance,
    Kind,
    LineItem,
    Officer,
    Party,
    Project,
    References,
    Route,
    Scope,
)
from quarantine.core.signing import sign_certificate
from quarantine.core.validate import MAX_ITEMS, MAX_NAME, MAX_TEXT

BASE_URL = "https://verify.example/qz"


def fixed_signer() -> Signer:
    """A deterministic Ed25519 key, so QR texts (and versions) are reproducible."""
    return Signer.from_object(ed25519.Ed25519PrivateKey.from_private_bytes(bytes(range(32))))


def qr_text_for(cert: Certificate) -> str:
    return sign_certificate(cert, fixed_signer(), base_url=BASE_URL).text


def decode_all(image: Image.Image) -> list[Any]:
    return list(zxingcpp.read_barcodes(image))


def decode_one(image: Image.Image) -> Any:
    found = [b for b in decode_all(image) if b.valid]
    assert len(found) == 1, f"expected one QR code, found {len(found)}"
    return found[0]


def open_png(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def long_text(prefix: str, n: int) -> str:
    """``n`` characters: a realistic mix of Chinese, digits and Latin words."""
    unit = f"{prefix}浙江省杭州市萧山区新街街道花木城路18号 Cinnamomum camphora 胸径12-15cm，"
    return (unit * (n // len(unit) + 1))[:n]


def maximal_certificate(base: Certificate, kind: Kind = Kind.TRANSPORT) -> Certificate:
    """The worst case to print: 10 line items and every field of ``kind`` at its limit.

    Limits are those of ``quarantine.core.validate`` (names 60, texts 200; product
    and specification 30, unit 8, officer and agent name 20 characters).
    """
    items = tuple(
        LineItem(
            product=long_text(f"品名{i}", 30),
            quantity=Decimal("123456789.125"),
            unit="立方米立方米立方",
            variety=long_text(f"品种{i}", MAX_NAME),
            specification=long_text(f"规格{i}", 30),
            remarks=long_text(f"备注{i}", MAX_TEXT),
        )
        for i in range(MAX_ITEMS)
    )

    def party(tag: str) -> Party:
        return Party(long_text(tag, MAX_NAME), long_text(tag + "地址", MAX_TEXT), "R" * 32)

    common: dict[str, Any] = {
        "kind": kind,
        "scope": None,
        "issuing_agency": Agency("330109", long_text("签发机关", MAX_NAME)),
        "delegating_agency": Agency("330000", long_text("委托机关", MAX_NAME)),
        "officer": Officer(long_text("检疫员", 20), "N" * 20),
        "items": items,
        "statement": long_text("检疫结果", MAX_TEXT),
        "valid_from": date(2026, 11, 28),
        "valid_to": date(2027, 11, 27),
        "consignor": None,
        "consignee": None,
        "agent": None,
        "origin": "",
        "conveyance": None,
        "route": None,
        "references": References(),
    }
    if kind is Kind.TRANSPORT:
        common |= {
            "scope": Scope.INTER_PROVINCE,
            "consignor": party("调运单位"),
            "consignee": party("收货单位"),
            "agent": Agent(long_text("经办人", 20), "330181198605123456", "+86 571-8888-8888-8"),
            "origin": long_text("来源", MAX_TEXT),
            "conveyance": Conveyance("汽车", "浙A7K392" + "X" * 13),
            "route": Route(
                "330109",
                "310115",
                ("320000", "320100", "330100", "340000", "340100"),
                long_text("路线", MAX_TEXT),
            ),
            "references": References(
                "330109-2026-004512", "310000-2026-000031", "330109-2026-000001"
            ),
        }
    elif kind is Kind.PRODUCING_AREA:
        common |= {"producer": party("生产单位"), "origin": long_text("产地", MAX_TEXT)}
    elif kind is Kind.REQUIREMENT:
        common |= {
            "consignee": party("调入单位"),
            "category": long_text("品类", 30),
            "requirements": long_text("要求", MAX_TEXT),
        }
    else:
        common |= {
            "project": Project(
                long_text("工程", MAX_NAME),
                "310115",
                long_text("施工", MAX_NAME),
                long_text("地点", MAX_TEXT),
            ),
            "references": References(
                certificates=tuple(f"330109-2026-{n:06d}" for n in range(1, 51))
            ),
        }
    return replace(base, **common)


def qr_text_shape(digits: int) -> str:
    """A text of our shape with ``digits`` payload digits (no signature needed)."""
    return "HTTPS://VERIFY.EXAMPLE/QZ/C/" + ("0123456789" * (digits // 10 + 1))[:digits]


_PATH_RUN = re.compile(r"M(\d+) (\d+)h(\d+)v1h-(\d+)z")


def rasterize_qr_svg(svg: str, px: int = 6) -> Image.Image:
    """Paint the runs of the single path of :func:`quarantine.render.qr_svg` (M x y h w v1 h-w z)."""
    view = re.search(r'viewBox="0 0 (\d+) (\d+)"', svg)
    assert view is not None
    n = int(view.group(1))
    d = re.search(r' d="([^"]*)"', svg)
    assert d is not None
    image = Image.new("L", (n, n), 255)
    consumed = 0
    for m in _PATH_RUN.finditer(d.group(1)):
        x, y, w, back = (int(g) for g in m.groups())
        assert w == back
        for i in range(w):
            image.putpixel((x + i, y), 0)
        consumed += len(m.group(0))
    assert consumed == len(d.group(1)), "path holds commands other than module runs"
    return image.resize((n * px, n * px), Image.Resampling.NEAREST)
