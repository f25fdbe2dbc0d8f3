"""What the scan pipeline returns."""

from __future__ import annotations

from dataclasses import dataclass

Point = tuple[int, int]
Quad = tuple[Point, Point, Point, Point]


@dataclass(frozen=True)
class DecodedCode:
    """One QR symbol found in an image.

    ``text`` is the content as text; ``raw`` the content bytes exactly as the
    symbol holds them (use ``raw`` to compare or verify).  ``position`` holds the
    four corners (top-left, top-right, bottom-right, bottom-left of the symbol as
    the decoder saw it) in pixel coordinates of the upright image, i.e. after the
    EXIF orientation was applied, at full resolution.  ``stage`` names the
    cascade stage that read it.
    """

    text: str
    raw: bytes
    position: Quad
    stage: str


@dataclass(frozen=True)
class DecodeResult:
    """All codes read from one image, the time spent, and hints.

    ``hints`` holds hint codes (see :data:`quarantine.imaging.hints.HINTS`) when
    no code was found, and ``TIME_BUDGET`` whenever stages were skipped because
    the time budget was spent.
    """

    codes: tuple[DecodedCode, ...]
    ms: float
    hints: tuple[str, ...]
