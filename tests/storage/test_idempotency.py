"""IdempotencyStore: the first response wins; another body with the same key is refused."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from quarantine.errors import InputError, LimitExceeded
from quarantine.storage.repositories import IdempotencyStore, hash_body
from tests.storage.conftest import NOW

BODY = {"number": "330109-2026-000001", "qr": "HC1:…", "links": {"png": "/x.png"}}


def test_put_then_get(sessions: sessionmaker[Session]) -> None:
    h = hash_body(b'{"kind":"TRANSPORT"}')
    with sessions.begin() as s:
        stored, created = IdempotencyStore(s).put(
            "key-1", "tok_a", "post", "/api/v1/certificates", h, 201, BODY, NOW
        )
    assert created and stored.status == 201 and stored.body == BODY
    with sessions() as s:
        store = IdempotencyStore(s)
        got = store.get("key-1", "tok_a", "POST", "/api/v1/certificates", request_hash=h)
        assert got == stored
        assert got is not None and got.created_at == NOW and got.method == "POST"
        # Scoped by actor, method and path.
        assert store.get("key-1", "tok_b", "POST", "/api/v1/certificates") is None
        assert store.get("key-1", "tok_a", "POST", "/api/v1/other") is None
        with pytest.raises(InputError) as exc:
            store.get("key-1", "tok_a", "POST", "/api/v1/certificates", request_hash="0" * 64)
        assert exc.value.code == "IDEMPOTENCY_KEY_REUSED"


def test_a_second_put_returns_the_first_response(sessions: sessionmaker[Session]) -> None:
    h = hash_body(b"{}")
    with sessions.begin() as s:
        IdempotencyStore(s).put("k", "a", "POST", "/p", h, 201, BODY, NOW)
    with sessions.begin() as s:
        stored, created = IdempotencyStore(s).put("k", "a", "POST", "/p", h, 500, {"x": 1}, NOW)
    assert not created and stored.status == 201 and stored.body == BODY
    with sessions() as s, pytest.raises(InputError) as exc:
        IdempotencyStore(s).put("k", "a", "POST", "/p", hash_body(b"[]"), 201, BODY, NOW)
    assert exc.value.code == "IDEMPOTENCY_KEY_REUSED"


def test_purge_and_limits(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        store = IdempotencyStore(s)
        store.put("old", "a", "POST", "/p", "h", 200, None, NOW - timedelta(days=2))
        store.put("new", "a", "POST", "/p", "h", 200, [1, 2], NOW)
        assert store.purge(NOW - timedelta(days=1)) == 1
        assert store.get("old", "a", "POST", "/p") is None
        new = store.get("new", "a", "POST", "/p")
        assert new is not None and new.body == [1, 2]
        with pytest.raises(LimitExceeded):
            store.get("k" * 201, "a", "POST", "/p")
