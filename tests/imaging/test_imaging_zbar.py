"""The zbar stage survives pyzbar issue #139 and single bad symbols; stages fail alone."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from pyzbar import pyzbar
from pyzbar import wrapper as zw

from quarantine.imaging import decode_image_bytes, stages, zbar
from quarantine.imaging.stages import Candidate, Context, Stage
from tests.imaging.imaging_helpers import CERT_TEXT, encode, paste_on, qr_image


def _two_codes() -> np.ndarray[Any, np.dtype[np.uint8]]:
    items = [(qr_image("FIRST"), (10, 10)), (qr_image("SECOND"), (400, 10))]
    return np.asarray(paste_on((800, 400), items))


def _bogus_orientation(_symbol: object) -> int:
    # zbar's ZBAR_ORIENT_UNKNOWN (-1) as pyzbar reads it through c_uint.
    return 4294967295


def test_issue_139_is_reproduced_and_survived(monkeypatch: pytest.MonkeyPatch) -> None:
    gray = _two_codes()
    monkeypatch.setattr(pyzbar, "zbar_symbol_get_orientation", _bogus_orientation)
    monkeypatch.setattr(zw, "zbar_symbol_get_orientation", _bogus_orientation)
    with pytest.raises(ValueError, match="ZBarOrientation"):
        pyzbar.decode(gray, symbols=[pyzbar.ZBarSymbol.QRCODE])
    assert sorted(raw for raw, _ in zbar.read_qr(gray)) == [b"FIRST", b"SECOND"]


def test_one_bad_symbol_does_not_lose_the_others(monkeypatch: pytest.MonkeyPatch) -> None:
    real = zw.zbar_symbol_get_data_length
    calls: list[int] = []

    def flaky(symbol: object) -> int:
        calls.append(1)
        if len(calls) == 1:
            raise ValueError("simulated failure on the first symbol")
        return int(real(symbol))

    monkeypatch.setattr(zw, "zbar_symbol_get_data_length", flaky)
    found = zbar.read_qr(_two_codes())
    assert len(found) == 1
    assert found[0][0] in (b"FIRST", b"SECOND")


def test_zbar_bytes_are_raw_and_corners_mapped() -> None:
    raw = "Ünïcode\r\n".encode()
    gray = np.asarray(paste_on((600, 600), [(qr_image(raw), (100, 120))]))
    frame = stages.Frame(gray[::2, ::2].copy(), 0.5)
    (cand,) = stages.zbar_read(frame, "zbar")
    assert cand.raw == raw
    assert cand.text == raw.decode("utf-8")
    xs = [p[0] for p in cand.quad]
    assert min(xs) >= 100  # mapped back from the half-size frame
    assert zbar.text_of(b"\xff\xfe") == "\xff\xfe".encode("latin-1").decode("latin-1")


def test_a_failing_stage_is_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(_ctx: Context) -> list[Candidate]:
        raise RuntimeError("stage crashed")

    broken = (Stage("zxing", boom), *stages.STAGES[1:])
    monkeypatch.setattr("quarantine.imaging.pipeline.STAGES", broken)
    result = decode_image_bytes(encode(qr_image(CERT_TEXT)))
    assert [c.text for c in result.codes] == [CERT_TEXT]
    assert result.codes[0].stage != "zxing"


def test_real_issue_139_image() -> None:
    """A corpus picture on which plain pyzbar raises; the guarded scan reads it."""
    from tests.imaging.imaging_helpers import CORPUS

    path = CORPUS / "zxing-cpp" / "qrcode-7"
    if not path.is_dir():
        pytest.skip(f"shared corpus not found at {path}")
    from quarantine.imaging.limits import ImageLimits
    from quarantine.imaging.load import load_image

    raised = 0
    for image in sorted(path.glob("*.png")):
        gray = load_image(image.read_bytes(), ImageLimits()).gray
        try:
            pyzbar.decode(gray, symbols=[pyzbar.ZBarSymbol.QRCODE])
        except ValueError:
            raised += 1
            assert len(zbar.read_qr(gray)) == 1
    assert raised >= 1
