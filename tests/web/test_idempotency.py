"""``Idempotency-Key``: the first response is replayed; another body with the key is refused."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from quarantine.settings import Settings
from quarantine.storage.idempotency import StoredResponse
from quarantine.web import idempotency
from tests.storage.conftest import PgDatabases
from tests.web.pg import Api, open_api, pg_databases, pg_settings, sample

ROOT = "/api/v1/certificates"


@pytest.fixture
def api(settings: Settings, tmp_path: Path) -> Iterator[Api]:
    with open_api(settings, tmp_path) as a:
        yield a


@pytest.fixture
def sh(api: Api) -> dict[str, str]:
    return api.token("issuer", "310000")


def keyed(headers: dict[str, str], key: str) -> dict[str, str]:
    return {**headers, "Idempotency-Key": key}


def total(api: Api, headers: dict[str, str]) -> int:
    found: int = api.client.get(ROOT, headers=headers).json()["total"]
    return found


def test_same_key_and_body_replays_the_first_response(api: Api, sh: dict[str, str]) -> None:
    doc = sample("transport-intra")
    first = api.client.post(ROOT, json=doc, headers=keyed(sh, "issue-1"))
    assert first.status_code == 201
    assert "idempotent-replayed" not in first.headers
    # The same body, written differently (key order), is the same request.
    reordered = dict(reversed(list(doc.items())))
    second = api.client.post(ROOT, json=reordered, headers=keyed(sh, "issue-1"))
    assert second.status_code == 201
    assert second.json() == first.json()
    assert second.headers["idempotent-replayed"] == "true"
    assert total(api, sh) == 1
    ok, count = api.audit_intact()
    assert ok and count == 1


def test_same_key_with_another_body_is_refused(api: Api, sh: dict[str, str]) -> None:
    assert api.client.post(ROOT, json=sample("transport-intra"), headers=keyed(sh, "k")).is_success
    other = sample("transport-intra")
    other["items"][0]["quantity"] = 41
    response = api.client.post(ROOT, json=other, headers=keyed(sh, "k"))
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert total(api, sh) == 1


def test_keys_are_scoped_per_actor(api: Api, sh: dict[str, str]) -> None:
    other_issuer = api.token("issuer", "310112")
    doc = sample("transport-intra")
    a = api.client.post(ROOT, json=doc, headers=keyed(sh, "shared"))
    b = api.client.post(ROOT, json=doc, headers=keyed(other_issuer, "shared"))
    assert a.status_code == b.status_code == 201
    assert a.json()["number"] != b.json()["number"]
    assert total(api, sh) == 2


def test_keys_are_scoped_per_path(api: Api, sh: dict[str, str]) -> None:
    number = api.issue(sh, sample("transport-intra"))["number"]
    suspended = api.client.post(
        f"{ROOT}/{number}/suspend", json={"reason": "x"}, headers=keyed(sh, "k")
    )
    revoked = api.client.post(
        f"{ROOT}/{number}/revoke", json={"reason": "x"}, headers=keyed(sh, "k")
    )
    assert suspended.status_code == revoked.status_code == 200
    assert revoked.json()["status"] == "REVOKED"


def test_a_repeated_revoke_replays_instead_of_conflicting(api: Api, sh: dict[str, str]) -> None:
    number = api.issue(sh, sample("transport-intra"))["number"]
    url = f"{ROOT}/{number}/revoke"
    first = api.client.post(url, json={"reason": "作废"}, headers=keyed(sh, "rev-1"))
    again = api.client.post(url, json={"reason": "作废"}, headers=keyed(sh, "rev-1"))
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    unkeyed = api.client.post(url, json={"reason": "作废"}, headers=sh)
    assert unkeyed.status_code == 409


def test_a_refused_request_stores_nothing(api: Api, sh: dict[str, str]) -> None:
    bad = sample("transport-intra")
    bad["items"] = []
    assert api.client.post(ROOT, json=bad, headers=keyed(sh, "k")).status_code == 422
    assert api.client.post(ROOT, json=bad, headers=keyed(sh, "k")).status_code == 422
    good = api.client.post(ROOT, json=sample("transport-intra"), headers=keyed(sh, "k"))
    assert good.status_code == 201


@pytest.mark.parametrize("key", ["", "x" * 201, "ключ", "a b", "tab\there"])
def test_bad_keys(api: Api, sh: dict[str, str], key: str) -> None:
    headers = {**sh, "Idempotency-Key": key}
    try:
        response = api.client.post(ROOT, json=sample("transport-intra"), headers=headers)
    except UnicodeEncodeError:  # the client itself refuses non-ASCII header values
        return
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "IDEMPOTENCY_KEY_INVALID"
    assert total(api, sh) == 0


def test_a_concurrent_winner_rolls_this_request_back(
    api: Api, sh: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The key was stored by another request after this one looked: its work is undone."""
    doc = sample("transport-intra")
    first = api.client.post(ROOT, json=doc, headers=keyed(sh, "race"))
    assert first.status_code == 201
    real = idempotency._lookup
    calls: list[int] = []

    def late_lookup(*args: Any) -> StoredResponse | None:
        calls.append(1)
        return None if len(calls) == 1 else real(*args)

    monkeypatch.setattr(idempotency, "_lookup", late_lookup)
    second = api.client.post(ROOT, json=doc, headers=keyed(sh, "race"))
    assert second.status_code == 201 and second.json() == first.json()
    assert second.headers["idempotent-replayed"] == "true"
    assert total(api, sh) == 1
    ok, count = api.audit_intact()
    assert ok and count == 1
    # The rolled-back issue used up no number.
    assert api.issue(sh, sample("transport-intra"))["number"] == "310112-2026-000002"


def test_a_concurrent_revoke_with_the_key_is_answered_as_the_winner_was(
    api: Api, sh: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    number = api.issue(sh, sample("transport-intra"))["number"]
    url = f"{ROOT}/{number}/revoke"
    first = api.client.post(url, json={"reason": "x"}, headers=keyed(sh, "r"))
    real = idempotency._lookup
    calls: list[int] = []

    def late_lookup(*args: Any) -> StoredResponse | None:
        calls.append(1)
        return None if len(calls) == 1 else real(*args)

    monkeypatch.setattr(idempotency, "_lookup", late_lookup)
    second = api.client.post(url, json={"reason": "x"}, headers=keyed(sh, "r"))
    assert second.status_code == 200 and second.json() == first.json()


# --------------------------------------------------------------------------- PostgreSQL


@pytest.fixture(scope="session")
def pg_dbs() -> Iterator[PgDatabases]:
    yield from pg_databases()


def test_parallel_requests_with_one_key_issue_once_on_postgresql(
    pg_dbs: PgDatabases, tmp_path: Path
) -> None:
    with pg_settings(pg_dbs, tmp_path) as settings, open_api(settings, tmp_path) as api:
        sh = api.token("issuer", "310000")
        doc = sample("transport-intra")
        results: list[tuple[int, Any]] = []
        lock = threading.Lock()

        def post() -> None:
            response = api.client.post(ROOT, json=doc, headers=keyed(sh, "parallel"))
            with lock:
                results.append((response.status_code, response.json()))

        threads = [threading.Thread(target=post) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert {status for status, _ in results} == {201}, results
        assert len({body["number"] for _, body in results}) == 1
        assert total(api, sh) == 1
        ok, count = api.audit_intact()
        assert ok and count == 1
