"""Statistics of the registry: counts per day or month, per region, district or kind.

Metrics (:class:`Metric`):

- ``issued``   certificates by their issue time (``certificates.issued_at``);
- ``revoked``  ``REVOKED`` status events by the time the revocation takes effect
  (``status_events.at``), attributed to the revoked certificate's issuing region;
- ``verified`` inspector scans whose verdict was ``VALID`` (``scan_events.at``);
- ``failed``   inspector scans with any other verdict (``INVALID``,
  ``NOT_A_CERTIFICATE``).

Groups (:class:`Grouping`):

- ``region``   the province (first two digits of the code + ``0000``);
- ``district`` one of Shanghai's 16 districts (``3101xx`` in the reference
  table); Shanghai records whose code is not a district (the city office
  ``310000``/``310100``) form one more row, ``310000`` "市级 / city level";
- ``kind``     the certificate kind (``issued`` and ``revoked`` only).

Which code a record counts under: for certificates (``issued``, ``revoked``) the
issuing office's GB/T 2260 code (``certificates.issuing_region``, which is also
the first part of the certificate number); for scans (``verified``, ``failed``)
the region where the inspector scanned (``scan_events.region``), since a failed
scan may name no certificate or a forged one.  The certificate's origin of plants
(来源) is free text and is not used.

Days and months are China Standard Time (UTC+8, no daylight saving since 1991):
a certificate issued at 16:00 UTC counts on the next calendar day.  A range is
inclusive, at most :data:`MAX_DAYS` days by day and :data:`MAX_MONTHS` months
by month; bad input raises :class:`~quarantine.errors.InputError` with a
``STATS_*`` reason code before any query runs.

The queries are SQLAlchemy Core and run unchanged on SQLite and PostgreSQL.  They
filter on the indexed time columns (``ix_certificates_issued_at_id``,
``ix_scan_events_at``); revocations are few and found through their type.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any, Final, TypeVar

from sqlalchemy import ColumnElement, Select, func, literal_column, select
from sqlalchemy.orm import Session

from quarantine.core.model import CHINA_TZ, Kind
from quarantine.core.regions import PROVINCES, RegionTable
from quarantine.core.status import EventType
from quarantine.errors import InputError
from quarantine.storage.models import CertificateRow, ScanEventRow, StatusEventRow

#: Longest range by day (a leap year).
MAX_DAYS: Final = 366
#: Longest range by month (ten years).
MAX_MONTHS: Final = 120
#: Earliest and latest year a range may touch.
MIN_YEAR: Final = 2000
MAX_YEAR: Final = 2100
#: Code of Shanghai (the district grouping covers Shanghai only).
SHANGHAI: Final = "310000"
#: Prefecture code whose children are Shanghai's districts in GB/T 2260.
SHANGHAI_DISTRICTS_PARENT: Final = "310100"

_E = TypeVar("_E", bound=StrEnum)
_DATE_RE: Final = re.compile(r"^(\d{4})-(\d{2})(?:-(\d{2}))?$")

PROVINCE_NAMES_EN: Final = {
    "310000": "Shanghai",
    "320000": "Jiangsu",
    "330000": "Zhejiang",
    "340000": "Anhui",
}
DISTRICT_NAMES_EN: Final = {
    "310101": "Huangpu",
    "310104": "Xuhui",
    "310105": "Changning",
    "310106": "Jing'an",
    "310107": "Putuo",
    "310109": "Hongkou",
    "310110": "Yangpu",
    "310112": "Minhang",
    "310113": "Baoshan",
    "310114": "Jiading",
    "310115": "Pudong New Area",
    "310116": "Jinshan",
    "310117": "Songjiang",
    "310118": "Qingpu",
    "310120": "Fengxian",
    "310151": "Chongming",
}


class Metric(StrEnum):
    ISSUED = "issued"
    VERIFIED = "verified"
    FAILED = "failed"
    REVOKED = "revoked"

    @property
    def title_zh(self) -> str:
        return _METRIC_TITLES[self][0]

    @property
    def title_en(self) -> str:
        return _METRIC_TITLES[self][1]

    @property
    def of_certificates(self) -> bool:
        """Counts certificates (has a kind), not scans."""
        return self in (Metric.ISSUED, Metric.REVOKED)


_METRIC_TITLES: Final = {
    Metric.ISSUED: ("签发", "Issued"),
    Metric.VERIFIED: ("核验通过", "Verified"),
    Metric.FAILED: ("核验未通过", "Failed verifications"),
    Metric.REVOKED: ("撤销", "Revoked"),
}


class Period(StrEnum):
    DAY = "day"
    MONTH = "month"


class Grouping(StrEnum):
    REGION = "region"
    DISTRICT = "district"
    KIND = "kind"


def _bad(code: str, zh: str, en: str) -> InputError:
    return InputError(code, zh, en)


def _choice(enum: type[_E], value: str, code: str, zh: str) -> _E:
    try:
        return enum(value)
    except ValueError:
        allowed = "|".join(e.value for e in enum)
        raise _bad(
            code, f"{zh}须为 {allowed}", f"{enum.__name__.lower()} must be one of {allowed}"
        ) from None


def _month_end(day: date) -> date:
    first_next = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return first_next - timedelta(days=1)


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _parse_date(text: str, what: str, *, end: bool) -> date:
    """``YYYY-MM-DD``, or ``YYYY-MM`` (its first day, or last day when ``end``)."""
    match = _DATE_RE.match(text)
    try:
        if match is None:
            raise ValueError(text)
        year, month = int(match.group(1)), int(match.group(2))
        if match.group(3) is None:
            first = date(year, month, 1)
            day = _month_end(first) if end else first
        else:
            day = date(year, month, int(match.group(3)))
    except ValueError:
        shown = text[:20]
        raise _bad(
            "STATS_DATE_INVALID",
            f"{what}日期 {shown!r} 无效，格式为 YYYY-MM-DD 或 YYYY-MM",
            f"{what} date {shown!r} is not a date of the form YYYY-MM-DD or YYYY-MM",
        ) from None
    if not MIN_YEAR <= day.year <= MAX_YEAR:
        raise _bad(
            "STATS_DATE_INVALID",
            f"{what}日期须在 {MIN_YEAR}–{MAX_YEAR} 年之间",
            f"{what} date must lie in the years {MIN_YEAR}–{MAX_YEAR}",
        )
    return day


@dataclass(frozen=True)
class StatsQuery:
    """A validated question: metric, period, grouping, inclusive China-time date range.

    ``scope``: a region code the caller is limited to (a province covers its
    districts), or ``None`` for every region.  ``kind`` filters certificate metrics.
    """

    metric: Metric
    period: Period
    grouping: Grouping
    start: date
    end: date
    kind: Kind | None = None
    scope: str | None = None

    @classmethod
    def parse(
        cls,
        *,
        metric: str,
        period: str = "day",
        grouping: str = "region",
        start: str | None = None,
        end: str | None = None,
        kind: str | None = None,
        scope: str | None = None,
        today: date,
    ) -> StatsQuery:
        """Check and normalise request parameters (``InputError`` with a ``STATS_*`` code).

        Defaults: ``end`` = ``today``; ``start`` = 30 days (by day) or 12 months
        (by month) back.  By month the range widens to whole months.
        """
        m = _choice(Metric, metric, "STATS_METRIC_UNKNOWN", "统计指标")
        p = _choice(Period, period, "STATS_PERIOD_UNKNOWN", "统计周期")
        g = _choice(Grouping, grouping, "STATS_GROUP_UNKNOWN", "分组方式")
        k: Kind | None = None
        if kind:
            k = _choice(Kind, kind, "STATS_KIND_UNKNOWN", "证书种类")
        if not m.of_certificates and (k is not None or g is Grouping.KIND):
            raise _bad(
                "STATS_KIND_NOT_APPLICABLE",
                "核验统计不按证书种类区分",
                "verification counts have no certificate kind (kind applies to issued and revoked)",
            )
        to_day = _parse_date(end, "截止", end=True) if end else today
        if start:
            from_day = _parse_date(start, "起始", end=False)
        elif p is Period.DAY:
            from_day = to_day - timedelta(days=29)
        else:
            from_day = _add_months(to_day, -11)
        if p is Period.MONTH:
            from_day, to_day = from_day.replace(day=1), _month_end(to_day)
        if from_day > to_day:
            raise _bad(
                "STATS_RANGE_REVERSED",
                f"起始日期 {from_day} 晚于截止日期 {to_day}",
                f"the start {from_day} is after the end {to_day}",
            )
        if p is Period.DAY and (to_day - from_day).days + 1 > MAX_DAYS:
            raise _bad(
                "STATS_RANGE_TOO_LONG",
                f"按日统计最多 {MAX_DAYS} 天，请缩短范围或按月统计",
                f"at most {MAX_DAYS} days by day; shorten the range or count by month",
            )
        months = (to_day.year - from_day.year) * 12 + to_day.month - from_day.month + 1
        if p is Period.MONTH and months > MAX_MONTHS:
            raise _bad(
                "STATS_RANGE_TOO_LONG",
                f"按月统计最多 {MAX_MONTHS} 个月",
                f"at most {MAX_MONTHS} months by month",
            )
        if g is Grouping.DISTRICT and scope and scope[:2] != SHANGHAI[:2]:
            raise _bad(
                "STATS_DISTRICT_OUT_OF_SCOPE",
                "按区统计只适用于上海市的数据",
                f"district counts cover Shanghai only; this token's region is {scope}",
            )
        return cls(m, p, g, from_day, to_day, k, scope)

    def window(self) -> tuple[datetime, datetime]:
        """``[start 00:00, end + 1 day 00:00)`` China time, as UTC instants."""
        first = datetime.combine(self.start, datetime.min.time(), CHINA_TZ)
        after = datetime.combine(self.end + timedelta(days=1), datetime.min.time(), CHINA_TZ)
        return first.astimezone(UTC), after.astimezone(UTC)

    def buckets(self) -> tuple[str, ...]:
        """Labels of the days (``YYYY-MM-DD``) or months (``YYYY-MM``), in order."""
        if self.period is Period.DAY:
            n = (self.end - self.start).days + 1
            return tuple((self.start + timedelta(days=i)).isoformat() for i in range(n))
        out: list[str] = []
        month = self.start
        while month <= self.end:
            out.append(month.strftime("%Y-%m"))
            month = _add_months(month, 1)
        return tuple(out)


@dataclass(frozen=True)
class Group:
    """One row of a statistics table."""

    code: str
    name_zh: str
    name_en: str


@dataclass(frozen=True)
class StatsTable:
    """Counts per group and bucket (zeros filled in), groups in a fixed order."""

    query: StatsQuery
    buckets: tuple[str, ...]
    groups: tuple[Group, ...]
    counts: tuple[tuple[int, ...], ...]

    @property
    def bucket_totals(self) -> tuple[int, ...]:
        return (
            tuple(sum(col) for col in zip(*self.counts, strict=True))
            if self.counts
            else tuple(0 for _ in self.buckets)
        )

    @property
    def group_totals(self) -> tuple[int, ...]:
        return tuple(sum(row) for row in self.counts)

    @property
    def total(self) -> int:
        return sum(self.group_totals)

    def as_dict(self) -> dict[str, Any]:
        q = self.query
        return {
            "metric": q.metric.value,
            "metric_zh": q.metric.title_zh,
            "metric_en": q.metric.title_en,
            "by": q.period.value,
            "group": q.grouping.value,
            "from": q.start.isoformat(),
            "to": q.end.isoformat(),
            "kind": q.kind.value if q.kind else None,
            "scope": q.scope,
            "timezone": "Asia/Shanghai (UTC+08:00)",
            "buckets": list(self.buckets),
            "groups": [
                {
                    "code": g.code,
                    "name_zh": g.name_zh,
                    "name_en": g.name_en,
                    "counts": list(row),
                    "total": sum(row),
                }
                for g, row in zip(self.groups, self.counts, strict=True)
            ],
            "totals": list(self.bucket_totals),
            "total": self.total,
        }


# --------------------------------------------------------------------------- SQL


def _bucket_expr(column: Any, period: Period, dialect: str) -> ColumnElement[str]:
    """The China-time day or month of a UTC timestamp column, as text."""
    if dialect == "postgresql":
        fmt = "'YYYY-MM-DD'" if period is Period.DAY else "'YYYY-MM'"
        local = func.timezone(literal_column("INTERVAL '+08:00'"), column)
        return func.to_char(local, literal_column(fmt))
    # SQLite keeps UTC as ISO text; strftime shifts it by the fixed offset.
    fmt = "'%Y-%m-%d'" if period is Period.DAY else "'%Y-%m'"
    return func.strftime(literal_column(fmt), column, literal_column("'+8 hours'"))


def _covered(column: Any, region: str) -> ColumnElement[bool]:
    """``column`` (a region code) lies in ``region`` (a province or city covers its parts)."""
    if region.endswith("0000"):
        return column.startswith(region[:2], autoescape=True)  # type: ignore[no-any-return]
    if region.endswith("00"):
        return column.startswith(region[:4], autoescape=True)  # type: ignore[no-any-return]
    return column == region  # type: ignore[no-any-return]


def _key_expr(column: Any, grouping: Grouping) -> Any:
    if grouping is Grouping.REGION:
        return func.substr(column, 1, 2)
    return column


def _statement(query: StatsQuery, dialect: str) -> Select[Any]:
    first, after = query.window()
    if query.metric.of_certificates:
        region_col: Any = CertificateRow.issuing_region
        if query.metric is Metric.ISSUED:
            at: Any = CertificateRow.issued_at
            base = select().select_from(CertificateRow)
        else:
            at = StatusEventRow.at
            base = (
                select()
                .select_from(StatusEventRow)
                .join(CertificateRow, CertificateRow.id == StatusEventRow.certificate_id)
                .where(StatusEventRow.type == EventType.REVOKED.value)
            )
        if query.kind is not None:
            base = base.where(CertificateRow.kind == query.kind.value)
        key = CertificateRow.kind if query.grouping is Grouping.KIND else None
    else:
        region_col = ScanEventRow.region
        at = ScanEventRow.at
        base = select().select_from(ScanEventRow)
        valid = ScanEventRow.verdict == "VALID"
        base = base.where(valid if query.metric is Metric.VERIFIED else ~valid)
        key = None
    base = base.where(at >= first, at < after)
    if query.scope:
        base = base.where(_covered(region_col, query.scope))
    if query.grouping is Grouping.DISTRICT:
        base = base.where(_covered(region_col, SHANGHAI))
    if key is None:
        key = _key_expr(region_col, query.grouping)
    inner = base.add_columns(
        key.label("g"), _bucket_expr(at, query.period, dialect).label("b")
    ).subquery()
    return select(inner.c.g, inner.c.b, func.count().label("n")).group_by(inner.c.g, inner.c.b)


def raw_counts(session: Session, query: StatsQuery) -> dict[tuple[str, str], int]:
    """``(group key, bucket) → count`` for the non-zero cells.

    Group keys: two-digit province prefix, six-digit code, or kind value.
    """
    dialect = session.get_bind().dialect.name
    rows = session.execute(_statement(query, dialect)).all()
    return {(str(g), str(b)): int(n) for g, b, n in rows}


# --------------------------------------------------------------------------- tables


def shanghai_districts(regions: RegionTable) -> tuple[Group, ...]:
    """Shanghai's districts from the reference table, in code order."""
    return tuple(
        Group(d.code, d.name, DISTRICT_NAMES_EN.get(d.code, d.code))
        for d in sorted(regions.divisions.values(), key=lambda d: d.code)
        if d.parent == SHANGHAI_DISTRICTS_PARENT and d.level == "county"
    )


CITY_LEVEL: Final = Group(SHANGHAI, "上海市（市级）", "Shanghai (city level)")


def _in_scope(code: str, scope: str | None) -> bool:
    if not scope:
        return True
    if scope.endswith("0000"):
        return code[:2] == scope[:2]
    if scope.endswith("00"):
        return code[:4] == scope[:4]
    return code == scope


def _groups(
    query: StatsQuery, regions: RegionTable, cells: Mapping[tuple[str, str], int]
) -> list[tuple[Group, set[str]]]:
    """The rows (each with the raw keys it sums), in display order."""
    seen = {g for g, _ in cells}
    if query.grouping is Grouping.KIND:
        return [(Group(k.value, k.title_zh, k.title_en), {k.value}) for k in Kind]
    if query.grouping is Grouping.REGION:
        rows: list[tuple[Group, set[str]]] = []
        prefixes = sorted({code[:2] for code in PROVINCES} | seen)
        for prefix in prefixes:
            code = prefix + "0000"
            if prefix not in seen and query.scope and query.scope[:2] != prefix:
                continue
            division = regions.get(code)
            name_zh = PROVINCES.get(code) or (division.name if division else code)
            rows.append((Group(code, name_zh, PROVINCE_NAMES_EN.get(code, code)), {prefix}))
        return rows
    districts = shanghai_districts(regions)
    known = {g.code for g in districts}
    rows = [(g, {g.code}) for g in districts if _in_scope(g.code, query.scope)]
    city = {code for code in seen if code not in known}
    if city or not query.scope or query.scope == SHANGHAI:
        rows.append((CITY_LEVEL, city))
    return rows


def build_table(
    query: StatsQuery, regions: RegionTable, cells: Mapping[tuple[str, str], int]
) -> StatsTable:
    """The full table for ``query`` from the non-zero ``cells`` (pure)."""
    buckets = query.buckets()
    groups = _groups(query, regions, cells)
    counts = tuple(
        tuple(sum(cells.get((key, b), 0) for key in keys) for b in buckets) for _, keys in groups
    )
    return StatsTable(query, buckets, tuple(g for g, _ in groups), counts)


def statistics(session: Session, query: StatsQuery, regions: RegionTable) -> StatsTable:
    """Run ``query`` and return its table (every group and bucket, zeros included)."""
    return build_table(query, regions, raw_counts(session, query))


def csv_rows(table: StatsTable) -> Iterable[list[str]]:
    """Rows of the CSV export: header (zh-CN + English), one row per group, totals."""
    yield [
        "代码 / code",
        "名称 / name",
        "Name",
        *table.buckets,
        "合计 / total",
    ]
    for group, row in zip(table.groups, table.counts, strict=True):
        yield [group.code, group.name_zh, group.name_en, *map(str, row), str(sum(row))]
    yield ["", "合计", "Total", *map(str, table.bucket_totals), str(table.total)]
