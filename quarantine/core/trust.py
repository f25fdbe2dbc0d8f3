"""The federation's signed trust list: members, their keys and key windows.

The list is a JSON document signed as a COSE_Sign1 by a trust anchor (the
federation's root key, configured out of band).  Verifiers cache it and report
its age; keys rotate by adding a key with a later window, so what an old key
signed inside its window keeps verifying.
"""

from __future__ import annotations

import base64
import functools
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Final

from quarantine.core import cose
from quarantine.core.keys import ALG_NAMES, PublicKey, Signer
from quarantine.errors import InputError

DOCUMENT_TYPE: Final = "quarantine-trust-list/v1"
CONTENT_TYPE_JSON: Final = 50  # CoAP content format application/json
MAX_TRUST_LIST_BYTES: Final = 1_000_000


class TrustListError(InputError):
    """A trust list that cannot be used."""


@dataclass(frozen=True)
class TrustedKey:
    region: str  # member region code (province level)
    public: PublicKey
    not_before: datetime
    not_after: datetime | None = None

    def covers(self, at: datetime) -> bool:
        return self.not_before <= at and (self.not_after is None or at <= self.not_after)


@dataclass(frozen=True)
class Member:
    region: str
    name: str
    name_en: str
    joined: date
    left: date | None = None
    hosts: tuple[str, ...] = ()
    agencies: Mapping[str, str] = field(default_factory=dict)

    def is_member_on(self, day: date) -> bool:
        return self.joined <= day and (self.left is None or day <= self.left)

    def covers_region(self, code: str) -> bool:
        """Province-level members cover every code of their province."""
        return code[:2] == self.region[:2]


@dataclass(frozen=True)
class TrustList:
    version: int
    issued_at: datetime
    expires_at: datetime
    members: tuple[Member, ...]
    keys: tuple[TrustedKey, ...]

    def keys_for_kid(self, kid: bytes) -> list[TrustedKey]:
        return [k for k in self.keys if k.public.kid == kid]

    @functools.cached_property
    def _by_province(self) -> dict[str, Member]:
        """Members by the first two digits of their region (the first listed wins)."""
        index: dict[str, Member] = {}
        for m in self.members:
            index.setdefault(m.region[:2], m)
        return index

    def member(self, region: str) -> Member | None:
        return self._by_province.get(region[:2])

    def agency_name(self, region: str) -> str:
        member = self.member(region)
        return member.agencies.get(region, "") if member else ""

    def display_name(self, region: str) -> str:
        """The agency's name, else its member's name when the region is the member's own."""
        member = self.member(region)
        if member is None:
            return ""
        return member.agencies.get(region) or (member.name if region == member.region else "")

    def known_host(self, host: str) -> bool:
        return any(host.lower() == h.lower() for m in self.members for h in m.hosts)

    # -------------------------------------------------------- document form

    def to_document(self) -> dict[str, Any]:
        return {
            "type": DOCUMENT_TYPE,
            "version": self.version,
            "issued_at": self.issued_at.isoformat(),
            "expires_at": self.expires_at.isoformat(),
            "members": [
                {
                    "region": m.region,
                    "name": m.name,
                    "name_en": m.name_en,
                    "joined": m.joined.isoformat(),
                    "left": m.left.isoformat() if m.left else None,
                    "hosts": list(m.hosts),
                    "agencies": dict(sorted(m.agencies.items())),
                    "keys": [
                        {
                            "kid": k.public.kid.hex(),
                            "alg": ALG_NAMES[k.public.alg],
                            "spki": base64.b64encode(k.public.spki_der).decode(),
                            "not_before": k.not_before.isoformat(),
                            "not_after": k.not_after.isoformat() if k.not_after else None,
                        }
                        for k in self.keys
                        if k.region == m.region
                    ],
                }
                for m in self.members
            ],
        }

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> TrustList:
        try:
            if doc.get("type") != DOCUMENT_TYPE:
                raise ValueError(f"type must be {DOCUMENT_TYPE}")
            members: list[Member] = []
            keys: list[TrustedKey] = []
            for m in doc["members"]:
                region = str(m["region"])
                members.append(
                    Member(
                        region=region,
                        name=str(m["name"]),
                        name_en=str(m.get("name_en", "")),
                        joined=date.fromisoformat(m["joined"]),
                        left=date.fromisoformat(m["left"]) if m.get("left") else None,
                        hosts=tuple(str(h) for h in m.get("hosts", [])),
                        agencies={str(k): str(v) for k, v in m.get("agencies", {}).items()},
                    )
                )
                for k in m.get("keys", []):
                    public = PublicKey.from_spki(base64.b64decode(k["spki"], validate=True))
                    if public.kid.hex() != k["kid"] or ALG_NAMES[public.alg] != k["alg"]:
                        raise ValueError(f"key {k['kid']}: kid or alg does not match the key")
                    keys.append(
                        TrustedKey(
                            region=region,
                            public=public,
                            not_before=_aware(k["not_before"]),
                            not_after=_aware(k["not_after"]) if k.get("not_after") else None,
                        )
                    )
            return cls(
                version=int(doc["version"]),
                issued_at=_aware(doc["issued_at"]),
                expires_at=_aware(doc["expires_at"]),
                members=tuple(members),
                keys=tuple(keys),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise TrustListError(
                "TRUST_LIST_MALFORMED", "信任列表格式无效", f"trust list is malformed: {exc}"
            ) from exc


def _aware(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise ValueError(f"time {text!r} lacks a zone")
    return value


def sign_trust_list(trust: TrustList, anchor: Signer) -> bytes:
    """The signed trust list (COSE_Sign1 over canonical JSON)."""
    body = json.dumps(
        trust.to_document(), ensure_ascii=False, sort_keys=True, separators=(",", ":")
    )
    return cose.encode_sign1(
        body.encode("utf-8"), anchor, extra_protected={cose.HEADER_CONTENT_TYPE: CONTENT_TYPE_JSON}
    )


def load_trust_list(blob: bytes, anchors: Iterable[PublicKey]) -> TrustList:
    """Verify ``blob`` against the trust anchors and parse it."""
    if len(blob) > MAX_TRUST_LIST_BYTES:
        raise TrustListError("TRUST_LIST_TOO_LARGE", "信任列表过大", "trust list is too large")
    msg = cose.decode_sign1(blob)
    cose.check_alg(msg)
    if not any(a.kid == msg.kid and msg.verify_with(a) for a in anchors):
        raise TrustListError(
            "TRUST_LIST_SIGNATURE", "信任列表签名无效", "trust list is not signed by a trust anchor"
        )
    try:
        doc = json.loads(msg.payload.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise TrustListError(
            "TRUST_LIST_MALFORMED", "信任列表格式无效", f"trust list is malformed: {exc}"
        ) from exc
    if not isinstance(doc, dict):
        raise TrustListError(
            "TRUST_LIST_MALFORMED", "信任列表格式无效", "trust list must be a JSON object"
        )
    return TrustList.from_document(doc)
