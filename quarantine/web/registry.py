"""The registry database as the web layer sees it: one engine, a session per request."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from quarantine.settings import Settings

if TYPE_CHECKING:
    from quarantine.storage.tokens import ApiToken


@dataclass
class Registry:
    engine: Engine
    sessions: sessionmaker[Session]
    _readers: sessionmaker[Session] | None = None
    #: Verified tokens of this worker: SHA-256 of the secret → (expires at
    #: ``time.monotonic()``, ``tokens.revocations()`` when looked up, token).
    #: See ``quarantine.web.auth.TOKEN_CACHE_SECONDS``.
    token_cache: dict[str, tuple[float, int, ApiToken]] = field(default_factory=dict)

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

    def close(self) -> None:
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
