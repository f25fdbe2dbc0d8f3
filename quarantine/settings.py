"""One settings object, read from ``QUARANTINE_*`` environment variables.

Only entry points (CLI, web) build it; the core receives plain values.  This is
a plain dataclass rather than a pydantic-settings model because importing
pydantic-settings alone takes about 0.4 s, which would break the CLI's cold
start budget (``quarantine verify TEXT`` in ≤ 0.5 s).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path

from quarantine.errors import EnvironmentProblem

PREFIX = "QUARANTINE_"


def _default_data_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir("quarantine", appauthor=False))


@dataclass(frozen=True)
class Settings:
    """Runtime configuration.  Every field maps to ``QUARANTINE_<NAME>``."""

    #: Where local state lives (registry, number counters, keys).
    data_dir: Path = field(default_factory=_default_data_dir)
    #: Folder of signing keys; default ``<data_dir>/keys``.
    keys_dir: Path | None = None
    #: Signed trust list (COSE file); default: the demo federation's.
    trust_list: Path | None = None
    #: Trust anchor public key(s) (PEM, may hold several); default: the demo root.
    trust_anchor: Path | None = None
    #: Base URL printed into QR codes (the verification host).
    base_url: str = "http://127.0.0.1:8000"
    #: Region this installation issues for (GB/T 2260 code).
    region: str = "310000"
    #: Passphrase of encrypted private keys (never printed).
    key_passphrase: str | None = field(default=None, repr=False)
    #: Clock skew allowed when judging validity windows, in seconds.
    clock_skew_seconds: int = 300
    #: Registry database; default SQLite at ``<data_dir>/registry.sqlite3``.
    database_url: str | None = None
    #: Public verification requests allowed per client and minute.
    verify_rate_per_minute: int = 120
    #: Largest accepted upload, in bytes.
    max_upload_bytes: int = 20_000_000
    #: How long a published offline status list stays fresh, in seconds (at least 120).
    status_list_ttl_seconds: int = 86_400
    #: Federation peers: ``REGION=BASE_URL`` pairs separated by commas (loopback or
    #: hosts named in the trust list).  A node with peers publishes a signed feed.
    peers: str = ""
    #: Seconds between pulls of every peer's feed (0: pull only on demand).
    pull_interval_seconds: int = 30
    #: A peer not heard from for longer than this is reported stale, in seconds.
    stale_after_seconds: int = 900
    #: Recognition agreement table (JSON); default: the packaged one.
    agreement: Path | None = None
    #: Reuse-alert limits and credit rules (TOML or JSON, docs/inspection.md); default:
    #: the built-in ones.
    inspection_rules: Path | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for f in fields(cls):
            raw = env.get(PREFIX + f.name.upper())
            if raw is None or raw == "":
                continue
            # Field types are strings here (``from __future__ import annotations``).
            if str(f.type).startswith("Path"):
                values[f.name] = Path(raw).expanduser()
            elif f.type == "int":
                try:
                    values[f.name] = int(raw)
                    if int(raw) < 0:
                        raise ValueError
                except ValueError:
                    name = PREFIX + f.name.upper()
                    raise EnvironmentProblem(
                        "BAD_SETTING",
                        f"{name} 须为非负整数",
                        f"{name} must be a non-negative integer, not {raw!r}",
                    ) from None
            else:
                values[f.name] = raw
        return cls(**values)  # type: ignore[arg-type]

    def resolved_keys_dir(self) -> Path:
        return self.keys_dir or self.data_dir / "keys"

    def passphrase_bytes(self) -> bytes | None:
        return self.key_passphrase.encode("utf-8") if self.key_passphrase else None
