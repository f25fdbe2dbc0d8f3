"""The registry database as the web layer sees it: one engine, a session per request."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from quarantine.settings import Settings

if TYPE_CHECKING:
    from quarantine.storage.direct import DirectReads
    from quarantine.storage.events import DirectStatusSource
    from quarantine.storage.tokens import ApiToken

T = TypeVar("T")


@dataclass
class Registry:
    engine: Engine
    sessions: sessionmaker[Session]
    _readers: sessionmaker[Session] | None = None
    #: Verified tokens of this worker: SHA-256 of the secret → (expires at
    #: ``time.monotonic()``, ``tokens.revocations()`` when looked up, token).
    #: See ``quarantine.web.auth.TOKEN_CACHE_SECONDS``.
    token_cache: dict[str, tuple[float, int, ApiToken]] = field(default_factory=dict)
    #: Per-worker helpers that live as long as the registry (e.g. the issuing batcher);
    #: each is closed with the registry when it has a ``close()``.
    extensions: dict[str, Any] = field(default_factory=dict)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: committed when the block ends normally, rolled back otherwise."""
        with self.sessions() as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    @contextmanager
    def reader(self) -> Iterator[Session]:
        """A read-only unit of work that never blocks writers.

        PostgreSQL: autocommit, so a look-up is one round trip (no BEGIN/ROLLBACK);
        SQLite: a deferred transaction, so readers do not queue behind writers.
        """
        if self._readers is None:
            if self.engine.dialect.name == "postgresql":
                reading = self.engine.execution_options(isolation_level="AUTOCOMMIT")
            else:
                reading = self.engine.execution_options(sqlite_begin="DEFERRED")
            self._readers = sessionmaker(reading, expire_on_commit=False)
        with self._readers() as session:
            try:
                yield session
            finally:
                session.rollback()

    def direct_reads(self) -> DirectReads | None:
        """Prepared reads on the driver for the hottest look-ups (PostgreSQL only)."""
        if self.engine.dialect.name != "postgresql":
            return None
        reads = self.extensions.get("direct_reads")
        if reads is None:
            from quarantine.storage.direct import DirectReads

            reads = self.extensions.setdefault("direct_reads", DirectReads(self.engine))
        result: DirectReads = reads
        return result

    def direct_status(self) -> DirectStatusSource | None:
        """The status look-up of online verification on the driver (PostgreSQL only)."""
        reads = self.direct_reads()
        if reads is None:
            return None
        from quarantine.storage.events import DirectStatusSource

        return DirectStatusSource(reads)

    def read(self, work: Callable[[Session], T]) -> T:
        """``work`` in a :meth:`reader`; once more on a fresh connection when the pooled
        one turns out to be dropped (there is no pre-ping on checkout)."""
        from quarantine.storage.db import is_disconnect

        try:
            with self.reader() as session:
                return work(session)
        except Exception as exc:
            if not is_disconnect(exc):
                raise
        with self.reader() as session:
            return work(session)

    def write(self, work: Callable[[Session], T]) -> T:
        """``work`` in one unit of work, committed.  When the connection turns out to be
        dropped before the commit is sent, nothing was written: run once more on a fresh
        connection.  A connection lost during the commit is not retried (its outcome is
        unknown; clients retry with an ``Idempotency-Key``)."""
        from quarantine.storage.db import is_disconnect

        for attempt in (1, 2):
            with self.sessions() as session:
                try:
                    result = work(session)
                except Exception as exc:
                    session.rollback()
                    if attempt == 1 and is_disconnect(exc):
                        continue
                    raise
                except BaseException:
                    session.rollback()
                    raise
                session.commit()
                return result
        raise AssertionError("unreachable")  # pragma: no cover

    def close(self) -> None:
        for extension in list(self.extensions.values()):
            close = getattr(extension, "close", None)
            if callable(close):
                close()
        self.extensions.clear()
        self.engine.dispose()


def open_registry(settings: Settings, *, create_local: bool = False) -> Registry:
    """Connect to the configured database; refuse an unmigrated one (``DB_NOT_MIGRATED``).

    ``create_local``: the embedded default (SQLite in the data folder, no
    ``QUARANTINE_DATABASE_URL``) is created and migrated when it does not exist yet.
    """
    from quarantine.storage.db import (
        SQLITE_FILENAME,
        database_url,
        make_engine,
        require_migrated,
        session_factory,
        upgrade,
    )

    url = database_url(settings)
    if (
        create_local
        and settings.database_url is None
        and not (settings.data_dir / SQLITE_FILENAME).exists()
    ):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        upgrade(url)
    engine = make_engine(url)
    try:
        require_migrated(engine)
    except BaseException:
        engine.dispose()
        raise
    return Registry(engine, session_factory(engine))
