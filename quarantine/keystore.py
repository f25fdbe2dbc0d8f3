"""Signing keys on disk (adapter).

Each key is three files in one folder, named by region and kid:

- ``<region>-<kid>.key.pem``: PKCS#8 private key, encrypted with a passphrase
  (``QUARANTINE_KEY_PASSPHRASE``); a demo key is unencrypted and named
  ``<region>-<kid>.DEMO.key.pem`` so that nobody mistakes it for a real one;
- ``<region>-<kid>.pub.pem``: the public key (SubjectPublicKeyInfo);
- ``<region>-<kid>.json``: region, algorithm, kid and the key's window.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from quarantine.core.keys import ALG_EDDSA, ALG_NAMES, PublicKey, Signer
from quarantine.errors import EnvironmentProblem, InputError

ALGS_BY_NAME = {v: k for k, v in ALG_NAMES.items()}


@dataclass(frozen=True)
class KeyInfo:
    region: str
    kid: str
    alg: str
    not_before: datetime
    not_after: datetime | None
    demo: bool
    private_path: Path | None
    public_path: Path

    def covers(self, at: datetime) -> bool:
        return self.not_before <= at and (self.not_after is None or at <= self.not_after)

    def as_dict(self) -> dict[str, object]:
        return {
            "region": self.region,
            "kid": self.kid,
            "alg": self.alg,
            "not_before": self.not_before.isoformat(),
            "not_after": self.not_after.isoformat() if self.not_after else None,
            "demo": self.demo,
            "private_key": str(self.private_path) if self.private_path else None,
            "public_key": str(self.public_path),
        }


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


def generate_key(
    directory: Path,
    region: str,
    *,
    not_before: datetime,
    not_after: datetime | None = None,
    alg: int = ALG_EDDSA,
    passphrase: bytes | None = None,
    demo: bool = False,
) -> KeyInfo:
    """Create a key pair in ``directory``; refuse an unencrypted non-demo key."""
    if passphrase is None and not demo:
        raise EnvironmentProblem(
            "PASSPHRASE_REQUIRED",
            "请设置 QUARANTINE_KEY_PASSPHRASE 以加密私钥，或明确使用 --demo 生成演示密钥",
            "set QUARANTINE_KEY_PASSPHRASE to encrypt the private key, or pass --demo for a demo key",
        )
    directory.mkdir(parents=True, exist_ok=True)
    signer = Signer.generate(alg)
    kid = signer.kid.hex()
    stem = f"{region}-{kid}"
    private_path = directory / (f"{stem}.DEMO.key.pem" if demo else f"{stem}.key.pem")
    public_path = directory / f"{stem}.pub.pem"
    info = KeyInfo(
        region, kid, ALG_NAMES[alg], not_before, not_after, demo, private_path, public_path
    )
    _write_private(private_path, signer.to_pem(None if demo else passphrase))
    public_path.write_bytes(signer.public.to_pem())
    meta = {k: v for k, v in info.as_dict().items() if k not in ("private_key", "public_key")}
    (directory / f"{stem}.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return info


def list_keys(directory: Path) -> list[KeyInfo]:
    """Every key described in ``directory`` (sorted by region, then window start)."""
    out: list[KeyInfo] = []
    if not directory.is_dir():
        return out
    for meta_path in sorted(directory.glob("[0-9][0-9][0-9][0-9][0-9][0-9]-*.json")):
        try:
            meta = json.loads(meta_path.read_text("utf-8"))
            stem = meta_path.name.removesuffix(".json")
            demo = bool(meta.get("demo"))
            private = directory / (f"{stem}.DEMO.key.pem" if demo else f"{stem}.key.pem")
            out.append(
                KeyInfo(
                    region=str(meta["region"]),
                    kid=str(meta["kid"]),
                    alg=str(meta["alg"]),
                    not_before=datetime.fromisoformat(meta["not_before"]),
                    not_after=datetime.fromisoformat(meta["not_after"])
                    if meta.get("not_after")
                    else None,
                    demo=demo,
                    private_path=private if private.exists() else None,
                    public_path=directory / f"{stem}.pub.pem",
                )
            )
        except (KeyError, ValueError, TypeError) as exc:
            raise EnvironmentProblem(
                "KEY_METADATA_INVALID",
                f"密钥描述文件无效：{meta_path}",
                f"key metadata is invalid: {meta_path}: {exc}",
            ) from exc
    return sorted(out, key=lambda k: (k.region, k.not_before))


def load_public(info: KeyInfo) -> PublicKey:
    return PublicKey.from_pem(info.public_path.read_bytes())


def load_signer(info: KeyInfo, passphrase: bytes | None) -> Signer:
    if info.private_path is None:
        raise EnvironmentProblem(
            "PRIVATE_KEY_MISSING", f"缺少私钥：{info.kid}", f"private key of {info.kid} is missing"
        )
    try:
        signer = Signer.from_pem(info.private_path.read_bytes(), None if info.demo else passphrase)
    except InputError as exc:
        raise EnvironmentProblem(exc.code, exc.message_zh, exc.message_en) from exc
    if signer.kid.hex() != info.kid:
        raise EnvironmentProblem(
            "KEY_MISMATCH", "私钥与描述不符", f"private key does not match kid {info.kid}"
        )
    return signer


def signing_key_for(directory: Path, region: str, at: datetime) -> KeyInfo:
    """The newest key of ``region``'s province whose window covers ``at``."""
    return choose_signing_key(list_keys(directory), directory, region, at)


def choose_signing_key(
    keys: Iterable[KeyInfo], directory: Path, region: str, at: datetime
) -> KeyInfo:
    """:func:`signing_key_for` over keys already listed from ``directory``."""
    province = region[:2] + "0000"
    usable = [
        k
        for k in keys
        if k.region in (region, province) and k.covers(at) and k.private_path is not None
    ]
    if not usable:
        raise EnvironmentProblem(
            "NO_SIGNING_KEY",
            f"{directory} 中没有地区 {region} 当前可用的签名密钥",
            f"no signing key for region {region} valid at {at.isoformat()} in {directory}",
        )
    return max(usable, key=lambda k: k.not_before)
