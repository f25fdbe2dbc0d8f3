"""``quarantine verify`` and ``quarantine show``: JSON Lines, inputs, exit codes, hostile input."""

from __future__ import annotations

import io
import json
import shutil
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
import typer
from PIL import Image
from typer.testing import CliRunner, Result

from quarantine.core.keys import Signer
from quarantine.core.model import CHINA_TZ
from quarantine.core.trust import Member, TrustedKey, TrustList, sign_trust_list

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "samples"
NOW = "2026-12-01T10:00:00+08:00"
ENV_VARS = (
    "QUARANTINE_KEY_PASSPHRASE",
    "QUARANTINE_TRUST_LIST",
    "QUARANTINE_TRUST_ANCHOR",
    "QUARANTINE_CLOCK_SKEW_SECONDS",
    "QUARANTINE_BASE_URL",
    "QUARANTINE_REGION",
)


@pytest.fixture(scope="session")
def cli_app() -> typer.Typer:
    from quarantine.cli import _register_all, app

    if not app.registered_commands:
        _register_all()
    return app


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Keep every test away from the user's data, keys and settings."""
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("QUARANTINE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("QUARANTINE_KEYS_DIR", str(tmp_path / "keys"))
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


def run(app: typer.Typer, *args: str, stdin: str | bytes | None = None) -> Result:
    """Invoke the CLI; fail on any exception other than a clean exit."""
    result = CliRunner().invoke(app, list(args), input=stdin)
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"uncaught {result.exception!r}"
    )
    assert "Traceback" not in result.output
    return result


def json_lines(result: Result) -> list[dict[str, Any]]:
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def sample(name: str) -> str:
    return str(SAMPLES / name)


# --------------------------------------------------------------------------- schema


def test_json_lines_schema_one_line_per_input(cli_app: typer.Typer) -> None:
    names = ["valid-transport-inter.txt", "tampered.txt", "not-a-certificate.txt"]
    result = run(cli_app, "verify", "--json", "--now", NOW, *map(sample, names))
    assert result.exit_code == 1
    lines = json_lines(result)
    assert len(lines) == 3
    for line, name in zip(lines, names, strict=True):
        assert line["input"] == sample(name)
        assert set(line) >= {"input", "verdict", "reasons", "certificate", "messages"}
        assert line["verdict"] in {"VALID", "INVALID", "NOT_A_CERTIFICATE"}
        assert isinstance(line["reasons"], list)
        assert all(isinstance(code, str) for code in line["reasons"])
        assert line["certificate"] is None or isinstance(line["certificate"], dict)
        assert [m["code"] for m in line["messages"]] == line["reasons"]
        for message in line["messages"]:
            assert message["zh"] and message["en"]
            assert message["severity"] in {"error", "warning", "info"}
        assert line["checked_at"] == NOW
        assert "image" not in line
    valid, tampered, other = lines
    assert valid["verdict"] == "VALID"
    assert valid["certificate"]["number"] == "330109-2026-004871"
    assert valid["issuer"] == {"region": "330109", "name": "杭州市萧山区林业植物检疫站"}
    assert valid["key"] == {"kid": "3597f9f4879f0ec7", "alg": "EdDSA"}
    assert valid["host"] == {"host": "127.0.0.1:8000", "known": True}
    assert valid["trust_list"]["version"] == 1
    assert tampered["verdict"] == "INVALID"
    assert tampered["reasons"] == ["BAD_SIGNATURE"]
    assert tampered["certificate"] is None
    assert other["verdict"] == "NOT_A_CERTIFICATE"
    assert other["certificate"] is None


def test_image_line_carries_image_details(cli_app: typer.Typer) -> None:
    result = run(cli_app, "verify", "--json", "--now", NOW, sample("valid-project.png"))
    assert result.exit_code == 0
    (line,) = json_lines(result)
    assert line["verdict"] == "VALID"
    assert line["image"]["index"] == 0
    assert isinstance(line["image"]["stage"], str)
    assert len(line["image"]["position"]) == 4


def test_error_lines_share_the_schema(cli_app: typer.Typer) -> None:
    """A line for an input that could not be read still has every documented field."""
    result = run(cli_app, "verify", "--json", "nosuch.png")
    assert result.exit_code == 2
    (line,) = json_lines(result)
    assert line["input"] == "nosuch.png"
    assert line["verdict"] is None
    assert line["reasons"] == ["FILE_NOT_FOUND"]
    assert line["certificate"] is None
    assert line["error"]["code"] == "FILE_NOT_FOUND"
    assert line["error"]["zh"] and line["error"]["en"]
    # Documented schema: every line has ``messages`` with zh/en (bug: error lines lack it).
    assert [m["code"] for m in line["messages"]] == ["FILE_NOT_FOUND"]
    assert line["messages"][0]["zh"] and line["messages"][0]["en"]


# --------------------------------------------------------------------------- inputs


def test_several_inputs_text_argument_and_file(cli_app: typer.Typer) -> None:
    text = (SAMPLES / "valid-requirement.txt").read_text("ascii").strip()
    result = run(
        cli_app, "verify", "--json", "--now", NOW, text, sample("valid-transport-intra.txt")
    )
    assert result.exit_code == 0
    lines = json_lines(result)
    assert [ln["verdict"] for ln in lines] == ["VALID", "VALID"]
    assert lines[0]["input"].endswith("…")
    assert len(lines[0]["input"]) == 81
    assert lines[0]["certificate"]["kind"] == "REQUIREMENT"


def test_folder_walks_text_and_images(cli_app: typer.Typer, tmp_path: Path) -> None:
    folder = tmp_path / "scans"
    (folder / "sub").mkdir(parents=True)
    shutil.copy(SAMPLES / "valid-transport-inter.txt", folder / "a.txt")
    shutil.copy(SAMPLES / "valid-producing-area.png", folder / "sub" / "b.png")
    shutil.copy(SAMPLES / "expired.txt", folder / "sub" / "c.qr")
    (folder / "notes.json").write_text('{"ignored": true}')
    (folder / "readme.md").write_text("ignored")
    result = run(cli_app, "verify", "--json", "--now", NOW, str(folder))
    lines = json_lines(result)
    assert [Path(ln["input"]).relative_to(folder).as_posix() for ln in lines] == [
        "a.txt",
        "sub/b.png",
        "sub/c.qr",
    ]
    assert [ln["verdict"] for ln in lines] == ["VALID", "VALID", "INVALID"]
    assert "image" in lines[1]
    assert result.exit_code == 1


def test_text_file_with_several_lines(cli_app: typer.Typer, tmp_path: Path) -> None:
    both = tmp_path / "both.txt"
    both.write_text(
        (SAMPLES / "valid-transport-inter.txt").read_text()
        + "\n"
        + (SAMPLES / "valid-transport-intra.txt").read_text()
    )
    result = run(cli_app, "verify", "--json", "--now", NOW, str(both))
    assert result.exit_code == 0
    assert [ln["input"] for ln in json_lines(result)] == [f"{both}:1", f"{both}:3"]


def test_stdin(cli_app: typer.Typer) -> None:
    stdin = (
        (SAMPLES / "valid-transport-es256.txt").read_text()
        + "   \n"
        + (SAMPLES / "unknown-key.txt").read_text()
    )
    result = run(cli_app, "verify", "--json", "--now", NOW, "-", stdin=stdin)
    assert result.exit_code == 1
    lines = json_lines(result)
    assert [ln["input"] for ln in lines] == ["-:1", "-:3"]
    assert [ln["verdict"] for ln in lines] == ["VALID", "INVALID"]
    assert lines[0]["key"]["alg"] == "ES256"
    assert lines[1]["reasons"] == ["UNKNOWN_KEY"]


# --------------------------------------------------------------------------- exit codes


@pytest.mark.parametrize(
    ("names", "code"),
    [
        (["valid-transport-inter.txt", "valid-project.png"], 0),
        (["valid-transport-inter.txt", "expired.txt"], 1),
        (["not-a-certificate.txt"], 1),
        (["not-a-certificate.png"], 1),
        (["tampered.txt", "valid-requirement.txt"], 1),
    ],
)
def test_exit_codes_for_verdicts(cli_app: typer.Typer, names: list[str], code: int) -> None:
    result = run(cli_app, "verify", "--now", NOW, *map(sample, names))
    assert result.exit_code == code


def test_image_without_code_exits_1(cli_app: typer.Typer, tmp_path: Path) -> None:
    blank = tmp_path / "blank.png"
    Image.new("L", (320, 240), 230).save(blank)
    result = run(cli_app, "verify", "--json", str(blank))
    assert result.exit_code == 1
    (line,) = json_lines(result)
    assert line["reasons"] == ["NO_CODE_FOUND"]
    assert line["verdict"] is None


def test_missing_file_exits_2(cli_app: typer.Typer) -> None:
    result = run(cli_app, "verify", "--now", NOW, sample("valid-project.txt"), "nosuch.png")
    assert result.exit_code == 2
    assert "FILE_NOT_FOUND" in result.stdout


@pytest.mark.parametrize("bad", ["yesterday", "2026-12-01T10:00:00", "2026-13-01T00:00+08:00"])
def test_bad_now_exits_2(cli_app: typer.Typer, bad: str) -> None:
    result = run(cli_app, "verify", "--now", bad, sample("valid-project.txt"))
    assert result.exit_code == 2
    assert "BAD_TIME" in result.stderr
    assert result.stdout == ""


def test_unreadable_or_forged_trust_file_exits_2(cli_app: typer.Typer, tmp_path: Path) -> None:
    missing = run(cli_app, "verify", "--trust", str(tmp_path / "none.cose"), sample("expired.txt"))
    assert missing.exit_code == 2
    assert "TRUST_FILE_UNREADABLE" in missing.stderr
    garbage = tmp_path / "garbage.cose"
    garbage.write_bytes(b"\x00not cbor at all" * 10)
    result = run(cli_app, "verify", "--trust", str(garbage), sample("expired.txt"))
    assert result.exit_code == 2
    assert "error" in result.stderr
    bad_anchor = tmp_path / "anchor.pem"
    bad_anchor.write_text("no key here")
    result = run(cli_app, "verify", "--anchor", str(bad_anchor), sample("expired.txt"))
    assert result.exit_code == 2
    assert "TRUST_ANCHOR_INVALID" in result.stderr


def test_bad_skew_setting_exits_2(cli_app: typer.Typer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUARANTINE_CLOCK_SKEW_SECONDS", "five minutes")
    result = run(cli_app, "verify", sample("expired.txt"))
    assert result.exit_code == 2
    assert "BAD_SETTING" in result.stderr


# --------------------------------------------------------------------------- trust, skew


def _other_federation(folder: Path) -> tuple[Path, Path]:
    """A one-member federation with fresh keys: the demo samples are unknown there."""
    root = Signer.generate()
    member_key = Signer.generate()
    start = datetime(2024, 1, 1, tzinfo=CHINA_TZ)
    trust = TrustList(
        version=7,
        issued_at=datetime(2026, 11, 1, tzinfo=CHINA_TZ),
        expires_at=datetime(2028, 12, 31, tzinfo=CHINA_TZ),
        members=(
            Member(
                "330000",
                "浙江测试",
                "Zhejiang test",
                date(2024, 1, 1),
                hosts=("127.0.0.1:8000",),
                agencies={"330000": "浙江测试"},
            ),
        ),
        keys=(TrustedKey("330000", member_key.public, start, None),),
    )
    trust_path = folder / "other-trust.cose"
    anchor_path = folder / "other-root.pub.pem"
    trust_path.write_bytes(sign_trust_list(trust, root))
    anchor_path.write_bytes(root.public.to_pem())
    return trust_path, anchor_path


def test_other_federation_makes_demo_samples_unknown(
    cli_app: typer.Typer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    trust_path, anchor_path = _other_federation(tmp_path)
    args = ["--trust", str(trust_path), "--anchor", str(anchor_path)]
    result = run(
        cli_app, "verify", "--json", "--now", NOW, *args, sample("valid-transport-inter.txt")
    )
    assert result.exit_code == 1
    (line,) = json_lines(result)
    assert line["verdict"] == "INVALID"
    assert line["reasons"] == ["UNKNOWN_KEY"]
    assert line["trust_list"]["version"] == 7
    # The same through the environment.
    monkeypatch.setenv("QUARANTINE_TRUST_LIST", str(trust_path))
    monkeypatch.setenv("QUARANTINE_TRUST_ANCHOR", str(anchor_path))
    result = run(cli_app, "verify", "--json", "--now", NOW, sample("valid-project.txt"))
    assert json_lines(result)[0]["reasons"] == ["UNKNOWN_KEY"]
    # The demo trust list with the other anchor is refused as a whole.
    monkeypatch.delenv("QUARANTINE_TRUST_LIST")
    result = run(cli_app, "verify", "--now", NOW, sample("valid-project.txt"))
    assert result.exit_code == 2
    assert "TRUST_LIST_SIGNATURE" in result.stderr


def test_skew(cli_app: typer.Typer, monkeypatch: pytest.MonkeyPatch) -> None:
    # expired.txt is valid to 2026-11-30, i.e. until 2026-12-01T00:00+08:00.
    just_after = "2026-12-01T00:03:00+08:00"
    base = ["verify", "--json", "--now", just_after, sample("expired.txt")]
    lenient = json_lines(run(cli_app, *base, "--skew", "300"))[0]
    assert lenient["verdict"] == "VALID"
    strict = json_lines(run(cli_app, *base, "--skew", "0"))[0]
    assert strict["verdict"] == "INVALID"
    assert "EXPIRED" in strict["reasons"]
    assert json_lines(run(cli_app, *base))[0]["verdict"] == "VALID"  # default 300 s
    monkeypatch.setenv("QUARANTINE_CLOCK_SKEW_SECONDS", "60")
    assert json_lines(run(cli_app, *base))[0]["verdict"] == "INVALID"
    assert json_lines(run(cli_app, *base, "--skew", "600"))[0]["verdict"] == "VALID"


# --------------------------------------------------------------------------- human output


def test_human_output_is_bilingual(cli_app: typer.Typer) -> None:
    result = run(
        cli_app,
        "verify",
        "--now",
        NOW,
        sample("valid-transport-inter.txt"),
        sample("expired.txt"),
        sample("not-a-certificate.txt"),
    )
    out = result.stdout
    for words in ("有效", "VALID", "无效", "INVALID", "不是证书", "NOT A CERTIFICATE"):
        assert words in out
    assert "330109-2026-004871" in out
    assert "香樟" in out
    assert "[EXPIRED]" in out
    assert "证书已过有效期" in out
    assert "The certificate has expired" in out
    assert "路线 Route" in out


def test_human_output_for_an_image(cli_app: typer.Typer) -> None:
    result = run(cli_app, "verify", "--now", NOW, sample("tampered.png"))
    assert result.exit_code == 1
    assert "BAD_SIGNATURE" in result.stdout
    assert "图像 image" in result.stdout


# --------------------------------------------------------------------------- hostile input


def _png_bytes() -> bytes:
    buf = io.BytesIO()
    Image.new("L", (64, 64), 255).save(buf, "PNG")
    return buf.getvalue()


def _hostile(tmp_path: Path) -> dict[str, list[str]]:
    folder = tmp_path / "hostile"
    folder.mkdir()
    non_utf8 = folder / "latin1.txt"
    non_utf8.write_bytes("Grüße \xff".encode("latin-1") + b"\xfe\xff")
    zero_dir = folder / "zero"
    zero_dir.mkdir()
    (zero_dir / "empty.png").write_bytes(b"")
    truncated = folder / "truncated.png"
    truncated.write_bytes((SAMPLES / "valid-project.png").read_bytes()[:200])
    header_only = folder / "header.png"
    header_only.write_bytes(_png_bytes()[:40])
    big = folder / "big.txt"
    big.write_text("1" * (1024 * 1024))
    whitespace = folder / "blank.txt"
    whitespace.write_text("\n \n\t\n")
    valid_digits = (SAMPLES / "valid-project.txt").read_text().strip()
    return {
        "empty string": [""],
        "blank": ["   "],
        "10 kB of digits": ["7" * 10_000],
        "300 digits (long file name)": ["4" * 300],
        "long URL": ["HTTP://X/C/" + "9" * 7000],
        "huge URL": ["HTTP://X/C/" + "9" * 20_000],
        "non-UTF-8 file": [str(non_utf8)],
        "dir with a 0-byte png": [str(zero_dir)],
        "0-byte png": [str(zero_dir / "empty.png")],
        "truncated png": [str(truncated)],
        "png header only": [str(header_only)],
        "1 MB text file": [str(big)],
        "whitespace file": [str(whitespace)],
        "/C/ wrong length": ["/C/" + "1" * 18],
        "URL wrong length": ["HTTP://127.0.0.1:8000/C/" + "1" * 18],
        "truncated payload": [valid_digits[:-5]],
        "payload with extra digits": [valid_digits + "00000"],
        "arabic-indic digits": ["١٢٣"],
        "URL with arabic-indic digits": ["HTTP://127.0.0.1:8000/C/" + "١٢٣٤٥٦٧٨٩٠" * 3],
        "fullwidth digits": ["HTTP://127.0.0.1:8000/C/" + "１２３４５６７８９０" * 3],
        "control characters": ["HTTP://X/C/\x1b[2J123"],
        "only a marker": ["HTTPS://EXAMPLE.COM/C/"],
        "path traversal": ["../../../../etc/shadow.png"],
    }


HOSTILE_CASES = [
    "empty string",
    "blank",
    "10 kB of digits",
    "300 digits (long file name)",
    "long URL",
    "huge URL",
    "non-UTF-8 file",
    "dir with a 0-byte png",
    "0-byte png",
    "truncated png",
    "png header only",
    "1 MB text file",
    "whitespace file",
    "/C/ wrong length",
    "URL wrong length",
    "truncated payload",
    "payload with extra digits",
    "arabic-indic digits",
    "URL with arabic-indic digits",
    "fullwidth digits",
    "control characters",
    "only a marker",
    "path traversal",
]


def test_hostile_case_list_is_complete(tmp_path: Path) -> None:
    assert list(_hostile(tmp_path)) == HOSTILE_CASES


@pytest.mark.parametrize("case", HOSTILE_CASES)
@pytest.mark.parametrize("json_flag", [[], ["--json"]], ids=["human", "json"])
def test_hostile_input_never_crashes(
    cli_app: typer.Typer, tmp_path: Path, case: str, json_flag: list[str]
) -> None:
    args = _hostile(tmp_path)[case]
    result = CliRunner().invoke(cli_app, ["verify", *json_flag, *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"uncaught {result.exception!r}"
    )
    assert "Traceback" not in result.output
    assert result.exit_code in {1, 2}
    assert result.stdout.strip(), "every input gets an answer"


@pytest.mark.parametrize(
    "stdin",
    [b"\xff\xfe\x00garbage\n", b"HTTP://X/C/\x00123\n", "١٢٣\n".encode(), b"\n\n"],
    ids=["non-utf8", "nul", "arabic-indic", "blank-lines"],
)
def test_hostile_stdin(cli_app: typer.Typer, stdin: bytes) -> None:
    result = CliRunner().invoke(cli_app, ["verify", "-"], input=stdin)
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"uncaught {result.exception!r}"
    )
    assert result.exit_code in {1, 2}


def test_empty_folder_is_not_success(cli_app: typer.Typer, tmp_path: Path) -> None:
    """A folder with nothing to verify verified nothing: that is not exit 0."""
    empty = tmp_path / "empty"
    empty.mkdir()
    result = run(cli_app, "verify", str(empty))
    assert result.exit_code in {1, 2}


# --------------------------------------------------------------------------- show


def test_show_prints_tampered_content_unverified(cli_app: typer.Typer) -> None:
    result = run(cli_app, "show", sample("tampered.txt"))
    assert result.exit_code == 0
    assert "signature NOT verified" in result.stdout
    assert "未核验签名" in result.stdout
    body = json.loads(result.stdout[result.stdout.index("{") :])
    assert body["signature"] == {"alg": "EdDSA", "kid": "3597f9f4879f0ec7"}
    cert = body["certificate"]
    assert cert["number"] == "330109-2026-004871"
    assert cert["items"][0]["quantity"] == 1200  # the forged quantity (120 x 10)


def test_show_image(cli_app: typer.Typer) -> None:
    result = run(cli_app, "show", sample("valid-transport-es256.png"))
    assert result.exit_code == 0
    body = json.loads(result.stdout[result.stdout.index("{") :])
    assert body["signature"]["alg"] == "ES256"


@pytest.mark.parametrize(
    "arg", ["https://example.com/hello", "HTTP://127.0.0.1:8000/C/" + "1" * 18, "١٢٣"]
)
def test_show_non_certificate_exits_1(cli_app: typer.Typer, arg: str) -> None:
    result = run(cli_app, "show", arg)
    assert result.exit_code == 1
    assert "✘" in result.stdout


def test_show_missing_file_exits_2(cli_app: typer.Typer) -> None:
    result = run(cli_app, "show", "nosuch.png")
    assert result.exit_code == 2
    assert "FILE_NOT_FOUND" in result.stdout
