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
    """The same prepared reads on asyncpg connections, for routes that answer on the
    event loop without a hop to a worker thread.

    asyncpg rather than psycopg's asynchronous connections: its per-statement cost is a
    third of psycopg's (bench/RESULTS-api.md) and its socket stays registered with the
    loop instead of being added and removed around every wait.  Up to ``connections``
    connections per event loop, opened on demand and closed by the app's lifespan, each
    used by one statement at a time (asyncpg refuses concurrent use): a read takes a
    connection no statement is using, or opens one more, so that concurrent verifications
    do not queue behind one database round trip (with two connections a worker could not
    keep its CPU busy).  Statements are prepared once per connection (asyncpg's statement
    cache).  Sessions run in UTC with a statement timeout.  A read that fails on a dropped connection is made once more on a
    new one; a second failure is ``REGISTRY_UNAVAILABLE``.
    """

    def __init__(self, engine: Engine, *, connections: int = 8, timeout_s: float = 5.0) -> None:
        if engine.dialect.name != "postgresql":
            raise ValueError("direct reads need PostgreSQL")
        self._dsn = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._timeout_s = timeout_s
        self._compiled: dict[int, tuple[ClauseElement, str, tuple[str, ...]]] = {}
        self._slots: list[Any] = [None] * connections
        self._locks = [asyncio.Lock() for _ in range(connections)]
        self._turn = 0

    def _sql(self, stmt: ClauseElement) -> tuple[str, tuple[str, ...]]:
        """``stmt`` for asyncpg (``$n`` placeholders) and the names of its parameters."""
        found = self._compiled.get(id(stmt))
        if found is None or found[0] is not stmt:
            from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg
            from sqlalchemy.sql.compiler import SQLCompiler

            compiled = stmt.compile(dialect=PGDialect_asyncpg())  # type: ignore[no-untyped-call]
            assert isinstance(compiled, SQLCompiler)
            found = (stmt, str(compiled), tuple(compiled.positiontup or ()))
            self._compiled[id(stmt)] = found
        return found[1], found[2]

    def _free_slot(self) -> int:
        """A connection no statement is using; else a slot not yet connected (opened on
        demand, up to ``connections``); else the next in turn, to wait for."""
        unopened = -1
        for slot, lock in enumerate(self._locks):
            if not lock.locked():
                if self._slots[slot] is not None:
                    return slot
                if unopened < 0:
                    unopened = slot
        if unopened >= 0:
            return unopened
        self._turn = (self._turn + 1) % len(self._slots)
        return self._turn

    async def _connect(self) -> Any:
        import asyncpg

        return await asyncpg.connect(
            self._dsn,
            timeout=self._timeout_s,
            server_settings={
                "timezone": "UTC",
                "statement_timeout": str(int(self._timeout_s * 1000)),
            },
        )

    async def rows(self, stmt: ClauseElement, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """The rows of ``stmt`` (named bound parameters as compiled) with ``params``."""
        import asyncpg

        sql, names = self._sql(stmt)
        args = [params[name] for name in names]
        slot = self._free_slot()
        async with self._locks[slot]:
            for attempt in (1, 2):
                conn = self._slots[slot]
                try:
                    if conn is None or conn.is_closed():
                        conn = self._slots[slot] = await self._connect()
                    records = await conn.fetch(sql, *args)
                    return [tuple(record) for record in records]
                except (
                    OSError,
                    TimeoutError,
                    asyncpg.PostgresError,
                    asyncpg.InterfaceError,
                    # A connection the server ended while it was idle can be left in a
                    # state where the next statement fails this way (seen after
                    # pg_terminate_backend): dropped like any lost connection.
                    asyncpg.InternalClientError,
                ):
                    if conn is not None and not conn.is_closed():
                        conn.terminate()
                    self._slots[slot] = None
                    if attempt == 2:
                        break
        raise EnvironmentProblem(
            "REGISTRY_UNAVAILABLE",
            "登记系统数据库不可用",
            "the registry database is not answering",
        )

    async def close(self) -> None:
        slots, self._slots = self._slots, [None] * len(self._slots)
        for conn in slots:
            if conn is not None and not conn.is_closed():
                await conn.close()
