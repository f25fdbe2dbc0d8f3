"""``quarantine status pull|show`` and ``quarantine verify --offline``: a real round trip.

The node is the real app over a migrated SQLite registry, reached in process
through an ``httpx2.MockTransport`` that forwards every request to a
``TestClient`` — no socket is opened.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2
import pytest
import typer
from fastapi.testclient import TestClient
from typer.testing import CliRunner, Result

from quarantine.cli import status as status_cli
from quarantine.core.status import EventType
from quarantine.settings import Settings
from quarantine.statuscache import StatusCache
from quarantine.storage import db
from quarantine.web import create_app
from quarantine.web.registry import Registry, open_registry
from tests.web.test_statuslists_api import (
    BASE_URL,
    DEMO_KEYS,
    NOW,
    Clock,
    add_event,
    store_certificate,
)

NUMBER = "310112-2026-000158"
OTHER = "330109-2026-004871"
ENV_VARS = (
    "QUARANTINE_KEY_PASSPHRASE",
    "QUARANTINE_TRUST_LIST",
    "QUARANTINE_TRUST_ANCHOR",
    "QUARANTINE_CLOCK_SKEW_SECONDS",
    "QUARANTINE_BASE_URL",
    "QUARANTINE_DATABASE_URL",
)


@pytest.fixture(scope="session")
def cli_app() -> typer.Typer:
    from quarantine.cli import _register_all, app

    if not app.registered_commands:
        _register_all()
    return app


@pytest.fixture
def inspector_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The inspector's own data folder (where pulled lists are cached)."""
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    data = tmp_path / "inspector"
    monkeypatch.setenv("QUARANTINE_DATA_DIR", str(data))
    monkeypatch.setenv("QUARANTINE_KEYS_DIR", str(tmp_path / "no-keys"))
    return data


@pytest.fixture
def node_settings(tmp_path: Path) -> Settings:
    s = Settings(data_dir=tmp_path / "node", keys_dir=DEMO_KEYS, verify_rate_per_minute=10_000)
    s.data_dir.mkdir()
    db.upgrade(db.database_url(s))
    return s


@pytest.fixture
def registry(node_settings: Settings) -> Iterator[Registry]:
    reg = open_registry(node_settings)
    yield reg
    reg.close()


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


Tamper = Callable[[httpx2.Request, bytes], bytes]


class Node:
    """The node app behind an httpx2 transport; ``tamper`` may rewrite list bytes."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.tamper: Tamper | None = None
        self.requests: list[str] = []

    def handle(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request.url.path)
        response = self.client.request(
            request.method,
            str(request.url),
            headers={k: v for k, v in request.headers.items() if k.lower() != "host"},
        )
        body = response.content
        if self.tamper is not None and request.url.path.count("/") == 5:
            body = self.tamper(request, body)
        headers = [
            (k, v)
            for k, v in response.headers.items()
            if k.lower() not in ("content-length", "content-encoding", "transfer-encoding")
        ]
        return httpx2.Response(response.status_code, headers=headers, content=body)


@pytest.fixture
def node(
    node_settings: Settings,
    clock: Clock,
    inspector_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Node]:
    with TestClient(create_app(node_settings, clock=clock), base_url=BASE_URL) as client:
        mounted = Node(client)

        def factory(base: str) -> httpx2.Client:
            return httpx2.Client(
                base_url=base, transport=httpx2.MockTransport(mounted.handle), trust_env=False
            )

        monkeypatch.setattr(status_cli, "_client_factory", factory)
        yield mounted


def run(app: typer.Typer, *args: str) -> Result:
    result = CliRunner().invoke(app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"uncaught {result.exception!r}"
    )
    return result


def iso(at: datetime) -> str:
    return at.isoformat()


def pull(app: typer.Typer, at: datetime, *extra: str) -> Result:
    return run(app, "status", "pull", "--from", BASE_URL, "--now", iso(at), *extra)


def verify_offline(app: typer.Typer, text: str, at: datetime) -> dict[str, Any]:
    result = run(app, "verify", "--offline", "--json", "--now", iso(at), text)
    lines = [ln for ln in result.stdout.splitlines() if ln.startswith("{")]
    assert len(lines) == 1, result.output
    out: dict[str, Any] = json.loads(lines[0])
    out["exit"] = result.exit_code
    return out


# ------------------------------------------------------------------ round trip


def test_pull_revoke_pull_again_and_verify_offline_says_revoked(
    cli_app: typer.Typer, node: Node, registry: Registry, clock: Clock, inspector_dir: Path
) -> None:
    text = store_certificate(registry, "transport-intra", NUMBER)
    store_certificate(registry, "transport-inter", OTHER)

    first = pull(cli_app, NOW)
    assert first.exit_code == 0, first.output
    assert "310112/2026" in first.stdout and "330109/2026" in first.stdout
    assert sorted(p.name for p in (inspector_dir / "status-lists").iterdir()) == [
        "310112-2026.cose",
        "310112-2026.json",
        "330109-2026.cose",
        "330109-2026.json",
    ]
    before = verify_offline(cli_app, text, NOW + timedelta(minutes=1))
    assert (before["verdict"], before["reasons"], before["exit"]) == ("VALID", [], 0)
    assert before["status"]["source"] == "status-list"
    assert before["status"]["stale"] is False
    assert before["status"]["list"] == "310112/2026"
    assert before["status"]["as_of"] == "2026-12-01T02:00:00+00:00"
    assert before["status"]["age_seconds"] == 60

    add_event(registry, NUMBER, EventType.REVOKED, NOW + timedelta(minutes=2))
    clock.advance(minutes=3)
    second = pull(cli_app, clock.at)
    assert second.exit_code == 0, second.output
    after = verify_offline(cli_app, text, clock.at + timedelta(seconds=30))
    assert after["verdict"] == "INVALID"
    assert after["reasons"] == ["REVOKED"]
    assert after["exit"] == 1
    assert after["status"]["age_seconds"] == 30

    human = run(cli_app, "verify", "--offline", "--now", iso(clock.at), text)
    assert "[REVOKED]" in human.stdout
    assert "状态列表 status list 310112/2026" in human.stdout
    assert "有效 fresh" in human.stdout


def test_show_prints_age_and_staleness(
    cli_app: typer.Typer, node: Node, registry: Registry
) -> None:
    store_certificate(registry, "transport-intra", NUMBER)
    assert pull(cli_app, NOW).exit_code == 0
    fresh = run(cli_app, "status", "show", "--now", iso(NOW + timedelta(hours=2, minutes=5)))
    assert fresh.exit_code == 0
    assert "310112/2026 上海市闵行区" in fresh.stdout
    assert "age 2 h 5 min" in fresh.stdout
    assert "有效 fresh" in fresh.stdout
    assert f"{BASE_URL}/api/v1/status-lists/310112/2026" in fresh.stdout
    stale = run(cli_app, "status", "show", "--json", "--now", iso(NOW + timedelta(days=2)))
    [info] = [json.loads(ln) for ln in stale.stdout.splitlines()]
    assert info["stale"] is True
    assert info["age_seconds"] == 2 * 86400


def test_a_stale_list_still_reports_and_warns(
    cli_app: typer.Typer, node: Node, registry: Registry
) -> None:
    text = store_certificate(registry, "transport-intra", NUMBER)
    add_event(registry, NUMBER, EventType.REVOKED, NOW - timedelta(hours=1))
    assert pull(cli_app, NOW).exit_code == 0
    out = verify_offline(cli_app, text, NOW + timedelta(days=2))
    assert sorted(out["reasons"]) == ["REVOKED", "STATUS_STALE"]
    assert out["status"]["stale"] is True


def test_without_cached_lists_verification_says_so(
    cli_app: typer.Typer, inspector_dir: Path
) -> None:
    text = (
        Path(__file__).resolve().parents[2] / "samples" / "valid-transport-intra.txt"
    ).read_text()
    result = run(cli_app, "verify", "--offline", "--now", iso(NOW), text.strip())
    assert result.exit_code == 0  # VALID with a warning
    assert "no cached status lists" in result.output
    assert "[STATUS_STALE]" in result.stdout
    out = verify_offline(cli_app, text.strip(), NOW)
    assert out["reasons"] == ["STATUS_STALE"]
    assert out["status"] == {
        "source": "status-list",
        "as_of": None,
        "stale": True,
        "age_seconds": None,
        "list": None,
        "valid_until": None,
    }


def test_verify_without_offline_is_unchanged(cli_app: typer.Typer, inspector_dir: Path) -> None:
    text = (
        Path(__file__).resolve().parents[2] / "samples" / "valid-transport-intra.txt"
    ).read_text()
    result = run(cli_app, "verify", "--json", "--now", iso(NOW), text.strip())
    out = json.loads(result.stdout)
    assert out["reasons"] == ["STATUS_UNCHECKED"]
    assert "status" not in out


# ------------------------------------------------------------------ refusals


def test_tampered_list_bytes_are_refused_and_not_cached(
    cli_app: typer.Typer, node: Node, registry: Registry, inspector_dir: Path
) -> None:
    store_certificate(registry, "transport-intra", NUMBER)

    def flip(_: httpx2.Request, body: bytes) -> bytes:
        return body[:-1] + bytes([body[-1] ^ 1])

    node.tamper = flip
    result = pull(cli_app, NOW)
    assert result.exit_code == 1
    assert "[STATUS_LIST_SIGNATURE]" in result.stdout
    assert not (inspector_dir / "status-lists" / "310112-2026.cose").exists()


def test_a_tampered_pull_keeps_the_good_cached_list(
    cli_app: typer.Typer, node: Node, registry: Registry, clock: Clock, inspector_dir: Path
) -> None:
    store_certificate(registry, "transport-intra", NUMBER)
    assert pull(cli_app, NOW).exit_code == 0
    cached = (inspector_dir / "status-lists" / "310112-2026.cose").read_bytes()
    node.tamper = lambda _, body: body[:40] + b"\x00" + body[41:]
    clock.advance(minutes=5)
    assert pull(cli_app, clock.at).exit_code == 1
    assert (inspector_dir / "status-lists" / "310112-2026.cose").read_bytes() == cached


def test_a_list_served_for_another_region_is_refused(
    cli_app: typer.Typer, node: Node, registry: Registry, inspector_dir: Path
) -> None:
    store_certificate(registry, "transport-intra", NUMBER)
    other = node.client.get("/api/v1/status-lists/310115/2026").content
    node.tamper = lambda _, body: other
    result = pull(cli_app, NOW, "--json")
    [line] = [json.loads(ln) for ln in result.stdout.splitlines()]
    assert line["error"]["code"] == "STATUS_LIST_MISMATCH"
    assert not (inspector_dir / "status-lists").exists() or not any(
        (inspector_dir / "status-lists").iterdir()
    )


def test_an_older_list_does_not_replace_a_newer_one(
    cli_app: typer.Typer, node: Node, registry: Registry, clock: Clock, inspector_dir: Path
) -> None:
    store_certificate(registry, "transport-intra", NUMBER)
    old = node.client.get("/api/v1/status-lists/310112/2026").content
    clock.advance(hours=13)  # past TTL/2: the node signs a new list
    assert pull(cli_app, clock.at).exit_code == 0
    newer = (inspector_dir / "status-lists" / "310112-2026.cose").read_bytes()
    node.tamper = lambda _, body: old  # a replay of the older, validly signed list
    result = pull(cli_app, clock.at + timedelta(minutes=1))
    assert result.exit_code == 0
    assert "kept the newer cached list" in result.stdout
    assert (inspector_dir / "status-lists" / "310112-2026.cose").read_bytes() == newer
    again = pull(cli_app, clock.at + timedelta(minutes=2), "--json")
    node.tamper = None
    assert json.loads(again.stdout)["outcome"] == "kept_newer"


def test_a_cache_file_edited_on_disk_is_reported_and_skipped(
    cli_app: typer.Typer, node: Node, registry: Registry, inspector_dir: Path
) -> None:
    text = store_certificate(registry, "transport-intra", NUMBER)
    add_event(registry, NUMBER, EventType.REVOKED, NOW - timedelta(hours=1))
    assert pull(cli_app, NOW).exit_code == 0
    path = inspector_dir / "status-lists" / "310112-2026.cose"
    blob = bytearray(path.read_bytes())
    blob[-5] ^= 0xFF
    path.write_bytes(bytes(blob))
    shown = run(cli_app, "status", "show", "--now", iso(NOW))
    assert shown.exit_code == 1
    assert "[STATUS_LIST_SIGNATURE]" in shown.stdout
    out = verify_offline(cli_app, text, NOW)
    assert out["reasons"] == ["STATUS_STALE"]  # the edited list is not used


def test_an_oversized_answer_is_refused(
    cli_app: typer.Typer, node: Node, registry: Registry, inspector_dir: Path
) -> None:
    store_certificate(registry, "transport-intra", NUMBER)
    node.tamper = lambda _, body: body + b"\x00" * (1 << 20)
    result = pull(cli_app, NOW, "--json")
    assert json.loads(result.stdout)["error"]["code"] == "FETCH_TOO_LARGE"


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("http://example.com", "PEER_NOT_ALLOWED"),
        ("http://10.0.0.1:8000", "PEER_NOT_ALLOWED"),
        ("ftp://127.0.0.1", "PEER_URL_INVALID"),
        ("http://user:pw@127.0.0.1:8000", "PEER_URL_INVALID"),
        ("http://127.0.0.1:8000/?x=1", "PEER_URL_INVALID"),
    ],
)
def test_only_loopback_or_configured_peers(
    cli_app: typer.Typer, node: Node, url: str, code: str
) -> None:
    result = run(cli_app, "status", "pull", "--from", url)
    assert result.exit_code == 2
    assert f"[{code}]" in result.output
    assert node.requests == []


def test_a_trust_list_host_is_a_configured_peer() -> None:
    from quarantine import trustfile

    trust = trustfile.load(None, None)
    assert status_cli.check_peer("http://localhost:8000/", trust, BASE_URL) == (
        "http://localhost:8000"
    )


# ------------------------------------------------------------------ selection


def test_region_and_year_filters(
    cli_app: typer.Typer, node: Node, registry: Registry, inspector_dir: Path
) -> None:
    store_certificate(registry, "transport-intra", NUMBER)
    store_certificate(registry, "transport-inter", OTHER)
    store_certificate(registry, "transport-intra", "310112-2025-000001")
    result = pull(cli_app, NOW, "--region", "330000", "--json")
    assert [json.loads(ln)["region"] for ln in result.stdout.splitlines()] == ["330109"]
    result = pull(cli_app, NOW, "--region", "310112", "--year", "2025", "--json")
    assert [(d["region"], d["year"]) for d in map(json.loads, result.stdout.splitlines())] == [
        ("310112", 2025)
    ]
    assert "/api/v1/status-lists" not in node.requests[-1:]  # fetched directly, no index
    cache = StatusCache.for_data_dir(inspector_dir)
    from quarantine import trustfile

    assert [(c.region, c.year) for c in cache.read(trustfile.load(None, None), NOW)] == [
        ("310112", 2025),
        ("330109", 2026),
    ]


def test_a_missing_list_is_reported(cli_app: typer.Typer, node: Node) -> None:
    result = pull(cli_app, NOW, "--region", "110101", "--year", "2026")
    assert result.exit_code == 1
    assert "[STATUS_LIST_NOT_FOUND]" in result.stdout


def test_bad_region_option(cli_app: typer.Typer, node: Node) -> None:
    result = run(cli_app, "status", "pull", "--region", "31x", "--from", BASE_URL)
    assert result.exit_code == 2
    assert "[BAD_REGION]" in result.output


def test_a_node_that_cannot_be_reached(
    cli_app: typer.Typer, inspector_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(request: httpx2.Request) -> httpx2.Response:
        raise httpx2.ConnectError("connection refused", request=request)

    monkeypatch.setattr(
        status_cli,
        "_client_factory",
        lambda base: httpx2.Client(base_url=base, transport=httpx2.MockTransport(refuse)),
    )
    result = run(cli_app, "status", "pull", "--from", BASE_URL)
    assert result.exit_code == 2
    assert "[FETCH_FAILED]" in result.output


def test_show_with_an_empty_cache(cli_app: typer.Typer, inspector_dir: Path) -> None:
    result = run(cli_app, "status", "show")
    assert result.exit_code == 0
    assert "no cached status lists" in result.stdout


def test_the_settings_base_url_is_the_default_peer(
    cli_app: typer.Typer, node: Node, registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    store_certificate(registry, "transport-intra", NUMBER)
    monkeypatch.setenv("QUARANTINE_BASE_URL", BASE_URL)
    result = run(cli_app, "status", "pull", "--now", iso(NOW))
    assert result.exit_code == 0, result.output
    assert node.requests[0] == "/api/v1/status-lists"
