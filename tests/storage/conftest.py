"""Every storage test runs on SQLite (a file in tmp_path) and on PostgreSQL.

PostgreSQL is used for real: the server at ``QUARANTINE_TEST_POSTGRES_URL``
(default ``postgresql+psycopg://postgres@127.0.0.1:5432/test``).  The session
migrates one template database ``quarantine_test_<random>_tpl``; each test gets
its own copy (``CREATE DATABASE … TEMPLATE …``), dropped afterwards.  The
PostgreSQL variants are skipped, with the reason, only when no server answers.
"""

from __future__ import annotations

import itertools
import os
import secrets
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import URL, Engine, create_engine, make_url, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from quarantine.core.model import Certificate, CertificateNumber
from quarantine.storage.db import make_engine, session_factory, upgrade
from tests.conftest import cst

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
BACKENDS = ("sqlite", "postgresql")
NOW = cst("2026-12-01T10:00")

_counter = itertools.count()


def pg_server_url() -> URL:
    return make_url(os.environ.get("QUARANTINE_TEST_POSTGRES_URL") or DEFAULT_PG_URL)


@pytest.fixture(scope="session")
def pg_admin() -> Iterator[Engine]:
    """An AUTOCOMMIT engine on the test server (for CREATE/DROP DATABASE)."""
    url = pg_server_url()
    engine = create_engine(url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except OperationalError as exc:
        engine.dispose()
        pytest.skip(
            f"no PostgreSQL server at {url.render_as_string(hide_password=True)} "
            f"(set QUARANTINE_TEST_POSTGRES_URL): {str(exc.orig).strip()[:200]}"
        )
    yield engine
    engine.dispose()


class PgDatabases:
    """Creates and drops the run's databases on the test server."""

    def __init__(self, admin: Engine) -> None:
        self.admin = admin
        self.prefix = f"quarantine_test_{secrets.token_hex(4)}"
        self.template: str | None = None

    def url(self, name: str) -> URL:
        return pg_server_url().set(database=name)

    def create(self, *, migrated: bool) -> str:
        name = f"{self.prefix}_{next(_counter)}"
        with self.admin.connect() as conn:
            if migrated:
                conn.execute(
                    text(f'CREATE DATABASE "{name}" TEMPLATE "{self.migrated_template()}"')
                )
            else:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        return name

    def migrated_template(self) -> str:
        if self.template is None:
            name = f"{self.prefix}_tpl"
            with self.admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            self.template = name
            upgrade(self.url(name))  # disposes its own engine: the template stays unused
        return self.template

    def drop(self, name: str) -> None:
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def pg_databases(pg_admin: Engine) -> Iterator[PgDatabases]:
    dbs = PgDatabases(pg_admin)
    yield dbs
    if dbs.template is not None:
        dbs.drop(dbs.template)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
def empty_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """A URL of a fresh, empty database."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'registry.sqlite3'}"
        return
    dbs: PgDatabases = request.getfixturevalue("pg_databases")
    name = dbs.create(migrated=False)
    try:
        yield dbs.url(name).render_as_string(hide_password=False)
    finally:
        dbs.drop(name)


@pytest.fixture
def migrated_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """A URL of a fresh database at the head revision."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'registry.sqlite3'}"
        upgrade(url)
        yield url
        return
    dbs: PgDatabases = request.getfixturevalue("pg_databases")
    name = dbs.create(migrated=True)
    try:
        yield dbs.url(name).render_as_string(hide_password=False)
    finally:
        dbs.drop(name)


@pytest.fixture
def engine(migrated_url: str) -> Iterator[Engine]:
    eng = make_engine(migrated_url)
    yield eng
    eng.dispose()


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return session_factory(engine)


def raw_admin(engine: Engine) -> Callable[[str], None]:
    """Run raw SQL as the database owner, bypassing the append-only triggers."""

    def run(sql: str) -> None:
        with engine.begin() as conn:
            if engine.dialect.name == "postgresql":
                conn.execute(text("SET LOCAL session_replication_role = replica"))
            else:
                for table in ("status_events", "audit_log"):
                    conn.execute(text(f"DROP TRIGGER IF EXISTS {table}_no_update"))
                    conn.execute(text(f"DROP TRIGGER IF EXISTS {table}_no_delete"))
            conn.execute(text(sql))

    return run


def numbered(
    cert: Certificate, number: str, *, issued_at: datetime | None = None, **changes: Any
) -> Certificate:
    """``cert`` with another number (and issue time, other fields)."""
    parsed = CertificateNumber.parse(number)
    return replace(
        cert,
        number=parsed,
        issued_at=issued_at or cert.issued_at,
        **changes,
    )
