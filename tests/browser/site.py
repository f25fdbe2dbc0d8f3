"""A real web node for the browser tests, the web bench and the screenshot script.

:func:`running_site` starts the app under uvicorn in a thread on a free loopback port,
over a temporary SQLite registry holding certificates issued with the DEMO keys
(valid, revoked with its reason, superseded, of every kind), and a copy of the demo
trust list that knows the server's own host (so its QR URLs are trusted).  Tokens for
an issuer and an inspector are created too.  Everything is torn down when the block ends.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

REPO: Final = Path(__file__).resolve().parents[2]
SAMPLES: Final = REPO / "samples"
CHROMIUM: Final = Path(os.environ.get("QUARANTINE_CHROMIUM", "/usr/bin/chromium"))
REVOKE_REASON: Final = "货证不符，证书收回 / goods do not match the certificate"
SUPERSEDE_REASON: Final = "更换运输车辆 / vehicle changed"


@dataclass
class Site:
    base: str
    port: int
    workdir: Path
    #: name → QR text of the certificates issued at start
    qr: dict[str, str] = field(default_factory=dict)
    numbers: dict[str, str] = field(default_factory=dict)
    #: role → token secret (``issuer`` for Shanghai 310000, ``inspector``)
    tokens: dict[str, str] = field(default_factory=dict)
    app: Any = None

    def path(self, name: str) -> str:
        """The QR's URL path (``/C/<digits>``) of an issued certificate."""
        return "/C/" + self.qr[name].split("/C/", 1)[1]

    def url(self, name: str) -> str:
        return self.base + self.path(name)

    def sample_path(self, sample: str) -> str:
        """``/C/<digits>`` of a committed sample (``samples/<sample>.txt``)."""
        text = (SAMPLES / f"{sample}.txt").read_text("utf-8").strip()
        return "/C/" + text.split("/C/", 1)[1]


def free_port() -> int:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _trust_knowing(host: str) -> Any:
    from quarantine import trustfile
    from quarantine.settings import Settings

    defaults = Settings()
    trust = trustfile.load(defaults.trust_list, defaults.trust_anchor)
    members = tuple(dataclasses.replace(m, hosts=(*m.hosts, host)) for m in trust.members)
    return dataclasses.replace(trust, members=members)


def populate(site: Site, settings: Any, registry: Any) -> None:
    from quarantine.reference import region_table
    from quarantine.services import registry as service
    from quarantine.services.authz import Principal, Role
    from quarantine.storage.tokens import TokenStore
    from tests.load.harness import fresh_document, province

    signers = service.KeyFolderSigners(settings.resolved_keys_dir(), None)
    regions = region_table()
    now = datetime.now(UTC)
    plan = {
        "valid": "transport-intra.json",
        "inter": "transport-inter.json",
        "revoked": "transport-intra.json",
        "superseded": "transport-intra.json",
        "producing": "producing-area.json",
        "requirement": "requirement.json",
        "project": "project.json",
        "anhui": "transport-anhui.json",
        "arrival": "transport-intra.json",  # closed by the console test
        "change": "transport-intra.json",  # revoked by the console test
    }
    with registry.session() as session:
        for name, sample in plan.items():
            doc = fresh_document(sample, now)
            region = doc["issuing_agency"]["region"]
            who = Principal(Role.ISSUER, province(region), f"tok_site_{name}")
            issued = service.issue(
                session,
                doc,
                who,
                signer_for=signers,
                base_url=settings.base_url,
                regions=regions,
                now=now,
            )
            site.qr[name] = issued.qr_text
            site.numbers[name] = str(issued.certificate.number)
        shanghai = Principal(Role.ISSUER, "310000", "tok_site_admin")
        service.revoke(session, site.numbers["revoked"], REVOKE_REASON, shanghai, now=now)
        replacement = fresh_document("transport-intra.json", now)
        replacement["conveyance"] = {"type": "汽车", "identifier": "沪A7K352"}
        done = service.supersede(
            session,
            site.numbers["superseded"],
            replacement,
            SUPERSEDE_REASON,
            shanghai,
            signer_for=signers,
            base_url=settings.base_url,
            regions=regions,
            now=now,
        )
        site.qr["replacement"] = done.replacement.qr_text
        site.numbers["replacement"] = str(done.replacement.certificate.number)
        tokens = TokenStore(session)
        site.tokens["issuer"] = tokens.create("issuer", "310000", "browser tests issuer")[1]
        site.tokens["inspector"] = tokens.create("inspector", "310115", "browser tests inspector")[
            1
        ]


@contextmanager
def running_site(workdir: Path, **settings_overrides: Any) -> Iterator[Site]:
    """A populated node serving on ``127.0.0.1:<free port>`` until the block ends."""
    import uvicorn

    from quarantine.settings import Settings
    from quarantine.storage import db
    from quarantine.web.app import create_app

    port = free_port()
    site = Site(base=f"http://127.0.0.1:{port}", port=port, workdir=workdir)
    keys = workdir / "keys"
    if not keys.exists():
        shutil.copytree(REPO / "keys" / "demo", keys)
    settings = Settings(
        data_dir=workdir / "data",
        keys_dir=keys,
        base_url=site.base,
        verify_rate_per_minute=10**6,
        max_upload_bytes=8_000_000,
        **settings_overrides,
    )
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db.upgrade(db.database_url(settings))
    app = create_app(settings, trust=_trust_knowing(f"127.0.0.1:{port}"))
    site.app = app
    populate(site, settings, app.state.context.registry)
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", ws="none", lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="site-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the web server did not start")
        time.sleep(0.05)
    try:
        yield site
    finally:
        server.should_exit = True
        thread.join(timeout=15)
