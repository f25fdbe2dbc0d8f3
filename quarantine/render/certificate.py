"""Printable A4 certificates: HTML, PNG and PDF.

Every output is built from the same :class:`~quarantine.render.form.Form` and
the same layout rules, so the fields, labels and QR module size agree.
"""

from __future__ import annotations

import os

from quarantine.core.model import Certificate
from quarantine.render.fonts import find_cjk_font
from quarantine.render.form import RegionName, build_form, code_only
from quarantine.render.html import render_html
from quarantine.render.layout import ApproxMeasurer, Layout, layout_form
from quarantine.render.raster import (
    PillowMeasurer,
    draw_layout,
    module_quantizer,
    pdf_bytes,
    png_bytes,
)

DEFAULT_DPI = 150


def certificate_html(
    cert: Certificate, qr_text: str, *, region_name: RegionName = code_only
) -> str:
    """Self-contained, print-ready HTML (A4, inline CSS, QR as inline SVG, no requests)."""
    form = build_form(cert, qr_text, region_name)
    layout = layout_form(form, ApproxMeasurer())
    return render_html(form, layout)


def certificate_layout(
    cert: Certificate,
    qr_text: str,
    *,
    dpi: int = DEFAULT_DPI,
    region_name: RegionName = code_only,
    font_path: str | os.PathLike[str] | None = None,
) -> Layout:
    """The raster page's boxes in millimetres (what :func:`certificate_png` draws)."""
    _check_dpi(dpi)
    form = build_form(cert, qr_text, region_name)
    measurer = PillowMeasurer(find_cjk_font(font_path), dpi)
    return layout_form(form, measurer, quantize_module=module_quantizer(dpi))


def _check_dpi(dpi: int) -> None:
    if not 72 <= dpi <= 600:
        raise ValueError(f"dpi must be between 72 and 600, not {dpi}")


def _image(
    cert: Certificate,
    qr_text: str,
    dpi: int,
    region_name: RegionName,
    font_path: str | os.PathLike[str] | None,
) -> object:
    _check_dpi(dpi)
    form = build_form(cert, qr_text, region_name)
    measurer = PillowMeasurer(find_cjk_font(font_path), dpi)
    layout = layout_form(form, measurer, quantize_module=module_quantizer(dpi))
    return draw_layout(layout, measurer)


def certificate_png(
    cert: Certificate,
    qr_text: str,
    *,
    dpi: int = DEFAULT_DPI,
    region_name: RegionName = code_only,
    font_path: str | os.PathLike[str] | None = None,
) -> bytes:
    """The certificate as an A4 PNG (1240 × 1754 at 150 dpi) drawn with a CJK font."""
    return png_bytes(_image(cert, qr_text, dpi, region_name, font_path), dpi)


def certificate_pdf(
    cert: Certificate,
    qr_text: str,
    *,
    dpi: int = 300,
    region_name: RegionName = code_only,
    font_path: str | os.PathLike[str] | None = None,
) -> bytes:
    """One A4 page of PDF holding the raster certificate at ``dpi``."""
    return pdf_bytes(_image(cert, qr_text, dpi, region_name, font_path), dpi)
