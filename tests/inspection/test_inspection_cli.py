"""``quarantine trace|alerts|violations|credit`` on the configured registry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner, Result

from quarantine.core.reuse import Alert
from quarantine.settings import Settings
from quarantine.storage import db
from quarantine.storage.inspection import add_alerts
from tests.conftest import cst


@pytest.fixture(scope="module")
def cli_app() -> typer.Typer:
    from quarantine.cli import _register_all, app

    if not app.registered_commands:
        _register_all()
    return app


@pytest.fixture
def url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.delenv("QUARANTINE_DATABASE_URL", raising=False)
    monkeypatch.delenv("QUARANTINE_PEERS", raising=False)
    monkeypatch.setenv("QUARANTINE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("QUARANTINE_REGION", "310000")
    found = db.database_url(Settings(data_dir=tmp_path / "data"))
    db.upgrade(found)
    return found


def run(app: typer.Typer, *args: str) -> Result:
    result = CliRunner().invoke(app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"uncaught {result.exception!r}"
    )
    assert "Traceback" not in result.output
    return result


def test_violation_then_credit_says_barred_and_why(cli_app: typer.Typer, url: str) -> None:
    r = run(
        cli_app,
        *("violations", "record", "--operator", "沪检登310112-0042", "--kind", "forged"),
        *("--severity", "severe", "--evidence", "涂改数量", "--json"),
    )
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output)
    assert doc["credit"]["level"] == "BARRED" and doc["id"].startswith("310000:")
    r = run(cli_app, "credit", "沪检登310112-0042")
    assert r.exit_code == 1 and "BARRED" in r.output and "伪造" in r.output
    r = run(cli_app, "credit", "沪检登310112-0042", "--date", "2030-01-01", "--json")
    assert r.exit_code == 0 and json.loads(r.output)["level"] == "GOOD"
    r = run(
        cli_app,
        "violations",
        "record",
        "--operator",
        "x",
        "--kind",
        "nope",
        "--severity",
        "1",
        "--evidence",
        "e",
    )
    assert r.exit_code == 2 and "BAD_VIOLATION_KIND" in r.output
    r = run(cli_app, "credit", "x", "--date", "soon")
    assert r.exit_code == 2 and "BAD_DATE" in r.output


def test_alerts_list_and_check(cli_app: typer.Typer, url: str) -> None:
    engine = db.make_engine(url)
    alert = Alert("PLATE_MISMATCH", "310112-2026-000158", ("310000:a",), "沪C1 ≠ 沪B5D218", "ab12")
    try:
        with db.session_factory(engine).begin() as s:
            add_alerts(s, [alert], {"ab12": ["310112"]}, cst("2026-12-01T10:00"))
    finally:
        engine.dispose()
    r = run(cli_app, "alerts", "list", "--region", "310112")
    assert r.exit_code == 0 and "ab12" in r.output and "车牌" in r.output
    r = run(cli_app, "alerts", "check", "ab12", "--note", "已核实")
    assert r.exit_code == 0 and "CHECKED" in r.output
    r = run(cli_app, "alerts", "list", "--region", "310112", "--json")
    assert r.output.strip() == ""
    r = run(cli_app, "alerts", "list", "--status", "checked", "--json")
    assert json.loads(r.output)["note"] == "已核实"
    r = run(cli_app, "alerts", "check", "ab12", "--note", "again")
    assert r.exit_code == 2 and "ALERT_ALREADY_CHECKED" in r.output


def test_trace_of_an_unknown_number(cli_app: typer.Typer, url: str) -> None:
    r = run(cli_app, "trace", "310000-2026-000001")
    assert r.exit_code == 2 and "CERTIFICATE_NOT_FOUND" in r.output
    r = run(cli_app, "trace", "nope", "--json")
    assert r.exit_code == 2 and "BAD_NUMBER" in r.output
