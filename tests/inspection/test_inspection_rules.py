"""The deployment's inspection rules (``QUARANTINE_INSPECTION_RULES``): reuse limits and
credit rules from a TOML or JSON file, checked at start-up, shown to inspectors; and the
one-statement read of a scan's certificate and earlier scans on PostgreSQL.

The API tests run on SQLite (the general path) and PostgreSQL (the one-statement path).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import typer
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from quarantine import inspection_rules
from quarantine.core.credit import (
    DEFAULT_RULES,
    CreditRule,
    Violation,
    ViolationKind,
    ViolationSeverity,
    bar_periods,
)
from quarantine.core.model import CHINA_TZ, Kind
from quarantine.core.reuse import CertificateFacts, ReusePolicy, Scan, distance_km, evaluate
from quarantine.errors import EnvironmentProblem
from quarantine.services import inspection
from quarantine.settings import Settings
from quarantine.storage import db
from quarantine.storage import federation as fed
from quarantine.storage import inspection as store
from quarantine.web import create_app
from tests.inspection.conftest import Clock, Node, _node
from tests.storage.conftest import PgDatabases
from tests.web.pg import BASE_URL, demo_keys, pg_settings, sample

WUJIN = "320412"  # 常州市武进区
PUDONG = "310115"

RULES_TOML = """
# 本省：限速 60 km/h；一次较重违规即暂停互认 30 天
[reuse]
max_speed_kmh = 60
expiry_grace_minutes = 10

[credit]
watch_days = 100

[[credit.rules]]
severity = "SERIOUS"
count = 1
window_days = 365
bar_days = 30
"""


@pytest.fixture(autouse=True)
def _rules_restored() -> Iterator[None]:
    yield
    inspection_rules.install(None)  # the next reader takes the environment's (the defaults)


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, "utf-8")
    return path


# --------------------------------------------------------------------------- the file


def test_a_toml_file_sets_the_limits_and_replaces_the_credit_table(tmp_path: Path) -> None:
    rules = inspection_rules.load(_write(tmp_path, "rules.toml", RULES_TOML))
    assert rules.configured
    assert rules.policy == ReusePolicy(max_speed_kmh=60, expiry_grace=timedelta(minutes=10))
    assert rules.credit == (CreditRule(ViolationSeverity.SERIOUS, 1, 365, 30),)
    assert rules.watch_days == 100
    same = inspection_rules.load(
        _write(
            tmp_path,
            "rules.json",
            json.dumps(
                {
                    "reuse": {"max_speed_kmh": 60.0, "expiry_grace_minutes": 10},
                    "credit": {
                        "watch_days": 100,
                        "rules": [{"severity": 2, "count": 1, "window_days": 365, "bar_days": 30}],
                    },
                }
            ),
        )
    )
    assert same == rules
    assert inspection_rules.load(None) == inspection_rules.DEFAULTS
    empty = inspection_rules.load(_write(tmp_path, "empty.toml", ""))
    assert (empty.policy, empty.credit, empty.configured) == (ReusePolicy(), DEFAULT_RULES, True)


@pytest.mark.parametrize(
    ("text", "code", "words"),
    [
        ("[reuse\nmax_speed_kmh = 1", "INSPECTION_RULES_UNREADABLE", "rules.toml"),
        ("[reuse]\nmax_speed_kmh = 0", "INSPECTION_RULES_INVALID", "reuse.max_speed_kmh"),
        ("[reuse]\nmax_speed_kmh = '120'", "INSPECTION_RULES_INVALID", "reuse.max_speed_kmh"),
        ("[reuse]\nbase_scans = 2.5", "INSPECTION_RULES_INVALID", "reuse.base_scans"),
        ("[reuse]\nbase_scans = true", "INSPECTION_RULES_INVALID", "reuse.base_scans"),
        ("[reuse]\nmax_speed = 100", "INSPECTION_RULES_INVALID", "max_speed"),
        ("[alerts]\nx = 1", "INSPECTION_RULES_INVALID", "alerts"),
        ("reuse = 3", "INSPECTION_RULES_INVALID", "reuse"),
        ("[credit]\nrules = 3", "INSPECTION_RULES_INVALID", "credit.rules"),
        ("[credit]\nwatch_days = 0", "INSPECTION_RULES_INVALID", "credit.watch_days"),
        (
            "[[credit.rules]]\nseverity = 'GRAVE'\ncount = 1\nwindow_days = 1\nbar_days = 1",
            "INSPECTION_RULES_INVALID",
            "credit.rules[0].severity",
        ),
        (
            "[[credit.rules]]\nseverity = 'SEVERE'\ncount = 1\nwindow_days = 365",
            "INSPECTION_RULES_INVALID",
            "bar_days",
        ),
        (
            "[[credit.rules]]\nseverity = 3\ncount = 0\nwindow_days = 365\nbar_days = 30",
            "INSPECTION_RULES_INVALID",
            "credit.rules[0].count",
        ),
    ],
)
def test_a_bad_file_is_refused_naming_the_field(
    tmp_path: Path, text: str, code: str, words: str
) -> None:
    with pytest.raises(EnvironmentProblem) as exc:
        inspection_rules.load(_write(tmp_path, "rules.toml", text))
    assert exc.value.code == code
    assert words in exc.value.message_en and words in exc.value.message_zh
    assert "检查规则" in exc.value.message_zh


def test_a_missing_or_non_object_file_is_unreadable(tmp_path: Path) -> None:
    for path in (tmp_path / "nope.toml", _write(tmp_path, "list.json", "[1, 2]")):
        with pytest.raises(EnvironmentProblem) as exc:
            inspection_rules.load(path)
        assert exc.value.code == "INSPECTION_RULES_UNREADABLE"


def test_the_environment_names_the_file_when_nothing_was_configured(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "QUARANTINE_INSPECTION_RULES", str(_write(tmp_path, "rules.toml", RULES_TOML))
    )
    inspection_rules.install(None)
    assert inspection_rules.current().policy.max_speed_kmh == 60
    monkeypatch.delenv("QUARANTINE_INSPECTION_RULES")
    inspection_rules.install(None)
    assert inspection_rules.current() == inspection_rules.DEFAULTS


# --------------------------------------------------------------------------- pure rules


def test_a_custom_speed_limit_changes_which_scans_raise_an_alert(tmp_path: Path) -> None:
    rules = inspection_rules.load(_write(tmp_path, "rules.toml", RULES_TOML))
    facts = CertificateFacts(
        "310115-2026-000001",
        Kind.TRANSPORT,
        datetime(2027, 1, 1, tzinfo=CHINA_TZ),
        route=("320412", "310115"),
    )
    at = datetime(2026, 12, 1, 10, tzinfo=CHINA_TZ)
    a = Scan("310000:a", facts.number, at, WUJIN, position=(120.0, 31.7))
    b = Scan("310000:b", facts.number, at + timedelta(hours=1), PUDONG, position=(120.9, 31.7))
    assert 60 < distance_km(a.position or (0, 0), b.position or (0, 0)) < 120  # about 85 km/h
    assert evaluate(b, [a], facts, ReusePolicy(), inspection.centre) == []
    [alert] = evaluate(b, [a], facts, rules.policy, inspection.centre)
    assert alert.rule == "IMPOSSIBLE_TRAVEL" and alert.scans == ("310000:a", "310000:b")


def test_a_custom_credit_rule_changes_the_bar_periods(tmp_path: Path) -> None:
    rules = inspection_rules.load(_write(tmp_path, "rules.toml", RULES_TOML))
    at = datetime(2026, 12, 1, 10, tzinfo=CHINA_TZ)
    serious = Violation(
        "310000:1", "OP", "310115", ViolationKind.REUSE, ViolationSeverity.SERIOUS, at
    )
    assert bar_periods("OP", [serious]) == []  # the defaults need three serious ones
    [period] = bar_periods("OP", [serious], rules.credit)
    assert (period.start, period.end) == (date(2026, 12, 1), date(2026, 12, 30))
    severe = replace(serious, id="310000:2", severity=ViolationSeverity.SEVERE)
    [period] = bar_periods("OP", [severe], rules.credit)  # severe counts as serious-or-worse
    assert period.end == date(2026, 12, 30)


# --------------------------------------------------------------------------- a node


@pytest.fixture(params=["sqlite", "postgresql"])
def ruled(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Node]:
    """A node whose settings name the rules file above."""
    path = _write(tmp_path, "rules.toml", RULES_TOML)
    if request.param == "sqlite":
        settings = Settings(data_dir=tmp_path, verify_rate_per_minute=100_000)
        db.upgrade(db.database_url(settings))
        yield from _node(replace(settings, inspection_rules=path), tmp_path, Clock())
    else:
        dbs: PgDatabases = request.getfixturevalue("pg_dbs")
        with pg_settings(dbs, tmp_path) as settings:
            yield from _node(replace(settings, inspection_rules=path), tmp_path, Clock())


def _open_alerts(node: Node, region: str) -> list[dict[str, Any]]:
    r = node.client.get(
        "/api/v1/alerts", params={"region": region}, headers=node.token("inspector", region)
    )
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


def _travel_minutes(speed_kmh: float) -> float:
    """Minutes between scans at Wujin and Pudong (district centres) for ``speed_kmh``."""
    policy = ReusePolicy()
    a, b = inspection.centre(WUJIN), inspection.centre(PUDONG)
    assert a is not None and b is not None
    km = distance_km(a, b) - 2 * policy.distance_slack_km
    return km / speed_kmh * 60


def test_the_node_applies_its_speed_limit(ruled: Node) -> None:
    issued = ruled.issue(sample("transport-intra"))
    ruled.scan(issued["qr_text"], WUJIN, checkpoint="沪蓉高速武进站")
    ruled.clock.advance(minutes=_travel_minutes(90))  # 90 km/h: over 60, under 120
    ruled.scan(issued["qr_text"], PUDONG, checkpoint="川沙检查站")
    assert [a["rule"] for a in _open_alerts(ruled, PUDONG)] == ["IMPOSSIBLE_TRAVEL"]


def test_the_default_speed_limit_lets_the_same_trip_pass(node: Node) -> None:
    issued = node.issue(sample("transport-intra"))
    node.scan(issued["qr_text"], WUJIN, checkpoint="沪蓉高速武进站")
    node.clock.advance(minutes=_travel_minutes(90))
    node.scan(issued["qr_text"], PUDONG, checkpoint="川沙检查站")
    assert _open_alerts(node, PUDONG) == []


def test_the_node_applies_its_credit_rules_to_credit_and_recognition(ruled: Node) -> None:
    operator = "沪检登310115-0001"
    body = {"operator": operator, "kind": "REUSE", "severity": "SERIOUS", "evidence": "同证两车"}
    r = ruled.client.post("/api/v1/violations", json=body, headers=ruled.token("inspector", PUDONG))
    assert r.status_code == 201, r.text
    credit = r.json()["credit"]
    assert credit["level"] == "BARRED" and credit["barred_through"] == "2026-12-30"
    with ruled.registry.session() as s:
        [period] = fed.bars_of(s, [operator])[operator]
        assert period.end == date(2026, 12, 30)
    r = ruled.client.get(
        f"/api/v1/operators/{operator}/credit",
        params={"date": "2027-02-01"},  # bar over; within watch_days = 100
        headers=ruled.token("inspector", PUDONG),
    )
    assert r.json()["level"] == "WATCH"
    r = ruled.client.get(
        f"/api/v1/operators/{operator}/credit",
        params={"date": "2027-03-15"},  # 104 days later
        headers=ruled.token("inspector", PUDONG),
    )
    assert r.json()["level"] == "GOOD"


def test_inspectors_can_read_the_rules_in_force(ruled: Node) -> None:
    assert ruled.client.get("/api/v1/inspection/rules").status_code == 401
    r = ruled.client.get("/api/v1/inspection/rules", headers=ruled.token("inspector", PUDONG))
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["configured"] is True
    assert doc["reuse"]["limits"]["max_speed_kmh"] == 60
    assert doc["reuse"]["limits"]["expiry_grace_minutes"] == 10
    travel = next(x for x in doc["reuse"]["rules"] if x["rule"] == "IMPOSSIBLE_TRAVEL")
    assert "60 km/h" in travel["raised_when_zh"] and "60 km/h" in travel["raised_when_en"]
    [rule] = doc["credit"]["rules"]
    assert (rule["severity"], rule["count"], rule["bar_days"]) == ("SERIOUS", 1, 30)
    assert "30 天" in rule["zh"] and "30 days" in rule["en"]


def test_a_bad_rules_file_stops_the_app_at_start_up(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path,
        keys_dir=demo_keys(tmp_path / "keys"),
        base_url=BASE_URL,
        inspection_rules=_write(tmp_path, "rules.toml", "[reuse]\nmax_speed_kmh = -5\n"),
    )
    db.upgrade(db.database_url(settings))
    with pytest.raises(EnvironmentProblem) as exc:
        create_app(settings)
    assert exc.value.code == "INSPECTION_RULES_INVALID"
    assert "reuse.max_speed_kmh" in exc.value.message_en
    good = replace(settings, inspection_rules=None)
    with TestClient(create_app(good), base_url=BASE_URL):
        assert inspection_rules.current() == inspection_rules.DEFAULTS


# --------------------------------------------------------------------------- the CLI


def test_the_cli_shows_the_rules_and_refuses_a_bad_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from quarantine.cli import _register_all, app

    if not app.registered_commands:
        _register_all()
    cli: typer.Typer = app
    monkeypatch.setenv("QUARANTINE_DATA_DIR", str(tmp_path / "data"))
    r = CliRunner().invoke(cli, ["inspection", "rules", "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["credit"]["rules"][0]["severity"] == "SEVERE"
    monkeypatch.setenv(
        "QUARANTINE_INSPECTION_RULES", str(_write(tmp_path, "rules.toml", RULES_TOML))
    )
    r = CliRunner().invoke(cli, ["inspection", "rules"])
    assert r.exit_code == 0, r.output
    assert "60 km/h" in r.output and "30 天" in r.output
    bad = _write(tmp_path, "bad.toml", "[credit]\nwatch_days = -1\n")
    monkeypatch.setenv("QUARANTINE_INSPECTION_RULES", str(bad))
    r = CliRunner().invoke(cli, ["inspection", "rules"])
    assert r.exit_code != 0 and "INSPECTION_RULES_INVALID" in r.output
    assert "Traceback" not in r.output


# --------------------------------------------------------------------------- one read


@pytest.fixture
def pg_node(pg_dbs: PgDatabases, tmp_path: Path) -> Iterator[Node]:
    with pg_settings(pg_dbs, tmp_path) as settings:
        yield from _node(settings, tmp_path, Clock())


def test_the_one_statement_read_gives_the_facts_of_the_general_path(pg_node: Node) -> None:
    doc = sample("transport-inter")
    doc["route"] = {"from": " 330109 ", "via": ["320412", "320506"], "to": "310115"}
    doc["conveyance"] = {"type": "汽车", "identifier": " 浙A·7K392 "}
    issued = pg_node.issue(doc, "330000")
    number = issued["number"]
    pg_node.scan(issued["qr_text"], WUJIN, plate="浙A7K392")
    pg_node.clock.advance(hours=3)
    pg_node.scan(issued["qr_text"], PUDONG, lon=121.5, lat=31.2)
    r = pg_node.client.post(
        f"/api/v1/certificates/{number}/arrival",
        json={"accepted": True, "region": PUDONG},
        headers=pg_node.token("inspector", PUDONG),
    )
    assert r.status_code == 200, r.text
    with pg_node.registry.session() as s:
        context = store.scan_context(s, number)
        assert context is not None
        known = inspection.load_known(s, [number])[number]
        assert inspection.facts_of_context(context) == inspection.facts_of(known)
        assert inspection.facts_of(known).closed_at is not None
        assert inspection.facts_of(known).route == ("330109", "320412", "320506", "310115")
        assert context.earlier == store.scans_of(s, number)
        assert [x.position for x in context.earlier] == [(121.5, 31.2), None]
        assert store.scan_context(s, "310115-2026-999999") is None
        # a certificate without scans: one row, no scans
        other = pg_node.issue(sample("transport-intra"))
        fresh = store.scan_context(s, other["number"])
        assert fresh is not None and fresh.earlier == []


def test_sqlite_reads_the_general_way(node: Node) -> None:
    issued = node.issue(sample("transport-intra"))
    with node.registry.session() as s:
        if s.get_bind().dialect.name == "sqlite":
            assert store.scan_context(s, issued["number"]) is None
        else:
            assert store.scan_context(s, issued["number"]) is not None
