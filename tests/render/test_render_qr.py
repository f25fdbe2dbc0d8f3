"""QR symbols: segments, versions, error correction, PNG and SVG round trips."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest
import qrcode
from qrcode import util

from quarantine.core.model import Certificate
from quarantine.render import MIN_MODULE_MM, qr_matrix, qr_png, qr_svg, qr_version
from quarantine.render.qr import split_segments
from tests.render.render_helpers import (
    decode_one,
    open_png,
    qr_text_for,
    qr_text_shape,
    rasterize_qr_svg,
)

OTHER_TEXTS = [
    "https://verify.example/qz/c/0123",  # lower case: not ours, byte mode
    "植物检疫证书 330109-2026-004871",
    "HTTPS://VERIFY.EXAMPLE/QZ/C/12A",  # letters after the marker: not ours
]


@pytest.fixture(scope="module")
def ref_text(reference_cert: Certificate) -> str:
    return qr_text_for(reference_cert)


def _bits(prefix: str, digits: str, version: int) -> int:
    """Bits of our two segments (ISO/IEC 18004 §7.4.4, §7.4.3)."""
    alnum_count = 9 if version < 10 else 11 if version < 27 else 13
    num_count = 10 if version < 10 else 12 if version < 27 else 14
    n, m = len(prefix), len(digits)
    alnum = 4 + alnum_count + 11 * (n // 2) + 6 * (n % 2)
    numeric = 4 + num_count + 10 * (m // 3) + (0, 4, 7)[m % 3]
    return alnum + numeric


def test_our_text_splits_into_url_and_digits(ref_text: str) -> None:
    parts = split_segments(ref_text)
    assert parts is not None
    prefix, digits = parts
    assert prefix == "HTTPS://VERIFY.EXAMPLE/QZ/C/"
    assert digits.isdigit()
    assert prefix + digits == ref_text
    for text in OTHER_TEXTS:
        assert split_segments(text) is None


def test_version_is_that_of_two_segments(ref_text: str) -> None:
    """The version equals the smallest whose Q capacity holds alphanumeric + numeric bits."""
    parts = split_segments(ref_text)
    assert parts is not None
    version = qr_version(ref_text, "Q")
    limits = util.BIT_LIMIT_TABLE[qrcode.constants.ERROR_CORRECT_Q]
    assert _bits(*parts, version) <= limits[version]
    assert _bits(*parts, version - 1) > limits[version - 1]
    # One byte-mode segment would need a larger symbol.
    byte_code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_Q)
    byte_code.add_data(util.QRData(ref_text.encode(), mode=util.MODE_8BIT_BYTE))
    byte_code.make(fit=True)
    assert byte_code.version > version


def test_reference_png_round_trip_and_version(ref_text: str) -> None:
    """zxing-cpp reads exactly our text back, at the version and level we say."""
    image = open_png(qr_png(ref_text, module_px=4))
    found = decode_one(image)
    assert found.text == ref_text
    assert found.ec_level == "Q"
    assert int(found.extra["Version"]) == qr_version(ref_text, "Q")
    # DESIGN §3 budget: the reference transport certificate at Q in version ≤ 16.
    assert qr_version(ref_text, "Q") <= 16


@pytest.mark.parametrize("ecc", ["L", "M", "Q", "H"])
def test_every_level_round_trips(ref_text: str, ecc: str) -> None:
    found = decode_one(open_png(qr_png(ref_text, ecc=ecc, module_px=3)))
    assert found.text == ref_text
    assert found.ec_level == ecc
    assert int(found.extra["Version"]) == qr_version(ref_text, ecc)


def test_higher_level_never_smaller(ref_text: str) -> None:
    versions = [qr_version(ref_text, ecc) for ecc in ("L", "M", "Q", "H")]
    assert versions == sorted(versions)


@pytest.mark.parametrize("text", OTHER_TEXTS)
def test_other_texts_round_trip_as_one_segment(text: str) -> None:
    assert decode_one(open_png(qr_png(text, module_px=6))).text == text


def test_long_payload_round_trip() -> None:
    text = qr_text_shape(1500)
    found = decode_one(open_png(qr_png(text, module_px=3)))
    assert found.text == text


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="ecc"):
        qr_version("X", "Z")
    with pytest.raises(ValueError, match="empty"):
        qr_matrix("")
    with pytest.raises(ValueError, match="quiet zone"):
        qr_png("X", border=3)
    with pytest.raises(ValueError, match="quiet zone"):
        qr_svg("X", border=2)


def test_matrix_shape(ref_text: str) -> None:
    matrix = qr_matrix(ref_text)
    n = 17 + 4 * qr_version(ref_text, "Q")
    assert len(matrix) == n
    assert all(len(row) == n for row in matrix)
    # Finder pattern in the top-left corner: a dark 7 x 7 ring.
    assert all(matrix[0][:7]) and all(matrix[6][:7])
    assert not any(matrix[1][1:6])


def test_png_size_and_quiet_zone(ref_text: str) -> None:
    n = 17 + 4 * qr_version(ref_text, "Q")
    image = open_png(qr_png(ref_text, module_px=5, border=4)).convert("L")
    assert image.size == ((n + 8) * 5, (n + 8) * 5)
    for x in range(20):  # 4 modules of white at every edge
        assert image.getpixel((x, image.height // 2)) == 255
        assert image.getpixel((image.width - 1 - x, image.height // 2)) == 255


def test_svg_module_size_floor(ref_text: str) -> None:
    with pytest.raises(ValueError, match=r"0\.5 mm"):
        qr_svg(ref_text, module_mm=0.49)
    assert MIN_MODULE_MM == 0.5
    qr_svg(ref_text, module_mm=0.5)


def test_svg_structure(ref_text: str) -> None:
    svg = qr_svg(ref_text, module_mm=0.7)
    root = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    n = 17 + 4 * qr_version(ref_text, "Q") + 8
    assert root.tag == f"{ns}svg"
    assert root.get("viewBox") == f"0 0 {n} {n}"
    size = float(re.sub("mm$", "", root.get("width", "")))
    assert root.get("width", "").endswith("mm") and root.get("height") == root.get("width")
    assert size == pytest.approx(n * 0.7, abs=0.001)
    assert root.get("shape-rendering") == "crispEdges"
    assert len(root.findall(f"{ns}path")) == 1
    # Dark modules of the path are exactly the matrix.
    dark_in_path = sum(int(w) for w in re.findall(r"h(\d+)v1", svg))
    assert dark_in_path == sum(sum(row) for row in qr_matrix(ref_text))


def test_svg_rasterized_round_trip(ref_text: str) -> None:
    found = decode_one(rasterize_qr_svg(qr_svg(ref_text, module_mm=0.6), px=4))
    assert found.text == ref_text
    assert int(found.extra["Version"]) == qr_version(ref_text, "Q")
