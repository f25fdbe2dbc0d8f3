"""Rectify a QR symbol on bent paper from its finder and alignment patterns.

zxing-cpp samples a symbol through homographies between its finder and
alignment patterns; on paper bent round a cylinder (50° at the symbol edge) the
module grid is no longer close to a homography anywhere near the bend and the
read fails.  This module finds the patterns itself and builds a smooth grid →
image mapping through all of them:

1. binarize (local mean; areas without the contrast of print are left out) and
   take the contour tree; a **finder pattern** is a dark contour whose only hole
   holds one dark core (7×7, 5×5, 3×3 modules); an **alignment pattern**
   candidate is a light hole holding exactly one small dark dot (3×3 and 1×1);
2. for the best three plausible finder triples (a corner at top-left, two arms
   of similar length) and the five versions nearest to the one the finder
   spacing suggests, fit a homography to the three finder centres and their
   twelve outer corners;
3. grow the mapping: take the alignment pattern nearest (in modules) to the
   points already known, predict it through the current mapping, accept the
   nearest candidate within 3 local module pitches, refit; the mapping is the
   homography plus a thin-plate spline through the residuals of every known
   point (exact at the points, smooth between them);
4. keep a fit only when ≥ 80 % of its timing-pattern modules (row and column 6)
   are darker / lighter than their neighbours as they must be (a wrong version
   scores about half), and resample the best two at 4 px per module with a
   4-module quiet zone (:func:`cv2.remap`) into an upright square for zxing-cpp,
   whose Reed–Solomon check still guards the text.

Every point of the rectified picture keeps its source coordinates (the remap
tables), so corners of a code read there map back to the original image.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import permutations
from typing import TYPE_CHECKING

import cv2
import numpy as np

if TYPE_CHECKING:
    import numpy.typing as npt
    from cv2.typing import MatLike

    Gray = npt.NDArray[np.uint8]
    Floats = npt.NDArray[np.float64]

#: Output pixels per module of the rectified symbol.
OUT_PX = 4
#: Quiet zone kept round the rectified symbol, in modules.
QUIET = 4
#: At most this many finder triples, and versions per triple, are tried.
MAX_TRIPLES = 3
MAX_VERSIONS = 5
#: A fit is resampled only when this share of its timing pattern is right.
MIN_TIMING = 0.8
#: Contrast map: standard deviation of gray per cell of this many pixels; cells
#: (and their neighbours) below ``MIN_CONTRAST_STD`` are left out of the search.
CONTRAST_CELL = 16
MIN_CONTRAST_STD = 24.0
#: An alignment pattern is searched this many modules round its predicted place.
SEARCH_MODULES = 3.0
#: The mapping is evaluated every this many modules and interpolated between.
NODE_STEP = 2


@dataclass(frozen=True)
class Finder:
    """A finder-pattern candidate: centre, outer quad (4 corners) and module size."""

    centre: tuple[float, float]
    quad: Floats
    module: float


@dataclass(frozen=True)
class Rectified:
    """An upright resampled symbol and, per output pixel, its source coordinates."""

    img: Gray
    map_x: npt.NDArray[np.float32]
    map_y: npt.NDArray[np.float32]
    version: int
    anchors: int

    def source(self, x: float, y: float) -> tuple[float, float]:
        """Source-image coordinates of a point of ``img`` (nearest table entry)."""
        h, w = self.map_x.shape
        xi = min(max(round(x), 0), w - 1)
        yi = min(max(round(y), 0), h - 1)
        return (float(self.map_x[yi, xi]), float(self.map_y[yi, xi]))


def alignment_positions(version: int) -> list[int]:
    """Row/column indices of the alignment pattern centres (ISO/IEC 18004 Annex E)."""
    if version < 2:
        return []
    size = 4 * version + 17
    count = version // 7 + 2
    step = (version * 8 + count * 3 + 5) // (count * 4 - 4) * 2
    return sorted([6, *(size - 7 - i * step for i in range(count - 1))])


def _binarize(gray: Gray) -> Gray:
    """Dark pixels (local mean threshold), only where the picture has the contrast
    of print: in flat or merely noisy areas sensor noise alone would give 10⁵
    speckle contours, whose contour tree takes a second to build."""
    h, w = gray.shape[:2]
    block = max(15, min(101, (min(h, w) // 24) | 1))
    dark = cv2.adaptiveThreshold(
        gray, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, block, 4
    )
    cell = CONTRAST_CELL
    if h < 4 * cell or w < 4 * cell:
        return np.asarray(dark, dtype=np.uint8)
    small = (max(1, w // cell), max(1, h // cell))
    g = gray.astype(np.float32)
    mean = cv2.resize(g, small, interpolation=cv2.INTER_AREA)
    mean_sq = cv2.resize(g * g, small, interpolation=cv2.INTER_AREA)
    std = np.sqrt(np.maximum(mean_sq - mean * mean, 0.0))
    busy = cv2.dilate((std >= MIN_CONTRAST_STD).astype(np.uint8), np.ones((3, 3), np.uint8))
    mask = cv2.resize(busy, (w, h), interpolation=cv2.INTER_NEAREST)
    return np.asarray(cv2.bitwise_and(dark, dark, mask=mask), dtype=np.uint8)


def _centroid(contour: MatLike) -> tuple[float, float] | None:
    m = cv2.moments(contour)
    if m["m00"] <= 0:
        return None
    return (m["m10"] / m["m00"], m["m01"] / m["m00"])


def find_patterns(
    dark: Gray,
) -> tuple[list[Finder], Floats]:
    """Finder candidates and alignment-pattern candidate centres (``K×2``)."""
    contours, hier = cv2.findContours(dark, cv2.RETR_TREE, cv2.CHAIN_APPROX_SIMPLE)
    finders: list[Finder] = []
    aligns: list[tuple[float, float]] = []
    if hier is None:
        return finders, np.zeros((0, 2))
    h = hier[0]
    # ``mid``: a light hole holding exactly one dark blob without holes (vectorised
    # filter: a noisy photo has 10⁵ contours, a Python loop over all is too slow)
    inner_all = h[:, 2]
    safe = np.maximum(inner_all, 0)
    keep = (inner_all >= 0) & (h[:, 3] >= 0) & (h[safe, 0] < 0) & (h[safe, 2] < 0)
    area_cache: dict[int, float] = {}

    def area(k: int) -> float:
        if k not in area_cache:
            area_cache[k] = abs(cv2.contourArea(contours[k]))
        return area_cache[k]

    for mid in np.flatnonzero(keep).tolist():
        inner, parent = int(h[mid][2]), int(h[mid][3])
        a_mid, a_in = area(mid), area(inner)
        if a_in < 1:
            continue
        ratio_mid = a_mid / a_in
        # alignment pattern: 3×3 hole round a 1×1 dot (9 : 1)
        if 3.5 <= ratio_mid <= 30.0:
            c = _centroid(contours[mid])
            if c is not None:
                aligns.append(c)
        # finder: 7×7 dark square whose only hole (5×5) holds the 3×3 core
        if h[parent][2] != mid or h[mid][0] >= 0 or not 1.4 <= ratio_mid <= 5.0:
            continue
        a_out = area(parent)
        if a_out < 40 or not 2.5 <= a_out / a_in <= 14.0:
            continue
        c = _centroid(contours[parent])
        quad = _quad(contours[parent])
        if c is None or quad is None:
            continue
        # the longest side: bent paper or a tilt shortens the others
        side = max(math.dist(quad[k], quad[(k + 1) % 4]) for k in range(4))
        finders.append(Finder(c, quad, (side + 1.0) / 7.0))
    # a finder core is also a "hole with one dot"; its centre equals the finder's
    return finders, np.array(aligns, dtype=np.float64).reshape(-1, 2)


def _quad(contour: MatLike) -> Floats | None:
    hull = cv2.convexHull(contour)
    peri = cv2.arcLength(hull, True)
    for eps in (0.02, 0.04, 0.06, 0.1):
        poly = cv2.approxPolyDP(hull, eps * peri, True)
        if len(poly) == 4:
            return np.asarray(poly, dtype=np.float64).reshape(4, 2)
    return None


def _triples(finders: list[Finder]) -> list[tuple[Finder, Finder, Finder]]:
    """Plausible (top-left, top-right, bottom-left) triples, best first."""
    scored: list[tuple[float, tuple[Finder, Finder, Finder]]] = []
    n = len(finders)
    if n < 3 or n > 40:
        return []
    for tl, tr, bl in permutations(finders, 3):
        mods = (tl.module, tr.module, bl.module)
        if max(mods) > 2.0 * min(mods):
            continue
        ax, ay = tr.centre[0] - tl.centre[0], tr.centre[1] - tl.centre[1]
        bx, by = bl.centre[0] - tl.centre[0], bl.centre[1] - tl.centre[1]
        la, lb = math.hypot(ax, ay), math.hypot(bx, by)
        mod = sum(mods) / 3.0
        if la < 10 * mod or lb < 10 * mod or max(la, lb) > 1.8 * min(la, lb):
            continue
        cross = ax * by - ay * bx  # > 0: TL→TR turns clockwise to TL→BL (y down)
        if cross <= 0:
            continue
        cos = (ax * bx + ay * by) / (la * lb)
        if abs(cos) > 0.5:
            continue
        score = abs(cos) + abs(la - lb) / max(la, lb) + (max(mods) / min(mods) - 1)
        scored.append((score, (tl, tr, bl)))
    scored.sort(key=lambda s: s[0])
    return [t for _, t in scored[:MAX_TRIPLES]]


def _versions(tl: Finder, tr: Finder, bl: Finder) -> list[int]:
    mod = (tl.module + tr.module + bl.module) / 3.0
    span = (math.dist(tl.centre, tr.centre) + math.dist(tl.centre, bl.centre)) / 2.0
    est = (span / mod + 7.0 - 17.0) / 4.0  # span = size − 7 modules
    base = round(est)
    order = sorted(range(max(1, base - 3), min(40, base + 3) + 1), key=lambda v: abs(v - est))
    return order[:MAX_VERSIONS]


def _finder_points(
    triple: tuple[Finder, Finder, Finder], size: int
) -> tuple[list[tuple[float, float]], list[tuple[float, float]]] | None:
    """Grid ↔ image correspondences of the three finders (centres and corners)."""
    centres_g = [(3.5, 3.5), (size - 3.5, 3.5), (3.5, size - 3.5)]
    src = np.array(centres_g, dtype=np.float32)
    dst = np.array([f.centre for f in triple], dtype=np.float32)
    affine = cv2.getAffineTransform(src, dst)
    inv = cv2.invertAffineTransform(affine)
    grid: list[tuple[float, float]] = list(centres_g)
    image: list[tuple[float, float]] = [f.centre for f in triple]
    for (gx, gy), f in zip(centres_g, triple, strict=True):
        expected = [
            (gx - 3.5, gy - 3.5),
            (gx + 3.5, gy - 3.5),
            (gx + 3.5, gy + 3.5),
            (gx - 3.5, gy + 3.5),
        ]
        pts = f.quad @ inv[:, :2].T + inv[:, 2]
        used: set[int] = set()
        pairs = []
        for k, p in enumerate(pts):
            j = min(range(4), key=lambda e: math.dist(p, expected[e]))
            if j in used or math.dist(p, expected[j]) > 3.0:
                return None
            used.add(j)
            pairs.append((expected[j], (float(f.quad[k][0]), float(f.quad[k][1]))))
        for g, im in pairs:
            grid.append(g)
            image.append(im)
    return grid, image


class _Mapping:
    """Grid (module units) → image: homography plus a thin-plate spline of residuals."""

    def __init__(self, grid: Floats, image: Floats) -> None:
        hom, _ = cv2.findHomography(grid, image, 0)
        if hom is None:
            raise ValueError("degenerate points")
        self.hom = np.asarray(hom, dtype=np.float64)
        self.ctrl = grid
        resid = image - self._project(grid)
        n = len(grid)
        k = _tps_kernel(grid, grid) + np.eye(n) * 1e-6
        p = np.hstack([np.ones((n, 1)), grid])
        a = np.zeros((n + 3, n + 3))
        a[:n, :n] = k
        a[:n, n:] = p
        a[n:, :n] = p.T
        b = np.zeros((n + 3, 2))
        b[:n] = resid
        self.coef = np.linalg.lstsq(a, b, rcond=None)[0]

    def _project(self, pts: Floats) -> Floats:
        h = self.hom
        x, y = pts[:, 0], pts[:, 1]
        w = h[2, 0] * x + h[2, 1] * y + h[2, 2]
        w = np.where(np.abs(w) < 1e-9, 1e-9, w)
        out = np.stack(
            [(h[0, 0] * x + h[0, 1] * y + h[0, 2]) / w, (h[1, 0] * x + h[1, 1] * y + h[1, 2]) / w],
            axis=1,
        )
        return np.asarray(out, dtype=np.float64)

    def __call__(self, pts: Floats) -> Floats:
        n = len(self.ctrl)
        k = _tps_kernel(pts, self.ctrl)
        p = np.hstack([np.ones((len(pts), 1)), pts])
        out = self._project(pts) + k @ self.coef[:n] + p @ self.coef[n:]
        return np.asarray(out, dtype=np.float64)

    def module_at(self, pt: tuple[float, float]) -> float:
        """Local module pitch in image pixels at grid point ``pt`` (the longer of
        the two grid directions: bent paper compresses only one)."""
        g = np.array([pt, (pt[0] + 1, pt[1]), (pt[0], pt[1] + 1)], dtype=np.float64)
        m = self(g)
        return float(max(np.hypot(*(m[1] - m[0])), np.hypot(*(m[2] - m[0]))))


def _tps_kernel(a: Floats, b: Floats) -> Floats:
    d2 = ((a[:, None, :] - b[None, :, :]) ** 2).sum(axis=2)
    with np.errstate(divide="ignore", invalid="ignore"):
        k = 0.5 * d2 * np.log(d2)
    return np.asarray(np.nan_to_num(k, nan=0.0, posinf=0.0, neginf=0.0), dtype=np.float64)


def _fit(
    triple: tuple[Finder, Finder, Finder], version: int, aligns: Floats
) -> tuple[_Mapping, int] | None:
    size = 4 * version + 17
    pts = _finder_points(triple, size)
    if pts is None:
        return None
    grid = np.array(pts[0], dtype=np.float64)
    image = np.array(pts[1], dtype=np.float64)
    mapping = _Mapping(grid, image)
    pos = alignment_positions(version)
    todo = [
        (a + 0.5, b + 0.5)
        for a in pos
        for b in pos
        if not ((a == 6 and b == 6) or (a == 6 and b == pos[-1]) or (a == pos[-1] and b == 6))
    ]
    found = 0
    while todo:
        known = grid
        todo.sort(key=lambda g: float(np.min(np.hypot(*(known - np.array(g)).T))))
        g = todo.pop(0)
        if not len(aligns):
            break
        guess = mapping(np.array([g]))[0]
        d = np.hypot(*(aligns - guess).T)
        j = int(np.argmin(d))
        if d[j] > SEARCH_MODULES * mapping.module_at(g):
            continue
        grid = np.vstack([grid, g])
        image = np.vstack([image, aligns[j]])
        mapping = _Mapping(grid, image)
        found += 1
    return mapping, found


def timing_score(gray: Gray, mapping: _Mapping, version: int) -> float:
    """Share of timing-pattern modules (row and column 6) darker or lighter than
    their two neighbours as the pattern says; about ½ for a wrong version."""
    size = 4 * version + 17
    ks = np.arange(7, size - 7, dtype=np.float64)
    row = np.stack([ks + 0.5, np.full_like(ks, 6.5)], axis=1)
    col = row[:, ::-1]
    good = 0
    total = 0
    for line in (row, col):
        pts = mapping(line).astype(np.float32)
        vals = (
            cv2.remap(gray, pts[:, :1].reshape(1, -1), pts[:, 1:].reshape(1, -1), cv2.INTER_LINEAR)
            .astype(np.float64)
            .ravel()
        )
        mid = vals[1:-1]
        nb = (vals[:-2] + vals[2:]) / 2.0
        dark = (ks[1:-1].astype(np.int64) % 2) == 0
        good += int(np.sum(np.where(dark, mid < nb, mid > nb)))
        total += len(mid)
    return good / total if total else 0.0


def rectify(gray: Gray, *, limit: int = 2) -> list[Rectified]:
    """Upright resampled symbols, best first (at most ``limit``), for the finder
    triples and versions whose timing patterns fit best."""
    finders, aligns = find_patterns(_binarize(gray))
    fits: list[tuple[float, int, _Mapping, int]] = []
    for triple in _triples(finders):
        for version in _versions(*triple):
            fitted = _fit(triple, version, aligns)
            if fitted is None:
                continue
            mapping, found = fitted
            score = timing_score(gray, mapping, version)
            if score >= MIN_TIMING:
                fits.append((score, found, mapping, version))
    fits.sort(key=lambda f: (-f[0], -f[1]))
    return [_resample(gray, m, v, found) for _, found, m, v in fits[:limit]]


def _resample(gray: Gray, mapping: _Mapping, version: int, found: int) -> Rectified:
    size = 4 * version + 17
    side = size + 2 * QUIET
    nodes = side // NODE_STEP + 2
    coarse = np.arange(nodes, dtype=np.float64) * NODE_STEP - QUIET
    gx, gy = np.meshgrid(coarse, coarse)
    pts = mapping(np.stack([gx.ravel(), gy.ravel()], axis=1))
    cx = pts[:, 0].reshape(nodes, nodes).astype(np.float32)
    cy = pts[:, 1].reshape(nodes, nodes).astype(np.float32)
    n = side * OUT_PX
    # output pixel x has its centre at grid u = (x + 0.5) / OUT_PX − QUIET, which
    # is node (x + 0.5) / (OUT_PX · NODE_STEP): interpolate the node tables there
    idx = ((np.arange(n, dtype=np.float32) + 0.5) / (OUT_PX * NODE_STEP)).astype(np.float32)
    ix, iy = np.meshgrid(idx, idx)
    map_x = np.asarray(cv2.remap(cx, ix, iy, cv2.INTER_LINEAR), dtype=np.float32)
    map_y = np.asarray(cv2.remap(cy, ix, iy, cv2.INTER_LINEAR), dtype=np.float32)
    img = cv2.remap(gray, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return Rectified(np.asarray(img, dtype=np.uint8), map_x, map_y, version, found)
