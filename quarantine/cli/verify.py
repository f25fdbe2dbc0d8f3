"""``quarantine verify`` and ``quarantine show``."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from quarantine.cli.common import (
    EXIT_NOT_VALID,
    EXIT_OK,
    EXIT_USAGE,
    fail,
    guarded,
    parse_now,
    print_json_line,
)
from quarantine.cli.inputs import Item, expand

if TYPE_CHECKING:
    from datetime import datetime

    from quarantine.core.statuslist import OfflineStatusSource
    from quarantine.core.trust import TrustList
    from quarantine.core.verify import Report
    from quarantine.statuscache import CachedList

_MARK = {
    "VALID": "✔ 有效 / VALID",
    "INVALID": "✘ 无效 / INVALID",
    "NOT_A_CERTIFICATE": "? 不是证书 / NOT A CERTIFICATE",
}


def _print_report(label: str, report: Report, extra: dict[str, Any]) -> None:
    typer.echo(label)
    cert = report.certificate
    head = _MARK[report.verdict.value]
    if cert is not None:
        head += f"  {cert.kind.title_zh} {cert.number}"
    typer.echo(f"  {head}")
    if cert is not None:
        issuer = report.issuer_name or cert.issuing_agency.region
        typer.echo(f"  签发机关 Issuer: {issuer} ({report.issuer_region})")
        typer.echo(f"  有效期 Valid: {cert.valid_from} – {cert.valid_to}")
        for party, title in (
            (cert.consignor, "发货 Consignor"),
            (cert.consignee, "收货 Consignee"),
            (cert.producer, "生产 Producer"),
        ):
            if party is not None:
                typer.echo(f"  {title}: {party.name}")
        if cert.conveyance is not None:
            typer.echo(f"  运输工具 Vehicle: {cert.conveyance.type} {cert.conveyance.identifier}")
        if cert.route is not None:
            from quarantine.reference import region_table

            names = region_table()
            stops = [cert.route.origin, *cert.route.via, cert.route.destination]
            typer.echo("  路线 Route: " + " → ".join(f"{names.full_name(c)}({c})" for c in stops))
        for item in cert.items:
            spec = f" {item.specification}" if item.specification else ""
            typer.echo(f"    · {item.product}{spec}  {item.quantity.normalize():f} {item.unit}")
    for r in report.reasons:
        sign = {"error": "✘", "warning": "!", "info": "i"}[r.severity.value]
        detail = f" ({r.detail})" if r.detail else ""
        typer.echo(f"  {sign} [{r.code}] {r.message_zh} / {r.message_en}{detail}")
    if "stage" in extra:
        typer.echo(f"  图像 image: stage {extra['stage']}")


def _load_trust(trust: Path | None, anchor: Path | None) -> TrustList:
    from quarantine import trustfile
    from quarantine.settings import Settings

    settings = Settings.from_env()
    return trustfile.load(trust or settings.trust_list, anchor or settings.trust_anchor)


def _codes_from_image(
    item: Item,
) -> tuple[list[tuple[str, dict[str, Any]]], tuple[str, str, str] | None]:
    from quarantine.errors import InputError
    from quarantine.imaging import decode_image_file

    assert item.image is not None
    try:
        result = decode_image_file(item.image)
    except InputError as exc:
        return [], (exc.code, exc.message_zh, exc.message_en)
    if not result.codes:
        hints = ", ".join(result.hints) or "-"
        return [], (
            "NO_CODE_FOUND",
            f"图像中未找到二维码（提示：{hints}）",
            f"no QR code found in the image (hints: {hints})",
        )
    return [
        (
            code.text,
            {
                "stage": code.stage,
                "position": [list(p) for p in code.position],
                "ms": round(result.ms, 1),
            },
        )
        for code in result.codes
    ], None


def _resolve(item: Item) -> tuple[tuple[str, str, str] | None, list[tuple[str, dict[str, Any]]]]:
    """The input's error, or the QR texts it holds (with image details)."""
    if item.error is not None:
        return item.error, []
    if item.image is not None:
        texts, error = _codes_from_image(item)
        return error, texts
    return None, [(item.text or "", {})]


def _offline_source(
    trust_list: TrustList, at: datetime
) -> tuple[OfflineStatusSource, list[CachedList], Path]:
    """The cached status lists (``quarantine status pull``) as a status source."""
    from quarantine.settings import Settings
    from quarantine.statuscache import StatusCache

    cache = StatusCache.for_data_dir(Settings.from_env().data_dir)
    source, cached = cache.source(trust_list, at)
    return source, cached, cache.directory


def _print_cache_summary(
    cached: list[CachedList], directory: Path, at: datetime, *, err: bool
) -> None:
    """Which lists the offline verification uses, their age and staleness (stderr with --json)."""
    from quarantine.cli.status import freshness, human_age

    usable = [c for c in cached if c.status_list is not None]
    if not usable:
        typer.echo(
            f"! 没有缓存的状态列表（{directory}），状态按“过期”报告；请运行 quarantine status pull / "
            "no cached status lists: status is reported as STATUS_STALE; run `quarantine status pull`",
            err=err,
        )
    for c in cached:
        if c.status_list is None:
            assert c.error is not None
            typer.echo(
                f"! 状态列表 {c.region}/{c.year} 不可用 / status list unusable: "
                f"[{c.error.code}] {c.error.message_zh} / {c.error.message_en}",
                err=err,
            )
            continue
        lst = c.status_list
        typer.echo(
            f"状态列表 status list {lst.region}/{lst.year}: 签发 issued {lst.issued_at.isoformat()}"
            f" (age {human_age(lst.age(at))}) — {freshness(lst.stale(at))}",
            err=err,
        )


def _offline_status(
    report: Report, source: OfflineStatusSource, at: datetime
) -> dict[str, Any] | None:
    """The ``status`` object of an offline verification (``None`` when none was looked up)."""
    if not report.status_source:
        return None
    cert = report.certificate
    lst = source.list_for(cert.number.region, cert.number.year) if cert is not None else None
    return {
        "source": report.status_source,
        "as_of": report.status_as_of.isoformat() if report.status_as_of else None,
        "stale": "STATUS_STALE" in report.codes,
        "age_seconds": int((at - report.status_as_of).total_seconds())
        if report.status_as_of
        else None,
        "list": f"{lst.region}/{lst.year}" if lst is not None else None,
        "valid_until": lst.valid_until.isoformat() if lst is not None else None,
    }


def _print_status(status: dict[str, Any] | None) -> None:
    from quarantine.cli.status import freshness, human_age

    if status is None:
        return
    if status["list"] is None:
        typer.echo(
            "  状态 status: 没有该地区和年份的状态列表 / no cached list for this region and year"
        )
        return
    age = human_age(timedelta(seconds=status["age_seconds"] or 0))
    typer.echo(
        f"  状态 status: 状态列表 status list {status['list']} as of {status['as_of']}"
        f" (age {age}) — {freshness(status['stale'])}"
    )


def register(app: typer.Typer) -> None:
    @app.command()
    def verify(
        inputs: Annotated[
            list[str],
            typer.Argument(
                help="QR 文本、文本文件、图像或文件夹 / QR texts, text files, images or folders; '-' reads stdin"
            ),
        ],
        json_out: Annotated[
            bool, typer.Option("--json", help="每个输入一行 JSON / one JSON object per line")
        ] = False,
        now: Annotated[
            str | None, typer.Option(help="核验时间 ISO 8601 / verify as of this time")
        ] = None,
        trust: Annotated[
            Path | None, typer.Option(help="信任列表文件 / signed trust list file")
        ] = None,
        anchor: Annotated[
            Path | None, typer.Option(help="信任锚公钥 PEM / trust anchor public key(s)")
        ] = None,
        skew: Annotated[
            int | None,
            typer.Option(min=0, help="允许的时钟偏差（秒）/ allowed clock skew, seconds"),
        ] = None,
        offline: Annotated[
            bool,
            typer.Option(
                "--offline",
                help="用缓存的状态列表核查撤销等状态 / check status against the cached status lists (quarantine status pull)",
            ),
        ] = False,
    ) -> None:
        """离线核验证书二维码 / Verify certificate QR codes offline."""
        from quarantine.core.verify import verify_text
        from quarantine.settings import Settings

        at: datetime = parse_now(now)
        trust_list = guarded(lambda: _load_trust(trust, anchor))
        allowed = timedelta(
            seconds=skew if skew is not None else guarded(Settings.from_env).clock_skew_seconds
        )
        source: OfflineStatusSource | None = None
        if offline:
            source, cached, directory = guarded(lambda: _offline_source(trust_list, at))
            _print_cache_summary(cached, directory, at, err=json_out)
        worst = EXIT_OK
        count = 0
        for item in expand(inputs):
            count += 1
            error, texts = _resolve(item)
            if error is not None:
                code, zh, en = error
                worst = max(worst, EXIT_NOT_VALID if code == "NO_CODE_FOUND" else EXIT_USAGE)
                if json_out:
                    print_json_line(
                        {
                            "input": item.label,
                            "verdict": None,
                            "reasons": [code],
                            "messages": [{"code": code, "severity": "error", "zh": zh, "en": en}],
                            "certificate": None,
                            "error": {"code": code, "zh": zh, "en": en},
                        }
                    )
                else:
                    typer.echo(f"{item.label}\n  ✘ [{code}] {zh} / {en}")
                continue
            for index, (text, extra) in enumerate(texts):
                report = verify_text(text, trust=trust_list, now=at, skew=allowed, status=source)
                if report.verdict.value != "VALID" and worst == EXIT_OK:
                    worst = EXIT_NOT_VALID
                status = _offline_status(report, source, at) if source is not None else None
                if json_out:
                    line: dict[str, Any] = {"input": item.label, **report.to_dict()}
                    if status is not None:
                        line["status"] = status
                    if item.image is not None:
                        line["image"] = {"index": index, **extra}
                    print_json_line(line)
                else:
                    _print_report(item.label, report, extra)
                    _print_status(status)
        if count == 0:
            fail("NO_INPUT", "没有可核验的输入", "nothing to verify")
        raise typer.Exit(worst)

    @app.command()
    def show(
        inputs: Annotated[
            list[str],
            typer.Argument(help="QR 文本、文本文件或图像 / QR texts, text files or images"),
        ],
    ) -> None:
        """显示二维码中的证书内容（不核验签名）/ Print a QR's certificate content without verifying it."""
        import json

        from quarantine.core.document import to_document
        from quarantine.core.keys import ALG_NAMES
        from quarantine.core.verify import decode_unverified
        from quarantine.errors import InputError

        worst = EXIT_OK
        count = 0
        for item in expand(inputs):
            count += 1
            error, found = _resolve(item)
            if error is not None:
                typer.echo(f"{item.label}\n  ✘ [{error[0]}] {error[1]} / {error[2]}")
                worst = EXIT_USAGE
                continue
            for text, _extra in found:
                try:
                    cert, msg = decode_unverified(text)
                except InputError as exc:
                    typer.echo(
                        f"{item.label}\n  ✘ [{exc.code}] {exc.message_zh} / {exc.message_en}"
                    )
                    worst = max(worst, EXIT_NOT_VALID)
                    continue
                typer.echo(f"{item.label}  （未核验签名 / signature NOT verified）")
                meta = {
                    "alg": ALG_NAMES.get(msg.alg, repr(msg.alg))
                    if type(msg.alg) is int
                    else repr(msg.alg),
                    "kid": msg.kid.hex() if msg.kid else None,
                }
                typer.echo(
                    json.dumps(
                        {"signature": meta, "certificate": to_document(cert)},
                        ensure_ascii=False,
                        indent=2,
                    )
                )
        if count == 0:
            fail("NO_INPUT", "没有可显示的输入", "nothing to show")
        raise typer.Exit(worst)
