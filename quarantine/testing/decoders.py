"""Uniform wrappers round the QR decoders measured on the synthetic photo set.

Each decoder takes encoded image bytes and returns a :class:`DecodeOutcome`
(decoded QR texts and wall time including the image decoding): the raw
zxing-cpp, pyzbar and OpenCV decoders, and the project's scan pipeline
(:func:`quarantine.imaging.decode_image_bytes`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt
import zxingcpp
from pyzbar import pyzbar

from quarantine.imaging import decode_image_bytes

U8 = npt.NDArray[np.uint8]
QR_FORMATS = zxingcpp.BarcodeFormats(
    [zxingcpp.BarcodeFormat.QRCodeModel1, zxingcpp.BarcodeFormat.QRCodeModel2]
)


@dataclass(frozen=True)
class DecodeOutcome:
    """Texts of the QR symbols a decoder returned for one image."""

    texts: tuple[str, ...]
    ms: float
    error: str | None = None
    stages: tuple[str, ...] = ()


Decoder = Callable[[bytes], DecodeOutcome]


def _load_bgr(data: bytes) -> U8:
    img = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    if img is None:
        raise ValueError("not a decodable image")
    return np.asarray(img, dtype=np.uint8)


def _timed(fn: Callable[[bytes], tuple[str, ...]]) -> Decoder:
    def run(data: bytes) -> DecodeOutcome:
        started = time.perf_counter()
        try:
            texts = fn(data)
        except Exception as exc:  # a decoder crash counts as a miss, recorded
            return DecodeOutcome((), (time.perf_counter() - started) * 1000, repr(exc))
        return DecodeOutcome(texts, (time.perf_counter() - started) * 1000)

    return run


def _zxing(data: bytes) -> tuple[str, ...]:
    found = zxingcpp.read_barcodes(_load_bgr(data), formats=QR_FORMATS)
    return tuple(str(b.text) for b in found)


def _pyzbar(data: bytes) -> tuple[str, ...]:
    gray = cv2.cvtColor(_load_bgr(data), cv2.COLOR_BGR2GRAY)
    found = pyzbar.decode(gray, symbols=[pyzbar.ZBarSymbol.QRCODE])
    return tuple(bytes(s.data).decode("utf-8", "replace") for s in found)


def _opencv(data: bytes) -> tuple[str, ...]:
    text, _points, _ = cv2.QRCodeDetector().detectAndDecode(_load_bgr(data))
    return (str(text),) if text else ()


def pipeline_decoder(data: bytes) -> DecodeOutcome:
    """The scan pipeline; ``stages`` names the cascade stage of each code."""
    started = time.perf_counter()
    try:
        result = decode_image_bytes(data)
    except Exception as exc:  # rejected input counts as a miss, recorded
        return DecodeOutcome((), (time.perf_counter() - started) * 1000, repr(exc))
    return DecodeOutcome(
        texts=tuple(code.text for code in result.codes),
        ms=(time.perf_counter() - started) * 1000,
        stages=tuple(code.stage for code in result.codes),
    )


zxing_decoder: Decoder = _timed(_zxing)
pyzbar_decoder: Decoder = _timed(_pyzbar)
opencv_decoder: Decoder = _timed(_opencv)

#: Every measured decoder by display name, the pipeline last.
DECODERS: dict[str, Decoder] = {
    "zxing-cpp": zxing_decoder,
    "pyzbar": pyzbar_decoder,
    "opencv": opencv_decoder,
    "pipeline": pipeline_decoder,
}
