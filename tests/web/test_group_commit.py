"""Group commit of issues (PostgreSQL): concurrent requests share one transaction.

Numbers stay unique and gapless per agency and year, the audit chain stays intact,
one request's failure never fails the others, and idempotency keys keep working.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from quarantine.reference import region_table
from quarantine.services import registry as service
from quarantine.services.authz import Principal, Role
from quarantine.storage.certificates import CertificateStore
from quarantine.web import batching
from quarantine.web.errors import ApiError
from quarantine.web.idempotency import request_hash
from tests.storage.conftest import PgDatabases
from tests.web.pg import NOW, SAMPLE_FILES, Api, open_api, pg_databases, pg_settings, sample

ROOT = "/api/v1/certificates"
SH = Principal(Role.ISSUER, "310000", "tok_sh")


@pytest.fixture(scope="session")
def pg_dbs() -> Iterator[PgDatabases]:
    yield from pg_databases()


@pytest.fixture
def pg_api(pg_dbs: PgDatabases, tmp_path: Path) -> Iterator[Api]:
    with pg_settings(pg_dbs, tmp_path) as settings, open_api(settings, tmp_path) as a:
        yield a


def _signers(api: Api) -> service.KeyFolderSigners:
    return service.KeyFolderSigners(api.settings.resolved_keys_dir(), None)


def _job(
    api: Api,
    name: str = "transport-intra",
    *,
    who: Principal = SH,
    render: Callable[[service.Issued], dict[str, Any]] | None = None,
    key: str | None = None,
) -> batching.IssueJob:
    doc = sample(name)
    prepared = service.prepare_issue(
        doc, who, signer_for=_signers(api), regions=region_table(), now=NOW
    )
    return batching.IssueJob(
        prepared,
        NOW,
        api.settings.base_url,
        render or (lambda issued: {"number": str(issued.certificate.number)}),
        idempotency=None if key is None else (key, who.actor, "POST", ROOT, request_hash(doc)),
    )


def _together(batcher: batching.IssueBatcher, jobs: list[batching.IssueJob]) -> list[Any]:
    """Answers of ``jobs`` submitted at the same moment (so they share batches)."""
    start = threading.Barrier(len(jobs))

    def submit(job: batching.IssueJob) -> Any:
        start.wait(timeout=30)
        try:
            return batcher.issue(job)
        except Exception as exc:
            return exc

    with ThreadPoolExecutor(len(jobs)) as pool:
        return list(pool.map(submit, jobs))


def _serials(api: Api, region: str) -> list[int]:
    with api.registry.session() as session:
        return list(
            session.execute(
                text("SELECT serial FROM certificates WHERE issuing_region = :r ORDER BY serial"),
                {"r": region},
            ).scalars()
        )


def test_concurrent_issues_share_transactions_with_gapless_numbers(pg_api: Api) -> None:
    api = pg_api
    batcher = batching.IssueBatcher(api.registry, linger_seconds=0.2)
    try:
        names = list(SAMPLE_FILES) * 4
        jobs = [
            _job(api, name, who=Principal(Role.ISSUER, SAMPLE_FILES[name], f"tok_{i}"))
            for i, name in enumerate(names)
        ]
        answers = _together(batcher, jobs)
    finally:
        batcher.close()
    assert [a.status_code for a in answers] == [201] * len(jobs)
    assert max(batcher.sizes) > 1 and sum(batcher.sizes) == len(jobs)
    numbers = [json.loads(a.body)["number"] for a in answers]
    assert len(set(numbers)) == len(jobs)
    for region in {sample(n)["issuing_agency"]["region"] for n in SAMPLE_FILES}:
        serials = _serials(api, region)
        assert serials == list(range(1, len(serials) + 1)), region
    ok, count = api.audit_intact()
    assert ok and count == len(jobs)
    with api.registry.session() as session:
        claimed = session.execute(text("SELECT count(*) FROM claimed_numbers")).scalar_one()
        items = session.execute(text("SELECT count(*) FROM line_items")).scalar_one()
        stored = CertificateStore(session).get_with_events(numbers[0])
    assert claimed == len(jobs) and items >= len(jobs)
    assert stored is not None and stored[1] == ()


def test_one_failing_request_does_not_fail_the_others(pg_api: Api) -> None:
    api = pg_api
    batcher = batching.IssueBatcher(api.registry, linger_seconds=0.2)

    def broken(issued: service.Issued) -> dict[str, Any]:
        raise ValueError("this one cannot be answered")

    try:
        jobs = [_job(api, render=broken if i == 3 else None) for i in range(8)]
        answers = _together(batcher, jobs)
    finally:
        batcher.close()
    assert isinstance(answers[3], ValueError)
    assert [a.status_code for i, a in enumerate(answers) if i != 3] == [201] * 7
    # The failed batch was rolled back whole and taken one by one: no gap, no orphan.
    region = sample("transport-intra")["issuing_agency"]["region"]
    assert _serials(api, region) == list(range(1, 8))
    ok, count = api.audit_intact()
    assert ok and count == 7


def test_one_idempotency_key_twice_in_a_batch_issues_once(pg_api: Api) -> None:
    api = pg_api
    batcher = batching.IssueBatcher(api.registry, linger_seconds=0.2)
    try:
        jobs = [_job(api, key="same-key") for _ in range(2)] + [_job(api) for _ in range(2)]
        answers = _together(batcher, jobs)
    finally:
        batcher.close()
    assert [a.status_code for a in answers] == [201] * 4
    assert answers[0].body == answers[1].body
    assert sorted(a.headers.get("idempotent-replayed", "") for a in answers[:2]) == ["", "true"]
    region = sample("transport-intra")["issuing_agency"]["region"]
    assert _serials(api, region) == [1, 2, 3]


def test_a_closed_batcher_answers_503(pg_api: Api) -> None:
    batcher = batching.IssueBatcher(pg_api.registry)
    batcher.close()
    with pytest.raises(ApiError) as exc:
        batcher.issue(_job(pg_api))
    assert exc.value.status == 503


def test_the_api_issues_through_the_batcher_and_replays_keys(pg_api: Api) -> None:
    api = pg_api
    sh = api.token("issuer", "310000")
    doc = sample("transport-intra")
    first = api.client.post(ROOT, json=doc, headers={**sh, "Idempotency-Key": "k-1"})
    again = api.client.post(ROOT, json=doc, headers={**sh, "Idempotency-Key": "k-1"})
    other = api.client.post(
        ROOT, json={**doc, "remarks": "另一份"}, headers={**sh, "Idempotency-Key": "k-1"}
    )
    assert (first.status_code, again.status_code, other.status_code) == (201, 201, 409)
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    assert other.json()["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert isinstance(batching.batcher_for(api.registry), batching.IssueBatcher)
    got = api.client.get(f"{ROOT}/{first.json()['number']}", headers=sh)
    assert got.status_code == 200 and got.json()["status"] == "VALID"
