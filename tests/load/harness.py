"""Real server processes over real PostgreSQL databases, for the load tests and the API bench.

- :func:`pg_admin_engine` connects to the server at ``QUARANTINE_TEST_POSTGRES_URL``
  (default ``postgresql+psycopg://postgres@127.0.0.1:5432/test``); ``None`` when none answers.
- :func:`temp_database` creates a database and drops it (``WITH (FORCE)``) when the block ends.
- :class:`Server` runs ``quarantine serve`` (one process group) on a free loopback port,
  waits for ``/readyz``, stops it (TERM, then KILL) or kills it with ``SIGKILL``.
- :func:`server_env` builds the ``QUARANTINE_*`` environment: a copy of the DEMO keys, a
  data directory, the database, a verification rate limit high enough for load.

Every wait has a deadline; every process and database is cleaned up in ``finally``.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

from sqlalchemy import URL, Engine, create_engine, make_url, text
from sqlalchemy.exc import OperationalError

REPO: Final = Path(__file__).resolve().parents[2]
DEMO_KEYS: Final = REPO / "keys" / "demo"
SAMPLES: Final = REPO / "samples" / "input"
DEFAULT_PG_URL: Final = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
#: Base URL printed into QR codes: a verification host the demo trust list knows.
QR_BASE_URL: Final = "http://127.0.0.1:8000"
CHINA: Final = timedelta(hours=8)


def pg_server_url() -> URL:
    return make_url(os.environ.get("QUARANTINE_TEST_POSTGRES_URL") or DEFAULT_PG_URL)


def pg_admin_engine() -> tuple[Engine | None, str]:
    """An AUTOCOMMIT engine on the test server, or ``(None, why not)``."""
    url = pg_server_url()
    engine = create_engine(url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except OperationalError as exc:
        engine.dispose()
        where = url.render_as_string(hide_password=True)
        return None, (
            f"no PostgreSQL server at {where} (set QUARANTINE_TEST_POSTGRES_URL): "
            f"{str(exc.orig).strip()[:200]}"
        )
    return engine, ""


@contextmanager
def temp_database(admin: Engine, prefix: str = "quarantine_load") -> Iterator[str]:
    """A new, empty database's URL; dropped (even with open connections) afterwards."""
    name = f"{prefix}_{secrets.token_hex(4)}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield pg_server_url().set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def server_env(database_url: str, workdir: Path, **extra: str) -> dict[str, str]:
    """``QUARANTINE_*`` settings for a server: DEMO keys copied under ``workdir``."""
    keys = workdir / "keys"
    if not keys.exists():
        shutil.copytree(DEMO_KEYS, keys)
    data = workdir / "data"
    data.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("QUARANTINE_")}
    env.update(
        {
            "QUARANTINE_DATABASE_URL": database_url,
            "QUARANTINE_KEYS_DIR": str(keys),
            "QUARANTINE_DATA_DIR": str(data),
            "QUARANTINE_BASE_URL": QR_BASE_URL,
            "QUARANTINE_VERIFY_RATE_PER_MINUTE": str(10**9),
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra)
    return env


def quarantine_cli(args: list[str], env: Mapping[str, str], timeout: float = 60) -> str:
    """Run ``quarantine ARGS``; its stdout (raises with stderr on a non-zero exit)."""
    done = subprocess.run(
        [sys.executable, "-m", "quarantine", *args],
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        cwd=REPO,
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"quarantine {' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
        )
    return done.stdout


def migrate(env: Mapping[str, str]) -> None:
    """``quarantine db upgrade`` on the environment's database."""
    quarantine_cli(["db", "upgrade"], env)


def create_token(database_url: str, role: str, region: str) -> str:
    """A token's secret, created with ``TokenStore`` (what ``quarantine tokens create`` does)."""
    from quarantine.storage.db import make_engine, session_factory
    from quarantine.storage.tokens import TokenStore

    engine = make_engine(database_url)
    try:
        with session_factory(engine).begin() as session:
            _, secret = TokenStore(session).create(role, region, f"load test {role} {region}")
    finally:
        engine.dispose()
    return secret


@dataclass
class Server:
    """``quarantine serve`` (or any argv) as a subprocess in its own process group."""

    env: dict[str, str]
    log_path: Path
    workers: int = 1
    port: int = field(default_factory=free_port)
    argv: list[str] | None = None
    proc: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        if self.argv is not None:
            return self.argv
        return [
            sys.executable,
            "-m",
            "quarantine",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--workers",
            str(self.workers),
        ]

    def start(self, ready_path: str = "/readyz", timeout: float = 60) -> None:
        """Start and wait until ``ready_path`` answers 200 (raises with the log tail)."""
        import httpx2

        assert self.proc is None, "already running"
        log = self.log_path.open("ab")
        try:
            self.proc = subprocess.Popen(
                self.command(),
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=REPO,
                start_new_session=True,
            )
        finally:
            log.close()
        deadline = time.monotonic() + timeout
        with httpx2.Client(timeout=2) as client:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    self.proc = None
                    raise RuntimeError(f"server exited while starting:\n{self.log_tail()}")
                try:
                    if client.get(self.base + ready_path).status_code == 200:
                        return
                except httpx2.TransportError:
                    pass
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"server not ready after {timeout} s:\n{self.log_tail()}")

    def kill9(self) -> None:
        """``SIGKILL`` to the whole process group (supervisor and workers), then reap."""
        if self.proc is None:
            return
        with suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)
        self.proc = None

    def stop(self, grace: float = 15) -> None:
        """``SIGTERM`` to the group; ``SIGKILL`` after ``grace`` seconds."""
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=grace)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            pass
        finally:
            self.kill9()

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text("utf-8", "replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


# -- documents ---------------------------------------------------------------------------

#: Sample documents of every kind and three provinces (issued without their numbers).
ISSUABLE: Final = (
    "transport-intra.json",
    "transport-anhui.json",
    "producing-area.json",
    "requirement.json",
    "transport-inter.json",
    "project.json",
)


def province(region: str) -> str:
    return region[:2] + "0000"


def fresh_document(name: str, now: datetime | None = None) -> dict[str, Any]:
    """A sample input without its number, issued a minute ago, valid from today (China time)."""
    doc: dict[str, Any] = json.loads((SAMPLES / name).read_text("utf-8"))
    doc.pop("number", None)
    doc.pop("_about", None)
    at = (now or datetime.now(UTC)) - timedelta(minutes=1)
    china_now = at.astimezone(UTC) + CHINA
    span = datetime.fromisoformat(doc["valid_to"]) - datetime.fromisoformat(doc["valid_from"])
    span = min(span, timedelta(days=300))
    doc["issued_at"] = china_now.replace(tzinfo=None).isoformat(timespec="seconds") + "+08:00"
    doc["valid_from"] = china_now.date().isoformat()
    doc["valid_to"] = (china_now.date() + span).isoformat()
    return doc
