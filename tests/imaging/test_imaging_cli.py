"""``quarantine decode``: JSON lines, human table, folders, workers, exit codes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import typer
from PIL import Image
from typer.testing import CliRunner

from quarantine.cli import decode as decode_cli
from tests.imaging.imaging_helpers import CERT_TEXT, encode, paste_on, qr_image


@pytest.fixture
def app() -> typer.Typer:
    # A group callback keeps ``decode`` a sub-command even when it is the only one.
    application = typer.Typer()

    @application.callback()
    def _root() -> None:
        """Test application."""

    decode_cli.register(application)
    return application


@pytest.fixture
def images(tmp_path: Path) -> dict[str, Path]:
    folder = tmp_path / "photos"
    (folder / "sub").mkdir(parents=True)
    paths = {
        "good": folder / "good.png",
        "two": folder / "sub" / "two.jpg",
        "none": folder / "none.webp",
        "ignored": folder / "notes.txt",
        "broken": tmp_path / "broken.jpg",
        "gif": tmp_path / "code.gif",
    }
    paths["good"].write_bytes(encode(qr_image(CERT_TEXT)))
    two = paste_on((900, 420), [(qr_image("A-1"), (20, 20)), (qr_image("B-2"), (480, 20))])
    paths["two"].write_bytes(encode(two.convert("RGB"), "JPEG", quality=92))
    paths["none"].write_bytes(encode(Image.new("RGB", (300, 200), (200, 200, 200)), "WEBP"))
    paths["ignored"].write_text("not an image")
    paths["broken"].write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 64)
    paths["gif"].write_bytes(encode(qr_image(CERT_TEXT).convert("P"), "GIF"))
    return paths


def _run(app: typer.Typer, *args: str) -> tuple[int, list[dict[str, Any]], str]:
    result = CliRunner().invoke(app, ["decode", *args])
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    return result.exit_code, lines, result.stderr


def test_json_lines_schema_and_folder_walk(app: typer.Typer, images: dict[str, Path]) -> None:
    code, records, _ = _run(app, "--json", str(images["good"].parent))
    assert code == 1  # none.webp has no code
    by_name = {Path(r["image"]).name: r for r in records}
    assert set(by_name) == {"good.png", "two.jpg", "none.webp"}
    for record in records:
        assert set(record) >= {"image", "codes", "ms", "hints"}
        assert isinstance(record["ms"], float)
        for c in record["codes"]:
            assert set(c) == {"text", "position", "stage"}
            assert len(c["position"]) == 4
            assert all(len(p) == 2 and all(isinstance(v, int) for v in p) for p in c["position"])
    assert [c["text"] for c in by_name["good.png"]["codes"]] == [CERT_TEXT]
    assert sorted(c["text"] for c in by_name["two.jpg"]["codes"]) == ["A-1", "B-2"]
    assert by_name["none.webp"]["codes"] == []
    hint = by_name["none.webp"]["hints"][0]
    assert set(hint) == {"code", "message"}
    assert " / " in hint["message"]


def test_exit_0_when_every_image_has_a_code(app: typer.Typer, images: dict[str, Path]) -> None:
    code, records, _ = _run(app, "--json", str(images["good"]), str(images["two"]))
    assert code == 0
    assert len(records) == 2


def test_exit_2_and_error_records_for_bad_input(app: typer.Typer, images: dict[str, Path]) -> None:
    code, records, _ = _run(
        app, "--json", str(images["good"]), str(images["broken"]), str(images["gif"])
    )
    assert code == 2
    errors = {Path(r["image"]).name: r["error"] for r in records if "error" in r}
    assert errors["broken.jpg"]["code"] == "IMAGE_UNREADABLE"
    assert errors["code.gif"]["code"] == "IMAGE_FORMAT_NOT_ALLOWED"
    assert all(" / " in e["message"] for e in errors.values())


def test_exit_2_for_missing_paths_and_empty_folders(app: typer.Typer, tmp_path: Path) -> None:
    code, _, err = _run(app, str(tmp_path / "missing.jpg"))
    assert code == 2
    assert "missing.jpg" in err
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, err = _run(app, str(empty))
    assert code == 2
    assert "no images" in err


def test_usage_error_is_exit_2(app: typer.Typer) -> None:
    result = CliRunner().invoke(app, ["decode"])
    assert result.exit_code == 2
    result = CliRunner().invoke(app, ["decode", "--workers", "0", "x.png"])
    assert result.exit_code == 2


def test_workers_give_the_same_answers(app: typer.Typer, images: dict[str, Path]) -> None:
    folder = str(images["good"].parent)
    _, serial, _ = _run(app, "--json", folder)
    _, parallel, _ = _run(app, "--json", "--workers", "2", folder)

    def strip(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{k: v for k, v in r.items() if k != "ms"} for r in records]

    assert strip(parallel) == strip(serial)


def test_human_table(app: typer.Typer, images: dict[str, Path]) -> None:
    result = CliRunner().invoke(
        app, ["decode", str(images["good"]), str(images["none"]), str(images["gif"])]
    )
    assert result.exit_code == 2
    assert CERT_TEXT in result.stdout
    assert "image" in result.stdout.splitlines()[0]
    assert "IMAGE_FORMAT_NOT_ALLOWED" in result.stdout
    assert "No QR code found" in result.stdout or "picture" in result.stdout
    assert "{" not in result.stdout


def test_control_characters_are_escaped_in_the_table() -> None:
    assert decode_cli._shorten("a\r\nb") == "a\\r\\nb"
    assert decode_cli._shorten("证书") == "证书"
    assert decode_cli._shorten("x" * 200).endswith("…")
