"""Engines, URLs and migrations."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

from quarantine.errors import EnvironmentProblem
from quarantine.settings import Settings
from quarantine.storage import db
from quarantine.storage.models import Base

TABLES = {
    "certificates",
    "line_items",
    "status_events",
    "scan_events",
    "signing_keys",
    "api_tokens",
    "audit_log",
    "number_counters",
    "claimed_numbers",
    "idempotency_keys",
}


def test_migrations_run_up_from_empty(empty_url: str) -> None:
    engine = db.make_engine(empty_url)
    try:
        assert db.current_revision(engine) is None
        db.upgrade(engine)
        assert db.current_revision(engine) == db.head_revision()
        assert set(inspect(engine).get_table_names()) >= TABLES
        db.require_migrated(engine)
        db.upgrade(engine)  # a second run is a no-op
    finally:
        engine.dispose()


def test_require_migrated_refuses_an_empty_database(empty_url: str) -> None:
    engine = db.make_engine(empty_url)
    try:
        with pytest.raises(EnvironmentProblem) as exc:
            db.require_migrated(engine)
    finally:
        engine.dispose()
    assert exc.value.code == "DB_NOT_MIGRATED"
    assert "quarantine db upgrade" in exc.value.message_en
    assert "quarantine db upgrade" in exc.value.message_zh


def test_require_migrated_refuses_an_unknown_revision(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'ffff'"))
    with pytest.raises(EnvironmentProblem) as exc:
        db.require_migrated(engine)
    assert exc.value.code == "DB_SCHEMA_NEWER"


def test_migrations_match_the_models(engine: Engine) -> None:
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(ctx, Base.metadata) == []


def test_backend_settings(engine: Engine) -> None:
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
        else:
            assert engine.pool.size() == db.PG_POOL_SIZE  # type: ignore[attr-defined]
            assert conn.execute(text("SHOW timezone")).scalar() == "UTC"


def test_database_url_defaults_to_sqlite_in_the_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("QUARANTINE_DATABASE_URL", raising=False)
    url = db.database_url(Settings(data_dir=tmp_path / "data"))
    assert url == f"sqlite:///{tmp_path / 'data' / 'registry.sqlite3'}"
    engine = db.make_engine(url)  # creates the folder
    engine.dispose()
    assert (tmp_path / "data").is_dir()


def test_database_url_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUARANTINE_DATABASE_URL", "postgresql://u@db.example/reg")
    monkeypatch.setenv("QUARANTINE_DATA_DIR", str(tmp_path))
    assert db.database_url(Settings.from_env()) == "postgresql://u@db.example/reg"
    engine = db.make_engine("postgresql://u@db.example/reg")  # driver defaults to psycopg 3
    assert engine.dialect.driver == "psycopg"
    engine.dispose()


@pytest.mark.parametrize(
    ("url", "code"),
    [("not a url", "BAD_DATABASE_URL"), ("mysql://u@h/db", "UNSUPPORTED_DATABASE")],
)
def test_bad_database_urls(url: str, code: str) -> None:
    with pytest.raises(EnvironmentProblem) as exc:
        db.make_engine(url)
    assert exc.value.code == code


def test_unreachable_server_is_an_environment_problem() -> None:
    engine = db.make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
    try:
        with pytest.raises(EnvironmentProblem) as exc:
            db.require_migrated(engine)
    finally:
        engine.dispose()
    assert exc.value.code == "DB_UNREACHABLE"
