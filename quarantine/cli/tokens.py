"""``quarantine tokens create|list|revoke``: API tokens bound to a role and a region.

Works on the configured registry (``QUARANTINE_DATABASE_URL`` or the SQLite file
in ``QUARANTINE_DATA_DIR``), which must be migrated (``quarantine db upgrade``).
The secret is printed once by ``create`` and never stored (only its SHA-256).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from quarantine.cli.common import fail, guarded, print_json_line

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

T = TypeVar("T")

tokens_app = typer.Typer(
    help="API 令牌（角色 + 地区）/ API tokens bound to a role and a region", no_args_is_help=True
)


class RoleName(StrEnum):
    issuer = "issuer"
    inspector = "inspector"
    admin = "admin"


@contextmanager
def _session() -> Iterator[Session]:
    """A unit of work on the configured, migrated registry (committed on success)."""
    from quarantine.settings import Settings
    from quarantine.storage import db

    settings = guarded(Settings.from_env)
    engine = guarded(lambda: db.make_engine(db.database_url(settings)))
    try:
        guarded(lambda: db.require_migrated(engine))
        with db.session_factory(engine).begin() as session:
            yield session
    finally:
        engine.dispose()


def _run(work: Callable[[Session], T]) -> T:
    from sqlalchemy.exc import SQLAlchemyError

    try:
        with _session() as session:
            return guarded(lambda: work(session))
    except SQLAlchemyError as exc:
        fail(
            "DB_ERROR",
            "数据库操作失败",
            f"the database refused the operation: {type(exc).__name__}",
        )


@tokens_app.command("create")
def create(
    role: Annotated[RoleName, typer.Option(help="角色 / role", case_sensitive=False)],
    region: Annotated[
        str, typer.Option(help="地区（六位行政区划代码）/ region, a six-digit GB/T 2260 code")
    ],
    label: Annotated[str, typer.Option(help="备注 / a label for people")] = "",
    json_out: Annotated[
        bool, typer.Option("--json", help="以 JSON 输出 / print one JSON line")
    ] = False,
) -> None:
    """创建令牌，仅此一次显示密钥 / Create a token; the secret is shown this once only."""
    from quarantine.reference import region_table

    if region not in region_table():
        fail(
            "BAD_REGION",
            f"{region[:20]} 不是长三角的行政区划代码",
            f"{region[:20]!r} is not a Yangtze River Delta region code",
        )
    from quarantine.storage.tokens import TokenStore

    token_id, secret = _run(lambda s: TokenStore(s).create(role.value, region, label))
    if json_out:
        print_json_line({"id": token_id, "role": role.value, "region": region, "secret": secret})
        return
    typer.echo(f"令牌 / token {token_id}  role {role.value}  region {region}")
    typer.echo(secret)
    typer.echo(
        "请妥善保存，此密钥不会再次显示 / keep it safe: the secret is not shown again", err=True
    )


@tokens_app.command("list")
def list_tokens(
    json_out: Annotated[
        bool, typer.Option("--json", help="每行一个 JSON / one JSON line per token")
    ] = False,
) -> None:
    """列出令牌（不含密钥）/ List tokens (never their secrets)."""
    from quarantine.storage.tokens import TokenStore

    tokens = _run(lambda s: TokenStore(s).list())
    for t in tokens:
        state = "active" if t.active else "revoked"
        if json_out:
            print_json_line(
                {
                    "id": t.id,
                    "role": t.role,
                    "region": t.region,
                    "label": t.label,
                    "created_at": t.created_at.isoformat(),
                    "revoked_at": t.revoked_at.isoformat() if t.revoked_at else None,
                }
            )
        else:
            typer.echo(
                f"{t.id}  {t.role:<9}  {t.region}  {state:<7}  "
                f"{t.created_at.isoformat(timespec='seconds')}  {t.label}"
            )
    if not tokens and not json_out:
        typer.echo("没有令牌 / no tokens")


@tokens_app.command("revoke")
def revoke(token_id: Annotated[str, typer.Argument(help="令牌编号 / token id (tok_…)")]) -> None:
    """撤销令牌（立即失效）/ Revoke a token; it stops working at once."""
    from quarantine.storage.tokens import TokenStore

    if len(token_id) > 100:
        fail("UNKNOWN_TOKEN", "没有此令牌", "no such token")
    token = _run(lambda s: TokenStore(s).revoke(token_id))
    typer.echo(f"已撤销 / revoked {token.id}  ({token.role} {token.region})")


def register(app: typer.Typer) -> None:
    """Adds ``quarantine tokens`` to ``app``."""
    app.add_typer(tokens_app, name="tokens")
