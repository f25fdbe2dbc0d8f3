"""Printable certificates: HTML fields and escaping, A4 PNG/PDF, QR on the page, overflow."""

from __future__ import annotations

import html
import re
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from quarantine.core.document import to_document
from quarantine.core.model import Certificate, Kind, LineItem, Party, Scope
from quarantine.reference import region_table
from quarantine.render import (
    CertificateTooLong,
    CjkFontMissing,
    Layout,
    certificate_html,
    certificate_layout,
    certificate_pdf,
    certificate_png,
    find_cjk_font,
    qr_version,
)
from quarantine.render.form import RULE_ZH, cn_date
from quarantine.render.layout import MIN_SCALE
from tests.render.render_helpers import (
    decode_one,
    maximal_certificate,
    open_png,
    qr_text_for,
    qr_text_shape,
)

region_name = region_table().full_name


@pytest.fixture(scope="module")
def cjk_font() -> Path:
    try:
        return find_cjk_font()
    except CjkFontMissing:
        pytest.skip("no CJK font installed (apt-get install fonts-wqy-microhei)")


@pytest.fixture(scope="module")
def ref_text(reference_cert: Certificate) -> str:
    return qr_text_for(reference_cert)


@pytest.fixture(scope="module")
def ref_html(reference_cert: Certificate, ref_text: str) -> str:
    return certificate_html(reference_cert, ref_text, region_name=region_name)


def _leaves(value: Any, path: str = "") -> list[tuple[str, Any]]:
    if isinstance(value, dict):
        return [leaf for k, v in value.items() for leaf in _leaves(v, f"{path}.{k}".strip("."))]
    if isinstance(value, list):
        return [leaf for i, v in enumerate(value) for leaf in _leaves(v, f"{path}[{i}]")]
    return [(path, value)]


def _kind_for(kind: Kind, base: Certificate) -> Certificate:
    """A small certificate of ``kind`` (reference data, kind-specific fields)."""
    return replace(maximal_certificate(base, kind), items=base.items[:2], statement=base.statement)


# --- HTML -------------------------------------------------------------------------------


def test_html_contains_every_field_of_the_reference(
    reference_cert: Certificate, ref_html: str
) -> None:
    text = html.unescape(ref_html)
    doc = to_document(reference_cert)
    checked = 0
    for path, value in _leaves(doc):
        if path in ("kind", "scope"):
            continue
        if path in ("valid_from", "valid_to"):
            expected = cn_date(date.fromisoformat(value))
        elif path == "issued_at":
            expected = cn_date(reference_cert.issued_at.date())
        else:
            expected = str(value)
        assert expected in text, f"{path} = {expected!r} missing from the HTML"
        checked += 1
    assert checked >= 25
    # Fields that are not in the document form, and names of region codes.
    assert reference_cert.agent is not None
    for expected in (
        reference_cert.agent.phone,
        reference_cert.agent.id_masked,
        "植物检疫证书（出省）",
        "浙江省杭州市萧山区（330109）",
        "上海市浦东新区（310115）",
        RULE_ZH,
        "扫码核验 / Scan to verify",
        "Consignor",
    ):
        assert expected in text
    assert reference_cert.agent.id_number not in text  # only the masked ID is printed


def test_html_is_self_contained_and_print_ready(ref_html: str) -> None:
    assert ref_html.startswith("<!DOCTYPE html>")
    assert re.search(r"@page \{ size: A4; margin: [\d.]+mm; \}", ref_html)
    assert '<meta charset="utf-8">' in ref_html
    assert ref_html.count("<svg") == 1
    urls = set(re.findall(r"https?://[^\s\"'<>)]+", ref_html, flags=re.IGNORECASE))
    assert urls == {"http://www.w3.org/2000/svg"}  # the SVG namespace, never fetched
    for needle in ("<script", "<link", "<img", "@import", "url(", " src="):
        assert needle not in ref_html.lower()


def test_html_qr_module_size_printed(ref_html: str) -> None:
    match = re.search(r'<svg [^>]*width="([\d.]+)mm"[^>]*viewBox="0 0 (\d+) \d+"', ref_html)
    assert match is not None
    module = float(match.group(1)) / int(match.group(2))
    assert 0.6 <= module <= 0.8
    assert f"二维码模块 {module:.2f} mm" in ref_html


def test_html_escapes_every_field(reference_cert: Certificate, ref_text: str) -> None:
    evil = "<script>alert('x')</script>"
    assert reference_cert.consignor is not None
    cert = replace(
        reference_cert,
        consignor=Party(evil, address='"><img src=x onerror=alert(1)>'),
        origin="a & b",
        items=(replace(reference_cert.items[0], remarks=evil),),
    )
    out = certificate_html(cert, ref_text)
    assert "<script" not in out
    assert "<img" not in out
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in out
    assert "&quot;&gt;&lt;img" in out
    assert "a &amp; b" in out


def test_default_region_name_is_the_code(reference_cert: Certificate, ref_text: str) -> None:
    out = certificate_html(reference_cert, ref_text)
    assert "自 330109" in out
    assert "至 310115" in out


@pytest.mark.parametrize("kind", list(Kind))
def test_html_every_kind(reference_cert: Certificate, kind: Kind) -> None:
    cert = _kind_for(kind, reference_cert)
    out = html.unescape(certificate_html(cert, qr_text_shape(300), region_name=region_name))
    assert kind.title_zh in out
    assert (RULE_ZH in out) == (kind is Kind.TRANSPORT)
    expected = {
        Kind.TRANSPORT: ["出省", "调运单位/人", "收货单位/人", "运输工具", "运输起讫"],
        Kind.PRODUCING_AREA: ["生产单位/人", "产地"],
        Kind.REQUIREMENT: ["调入单位/人", "调入品类", "检疫要求"],
        Kind.PROJECT: ["工程名称", "复验证书", "330109-2026-000050"],
    }[kind]
    for label in expected:
        assert label in out


def test_intra_province_scope(reference_cert: Certificate, ref_text: str) -> None:
    cert = replace(reference_cert, scope=Scope.INTRA_PROVINCE)
    assert "植物检疫证书（省内）" in certificate_html(cert, ref_text)


# --- PNG / PDF ----------------------------------------------------------------------------


def test_png_is_a4_and_its_qr_decodes(
    reference_cert: Certificate, ref_text: str, cjk_font: Path
) -> None:
    image = open_png(certificate_png(reference_cert, ref_text, region_name=region_name))
    assert image.size == (1240, 1754)
    assert image.size[1] / image.size[0] == pytest.approx(297 / 210, rel=0.002)
    dpi = image.info.get("dpi")
    assert dpi is not None and round(dpi[0]) == 150
    found = decode_one(image.convert("L"))
    assert found.text == ref_text
    assert int(found.extra["Version"]) == qr_version(ref_text, "Q")


def test_png_other_dpi(reference_cert: Certificate, ref_text: str, cjk_font: Path) -> None:
    image = open_png(certificate_png(reference_cert, ref_text, dpi=100))
    assert image.size == (827, 1169)
    assert decode_one(image.convert("L")).text == ref_text


def test_layout_module_size_at_least_half_mm(
    reference_cert: Certificate, ref_text: str, cjk_font: Path
) -> None:
    for dpi in (72, 96, 150, 300):
        lay = certificate_layout(reference_cert, ref_text, dpi=dpi)
        assert lay.qr is not None
        assert lay.qr.module_mm >= 0.5
        assert lay.qr.border >= 4
        px = lay.qr.module_mm * dpi / 25.4
        assert px == pytest.approx(round(px))  # whole pixels per module
    lay = certificate_layout(reference_cert, ref_text, dpi=150)
    assert lay.qr is not None
    assert 0.6 <= lay.qr.module_mm <= 0.8
    caption = lay.text("qr.module_size")
    assert f"{lay.qr.module_mm:.2f} mm" in caption.lines[0]


def test_pdf_is_one_a4_page(reference_cert: Certificate, ref_text: str, cjk_font: Path) -> None:
    pdf = certificate_pdf(reference_cert, ref_text, dpi=150)
    assert pdf.startswith(b"%PDF")
    boxes = re.findall(rb"/MediaBox \[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf)
    assert len(boxes) == 1
    width, height = (float(v) for v in boxes[0])
    assert width == pytest.approx(595.3, abs=1.0)
    assert height == pytest.approx(841.9, abs=1.0)


def test_missing_font_is_a_clear_error(
    reference_cert: Certificate, ref_text: str, tmp_path: Path
) -> None:
    with pytest.raises(CjkFontMissing, match="fonts-wqy-microhei"):
        certificate_png(reference_cert, ref_text, font_path=tmp_path / "none.ttc")


@pytest.mark.parametrize("kind", list(Kind))
def test_png_every_kind_decodes(reference_cert: Certificate, kind: Kind, cjk_font: Path) -> None:
    cert = _kind_for(kind, reference_cert)
    text = qr_text_for(cert)
    image = open_png(certificate_png(cert, text, region_name=region_name))
    assert decode_one(image.convert("L")).text == text


# --- overflow ------------------------------------------------------------------------------

HEADER_FOOTER = {"title", "title_en", "number", "rule", "rule_en", "footer"}


def _assert_fits(lay: Layout, values: dict[str, str]) -> None:
    bottom = lay.page_h - lay.margin
    right = lay.page_w - lay.margin
    assert lay.bottom <= bottom + 1e-6
    cells = [r for r in lay.rules if r.box]
    for t in lay.texts:
        assert lay.margin - 1e-6 <= t.x0 and t.x1 <= right + 1e-6, t.name
        assert lay.margin - 1e-6 <= t.y0 and t.y1 <= bottom + 1e-6, t.name
        assert t.widest_mm <= t.inner_width + 1e-6, t.name
        if t.name not in HEADER_FOOTER:  # inside some table cell
            assert any(
                c.x0 - 1e-6 <= t.x0
                and t.x1 <= c.x1 + 1e-6
                and c.y0 - 1e-6 <= t.y0
                and t.y1 <= c.y1 + 1e-6
                for c in cells
            ), f"{t.name} overflows its cell"
    for name, value in values.items():  # wrapped, never cut
        box = lay.text(name)
        assert "".join(box.lines).replace(" ", "") == value.replace(" ", ""), name
    assert lay.qr is not None
    assert lay.qr.y + lay.qr.size_mm <= bottom


@pytest.mark.parametrize("kind", list(Kind))
def test_maximal_certificate_fits_one_page(
    reference_cert: Certificate, kind: Kind, cjk_font: Path
) -> None:
    cert = maximal_certificate(reference_cert, kind)
    text = qr_text_for(cert)
    lay = certificate_layout(cert, text, region_name=region_name)
    assert lay.scale >= MIN_SCALE
    values = {"statement": cert.statement}
    for i, item in enumerate(cert.items):
        values[f"items[{i}].remarks"] = item.remarks
        values[f"items[{i}].variety"] = item.variety
        values[f"items[{i}].product"] = item.product
    if kind is Kind.TRANSPORT:
        assert cert.consignor is not None
        values["consignor.address"] = cert.consignor.address
        values["origin"] = cert.origin
    _assert_fits(lay, values)
    image = open_png(certificate_png(cert, text, region_name=region_name))
    assert decode_one(image.convert("L")).text == text


def test_reference_is_printed_at_full_size(
    reference_cert: Certificate, ref_text: str, cjk_font: Path
) -> None:
    lay = certificate_layout(reference_cert, ref_text, region_name=region_name)
    assert lay.scale == 1.0
    _assert_fits(lay, {"statement": reference_cert.statement})


def test_beyond_the_limits_is_refused_not_overflowed(
    reference_cert: Certificate, cjk_font: Path
) -> None:
    item = LineItem("香樟", Decimal(1), "株", remarks="带土球" * 400)
    cert = replace(reference_cert, items=(item,) * 10)
    with pytest.raises(CertificateTooLong):
        certificate_layout(cert, qr_text_shape(300))


def test_maximal_html_renders(reference_cert: Certificate) -> None:
    cert = maximal_certificate(reference_cert, Kind.TRANSPORT)
    out = certificate_html(cert, qr_text_shape(1200))
    assert out.count("<tr>") >= 10
    assert "font-size" in out
