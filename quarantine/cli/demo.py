"""``quarantine demo``: a local node with the demo federation, sample certificates and the server.

1. finds the DEMO keys (``keys/demo`` under the current folder or the repository;
   ``--keys`` to choose; every private key there must be a demo key);
2. creates and migrates a SQLite registry ``<data_dir>/registry.sqlite3``
   (refusing a registry the demo did not create);
3. creates demo API tokens (an issuer per province, an inspector, an admin) and
   prints them;
4. issues sample certificates of every kind for the four demo regions through
   the registry services, revokes one, and writes their QR PNGs, QR texts and
   printable HTML into ``<data_dir>/demo/``;
5. starts the server (uvicorn) and prints the URLs — unless ``--no-serve``.

A second run reuses what the first set up (``--fresh`` starts over).
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Final

import typer

from quarantine.cli.common import fail, guarded

if TYPE_CHECKING:
    from quarantine.settings import Settings
    from quarantine.web.registry import Registry

DEMO_DIRNAME: Final = "demo"
MANIFEST: Final = "demo.json"
REGISTRY_FILE: Final = "registry.sqlite3"
PROVINCES: Final = ("310000", "320000", "330000", "340000")
REPO: Final = Path(__file__).resolve().parents[2]

_CONSIGNEE: Final = {"name": "上海浦东园林建设有限公司", "address": "上海市浦东新区川沙路5558号"}
_STATEMENT_INTER: Final = (
    "经检疫未发现全国林业检疫性有害生物、本省和调入省补充林业检疫性有害生物"
    "及调入省要求检疫的有害生物，同意调运。"
)
_STATEMENT_INTRA: Final = (
    "经检疫未发现全国林业检疫性有害生物和本省补充林业检疫性有害生物，同意调运。"
)
_ZJ_AGENCY: Final = {"region": "330109", "name": "杭州市萧山区林业植物检疫站"}
_ZJ_DELEGATE: Final = {"region": "330000", "name": "浙江省森林病虫害防治总站"}
_ZJ_OFFICER: Final = {"name": "王建国", "number": "浙森检0917"}
_ZJ_GROWER: Final = {
    "name": "杭州萧山绿源苗木专业合作社",
    "address": "浙江省杭州市萧山区新街街道花木城路18号",
}


@dataclass(frozen=True)
class Sample:
    """One demo certificate: a file stem, a note, its issuing province and its document."""

    name: str
    note: str
    province: str
    doc: dict[str, Any]
    revoke: bool = False


def _days(today: datetime, n: int) -> str:
    return (today + timedelta(days=n)).date().isoformat()


def demo_samples(now: datetime) -> list[Sample]:
    """Certificates of every kind, issued by agencies of all four provinces (DEMO data).

    ``{producing_area}``, ``{requirement}`` and ``{transport_inter}`` in references
    are filled in with the numbers of the certificates issued before.
    """
    from quarantine.core.model import CHINA_TZ

    today = now.astimezone(CHINA_TZ)
    start = today.date().isoformat()
    return [
        Sample(
            "producing-area",
            "产地检疫合格证（浙江）/ producing-area pass (Zhejiang)",
            "330000",
            {
                "kind": "PRODUCING_AREA",
                "issuing_agency": _ZJ_AGENCY,
                "delegating_agency": _ZJ_DELEGATE,
                "officer": _ZJ_OFFICER,
                "producer": {**_ZJ_GROWER, "registration": "浙检登330109-0087"},
                "origin": "萧山区新街街道苗圃基地",
                "valid_from": start,
                "valid_to": _days(today, 180),
                "items": [
                    {
                        "product": "香樟",
                        "specification": "胸径12-15cm",
                        "unit": "株",
                        "quantity": 600,
                    },
                    {
                        "product": "桂花",
                        "specification": "胸径8-10cm",
                        "unit": "株",
                        "quantity": 400,
                    },
                ],
                "statement": "经产地检疫，未发现林业检疫性有害生物，准予凭此证换发植物检疫证书。",
            },
        ),
        Sample(
            "requirement",
            "植物检疫要求书（上海）/ requirement letter (Shanghai)",
            "310000",
            {
                "kind": "REQUIREMENT",
                "issuing_agency": {"region": "310000", "name": "上海市林业总站"},
                "officer": {"name": "周敏", "number": "沪林检0007"},
                "consignee": {**_CONSIGNEE, "registration": "沪检登310115-0311"},
                "category": "绿化苗木",
                "requirements": "调入苗木须无松材线虫病、美国白蛾、红棕象甲、扶桑绵粉蚧。",
                "valid_from": start,
                "valid_to": _days(today, 180),
                "items": [
                    {"product": "香樟", "unit": "株", "quantity": 500},
                    {"product": "桂花", "unit": "株", "quantity": 300},
                ],
                "statement": "调入的森林植物及其产品须经产地检疫或调运检疫合格并附植物检疫证书，到达后接受复检。",
            },
        ),
        Sample(
            "transport-inter-zhejiang",
            "出省植物检疫证书（浙江→上海）/ inter-province transport certificate (Zhejiang → Shanghai)",
            "330000",
            {
                "kind": "TRANSPORT",
                "scope": "INTER_PROVINCE",
                "issuing_agency": _ZJ_AGENCY,
                "delegating_agency": _ZJ_DELEGATE,
                "officer": _ZJ_OFFICER,
                "consignor": _ZJ_GROWER,
                "agent": {"name": "陈立明", "phone": "13857100000"},
                "consignee": _CONSIGNEE,
                "origin": "萧山区新街街道苗圃基地",
                "conveyance": {"type": "汽车", "identifier": "浙A7K392"},
                "route": {"from": "330109", "via": [], "to": "310115"},
                "valid_from": start,
                "valid_to": _days(today, 14),
                "items": [
                    {
                        "product": "香樟",
                        "specification": "胸径12-15cm",
                        "unit": "株",
                        "quantity": 120,
                    },
                    {
                        "product": "桂花",
                        "specification": "胸径8-10cm",
                        "unit": "株",
                        "quantity": 80,
                    },
                ],
                "statement": _STATEMENT_INTER,
                "references": {
                    "producing_area_pass": "{producing_area}",
                    "requirement_letter": "{requirement}",
                },
            },
        ),
        Sample(
            "transport-inter-jiangsu",
            "出省植物检疫证书（江苏→上海）/ inter-province transport certificate (Jiangsu → Shanghai)",
            "320000",
            {
                "kind": "TRANSPORT",
                "scope": "INTER_PROVINCE",
                "issuing_agency": {"region": "320583", "name": "昆山市林业站"},
                "delegating_agency": {"region": "320000", "name": "江苏省林业局"},
                "officer": {"name": "赵磊", "number": "苏林检0583"},
                "consignor": {"name": "昆山市花桥苗木场", "address": "江苏省昆山市花桥镇"},
                "consignee": _CONSIGNEE,
                "origin": "花桥镇苗圃",
                "conveyance": {"type": "汽车", "identifier": "苏E6G823"},
                "route": {"from": "320583", "via": [], "to": "310115"},
                "valid_from": start,
                "valid_to": _days(today, 14),
                "items": [
                    {
                        "product": "榉树",
                        "specification": "胸径10-12cm",
                        "unit": "株",
                        "quantity": 60,
                    }
                ],
                "statement": _STATEMENT_INTER,
            },
        ),
        Sample(
            "transport-inter-anhui",
            "出省植物检疫证书（安徽→上海，ES256）/ inter-province transport certificate (Anhui, ES256)",
            "340000",
            {
                "kind": "TRANSPORT",
                "scope": "INTER_PROVINCE",
                "issuing_agency": {"region": "340104", "name": "合肥市蜀山区林业站"},
                "delegating_agency": {"region": "340000", "name": "安徽省林业有害生物防治检疫局"},
                "officer": {"name": "孙磊", "number": "皖林检0316"},
                "consignor": {
                    "name": "合肥蜀山苗木繁育基地",
                    "address": "安徽省合肥市蜀山区小庙镇",
                },
                "consignee": _CONSIGNEE,
                "origin": "蜀山区小庙镇苗圃",
                "conveyance": {"type": "汽车", "identifier": "皖A3C561"},
                "route": {"from": "340104", "via": ["320583"], "to": "310115"},
                "valid_from": start,
                "valid_to": _days(today, 14),
                "items": [
                    {
                        "product": "紫薇",
                        "specification": "地径5-6cm",
                        "unit": "株",
                        "quantity": 150,
                    },
                    {"product": "草坪", "unit": "平方米", "quantity": 1200.5},
                ],
                "statement": _STATEMENT_INTER,
            },
        ),
        Sample(
            "transport-intra-shanghai",
            "省内植物检疫证书（上海）/ intra-province transport certificate (Shanghai)",
            "310000",
            _shanghai_transport(start, _days(today, 14), "沪B5D218"),
        ),
        Sample(
            "project",
            "工程植物检疫复验合格证（上海）/ project re-inspection record (Shanghai)",
            "310000",
            {
                "kind": "PROJECT",
                "issuing_agency": {"region": "310115", "name": "上海市浦东新区林业站"},
                "delegating_agency": {"region": "310000", "name": "上海市林业总站"},
                "officer": {"name": "刘洋", "number": "沪林检0115"},
                "project": {
                    "name": "浦东新区川沙绿地改造工程",
                    "district": "310115",
                    "contractor": "上海浦东园林建设有限公司",
                    "site": "川沙新镇华夏东路以南地块",
                },
                "valid_from": start,
                "valid_to": _days(today, 365),
                "items": [
                    {
                        "product": "香樟",
                        "specification": "胸径12-15cm",
                        "unit": "株",
                        "quantity": 120,
                    }
                ],
                "references": {"certificates": ["{transport_inter_zhejiang}"]},
                "statement": "经复验，工程所用植物材料检疫合格，准予使用。",
            },
        ),
        Sample(
            "revoked-transport-shanghai",
            "已撤销的省内植物检疫证书（上海）/ a revoked transport certificate (Shanghai)",
            "310000",
            _shanghai_transport(start, _days(today, 14), "沪C1A007"),
            revoke=True,
        ),
    ]


def _shanghai_transport(start: str, end: str, plate: str) -> dict[str, Any]:
    return {
        "kind": "TRANSPORT",
        "scope": "INTRA_PROVINCE",
        "issuing_agency": {"region": "310112", "name": "上海市闵行区林业站"},
        "delegating_agency": {"region": "310000", "name": "上海市林业总站"},
        "officer": {"name": "李慧", "number": "沪林检0231"},
        "consignor": {
            "name": "上海闵行浦江花木有限公司",
            "address": "上海市闵行区浦江镇陈行公路2388号",
        },
        "consignee": _CONSIGNEE,
        "origin": "闵行区浦江镇苗圃",
        "conveyance": {"type": "汽车", "identifier": plate},
        "route": {"from": "310112", "via": [], "to": "310115"},
        "valid_from": start,
        "valid_to": end,
        "items": [
            {"product": "银杏", "specification": "胸径15-18cm", "unit": "株", "quantity": 40}
        ],
        "statement": _STATEMENT_INTRA,
    }


def _fill(value: Any, numbers: dict[str, str]) -> Any:
    if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
        return numbers[value[1:-1]]
    if isinstance(value, dict):
        return {k: _fill(v, numbers) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, numbers) for v in value]
    return value


# ------------------------------------------------------------------ keys and folders


def find_demo_keys(explicit: Path | None) -> Path:
    """The demo key folder: ``--keys``, else ``keys/demo`` here or in the repository."""
    from quarantine import keystore

    candidates = [explicit] if explicit else [Path.cwd() / "keys" / "demo", REPO / "keys" / "demo"]
    for folder in candidates:
        keys = keystore.list_keys(folder) if folder.is_dir() else []
        if not keys:
            continue
        real = [k.kid for k in keys if k.private_path is not None and not k.demo]
        if real:
            fail(
                "DEMO_KEYS_NOT_DEMO",
                f"{folder} 中有非演示私钥，演示不会使用它们",
                f"{folder} holds non-demo private keys ({', '.join(real)}); the demo only uses DEMO keys",
            )
        provinces = {k.region[:2] + "0000" for k in keys if k.private_path is not None}
        missing = [p for p in PROVINCES if p not in provinces]
        if missing:
            fail(
                "DEMO_KEYS_MISSING",
                f"{folder} 缺少以下省份的演示密钥：{', '.join(missing)}",
                f"{folder} lacks demo keys of {', '.join(missing)}",
            )
        return folder
    where = " or ".join(str(c) for c in candidates)
    return fail(
        "DEMO_KEYS_MISSING",
        f"找不到演示密钥（{where}）；请在代码仓库根目录运行，或用 --keys 指定 keys/demo",
        f"no demo keys found ({where}); run from the repository root or pass --keys path/to/keys/demo",
    )


def _write_private(path: Path, data: bytes) -> None:
    temp = path.with_name(f".{path.name}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    temp.replace(path)


def _write(path: Path, data: bytes) -> None:
    temp = path.with_name(f".{path.name}.tmp")
    temp.write_bytes(data)
    temp.replace(path)


def _remove_registry(data_dir: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        (data_dir / f"{REGISTRY_FILE}{suffix}").unlink(missing_ok=True)


# ------------------------------------------------------------------ set-up


def _sqlite_url(data_dir: Path) -> str:
    return f"sqlite:///{(data_dir / REGISTRY_FILE).resolve()}"


def set_up(settings: Settings, demo_dir: Path, now: datetime) -> dict[str, Any]:
    """Migrate the registry, create tokens, issue the samples; the manifest."""
    from quarantine.reference import region_table
    from quarantine.render import certificate_html, qr_png
    from quarantine.services import registry as service
    from quarantine.services.authz import Principal, Role
    from quarantine.storage import db
    from quarantine.storage.tokens import TokenStore
    from quarantine.web.registry import open_registry

    assert settings.database_url is not None
    db.upgrade(settings.database_url)
    reg: Registry = open_registry(settings)
    regions = region_table()
    signer_for = service.KeyFolderSigners(settings.resolved_keys_dir(), None)
    tokens: list[dict[str, str]] = []
    issuers: dict[str, Principal] = {}
    try:
        with reg.session() as session:
            store = TokenStore(session)
            plan = [("issuer", p) for p in PROVINCES] + [
                ("inspector", "310000"),
                ("admin", "310000"),
            ]
            for role, region in plan:
                token_id, secret = store.create(role, region, f"demo {role} {region}", now=now)
                tokens.append({"role": role, "region": region, "id": token_id, "secret": secret})
                if role == "issuer":
                    issuers[region] = Principal(Role.ISSUER, region, token_id)
        numbers: dict[str, str] = {}
        samples: list[dict[str, Any]] = []
        demo_dir.mkdir(parents=True, exist_ok=True)
        for sample in demo_samples(now):
            who = issuers[sample.province]
            with reg.session() as session:
                issued = service.issue(
                    session,
                    _fill(sample.doc, numbers),
                    who,
                    signer_for=signer_for,
                    base_url=settings.base_url,
                    regions=regions,
                    now=now,
                )
                number = str(issued.certificate.number)
                if sample.revoke:
                    service.revoke(
                        session, number, "演示：证书已撤销 / demo: revoked", who, now=now
                    )
            numbers[sample.name.replace("-", "_")] = number
            stem = demo_dir / sample.name
            _write(stem.with_suffix(".txt"), (issued.qr_text + "\n").encode("ascii"))
            _write(stem.with_suffix(".qr.png"), qr_png(issued.qr_text))
            html = certificate_html(
                issued.certificate, issued.qr_text, region_name=regions.full_name
            )
            _write(stem.with_suffix(".html"), html.encode("utf-8"))
            samples.append(
                {
                    "name": sample.name,
                    "note": sample.note,
                    "kind": issued.certificate.kind.value,
                    "number": number,
                    "region": issued.certificate.number.region,
                    "year": issued.certificate.number.year,
                    "kid": issued.kid,
                    "revoked": sample.revoke,
                    "path": "/C/" + issued.qr_text.rsplit("/", 1)[-1],
                    "qr_png": f"{sample.name}.qr.png",
                    "html": f"{sample.name}.html",
                    "text": f"{sample.name}.txt",
                }
            )
    finally:
        reg.close()
    return {
        "about": "DEMO node: demo keys, demo tokens, demo certificates. Never for production.",
        "created_at": now.isoformat(),
        "base_url": settings.base_url,
        "keys": str(settings.resolved_keys_dir()),
        "tokens": tokens,
        "samples": samples,
    }


# ------------------------------------------------------------------ output


def print_summary(manifest: dict[str, Any], demo_dir: Path, base: str) -> None:
    echo = typer.echo
    samples: list[dict[str, Any]] = manifest["samples"]
    echo("== 演示令牌 / demo API tokens (Authorization: Bearer …) ==")
    for tok in manifest["tokens"]:
        echo(f"  {tok['role']:<9} {tok['region']}  {tok['secret']}")
    echo("")
    echo("== 演示证书 / demo certificates ==")
    for s in samples:
        mark = "  （已撤销 REVOKED）" if s["revoked"] else ""
        echo(f"  {s['number']}  {s['note']}{mark}")
        echo(f"      {s['qr_png']}  {s['html']}")
    echo("")
    first = next((s for s in samples if not s["revoked"]), samples[0])
    echo(f"核验页面 verification page of a sample: {base}{first['path']}")
    revoked = [s for s in samples if s["revoked"]]
    if revoked:
        echo(f"已撤销的样例 a revoked sample:       {base}{revoked[0]['path']}")
    echo(f"API 文档 API docs (OpenAPI):          {base}/docs")
    echo(
        f"状态列表 status list:                 {base}/api/v1/status-lists/{first['region']}/{first['year']}"
    )
    echo(f"状态列表目录 status list index:       {base}/api/v1/status-lists")
    echo(f"二维码图片和可打印证书 QR PNGs and printable HTML: {demo_dir}")
    echo(f"  e.g. {demo_dir / first['qr_png']}  {demo_dir / first['html']}")
    echo(f"清单 manifest (tokens included): {demo_dir / MANIFEST}")
    if manifest.get("base_url") and manifest["base_url"] != base:
        echo(
            f"! 二维码中的网址是 {manifest['base_url']}（首次运行时的地址）/ "
            f"the QR codes point at {manifest['base_url']} (the first run's address)"
        )


def register(app: typer.Typer) -> None:
    @app.command()
    def demo(
        data_dir: Annotated[
            Path | None,
            typer.Option(help="数据目录 / data folder (default QUARANTINE_DATA_DIR)"),
        ] = None,
        keys: Annotated[
            Path | None, typer.Option(help="演示密钥目录 / demo key folder (default keys/demo)")
        ] = None,
        host: Annotated[str, typer.Option(help="监听地址 / address to listen on")] = "127.0.0.1",
        port: Annotated[int, typer.Option(min=1, max=65535, help="端口 / port")] = 8000,
        base_url: Annotated[
            str | None,
            typer.Option(help="二维码中的网址 / URL in the QR codes (default http://HOST:PORT)"),
        ] = None,
        serve: Annotated[
            bool,
            typer.Option(
                "--serve/--no-serve",
                help="设置完成后启动服务 / start the server after setting up",
            ),
        ] = True,
        fresh: Annotated[
            bool,
            typer.Option(
                "--fresh",
                help="删除上次的演示数据并重新开始 / discard a previous demo and start over",
            ),
        ] = False,
    ) -> None:
        """演示：本地登记库、演示证书、启动服务 / Demo: a local registry, sample certificates, the server."""
        from quarantine.settings import Settings

        env = guarded(Settings.from_env)
        folder = (data_dir or env.data_dir).expanduser().resolve()
        key_dir = find_demo_keys(keys.resolve() if keys else None)
        shown_host = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host  # noqa: S104
        if ":" in shown_host:
            shown_host = f"[{shown_host}]"
        base = (base_url or f"http://{shown_host}:{port}").rstrip("/")
        demo_dir = folder / DEMO_DIRNAME
        manifest_path = demo_dir / MANIFEST
        registry_file = folder / REGISTRY_FILE
        if fresh and manifest_path.is_file():
            _remove_registry(folder)
            shutil.rmtree(demo_dir)
        if registry_file.exists() and not manifest_path.is_file():
            fail(
                "REGISTRY_EXISTS",
                f"{registry_file} 已存在且不是演示创建的；请用 --data-dir 指定另一个目录",
                f"{registry_file} exists and was not created by the demo; choose another --data-dir",
            )
        settings = replace(
            env,
            data_dir=folder,
            keys_dir=key_dir,
            database_url=_sqlite_url(folder),
            base_url=base,
        )
        if manifest_path.is_file():
            manifest = json.loads(manifest_path.read_text("utf-8"))
            typer.echo(
                f"沿用上次的演示数据 / reusing the demo set up in {folder} (--fresh to redo)"
            )
        else:
            folder.mkdir(parents=True, exist_ok=True)
            typer.echo(f"设置演示节点 / setting up the demo node in {folder} …")
            now = datetime.now(UTC)
            try:
                manifest = guarded(lambda: set_up(settings, demo_dir, now))
            except BaseException:
                _remove_registry(folder)  # nothing half-made is left to be reused
                shutil.rmtree(demo_dir, ignore_errors=True)
                raise
            _write_private(
                manifest_path,
                (json.dumps(manifest, ensure_ascii=False, indent=2) + "\n").encode("utf-8"),
            )
        typer.echo(f"演示密钥 DEMO keys: {key_dir}")
        typer.echo(f"登记库 registry: {registry_file}")
        typer.echo("")
        print_summary(manifest, demo_dir, base)
        if not serve:
            return
        import uvicorn

        from quarantine.web import create_app

        application = guarded(lambda: create_app(settings))
        typer.echo("")
        typer.echo(f"== 服务启动于 serving on {base}（Ctrl-C 停止 / to stop）==")
        uvicorn.run(application, host=host, port=port, log_level="info", access_log=False)
