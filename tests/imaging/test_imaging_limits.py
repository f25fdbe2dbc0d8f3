"""Limits are enforced before pixels are decoded; bad input gives clear InputErrors."""

from __future__ import annotations

import io
import struct
import time
import zlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from quarantine.errors import InputError, LimitExceeded
from quarantine.imaging import (
    ImageInputError,
    ImageLimitExceeded,
    ImageLimits,
    decode_image_bytes,
    decode_image_file,
)
from quarantine.imaging.load import sniff_format
from tests.imaging.imaging_helpers import CERT_TEXT, cert_png, encode, qr_image


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose IHDR claims ``width × height`` but holds no pixel data at all."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 16)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def test_oversized_bytes_rejected_before_anything_else() -> None:
    data = b"\xff\xd8\xff" + b"\x00" * 5000
    with pytest.raises(ImageLimitExceeded) as info:
        decode_image_bytes(data, ImageLimits(max_bytes=4096))
    assert info.value.code == "IMAGE_TOO_LARGE"
    assert isinstance(info.value, LimitExceeded)
    assert "4096" in info.value.message_zh
    assert "4096" in info.value.message_en


def test_oversized_file_rejected_from_its_size(tmp_path: Path) -> None:
    path = tmp_path / "big.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 10_000)
    with pytest.raises(ImageLimitExceeded) as info:
        decode_image_file(path, ImageLimits(max_bytes=1000))
    assert info.value.code == "IMAGE_TOO_LARGE"


@pytest.mark.parametrize(("width", "height"), [(100_000, 100_000), (8_000, 7_000), (1 << 30, 2)])
def test_too_many_pixels_from_the_header(width: int, height: int) -> None:
    data = _png_header_only(width, height)
    start = time.perf_counter()
    with pytest.raises(ImageLimitExceeded) as info:
        decode_image_bytes(data)
    assert info.value.code == "IMAGE_TOO_MANY_PIXELS"
    assert time.perf_counter() - start < 1.0  # nothing was decoded


def test_pixel_limit_is_configurable() -> None:
    png = cert_png()
    with pytest.raises(ImageLimitExceeded) as info:
        decode_image_bytes(png, ImageLimits(max_pixels=10_000))
    assert info.value.code == "IMAGE_TOO_MANY_PIXELS"
    assert decode_image_bytes(png).codes


@pytest.mark.parametrize("fmt", ["GIF", "BMP", "TIFF", "ICO"])
def test_disallowed_formats(fmt: str) -> None:
    data = encode(qr_image(CERT_TEXT).convert("RGB"), fmt)
    with pytest.raises(ImageInputError) as info:
        decode_image_bytes(data)
    assert info.value.code == "IMAGE_FORMAT_NOT_ALLOWED"
    assert fmt in info.value.message_en


def test_allowlist_is_configurable() -> None:
    png = cert_png()
    jpeg = encode(qr_image(CERT_TEXT), "JPEG", quality=90)
    with pytest.raises(ImageInputError) as info:
        decode_image_bytes(jpeg, ImageLimits(formats=frozenset({"PNG"})))
    assert info.value.code == "IMAGE_FORMAT_NOT_ALLOWED"
    assert decode_image_bytes(png, ImageLimits(formats=frozenset({"PNG"}))).codes


def test_limits_validate_themselves() -> None:
    with pytest.raises(ValueError, match="positive"):
        ImageLimits(max_bytes=0)
    with pytest.raises(ValueError, match="unsupported"):
        ImageLimits(formats=frozenset({"GIF"}))


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_truncated_images_are_unreadable(fmt: str) -> None:
    data = encode(qr_image(CERT_TEXT).convert("RGB"), fmt)
    with pytest.raises(ImageInputError) as info:
        decode_image_bytes(data[: len(data) // 2])
    assert info.value.code == "IMAGE_UNREADABLE"


def test_empty_and_garbage() -> None:
    with pytest.raises(ImageInputError) as info:
        decode_image_bytes(b"")
    assert info.value.code == "IMAGE_EMPTY"
    with pytest.raises(ImageInputError) as info:
        decode_image_bytes(b"hello, not an image")
    assert info.value.code == "IMAGE_FORMAT_NOT_ALLOWED"
    with pytest.raises(ImageInputError) as info:
        decode_image_bytes(b"\xff\xd8\xff" + b"\x00" * 100)
    assert info.value.code == "IMAGE_UNREADABLE"


def test_missing_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(ImageInputError) as info:
        decode_image_file(tmp_path / "nope.jpg")
    assert info.value.code == "IMAGE_UNREADABLE"


def test_sniffing() -> None:
    assert sniff_format(b"\xff\xd8\xff\xe0") == "JPEG"
    assert sniff_format(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "WEBP"
    assert sniff_format(b"\x00\x00\x00\x18ftypheic") == "HEIF"
    assert sniff_format(b"\x00\x00\x00\x18ftypavif") == "AVIF"
    assert sniff_format(b"GIF89a") == "GIF"
    assert sniff_format(b"") == "UNKNOWN"


def test_time_budget_stops_the_cascade() -> None:
    # A busy picture without a code: every stage would run.
    noise = Image.effect_noise((1600, 1200), 60).convert("L")
    data = encode(noise)
    start = time.perf_counter()
    result = decode_image_bytes(data, ImageLimits(time_budget_ms=1))
    assert time.perf_counter() - start < 2.0
    assert result.codes == ()
    assert result.hints == ("TIME_BUDGET",)


def _error_code(data: bytes) -> str | None:
    """The reason code of the InputError ``data`` raises, or None if it decodes."""
    try:
        decode_image_bytes(data)
    except InputError as exc:
        return exc.code
    return None


_PREFIXES = [
    b"\xff\xd8\xff\xe0\x00\x10JFIF\x00",
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
    b"RIFF\x00\x10\x00\x00WEBPVP8 ",
    b"\x00\x00\x00\x18ftypheic",
]


@pytest.mark.timeout(120)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(prefix=st.sampled_from(_PREFIXES), body=st.binary(max_size=600))
def test_fuzzed_headers_only_raise_input_errors(prefix: bytes, body: bytes) -> None:
    code = _error_code(prefix + body)
    assert code is None or code.startswith("IMAGE_")


@pytest.mark.timeout(120)
@settings(max_examples=60, deadline=None)
@given(cut=st.integers(min_value=1, max_value=400), flip=st.integers(min_value=0, max_value=255))
def test_damaged_real_images_only_raise_input_errors(cut: int, flip: int) -> None:
    data = bytearray(encode(qr_image(CERT_TEXT).convert("RGB"), "JPEG", quality=80))
    data[min(cut, len(data) - 1)] ^= flip
    code = _error_code(bytes(data[: len(data) - cut]))
    assert code is None or code.startswith("IMAGE_")


def test_decompression_bomb_png_stream() -> None:
    # A real, fully valid 9000×9000 PNG: 81 MP, a few hundred kilobytes on disk.
    big = Image.new("1", (9000, 9000), 1)
    buf = io.BytesIO()
    big.save(buf, "PNG")
    with pytest.raises(ImageLimitExceeded) as info:
        decode_image_bytes(buf.getvalue())
    assert info.value.code == "IMAGE_TOO_MANY_PIXELS"
