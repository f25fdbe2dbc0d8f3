"""No pre-ping on PostgreSQL: reads and the verification look-up survive dropped connections,
and both look-ups (session and driver) give the same answer."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from quarantine.storage.certificates import WITH_EVENTS, CertificateStore, with_events
from quarantine.storage.events import DirectStatusSource, RegistryStatusSource
from quarantine.web.fastjson import dumps
from tests.storage.conftest import PgDatabases
from tests.web.pg import NOW, Api, open_api, pg_databases, pg_settings, sample
from tests.web.test_verify_api import sample_text

ROOT = "/api/v1/certificates"


@pytest.fixture(scope="session")
def pg_dbs() -> Iterator[PgDatabases]:
    yield from pg_databases()


@pytest.fixture
def pg_api(pg_dbs: PgDatabases, tmp_path: Path) -> Iterator[Api]:
    with pg_settings(pg_dbs, tmp_path) as settings, open_api(settings, tmp_path) as a:
        yield a


def _drop_connections(api: Api) -> int:
    """Terminate every server connection of the registry's pool (as a restart would)."""
    url = api.registry.engine.url
    other = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with other.connect() as conn:
            dropped = conn.execute(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            ).scalar_one()
    finally:
        other.dispose()
    return int(dropped)


def test_lookups_agree_and_survive_dropped_connections(pg_api: Api) -> None:
    api = pg_api
    sh = api.token("issuer", "310000")
    inspector = api.token("inspector", "310000")
    number = api.issue(sh, sample("transport-intra"))["number"]
    revoked = api.client.post(f"{ROOT}/{number}/revoke", json={"reason": "作废"}, headers=sh)
    assert revoked.status_code == 200
    direct = api.registry.direct_status()
    assert isinstance(direct, DirectStatusSource)
    with api.registry.reader() as session:
        expected = RegistryStatusSource(session).lookup(number, NOW)
        unknown = RegistryStatusSource(session).lookup("310112-2026-999999", NOW)
    assert expected.known and [e.type.value for e in expected.events] == ["REVOKED"]
    assert direct.lookup(number, NOW) == expected
    assert direct.lookup("310112-2026-999999", NOW) == unknown
    reads = api.registry.direct_reads()
    assert reads is not None
    with api.registry.reader() as session:
        stored = CertificateStore(session).get_with_events(number)
    assert stored is not None and len(stored[1]) == 1
    assert with_events(reads.rows(WITH_EVENTS, {"number": number})) == stored
    assert with_events(reads.rows(WITH_EVENTS, {"number": "310112-2026-999999"})) is None

    assert _drop_connections(api) >= 1
    assert direct.lookup(number, NOW) == expected
    _drop_connections(api)
    got = api.registry.read(lambda s: RegistryStatusSource(s).lookup(number, NOW))
    assert got == expected
    _drop_connections(api)
    answer = api.client.get(f"{ROOT}/{number}", headers=inspector)
    assert answer.status_code == 200 and answer.json()["status"] == "REVOKED"
    _drop_connections(api)
    again = api.client.post(ROOT, json=sample("transport-intra"), headers=sh)
    assert again.status_code == 201, again.text


def test_fast_json_writes_instants_as_pydantic_does() -> None:
    from pydantic import TypeAdapter

    moments = [datetime(2026, 1, 2, 3, 4, 5, 60, tzinfo=UTC), NOW, datetime(2026, 1, 2, tzinfo=UTC)]
    assert dumps(moments) == TypeAdapter(list[datetime]).dump_json(moments)


def test_verification_on_the_event_loop_agrees_and_survives_dropped_connections(
    pg_api: Api,
) -> None:
    """With the app's lifespan running on PostgreSQL, ``POST /api/v1/verify`` looks the
    status up on the event loop; it answers as the session look-up does, also after the
    server dropped its connections."""
    api = pg_api
    context = api.client.app.state.context  # type: ignore[attr-defined]
    assert context.async_status is not None
    sh = api.token("issuer", "310000")
    issued = api.issue(sh, sample("transport-intra"))
    number = issued["number"]
    assert api.verify(issued["qr_text"])["verdict"] == "VALID"
    revoked = api.client.post(f"{ROOT}/{number}/revoke", json={"reason": "作废"}, headers=sh)
    assert revoked.status_code == 200
    first = api.verify(issued["qr_text"])
    assert first["verdict"] == "INVALID" and "REVOKED" in first["reasons"]
    assert first["status"]["source"] == "registry"
    assert _drop_connections(api) >= 1
    again = api.verify(issued["qr_text"])
    assert again["reasons"] == first["reasons"]
    unknown = api.verify(sample_text("valid-transport-inter"))
    assert "UNKNOWN_TO_REGISTRY" in unknown["reasons"]


def test_async_reads_of_an_unreachable_database_are_registry_unavailable() -> None:
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    from quarantine.errors import EnvironmentProblem
    from quarantine.storage.direct import AsyncDirectReads
    from quarantine.storage.events import _LOOKUP

    engine = create_engine("postgresql+psycopg://postgres@127.0.0.1:9/none")
    reads = AsyncDirectReads(engine, timeout_s=1)

    async def read_then_close() -> None:
        try:
            await reads.rows(_LOOKUP, {"number": "310112-2026-000001"})
        finally:
            await reads.close()

    try:
        # A loop of its own in a thread: another test's loop may still be set here.
        with ThreadPoolExecutor(1) as pool, pytest.raises(EnvironmentProblem) as raised:
            pool.submit(lambda: asyncio.run(read_then_close())).result()
        assert raised.value.code == "REGISTRY_UNAVAILABLE"
    finally:
        engine.dispose()
