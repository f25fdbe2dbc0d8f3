"""CJK font discovery: explicit path, environment variable, known paths, fontconfig."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from quarantine.errors import EnvironmentProblem
from quarantine.render import fonts
from quarantine.render.fonts import ENV_VAR, CjkFontMissing, find_cjk_font


@pytest.fixture(scope="module")
def system_font() -> Path:
    try:
        return find_cjk_font(environ={})
    except CjkFontMissing:
        pytest.skip("no CJK font installed (apt-get install fonts-wqy-microhei)")


@pytest.fixture
def font_copy(system_font: Path, tmp_path: Path) -> Path:
    copy = tmp_path / f"copy{system_font.suffix}"
    shutil.copyfile(system_font, copy)
    return copy


def test_env_var_wins_over_known_paths(system_font: Path, font_copy: Path) -> None:
    found = find_cjk_font(environ={ENV_VAR: str(font_copy)}, candidates=[system_font])
    assert found == font_copy


def test_explicit_path_wins_over_env_var(system_font: Path, font_copy: Path) -> None:
    found = find_cjk_font(system_font, environ={ENV_VAR: str(font_copy)})
    assert found == system_font


def test_known_paths_in_order(system_font: Path, font_copy: Path, tmp_path: Path) -> None:
    missing = tmp_path / "nope.ttc"
    found = find_cjk_font(environ={}, candidates=[missing, font_copy, system_font])
    assert found == font_copy


def test_default_list_starts_with_wqy_microhei() -> None:
    assert fonts.KNOWN_CJK_FONTS[0].endswith("wqy-microhei.ttc")
    assert any("NotoSansCJK" in p for p in fonts.KNOWN_CJK_FONTS)
    assert any("SourceHan" in p for p in fonts.KNOWN_CJK_FONTS)


def _assert_clear(err: CjkFontMissing) -> None:
    assert isinstance(err, EnvironmentProblem)
    assert err.code == "CJK_FONT_MISSING"
    assert "fonts-wqy-microhei" in err.message_en
    assert ENV_VAR in err.message_en
    assert "fonts-wqy-microhei" in err.message_zh
    assert ENV_VAR in err.message_zh


def test_nothing_found_is_a_clear_error() -> None:
    with pytest.raises(CjkFontMissing) as info:
        find_cjk_font(environ={}, candidates=[], use_fontconfig=False)
    _assert_clear(info.value)


def test_env_var_to_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(CjkFontMissing) as info:
        find_cjk_font(environ={ENV_VAR: str(tmp_path / "gone.ttf")})
    _assert_clear(info.value)
    assert "gone.ttf" in info.value.message_en


def test_env_var_to_non_font_is_an_error(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.ttf"
    bogus.write_bytes(b"not a font")
    with pytest.raises(CjkFontMissing, match="cannot draw Chinese"):
        find_cjk_font(environ={ENV_VAR: str(bogus)})


def test_empty_env_var_is_ignored(system_font: Path) -> None:
    assert find_cjk_font(environ={ENV_VAR: ""}, candidates=[system_font]) == system_font


def test_fontconfig_picks_a_font_that_covers_chinese(
    system_font: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """fc-match may rank a Latin font first; the first font covering zh-cn is taken."""
    output = (
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf\taa|en|fr\n"
        f"{system_font}\ten|ja|zh-cn|zh-tw\n"
    )

    def fake_run(*args: Any, **kwargs: Any) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess(args, 0, stdout=output, stderr="")

    monkeypatch.setattr("quarantine.render.fonts.shutil.which", lambda _name: "/usr/bin/fc-match")
    monkeypatch.setattr("quarantine.render.fonts.subprocess.run", fake_run)
    assert find_cjk_font(environ={}, candidates=[]) == system_font


def test_no_fontconfig_no_font(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("quarantine.render.fonts.shutil.which", lambda _name: None)
    with pytest.raises(CjkFontMissing):
        find_cjk_font(environ={}, candidates=[])


def test_real_environment_variable(font_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_VAR, str(font_copy))
    assert find_cjk_font() == font_copy
