"""QR text: an upper-case base URL followed by the payload as decimal digits.

``HTTPS://HOST/PATH/C/`` is written in QR alphanumeric mode and the digits in
numeric mode (two segments).  The digits are the payload read as one
big-endian unsigned integer, written in decimal with no leading zero: the
densest decimal form (2.41 digits per byte; Base45 costs 3 % more), one digit
string per payload, and decoded by one ``int()`` call.  The payload's first byte
is its format byte (never zero), so no information sits in leading zeros.
Texts are limited to 4,300 digits (about 1,785 bytes, Python's own limit for
decimal conversion), far above any certificate.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from quarantine.errors import InputError, LimitExceeded

#: Longest digit string accepted (CPython's default ``int`` conversion limit).
MAX_DIGITS: Final = 4300
#: The last path segment that marks our payloads: ``…/C/<digits>``.
MARKER: Final = "C"
#: Largest QR (version 40) holds 7,089 characters in numeric mode; anything longer is not ours.
MAX_TEXT_CHARS: Final = 7089
_PREFIX_RE: Final = re.compile(
    r"^HTTPS?://([A-Z0-9.\-]+(?::[0-9]{1,5})?)(?:/[A-Z0-9.\-]+)*/C/$", re.IGNORECASE
)
_ALNUM_RE: Final = re.compile(r"^[0-9A-Z $%*+\-./:]*$")


class NotOurs(InputError):
    """A QR text that is not a certificate of this system."""


class DigitsError(InputError):
    """Our shape of text whose digits do not form a payload."""


@dataclass(frozen=True)
class QrText:
    """The parts of a certificate QR text."""

    prefix: str  # e.g. "HTTPS://VERIFY.EXAMPLE/C/"
    host: str  # lower-case host[:port]
    payload: bytes


def bytes_to_digits(data: bytes) -> str:
    """Encode a payload (first byte non-zero) as decimal digits."""
    if not data or data[0] == 0:
        raise ValueError("a payload starts with a non-zero format byte")
    return str(int.from_bytes(data, "big"))


def digits_to_bytes(digits: str) -> bytes:
    """Inverse of :func:`bytes_to_digits`; ``DigitsError`` for impossible strings."""
    if not (digits.isascii() and digits.isdigit()):
        raise DigitsError(
            "DIGITS_MALFORMED", "数字串无效", "payload digits are empty or not digits"
        )
    return _digits_to_bytes(digits)


def _digits_to_bytes(digits: str) -> bytes:
    """:func:`digits_to_bytes` for a string already known to be ASCII digits."""
    if digits[0] == "0":
        raise DigitsError("DIGITS_MALFORMED", "数字串无效", "payload digits start with 0")
    if len(digits) > MAX_DIGITS:
        raise LimitExceeded(
            "QR_TEXT_TOO_LONG", "二维码内容过长", f"more than {MAX_DIGITS} payload digits"
        )
    value = int(digits)
    return value.to_bytes((value.bit_length() + 7) // 8, "big")


def normalise_base_url(base_url: str) -> str:
    """``https://verify.example/qz`` → ``HTTPS://VERIFY.EXAMPLE/QZ/C/`` (QR alphanumeric)."""
    prefix = base_url.strip().rstrip("/").upper() + f"/{MARKER}/"
    if not _ALNUM_RE.match(prefix) or _PREFIX_RE.match(prefix) is None:
        raise ValueError(
            f"base URL {base_url!r} must be an http(s) URL of QR alphanumeric characters"
        )
    return prefix


def encode(base_url: str, payload: bytes) -> str:
    """The QR text for ``payload`` under ``base_url``."""
    return normalise_base_url(base_url) + bytes_to_digits(payload)


def decode(text: str) -> QrText:
    """Split a scanned QR text; ``NotOurs`` if it is not of our shape."""
    if len(text) > MAX_TEXT_CHARS:
        raise NotOurs(
            "NOT_A_CERTIFICATE",
            "不是检疫证书二维码（过长）",
            "not a certificate QR code (too long)",
        )
    text = text.strip()
    cut = max(text.rfind("/C/"), text.rfind("/c/")) + 3
    prefix, digits = text[:cut], text[cut:]
    match = _PREFIX_RE.match(prefix) if cut > 3 and len(prefix) <= 200 else None
    if match is None or not digits or not (digits.isascii() and digits.isdigit()):
        raise NotOurs("NOT_A_CERTIFICATE", "不是检疫证书二维码", "not a certificate QR code")
    return QrText(
        prefix=prefix.upper(), host=match.group(1).lower(), payload=_digits_to_bytes(digits)
    )
