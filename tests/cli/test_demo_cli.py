"""``quarantine demo``: set up with ``--no-serve``, then the real server on a free loopback port."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx2
import pytest
import typer
from typer.testing import CliRunner, Result

from quarantine import keystore, trustfile
from quarantine.core.statuslist import VALUE_REVOKED, load_status_list
from quarantine.settings import Settings
from quarantine.storage import db
from quarantine.storage.certificates import CertificateStore, CertStatus
from quarantine.storage.tokens import TokenStore
from quarantine.web.registry import open_registry

REPO = Path(__file__).resolve().parents[2]
KINDS = {"TRANSPORT", "PRODUCING_AREA", "REQUIREMENT", "PROJECT"}
ENV_VARS = (
    "QUARANTINE_KEY_PASSPHRASE",
    "QUARANTINE_TRUST_LIST",
    "QUARANTINE_TRUST_ANCHOR",
    "QUARANTINE_BASE_URL",
    "QUARANTINE_DATABASE_URL",
    "QUARANTINE_KEYS_DIR",
)


@pytest.fixture(scope="session")
def cli_app() -> typer.Typer:
    from quarantine.cli import _register_all, app

    if not app.registered_commands:
        _register_all()
    return app


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("QUARANTINE_DATA_DIR", str(tmp_path / "default-data"))
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)  # keys/demo is then found through the repository
    return work


def run(app: typer.Typer, *args: str) -> Result:
    result = CliRunner().invoke(app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"uncaught {result.exception!r}"
    )
    return result


def manifest(data: Path) -> dict[str, Any]:
    out: dict[str, Any] = json.loads((data / "demo" / "demo.json").read_text("utf-8"))
    return out


def test_no_serve_sets_everything_up(cli_app: typer.Typer, tmp_path: Path) -> None:
    data = tmp_path / "data"
    result = run(cli_app, "demo", "--no-serve", "--data-dir", str(data))
    assert result.exit_code == 0, result.output
    out = result.stdout
    man = manifest(data)
    samples = man["samples"]
    assert {s["kind"] for s in samples} == KINDS
    assert {s["region"][:2] for s in samples} == {"31", "32", "33", "34"}
    first = next(s for s in samples if not s["revoked"])
    assert f"http://127.0.0.1:8000{first['path']}" in out
    assert "http://127.0.0.1:8000/docs" in out
    assert f"http://127.0.0.1:8000/api/v1/status-lists/{first['region']}/{first['year']}" in out
    assert str(data / "demo") in out
    for s in samples:
        for key in ("qr_png", "html", "text"):
            assert (data / "demo" / s[key]).stat().st_size > 100
        assert (data / "demo" / s["qr_png"]).read_bytes().startswith(b"\x89PNG")
    assert oct((data / "demo" / "demo.json").stat().st_mode & 0o777) == "0o600"
    # tokens are printed and work
    assert [(t["role"], t["region"]) for t in man["tokens"]] == [
        ("issuer", "310000"),
        ("issuer", "320000"),
        ("issuer", "330000"),
        ("issuer", "340000"),
        ("inspector", "310000"),
        ("admin", "310000"),
    ]
    for t in man["tokens"]:
        assert t["secret"] in out
    settings = Settings(data_dir=data)
    reg = open_registry(settings)
    try:
        with reg.session() as session:
            tokens = TokenStore(session)
            assert all(tokens.authenticate(t["secret"]) is not None for t in man["tokens"])
            store = CertificateStore(session)
            now = datetime.now(UTC)
            statuses = {s["name"]: store.status(s["number"], now) for s in samples}
    finally:
        reg.close()
    assert statuses.pop("revoked-transport-shanghai") is CertStatus.REVOKED
    assert set(statuses.values()) == {CertStatus.VALID}
    # the QR texts verify offline with the demo trust list
    text = (data / "demo" / first["text"]).read_text("ascii").strip()
    verified = run(cli_app, "verify", "--json", text)
    assert json.loads(verified.stdout)["verdict"] == "VALID"


def test_a_second_run_reuses_the_first(cli_app: typer.Typer, tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert run(cli_app, "demo", "--no-serve", "--data-dir", str(data)).exit_code == 0
    before = manifest(data)
    again = run(cli_app, "demo", "--no-serve", "--data-dir", str(data), "--port", "8123")
    assert again.exit_code == 0
    assert "reusing" in again.stdout
    assert manifest(data) == before
    assert "the QR codes point at http://127.0.0.1:8000" in again.stdout
    fresh = run(cli_app, "demo", "--no-serve", "--data-dir", str(data), "--fresh")
    assert fresh.exit_code == 0
    assert manifest(data)["tokens"] != before["tokens"]


def test_the_default_data_dir_is_the_settings(cli_app: typer.Typer, tmp_path: Path) -> None:
    assert run(cli_app, "demo", "--no-serve").exit_code == 0
    assert (tmp_path / "default-data" / "registry.sqlite3").is_file()
    assert (tmp_path / "default-data" / "demo" / "demo.json").is_file()


def test_a_registry_the_demo_did_not_create_is_left_alone(
    cli_app: typer.Typer, tmp_path: Path
) -> None:
    data = tmp_path / "real"
    data.mkdir()
    db.upgrade(db.database_url(Settings(data_dir=data)))
    before = (data / "registry.sqlite3").read_bytes()
    for extra in ([], ["--fresh"]):
        result = run(cli_app, "demo", "--no-serve", "--data-dir", str(data), *extra)
        assert result.exit_code == 2
        assert "[REGISTRY_EXISTS]" in result.output
    assert (data / "registry.sqlite3").read_bytes() == before
    assert not (data / "demo").exists()


def test_missing_demo_keys_fail_clearly(cli_app: typer.Typer, tmp_path: Path) -> None:
    empty = tmp_path / "no-keys"
    empty.mkdir()
    result = run(
        cli_app, "demo", "--no-serve", "--data-dir", str(tmp_path / "d"), "--keys", str(empty)
    )
    assert result.exit_code == 2
    assert "[DEMO_KEYS_MISSING]" in result.output
    assert "--keys" in result.output
    assert not (tmp_path / "d" / "registry.sqlite3").exists()


def test_a_folder_missing_a_province_fails(cli_app: typer.Typer, tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    keys.mkdir()
    for f in (REPO / "keys" / "demo").glob("3[12]0000-*"):
        (keys / f.name).write_bytes(f.read_bytes())
    result = run(
        cli_app, "demo", "--no-serve", "--data-dir", str(tmp_path / "d"), "--keys", str(keys)
    )
    assert result.exit_code == 2
    assert "330000" in result.output and "340000" in result.output


def test_real_keys_are_never_used(cli_app: typer.Typer, tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    for f in (REPO / "keys" / "demo").glob("[0-9]*"):
        keys.mkdir(exist_ok=True)
        (keys / f.name).write_bytes(f.read_bytes())
    keystore.generate_key(
        keys, "310000", not_before=datetime(2026, 1, 1, tzinfo=UTC), passphrase=b"secret"
    )
    result = run(
        cli_app, "demo", "--no-serve", "--data-dir", str(tmp_path / "d"), "--keys", str(keys)
    )
    assert result.exit_code == 2
    assert "[DEMO_KEYS_NOT_DEMO]" in result.output


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def test_the_server_serves_the_samples(tmp_path: Path) -> None:
    data = tmp_path / "served"
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("QUARANTINE_")}
    env["QUARANTINE_DATA_DIR"] = str(tmp_path / "unused")
    log = (tmp_path / "server.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "quarantine", "demo", "--data-dir", str(data), "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        cwd=tmp_path,
    )
    try:
        with httpx2.Client(base_url=base, timeout=10, trust_env=False) as client:
            deadline = time.monotonic() + 90
            while True:
                assert proc.poll() is None, (tmp_path / "server.log").read_text()
                try:
                    ready = client.get("/readyz")
                    if ready.status_code == 200:
                        break
                except httpx2.TransportError:
                    pass
                assert time.monotonic() < deadline, "the demo server did not start"
                time.sleep(0.2)
            man = manifest(data)
            first = next(s for s in man["samples"] if not s["revoked"])
            page = client.get(first["path"], headers={"Accept": "text/html"})
            assert page.status_code == 200
            assert first["number"] in page.text
            as_json = client.get(first["path"], headers={"Accept": "application/json"}).json()
            assert as_json["verdict"] == "VALID"
            revoked = next(s for s in man["samples"] if s["revoked"])
            gone = client.get(revoked["path"], headers={"Accept": "application/json"}).json()
            assert "REVOKED" in gone["reasons"]
            assert client.get("/docs").status_code == 200
            listed = client.get(f"/api/v1/status-lists/{revoked['region']}/{revoked['year']}")
            assert listed.status_code == 200
            lst = load_status_list(listed.content, trustfile.load(None, None), datetime.now(UTC))
            assert lst.value(int(revoked["number"][-6:])) == VALUE_REVOKED
        out = (tmp_path / "server.log").read_text("utf-8")
        assert f"{base}/docs" in out
        assert str(data / "demo") in out
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        log.close()
