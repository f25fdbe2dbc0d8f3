"""Why nothing was read: cheap image measurements turned into advice.

Computed only when the cascade found no code.  Each hint code has a message in
Chinese and English in :data:`HINTS`.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import cv2
import numpy as np
import zxingcpp

from quarantine.imaging.stages import as_gray

if TYPE_CHECKING:
    import numpy.typing as npt

    Gray = npt.NDArray[np.uint8]

HINTS: dict[str, dict[str, str]] = {
    "TOO_DARK": {
        "zh": "图片太暗：请在光线充足处重拍，或打开闪光灯。",
        "en": "The picture is too dark: retake it in better light or with the flash on.",
    },
    "GLARE": {
        "zh": "图片有强烈反光：请调整角度避开灯光或窗户反光后重拍。",
        "en": "The picture has glare: tilt the paper or phone away from lamps and windows.",
    },
    "TOO_BLURRY": {
        "zh": "图片模糊：请保持手机稳定，对焦后重拍。",
        "en": "The picture is blurred: hold the phone still and let it focus, then retake.",
    },
    "TOO_SMALL": {
        "zh": "二维码在图片中太小：请靠近二维码，让它占据画面的大部分。",
        "en": "The QR code is too small in the picture: move closer so it fills most of the frame.",
    },
    "DISTORTED": {
        "zh": "二维码可见但无法识别（弯曲、褶皱或污损）：请将证书展平，正对镜头重拍。",
        "en": "A QR code is visible but unreadable (bent, creased or soiled): "
        "lay the certificate flat and photograph it straight on.",
    },
    "TIME_BUDGET": {
        "zh": "识别超时：已在时间上限内停止，请重拍一张更清晰的照片。",
        "en": "Decoding stopped at the time limit: retake a clearer picture.",
    },
    "NO_CODE": {
        "zh": "未在图片中找到二维码：请确认照片中包含完整的二维码。",
        "en": "No QR code found: make sure the whole QR code is in the picture.",
    },
}

#: Mean luminance (0–255) below which a picture counts as dark.
DARK_MEAN = 55.0
#: Luminance of clipped highlights, and the share of the picture one connected
#: blob of them must cover for glare to be reported.
GLARE_LEVEL = 253
GLARE_BLOB_SHARE = 0.03
#: Edge steepness below which the picture counts as blurred: the 99.5th percentile
#: of the Sobel gradient (3×3 Gaussian first, on a copy at most 800 px on its
#: longer side) divided by the picture's contrast (5th–95th percentile spread).
#: Unlike the plain variance of the Laplacian it does not rise with sensor noise:
#: about 12 for a sharp code, 2.3 at a Gaussian blur of 3 px, 1.4 at 4 px.
BLUR_SHARPNESS = 2.0
#: Contrast (5th–95th percentile spread) below which a picture is flat: no edges
#: to judge.
FLAT_CONTRAST = 12.0
#: Smallest module, and finder pattern (7 modules), that decode reliably, in pixels.
MODULE_MIN_PX = 2.0
FINDER_MIN_SIDE = 21
#: Images whose shorter side is below this are too small to hold a readable code.
IMAGE_MIN_SIDE = 60

_ANALYSIS_SIDE = 800
_FINDER_SIDE = 1600
_QR = zxingcpp.BarcodeFormats(
    [zxingcpp.BarcodeFormat.QRCodeModel1, zxingcpp.BarcodeFormat.QRCodeModel2]
)


def message(code: str) -> str:
    """``"中文 / English"`` text for a hint code (the code itself if unknown)."""
    entry = HINTS.get(code)
    return f"{entry['zh']} / {entry['en']}" if entry else code


def _shrink(gray: Gray, max_side: int) -> tuple[Gray, float]:
    h, w = gray.shape[:2]
    if max(h, w) <= max_side:
        return gray, 1.0
    scale = max_side / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    out = as_gray(cv2.resize(gray, size, interpolation=cv2.INTER_AREA))
    return out, scale


def compute_hints(gray: Gray, scale: float = 1.0) -> tuple[str, ...]:
    """Hint codes for an image in which no code was found.

    ``gray`` may be a reduced copy (``gray`` pixel = full-resolution pixel ×
    ``scale``); sizes are judged at full resolution.  Order: ``TOO_DARK``,
    ``GLARE``, ``TOO_BLURRY``, ``TOO_SMALL``; ``DISTORTED`` when a symbol (or its
    finder patterns) of a readable size is seen but nothing else explains the
    failure; ``NO_CODE`` when nothing applies.
    """
    h, w = gray.shape[:2]
    if min(h, w) / scale < IMAGE_MIN_SIDE:
        return ("TOO_SMALL",)
    small, _ = _shrink(gray, _ANALYSIS_SIDE)
    hints: list[str] = []
    if float(small.mean()) < DARK_MEAN:
        hints.append("TOO_DARK")
    if _glare(small):
        hints.append("GLARE")
    sharp = sharpness(small)
    if sharp is not None and sharp < BLUR_SHARPNESS:
        hints.append("TOO_BLURRY")
    modules = _failed_symbol_modules(gray, scale)
    if modules:
        small_code = min(modules) < MODULE_MIN_PX
    else:
        sides = _finder_sides(gray, scale)
        if len(sides) < 3:
            return tuple(hints) if hints else ("NO_CODE",)
        small_code = sorted(sides)[len(sides) // 2] < FINDER_MIN_SIDE
    if small_code:
        hints.append("TOO_SMALL")
    elif not hints:
        hints.append("DISTORTED")
    return tuple(hints)


def _failed_symbol_modules(gray: Gray, scale: float) -> list[float]:
    """Module sizes (full-resolution px) of symbols zxing-cpp located but could not read."""
    found = zxingcpp.read_barcodes(gray, formats=_QR, return_errors=True)
    sizes: list[float] = []
    for b in found:
        if b.valid:
            continue
        extra = b.extra
        try:
            dimension = 17 + 4 * int(extra.get("Version", "0") if isinstance(extra, dict) else 0)
        except (TypeError, ValueError):
            continue
        p = b.position
        top = math.dist((p.top_left.x, p.top_left.y), (p.top_right.x, p.top_right.y))
        left = math.dist((p.top_left.x, p.top_left.y), (p.bottom_left.x, p.bottom_left.y))
        sizes.append(min(top, left) / scale / dimension)
    return sizes


def sharpness(gray: Gray) -> float | None:
    """Edge steepness relative to contrast (see :data:`BLUR_SHARPNESS`); None if flat."""
    low, high = np.percentile(gray, [5.0, 95.0])
    contrast = float(high - low)
    if contrast < FLAT_CONTRAST:
        return None
    smooth = cv2.GaussianBlur(gray, (3, 3), 0)
    gx = cv2.Sobel(smooth, cv2.CV_32F, 1, 0)
    gy = cv2.Sobel(smooth, cv2.CV_32F, 0, 1)
    return float(np.percentile(cv2.magnitude(gx, gy), 99.5)) / contrast


def _glare(small: Gray) -> bool:
    mask = (small >= GLARE_LEVEL).astype(np.uint8)
    if mask.mean() < GLARE_BLOB_SHARE:
        return False
    n, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    if n <= 1:
        return False
    largest = int(stats[1:, cv2.CC_STAT_AREA].max())
    return largest >= GLARE_BLOB_SHARE * mask.size


def _finder_sides(gray: Gray, scale: float = 1.0) -> list[float]:
    """Sides (full-resolution pixels) of finder-like nested squares in the image.

    The median filter and the offset of the threshold keep sensor noise from
    becoming millions of tiny contours (which made this slow on noisy photos).
    """
    img, shrink = _shrink(gray, _FINDER_SIDE)
    scale *= shrink
    binary = cv2.adaptiveThreshold(
        cv2.medianBlur(img, 3), 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, 15, 10
    )
    contours, hierarchy = cv2.findContours(binary, cv2.RETR_TREE, cv2.CHAIN_APPROX_SIMPLE)
    if hierarchy is None:
        return []
    tree = hierarchy[0]
    sides: list[float] = []
    for i, contour in enumerate(contours):
        child = int(tree[i][2])
        if child < 0 or int(tree[child][2]) < 0:
            continue  # a finder is a square holding a square holding a square
        _, _, cw, ch = cv2.boundingRect(contour)
        if cw < 4 or ch < 4 or not 0.6 <= cw / ch <= 1.6:
            continue
        area = cv2.contourArea(contour)
        if area < 0.6 * cw * ch:
            continue
        sides.append(max(cw, ch) / scale)
    return sides
