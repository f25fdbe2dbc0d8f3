"""The registry database as the web layer sees it: one engine, a session per request."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from quarantine.settings import Settings


@dataclass
class Registry:
    engine: Engine
    sessions: sessionmaker[Session]

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
        """A read-only unit of work: on SQLite it does not queue behind writers."""
        with Session(self.engine.execution_options(sqlite_begin="DEFERRED")) as session:
            try:
                yield session
            finally:
                session.rollback()

    def close(self) -> None:
        self.engine.dispose()


def open_registry(settings: Settings) -> Registry:
    """Connect to the configured database; refuse an unmigrated one (``DB_NOT_MIGRATED``)."""
    from quarantine.storage.db import database_url, make_engine, require_migrated, session_factory

    engine = make_engine(database_url(settings))
    try:
        require_migrated(engine)
    except BaseException:
        engine.dispose()
        raise
    return Registry(engine, session_factory(engine))
