"""API tokens: hashed secrets, roles, revocation."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from quarantine.errors import InputError
from quarantine.storage.models import ApiTokenRow
from quarantine.storage.repositories import TokenStore
from tests.storage.conftest import NOW


def test_create_authenticate_revoke(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        token_id, secret = TokenStore(s).create("issuer", "320000", "苏州站", now=NOW)
        other_id, other = TokenStore(s).create(
            "inspector", "310000", now=NOW + timedelta(seconds=1)
        )
    assert len(secret) >= 43 and secret != other
    with sessions() as s:
        row = s.execute(select(ApiTokenRow).where(ApiTokenRow.id == token_id)).scalar_one()
        stored = [tuple(r) for r in s.execute(select(ApiTokenRow.__table__)).all()]
    assert row.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert all(secret not in str(v) and other not in str(v) for r in stored for v in r)
    with sessions() as s:
        token = TokenStore(s).authenticate(secret)
    assert token is not None
    assert (token.id, token.role, token.region, token.label) == (
        token_id,
        "issuer",
        "320000",
        "苏州站",
    )
    assert token.created_at == NOW and token.active
    with sessions() as s:
        store = TokenStore(s)
        assert store.authenticate(secret + "x") is None
        assert store.authenticate("") is None
        assert store.authenticate("x" * 10_000) is None
        assert store.authenticate(hashlib.sha256(secret.encode()).hexdigest()) is None
    with sessions.begin() as s:
        revoked = TokenStore(s).revoke(token_id, now=NOW)
        assert not revoked.active and revoked.revoked_at == NOW
        TokenStore(s).revoke(token_id)  # idempotent
    with sessions() as s:
        store = TokenStore(s)
        assert store.authenticate(secret) is None
        assert store.authenticate(other) is not None
        assert [t.id for t in store.list()] == [token_id, other_id]
        assert store.get(token_id) == revoked


def test_bad_tokens_are_refused(sessions: sessionmaker[Session]) -> None:
    with sessions() as s:
        store = TokenStore(s)
        with pytest.raises(InputError) as exc:
            store.create("root", "320000")
        assert exc.value.code == "BAD_ROLE"
        with pytest.raises(InputError) as exc:
            store.create("admin", "32")
        assert exc.value.code == "BAD_REGION"
        with pytest.raises(InputError) as exc:
            store.revoke("tok_nothing")
        assert exc.value.code == "UNKNOWN_TOKEN"
