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

import asyncio
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


class AsyncDirectReads:
    """The same prepared reads on psycopg's asynchronous connections, for routes that
    answer on the event loop without a hop to a worker thread.

    A few connections per event loop, opened on first use and closed by the app's
    lifespan, used in turn: psycopg serialises the statements of one connection, so a
    read needs no check-out and return (a pool's check-out cost as much as the read
    itself here).  Connections run in autocommit with the engine's session options
    (UTC) and a statement timeout.  A read on a connection found dropped is made once
    more on a new one; a second failure is ``REGISTRY_UNAVAILABLE``.
    """

    def __init__(self, engine: Engine, *, connections: int = 2, timeout_s: float = 5.0) -> None:
        if engine.dialect.name != "postgresql":
            raise ValueError("direct reads need PostgreSQL")
        self._sql_of = DirectReads(engine)._sql
        self._conninfo = engine.url.set(drivername="postgresql").render_as_string(
            hide_password=False
        )
        self._timeout_s = timeout_s
        self._slots: list[Any] = [None] * connections
        self._connecting = [asyncio.Lock() for _ in range(connections)]
        self._turn = 0

    async def _connection(self, slot: int) -> Any:
        """The slot's connection, (re)connected when missing or dropped."""
        import psycopg

        async with self._connecting[slot]:  # one connect per slot at a time
            old = self._slots[slot]
            if old is not None and not (old.closed or old.broken):
                return old  # another request reconnected it meanwhile
            conn = await psycopg.AsyncConnection.connect(
                self._conninfo,
                autocommit=True,
                connect_timeout=max(1, int(self._timeout_s)),
                options=f"-c timezone=UTC -c statement_timeout={int(self._timeout_s * 1000)}",
            )
            self._slots[slot] = conn
            if old is not None:
                await old.close()
            return conn

    async def rows(self, stmt: ClauseElement, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """The rows of ``stmt`` (named bound parameters as compiled) with ``params``."""
        import psycopg

        sql = self._sql_of(stmt)
        slot = self._turn = (self._turn + 1) % len(self._slots)
        for attempt in (1, 2):
            conn = self._slots[slot]
            try:
                if conn is None or conn.closed or conn.broken:
                    conn = await self._connection(slot)
                cur = await conn.execute(sql, params, prepare=True)
                rows: list[tuple[Any, ...]] = await cur.fetchall()
                return rows
            except (psycopg.OperationalError, OSError):
                if attempt == 2 or not (conn is None or conn.closed or conn.broken):
                    break
        raise EnvironmentProblem(
            "REGISTRY_UNAVAILABLE",
            "登记系统数据库不可用",
            "the registry database is not answering",
        )

    async def close(self) -> None:
        slots, self._slots = self._slots, [None] * len(self._slots)
        for conn in slots:
            if conn is not None:
                await conn.close()
