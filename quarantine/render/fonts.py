"""Finding a font that can draw Chinese for raster certificates.

Order: the explicit argument, the environment variable ``QUARANTINE_CJK_FONT``,
a list of well-known system paths, then fontconfig (``fc-match``).  When
nothing is found, :class:`CjkFontMissing` tells the user what to install.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Final

from quarantine.errors import EnvironmentProblem

ENV_VAR: Final = "QUARANTINE_CJK_FONT"

#: Known locations of CJK fonts, most preferred first.
KNOWN_CJK_FONTS: Final[tuple[str, ...]] = (
    # Debian / Ubuntu: fonts-wqy-microhei, fonts-wqy-zenhei
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    # Fedora / Arch WenQuanYi
    "/usr/share/fonts/wqy-microhei/wqy-microhei.ttc",
    "/usr/share/fonts/wenquanyi/wqy-microhei/wqy-microhei.ttc",
    "/usr/share/fonts/wqy-zenhei/wqy-zenhei.ttc",
    # Noto Sans / Serif CJK: Debian fonts-noto-cjk, Fedora, Arch
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-sans-cjk-vf-fonts/NotoSansCJK-VF.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSerifCJK-Regular.ttc",
    # Source Han (Adobe)
    "/usr/share/fonts/opentype/source-han-sans/SourceHanSansSC-Regular.otf",
    "/usr/share/fonts/adobe-source-han-sans/SourceHanSansCN-Regular.otf",
    "/usr/share/fonts/adobe-source-han-sans/SourceHanSans.ttc",
    "/usr/share/fonts/adobe-source-han-serif/SourceHanSerifCN-Regular.otf",
    # Droid fallback (Debian fonts-droid-fallback)
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    # macOS and Windows
    "/System/Library/Fonts/PingFang.ttc",
    "/System/Library/Fonts/STHeiti Light.ttc",
    "/Library/Fonts/Arial Unicode.ttf",
    "C:/Windows/Fonts/msyh.ttc",
    "C:/Windows/Fonts/simsun.ttc",
)

_PROBE: Final = "植物检疫证书"
_HINT_ZH: Final = "请安装中文字体（Debian/Ubuntu：apt-get install fonts-wqy-microhei）或设置环境变量 QUARANTINE_CJK_FONT 指向字体文件"
_HINT_EN: Final = (
    "install a Chinese font (Debian/Ubuntu: apt-get install fonts-wqy-microhei) "
    "or set QUARANTINE_CJK_FONT to a font file"
)


class CjkFontMissing(EnvironmentProblem):
    """No font that can draw Chinese is available."""

    code = "CJK_FONT_MISSING"


def _missing(what_zh: str, what_en: str) -> CjkFontMissing:
    return CjkFontMissing("CJK_FONT_MISSING", f"{what_zh}；{_HINT_ZH}", f"{what_en}; {_HINT_EN}")


def face_index(path: Path) -> int:
    """Face of a font collection to use: Simplified Chinese in Noto/Source Han CJK."""
    name = path.name.lower()
    if path.suffix.lower() == ".ttc" and ("notosanscjk" in name or "notoserifcjk" in name):
        return 2  # order in the collections: JP, KR, SC, TC, HK
    return 0


def draws_chinese(path: Path) -> bool:
    """True when Pillow can open ``path`` and it has real glyphs for Chinese."""
    from PIL import Image, ImageDraw, ImageFont

    try:
        font = ImageFont.truetype(str(path), 32, index=face_index(path))
    except OSError:
        return False

    def ink(text: str) -> bytes:
        image = Image.new("L", (48, 48), 0)
        ImageDraw.Draw(image).text((4, 4), text, fill=255, font=font)
        return image.tobytes()

    missing = ink("\U0010fffd")  # a private-use code point: the font's "missing" glyph
    return all(ink(ch) not in (missing, bytes(48 * 48)) for ch in _PROBE)


def _fontconfig() -> Path | None:
    """Best fontconfig match for Chinese that really covers ``zh``, if any."""
    exe = shutil.which("fc-match")
    if exe is None:
        return None
    try:
        out = subprocess.run(  # noqa: S603 - fixed argv, fc-match found on PATH
            [exe, "--sort", "--format", "%{file}\t%{lang}\n", ":lang=zh-cn"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    # fc-match may rank a Latin font first (it weighs the family above the
    # language); take the first font whose coverage really includes Chinese.
    for line in out.splitlines()[:500]:
        file, _, langs = line.partition("\t")
        if "zh-cn" in langs.split("|") and Path(file).is_file():
            return Path(file)
    return None


def find_cjk_font(
    explicit: str | os.PathLike[str] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    candidates: Sequence[str | os.PathLike[str]] = KNOWN_CJK_FONTS,
    use_fontconfig: bool = True,
) -> Path:
    """Path of a font that draws Chinese; :class:`CjkFontMissing` when there is none.

    An explicit path or ``QUARANTINE_CJK_FONT`` that does not exist, or cannot
    draw Chinese, is an error rather than silently replaced.
    """
    env = os.environ if environ is None else environ
    chosen = explicit if explicit is not None else (env.get(ENV_VAR) or None)
    if chosen is not None:
        source = "font_path" if explicit is not None else ENV_VAR
        path = Path(chosen)
        if not path.is_file():
            raise _missing(
                f"字体文件不存在：{path}（{source}）", f"font file {path} ({source}) not found"
            )
        if not draws_chinese(path):
            raise _missing(
                f"字体无法显示中文：{path}（{source}）",
                f"font {path} ({source}) cannot draw Chinese",
            )
        return path
    for candidate in candidates:
        path = Path(candidate)
        if path.is_file() and draws_chinese(path):
            return path
    if use_fontconfig:
        found = _fontconfig()
        if found is not None and draws_chinese(found):
            return found
    raise _missing("未找到可显示中文的字体", "no font that can draw Chinese was found")
