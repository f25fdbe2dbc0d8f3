"""Limits applied to every untrusted image before its pixels are decoded."""

from __future__ import annotations

from dataclasses import dataclass

#: Formats accepted by default, as named by Pillow (``HEIF`` covers HEIC photos).
DEFAULT_FORMATS: frozenset[str] = frozenset({"JPEG", "PNG", "WEBP", "HEIF"})


@dataclass(frozen=True)
class ImageLimits:
    """Bounds for one image.

    ``max_bytes`` is checked on the encoded input, ``max_pixels`` on the size read
    from the image header (before any pixel is decoded), ``formats`` on the
    magic bytes.  ``time_budget_ms`` bounds the decoding cascade: no new stage
    starts once it is spent (a stage already running is not interrupted).
    """

    max_bytes: int = 20_000_000
    max_pixels: int = 50_000_000
    time_budget_ms: int = 2000
    formats: frozenset[str] = DEFAULT_FORMATS

    def __post_init__(self) -> None:
        if self.max_bytes <= 0 or self.max_pixels <= 0 or self.time_budget_ms <= 0:
            raise ValueError("ImageLimits values must be positive")
        unknown = set(self.formats) - DEFAULT_FORMATS
        if unknown:
            raise ValueError(f"unsupported image formats: {sorted(unknown)}")
