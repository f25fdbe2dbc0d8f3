"""Helpers for the scan-pipeline tests: generated QR pictures in memory."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import qrcode
from PIL import Image

CORPUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus" / "qr-photos"

CERT_TEXT = "HTTPS://QR.EXAMPLE.CN/C/3201000020240001/0123456789012345678901234567890123456789"


def qr_image(text: str | bytes, *, box: int = 8, border: int = 4) -> Image.Image:
    """A clean black-on-white QR symbol as an ``L`` image."""
    code = qrcode.QRCode(
        border=border, box_size=box, error_correction=qrcode.constants.ERROR_CORRECT_M
    )
    code.add_data(text)
    code.make(fit=True)
    img: Image.Image = code.make_image(fill_color="black", back_color="white").get_image()
    return img.convert("L")


def encode(im: Image.Image, fmt: str = "PNG", **options: object) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **options)
    return buf.getvalue()


def paste_on(
    canvas: tuple[int, int], items: list[tuple[Image.Image, tuple[int, int]]], fill: int = 235
) -> Image.Image:
    """Paste symbols onto a plain light canvas of size ``canvas`` (w, h)."""
    out = Image.new("L", canvas, fill)
    for im, at in items:
        out.paste(im, at)
    return out


def noisy(im: Image.Image, sigma: float = 6.0, seed: int = 1) -> Image.Image:
    arr = np.asarray(im, dtype=np.float64)
    rng = np.random.default_rng(seed)
    return Image.fromarray(np.clip(arr + rng.normal(0, sigma, arr.shape), 0, 255).astype(np.uint8))


def cert_png() -> bytes:
    """The certificate-like text as a clean PNG."""
    return encode(qr_image(CERT_TEXT))
