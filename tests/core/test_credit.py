"""Joint credit supervision: violations → credit status, at every edge of the rules."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from quarantine.core.credit import (
    DEFAULT_RULES,
    LEVEL_WORDS,
    VIOLATION_WORDS,
    CreditLevel,
    CreditRule,
    Violation,
    ViolationKind,
    ViolationSeverity,
    credit_status,
)
from tests.conftest import cst

OP = "ZJ-330109-0042"
SEVERE, SERIOUS, MINOR = (
    ViolationSeverity.SEVERE,
    ViolationSeverity.SERIOUS,
    ViolationSeverity.MINOR,
)


def v(
    vid: str,
    day: str,
    severity: ViolationSeverity = SEVERE,
    kind: ViolationKind = ViolationKind.FORGED,
    operator: str = OP,
) -> Violation:
    return Violation(vid, operator, "330000", kind, severity, cst(f"{day}T10:00"))


def test_words_cover_every_kind_and_level() -> None:
    assert set(VIOLATION_WORDS) == set(ViolationKind)
    assert set(LEVEL_WORDS) == set(CreditLevel)


@pytest.mark.parametrize(
    ("on", "level", "through"),
    [
        ("2026-03-09", CreditLevel.GOOD, None),  # the day before
        ("2026-03-10", CreditLevel.BARRED, "2027-03-09"),  # the day of the violation
        ("2027-03-09", CreditLevel.BARRED, "2027-03-09"),  # day 365 of the bar
        ("2027-03-10", CreditLevel.GOOD, None),  # day 366: over, and outside watch
    ],
)
def test_one_severe_violation_bars_for_365_days(
    on: str, level: CreditLevel, through: str | None
) -> None:
    status = credit_status(OP, [v("a", "2026-03-10")], date.fromisoformat(on))
    assert status.level is level
    assert status.barred is (level is CreditLevel.BARRED)
    assert status.barred_through == (date.fromisoformat(through) if through else None)


def test_bar_over_a_leap_day_counts_days_not_dates() -> None:
    status = credit_status(OP, [v("a", "2027-06-01")], date(2028, 5, 30))
    assert status.barred_through == date(2028, 5, 30)  # 2028-02-29 is one of the 365 days
    assert not credit_status(OP, [v("a", "2027-06-01")], date(2028, 5, 31)).barred


@pytest.mark.parametrize(
    ("days", "on", "level"),
    [
        (["2026-01-01", "2026-02-01"], "2026-03-01", CreditLevel.WATCH),  # two: watch only
        (["2026-01-01", "2026-02-01", "2026-03-01"], "2026-03-01", CreditLevel.BARRED),
        (["2026-01-01", "2026-02-01", "2026-12-31"], "2026-12-31", CreditLevel.BARRED),
        (["2026-01-01", "2026-02-01", "2027-01-01"], "2027-01-01", CreditLevel.WATCH),  # span 365
        (["2026-01-01", "2026-02-01", "2026-03-01"], "2026-08-27", CreditLevel.BARRED),  # day 180
        (["2026-01-01", "2026-02-01", "2026-03-01"], "2026-08-28", CreditLevel.WATCH),  # day 181
    ],
)
def test_three_serious_within_a_year_bar_for_180_days(
    days: list[str], on: str, level: CreditLevel
) -> None:
    violations = [v(f"s{i}", d, SERIOUS, ViolationKind.GOODS_MISMATCH) for i, d in enumerate(days)]
    assert credit_status(OP, violations, date.fromisoformat(on)).level is level


def test_severe_counts_towards_the_serious_rule_and_minor_does_not() -> None:
    mixed = [
        v("a", "2026-01-01", SERIOUS),
        v("b", "2026-01-02", MINOR),
        v("c", "2026-01-03", SERIOUS),
    ]
    assert credit_status(OP, mixed, date(2026, 1, 5)).level is CreditLevel.WATCH
    rules = (CreditRule(SERIOUS, 2, 365, 30),)
    severe_counts = [v("a", "2026-01-01", SERIOUS), v("b", "2026-01-02", SEVERE)]
    status = credit_status(OP, severe_counts, date(2026, 1, 5), rules)
    assert status.barred and status.barred_through == date(2026, 1, 31)


def test_only_violations_up_to_the_day_asked_about_count() -> None:
    later = [v("a", "2026-06-01")]
    assert credit_status(OP, later, date(2026, 5, 31)).level is CreditLevel.GOOD


def test_other_operators_violations_do_not_count() -> None:
    status = credit_status(OP, [v("a", "2026-06-01", operator="JS-1")], date(2026, 6, 2))
    assert status.level is CreditLevel.GOOD and status.because == ()


def test_the_longest_bar_wins_and_names_its_violations() -> None:
    violations = [
        v("old", "2026-01-01"),  # bars through 2026-12-31
        v("s1", "2026-05-01", SERIOUS),
        v("s2", "2026-05-02", SERIOUS),
        v("new", "2026-06-01"),  # bars through 2027-05-31
    ]
    status = credit_status(OP, violations, date(2026, 7, 1))
    assert status.barred_through == date(2027, 5, 31)
    assert [x.id for x in status.because] == ["new"]
    zh, en = status.explain()
    assert "暂停互认" in zh and "2027-05-31" in zh and "伪造" in zh
    assert "suspended" in en and "Forged" in en


def test_violation_day_is_the_china_date() -> None:
    late_utc = Violation(
        "a", OP, "310000", ViolationKind.REUSE, SEVERE, datetime(2026, 3, 9, 16, 0, tzinfo=UTC)
    )
    assert late_utc.day == date(2026, 3, 10)
    assert not credit_status(OP, [late_utc], date(2026, 3, 9)).barred
    assert credit_status(OP, [late_utc], date(2026, 3, 10)).barred


def test_watch_explains_itself() -> None:
    status = credit_status(
        OP, [v("m", "2026-01-01", MINOR, ViolationKind.PEST_FOUND)], date(2026, 2, 1)
    )
    assert status.level is CreditLevel.WATCH
    assert status.explain() == (
        "重点关注：发现检疫性有害生物",
        "Under watch: Quarantine pest found",
    )


@pytest.mark.parametrize("bad", [(0, 1, 1), (1, 0, 1), (1, 1, 0)])
def test_rules_are_checked(bad: tuple[int, int, int]) -> None:
    with pytest.raises(ValueError, match="must be"):
        CreditRule(SEVERE, *bad)


def test_default_rules_are_the_documented_ones() -> None:
    assert [(r.severity, r.count, r.window_days, r.bar_days) for r in DEFAULT_RULES] == [
        (SEVERE, 1, 365, 365),
        (SERIOUS, 3, 365, 180),
    ]
