"""The decoding cascade: an ordered list of cheap-to-expensive stages.

Every stage reads one prepared variant of the image and returns candidates whose
corners are already mapped back to full-resolution coordinates of the upright
image.  The order follows measurement on the shared photo corpus (see
``docs/imaging.md``): plain zxing-cpp first, then zxing-cpp on variants that
read codes the plain call misses, then zbar.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np
import zxingcpp

from quarantine.imaging import curved, zbar

if TYPE_CHECKING:
    import numpy.typing as npt

    Gray = npt.NDArray[np.uint8]

log = logging.getLogger(__name__)

#: The first stages work on a copy reduced (by an integer factor) to at most this
#: many pixels; a full-resolution pass follows when it finds nothing.
WORK_MAX_PIXELS = 4_200_000
#: Images whose longer side is at most this get a 2× upscaled pass.
UPSCALE_MAX_SIDE = 1000
#: zbar is slow on big images: it gets a copy whose longer side is at most this.
ZBAR_MAX_SIDE = 1600
#: The bent-paper rectifier runs on a copy at most this long, and on a 2× copy
#: of images at most ``CURVED_UP_MAX_SIDE`` long (finders of few pixels).
CURVED_MAX_SIDE = 2400
CURVED_UP_MAX_SIDE = 1000

#: QR Model 1 and 2; Micro QR and rMQR are never used on certificates.
_QR_FORMATS = zxingcpp.BarcodeFormats(
    [zxingcpp.BarcodeFormat.QRCodeModel1, zxingcpp.BarcodeFormat.QRCodeModel2]
)

_GLOBAL_HISTOGRAM = zxingcpp.Binarizer.GlobalHistogram

FPoint = tuple[float, float]
FQuad = tuple[FPoint, FPoint, FPoint, FPoint]


def as_gray(img: object) -> Gray:
    """View an OpenCV result as a uint8 array (no copy when it already is one)."""
    return np.asarray(img, dtype=np.uint8)


@dataclass(frozen=True)
class Frame:
    """A gray image and its scale: ``frame pixel = full-resolution pixel × scale``."""

    img: Gray
    scale: float


@dataclass(frozen=True)
class Candidate:
    """A code read by one stage; ``quad`` in full-resolution upright coordinates."""

    text: str
    raw: bytes
    quad: FQuad
    stage: str


@dataclass
class Context:
    """The image being scanned, with its derived variants cached per scan.

    ``base`` is the image as decoded: full resolution, or already reduced by the
    JPEG decoder (DCT scaling) for a huge photo, in which case ``load_full``
    decodes it again at full resolution when a stage needs that.  For a colour
    picture ``load_colour`` gives the per-pixel maximum of its colour channels at
    the size of ``base`` (decoded only when a stage asks for it).
    """

    base: Frame
    load_full: Callable[[], Gray] | None = None
    load_colour: Callable[[], Gray] | None = None
    _cache: dict[str, Frame] = field(default_factory=dict)

    def frame(self, key: str, make: Callable[[], Frame]) -> Frame:
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    @property
    def full(self) -> Frame:
        """The image at full resolution (decoded again if ``base`` is reduced)."""
        if self.base.scale >= 1.0 or self.load_full is None:
            return self.base
        load = self.load_full
        return self.frame("full", lambda: Frame(load(), 1.0))

    @property
    def work(self) -> Frame:
        """``base``, reduced by an integer factor when it is still huge."""
        return self.frame("work", lambda: _reduce(self.base, WORK_MAX_PIXELS))

    @property
    def colour(self) -> Frame | None:
        """The channel-maximum image at the scale of ``work``; None for gray input."""
        load = self.load_colour
        if load is None:
            return None
        base = self.base

        def make() -> Frame:
            img = load()
            if img.shape[:2] != base.img.shape[:2]:
                raise ValueError(f"colour image {img.shape} does not match {base.img.shape}")
            return _reduce(Frame(img, base.scale), WORK_MAX_PIXELS)

        return self.frame("colour", make)

    @property
    def reduced(self) -> bool:
        return self.work.scale < 1.0


def reduction_factor(pixels: int, max_pixels: int) -> int:
    """The smallest integer factor that brings ``pixels`` to at most ``max_pixels``."""
    return math.ceil(math.sqrt(pixels / max_pixels)) if pixels > max_pixels else 1


def _reduce(base: Frame, max_pixels: int) -> Frame:
    img = base.img
    h, w = img.shape[:2]
    factor = reduction_factor(h * w, max_pixels)
    if factor <= 1:
        return base
    size = (max(1, w // factor), max(1, h // factor))
    small = as_gray(cv2.resize(img, size, interpolation=cv2.INTER_AREA))
    return Frame(small, base.scale * size[0] / w)


def _bounded(base: Frame, max_side: int) -> Frame:
    img = base.img
    h, w = img.shape[:2]
    if max(h, w) <= max_side:
        return base
    scale = max_side / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    out = as_gray(cv2.resize(img, size, interpolation=cv2.INTER_AREA))
    return Frame(out, base.scale * size[0] / w)


def _derive(base: Frame, op: Callable[[Gray], Gray], scale: float = 1.0) -> Frame:
    return Frame(op(base.img), base.scale * scale)


# --- zxing-cpp -----------------------------------------------------------------


def zxing_read(frame: Frame, stage: str, **options: Any) -> list[Candidate]:
    """zxing-cpp ``read_barcodes`` for QR Model 1/2 only, bytes kept exactly."""
    found = zxingcpp.read_barcodes(
        frame.img, formats=_QR_FORMATS, text_mode=zxingcpp.TextMode.Plain, **options
    )
    out: list[Candidate] = []
    for b in found:
        if not b.valid:
            continue
        p = b.position
        corners = (p.top_left, p.top_right, p.bottom_right, p.bottom_left)
        quad = _unscale(tuple((float(c.x), float(c.y)) for c in corners), frame.scale)
        out.append(Candidate(text=str(b.text), raw=bytes(b.bytes), quad=quad, stage=stage))
    return out


def _unscale(points: tuple[FPoint, ...], scale: float) -> FQuad:
    pts = [(x / scale, y / scale) for x, y in points]
    return (pts[0], pts[1], pts[2], pts[3])


def zxing_colour(ctx: Context) -> list[Candidate]:
    frame = ctx.colour
    return [] if frame is None else zxing_read(frame, "zxing-colour")


# --- bent paper ----------------------------------------------------------------


def curved_read(frame: Frame, stage: str) -> list[Candidate]:
    """Rectify symbols from their finder and alignment patterns, then zxing-cpp.

    Corners read in the rectified picture go back through its remap tables.
    """
    out: list[Candidate] = []
    for rect in curved.rectify(frame.img):
        found = zxing_read(Frame(rect.img, 1.0), stage)
        for c in found:
            src = tuple(rect.source(x, y) for x, y in c.quad)
            out.append(
                Candidate(text=c.text, raw=c.raw, quad=_unscale(src, frame.scale), stage=stage)
            )
        if out:
            break
    return out


def _curved_frame(ctx: Context) -> Frame:
    return ctx.frame("curved", lambda: _bounded(ctx.work, CURVED_MAX_SIDE))


def _upscale2(img: Gray) -> Gray:
    return as_gray(cv2.resize(img, None, fx=2.0, fy=2.0, interpolation=cv2.INTER_CUBIC))


# --- zbar ----------------------------------------------------------------------


def zbar_read(frame: Frame, stage: str) -> list[Candidate]:
    out: list[Candidate] = []
    for raw, points in zbar.read_qr(frame.img):
        quad = _unscale(_four_corners(points), frame.scale)
        out.append(Candidate(text=zbar.text_of(raw), raw=raw, quad=quad, stage=stage))
    return out


def _four_corners(points: list[tuple[int, int]]) -> tuple[FPoint, ...]:
    if len(points) == 4:
        return tuple((float(x), float(y)) for x, y in points)
    if not points:
        return ((0.0, 0.0),) * 4
    box = cv2.boxPoints(cv2.minAreaRect(np.array(points, dtype=np.float32)))
    return tuple((float(x), float(y)) for x, y in box)


# --- variants ------------------------------------------------------------------


def _median3(img: Gray) -> Gray:
    return as_gray(cv2.medianBlur(img, 3))


def _otsu(img: Gray) -> Gray:
    blurred = cv2.GaussianBlur(img, (5, 5), 0)
    _, out = cv2.threshold(blurred, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    return as_gray(out)


def _clahe(img: Gray) -> Gray:
    return as_gray(cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8)).apply(img))


def _unsharp(img: Gray, sigma: float, amount: float) -> Gray:
    blurred = cv2.GaussianBlur(img, (0, 0), sigma)
    return as_gray(cv2.addWeighted(img, 1.0 + amount, blurred, -amount, 0))


def _sharpen(img: Gray) -> Gray:
    return _unsharp(img, 2.5, 1.5)


def _upscale2_sharpen(img: Gray) -> Gray:
    big = as_gray(cv2.resize(img, None, fx=2.0, fy=2.0, interpolation=cv2.INTER_CUBIC))
    return _unsharp(big, 3.0, 1.5)


def _half(img: Gray) -> Gray:
    h, w = img.shape[:2]
    size = (max(1, w // 2), max(1, h // 2))
    return as_gray(cv2.resize(img, size, interpolation=cv2.INTER_AREA))


# --- the cascade ---------------------------------------------------------------


@dataclass(frozen=True)
class Stage:
    """One step of the cascade; ``applies`` decides whether it runs for an image."""

    name: str
    run: Callable[[Context], list[Candidate]]
    applies: Callable[[Context], bool] = lambda _ctx: True
    doc: str = ""


def _zbar_frame(ctx: Context) -> Frame:
    return ctx.frame("zbar", lambda: _bounded(ctx.work, ZBAR_MAX_SIDE))


STAGES: tuple[Stage, ...] = (
    Stage(
        "zxing",
        lambda ctx: zxing_read(ctx.work, "zxing"),
        doc="zxing-cpp on the gray image (reduced by an integer factor above 4.2 MP)",
    ),
    Stage(
        "zxing-full",
        lambda ctx: zxing_read(ctx.full, "zxing-full"),
        applies=lambda ctx: ctx.reduced,
        doc="zxing-cpp at full resolution, only when the first pass was reduced",
    ),
    Stage(
        "zxing-colour",
        zxing_colour,
        applies=lambda ctx: ctx.load_colour is not None,
        doc="zxing-cpp on the per-pixel maximum of the colour channels (red seals)",
    ),
    Stage(
        "zxing-histogram",
        lambda ctx: zxing_read(
            ctx.work, "zxing-histogram", binarizer=zxingcpp.Binarizer.GlobalHistogram
        ),
        doc="zxing-cpp with its global-histogram binarizer (uneven codes, screens)",
    ),
    Stage(
        "zxing-median",
        lambda ctx: zxing_read(
            ctx.frame("median", lambda: _derive(ctx.work, _median3)), "zxing-median"
        ),
        doc="3×3 median blur (sensor noise, halftone print)",
    ),
    Stage(
        "zxing-otsu",
        lambda ctx: zxing_read(ctx.frame("otsu", lambda: _derive(ctx.work, _otsu)), "zxing-otsu"),
        doc="Gaussian blur + Otsu global threshold",
    ),
    Stage(
        "zxing-clahe",
        lambda ctx: zxing_read(
            ctx.frame("clahe", lambda: _derive(ctx.work, _clahe)), "zxing-clahe"
        ),
        doc="CLAHE local contrast (dark or low-contrast photos)",
    ),
    Stage(
        "zxing-sharpen",
        lambda ctx: zxing_read(
            ctx.frame("sharpen", lambda: _derive(ctx.work, _sharpen)), "zxing-sharpen"
        ),
        doc="unsharp mask, sigma 2.5 px, amount 1.5 (defocus blur)",
    ),
    Stage(
        "zxing-upscale",
        lambda ctx: zxing_read(
            ctx.frame("up2", lambda: _derive(ctx.work, _upscale2_sharpen, 2.0)), "zxing-upscale"
        ),
        applies=lambda ctx: max(ctx.work.img.shape[:2]) <= UPSCALE_MAX_SIDE,
        doc="2× bicubic upscale then unsharp mask, for small images (few pixels per module)",
    ),
    Stage(
        "zxing-half",
        lambda ctx: zxing_read(
            ctx.frame("half", lambda: _derive(ctx.work, _half, 0.5)), "zxing-half"
        ),
        applies=lambda ctx: min(ctx.work.img.shape[:2]) >= 240,
        doc="half-size copy (large modules smeared by motion blur or noise)",
    ),
    Stage(
        "zbar",
        lambda ctx: zbar_read(_zbar_frame(ctx), "zbar"),
        doc="zbar (pyzbar, guarded) on a copy at most 1600 px on its longer side",
    ),
    Stage(
        "zbar-half",
        lambda ctx: zbar_read(
            ctx.frame("zbar-half", lambda: _derive(_zbar_frame(ctx), _half, 0.5)), "zbar-half"
        ),
        applies=lambda ctx: min(_zbar_frame(ctx).img.shape[:2]) >= 160,
        doc="zbar on a half-size copy (codes too large or too noisy for zbar's scanner)",
    ),
    Stage(
        "zxing-curved",
        lambda ctx: curved_read(_curved_frame(ctx), "zxing-curved"),
        doc="symbol rectified through its finder and alignment patterns (bent paper)",
    ),
    Stage(
        "zxing-curved-up",
        lambda ctx: curved_read(
            ctx.frame("curved-up", lambda: _derive(_curved_frame(ctx), _upscale2, 2.0)),
            "zxing-curved-up",
        ),
        applies=lambda ctx: max(_curved_frame(ctx).img.shape[:2]) <= CURVED_UP_MAX_SIDE,
        doc="the same on a 2× bicubic copy (finder and alignment patterns of few pixels)",
    ),
)

STAGE_NAMES: tuple[str, ...] = tuple(s.name for s in STAGES)
