"""``kill -9`` of the server in the middle of a burst of issuing, then a restart."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx2
import pytest

from tests.load import harness
from tests.load.conftest import LiveService

pytestmark = pytest.mark.timeout(180)

CLIENTS = 12
#: Kill once this many issues were acknowledged (or after KILL_AFTER_S).
KILL_AT_ACKS = 40
KILL_AFTER_S = 15.0
#: No client issues more than this, whatever happens.
MAX_PER_CLIENT = 200


def test_kill_9_during_issuing_loses_nothing_acknowledged(service: LiveService) -> None:
    acked: list[str] = []
    lock = threading.Lock()
    killed = threading.Event()
    unanswered = 0

    def burst(i: int) -> int:
        """Issue until the server dies; the count of requests left without an answer."""
        with service.client() as client:
            for k in range(MAX_PER_CLIENT):
                try:
                    response = service.issue(
                        client, harness.ISSUABLE[(i + k) % len(harness.ISSUABLE)]
                    )
                except httpx2.TransportError:
                    return 1  # the server died under this request
                if killed.is_set() and response.status_code >= 500:
                    return 1  # a worker answering while the group dies
                assert response.status_code == 201, response.text
                with lock:
                    acked.append(response.json()["number"])
        return 0

    with ThreadPoolExecutor(CLIENTS) as pool:
        futures = [pool.submit(burst, i) for i in range(CLIENTS)]
        deadline = time.monotonic() + KILL_AFTER_S
        while len(acked) < KILL_AT_ACKS and time.monotonic() < deadline:
            time.sleep(0.01)
        killed.set()
        service.server.kill9()
        unanswered = sum(f.result(timeout=60) for f in futures)

    assert len(acked) >= KILL_AT_ACKS // 2, "the burst never got going"
    assert unanswered > 0, "the kill did not hit a request in flight"

    # Restart on the same database: it comes up, and nothing acknowledged is lost.
    service.server.port = harness.free_port()
    service.server.start()
    assert len(set(acked)) == len(acked)
    rows = service.query("SELECT number, issuing_region, year, serial FROM certificates")
    numbers = [r.number for r in rows]
    assert len(set(numbers)) == len(numbers)
    assert set(acked) <= set(numbers)
    with service.client() as client:
        for number in acked[:: max(1, len(acked) // 20)]:
            got = client.get(f"/api/v1/certificates/{number}", headers=service.inspector_headers())
            assert (got.status_code, got.json()["number"]) == (200, number)

    # Each stored certificate went in whole: its audit entry, its claimed number, a
    # counter at or past its serial.  Unacknowledged requests may or may not have landed.
    audited = service.query("SELECT object FROM audit_log WHERE action = 'certificate.issue'")
    assert sorted(r.object for r in audited) == sorted(numbers)
    claimed = {r.number for r in service.query("SELECT number FROM claimed_numbers")}
    assert set(numbers) <= claimed
    counters = {
        (r.region, r.year): r.last
        for r in service.query("SELECT region, year, last FROM number_counters")
    }
    assert all(counters[(r.issuing_region, r.year)] >= r.serial for r in rows)
    assert "intact" in service.audit_verify()

    # And issuing goes on after the restart without reusing a number.
    with service.client() as client:
        after = [service.issue(client, harness.ISSUABLE[k % 6]) for k in range(12)]
    assert [r.status_code for r in after] == [201] * 12
    new = [r.json()["number"] for r in after]
    assert not set(new) & set(numbers)
    assert len(set(new)) == len(new)
    assert "intact" in service.audit_verify()
