"""pyzbar, called through its ctypes layer so one bad symbol never loses an image.

pyzbar 0.1.9's ``decode()`` converts each symbol's orientation with
``ZBarOrientation(value)``; zbar returns ``-1`` (unknown) which pyzbar reads
through a ``c_uint`` as 4294967295, and the ``ValueError`` aborts the whole call
(pyzbar issue #139), losing every other symbol of the image.  Here the symbols
are walked with the same wrapper functions ``decode()`` uses, the orientation is
never asked for, and each symbol is read inside its own ``try``.

zbar is also told to return the symbol bytes unconverted (``ZBAR_CFG_BINARY``,
zbar ≥ 0.23), so ``raw`` is exact; ``text`` is derived from it.
"""

from __future__ import annotations

import ctypes
import logging
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import numpy.typing as npt

log = logging.getLogger(__name__)

#: ``ZBAR_CFG_BINARY`` in zbar 0.23 (pyzbar's enum predates it).
CFG_BINARY = 4

ZbarSymbol = tuple[bytes, list[tuple[int, int]]]


def read_qr(gray: npt.NDArray[np.uint8]) -> list[ZbarSymbol]:
    """Scan ``gray`` for QR codes; return ``(raw bytes, location points)`` pairs.

    Errors of single symbols are skipped; a failure of the whole scan returns
    what was read before it (usually nothing) and is logged, never raised.
    """
    # Loaded on first use: libzbar is a system library and only the last stages need it.
    from pyzbar import wrapper as zw

    img = np.ascontiguousarray(gray, dtype=np.uint8)
    height, width = img.shape[:2]
    out: list[ZbarSymbol] = []
    scanner = zw.zbar_image_scanner_create()
    try:
        for sym in zw.ZBarSymbol:
            enable = 1 if sym is zw.ZBarSymbol.QRCODE else 0
            zw.zbar_image_scanner_set_config(scanner, sym, zw.ZBarConfig.CFG_ENABLE, enable)
        zw.zbar_image_scanner_set_config(scanner, zw.ZBarSymbol.QRCODE, CFG_BINARY, 1)
        image = zw.zbar_image_create()
        try:
            zw.zbar_image_set_format(image, _fourcc(b"Y800"))
            zw.zbar_image_set_size(image, width, height)
            zw.zbar_image_set_data(image, img.ctypes.data_as(ctypes.c_void_p), img.nbytes, None)
            if zw.zbar_scan_image(scanner, image) < 0:
                return out
            symbol = zw.zbar_image_first_symbol(image)
            while symbol:
                try:
                    out.append(_read_symbol(zw, symbol))
                except Exception:  # one bad symbol must not lose the others
                    log.debug("zbar: skipping an unreadable symbol", exc_info=True)
                symbol = zw.zbar_symbol_next(symbol)
        finally:
            zw.zbar_image_destroy(image)
    except Exception:
        log.warning("zbar scan failed", exc_info=True)
    finally:
        zw.zbar_image_scanner_destroy(scanner)
    return out


def _fourcc(code: bytes) -> int:
    return code[0] | code[1] << 8 | code[2] << 16 | code[3] << 24


def _read_symbol(zw: Any, symbol: Any) -> ZbarSymbol:
    data = ctypes.string_at(zw.zbar_symbol_get_data(symbol), zw.zbar_symbol_get_data_length(symbol))
    points = [
        (int(zw.zbar_symbol_get_loc_x(symbol, i)), int(zw.zbar_symbol_get_loc_y(symbol, i)))
        for i in range(zw.zbar_symbol_get_loc_size(symbol))
    ]
    return data, points


def text_of(raw: bytes) -> str:
    """Text for zbar's raw bytes: UTF-8 if valid, else Shift_JIS, else ISO-8859-1.

    The same order zbar and zxing use to guess a QR byte segment's charset.
    """
    for codec in ("utf-8", "shift_jis"):
        try:
            return raw.decode(codec)
        except UnicodeDecodeError:
            continue
    return raw.decode("latin-1")
