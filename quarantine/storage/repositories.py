"""The registry's repositories: plain classes over a SQLAlchemy ``Session``.

Each lives in a small module named for what it holds; this module gathers the
public names.  Repositories flush but never commit: the caller owns the
transaction (``with session_factory(engine).begin() as session: ...``).
"""

from __future__ import annotations

from quarantine.storage.audit import AuditEntry, AuditLog, Verification
from quarantine.storage.certificates import (
    MAX_PAGE_SIZE,
    CertificateStore,
    CertStatus,
    Page,
    SearchHit,
    StoredCertificate,
    derive_status,
)
from quarantine.storage.counters import NumberCounter, NumberInUse
from quarantine.storage.events import EventStore, RecordedEvent, RegistryStatusSource
from quarantine.storage.idempotency import IdempotencyStore, StoredResponse, hash_body
from quarantine.storage.scans import ScanEvent, ScanStore
from quarantine.storage.signing_keys import PublicKeyRecord, SigningKeyStore
from quarantine.storage.tokens import ApiToken, TokenStore

__all__ = [
    "MAX_PAGE_SIZE",
    "ApiToken",
    "AuditEntry",
    "AuditLog",
    "CertStatus",
    "CertificateStore",
    "EventStore",
    "IdempotencyStore",
    "NumberCounter",
    "NumberInUse",
    "Page",
    "PublicKeyRecord",
    "RecordedEvent",
    "RegistryStatusSource",
    "ScanEvent",
    "ScanStore",
    "SearchHit",
    "SigningKeyStore",
    "StoredCertificate",
    "StoredResponse",
    "TokenStore",
    "Verification",
    "derive_status",
    "hash_body",
]
