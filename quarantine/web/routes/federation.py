"""Federation routes: this node's feed, recognition, the shared lists, peers and sync.

Thin routes over :mod:`quarantine.federation`.  :func:`install` adds them to the
app, attaches the feed publisher to the registry's sessions and, when the node
has peers and a pull interval, runs the pulling loop for the app's lifetime.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import date, datetime
from typing import Annotated, Any, Final

from fastapi import APIRouter, Body, Depends, FastAPI, Path, Query, Request
from fastapi.responses import HTMLResponse

from quarantine.core.feed import MAX_PAGE_ENTRIES
from quarantine.core.keys import Signer
from quarantine.core.model import CHINA_TZ, NUMBER_RE
from quarantine.errors import InputError
from quarantine.federation import config as fedconfig
from quarantine.federation import service
from quarantine.federation.config import FederationConfig
from quarantine.federation.publish import FeedPublisher, attach
from quarantine.federation.sync import Puller, SyncLoop
from quarantine.services.authz import Action
from quarantine.storage import federation as store
from quarantine.web.auth import Caller, may
from quarantine.web.context import AppContext, context, need_registry
from quarantine.web.errors import ApiError
from quarantine.web.routes.verify import limit_public

PREFIX: Final = "/api/v1/federation"
DEFAULT_FEED_LIMIT: Final = 100

router = APIRouter(tags=["federation"])
Context = Annotated[AppContext, Depends(context)]


def _federation(request: Request) -> FederationConfig:
    found: FederationConfig = request.app.state.federation
    return found


Federation = Annotated[FederationConfig, Depends(_federation)]


# --------------------------------------------------------------------------- feed


@router.get(f"{PREFIX}/feed")
def feed(
    ctx: Context,
    fed: Federation,
    after: Annotated[
        int, Query(ge=0, le=2**53, description="只返回此序号之后的条目 / entries after this seq")
    ] = 0,
    limit: Annotated[
        int, Query(ge=1, description=f"条数，最多 {MAX_PAGE_ENTRIES} / page size, capped")
    ] = DEFAULT_FEED_LIMIT,
) -> dict[str, Any]:
    """本节点的签名同步数据 / This node's signed feed, cursor-paged (entries: base64 COSE_Sign1)."""
    registry = need_registry(ctx)
    limit = min(limit, MAX_PAGE_ENTRIES)
    with registry.reader() as session:
        rows = store.feed_page(session, after, limit)
        head = store.feed_head(session)
    return {
        "region": fed.region,
        "after": after,
        "head_seq": head.seq,
        "next_after": rows[-1][0] if rows else after,
        "entries": [base64.b64encode(blob).decode("ascii") for _, blob in rows],
    }


@router.get(f"{PREFIX}/peers")
def peers(ctx: Context, fed: Federation, who: Caller) -> dict[str, Any]:
    """同步对端状态与告警 / Peers: accepted head, last success, staleness and alerts."""
    may(Action.READ, who)
    now = ctx.clock()
    with need_registry(ctx).reader() as session:
        states = {s.region: s for s in store.all_peers(session)}
    out = []
    for peer in fed.peers:
        state = states.get(peer.region)
        if state is None:
            out.append(
                {
                    "region": peer.region,
                    "base_url": peer.base_url,
                    "stale": True,
                    "head_seq": 0,
                    "last_success_at": None,
                    "halted": False,
                    "alert": None,
                }
            )
        else:
            out.append(state.as_dict(now, fed.stale_after))
    return {
        "region": fed.region,
        "stale_after_seconds": int(fed.stale_after.total_seconds()),
        "peers": out,
    }


@router.post(f"{PREFIX}/sync")
def sync(
    request: Request,
    fed: Federation,
    who: Caller,
    peer: Annotated[str | None, Query(pattern=r"^\d{6}$")] = None,
) -> dict[str, Any]:
    """立即同步 / Pull peers' feeds now (administrators)."""
    may(Action.MANAGE, who, fed.region)
    puller: Puller | None = request.app.state.federation_puller
    if puller is None:
        raise ApiError(409, "FEDERATION_DISABLED", "本节点未配置互认联盟", "this node has no peers")
    targets = fed.peers if peer is None else tuple(p for p in fed.peers if p.region == peer)
    if not targets:
        raise ApiError(404, "UNKNOWN_PEER", f"没有对端 {peer}", f"no peer {peer}")
    with puller.client_factory() as client:
        return {"results": [puller.pull(p, client).as_dict() for p in targets]}


# --------------------------------------------------------------------------- recognition


@router.get("/api/v1/recognition/{number}", dependencies=[Depends(limit_public)])
def recognition(
    ctx: Context,
    fed: Federation,
    number: Annotated[str, Path(pattern=NUMBER_RE.pattern)],
    region: Annotated[
        str | None, Query(pattern=r"^\d{6}$", description="查询地区 / asking region")
    ] = None,
    day: Annotated[date | None, Query(alias="date", description="日期 / day (China time)")] = None,
) -> dict[str, Any]:
    """互认查询 / Is record NUMBER recognised in REGION on DATE, and if not, why."""
    now = ctx.clock()
    with need_registry(ctx).reader() as session:
        result = service.check_recognition(
            session,
            number,
            region or fed.region,
            at=service.day_instant(day, now),
            trust=ctx.trust,
            agreement=fed.agreement,
            skew=ctx.skew,
            own_region=fed.region,
            stale_after=fed.stale_after,
            now=now,
        )
    return result.to_dict()


# --------------------------------------------------------------------------- shared lists


@router.get(f"{PREFIX}/producing-area", dependencies=[Depends(limit_public)])
def producing_area(
    ctx: Context,
    operator: Annotated[str, Query(max_length=100, description="生产经营者名称或登记号")] = "",
    species: Annotated[str, Query(max_length=100, description="植物名称 / species")] = "",
    region: Annotated[str, Query(pattern=r"^(\d{6})?$")] = "",
    expiring_within_days: Annotated[int | None, Query(ge=0, le=3660)] = None,
    limit: Annotated[int, Query(ge=1, le=store.MAX_SEARCH_PAGE)] = 20,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> dict[str, Any]:
    """共用产地检疫清单 / The shared producing-area list, valid today, filtered."""
    today = ctx.clock().astimezone(CHINA_TZ).date()
    with need_registry(ctx).reader() as session:
        total, rows = store.search_producing_area(
            session,
            today=today,
            operator=operator,
            species=species,
            region=region,
            expiring_within_days=expiring_within_days,
            limit=limit,
            offset=offset,
        )
    return {"today": today.isoformat(), "total": total, "items": [r.as_dict() for r in rows]}


@router.get(f"{PREFIX}/operators")
def operators(
    ctx: Context,
    who: Caller,
    name: Annotated[str, Query(max_length=100)] = "",
    region: Annotated[str, Query(pattern=r"^(\d{6})?$")] = "",
    limit: Annotated[int, Query(ge=1, le=store.MAX_SEARCH_PAGE)] = 20,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> dict[str, Any]:
    """检疫登记（四地） / Operator registrations across the federation."""
    may(Action.READ, who)
    today = ctx.clock().astimezone(CHINA_TZ).date()
    with need_registry(ctx).reader() as session:
        total, rows = store.search_operators(
            session, name=name, region=region, limit=limit, offset=offset
        )
    return {"total": total, "items": [r.as_dict(today) for r in rows]}


@router.post(f"{PREFIX}/operators", status_code=201)
def register_operator(
    ctx: Context, who: Caller, doc: Annotated[dict[str, Any], Body()]
) -> dict[str, Any]:
    """登记经营者或记录信用限制 / Register an operator of this province (or bar one)."""
    region = doc.get("region")
    may(Action.ISSUE, who, region if isinstance(region, str) else "")
    now = ctx.clock()
    with need_registry(ctx).session() as session:
        found = service.register_operator(session, doc, who, now=now)
    return found.as_dict(now.astimezone(CHINA_TZ).date())


# --------------------------------------------------------------------------- console page


@router.get(
    "/federation/recognition",
    response_class=HTMLResponse,
    include_in_schema=False,
    dependencies=[Depends(limit_public)],
)
def recognition_page(
    request: Request,
    ctx: Context,
    fed: Federation,
    number: Annotated[str, Query(max_length=40)] = "",
    region: Annotated[str, Query(max_length=6)] = "",
    day: Annotated[str, Query(alias="date", max_length=10)] = "",
) -> HTMLResponse:
    """互认查询页面 / The inspectors' page: is record X recognised in region S on day d."""
    from quarantine.web import pages

    region = region or fed.region
    members = [(m.region, m.name) for m in ctx.trust.members]
    context: dict[str, Any] = {
        "number": number,
        "region": region,
        "day": day,
        "members": members,
        "result": None,
        "error": None,
    }
    if number:
        try:
            parsed = date.fromisoformat(day) if day else None
        except ValueError:
            parsed = None
            context["error"] = {
                "code": "BAD_DATE",
                "zh": "日期须为 YYYY-MM-DD",
                "en": "day must be YYYY-MM-DD",
            }
        if context["error"] is None:
            now = ctx.clock()
            try:
                with need_registry(ctx).reader() as session:
                    result = service.check_recognition(
                        session,
                        number.strip(),
                        region,
                        at=service.day_instant(parsed, now),
                        trust=ctx.trust,
                        agreement=fed.agreement,
                        skew=ctx.skew,
                        own_region=fed.region,
                        stale_after=fed.stale_after,
                        now=now,
                    )
                context["result"] = result.to_dict()
            except InputError as exc:
                context["error"] = {"code": exc.code, "zh": exc.message_zh, "en": exc.message_en}
    status = 422 if context["error"] else 200
    return pages.render(request, "federation_recognition.html", status_code=status, **context)


# --------------------------------------------------------------------------- wiring


def _signer_for(ctx: AppContext) -> Callable[[str, datetime], Signer]:
    from quarantine.services.registry import KeyFolderSigners

    signers = KeyFolderSigners(ctx.settings.resolved_keys_dir(), ctx.settings.passphrase_bytes())
    return lambda region, at: signers(region, at).signer


def install(app: FastAPI) -> None:
    """Add the routes; attach the feed publisher; run the pulling loop with the app."""
    ctx: AppContext = app.state.context
    fed = fedconfig.load(ctx.settings, ctx.trust)
    app.state.federation = fed
    app.state.federation_puller = None
    app.include_router(router)
    if ctx.registry is None or not fed.enabled:
        return
    attach(ctx.registry.sessions, FeedPublisher(fed.region, _signer_for(ctx), ctx.trust))
    puller = Puller(
        ctx.registry.sessions,
        ctx.trust,
        fed,
        clock=ctx.clock,
        skew_seconds=ctx.settings.clock_skew_seconds,
    )
    app.state.federation_puller = puller
    if fed.pull_interval.total_seconds() <= 0:
        return
    inner: Callable[[Any], AbstractAsyncContextManager[Any]] = app.router.lifespan_context

    @asynccontextmanager
    async def with_sync(a: Any) -> AsyncIterator[Any]:
        loop = SyncLoop(puller, fed.pull_interval.total_seconds())
        loop.start()
        try:
            async with inner(a) as state:
                yield state
        finally:
            loop.stop()

    app.router.lifespan_context = with_sync
