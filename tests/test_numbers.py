"""NumberStore: certificate numbers unique per region and year, never reused."""

from __future__ import annotations

import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from datetime import datetime
from pathlib import Path

import pytest

from quarantine.core.model import CHINA_TZ, CertificateNumber
from quarantine.errors import InputError, LimitExceeded
from quarantine.storage.numbers import NumberInUse, NumberStore

AT = datetime(2026, 12, 1, 10, 0, tzinfo=CHINA_TZ)


@pytest.fixture
def store(tmp_path: Path) -> NumberStore:
    return NumberStore(tmp_path / "state" / "numbers.sqlite3")


def n(text: str) -> CertificateNumber:
    return CertificateNumber.parse(text)


def test_allocate_counts_from_one(store: NumberStore) -> None:
    got = [str(store.allocate("310112", 2026, AT)) for _ in range(3)]
    assert got == ["310112-2026-000001", "310112-2026-000002", "310112-2026-000003"]
    assert store.path.exists()  # parent folder created on demand


def test_claim_refuses_a_number_twice(store: NumberStore) -> None:
    store.claim(n("330109-2026-004871"), AT)
    with pytest.raises(NumberInUse) as exc:
        store.claim(n("330109-2026-004871"), AT)
    assert exc.value.code == "NUMBER_IN_USE"
    assert isinstance(exc.value, InputError)
    assert "330109-2026-004871" in exc.value.message_en


def test_claim_of_an_allocated_number_is_refused(store: NumberStore) -> None:
    first = store.allocate("310112", 2026, AT)
    with pytest.raises(NumberInUse):
        store.claim(first, AT)


def test_allocate_skips_claimed_numbers(store: NumberStore) -> None:
    store.claim(n("310112-2026-000001"), AT)
    store.claim(n("310112-2026-000005"), AT)
    assert str(store.allocate("310112", 2026, AT)) == "310112-2026-000006"


def test_claim_below_the_counter_keeps_the_counter(store: NumberStore) -> None:
    for _ in range(5):
        store.allocate("310112", 2026, AT)
    store.claim(n("310112-2026-000100"), AT)
    store.claim(n("310112-2026-000050"), AT)  # a gap below the counter: allowed once
    assert str(store.allocate("310112", 2026, AT)) == "310112-2026-000101"
    with pytest.raises(NumberInUse):
        store.claim(n("310112-2026-000003"), AT)


def test_allocate_skips_numbers_in_use_above_the_counter(store: NumberStore) -> None:
    """A number claimed above a stale counter (e.g. from an older store) is skipped."""
    store.allocate("310112", 2026, AT)
    with closing(sqlite3.connect(store.path)) as conn, conn:
        conn.execute("INSERT INTO numbers VALUES (?, ?)", ("310112-2026-000002", AT.isoformat()))
        conn.execute("INSERT INTO numbers VALUES (?, ?)", ("310112-2026-000003", AT.isoformat()))
    assert str(store.allocate("310112", 2026, AT)) == "310112-2026-000004"


def test_serials_per_region_and_year_are_independent(store: NumberStore) -> None:
    assert str(store.allocate("310112", 2026, AT)) == "310112-2026-000001"
    assert str(store.allocate("310112", 2026, AT)) == "310112-2026-000002"
    assert str(store.allocate("310115", 2026, AT)) == "310115-2026-000001"
    assert str(store.allocate("310112", 2027, AT)) == "310112-2027-000001"
    store.claim(n("310115-2025-000777"), AT)
    assert str(store.allocate("310115", 2025, AT)) == "310115-2025-000778"
    assert str(store.allocate("310112", 2026, AT)) == "310112-2026-000003"
    assert str(store.allocate("310115", 2026, AT)) == "310115-2026-000002"


def test_state_survives_a_new_store_object(tmp_path: Path) -> None:
    path = tmp_path / "numbers.sqlite3"
    NumberStore(path).allocate("340104", 2026, AT)
    NumberStore(path).claim(n("340104-2026-000009"), AT)
    again = NumberStore(path)
    assert str(again.allocate("340104", 2026, AT)) == "340104-2026-000010"
    with pytest.raises(NumberInUse):
        again.claim(n("340104-2026-000001"), AT)


def test_serials_exhausted(store: NumberStore) -> None:
    store.claim(n("310112-2026-999999"), AT)
    with pytest.raises(LimitExceeded) as exc:
        store.allocate("310112", 2026, AT)
    assert exc.value.code == "SERIALS_EXHAUSTED"
    # The failed allocation left nothing behind: the other year still works.
    assert str(store.allocate("310112", 2027, AT)) == "310112-2027-000001"


def test_concurrent_allocations_are_distinct(store: NumberStore) -> None:
    start = threading.Barrier(8)

    def worker(_: int) -> list[str]:
        start.wait()
        return [str(store.allocate("330109", 2026, AT)) for _ in range(25)]

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = [num for batch in pool.map(worker, range(8)) for num in batch]
    assert len(results) == 200
    assert len(set(results)) == 200
    assert sorted(results) == [f"330109-2026-{i:06d}" for i in range(1, 201)]


def test_concurrent_claims_of_one_number_succeed_once(store: NumberStore) -> None:
    start = threading.Barrier(8)

    def worker(_: int) -> bool:
        start.wait()
        try:
            store.claim(n("330109-2026-004871"), AT)
        except NumberInUse:
            return False
        return True

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(worker, range(8)))
    assert outcomes.count(True) == 1
