"""Recognition between members: table-driven tests at every edge."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from quarantine.core.document import from_document
from quarantine.core.keys import ALG_ES256, Signer
from quarantine.core.model import Certificate, CertificateNumber, Kind, LineItem, Party
from quarantine.core.reasons import CATALOGUE
from quarantine.core.recognition import (
    Agreement,
    AgreementError,
    BarPeriod,
    SharedRecord,
    one_year_end,
    recognise,
    recognition_window,
)
from quarantine.core.status import EventType, StatusEvent
from quarantine.core.trust import Member, TrustedKey, TrustList
from tests.conftest import REPO, cst

SH_OLD = Signer.generate()
SH_NEW = Signer.generate()
JS = Signer.generate()
ZJ = Signer.generate()
AH = Signer.generate(ALG_ES256)
FJ = Signer.generate()  # Fujian: not a member

TRUST = TrustList(
    1,
    cst("2026-01-01T00:00"),
    cst("2029-12-31T00:00"),
    (
        Member("310000", "上海", "Shanghai", date(2024, 1, 1)),
        Member("320000", "江苏", "Jiangsu", date(2024, 1, 1)),
        Member("330000", "浙江", "Zhejiang", date(2024, 1, 1), left=date(2027, 6, 30)),
        Member("340000", "安徽", "Anhui", date(2026, 1, 1)),
    ),
    (
        TrustedKey("310000", SH_OLD.public, cst("2024-01-01T00:00"), cst("2026-06-30T23:59:59")),
        TrustedKey("310000", SH_NEW.public, cst("2026-07-01T00:00")),
        TrustedKey("320000", JS.public, cst("2024-01-01T00:00")),
        TrustedKey("330000", ZJ.public, cst("2024-01-01T00:00")),
        TrustedKey("340000", AH.public, cst("2026-01-01T00:00")),
    ),
)
AGREEMENT = Agreement(
    low_risk_categories=frozenset({"花卉种子"}),
    product_categories={"香樟": "绿化苗木", "桂花": "绿化苗木", "红叶石楠": "绿化苗木"},
)
SIGNERS = {"31": SH_NEW, "32": JS, "33": ZJ, "34": AH, "35": FJ}


def _doc(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((REPO / "samples" / "input" / name).read_text("utf-8"))
    return doc


TRANSPORT = from_document(_doc("transport-inter.json"))  # 330109 → 310115, 2026-11-28
LETTER = from_document(_doc("requirement.json"))  # 310000, 2026-11-27, 绿化苗木


def record(cert: Certificate, signer: Signer | None = None, *events: StatusEvent) -> SharedRecord:
    key = signer or SIGNERS[cert.number.region[:2]]
    if signer is None and key is SH_NEW and cert.issued_at < cst("2026-07-01T00:00"):
        key = SH_OLD
    return SharedRecord(cert, key.kid, tuple(events))


def letter(issued: str, **changes: Any) -> Certificate:
    at = cst(issued)
    base: dict[str, Any] = {"issued_at": at, "valid_from": at.date(), "valid_to": date(2030, 1, 1)}
    return replace(LETTER, **{**base, **changes})


def pass_of(region: str, issued: str, **changes: Any) -> Certificate:
    """A producing-area pass of ``region`` issued at ``issued`` (stated validity: long)."""
    at = cst(issued)
    return replace(
        LETTER,
        kind=Kind.PRODUCING_AREA,
        number=CertificateNumber(region, at.year, 7),
        issued_at=at,
        valid_from=at.date(),
        valid_to=date(2031, 1, 1),
        consignee=None,
        category="",
        producer=Party("萧山绿源苗圃", registration="浙检登330109-0001"),
        **changes,
    )


def check(rec: SharedRecord, region: str, at: str, **kw: Any) -> tuple[bool, tuple[str, ...]]:
    result = recognise(rec, region=region, at=cst(at), trust=TRUST, agreement=AGREEMENT, **kw)
    return result.recognised, result.codes


def errors(codes: tuple[str, ...]) -> set[str]:
    return {c for c in codes if CATALOGUE[c][0].value == "error"}


# --------------------------------------------------------------------------- one year


@pytest.mark.parametrize(
    ("issued", "last"),
    [
        (date(2026, 3, 15), date(2027, 3, 15)),
        (date(2027, 3, 15), date(2028, 3, 15)),  # spans 29 Feb 2028: 366 days
        (date(2028, 2, 29), date(2029, 2, 28)),  # no 29 Feb in 2029: the month's last day
        (date(2027, 2, 28), date(2028, 2, 28)),
        (date(2026, 12, 31), date(2027, 12, 31)),
    ],
)
def test_one_year_end(issued: date, last: date) -> None:
    assert one_year_end(issued) == last


@pytest.mark.parametrize(
    ("issued", "asked", "ok", "code"),
    [
        ("2026-03-15T09:00", "2026-03-15T09:30", True, ""),  # day of issue
        ("2026-03-15T09:00", "2027-03-15T23:00", True, ""),  # 365 days after issue
        ("2026-03-15T09:00", "2027-03-16T12:00", False, "EXPIRED"),  # 366 days after
        ("2027-03-15T09:00", "2028-03-15T12:00", True, ""),  # 366 days after: leap year
        ("2027-03-15T09:00", "2028-03-16T12:00", False, "EXPIRED"),  # 367 days after
        ("2028-02-29T09:00", "2029-02-28T12:00", True, ""),
        ("2028-02-29T09:00", "2029-03-01T12:00", False, "EXPIRED"),
        ("2026-03-15T09:00", "2026-03-14T12:00", False, "NOT_YET_VALID"),
    ],
)
def test_requirement_letter_one_year(issued: str, asked: str, ok: bool, code: str) -> None:
    ok_, codes = check(record(letter(issued)), "310000", asked)
    assert ok_ is ok
    assert (code in codes) if code else codes[0] == "RECOGNISED"


def test_stated_validity_shorter_than_a_year_holds() -> None:
    cert = letter("2026-03-15T09:00", valid_to=date(2026, 6, 30))
    assert recognition_window(cert, AGREEMENT) == (date(2026, 3, 15), date(2026, 6, 30))
    assert check(record(cert), "320000", "2026-07-01T10:00")[1][-1] == "EXPIRED"


def test_transport_certificate_uses_its_own_dates() -> None:
    cert = replace(TRANSPORT, valid_to=date(2028, 12, 31))
    assert recognition_window(cert, AGREEMENT) == (date(2026, 11, 28), date(2028, 12, 31))


def test_producing_area_pass_one_year() -> None:
    cert = pass_of("320000", "2026-11-01T10:00")
    assert check(record(cert), "310000", "2027-11-01T20:00")[0] is True
    assert "EXPIRED" in check(record(cert), "310000", "2027-11-02T08:00")[1]


# --------------------------------------------------------------------------- membership


@pytest.mark.parametrize(
    ("origin", "issued", "region", "asked", "ok", "code"),
    [
        # Anhui joined on 2026-01-01
        ("340000", "2026-01-01T08:00", "310000", "2026-03-01T10:00", True, ""),
        ("340000", "2025-12-31T08:00", "310000", "2026-03-01T10:00", False, "ISSUER_NOT_MEMBER"),
        ("310000", "2025-06-01T08:00", "340000", "2025-12-31T10:00", False, "REGION_NOT_MEMBER"),
        ("310000", "2025-06-01T08:00", "340000", "2026-01-01T00:10", True, ""),
        # Zhejiang left after 2027-06-30
        ("330000", "2027-01-10T08:00", "310000", "2027-06-30T23:00", True, ""),
        ("330000", "2027-01-10T08:00", "310000", "2027-07-01T08:00", False, "ORIGIN_NOT_MEMBER"),
        ("310000", "2027-01-10T08:00", "330000", "2027-07-01T08:00", False, "REGION_NOT_MEMBER"),
        # not a member at all
        ("350000", "2026-05-01T08:00", "310000", "2026-06-01T08:00", False, "ORIGIN_NOT_MEMBER"),
        ("310000", "2026-05-01T08:00", "350000", "2026-06-01T08:00", False, "REGION_NOT_MEMBER"),
    ],
)
def test_membership_edges(
    origin: str, issued: str, region: str, asked: str, ok: bool, code: str
) -> None:
    ok_, codes = check(record(pass_of(origin, issued)), region, asked)
    assert ok_ is ok, codes
    if code:
        assert code in codes


def test_non_member_key_is_unknown() -> None:
    _, codes = check(record(pass_of("350000", "2026-05-01T08:00")), "310000", "2026-06-01T08:00")
    assert {"ORIGIN_NOT_MEMBER", "UNKNOWN_KEY"} <= set(codes)


# --------------------------------------------------------------------------- keys


@pytest.mark.parametrize(
    ("issued", "signer", "ok", "code"),
    [
        ("2026-06-30T20:00", SH_OLD, True, ""),  # old key, inside its window, asked after rotation
        ("2026-07-01T10:00", SH_OLD, False, "KEY_OUTSIDE_WINDOW"),
        ("2026-07-01T10:00", SH_NEW, True, ""),
        ("2026-06-30T20:00", SH_NEW, False, "KEY_OUTSIDE_WINDOW"),
        ("2026-07-01T10:00", JS, False, "ISSUER_MISMATCH"),  # another member's key
        ("2026-07-01T10:00", FJ, False, "UNKNOWN_KEY"),
    ],
)
def test_key_rotation(issued: str, signer: Signer, ok: bool, code: str) -> None:
    ok_, codes = check(record(pass_of("310000", issued), signer), "320000", "2026-12-01T10:00")
    assert ok_ is ok, codes
    if code:
        assert errors(codes) == {code}


# --------------------------------------------------------------------------- status


REVOKED = StatusEvent(EventType.REVOKED, cst("2026-12-10T15:00"), "伪造")
SUSPENDED = StatusEvent(EventType.SUSPENDED, cst("2026-12-10T15:00"), "待查")
REINSTATED = StatusEvent(EventType.REINSTATED, cst("2026-12-12T09:00"), "查清")
SUPERSEDED = StatusEvent(
    EventType.SUPERSEDED, cst("2026-12-10T15:00"), "换证", superseded_by="310000-2026-000099"
)


@pytest.mark.parametrize(
    ("events", "asked", "ok", "code"),
    [
        ((REVOKED,), "2026-12-10T14:59", True, ""),  # recognised before the revocation …
        ((REVOKED,), "2026-12-10T15:00", False, "REVOKED"),  # … not from then on
        ((REVOKED,), "2027-01-10T10:00", False, "REVOKED"),
        ((SUSPENDED,), "2026-12-11T10:00", False, "SUSPENDED"),
        ((SUSPENDED, REINSTATED), "2026-12-12T10:00", True, ""),
        ((SUPERSEDED,), "2026-12-11T10:00", False, "SUPERSEDED"),
    ],
)
def test_status_events(events: tuple[StatusEvent, ...], asked: str, ok: bool, code: str) -> None:
    rec = record(letter("2026-12-01T09:00"), None, *events)
    ok_, codes = check(rec, "320000", asked)
    assert ok_ is ok
    if code:
        assert errors(codes) == {code}


# --------------------------------------------------------------------------- clock skew


@pytest.mark.parametrize(
    ("asked", "skew_minutes", "ok", "code"),
    [
        ("2026-12-06T00:04", 5, True, ""),  # valid to 2026-12-05: inside the skew
        ("2026-12-06T00:06", 5, False, "EXPIRED"),
        ("2026-12-06T00:04", 0, False, "EXPIRED"),
        ("2026-11-28T09:27", 5, True, ""),  # issued 09:30: three minutes ahead
        ("2026-11-28T09:20", 5, False, "ISSUED_IN_FUTURE"),
        ("2026-11-27T23:57", 5, False, "ISSUED_IN_FUTURE"),
    ],
)
def test_clock_skew(asked: str, skew_minutes: int, ok: bool, code: str) -> None:
    cert = replace(TRANSPORT, valid_to=date(2026, 12, 5))
    skew = timedelta(minutes=skew_minutes)
    ok_, codes = check(record(cert), "330000", asked, skew=skew)
    assert ok_ is ok, codes
    if code:
        assert code in codes


# --------------------------------------------------------------------------- operators


def test_barred_operator() -> None:
    rec = record(pass_of("330000", "2026-11-01T10:00"))
    bars = {"浙检登330109-0001": [BarPeriod(date(2026, 12, 1), date(2026, 12, 31), "320000")]}
    assert check(rec, "310000", "2026-11-30T10:00", barred=bars)[0] is True
    ok, codes = check(rec, "310000", "2026-12-01T10:00", barred=bars)
    assert not ok and errors(codes) == {"OPERATOR_BARRED"}
    assert check(rec, "310000", "2027-01-01T10:00", barred=bars)[0] is True


# --------------------------------------------------------------------------- requirement letters


def test_transport_with_a_valid_letter() -> None:
    result = recognise(
        record(TRANSPORT),
        region="310000",
        at=cst("2026-11-29T10:00"),
        trust=TRUST,
        agreement=AGREEMENT,
        letters=[record(LETTER)],
    )
    assert result.recognised
    assert "REQUIREMENT_LETTER_FOUND" in result.codes
    assert result.requirement_letter == "310000-2026-000031"


@pytest.mark.parametrize(
    "letters",
    [
        [],
        [record(LETTER, None, StatusEvent(EventType.REVOKED, cst("2026-11-28T08:00")))],
        [record(replace(LETTER, consignee=Party("另一家公司")))],
        [record(replace(LETTER, category="盆景"))],
        [record(replace(LETTER, number=CertificateNumber("320000", 2026, 31)), JS)],  # not S's
        [record(replace(LETTER, issued_at=cst("2025-11-20T09:00")))],  # older than a year
    ],
)
def test_transport_without_a_valid_letter(letters: list[SharedRecord]) -> None:
    ok, codes = check(record(TRANSPORT), "310000", "2026-11-29T10:00", letters=letters)
    assert not ok
    assert errors(codes) == {"REQUIREMENT_LETTER_MISSING"}


def test_low_risk_category_needs_no_letter() -> None:
    seeds = replace(TRANSPORT, items=(LineItem("月季种子", Decimal(1), "kg"),), category="花卉种子")
    ok, codes = check(record(seeds), "310000", "2026-11-29T10:00")
    assert ok and "LOW_RISK_NO_REQUIREMENT" in codes


def test_no_letter_needed_in_the_origin_province() -> None:
    ok, codes = check(record(TRANSPORT), "330000", "2026-11-29T10:00")
    assert ok and not any(c.startswith("REQUIREMENT") for c in codes)


# --------------------------------------------------------------------------- agreement


def test_kind_not_covered() -> None:
    narrow = replace(AGREEMENT, kinds=frozenset({Kind.TRANSPORT}))
    result = recognise(
        record(letter("2026-12-01T09:00")),
        region="320000",
        at=cst("2026-12-02T09:00"),
        trust=TRUST,
        agreement=narrow,
    )
    assert not result.recognised and result.codes == ("KIND_NOT_COVERED",)


def test_agreement_document_round_trip() -> None:
    assert Agreement.from_document(AGREEMENT.to_document()) == AGREEMENT
    with pytest.raises(AgreementError):
        Agreement.from_document({"kinds": ["NOPE"]})
    with pytest.raises(AgreementError):
        Agreement.from_document({"low_risk_categories": "花卉种子"})


def test_result_document_has_words() -> None:
    result = recognise(
        record(letter("2026-12-01T09:00")),
        region="320000",
        at=cst("2026-12-02T09:00"),
        trust=TRUST,
        agreement=AGREEMENT,
    )
    doc = result.to_dict()
    assert doc["recognised"] is True and doc["valid_until"] == "2027-12-01"
    assert doc["messages"][0]["zh"] and doc["messages"][0]["en"]


def test_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        recognise(
            record(LETTER),
            region="320000",
            at=datetime(2026, 12, 2),
            trust=TRUST,
            agreement=AGREEMENT,
        )
