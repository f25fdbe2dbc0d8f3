"""``quarantine db upgrade|status`` and ``quarantine audit verify``."""

from __future__ import annotations

import typer

from quarantine.cli.common import EXIT_NOT_VALID, guarded

db_app = typer.Typer(help="登记数据库 / Registry database", no_args_is_help=True)
audit_app = typer.Typer(help="审计日志 / Audit log", no_args_is_help=True)


def _url() -> str:
    from quarantine.settings import Settings
    from quarantine.storage.db import database_url

    return database_url(guarded(Settings.from_env))


def _shown(url: str) -> str:
    from sqlalchemy import make_url

    return make_url(url).render_as_string(hide_password=True)


@db_app.command("upgrade")
def upgrade() -> None:
    """迁移数据库到最新结构 / Migrate the database (QUARANTINE_DATABASE_URL) to the head revision."""
    from quarantine.storage import db

    url = _url()
    guarded(lambda: db.upgrade(url))
    typer.echo(f"数据库已是最新结构 / database at revision {db.head_revision()}: {_shown(url)}")


@db_app.command("status")
def status() -> None:
    """显示数据库结构版本 / Show the database's schema revision."""
    from quarantine.storage import db

    url = _url()
    engine = guarded(lambda: db.make_engine(url))
    try:
        current = guarded(lambda: db.current_revision(engine))
    finally:
        engine.dispose()
    head = db.head_revision()
    state = "最新 / up to date" if current == head else "需要迁移 / run `quarantine db upgrade`"
    typer.echo(f"{_shown(url)}: revision {current or '-'} (head {head}) — {state}")
    if current != head:
        raise typer.Exit(EXIT_NOT_VALID)


@audit_app.command("verify")
def verify() -> None:
    """校验审计链 / Check the audit log's hash chain; exit 1 when it is broken."""
    from quarantine.storage import db
    from quarantine.storage.audit import AuditLog

    url = _url()
    engine = guarded(lambda: db.make_engine(url))
    try:
        guarded(lambda: db.require_migrated(engine))
        factory = db.session_factory(engine.execution_options(sqlite_begin="DEFERRED"))
        with factory() as session:
            log = AuditLog(session)
            ok, broken = log.verify()
            count = log.count()
            head = log.head()
    finally:
        engine.dispose()
    if ok:
        typer.echo(f"审计链完整（{count} 条）/ audit chain intact ({count} entries)")
        if head is not None:
            typer.echo(f"head seq {head.seq} hash {head.hash}")
        return
    typer.echo(
        f"审计链在第 {broken} 条处断开 / audit chain broken at seq {broken} (of {count} entries)"
    )
    raise typer.Exit(EXIT_NOT_VALID)


def register(app: typer.Typer) -> None:
    app.add_typer(db_app, name="db")
    app.add_typer(audit_app, name="audit")
