"""Inspection API fixtures: an app over SQLite or PostgreSQL with a clock the test moves."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from quarantine.settings import Settings
from quarantine.storage import db
from quarantine.storage.tokens import TokenStore
from quarantine.web import create_app
from quarantine.web.registry import Registry
from tests.storage.conftest import PgDatabases
from tests.web.pg import BASE_URL, NOW, demo_keys, pg_databases, pg_settings, sample


@dataclass
class Clock:
    now: datetime = NOW

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@dataclass
class Node:
    client: TestClient
    registry: Registry
    clock: Clock
    tokens: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)

    def token(self, role: str, region: str) -> dict[str, str]:
        if (role, region) not in self.tokens:
            with self.registry.session() as session:
                _, secret = TokenStore(session).create(role, region, now=NOW)
            self.tokens[role, region] = {"Authorization": f"Bearer {secret}"}
        return self.tokens[role, region]

    def issue(self, doc: dict[str, Any], region: str = "310000") -> dict[str, Any]:
        r = self.client.post("/api/v1/certificates", json=doc, headers=self.token("issuer", region))
        assert r.status_code == 201, r.text
        body: dict[str, Any] = r.json()
        return body

    def scan(self, qr: str, region: str, **fields: Any) -> dict[str, Any]:
        r = self.client.post(
            "/api/v1/verify",
            json={"text": qr, "region": region, **fields},
            headers=self.token("inspector", region),
        )
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body


@pytest.fixture(scope="session")
def pg_dbs() -> Iterator[PgDatabases]:
    yield from pg_databases()


@pytest.fixture(params=["sqlite", "postgresql"])
def node(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Node]:
    clock = Clock()
    if request.param == "sqlite":
        settings = Settings(data_dir=tmp_path, verify_rate_per_minute=100_000)
        db.upgrade(db.database_url(settings))
        yield from _node(settings, tmp_path, clock)
    else:
        dbs: PgDatabases = request.getfixturevalue("pg_dbs")
        with pg_settings(dbs, tmp_path) as settings:
            yield from _node(settings, tmp_path, clock)


def _node(settings: Settings, tmp_path: Path, clock: Clock) -> Iterator[Node]:
    settings = replace(settings, keys_dir=demo_keys(tmp_path / "node-keys"), base_url=BASE_URL)
    app = create_app(settings, clock=clock)
    with TestClient(app, base_url=BASE_URL) as client:
        registry = app.state.context.registry
        assert registry is not None
        yield Node(client, registry, clock)


__all__ = ["Clock", "Node", "sample"]
