"""Integrity under load and faults: real ``quarantine serve`` processes over real PostgreSQL.

Each test gets a fresh database on the server at ``QUARANTINE_TEST_POSTGRES_URL``
(default ``postgresql+psycopg://postgres@127.0.0.1:5432/test``), migrated with
``quarantine db upgrade`` and dropped afterwards, and a server on a free loopback
port with a copy of the DEMO keys.  The tests are skipped, with the reason, only
when no PostgreSQL server answers.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
import pytest
from sqlalchemy import Engine, Row, text

from tests.load import harness

#: Issuer tokens are made for these provinces (the samples issue in all three).
PROVINCES = ("310000", "330000", "340000")


@pytest.fixture(scope="session")
def pg_admin() -> Iterator[Engine]:
    engine, why = harness.pg_admin_engine()
    if engine is None:
        pytest.skip(why)
    try:
        yield engine
    finally:
        engine.dispose()


@dataclass
class LiveService:
    """A migrated database, tokens and a running server (``server.kill9()``/``start()``)."""

    database_url: str
    env: dict[str, str]
    server: harness.Server
    issuers: dict[str, str] = field(default_factory=dict)
    inspector: str = ""

    @property
    def base(self) -> str:
        return self.server.base

    def issuer_headers(self, province: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.issuers[province]}"}

    def inspector_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.inspector}"}

    def client(self) -> httpx2.Client:
        return httpx2.Client(base_url=self.base, timeout=60)

    def issue(self, client: httpx2.Client, sample: str) -> httpx2.Response:
        """``POST /api/v1/certificates`` of a sample, without its number, by its province's issuer."""
        doc = harness.fresh_document(sample)
        province = harness.province(doc["issuing_agency"]["region"])
        return client.post("/api/v1/certificates", json=doc, headers=self.issuer_headers(province))

    def query(self, sql: str, **params: Any) -> list[Row[Any]]:
        """Rows of ``sql`` on the service's database (read directly, not through the API)."""
        from quarantine.storage.db import make_engine

        engine = make_engine(self.database_url)
        try:
            with engine.connect() as conn:
                return list(conn.execute(text(sql), params).all())
        finally:
            engine.dispose()

    def audit_verify(self) -> str:
        """``quarantine audit verify`` on the service's database (raises unless intact)."""
        return harness.quarantine_cli(["audit", "verify"], self.env)


def start_service(admin: Engine, tmp_path: Path, *, workers: int) -> Iterator[LiveService]:
    """The body of the ``service`` fixtures: everything is undone in ``finally``."""
    with harness.temp_database(admin) as url:
        env = harness.server_env(url, tmp_path)
        harness.migrate(env)
        live = LiveService(url, env, harness.Server(env, tmp_path / "server.log", workers=workers))
        live.issuers = {p: harness.create_token(url, "issuer", p) for p in PROVINCES}
        live.inspector = harness.create_token(url, "inspector", "310000")
        try:
            live.server.start()
            yield live
        finally:
            live.server.stop()


@pytest.fixture
def service(pg_admin: Engine, tmp_path: Path) -> Iterator[LiveService]:
    """Two uvicorn workers (the production shape: several stateless workers)."""
    yield from start_service(pg_admin, tmp_path, workers=2)


@pytest.fixture
def single_worker_service(pg_admin: Engine, tmp_path: Path) -> Iterator[LiveService]:
    """One uvicorn worker: leaves the second core to a client that needs it (schemathesis)."""
    yield from start_service(pg_admin, tmp_path, workers=1)
