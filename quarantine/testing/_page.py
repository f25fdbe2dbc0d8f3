"""Certificate page layout and rasterisation for the synthetic photo generator.

Everything here works in *page modules*: one unit is one QR module, printed at
0.5 mm, so an A4 sheet is 420 x 594 modules.  The layout is a list of pen strokes
(table rules and stroke-built glyphs that look like printed Chinese text), the QR
matrix at a fixed place, and optionally a red official seal.  :func:`rasterize`
draws any window of the page at an integer number of pixels per module.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

#: A4 at 0.5 mm per module.
SHEET_W = 420.0
SHEET_H = 594.0

#: Fixed-point precision used for sub-pixel drawing with OpenCV (``shift``).
_SHIFT = 4
_ONE = 1 << _SHIFT

FloatArray = npt.NDArray[np.float64]
U8Array = npt.NDArray[np.uint8]
BoolArray = npt.NDArray[np.bool_]

Box = tuple[float, float, float, float]  # x0, y0, x1, y1 in page modules


@dataclass(frozen=True)
class Seal:
    """A round official seal: ring, five-pointed star and ring/base lettering."""

    cx: float
    cy: float
    radius: float
    ring_width: float
    star: FloatArray  # (10, 2) polygon, page modules
    strokes: FloatArray  # (N, 5): x0, y0, x1, y1, width in page modules

    def covers_box(self, box: Box) -> bool:
        """Whether the seal disc intersects an axis-aligned box."""
        x0, y0, x1, y1 = box
        nx = min(max(self.cx, x0), x1)
        ny = min(max(self.cy, y0), y1)
        return math.hypot(nx - self.cx, ny - self.cy) < self.radius


@dataclass(frozen=True)
class Page:
    """One certificate page: QR matrix placement, printed strokes, optional seal."""

    matrix: BoolArray  # True = dark module, includes the quiet zone
    border: int  # quiet zone width in modules
    qr_x: int  # top-left of ``matrix`` in page modules
    qr_y: int
    strokes: FloatArray  # (N, 5)
    seal: Seal | None = None

    @property
    def symbol_modules(self) -> int:
        """Side of the QR symbol in modules, without the quiet zone."""
        return int(self.matrix.shape[0]) - 2 * self.border

    @property
    def symbol_box(self) -> Box:
        """The QR symbol (without quiet zone) in page modules."""
        x0 = float(self.qr_x + self.border)
        y0 = float(self.qr_y + self.border)
        n = float(self.symbol_modules)
        return (x0, y0, x0 + n, y0 + n)

    @property
    def symbol_center(self) -> tuple[float, float]:
        """Centre of the QR symbol in page modules."""
        x0, y0, x1, y1 = self.symbol_box
        return ((x0 + x1) / 2.0, (y0 + y1) / 2.0)

    def finder_boxes(self) -> list[Box]:
        """The three finder patterns (7 x 7 modules) in page modules."""
        x0, y0, x1, y1 = self.symbol_box
        return [
            (x0, y0, x0 + 7.0, y0 + 7.0),
            (x1 - 7.0, y0, x1, y0 + 7.0),
            (x0, y1 - 7.0, x0 + 7.0, y1),
        ]


# --------------------------------------------------------------------------- glyphs


def _glyph_strokes(rng: np.random.Generator, x: float, y: float, size: float) -> list[list[float]]:
    """Strokes of one made-up CJK-like glyph in the square cell at (x, y)."""
    width = max(0.35, size * 0.085)
    out: list[list[float]] = []

    def part(px0: float, px1: float, py0: float, py1: float, n: int) -> None:
        w = px1 - px0
        h = py1 - py0
        for _ in range(n):
            kind = rng.integers(0, 10)
            if kind < 4:  # horizontal stroke
                yy = py0 + h * rng.uniform(0.05, 0.95)
                a = px0 + w * rng.uniform(0.0, 0.3)
                b = px1 - w * rng.uniform(0.0, 0.3)
                out.append([a, yy, b, yy + h * rng.uniform(-0.03, 0.0), width])
            elif kind < 7:  # vertical stroke
                xx = px0 + w * rng.uniform(0.1, 0.9)
                a = py0 + h * rng.uniform(0.0, 0.35)
                b = py1 - h * rng.uniform(0.0, 0.2)
                out.append([xx, a, xx, b, width])
            elif kind < 9:  # falling strokes
                sx = px0 + w * rng.uniform(0.2, 0.8)
                sy = py0 + h * rng.uniform(0.0, 0.5)
                direction = -1.0 if kind == 7 else 1.0
                out.append(
                    [
                        sx,
                        sy,
                        sx + direction * w * rng.uniform(0.25, 0.5),
                        sy + h * rng.uniform(0.3, 0.5),
                        width,
                    ]
                )
            else:  # dot
                sx = px0 + w * rng.uniform(0.2, 0.8)
                sy = py0 + h * rng.uniform(0.0, 0.8)
                out.append([sx, sy, sx + w * 0.08, sy + h * 0.12, width * 1.2])

    m = size * 0.1
    x0, y0, x1, y1 = x + m, y + m, x + size - m, y + size - m
    if rng.random() < 0.5:  # left radical + right component
        split = x0 + (x1 - x0) * rng.uniform(0.3, 0.42)
        part(x0, split - m * 0.5, y0, y1, int(rng.integers(2, 4)))
        part(split + m * 0.5, x1, y0, y1, int(rng.integers(3, 6)))
    else:
        part(x0, x1, y0, y1, int(rng.integers(4, 8)))
    return out


def _text_run(
    rng: np.random.Generator, x: float, y: float, size: float, count: int, pitch: float = 1.08
) -> list[list[float]]:
    strokes: list[list[float]] = []
    for i in range(count):
        strokes.extend(_glyph_strokes(rng, x + i * size * pitch, y, size))
    return strokes


def _digit_run(
    rng: np.random.Generator, x: float, y: float, size: float, count: int
) -> list[list[float]]:
    """Narrow, simple glyphs standing in for Latin digits and letters."""
    width = max(0.3, size * 0.08)
    strokes: list[list[float]] = []
    w = size * 0.5
    for i in range(count):
        gx = x + i * w * 1.15
        for _ in range(int(rng.integers(1, 4))):
            if rng.random() < 0.5:
                yy = y + size * rng.uniform(0.15, 0.85)
                strokes.append([gx, yy, gx + w * 0.8, yy, width])
            else:
                xx = gx + w * rng.uniform(0.0, 0.8)
                strokes.append([xx, y + size * 0.15, xx, y + size * 0.85, width])
    return strokes


def _clip_hline(x0: float, x1: float, y: float, w: float, keep_out: Box) -> list[list[float]]:
    kx0, ky0, kx1, ky1 = keep_out
    if not ky0 <= y <= ky1 or x1 <= kx0 or x0 >= kx1:
        return [[x0, y, x1, y, w]]
    out = []
    if x0 < kx0:
        out.append([x0, y, kx0, y, w])
    if x1 > kx1:
        out.append([kx1, y, x1, y, w])
    return out


def _clip_vline(x: float, y0: float, y1: float, w: float, keep_out: Box) -> list[list[float]]:
    kx0, ky0, kx1, ky1 = keep_out
    if not kx0 <= x <= kx1 or y1 <= ky0 or y0 >= ky1:
        return [[x, y0, x, y1, w]]
    out = []
    if y0 < ky0:
        out.append([x, y0, x, ky0, w])
    if y1 > ky1:
        out.append([x, ky1, x, y1, w])
    return out


def build_page(matrix: BoolArray, border: int, rng: np.random.Generator) -> Page:
    """Lay out a certificate form around the QR code (top-right or bottom-right)."""
    q = int(matrix.shape[0])
    qr_x = int(SHEET_W - 26 - q + rng.integers(-4, 5))
    top = bool(rng.random() < 0.6)
    qr_y = int(58 + rng.integers(0, 8)) if top else int(SHEET_H - 60 - q + rng.integers(-6, 4))
    keep_out: Box = (qr_x - 3.0, qr_y - 3.0, qr_x + q + 3.0, qr_y + q + 3.0)

    def free(x0: float, y0: float, x1: float, y1: float) -> bool:
        kx0, ky0, kx1, ky1 = keep_out
        return x1 <= kx0 or x0 >= kx1 or y1 <= ky0 or y0 >= ky1

    strokes: list[list[float]] = []
    # Title (8 large glyphs) and certificate number.
    title_size = 18.0
    n_title = 8
    tx = (SHEET_W - n_title * title_size * 1.08) / 2
    if not free(tx, 24, tx + n_title * title_size * 1.08, 24 + title_size):
        tx = 30.0
    if free(tx, 24, tx + n_title * title_size * 1.08, 24 + title_size):
        strokes += _text_run(rng, tx, 24.0, title_size, n_title)
    if free(40, 48, 200, 56):
        strokes += _text_run(rng, 40.0, 48.0, 7.0, 3) + _digit_run(rng, 64.0, 48.0, 7.0, 14)

    # Outer frame and table rules.
    left, right = 30.0, SHEET_W - 30.0
    y_top = 64.0
    y_bottom = SHEET_H - 40.0
    row_h = float(rng.uniform(16.0, 20.0))
    label_col = left + float(rng.uniform(70.0, 90.0))
    rule = 0.5
    frame = 0.9
    strokes += _clip_hline(left, right, y_top, frame, keep_out)
    strokes += _clip_hline(left, right, y_bottom, frame, keep_out)
    strokes += _clip_vline(left, y_top, y_bottom, frame, keep_out)
    strokes += _clip_vline(right, y_top, y_bottom, frame, keep_out)
    y = y_top
    rows: list[float] = []
    while y + row_h < y_bottom - 30:
        y += row_h
        rows.append(y)
        strokes += _clip_hline(left, right, y, rule, keep_out)
    strokes += _clip_vline(label_col, y_top, rows[-1], rule, keep_out)
    glyph = 7.0
    prev = y_top
    for ry in rows:
        gy = prev + (ry - prev - glyph) / 2
        n_label = int(rng.integers(2, 7))
        if free(left + 3, gy, left + 3 + n_label * glyph * 1.08, gy + glyph):
            strokes += _text_run(rng, left + 3, gy, glyph, n_label)
        vx = label_col + 4
        limit = right - 4
        if not free(vx, gy, limit, gy + glyph):
            limit = keep_out[0] - 4
        n_value = int((limit - vx) / (glyph * 1.08) * rng.uniform(0.3, 0.95))
        if n_value > 0 and rng.random() < 0.25:
            strokes += _digit_run(rng, vx, gy, glyph, min(2 * n_value, 40))
        elif n_value > 0:
            strokes += _text_run(rng, vx, gy, glyph, n_value)
        if rng.random() < 0.3:  # a mid-row column split
            mx = label_col + (right - label_col) * 0.55
            strokes += _clip_vline(mx, prev, ry, rule, keep_out)
        prev = ry
    # Caption under or above the QR, issuer and date at the bottom.
    cap_y = qr_y + q + 4.0 if top else qr_y - 12.0
    cap_x = qr_x + (q - 6 * 6.0 * 1.08) / 2
    strokes += _text_run(rng, cap_x, cap_y, 6.0, 6)
    strokes += _text_run(rng, left + 4, y_bottom + 8, 7.0, 10)
    strokes += _digit_run(rng, right - 90, y_bottom + 8, 7.0, 10)
    return Page(
        matrix=matrix,
        border=border,
        qr_x=qr_x,
        qr_y=qr_y,
        strokes=np.asarray(strokes, dtype=np.float64).reshape(-1, 5),
    )


# --------------------------------------------------------------------------- seal


def build_seal(
    rng: np.random.Generator, cx: float, cy: float, radius: float, rotation: float
) -> Seal:
    """A Chinese official seal: outer ring, central star, lettering along the ring."""
    ring_width = radius * 0.05
    star_r = radius * 0.32
    star_cy = cy - radius * 0.03
    star = []
    for k in range(10):
        r = star_r if k % 2 == 0 else star_r * 0.38
        a = rotation - math.pi / 2 + k * math.pi / 5
        star.append([cx + r * math.cos(a), star_cy + r * math.sin(a)])
    strokes: list[list[float]] = []
    # Ring lettering: glyph cells along an arc of about 230 degrees.
    n = int(rng.integers(10, 15))
    glyph = radius * 0.26
    arc_r = radius - ring_width - glyph * 0.62
    span = math.radians(230.0)
    for i in range(n):
        a = rotation - math.pi / 2 - span / 2 + span * (i + 0.5) / n
        gx = cx + arc_r * math.cos(a)
        gy = cy + arc_r * math.sin(a)
        local = _glyph_strokes(rng, -glyph / 2, -glyph / 2, glyph)
        ca, sa = math.cos(a + math.pi / 2), math.sin(a + math.pi / 2)
        for x0, y0, x1, y1, w in local:
            strokes.append(
                [
                    gx + x0 * ca - y0 * sa,
                    gy + x0 * sa + y0 * ca,
                    gx + x1 * ca - y1 * sa,
                    gy + x1 * sa + y1 * ca,
                    w * 1.3,
                ]
            )
    # A short horizontal line of lettering under the star.
    base = radius * 0.17
    count = 5
    bx = cx - count * base * 1.05 / 2
    by = cy + radius * 0.42
    strokes += [[*s[:4], s[4] * 1.3] for s in _text_run(rng, bx, by, base, count, 1.05)]
    return Seal(
        cx=cx,
        cy=cy,
        radius=radius,
        ring_width=ring_width,
        star=np.asarray(star, dtype=np.float64),
        strokes=np.asarray(strokes, dtype=np.float64).reshape(-1, 5),
    )


# --------------------------------------------------------------------------- raster


def _draw_strokes(canvas: U8Array, strokes: FloatArray, ox: float, oy: float, m: int) -> None:
    if strokes.size == 0:
        return
    h, w = canvas.shape[:2]
    pad = float(strokes[:, 4].max()) * m + 2
    xs = strokes[:, [0, 2]] * m - ox
    ys = strokes[:, [1, 3]] * m - oy
    visible = (
        (xs.max(axis=1) >= -pad)
        & (xs.min(axis=1) <= w + pad)
        & (ys.max(axis=1) >= -pad)
        & (ys.min(axis=1) <= h + pad)
    )
    for (x0, x1), (y0, y1), width in zip(
        xs[visible], ys[visible], strokes[visible, 4], strict=True
    ):
        cv2.line(
            canvas,
            (round(x0 * _ONE), round(y0 * _ONE)),
            (round(x1 * _ONE), round(y1 * _ONE)),
            255,
            max(1, round(width * m)),
            cv2.LINE_AA,
            _SHIFT,
        )


def rasterize(page: Page, x0: int, y0: int, width: int, height: int, m: int) -> U8Array:
    """Draw the page window ``[x0, x0+width) x [y0, y0+height)`` (page pixels).

    Page pixel ``i`` covers page modules ``[i/m, (i+1)/m)``.  Returns an
    ``(height, width, 2)`` array: channel 0 printed ink coverage, channel 1 seal
    ink coverage (0..255).
    """
    ink = np.zeros((height, width), dtype=np.uint8)
    seal = np.zeros((height, width), dtype=np.uint8)
    # QR modules: integer-aligned blocks of m x m page pixels.
    q = int(page.matrix.shape[0])
    qx, qy = page.qr_x * m - x0, page.qr_y * m - y0
    cx0, cy0 = max(qx, 0), max(qy, 0)
    cx1, cy1 = min(qx + q * m, width), min(qy + q * m, height)
    if cx1 > cx0 and cy1 > cy0:
        cols = (np.arange(cx0, cx1) - qx) // m
        rows = (np.arange(cy0, cy1) - qy) // m
        block = page.matrix[np.ix_(rows, cols)]
        ink[cy0:cy1, cx0:cx1] = np.where(block, np.uint8(255), np.uint8(0))
    _draw_strokes(ink, page.strokes, float(x0), float(y0), m)
    if page.seal is not None:
        s = page.seal
        center = (round((s.cx * m - x0) * _ONE), round((s.cy * m - y0) * _ONE))
        cv2.circle(
            seal,
            center,
            round((s.radius - s.ring_width / 2) * m * _ONE),
            255,
            max(1, round(s.ring_width * m)),
            cv2.LINE_AA,
            _SHIFT,
        )
        poly = np.round((s.star * m - np.array([x0, y0])) * _ONE).astype(np.int32)
        cv2.fillPoly(seal, [poly], 255, cv2.LINE_AA, _SHIFT)
        _draw_strokes(seal, s.strokes, float(x0), float(y0), m)
    return np.dstack([ink, seal])
