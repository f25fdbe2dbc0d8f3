"""Instructions per response of ``POST /api/v1/verify`` and of the bare baseline,
counted by valgrind (callgrind): repeatable on a loaded machine, unlike CPU time.

    .venv/bin/python bench/api/callgrind_verify.py [--requests 300] [--concurrency 4]

Each server runs with one worker under ``valgrind --tool=callgrind --instr-atstart=no``;
after a warm-up, instrumentation is switched on for exactly ``--requests`` requests
(keep-alive clients in parallel, outside valgrind) and the count is dumped.  Same
PostgreSQL database, same certificate and body as ``bench_api.py``.  The ratio
bare / verify of instructions per response is the throughput ratio a CPU-bound server
would reach (the database's own work is not counted: it is ~0.1 ms of 1–2 ms).
"""

from __future__ import annotations

import argparse
import glob
import os
import re
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))


def count(
    server_argv: list[str],
    env: dict[str, str],
    port: int,
    body: dict[str, str],
    n: int,
    conc: int,
    work: Path,
    name: str,
) -> int:
    import httpx2

    out = work / f"cg-{name}"
    argv = [
        "valgrind",
        "--tool=callgrind",
        "--instr-atstart=no",
        f"--callgrind-out-file={out}.%p",
        *server_argv,
    ]
    with (work / f"{name}.log").open("wb") as log:
        proc = subprocess.Popen(
            argv, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 900
        while True:
            try:
                if httpx2.get(base + "/readyz", timeout=5).status_code == 200:
                    break
            except Exception:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError((work / f"{name}.log").read_text()[-2000:])
            time.sleep(1)
        clients = [httpx2.Client(base_url=base, timeout=120) for _ in range(conc)]

        def send(i: int) -> int:
            r = clients[i % conc].post("/api/v1/verify", json=body)
            return r.status_code

        with ThreadPoolExecutor(conc) as pool:
            assert set(pool.map(send, range(50))) == {200}
            subprocess.run(
                ["callgrind_control", "-i", "on", str(proc.pid)], check=True, capture_output=True
            )
            codes = list(pool.map(send, range(n)))
            subprocess.run(
                ["callgrind_control", "-i", "off", str(proc.pid)], check=True, capture_output=True
            )
        for client in clients:
            client.close()
        assert set(codes) == {200}, codes[:5]
        subprocess.run(["callgrind_control", "-d", str(proc.pid)], check=True, capture_output=True)
        time.sleep(1)
        total = 0
        for path in glob.glob(f"{out}.*"):
            text = Path(path).read_text(errors="replace")
            m = re.search(r"^totals:\s*(\d+)", text, re.M) or re.search(
                r"^summary:\s*(\d+)", text, re.M
            )
            if m:
                total += int(m.group(1))
        return total
    finally:
        os.killpg(proc.pid, 9)
        proc.wait()


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--requests", type=int, default=300)
    p.add_argument("--concurrency", type=int, default=4)
    p.add_argument("--keep", default="", help="copy the callgrind files here")
    args = p.parse_args()
    import bench_api as b  # noqa: F401  (same harness as the API bench)
    import httpx2

    from tests.load import harness

    admin, why = harness.pg_admin_engine()
    assert admin is not None, why
    with ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        url = stack.enter_context(harness.temp_database(admin, "quarantine_cg"))
        env = harness.server_env(url, work)
        harness.migrate(env)
        issuer = harness.create_token(url, "issuer", "330000")
        api = harness.Server(env, work / "api.log")
        api.start()
        try:
            with httpx2.Client(base_url=api.base, timeout=60) as client:
                doc = harness.fresh_document("transport-inter.json")
                r = client.post(
                    "/api/v1/certificates", json=doc, headers={"Authorization": f"Bearer {issuer}"}
                )
                assert r.status_code == 201, r.text
                text = r.json()["qr_text"]
        finally:
            api.stop()
        launcher = [sys.executable, str(REPO / "bench" / "api" / "serve_tcp.py")]
        results = {}
        for name, app, extra in (
            ("bare", "bare_app:build", ["--app-dir", str(REPO / "bench" / "api")]),
            ("api", "quarantine.web.asgi:build", []),
        ):
            port = harness.free_port()
            argv = [*launcher, app, *extra, "--port", str(port), "--workers", "1"]
            results[name] = (
                count(argv, env, port, {"text": text}, args.requests, args.concurrency, work, name)
                / args.requests
            )
            print(f"{name}: {results[name]:,.0f} instructions per response", flush=True)
            if args.keep:
                import shutil

                for path in glob.glob(str(work / f"cg-{name}.*")):
                    shutil.copy(path, args.keep)
        print(f"bare / verify = {results['bare'] / results['api']:.1%}")


if __name__ == "__main__":
    sys.path.insert(0, str(REPO / "bench"))
    main()
