"""Encoded bytes → grayscale pixels, with every limit checked before decoding.

Order of checks: byte length, format by magic bytes (allowlist), pixel count from
the header (Pillow opens lazily; no pixel is decoded before ``load()``), then the
pixels are decoded, the EXIF orientation is applied
(:func:`PIL.ImageOps.exif_transpose`) and the image is turned into 8-bit gray.
Transparent pixels are composited onto white first, so a black code drawn on a
transparent background stays readable.
"""

from __future__ import annotations

import dataclasses
import io
import os
import threading
import warnings
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image, ImageOps

from quarantine.imaging import errors
from quarantine.imaging.limits import ImageLimits

if TYPE_CHECKING:
    import numpy.typing as npt

    Gray = npt.NDArray[np.uint8]

# OpenCV reads this once, on its first image I/O call; set it before cv2 decodes
# anything so that any image OpenCV itself would read is bounded too.
os.environ.setdefault("OPENCV_IO_MAX_IMAGE_PIXELS", str(ImageLimits().max_pixels))

_HEIF_BRANDS = frozenset(
    {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs", b"mif1", b"msf1"}
)
#: Pillow modes without colour: the channel maximum would equal the gray image.
_GRAY_MODES = frozenset({"1", "L", "LA", "La", "I", "I;16", "I;16L", "I;16B", "I;16N", "F"})
_heif_lock = threading.Lock()
_heif_state: dict[str, bool] = {}


@dataclasses.dataclass(frozen=True)
class LoadedImage:
    """A decoded image.

    ``gray`` is upright (EXIF orientation applied); ``orientation`` is the EXIF
    value that was applied (1 = none); ``size`` is the (width, height) stored in
    the file, before the orientation was applied.  ``scale`` is below 1 when the
    JPEG decoder reduced the picture on request (``gray`` pixel = full-resolution
    pixel × ``scale``).  ``colour`` is true when the file holds colour pixels
    (then :func:`load_channel_max` gives a colour-aware variant).
    """

    gray: Gray
    format: str
    size: tuple[int, int]
    orientation: int
    scale: float = 1.0
    colour: bool = False

    @property
    def upright_size(self) -> tuple[int, int]:
        """(width, height) at full resolution after the orientation was applied."""
        w, h = self.size
        return (h, w) if self.orientation in (5, 6, 7, 8) else (w, h)


def sniff_format(data: bytes) -> str:
    """Name the container format from its magic bytes (Pillow's format names).

    Returns ``"UNKNOWN"`` when nothing matches.  Formats that are recognised but
    never accepted (GIF, BMP, TIFF, AVIF, …) are named too, for the error text.
    """
    head = data[:32]
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in _HEIF_BRANDS:
            return "HEIF"
        if brand in (b"avif", b"avis"):
            return "AVIF"
        return "ISOBMFF"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if head[:2] == b"BM":
        return "BMP"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "TIFF"
    if head[:4] == b"\x00\x00\x01\x00":
        return "ICO"
    if head[:4] == b"8BPS":
        return "PSD"
    if head[:4] == b"%PDF":
        return "PDF"
    return "UNKNOWN"


def _heif_available() -> bool:
    """Register pillow-heif's opener once; False when it cannot be imported."""
    with _heif_lock:
        if "ok" not in _heif_state:
            try:
                import pillow_heif

                pillow_heif.register_heif_opener()
                _heif_state["ok"] = True
            except Exception:  # ImportError or a broken native library
                _heif_state["ok"] = False
        return _heif_state["ok"]


def load_image(
    data: bytes,
    limits: ImageLimits,
    *,
    draft_max_pixels: int | None = None,
    channel_max: bool = False,
) -> LoadedImage:
    """Check ``data`` against ``limits`` and decode it to an upright gray image.

    With ``draft_max_pixels``, a JPEG larger than that is decoded directly at
    1/2, 1/4 or 1/8 size (DCT scaling, much cheaper than decoding it whole and
    resizing); the result reports its ``scale``.

    With ``channel_max``, ``gray`` holds the per-pixel maximum of the colour
    channels instead of the luminance (see :func:`channel_max_of`).

    Raises :class:`~quarantine.imaging.errors.ImageLimitExceeded` or
    :class:`~quarantine.imaging.errors.ImageInputError`; never anything else for
    bad input.
    """
    if not data:
        raise errors.empty()
    if len(data) > limits.max_bytes:
        raise errors.too_large(len(data), limits.max_bytes)
    fmt = sniff_format(data)
    if fmt not in limits.formats:
        raise errors.format_not_allowed(fmt)
    if fmt == "HEIF" and not _heif_available():
        raise errors.format_not_allowed("HEIF (pillow-heif unavailable)")

    # Pillow's own bomb check runs inside Image.open(); keep it at our bound.
    Image.MAX_IMAGE_PIXELS = limits.max_pixels
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(data), formats=[fmt])
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise errors.ImageLimitExceeded(
            "IMAGE_TOO_MANY_PIXELS",
            f"图片像素过多，上限 {limits.max_pixels} 像素",
            f"image has too many pixels, limit {limits.max_pixels} pixels",
        ) from exc
    except Exception as exc:
        raise errors.unreadable(type(exc).__name__) from exc

    with im:
        width, height = im.size
        if width <= 0 or height <= 0:
            raise errors.unreadable("zero-sized image")
        if width * height > limits.max_pixels:
            raise errors.too_many_pixels(width, height, limits.max_pixels)
        colour = im.mode not in _GRAY_MODES
        try:
            if fmt == "JPEG":
                # Decode luminance only (no chroma upsampling or colour
                # conversion) unless the colour channels are wanted.
                factor = 1
                if draft_max_pixels is not None:
                    factor = _draft_factor(width * height, draft_max_pixels)
                mode = "RGB" if channel_max and colour else "L"
                im.draft(mode, (max(1, width // factor), max(1, height // factor)))
            im.load()
            orientation = _orientation(im)
            upright = _transpose(im)
            gray = _to_channel_max(upright) if channel_max else _to_gray(upright)
        except errors.ImageInputError:
            raise
        except Exception as exc:
            raise errors.unreadable(type(exc).__name__) from exc
    loaded = LoadedImage(
        gray=gray, format=fmt, size=(width, height), orientation=orientation, colour=colour
    )
    full_width = loaded.upright_size[0]
    if gray.shape[1] != full_width:
        loaded = dataclasses.replace(loaded, scale=gray.shape[1] / full_width)
    return loaded


def _draft_factor(pixels: int, max_pixels: int) -> int:
    factor = 1
    while factor < 8 and pixels / (factor * factor) > max_pixels:
        factor *= 2
    return factor


def _orientation(im: Image.Image) -> int:
    try:
        value = im.getexif().get(0x0112, 1)
    except Exception:
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def _transpose(im: Image.Image) -> Image.Image:
    try:
        out = ImageOps.exif_transpose(im)
    except Exception:  # a malformed EXIF block must not lose the picture
        return im
    return out if out is not None else im


def _to_gray(im: Image.Image) -> Gray:
    mode = im.mode
    if mode == "L":
        return np.asarray(im, dtype=np.uint8).copy()
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        arr = np.asarray(im, dtype=np.float64)
        lo, hi = float(arr.min()), float(arr.max())
        scale = 255.0 / (hi - lo) if hi > lo else 0.0
        return np.clip((arr - lo) * scale, 0, 255).astype(np.uint8)
    if mode == "P" and "transparency" in im.info:
        im = im.convert("RGBA")
        mode = "RGBA"
    if mode in ("RGBA", "LA", "PA", "La", "RGBa"):
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        im = Image.alpha_composite(white, rgba)
    return np.asarray(im.convert("L"), dtype=np.uint8).copy()


def channel_max_of(rgb: npt.NDArray[np.uint8]) -> Gray:
    """Per-pixel maximum of the three colour channels (any channel order).

    Ink of any strong colour (a red seal, a blue stamp) is light in at least
    one channel, so it turns almost as light as the paper, while black print
    stays dark in all three; in the luminance image red ink is mid-grey and
    covers the modules beneath it.
    """
    return np.asarray(np.maximum(np.maximum(rgb[:, :, 0], rgb[:, :, 1]), rgb[:, :, 2]))


def _to_channel_max(im: Image.Image) -> Gray:
    if im.mode in _GRAY_MODES:
        return _to_gray(im)
    if im.mode == "P" and "transparency" in im.info:
        im = im.convert("RGBA")
    if im.mode in ("RGBA", "PA", "RGBa"):
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        im = Image.alpha_composite(white, rgba)
    return channel_max_of(np.asarray(im.convert("RGB"), dtype=np.uint8))
