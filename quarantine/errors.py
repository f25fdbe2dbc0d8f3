"""One exception tree for the whole package.

``QuarantineError`` is the root.  Errors caused by untrusted input (a QR text, an
image, a certificate file) derive from ``InputError``; errors of the running
environment (a missing key file, a bad setting) derive from ``EnvironmentProblem``.
Every error carries a machine reason code and a message in Chinese and English.
"""

from __future__ import annotations


class QuarantineError(Exception):
    """Root of every error raised on purpose by this package."""

    code: str = "ERROR"

    def __init__(self, code: str, message_zh: str, message_en: str) -> None:
        super().__init__(f"{code}: {message_en}")
        self.code = code
        self.message_zh = message_zh
        self.message_en = message_en

    @property
    def message(self) -> str:
        """Both languages, Chinese first."""
        return f"{self.message_zh} / {self.message_en}"


class InputError(QuarantineError):
    """Untrusted input was rejected (QR text, image, certificate data, upload)."""


class LimitExceeded(InputError):
    """Untrusted input exceeds a configured limit; checked before the work is done."""


class EnvironmentProblem(QuarantineError):
    """The environment is not as it must be (files, keys, settings)."""
