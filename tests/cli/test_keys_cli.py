"""``quarantine keys generate|list`` and loading keys back."""

from __future__ import annotations

import hashlib
import json
import stat
from pathlib import Path
from typing import Any

import pytest
import typer
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from typer.testing import CliRunner, Result

from quarantine import keystore
from quarantine.core.keys import ALG_ES256
from quarantine.errors import EnvironmentProblem

PASSPHRASE = "correct horse battery staple"


@pytest.fixture(scope="session")
def cli_app() -> typer.Typer:
    from quarantine.cli import _register_all, app

    if not app.registered_commands:
        _register_all()
    return app


@pytest.fixture(autouse=True)
def keys_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("QUARANTINE_KEY_PASSPHRASE", "QUARANTINE_CLOCK_SKEW_SECONDS"):
        monkeypatch.delenv(name, raising=False)
    folder = tmp_path / "keys"
    monkeypatch.setenv("QUARANTINE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("QUARANTINE_KEYS_DIR", str(folder))
    monkeypatch.chdir(tmp_path)
    return folder


def run(app: typer.Typer, *args: str) -> Result:
    result = CliRunner().invoke(app, ["keys", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"uncaught {result.exception!r}"
    )
    assert "Traceback" not in result.output
    return result


def only(folder: Path, pattern: str) -> Path:
    (path,) = folder.glob(pattern)
    return path


def test_generate_without_passphrase_refuses(cli_app: typer.Typer, keys_dir: Path) -> None:
    result = run(cli_app, "generate", "--region", "310000")
    assert result.exit_code == 2
    assert "PASSPHRASE_REQUIRED" in result.stderr
    assert not keys_dir.exists() or not any(keys_dir.iterdir())


def test_generate_encrypted(
    cli_app: typer.Typer, keys_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QUARANTINE_KEY_PASSPHRASE", PASSPHRASE)
    result = run(cli_app, "generate", "--region", "310000")
    assert result.exit_code == 0, result.output
    assert "(encrypted)" in result.stdout
    assert PASSPHRASE not in result.output
    private = only(keys_dir, "310000-*.key.pem")
    assert ".DEMO." not in private.name
    pem = private.read_bytes()
    assert pem.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    with pytest.raises(TypeError):  # no password: cannot be read
        serialization.load_pem_private_key(pem, password=None)
    key = serialization.load_pem_private_key(pem, password=PASSPHRASE.encode())
    assert isinstance(key, ed25519.Ed25519PrivateKey)

    public = only(keys_dir, "310000-*.pub.pem")
    spki = serialization.load_pem_public_key(public.read_bytes()).public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    kid = hashlib.sha256(spki).digest()[:8].hex()
    assert public.name == f"310000-{kid}.pub.pem"
    assert private.name == f"310000-{kid}.key.pem"
    assert f"kid {kid}" in result.stdout
    meta: dict[str, Any] = json.loads((keys_dir / f"310000-{kid}.json").read_text())
    assert meta["kid"] == kid
    assert meta["region"] == "310000"
    assert meta["alg"] == "EdDSA"
    assert meta["demo"] is False
    assert meta["not_after"] is None
    assert "private_key" not in meta

    # And it loads back with the passphrase.
    (info,) = keystore.list_keys(keys_dir)
    signer = keystore.load_signer(info, PASSPHRASE.encode())
    assert signer.kid.hex() == kid


def test_generate_demo_is_unencrypted(cli_app: typer.Typer, keys_dir: Path) -> None:
    result = run(cli_app, "generate", "--region", "320000", "--demo")
    assert result.exit_code == 0, result.output
    assert "DEMO" in result.stdout
    private = only(keys_dir, "320000-*.DEMO.key.pem")
    assert private.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert not list(keys_dir.glob("320000-*[!O].key.pem"))
    (info,) = keystore.list_keys(keys_dir)
    assert info.demo
    assert info.private_path == private
    assert keystore.load_signer(info, None).kid.hex() == info.kid


def test_generate_es256_with_window(cli_app: typer.Typer, keys_dir: Path) -> None:
    result = run(
        cli_app,
        "generate",
        "--region",
        "340000",
        "--alg",
        "ES256",
        "--demo",
        "--not-before",
        "2027-01-01T00:00:00+08:00",
        "--not-after",
        "2028-12-31T23:59:59+08:00",
    )
    assert result.exit_code == 0, result.output
    (info,) = keystore.list_keys(keys_dir)
    assert info.alg == "ES256"
    assert info.not_before.isoformat() == "2027-01-01T00:00:00+08:00"
    assert info.not_after is not None and info.not_after.year == 2028
    key = serialization.load_pem_private_key(
        only(keys_dir, "*.DEMO.key.pem").read_bytes(), password=None
    )
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    assert key.curve.name == "secp256r1"
    assert keystore.load_signer(info, None).alg == ALG_ES256


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["--region", "123456", "--demo"], "UNKNOWN_REGION"),
        (["--region", "999999", "--demo"], "UNKNOWN_REGION"),
        (["--region", "310000", "--demo", "--alg", "RS256"], "ALG_UNSUPPORTED"),
        (["--region", "310000", "--demo", "--not-before", "soon"], "BAD_TIME"),
        (
            [
                "--region",
                "310000",
                "--demo",
                "--not-before",
                "2027-01-01T00:00:00+08:00",
                "--not-after",
                "2026-01-01T00:00:00+08:00",
            ],
            "BAD_WINDOW",
        ),
    ],
)
def test_generate_rejects(cli_app: typer.Typer, keys_dir: Path, args: list[str], code: str) -> None:
    result = run(cli_app, "generate", *args)
    assert result.exit_code == 2
    assert code in result.stderr
    assert not keys_dir.exists() or not any(keys_dir.iterdir())


def test_generate_into_out_folder(cli_app: typer.Typer, tmp_path: Path, keys_dir: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    result = run(cli_app, "generate", "--region", "330109", "--demo", "--out", str(elsewhere))
    assert result.exit_code == 0, result.output
    assert len(list(elsewhere.glob("330109-*"))) == 3
    assert not keys_dir.exists()


def test_list_human_and_json(
    cli_app: typer.Typer, keys_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = run(cli_app, "list")
    assert empty.exit_code == 0
    assert "no keys" in empty.stdout
    assert run(cli_app, "list", "--json").stdout == ""

    assert run(cli_app, "generate", "--region", "320000", "--demo").exit_code == 0
    monkeypatch.setenv("QUARANTINE_KEY_PASSPHRASE", PASSPHRASE)
    assert run(cli_app, "generate", "--region", "310000", "--alg", "ES256").exit_code == 0

    human = run(cli_app, "list")
    assert human.exit_code == 0
    rows = human.stdout.splitlines()
    assert rows[0].split() == ["region", "kid", "alg", "not_before", "not_after", "private"]
    assert rows[1].split()[0] == "310000"
    assert rows[1].split()[2] == "ES256"
    assert rows[1].split()[-1] == "yes"
    assert rows[2].split()[0] == "320000"
    assert rows[2].split()[-1] == "DEMO"

    lines = [json.loads(ln) for ln in run(cli_app, "list", "--json").stdout.splitlines()]
    assert [(ln["region"], ln["alg"], ln["demo"]) for ln in lines] == [
        ("310000", "ES256", False),
        ("320000", "EdDSA", True),
    ]
    for line in lines:
        assert set(line) == {
            "region",
            "kid",
            "alg",
            "not_before",
            "not_after",
            "demo",
            "private_key",
            "public_key",
        }
        assert Path(line["public_key"]).exists()
        assert Path(line["private_key"]).exists()
        assert line["kid"] in line["public_key"]


def test_list_other_folder(cli_app: typer.Typer) -> None:
    demo = Path(__file__).resolve().parents[2] / "keys" / "demo"
    result = run(cli_app, "list", "--json", "--dir", str(demo))
    assert result.exit_code == 0
    kids = {json.loads(ln)["kid"] for ln in result.stdout.splitlines()}
    assert kids == set(json.loads((demo / "labels.json").read_text()).values())


def test_list_broken_metadata_is_a_clean_error(cli_app: typer.Typer, keys_dir: Path) -> None:
    keys_dir.mkdir()
    (keys_dir / "310000-0011223344556677.json").write_text('{"region": "310000"}')
    result = run(cli_app, "list")
    assert result.exit_code == 2
    assert "KEY_METADATA_INVALID" in result.stderr


def test_bad_setting_is_a_clean_error(
    cli_app: typer.Typer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bad QUARANTINE_* variable gives exit 2 and a message, not a traceback."""
    monkeypatch.setenv("QUARANTINE_CLOCK_SKEW_SECONDS", "abc")
    for args in (["list"], ["generate", "--region", "310000", "--demo"]):
        result = run(cli_app, *args)
        assert result.exit_code == 2
        assert "BAD_SETTING" in result.stderr


def test_wrong_passphrase_is_an_environment_problem(
    cli_app: typer.Typer, keys_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QUARANTINE_KEY_PASSPHRASE", PASSPHRASE)
    assert run(cli_app, "generate", "--region", "310000").exit_code == 0
    (info,) = keystore.list_keys(keys_dir)
    with pytest.raises(EnvironmentProblem) as wrong:
        keystore.load_signer(info, b"wrong passphrase")
    assert wrong.value.code == "KEY_MALFORMED"
    assert wrong.value.message_zh and wrong.value.message_en
    with pytest.raises(EnvironmentProblem) as missing:
        keystore.load_signer(info, None)
    assert missing.value.code == "KEY_MALFORMED"
