"""``quarantine db upgrade|status`` and ``quarantine audit verify``."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from sqlalchemy import Engine
from typer.testing import CliRunner, Result

from quarantine.cli.db import register
from quarantine.storage.db import head_revision, make_engine, session_factory
from quarantine.storage.repositories import AuditLog
from tests.storage.conftest import NOW, raw_admin


@pytest.fixture(scope="module")
def cli() -> typer.Typer:
    app = typer.Typer()
    register(app)
    return app


def run(cli: typer.Typer, url: str, tmp_path: Path, *args: str) -> Result:
    env = {"QUARANTINE_DATABASE_URL": url, "QUARANTINE_DATA_DIR": str(tmp_path / "data")}
    return CliRunner().invoke(cli, list(args), env=env)


def test_upgrade_then_verify(cli: typer.Typer, empty_url: str, tmp_path: Path) -> None:
    before = run(cli, empty_url, tmp_path, "db", "status")
    assert before.exit_code == 1 and "quarantine db upgrade" in before.output
    refused = run(cli, empty_url, tmp_path, "audit", "verify")
    assert refused.exit_code == 2
    assert "DB_NOT_MIGRATED" in refused.output and "quarantine db upgrade" in refused.output

    up = run(cli, empty_url, tmp_path, "db", "upgrade")
    assert up.exit_code == 0, up.output
    assert f"revision {head_revision()}" in up.output
    assert run(cli, empty_url, tmp_path, "db", "status").exit_code == 0

    empty = run(cli, empty_url, tmp_path, "audit", "verify")
    assert empty.exit_code == 0, empty.output
    assert "audit chain intact (0 entries)" in empty.output

    engine = make_engine(empty_url)
    try:
        for i in range(3):
            with session_factory(engine).begin() as s:
                AuditLog(s).append("admin", "token.create", f"tok_{i}", {"role": "issuer"}, NOW)
        ok = run(cli, empty_url, tmp_path, "audit", "verify")
        assert ok.exit_code == 0, ok.output
        assert "audit chain intact (3 entries)" in ok.output
        _tamper(engine)
        broken = run(cli, empty_url, tmp_path, "audit", "verify")
    finally:
        engine.dispose()
    assert broken.exit_code == 1
    assert "audit chain broken at seq 2" in broken.output


def _tamper(engine: Engine) -> None:
    raw_admin(engine)("UPDATE audit_log SET object = 'tok_evil' WHERE seq = 2")


def test_default_database_is_sqlite_in_the_data_dir(
    cli: typer.Typer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("QUARANTINE_DATABASE_URL", raising=False)
    result = CliRunner().invoke(
        cli, ["db", "upgrade"], env={"QUARANTINE_DATA_DIR": str(tmp_path / "data")}
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "data" / "registry.sqlite3").is_file()


def test_unreachable_database(cli: typer.Typer, tmp_path: Path) -> None:
    result = run(cli, "postgresql+psycopg://nobody@127.0.0.1:1/none", tmp_path, "db", "upgrade")
    assert result.exit_code == 2
    assert "DB_UNREACHABLE" in result.output
