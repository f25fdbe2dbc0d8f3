"""Inspection benchmark: reuse-alert evaluation of a new scan, and the trace of a consignment.

    .venv/bin/python bench/bench_inspection.py [--rows 10000000] [--samples 2000] [--keep] [--write]

A dedicated PostgreSQL database (``quarantine_bench_inspection`` on the server of
``QUARANTINE_TEST_POSTGRES_URL``) is migrated, then:

1. 300 transport certificates and 100 consignment chains (producing-area pass →
   transport certificate → re-issue → PROJECT record) are issued with the demo keys
   through the registry use cases, with re-inspections, arrivals and scans;
2. ``inspection_scans`` is bulk-loaded with ``--rows`` scan events of 2,000,000 other
   certificate numbers (``INSERT … SELECT generate_series``, the ``(number, at)`` index
   dropped during the load and built after it), then ``ANALYZE``d; each benchmark
   certificate gets 0–30 earlier scans;
3. **alert evaluation**: ``--samples`` times, a new scan of a random benchmark
   certificate at the destination checkpoint is recorded with
   ``services.inspection.record_scan`` (on PostgreSQL: the scan stored and the
   certificate's facts read with its earlier scans in one statement, the rules, the
   alerts and their regions inserted ``ON CONFLICT DO NOTHING`` in one more statement
   when any is raised) in an open transaction, then committed: the call alone
   and the call with its commit are reported, and ``evaluate_scan`` alone (the scan
   not stored, rolled back).  A ``SELECT 1`` round trip is measured first for scale;
   The same for 100,000 "typical" certificates (copies of one, 0–3 scans earlier that
   day each), where a new scan usually raises nothing;
4. **trace**: ``--samples`` calls of ``services.inspection.trace`` for a random
   chain's transport certificate in a read-only session (what the route does).

``--keep`` leaves the database for another run (then pass ``--reuse`` to skip steps 1–2;
the database is migrated to the head first).  ``--steps N`` then times the parts of N
evaluations of a heavily scanned certificate (each an alert) instead: the read of the
certificate with its earlier scans, the rules, and the alerts' insert, each in an open
transaction rolled back.  ``--write`` writes ``bench/RESULTS-inspection.md``.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

REPO: Final = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

RESULTS: Final = REPO / "bench" / "RESULTS-inspection.md"
DB_NAME: Final = "quarantine_bench_inspection"
DISTRICTS: Final = ("310115", "310112", "320412", "320506", "330109", "340104", "320583")


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def _urls() -> tuple[str, str]:
    from sqlalchemy import make_url

    server = make_url(
        os.environ.get("QUARANTINE_TEST_POSTGRES_URL")
        or "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )
    return (
        server.render_as_string(hide_password=False),
        server.set(database=DB_NAME).render_as_string(hide_password=False),
    )


def _create_database(admin_url: str, *, fresh: bool) -> None:
    from sqlalchemy import create_engine, text

    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": DB_NAME}
            ).first()
            if exists and fresh:
                conn.execute(text(f'DROP DATABASE "{DB_NAME}" WITH (FORCE)'))
                exists = None
            if not exists:
                conn.execute(text(f'CREATE DATABASE "{DB_NAME}"'))
    finally:
        admin.dispose()


def _drop_database(admin_url: str) -> None:
    from sqlalchemy import create_engine, text

    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)'))
    finally:
        admin.dispose()


def _sample(name: str, province: str, now: datetime) -> dict[str, Any]:
    from tests.federation.documents import document

    return document(name, province, now)


def seed(url: str, rows: int, rng: random.Random) -> dict[str, Any]:
    """Certificates, chains, the bulk scan load; the numbers the benchmark uses."""
    import tempfile

    from sqlalchemy import text

    from quarantine.core.reuse import Scan
    from quarantine.reference import region_table
    from quarantine.services import registry
    from quarantine.services.authz import Principal, Role
    from quarantine.storage import db
    from quarantine.storage import inspection as inspection_store
    from tests.web.pg import demo_keys

    keys = demo_keys(Path(tempfile.mkdtemp(prefix="bench-keys-")))
    signers = registry.KeyFolderSigners(keys, None)
    regions = region_table()
    now = datetime.now(UTC)
    issuers = {p: Principal(Role.ISSUER, p, "bench") for p in ("310000", "320000", "330000")}
    inspector = Principal(Role.INSPECTOR, "310115", "bench")
    engine = db.make_engine(url)
    sessions = db.session_factory(engine)

    def issue(doc: dict[str, Any], province: str) -> str:
        with sessions.begin() as s:
            done = registry.issue(
                s,
                doc,
                issuers[province],
                signer_for=signers,
                base_url="http://127.0.0.1:8000",
                regions=regions,
                now=now,
            )
        return str(done.certificate.number)

    started = time.perf_counter()
    transports = [
        issue(_sample("transport-inter.json", "320000", now), "320000") for _ in range(300)
    ]
    chains: list[str] = []
    for _ in range(100):
        passed = issue(_sample("producing-area.json", "330000", now), "330000")
        doc = _sample("transport-inter.json", "330000", now)
        doc["references"] = {"producing_area_pass": passed}
        first = issue(doc, "330000")
        with sessions.begin() as s:
            done = registry.supersede(
                s,
                first,
                doc,
                "换证",
                issuers["330000"],
                signer_for=signers,
                base_url="http://127.0.0.1:8000",
                regions=regions,
                now=now,
            )
            second = str(done.replacement.certificate.number)
            registry.record_reinspection(
                s, second, inspector, result="PASSED", regions=regions, now=now
            )
        project = _sample("project.json", "310000", now)
        project["references"] = {"certificates": [second]}
        issue(project, "310000")
        chains.append(second)
    issued_s = time.perf_counter() - started
    # earlier scans of the benchmark certificates
    with sessions.begin() as s:
        for number in [*transports, *chains]:
            for k in range(rng.randrange(0, 31)):
                at = now - timedelta(hours=rng.randrange(1, 24 * 30), minutes=k)
                inspection_store.add_scan(
                    s,
                    Scan(f"310000:seed{number}{k}", number, at, rng.choice(DISTRICTS), "站"),
                    origin="310000",
                    actor="bench",
                    recorded_at=now,
                )
    started = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(text("DROP INDEX ix_inspection_scans_number_at"))
        conn.execute(
            text(
                """
                INSERT INTO inspection_scans
                  (uid, origin, number, at, region, checkpoint, plate, lon, lat, verdict,
                   actor, recorded_at)
                SELECT '320000:b' || g, '320000',
                       (ARRAY['310115','320506','330109','340104'])[1 + g % 4]
                         || '-2025-' || lpad(((g / 4) % 500000)::text, 6, '0'),
                       timestamptz '2025-01-01 00:00+00' + (g % 31000000) * interval '1 second',
                       (ARRAY['310115','320412','330109','340104','320583'])[1 + g % 5],
                       '检查站', '', NULL, NULL, 'VALID', 'bench', now()
                FROM generate_series(1, :rows) AS g
                """
            ),
            {"rows": rows},
        )
        conn.execute(
            text(
                "CREATE INDEX ix_inspection_scans_number_at ON inspection_scans (number, at) "
                f"INCLUDE ({', '.join(inspection_store.SCAN_INDEX_INCLUDE)})"
            )
        )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE inspection_scans"))
    loaded_s = time.perf_counter() - started
    engine.dispose()
    return {
        "transports": transports,
        "chains": chains,
        "issued_s": issued_s,
        "loaded_s": loaded_s,
    }


def clone_typical(url: str, count: int = 100_000) -> list[str]:
    """``count`` copies of one benchmark transport certificate under other numbers (serials
    from 500000, the record's number rewritten), each with 0-3 scans earlier that day: the
    usual case, a load inspected a few times on its trip.  Idempotent."""
    from sqlalchemy import text

    from quarantine.storage import db

    engine = db.make_engine(url)
    try:
        with engine.begin() as conn:
            have = conn.execute(
                text("SELECT count(*) FROM certificates WHERE serial >= 500000")
            ).scalar_one()
            if have < count:
                template = conn.execute(
                    text(
                        "SELECT number FROM certificates WHERE kind = 'TRANSPORT' "
                        "AND number LIKE '320506-%' ORDER BY id LIMIT 1"
                    )
                ).scalar_one()
                conn.execute(
                    text(
                        """
                        INSERT INTO certificates (number, kind, issuing_region, year, serial,
                          issued_at, valid_from, valid_to, consignor_name, consignee_name,
                          producer_name, kid, qr_text, detail_digest, record, created_at)
                        SELECT n, c.kind, c.issuing_region, c.year, g, c.issued_at,
                               c.valid_from, c.valid_to, c.consignor_name, c.consignee_name,
                               c.producer_name, c.kid, c.qr_text, c.detail_digest,
                               jsonb_set(c.record, '{number}', to_jsonb(n)), c.created_at
                        FROM certificates c,
                             generate_series(500000, 500000 + :count - 1) AS g,
                             LATERAL (SELECT c.issuing_region || '-' || c.year || '-'
                                             || lpad(g::text, 6, '0') AS n) AS num
                        WHERE c.number = :template
                        ON CONFLICT DO NOTHING
                        """
                    ),
                    {"count": count, "template": template},
                )
                conn.execute(
                    text(
                        """
                        INSERT INTO inspection_scans (uid, origin, number, at, region,
                          checkpoint, plate, lon, lat, verdict, actor, recorded_at)
                        SELECT '320000:t' || c.serial || ':' || k, '320000', c.number,
                               now() - (k + 1) * interval '2 hours',
                               (ARRAY['320506', '320583', '310115'])[1 + k], '检查站', '',
                               NULL, NULL, 'VALID', 'bench', now()
                        FROM certificates c, generate_series(0, 2) AS k
                        WHERE c.serial >= 500000 AND k < c.serial % 4
                        ON CONFLICT DO NOTHING
                        """
                    )
                )
            typical = list(
                conn.execute(
                    text("SELECT number FROM certificates WHERE serial >= 500000")
                ).scalars()
            )
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE certificates"))
            conn.execute(text("ANALYZE inspection_scans"))
    finally:
        engine.dispose()
    return typical


def numbers(url: str) -> dict[str, Any]:
    """The benchmark's certificates in a kept database (``--reuse``)."""
    from sqlalchemy import text

    from quarantine.storage import db

    engine = db.make_engine(url)
    try:
        with engine.connect() as conn:
            transports = list(
                conn.execute(
                    text(
                        "SELECT number FROM certificates WHERE kind = 'TRANSPORT' "
                        "AND number LIKE '32%' AND serial < 500000"
                    )
                ).scalars()
            )
            chains = list(
                conn.execute(
                    text("SELECT source FROM record_links WHERE link = 'PROJECT'")
                ).scalars()
            )
    finally:
        engine.dispose()
    return {"transports": transports, "chains": chains, "issued_s": 0.0, "loaded_s": 0.0}


def measure(url: str, data: dict[str, Any], samples: int, rng: random.Random) -> dict[str, Any]:
    from sqlalchemy import text

    from quarantine.core.reuse import Scan
    from quarantine.services import inspection
    from quarantine.services.authz import Principal, Role
    from quarantine.storage import db

    engine = db.make_engine(url)
    sessions = db.session_factory(engine)
    reading = db.session_factory(engine.execution_options(isolation_level="AUTOCOMMIT"))
    inspector = Principal(Role.INSPECTOR, "310115", "bench")
    with engine.connect() as conn:
        total = conn.execute(text("SELECT count(*) FROM inspection_scans")).scalar_one()
    inspection.regions()  # the district table, loaded once per process
    baseline: list[float] = []  # the server's round trip, for scale (the machine is shared)
    with reading() as s:
        for _ in range(samples):
            t0 = time.perf_counter()
            s.execute(text("SELECT 1")).scalar_one()
            baseline.append((time.perf_counter() - t0) * 1000)
    record: list[float] = []  # the service call in its transaction
    committed: list[float] = []  # the same with the commit (an fsync on the server)
    evaluate: list[float] = []
    raised = 0
    for i in range(samples + 50):
        number = rng.choice(data["transports"])
        now = datetime.now(UTC)
        with sessions() as s:
            s.execute(text("SELECT 1"))  # the transaction is open, as in a request
            t0 = time.perf_counter()
            _, alerts = inspection.record_scan(
                s,
                number=number,
                at=now,
                region="310115",  # the destination checkpoint
                actor="bench",
                checkpoint="川沙检查站",
                plate="苏A1",
                now=now,
            )
            t1 = time.perf_counter()
            s.commit()
            t2 = time.perf_counter()
        if i >= 50:  # warm-up
            record.append((t1 - t0) * 1000)
            committed.append((t2 - t0) * 1000)
            raised += len(alerts)
        scan = Scan(f"310000:probe{i}", number, now, "310115", "川沙检查站")
        with sessions() as s:
            s.execute(text("SELECT 1"))
            t0 = time.perf_counter()
            inspection.evaluate_scan(s, scan, now=now)
            t1 = time.perf_counter()
            s.rollback()
        if i >= 50:
            evaluate.append((t1 - t0) * 1000)
    typical: list[float] = []  # record_scan of a typical certificate (0-3 earlier scans)
    typical_raised = 0
    for i in range(samples + 50):
        number = rng.choice(data["typical"])
        now = datetime.now(UTC)
        with sessions() as s:
            s.execute(text("SELECT 1"))
            t0 = time.perf_counter()
            _, alerts = inspection.record_scan(
                s,
                number=number,
                at=now,
                region="310115",
                actor="bench",
                checkpoint="川沙检查站",
                now=now,
            )
            t1 = time.perf_counter()
            s.commit()
        if i >= 50:
            typical.append((t1 - t0) * 1000)
            typical_raised += len(alerts)
    traces: list[float] = []
    sizes: list[int] = []
    for i in range(samples + 50):
        number = rng.choice(data["chains"])
        t0 = time.perf_counter()
        with reading() as s:
            found = inspection.trace(s, number, inspector)
        if i >= 50:
            traces.append((time.perf_counter() - t0) * 1000)
            sizes.append(len(found.records))
    engine.dispose()
    return {
        "scan_rows": total,
        "baseline": baseline,
        "load": os.getloadavg(),
        "record": record,
        "typical": typical,
        "typical_raised": typical_raised,
        "committed": committed,
        "evaluate": evaluate,
        "trace": traces,
        "alerts_raised": raised,
        "trace_records": sum(sizes) / len(sizes),
    }


def steps(url: str, data: dict[str, Any], samples: int, rng: random.Random) -> dict[str, Any]:
    """Time the parts of ``evaluate_scan`` for a heavily scanned certificate."""
    from sqlalchemy import text

    from quarantine.core.reuse import Scan, evaluate
    from quarantine.services import inspection
    from quarantine.storage import db
    from quarantine.storage import inspection as store

    engine = db.make_engine(url)
    sessions = db.session_factory(engine)
    inspection.regions()
    parts: dict[str, list[float]] = {
        "read": [],  # one statement (PostgreSQL path); the general path's two added up
        "cert": [],  # general path: the certificate with its events, decoded
        "scans": [],  # general path: the earlier scans
        "rules": [],
        "alerts": [],
        "total": [],
    }
    earlier_counts: list[int] = []
    fast = hasattr(store, "scan_context")
    policy = inspection.DEFAULT_POLICY
    for i in range(samples + 50):
        number = rng.choice(data["transports"])
        now = datetime.now(UTC)
        scan = Scan(f"310000:step{i}:{now.timestamp()}", number, now, "310115", "川沙检查站")
        with sessions() as s:
            s.execute(text("SELECT 1"))
            t0 = time.perf_counter()
            if fast:
                context = store.scan_context(s, number)
                assert context is not None
                facts, earlier = inspection.facts_of_context(context), context.earlier
                issuing = number[:6]
                tc = t0
            else:
                known = inspection.load_known(s, [number])[number]
                facts = inspection.facts_of(known)
                tc = time.perf_counter()
                earlier = store.scans_of(s, number)
                issuing = known.certificate.number.region
            t1 = time.perf_counter()
            alerts = evaluate(scan, earlier, facts, policy, inspection.centre)
            t2 = time.perf_counter()
            places = {x.id: x.region for x in (*earlier, scan)}
            concerned = {a.id: {places.get(j, "") for j in a.scans} | {issuing} for a in alerts}
            if alerts:
                store.add_alerts(s, alerts, concerned, now)
            t3 = time.perf_counter()
            s.rollback()
        if i >= 50:
            parts["read"].append((t1 - t0) * 1000)
            if not fast:
                parts["cert"].append((tc - t0) * 1000)
                parts["scans"].append((t1 - tc) * 1000)
            parts["rules"].append((t2 - t1) * 1000)
            parts["alerts"].append((t3 - t2) * 1000)
            parts["total"].append((t3 - t0) * 1000)
            earlier_counts.append(len(earlier))
    engine.dispose()
    return {
        "parts": parts,
        "earlier": sum(earlier_counts) / len(earlier_counts),
        "load": os.getloadavg(),
        "fast": fast,
    }


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    cores = os.cpu_count()
    pg = subprocess.run(["psql", "--version"], capture_output=True, text=True, check=False)
    return f"{cpu}, {cores} cores; Python {platform.python_version()}; {pg.stdout.strip()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--keep", action="store_true", help="keep the database")
    parser.add_argument("--reuse", action="store_true", help="use a kept database")
    parser.add_argument("--write", action="store_true", help="write bench/RESULTS-inspection.md")
    parser.add_argument("--steps", type=int, default=0, help="time N evaluations' parts")
    args = parser.parse_args()
    from quarantine.storage import db

    rng = random.Random(20261128)
    admin_url, url = _urls()
    _create_database(admin_url, fresh=not args.reuse)
    if args.steps:
        if not args.reuse:
            parser.error("--steps needs --reuse (a kept database)")
        db.upgrade(url)
        found = steps(url, numbers(url), args.steps, rng)
        one, five, fifteen = found["load"]
        print(
            f"parts of evaluate_scan ({'one read' if found['fast'] else 'general path'}, "
            f"{found['earlier']:.1f} earlier scans on average); "
            f"load average after: {one:.1f} {five:.1f} {fifteen:.1f}"
        )
        for name, values in found["parts"].items():
            if not values:
                continue
            print(
                f"  {name:<7} n={len(values)} p50 {pct(values, 50):.2f} ms"
                f"  p95 {pct(values, 95):.2f} ms  p99 {pct(values, 99):.2f} ms"
            )
        return
    try:
        if args.reuse:
            db.upgrade(url)
            data = numbers(url)
        else:
            db.upgrade(url)
            data = seed(url, args.rows, rng)
        data["typical"] = clone_typical(url)
        result = measure(url, data, args.samples, rng)
    finally:
        if not args.keep:
            _drop_database(admin_url)
    lines = [
        f"scan events in inspection_scans: {result['scan_rows']:,}",
        f"seed: issue {data['issued_s']:.1f} s, bulk load + index + analyze {data['loaded_s']:.1f} s",
    ]
    one, five, fifteen = result["load"]
    lines.append(f"load average (1, 5, 15 min) after the run: {one:.1f} {five:.1f} {fifteen:.1f}")
    for name, key in (
        ("SELECT 1 round trip (baseline)", "baseline"),
        ("record_scan, typical certificate (0-3 earlier scans)", "typical"),
        ("record_scan, heavily scanned certificate (~40 earlier, an alert each time)", "record"),
        ("record_scan and its commit", "committed"),
        ("evaluate_scan alone (scan not stored)", "evaluate"),
        (f"trace ({result['trace_records']:.1f} records per chain)", "trace"),
    ):
        values = result[key]
        lines.append(
            f"{name}: n={len(values)} p50 {pct(values, 50):.2f} ms  p95 {pct(values, 95):.2f} ms"
            f"  p99 {pct(values, 99):.2f} ms  max {max(values):.2f} ms"
        )
    lines.append(
        f"alerts raised: heavily scanned {result['alerts_raised']}, typical {result['typical_raised']}"
    )
    print("\n".join(lines))
    if args.write:
        command = (
            "QUARANTINE_TEST_POSTGRES_URL=… .venv/bin/python bench/bench_inspection.py "
            + " ".join(sys.argv[1:])
        )
        RESULTS.write_text(
            "# Inspection benchmark\n\n"
            f"- date: {datetime.now(UTC).isoformat(timespec='seconds')}\n"
            f"- machine: {_machine()}\n"
            f"- command: `{command}`\n\n"
            "```\n" + "\n".join(lines) + "\n```\n",
            encoding="utf-8",
        )


if __name__ == "__main__":
    main()
