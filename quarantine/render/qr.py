"""QR symbols for certificate texts: matrix, PNG and SVG.

A certificate QR text (``quarantine.core.qrtext``) is an upper-case base URL
ending in ``/C/`` followed by decimal digits.  It is encoded as two segments:
the URL in alphanumeric mode (5.5 bits a character) and the digits in numeric
mode (3.33 bits a digit).  Any other text becomes one ordinary segment.

Print rules (DESIGN §3): error correction Q, at least 0.5 mm per module and a
quiet zone of at least 4 modules on every side.
"""

from __future__ import annotations

import functools
import io
import re
from typing import Any, Final

#: Error-correction levels accepted by the functions of this module.
ECC_LEVELS: Final = ("L", "M", "Q", "H")
#: Smallest printed module (DESIGN §3).
MIN_MODULE_MM: Final = 0.5
#: Smallest quiet zone, in modules (ISO/IEC 18004).
MIN_QUIET_ZONE: Final = 4

_OURS_RE: Final = re.compile(r"^(HTTPS?://[0-9A-Z $%*+\-./:]*/C/)([0-9]+)$")

Matrix = tuple[tuple[bool, ...], ...]


def split_segments(text: str) -> tuple[str, str] | None:
    """``(prefix, digits)`` for a text of our shape, else ``None``."""
    match = _OURS_RE.match(text)
    if match is None:
        return None
    return match.group(1), match.group(2)


def _ecc_constant(ecc: str) -> int:
    from qrcode import constants

    table = {
        "L": constants.ERROR_CORRECT_L,
        "M": constants.ERROR_CORRECT_M,
        "Q": constants.ERROR_CORRECT_Q,
        "H": constants.ERROR_CORRECT_H,
    }
    try:
        return int(table[ecc])
    except KeyError:
        raise ValueError(f"ecc must be one of {', '.join(ECC_LEVELS)}, not {ecc!r}") from None


def _build(text: str, ecc: str) -> Any:
    """A fitted ``qrcode.QRCode`` without border."""
    import qrcode
    from qrcode import util

    if not text:
        raise ValueError("cannot encode an empty text")
    code = qrcode.QRCode(error_correction=_ecc_constant(ecc), border=0)
    parts = split_segments(text)
    if parts is None:
        code.add_data(util.QRData(text.encode("utf-8")))
    else:
        prefix, digits = parts
        code.add_data(util.QRData(prefix.encode("ascii"), mode=util.MODE_ALPHA_NUM))
        code.add_data(util.QRData(digits.encode("ascii"), mode=util.MODE_NUMBER))
    code.make(fit=True)
    return code


@functools.lru_cache(maxsize=32)
def _symbol(text: str, ecc: str) -> tuple[int, Matrix]:
    code = _build(text, ecc)
    matrix = tuple(tuple(bool(m) for m in row) for row in code.get_matrix())
    return int(code.version), matrix


def qr_version(text: str, ecc: str = "Q") -> int:
    """QR version (1–40) of ``text`` at error correction ``ecc``."""
    return _symbol(text, ecc)[0]


def qr_matrix(text: str, *, ecc: str = "Q") -> list[list[bool]]:
    """Modules of the symbol (``True`` = dark), without quiet zone."""
    return [list(row) for row in _symbol(text, ecc)[1]]


def _check_border(border: int) -> None:
    if border < MIN_QUIET_ZONE:
        raise ValueError(f"quiet zone must be at least {MIN_QUIET_ZONE} modules, not {border}")


def qr_image(text: str, *, ecc: str = "Q", module_px: int = 10, border: int = 4) -> Any:
    """The symbol as a Pillow ``L`` image (black on white) with quiet zone."""
    from PIL import Image

    _check_border(border)
    if module_px < 1:
        raise ValueError("module_px must be at least 1")
    matrix = _symbol(text, ecc)[1]
    n = len(matrix) + 2 * border
    small = Image.new("L", (n, n), 255)
    pixels = bytearray(small.tobytes())
    for y, row in enumerate(matrix):
        base = (y + border) * n + border
        for x, dark in enumerate(row):
            if dark:
                pixels[base + x] = 0
    small.frombytes(bytes(pixels))
    return small.resize((n * module_px, n * module_px), Image.Resampling.NEAREST)


def qr_png(text: str, *, ecc: str = "Q", module_px: int = 10, border: int = 4) -> bytes:
    """PNG bytes of the symbol; ``module_px`` pixels a module, ``border`` modules of quiet zone."""
    image = qr_image(text, ecc=ecc, module_px=module_px, border=border).convert("1")
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    return out.getvalue()


def _fmt(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".")


def svg_path_data(matrix: Matrix | list[list[bool]], border: int) -> str:
    """One path for all dark modules: each horizontal run is one closed rectangle."""
    parts: list[str] = []
    for y, row in enumerate(matrix):
        x = 0
        width = len(row)
        while x < width:
            if not row[x]:
                x += 1
                continue
            start = x
            while x < width and row[x]:
                x += 1
            parts.append(f"M{start + border} {y + border}h{x - start}v1h{start - x}z")
    return "".join(parts)


def qr_svg(text: str, *, ecc: str = "Q", module_mm: float = 0.5, border: int = 4) -> str:
    """A standalone SVG of the symbol, sized in millimetres (``module_mm`` ≥ 0.5)."""
    if not module_mm >= MIN_MODULE_MM:
        raise ValueError(
            f"module size must be at least {MIN_MODULE_MM} mm for reliable scanning, "
            f"not {module_mm} mm / 模块尺寸不得小于 {MIN_MODULE_MM} 毫米"
        )
    _check_border(border)
    matrix = _symbol(text, ecc)[1]
    n = len(matrix) + 2 * border
    size = _fmt(n * module_mm)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}mm" height="{size}mm" '
        f'viewBox="0 0 {n} {n}" shape-rendering="crispEdges" role="img" '
        f'aria-label="QR code, {_fmt(module_mm)} mm per module">'
        f"<title>扫码核验 / Scan to verify</title>"
        f'<rect width="{n}" height="{n}" fill="#fff"/>'
        f'<path fill="#000" d="{svg_path_data(matrix, border)}"/>'
        f"</svg>"
    )
