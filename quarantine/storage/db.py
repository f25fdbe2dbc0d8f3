"""Engines, sessions and migrations of the registry database.

The embedded default is a SQLite file ``<data_dir>/registry.sqlite3``; the
production shape is PostgreSQL through ``QUARANTINE_DATABASE_URL``.  The schema
is owned by the Alembic migrations packaged in ``quarantine/storage/migrations``;
:func:`upgrade` runs them and :func:`require_migrated` refuses to work on a
database that is not at the head revision.

SQLite transactions start with ``BEGIN IMMEDIATE`` (the write lock is taken up
front, waiting up to the busy timeout), so read-then-write transactions never
fail half-way with ``SQLITE_BUSY``; pass the execution option
``sqlite_begin="DEFERRED"`` to an engine or connection for read-only work that
should not queue behind writers.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import URL, Connection, Engine, create_engine, event, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from quarantine.errors import EnvironmentProblem

if TYPE_CHECKING:
    from alembic.config import Config

    from quarantine.settings import Settings

MIGRATIONS_DIR: Final = Path(__file__).resolve().parent / "migrations"
SQLITE_FILENAME: Final = "registry.sqlite3"
#: How long a SQLite writer waits for the lock before giving up, in seconds.
SQLITE_BUSY_TIMEOUT_S: Final = 30.0
_SQLITE_BEGIN_MODES: Final = ("DEFERRED", "IMMEDIATE", "EXCLUSIVE")
#: PostgreSQL pool: per worker process.  Size it so that workers × (size +
#: overflow) stays under the server's ``max_connections``.
PG_POOL_SIZE: Final = 10
PG_MAX_OVERFLOW: Final = 10
#: Pooled PostgreSQL connections are replaced after this many seconds, before a
#: server, proxy or firewall idle timeout drops them.  There is no pre-ping (one
#: round trip per checkout); work that meets a dropped connection is retried once
#: on a fresh one (:func:`is_disconnect`, ``quarantine.web.registry.Registry``).
PG_POOL_RECYCLE_S: Final = 300


def database_url(settings: Settings) -> str:
    """The configured database URL, or the SQLite file in the data directory."""
    configured = settings.database_url
    if configured:
        return configured
    path = settings.data_dir / SQLITE_FILENAME
    return URL.create("sqlite", database=str(path)).render_as_string(hide_password=False)


def _parse(url: str | URL) -> URL:
    try:
        parsed = make_url(url) if isinstance(url, str) else url
    except ArgumentError:
        raise EnvironmentProblem(
            "BAD_DATABASE_URL",
            "QUARANTINE_DATABASE_URL 不是有效的数据库地址",
            "QUARANTINE_DATABASE_URL is not a valid database URL",
        ) from None
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise EnvironmentProblem(
            "UNSUPPORTED_DATABASE",
            f"不支持的数据库类型 {backend}，仅支持 SQLite 与 PostgreSQL",
            f"unsupported database {backend!r}: use SQLite or PostgreSQL",
        )
    return parsed


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy's "begin" hook emit BEGIN (see _sqlite_on_begin), not sqlite3.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
    finally:
        cursor.close()


def _sqlite_on_begin(conn: Connection) -> None:
    mode = str(conn.get_execution_options().get("sqlite_begin", "IMMEDIATE")).upper()
    if mode not in _SQLITE_BEGIN_MODES:
        raise ValueError(f"sqlite_begin must be one of {_SQLITE_BEGIN_MODES}, not {mode!r}")
    conn.exec_driver_sql(f"BEGIN {mode}")


def make_engine(url: str | URL, *, echo: bool = False) -> Engine:
    """An engine for ``url`` set up for the registry (SQLite or PostgreSQL)."""
    parsed = _parse(url)
    try:
        if parsed.get_backend_name() == "sqlite":
            database = parsed.database or ""
            if database and database != ":memory:" and not database.startswith("file:"):
                Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(
                parsed, echo=echo, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S}
            )
            event.listen(engine, "connect", _sqlite_on_connect)
            event.listen(engine, "begin", _sqlite_on_begin)
            return engine
        return create_engine(
            parsed,
            echo=echo,
            pool_size=PG_POOL_SIZE,
            max_overflow=PG_MAX_OVERFLOW,
            pool_recycle=PG_POOL_RECYCLE_S,
            connect_args={"options": "-c timezone=UTC", "connect_timeout": 10},
        )
    except NoSuchModuleError:
        raise EnvironmentProblem(
            "UNSUPPORTED_DATABASE",
            f"缺少数据库驱动 {parsed.drivername}",
            f"no database driver for {parsed.drivername!r} (use postgresql+psycopg)",
        ) from None


def is_disconnect(exc: BaseException) -> bool:
    """``exc`` says the database connection was lost (the pool has dropped it)."""
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions whose objects stay usable after commit."""
    return sessionmaker(engine, expire_on_commit=False)


def alembic_config() -> Config:
    """An Alembic configuration pointing at the packaged migrations (no ini file)."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    return cfg


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    assert len(heads) == 1, f"migrations must have one head, not {heads}"
    return heads[0]


def _unreachable(engine: Engine) -> EnvironmentProblem:
    where = engine.url.render_as_string(hide_password=True)
    return EnvironmentProblem(
        "DB_UNREACHABLE",
        f"无法连接数据库 {where}",
        f"cannot connect to the database {where}",
    )


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, ``None`` when it was never migrated."""
    from alembic.runtime.migration import MigrationContext

    try:
        with engine.connect().execution_options(sqlite_begin="DEFERRED") as conn:
            heads = MigrationContext.configure(conn).get_current_heads()
    except OperationalError:
        raise _unreachable(engine) from None
    return heads[0] if heads else None


def upgrade(target: Engine | str | URL, revision: str = "head") -> None:
    """Run the packaged migrations up to ``revision`` in one transaction."""
    from alembic import command

    engine = target if isinstance(target, Engine) else make_engine(target)
    try:
        with engine.begin() as conn:
            cfg = alembic_config()
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
    except OperationalError:
        raise _unreachable(engine) from None
    finally:
        if engine is not target:
            engine.dispose()


def require_migrated(engine: Engine) -> None:
    """Raise ``DB_NOT_MIGRATED`` unless the schema is at the head revision."""
    current = current_revision(engine)
    head = head_revision()
    if current == head:
        return
    from alembic.script import ScriptDirectory

    known = {s.revision for s in ScriptDirectory.from_config(alembic_config()).walk_revisions()}
    if current is not None and current not in known:
        raise EnvironmentProblem(
            "DB_SCHEMA_NEWER",
            f"数据库结构版本 {current} 比本程序新，请升级 quarantine",
            f"the database is at revision {current}, newer than this quarantine; upgrade it",
        )
    where = "空数据库" if current is None else f"版本 {current}"
    where_en = "empty" if current is None else f"at revision {current}"
    raise EnvironmentProblem(
        "DB_NOT_MIGRATED",
        f"数据库结构未迁移到当前版本（{where}，应为 {head}），请先运行 `quarantine db upgrade`",
        f"the database schema is missing or behind ({where_en}, head is {head}); "
        "run `quarantine db upgrade` first",
    )
