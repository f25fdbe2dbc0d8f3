"""Deterministic synthetic "phone photos" of certificate QR codes.

A QR text is encoded the way certificates encode it (upper-case base URL in
alphanumeric mode + decimal digits in numeric mode, error correction Q), printed
on a made-up certificate form (A4, 0.5 mm per module, ruled table, stroke-built
glyphs), then photographed: a camera model maps the page into the image at a
chosen number of pixels per module, and degradations are applied at a severity
level (0 clean, 1 mild, 2 moderate, 3 hard).  Every random choice comes from a
``numpy.random.Generator`` seeded per image, so one seed always gives the same
bytes.

Entry points: :func:`render_photo` (one image), :func:`build_set` (the measured
test set with ``manifest.json``) and ``python -m quarantine.testing.synthetic_photos``.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import functools
import hashlib
import json
import math
import multiprocessing
import os
import re
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
import qrcode
import qrcode.util
from qrcode.constants import ERROR_CORRECT_Q

from quarantine.testing._page import (
    SHEET_H,
    SHEET_W,
    BoolArray,
    Page,
    build_page,
    build_seal,
    rasterize,
)

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
FA = npt.NDArray[np.floating[Any]]

DEFAULT_SEED = 20261128
DEFAULT_BASE_URL = "HTTP://127.0.0.1:8000/C/"
#: Pixels per module covered by the measured set.
PX_PER_MODULE_SET: tuple[float, ...] = (1.8, 2.0, 2.5, 3.0, 4.0, 6.0)
#: Single degradations, in the physical order they are applied.
EFFECTS: tuple[str, ...] = (
    "seal",
    "fold",
    "curve",
    "perspective",
    "rotation",
    "moire",
    "light",
    "blur",
    "motion_blur",
    "noise",
    "jpeg",
)
#: A preset combining the everyday degradations of a hand-held phone photo.
PHONE = "phone"
SET_LABELS: tuple[str, ...] = (*EFFECTS, PHONE)
SEVERITIES: tuple[int, ...] = (0, 1, 2, 3)
#: JPEG quality of every image unless the ``jpeg`` effect lowers it.
BASE_JPEG_QUALITY = 90
#: Gaussian lens blur (pixels) present in every image.
BASE_LENS_SIGMA = 0.35
MAX_LONG_SIDE = 1600
MIN_LONG_SIDE = 800

# Severity parameters, index 0..2 = severity 1..3.
PERSPECTIVE_TILT_DEG = ((8.0, 18.0), (18.0, 30.0), (30.0, 40.0))
ROTATION_DEG = ((3.0, 15.0), (15.0, 45.0), (0.0, 360.0))
BLUR_SIGMA_MODULES = (0.25, 0.40, 0.55)
MOTION_LENGTH_MODULES = (0.6, 1.0, 1.5)
JPEG_QUALITY = (70, 45, 25)
LIGHT_GRADIENT = (0.20, 0.35, 0.50)
LIGHT_SHADOW = (0.20, 0.40, 0.60)
LIGHT_SOFTNESS = (0.50, 0.30, 0.15)
NOISE_SIGMA_WHITE = (5.0, 10.0, 18.0)
NOISE_SIGMA_READ = (2.0, 3.0, 5.0)
SEAL_OVERLAP = (0.10, 0.20, 0.30)
FOLD_TILT_DEG = (8.0, 16.0, 25.0)
FOLD_DROP = (0.08, 0.15, 0.25)
FOLD_CREASE = (0.15, 0.25, 0.35)
CURVE_EDGE_DEG = (20.0, 35.0, 50.0)
MOIRE_GRID = (0.30, 0.50, 0.70)
MOIRE_FRINGE = (0.05, 0.10, 0.16)
MOIRE_BLACK = (0.04, 0.08, 0.12)
#: Component severities of the ``phone`` preset at severity 1..3.
PHONE_PRESET: tuple[dict[str, int], ...] = (
    {"perspective": 1, "rotation": 1, "light": 1, "noise": 1},
    {"perspective": 1, "rotation": 2, "light": 1, "blur": 1, "noise": 1, "jpeg": 1},
    {"perspective": 2, "rotation": 3, "light": 2, "blur": 1, "noise": 2, "jpeg": 1},
)


#: Human-readable severity table (severity 1, 2, 3) used by the documentation.
def _three(items: Sequence[str] | Any) -> tuple[str, str, str]:
    a, b, c = items
    return (str(a), str(b), str(c))


SEVERITY_TABLE: dict[str, tuple[str, str, str]] = {
    "seal": _three(f"seal disc over {f:.0%} of the symbol" for f in SEAL_OVERLAP),
    "fold": _three(
        f"fold {t:.0f}°, far side {d:.0%} darker, crease {c:.0%}"
        for t, d, c in zip(FOLD_TILT_DEG, FOLD_DROP, FOLD_CREASE, strict=True)
    ),
    "curve": _three(f"cylinder, {a:.0f}° at the symbol edge" for a in CURVE_EDGE_DEG),
    "perspective": _three(f"tilt {a:.0f}–{b:.0f}°" for a, b in PERSPECTIVE_TILT_DEG),
    "rotation": ("3–15°", "15–45°", "any angle"),
    "moire": _three(
        f"grid {g:.0%}, fringes ±{f:.0%}, black level {b:.0%}"
        for g, f, b in zip(MOIRE_GRID, MOIRE_FRINGE, MOIRE_BLACK, strict=True)
    ),
    "light": _three(
        f"gradient {g:.0%}, shadow {s:.0%}, edge {e:.2f} r"
        for g, s, e in zip(LIGHT_GRADIENT, LIGHT_SHADOW, LIGHT_SOFTNESS, strict=True)
    ),
    "blur": _three(f"Gaussian σ {s:.2f} module" for s in BLUR_SIGMA_MODULES),
    "motion_blur": _three(f"{s:.1f} module streak" for s in MOTION_LENGTH_MODULES),
    "noise": _three(
        f"σ {w:.0f}/255 at white, {r:.0f}/255 in black"
        for w, r in zip(NOISE_SIGMA_WHITE, NOISE_SIGMA_READ, strict=True)
    ),
    "jpeg": _three(f"quality {q}" for q in JPEG_QUALITY),
    PHONE: _three(" + ".join(f"{k} {v}" for k, v in preset.items()) for preset in PHONE_PRESET),
}

_ALNUM_PREFIX = re.compile(r"^([0-9A-Z $%*+\-./:]*?)([0-9]+)$")


# --------------------------------------------------------------------------- texts


def pseudo_certificate_texts(
    count: int = 6, *, seed: int = DEFAULT_SEED, base_url: str = DEFAULT_BASE_URL
) -> list[tuple[str, str]]:
    """Deterministic stand-ins for signed certificate QR texts (URL + 650–750 digits)."""
    rng = np.random.default_rng([seed, 1])
    out = []
    for i in range(count):
        n = int(rng.integers(650, 751))
        digits = "".join(str(d) for d in rng.integers(0, 10, size=n))
        digits = str(int(rng.integers(1, 10))) + digits[1:]
        out.append((f"pseudo-{i + 1:02d}", base_url + digits))
    return out


def load_sample_texts(
    samples_dir: Path, *, verdicts: Sequence[str] | None = ("VALID",)
) -> list[tuple[str, str]]:
    """``(name, text)`` of the signed samples in ``samples_dir``.

    With a ``manifest.json`` listing ``samples`` (``name``, ``text_file``,
    ``verdict``), the samples whose verdict is in ``verdicts`` (all when ``None``),
    in manifest order; otherwise every ``*.txt`` by name.  One trailing line break
    is removed from each text.
    """
    manifest = samples_dir / "manifest.json"
    entries: list[Any] = []
    if manifest.is_file():
        data = json.loads(manifest.read_text(encoding="utf-8"))
        if isinstance(data, dict) and isinstance(data.get("samples"), list):
            entries = data["samples"]
    if not entries:
        entries = [{"name": p.stem, "text_file": p.name} for p in sorted(samples_dir.glob("*.txt"))]
        verdicts = None
    out = []
    for entry in entries:
        if verdicts is not None and entry.get("verdict") not in verdicts:
            continue
        text = (samples_dir / entry["text_file"]).read_text(encoding="utf-8")
        text = text.removesuffix("\n").removesuffix("\r")
        if text:
            out.append((str(entry["name"]), text))
    return out


def default_texts(samples_dir: Path | None) -> list[tuple[str, str]]:
    """The signed samples judged ``VALID`` in ``samples_dir`` if any, else pseudo texts."""
    if samples_dir is not None and samples_dir.is_dir():
        texts = load_sample_texts(samples_dir)
        if texts:
            return texts
    return pseudo_certificate_texts()


@functools.lru_cache(maxsize=64)
def qr_matrix(text: str, *, border: int = 4) -> BoolArray:
    """Module matrix (True = dark, quiet zone included) of ``text`` at error correction Q.

    A text of the certificate shape (alphanumeric-mode prefix + trailing digits) is
    encoded as two segments, alphanumeric then numeric, like the certificate renderer.
    """
    qr = qrcode.QRCode(error_correction=ERROR_CORRECT_Q, box_size=1, border=border)
    match = _ALNUM_PREFIX.match(text)
    if match:
        prefix, digits = match.groups()
        if prefix:
            qr.add_data(qrcode.util.QRData(prefix.encode(), mode=qrcode.util.MODE_ALPHA_NUM))
        qr.add_data(qrcode.util.QRData(digits.encode(), mode=qrcode.util.MODE_NUMBER))
    else:
        qr.add_data(text)
    qr.make(fit=True)
    matrix = np.asarray(qr.get_matrix(), dtype=np.bool_)
    matrix.flags.writeable = False
    return matrix


# --------------------------------------------------------------------------- geometry


@dataclass(frozen=True)
class _Fold:
    """Paper folded along a line: the far side is tilted by ``tilt`` radians."""

    p0: tuple[float, float]
    normal: tuple[float, float]
    tilt: float

    def forward(self, a: FA, b: FA) -> tuple[FA, FA]:
        d = (a - self.p0[0]) * self.normal[0] + (b - self.p0[1]) * self.normal[1]
        shift = np.where(d > 0, d * (math.cos(self.tilt) - 1.0), 0.0)
        return a + shift * self.normal[0], b + shift * self.normal[1]

    def inverse(self, a: FA, b: FA) -> tuple[FA, FA]:
        d = (a - self.p0[0]) * self.normal[0] + (b - self.p0[1]) * self.normal[1]
        shift = np.where(d > 0, d * (1.0 / math.cos(self.tilt) - 1.0), 0.0)
        return a + shift * self.normal[0], b + shift * self.normal[1]

    def signed_distance(self, a: FA, b: FA) -> FA:
        d: FA = (a - self.p0[0]) * self.normal[0] + (b - self.p0[1]) * self.normal[1]
        return d


@dataclass(frozen=True)
class _Curve:
    """Paper bent round a cylinder of radius ``radius`` (orthographic view).

    ``normal`` is the direction across the axis; beyond ``s_max`` the sheet goes on
    flat along the tangent.
    """

    c: tuple[float, float]
    normal: tuple[float, float]
    radius: float
    s_max: float

    def _g(self, s: FA) -> FA:
        r, sm = self.radius, self.s_max
        flat = np.sign(s) * (r * math.sin(sm / r) + (np.abs(s) - sm) * math.cos(sm / r))
        out: FA = np.where(np.abs(s) <= sm, r * np.sin(np.clip(s, -sm, sm) / r), flat)
        return out

    def _g_inv(self, s: FA) -> FA:
        r, sm = self.radius, self.s_max
        edge = r * math.sin(sm / r)
        flat = np.sign(s) * (sm + (np.abs(s) - edge) / math.cos(sm / r))
        inner = r * np.arcsin(np.clip(s / r, -1.0, 1.0))
        out: FA = np.where(np.abs(s) <= edge, inner, flat)
        return out

    def _s(self, a: FA, b: FA) -> FA:
        s: FA = (a - self.c[0]) * self.normal[0] + (b - self.c[1]) * self.normal[1]
        return s

    def forward(self, a: FA, b: FA) -> tuple[FA, FA]:
        s = self._s(a, b)
        shift = self._g(s) - s
        return a + shift * self.normal[0], b + shift * self.normal[1]

    def inverse(self, a: FA, b: FA) -> tuple[FA, FA]:
        s = self._s(a, b)
        shift = self._g_inv(s) - s
        return a + shift * self.normal[0], b + shift * self.normal[1]

    def angle(self, a: FA, b: FA) -> FA:
        """Surface angle to the image plane at flat-page coordinates (radians)."""
        out: FA = np.clip(self._s(a, b), -self.s_max, self.s_max) / self.radius
        return out


def _camera_homography(
    px: float, rotation: float, tilt: float, tilt_axis: float, focal: float, cx: float, cy: float
) -> F64:
    """Homography from flat coordinates (modules, QR centre = 0) to image pixels."""
    cr, sr = math.cos(rotation), math.sin(rotation)
    rz = np.array([[cr, -sr, 0.0], [sr, cr, 0.0], [0.0, 0.0, 1.0]])
    ax = np.array([math.cos(tilt_axis), math.sin(tilt_axis), 0.0])
    kx = np.array([[0.0, -ax[2], ax[1]], [ax[2], 0.0, -ax[0]], [-ax[1], ax[0], 0.0]])
    rt = np.eye(3) + math.sin(tilt) * kx + (1.0 - math.cos(tilt)) * (kx @ kx)
    rot = rt @ rz
    k = np.array([[focal, 0.0, cx], [0.0, focal, cy], [0.0, 0.0, 1.0]])
    ext = np.column_stack([rot[:, 0] * px, rot[:, 1] * px, np.array([0.0, 0.0, focal])])
    h: F64 = k @ ext
    return h


@dataclass(frozen=True)
class _Geometry:
    h: F64
    fold: _Fold | None
    curve: _Curve | None

    def forward(self, a: FA, b: FA) -> tuple[FA, FA, FA]:
        """Flat page (modules, QR-centred) -> image pixels; also returns depth sign."""
        if self.fold is not None:
            a, b = self.fold.forward(a, b)
        if self.curve is not None:
            a, b = self.curve.forward(a, b)
        h = [[float(c) for c in row] for row in self.h]
        w = h[2][0] * a + h[2][1] * b + h[2][2]
        x = (h[0][0] * a + h[0][1] * b + h[0][2]) / w
        y = (h[1][0] * a + h[1][1] * b + h[1][2]) / w
        return x, y, w

    def inverse(self, x: FA, y: FA) -> tuple[FA, FA, npt.NDArray[np.bool_]]:
        """Image pixels -> flat page coordinates and a validity mask."""
        inv = np.linalg.inv(self.h)
        hi = [[float(c) for c in row] for row in inv]
        w = hi[2][0] * x + hi[2][1] * y + hi[2][2]
        valid = w * float(np.sign(np.linalg.det(inv))) > 0
        w = np.where(np.abs(w) < 1e-9, 1e-9, w)
        a: FA = (hi[0][0] * x + hi[0][1] * y + hi[0][2]) / w
        b: FA = (hi[1][0] * x + hi[1][1] * y + hi[1][2]) / w
        if self.curve is not None:
            a, b = self.curve.inverse(a, b)
        if self.fold is not None:
            a, b = self.fold.inverse(a, b)
        return a, b, valid


# --------------------------------------------------------------------------- helpers


def _unit(angle: float) -> tuple[float, float]:
    return (math.cos(angle), math.sin(angle))


def _texture(rng: np.random.Generator, count: int, fmin: float, fmax: float) -> F64:
    """Random sinusoid bank: rows of (fx, fy, phase, amplitude) for :func:`_eval_texture`."""
    freq = rng.uniform(fmin, fmax, size=count)
    ang = rng.uniform(0.0, math.pi, size=count)
    phase = rng.uniform(0.0, 2 * math.pi, size=count)
    amp = rng.uniform(0.5, 1.0, size=count)
    amp /= amp.sum()
    out: F64 = np.column_stack([freq * np.cos(ang), freq * np.sin(ang), phase, amp])
    return out


def _eval_texture(bank: F64, u: F32, v: F32) -> F32:
    acc = np.zeros(u.shape, dtype=np.float32)
    for fx, fy, ph, amp in bank:
        acc += np.float32(amp) * np.sin(
            np.float32(2 * math.pi * fx) * u + np.float32(2 * math.pi * fy) * v + np.float32(ph)
        )
    return acc


def _overlap_fraction(page: Page, cx: float, cy: float, radius: float) -> float:
    x0, y0, x1, y1 = page.symbol_box
    g = np.linspace(0.0, 1.0, 48)
    gx, gy = np.meshgrid(x0 + (x1 - x0) * g, y0 + (y1 - y0) * g)
    return float(np.mean((gx - cx) ** 2 + (gy - cy) ** 2 < radius**2))


def _place_seal(
    page: Page, rng: np.random.Generator, overlap: float
) -> tuple[Page, dict[str, Any]]:
    """Stamp a seal covering ``overlap`` of the symbol area and at most one finder."""
    radius = 42.0 * float(rng.uniform(0.95, 1.05))  # 42 mm seal at 0.5 mm per module
    scx, scy = page.symbol_center
    seal_page = page
    info: dict[str, Any] = {}
    for attempt in range(200):
        direction = float(rng.uniform(0.0, 2 * math.pi))
        dx, dy = _unit(direction)
        lo, hi = 0.0, page.symbol_modules + radius
        for _ in range(30):
            mid = (lo + hi) / 2
            if _overlap_fraction(page, scx + dx * mid, scy + dy * mid, radius) > overlap:
                lo = mid
            else:
                hi = mid
        cx, cy = scx + dx * lo, scy + dy * lo
        seal = build_seal(rng, cx, cy, radius, float(rng.uniform(-0.5, 0.5)))
        finders = sum(seal.covers_box(box) for box in page.finder_boxes())
        if finders <= 1:
            seal_page = dataclasses.replace(page, seal=seal)
            info = {
                "radius_modules": radius,
                "overlap": _overlap_fraction(page, cx, cy, radius),
                "finders_covered": finders,
                "direction_deg": math.degrees(direction),
                "attempts": attempt + 1,
            }
            break
    else:  # pragma: no cover - geometry always leaves a free direction
        raise RuntimeError("could not place the seal")
    return seal_page, info


def _motion_kernel(length: float, angle: float) -> F32:
    size = max(3, math.ceil(length) + 2) | 1
    scale = 8
    big = np.zeros((size * scale, size * scale), dtype=np.uint8)
    c = size * scale / 2.0
    dx, dy = math.cos(angle) * length * scale / 2, math.sin(angle) * length * scale / 2
    cv2.line(
        big,
        (round((c - dx) * 16), round((c - dy) * 16)),
        (round((c + dx) * 16), round((c + dy) * 16)),
        255,
        scale,
        cv2.LINE_AA,
        4,
    )
    small = cv2.resize(big.astype(np.float32), (size, size), interpolation=cv2.INTER_AREA)
    kernel: F32 = (small / small.sum()).astype(np.float32)
    return kernel


def _r(value: float, digits: int = 4) -> float:
    return round(float(value), digits)


# --------------------------------------------------------------------------- render


def _levels(effects: Sequence[str], severity: int) -> dict[str, int]:
    if severity not in SEVERITIES:
        raise ValueError(f"severity must be one of {SEVERITIES}, got {severity}")
    if severity == 0:
        if effects:
            raise ValueError("severity 0 is the clean photo; pass no effects")
        return {}
    if not effects:
        raise ValueError("severity > 0 needs at least one effect")
    if PHONE in effects:
        if len(effects) != 1:
            raise ValueError("the phone preset cannot be combined with other effects")
        return dict(PHONE_PRESET[severity - 1])
    unknown = sorted(set(effects) - set(EFFECTS))
    if unknown:
        raise ValueError(f"unknown effects {unknown}; known: {(*EFFECTS, PHONE)}")
    return dict.fromkeys(effects, severity)


def render_photo(
    text: str,
    *,
    px_per_module: float,
    effects: Sequence[str] = (),
    severity: int = 0,
    seed: int,
) -> tuple[bytes, dict[str, Any]]:
    """Render ``text`` as a photographed certificate QR code.

    ``px_per_module`` is the module size in image pixels at the centre of the
    symbol before any degradation (perspective and curvature make it vary across
    the symbol; the measured range is in the metadata).  ``effects`` names
    degradations from :data:`EFFECTS` (or the :data:`PHONE` preset alone), all at
    ``severity`` 1–3; severity 0 with no effects is the clean photo.

    Returns JPEG bytes and metadata (sizes, the drawn parameters, the symbol
    corners in image pixels).
    """
    if not 1.0 <= px_per_module <= 12.0:
        raise ValueError("px_per_module must be within 1..12")
    levels = _levels(effects, severity)
    rng = np.random.default_rng(seed)
    px = float(px_per_module)
    params: dict[str, dict[str, Any]] = {}

    matrix = qr_matrix(text)
    border = 4
    page = build_page(matrix, border, rng)
    n = page.symbol_modules
    qsize = float(matrix.shape[0])
    uc, vc = page.symbol_center

    # Image size: the code fills a realistic part of a downscaled phone photo.
    long_side = int(min(MAX_LONG_SIDE, max(MIN_LONG_SIDE, round(2.6 * qsize * px))))
    short_side = round(long_side * 0.75)
    portrait = bool(rng.random() < 0.3)
    width, height = (short_side, long_side) if portrait else (long_side, short_side)
    focal = long_side * float(rng.uniform(0.8, 1.3))

    # --- page-level degradations (drawn on the paper) ---
    if "seal" in levels:
        page, info = _place_seal(page, rng, SEAL_OVERLAP[levels["seal"] - 1])
        info["opacity"] = float(rng.uniform(0.75, 0.9))
        params["seal"] = info
    fold: _Fold | None = None
    if "fold" in levels:
        i = levels["fold"] - 1
        angle = float(rng.uniform(0.0, 2 * math.pi))
        offset = float(rng.uniform(-0.3, 0.3)) * n
        normal = _unit(angle)
        fold = _Fold(
            p0=(normal[0] * offset, normal[1] * offset),
            normal=normal,
            tilt=math.radians(FOLD_TILT_DEG[i]),
        )
        params["fold"] = {
            "tilt_deg": FOLD_TILT_DEG[i],
            "normal_deg": math.degrees(angle),
            "offset_modules": offset,
            "drop": FOLD_DROP[i],
            "crease": FOLD_CREASE[i],
        }
    curve: _Curve | None = None
    curve_light = 0.0
    if "curve" in levels:
        i = levels["curve"] - 1
        edge = math.radians(CURVE_EDGE_DEG[i])
        angle = float(rng.uniform(0.0, math.pi))
        normal = _unit(angle)
        shift = float(rng.uniform(-0.15, 0.15)) * n
        radius = (n / 2.0) / edge
        curve = _Curve(
            c=(normal[0] * shift, normal[1] * shift),
            normal=normal,
            radius=radius,
            s_max=radius * min(edge + math.radians(20.0), math.radians(80.0)),
        )
        curve_light = float(rng.uniform(-0.35, 0.35))
        params["curve"] = {
            "edge_deg": CURVE_EDGE_DEG[i],
            "radius_modules": radius,
            "normal_deg": math.degrees(angle),
            "axis_offset_modules": shift,
            "light_deg": math.degrees(curve_light),
        }

    # --- camera ---
    rotation = 0.0
    tilt = 0.0
    tilt_axis = 0.0
    if "rotation" in levels:
        lo, hi = ROTATION_DEG[levels["rotation"] - 1]
        mag = float(rng.uniform(lo, hi))
        rotation = math.radians(mag if rng.random() < 0.5 else -mag)
        params["rotation"] = {"deg": math.degrees(rotation)}
    if "perspective" in levels:
        lo, hi = PERSPECTIVE_TILT_DEG[levels["perspective"] - 1]
        tilt = math.radians(float(rng.uniform(lo, hi)))
        tilt_axis = float(rng.uniform(0.0, 2 * math.pi))
        params["perspective"] = {
            "tilt_deg": math.degrees(tilt),
            "axis_deg": math.degrees(tilt_axis),
            "focal_px": focal,
        }
    off_x, off_y = float(rng.uniform(-0.12, 0.12)), float(rng.uniform(-0.12, 0.12))
    half = qsize / 2.0
    edge_t = np.linspace(-half, half, 33)
    outline_a = np.concatenate([edge_t, np.full(33, half), edge_t[::-1], np.full(33, -half)])
    outline_b = np.concatenate([np.full(33, -half), edge_t, np.full(33, half), edge_t[::-1]])
    margin = 2.0 * px
    geometry = None
    for step in range(8):
        k = 0.7**step if step < 7 else 0.0
        cx = width / 2.0 + off_x * k * width
        cy = height / 2.0 + off_y * k * height
        h = _camera_homography(px, rotation, tilt, tilt_axis, focal, cx, cy)
        candidate = _Geometry(h=h, fold=fold, curve=curve)
        ox, oy, ow = candidate.forward(outline_a, outline_b)
        if (
            np.all(ow > 0)
            and ox.min() >= margin
            and oy.min() >= margin
            and ox.max() <= width - margin
            and oy.max() <= height - margin
        ):
            geometry = candidate
            break
    if geometry is None:
        geometry = candidate  # the code is cut by the frame; recorded in metadata
    params["camera"] = {"focal_px": focal, "center": [float(cx), float(cy)]}

    # --- sample the page through the camera ---
    xs = np.arange(width, dtype=np.float32) + np.float32(0.5)
    ys = np.arange(height, dtype=np.float32) + np.float32(0.5)
    gx, gy = np.meshgrid(xs, ys)
    fa, fb, valid = geometry.inverse(gx, gy)
    u = fa + uc
    v = fb + vc
    m = max(4, math.ceil(1.6 * px))
    upx = np.where(valid, u * m, -1e6)
    vpx = np.where(valid, v * m, -1e6)
    inside = valid & (upx > -m) & (vpx > -m) & (upx < SHEET_W * m + m) & (vpx < SHEET_H * m + m)
    if np.any(inside):
        x0 = max(0, math.floor(float(upx[inside].min())) - 4)
        y0 = max(0, math.floor(float(vpx[inside].min())) - 4)
        x1 = min(int(SHEET_W * m), math.ceil(float(upx[inside].max())) + 4)
        y1 = min(int(SHEET_H * m), math.ceil(float(vpx[inside].max())) + 4)
    else:
        x0 = y0 = 0
        x1 = y1 = 1
    window = rasterize(page, x0, y0, max(1, x1 - x0), max(1, y1 - y0), m)
    scale = m / px
    if scale > 1.0:
        window = np.asarray(cv2.GaussianBlur(window, (0, 0), 0.45 * scale), dtype=np.uint8)
    map_x = np.where(inside, upx - x0 - 0.5, -10.0).astype(np.float32)
    map_y = np.where(inside, vpx - y0 - 0.5, -10.0).astype(np.float32)
    layers = cv2.remap(window, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    ink = layers[:, :, 0].astype(np.float32) / 255.0
    seal_a = layers[:, :, 1].astype(np.float32) / 255.0

    # --- compose paper, ink and seal (linear reflectance, RGB) ---
    u32 = np.where(valid, u, -1e4).astype(np.float32)
    v32 = np.where(valid, v, -1e4).astype(np.float32)
    paper_rgb = np.array([0.93, 0.92, 0.885], dtype=np.float32) * np.float32(rng.uniform(0.97, 1.0))
    ink_rgb = np.array([0.075, 0.075, 0.085], dtype=np.float32)
    paper_tex = 1.0 + 0.025 * _eval_texture(_texture(rng, 6, 1 / 200, 1 / 15), u32, v32)
    img = paper_tex[:, :, None] * paper_rgb[None, None, :]
    img = img * (1.0 - ink[:, :, None] * (1.0 - ink_rgb[None, None, :]))
    if page.seal is not None:
        seal_rgb = np.array([0.86, 0.17, 0.2], dtype=np.float32)
        grain = _eval_texture(_texture(rng, 8, 1 / 12, 1 / 2), u32, v32)
        density = np.clip(0.82 + 0.9 * grain, 0.25, 1.0)
        alpha = seal_a * density * np.float32(params["seal"]["opacity"])
        img = img * (1.0 - alpha[:, :, None] * (1.0 - seal_rgb[None, None, :]))
    # Desk beyond the sheet edge.
    dist = np.minimum(np.minimum(u32, np.float32(SHEET_W) - u32), np.minimum(v32, SHEET_H - v32))
    cover = np.clip(dist * np.float32(px) + 0.5, 0.0, 1.0)
    desk_rgb = np.array([0.40, 0.31, 0.23], dtype=np.float32) * np.float32(rng.uniform(0.7, 1.1))
    grain_d = 1.0 + 0.12 * _eval_texture(_texture(rng, 5, 1 / 60, 1 / 6), u32 * 0.2, v32)
    desk = grain_d[:, :, None] * desk_rgb[None, None, :]
    img = img * cover[:, :, None] + desk * (1.0 - cover[:, :, None])

    shading = np.ones((height, width), dtype=np.float32)
    if fold is not None:
        p = params["fold"]
        d = fold.signed_distance(fa, fb).astype(np.float32)
        crease_w = np.float32(0.45)
        shading *= np.where(d > 0, np.float32(1.0 - p["drop"]), np.float32(1.0))
        shading *= 1.0 - np.float32(p["crease"]) * np.exp(-((d / crease_w) ** 2))
        shading *= 1.0 + np.float32(0.06) * np.exp(-(((d + 1.2) / 0.8) ** 2))
    if curve is not None:
        # flat coordinates after the fold, before the cylinder
        if fold is not None:
            ca, cb = fold.forward(fa, fb)
        else:
            ca, cb = fa, fb
        theta = curve.angle(ca, cb).astype(np.float32)
        shading *= (0.78 + 0.22 * np.cos(theta - np.float32(curve_light))).astype(np.float32)
    img = img * (cover * shading + (1.0 - cover))[:, :, None]

    # --- screen photo ---
    if "moire" in levels:
        img = _moire(img, rng, levels["moire"] - 1, params)

    # --- light ---
    if "light" in levels:
        img = _light(img, rng, levels["light"] - 1, geometry, qsize * px, params)

    # --- optics ---
    sigma = BASE_LENS_SIGMA
    if "blur" in levels:
        s_mod = BLUR_SIGMA_MODULES[levels["blur"] - 1] * float(rng.uniform(0.9, 1.1))
        sigma = math.hypot(sigma, s_mod * px)
        params["blur"] = {"sigma_modules": s_mod, "sigma_px": s_mod * px}
    img = cv2.GaussianBlur(img, (0, 0), sigma)
    if "motion_blur" in levels:
        length = MOTION_LENGTH_MODULES[levels["motion_blur"] - 1] * float(rng.uniform(0.9, 1.1))
        angle = float(rng.uniform(0.0, math.pi))
        img = cv2.filter2D(img, -1, _motion_kernel(length * px, angle))
        params["motion_blur"] = {
            "length_modules": length,
            "length_px": length * px,
            "angle_deg": math.degrees(angle),
        }

    # --- sensor ---
    if "noise" in levels:
        i = levels["noise"] - 1
        white = NOISE_SIGMA_WHITE[i] / 255.0
        read = NOISE_SIGMA_READ[i] / 255.0
        lum = np.clip(img.mean(axis=2), 0.0, 1.0)
        sd = np.sqrt((white**2 - read**2) * lum + read**2).astype(np.float32)
        common = rng.standard_normal((height, width), dtype=np.float32)
        chroma = rng.standard_normal((height, width, 3), dtype=np.float32)
        noise = sd[:, :, None] * (0.85 * common[:, :, None] + 0.5 * chroma)
        img = img + noise
        params["noise"] = {"sigma_white": NOISE_SIGMA_WHITE[i], "sigma_read": NOISE_SIGMA_READ[i]}

    quality = BASE_JPEG_QUALITY
    if "jpeg" in levels:
        quality = JPEG_QUALITY[levels["jpeg"] - 1]
        params["jpeg"] = {"quality": quality}
    rgb8 = np.clip(img * 255.0 + 0.5, 0, 255).astype(np.uint8)
    ok, buf = cv2.imencode(
        ".jpg", cv2.cvtColor(rgb8, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality]
    )
    if not ok:  # pragma: no cover - OpenCV always encodes a valid array
        raise RuntimeError("JPEG encoding failed")

    meta = _metadata(
        text=text,
        px=px,
        levels=levels,
        effects=effects,
        severity=severity,
        seed=seed,
        size=(width, height),
        quality=quality,
        n=n,
        geometry=geometry,
        params=params,
    )
    return buf.tobytes(), meta


def _moire(img: F32, rng: np.random.Generator, i: int, params: dict[str, dict[str, Any]]) -> F32:
    """Show ``img`` on an LCD and photograph it: subpixel grid, fringes, raised black."""
    height, width = img.shape[:2]
    pitch = float(rng.uniform(0.9, 1.6))
    beta = math.radians(float(rng.uniform(-8.0, 8.0)))
    black = MOIRE_BLACK[i]
    grid = MOIRE_GRID[i]
    fringe = MOIRE_FRINGE[i]
    screen = np.float32(black) + np.float32(1.0 - black) * img
    sup = 2
    big = np.asarray(
        cv2.resize(screen, (width * sup, height * sup), interpolation=cv2.INTER_LINEAR),
        dtype=np.float32,
    )
    bx = (np.arange(width * sup, dtype=np.float32) + 0.5) / sup
    by = (np.arange(height * sup, dtype=np.float32) + 0.5) / sup
    gx, gy = np.meshgrid(bx, by)
    cb, sb = np.float32(math.cos(beta) / pitch), np.float32(math.sin(beta) / pitch)
    sx = gx * cb + gy * sb
    sy = -gx * sb + gy * cb
    rows = 1.0 - np.float32(0.5 * grid) * ((0.5 + 0.5 * np.cos(np.float32(2 * math.pi) * sy)) ** 6)
    norm = np.float32(1.0 - 0.5 * grid)
    for c in range(3):
        stripe = 0.5 + 0.5 * np.cos(np.float32(2 * math.pi) * (sx - np.float32((c + 0.5) / 3)))
        mask = (1.0 - np.float32(grid) * (1.0 - stripe)) / norm
        big[:, :, c] *= mask * rows
    out = cv2.resize(big, (width, height), interpolation=cv2.INTER_AREA)
    period = float(rng.uniform(14.0, 40.0))
    fang = float(rng.uniform(0.0, math.pi))
    curv = float(rng.uniform(-1.0, 1.0)) / (width * period)
    xx, yy = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    phase = (xx * np.float32(math.cos(fang)) + yy * np.float32(math.sin(fang))) / np.float32(
        period
    ) + np.float32(curv) * ((xx - width / 2) ** 2 + (yy - height / 2) ** 2)
    for c in range(3):
        out[:, :, c] *= 1.0 + np.float32(fringe) * np.sin(
            np.float32(2 * math.pi) * phase + np.float32(c * 2 * math.pi / 3)
        )
    params["moire"] = {
        "pitch_px": pitch,
        "grid_deg": math.degrees(beta),
        "grid_contrast": grid,
        "fringe_amplitude": fringe,
        "fringe_period_px": period,
        "black_level": black,
    }
    result: F32 = out.astype(np.float32)
    return result


def _light(
    img: F32,
    rng: np.random.Generator,
    i: int,
    geometry: _Geometry,
    qr_px: float,
    params: dict[str, dict[str, Any]],
) -> F32:
    """Uneven light: a linear gradient over the frame and a soft shadow blob."""
    height, width = img.shape[:2]
    xx, yy = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    g_angle = float(rng.uniform(0.0, 2 * math.pi))
    gdx, gdy = _unit(g_angle)
    proj = xx * np.float32(gdx) + yy * np.float32(gdy)
    ramp = (proj - proj.min()) / max(float(proj.max() - proj.min()), 1.0)
    gradient = LIGHT_GRADIENT[i]
    shadow = LIGHT_SHADOW[i]
    soft = LIGHT_SOFTNESS[i]
    zero = np.zeros(1)
    qx, qy, _ = geometry.forward(zero, zero)
    bcx = float(qx[0]) + float(rng.uniform(-0.45, 0.45)) * qr_px
    bcy = float(qy[0]) + float(rng.uniform(-0.45, 0.45)) * qr_px
    rx = qr_px * float(rng.uniform(0.4, 0.8))
    ry = qr_px * float(rng.uniform(0.4, 0.8))
    rot = float(rng.uniform(0.0, math.pi))
    cr, sr = np.float32(math.cos(rot)), np.float32(math.sin(rot))
    dx, dy = xx - np.float32(bcx), yy - np.float32(bcy)
    ex = (dx * cr + dy * sr) / np.float32(rx)
    ey = (-dx * sr + dy * cr) / np.float32(ry)
    dist = np.sqrt(ex * ex + ey * ey)
    blob = 1.0 / (1.0 + np.exp(np.clip((dist - 1.0) / np.float32(soft), -30.0, 30.0)))
    tint = np.array([0.97, 1.0, 1.04], dtype=np.float32)  # shadows are lit by bluish skylight
    mult = (1.0 - np.float32(gradient) * ramp)[:, :, None] * (
        1.0 - np.float32(shadow) * blob[:, :, None] * (2.0 - tint[None, None, :])
    )
    params["light"] = {
        "gradient": gradient,
        "gradient_deg": math.degrees(g_angle),
        "shadow": shadow,
        "shadow_center": [bcx, bcy],
        "shadow_radii": [rx, ry],
        "softness": soft,
    }
    result: F32 = (img * mult).astype(np.float32)
    return result


def _metadata(
    *,
    text: str,
    px: float,
    levels: Mapping[str, int],
    effects: Sequence[str],
    severity: int,
    seed: int,
    size: tuple[int, int],
    quality: int,
    n: int,
    geometry: _Geometry,
    params: dict[str, dict[str, Any]],
) -> dict[str, Any]:
    half = n / 2.0
    corners_a = np.array([-half, half, half, -half])
    corners_b = np.array([-half, -half, half, half])
    cx, cy, _ = geometry.forward(corners_a, corners_b)
    # Module size measured over the symbol grid (neighbouring module centres).
    g = np.arange(n + 1, dtype=np.float64) - half
    ga, gb = np.meshgrid(g, g)
    mx, my, _ = geometry.forward(ga, gb)
    steps = np.concatenate(
        [
            np.hypot(np.diff(mx, axis=1), np.diff(my, axis=1)).ravel(),
            np.hypot(np.diff(mx, axis=0), np.diff(my, axis=0)).ravel(),
        ]
    )
    width, height = size
    inside = bool(cx.min() >= 0 and cy.min() >= 0 and cx.max() <= width and cy.max() <= height)
    label = PHONE if PHONE in effects else ("clean" if not levels else "+".join(effects))
    return {
        "text": text,
        "px_per_module": px,
        "label": label,
        "effects": [e for e in EFFECTS if e in levels],
        "severity": severity,
        "seed": seed,
        "width": width,
        "height": height,
        "format": "jpeg",
        "jpeg_quality": quality,
        "qr_version": (n - 17) // 4,
        "qr_modules": n,
        "qr_corners": [[_r(x, 2), _r(y, 2)] for x, y in zip(cx, cy, strict=True)],
        "qr_inside_frame": inside,
        "module_px": {
            "min": _r(steps.min(), 3),
            "median": _r(float(np.median(steps)), 3),
            "max": _r(steps.max(), 3),
        },
        "params": _round_tree(params),
    }


def _round_tree(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _round_tree(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_round_tree(v) for v in value]
    if isinstance(value, float):
        return _r(value)
    return value


# --------------------------------------------------------------------------- the set


@dataclass(frozen=True)
class PhotoSpec:
    """One image of the measured set."""

    label: str  # an effect name, ``phone`` or ``clean``
    severity: int
    px_per_module: float
    variant: int
    source: str
    text: str
    seed: int

    @property
    def effects(self) -> tuple[str, ...]:
        """Effects argument of :func:`render_photo`."""
        return () if self.label == "clean" else (self.label,)

    @property
    def file(self) -> str:
        """File name inside the set directory."""
        return f"{self.label}-s{self.severity}-px{self.px_per_module:.1f}-v{self.variant}.jpg"


def _derive(seed: int, *parts: object) -> int:
    key = "|".join([str(seed), *(str(p) for p in parts)]).encode()
    return int.from_bytes(hashlib.sha256(key).digest()[:8], "big")


def plan_set(
    texts: Sequence[tuple[str, str]],
    *,
    seed: int = DEFAULT_SEED,
    px_values: Sequence[float] = PX_PER_MODULE_SET,
    labels: Sequence[str] = SET_LABELS,
    variants: int = 1,
) -> list[PhotoSpec]:
    """Every label at every severity (plus clean photos) at every ``px_values``.

    Each image's seed and source text derive from ``seed`` and the image's own
    coordinates, so any subset of the plan renders the same bytes as the full set.
    """
    if not texts:
        raise ValueError("no input texts")
    specs = []
    cells: list[tuple[str, int]] = [("clean", 0)]
    cells += [(label, sev) for label in labels for sev in SEVERITIES[1:]]
    for px in px_values:
        for label, sev in cells:
            for variant in range(variants):
                coords = (label, sev, f"{px:.2f}", variant)
                name, text = texts[_derive(seed, "text", *coords) % len(texts)]
                specs.append(
                    PhotoSpec(
                        label=label,
                        severity=sev,
                        px_per_module=float(px),
                        variant=variant,
                        source=name,
                        text=text,
                        seed=_derive(seed, "image", *coords),
                    )
                )
    return specs


def render_spec(spec: PhotoSpec) -> tuple[bytes, dict[str, Any]]:
    """Render one planned image."""
    return render_photo(
        spec.text,
        px_per_module=spec.px_per_module,
        effects=spec.effects,
        severity=spec.severity,
        seed=spec.seed,
    )


def build_set(
    texts: Sequence[tuple[str, str]],
    out_dir: Path,
    *,
    seed: int = DEFAULT_SEED,
    px_values: Sequence[float] = PX_PER_MODULE_SET,
    labels: Sequence[str] = SET_LABELS,
    variants: int = 1,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Path:
    """Write the images and ``manifest.json`` into ``out_dir``; return the manifest path.

    ``workers`` > 1 renders in that many processes (default: one per CPU, at most 8);
    the output does not depend on it.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    specs = plan_set(texts, seed=seed, px_values=px_values, labels=labels, variants=variants)
    if workers is None:
        workers = min(os.cpu_count() or 1, 8)
    entries = []
    with contextlib.ExitStack() as stack:
        if workers > 1 and len(specs) > 1:
            pool = stack.enter_context(
                ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
            )
            rendered: Iterator[tuple[bytes, dict[str, Any]]] = pool.map(
                render_spec, specs, chunksize=4
            )
        else:
            rendered = map(render_spec, specs)
        for k, (spec, (data, meta)) in enumerate(zip(specs, rendered, strict=True)):
            (out_dir / spec.file).write_bytes(data)
            entry = {"file": spec.file, "source": spec.source, "variant": spec.variant, **meta}
            entry["label"] = spec.label
            entries.append(entry)
            if progress is not None:
                progress(k + 1, len(specs))
    manifest = {
        "generator": "quarantine.testing.synthetic_photos",
        "format_version": 1,
        "seed": seed,
        "px_per_module_set": [float(p) for p in px_values],
        "labels": ["clean", *labels],
        "severities": list(SEVERITIES),
        "sources": [{"name": name, "text": text} for name, text in texts],
        "images": entries,
    }
    path = out_dir / "manifest.json"
    path.write_text(
        json.dumps(manifest, indent=1, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return path


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``python -m quarantine.testing.synthetic_photos --out DIR``."""
    parser = argparse.ArgumentParser(
        prog="python -m quarantine.testing.synthetic_photos",
        description="Write the synthetic certificate photo set and its manifest.json.",
    )
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    parser.add_argument(
        "--samples",
        type=Path,
        default=Path("samples"),
        help="directory of signed samples (manifest.json + *.txt); pseudo texts when empty",
    )
    parser.add_argument(
        "--all-samples",
        action="store_true",
        help="use every sample text, not only those with verdict VALID",
    )
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--variants", type=int, default=1, help="images per cell")
    parser.add_argument("--workers", type=int, default=None, help="render processes")
    args = parser.parse_args(argv)
    texts = (
        load_sample_texts(args.samples, verdicts=None)
        if args.all_samples and args.samples.is_dir()
        else default_texts(args.samples)
    )
    if not texts:
        texts = pseudo_certificate_texts()
    started = time.perf_counter()
    path = build_set(texts, args.out, seed=args.seed, variants=args.variants, workers=args.workers)
    count = len(json.loads(path.read_text(encoding="utf-8"))["images"])
    print(
        f"wrote {count} images from {len(texts)} texts to {args.out} "
        f"in {time.perf_counter() - started:.1f} s",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
