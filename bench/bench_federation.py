"""Federation benchmark: replication latency between four nodes, recognition query latency.

    .venv/bin/python bench/bench_federation.py [--rate 100] [--seconds 30] [--records 1000000] [--write]

1. Replication: four ``quarantine serve`` processes on loopback (each its own PostgreSQL
   database when a server answers, else SQLite; ``--sqlite`` forces SQLite;
   pull interval 1 s), producing-area passes issued at Jiangsu's node at ``--rate``
   per second for ``--seconds`` (paced, several client threads).  For each record and
   each other node the latency is the time from the issue response to the moment the
   other node accepted the entry (``shared_records.received_at``, same machine clock):
   p50/p95/max over all records × 3 nodes.
2. Recognition query: a fresh PostgreSQL database on ``QUARANTINE_TEST_POSTGRES_URL``
   seeded with ``--records`` shared records (1,000 distinct signed QR texts reused,
   status events for 2%, ``generate_series``) and ``ANALYZE``d; then 10,000 random
   ``check_recognition`` calls in a read-only session each (what the route does), and
   2,000 ``GET /api/v1/recognition/{number}`` through HTTP on one keep-alive connection.

``--write`` writes ``bench/RESULTS-federation.md``.  Servers and the database are removed
even when the run fails.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, suppress
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

REPO: Final = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # the harness is shared with tests/load
    sys.path.insert(0, str(REPO))

RESULTS: Final = REPO / "bench" / "RESULTS-federation.md"
REGIONS: Final = ("310000", "320000", "330000", "340000")


def _epoch(at: Any) -> float:
    """A stored UTC instant (SQLite gives text, naive) as Unix seconds."""
    value = datetime.fromisoformat(at) if isinstance(at, str) else at
    return float((value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp())


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


# --------------------------------------------------------------------------- replication


def replication(
    rate: float, seconds: float, work: Path, sqlite: bool, issuer_workers: int
) -> dict[str, Any]:
    import httpx2

    from tests.federation.documents import document
    from tests.load import harness

    ports = {r: harness.free_port() for r in REGIONS}
    with ExitStack() as stack:
        admin, _ = (None, "") if sqlite else harness.pg_admin_engine()
        if admin is not None:
            stack.callback(admin.dispose)
        nodes: dict[str, dict[str, Any]] = {}
        for region in REGIONS:
            folder = work / region
            folder.mkdir(parents=True)
            if admin is not None and not sqlite:
                url = stack.enter_context(harness.temp_database(admin, "quarantine_bench_rep"))
            else:
                url = f"sqlite:///{folder / 'registry.sqlite3'}"
            peers = ",".join(f"{r}=http://127.0.0.1:{p}" for r, p in ports.items() if r != region)
            env = harness.server_env(
                url,
                folder,
                QUARANTINE_REGION=region,
                QUARANTINE_PEERS=peers,
                QUARANTINE_PULL_INTERVAL_SECONDS="1",
            )
            harness.migrate(env)
            workers = issuer_workers if region == "320000" else 1
            server = harness.Server(env, folder / "server.log", port=ports[region], workers=workers)
            server.argv = [*server.command(), "--no-access-log"]
            server.start()
            stack.callback(server.stop)
            nodes[region] = {"url": url, "server": server}
        issuer = harness.create_token(nodes["320000"]["url"], "issuer", "320000")
        base = nodes["320000"]["server"].base
        total = int(rate * seconds)
        issued: dict[str, float] = {}
        errors = 0
        lock = threading.Lock()
        local = threading.local()
        doc = document("producing-area.json", "320000")

        def one(i: int, start: float) -> None:
            nonlocal errors
            delay = start + i / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            client = getattr(local, "client", None)
            if client is None:
                client = local.client = httpx2.Client(timeout=60, trust_env=False)
            try:
                r = client.post(
                    base + "/api/v1/certificates",
                    json=doc,
                    headers={"Authorization": f"Bearer {issuer}"},
                )
            except httpx2.HTTPError:
                with lock:
                    errors += 1
                return
            done = time.time()
            with lock:
                if r.status_code == 201:
                    issued[r.json()["number"]] = done
                else:
                    errors += 1

        start = time.monotonic()
        with ThreadPoolExecutor(max_workers=16) as pool:
            for f in [pool.submit(one, i, start) for i in range(total)]:
                f.result()
        http_row = _measure(nodes, issued, rate, time.monotonic() - start, errors, "HTTP")
        made, took, failed = _direct(nodes["320000"], rate, seconds)
        direct_row = _measure(nodes, made, rate, took, failed, "feed (direct)")
    return {
        "backend": "SQLite" if admin is None else "PostgreSQL",
        "workers": issuer_workers,
        "rows": [http_row, direct_row],
    }


def _direct(
    node: dict[str, Any], rate: float, seconds: float
) -> tuple[dict[str, float], float, int]:
    """Certificates appended to the node's feed in-process at ``rate`` (each in its own
    transaction, as the issuing hook does): commit time per number."""
    from dataclasses import replace

    from quarantine import keystore, trustfile
    from quarantine.core.document import from_document
    from quarantine.core.feed import EntryKind
    from quarantine.core.model import CertificateNumber
    from quarantine.core.signing import sign_certificate
    from quarantine.federation.publish import FeedPublisher, append, attach
    from quarantine.storage import db
    from tests.federation.documents import document

    keys = Path(node["server"].env["QUARANTINE_KEYS_DIR"])
    now = datetime.now(UTC)
    signer = keystore.load_signer(keystore.signing_key_for(keys, "320000", now), None)
    trust = trustfile.load(None, None)
    publisher = FeedPublisher("320000", lambda _r, _at: signer, trust)
    base = from_document(
        {**document("producing-area.json", "320000"), "number": "320583-2026-000001"}
    )
    engine = db.make_engine(node["url"])
    sessions = db.session_factory(engine)
    attach(sessions, publisher)
    done: dict[str, float] = {}
    errors = 0
    lock = threading.Lock()
    total = int(rate * seconds)

    def one(i: int, start: float) -> None:
        nonlocal errors
        delay = start + i / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        number = CertificateNumber("320583", base.number.year, 500_001 + i)
        cert = replace(base, number=number, salt=os.urandom(16))
        qr = sign_certificate(cert, signer, base_url="http://127.0.0.1:8000").text
        try:
            with sessions.begin() as session:
                append(session, publisher, EntryKind.CERTIFICATE, {"qr": qr}, datetime.now(UTC))
        except Exception:
            with lock:
                errors += 1
            return
        with lock:
            done[str(number)] = time.time()

    start = time.monotonic()
    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            for f in [pool.submit(one, i, start) for i in range(total)]:
                f.result()
    finally:
        engine.dispose()
    return done, time.monotonic() - start, errors


def _measure(
    nodes: dict[str, dict[str, Any]],
    issued: dict[str, float],
    rate: float,
    elapsed: float,
    errors: int,
    how: str,
) -> dict[str, Any]:
    """Wait (≤ 60 s) until every other node holds every record; the latency figures."""
    from sqlalchemy import text

    from quarantine.storage import db

    deadline = time.monotonic() + 60
    received: dict[str, dict[str, float]] = {}
    while time.monotonic() < deadline:
        complete = True
        for region in ("310000", "330000", "340000"):
            engine = db.make_engine(nodes[region]["url"])
            try:
                with engine.connect() as conn:
                    rows = conn.execute(
                        text(
                            "SELECT number, received_at FROM shared_records WHERE origin = '320000'"
                        )
                    ).all()
            finally:
                engine.dispose()
            got = {n: _epoch(at) for n, at in rows}
            received[region] = got
            complete = complete and all(n in got for n in issued)
        if complete:
            break
        time.sleep(1)
    latencies = [
        received[region][n] - t
        for region in received
        for n, t in issued.items()
        if n in received[region]
    ]
    return {
        "how": how,
        "asked_rate": rate,
        "achieved_rate": len(issued) / elapsed if elapsed else 0.0,
        "issued": len(issued),
        "errors": errors,
        "missing": sum(1 for r in received for n in issued if n not in received[r]),
        "p50": pct(latencies, 50),
        "p95": pct(latencies, 95),
        "max": max(latencies) if latencies else float("nan"),
    }


# --------------------------------------------------------------------------- recognition


def seed(url: str, records: int) -> list[str]:
    from sqlalchemy import text

    from quarantine import keystore
    from quarantine.core.document import from_document
    from quarantine.core.model import CertificateNumber
    from quarantine.core.signing import sign_certificate
    from quarantine.storage import db
    from tests.federation.documents import document

    now = datetime.now(UTC)
    info = keystore.signing_key_for(REPO / "keys" / "demo", "320000", now)
    signer = keystore.load_signer(info, None)
    base = from_document(
        {**document("producing-area.json", "320000"), "number": "320506-2026-000001"}
    )
    from dataclasses import replace

    qrs = [
        sign_certificate(
            replace(base, number=CertificateNumber("320506", 2026, i + 1), salt=os.urandom(16)),
            signer,
            base_url="http://127.0.0.1:8000",
        ).text
        for i in range(1000)
    ]
    per_year = 100_000
    engine = db.make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TEMP TABLE qrs (i int PRIMARY KEY, qr text)"))
            conn.execute(
                text("INSERT INTO qrs VALUES (:i, :qr)"),
                [{"i": i, "qr": q} for i, q in enumerate(qrs)],
            )
            conn.execute(
                text(
                    """
                    INSERT INTO shared_records
                    SELECT format('320506-%s-%s', 2000 + g / :per, lpad((g % :per + 1)::text, 6, '0')),
                           '320000', g + 1, 'PRODUCING_AREA', '320506',
                           now() - interval '1 day', current_date - 1, current_date + 200,
                           '', '香樟、桂花', '', '', '', '苗圃' || (g % 5000), '', 'kid',
                           q.qr, now()
                    FROM generate_series(0, :n - 1) AS g JOIN qrs q ON q.i = g % 1000
                    """
                ),
                {"n": records, "per": per_year},
            )
            conn.execute(
                text(
                    """
                    INSERT INTO shared_events (number, origin, seq, type, at, reason, superseded_by, detail)
                    SELECT number, origin, seq + 10000000, 'REVOKED', now() - interval '1 hour', '', '', '{}'
                    FROM shared_records WHERE seq % 50 = 0
                    """
                )
            )
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE shared_records"))
            conn.execute(text("ANALYZE shared_events"))
            numbers = [
                r[0]
                for r in conn.execute(
                    text("SELECT number FROM shared_records TABLESAMPLE SYSTEM (2) LIMIT 20000")
                )
            ]
    finally:
        engine.dispose()
    return numbers


def _explain(url: str, number: str) -> float:
    """PostgreSQL's own execution time (ms) of the record look-up, without round trips."""
    from sqlalchemy import text

    from quarantine.storage import db

    engine = db.make_engine(url)
    try:
        with engine.connect() as conn:
            plan = conn.execute(
                text(
                    "EXPLAIN (ANALYZE, FORMAT JSON) SELECT r.*, (SELECT last_success_at FROM "
                    "peer_state p WHERE p.region = r.origin) FROM shared_records r "
                    "WHERE r.number = :n"
                ),
                {"n": number},
            ).scalar_one()
    finally:
        engine.dispose()
    return float(plan[0]["Execution Time"])


def recognition(records: int, work: Path) -> dict[str, Any]:
    import httpx2

    from quarantine import trustfile
    from quarantine.federation import service
    from quarantine.federation.config import load_agreement
    from quarantine.settings import Settings
    from quarantine.storage import db
    from tests.load import harness

    admin, why = harness.pg_admin_engine()
    if admin is None:
        return {"skipped": why}
    with ExitStack() as stack:
        stack.callback(admin.dispose)
        url = stack.enter_context(harness.temp_database(admin, "quarantine_bench_fed"))
        env = harness.server_env(
            url,
            work / "pg",
            QUARANTINE_REGION="310000",
            QUARANTINE_PEERS="320000=http://127.0.0.1:9",
        )
        harness.migrate(env)
        t0 = time.monotonic()
        numbers = seed(url, records)
        seed_s = time.monotonic() - t0
        trust = trustfile.load(None, None)
        agreement = load_agreement(Settings())
        engine = db.make_engine(url)
        reading = db.session_factory(engine.execution_options(isolation_level="AUTOCOMMIT"))
        rng = random.Random(7)
        now = datetime.now(UTC)
        times: list[float] = []
        verdicts = {True: 0, False: 0}
        try:
            for _ in range(10_000):
                number = rng.choice(numbers)
                t = time.perf_counter()
                with reading() as session:
                    result = service.check_recognition(
                        session,
                        number,
                        "310000",
                        at=now,
                        trust=trust,
                        agreement=agreement,
                        skew=timedelta(minutes=5),
                        own_region="310000",
                        stale_after=timedelta(minutes=15),
                        now=now,
                    )
                times.append((time.perf_counter() - t) * 1000)
                verdicts[result.recognised] += 1
        finally:
            engine.dispose()
        explain = _explain(url, rng.choice(numbers))
        server = harness.Server(env, work / "pg" / "server.log")
        server.argv = [*server.command(), "--no-access-log"]
        server.start()
        stack.callback(server.stop)
        http_times: list[float] = []
        with httpx2.Client(base_url=server.base, timeout=30, trust_env=False) as client:
            for _ in range(2000):
                number = rng.choice(numbers)
                t = time.perf_counter()
                r = client.get(f"/api/v1/recognition/{number}", params={"region": "310000"})
                http_times.append((time.perf_counter() - t) * 1000)
                assert r.status_code == 200, r.text
    return {
        "records": records,
        "seed_seconds": seed_s,
        "service_p50": pct(times, 50),
        "service_p99": pct(times, 99),
        "http_p50": pct(http_times, 50),
        "http_p99": pct(http_times, 99),
        "explain_ms": explain,
        "recognised": verdicts[True],
        "not_recognised": verdicts[False],
    }


# --------------------------------------------------------------------------- report


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    pg = "?"
    with suppress(OSError):
        pg = subprocess.run(
            ["psql", "--version"], capture_output=True, text=True, check=False
        ).stdout.strip()
    return f"{cpu}, {os.cpu_count()} CPUs, Python {platform.python_version()}, {pg}"


def report(args: argparse.Namespace, rep: dict[str, Any], rec: dict[str, Any]) -> str:
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Federation benchmark",
        "",
        f"- date: {when}",
        f"- machine: {machine()} (shared with other jobs while measuring)",
        f"- load average (1 min) at start / end: {args.load_start:.1f} / {os.getloadavg()[0]:.1f}",
        f"- command: `.venv/bin/python bench/bench_federation.py --rate {args.rate:g} "
        f"--seconds {args.seconds:g} --records {args.records} --workers {args.workers}"
        f"{' --sqlite' if args.sqlite else ''}{' --write' if args.write else ''}`",
        "",
        f"## Replication (four nodes, {rep.get('backend', '-')}, pull interval 1 s; "
        f"{rep.get('workers', 1)} workers at the issuing node, 1 at the others)",
        "",
        "Producing-area passes issued over HTTP at Jiangsu's node; latency = issue response →",
        "accepted into each other node's shared records view (3 nodes × every record).",
        "",
        "| records made by | asked /s | achieved /s | records | errors | missing | p50 s | p95 s "
        "| max s | target p95 |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
        *(
            f"| {r['how']} | {r['asked_rate']:g} | {r['achieved_rate']:.1f} | {r['issued']} "
            f"| {r['errors']} | {r['missing']} | {r['p50']:.2f} | {r['p95']:.2f} | {r['max']:.2f} "
            "| ≤ 5 s |"
            for r in rep.get("rows", [])
        ),
        "",
        "HTTP: `POST /api/v1/certificates` at the issuing node (16 client threads, paced);",
        "latency from the issue response. feed (direct): certificates signed and appended to",
        "the issuing node's feed in-process, one transaction each as the issuing hook does",
        "(8 threads, paced), so the rate does not depend on the issuing API's throughput;",
        "latency from the commit.",
        "",
        "## Recognition query (PostgreSQL)",
        "",
    ]
    if "skipped" in rec:
        lines.append(f"Skipped: {rec['skipped']}")
    else:
        lines += [
            f"{rec['records']:,} shared records (seeded in {rec['seed_seconds']:.0f} s), 2% revoked.",
            "",
            "| path | calls | p50 ms | p99 ms | target p99 |",
            "|---|---:|---:|---:|---|",
            f"| `check_recognition` in a read-only session | 10,000 | {rec['service_p50']:.2f} "
            f"| {rec['service_p99']:.2f} | ≤ 10 ms |",
            f"| `GET /api/v1/recognition/{{number}}`, one keep-alive client | 2,000 "
            f"| {rec['http_p50']:.2f} | {rec['http_p99']:.2f} | |",
            "",
            f"Verdicts: {rec['recognised']} recognised, {rec['not_recognised']} not (revoked). "
            f"PostgreSQL's own execution time of the record look-up (EXPLAIN ANALYZE): "
            f"{rec['explain_ms']:.3f} ms; the rest is round trips (four per question: the record "
            "with its origin's last pull, its events, operators' bars, violation bars) and Python.",
        ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else "")
    parser.add_argument("--rate", type=float, default=100)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--skip-replication", action="store_true")
    parser.add_argument("--skip-recognition", action="store_true")
    parser.add_argument("--sqlite", action="store_true", help="SQLite nodes, not PostgreSQL")
    parser.add_argument("--workers", type=int, default=2, help="workers of the issuing node")
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    args.load_start = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench-federation-") as tmp:
        work = Path(tmp)
        rep = (
            {"rows": []}
            if args.skip_replication
            else replication(args.rate, args.seconds, work / "rep", args.sqlite, args.workers)
        )
        print("replication:", rep, flush=True)
        rec = (
            {"skipped": "--skip-recognition"}
            if args.skip_recognition
            else recognition(args.records, work / "rec")
        )
        print("recognition:", rec, flush=True)
    text = report(args, rep, rec)
    print(text)
    if args.write:
        RESULTS.write_text(text, "utf-8")


if __name__ == "__main__":
    main()
