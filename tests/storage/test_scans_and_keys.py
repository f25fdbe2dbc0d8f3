"""Scan events and public signing keys."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from quarantine.core.keys import ALG_EDDSA, Signer
from quarantine.errors import InputError, LimitExceeded
from quarantine.storage.repositories import ScanStore, SigningKeyStore
from tests.storage.conftest import NOW


def test_scans_of_known_and_unknown_numbers(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        scans = ScanStore(s)
        scans.add(
            "330109-2026-004871",
            NOW,
            "310117",
            "VALID",
            [],
            "tok_i",
            checkpoint="G60 枫泾",
            vehicle_plate="浙A·12345",
        )
        scans.add(
            "330109-2026-004871", NOW + timedelta(hours=1), "310117", "INVALID", ["REVOKED"], "i"
        )
        scans.add("999999-2026-000001", NOW, "310117", "UNKNOWN", ["NOT_IN_REGISTRY"], "i")
    with sessions() as s:
        got = ScanStore(s).for_number("330109-2026-004871")
        unknown = ScanStore(s).for_number("999999-2026-000001")
    assert [g.verdict for g in got] == ["INVALID", "VALID"]
    assert got[0].reason_codes == ("REVOKED",)
    assert got[1].vehicle_plate == "浙A·12345" and got[1].checkpoint == "G60 枫泾"
    assert got[1].at == NOW
    assert unknown[0].reason_codes == ("NOT_IN_REGISTRY",)


def test_scan_limits(sessions: sessionmaker[Session]) -> None:
    with sessions() as s:
        with pytest.raises(LimitExceeded):
            ScanStore(s).add("x" * 65, NOW, "310117", "VALID", [], "i")
        with pytest.raises(LimitExceeded):
            ScanStore(s).add("x", NOW, "310117", "VALID", ["R"] * 51, "i")
        with pytest.raises(InputError):
            ScanStore(s).add("x", NOW, "上海", "VALID", [], "i")


def test_signing_keys(sessions: sessionmaker[Session]) -> None:
    signer = Signer.generate(ALG_EDDSA)
    spki, kid = signer.public.spki_der, signer.public.kid.hex()
    with sessions.begin() as s:
        keys = SigningKeyStore(s)
        keys.add("330000", kid, "EdDSA", spki, NOW)
        keys.add("340000", "bb22", "ES256", b"\x30\x59", NOW, NOW + timedelta(days=365))
    with sessions() as s:
        keys = SigningKeyStore(s)
        got = keys.get(kid)
        assert got is not None and got.spki == spki and got.not_after is None
        assert [k.kid for k in keys.list()] == [kid, "bb22"]
        assert [k.kid for k in keys.list("340000")] == ["bb22"]
        with pytest.raises(InputError) as exc:
            keys.add("330000", kid, "EdDSA", spki, NOW)
        assert exc.value.code == "KEY_EXISTS"
        with pytest.raises(InputError) as exc:
            keys.add("330000", "cc33", "EdDSA", spki, NOW, NOW)
        assert exc.value.code == "BAD_WINDOW"
