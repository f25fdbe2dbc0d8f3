"""Loading the trust list and its anchors from files (adapter).

Out of the box the demo federation's trust list and root key, shipped as
package data, are used, so that ``quarantine verify samples/…`` works right
after installation.  Set ``QUARANTINE_TRUST_LIST`` and
``QUARANTINE_TRUST_ANCHOR`` for a real federation.
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

from quarantine.core.keys import PublicKey
from quarantine.core.trust import TrustList, load_trust_list
from quarantine.errors import EnvironmentProblem, InputError

_PEM_BLOCK = re.compile(rb"-----BEGIN PUBLIC KEY-----.+?-----END PUBLIC KEY-----", re.DOTALL)
DEMO_TRUST_LIST = "trust-list.cose"
DEMO_ANCHOR = "root.pub.pem"


def parse_anchors(pem: bytes) -> list[PublicKey]:
    """Every public key in a PEM bundle."""
    blocks = _PEM_BLOCK.findall(pem)
    if not blocks:
        raise EnvironmentProblem(
            "TRUST_ANCHOR_INVALID", "信任锚文件中没有公钥", "no public key in the trust anchor file"
        )
    return [PublicKey.from_pem(block) for block in blocks]


def _read(path: Path | None, demo_name: str) -> bytes:
    if path is None:
        return resources.files("quarantine.data").joinpath("demo", demo_name).read_bytes()
    try:
        return path.read_bytes()
    except OSError as exc:
        raise EnvironmentProblem(
            "TRUST_FILE_UNREADABLE", f"无法读取 {path}", f"cannot read {path}: {exc.strerror}"
        ) from exc


def load(trust_list: Path | None, anchor: Path | None) -> TrustList:
    """The verified trust list (demo federation's when both paths are ``None``)."""
    try:
        return load_trust_list(
            _read(trust_list, DEMO_TRUST_LIST), parse_anchors(_read(anchor, DEMO_ANCHOR))
        )
    except InputError as exc:
        raise EnvironmentProblem(exc.code, exc.message_zh, exc.message_en) from exc


def is_demo(trust_list: Path | None) -> bool:
    return trust_list is None
