"""Errors raised for rejected images, with bilingual messages and reason codes.

Reason codes: ``IMAGE_TOO_LARGE`` (encoded bytes), ``IMAGE_TOO_MANY_PIXELS``,
``IMAGE_FORMAT_NOT_ALLOWED``, ``IMAGE_UNREADABLE``, ``IMAGE_EMPTY``.
"""

from __future__ import annotations

from quarantine.errors import InputError, LimitExceeded


class ImageInputError(InputError):
    """The image cannot be used (unknown format, corrupt or truncated data)."""


class ImageLimitExceeded(LimitExceeded):
    """The image exceeds an :class:`~quarantine.imaging.limits.ImageLimits` bound."""


def too_large(size: int, limit: int) -> ImageLimitExceeded:
    return ImageLimitExceeded(
        "IMAGE_TOO_LARGE",
        f"图片文件过大：{size} 字节，上限 {limit} 字节",
        f"image file too large: {size} bytes, limit {limit} bytes",
    )


def too_many_pixels(width: int, height: int, limit: int) -> ImageLimitExceeded:
    return ImageLimitExceeded(
        "IMAGE_TOO_MANY_PIXELS",
        f"图片像素过多：{width}×{height}，上限 {limit} 像素",
        f"image has too many pixels: {width}x{height}, limit {limit} pixels",
    )


def format_not_allowed(name: str) -> ImageInputError:
    return ImageInputError(
        "IMAGE_FORMAT_NOT_ALLOWED",
        f"不支持的图片格式：{name}（仅接受 JPEG、PNG、WebP、HEIC）",
        f"image format not allowed: {name} (accepted: JPEG, PNG, WebP, HEIC)",
    )


def unreadable(detail: str) -> ImageInputError:
    return ImageInputError(
        "IMAGE_UNREADABLE",
        f"无法读取图片（文件损坏或不完整）：{detail}",
        f"image cannot be read (corrupt or truncated): {detail}",
    )


def empty() -> ImageInputError:
    return ImageInputError("IMAGE_EMPTY", "图片文件为空", "image file is empty")
