"""Decode counts on the shared photo corpus, as floors, and no wrong text.

Counting rules:

* an image counts as read when one returned code equals its ``NAME.txt``: the
  code's bytes (``raw``) equal the file's bytes, or — for codes whose bytes are in
  another charset such as Shift_JIS, where the ``.txt`` holds the UTF-8 text —
  the code's text encoded as UTF-8 equals them;
* ``zxing-cpp/qrcode-7`` is one message in four structured-append symbols, one
  per picture: each picture counts as read when it yields exactly one code and
  the four texts joined in file-name order equal ``01.txt`` (the pipeline
  returns each part as its own code; zxing-cpp's Python binding exposes no
  sequence index to join them by);
* a wrong text is a returned code that is neither the expected text nor another
  code really in the picture.  Two pictures hold two codes (a small red code
  inside a large black one): ``qrcode-2/16`` in both sets, and each set's
  ``16.txt`` names a different one of the two, so each picture's second code is
  the other set's label.  ``zxing-java``'s
  ``qrcode-2/13.png`` is the same picture as ``zxing-cpp``'s ``qrcode-2/13.webp``
  but its ``.txt`` lacks one letter ("photograph" for "photography"): the
  symbol's data length is that of ``zxing-cpp``'s label, so that text is
  accepted there as correct for the mismatch count, and the picture is not
  counted as read.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from quarantine.imaging import DecodedCode, decode_image_file
from tests.imaging.imaging_helpers import CORPUS

EXTENSIONS = {".png", ".jpg", ".jpeg", ".webp"}
FLOORS = {"zxing-cpp": 133, "zxing-java": 169}
TOTALS = {"zxing-cpp": 141, "zxing-java": 179}
STRUCTURED_APPEND = "zxing-cpp/qrcode-7"


def _other_true_texts() -> dict[str, bytes]:
    """Texts that are really in a picture besides (or instead of) its label."""
    return {
        "zxing-cpp/qrcode-2/16.webp": (CORPUS / "zxing-java/qrcode-2/16.txt").read_bytes(),
        "zxing-java/qrcode-2/16.png": (CORPUS / "zxing-cpp/qrcode-2/16.txt").read_bytes(),
        "zxing-java/qrcode-2/13.png": (CORPUS / "zxing-cpp/qrcode-2/13.txt").read_bytes(),
    }


def matches(code: DecodedCode, expected: bytes) -> bool:
    return code.raw == expected or code.text.encode("utf-8") == expected


@dataclass
class Tally:
    read: dict[str, int] = field(default_factory=dict)
    images: dict[str, int] = field(default_factory=dict)
    wrong: list[str] = field(default_factory=list)
    missed: list[str] = field(default_factory=list)


def run_corpus() -> Tally:
    tally = Tally()
    alternatives = _other_true_texts()
    for subset in FLOORS:
        tally.read[subset] = 0
        tally.images[subset] = 0
        for path in sorted((CORPUS / subset).rglob("*")):
            if path.suffix.lower() not in EXTENSIONS:
                continue
            rel = path.relative_to(CORPUS).as_posix()
            if rel.startswith(STRUCTURED_APPEND):
                continue
            tally.images[subset] += 1
            expected = path.with_suffix(".txt").read_bytes()
            codes = decode_image_file(path).codes
            if any(matches(c, expected) for c in codes):
                tally.read[subset] += 1
            else:
                tally.missed.append(rel)
            allowed = {expected} | ({alternatives[rel]} if rel in alternatives else set())
            others = [c for c in codes if not any(matches(c, a) for a in allowed)]
            tally.wrong.extend(f"{rel}: {c.raw[:40]!r}" for c in others)
    _structured_append(tally)
    return tally


def _structured_append(tally: Tally) -> None:
    folder = CORPUS / STRUCTURED_APPEND
    parts = sorted(folder.glob("01-*.png"))
    tally.images["zxing-cpp"] += len(parts)
    texts: list[bytes] = []
    for part in parts:
        codes = decode_image_file(part).codes
        if len(codes) == 1:
            texts.append(codes[0].raw)
    if len(texts) == len(parts) and b"".join(texts) == (folder / "01.txt").read_bytes():
        tally.read["zxing-cpp"] += len(parts)
    else:
        tally.missed.extend(p.relative_to(CORPUS).as_posix() for p in parts)


@pytest.fixture(scope="module")
def tally() -> Tally:
    if not CORPUS.is_dir():
        pytest.skip(f"shared photo corpus not found at {CORPUS.resolve()}")
    return run_corpus()


def test_corpus_image_counts(tally: Tally) -> None:
    assert tally.images == TOTALS


@pytest.mark.parametrize("subset", sorted(FLOORS))
def test_corpus_floor(tally: Tally, subset: str) -> None:
    assert tally.read[subset] >= FLOORS[subset], (tally.read, tally.missed)


def test_corpus_no_wrong_text(tally: Tally) -> None:
    assert tally.wrong == []
