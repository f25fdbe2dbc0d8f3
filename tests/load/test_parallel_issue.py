"""50 parallel clients issue certificates: unique numbers, no 5xx, nothing lost."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.load import harness
from tests.load.conftest import LiveService

pytestmark = pytest.mark.timeout(180)

CLIENTS = 50
PER_CLIENT = 4


def test_fifty_parallel_issuers_get_unique_numbers_and_lose_nothing(
    service: LiveService,
) -> None:
    start = threading.Barrier(CLIENTS)

    def one_client(i: int) -> list[tuple[int, Any]]:
        answers = []
        with service.client() as client:
            start.wait(timeout=30)
            for k in range(PER_CLIENT):
                sample = harness.ISSUABLE[(i + k) % len(harness.ISSUABLE)]
                response = service.issue(client, sample)
                answers.append((response.status_code, response.json()))
        return answers

    with ThreadPoolExecutor(CLIENTS) as pool:
        answers = [a for client in pool.map(one_client, range(CLIENTS)) for a in client]

    statuses = sorted({status for status, _ in answers})
    assert statuses == [201], [a for a in answers if a[0] != 201][:3]
    issued = {body["number"]: body for _, body in answers}
    assert len(issued) == CLIENTS * PER_CLIENT, "a number was handed out twice"

    # Every acknowledged certificate is in the registry and verifies VALID online.
    def check(number: str) -> tuple[str, int, str, str, str]:
        with service.client() as client:
            got = client.get(f"/api/v1/certificates/{number}", headers=service.inspector_headers())
            verdict = client.post("/api/v1/verify", json={"text": issued[number]["qr_text"]})
        body = got.json()
        return (
            number,
            got.status_code,
            body.get("qr_text", "") == issued[number]["qr_text"] and body.get("status", ""),
            verdict.json()["verdict"],
            verdict.json()["certificate"]["number"],
        )

    with ThreadPoolExecutor(8) as pool:
        checks = list(pool.map(check, sorted(issued)))
    assert [c for c in checks if c[1:] != (200, "VALID", "VALID", c[0])] == []

    # The database agrees: exactly these rows, serials 1..n per (region, year) with no
    # gap, and one audit entry per issue in an intact chain.
    rows = service.query("SELECT number, issuing_region, year, serial FROM certificates")
    assert sorted(r.number for r in rows) == sorted(issued)
    by_counter: dict[tuple[str, int], list[int]] = {}
    for r in rows:
        by_counter.setdefault((r.issuing_region, r.year), []).append(r.serial)
    for serials in by_counter.values():
        assert sorted(serials) == list(range(1, len(serials) + 1))
    audited = service.query(
        "SELECT object FROM audit_log WHERE action = 'certificate.issue' ORDER BY seq"
    )
    assert sorted(r.object for r in audited) == sorted(issued)
    assert "intact" in service.audit_verify()
