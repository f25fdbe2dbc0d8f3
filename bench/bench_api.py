"""API benchmark: the HTTP service over PostgreSQL, loaded by wrk on loopback, in one run.

    .venv/bin/python bench/bench_api.py [--workers 2] [--certificates 1000000] [--write]

One run does, against a fresh PostgreSQL database (created, migrated with
``quarantine db upgrade``, dropped at the end) on ``QUARANTINE_TEST_POSTGRES_URL``:

1. seeds 1,000,000 certificates with ``generate_series`` (one line item each, status
   events for 1%, number counters and claimed numbers to match), then ``ANALYZE``;
2. starts ``quarantine serve --workers W`` and, as the baseline, a bare FastAPI JSON
   endpoint (``bench/api/bare_app.py``) under uvicorn with the same worker count;
3. verify-by-text throughput: wrk with the same settings on the bare endpoint and on
   ``POST /api/v1/verify`` (a real certificate of the registry), rounds interleaved;
4. status look-up: the look-up online verification makes (``Registry.direct_status``)
   and ``RegistryStatusSource`` in a session, in process, then
   ``GET /api/v1/certificates/{number}`` through HTTP (wrk, random numbers, c=1 twice, c=8);
5. issuance: wrk ``POST /api/v1/certificates`` for a fixed duration; the rate is the
   number of rows that reached PostgreSQL divided by the duration;
6. image verification: a 12 MP JPEG photo of a certificate's QR uploaded to
   ``POST /api/v1/verify/image`` one request at a time.

Every wrk run also reports the CPU time per response of the server's process group and
of PostgreSQL's backends of the bench database: on a shared machine requests per second
swing with other load, CPU per response does not.

``--write`` replaces the generated part of ``bench/RESULTS-api.md`` (the text after the
``<!-- analysis -->`` marker is kept).  Every phase is bounded in time; the servers and
the database are removed even when the run fails.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import random
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

REPO: Final = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # the harness is shared with tests/load
    sys.path.insert(0, str(REPO))

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from tests.load.harness import Server

RESULTS: Final = REPO / "bench" / "RESULTS-api.md"
MARKER: Final = "<!-- analysis -->"
#: Regions of the seeded rows: districts that no sample issues in (their counters are seeded).
SAMPLE_REGIONS: Final = frozenset({"310000", "310112", "310115", "330109", "340104"})
PRODUCTS: Final = ("银杏", "香樟", "鸡爪槭", "桂花", "红叶石楠", "广玉兰", "樱花", "杜鹃")
COMPANIES: Final = ("花木有限公司", "园林建设有限公司", "苗木专业合作社", "绿化工程有限公司")


# --------------------------------------------------------------------------- wrk


@dataclass(frozen=True)
class WrkResult:
    requests: int
    seconds: float
    status_errors: int
    socket_errors: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


_WRK_DONE: Final = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "WRKJSON {\\"requests\\":%d,\\"us\\":%d,\\"status\\":%d,\\"socket\\":%d,"
    .. "\\"p50\\":%d,\\"p95\\":%d,\\"p99\\":%d,\\"max\\":%d}\\n",
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max))
end
"""


def lua_string(value: str) -> str:
    """A Lua long-bracket string literal that cannot be closed by ``value``."""
    level = 0
    while f"]{'=' * level}]" in value:
        level += 1
    eq = "=" * level
    return f"[{eq}[{value}]{eq}]"


def wrk(
    url: str, script: str, *, connections: int, seconds: int, threads: int = 1, timeout_s: int = 10
) -> WrkResult:
    """Run wrk with a Lua ``script`` (the reporting ``done`` is appended)."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False, encoding="utf-8") as fh:
        fh.write(script + _WRK_DONE)
        path = fh.name
    try:
        argv = [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{seconds}s",
            f"--timeout={timeout_s}s",
            "-s",
            path,
            url,
        ]
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=seconds + 60, check=False
        )
    finally:
        os.unlink(path)
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("WRKJSON ")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    data = json.loads(line.removeprefix("WRKJSON "))
    return WrkResult(
        requests=data["requests"],
        seconds=data["us"] / 1e6,
        status_errors=data["status"],
        socket_errors=data["socket"],
        p50_ms=data["p50"] / 1000,
        p95_ms=data["p95"] / 1000,
        p99_ms=data["p99"] / 1000,
        max_ms=data["max"] / 1000,
    )


def post_json_script(body: dict[str, Any], headers: dict[str, str] | None = None) -> str:
    lines = [
        'wrk.method = "POST"',
        f"wrk.body = {lua_string(json.dumps(body, ensure_ascii=False))}",
        'wrk.headers["Content-Type"] = "application/json"',
    ]
    lines += [
        f"wrk.headers[ {lua_string(k)} ] = {lua_string(v)}" for k, v in (headers or {}).items()
    ]
    return "\n".join(lines)


def rotating_requests_script(requests: Sequence[tuple[str, str, dict[str, str], str]]) -> str:
    """Each connection's next request is the next of ``(method, path, headers, body)``."""
    entries = []
    for method, path, headers, body in requests:
        hdrs = ", ".join(f"[ {lua_string(k)} ] = {lua_string(v)}" for k, v in headers.items())
        entries.append(
            f"{{ {lua_string(method)}, {lua_string(path)}, {{ {hdrs} }}, {lua_string(body)} }}"
        )
    return (
        "local reqs = {\n"
        + ",\n".join(entries)
        + "\n}\nlocal i = 0\n"
        + "request = function()\n  i = i + 1\n  local r = reqs[(i % #reqs) + 1]\n"
        + '  if r[4] == "" then return wrk.format(r[1], r[2], r[3]) end\n'
        + "  return wrk.format(r[1], r[2], r[3], r[4])\nend\n"
    )


# --------------------------------------------------------------------------- seeding


@dataclass
class Seeded:
    certificates: int
    with_events: int
    seconds: float
    numbers: list[str] = field(default_factory=list)
    event_numbers: list[str] = field(default_factory=list)


def _seed_regions(count: int) -> list[str]:
    import csv

    path = REPO / "quarantine" / "data" / "yrd_divisions_2023.csv"
    with path.open(encoding="utf-8") as fh:
        rows = [r["code"] for r in csv.DictReader(fh) if r["level"] == "county"]
    return [code for code in rows if code not in SAMPLE_REGIONS][:count]


def _template(now: datetime) -> tuple[dict[str, Any], str, str]:
    """A realistic record, QR text and kid for the seeded rows (a signed sample)."""
    from dataclasses import replace

    from quarantine import keystore
    from quarantine.core.codec import full_record
    from quarantine.core.document import from_document
    from quarantine.core.signing import sign_certificate
    from tests.load.harness import DEMO_KEYS, QR_BASE_URL, SAMPLES

    doc = json.loads((SAMPLES / "transport-intra.json").read_text("utf-8"))
    cert = replace(from_document(doc), salt=os.urandom(16))
    info = keystore.signing_key_for(DEMO_KEYS, cert.issuing_agency.region, cert.issued_at)
    signed = sign_certificate(cert, keystore.load_signer(info, None), base_url=QR_BASE_URL)
    del now
    return full_record(cert), signed.text, info.kid


def seed(database_url: str, count: int, now: datetime, log: Callable[[str], None]) -> Seeded:
    """``count`` certificates in SQL (``generate_series``), 1% with status events."""
    from sqlalchemy import text

    from quarantine.storage.db import make_engine

    record, qr_text, kid = _template(now)
    regions = _seed_regions(20)
    per_region_year = -(-count // (len(regions) * 2))
    engine = make_engine(database_url)
    start = time.perf_counter()
    params = {
        "n": count,
        "regions": regions,
        "nr": len(regions),
        "record": json.dumps(record, ensure_ascii=False),
        "qr": qr_text,
        "kid": kid,
        "products": list(PRODUCTS),
        "companies": list(COMPANIES),
    }
    try:
        with engine.begin() as conn:
            conn.execute(text("SET LOCAL synchronous_commit = off"))
            conn.execute(
                text(
                    """
INSERT INTO certificates (number, kind, issuing_region, year, serial, issued_at, valid_from,
    valid_to, consignor_name, consignee_name, producer_name, kid, qr_text, detail_digest,
    record, created_at)
SELECT s.region || '-' || s.year || '-' || lpad(s.serial::text, 6, '0'),
       (ARRAY['TRANSPORT','TRANSPORT','TRANSPORT','TRANSPORT','TRANSPORT','TRANSPORT',
              'TRANSPORT','PRODUCING_AREA','REQUIREMENT','PROJECT'])[s.g % 10 + 1],
       s.region, s.year, s.serial, s.issued, (s.issued AT TIME ZONE 'Asia/Shanghai')::date,
       (s.issued AT TIME ZONE 'Asia/Shanghai')::date + (30 + s.g % 300),
       '上海' || (s.g % 997) || (CAST(:companies AS text[]))[s.g % 4 + 1],
       '浙江' || (s.g % 991) || (CAST(:companies AS text[]))[(s.g / 7) % 4 + 1],
       '', :kid, :qr, sha256(convert_to(s.region || s.year || s.serial, 'UTF8')),
       jsonb_set(CAST(:record AS jsonb), '{number}',
                 to_jsonb(s.region || '-' || s.year || '-' || lpad(s.serial::text, 6, '0'))),
       s.issued
FROM (
    SELECT g,
           (CAST(:regions AS text[]))[g % :nr + 1] AS region,
           2025 + (g / :nr) % 2 AS year,
           g / (:nr * 2) + 1 AS serial,
           make_timestamptz(2025 + (g / :nr) % 2, 1, 1, 8, 0, 0, 'Asia/Shanghai')
               + ((g / (:nr * 2)) * interval '1 minute') * (330.0 * 24 * 60 / :per)
               AS issued
    FROM generate_series(0, :n - 1) AS g
) AS s
"""
                ),
                {**params, "per": per_region_year},
            )
            log(f"  certificates: {time.perf_counter() - start:.0f} s")
            conn.execute(
                text(
                    """
INSERT INTO line_items (certificate_id, position, product, variety, specification, unit,
    quantity, remarks)
SELECT id, 0, (CAST(:products AS text[]))[id % 8 + 1], '', '胸径8-10cm', '株', id % 200 + 1, ''
FROM certificates
"""
                ),
                params,
            )
            log(f"  line items: {time.perf_counter() - start:.0f} s")
            # ~1%: 40% revoked, 20% superseded (by the next row), 20% suspended,
            # 10% suspended then reinstated, 10% arrived (closed).
            conn.execute(
                text(
                    """
INSERT INTO status_events (certificate_id, type, at, reason, superseded_by, actor, region,
    checkpoint, detail, recorded_at)
SELECT c.id,
       CASE WHEN (c.id / 100) % 10 < 4 THEN 'REVOKED'
            WHEN (c.id / 100) % 10 < 6 THEN 'SUPERSEDED'
            WHEN (c.id / 100) % 10 < 9 THEN 'SUSPENDED'
            ELSE 'ARRIVED' END,
       c.issued_at + interval '2 days',
       CASE WHEN (c.id / 100) % 10 < 9 THEN '现场核查发现问题' ELSE '' END,
       CASE WHEN (c.id / 100) % 10 IN (4, 5) THEN n.number ELSE '' END,
       'issuer:bench', c.issuing_region, '', '{}'::jsonb, c.issued_at + interval '2 days'
FROM certificates c JOIN certificates n ON n.id = c.id + 1
WHERE c.id % 100 = 7
UNION ALL
SELECT c.id, 'REINSTATED', c.issued_at + interval '5 days', '整改完成', '', 'issuer:bench',
       c.issuing_region, '', '{}'::jsonb, c.issued_at + interval '5 days'
FROM certificates c WHERE c.id % 100 = 7 AND (c.id / 100) % 10 = 8
"""
                )
            )
            conn.execute(
                text(
                    "INSERT INTO claimed_numbers (number, claimed_at) "
                    "SELECT number, created_at FROM certificates"
                )
            )
            conn.execute(
                text(
                    """
INSERT INTO number_counters (region, year, last)
SELECT issuing_region, year, max(serial) FROM certificates GROUP BY issuing_region, year
ON CONFLICT (region, year) DO UPDATE SET last = GREATEST(number_counters.last, EXCLUDED.last)
"""
                )
            )
            log(f"  events, claimed numbers, counters: {time.perf_counter() - start:.0f} s")
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
            total = conn.execute(text("SELECT count(*) FROM certificates")).scalar_one()
            with_events = conn.execute(
                text("SELECT count(DISTINCT certificate_id) FROM status_events")
            ).scalar_one()
            rng = random.Random(7)
            ids = rng.sample(range(1, total + 1), 4000)
            numbers = list(
                conn.execute(
                    text("SELECT number FROM certificates WHERE id = ANY(:ids)"), {"ids": ids}
                ).scalars()
            )
            event_numbers = list(
                conn.execute(
                    text(
                        "SELECT c.number FROM certificates c WHERE c.id IN "
                        "(SELECT certificate_id FROM status_events) ORDER BY c.id LIMIT 400"
                    )
                ).scalars()
            )
    finally:
        engine.dispose()
    rng.shuffle(numbers)
    return Seeded(total, with_events, time.perf_counter() - start, numbers, event_numbers)


# --------------------------------------------------------------------------- phases


def percentiles(samples_ms: Sequence[float]) -> tuple[float, float, float, float]:
    ordered = sorted(samples_ms)

    def pick(q: float) -> float:
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]

    return pick(0.50), pick(0.95), pick(0.99), ordered[-1]


def lookup_in_process(
    database_url: str, numbers: Sequence[str], now: datetime, *, direct: bool
) -> tuple[float, float, float, float]:
    """The registry status look-up in process, timed per look-up.

    ``direct``: as online verification does it on PostgreSQL
    (``Registry.direct_status()``: one prepared statement on the driver, autocommit);
    otherwise ``RegistryStatusSource`` in a read-only unit of work (``Registry.read``).
    """
    from quarantine.storage.db import make_engine, session_factory
    from quarantine.storage.events import RegistryStatusSource
    from quarantine.web.registry import Registry

    engine = make_engine(database_url)
    registry = Registry(engine, session_factory(engine))
    source = registry.direct_status() if direct else None

    def lookup(number: str) -> bool:
        if source is not None:
            return source.lookup(number, now).known
        return registry.read(lambda s: RegistryStatusSource(s).lookup(number, now)).known

    try:
        for number in numbers[:200]:  # warm the pool and the caches
            lookup(number)
        times = []
        for number in numbers:
            t0 = time.perf_counter()
            known = lookup(number)
            times.append((time.perf_counter() - t0) * 1000)
            assert known, number
    finally:
        registry.close()
    return percentiles(times)


def make_photo(qr_text: str) -> bytes:
    """A 4000×3000 JPEG (quality 90) of a printed certificate QR: uneven light, tilt, noise."""
    import cv2
    import numpy as np
    from PIL import Image

    from quarantine.render.qr import qr_image

    rng = np.random.default_rng(12)
    h, w = 3000, 4000
    low = cv2.resize(rng.normal(0, 1, (30, 40)), (w, h), interpolation=cv2.INTER_CUBIC)
    yy, xx = np.mgrid[0:h, 0:w]
    frame = 150 + 40 * (xx / w) - 30 * (yy / h) + 10 * low
    frame += cv2.GaussianBlur(rng.normal(0, 18, (h, w)), (0, 0), 1.5)
    symbol = np.asarray(qr_image(qr_text, module_px=12).convert("L"), dtype=np.float64)
    symbol = 25 + symbol * (215 / 255)
    sh, sw = symbol.shape
    x, y, tilt = 1400, 800, 0.06
    src = np.array([[0, 0], [sw, 0], [sw, sh], [0, sh]], dtype=np.float32)
    d = tilt * sw
    dst = np.array(
        [[x, y], [x + sw, y + d], [x + sw - d, y + sh], [x + d / 2, y + sh - d]], dtype=np.float32
    )
    warped = cv2.warpPerspective(
        symbol.astype(np.float32), cv2.getPerspectiveTransform(src, dst), (w, h), borderValue=-1
    )
    mask = warped >= 0
    frame[mask] = 0.85 * warped[mask] + 0.15 * frame[mask]
    frame = cv2.GaussianBlur(frame, (0, 0), 1.0) + rng.normal(0, 6, frame.shape)
    gray = np.clip(frame, 0, 255).astype(np.uint8)
    rgb = np.dstack([gray, np.clip(gray.astype(np.int16) + 6, 0, 255).astype(np.uint8), gray])
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=90)
    return buf.getvalue()


# --------------------------------------------------------------------------- the run


@dataclass
class Figures:
    lines: list[str] = field(default_factory=list)
    verdicts: list[str] = field(default_factory=list)

    def add(self, line: str = "") -> None:
        self.lines.append(line)
        print(line, flush=True)


def machine() -> str:
    cpu = platform.processor()
    with suppress(OSError, StopIteration):
        cpu = next(
            ln.split(":", 1)[1].strip()
            for ln in Path("/proc/cpuinfo").read_text().splitlines()
            if ln.startswith("model name")
        )
    return (
        f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.platform()}"
    )


def pg_settings(admin: Engine) -> str:
    from sqlalchemy import text

    with admin.connect() as conn:
        version = conn.execute(text("SHOW server_version")).scalar_one()
        shown = {
            name: conn.execute(text(f"SHOW {name}")).scalar_one()
            for name in ("shared_buffers", "synchronous_commit", "max_connections")
        }
    return f"PostgreSQL {version} ({', '.join(f'{k}={v}' for k, v in shown.items())})"


def wrk_row(name: str, r: WrkResult, cpu: str = "") -> str:
    return (
        f"| {name} | {r.rps:,.0f} | {r.p50_ms:.1f} | {r.p95_ms:.1f} | {r.p99_ms:.1f} | "
        f"{r.status_errors + r.socket_errors} | {cpu} |"
    )


WRK_HEADER: Final = (
    "| run | requests/s | p50 ms | p95 ms | p99 ms | errors (non-2xx + socket) "
    "| CPU ms per response: server / PostgreSQL |\n"
    "|---|---:|---:|---:|---:|---:|---:|"
)


def _cpu_seconds(match: Callable[[int, str], bool]) -> float:
    """User + system CPU seconds of the processes ``match(pid, cmdline)`` accepts."""
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            stat = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError, UnicodeDecodeError):
            continue
        if match(int(entry), cmdline):
            total += int(stat[11]) + int(stat[12])
    return total / os.sysconf("SC_CLK_TCK")


@dataclass
class CpuMeter:
    """CPU time of a server (its process group) and of PostgreSQL's backends of one database."""

    server: Server
    database: str

    def sample(self) -> tuple[float, float]:
        assert self.server.proc is not None
        group = self.server.proc.pid

        def in_group(pid: int, _: str) -> bool:
            try:
                return os.getpgid(pid) == group
            except OSError:
                return False

        return (
            _cpu_seconds(in_group),
            _cpu_seconds(
                lambda _, cmd: cmd.startswith("postgres:") and f" {self.database} " in cmd
            ),
        )


def measured(meter: CpuMeter, run: Callable[[], WrkResult]) -> tuple[WrkResult, str]:
    """``run()`` and the CPU ms per response it cost the server and PostgreSQL ("a / b")."""
    before = meter.sample()
    result = run()
    after = meter.sample()
    n = max(result.requests, 1)
    return result, (
        f"{(after[0] - before[0]) / n * 1000:.2f} / {(after[1] - before[1]) / n * 1000:.2f}"
    )


def cpu_total(cpu: str) -> float:
    """Server + PostgreSQL CPU ms per response from :func:`measured`'s text."""
    return sum(max(float(x), 0.0) for x in cpu.split(" / "))


@contextmanager
def running(server: Server) -> Iterator[Server]:
    try:
        server.start(timeout=90)
        yield server
    finally:
        server.stop()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=2, help="uvicorn workers (both servers)")
    parser.add_argument("--certificates", type=int, default=1_000_000)
    parser.add_argument("--connections", type=int, default=32, help="wrk connections")
    parser.add_argument("--seconds", type=int, default=10, help="wrk duration per round")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved throughput rounds")
    parser.add_argument("--lookups", type=int, default=4000)
    parser.add_argument("--issue-seconds", type=int, default=30)
    parser.add_argument("--issue-connections", type=int, default=16)
    parser.add_argument("--image-runs", type=int, default=30)
    parser.add_argument("--write", action="store_true", help=f"write {RESULTS.name}")
    args = parser.parse_args(argv)

    import signal

    from tests.load import harness

    # SIGTERM unwinds like Ctrl-C: servers stopped, database dropped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    cmd = "python bench/bench_api.py" + "".join(
        f" {shlex.quote(a)}" for a in (argv if argv is not None else sys.argv[1:])
    )
    admin, why = harness.pg_admin_engine()
    if admin is None:
        print(why, file=sys.stderr)
        return 2
    out = Figures()
    now = datetime.now(UTC)
    with ExitStack() as stack:
        stack.callback(admin.dispose)
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-api-")))
        url = stack.enter_context(harness.temp_database(admin, "quarantine_bench"))
        env = harness.server_env(url, work)
        harness.migrate(env)
        print(f"seeding {args.certificates:,} certificates …", file=sys.stderr)
        seeded = seed(url, args.certificates, now, lambda s: print(s, file=sys.stderr))
        inspector = harness.create_token(url, "inspector", "310000")
        issuers = {
            p: harness.create_token(url, "issuer", p) for p in ("310000", "330000", "340000")
        }

        out.add(f"machine: {machine()}")
        out.add(f"database: {pg_settings(admin)}, on the same machine")
        out.add(f"date: {datetime.now(UTC).isoformat(timespec='seconds')}")
        out.add(
            "load average before the run (1, 5, 15 min): "
            + ", ".join(f"{x:.2f}" for x in os.getloadavg())
        )
        out.add(f"command: {cmd}")
        out.add(
            f"servers: `quarantine.web.asgi:build` and the bare app (`bench/api/bare_app.py`), "
            f"each under uvicorn with {args.workers} workers through `bench/api/serve_tcp.py` "
            "(uvicorn's multi-worker socket with TCP_NODELAY); load generator wrk, 1 thread, "
            "on the same machine"
        )
        out.add(
            f"registry: {seeded.certificates:,} certificates, {seeded.with_events:,} with status "
            f"events, seeded in {seeded.seconds:.0f} s"
        )
        out.add()

        launcher = [sys.executable, str(REPO / "bench" / "api" / "serve_tcp.py")]
        workers = ["--workers", str(args.workers)]
        bare_port, api_port = harness.free_port(), harness.free_port()
        bare = harness.Server(
            env,
            work / "bare.log",
            port=bare_port,
            argv=[
                *launcher,
                "bare_app:build",
                "--app-dir",
                str(REPO / "bench" / "api"),
                "--port",
                str(bare_port),
                *workers,
            ],
        )
        api = harness.Server(
            env,
            work / "api.log",
            port=api_port,
            argv=[*launcher, "quarantine.web.asgi:build", "--port", str(api_port), *workers],
        )
        shipped = harness.Server(env, work / "shipped.log", workers=args.workers)
        stack.enter_context(running(api))
        stack.enter_context(running(bare))
        from sqlalchemy import make_url

        database = make_url(url).database or ""
        ok = phases(args, out, api, bare, shipped, url, database, seeded, inspector, issuers, now)
        if not ok:
            print(api.log_tail(), file=sys.stderr)

    if args.write:
        analysis = ""
        if RESULTS.exists():
            old = RESULTS.read_text("utf-8")
            if MARKER in old:
                analysis = old[old.index(MARKER) :]
        head = (
            "# API benchmark results\n\n"
            "The HTTP service over PostgreSQL on loopback, loaded by wrk in the same run, "
            "against a bare FastAPI JSON endpoint served the same way. Reproduce: "
            "`.venv/bin/python bench/bench_api.py --write` (needs `wrk` and a PostgreSQL "
            "server; `QUARANTINE_TEST_POSTGRES_URL`).\n\n```\n"
        )
        body = "\n".join(out.lines) + "\n```\n\n"
        RESULTS.write_text(head + body + (analysis or MARKER + "\n"), encoding="utf-8")
    return 0


def phases(
    args: argparse.Namespace,
    out: Figures,
    api: Server,
    bare: Server,
    shipped: Server,
    url: str,
    database: str,
    seeded: Seeded,
    inspector: str,
    issuers: dict[str, str],
    now: datetime,
) -> bool:
    import httpx2

    from tests.load import harness

    auth_inspector = {"Authorization": f"Bearer {inspector}"}
    with httpx2.Client(base_url=api.base, timeout=60) as client:
        # Real certificates to verify: issued through the API.
        samples = []
        for name in harness.ISSUABLE:
            doc = harness.fresh_document(name)
            province = harness.province(doc["issuing_agency"]["region"])
            response = client.post(
                "/api/v1/certificates",
                json=doc,
                headers={"Authorization": f"Bearer {issuers[province]}"},
            )
            if response.status_code != 201:
                raise RuntimeError(f"issue failed: {response.status_code} {response.text[:500]}")
            samples.append(response.json())
        qr_text = samples[0]["qr_text"]
        check = client.post("/api/v1/verify", json={"text": qr_text}).json()
        assert check["verdict"] == "VALID", check

    # 1. throughput ------------------------------------------------------------------------
    body_script = post_json_script({"text": qr_text})

    def load(server: Server) -> WrkResult:
        return wrk(
            server.base + "/api/v1/verify",
            body_script,
            connections=args.connections,
            seconds=args.seconds,
        )

    # Warm-up, unmeasured: every worker is up and listening before the measured rounds
    # (a server answers /readyz as soon as its first worker does; connections made
    # before the others listen would all stay on that one).
    for server in (bare, api):
        wrk(server.base + "/api/v1/verify", body_script, connections=args.connections, seconds=3)
    bare_runs, api_runs = [], []
    for _ in range(args.rounds):
        bare_runs.append(measured(CpuMeter(bare, database), lambda: load(bare)))
        api_runs.append(measured(CpuMeter(api, database), lambda: load(api)))
    with running(shipped):
        wrk(shipped.base + "/api/v1/verify", body_script, connections=args.connections, seconds=3)
        as_shipped = measured(CpuMeter(shipped, database), lambda: load(shipped))
    out.add(
        f"## verify-by-text throughput (wrk -t1 -c{args.connections} -d{args.seconds}s, "
        f"{args.rounds} interleaved rounds, same body)"
    )
    out.add(WRK_HEADER)
    for i, (b, a) in enumerate(zip(bare_runs, api_runs, strict=True), 1):
        out.add(wrk_row(f"bare FastAPI endpoint, round {i}", *b))
        out.add(wrk_row(f"POST /api/v1/verify (VALID, registry status), round {i}", *a))
    out.add(wrk_row("POST /api/v1/verify, `quarantine serve --workers 2`", *as_shipped))
    bare_rps = statistics.median(r.rps for r, _ in bare_runs)
    api_rps = statistics.median(r.rps for r, _ in api_runs)
    ratios = [a.rps / b.rps for (b, _), (a, _) in zip(bare_runs, api_runs, strict=True)]
    ratio = api_rps / bare_rps
    out.add(
        f"median: verify {api_rps:,.0f} req/s = {ratio:.0%} of bare {bare_rps:,.0f} req/s "
        f"(per round: {', '.join(f'{r:.0%}' for r in ratios)})"
    )
    bare_cpu = statistics.median(cpu_total(c) for _, c in bare_runs)
    api_cpu = statistics.median(cpu_total(c) for _, c in api_runs)
    out.add(
        f"CPU per response (server + PostgreSQL, medians): bare {bare_cpu:.2f} ms, verify "
        f"{api_cpu:.2f} ms: bare / verify = {bare_cpu / api_cpu:.0%} (the throughput ratio "
        "where CPU is the only limit)"
    )
    out.verdicts.append(
        f"verify-by-text ≥ 50% of bare: {ratio:.0%} — {'met' if ratio >= 0.5 else 'MISSED'}"
    )
    out.add()

    # 2. status look-up ----------------------------------------------------------------------
    numbers = seeded.numbers[: args.lookups]
    mixed = (
        numbers[: len(numbers) - len(numbers) // 10] + seeded.event_numbers[: len(numbers) // 10]
    )
    p50, p95, p99, worst = lookup_in_process(url, mixed, now, direct=True)
    out.add(
        f"## status look-up, {seeded.certificates:,} certificates ({len(mixed):,} random "
        "numbers, 10% of them with events)"
    )
    out.add("| how | p50 ms | p95 ms | p99 ms | max ms |")
    out.add("|---|---:|---:|---:|---:|")
    out.add(
        "| `Registry.direct_status().lookup`, as online verification does (in process) | "
        f"{p50:.2f} | {p95:.2f} | {p99:.2f} | {worst:.2f} |"
    )
    q50, q95, q99, qmax = lookup_in_process(url, mixed, now, direct=False)
    out.add(
        "| `RegistryStatusSource.lookup` in `Registry.read` (session, in process) | "
        f"{q50:.2f} | {q95:.2f} | {q99:.2f} | {qmax:.2f} |"
    )
    get_reqs = [("GET", f"/api/v1/certificates/{n}", auth_inspector, "") for n in mixed[:2000]]
    http_runs: dict[str, tuple[WrkResult, str]] = {}
    for label, c in (("c1", 1), ("c1 again", 1), ("c8", 8)):
        http_runs[label] = measured(
            CpuMeter(api, database),
            lambda c=c: wrk(  # type: ignore[misc]
                api.base, rotating_requests_script(get_reqs), connections=c, seconds=args.seconds
            ),
        )
    for label, (r, cpu) in http_runs.items():
        out.add(
            f"| `GET /api/v1/certificates/{{number}}` (wrk -{label.replace(' again', '')}, "
            f"{r.rps:,.0f} req/s, {r.status_errors + r.socket_errors} errors, CPU ms per "
            f"response server / PostgreSQL {cpu}) | {r.p50_ms:.2f} | {r.p95_ms:.2f} | "
            f"{r.p99_ms:.2f} | {r.max_ms:.2f} |"
        )
    http_p99 = min(http_runs["c1"][0].p99_ms, http_runs["c1 again"][0].p99_ms)
    out.verdicts.append(
        f"status look-up p99 ≤ 5 ms: in process {p99:.2f} ms, HTTP (c=1, better of two runs) "
        f"{http_p99:.2f} ms — {'met' if max(p99, http_p99) <= 5 else 'MISSED'}"
    )
    out.add()

    # 3. issuance ----------------------------------------------------------------------------
    from sqlalchemy import text

    from quarantine.storage.db import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            before = conn.execute(text("SELECT count(*) FROM certificates")).scalar_one()
        issue_reqs = []
        for name in harness.ISSUABLE:
            doc = harness.fresh_document(name)
            province = harness.province(doc["issuing_agency"]["region"])
            issue_reqs.append(
                (
                    "POST",
                    "/api/v1/certificates",
                    {
                        "Content-Type": "application/json",
                        "Authorization": f"Bearer {issuers[province]}",
                    },
                    json.dumps(doc, ensure_ascii=False),
                )
            )
        r, cpu = measured(
            CpuMeter(api, database),
            lambda: wrk(
                api.base,
                rotating_requests_script(issue_reqs),
                connections=args.issue_connections,
                seconds=args.issue_seconds,
            ),
        )
        with engine.connect() as conn:
            after = conn.execute(text("SELECT count(*) FROM certificates")).scalar_one()
    finally:
        engine.dispose()
    stored = after - before
    rate = stored / r.seconds
    out.add(
        f"## issuance (wrk -t1 -c{args.issue_connections} -d{args.issue_seconds}s, "
        f"POST /api/v1/certificates, {len(issue_reqs)} documents of 3 provinces in rotation)"
    )
    out.add(WRK_HEADER)
    out.add(wrk_row("POST /api/v1/certificates", r, cpu))
    out.add(
        f"rows stored in PostgreSQL: {stored:,} in {r.seconds:.1f} s = {rate:,.0f} certificates/s "
        f"(wrk counted {r.requests:,} responses)"
    )
    out.verdicts.append(
        f"issuance ≥ 200/s sustained: {rate:,.0f}/s — {'met' if rate >= 200 else 'MISSED'}"
    )
    out.add()

    # 4. image ---------------------------------------------------------------------------------
    photo = make_photo(samples[1]["qr_text"])
    times = []
    with httpx2.Client(base_url=api.base, timeout=60) as client:
        for i in range(args.image_runs + 2):
            t0 = time.perf_counter()
            response = client.post(
                "/api/v1/verify/image", files={"image": ("photo.jpg", photo, "image/jpeg")}
            )
            elapsed = (time.perf_counter() - t0) * 1000
            body = response.json()
            if response.status_code != 200 or [c["verdict"] for c in body["codes"]] != ["VALID"]:
                raise RuntimeError(f"image verify: {response.status_code} {str(body)[:500]}")
            if i >= 2:  # two warm-up requests
                times.append(elapsed)
    p50, p95, p99, worst = percentiles(times)
    out.add(
        f"## image verification (12 MP JPEG, {len(photo) / 1e6:.1f} MB, one code; "
        f"{len(times)} uploads one at a time, client-side time)"
    )
    out.add("| p50 ms | p95 ms | max ms |")
    out.add("|---:|---:|---:|")
    out.add(f"| {p50:.0f} | {p95:.0f} | {worst:.0f} |")
    out.verdicts.append(
        f"image verification p95 ≤ 250 ms: {p95:.0f} ms — {'met' if p95 <= 250 else 'MISSED'}"
    )
    out.add()
    out.add(
        "load average after the run (1, 5, 15 min): "
        + ", ".join(f"{x:.2f}" for x in os.getloadavg())
    )
    out.add()
    out.add("## targets")
    for v in out.verdicts:
        out.add(f"- {v}")
    return all("MISSED" not in v for v in out.verdicts)


if __name__ == "__main__":
    sys.exit(main())
