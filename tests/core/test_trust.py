"""The signed trust list: round trip, signature, tampering, demo federation."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime

import pytest

from quarantine import trustfile
from quarantine.core import cbor, cose
from quarantine.core.keys import Signer
from quarantine.core.trust import TrustList, TrustListError, load_trust_list, sign_trust_list
from quarantine.errors import EnvironmentProblem
from tests.conftest import REPO


def test_round_trip(trust: TrustList) -> None:
    root = Signer.generate()
    loaded = load_trust_list(sign_trust_list(trust, root), [root.public])
    assert loaded.to_document() == trust.to_document()
    assert [k.public.kid for k in loaded.keys] == [k.public.kid for k in trust.keys]


def test_wrong_anchor_is_refused(trust: TrustList) -> None:
    blob = sign_trust_list(trust, Signer.generate())
    with pytest.raises(TrustListError) as info:
        load_trust_list(blob, [Signer.generate().public])
    assert info.value.code == "TRUST_LIST_SIGNATURE"


def test_edited_trust_list_is_refused(trust: TrustList) -> None:
    root = Signer.generate()
    msg = cose.decode_sign1(sign_trust_list(trust, root))
    doc = json.loads(msg.payload)
    doc["members"][0]["keys"] = []  # drop a member's keys
    forged = cbor.dumps([msg.protected_bytes, {}, json.dumps(doc).encode(), msg.signature])
    with pytest.raises(TrustListError):
        load_trust_list(forged, [root.public])


def test_kid_must_match_key(trust: TrustList) -> None:
    doc = trust.to_document()
    doc["members"][2]["keys"][0]["kid"] = "00" * 8
    with pytest.raises(TrustListError) as info:
        TrustList.from_document(doc)
    assert info.value.code == "TRUST_LIST_MALFORMED"


def test_demo_federation_ships_with_the_package() -> None:
    trust = trustfile.load(None, None)
    assert [m.region for m in trust.members] == ["310000", "320000", "330000", "340000"]
    assert {k.public.alg for k in trust.keys} == {-8, -7}
    shanghai = [k for k in trust.keys if k.region == "310000"]
    assert len(shanghai) == 2  # one rotated out, one current
    assert trust.expires_at > datetime(2027, 12, 31, 23, 59, tzinfo=UTC)
    assert trust.known_host("127.0.0.1:8000")


def test_package_copy_equals_the_demo_keys_folder() -> None:
    for name in ("trust-list.cose", "root.pub.pem"):
        packaged = REPO / "quarantine" / "data" / "demo" / name
        assert packaged.read_bytes() == (REPO / "keys" / "demo" / name).read_bytes()


def test_unreadable_trust_file(tmp_path: object) -> None:
    from pathlib import Path

    missing = Path(str(tmp_path)) / "nope.cose"
    with pytest.raises(EnvironmentProblem) as info:
        trustfile.load(missing, None)
    assert info.value.code == "TRUST_FILE_UNREADABLE"


def test_member_ranges(trust: TrustList) -> None:
    member = trust.member("330109")
    assert member is not None and member.region == "330000"
    assert trust.member("110000") is None
    assert dataclasses.replace(member, left=member.joined).is_member_on(member.joined)
