"""Decoding generated pictures: text bytes, positions, EXIF, several codes, hints."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
from PIL import Image, ImageFilter

from quarantine.imaging import (
    HINTS,
    DecodedCode,
    DecodeResult,
    decode_image_array,
    decode_image_bytes,
)
from quarantine.imaging.hints import compute_hints, message
from quarantine.imaging.stages import STAGE_NAMES
from tests.imaging.imaging_helpers import CERT_TEXT, cert_png, encode, noisy, paste_on, qr_image

BOX = 8
BORDER = 4


def _centre(code: DecodedCode) -> tuple[float, float]:
    return (
        sum(p[0] for p in code.position) / 4.0,
        sum(p[1] for p in code.position) / 4.0,
    )


def _symbol_box(im: Image.Image, at: tuple[int, int]) -> tuple[float, float, float]:
    """Centre x, y and side of the symbol (quiet zone excluded) pasted at ``at``."""
    side = im.size[0] - 2 * BORDER * BOX
    return (at[0] + im.size[0] / 2, at[1] + im.size[1] / 2, float(side))


def test_certificate_text_and_bytes() -> None:
    result = decode_image_bytes(cert_png())
    assert isinstance(result, DecodeResult)
    assert [c.text for c in result.codes] == [CERT_TEXT]
    assert result.codes[0].raw == CERT_TEXT.encode("ascii")
    assert result.codes[0].stage == "zxing"
    assert result.hints == ()
    assert result.ms > 0


def test_crlf_and_utf8_bytes_are_preserved() -> None:
    raw = "第一行\r\nsecond line\r\n".encode()
    result = decode_image_bytes(encode(qr_image(raw)))
    assert result.codes[0].raw == raw
    assert result.codes[0].text == raw.decode("utf-8")


def test_corners_in_original_coordinates() -> None:
    qr = qr_image(CERT_TEXT, box=BOX, border=BORDER)
    at = (310, 170)
    canvas = noisy(paste_on((1000, 800), [(qr, at)]))
    (code,) = decode_image_bytes(encode(canvas)).codes
    cx, cy, side = _symbol_box(qr, at)
    x0, y0 = cx - side / 2, cy - side / 2
    expected = [(x0, y0), (x0 + side, y0), (x0 + side, y0 + side), (x0, y0 + side)]
    for got, want in zip(code.position, expected, strict=True):
        assert math.dist(got, want) <= BOX, (code.position, expected)


def test_corners_scaled_back_from_a_reduced_pass() -> None:
    # 4000×3000 (12 MP): the first pass runs on a copy reduced by 2.
    qr = qr_image(CERT_TEXT, box=12, border=BORDER)
    at = (2500, 1700)
    canvas = paste_on((4000, 3000), [(qr, at)])
    (code,) = decode_image_bytes(encode(canvas, "JPEG", quality=85)).codes
    cx, cy, side = at[0] + qr.size[0] / 2, at[1] + qr.size[1] / 2, qr.size[0] - 2 * BORDER * 12
    assert math.dist(_centre(code), (cx, cy)) <= 12
    width = math.dist(code.position[0], code.position[1])
    assert abs(width - side) <= 3 * 12


# Stored pixels for each EXIF orientation such that exif_transpose() gives the upright
# picture back: the inverse of the transform Pillow applies.
_INVERSE: dict[int, list[Image.Transpose]] = {
    2: [Image.Transpose.FLIP_LEFT_RIGHT],
    3: [Image.Transpose.ROTATE_180],
    4: [Image.Transpose.FLIP_TOP_BOTTOM],
    5: [Image.Transpose.TRANSPOSE],
    6: [Image.Transpose.ROTATE_90],
    7: [Image.Transpose.TRANSVERSE],
    8: [Image.Transpose.ROTATE_270],
}


@pytest.mark.parametrize("orientation", sorted(_INVERSE))
def test_exif_orientation_is_honoured(orientation: int) -> None:
    qr = qr_image(CERT_TEXT)
    at = (60, 40)
    upright = paste_on((900, 500), [(qr, at)]).convert("RGB")
    stored = upright
    for op in _INVERSE[orientation]:
        stored = stored.transpose(op)
    exif = Image.Exif()
    exif[0x0112] = orientation
    data = encode(stored, "JPEG", quality=92, exif=exif.tobytes())
    (code,) = decode_image_bytes(data).codes
    assert code.text == CERT_TEXT
    cx, cy, _ = _symbol_box(qr, at)
    # Position is in upright coordinates: the symbol is at the top-left of a wide picture.
    assert math.dist(_centre(code), (cx, cy)) <= 2 * BOX


def _four_codes() -> tuple[Image.Image, dict[bytes, int]]:
    items = [
        (qr_image("HTTPS://QR.EXAMPLE.CN/C/1"), (20, 20)),
        (qr_image("HTTPS://QR.EXAMPLE.CN/C/2"), (420, 20)),
        (qr_image("HTTPS://QR.EXAMPLE.CN/C/3"), (820, 20)),
        (qr_image("HTTPS://QR.EXAMPLE.CN/C/1"), (420, 420)),  # same text, elsewhere
    ]
    counts = {b"HTTPS://QR.EXAMPLE.CN/C/1": 2, b"HTTPS://QR.EXAMPLE.CN/C/2": 1}
    counts[b"HTTPS://QR.EXAMPLE.CN/C/3"] = 1
    return noisy(paste_on((1240, 820), items)), counts


def test_several_codes_are_all_returned_once() -> None:
    canvas, counts = _four_codes()
    result = decode_image_bytes(encode(canvas))
    got: dict[bytes, int] = {}
    for code in result.codes:
        got[code.raw] = got.get(code.raw, 0) + 1
    assert got == counts


def test_running_every_stage_still_returns_each_code_once() -> None:
    canvas, counts = _four_codes()
    # want=10 is never reached: every stage runs and reads the same codes again.
    result = decode_image_bytes(encode(canvas), want=10)
    assert len(result.codes) == sum(counts.values())
    assert {c.stage for c in result.codes} <= set(STAGE_NAMES)


def test_want_one_stops_early() -> None:
    canvas, _ = _four_codes()
    result = decode_image_bytes(encode(canvas), want=1)
    assert len(result.codes) >= 1


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP", "HEIF"])
def test_every_allowed_format(fmt: str) -> None:
    if fmt == "HEIF":
        pillow_heif = pytest.importorskip("pillow_heif")
        pillow_heif.register_heif_opener()
    im = noisy(paste_on((500, 500), [(qr_image(CERT_TEXT), (40, 40))])).convert("RGB")
    options: dict[str, object] = {} if fmt == "PNG" else {"quality": 90}
    result = decode_image_bytes(encode(im, fmt, **options))
    assert [c.text for c in result.codes] == [CERT_TEXT]


def test_transparent_background_is_white() -> None:
    qr = qr_image(CERT_TEXT)
    rgba = Image.new("RGBA", qr.size, (0, 0, 0, 0))
    rgba.putalpha(Image.eval(qr, lambda v: 255 - v))  # black modules opaque, rest clear
    result = decode_image_bytes(encode(rgba))
    assert [c.text for c in result.codes] == [CERT_TEXT]


def test_sixteen_bit_png() -> None:
    qr = np.asarray(qr_image(CERT_TEXT), dtype=np.uint16) * 257
    im = Image.fromarray(qr)
    result = decode_image_bytes(encode(im))
    assert [c.text for c in result.codes] == [CERT_TEXT]


def test_decode_image_array_gray_and_bgr() -> None:
    gray = np.asarray(qr_image(CERT_TEXT))
    bgr = np.asarray(cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR), dtype=np.uint8)
    assert decode_image_array(gray).codes[0].text == CERT_TEXT
    assert decode_image_array(bgr).codes[0].text == CERT_TEXT


def test_inverted_code() -> None:
    inverted = Image.eval(qr_image(CERT_TEXT), lambda v: 255 - v)
    assert [c.text for c in decode_image_bytes(encode(inverted)).codes] == [CERT_TEXT]


# --- hints ---------------------------------------------------------------------


def _no_code(im: Image.Image) -> tuple[str, ...]:
    result = decode_image_bytes(encode(im))
    assert result.codes == ()
    return result.hints


def test_hint_too_dark() -> None:
    rng = np.random.default_rng(3)
    dark = Image.fromarray(np.clip(rng.normal(20, 5, (600, 800)), 0, 255).astype(np.uint8))
    assert "TOO_DARK" in _no_code(dark)


def test_hint_glare() -> None:
    canvas = np.asarray(paste_on((800, 600), [(qr_image(CERT_TEXT, box=6), (100, 50))])).copy()
    cv2.circle(canvas, (300, 250), 110, 255, -1)
    assert "GLARE" in _no_code(noisy(Image.fromarray(canvas)))


@pytest.mark.parametrize("radius", [4, 8])
def test_hint_too_blurry(radius: int) -> None:
    canvas = paste_on((800, 600), [(qr_image(CERT_TEXT, box=6), (100, 50))])
    blurred = noisy(canvas.filter(ImageFilter.GaussianBlur(radius)), sigma=3)
    assert "TOO_BLURRY" in _no_code(blurred)


def test_hint_too_small() -> None:
    canvas = paste_on((1600, 1200), [(qr_image(CERT_TEXT, box=2), (700, 500))])
    small = noisy(canvas.filter(ImageFilter.GaussianBlur(1.0)), sigma=3)
    assert "TOO_SMALL" in _no_code(small)
    assert compute_hints(np.full((30, 40), 128, dtype=np.uint8)) == ("TOO_SMALL",)


def test_hint_nothing_specific() -> None:
    assert _no_code(Image.new("L", (800, 600), 200)) == ("NO_CODE",)


def test_every_hint_has_both_languages() -> None:
    for code, text in HINTS.items():
        assert text["zh"]
        assert text["en"]
        assert message(code) == f"{text['zh']} / {text['en']}"
