"""Signed feed entries and page verification: every way a peer's feed can be wrong."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import pytest

from quarantine.core import cbor, cose
from quarantine.core.document import from_document
from quarantine.core.feed import (
    GENESIS,
    CertificateBody,
    EntryKind,
    FeedEntry,
    FeedError,
    OperatorBody,
    SignedEntry,
    StatusBody,
    open_entry,
    parse_body,
    sign_entry,
    verify_page,
)
from quarantine.core.keys import Signer
from quarantine.core.signing import sign_certificate
from quarantine.core.status import EventType
from quarantine.core.trust import Member, TrustedKey, TrustList
from tests.conftest import REPO, cst

JS = Signer.generate()
JS_OLD = Signer.generate()
ZJ = Signer.generate()
TRUST = TrustList(
    1,
    cst("2026-01-01T00:00"),
    cst("2029-12-31T00:00"),
    (
        Member("320000", "江苏", "Jiangsu", date(2024, 1, 1)),
        Member("330000", "浙江", "Zhejiang", date(2024, 1, 1)),
    ),
    (
        TrustedKey("320000", JS_OLD.public, cst("2024-01-01T00:00"), cst("2026-06-30T23:59")),
        TrustedKey("320000", JS.public, cst("2026-07-01T00:00")),
        TrustedKey("330000", ZJ.public, cst("2024-01-01T00:00")),
    ),
)
NOW = cst("2026-12-01T12:00")


def _cert_qr(region: str = "320506", signer: Signer = JS) -> str:
    doc: dict[str, Any] = json.loads(
        (REPO / "samples" / "input" / "transport-inter.json").read_text("utf-8")
    )
    doc["number"] = f"{region}-2026-000001"
    doc["issuing_agency"] = {"region": region}
    doc["delegating_agency"] = None
    doc["route"]["from"] = region
    cert = replace(from_document(doc), salt=b"\x02" * 16)
    return sign_certificate(cert, signer, base_url="http://127.0.0.1:8102").text


QR = _cert_qr()


def body(kind: EntryKind, n: int) -> dict[str, Any]:
    if kind is EntryKind.CERTIFICATE:
        return {"qr": QR}
    if kind is EntryKind.STATUS_EVENT:
        return {"number": "320506-2026-000001", "type": "REVOKED", "at": NOW.isoformat()}
    if kind is EntryKind.OPERATOR:
        return {
            "registration": f"苏检登320506-{n:04d}",
            "name": "吴中苗圃",
            "region": "320506",
            "registered_on": "2026-01-05",
        }
    if kind is EntryKind.SCAN:  # inspection records
        return {
            "id": f"320000:{n}",
            "number": "320506-2026-000001",
            "at": NOW.isoformat(),
            "region": "320506",
        }
    if kind is EntryKind.VIOLATION:  # inspection records
        return {
            "id": f"320000:v{n}",
            "operator": "苏检登1",
            "region": "320506",
            "kind": "REUSE",
            "severity": 2,
            "at": NOW.isoformat(),
        }
    return {
        "number": "320506-2026-000001",
        "at": NOW.isoformat(),
        "result": "PASSED",
        "region": "310115",
    }


KINDS = list(EntryKind)


def chain(n: int, *, origin: str = "320000", signer: Signer = JS) -> list[SignedEntry]:
    out: list[SignedEntry] = []
    prev = GENESIS
    for seq in range(1, n + 1):
        kind = KINDS[(seq - 1) % len(KINDS)]
        entry = FeedEntry(
            origin,
            seq,
            prev,
            kind,
            cst("2026-11-30T10:00") + timedelta(seconds=seq),
            body(kind, seq),
        )
        signed = sign_entry(entry, signer)
        out.append(signed)
        prev = signed.hash
    return out


FEED = chain(8)
BLOBS = [e.cose for e in FEED]


def page(blobs: list[bytes], head: int = 0, **kw: Any) -> Any:
    head_hash = FEED[head - 1].hash if head else GENESIS
    return verify_page(
        blobs, trust=TRUST, peer_region="320000", head_seq=head, head_hash=head_hash, now=NOW, **kw
    )


def test_a_good_page_is_accepted_whole() -> None:
    result = page(BLOBS)
    assert result.error is None
    assert [e.entry.seq for e in result.accepted] == list(range(1, 9))
    assert result.accepted[-1].hash == FEED[-1].hash


def test_a_page_that_repeats_the_head_accepts_nothing_twice() -> None:
    result = page(BLOBS[3:], head=4)
    assert result.error is None and result.repeated_head
    assert [e.entry.seq for e in result.accepted] == [5, 6, 7, 8]
    again = page(BLOBS[7:], head=8)
    assert again.error is None and again.accepted == () and again.repeated_head


@pytest.mark.parametrize(
    "served",
    [
        [],  # the peer lost its history (or was reset)
        BLOBS[4:],  # it skips the accepted head
        [sign_entry(replace(FEED[3].entry, at=FEED[3].entry.at + timedelta(1)), JS).cose],
    ],
)
def test_a_peer_that_no_longer_serves_the_head(served: list[bytes]) -> None:
    result = page(served, head=4, overlap=True)
    assert result.accepted == ()
    assert result.error is not None and result.error.code == "FEED_REWRITTEN"
    assert page(BLOBS[3:], head=4, overlap=True).error is None


def test_gap() -> None:
    result = page(BLOBS[:3] + BLOBS[4:])
    assert [e.entry.seq for e in result.accepted] == [1, 2, 3]
    assert result.error is not None and result.error.code == "FEED_GAP" and result.error.seq == 5


def test_fork_a_different_history() -> None:
    other = chain(8, signer=JS)  # same origin and key, other times: another history
    other = [
        sign_entry(replace(e.entry, at=e.entry.at + timedelta(minutes=1)), JS) for e in other[:1]
    ]
    forked = sign_entry(
        FeedEntry("320000", 2, other[0].hash, EntryKind.OPERATOR, NOW, body(EntryKind.OPERATOR, 2)),
        JS,
    )
    result = page([forked.cose], head=1)
    assert result.error is not None and result.error.code == "FEED_FORK"
    assert result.accepted == ()


def test_rewritten_head_is_detected() -> None:
    changed = {**FEED[3].entry.body, "result": "FAILED"}
    resigned = sign_entry(replace(FEED[3].entry, body=changed), JS)
    result = page([resigned.cose, *BLOBS[4:]], head=4)
    assert result.error is not None and result.error.code == "FEED_REWRITTEN"
    assert result.accepted == ()


def test_resigned_middle_entry_breaks_the_link() -> None:
    # Entry 3 re-signed with the same content (ES/EdDSA deterministic, so change the time).
    resigned = sign_entry(replace(FEED[2].entry, at=FEED[2].entry.at + timedelta(seconds=1)), JS)
    result = page([*BLOBS[:2], resigned.cose, *BLOBS[3:]])
    assert [e.entry.seq for e in result.accepted] == [1, 2, 3]
    assert result.error is not None and result.error.code == "FEED_FORK"
    assert result.error.seq == 4


def test_tampered_entry_stops_the_page() -> None:
    msg = cose.decode_sign1(BLOBS[4])
    payload = cbor.strict_loads(msg.payload)
    payload[6] = {**payload[6], "name": "伪造苗圃"}
    tampered = cbor.dumps([msg.protected_bytes, {}, cbor.dumps(payload), msg.signature])
    result = page([*BLOBS[:4], tampered, *BLOBS[5:]])
    assert [e.entry.seq for e in result.accepted] == [1, 2, 3, 4]
    assert result.error is not None and result.error.code == "FEED_BAD_SIGNATURE"


def test_oversized_page_is_refused_before_any_work() -> None:
    result = page(BLOBS, max_entries=5)
    assert result.accepted == ()
    assert result.error is not None and result.error.code == "FEED_PAGE_TOO_LARGE"


def test_oversized_entry() -> None:
    result = page([b"\x00" * 20_000])
    assert result.error is not None and result.error.code == "FEED_ENTRY_TOO_LARGE"


def test_entry_of_another_origin() -> None:
    zj = chain(1, origin="330000", signer=ZJ)
    result = page([zj[0].cose])
    assert result.error is not None and result.error.code == "FEED_WRONG_ORIGIN"


@pytest.mark.parametrize(
    ("signer", "at", "code"),
    [
        (ZJ, "2026-11-30T10:00", "FEED_UNKNOWN_KEY"),  # Zhejiang's key for a Jiangsu entry
        (Signer.generate(), "2026-11-30T10:00", "FEED_UNKNOWN_KEY"),
        (JS_OLD, "2026-11-30T10:00", "FEED_KEY_OUTSIDE_WINDOW"),  # rotated out in June
        (JS, "2026-12-01T12:06", "FEED_IN_FUTURE"),
        (JS, "2026-12-01T12:04", ""),  # within the clock skew
    ],
)
def test_entry_keys_and_times(signer: Signer, at: str, code: str) -> None:
    entry = FeedEntry(
        "320000", 1, GENESIS, EntryKind.OPERATOR, cst(at), body(EntryKind.OPERATOR, 1)
    )
    blob = sign_entry(entry, signer).cose
    if not code:
        assert open_entry(blob, TRUST, now=NOW).entry.seq == 1
        return
    with pytest.raises(FeedError) as info:
        open_entry(blob, TRUST, now=NOW)
    assert info.value.code == code


def test_a_certificate_cose_is_not_an_entry() -> None:
    from quarantine.core import compress, qrtext

    blob = compress.unpack(qrtext.decode(QR).payload)
    with pytest.raises(FeedError) as info:
        open_entry(blob, TRUST, now=NOW)
    assert info.value.code == "FEED_MALFORMED"


@pytest.mark.parametrize(
    ("kind", "bad"),
    [
        (EntryKind.CERTIFICATE, {"qr": "not a qr"}),
        (EntryKind.CERTIFICATE, {"qr": _cert_qr("330109", ZJ)}),  # Zhejiang's certificate
        (EntryKind.CERTIFICATE, {"qr": _cert_qr("320506", ZJ)}),  # signed with another key
        (EntryKind.STATUS_EVENT, {"number": "x", "type": "REVOKED", "at": NOW.isoformat()}),
        (  # Jiangsu may not revoke Zhejiang's certificate
            EntryKind.STATUS_EVENT,
            {"number": "330109-2026-000001", "type": "REVOKED", "at": NOW.isoformat()},
        ),
        (EntryKind.STATUS_EVENT, {"number": "320506-2026-000001", "type": "NOPE", "at": "x"}),
        (
            EntryKind.STATUS_EVENT,
            {"number": "320506-2026-000001", "type": "REVOKED", "at": "2026-12-01T10:00"},
        ),
        (
            EntryKind.REINSPECTION,
            {"number": "320506-2026-000001", "at": NOW.isoformat(), "result": "MAYBE"},
        ),
        (
            EntryKind.OPERATOR,
            {"registration": "x", "name": "y", "region": "330109", "registered_on": "2026-01-01"},
        ),
        (
            EntryKind.OPERATOR,
            {"registration": "x", "name": "y", "region": "320506", "registered_on": "soon"},
        ),
    ],
)
def test_bad_bodies(kind: EntryKind, bad: dict[str, Any]) -> None:
    entry = FeedEntry("320000", 1, GENESIS, kind, NOW, bad)
    with pytest.raises(FeedError) as info:
        open_entry(sign_entry(entry, JS).cose, TRUST, now=NOW)
    assert info.value.code == "FEED_BAD_BODY"


def test_bodies_parse_to_types() -> None:
    parsed = [parse_body(e.entry, TRUST) for e in FEED[:4]]
    assert isinstance(parsed[0], CertificateBody)
    assert str(parsed[0].certificate.number) == "320506-2026-000001"
    assert isinstance(parsed[1], StatusBody) and parsed[1].type is EventType.REVOKED
    assert isinstance(parsed[2], OperatorBody) and parsed[2].registered_on == date(2026, 1, 5)


def test_error_words() -> None:
    exc = FeedError("FEED_GAP", "expected 5", 7)
    assert "seq 7" in exc.message_zh and "expected 5" in exc.message_en
