"""The committed samples: verdicts per the manifest, QR images, reproducible from the demo keys."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import typer
import zxingcpp
from PIL import Image
from typer.testing import CliRunner

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "samples"
MANIFEST: dict[str, Any] = json.loads((SAMPLES / "manifest.json").read_text("utf-8"))
ENTRIES: list[dict[str, Any]] = MANIFEST["samples"]
IDS = [e["name"] for e in ENTRIES]
VALID = [e for e in ENTRIES if e["verdict"] == "VALID"]
END_OF_2027 = "2027-12-31T23:00:00+08:00"


@pytest.fixture(scope="session")
def cli_app() -> typer.Typer:
    from quarantine.cli import _register_all, app

    if not app.registered_commands:
        _register_all()
    return app


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "QUARANTINE_TRUST_LIST",
        "QUARANTINE_TRUST_ANCHOR",
        "QUARANTINE_CLOCK_SKEW_SECONDS",
        "QUARANTINE_KEY_PASSPHRASE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("QUARANTINE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("QUARANTINE_KEYS_DIR", str(tmp_path / "keys"))


def verify_json(app: typer.Typer, *args: str) -> tuple[int, list[dict[str, Any]]]:
    result = CliRunner().invoke(app, ["verify", "--json", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    return result.exit_code, lines


def test_manifest_lists_every_sample_file() -> None:
    assert MANIFEST["now"] == "2026-12-01T10:00:00+08:00"
    listed = {e["text_file"] for e in ENTRIES} | {e["image"] for e in ENTRIES}
    on_disk = {p.name for p in SAMPLES.iterdir() if p.suffix in {".txt", ".png"}}
    assert listed == on_disk
    assert len(IDS) == len(set(IDS))
    verdicts = {e["verdict"] for e in ENTRIES}
    assert verdicts == {"VALID", "INVALID", "NOT_A_CERTIFICATE"}


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
@pytest.mark.parametrize("form", ["text_file", "image"])
def test_sample_gives_manifest_verdict(
    cli_app: typer.Typer, entry: dict[str, Any], form: str
) -> None:
    path = SAMPLES / entry[form]
    code, lines = verify_json(cli_app, "--now", MANIFEST["now"], str(path))
    assert len(lines) == 1, lines
    (line,) = lines
    assert line["input"] == str(path)
    assert line["verdict"] == entry["verdict"]
    assert line["reasons"] == entry["reasons"]
    assert code == (0 if entry["verdict"] == "VALID" else 1)
    assert ("image" in line) == (form == "image")


def test_all_samples_in_one_call(cli_app: typer.Typer) -> None:
    code, lines = verify_json(cli_app, "--now", MANIFEST["now"], str(SAMPLES))
    assert code == 1
    assert len(lines) == 2 * len(ENTRIES)
    got = {(Path(ln["input"]).name, ln["verdict"], tuple(ln["reasons"])) for ln in lines}
    want = {
        (e[form], e["verdict"], tuple(e["reasons"]))
        for e in ENTRIES
        for form in ("text_file", "image")
    }
    assert got == want


def test_valid_samples_stay_valid_until_end_of_2027(cli_app: typer.Typer) -> None:
    paths = [str(SAMPLES / e["text_file"]) for e in VALID]
    code, lines = verify_json(cli_app, "--now", END_OF_2027, *paths)
    assert [ln["verdict"] for ln in lines] == ["VALID"] * len(VALID), lines
    assert code == 0


def test_valid_samples_are_valid_now(cli_app: typer.Typer) -> None:
    paths = [str(SAMPLES / e["text_file"]) for e in VALID]
    code, lines = verify_json(cli_app, *paths)
    assert [(ln["input"], ln["verdict"]) for ln in lines] == [(p, "VALID") for p in paths]
    assert code == 0


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_png_decodes_to_exactly_the_text(entry: dict[str, Any]) -> None:
    text = (SAMPLES / entry["text_file"]).read_text("ascii")
    assert text.endswith("\n")
    assert text.count("\n") == 1
    with Image.open(SAMPLES / entry["image"]) as im:
        codes = zxingcpp.read_barcodes(im.convert("L"))
    assert [c.text for c in codes] == [text.removesuffix("\n")]


def _load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "make_samples_under_test", REPO / "scripts" / "make_samples.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_make_samples_reproduces_the_committed_samples(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The committed samples come from the committed demo keys, byte for byte."""
    script = _load_script()
    assert script.INPUT == SAMPLES / "input"
    out = tmp_path / "samples"
    out.mkdir()
    monkeypatch.setattr(script, "SAMPLES", out)
    script.main()
    assert "samples in" in capsys.readouterr().out
    for entry in ENTRIES:
        name = entry["text_file"]
        assert (out / name).read_bytes() == (SAMPLES / name).read_bytes(), name
    assert (out / "manifest.json").read_bytes() == (SAMPLES / "manifest.json").read_bytes()
    written = {p.name for p in out.iterdir()}
    assert written == {p.name for p in SAMPLES.iterdir() if p.is_file()}
    # And it is deterministic: a second run writes the same bytes again.
    first = {p.name: p.read_bytes() for p in out.iterdir()}
    script.main()
    assert {p.name: p.read_bytes() for p in out.iterdir()} == first
