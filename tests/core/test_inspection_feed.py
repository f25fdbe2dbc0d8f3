"""Scan and violation feed bodies, and the bar periods the credit rules give recognition."""

from __future__ import annotations

import itertools
import random
from datetime import date, timedelta
from typing import Any

import pytest

from quarantine.core.credit import (
    DEFAULT_RULES,
    Violation,
    ViolationKind,
    ViolationSeverity,
    bar_periods,
    credit_status,
)
from quarantine.core.feed import GENESIS, EntryKind, FeedEntry, FeedError, open_entry, sign_entry
from quarantine.core.inspection_feed import (
    ScanBody,
    ViolationBody,
    parse_inspection_body,
    scan_body,
    violation_body,
)
from quarantine.core.reuse import Scan
from tests.conftest import cst
from tests.core.test_feed import JS, NOW, TRUST

SCAN = Scan(
    "320000:ab", "320506-2026-000001", NOW, "320412", "武进站", "苏E1", (119.9, 31.7), "VALID"
)
VIOLATION = Violation(
    "320000:v1",
    "苏检登1",
    "320506",
    ViolationKind.REUSE,
    ViolationSeverity.SERIOUS,
    NOW,
    "两车",
    "",
)


def test_bodies_round_trip_through_a_signed_entry() -> None:
    for kind, body, expected in (
        (EntryKind.SCAN, scan_body(SCAN), ScanBody(SCAN)),
        (EntryKind.VIOLATION, violation_body(VIOLATION), ViolationBody(VIOLATION)),
        (EntryKind.SCAN, scan_body(Scan("320000:1", "x", NOW, "320412")), None),
    ):
        entry = FeedEntry("320000", 1, GENESIS, kind, NOW, body)
        opened = open_entry(sign_entry(entry, JS).cose, TRUST, now=NOW)
        parsed = parse_inspection_body(kind.value, "320000", opened.entry.body)
        if expected is not None:
            assert parsed == expected
        else:
            assert isinstance(parsed, ScanBody) and parsed.scan.position is None


@pytest.mark.parametrize(
    ("kind", "change"),
    [
        (EntryKind.SCAN, {"id": "330000:1"}),  # another member's id
        (EntryKind.SCAN, {"id": "320000"}),
        (EntryKind.SCAN, {"number": ""}),
        (EntryKind.SCAN, {"at": "2026-12-01T10:00"}),
        (EntryKind.SCAN, {"region": "32"}),
        (EntryKind.SCAN, {"lon": 200.0}),
        (EntryKind.SCAN, {"lon": 120.0, "lat": None}),
        (EntryKind.SCAN, {"lat": True}),
        (EntryKind.SCAN, {"plate": "x" * 21}),
        (EntryKind.VIOLATION, {"region": "330109"}),  # recorded by another member
        (EntryKind.VIOLATION, {"kind": "LATE"}),
        (EntryKind.VIOLATION, {"severity": 4}),
        (EntryKind.VIOLATION, {"severity": "3"}),
        (EntryKind.VIOLATION, {"operator": ""}),
    ],
)
def test_bad_bodies_are_refused(kind: EntryKind, change: dict[str, Any]) -> None:
    base = scan_body(SCAN) if kind is EntryKind.SCAN else violation_body(VIOLATION)
    body = {k: v for k, v in {**base, **change}.items() if v is not None}
    entry = FeedEntry("320000", 1, GENESIS, kind, NOW, body)
    with pytest.raises(FeedError) as info:
        open_entry(sign_entry(entry, JS).cose, TRUST, now=NOW)
    assert info.value.code == "FEED_BAD_BODY"


def _v(i: int, day: date, severity: ViolationSeverity) -> Violation:
    at = cst(f"{day.isoformat()}T10:00")
    return Violation(f"330000:{i}", "OP", "330109", ViolationKind.FORGED, severity, at)


def test_bar_periods_agree_with_credit_status_on_every_day() -> None:
    rng = random.Random(7)
    start = date(2026, 1, 1)
    for _ in range(40):
        violations = [
            _v(i, start + timedelta(days=rng.randrange(700)), rng.choice(list(ViolationSeverity)))
            for i in range(rng.randrange(0, 6))
        ]
        periods = bar_periods("OP", violations)
        for offset in range(0, 1200, 7):
            day = start + timedelta(days=offset)
            barred = credit_status("OP", violations, day, DEFAULT_RULES).barred
            assert barred == any(p.covers(day) for p in periods), (violations, day)


def test_bar_periods_name_the_region_and_kind() -> None:
    [period] = bar_periods("OP", [_v(1, date(2026, 12, 1), ViolationSeverity.SEVERE)])
    assert (period.start, period.end) == (date(2026, 12, 1), date(2027, 11, 30))
    assert (period.region, period.reason) == ("330109", "FORGED")
    assert bar_periods("OTHER", [_v(1, date(2026, 12, 1), ViolationSeverity.SEVERE)]) == []
    minor = [_v(i, date(2026, 12, 1), ViolationSeverity.MINOR) for i in range(5)]
    assert bar_periods("OP", minor) == []
    serious = [
        _v(i, date(2026, 12, d), ViolationSeverity.SERIOUS)
        for i, d in zip(itertools.count(), (1, 2, 3), strict=False)
    ]
    [period] = bar_periods("OP", serious)
    assert (period.start, period.end) == (date(2026, 12, 3), date(2027, 5, 31))
