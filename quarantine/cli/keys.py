"""``quarantine keys generate|list``."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from quarantine.cli.common import fail, guarded, parse_now, print_json_line

keys_app = typer.Typer(help="签名密钥 / Signing keys", no_args_is_help=True)


@keys_app.command("generate")
def generate(
    region: Annotated[str, typer.Option(help="行政区划代码 / region code, e.g. 310000")],
    alg: Annotated[str, typer.Option(help="EdDSA (Ed25519, default) or ES256")] = "EdDSA",
    out: Annotated[
        Path | None, typer.Option(help="密钥目录 / key folder (default: QUARANTINE_KEYS_DIR)")
    ] = None,
    not_before: Annotated[
        str | None, typer.Option(help="密钥启用时间 / window start, ISO 8601 (default now)")
    ] = None,
    not_after: Annotated[
        str | None, typer.Option(help="密钥停用时间 / window end, ISO 8601 (default open)")
    ] = None,
    demo: Annotated[
        bool, typer.Option(help="生成未加密的演示密钥 / unencrypted DEMO key, never for production")
    ] = False,
) -> None:
    """生成签名密钥 / Generate a signing key (PKCS#8, encrypted with QUARANTINE_KEY_PASSPHRASE)."""
    from quarantine import keystore
    from quarantine.reference import region_table
    from quarantine.settings import Settings

    settings = guarded(Settings.from_env)
    if region not in region_table():
        fail("UNKNOWN_REGION", f"未知的行政区划代码 {region}", f"unknown region code {region!r}")
    if alg not in keystore.ALGS_BY_NAME:
        fail("ALG_UNSUPPORTED", "算法须为 EdDSA 或 ES256", "alg must be EdDSA or ES256")
    start = parse_now(not_before) if not_before else datetime.now(UTC).replace(microsecond=0)
    end = parse_now(not_after) if not_after else None
    if end is not None and end <= start:
        fail("BAD_WINDOW", "停用时间须晚于启用时间", "not_after must be later than not_before")
    directory = out or settings.resolved_keys_dir()
    info = guarded(
        lambda: keystore.generate_key(
            directory,
            region,
            not_before=start,
            not_after=end,
            alg=keystore.ALGS_BY_NAME[alg],
            passphrase=settings.passphrase_bytes(),
            demo=demo,
        )
    )
    typer.echo(f"kid {info.kid}  {info.alg}  region {info.region}")
    typer.echo(
        f"private key: {info.private_path}{'  (DEMO, unencrypted)' if demo else '  (encrypted)'}"
    )
    typer.echo(f"public key:  {info.public_path}")


@keys_app.command("list")
def list_(
    directory: Annotated[Path | None, typer.Option("--dir", help="密钥目录 / key folder")] = None,
    json_out: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """列出密钥 / List keys."""
    from quarantine import keystore
    from quarantine.settings import Settings

    folder = directory or guarded(Settings.from_env).resolved_keys_dir()
    keys = guarded(lambda: keystore.list_keys(folder))
    if json_out:
        for k in keys:
            print_json_line(k.as_dict())
        return
    if not keys:
        typer.echo(f"{folder} 中没有密钥 / no keys in {folder}")
        return
    typer.echo(f"{'region':8} {'kid':16} {'alg':6} {'not_before':25} {'not_after':25} private")
    for k in keys:
        end = k.not_after.isoformat() if k.not_after else "-"
        private = "DEMO" if k.demo else ("yes" if k.private_path else "no")
        typer.echo(
            f"{k.region:8} {k.kid:16} {k.alg:6} {k.not_before.isoformat():25} {end:25} {private}"
        )


def register(app: typer.Typer) -> None:
    app.add_typer(keys_app, name="keys")
