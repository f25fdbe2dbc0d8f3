"""``quarantine issue FILE --out DIR``: sign a certificate and render it."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer

from quarantine.cli.common import fail, guarded, parse_now

MAX_INPUT_BYTES = 1_000_000


def _read_document(path: Path) -> dict[str, Any]:
    try:
        if path.stat().st_size > MAX_INPUT_BYTES:
            fail(
                "FILE_TOO_LARGE",
                "输入文件过大",
                f"input file is larger than {MAX_INPUT_BYTES} bytes",
            )
        raw = path.read_text("utf-8")
    except OSError as exc:
        fail("FILE_UNREADABLE", f"无法读取 {path}", f"cannot read {path}: {exc.strerror}")
    except UnicodeDecodeError:
        fail("FILE_NOT_TEXT", "输入文件不是 UTF-8 文本", "input file is not UTF-8 text")
    try:
        if path.suffix.lower() in (".yaml", ".yml"):
            import yaml

            doc = yaml.safe_load(raw)
        else:
            doc = json.loads(raw)
    except (ValueError, Exception) as exc:  # yaml.YAMLError derives from Exception
        fail(
            "FILE_NOT_PARSEABLE",
            "输入文件不是有效的 JSON / YAML",
            f"input is not valid JSON or YAML: {exc}",
        )
    if not isinstance(doc, dict):
        fail("WRONG_TYPE", "输入须为一个证书对象", "input must be one certificate object")
    return doc


def _write_all(out: Path, files: dict[str, bytes], private: set[str]) -> None:
    """Write every file or none: each goes to a temporary name first."""
    out.mkdir(parents=True, exist_ok=True)
    temps: list[tuple[Path, Path]] = []
    try:
        for name, data in files.items():
            final = out / name
            temp = out / f".{name}.tmp"
            fd = os.open(
                temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if name in private else 0o644
            )
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            temps.append((temp, final))
        for temp, final in temps:
            temp.replace(final)
    finally:
        for temp, _ in temps:
            temp.unlink(missing_ok=True)


def register(app: typer.Typer) -> None:
    @app.command()
    def issue(
        file: Annotated[
            Path, typer.Argument(help="证书内容 JSON 或 YAML / certificate as JSON or YAML")
        ],
        out: Annotated[Path, typer.Option(help="输出目录 / output folder")] = Path("out"),
        keys: Annotated[
            Path | None, typer.Option(help="密钥目录 / key folder (default QUARANTINE_KEYS_DIR)")
        ] = None,
        base_url: Annotated[
            str | None, typer.Option(help="二维码中的核验网址 / verification base URL in the QR")
        ] = None,
        now: Annotated[
            str | None, typer.Option(help="签发时间 / issue time, ISO 8601 (default now)")
        ] = None,
    ) -> None:
        """签发证书：签名二维码、二维码图片、可打印证书 / Issue: signed QR text, QR PNG/SVG, printable certificate."""
        from quarantine.core.codec import full_record
        from quarantine.reference import region_table
        from quarantine.render import certificate_html, certificate_png, qr_png, qr_svg
        from quarantine.services import registry as service
        from quarantine.services.authz import Principal, Role
        from quarantine.settings import Settings
        from quarantine.web.registry import open_registry

        settings = guarded(Settings.from_env)
        at = parse_now(now)
        doc = _read_document(file)
        regions = region_table()
        agency = doc.get("issuing_agency")
        region = str(agency.get("region", "")) if isinstance(agency, dict) else ""
        # The command line acts as an issuer of the document's own region; the
        # number comes from the registry's counter, so it is never reused.
        principal = Principal(Role.ISSUER, region or "-", "cli")
        signer_for = service.KeyFolderSigners(
            keys or settings.resolved_keys_dir(), settings.passphrase_bytes()
        )
        registry = guarded(lambda: open_registry(settings, create_local=True))

        def region_name(code: str) -> str:
            return regions.full_name(code)

        try:
            # Render inside the transaction: if anything fails, nothing is stored.
            with registry.session() as session:
                issued = guarded(
                    lambda: service.issue(
                        session,
                        doc,
                        principal,
                        signer_for=signer_for,
                        base_url=base_url or settings.base_url,
                        regions=regions,
                        now=at,
                    )
                )
                cert, text = issued.certificate, issued.qr_text
                stem = str(cert.number)
                files = {
                    f"{stem}.txt": (text + "\n").encode("ascii"),
                    f"{stem}.qr.png": qr_png(text),
                    f"{stem}.qr.svg": qr_svg(text).encode("utf-8"),
                    f"{stem}.html": certificate_html(cert, text, region_name=region_name).encode(
                        "utf-8"
                    ),
                    f"{stem}.png": guarded(
                        lambda: certificate_png(cert, text, region_name=region_name)
                    ),
                    f"{stem}.record.json": json.dumps(
                        full_record(cert), ensure_ascii=False, indent=2
                    ).encode("utf-8"),
                }
        finally:
            registry.close()
        guarded(lambda: _write_all(out, files, private={f"{stem}.record.json"}))
        typer.echo(f"签发 issued {cert.kind.title_zh} {stem}  key {issued.kid}")
        typer.echo(f"QR: {len(text)} characters")
        for name in files:
            typer.echo(f"  {out / name}")
