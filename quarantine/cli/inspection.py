"""``quarantine trace``, ``alerts list|check``, ``violations record`` and ``credit``.

The commands work on the configured registry as this node's administrator
(``admin:cli``, the node's region): the same use cases as the API
(:mod:`quarantine.services.inspection`).  On a node with peers a recorded
violation is published in the node's feed, as through the API.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Annotated

import typer

from quarantine.cli.common import fail, guarded, print_json_line

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from quarantine.services.authz import Principal

alerts_app = typer.Typer(help="一证多用告警 / Reuse alerts", no_args_is_help=True)
violations_app = typer.Typer(help="违规记录（信用监管）/ Violations", no_args_is_help=True)
inspection_app = typer.Typer(help="检查规则 / Inspection rules", no_args_is_help=True)


@contextmanager
def _session(*, write: bool) -> Iterator[tuple[Session, Principal]]:
    """A unit of work on the configured registry (committed when ``write``) and the CLI's principal."""
    from quarantine import inspection_rules
    from quarantine.cli.federation import _node
    from quarantine.federation.publish import FeedPublisher, attach
    from quarantine.services.authz import Principal, Role
    from quarantine.services.registry import KeyFolderSigners

    with _node() as (settings, trust, fed, sessions):
        guarded(lambda: inspection_rules.configure(settings))
        if write and fed.enabled:
            signers = KeyFolderSigners(settings.resolved_keys_dir(), settings.passphrase_bytes())
            attach(sessions, FeedPublisher(fed.region, lambda r, at: signers(r, at).signer, trust))
        who = Principal(Role.ADMIN, settings.region, "cli")
        with sessions() as session:
            try:
                yield session, who
                if write:
                    guarded(session.commit)
            finally:
                session.rollback()


def register(app: typer.Typer) -> None:
    app.add_typer(alerts_app, name="alerts")
    app.add_typer(violations_app, name="violations")
    app.add_typer(inspection_app, name="inspection")

    @inspection_app.command("rules")
    def rules(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
        """检查规则 / The reuse-alert limits and credit rules in force (QUARANTINE_INSPECTION_RULES)."""
        from quarantine import inspection_rules
        from quarantine.settings import Settings

        settings = guarded(Settings.from_env)
        doc = inspection_rules.as_dict(guarded(lambda: inspection_rules.configure(settings)))
        if as_json:
            typer.echo(json.dumps(doc, ensure_ascii=False))
            return
        source = "配置文件 / configured file" if doc["configured"] else "默认 / built-in defaults"
        typer.echo(f"检查规则 / inspection rules: {source}")
        typer.echo("一证多用告警 / reuse alerts:")
        for r in doc["reuse"]["rules"]:
            typer.echo(f"  {r['rule']:<21} {r['raised_when_zh']} / {r['raised_when_en']}")
        typer.echo(f"信用规则 / credit rules (WATCH {doc['credit']['watch_days']} 天 / days):")
        for c in doc["credit"]["rules"]:
            typer.echo(f"  {c['zh']} / {c['en']}")
        if not doc["credit"]["rules"]:
            typer.echo("  无：违规不致暂停互认 / none: violations never bar")

    @app.command("trace")
    def trace(
        number: Annotated[str, typer.Argument(help="证书编号 / certificate number")],
        as_json: Annotated[bool, typer.Option("--json", help="JSON 输出 / JSON")] = False,
    ) -> None:
        """检疫追溯 / The trace of a consignment: records, links, events."""
        from quarantine.services import inspection

        with _session(write=False) as (session, who):
            doc = guarded(lambda: inspection.trace_dict(inspection.trace(session, number, who)))
        if as_json:
            print_json_line(doc)
            return
        typer.echo(f"追溯 / trace of {doc['start']}")
        for rec in doc["records"]:
            typer.echo(
                f"  {rec['kind']:<15} {rec['number']}  {rec['valid_from']} … {rec['valid_to']}"
            )
        for e in doc["edges"]:
            typer.echo(f"  {e['source']} → {e['target']}  ({e['link']})")
        for s in doc["steps"]:
            typer.echo(f"  {s['at']}  {s['type']:<20} {s['number']}  {s['region']}  {s['detail']}")
        for n in doc["missing"]:
            typer.echo(f"  未知记录 / unknown here: {n}")

    @alerts_app.command("list")
    def list_alerts(
        region: Annotated[str, typer.Option(help="地区代码 / region code")] = "",
        status: Annotated[str, typer.Option(help="open | checked | all")] = "open",
        as_json: Annotated[bool, typer.Option("--json")] = False,
    ) -> None:
        """列出告警 / List the alerts of a region (default: open)."""
        from quarantine.services import inspection

        with _session(write=False) as (session, who):
            total, rows = guarded(
                lambda: inspection.list_alerts(
                    session, who, region=region, status=status, limit=200
                )
            )
        for a in rows:
            doc = inspection.alert_dict(a)
            if as_json:
                print_json_line(doc)
            else:
                typer.echo(
                    f"{a.id}  {a.status:<7} {a.rule:<20} {a.number}  {doc['zh']} / {doc['en']}"
                    f"  {a.detail}"
                )
        if not as_json:
            typer.echo(f"共 {total} 条 / {total} alert(s)")

    @alerts_app.command("check")
    def check(
        alert_id: Annotated[str, typer.Argument(help="告警编号 / alert id")],
        note: Annotated[str, typer.Option(help="处理说明 / what was found")],
    ) -> None:
        """处理告警 / Mark an alert checked with a note."""
        from quarantine.services import inspection

        with _session(write=True) as (session, who):
            done = guarded(
                lambda: inspection.check_alert(session, alert_id, note, who, now=datetime.now(UTC))
            )
        typer.echo(f"{done.id}  {done.status}  {done.note}")

    @violations_app.command("record")
    def record(
        operator: Annotated[str, typer.Option(help="经营者登记号 / registration number")],
        kind: Annotated[
            str,
            typer.Option(help="FORGED | REUSE | GOODS_MISMATCH | PEST_FOUND | MISSING_CERTIFICATE"),
        ],
        severity: Annotated[str, typer.Option(help="MINOR | SERIOUS | SEVERE")],
        evidence: Annotated[str, typer.Option(help="证据 / evidence")],
        region: Annotated[str, typer.Option(help="记录地区 / recording region")] = "",
        certificate: Annotated[str, typer.Option(help="相关证书 / certificate")] = "",
        at: Annotated[str, typer.Option(help="时间（ISO 8601，带时区）/ time")] = "",
        as_json: Annotated[bool, typer.Option("--json")] = False,
    ) -> None:
        """记录违规并共享 / Record a violation against an operator (shared with the peers)."""
        from quarantine.core.model import CHINA_TZ
        from quarantine.services import inspection

        doc = {
            "operator": operator,
            "kind": kind,
            "severity": severity,
            "evidence": evidence,
            "region": region,
            "certificate": certificate,
            "at": at,
        }
        now = datetime.now(UTC)
        with _session(write=True) as (session, who):
            stored = guarded(lambda: inspection.record_violation(session, doc, who, now=now))
            v = stored.violation
            credit = guarded(
                lambda: inspection.credit_of(
                    session, v.operator, who, on=now.astimezone(CHINA_TZ).date()
                )
            )
        status = credit.as_dict()
        if as_json:
            print_json_line({"id": v.id, "operator": v.operator, "credit": status})
        else:
            why = status["why"]
            typer.echo(f"{v.id}  {v.operator}  {why['zh']} / {why['en']}")

    @app.command("credit")
    def credit(
        operator: Annotated[str, typer.Argument(help="经营者登记号 / registration number")],
        on: Annotated[str, typer.Option("--date", help="日期 / day (YYYY-MM-DD)")] = "",
        as_json: Annotated[bool, typer.Option("--json")] = False,
    ) -> None:
        """经营者信用 / An operator's credit status and why. Exit 1 when barred."""
        from quarantine.core.model import CHINA_TZ
        from quarantine.services import inspection

        try:
            day = date.fromisoformat(on) if on else datetime.now(CHINA_TZ).date()
        except ValueError:
            fail("BAD_DATE", "--date 须为 YYYY-MM-DD", "--date must be YYYY-MM-DD")
        with _session(write=False) as (session, who):
            doc = guarded(lambda: inspection.credit_of(session, operator, who, on=day).as_dict())
        if as_json:
            typer.echo(json.dumps(doc, ensure_ascii=False))
        else:
            typer.echo(
                f"{doc['operator']}  {doc['level']}  {doc['why']['zh']} / {doc['why']['en']}"
            )
            for v in doc["violations"]:
                mark = "*" if v["counts"] else " "
                typer.echo(
                    f" {mark} {v['at']}  {v['region']}  {v['kind']} ({v['severity']})  {v['evidence']}"
                )
        if doc["barred"]:
            raise typer.Exit(1)
