"""Statistics: JSON and CSV under ``/api/v1/stats``, and the ``/stats`` page.

Who sees what (:func:`quarantine.services.stats.stats_scope`): admins every
region, inspectors their own region, nobody else.

- ``GET /api/v1/stats`` and ``GET /api/v1/stats.csv``: ``Authorization: Bearer``
  as everywhere in the API.
- ``GET /stats`` (the page) and ``GET /stats/data.csv`` (its CSV link) also accept
  the token from the ``quarantine_stats`` cookie that ``POST /stats/session`` sets
  from a sign-in form (HttpOnly, SameSite=Strict, path ``/stats``, gone when the
  browser closes); ``POST /stats/session/end`` removes it.  The page works
  without JavaScript.

Query parameters (all optional): ``metric`` issued|verified|failed|revoked,
``by`` day|month, ``group`` region|district|kind, ``from``/``to`` (``YYYY-MM-DD``
or ``YYYY-MM``, China time, inclusive), ``kind`` (issued and revoked only); the
page also takes ``chart`` bar|line.  Bad values: 422 with a ``STATS_*`` reason code.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, Final
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from markupsafe import Markup
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from quarantine.core.model import CHINA_TZ, Kind
from quarantine.errors import InputError
from quarantine.render.charts import MAX_SERIES, Chart, Series, render
from quarantine.services.authz import Forbidden, Principal, Role
from quarantine.services.stats import stats_scope
from quarantine.storage.stats import Grouping, Metric, Period, StatsQuery, StatsTable
from quarantine.web import session
from quarantine.web.auth import principal
from quarantine.web.context import AppContext, context, need_registry
from quarantine.web.errors import ApiError

API_PATH: Final = "/api/v1/stats"
PAGE_PATH: Final = "/stats"
COOKIE: Final = "quarantine_stats"
_UNAUTHORIZED: Final = {"WWW-Authenticate": "Bearer"}
_NO_STORE: Final = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}

router = APIRouter(tags=["statistics"])
Ctx = Annotated[AppContext, Depends(context)]

_DESCRIPTIONS: Final = {
    "metric": "指标 / issued | verified | failed | revoked",
    "by": "周期 / day | month",
    "group": "分组 / region (province) | district (Shanghai) | kind",
    "from": "起始日期（含，北京时间）/ first day, YYYY-MM-DD or YYYY-MM, China time",
    "to": "截止日期（含）/ last day, YYYY-MM-DD or YYYY-MM",
    "kind": "证书种类（仅签发、撤销）/ certificate kind (issued and revoked only)",
}


# --------------------------------------------------------------------------- auth


async def _with_cookie(request: Request, ctx: AppContext) -> Principal:
    """The caller from the Authorization header, else from the page's cookie."""
    if "authorization" not in request.headers:
        secret = request.cookies.get(COOKIE, "")
        if session.well_formed(secret):
            return await session.authenticate(request, ctx, secret)
    return await principal(request, ctx)


def _scope_of(who: Principal) -> str | None:
    """The region ``who`` may count in; 401 for the public, 403 for other roles."""
    if who.role is Role.PUBLIC:
        raise ApiError(401, "TOKEN_REQUIRED", "需要令牌", "this needs an API token", _UNAUTHORIZED)
    try:
        return stats_scope(who)
    except Forbidden as exc:
        raise ApiError(403, exc.code, exc.message_zh, exc.message_en) from exc


async def api_scope(request: Request, ctx: Ctx) -> str | None:
    return _scope_of(await principal(request, ctx))


async def page_caller(request: Request, ctx: Ctx) -> Principal:
    return await _with_cookie(request, ctx)


ApiScope = Annotated[str | None, Depends(api_scope)]


# --------------------------------------------------------------------------- parameters


class StatsParams:
    """The query string of every statistics route (strings; checked by :class:`StatsQuery`)."""

    def __init__(
        self,
        metric: Annotated[str, Query(description=_DESCRIPTIONS["metric"])] = "issued",
        by: Annotated[str, Query(description=_DESCRIPTIONS["by"])] = "day",
        group: Annotated[str, Query(description=_DESCRIPTIONS["group"])] = "region",
        start: Annotated[str | None, Query(alias="from", description=_DESCRIPTIONS["from"])] = None,
        end: Annotated[str | None, Query(alias="to", description=_DESCRIPTIONS["to"])] = None,
        kind: Annotated[str | None, Query(description=_DESCRIPTIONS["kind"])] = None,
    ) -> None:
        self.metric = metric
        self.by = by
        self.group = group
        self.start = start or None
        self.end = end or None
        self.kind = kind or None

    def query(self, scope: str | None, now: datetime) -> StatsQuery:
        return StatsQuery.parse(
            metric=self.metric,
            period=self.by,
            grouping=self.group,
            start=self.start,
            end=self.end,
            kind=self.kind,
            scope=scope,
            today=now.astimezone(CHINA_TZ).date(),
        )


Params = Annotated[StatsParams, Depends()]


def _count(ctx: AppContext, query: StatsQuery) -> StatsTable:
    from quarantine.reference import region_table
    from quarantine.storage.stats import statistics

    # Registry.read retries once on a dropped pooled connection (no pre-ping).
    return need_registry(ctx).read(lambda session: statistics(session, query, region_table()))


# --------------------------------------------------------------------------- CSV


def csv_bytes(table: StatsTable) -> bytes:
    """UTF-8 with a byte-order mark (Excel then reads the Chinese names), CRLF rows."""
    from quarantine.storage.stats import csv_rows

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    q = table.query
    writer.writerow(
        [
            f"{q.metric.title_zh} / {q.metric.title_en}",
            f"{q.start.isoformat()} – {q.end.isoformat()}",
            "北京时间 / China time (UTC+08:00)",
        ]
    )
    writer.writerows(csv_rows(table))
    return b"\xef\xbb\xbf" + out.getvalue().encode("utf-8")


def _csv_response(table: StatsTable) -> Response:
    q = table.query
    name = f"stats-{q.metric.value}-{q.period.value}-{q.grouping.value}-{q.start}_{q.end}.csv"
    return Response(
        csv_bytes(table),
        media_type="text/csv; charset=utf-8",
        headers={**_NO_STORE, "Content-Disposition": f'attachment; filename="{name}"'},
    )


# --------------------------------------------------------------------------- API


class StatsGroupOut(BaseModel):
    code: str = Field(description="省、区代码或证书种类 / province or district code, or kind")
    name_zh: str
    name_en: str
    counts: list[int] = Field(description="每日或每月数量 / one count per bucket")
    total: int


class StatsOut(BaseModel):
    metric: str
    metric_zh: str
    metric_en: str
    by: str
    group: str
    from_: str = Field(alias="from", description="起始日期（含）/ first day")
    to: str = Field(description="截止日期（含）/ last day")
    kind: str | None
    scope: str | None = Field(description="调用者限于的地区 / region the caller is limited to")
    timezone: str
    buckets: list[str] = Field(description="日期或月份 / days (YYYY-MM-DD) or months (YYYY-MM)")
    groups: list[StatsGroupOut]
    totals: list[int] = Field(description="每日或每月合计 / total per bucket")
    total: int


_ERRORS: Final[dict[int | str, dict[str, Any]]] = {
    401: {"description": "需要有效令牌 / TOKEN_REQUIRED, INVALID_TOKEN"},
    403: {"description": "仅检查员、管理员 / STATS_FORBIDDEN"},
    422: {"description": "参数无效 / STATS_* reason codes"},
}


@router.get(API_PATH, responses={**_ERRORS, 200: {"model": StatsOut}})
def stats_json(scope: ApiScope, params: Params, ctx: Ctx) -> JSONResponse:
    """统计 / Counts per day or month and per province, Shanghai district or kind.

    Days are China time.  Admins count every region, inspectors their own.
    """
    table = _count(ctx, params.query(scope, ctx.clock()))
    return JSONResponse(table.as_dict(), headers=_NO_STORE)


@router.get(
    f"{API_PATH}.csv",
    responses={**_ERRORS, 200: {"content": {"text/csv": {}}}},
    response_class=Response,
)
def stats_csv(scope: ApiScope, params: Params, ctx: Ctx) -> Response:
    """统计导出 CSV / The same counts as CSV (UTF-8 with BOM, header row in zh-CN + English)."""
    return _csv_response(_count(ctx, params.query(scope, ctx.clock())))


# --------------------------------------------------------------------------- page


WORDS: Final[Mapping[str, tuple[str, str]]] = {
    "title": ("检疫证书统计", "Certificate statistics"),
    "metric": ("指标", "Metric"),
    "by": ("周期", "Period"),
    "group": ("分组", "Group by"),
    "kind": ("证书种类", "Kind"),
    "all_kinds": ("全部种类", "All kinds"),
    "from": ("起始日期", "From"),
    "to": ("截止日期", "To"),
    "chart": ("图表", "Chart"),
    "bar": ("柱状图", "Bars"),
    "line": ("折线图", "Lines"),
    "day": ("按日", "By day"),
    "month": ("按月", "By month"),
    "region": ("按省（市）", "By province"),
    "district": ("按上海各区", "By Shanghai district"),
    "by_kind": ("按证书种类", "By kind"),
    "show": ("查询", "Show"),
    "csv": ("下载 CSV", "Download CSV"),
    "total": ("合计", "Total"),
    "date": ("日期", "Date"),
    "month_col": ("月份", "Month"),
    "count": ("数量", "count"),
    "tz_note": (
        "日期按北京时间（UTC+8）计，含起止两日。",
        "Days are China time (UTC+8); both ends are included.",
    ),
    "table": ("明细", "Table"),
    "signin": ("登录", "Sign in"),
    "signin_intro": (
        "统计数据仅供检查员和管理员查看。请输入您的访问令牌。",
        "Statistics are for inspectors and administrators. Enter your API token.",
    ),
    "token": ("访问令牌", "API token"),
    "signout": ("退出", "Sign out"),
    "who": ("当前身份", "Signed in as"),
    "role_inspector": ("检查员", "inspector"),
    "role_admin": ("管理员", "administrator"),
    "scope_all": ("全部地区", "every region"),
    "error": ("无法统计", "Cannot count"),
    "error_code": ("原因代码", "Reason code"),
    "empty": ("此范围内没有记录。", "Nothing recorded in this range."),
}
_METRIC_WORDS: Final = {m.value: (m.title_zh, m.title_en) for m in Metric}
_GROUP_WORDS: Final = {"region": "region", "district": "district", "kind": "by_kind"}
_CHART_GROUPS: Final = {
    Grouping.REGION: ("按省（市）", "by province"),
    Grouping.DISTRICT: ("按上海各区", "by Shanghai district"),
    Grouping.KIND: ("按证书种类", "by kind"),
}


class _Words:
    """The page's words in the visitor's language (``t``) and in the other (``alt``)."""

    def __init__(self, lang: str) -> None:
        self.en = lang == "en"

    def t(self, key: str) -> str:
        zh, en = WORDS[key]
        return en if self.en else zh

    def alt(self, key: str) -> str:
        zh, en = WORDS[key]
        return zh if self.en else en

    def pair(self, zh: str, en: str) -> str:
        return en if self.en else zh


def chart_for(table: StatsTable, style: str = "bar") -> str:
    """The SVG chart of a table: one series per group that has counts."""
    q = table.query
    groups = [
        Series(g.name_zh, g.name_en, tuple(float(v) for v in row))
        for g, row in zip(table.groups, table.counts, strict=True)
        if any(row)
    ]
    if not groups or len(groups) > MAX_SERIES:
        groups = [Series("合计", "Total", tuple(float(v) for v in table.bucket_totals))]
    group_zh, group_en = _CHART_GROUPS[q.grouping]
    x_zh, x_en = WORDS["date" if q.period is Period.DAY else "month_col"]
    chart = Chart(
        title_zh=f"{q.metric.title_zh} · {group_zh}",
        title_en=f"{q.metric.title_en} · {group_en}",
        labels=table.buckets,
        series=tuple(groups),
        x_label_zh=x_zh,
        x_label_en=x_en.lower(),
        chart_id="stats-chart",
    )
    return render(chart, style)


def _options(words: _Words, params: StatsParams) -> dict[str, list[tuple[str, str, bool]]]:
    """Select options: (value, label, selected)."""

    def opts(pairs: list[tuple[str, str, str]], chosen: str | None) -> list[tuple[str, str, bool]]:
        return [(value, words.pair(zh, en), value == (chosen or "")) for value, zh, en in pairs]

    return {
        "metric": opts([(k, zh, en) for k, (zh, en) in _METRIC_WORDS.items()], params.metric),
        "by": opts([(p, *WORDS[p]) for p in ("day", "month")], params.by),
        "group": opts([(g, *WORDS[w]) for g, w in _GROUP_WORDS.items()], params.group),
        "kind": opts(
            [("", *WORDS["all_kinds"])] + [(k.value, k.title_zh, k.title_en) for k in Kind],
            params.kind,
        ),
        "chart": opts([(c, *WORDS[c]) for c in ("bar", "line")], None),
    }


def _page(
    request: Request,
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
    **context_: Any,
) -> HTMLResponse:
    from quarantine.web import i18n, pages

    lang, _ = i18n.resolve(request)
    words = _Words(lang)
    return pages.render(
        request,
        "stats.html",
        status_code=status,
        headers=headers,
        w=words,
        lang_query="lang=en" if lang == "en" else "",
        **context_,
    )


def _error_context(exc: ApiError | InputError) -> dict[str, str]:
    return {"code": exc.code, "zh": exc.message_zh, "en": exc.message_en}


@router.get(PAGE_PATH, response_class=HTMLResponse, include_in_schema=False)
async def stats_page(request: Request, ctx: Ctx, params: Params) -> HTMLResponse:
    """The statistics page: filters, the chart, the table and the CSV link."""
    from quarantine.web import i18n

    lang, _ = i18n.resolve(request)
    words = _Words(lang)
    style = request.query_params.get("chart", "bar")
    style = style if style in ("bar", "line") else "bar"
    options = _options(words, params)
    options["chart"] = [(v, label, v == style) for v, label, _ in options["chart"]]
    form = {"from": params.start or "", "to": params.end or ""}
    try:
        who = await page_caller(request, ctx)
        scope = _scope_of(who)
    except ApiError as exc:
        status = exc.status if exc.status in (401, 403) else 401
        return _page(
            request,
            status=status,
            headers=_UNAUTHORIZED if status == 401 else None,
            signin=True,
            signed_in=status == 403,
            error=_error_context(exc),
        )
    role = words.t("role_admin" if who.role is Role.ADMIN else "role_inspector")
    region = _region_name(scope, words) if scope else words.t("scope_all")
    try:
        query = params.query(scope, ctx.clock())
        table = await run_in_threadpool(_count, ctx, query)
    except (InputError, ApiError) as exc:
        status = exc.status if isinstance(exc, ApiError) else 422
        return _page(
            request,
            status=status,
            error=_error_context(exc),
            options=options,
            form=form,
            role=role,
            region=region,
        )
    rows = [
        (bucket, [row[i] for row in table.counts], table.bucket_totals[i])
        for i, bucket in enumerate(table.buckets)
    ]
    csv_query = {
        k: v
        for k, v in {
            "metric": query.metric.value,
            "by": query.period.value,
            "group": query.grouping.value,
            "from": query.start.isoformat(),
            "to": query.end.isoformat(),
            "kind": query.kind.value if query.kind else "",
        }.items()
        if v
    }
    form = {"from": query.start.isoformat(), "to": query.end.isoformat()}
    return _page(
        request,
        table=table,
        rows=rows,
        svg=Markup(chart_for(table, style)),  # noqa: S704  built from escaped parts
        csv_url=f"{PAGE_PATH}/data.csv?{urlencode(csv_query)}",
        options=options,
        form=form,
        role=role,
        region=region,
        bucket_word=words.t("date" if query.period is Period.DAY else "month_col"),
    )


def _region_name(code: str, words: _Words) -> str:
    from quarantine.reference import region_table
    from quarantine.storage.stats import DISTRICT_NAMES_EN, PROVINCE_NAMES_EN

    if words.en:
        name = PROVINCE_NAMES_EN.get(code) or DISTRICT_NAMES_EN.get(code) or ""
        return f"{name} ({code})" if name else code
    full = region_table().full_name(code)
    return code if full == code else f"{full}（{code}）"


@router.get(f"{PAGE_PATH}/data.csv", include_in_schema=False)
async def stats_page_csv(request: Request, ctx: Ctx, params: Params) -> Response:
    """The page's CSV link (header or cookie token)."""
    scope = _scope_of(await page_caller(request, ctx))
    query = params.query(scope, ctx.clock())
    return _csv_response(await run_in_threadpool(_count, ctx, query))


async def _signin_form(request: Request) -> str:
    if not request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        raise ApiError(
            415, "FORM_REQUIRED", "请通过页面表单提交", "send the page's form (urlencoded)"
        )
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > 4096:
        raise ApiError(413, "BODY_TOO_LARGE", "请求内容过大", "request body too large")
    async with request.form(max_files=0, max_fields=4, max_part_size=4096) as form:
        token = form.get("token")
        return token.strip() if isinstance(token, str) else ""


@router.post(f"{PAGE_PATH}/session", include_in_schema=False)
async def stats_signin(request: Request, ctx: Ctx) -> Response:
    """Sign in with a token: checked, then kept in an HttpOnly cookie for ``/stats``."""
    from quarantine.web import i18n

    lang, _ = i18n.resolve(request)
    try:
        secret = await _signin_form(request)
        if not session.well_formed(secret):
            raise ApiError(401, "INVALID_TOKEN", "令牌格式无效", "the token is not well-formed")
        _scope_of(await session.authenticate(request, ctx, secret))
    except ApiError as exc:
        return _page(
            request,
            status=exc.status,
            signin=True,
            signed_in=False,
            error=_error_context(exc),
        )
    target = PAGE_PATH + ("?lang=en" if lang == "en" else "")
    response = RedirectResponse(target, status_code=303, headers=_NO_STORE)
    response.set_cookie(
        COOKIE,
        secret,
        path=PAGE_PATH,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


@router.post(f"{PAGE_PATH}/session/end", include_in_schema=False)
async def stats_signout(request: Request) -> Response:
    """Forget the page's token cookie."""
    from quarantine.web import i18n

    lang, _ = i18n.resolve(request)
    target = PAGE_PATH + ("?lang=en" if lang == "en" else "")
    response = RedirectResponse(target, status_code=303, headers=_NO_STORE)
    response.delete_cookie(COOKIE, path=PAGE_PATH, httponly=True, samesite="strict")
    return response
