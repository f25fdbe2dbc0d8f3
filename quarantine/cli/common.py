"""Helpers shared by the CLI commands: settings, errors, exit codes, output."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, NoReturn, TypeVar

import typer

from quarantine.errors import QuarantineError

EXIT_OK = 0
EXIT_NOT_VALID = 1
EXIT_USAGE = 2

T = TypeVar("T")


def fail(code: str, zh: str, en: str, *, exit_code: int = EXIT_USAGE) -> NoReturn:
    typer.echo(f"错误 / error [{code}]: {zh} / {en}", err=True)
    raise typer.Exit(exit_code)


def guarded(func: Callable[[], T]) -> T:
    """Run ``func``; turn any project error into a clean message and exit code 2."""
    try:
        return func()
    except QuarantineError as exc:
        fail(exc.code, exc.message_zh, exc.message_en)


def parse_now(value: str | None) -> datetime:
    if value is None:
        return datetime.now(UTC)
    try:
        now = datetime.fromisoformat(value)
    except ValueError:
        fail(
            "BAD_TIME", "--now 须为 ISO 8601 时间", f"--now must be an ISO 8601 time, not {value!r}"
        )
    if now.tzinfo is None:
        fail("BAD_TIME", "--now 须带时区，如 +08:00", "--now must carry a time zone, e.g. +08:00")
    return now


def print_json_line(obj: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n")
