"""``quarantine issue``: signed outputs, certificate numbers, refusals that write nothing."""

from __future__ import annotations

import json
import shutil
import stat
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml
import zxingcpp
from PIL import Image
from typer.testing import CliRunner, Result

from quarantine import trustfile
from quarantine.core.codec import full_record
from quarantine.core.document import to_document
from quarantine.core.model import CHINA_TZ, CertificateNumber
from quarantine.core.verify import Verdict, decode_unverified, verify_text
from quarantine.reference import region_table
from quarantine.settings import Settings

REPO = Path(__file__).resolve().parents[2]
INPUT = REPO / "samples" / "input"
DEMO_KEYS = REPO / "keys" / "demo"
NOW = "2026-12-01T10:00:00+08:00"
AT = datetime(2026, 12, 1, 10, 0, tzinfo=CHINA_TZ)
AGENT_ID = "330181198605123456"
SUFFIXES = (".txt", ".qr.png", ".qr.svg", ".html", ".png", ".record.json")


@pytest.fixture(scope="session")
def cli_app() -> typer.Typer:
    from quarantine.cli import _register_all, app

    if not app.registered_commands:
        _register_all()
    return app


@pytest.fixture(autouse=True)
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """Demo keys copied to a temporary key folder, a temporary data folder."""
    for name in (
        "QUARANTINE_KEY_PASSPHRASE",
        "QUARANTINE_CLOCK_SKEW_SECONDS",
        "QUARANTINE_BASE_URL",
        "QUARANTINE_TRUST_LIST",
        "QUARANTINE_TRUST_ANCHOR",
    ):
        monkeypatch.delenv(name, raising=False)
    keys = tmp_path / "keys"
    shutil.copytree(DEMO_KEYS, keys)
    data = tmp_path / "data"
    monkeypatch.setenv("QUARANTINE_DATA_DIR", str(data))
    monkeypatch.setenv("QUARANTINE_KEYS_DIR", str(keys))
    monkeypatch.chdir(tmp_path)
    return {"keys": keys, "data": data, "out": tmp_path / "out"}


def run(app: typer.Typer, *args: str) -> Result:
    result = CliRunner().invoke(app, ["issue", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"uncaught {result.exception!r}"
    )
    assert "Traceback" not in result.output
    return result


def doc(name: str = "transport-inter", **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((INPUT / f"{name}.json").read_text("utf-8"))
    body.update(changes)
    return body


def write(path: Path, body: dict[str, Any]) -> Path:
    path.write_text(json.dumps(body, ensure_ascii=False), "utf-8")
    return path


def numberless(tmp_path: Path, **changes: Any) -> Path:
    body = doc(**changes)
    del body["number"]
    return write(tmp_path / "numberless.json", body)


def assert_nothing_consumed(data: Path) -> None:
    """The registry's counter did not move and the input's own number is still free.

    Checked inside a transaction that is rolled back, so the check consumes nothing.
    """
    from quarantine.storage import db
    from quarantine.storage.counters import NumberCounter

    if not (data / db.SQLITE_FILENAME).exists():
        return  # no registry was even created: nothing can have been consumed
    engine = db.make_engine(db.database_url(Settings(data_dir=data)))
    try:
        with db.session_factory(engine)() as session:
            counter = NumberCounter(session)
            assert str(counter.allocate("330109", 2026, AT)) == "330109-2026-000001"
            counter.claim(CertificateNumber.parse("330109-2026-004871"), AT)  # NumberInUse if taken
            session.rollback()
    finally:
        engine.dispose()


def files_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_issue_writes_every_output(
    cli_app: typer.Typer, env: dict[str, Path], tmp_path: Path
) -> None:
    out = env["out"]
    result = run(
        cli_app,
        str(INPUT / "transport-inter.json"),
        "--out",
        str(out),
        "--keys",
        str(env["keys"]),
        "--now",
        NOW,
    )
    assert result.exit_code == 0, result.output
    stem = "330109-2026-004871"
    assert files_in(out) == sorted(stem + s for s in SUFFIXES)
    assert "3597f9f4879f0ec7" in result.stdout  # the Zhejiang demo key
    record_path = out / f"{stem}.record.json"
    assert stat.S_IMODE(record_path.stat().st_mode) == 0o600
    assert not list(out.glob(".*.tmp"))

    text = (out / f"{stem}.txt").read_text("ascii")
    assert text.endswith("\n")
    text = text.strip()
    report = verify_text(text, trust=trustfile.load(None, None), now=AT)
    assert report.verdict is Verdict.VALID, report.codes
    assert report.codes == ("STATUS_UNCHECKED",)
    assert report.certificate is not None
    assert str(report.certificate.number) == stem
    assert text.startswith("HTTP://127.0.0.1:8000/")

    with Image.open(out / f"{stem}.qr.png") as im:
        assert [c.text for c in zxingcpp.read_barcodes(im.convert("L"))] == [text]
    assert (out / f"{stem}.qr.svg").read_text("utf-8").lstrip().startswith(("<?xml", "<svg"))
    assert "330109-2026-004871" in (out / f"{stem}.html").read_text("utf-8")
    assert (out / f"{stem}.png").read_bytes().startswith(b"\x89PNG")

    # The record keeps the agent's full ID; the QR does not carry it.
    record: dict[str, Any] = json.loads(record_path.read_text("utf-8"))
    assert record["agent"]["id_number"] == AGENT_ID
    assert record["number"] == stem
    cert, _msg = decode_unverified(text)
    assert cert.agent is None or cert.agent.id_number in ("", None)
    shown = json.dumps(to_document(cert), ensure_ascii=False)
    assert AGENT_ID not in shown
    assert AGENT_ID not in text
    assert full_record(cert).get("agent", {}).get("id_number") != AGENT_ID


def test_same_number_twice_is_refused(cli_app: typer.Typer, env: dict[str, Path]) -> None:
    source = str(INPUT / "transport-inter.json")
    assert run(cli_app, source, "--out", str(env["out"])).exit_code == 0
    second = env["out"].parent / "second"
    result = run(cli_app, source, "--out", str(second))
    assert result.exit_code == 2
    assert "NUMBER_IN_USE" in result.stderr
    assert not second.exists()
    # Even into the same folder nothing is replaced.
    before = {p.name: p.read_bytes() for p in env["out"].iterdir()}
    again = run(cli_app, source, "--out", str(env["out"]))
    assert again.exit_code == 2
    assert {p.name: p.read_bytes() for p in env["out"].iterdir()} == before


def test_numbers_are_allocated_and_never_reused(
    cli_app: typer.Typer, env: dict[str, Path], tmp_path: Path
) -> None:
    source = numberless(tmp_path)
    first = run(cli_app, str(source), "--out", str(env["out"]))
    assert first.exit_code == 0, first.output
    assert "330109-2026-000001" in first.stdout
    second = run(cli_app, str(source), "--out", str(env["out"]))
    assert second.exit_code == 0, second.output
    assert "330109-2026-000002" in second.stdout
    assert files_in(env["out"]) == sorted(
        f"330109-2026-00000{n}{s}" for n in (1, 2) for s in SUFFIXES
    )
    # A caller-chosen number ahead of the counter moves the counter past it.
    chosen = write(tmp_path / "chosen.json", doc(number="330109-2026-000003"))
    assert run(cli_app, str(chosen), "--out", str(env["out"])).exit_code == 0
    third = run(cli_app, str(source), "--out", str(env["out"]))
    assert "330109-2026-000004" in third.stdout
    # A number handed out automatically cannot be claimed again.
    taken = write(tmp_path / "taken.json", doc(number="330109-2026-000002"))
    refused = run(cli_app, str(taken), "--out", str(tmp_path / "refused"))
    assert refused.exit_code == 2
    assert "NUMBER_IN_USE" in refused.stderr
    assert not (tmp_path / "refused").exists()


def test_yaml_input(cli_app: typer.Typer, env: dict[str, Path], tmp_path: Path) -> None:
    body = doc("transport-intra")
    source = tmp_path / "intra.yaml"
    source.write_text(yaml.safe_dump(body, allow_unicode=True), "utf-8")
    result = run(cli_app, str(source), "--out", str(env["out"]), "--now", NOW)
    assert result.exit_code == 0, result.output
    stem = body["number"]
    text = (env["out"] / f"{stem}.txt").read_text("ascii").strip()
    report = verify_text(text, trust=trustfile.load(None, None), now=AT)
    assert report.verdict is Verdict.VALID, report.codes
    assert report.kid == "2e2bfb5aed7b273f"  # Shanghai's current demo key


def _invalid_docs() -> dict[str, tuple[dict[str, Any], str]]:
    regions = region_table()
    assert "330199" not in regions
    assert "999999" not in regions
    eleven = doc()
    eleven["items"] = (eleven["items"] * 4)[:11]
    zero = doc()
    zero["items"][0]["quantity"] = 0
    bad_district = doc()
    bad_district["issuing_agency"]["region"] = "330199"
    bad_region = doc()
    bad_region["issuing_agency"]["region"] = "999999"
    return {
        "eleven items": (eleven, "items"),
        "quantity 0": (zero, "items[0].quantity"),
        "unknown district": (bad_district, "issuing_agency.region"),
        "unknown province": (bad_region, "issuing_agency.region"),
    }


@pytest.mark.parametrize("case", list(_invalid_docs()))
@pytest.mark.parametrize("numbered", [False, True], ids=["numberless", "numbered"])
def test_invalid_input_writes_nothing_and_keeps_numbers(
    cli_app: typer.Typer, env: dict[str, Path], tmp_path: Path, case: str, numbered: bool
) -> None:
    body, field = _invalid_docs()[case]
    if not numbered:
        del body["number"]
    source = write(tmp_path / "bad.json", body)
    result = run(cli_app, str(source), "--out", str(env["out"]))
    assert result.exit_code == 2
    assert "CERTIFICATE_INVALID" in result.stderr, result.stderr
    assert field in result.stderr
    assert files_in(env["out"]) == []
    assert_nothing_consumed(env["data"])


@pytest.mark.parametrize(
    ("name", "content", "code"),
    [
        ("broken.json", '{"kind": ', "FILE_NOT_PARSEABLE"),
        ("list.json", "[1, 2]", "WRONG_TYPE"),
        ("broken.yaml", "a: [1, 2\n", "FILE_NOT_PARSEABLE"),
        ("latin1.json", "\udcff", "FILE_NOT_TEXT"),
        ("missing.json", "", "FILE_UNREADABLE"),
    ],
)
def test_unreadable_input(
    cli_app: typer.Typer, env: dict[str, Path], tmp_path: Path, name: str, content: str, code: str
) -> None:
    path = tmp_path / name
    if name == "latin1.json":
        path.write_bytes(b'{"a": "\xff"}')
    elif name != "missing.json":
        path.write_text(content, "utf-8")
    result = run(cli_app, str(path), "--out", str(env["out"]))
    assert result.exit_code == 2
    assert code in result.stderr
    assert files_in(env["out"]) == []


def test_region_without_key(cli_app: typer.Typer, env: dict[str, Path], tmp_path: Path) -> None:
    for path in env["keys"].glob("330000-*"):
        path.unlink()
    result = run(cli_app, str(numberless(tmp_path)), "--out", str(env["out"]))
    assert result.exit_code == 2
    assert "NO_SIGNING_KEY" in result.stderr
    assert files_in(env["out"]) == []
    assert_nothing_consumed(env["data"])


def test_key_not_covering_the_issue_time_consumes_no_number(
    cli_app: typer.Typer, env: dict[str, Path], tmp_path: Path
) -> None:
    """The Zhejiang key starts after the document's issued_at but before --now."""
    meta_path = env["keys"] / "330000-3597f9f4879f0ec7.json"
    meta = json.loads(meta_path.read_text())
    meta["not_before"] = "2026-11-30T00:00:00+08:00"
    meta_path.write_text(json.dumps(meta))
    source = numberless(tmp_path)  # issued_at 2026-11-28T09:30+08:00
    result = run(cli_app, str(source), "--out", str(env["out"]), "--now", NOW)
    assert result.exit_code == 2
    assert "NO_SIGNING_KEY" in result.stderr
    assert files_in(env["out"]) == []
    assert_nothing_consumed(env["data"])


def test_encrypted_key_needs_the_passphrase(
    cli_app: typer.Typer, env: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = tmp_path / "real-keys"
    monkeypatch.setenv("QUARANTINE_KEY_PASSPHRASE", "s3cret")
    made = CliRunner().invoke(
        cli_app,
        [
            "keys",
            "generate",
            "--region",
            "330000",
            "--out",
            str(keys),
            "--not-before",
            "2024-01-01T00:00:00+08:00",
        ],
    )
    assert made.exit_code == 0, made.output
    source = str(INPUT / "transport-inter.json")
    monkeypatch.setenv("QUARANTINE_KEY_PASSPHRASE", "wrong")
    wrong = run(cli_app, source, "--keys", str(keys), "--out", str(env["out"]))
    assert wrong.exit_code == 2
    assert "KEY_MALFORMED" in wrong.stderr
    assert files_in(env["out"]) == []


def test_base_url_option(cli_app: typer.Typer, env: dict[str, Path]) -> None:
    result = run(
        cli_app,
        str(INPUT / "requirement.json"),
        "--out",
        str(env["out"]),
        "--base-url",
        "https://yz.example.cn/q",
    )
    assert result.exit_code == 0, result.output
    (txt,) = env["out"].glob("*.txt")
    assert txt.read_text("ascii").startswith("HTTPS://YZ.EXAMPLE.CN/Q/C/")


def test_bad_now(cli_app: typer.Typer, env: dict[str, Path]) -> None:
    result = run(cli_app, str(INPUT / "transport-inter.json"), "--now", "tomorrow")
    assert result.exit_code == 2
    assert "BAD_TIME" in result.stderr
    assert files_in(Path("out")) == []


def test_wrong_passphrase_consumes_no_number(
    cli_app: typer.Typer, env: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A key that cannot be opened is a key problem: found before a number is used."""
    keys = tmp_path / "real-keys"
    monkeypatch.setenv("QUARANTINE_KEY_PASSPHRASE", "s3cret")
    made = CliRunner().invoke(
        cli_app,
        [
            "keys",
            "generate",
            "--region",
            "330000",
            "--out",
            str(keys),
            "--not-before",
            "2024-01-01T00:00:00+08:00",
        ],
    )
    assert made.exit_code == 0, made.output
    monkeypatch.setenv("QUARANTINE_KEY_PASSPHRASE", "wrong")
    result = run(cli_app, str(numberless(tmp_path)), "--keys", str(keys), "--out", str(env["out"]))
    assert result.exit_code == 2
    assert files_in(env["out"]) == []
    assert_nothing_consumed(env["data"])


def test_bad_setting_is_a_clean_error(
    cli_app: typer.Typer, env: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QUARANTINE_CLOCK_SKEW_SECONDS", "abc")
    result = run(cli_app, str(INPUT / "transport-inter.json"), "--out", str(env["out"]))
    assert result.exit_code == 2
    assert "BAD_SETTING" in result.stderr
    assert files_in(env["out"]) == []
