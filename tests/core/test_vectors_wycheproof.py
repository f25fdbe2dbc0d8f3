"""Wycheproof conformance of ``PublicKey.verify`` (the COSE-form signature check).

Vectors: C2SP/wycheproof ``testvectors_v1`` (Apache-2.0), read in place from
``<repo>/../shared/vectors/wycheproof``.  Three files:

* ``ed25519_test.json`` — Ed25519, 64-byte signatures: every ``valid`` must be
  accepted and every ``invalid`` rejected.
* ``ecdsa_secp256r1_sha256_p1363_test.json`` — ECDSA P-256/SHA-256 with r‖s
  (IEEE P1363) signatures, which is exactly the COSE ES256 form: same rule.  The
  12 vectors flagged ``SignatureSize`` (r‖s not exactly 64 bytes) catch a naive
  r‖s → DER converter and are checked on their own as well.
* ``ecdsa_secp256r1_sha256_test.json`` — the same curve with ASN.1 DER
  signatures.  A COSE verifier must accept no DER signature at all, ``valid`` or
  not: DER is not the COSE form.  Every valid one, converted to r‖s, is accepted,
  which shows the rejection is about the form and not the arithmetic.

``acceptable`` vectors: none of the three files has any (the counts are pinned
below).  Should a future file bring some, ``_ACCEPTABLE_OUTCOMES`` must state
what the layer does with each one, so the behaviour is documented rather than
silently tolerated.

Every test is parametrized by ``tcId``; in addition a sweep per file runs every
vector in one go and asserts the number run equals ``numberOfTests``, so no
vector can be skipped silently.
"""

from __future__ import annotations

import functools
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from quarantine.core.keys import ALG_EDDSA, ALG_ES256, PublicKey

REPO_ROOT: Final = Path(__file__).resolve().parents[2]
VECTORS: Final = REPO_ROOT.parent / "shared" / "vectors"
WYCHEPROOF: Final = VECTORS / "wycheproof"

ED25519: Final = "ed25519_test.json"
P1363: Final = "ecdsa_secp256r1_sha256_p1363_test.json"
DER: Final = "ecdsa_secp256r1_sha256_test.json"

#: Pinned contents of the vector files (C2SP/wycheproof commit dac1dd47).
EXPECTED_COUNTS: Final[dict[str, dict[str, int]]] = {
    ED25519: {"valid": 88, "invalid": 63},
    P1363: {"valid": 173, "invalid": 89},
    DER: {"valid": 174, "invalid": 310},
}

#: What ``PublicKey.verify`` returns for each ``acceptable`` vector, keyed by
#: (file, tcId).  The pinned files hold none; this table is where they would be
#: documented.
_ACCEPTABLE_OUTCOMES: Final[dict[tuple[str, int], bool]] = {}

pytestmark = pytest.mark.skipif(
    not VECTORS.is_dir(),
    reason=f"public test vectors not found at {VECTORS} (expected <repo>/../shared/vectors)",
)


@dataclass(frozen=True)
class Case:
    """One Wycheproof verification vector with its group's key."""

    file: str
    tc_id: int
    comment: str
    flags: tuple[str, ...]
    result: str
    msg: bytes
    sig: bytes
    key_der: bytes

    @property
    def id(self) -> str:
        return f"tc{self.tc_id}"


@dataclass(frozen=True)
class Group:
    """A Wycheproof test group's public key in every form the file gives."""

    file: str
    index: int
    public_key: dict[str, Any]
    der: bytes
    pem: bytes


@functools.cache
def _load(name: str) -> dict[str, Any]:
    path = WYCHEPROOF / name
    if not path.is_file():
        return {"numberOfTests": 0, "testGroups": []}
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


@functools.cache
def cases(name: str) -> tuple[Case, ...]:
    out: list[Case] = []
    for group in _load(name)["testGroups"]:
        der = bytes.fromhex(group["publicKeyDer"])
        for test in group["tests"]:
            out.append(
                Case(
                    file=name,
                    tc_id=int(test["tcId"]),
                    comment=str(test["comment"]),
                    flags=tuple(test["flags"]),
                    result=str(test["result"]),
                    msg=bytes.fromhex(test["msg"]),
                    sig=bytes.fromhex(test["sig"]),
                    key_der=der,
                )
            )
    return tuple(out)


def groups(name: str) -> list[Group]:
    return [
        Group(
            file=name,
            index=i,
            public_key=dict(g["publicKey"]),
            der=bytes.fromhex(g["publicKeyDer"]),
            pem=str(g["publicKeyPem"]).encode("ascii"),
        )
        for i, g in enumerate(_load(name)["testGroups"])
    ]


@functools.cache
def key_of(spki_der: bytes) -> PublicKey:
    """The layer's own key import, from the group's ``publicKeyDer``."""
    return PublicKey.from_spki(spki_der)


def expected(case: Case) -> bool:
    """What the COSE-form verifier must return for ``case``."""
    if case.file == DER:
        # DER is never the COSE form, whatever Wycheproof's verdict on the DER.
        return False
    if case.result == "valid":
        return True
    if case.result == "invalid":
        return False
    assert case.result == "acceptable", case.result
    key = (case.file, case.tc_id)
    assert key in _ACCEPTABLE_OUTCOMES, (
        f"{case.file} {case.id} is 'acceptable' ({case.comment}, flags {case.flags}): "
        "record the layer's behaviour in _ACCEPTABLE_OUTCOMES"
    )
    return _ACCEPTABLE_OUTCOMES[key]


def run(case: Case) -> bool:
    return key_of(case.key_der).verify(case.sig, case.msg)


def _describe(case: Case) -> str:
    return f"{case.file} {case.id} [{case.result}] {case.comment} flags={list(case.flags)}"


# --- keys -------------------------------------------------------------------------------


def _key_from_raw(name: str, public_key: dict[str, Any]) -> PublicKey:
    """The key rebuilt from the group's non-DER form (raw Ed25519 ``pk`` or EC ``wx``/``wy``)."""
    if name == ED25519:
        assert public_key["curve"] == "edwards25519"
        raw = bytes.fromhex(public_key["pk"])
        return PublicKey.from_object(ed25519.Ed25519PublicKey.from_public_bytes(raw))
    assert public_key["curve"] == "secp256r1"
    numbers = ec.EllipticCurvePublicNumbers(
        int(public_key["wx"], 16), int(public_key["wy"], 16), ec.SECP256R1()
    )
    return PublicKey.from_object(numbers.public_key())


@pytest.mark.parametrize("name", [ED25519, P1363, DER])
def test_group_keys_import_identically_from_der_pem_and_raw(name: str) -> None:
    expected_alg = ALG_EDDSA if name == ED25519 else ALG_ES256
    all_groups = groups(name)
    assert all_groups, f"{name}: no test groups"
    for group in all_groups:
        from_der = PublicKey.from_spki(group.der)
        from_pem = PublicKey.from_pem(group.pem)
        from_raw = _key_from_raw(name, group.public_key)
        assert from_der.alg == expected_alg, group.index
        assert from_der.spki_der == group.der, group.index
        assert from_pem.spki_der == from_der.spki_der == from_raw.spki_der, group.index
        assert from_pem.kid == from_der.kid == from_raw.kid, group.index
        serialized = from_der.key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        assert serialized == group.der


# --- per-vector tests (parametrized by tcId) --------------------------------------------


@pytest.mark.parametrize("case", cases(ED25519), ids=lambda c: c.id)
def test_ed25519(case: Case) -> None:
    assert run(case) is expected(case), _describe(case)


@pytest.mark.parametrize("case", cases(P1363), ids=lambda c: c.id)
def test_ecdsa_p256_p1363(case: Case) -> None:
    assert run(case) is expected(case), _describe(case)


@pytest.mark.parametrize("case", cases(DER), ids=lambda c: c.id)
def test_ecdsa_p256_der_signatures_are_not_cose_form(case: Case) -> None:
    """No DER signature is accepted by the r‖s verifier.

    DER ECDSA signatures for P-256 are 8 to 72 bytes.  None in the file is exactly
    64 bytes (pinned in the sweep below), but if one were, it would be read as r‖s
    with r starting with the DER header byte 0x30: accepting it would mean the
    same 64 bytes are also a valid r‖s signature, i.e. a forgery, so the assertion
    is the same for every length — rejected.
    """
    assert run(case) is False, _describe(case)
    if case.result == "valid":
        # The same signature in COSE form is accepted: the rejection above is
        # about the encoding, not about the key, message or arithmetic.
        r, s = decode_dss_signature(case.sig)
        raw = r.to_bytes(32, "big") + s.to_bytes(32, "big")
        assert key_of(case.key_der).verify(raw, case.msg) is True, _describe(case)


# --- focused checks -----------------------------------------------------------------------


def test_p1363_signature_size_vectors_are_rejected() -> None:
    """The 12 ``SignatureSize`` vectors: r‖s of the wrong length, all invalid, all rejected.

    A verifier that converts r‖s to DER by splitting the input in halves without
    insisting on 64 bytes would accept them; ``PublicKey.verify`` refuses any
    signature that is not exactly 64 bytes before doing any arithmetic.
    """
    flagged = [c for c in cases(P1363) if "SignatureSize" in c.flags]
    assert len(flagged) == 12
    for case in flagged:
        assert case.result == "invalid", _describe(case)
        assert len(case.sig) != 64, _describe(case)
        assert run(case) is False, _describe(case)


def test_ed25519_wrong_length_signatures_are_rejected() -> None:
    short_or_long = [c for c in cases(ED25519) if len(c.sig) != 64]
    assert len(short_or_long) == 12
    for case in short_or_long:
        assert case.result == "invalid", _describe(case)
        assert run(case) is False, _describe(case)


# --- sweeps: every vector run, counted ----------------------------------------------------


@pytest.mark.parametrize("name", [ED25519, P1363, DER])
def test_sweep_runs_every_vector(name: str) -> None:
    data = _load(name)
    in_file = sum(len(g["tests"]) for g in data["testGroups"])
    assert in_file == data["numberOfTests"], f"{name}: numberOfTests disagrees with the groups"

    ran = 0
    tally: Counter[tuple[str, bool]] = Counter()
    wrong: list[str] = []
    for case in cases(name):
        got = run(case)
        ran += 1
        tally[(case.result, got)] += 1
        if got is not expected(case):
            wrong.append(_describe(case))

    assert ran == in_file == len(cases(name))
    assert not wrong, "\n".join(wrong)
    by_result = Counter(c.result for c in cases(name))
    assert dict(by_result) == EXPECTED_COUNTS[name]
    assert by_result["acceptable"] == 0
    if name == DER:
        assert tally == Counter({("valid", False): 174, ("invalid", False): 310})
        assert not [c for c in cases(name) if len(c.sig) == 64]
    else:
        counts = EXPECTED_COUNTS[name]
        assert tally == Counter(
            {("valid", True): counts["valid"], ("invalid", False): counts["invalid"]}
        )


def test_every_tc_id_is_unique_per_file() -> None:
    for name in (ED25519, P1363, DER):
        ids = [c.tc_id for c in cases(name)]
        assert len(ids) == len(set(ids)), name
