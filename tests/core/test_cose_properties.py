"""Property tests of the COSE_Sign1 layer: round trips and single-bit tampering."""

from __future__ import annotations

from typing import Final

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quarantine.core.cose import CoseError, check_alg, decode_sign1, encode_sign1
from quarantine.core.keys import ALG_EDDSA, ALG_ES256, Signer

SIGNERS: Final = {"EdDSA": Signer.generate(ALG_EDDSA), "ES256": Signer.generate(ALG_ES256)}
ALG_NAMES: Final = sorted(SIGNERS)


def _accepted(data: bytes, signer: Signer) -> bool:
    """The whole verifier path: strict decode, alg check, signature."""
    try:
        msg = decode_sign1(data)
        check_alg(msg)
    except CoseError:
        return False
    return msg.verify_with(signer.public)


def _flip(data: bytes, bit: int) -> bytes:
    out = bytearray(data)
    out[bit // 8] ^= 0x80 >> (bit % 8)
    return bytes(out)


@settings(max_examples=60, deadline=None)
@given(name=st.sampled_from(ALG_NAMES), payload=st.binary(max_size=600), tagged=st.booleans())
def test_sign_decode_verify_round_trip(name: str, payload: bytes, tagged: bool) -> None:
    signer = SIGNERS[name]
    data = encode_sign1(payload, signer)
    if tagged:
        data = b"\xd2" + data
    msg = decode_sign1(data)
    assert msg.payload == payload
    assert msg.kid == signer.kid
    assert check_alg(msg) == signer.alg
    assert msg.verify_with(signer.public) is True


@settings(max_examples=150, deadline=None)
@given(name=st.sampled_from(ALG_NAMES), payload=st.binary(max_size=200), data=st.data())
def test_any_single_bit_flip_is_never_accepted(
    name: str, payload: bytes, data: st.DataObject
) -> None:
    signer = SIGNERS[name]
    encoded = encode_sign1(payload, signer)
    assert _accepted(encoded, signer)
    bit = data.draw(st.integers(0, len(encoded) * 8 - 1), label="bit")
    assert not _accepted(_flip(encoded, bit), signer)


@pytest.mark.parametrize("name", ALG_NAMES)
@pytest.mark.parametrize("tagged", [False, True])
def test_every_single_bit_flip_of_one_message_is_never_accepted(name: str, tagged: bool) -> None:
    """Exhaustive over every bit of one message, tagged and untagged."""
    signer = SIGNERS[name]
    encoded = encode_sign1(b"plant quarantine certificate", signer)
    if tagged:
        encoded = b"\xd2" + encoded
    assert _accepted(encoded, signer)
    accepted = [bit for bit in range(len(encoded) * 8) if _accepted(_flip(encoded, bit), signer)]
    assert accepted == []


@settings(max_examples=300, deadline=None)
@given(blob=st.binary(max_size=200))
def test_arbitrary_bytes_are_refused_with_a_cose_error_only(blob: bytes) -> None:
    """Untrusted bytes either decode to a Sign1 or raise ``CoseError`` — nothing else."""
    try:
        msg = decode_sign1(blob)
    except CoseError:
        return
    assert isinstance(msg.payload, bytes)
