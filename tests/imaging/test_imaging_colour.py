"""The colour stage (red seal over the symbol) and the bent-paper stage.

Both pictures are built deterministically here: a symbol under red ink that
only the channel-maximum image reads, and a symbol on paper bent round a
cylinder (55° at the symbol edge) that only the rectifier reads.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable

import cv2
import numpy as np
import numpy.typing as npt
import pytest
import qrcode
import zxingcpp
from PIL import Image

from quarantine.imaging import DecodedCode, decode_image_array, decode_image_bytes
from quarantine.imaging.curved import alignment_positions, rectify
from quarantine.imaging.limits import ImageLimits
from quarantine.imaging.load import channel_max_of, load_image
from quarantine.imaging.stages import STAGE_NAMES

U8 = npt.NDArray[np.uint8]

SEAL_TEXT = "HTTPS://QR.EXAMPLE.CN/C/3201000020240001/0123456789012345678901234567890123456789"
CURVED_TEXT = "HTTP://127.0.0.1:8000/C/" + "".join(str((i * 7 + 3) % 10) for i in range(300))
BOX = 8
BORDER = 4


def _matrix(text: str, ec: int, box: int) -> U8:
    code = qrcode.QRCode(border=BORDER, box_size=box, error_correction=ec)
    code.add_data(text)
    code.make(fit=True)
    img = code.make_image(fill_color="black", back_color="white").get_image().convert("L")
    return np.asarray(img, dtype=np.uint8)


def _red_seal(at: tuple[int, int] = (70, 50), canvas: tuple[int, int] = (560, 480)) -> U8:
    """BGR: a black-on-white symbol under red ink blotches on half its modules.

    Red ink (R 235, G 40, B 50) multiplies the print: over white paper its
    luminance is ≈ 100, which reads as a dark module in the gray image, so a
    quarter of the modules flip; in the channel maximum it is as light as paper.
    """
    sym = _matrix(SEAL_TEXT, qrcode.constants.ERROR_CORRECT_L, BOX).astype(np.float64) / 255
    rng = np.random.default_rng(7)
    cells = sym.shape[0] // BOX
    ink = np.kron(rng.random((cells, cells)) < 0.5, np.ones((BOX, BOX))).astype(bool)
    bgr = np.ones((canvas[1], canvas[0], 3))
    x, y = at
    h, w = sym.shape
    for ch, tint in enumerate((50 / 255, 40 / 255, 235 / 255)):
        layer = sym * np.where(ink, tint, 1.0)
        bgr[y : y + h, x : x + w, ch] = layer
    return np.clip(bgr * 245, 0, 255).astype(np.uint8)


def _corners_ok(code: DecodedCode, expected: list[tuple[float, float]], tol: float) -> bool:
    return all(math.dist(g, e) <= tol for g, e in zip(code.position, expected, strict=True))


def _png(bgr: U8) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(bgr[:, :, ::-1])).save(buf, "PNG")
    return buf.getvalue()


def _jpeg(bgr: U8, quality: int = 95) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(bgr[:, :, ::-1])).save(buf, "JPEG", quality=quality)
    return buf.getvalue()


# --- colour ----------------------------------------------------------------------


def test_stage_order() -> None:
    names = list(STAGE_NAMES)
    assert names.index("zxing-colour") == names.index("zxing-full") + 1
    assert names[-2:] == ["zxing-curved", "zxing-curved-up"]


def test_channel_max_of() -> None:
    px = np.array([[[10, 200, 30], [0, 0, 0], [255, 1, 2]]], dtype=np.uint8)
    assert channel_max_of(px).tolist() == [[200, 0, 255]]


def test_red_ink_is_read_only_by_the_colour_stage() -> None:
    bgr = _red_seal()
    gray = np.asarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY), dtype=np.uint8)
    assert decode_image_array(gray).codes == ()  # no gray stage reads it
    (code,) = decode_image_array(bgr).codes
    assert code.stage == "zxing-colour"
    assert code.raw == SEAL_TEXT.encode("ascii") and code.text == SEAL_TEXT
    side = _matrix(SEAL_TEXT, qrcode.constants.ERROR_CORRECT_L, BOX).shape[0] - 2 * BORDER * BOX
    x0, y0 = 70 + BORDER * BOX, 50 + BORDER * BOX
    expected = [(x0, y0), (x0 + side, y0), (x0 + side, y0 + side), (x0, y0 + side)]
    assert _corners_ok(code, expected, BOX), (code.position, expected)


@pytest.mark.parametrize("encode", [_png, _jpeg])
def test_colour_stage_from_encoded_files(encode: Callable[[U8], bytes]) -> None:
    data = encode(_red_seal())
    loaded = load_image(data, ImageLimits())
    assert loaded.colour
    (code,) = decode_image_bytes(data).codes
    assert code.stage == "zxing-colour"
    assert code.raw == SEAL_TEXT.encode("ascii")


def test_colour_stage_on_a_reduced_jpeg_keeps_full_resolution_corners() -> None:
    # 3000×2000 (6 MP): decoded at ½ by the JPEG decoder, in colour too.
    at = (1900, 1100)
    data = _jpeg(_red_seal(at, (3000, 2000)), quality=92)
    (code,) = decode_image_bytes(data).codes
    assert code.stage == "zxing-colour"
    side = _matrix(SEAL_TEXT, qrcode.constants.ERROR_CORRECT_L, BOX).shape[0] - 2 * BORDER * BOX
    x0, y0 = at[0] + BORDER * BOX, at[1] + BORDER * BOX
    expected = [(x0, y0), (x0 + side, y0), (x0 + side, y0 + side), (x0, y0 + side)]
    assert _corners_ok(code, expected, 2 * BOX), (code.position, expected)


def test_gray_files_have_no_colour_variant() -> None:
    buf = io.BytesIO()
    Image.new("L", (64, 64), 200).save(buf, "PNG")
    assert not load_image(buf.getvalue(), ImageLimits()).colour


# --- bent paper --------------------------------------------------------------------

CYL_BOX = 5
CYL_EDGE_DEG = 55.0
CYL_FLAT = 0.4  # share of the symbol left flat before the bend
CYL_ANGLE = 20.0
CYL_PAD = 40


def _cylinder() -> tuple[U8, list[tuple[float, float]]]:
    """Paper bent round a vertical cylinder (orthographic view), then rotated.

    Left of ``u0`` the paper is flat; right of it paper coordinate ``u`` appears
    at ``x = u0 + R·sin((u − u0)/R)`` with 55° reached at the symbol edge, where
    modules are compressed to cos 55° ≈ 0.57 of their width.  Returns the gray
    picture and the symbol corners (TL, TR, BR, BL) in it.
    """
    sym = _matrix(CURVED_TEXT, qrcode.constants.ERROR_CORRECT_Q, CYL_BOX).astype(np.float32)
    sym = 25 + sym * (205 / 255)
    n = sym.shape[0]
    quiet = BORDER * CYL_BOX
    inner = n - 2 * quiet
    u0 = quiet + CYL_FLAT * inner
    radius = (n - quiet - u0) / math.radians(CYL_EDGE_DEG)
    side = n + 2 * CYL_PAD
    xi = np.arange(side, dtype=np.float64) - CYL_PAD
    t = np.clip((xi - u0) / radius, -1.0, 1.0)
    u = np.where(xi <= u0, xi, u0 + radius * np.arcsin(t))
    u = np.where(xi - u0 >= radius, 1e6, u)
    map_x = np.tile(u.astype(np.float32), (side, 1))
    map_y = np.tile((np.arange(side, dtype=np.float32) - CYL_PAD)[:, None], (1, side))
    img = cv2.remap(sym, map_x, map_y, cv2.INTER_LINEAR, borderValue=215)
    shade = np.where(xi <= u0, 1.0, 0.65 + 0.35 * np.cos(np.arcsin(t)))
    img = img * shade[None, :].astype(np.float32)
    rot = cv2.getRotationMatrix2D((side / 2, side / 2), CYL_ANGLE, 1.0)
    img = cv2.warpAffine(img, rot, (side, side), flags=cv2.INTER_LINEAR, borderValue=200)
    img = cv2.GaussianBlur(img, (0, 0), 0.6)

    def project(u_: float, v_: float) -> tuple[float, float]:
        x = u_ if u_ <= u0 else u0 + radius * math.sin((u_ - u0) / radius)
        p = rot @ np.array([x + CYL_PAD, v_ + CYL_PAD, 1.0])
        return (float(p[0]), float(p[1]))

    lo, hi = float(quiet), float(n - quiet)
    corners = [project(lo, lo), project(hi, lo), project(hi, hi), project(lo, hi)]
    return np.clip(img, 0, 255).astype(np.uint8), corners


def test_alignment_positions() -> None:
    assert alignment_positions(1) == []
    assert alignment_positions(2) == [6, 18]
    assert alignment_positions(7) == [6, 22, 38]
    assert alignment_positions(15) == [6, 26, 48, 70]
    assert alignment_positions(32) == [6, 34, 60, 86, 112, 138]
    assert alignment_positions(40) == [6, 30, 58, 86, 114, 142, 170]


def test_bent_paper_is_read_only_by_the_curved_stage() -> None:
    img, corners = _cylinder()
    qr = zxingcpp.BarcodeFormats([zxingcpp.BarcodeFormat.QRCode])
    assert zxingcpp.read_barcodes(img, formats=qr) == []
    (code,) = decode_image_array(img).codes
    assert code.stage == "zxing-curved"
    assert code.raw == CURVED_TEXT.encode("ascii")
    # corners come back through the remap tables into this picture
    assert _corners_ok(code, corners, 2 * CYL_BOX), (code.position, corners)


def test_rectified_symbol_is_upright_and_square() -> None:
    img, _ = _cylinder()
    best = rectify(img)[0]
    version = (_matrix(CURVED_TEXT, qrcode.constants.ERROR_CORRECT_Q, 1).shape[0] - 8 - 17) // 4
    assert best.version == version
    assert best.anchors == len(alignment_positions(version)) ** 2 - 3
    assert best.img.shape[0] == best.img.shape[1] == (4 * version + 17 + 8) * 4


def test_rectifier_ignores_noise() -> None:
    rng = np.random.default_rng(3)
    noise = np.clip(rng.normal(128, 20, (1200, 1600)), 0, 255).astype(np.uint8)
    assert rectify(noise) == []
