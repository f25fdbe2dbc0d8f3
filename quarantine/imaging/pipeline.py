"""Public entry points: bytes or a file in, every QR code found out.

The cascade (:data:`quarantine.imaging.stages.STAGES`) stops

* with ``want=None``: after the first stage that reads at least one code (all
  codes that stage sees are returned);
* with ``want=N``: as soon as ``N`` distinct codes are known;
* when no stage remains, or when the time budget is spent (hint ``TIME_BUDGET``;
  the first stage always runs, a running stage is never interrupted).

A code read by several stages, or twice by one, is returned once: two reads are
the same code when their bytes are equal and their centres lie within half a
side of each other.  Two equal codes at different places are both returned.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import cv2
import numpy as np

from quarantine.imaging import errors
from quarantine.imaging.hints import compute_hints
from quarantine.imaging.limits import ImageLimits
from quarantine.imaging.load import channel_max_of, load_image
from quarantine.imaging.results import DecodedCode, DecodeResult, Quad
from quarantine.imaging.stages import (
    STAGES,
    WORK_MAX_PIXELS,
    Candidate,
    Context,
    FQuad,
    Frame,
    Stage,
)

if TYPE_CHECKING:
    import numpy.typing as npt

log = logging.getLogger(__name__)

DEFAULT_LIMITS = ImageLimits()


def decode_image_bytes(
    data: bytes, limits: ImageLimits = DEFAULT_LIMITS, *, want: int | None = None
) -> DecodeResult:
    """Read every QR code in an encoded image (JPEG, PNG, WebP, HEIC).

    Raises :class:`~quarantine.imaging.errors.ImageLimitExceeded` or
    :class:`~quarantine.imaging.errors.ImageInputError` (both
    :class:`quarantine.errors.InputError`) for rejected input.  ``ms`` includes
    decoding the image file.
    """
    start = time.perf_counter()
    return _scan(_context(bytes(data), limits), limits, want, start)


def decode_image_file(
    path: str | os.PathLike[str], limits: ImageLimits = DEFAULT_LIMITS, *, want: int | None = None
) -> DecodeResult:
    """Like :func:`decode_image_bytes` for a file; its size is checked before reading."""
    start = time.perf_counter()
    try:
        size = os.path.getsize(path)
        if size > limits.max_bytes:
            raise errors.too_large(size, limits.max_bytes)
        with open(path, "rb") as fh:
            data = fh.read(limits.max_bytes + 1)
    except OSError as exc:
        raise errors.unreadable(f"{type(exc).__name__}: {exc.strerror or exc}") from exc
    return _scan(_context(data, limits), limits, want, start)


def decode_image_array(
    image: npt.NDArray[np.uint8], limits: ImageLimits = DEFAULT_LIMITS, *, want: int | None = None
) -> DecodeResult:
    """Run the cascade on pixels already in memory (gray ``H×W`` or BGR ``H×W×3``)."""
    start = time.perf_counter()
    colour: Callable[[], npt.NDArray[np.uint8]] | None = None
    if image.ndim == 3 and image.shape[2] >= 3:
        bgr = image

        def colour() -> npt.NDArray[np.uint8]:
            return channel_max_of(bgr)

    if image.ndim == 3:
        image = np.asarray(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), dtype=np.uint8)
    if image.ndim != 2 or image.size == 0:
        raise ValueError("expected a non-empty gray (H×W) or BGR (H×W×3) uint8 array")
    if image.size > limits.max_pixels:
        raise errors.too_many_pixels(image.shape[1], image.shape[0], limits.max_pixels)
    gray = np.ascontiguousarray(image, dtype=np.uint8)
    return _scan(Context(Frame(gray, 1.0), load_colour=colour), limits, want, start)


def _context(data: bytes, limits: ImageLimits) -> Context:
    """Decode ``data``; a huge JPEG is decoded reduced first, whole only if needed."""
    loaded = load_image(data, limits, draft_max_pixels=WORK_MAX_PIXELS)

    def colour() -> npt.NDArray[np.uint8]:
        return load_image(data, limits, draft_max_pixels=WORK_MAX_PIXELS, channel_max=True).gray

    def full() -> npt.NDArray[np.uint8]:
        return load_image(data, limits).gray

    return Context(
        Frame(loaded.gray, loaded.scale),
        full if loaded.scale < 1.0 else None,
        load_colour=colour if loaded.colour else None,
    )


def _scan(ctx: Context, limits: ImageLimits, want: int | None, start: float) -> DecodeResult:
    found: list[Candidate] = []
    budget_s = limits.time_budget_ms / 1000.0
    out_of_time = False
    for index, stage in enumerate(STAGES):
        if index > 0 and time.perf_counter() - start > budget_s:
            out_of_time = True
            break
        for cand in _run(stage, ctx):
            if not any(_same(cand, seen) for seen in found):
                found.append(cand)
        if found and (want is None or len(found) >= want):
            break
    codes = tuple(
        DecodedCode(text=c.text, raw=c.raw, position=_round(c.quad), stage=c.stage) for c in found
    )
    hints: tuple[str, ...] = ()
    if not codes and not out_of_time:
        if time.perf_counter() - start > budget_s:
            out_of_time = True
        else:
            hints = compute_hints(ctx.work.img, ctx.work.scale)
    if out_of_time:
        hints = ("TIME_BUDGET",)
    return DecodeResult(codes=codes, ms=(time.perf_counter() - start) * 1000.0, hints=hints)


def _run(stage: Stage, ctx: Context) -> list[Candidate]:
    """Run one stage; a failing stage is logged and skipped, never fatal."""
    try:
        if not stage.applies(ctx):
            return []
        return stage.run(ctx)
    except Exception:
        log.warning("imaging stage %s failed", stage.name, exc_info=True)
        return []


def _centre(q: FQuad) -> tuple[float, float]:
    return (sum(p[0] for p in q) / 4.0, sum(p[1] for p in q) / 4.0)


def _side(q: FQuad) -> float:
    return max(math.dist(q[i], q[(i + 1) % 4]) for i in range(4))


def _same(a: Candidate, b: Candidate) -> bool:
    if a.raw != b.raw:
        return False
    near = 0.5 * max(_side(a.quad), _side(b.quad), 1.0)
    return math.dist(_centre(a.quad), _centre(b.quad)) <= near


def _round(q: FQuad) -> Quad:
    p = [(round(x), round(y)) for x, y in q]
    return (p[0], p[1], p[2], p[3])
