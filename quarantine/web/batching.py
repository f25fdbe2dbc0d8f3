"""Group commit of issues: concurrent ``POST /api/v1/certificates`` share one transaction.

Each worker process has one :class:`IssueBatcher` (PostgreSQL only).  A request is
validated, authorised and matched with its signing key in its own thread first
(``services.registry.prepare_issue``: a bad document is refused on its own and never
joins a batch), then handed to the batcher and waits for its answer.  The batcher's
thread takes every request that is waiting, and those arriving within
``LINGER_SECONDS``, up to ``MAX_BATCH``, and writes them in ONE transaction
(``services.registry.issue_many``): one counter bump per agency and year for
consecutive numbers, two statements for certificates and line items, one extension
of the audit chain, the idempotency records, one commit (and one ``fsync``).  Only
then is any of them answered, so nothing acknowledged can be lost.

When the batch fails for any reason (a number claimed meanwhile, a concurrent request
with the same ``Idempotency-Key``, a serial range exhausted, a dropped connection),
nothing of it is kept: the requests are then issued one by one, each in its own
transaction as without batching, so each gets its own answer and one request's
error never fails another.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session
from starlette.responses import Response

from quarantine.services import registry as service
from quarantine.storage.idempotency import IdempotencyStore
from quarantine.web import idempotency
from quarantine.web.errors import ApiError
from quarantine.web.registry import Registry

#: Most requests written in one transaction.
MAX_BATCH: Final = 64
#: How long the batcher waits for more requests after the first of a batch.
LINGER_SECONDS: Final = 0.002
#: How long a request waits for its batch before it gives up (503).
ANSWER_TIMEOUT_SECONDS: Final = 120.0

log = logging.getLogger("quarantine.batching")


@dataclass
class IssueJob:
    """One request: the prepared certificate, its own ``now``, how to answer."""

    prepared: service.PreparedIssue
    now: datetime
    base_url: str
    #: The answer's body from the issued certificate: JSON-ready (plain JSON types), as it
    #: is stored for idempotency and sent.
    render: Callable[[service.Issued], dict[str, Any]]
    status: int = 201
    #: ``(key, actor, method, path, request hash)`` with an ``Idempotency-Key``.
    idempotency: tuple[str, str, str, str, str] | None = None
    answer: Future[Response] = field(default_factory=Future)


class IssueBatcher:
    """One writer thread per worker that issues waiting requests together."""

    def __init__(
        self,
        registry: Registry,
        *,
        max_batch: int = MAX_BATCH,
        linger_seconds: float = LINGER_SECONDS,
    ) -> None:
        self.registry = registry
        self.max_batch = max_batch
        self.linger_seconds = linger_seconds
        self._queue: queue.SimpleQueue[IssueJob | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._closed = False
        #: Sizes of the batches written (tests and diagnostics; last 1000).
        self.sizes: list[int] = []

    def issue(self, job: IssueJob) -> Response:
        """Queue ``job`` and wait for its answer (raises what issuing it raised)."""
        with self._lock:
            if self._closed:
                raise _unavailable()
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="quarantine-issue-batcher", daemon=True
                )
                self._thread.start()
            self._queue.put(job)
        try:
            return job.answer.result(timeout=ANSWER_TIMEOUT_SECONDS)
        except TimeoutError:
            raise _unavailable() from None

    def close(self) -> None:
        """Finish the queued requests, then stop the thread."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            thread = self._thread
            self._queue.put(None)
        if thread is not None:
            thread.join(timeout=ANSWER_TIMEOUT_SECONDS)

    # ----------------------------------------------------------------------- the thread

    def _run(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is None:
                return
            jobs = [first]
            deadline = time.monotonic() + self.linger_seconds
            while len(jobs) < self.max_batch:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    wait = deadline - time.monotonic()
                    if wait <= 0:
                        break
                    try:
                        nxt = self._queue.get(timeout=wait)
                    except queue.Empty:
                        break
                if nxt is None:
                    stopping = True
                    break
                jobs.append(nxt)
            self._answer(jobs)

    def _answer(self, jobs: list[IssueJob]) -> None:
        self.sizes = [*self.sizes[-999:], len(jobs)]
        with self.registry.sessions() as session:
            try:
                answers = self._together(session, jobs)
            except Exception as exc:  # nothing was written: take them one by one
                with suppress(Exception):  # a dropped connection has nothing to roll back
                    session.rollback()
                if len(jobs) > 1:
                    log.info("issuing %d requests one by one after %r", len(jobs), exc)
                for job in jobs:
                    try:
                        job.answer.set_result(self._alone(job))
                    except Exception as one:
                        job.answer.set_exception(one)
                return
            except BaseException as exc:
                for job in jobs:
                    job.answer.set_exception(exc)
                raise
            try:
                session.commit()
            except Exception:
                # The outcome is unknown (the connection may have dropped during the
                # commit): never issue again what may be stored; clients retry with
                # their Idempotency-Key.
                log.exception("commit of %d issues failed", len(jobs))
                for job in jobs:
                    job.answer.set_exception(_unavailable())
                return
        for job, answer in zip(jobs, answers, strict=True):
            job.answer.set_result(answer)

    def _together(self, session: Session, jobs: list[IssueJob]) -> list[Response]:
        issued = service.issue_many(
            session, [(job.prepared, job.now) for job in jobs], base_url=jobs[0].base_url
        )
        bodies = [job.render(one) for job, one in zip(jobs, issued, strict=True)]
        keyed = [
            (*job.idempotency, job.status, body)
            for job, body in zip(jobs, bodies, strict=True)
            if job.idempotency is not None
        ]
        if keyed and not IdempotencyStore(session).put_new(keyed, max(j.now for j in jobs)):
            raise _KeyTaken
        return [JSONResponse(body, job.status) for job, body in zip(jobs, bodies, strict=True)]

    def _alone(self, job: IssueJob) -> Response:
        """The request in its own transaction, exactly as without batching."""
        key, actor, method, path = (None, job.prepared.principal.actor, "POST", "")
        if job.idempotency is not None:
            key, actor, method, path, _ = job.idempotency
        return idempotency.run_prepared(
            self.registry,
            key=key,
            actor=actor,
            method=method,
            path=path,
            digest=None if job.idempotency is None else job.idempotency[4],
            status=job.status,
            now=job.now,
            work=lambda session: job.render(
                service.store_prepared(session, job.prepared, base_url=job.base_url, now=job.now)
            ),
        )


class _KeyTaken(Exception):
    """An idempotency key of the batch was stored meanwhile: take the requests one by one."""


def _unavailable() -> ApiError:
    return ApiError(
        503,
        "REGISTRY_UNAVAILABLE",
        "登记系统暂时不可用，请稍后重试",
        "the registry is not answering; retry later",
    )


def batcher_for(registry: Registry) -> IssueBatcher | None:
    """This worker's batcher when the registry is PostgreSQL (SQLite has one writer)."""
    if registry.engine.dialect.name != "postgresql":
        return None
    batcher = registry.extensions.get("issue_batcher")
    if batcher is None:
        batcher = registry.extensions.setdefault("issue_batcher", IssueBatcher(registry))
    assert isinstance(batcher, IssueBatcher)
    return batcher
