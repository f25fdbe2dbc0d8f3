"""What the user typed after ``verify`` / ``show``: QR texts, text files, images, folders."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

IMAGE_SUFFIXES = frozenset(
    {".png", ".jpg", ".jpeg", ".webp", ".heic", ".heif", ".gif", ".bmp", ".tif", ".tiff"}
)
TEXT_SUFFIXES = frozenset({".txt", ".qr"})
MAX_TEXT_FILE = 256 * 1024
_IMAGE_MAGIC = (b"\xff\xd8\xff", b"\x89PNG", b"RIFF", b"GIF8", b"BM", b"II*\x00", b"MM\x00*")


@dataclass(frozen=True)
class Item:
    """One thing to verify: a QR text, an image file, or an input that failed."""

    label: str
    text: str | None = None
    image: Path | None = None
    error: tuple[str, str, str] | None = None  # (code, zh, en)


def _is_image(path: Path) -> bool:
    with path.open("rb") as fh:
        head = fh.read(12)
    return head.startswith(_IMAGE_MAGIC) or head[4:8] == b"ftyp"


def _text_file(path: Path) -> Iterator[Item]:
    if path.stat().st_size > MAX_TEXT_FILE:
        yield Item(
            str(path),
            error=(
                "FILE_TOO_LARGE",
                "文本文件过大",
                f"text file is larger than {MAX_TEXT_FILE} bytes",
            ),
        )
        return
    try:
        lines = [ln.strip() for ln in path.read_text("utf-8").splitlines()]
    except UnicodeDecodeError:
        yield Item(
            str(path), error=("FILE_NOT_TEXT", "文件不是 UTF-8 文本", "file is not UTF-8 text")
        )
        return
    texts = [(i, ln) for i, ln in enumerate(lines, 1) if ln]
    if not texts:
        yield Item(str(path), error=("FILE_EMPTY", "文件为空", "file is empty"))
    for lineno, text in texts:
        yield Item(str(path) if len(texts) == 1 else f"{path}:{lineno}", text=text)


def _path(path: Path) -> Iterator[Item]:
    try:
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                if child.is_file() and child.suffix.lower() in IMAGE_SUFFIXES | TEXT_SUFFIXES:
                    yield from _path(child)
        elif _is_image(path):
            yield Item(str(path), image=path)
        else:
            yield from _text_file(path)
    except OSError as exc:
        yield Item(
            str(path),
            error=("FILE_UNREADABLE", "无法读取文件", f"cannot read file: {exc.strerror}"),
        )


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except (OSError, ValueError):  # name too long, NUL byte, …
        return False


def _stdin() -> Iterator[Item]:
    for i, raw in enumerate(sys.stdin.buffer, 1):
        try:
            line = raw.decode("utf-8").strip()
        except UnicodeDecodeError:
            yield Item(
                f"-:{i}", error=("FILE_NOT_TEXT", "输入不是 UTF-8 文本", "input is not UTF-8 text")
            )
            continue
        if line:
            yield Item(f"-:{i}", text=line)


def expand(args: list[str]) -> Iterator[Item]:
    """Each argument as QR text(s) or image(s); ``-`` reads texts from standard input."""
    for arg in args:
        if arg == "-":
            yield from _stdin()
            continue
        if not arg.strip():
            yield Item(repr(arg), error=("EMPTY_INPUT", "输入为空", "empty input"))
            continue
        path = Path(arg)
        if len(arg) < 4096 and _exists(path):
            yield from _path(path)
        elif path.suffix.lower() in IMAGE_SUFFIXES | TEXT_SUFFIXES and "/C/" not in arg.upper():
            yield Item(arg, error=("FILE_NOT_FOUND", "文件不存在", "no such file"))
        else:
            yield Item(arg[:80] + ("…" if len(arg) > 80 else ""), text=arg)
