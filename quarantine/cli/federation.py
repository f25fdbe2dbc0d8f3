"""``quarantine federation init|demo|sync|status|resume`` and ``quarantine recognition check``.

``init`` writes the configuration of a four-node DEMO federation (Shanghai,
Jiangsu, Zhejiang, Anhui) on loopback ports: per node an environment file, its
own copy of its province's demo keys and a data folder.  ``demo`` starts the four
nodes as separate ``quarantine serve`` processes, issues records in each, pulls,
and prints where to look.  ``sync`` pulls the configured peers' feeds now into
the configured registry; ``recognition check`` answers whether a record is
recognised in a region on a day.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Final

import typer

from quarantine.cli.common import fail, guarded, print_json_line

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from quarantine.core.trust import TrustList
    from quarantine.federation.config import FederationConfig
    from quarantine.settings import Settings

PROVINCES: Final = ("310000", "320000", "330000", "340000")
NAMES: Final = {
    "310000": "上海 Shanghai",
    "320000": "江苏 Jiangsu",
    "330000": "浙江 Zhejiang",
    "340000": "安徽 Anhui",
}
DEFAULT_DIR: Final = Path("federation-demo")
DEFAULT_BASE_PORT: Final = 8101

federation_app = typer.Typer(
    help="长三角互认联盟：同步与演示 / Yangtze River Delta federation: feeds, sync, demo",
    no_args_is_help=True,
)
recognition_app = typer.Typer(
    help="互认查询 / Is a record recognised in a region", no_args_is_help=True
)


# --------------------------------------------------------------------------- wiring


@contextmanager
def _node() -> Iterator[tuple[Settings, TrustList, FederationConfig, sessionmaker[Session]]]:
    """Settings, trust list, federation config and sessions of the configured registry."""
    from quarantine import trustfile
    from quarantine.federation import config
    from quarantine.settings import Settings
    from quarantine.storage import db

    settings = guarded(Settings.from_env)
    trust = guarded(lambda: trustfile.load(settings.trust_list, settings.trust_anchor))
    fed = guarded(lambda: config.load(settings, trust))
    engine = guarded(lambda: db.make_engine(db.database_url(settings)))
    try:
        guarded(lambda: db.require_migrated(engine))
        yield settings, trust, fed, db.session_factory(engine)
    finally:
        engine.dispose()


def _node_env(folder: Path) -> dict[str, str]:
    env: dict[str, str] = {}
    for line in (folder / "node.env").read_text("utf-8").splitlines():
        key, sep, value = line.partition("=")
        if sep and key.startswith("QUARANTINE_"):
            env[key] = value
    return env


# --------------------------------------------------------------------------- init


def write_config(out: Path, keys: Path, base_port: int, interval: int) -> list[dict[str, Any]]:
    """Write the four nodes' folders under ``out``; the plan as a list of nodes."""
    from quarantine import keystore

    out = out.resolve()
    ports = {region: base_port + i for i, region in enumerate(PROVINCES)}
    nodes: list[dict[str, Any]] = []
    for region in PROVINCES:
        folder = out / region
        node_keys = folder / "keys"
        node_keys.mkdir(parents=True, exist_ok=True)
        (folder / "data").mkdir(exist_ok=True)
        for info in keystore.list_keys(keys):
            if info.region[:2] != region[:2]:
                continue
            stem = f"{info.region}-{info.kid}"
            for path in keys.glob(stem + ".*"):
                shutil.copy2(path, node_keys / path.name)
        peers = ",".join(f"{r}=http://127.0.0.1:{p}" for r, p in ports.items() if r != region)
        env = {
            "QUARANTINE_REGION": region,
            "QUARANTINE_DATA_DIR": str(folder / "data"),
            "QUARANTINE_KEYS_DIR": str(node_keys),
            "QUARANTINE_BASE_URL": f"http://127.0.0.1:{ports[region]}",
            "QUARANTINE_PEERS": peers,
            "QUARANTINE_PULL_INTERVAL_SECONDS": str(interval),
            "QUARANTINE_STALE_AFTER_SECONDS": "120",
            "QUARANTINE_VERIFY_RATE_PER_MINUTE": "100000",
        }
        text = "".join(f"{k}={v}\n" for k, v in env.items())
        (folder / "node.env").write_text(
            "# DEMO federation node " + region + " — source with: set -a; . ./node.env\n" + text,
            "utf-8",
        )
        nodes.append({"region": region, "port": ports[region], "folder": str(folder), "env": env})
    (out / "federation.json").write_text(
        json.dumps({"demo": True, "nodes": nodes}, ensure_ascii=False, indent=2) + "\n", "utf-8"
    )
    return nodes


# --------------------------------------------------------------------------- demo


def _start(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("QUARANTINE_")}
    full.update(env)
    with log.open("ab") as out:
        return subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            [
                sys.executable,
                "-m",
                "quarantine",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--no-access-log",
            ],
            env=full,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=15)


def _wait_ready(base: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    import httpx2

    deadline = time.monotonic() + timeout
    with httpx2.Client(timeout=2, trust_env=False) as client:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                fail("NODE_FAILED", f"节点 {base} 启动失败", f"the node at {base} exited on start")
            with suppress(httpx2.TransportError):
                if client.get(base + "/readyz").status_code == 200:
                    return
            time.sleep(0.2)
    fail("NODE_FAILED", f"节点 {base} 未就绪", f"the node at {base} is not ready")


def _prepare_node(env: dict[str, str]) -> dict[str, str]:
    """Migrate the node's registry; tokens (issuer and admin of its province) → secrets."""
    from quarantine.settings import Settings
    from quarantine.storage import db
    from quarantine.storage.tokens import TokenStore

    settings = Settings.from_env(env)
    url = db.database_url(settings)
    db.upgrade(url)
    engine = db.make_engine(url)
    try:
        with db.session_factory(engine).begin() as session:
            store = TokenStore(session)
            return {
                role: store.create(role, settings.region, f"federation demo {role}")[1]
                for role in ("issuer", "admin", "inspector")
            }
    finally:
        engine.dispose()


def run_demo(out: Path, keys: Path, base_port: int, wait: bool) -> dict[str, Any]:
    import httpx2

    from quarantine.cli.demo import _fill, demo_samples

    nodes = write_config(out, keys, base_port, interval=2)
    procs: list[subprocess.Popen[bytes]] = []
    summary: dict[str, Any] = {"nodes": [], "records": {}}
    try:
        tokens = {n["region"]: _prepare_node(n["env"]) for n in nodes}
        for n in nodes:
            procs.append(_start(n["env"], n["port"], Path(n["folder"]) / "server.log"))
        for n, proc in zip(nodes, procs, strict=True):
            _wait_ready(f"http://127.0.0.1:{n['port']}", proc)
        base = {n["region"]: f"http://127.0.0.1:{n['port']}" for n in nodes}
        numbers: dict[str, str] = {}
        with httpx2.Client(timeout=30, trust_env=False) as client:
            for sample in demo_samples(datetime.now(UTC)):
                region = sample.province
                auth = {"Authorization": f"Bearer {tokens[region]['issuer']}"}
                r = client.post(
                    base[region] + "/api/v1/certificates",
                    json=_fill(sample.doc, numbers),
                    headers=auth,
                )
                if r.status_code != 201:
                    fail("DEMO_ISSUE_FAILED", "演示证书签发失败", f"issuing failed: {r.text[:300]}")
                number = r.json()["number"]
                numbers[sample.name.replace("-", "_")] = number
                summary["records"][sample.name] = {"number": number, "region": region}
                if sample.revoke:
                    client.post(
                        f"{base[region]}/api/v1/certificates/{number}/revoke",
                        json={"reason": "演示：证书已撤销 / demo: revoked"},
                        headers=auth,
                    )
            for region in PROVINCES:
                auth = {"Authorization": f"Bearer {tokens[region]['admin']}"}
                client.post(base[region] + "/api/v1/federation/sync", headers=auth)
        for n in nodes:
            summary["nodes"].append(
                {"region": n["region"], "url": base[n["region"]], "folder": n["folder"]}
            )
        secrets = out.resolve() / "tokens.json"
        secrets.touch(mode=0o600)
        secrets.write_text(json.dumps(tokens, indent=2) + "\n", "utf-8")
        summary["tokens_file"] = str(secrets)
        _print_demo(summary)
        if wait:
            typer.echo("按 Ctrl-C 停止四个节点 / press Ctrl-C to stop the four nodes")
            with suppress(KeyboardInterrupt):
                while all(p.poll() is None for p in procs):
                    time.sleep(0.5)
    finally:
        _stop(procs)
    return summary


def _print_demo(summary: dict[str, Any]) -> None:
    records = summary["records"]
    sh = next(n for n in summary["nodes"] if n["region"] == "310000")["url"]
    typer.echo("四个演示节点已启动并完成同步 / four DEMO nodes are up and have synced:")
    for n in summary["nodes"]:
        typer.echo(f"  {NAMES[n['region']]:<14} {n['url']}   ({n['folder']})")
    typer.echo("\n在上海节点查询互认 / ask Shanghai's node:")
    for name in (
        "transport-inter-jiangsu",
        "transport-inter-zhejiang",
        "producing-area",
        "revoked-transport-shanghai",
    ):
        if name in records:
            typer.echo(f"  {sh}/api/v1/recognition/{records[name]['number']}   ({name})")
    typer.echo(f"  {sh}/api/v1/federation/producing-area   (共用产地检疫清单 / shared list)")
    typer.echo(f"  {sh}/api/v1/federation/feed             (本节点签名数据 / this node's feed)")
    typer.echo(f"  {sh}/docs                               (OpenAPI)")
    typer.echo(f"各节点 API 令牌 / API tokens of each node: {summary['tokens_file']}")


# --------------------------------------------------------------------------- commands


def register(app: typer.Typer) -> None:
    app.add_typer(federation_app, name="federation")
    app.add_typer(recognition_app, name="recognition")

    @federation_app.command("init")
    def init(
        out: Annotated[
            Path, typer.Option("--dir", help="配置目录 / folder to write")
        ] = DEFAULT_DIR,
        keys: Annotated[Path | None, typer.Option(help="演示密钥目录 / keys/demo")] = None,
        base_port: Annotated[int, typer.Option(min=1024, max=65000)] = DEFAULT_BASE_PORT,
        interval: Annotated[int, typer.Option(min=0, help="拉取间隔秒 / pull interval")] = 2,
    ) -> None:
        """写出四节点演示联盟配置 / Write the config of a four-node DEMO federation."""
        from quarantine.cli.demo import find_demo_keys

        nodes = write_config(out, find_demo_keys(keys), base_port, interval)
        for n in nodes:
            typer.echo(
                f"{NAMES[n['region']]:<14} http://127.0.0.1:{n['port']}  {n['folder']}/node.env"
            )
        typer.echo(
            "启动一个节点 / start a node:  (cd DIR/REGION && set -a && . ./node.env && "
            "quarantine db upgrade && quarantine serve --port PORT)"
        )

    @federation_app.command("demo")
    def demo(
        out: Annotated[Path, typer.Option("--dir", help="演示目录 / folder")] = DEFAULT_DIR,
        keys: Annotated[Path | None, typer.Option(help="演示密钥目录 / keys/demo")] = None,
        base_port: Annotated[int, typer.Option(min=1024, max=65000)] = DEFAULT_BASE_PORT,
        wait: Annotated[
            bool, typer.Option(help="保持运行直到 Ctrl-C / keep running until Ctrl-C")
        ] = True,
        as_json: Annotated[bool, typer.Option("--json", help="JSON 摘要 / JSON summary")] = False,
    ) -> None:
        """启动四个节点、签发、同步 / Start four nodes, issue records in each, sync, show where to look."""
        from quarantine.cli.demo import find_demo_keys

        if out.exists() and any(out.iterdir()):
            fail("DEMO_DIR_NOT_EMPTY", f"{out} 非空", f"{out} is not empty; pass another --dir")
        summary = run_demo(out, find_demo_keys(keys), base_port, wait)
        if as_json:
            print_json_line(summary)

    @federation_app.command("sync")
    def sync(
        peer: Annotated[str | None, typer.Option(help="只同步该地区 / only this peer")] = None,
        as_json: Annotated[bool, typer.Option("--json")] = False,
    ) -> None:
        """立即拉取对端数据 / Pull the peers' feeds into the configured registry now."""
        from quarantine.federation.sync import Puller

        with _node() as (settings, trust, fed, sessions):
            targets = [p for p in fed.peers if peer is None or p.region == peer]
            if not targets:
                fail(
                    "UNKNOWN_PEER",
                    f"没有对端 {peer or ''}",
                    f"no peer {peer or '(none configured)'}",
                )
            puller = Puller(sessions, trust, fed, skew_seconds=settings.clock_skew_seconds)
            with puller.client_factory() as client:
                outcomes = [puller.pull(p, client) for p in targets]
        for o in outcomes:
            if as_json:
                print_json_line(o.as_dict())
            else:
                state = f"错误 / error {o.error_code}: {o.error_message}" if o.error_code else "ok"
                typer.echo(f"{o.region}: +{o.accepted} → head {o.head_seq}  {state}")
        if any(o.error_code for o in outcomes):
            raise typer.Exit(1)

    @federation_app.command("status")
    def status(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
        """对端同步状态 / Peers: head, last success, staleness, alerts."""
        from quarantine.storage import federation as store

        with _node() as (_, _trust, fed, sessions), sessions() as session:
            states = {s.region: s for s in store.all_peers(session)}
        now = datetime.now(UTC)
        stale = False
        for peer in fed.peers:
            state = states.get(peer.region)
            doc: dict[str, Any] = (
                state.as_dict(now, fed.stale_after)
                if state
                else {"region": peer.region, "head_seq": 0, "stale": True, "alert": None}
            )
            stale = stale or bool(doc["stale"]) or bool(doc.get("halted"))
            if as_json:
                print_json_line(doc)
            else:
                alert = doc["alert"]["code"] if doc["alert"] else "-"
                flag = "过期 / STALE" if doc["stale"] else "ok"
                typer.echo(f"{peer.region} head {doc['head_seq']}  {flag}  alert {alert}")
        if stale:
            raise typer.Exit(1)

    @federation_app.command("resume")
    def resume(peer: Annotated[str, typer.Option(help="地区代码 / peer region")]) -> None:
        """恢复从已停止的对端拉取 / Resume pulling from a peer halted by an alert."""
        from quarantine.storage import federation as store

        with _node() as (_, _trust, _fed, sessions), sessions.begin() as session:
            if peer not in {s.region for s in store.all_peers(session)}:
                fail("UNKNOWN_PEER", f"没有对端 {peer}", f"no peer {peer}")
            store.clear_halt(session, peer)
        typer.echo(f"{peer}: 已恢复 / resumed")

    @recognition_app.command("check")
    def check(
        number: Annotated[str, typer.Argument(help="证书编号 / record number")],
        region: Annotated[str, typer.Option(help="查询地区 / asking region")],
        day: Annotated[str | None, typer.Option("--date", help="日期 YYYY-MM-DD")] = None,
        as_json: Annotated[bool, typer.Option("--json")] = False,
    ) -> None:
        """某记录在某地区某日是否互认 / Is record NUMBER recognised in REGION on DATE."""
        from datetime import timedelta

        from quarantine.federation import service

        parsed: date | None = None
        if day is not None:
            try:
                parsed = date.fromisoformat(day)
            except ValueError:
                fail(
                    "BAD_DATE", "--date 须为 YYYY-MM-DD", f"--date must be YYYY-MM-DD, not {day!r}"
                )
        now = datetime.now(UTC)
        with _node() as (settings, trust, fed, sessions), sessions() as session:
            result = guarded(
                lambda: service.check_recognition(
                    session,
                    number,
                    region,
                    at=service.day_instant(parsed, now),
                    trust=trust,
                    agreement=fed.agreement,
                    skew=timedelta(seconds=settings.clock_skew_seconds),
                    own_region=settings.region,
                    stale_after=fed.stale_after,
                    now=now,
                )
            )
        if as_json:
            print_json_line(result.to_dict())
        else:
            verdict = "互认 / RECOGNISED" if result.recognised else "不互认 / NOT RECOGNISED"
            typer.echo(f"{result.number} @ {result.region}: {verdict}")
            for r in result.reasons:
                detail = f" ({r.detail})" if r.detail else ""
                typer.echo(f"  [{r.code}] {r.message_zh} / {r.message_en}{detail}")
        raise typer.Exit(0 if result.recognised else 1)
