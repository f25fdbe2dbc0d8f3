"""Reuse alerts (一证多用): every rule at its edges, as tables."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from quarantine.core.model import Kind
from quarantine.core.reuse import (
    ALERT_RULES,
    Alert,
    CertificateFacts,
    LonLat,
    ReusePolicy,
    Scan,
    allowed_inspections,
    distance_km,
    evaluate,
    normalise_plate,
)
from quarantine.reference import region_table
from tests.conftest import cst

T0 = cst("2026-12-01T08:00")
FACTS = CertificateFacts(
    number="330109-2026-004871",
    kind=Kind.TRANSPORT,
    valid_until=cst("2026-12-08T00:00"),
    plate="浙A·7K392",
    route=("330109", "310115"),
)
POLICY = ReusePolicy()
centre = region_table().centre


def scan(sid: str, minutes: float, region: str = "330109", **kw: object) -> Scan:
    base = Scan(sid, FACTS.number, T0 + timedelta(minutes=minutes), region)
    return replace(base, **kw)  # type: ignore[arg-type]


def rules(alerts: list[Alert]) -> list[str]:
    return sorted(a.rule for a in alerts)


def test_every_rule_has_words_in_both_languages() -> None:
    for zh, en in ALERT_RULES.values():
        assert zh and en and zh != en


@pytest.mark.parametrize(
    ("a", "b", "expect"),
    [
        ("浙A·7K392", "浙a 7k392", True),
        ("浙Ａ７Ｋ３９２", "浙A7K392", True),  # full-width from some input methods
        ("浙A-7K392", "浙A7K392", True),
        ("浙A7K392", "浙A7K393", False),
        ("沪A7K392", "浙A7K392", False),
    ],
)
def test_plates_compare_after_normalising(a: str, b: str, expect: bool) -> None:
    assert (normalise_plate(a) == normalise_plate(b)) is expect


def test_distance_against_known_figures() -> None:
    shanghai, hangzhou = centre("310000"), centre("330000")
    assert shanghai is not None and hangzhou is not None
    assert 155 < distance_km(shanghai, hangzhou) < 170  # ≈ 164 km between the centres
    assert distance_km(shanghai, shanghai) == 0


def test_centre_falls_back_to_the_enclosing_division() -> None:
    assert centre("310115") != centre("310000")
    assert centre("310199") == centre("310100")  # unknown district → its prefecture
    assert centre("319999") == centre("310000")
    assert centre("999999") is None


# ------------------------------------------------------------ single-scan rules


@pytest.mark.parametrize(
    ("closed_after_minutes", "scan_minutes", "raised"),
    [
        (None, 600, False),
        (60, 59, False),
        (60, 60, False),  # the arrival scan itself
        (60, 61, True),
        (60, 60 * 24 * 3, True),
    ],
)
def test_scanned_after_closed(
    closed_after_minutes: int | None, scan_minutes: int, raised: bool
) -> None:
    closed = None if closed_after_minutes is None else T0 + timedelta(minutes=closed_after_minutes)
    facts = replace(FACTS, closed_at=closed)
    alerts = evaluate(scan("s1", scan_minutes), [], facts, POLICY, centre)
    assert ("SCANNED_AFTER_CLOSED" in rules(alerts)) is raised


@pytest.mark.parametrize(
    ("offset", "raised"),
    [
        (timedelta(minutes=-1), False),
        (timedelta(0), False),
        (timedelta(minutes=5), False),  # inside the grace for device clocks
        (timedelta(minutes=5, seconds=1), True),
        (timedelta(days=30), True),
    ],
)
def test_scanned_after_expiry(offset: timedelta, raised: bool) -> None:
    at = FACTS.valid_until + offset
    s = Scan("s1", FACTS.number, at, "310115")
    assert ("SCANNED_AFTER_EXPIRY" in rules(evaluate(s, [], FACTS, POLICY, centre))) is raised


@pytest.mark.parametrize(
    ("read", "on_certificate", "raised"),
    [
        ("浙A7K392", "浙A·7K392", False),
        ("浙A7K399", "浙A·7K392", True),
        ("", "浙A·7K392", False),  # the inspector did not read the plate
        ("浙A7K399", "", False),  # the certificate names no plate (e.g. post)
    ],
)
def test_plate_mismatch(read: str, on_certificate: str, raised: bool) -> None:
    facts = replace(FACTS, plate=on_certificate)
    alerts = evaluate(scan("s1", 0, plate=read), [], facts, POLICY, centre)
    assert ("PLATE_MISMATCH" in rules(alerts)) is raised


def test_reuse_rules_apply_to_transport_certificates_only() -> None:
    facts = replace(FACTS, kind=Kind.PRODUCING_AREA, valid_until=T0 + timedelta(days=365))
    far = scan("s2", 1, "340104", plate="皖X00000")
    earlier = [scan(f"e{i}", -600 + i, "330109") for i in range(20)]
    assert evaluate(far, earlier, facts, POLICY, centre) == []


# ------------------------------------------------------------ impossible travel


def _point_east(of: LonLat, km: float) -> LonLat:
    lon, lat = of
    return lon + km / (111.32 * math.cos(math.radians(lat))), lat


HOME: LonLat = (121.0, 31.0)


@pytest.mark.parametrize(
    ("km", "minutes", "raised"),
    [
        (150, 20, True),  # 450 km/h
        (150, 76, False),  # just under 120 km/h
        (150, 74, True),  # just above
        (150, 24 * 60, False),
        (1, 0, True),  # same instant, different places (positions: no slack)
        (0, 0, False),
        (30, 10, True),
        (19, 10, False),
    ],
)
def test_impossible_travel_with_device_positions(km: float, minutes: float, raised: bool) -> None:
    first = scan("s1", 0, position=HOME)
    second = scan("s2", minutes, position=_point_east(HOME, km))
    alerts = evaluate(second, [first], FACTS, POLICY, centre)
    assert ("IMPOSSIBLE_TRAVEL" in rules(alerts)) is raised
    if raised:
        (alert,) = [a for a in alerts if a.rule == "IMPOSSIBLE_TRAVEL"]
        assert alert.scans == ("s1", "s2") and alert.number == FACTS.number


def test_district_centres_get_slack() -> None:
    # Two neighbouring Shanghai districts scanned a minute apart: centres are
    # a few km apart, well under the slack; not an alert.
    a = scan("s1", 0, "310115")
    b = scan("s2", 1, "310101")
    assert "IMPOSSIBLE_TRAVEL" not in rules(evaluate(b, [a], FACTS, POLICY, centre))


def test_jiangsu_then_shanghai_150_km_in_20_minutes() -> None:
    pudong = centre("310115")
    assert pudong is not None
    # A Jiangsu district about 150 km from Pudong (Wuxi's Liangxi, 320213).
    liangxi = centre("320213")
    assert liangxi is not None and 110 < distance_km(pudong, liangxi) < 160
    first = scan("js", 0, "320213", checkpoint="G2 无锡东")
    second = scan("sh", 20, "310115", checkpoint="G2 沪宁收费站")
    alerts = evaluate(second, [first], FACTS, POLICY, centre)
    assert rules(alerts) == ["IMPOSSIBLE_TRAVEL"]
    # The node that sees the scans the other way round raises the same alert.
    again = evaluate(first, [second], FACTS, POLICY, centre)
    assert [a.id for a in again] == [a.id for a in alerts]


def test_unknown_place_makes_no_claim() -> None:
    a = scan("s1", 0, "999999")
    b = scan("s2", 1, "310115")
    assert evaluate(b, [a], FACTS, POLICY, centre) == []


def test_scans_of_other_certificates_and_the_scan_itself_are_ignored() -> None:
    new = scan("s2", 1, "340104")
    other_cert = replace(scan("x", 0, "310115"), number="310115-2026-000001")
    assert evaluate(new, [other_cert, new], FACTS, POLICY, centre) == []
    with pytest.raises(ValueError, match="not of this certificate"):
        evaluate(other_cert, [], FACTS, POLICY, centre)


# ------------------------------------------------------------ too many scans


def test_allowed_inspections_follow_the_route() -> None:
    assert allowed_inspections(FACTS, POLICY) == 2 + 2 * 2
    longer = replace(FACTS, route=("330109", "320583", "310115"))
    assert allowed_inspections(longer, POLICY) == 2 + 2 * 3


@pytest.mark.parametrize(("count", "raised"), [(5, False), (6, False), (7, True)])
def test_too_many_scans_at_separate_checkpoints(count: int, raised: bool) -> None:
    # All in the origin district, three hours apart: places are fine, count is not.
    earlier = [scan(f"s{i}", 180 * i, checkpoint=f"cp{i}") for i in range(count - 1)]
    new = scan("new", 180 * count, checkpoint="last")
    alerts = evaluate(new, earlier, FACTS, POLICY, centre)
    assert ("TOO_MANY_SCANS" in rules(alerts)) is raised
    if raised:
        (alert,) = alerts
        assert len(alert.scans) == count and "new" in alert.scans


def test_rescans_at_one_checkpoint_count_as_one_inspection() -> None:
    earlier = [scan(f"s{i}", i * 2, checkpoint="G60") for i in range(12)]  # 22 minutes
    new = scan("new", 25, checkpoint="G60")
    assert evaluate(new, earlier, FACTS, POLICY, centre) == []
    late = scan("late", 25 + 31 * 7, checkpoint="G60")  # ≥ 31 min apart each: new visits
    spaced = [scan(f"v{i}", 25 + 31 * i, checkpoint="G60") for i in range(1, 7)]
    assert "TOO_MANY_SCANS" in rules(evaluate(late, earlier + spaced, FACTS, POLICY, centre))


def test_alert_ids_are_stable_and_order_free() -> None:
    a = scan("s1", 0, position=HOME)
    b = scan("s2", 1, position=_point_east(HOME, 100))
    one = evaluate(b, [a], FACTS, POLICY, centre)
    two = evaluate(b, [a], FACTS, POLICY, centre)
    assert one == two and one[0].id == two[0].id and len(one[0].id) == 24


@pytest.mark.parametrize(
    "bad",
    [
        {"max_speed_kmh": 0},
        {"distance_slack_km": -1},
        {"base_scans": 0},
        {"scans_per_route_place": -1},
    ],
)
def test_policy_limits_are_checked(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="must be"):
        ReusePolicy(**bad)  # type: ignore[arg-type]


def test_aware_times_across_zones_compare_correctly() -> None:
    a = Scan("s1", FACTS.number, datetime(2026, 12, 1, 0, 0, tzinfo=UTC), "320213")
    b = Scan("s2", FACTS.number, cst("2026-12-01T08:20"), "310115")  # 20 minutes later
    assert rules(evaluate(b, [a], FACTS, POLICY, centre)) == ["IMPOSSIBLE_TRAVEL"]
