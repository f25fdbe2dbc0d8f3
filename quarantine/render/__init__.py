"""QR images and printable certificates (植物检疫证书打印).

Public names:

- QR: :func:`qr_matrix`, :func:`qr_version`, :func:`qr_png`, :func:`qr_svg`
- certificates: :func:`certificate_html`, :func:`certificate_png`,
  :func:`certificate_pdf`, :func:`certificate_layout`
- fonts: :func:`find_cjk_font`, :class:`CjkFontMissing`

Pillow and qrcode are imported when a function needs them.
"""

from __future__ import annotations

from quarantine.render.certificate import (
    certificate_html,
    certificate_layout,
    certificate_pdf,
    certificate_png,
)
from quarantine.render.fonts import ENV_VAR as CJK_FONT_ENV_VAR
from quarantine.render.fonts import CjkFontMissing, find_cjk_font
from quarantine.render.form import Form, build_form
from quarantine.render.layout import CertificateTooLong, Layout, TextBox
from quarantine.render.qr import (
    MIN_MODULE_MM,
    MIN_QUIET_ZONE,
    qr_image,
    qr_matrix,
    qr_png,
    qr_svg,
    qr_version,
)

__all__ = [
    "CJK_FONT_ENV_VAR",
    "MIN_MODULE_MM",
    "MIN_QUIET_ZONE",
    "CertificateTooLong",
    "CjkFontMissing",
    "Form",
    "Layout",
    "TextBox",
    "build_form",
    "certificate_html",
    "certificate_layout",
    "certificate_pdf",
    "certificate_png",
    "find_cjk_font",
    "qr_image",
    "qr_matrix",
    "qr_png",
    "qr_svg",
    "qr_version",
]
