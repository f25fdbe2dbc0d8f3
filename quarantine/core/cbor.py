"""Strict CBOR decoding for untrusted bytes.

``cbor2`` does the parsing; this module adds what a verifier of untrusted input
needs on top: no trailing bytes, bounded nesting, no duplicate map keys, no
indefinite-length items and no semantic tags at all (a tag could otherwise make
the decoder build arbitrary Python objects such as regexes or big decimals).
"""

from __future__ import annotations

import io
from typing import Any, NoReturn

import cbor2

from quarantine.errors import InputError

#: Tags that ``cbor2`` decodes into Python objects on its own.  Each is refused.
#: (cbor2 6 decodes 0-5, 25, 28-30, 35-37, 52, 54, 100, 256, 258, 260, 261, 1004 and
#: 55799; the list covers those and neighbours a later version may add.)
_SEMANTIC_TAGS = (*range(64), 100, 256, *range(258, 272), 1004, 1040, 55799)


class CborError(InputError):
    """Bytes that are not acceptable CBOR."""


def _refuse_semantic(decoder: cbor2.CBORDecoder, *_: object) -> NoReturn:
    raise cbor2.CBORDecodeError("semantic tags are not allowed")


def _refuse_tag(*_: object) -> NoReturn:
    raise cbor2.CBORDecodeError("tags are not allowed")


_REFUSE = dict.fromkeys(_SEMANTIC_TAGS, _refuse_semantic)


def strict_loads(data: bytes, *, max_depth: int = 8, what: str = "CBOR") -> Any:
    """Decode exactly one CBOR item that fills ``data``; refuse anything unusual."""
    fp = io.BytesIO(data)
    try:
        decoder = cbor2.CBORDecoder(
            fp,
            max_depth=max_depth,
            allow_indefinite=False,
            allow_duplicate_keys=False,
            semantic_decoders=_REFUSE,
            tag_hook=_refuse_tag,
        )
        value = decoder.decode()
    except RecursionError as exc:  # pragma: no cover - max_depth triggers first
        raise CborError(
            "CBOR_TOO_DEEP", f"{what} 嵌套过深", f"{what} is nested too deeply"
        ) from exc
    except (cbor2.CBORDecodeError, ValueError, OverflowError, MemoryError) as exc:
        if "depth" in str(exc):
            raise CborError(
                "CBOR_TOO_DEEP", f"{what} 嵌套过深", f"{what} is nested too deeply"
            ) from exc
        raise CborError(
            "CBOR_MALFORMED", f"{what} 编码无效", f"{what} is not well-formed CBOR: {exc}"
        ) from exc
    if fp.tell() != len(data):
        raise CborError(
            "CBOR_TRAILING_BYTES",
            f"{what} 之后有多余字节",
            f"{len(data) - fp.tell()} trailing bytes after {what}",
        )
    return value


def dumps(value: Any) -> bytes:
    """Deterministic (canonical, RFC 8949 §4.2) encoding."""
    return cbor2.dumps(value, canonical=True)
