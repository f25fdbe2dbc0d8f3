"""Settings.from_env: QUARANTINE_* variables into one settings object."""

from __future__ import annotations

from pathlib import Path

import pytest

from quarantine.errors import EnvironmentProblem
from quarantine.settings import Settings


def test_defaults(tmp_path: Path) -> None:
    settings = Settings.from_env({})
    assert settings.data_dir.name == "quarantine"
    assert settings.keys_dir is None
    assert settings.resolved_keys_dir() == settings.data_dir / "keys"
    assert settings.trust_list is None
    assert settings.trust_anchor is None
    assert settings.base_url == "http://127.0.0.1:8000"
    assert settings.region == "310000"
    assert settings.clock_skew_seconds == 300
    assert settings.passphrase_bytes() is None


def test_paths_strings_and_ints(tmp_path: Path) -> None:
    env = {
        "QUARANTINE_DATA_DIR": str(tmp_path / "data"),
        "QUARANTINE_KEYS_DIR": str(tmp_path / "keys"),
        "QUARANTINE_TRUST_LIST": str(tmp_path / "trust.cose"),
        "QUARANTINE_TRUST_ANCHOR": str(tmp_path / "root.pem"),
        "QUARANTINE_BASE_URL": "https://verify.example.cn",
        "QUARANTINE_REGION": "330000",
        "QUARANTINE_KEY_PASSPHRASE": "口令 secret",
        "QUARANTINE_CLOCK_SKEW_SECONDS": "42",
        "QUARANTINE_UNRELATED": "ignored",
        "DATA_DIR": "/not/ours",
    }
    settings = Settings.from_env(env)
    assert settings.data_dir == tmp_path / "data"
    assert settings.keys_dir == tmp_path / "keys"
    assert settings.resolved_keys_dir() == tmp_path / "keys"
    assert settings.trust_list == tmp_path / "trust.cose"
    assert settings.trust_anchor == tmp_path / "root.pem"
    assert isinstance(settings.data_dir, Path)
    assert settings.base_url == "https://verify.example.cn"
    assert settings.region == "330000"
    assert settings.clock_skew_seconds == 42
    assert isinstance(settings.clock_skew_seconds, int)
    assert settings.passphrase_bytes() == "口令 secret".encode()


def test_passphrase_never_in_repr() -> None:
    settings = Settings.from_env({"QUARANTINE_KEY_PASSPHRASE": "hunter2"})
    assert "hunter2" not in repr(settings)


def test_home_is_expanded(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    settings = Settings.from_env({"QUARANTINE_DATA_DIR": "~/q"})
    assert settings.data_dir == tmp_path / "q"


def test_empty_values_mean_default() -> None:
    settings = Settings.from_env(
        {"QUARANTINE_CLOCK_SKEW_SECONDS": "", "QUARANTINE_KEYS_DIR": "", "QUARANTINE_REGION": ""}
    )
    assert settings.clock_skew_seconds == 300
    assert settings.keys_dir is None
    assert settings.region == "310000"


def test_reads_os_environ(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("QUARANTINE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("QUARANTINE_CLOCK_SKEW_SECONDS", "0")
    settings = Settings.from_env()
    assert settings.data_dir == tmp_path
    assert settings.clock_skew_seconds == 0


@pytest.mark.parametrize("raw", ["abc", "5m", "1.5", "300 s", "0x10"])
def test_bad_clock_skew_is_rejected(raw: str) -> None:
    with pytest.raises(EnvironmentProblem) as exc:
        Settings.from_env({"QUARANTINE_CLOCK_SKEW_SECONDS": raw})
    assert exc.value.code == "BAD_SETTING"
    assert "QUARANTINE_CLOCK_SKEW_SECONDS" in exc.value.message_en
    assert raw in exc.value.message_en


def test_negative_clock_skew_is_rejected() -> None:
    """A negative allowance would make valid certificates fail near their edges."""
    with pytest.raises(EnvironmentProblem) as exc:
        Settings.from_env({"QUARANTINE_CLOCK_SKEW_SECONDS": "-300"})
    assert exc.value.code == "BAD_SETTING"
