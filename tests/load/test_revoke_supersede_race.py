"""Concurrent revoke and supersede of one certificate end in exactly one consistent state."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx2
import pytest

from tests.load import harness
from tests.load.conftest import LiveService

pytestmark = pytest.mark.timeout(180)

ROUNDS = 3
CERTIFICATES_PER_ROUND = 8
#: Contenders per certificate: two revoke, two supersede.
ACTIONS = ("revoke", "supersede", "revoke", "supersede")
SAMPLE = "transport-intra.json"  # Shanghai (310112)


def contend(service: LiveService, numbers: list[str]) -> dict[str, list[tuple[str, int, Any]]]:
    """Every contender of every certificate starts at one barrier; the answers per number."""
    jobs = [(number, action) for number in numbers for action in ACTIONS]
    start = threading.Barrier(len(jobs))
    headers = service.issuer_headers("310000")

    def run(job: tuple[str, str]) -> tuple[str, str, int, Any]:
        number, action = job
        with httpx2.Client(base_url=service.base, timeout=60) as client:
            if action == "revoke":
                body: dict[str, Any] = {"reason": "并发撤销测试 / concurrent revoke"}
            else:
                body = {
                    "reason": "并发换证测试 / concurrent supersede",
                    "certificate": harness.fresh_document(SAMPLE),
                }
            start.wait(timeout=30)
            r = client.post(f"/api/v1/certificates/{number}/{action}", json=body, headers=headers)
            return number, action, r.status_code, r.json()

    answers: dict[str, list[tuple[str, int, Any]]] = {n: [] for n in numbers}
    with ThreadPoolExecutor(len(jobs)) as pool:
        for number, action, status, body in pool.map(run, jobs):
            answers[number].append((action, status, body))
    return answers


def test_concurrent_revoke_and_supersede_end_in_one_state(service: LiveService) -> None:
    outcomes: dict[str, tuple[str, Any]] = {}
    with service.client() as client:
        for _ in range(ROUNDS):
            numbers = []
            for _ in range(CERTIFICATES_PER_ROUND):
                issued = service.issue(client, SAMPLE)
                assert issued.status_code == 201, issued.text
                numbers.append(issued.json()["number"])
            for number, answers in contend(service, numbers).items():
                assert all(status < 500 for _, status, _ in answers), answers
                won = [(a, body) for a, status, body in answers if status in (200, 201)]
                lost = [body for _, status, body in answers if status not in (200, 201)]
                assert len(won) == 1, (number, answers)
                assert all(
                    b["error"]["code"] in ("ALREADY_REVOKED", "ALREADY_SUPERSEDED") for b in lost
                ), lost
                outcomes[number] = won[0]

        replacements: dict[str, str] = {}
        for number, (action, body) in outcomes.items():
            got = client.get(f"/api/v1/certificates/{number}", headers=service.inspector_headers())
            assert got.status_code == 200
            view = got.json()
            terminal = [e["type"] for e in view["events"] if e["type"] in ("REVOKED", "SUPERSEDED")]
            if action == "revoke":
                assert (view["status"], view["superseded_by"], terminal) == (
                    "REVOKED",
                    None,
                    ["REVOKED"],
                )
            else:
                replacement = body["replacement"]["number"]
                replacements[number] = replacement
                assert (view["status"], view["superseded_by"], terminal) == (
                    "SUPERSEDED",
                    replacement,
                    ["SUPERSEDED"],
                )
                new = client.post("/api/v1/verify", json={"text": body["replacement"]["qr_text"]})
                assert new.json()["verdict"] == "VALID"
            old = client.post("/api/v1/verify", json={"text": view["qr_text"]}).json()
            assert old["verdict"] != "VALID"
            assert ("REVOKED" if action == "revoke" else "SUPERSEDED") in old["reasons"]

    # Nothing of a losing supersede is left: each original has at most one replacement,
    # and every certificate is an original or the replacement of a won supersede.
    rows = service.query(
        "SELECT number, record -> 'references' ->> 'original' AS original FROM certificates"
    )
    originals = [r.original for r in rows if r.original]
    assert sorted(originals) == sorted(replacements)
    assert {r.number for r in rows} == set(outcomes) | set(replacements.values())
    events = service.query(
        "SELECT c.number, count(*) AS n FROM status_events e "
        "JOIN certificates c ON c.id = e.certificate_id "
        "WHERE e.type IN ('REVOKED', 'SUPERSEDED') GROUP BY c.number"
    )
    assert {r.number: r.n for r in events} == dict.fromkeys(outcomes, 1)
    assert "intact" in service.audit_verify()
