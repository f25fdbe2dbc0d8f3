"""``quarantine tokens create|list|revoke`` on the configured registry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner, Result

from quarantine.settings import Settings
from quarantine.storage import db
from quarantine.storage.tokens import TokenStore


@pytest.fixture(scope="session")
def cli_app() -> typer.Typer:
    from quarantine.cli import _register_all, app

    if not app.registered_commands:
        _register_all()
    return app


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("QUARANTINE_DATABASE_URL", raising=False)
    monkeypatch.setenv("QUARANTINE_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


@pytest.fixture
def migrated(data_dir: Path) -> str:
    url = db.database_url(Settings(data_dir=data_dir))
    db.upgrade(url)
    return url


def run(app: typer.Typer, *args: str) -> Result:
    result = CliRunner().invoke(app, ["tokens", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"uncaught {result.exception!r}"
    )
    assert "Traceback" not in result.output
    return result


def authenticate(url: str, secret: str) -> str | None:
    engine = db.make_engine(url)
    try:
        with db.session_factory(engine)() as session:
            token = TokenStore(session).authenticate(secret)
            return None if token is None else f"{token.role} {token.region}"
    finally:
        engine.dispose()


def test_create_prints_the_secret_once_and_it_works(cli_app: typer.Typer, migrated: str) -> None:
    result = run(cli_app, "create", "--role", "issuer", "--region", "310115", "--label", "浦东")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("令牌 / token tok_") and "issuer" in lines[0]
    secret = lines[1].strip()
    assert len(secret) >= 40
    assert authenticate(migrated, secret) == "issuer 310115"
    listed = run(cli_app, "list")
    assert listed.exit_code == 0
    assert "310115" in listed.stdout and "浦东" in listed.stdout and "active" in listed.stdout
    assert secret not in listed.stdout


def test_json_output_and_revoke(cli_app: typer.Typer, migrated: str) -> None:
    created = run(cli_app, "create", "--role", "inspector", "--region", "320000", "--json")
    assert created.exit_code == 0, created.output
    token = json.loads(created.stdout)
    assert token["role"] == "inspector" and token["region"] == "320000"
    assert authenticate(migrated, token["secret"]) == "inspector 320000"
    revoked = run(cli_app, "revoke", token["id"])
    assert revoked.exit_code == 0, revoked.output
    assert token["id"] in revoked.stdout
    assert authenticate(migrated, token["secret"]) is None
    rows = [json.loads(line) for line in run(cli_app, "list", "--json").stdout.splitlines()]
    assert [(r["id"], r["revoked_at"] is not None) for r in rows] == [(token["id"], True)]
    assert "secret" not in rows[0]
    assert run(cli_app, "revoke", token["id"]).exit_code == 0  # idempotent


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["create", "--role", "root", "--region", "310000"], None),
        (["create", "--role", "issuer", "--region", "31"], "BAD_REGION"),
        (["create", "--role", "issuer", "--region", "110000"], "BAD_REGION"),
        (["create", "--role", "issuer"], None),
        (["create", "--role", "issuer", "--region", "310000", "--label", "x" * 201], "TOO_LONG"),
        (["revoke", "tok_nope"], "UNKNOWN_TOKEN"),
        (["revoke", "x" * 500], "UNKNOWN_TOKEN"),
    ],
)
def test_bad_arguments(
    cli_app: typer.Typer, migrated: str, args: list[str], code: str | None
) -> None:
    result = run(cli_app, *args)
    assert result.exit_code == 2
    if code:
        assert code in result.output


def test_list_when_empty(cli_app: typer.Typer, migrated: str) -> None:
    result = run(cli_app, "list")
    assert result.exit_code == 0 and "no tokens" in result.stdout


@pytest.mark.parametrize("args", [["list"], ["create", "--role", "admin", "--region", "310000"]])
def test_an_unmigrated_database_is_refused_clearly(
    cli_app: typer.Typer, data_dir: Path, args: list[str]
) -> None:
    result = run(cli_app, *args)
    assert result.exit_code == 2
    assert "DB_NOT_MIGRATED" in result.output
    assert "quarantine db upgrade" in result.output
