"""Scan pipeline: read QR codes from photos (图片二维码识别).

Bytes are checked against :class:`ImageLimits` before any pixel is decoded, then
a cascade of decoders runs (zxing-cpp, zxing-cpp on preprocessed variants, zbar)
until the wanted codes are found or the time budget is spent.  See
``docs/imaging.md``.
"""

from __future__ import annotations

from quarantine.imaging.errors import ImageInputError, ImageLimitExceeded
from quarantine.imaging.hints import HINTS
from quarantine.imaging.limits import DEFAULT_FORMATS, ImageLimits
from quarantine.imaging.pipeline import (
    DEFAULT_LIMITS,
    decode_image_array,
    decode_image_bytes,
    decode_image_file,
)
from quarantine.imaging.results import DecodedCode, DecodeResult

__all__ = [
    "DEFAULT_FORMATS",
    "DEFAULT_LIMITS",
    "HINTS",
    "DecodeResult",
    "DecodedCode",
    "ImageInputError",
    "ImageLimitExceeded",
    "ImageLimits",
    "decode_image_array",
    "decode_image_bytes",
    "decode_image_file",
]
