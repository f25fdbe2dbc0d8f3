"""Drawing a laid-out certificate with Pillow (PNG and PDF)."""

from __future__ import annotations

import io
import math
import os
from pathlib import Path
from typing import Any

from quarantine.render.fonts import face_index, find_cjk_font
from quarantine.render.layout import PAGE_H_MM, PAGE_W_MM, Layout
from quarantine.render.qr import MIN_MODULE_MM, qr_image

MM_PER_INCH = 25.4


class PillowMeasurer:
    """Text widths from the font and pixel sizes the page is drawn with."""

    def __init__(self, font_path: Path, dpi: int) -> None:
        self.font_path = font_path
        self.index = face_index(font_path)
        self.dpi = dpi
        self._fonts: dict[int, Any] = {}
        self._chars: dict[tuple[str, int], float] = {}

    def font(self, size_pt: float) -> Any:
        """The font at ``size_pt`` in whole pixels at this resolution (as drawn)."""
        from PIL import ImageFont

        px = font_px(size_pt, self.dpi)
        if px not in self._fonts:
            self._fonts[px] = ImageFont.truetype(str(self.font_path), px, index=self.index)
        return self._fonts[px]

    def width(self, text: str, size_pt: float) -> float:
        """Sum of the characters' advances (CJK fonts do not kern; it is what wrapping uses)."""
        px = font_px(size_pt, self.dpi)
        total = 0.0
        for ch in text:
            key = (ch, px)
            advance = self._chars.get(key)
            if advance is None:
                advance = float(self.font(size_pt).getlength(ch)) * MM_PER_INCH / self.dpi
                self._chars[key] = advance
            total += advance
        return total


def font_px(size_pt: float, dpi: int) -> int:
    return max(1, round(size_pt * dpi / 72))


def page_px(dpi: int) -> tuple[int, int]:
    """A4 in pixels at ``dpi`` (1240 × 1754 at 150 dpi)."""
    return round(PAGE_W_MM / MM_PER_INCH * dpi), round(PAGE_H_MM / MM_PER_INCH * dpi)


def module_quantizer(dpi: int) -> Any:
    """Snap a module size to whole pixels at ``dpi``, never below 0.5 mm."""
    floor_px = math.ceil(MIN_MODULE_MM / MM_PER_INCH * dpi - 1e-9)

    def quantize(module_mm: float) -> float:
        px = max(floor_px, round(module_mm / MM_PER_INCH * dpi), 1)
        return px * MM_PER_INCH / dpi

    return quantize


def draw_layout(layout: Layout, measurer: PillowMeasurer) -> Any:
    """The page as a Pillow RGB image."""
    from PIL import Image, ImageDraw

    dpi = measurer.dpi
    width, height = page_px(dpi)
    k = dpi / MM_PER_INCH  # pixels per millimetre
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    font = measurer.font

    for rule in layout.rules:
        w = max(1, round(rule.width_mm * k))
        box = (round(rule.x0 * k), round(rule.y0 * k), round(rule.x1 * k), round(rule.y1 * k))
        if rule.box:
            draw.rectangle(box, outline="black", width=w)
        else:
            draw.line(box, fill="black", width=w)

    for t in layout.texts:
        f = font(t.size_pt)
        lh = t.line_height * k
        for i, line in enumerate(t.lines):
            if not line:
                continue
            y = (t.y0 * k) + i * lh + (lh - font_px(t.size_pt, dpi)) / 2
            if t.align == "center":
                x, anchor = (t.x0 + t.x1) / 2 * k, "ma"
            elif t.align == "right":
                x, anchor = (t.x1 - t.pad) * k, "ra"
            else:
                x, anchor = (t.x0 + t.pad) * k, "la"
            draw.text(
                (x, y),
                line,
                font=f,
                fill=t.color,
                anchor=anchor,
                stroke_width=1 if t.bold and font_px(t.size_pt, dpi) >= 14 else 0,
                stroke_fill=t.color,
            )

    if layout.qr is not None:
        q = layout.qr
        module_px = round(q.module_mm * k)
        qr = qr_image_for(layout, module_px)
        image.paste(qr.convert("RGB"), (round(q.x * k), round(q.y * k)))
    return image


def qr_image_for(layout: Layout, module_px: int) -> Any:
    assert layout.qr is not None
    return qr_image(layout.qr_text, ecc="Q", module_px=module_px, border=layout.qr.border)


def png_bytes(image: Any, dpi: int) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG", dpi=(dpi, dpi), optimize=True)
    return out.getvalue()


def pdf_bytes(image: Any, dpi: int) -> bytes:
    out = io.BytesIO()
    image.save(out, "PDF", resolution=float(dpi))
    return out.getvalue()


def resolve_font(font_path: str | os.PathLike[str] | None) -> Path:
    return find_cjk_font(font_path)
