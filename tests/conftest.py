"""Shared fixtures: the reference certificate, test keys and trust lists."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from quarantine.core.document import from_document
from quarantine.core.keys import ALG_EDDSA, ALG_ES256, Signer
from quarantine.core.model import CHINA_TZ, Certificate
from quarantine.core.trust import Member, TrustedKey, TrustList

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
REFERENCE_JSON = SHARED / "reference" / "reference-transport-certificate.json"


def cst(text: str) -> datetime:
    """A China Standard Time instant from ``YYYY-MM-DDTHH:MM[:SS]``."""
    return datetime.fromisoformat(text).replace(tzinfo=CHINA_TZ)


@pytest.fixture(scope="session")
def reference_doc() -> dict[str, Any]:
    if REFERENCE_JSON.exists():
        doc: dict[str, Any] = json.loads(REFERENCE_JSON.read_text("utf-8"))
    else:  # the repository's copy of the same certificate (validity extended)
        doc = json.loads((REPO / "samples" / "input" / "transport-inter.json").read_text("utf-8"))
        doc["valid_to"] = "2026-12-05"
    doc.pop("_about", None)
    return doc


@pytest.fixture(scope="session")
def reference_cert(reference_doc: dict[str, Any]) -> Certificate:
    return replace(from_document(reference_doc), salt=b"\x01" * 16)


@pytest.fixture(scope="session")
def zj_signer() -> Signer:
    return Signer.generate(ALG_EDDSA)


@pytest.fixture(scope="session")
def ah_signer() -> Signer:
    return Signer.generate(ALG_ES256)


@pytest.fixture(scope="session")
def trust(zj_signer: Signer, ah_signer: Signer) -> TrustList:
    """Zhejiang (Ed25519, key from 2025) and Anhui (ES256), hosts on loopback."""
    return make_trust(
        [
            ("330000", zj_signer, cst("2025-01-01T00:00"), None),
            ("340000", ah_signer, cst("2025-01-01T00:00"), None),
        ]
    )


def make_trust(
    keys: list[tuple[str, Signer, datetime, datetime | None]],
    *,
    joined: date = date(2024, 1, 1),
    left: date | None = None,
) -> TrustList:
    regions = sorted({region for region, *_ in keys} | {"310000", "320000", "330000", "340000"})
    members = tuple(
        Member(
            r,
            f"member {r}",
            f"member {r}",
            joined,
            left,
            hosts=("127.0.0.1:8000",),
            agencies={c: f"agency {c}" for c in (r, "330109") if c[:2] == r[:2]},
        )
        for r in regions
    )
    trusted = tuple(TrustedKey(region, s.public, nb, na) for region, s, nb, na in keys)
    return TrustList(1, cst("2026-11-01T00:00"), cst("2028-12-31T00:00"), members, trusted)


MakeCert = Callable[..., Certificate]


@pytest.fixture
def make_cert(reference_cert: Certificate) -> MakeCert:
    def build(**changes: Any) -> Certificate:
        return replace(reference_cert, **changes)

    return build
