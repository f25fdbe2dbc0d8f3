"""Statistics queries on SQLite and PostgreSQL: China-time days, months, regions, districts."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from quarantine.core.model import Certificate, Kind
from quarantine.core.status import EventType, StatusEvent
from quarantine.errors import InputError
from quarantine.reference import region_table
from quarantine.storage.repositories import CertificateStore, EventStore, ScanStore
from quarantine.storage.stats import (
    MAX_DAYS,
    MAX_MONTHS,
    Grouping,
    Metric,
    Period,
    StatsQuery,
    StatsTable,
    csv_rows,
    statistics,
)
from tests.conftest import cst
from tests.storage.conftest import NOW, numbered

TODAY = date(2026, 12, 1)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


#: number, kind, issued at.  16:00 UTC is midnight in China: the first two fall on
#: two different China days although both are 30 November in UTC.
CERTS: list[tuple[str, Kind, datetime]] = [
    ("310115-2026-000001", Kind.TRANSPORT, utc("2026-11-30T15:59:59")),  # 11-30 23:59:59 CST
    ("310115-2026-000002", Kind.TRANSPORT, utc("2026-11-30T16:00:00")),  # 12-01 00:00 CST
    ("310112-2026-000001", Kind.PRODUCING_AREA, cst("2026-12-01T09:00")),
    ("310000-2026-000001", Kind.REQUIREMENT, cst("2026-12-01T10:00")),  # the city office
    ("320583-2026-000001", Kind.TRANSPORT, cst("2026-12-01T11:00")),
    ("330109-2026-004871", Kind.TRANSPORT, cst("2026-10-15T11:00")),
    ("340102-2026-000001", Kind.PROJECT, cst("2025-12-31T23:30")),  # 2025-12 in China
]
#: number, region, verdict, at.
SCANS: list[tuple[str, str, str, datetime]] = [
    ("310115-2026-000001", "310117", "VALID", utc("2026-11-30T15:00:00")),  # 11-30 CST
    ("320583-2026-000001", "320583", "VALID", cst("2026-12-01T12:00")),
    ("310115-2026-000002", "310117", "INVALID", utc("2026-11-30T16:00:00")),  # 12-01 CST
    ("", "310115", "NOT_A_CERTIFICATE", cst("2026-12-01T13:00")),
    ("310115-2026-000001", "310000", "VALID", cst("2026-12-02T08:00")),
]


@pytest.fixture
def seeded(sessions: sessionmaker[Session], reference_cert: Certificate) -> sessionmaker[Session]:
    with sessions.begin() as s:
        store = CertificateStore(s)
        for number, kind, at in CERTS:
            store.add(numbered(reference_cert, number, issued_at=at, kind=kind), "Q", "k", NOW)
        events = EventStore(s)
        events.append(
            "310115-2026-000002",
            StatusEvent(EventType.REVOKED, cst("2026-12-02T00:30"), "错填"),
            "tok",
            NOW,
        )
        events.append(  # 16:30 UTC on 11-30 is 12-01 in China
            "330109-2026-004871",
            StatusEvent(EventType.REVOKED, utc("2026-11-30T16:30:00"), "伪造"),
            "tok",
            NOW,
        )
        events.append(
            "310112-2026-000001",
            StatusEvent(EventType.SUSPENDED, cst("2026-12-01T12:00")),
            "t",
            NOW,
        )
        scans = ScanStore(s)
        for number, region, verdict, at in SCANS:
            scans.add(number, at, region, verdict, [], "tok_i")
    return sessions


def run(sessions: sessionmaker[Session], **params: Any) -> StatsTable:
    query = StatsQuery.parse(today=TODAY, **params)
    with sessions() as s:
        return statistics(s, query, region_table())


def rows(table: StatsTable) -> dict[str, list[int]]:
    return {g.code: list(c) for g, c in zip(table.groups, table.counts, strict=True)}


def test_issued_by_day_and_province_uses_china_days(seeded: sessionmaker[Session]) -> None:
    table = run(seeded, metric="issued", start="2026-11-30", end="2026-12-02")
    assert table.buckets == ("2026-11-30", "2026-12-01", "2026-12-02")
    assert rows(table) == {
        "310000": [1, 3, 0],  # 15:59:59 UTC on 11-30, then 16:00 UTC = 12-01 00:00
        "320000": [0, 1, 0],
        "330000": [0, 0, 0],
        "340000": [0, 0, 0],
    }
    assert [g.name_zh for g in table.groups] == ["上海市", "江苏省", "浙江省", "安徽省"]
    assert table.groups[0].name_en == "Shanghai"
    assert table.bucket_totals == (1, 4, 0) and table.total == 5


def test_range_ends_are_china_midnights(seeded: sessionmaker[Session]) -> None:
    only_30 = run(seeded, metric="issued", start="2026-11-30", end="2026-11-30")
    assert only_30.total == 1
    only_01 = run(seeded, metric="issued", start="2026-12-01", end="2026-12-01")
    assert rows(only_01)["310000"] == [3]


def test_issued_by_district(seeded: sessionmaker[Session]) -> None:
    table = run(seeded, metric="issued", grouping="district", start="2026-11-30", end="2026-12-01")
    got = rows(table)
    assert len(table.groups) == 17  # 16 districts and the city level
    assert table.groups[0].code == "310101" and table.groups[0].name_zh == "黄浦区"
    assert next(g for g in table.groups if g.code == "310115").name_en == "Pudong New Area"
    assert got["310115"] == [1, 1]
    assert got["310112"] == [0, 1]
    assert table.groups[-1].name_en == "Shanghai (city level)" and got["310000"] == [0, 1]
    assert table.total == 4  # Jiangsu's certificate is not a Shanghai district's


def test_issued_by_month_and_kind(seeded: sessionmaker[Session]) -> None:
    table = run(seeded, metric="issued", period="month", start="2025-12", end="2026-12")
    assert table.buckets[0] == "2025-12" and table.buckets[-1] == "2026-12"
    assert len(table.buckets) == 13
    got = rows(table)
    assert got["340000"][0] == 1  # 23:30 CST on 2025-12-31 (15:30 UTC)
    assert got["330000"][table.buckets.index("2026-10")] == 1
    assert got["310000"][table.buckets.index("2026-11")] == 1
    assert got["310000"][table.buckets.index("2026-12")] == 3
    by_kind = run(seeded, metric="issued", period="month", grouping="kind", start="2026-11")
    assert [g.code for g in by_kind.groups] == [k.value for k in Kind]
    assert rows(by_kind)["TRANSPORT"] == [1, 2]
    assert rows(by_kind)["PRODUCING_AREA"] == [0, 1]
    assert by_kind.groups[0].name_zh == "植物检疫证书"
    transport = run(seeded, metric="issued", period="month", kind="TRANSPORT", start="2026-11")
    assert transport.total == 3


def test_revoked(seeded: sessionmaker[Session]) -> None:
    table = run(seeded, metric="revoked", start="2026-11-30", end="2026-12-02")
    assert rows(table)["330000"] == [0, 1, 0]  # effective 16:30 UTC = 12-01 China
    assert rows(table)["310000"] == [0, 0, 1]
    assert table.total == 2  # the suspension is not a revocation
    district = run(
        seeded, metric="revoked", grouping="district", start="2026-12-02", end="2026-12-02"
    )
    assert rows(district)["310115"] == [1]


def test_verified_and_failed(seeded: sessionmaker[Session]) -> None:
    verified = run(seeded, metric="verified", start="2026-11-30", end="2026-12-02")
    assert rows(verified)["310000"] == [1, 0, 1]
    assert rows(verified)["320000"] == [0, 1, 0]
    failed = run(seeded, metric="failed", start="2026-11-30", end="2026-12-02")
    assert rows(failed)["310000"] == [0, 2, 0]  # INVALID and NOT_A_CERTIFICATE, 12-01 China
    by_district = run(
        seeded, metric="verified", grouping="district", start="2026-11-30", end="2026-12-02"
    )
    got = rows(by_district)
    assert got["310117"] == [1, 0, 0] and got["310000"] == [0, 0, 1]


def test_scope_limits_counts_and_rows(seeded: sessionmaker[Session]) -> None:
    pudong = run(
        seeded,
        metric="issued",
        grouping="district",
        start="2026-11-30",
        end="2026-12-01",
        scope="310115",
    )
    assert [g.code for g in pudong.groups] == ["310115"]
    assert pudong.counts == ((1, 1),)
    own_province = run(
        seeded, metric="issued", start="2026-11-30", end="2026-12-01", scope="320000"
    )
    assert rows(own_province) == {"320000": [0, 1]}
    district_inspector = run(
        seeded, metric="failed", start="2026-12-01", end="2026-12-01", scope="310115"
    )
    assert rows(district_inspector) == {"310000": [1]}  # only the scan at 310115


def test_empty_range_gives_zero_rows(seeded: sessionmaker[Session]) -> None:
    table = run(seeded, metric="verified", start="2020-01-01", end="2020-01-03")
    assert table.total == 0 and all(c == (0, 0, 0) for c in table.counts)
    assert table.bucket_totals == (0, 0, 0)


def test_csv_rows(seeded: sessionmaker[Session]) -> None:
    table = run(seeded, metric="issued", start="2026-11-30", end="2026-12-01")
    out = list(csv_rows(table))
    assert out[0] == [
        "代码 / code",
        "名称 / name",
        "Name",
        "2026-11-30",
        "2026-12-01",
        "合计 / total",
    ]
    assert out[1] == ["310000", "上海市", "Shanghai", "1", "3", "4"]
    assert out[-1] == ["", "合计", "Total", "1", "4", "5"]


# --------------------------------------------------------------------------- parsing (no database)


def test_defaults() -> None:
    by_day = StatsQuery.parse(metric="issued", today=TODAY)
    assert (by_day.start, by_day.end) == (date(2026, 11, 2), TODAY)
    assert len(by_day.buckets()) == 30
    assert by_day.period is Period.DAY and by_day.grouping is Grouping.REGION
    by_month = StatsQuery.parse(metric="revoked", period="month", today=TODAY)
    assert (by_month.start, by_month.end) == (date(2026, 1, 1), date(2026, 12, 31))
    assert len(by_month.buckets()) == 12
    assert by_month.metric is Metric.REVOKED


def test_window_is_china_time() -> None:
    q = StatsQuery.parse(metric="issued", start="2026-12-01", end="2026-12-01", today=TODAY)
    assert q.window() == (utc("2026-11-30T16:00:00"), utc("2026-12-01T16:00:00"))


def test_longest_ranges_are_accepted() -> None:
    leap = StatsQuery.parse(metric="issued", start="2028-01-01", end="2028-12-31", today=TODAY)
    assert len(leap.buckets()) == MAX_DAYS
    ten_years = StatsQuery.parse(
        metric="issued", period="month", start="2017-01", end="2026-12", today=TODAY
    )
    assert len(ten_years.buckets()) == MAX_MONTHS


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"metric": "printed"}, "STATS_METRIC_UNKNOWN"),
        ({"metric": "issued", "period": "week"}, "STATS_PERIOD_UNKNOWN"),
        ({"metric": "issued", "grouping": "city"}, "STATS_GROUP_UNKNOWN"),
        ({"metric": "issued", "kind": "VISA"}, "STATS_KIND_UNKNOWN"),
        ({"metric": "verified", "kind": "TRANSPORT"}, "STATS_KIND_NOT_APPLICABLE"),
        ({"metric": "failed", "grouping": "kind"}, "STATS_KIND_NOT_APPLICABLE"),
        ({"metric": "issued", "start": "2026-13-01"}, "STATS_DATE_INVALID"),
        ({"metric": "issued", "start": "2026-02-30"}, "STATS_DATE_INVALID"),
        ({"metric": "issued", "start": "20261201"}, "STATS_DATE_INVALID"),
        ({"metric": "issued", "start": "1999-12-31"}, "STATS_DATE_INVALID"),
        ({"metric": "issued", "end": "2101-01-01"}, "STATS_DATE_INVALID"),
        ({"metric": "issued", "start": "x" * 10_000}, "STATS_DATE_INVALID"),
        ({"metric": "issued", "start": "2026-12-02", "end": "2026-12-01"}, "STATS_RANGE_REVERSED"),
        ({"metric": "issued", "start": "2025-01-01", "end": "2026-01-02"}, "STATS_RANGE_TOO_LONG"),
        (
            {"metric": "issued", "period": "month", "start": "2016-12", "end": "2026-12"},
            "STATS_RANGE_TOO_LONG",
        ),
        (
            {"metric": "issued", "grouping": "district", "scope": "320000"},
            "STATS_DISTRICT_OUT_OF_SCOPE",
        ),
    ],
)
def test_bad_input_has_a_reason_code(params: dict[str, Any], code: str) -> None:
    with pytest.raises(InputError) as exc:
        StatsQuery.parse(today=TODAY, **params)
    assert exc.value.code == code
    assert exc.value.message_zh and exc.value.message_en
