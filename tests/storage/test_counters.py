"""NumberCounter: the database NumberRegistry, atomic under concurrency."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from quarantine.core.model import Certificate, CertificateNumber
from quarantine.errors import LimitExceeded
from quarantine.services.issuing import NumberRegistry
from quarantine.storage.repositories import CertificateStore, NumberCounter, NumberInUse
from tests.storage.conftest import NOW, numbered


def n(text: str) -> CertificateNumber:
    return CertificateNumber.parse(text)


def _allocate(sessions: sessionmaker[Session], region: str, year: int = 2026) -> str:
    with sessions.begin() as s:
        return str(NumberCounter(s).allocate(region, year, NOW))


def test_is_a_number_registry(sessions: sessionmaker[Session]) -> None:
    with sessions() as s:
        registry: NumberRegistry = NumberCounter(s)
        assert registry is not None


def test_allocate_counts_from_one_per_region_and_year(sessions: sessionmaker[Session]) -> None:
    assert [_allocate(sessions, "310112") for _ in range(3)] == [
        "310112-2026-000001",
        "310112-2026-000002",
        "310112-2026-000003",
    ]
    assert _allocate(sessions, "310115") == "310115-2026-000001"
    assert _allocate(sessions, "310112", 2027) == "310112-2027-000001"


def test_claims(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        NumberCounter(s).claim(n("310112-2026-000005"), NOW)
    with sessions() as s, pytest.raises(NumberInUse) as exc:
        NumberCounter(s).claim(n("310112-2026-000005"), NOW)
    assert exc.value.code == "NUMBER_IN_USE"
    assert "310112-2026-000005" in exc.value.message_zh
    assert _allocate(sessions, "310112") == "310112-2026-000006"  # the counter follows claims
    with sessions() as s, pytest.raises(NumberInUse):
        NumberCounter(s).claim(n("310112-2026-000006"), NOW)  # allocated numbers are used
    with sessions.begin() as s:
        NumberCounter(s).claim(n("310112-2026-000002"), NOW)  # a gap below: allowed once
    assert _allocate(sessions, "310112") == "310112-2026-000007"


def test_claim_of_an_issued_number_is_refused(
    sessions: sessionmaker[Session], reference_cert: Certificate
) -> None:
    """A certificate stored without passing the counter (e.g. imported) blocks its number."""
    with sessions.begin() as s:
        CertificateStore(s).add(numbered(reference_cert, "330109-2026-000002"), "HC1:X", "k", NOW)
    with sessions() as s, pytest.raises(NumberInUse):
        NumberCounter(s).claim(n("330109-2026-000002"), NOW)
    assert _allocate(sessions, "330109") == "330109-2026-000001"
    assert _allocate(sessions, "330109") == "330109-2026-000003"  # skips the issued one


def test_a_failed_claim_leaves_nothing_behind(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        NumberCounter(s).claim(n("310112-2026-000001"), NOW)
    with sessions() as s, pytest.raises(NumberInUse):
        NumberCounter(s).claim(n("310112-2026-000001"), NOW)
    assert _allocate(sessions, "310112") == "310112-2026-000002"


def test_serials_exhausted(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        NumberCounter(s).claim(n("310112-2026-999999"), NOW)
    with sessions() as s, pytest.raises(LimitExceeded) as exc:
        NumberCounter(s).allocate("310112", 2026, NOW)
    assert exc.value.code == "SERIALS_EXHAUSTED"
    assert _allocate(sessions, "310112", 2027) == "310112-2027-000001"


def test_concurrent_allocations_are_distinct(
    engine: Engine, sessions: sessionmaker[Session]
) -> None:
    """20 threads × 10 allocations, each in its own session and transaction."""
    threads, each = 20, 10
    start = threading.Barrier(threads)

    def worker(_: int) -> list[str]:
        start.wait()
        return [_allocate(sessions, "330109") for _ in range(each)]

    with ThreadPoolExecutor(max_workers=threads) as pool:
        results = [num for batch in pool.map(worker, range(threads)) for num in batch]
    assert len(results) == len(set(results)) == threads * each
    assert sorted(results) == [f"330109-2026-{i:06d}" for i in range(1, threads * each + 1)]


def test_concurrent_claims_of_one_number_succeed_once(sessions: sessionmaker[Session]) -> None:
    start = threading.Barrier(8)

    def worker(_: int) -> bool:
        start.wait()
        try:
            with sessions.begin() as s:
                NumberCounter(s).claim(n("330109-2026-004871"), NOW)
        except NumberInUse:
            return False
        return True

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(worker, range(8)))
    assert outcomes.count(True) == 1


def test_allocate_many_hands_out_consecutive_numbers_per_agency(
    sessions: sessionmaker[Session],
) -> None:
    _allocate(sessions, "310112")
    with sessions.begin() as s:
        got = NumberCounter(s).allocate_many(
            {("330109", 2026): 2, ("310112", 2026): 3, ("310112", 2027): 1}, NOW
        )
    assert {k: [str(x) for x in v] for k, v in got.items()} == {
        ("310112", 2026): ["310112-2026-000002", "310112-2026-000003", "310112-2026-000004"],
        ("310112", 2027): ["310112-2027-000001"],
        ("330109", 2026): ["330109-2026-000001", "330109-2026-000002"],
    }
    assert _allocate(sessions, "310112") == "310112-2026-000005"


def test_allocate_many_skips_numbers_claimed_ahead_and_rolls_back_whole(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as s:
        NumberCounter(s).claim(n("310112-2026-000002"), NOW)
    with sessions.begin() as s:
        s.execute(text("UPDATE number_counters SET last = 0 WHERE region = '310112'"))
    with sessions.begin() as s:
        got = NumberCounter(s).allocate_many({("310112", 2026): 3}, NOW)
    assert [str(x) for x in got[("310112", 2026)]] == [
        "310112-2026-000001",
        "310112-2026-000003",
        "310112-2026-000004",
    ]
    with sessions() as s:
        NumberCounter(s).allocate_many({("310112", 2026): 5}, NOW)
        s.rollback()
    assert _allocate(sessions, "310112") == "310112-2026-000005"


def test_allocate_many_refuses_past_the_last_serial(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        NumberCounter(s).claim(n("310112-2026-999998"), NOW)
    with sessions() as s, pytest.raises(LimitExceeded):
        NumberCounter(s).allocate_many({("310112", 2026): 2}, NOW)


def test_concurrent_batches_of_several_agencies_do_not_deadlock(
    sessions: sessionmaker[Session],
) -> None:
    regions = ["310112", "310115", "330109", "340104"]

    def batch(i: int) -> list[str]:
        wanted = {(regions[(i + k) % 4], 2026): 1 + k for k in range(4)}
        with sessions.begin() as s:
            got = NumberCounter(s).allocate_many(wanted, NOW)
        return [str(x) for numbers in got.values() for x in numbers]

    with ThreadPoolExecutor(8) as pool:
        numbers = [x for got in pool.map(batch, range(16)) for x in got]
    assert len(numbers) == len(set(numbers)) == 16 * 10
    for region in regions:
        serials = sorted(int(x[-6:]) for x in numbers if x.startswith(region))
        assert serials == list(range(1, len(serials) + 1))
