"""keystore: key files on disk, listing, choosing the signing key, loading."""

from __future__ import annotations

import json
import shutil
from datetime import datetime
from pathlib import Path

import pytest

from quarantine import keystore
from quarantine.core.keys import ALG_ES256
from quarantine.core.model import CHINA_TZ
from quarantine.errors import EnvironmentProblem

REPO = Path(__file__).resolve().parents[1]
DEMO_KEYS = REPO / "keys" / "demo"
LABELS: dict[str, str] = json.loads((DEMO_KEYS / "labels.json").read_text())


def cst(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=CHINA_TZ)


@pytest.fixture
def demo_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "keys"
    shutil.copytree(DEMO_KEYS, folder)
    return folder


def test_list_keys_of_the_demo_folder() -> None:
    keys = keystore.list_keys(DEMO_KEYS)
    assert {k.kid for k in keys} == set(LABELS.values())
    assert [(k.region, k.not_before) for k in keys] == sorted(
        (k.region, k.not_before) for k in keys
    )
    assert all(k.demo and k.private_path is not None for k in keys)
    ah = next(k for k in keys if k.kid == LABELS["ah-2024"])
    assert ah.alg == "ES256"
    assert ah.region == "340000"


def test_list_keys_ignores_unrelated_json(demo_copy: Path) -> None:
    # labels.json and trust-list.json already live there; add more noise.
    (demo_copy / "notes.json").write_text("not even json")
    (demo_copy / "31-short.json").write_text("{}")
    (demo_copy / "settings.json").write_text('{"region": "310000"}')
    sub = demo_copy / "310000-subfolder"
    sub.mkdir()
    (sub / "310000-0011223344556677.json").write_text("{}")
    assert {k.kid for k in keystore.list_keys(demo_copy)} == set(LABELS.values())


def test_list_keys_of_a_missing_folder_is_empty(tmp_path: Path) -> None:
    assert keystore.list_keys(tmp_path / "nowhere") == []


def test_list_keys_reports_broken_metadata(tmp_path: Path) -> None:
    tmp_path.joinpath("310000-0011223344556677.json").write_text(
        json.dumps({"region": "310000", "kid": "0011223344556677", "alg": "EdDSA"})
    )
    with pytest.raises(EnvironmentProblem) as exc:
        keystore.list_keys(tmp_path)
    assert exc.value.code == "KEY_METADATA_INVALID"


def test_key_without_private_part_is_listed_but_never_chosen(demo_copy: Path) -> None:
    kid = LABELS["js-2024"]
    (demo_copy / f"320000-{kid}.DEMO.key.pem").unlink()
    (info,) = [k for k in keystore.list_keys(demo_copy) if k.kid == kid]
    assert info.private_path is None
    with pytest.raises(EnvironmentProblem) as missing:
        keystore.load_signer(info, None)
    assert missing.value.code == "PRIVATE_KEY_MISSING"
    with pytest.raises(EnvironmentProblem) as none:
        keystore.signing_key_for(demo_copy, "320506", cst("2026-12-01T10:00"))
    assert none.value.code == "NO_SIGNING_KEY"


@pytest.mark.parametrize(
    ("region", "at", "label"),
    [
        ("310000", "2026-12-01T10:00", "sh-2026"),  # newest covering key
        ("310112", "2026-12-01T10:00", "sh-2026"),  # district → province key
        ("310115", "2026-07-01T00:00", "sh-2026"),  # first second of the new key
        ("310112", "2026-06-30T23:59", "sh-2024"),  # old key still covers
        ("310112", "2025-03-01T08:00", "sh-2024"),
        ("330109", "2026-12-01T10:00", "zj-2024"),
        ("340104", "2030-01-01T00:00", "ah-2024"),  # open-ended window
        ("320583", "2024-01-01T00:00", "js-2024"),
    ],
)
def test_signing_key_for(region: str, at: str, label: str) -> None:
    info = keystore.signing_key_for(DEMO_KEYS, region, cst(at))
    assert info.kid == LABELS[label]


def test_signing_key_for_prefers_the_newest_of_overlapping_keys(tmp_path: Path) -> None:
    old = keystore.generate_key(tmp_path, "330000", not_before=cst("2024-01-01T00:00"), demo=True)
    new = keystore.generate_key(tmp_path, "330000", not_before=cst("2026-01-01T00:00"), demo=True)
    district = keystore.generate_key(
        tmp_path, "330109", not_before=cst("2026-06-01T00:00"), demo=True
    )
    assert keystore.signing_key_for(tmp_path, "330109", cst("2025-06-01T00:00")).kid == old.kid
    assert keystore.signing_key_for(tmp_path, "330102", cst("2026-12-01T00:00")).kid == new.kid
    assert keystore.signing_key_for(tmp_path, "330109", cst("2026-12-01T00:00")).kid == district.kid
    # A key of another province of the same first digit never counts.
    with pytest.raises(EnvironmentProblem):
        keystore.signing_key_for(tmp_path, "310112", cst("2026-12-01T00:00"))


@pytest.mark.parametrize(
    ("region", "at"),
    [
        ("310112", "2023-12-31T23:59"),  # before every Shanghai key
        ("999999", "2026-12-01T10:00"),  # no such province
        ("350102", "2026-12-01T10:00"),  # Fujian: not a member
    ],
)
def test_no_signing_key(region: str, at: str) -> None:
    with pytest.raises(EnvironmentProblem) as exc:
        keystore.signing_key_for(DEMO_KEYS, region, cst(at))
    assert exc.value.code == "NO_SIGNING_KEY"
    assert exc.value.message_zh and exc.value.message_en


def test_generate_and_load_round_trip(tmp_path: Path) -> None:
    info = keystore.generate_key(
        tmp_path,
        "340000",
        not_before=cst("2026-01-01T00:00"),
        not_after=cst("2027-12-31T23:59"),
        alg=ALG_ES256,
        passphrase=b"pw",
    )
    (listed,) = keystore.list_keys(tmp_path)
    assert listed == info
    assert listed.covers(cst("2026-01-01T00:00"))
    assert not listed.covers(cst("2028-01-01T00:00"))
    assert keystore.load_signer(listed, b"pw").alg == ALG_ES256
    assert keystore.load_public(listed).kid.hex() == info.kid


def test_generate_refuses_plain_production_key(tmp_path: Path) -> None:
    with pytest.raises(EnvironmentProblem) as exc:
        keystore.generate_key(tmp_path, "310000", not_before=cst("2026-01-01T00:00"))
    assert exc.value.code == "PASSPHRASE_REQUIRED"
    assert not tmp_path.joinpath("keys").exists()
    assert list(tmp_path.iterdir()) == []


def test_wrong_passphrase_is_an_environment_problem(tmp_path: Path) -> None:
    info = keystore.generate_key(
        tmp_path, "310000", not_before=cst("2026-01-01T00:00"), passphrase=b"right"
    )
    for passphrase in (b"wrong", None):
        with pytest.raises(EnvironmentProblem) as exc:
            keystore.load_signer(info, passphrase)
        assert exc.value.code == "KEY_MALFORMED"
        assert "right" not in exc.value.message_en


def test_swapped_private_key_is_detected(demo_copy: Path) -> None:
    sh, js = LABELS["sh-2026"], LABELS["js-2024"]
    shutil.copy(demo_copy / f"320000-{js}.DEMO.key.pem", demo_copy / f"310000-{sh}.DEMO.key.pem")
    info = next(k for k in keystore.list_keys(demo_copy) if k.kid == sh)
    with pytest.raises(EnvironmentProblem) as exc:
        keystore.load_signer(info, None)
    assert exc.value.code == "KEY_MISMATCH"
