"""Registry API test harness: an app over SQLite or PostgreSQL, tokens, demo keys, samples.

PostgreSQL databases are made the way ``tests/storage/conftest.py`` makes them:
one migrated template per run, a copy per test (dropped afterwards); the
PostgreSQL tests are skipped, with the reason, only when no server answers.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from quarantine.settings import Settings
from quarantine.storage.audit import AuditLog
from quarantine.storage.tokens import TokenStore
from quarantine.web import create_app
from quarantine.web.registry import Registry
from tests.storage.conftest import PgDatabases, pg_server_url

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "samples" / "input"
NOW = datetime.fromisoformat("2026-12-01T10:00:00+08:00")
BASE_URL = "http://127.0.0.1:8000"
SAMPLE_FILES = {
    "transport-inter": "330000",
    "transport-intra": "310000",
    "transport-anhui": "340000",
    "producing-area": "330000",
    "requirement": "310000",
    "project": "310000",
}


def sample(name: str, *, keep_number: bool = False) -> dict[str, Any]:
    """A sample document from ``samples/input`` (without its number unless asked)."""
    doc: dict[str, Any] = json.loads((SAMPLES / f"{name}.json").read_text("utf-8"))
    if not keep_number:
        doc.pop("number", None)
    return doc


def demo_keys(folder: Path) -> Path:
    """A copy of the DEMO signing keys (``keys/demo``) in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for path in (REPO / "keys" / "demo").glob("[0-9]*"):
        shutil.copy2(path, folder / path.name)
    return folder


@dataclass
class Api:
    client: TestClient
    registry: Registry
    settings: Settings

    def token(self, role: str, region: str, label: str = "") -> dict[str, str]:
        """Headers carrying a new token's secret."""
        with self.registry.session() as session:
            _, secret = TokenStore(session).create(role, region, label, now=NOW)
        return {"Authorization": f"Bearer {secret}"}

    def token_with_id(self, role: str, region: str) -> tuple[str, dict[str, str]]:
        with self.registry.session() as session:
            token_id, secret = TokenStore(session).create(role, region, now=NOW)
        return token_id, {"Authorization": f"Bearer {secret}"}

    def revoke_token(self, token_id: str) -> None:
        with self.registry.session() as session:
            TokenStore(session).revoke(token_id, now=NOW)

    def issue(self, headers: dict[str, str], doc: dict[str, Any]) -> dict[str, Any]:
        response = self.client.post("/api/v1/certificates", json=doc, headers=headers)
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    def verify(self, qr_text: str) -> dict[str, Any]:
        response = self.client.post("/api/v1/verify", json={"text": qr_text})
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def audit_intact(self) -> tuple[bool, int]:
        with self.registry.session() as session:
            log = AuditLog(session)
            ok, _ = log.verify()
            return ok, log.count()


@contextmanager
def open_api(settings: Settings, tmp_path: Path, *, now: datetime = NOW) -> Iterator[Api]:
    """The app over ``settings``'s (migrated) database with the demo keys."""
    settings = replace(settings, keys_dir=demo_keys(tmp_path / "node-keys"), base_url=BASE_URL)
    app = create_app(settings, clock=lambda: now)
    with TestClient(app, base_url=BASE_URL) as client:
        registry = app.state.context.registry
        assert registry is not None
        yield Api(client, registry, settings)


def pg_databases() -> Iterator[PgDatabases]:
    """Body of a session fixture: the run's PostgreSQL databases (skip when no server)."""
    url = pg_server_url()
    admin = create_engine(url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
    try:
        with admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except OperationalError as exc:
        admin.dispose()
        pytest.skip(
            f"no PostgreSQL server at {url.render_as_string(hide_password=True)} "
            f"(set QUARANTINE_TEST_POSTGRES_URL): {str(exc.orig).strip()[:200]}"
        )
    dbs = PgDatabases(admin)
    try:
        yield dbs
    finally:
        if dbs.template is not None:
            dbs.drop(dbs.template)
        admin.dispose()


@contextmanager
def pg_settings(dbs: PgDatabases, tmp_path: Path) -> Iterator[Settings]:
    """Settings over a fresh, migrated PostgreSQL database (dropped afterwards)."""
    name = dbs.create(migrated=True)
    try:
        yield Settings(
            data_dir=tmp_path,
            database_url=dbs.url(name).render_as_string(hide_password=False),
            verify_rate_per_minute=100_000,
        )
    finally:
        dbs.drop(name)
