"""``quarantine decode``: read QR codes from photos (图片二维码识别).

Exit codes: 0 every image yielded at least one code, 1 some image yielded none,
2 usage error or an image that could not be read (or exceeded a limit).
Heavy libraries (OpenCV, zxing-cpp, Pillow) are imported inside the command.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Annotated, Any

import typer

#: File name extensions picked up when walking a folder.
IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".webp", ".heic", ".heif"})

EXIT_ALL_READ = 0
EXIT_SOME_MISSING = 1
EXIT_BAD_INPUT = 2

Record = dict[str, Any]


def register(app: typer.Typer) -> None:
    """Add the ``decode`` command to ``app``."""
    app.command(
        "decode",
        help=(
            "识别图片中的二维码（文件或文件夹）。"
            " / Read the QR codes in images (files or folders).\n\n"
            "退出码 / exit codes: 0 全部识别 all read, 1 有图片未识别 some without a code,"
            " 2 用法错误或无法读取 usage error or unreadable input."
        ),
    )(decode_command)


def decode_command(
    images: Annotated[
        list[Path],
        typer.Argument(
            help="图片文件或文件夹 / image files or folders (folders are walked)",
            show_default=False,
        ),
    ],
    as_json: Annotated[
        bool,
        typer.Option("--json", help="每张图片输出一行 JSON / one JSON object per image per line"),
    ] = False,
    workers: Annotated[
        int,
        typer.Option("--workers", min=1, max=64, help="并行进程数 / worker processes"),
    ] = 1,
) -> None:
    paths, missing = _collect(images)
    for path in missing:
        _echo_err(f"找不到文件 / no such file or folder: {path}")
    if not paths:
        if not missing:
            _echo_err("没有找到图片 / no images found")
        raise typer.Exit(EXIT_BAD_INPUT)

    worst = EXIT_BAD_INPUT if missing else EXIT_ALL_READ
    if not as_json:
        typer.echo(_header())
    for record in _with_progress(_decode_all(paths, workers), len(paths)):
        if as_json:
            typer.echo(json.dumps(record, ensure_ascii=False))
        else:
            typer.echo(_human(record))
        worst = max(worst, _exit_code(record))
    raise typer.Exit(worst)


def _collect(args: Iterable[Path]) -> tuple[list[str], list[str]]:
    """Files as given, folders walked (sorted, image extensions only)."""
    found: list[str] = []
    missing: list[str] = []
    for arg in args:
        if arg.is_dir():
            for root, dirs, files in os.walk(arg):
                dirs.sort()
                found.extend(
                    str(Path(root) / name)
                    for name in sorted(files)
                    if Path(name).suffix.lower() in IMAGE_EXTENSIONS
                )
        elif arg.exists():
            found.append(str(arg))
        else:
            missing.append(str(arg))
    return found, missing


def decode_one(path: str) -> Record:
    """Decode one file into the JSON record (never raises for bad input)."""
    from quarantine.errors import InputError
    from quarantine.imaging import decode_image_file
    from quarantine.imaging.hints import message

    record: Record = {"image": path}
    try:
        result = decode_image_file(path)
    except InputError as exc:
        record.update(codes=[], ms=None, hints=[], error={"code": exc.code, "message": exc.message})
        return record
    except Exception as exc:  # a bug must not print a traceback for user input
        record.update(
            codes=[],
            ms=None,
            hints=[],
            error={
                "code": "DECODE_FAILED",
                "message": f"识别失败 / decoding failed: {type(exc).__name__}",
            },
        )
        return record
    record["codes"] = [
        {"text": c.text, "position": [list(p) for p in c.position], "stage": c.stage}
        for c in result.codes
    ]
    record["ms"] = round(result.ms, 2)
    record["hints"] = [{"code": h, "message": message(h)} for h in result.hints]
    return record


def _decode_all(paths: list[str], workers: int) -> Iterator[Record]:
    if workers <= 1 or len(paths) <= 1:
        for path in paths:
            yield decode_one(path)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    # Workers start from a clean interpreter (never a fork of a threaded process).
    method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    context = multiprocessing.get_context(method)
    with ProcessPoolExecutor(max_workers=min(workers, len(paths)), mp_context=context) as pool:
        yield from pool.map(decode_one, paths, chunksize=1)


def _with_progress(records: Iterator[Record], total: int) -> Iterator[Record]:
    if not sys.stderr.isatty() or total < 2:
        yield from records
        return
    with typer.progressbar(length=total, label="识别 / decoding", file=sys.stderr) as bar:
        for record in records:
            bar.update(1)
            yield record


def _exit_code(record: Record) -> int:
    if "error" in record:
        return EXIT_BAD_INPUT
    return EXIT_ALL_READ if record["codes"] else EXIT_SOME_MISSING


def _header() -> str:
    return f"{'码数 codes':>10}  {'ms':>8}  图片 / image → 内容或提示 / text or hint"


def _shorten(text: str, width: int = 100) -> str:
    """One line: control characters shown as escapes (CR LF → \\r\\n)."""
    shown = "".join(
        ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text
    )
    return shown if len(shown) <= width else shown[: width - 1] + "…"


def _human(record: Record) -> str:
    image = str(record["image"])
    if "error" in record:
        err = record["error"]
        return f"{'错误 error':>10}  {'':>8}  {image}\n{'':>22}{err['code']}: {err['message']}"
    codes: list[dict[str, Any]] = record["codes"]
    lines = [f"{len(codes):>10}  {record['ms']:>8.1f}  {image}"]
    lines.extend(f"{'':>22}[{c['stage']}] {_shorten(c['text'])}" for c in codes)
    lines.extend(f"{'':>22}{h['message']}" for h in record["hints"])
    return "\n".join(lines)


def _echo_err(text: str) -> None:
    typer.echo(text, err=True)
