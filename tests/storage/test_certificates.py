"""CertificateStore: add, get, search, pagination, derived status."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from quarantine.core.codec import detail_digest, record_matches
from quarantine.core.model import Certificate, LineItem, Party
from quarantine.core.status import EventType, StatusEvent
from quarantine.errors import InputError, LimitExceeded
from quarantine.storage.models import LineItemRow
from quarantine.storage.repositories import (
    MAX_PAGE_SIZE,
    CertificateStore,
    CertStatus,
    EventStore,
    NumberInUse,
)
from tests.conftest import cst
from tests.storage.conftest import NOW, numbered


def test_add_and_get_round_trip(
    sessions: sessionmaker[Session], reference_cert: Certificate
) -> None:
    with sessions.begin() as s:
        stored = CertificateStore(s).add(reference_cert, "HC1:QRTEXT", "0123456789abcdef", NOW)
    assert stored.number == "330109-2026-004871"
    with sessions() as s:
        got = CertificateStore(s).get("330109-2026-004871")
        assert got is not None
        items = s.execute(select(LineItemRow).order_by(LineItemRow.position)).scalars().all()
    assert got == stored
    assert got.qr_text == "HC1:QRTEXT"
    assert got.kid == "0123456789abcdef"
    assert got.issued_at == reference_cert.issued_at
    assert got.issued_at.tzinfo is not None
    assert got.created_at == NOW
    assert got.consignor == "杭州萧山绿源苗木专业合作社"
    assert got.detail_digest == detail_digest(reference_cert)
    rebuilt = got.certificate()
    assert rebuilt.salt == reference_cert.salt
    assert detail_digest(rebuilt) == got.detail_digest
    assert record_matches(reference_cert, rebuilt)
    assert [i.product for i in items] == [i.product for i in reference_cert.items]
    assert [i.quantity for i in items] == [i.quantity for i in reference_cert.items]
    with sessions() as s:
        assert CertificateStore(s).get("330109-2026-000001") is None


def test_the_record_keeps_the_agents_full_id(
    sessions: sessionmaker[Session], reference_cert: Certificate
) -> None:
    assert reference_cert.agent is not None and reference_cert.agent.id_number
    with sessions.begin() as s:
        CertificateStore(s).add(reference_cert, "HC1:X", "k", NOW)
    with sessions() as s:
        got = CertificateStore(s).get(str(reference_cert.number))
    assert got is not None
    assert got.record["agent"]["id_number"] == reference_cert.agent.id_number


def test_a_number_is_stored_once(
    sessions: sessionmaker[Session], reference_cert: Certificate
) -> None:
    with sessions.begin() as s:
        CertificateStore(s).add(reference_cert, "HC1:X", "k", NOW)
    with sessions() as s, pytest.raises(NumberInUse) as exc:
        CertificateStore(s).add(reference_cert, "HC1:Y", "k", NOW)
    assert exc.value.code == "NUMBER_IN_USE"


def test_decimal_quantities_keep_three_places(
    sessions: sessionmaker[Session], reference_cert: Certificate
) -> None:
    cert = replace(reference_cert, items=(LineItem("香樟", Decimal("12.125"), "株"),))
    with sessions.begin() as s:
        CertificateStore(s).add(cert, "HC1:X", "k", NOW)
    with sessions() as s:
        assert s.execute(select(LineItemRow.quantity)).scalar_one() == Decimal("12.125")


def _populate(sessions: sessionmaker[Session], cert: Certificate) -> None:
    """Seven certificates over three regions, issued an hour apart."""
    rows = [
        ("330109-2026-000001", "甲苗圃", "上海园林", "香樟"),
        ("330109-2026-000002", "乙苗圃", "上海园林", "桂花"),
        ("330109-2026-000003", "甲苗圃", "南京绿化", "红叶石楠"),
        ("330110-2026-000001", "丙苗圃", "上海园林", "香樟"),
        ("320102-2026-000001", "甲苗圃", "杭州城建", "银杏"),
        ("320102-2026-000002", "丁_100%苗圃", "杭州城建", "银杏"),
        ("310115-2025-000009", "甲苗圃", "上海园林", "香樟"),
    ]
    with sessions.begin() as s:
        store = CertificateStore(s)
        for i, (number, consignor, consignee, product) in enumerate(rows):
            store.add(
                numbered(
                    cert,
                    number,
                    issued_at=cst("2026-11-20T08:00") + timedelta(hours=i),
                    consignor=Party(consignor),
                    consignee=Party(consignee),
                    items=(LineItem(product, Decimal(10), "株"),),
                ),
                f"HC1:{number}",
                "k",
                NOW,
            )


def _numbers(sessions: sessionmaker[Session], **filters: object) -> list[str]:
    with sessions() as s:
        page = CertificateStore(s).search(now=NOW, **filters)  # type: ignore[arg-type]
    assert page.total >= len(page.items)
    return [hit.certificate.number for hit in page.items]


def test_search_filters(sessions: sessionmaker[Session], reference_cert: Certificate) -> None:
    _populate(sessions, reference_cert)
    assert len(_numbers(sessions)) == 7
    assert _numbers(sessions, number="330109-2026") == [
        "330109-2026-000003",
        "330109-2026-000002",
        "330109-2026-000001",
    ]
    assert _numbers(sessions, consignor="甲") == [
        "310115-2025-000009",
        "320102-2026-000001",
        "330109-2026-000003",
        "330109-2026-000001",
    ]
    assert _numbers(sessions, consignee="南京") == ["330109-2026-000003"]
    assert _numbers(sessions, product="银杏") == ["320102-2026-000002", "320102-2026-000001"]
    assert _numbers(sessions, consignor="_100%") == ["320102-2026-000002"]  # LIKE escaped
    assert _numbers(sessions, consignor="%") == ["320102-2026-000002"]
    assert _numbers(sessions, region="330110") == ["330110-2026-000001"]
    assert len(_numbers(sessions, region="330100")) == 4  # a city covers its districts
    assert len(_numbers(sessions, region="320000")) == 2  # a province covers its cities
    assert _numbers(sessions, product="香樟", consignee="上海", region="330000") == [
        "330110-2026-000001",
        "330109-2026-000001",
    ]
    window = {"issued_from": cst("2026-11-20T09:00"), "issued_to": cst("2026-11-20T11:00")}
    assert _numbers(sessions, **window) == ["330109-2026-000003", "330109-2026-000002"]
    assert _numbers(sessions, consignor="nobody") == []


def test_search_pages_are_stable(
    sessions: sessionmaker[Session], reference_cert: Certificate
) -> None:
    _populate(sessions, reference_cert)
    seen: list[str] = []
    for page_no in (1, 2, 3):
        with sessions() as s:
            page = CertificateStore(s).search(now=NOW, page=page_no, size=3)
        assert page.total == 7
        assert page.pages == 3
        seen += [h.certificate.number for h in page.items]
    assert len(seen) == len(set(seen)) == 7
    assert seen == _numbers(sessions, size=7)


def test_search_limits(sessions: sessionmaker[Session]) -> None:
    with sessions() as s:
        store = CertificateStore(s)
        with pytest.raises(LimitExceeded):
            store.search(now=NOW, size=MAX_PAGE_SIZE + 1)
        with pytest.raises(LimitExceeded):
            store.search(now=NOW, page=0)
        with pytest.raises(LimitExceeded):
            store.search(now=NOW, consignor="x" * 101)
        with pytest.raises(InputError) as exc:
            store.search(now=NOW, region="33")
        assert exc.value.code == "BAD_REGION"


def test_status_is_derived_from_events_and_time(
    sessions: sessionmaker[Session], reference_cert: Certificate
) -> None:
    # All valid 2026-11-28 .. 2026-12-05 (China time).
    numbers = [f"330109-2026-00000{i}" for i in range(1, 8)]
    with sessions.begin() as s:
        store, events = CertificateStore(s), EventStore(s)
        for n in numbers:
            store.add(numbered(reference_cert, n), f"HC1:{n}", "k", NOW)
        at = cst("2026-11-29T12:00")
        events.append(numbers[0], StatusEvent(EventType.REVOKED, at, "wrong goods"), "t1", NOW)
        events.append(
            numbers[1],
            StatusEvent(EventType.SUPERSEDED, at, "re-issue", "330109-2026-000099"),
            "t1",
            NOW,
        )
        events.append(numbers[2], StatusEvent(EventType.ARRIVED, at), "t1", NOW)
        events.append(numbers[3], StatusEvent(EventType.SUSPENDED, at, "check"), "t1", NOW)
        events.append(numbers[4], StatusEvent(EventType.SUSPENDED, at, "check"), "t1", NOW)
        events.append(
            numbers[4], StatusEvent(EventType.REINSTATED, at + timedelta(hours=1)), "t1", NOW
        )
        events.append(numbers[5], StatusEvent(EventType.REINSPECTED, at), "t1", NOW)
        # An event in the future of NOW does not count yet.
        events.append(
            numbers[6], StatusEvent(EventType.REVOKED, cst("2026-12-03T00:00")), "t1", NOW
        )
    expected = {
        numbers[0]: CertStatus.REVOKED,
        numbers[1]: CertStatus.SUPERSEDED,
        numbers[2]: CertStatus.CLOSED,
        numbers[3]: CertStatus.SUSPENDED,
        numbers[4]: CertStatus.VALID,
        numbers[5]: CertStatus.VALID,
        numbers[6]: CertStatus.VALID,
    }
    with sessions() as s:
        store = CertificateStore(s)
        page = store.search(now=NOW, size=10)
        assert {h.certificate.number: h.status for h in page.items} == expected
        for n, status in expected.items():
            assert store.status(n, NOW) is status
        for status in CertStatus:
            want = sorted(n for n, st in expected.items() if st is status)
            got = sorted(h.certificate.number for h in store.search(now=NOW, status=status).items)
            assert got == want, status
        later = cst("2026-12-10T00:00")
        assert store.status(numbers[6], cst("2026-12-04T00:00")) is CertStatus.REVOKED
        assert store.status(numbers[5], later) is CertStatus.EXPIRED
        assert store.status(numbers[5], cst("2026-11-27T23:00")) is CertStatus.NOT_YET_VALID
        assert store.status(numbers[0], later) is CertStatus.REVOKED
        expired = store.search(now=later, status=CertStatus.EXPIRED).items
        assert sorted(h.certificate.number for h in expired) == [numbers[4], numbers[5]]
        assert store.status("330109-2026-000999", NOW) is None


def test_validity_dates_are_china_dates(
    sessions: sessionmaker[Session], reference_cert: Certificate
) -> None:
    cert = replace(reference_cert, valid_to=date(2026, 12, 5))
    with sessions.begin() as s:
        CertificateStore(s).add(cert, "HC1:X", "k", NOW)
    with sessions() as s:
        store = CertificateStore(s)
        # 2026-12-05T23:30 in China is 15:30 UTC: still the last valid day.
        assert store.status(str(cert.number), cst("2026-12-05T23:30")) is CertStatus.VALID
        assert store.status(str(cert.number), cst("2026-12-06T00:00")) is CertStatus.EXPIRED


def test_add_many_stores_every_certificate_or_refuses_a_used_number(
    sessions: sessionmaker[Session], reference_cert: Certificate
) -> None:
    certs = [numbered(reference_cert, f"310112-2026-00000{i}") for i in (1, 2, 3)]
    with sessions.begin() as s:
        stored = CertificateStore(s).add_many(
            [(c, f"QR{i}", "kid1") for i, c in enumerate(certs)], NOW
        )
    assert [x.number for x in stored] == [str(c.number) for c in certs]
    with sessions() as s:
        found = CertificateStore(s).get_with_events("310112-2026-000002")
        assert found is not None and found[0].qr_text == "QR1" and found[1] == ()
        assert found[0] == CertificateStore(s).get("310112-2026-000002")
        assert CertificateStore(s).get_with_events("310112-2026-000009") is None
    with sessions() as s, pytest.raises(NumberInUse):
        CertificateStore(s).add_many(
            [(numbered(reference_cert, "310112-2026-000004"), "QR", "k"), (certs[0], "QR", "k")],
            NOW,
        )
