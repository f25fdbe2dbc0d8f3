"""Reads on the driver itself (PostgreSQL), for the hottest read-only look-ups.

A statement built once with SQLAlchemy is compiled once for the dialect and then run
on a pooled connection's psycopg cursor, prepared, in autocommit: one round trip and
no session, no SQLAlchemy execution or result processing.  The rows come back as the
driver makes them (PostgreSQL types map to the same Python values: aware UTC
datetimes, dates, dicts for JSON).  A connection found dropped is discarded, the
pool is renewed (the database may have restarted) and the read made once more; a
second failure is ``REGISTRY_UNAVAILABLE``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.sql.elements import ClauseElement

from quarantine.errors import EnvironmentProblem


class DirectReads:
    """Run prepared read-only statements on the driver (see the module notes)."""

    def __init__(self, engine: Engine) -> None:
        if engine.dialect.name != "postgresql":
            raise ValueError("direct reads need PostgreSQL")
        self._engine = engine
        self._compiled: dict[int, tuple[ClauseElement, str]] = {}

    def _sql(self, stmt: ClauseElement) -> str:
        found = self._compiled.get(id(stmt))
        if found is None or found[0] is not stmt:
            found = (stmt, str(stmt.compile(dialect=self._engine.dialect)))
            self._compiled[id(stmt)] = found
        return found[1]

    def rows(self, stmt: ClauseElement, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """The rows of ``stmt`` (named bound parameters as compiled) with ``params``."""
        import psycopg

        sql = self._sql(stmt)
        for attempt in (1, 2):
            fairy = self._engine.raw_connection()
            conn = fairy.driver_connection
            assert isinstance(conn, psycopg.Connection)
            try:
                conn.autocommit = True
                try:
                    with conn.cursor() as cur:
                        cur.execute(sql, params, prepare=True)
                        return cur.fetchall()
                finally:
                    if not conn.closed:
                        conn.autocommit = False  # as the pool hands it out
            except psycopg.OperationalError:
                lost = conn.closed or conn.broken
                fairy.invalidate()
                if lost:  # e.g. a server restart: the pool's other connections are gone too
                    self._engine.dispose(close=False)
                if attempt == 2 or not lost:
                    raise EnvironmentProblem(
                        "REGISTRY_UNAVAILABLE",
                        "登记系统数据库不可用",
                        "the registry database is not answering",
                    ) from None
            finally:
                fairy.close()
        raise AssertionError("unreachable")  # pragma: no cover
