"""Certificate <-> compact CBOR map (the signed content of the QR).

The QR carries what an inspector compares at the roadside; the rest of the
record stays in the registry, bound by ``detail_digest`` (DESIGN §3).  Small
integer keys; codes from :mod:`quarantine.core.vocab` instead of repeated
words; a text travels as a CBOR text string (UTF-8) or, when shorter, as a byte
string holding its GB 18030 encoding (two bytes for most Chinese characters
instead of three).

Key map (absent keys mean "empty"):

==  ===========================  =========================================
1   kind                         1 transport, 2 producing area, 3 requirement, 4 project
2   number                       region*10^10 + year*10^6 + serial
3   delegating agency            0 = the issuing region's province, else region code
4   officer                      [number, name]
5   issued_at                    seconds since 1970-01-01T00:00Z
6   valid_from                   days since 1970-01-01
7   validity                     valid_to - valid_from, in days
8   items                        [[product, unit, quantity, spec?, variety?], ...]
9   statement                    code in STATEMENTS, or text
10  references                   {1: pass, 2: letter, 3: original, 4: [numbers]}
11  detail digest                16 bytes
12  scope                        1 intra-province, 2 inter-province
13  consignor                    name, or [name, registration]
14  consignee                    name, or [name, registration]
15  conveyance                   [type code or text, identifier]
16  route                        [from, to, via...]
17  producer                     name, or [name, registration]
18  origin (place of production)  text
19  category                     text
20  requirements                 text
21  project                      [name, district, contractor, site]
==  ===========================  =========================================
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Final, TypeVar

from quarantine.core import cbor
from quarantine.core.document import to_document
from quarantine.core.model import (
    Agency,
    Certificate,
    CertificateNumber,
    Conveyance,
    Kind,
    LineItem,
    Officer,
    Party,
    Project,
    References,
    Route,
    Scope,
)
from quarantine.core.vocab import (
    CONVEYANCE_TYPES,
    SPEC_MEASURES,
    SPEC_UNITS,
    SPECIES,
    STATEMENTS,
    UNITS,
    code_for,
    species_code,
    statement_code,
)
from quarantine.errors import InputError

EPOCH: Final = date(1970, 1, 1)
DIGEST_BYTES: Final = 16
_DIGEST_CONTEXT: Final = b"quarantine/detail/v1\x00"
_KINDS: Final = {Kind.TRANSPORT: 1, Kind.PRODUCING_AREA: 2, Kind.REQUIREMENT: 3, Kind.PROJECT: 4}
_KINDS_BACK: Final = {v: k for k, v in _KINDS.items()}
_SCOPES: Final = {Scope.INTRA_PROVINCE: 1, Scope.INTER_PROVINCE: 2}
_SCOPES_BACK: Final = {v: k for k, v in _SCOPES.items()}
_SPEC_RE: Final = re.compile(
    "^(" + "|".join(sorted(SPEC_MEASURES.values(), key=len, reverse=True)) + r")"
    r"([1-9]\d{0,3})(?:-([1-9]\d{0,3}))?(cm|mm|m)$"
)
MAX_TEXT_BYTES: Final = 400
_T = TypeVar("_T")
_KEYS: Final = frozenset(range(1, 22))
_REQUIRED_KEYS: Final = frozenset((1, 2, 4, 5, 6, 7, 8, 9, 11))
_REFERENCE_KEYS: Final = frozenset((1, 2, 3, 4))
_INT_ONLY: Final = frozenset((int,))
_NO_REFERENCES: Final = References()
_ITEM_NAMES: Final = tuple(f"items[{i}]" for i in range(10))


class PayloadContentError(InputError):
    """Signed content that does not describe a certificate."""

    def __init__(self, detail: str) -> None:
        super().__init__(
            "PAYLOAD_CONTENT_INVALID",
            f"证书内容结构无效：{detail}",
            f"certificate content is malformed: {detail}",
        )


# ---------------------------------------------------------------- text


def _text(value: str) -> str | bytes:
    utf8_len = len(value.encode("utf-8"))
    try:
        gb = value.encode("gb18030")
    except UnicodeEncodeError:  # pragma: no cover - GB 18030 covers all of Unicode
        return value
    return gb if len(gb) < utf8_len else value


def _untext(value: object, what: str) -> str:
    if type(value) is str:
        text = value
    elif type(value) is bytes:
        try:
            text = value.decode("gb18030")
        except UnicodeDecodeError:
            raise PayloadContentError(f"{what}: bad GB 18030 text") from None
    else:
        raise PayloadContentError(f"{what}: expected text")
    if len(text) > MAX_TEXT_BYTES or not text.isprintable():
        raise PayloadContentError(f"{what}: text too long or with control characters")
    return text


def _int(value: object, what: str, lo: int = 0, hi: int = 2**53) -> int:
    if type(value) is not int or not lo <= value <= hi:  # bool is not int here
        raise PayloadContentError(f"{what}: expected an integer in [{lo}, {hi}]")
    return value


def _list(value: object, what: str, lo: int, hi: int) -> list[Any]:
    if type(value) is not list or not lo <= len(value) <= hi:
        raise PayloadContentError(f"{what}: expected a list of {lo}..{hi} elements")
    return value


def _region(value: object, what: str) -> str:
    return str(_int(value, what, 100000, 999999))


# ---------------------------------------------------------------- parts


def _party(party: Party) -> Any:
    return (
        [_text(party.name), _text(party.registration)] if party.registration else _text(party.name)
    )


def _unparty(value: object, what: str) -> Party:
    if type(value) is list:
        items = _list(value, what, 2, 2)
        return _assemble(
            Party,
            {
                "name": _untext(items[0], what),
                "address": "",
                "registration": _untext(items[1], what),
            },
        )
    return _assemble(Party, {"name": _untext(value, what), "address": "", "registration": ""})


def _quantity(q: Decimal) -> Any:
    if q == q.to_integral_value():
        return int(q)
    sign, digits, exponent = q.normalize().as_tuple()
    mantissa = int("".join(map(str, digits))) * (-1 if sign else 1)
    return [mantissa, exponent]


def _unquantity(value: object, what: str) -> Decimal:
    if type(value) is list:
        mantissa, exponent = _list(value, what, 2, 2)
        return Decimal(_int(mantissa, what, 1, 10**12)).scaleb(_int(exponent, what, -6, -1))
    return Decimal(_int(value, what, 1, 10**12))


def _spec(text: str) -> Any:
    match = _SPEC_RE.match(text)
    if not match:
        return _text(text)
    measure = code_for(SPEC_MEASURES, match.group(1))
    unit = code_for(SPEC_UNITS, match.group(4))
    out: list[Any] = [measure, unit, int(match.group(2))]
    if match.group(3):
        out.append(int(match.group(3)))
    return out


def _unspec(value: object, what: str) -> str:
    if type(value) is not list:
        return _untext(value, what)
    parts = tuple(value)
    # Type check by set: bool compares equal to int and would hit the cache.
    if not 3 <= len(parts) <= 4 or not _INT_ONLY.issuperset(map(type, parts)):
        raise PayloadContentError(f"{what}: bad specification")
    text = _spec_text(parts)
    if text is None:
        raise PayloadContentError(f"{what}: bad specification")
    return text


@functools.lru_cache(maxsize=4096)
def _spec_text(parts: tuple[int, ...]) -> str | None:
    """``(measure, unit, low[, high])`` → e.g. ``胸径12-15cm``; ``None`` if out of range."""
    measure, unit = SPEC_MEASURES.get(parts[0]), SPEC_UNITS.get(parts[1])
    if measure is None or unit is None or not all(1 <= p <= 9999 for p in parts[2:]):
        return None
    return f"{measure}{'-'.join(map(str, parts[2:]))}{unit}"


def _item(item: LineItem) -> list[Any]:
    code = species_code(item.product)
    product: Any = code if code is not None else _text(item.product)
    unit_code = code_for(UNITS, item.unit)
    out: list[Any] = [
        product,
        unit_code if unit_code is not None else _text(item.unit),
        _quantity(item.quantity),
    ]
    default_variety = SPECIES[code][1] if code is not None else ""
    variety = None if item.variety == default_variety else _text(item.variety)
    spec = _spec(item.specification) if item.specification else None
    if variety is not None:
        out += [spec, variety]
    elif spec is not None:
        out.append(spec)
    return out


def _unitem(value: object, what: str) -> LineItem:
    parts = _list(value, what, 3, 5)
    product_raw, unit_raw, qty_raw = parts[0], parts[1], parts[2]
    variety = ""
    if type(product_raw) is int:
        entry = SPECIES.get(product_raw)
        if entry is None:
            raise PayloadContentError(f"{what}: unknown species code {product_raw}")
        product, variety = entry
    else:
        product = _untext(product_raw, what)
    if type(unit_raw) is int:
        unit = UNITS.get(unit_raw)
        if unit is None:
            raise PayloadContentError(f"{what}: unknown unit code {unit_raw}")
    else:
        unit = _untext(unit_raw, what)
    spec = ""
    if len(parts) >= 4 and parts[3] is not None:
        spec = _unspec(parts[3], what)
    if len(parts) == 5:
        variety = _untext(parts[4], what)
    return _assemble(
        LineItem,
        {
            "product": product,
            "quantity": _unquantity(qty_raw, what),
            "unit": unit,
            "variety": variety,
            "specification": spec,
            "remarks": "",
        },
    )


def _unreferences(refs_raw: object) -> References:
    if (
        type(refs_raw) is not dict
        or not _REFERENCE_KEYS.issuperset(refs_raw)
        or not _INT_ONLY.issuperset(map(type, refs_raw))
    ):
        raise PayloadContentError("references: expected a map with keys 1..4")
    return _assemble(
        References,
        {
            "producing_area_pass": _unnumber(refs_raw[1], "references") if 1 in refs_raw else "",
            "requirement_letter": _unnumber(refs_raw[2], "references") if 2 in refs_raw else "",
            "original": _unnumber(refs_raw[3], "references") if 3 in refs_raw else "",
            "certificates": tuple(
                _unnumber(v, "references") for v in _list(refs_raw[4], "references", 0, 50)
            )
            if 4 in refs_raw
            else (),
        },
    )


def _number(text: str) -> int:
    return CertificateNumber.parse(text).as_int()


def _unnumber_obj(value: object, what: str) -> CertificateNumber:
    try:
        return CertificateNumber.from_int(_int(value, what))
    except ValueError:
        raise PayloadContentError(f"{what}: bad certificate number") from None


def _unnumber(value: object, what: str) -> str:
    """A referenced number as text, with the checks of ``CertificateNumber.from_int``."""
    if type(value) is int and 10**15 <= value < 10**16:
        region, rest = divmod(value, 10**10)
        year, serial = divmod(rest, 10**6)
        if serial and year >= 1000:
            return f"{region}-{year:04d}-{serial:06d}"
    return str(_unnumber_obj(value, what))  # raises the error for bad numbers


def _assemble(cls: type[_T], fields: dict[str, Any]) -> _T:
    """Build a frozen dataclass from *every* field, bypassing its ``__init__``.

    A frozen dataclass's generated ``__init__`` sets each field through
    ``object.__setattr__``; over the ~60 fields of a decoded certificate that
    is a measurable share of a verification (bench/RESULTS-core.md).  The decoded values are already
    checked here, the model classes have no ``__post_init__``, and
    tests/core/test_payload_codec.py checks that decoded objects equal ones
    built through ``__init__`` with exactly the dataclass's fields.
    """
    obj = object.__new__(cls)
    obj.__dict__.update(fields)
    return obj


# ---------------------------------------------------------------- whole


def to_payload_map(cert: Certificate) -> dict[int, Any]:
    """The roadside view of ``cert`` as a CBOR-ready map (see the module table)."""
    m: dict[int, Any] = {
        1: _KINDS[cert.kind],
        2: cert.number.as_int(),
        4: [_text(cert.officer.number), _text(cert.officer.name)]
        if cert.officer.name
        else [_text(cert.officer.number)],
        5: int(cert.issued_at.timestamp()),
        6: (cert.valid_from - EPOCH).days,
        7: (cert.valid_to - cert.valid_from).days,
        8: [_item(it) for it in cert.items],
        11: cert.detail_digest or detail_digest(cert),
    }
    code = statement_code(cert.statement)
    m[9] = code if code is not None else _text(cert.statement)
    if cert.delegating_agency is not None:
        region = cert.delegating_agency.region
        m[3] = 0 if region == cert.number.region[:2] + "0000" else int(region)
    refs: dict[int, Any] = {}
    for key, value in (
        (1, cert.references.producing_area_pass),
        (2, cert.references.requirement_letter),
        (3, cert.references.original),
    ):
        if value:
            refs[key] = _number(value)
    if cert.references.certificates:
        refs[4] = [_number(n) for n in cert.references.certificates]
    if refs:
        m[10] = refs
    if cert.scope is not None:
        m[12] = _SCOPES[cert.scope]
    for key, party in ((13, cert.consignor), (14, cert.consignee), (17, cert.producer)):
        if party is not None:
            m[key] = _party(party)
    if cert.conveyance is not None:
        ctype = code_for(CONVEYANCE_TYPES, cert.conveyance.type)
        m[15] = [
            ctype if ctype is not None else _text(cert.conveyance.type),
            _text(cert.conveyance.identifier),
        ]
    if cert.route is not None:
        m[16] = [
            int(cert.route.origin),
            int(cert.route.destination),
            *(int(v) for v in cert.route.via),
        ]
    if cert.kind is Kind.PRODUCING_AREA and cert.origin:
        m[18] = _text(cert.origin)
    if cert.category:
        m[19] = _text(cert.category)
    if cert.requirements:
        m[20] = _text(cert.requirements)
    if cert.project is not None:
        p = cert.project
        m[21] = [_text(p.name), int(p.district), _text(p.contractor), _text(p.site)]
    return m


def from_payload_map(m: object, agency_name: Callable[[str], str] | None = None) -> Certificate:
    """Rebuild the roadside view from a decoded map; raise ``PayloadContentError``.

    ``agency_name`` gives agencies their names (the QR carries region codes only).
    """
    # Set operations instead of per-key loops: this runs on every verification.
    if (
        type(m) is not dict
        or not _KEYS.issuperset(m)
        or not _INT_ONLY.issuperset(map(type, m))  # a bool key equals 1 in a set
    ):
        raise PayloadContentError("expected a map with integer keys 1..21")
    if not _REQUIRED_KEYS.issubset(m):
        raise PayloadContentError(f"missing key {min(_REQUIRED_KEYS.difference(m))}")
    kind = _KINDS_BACK.get(m[1])
    if kind is None:
        raise PayloadContentError("unknown kind")
    number = _unnumber_obj(m[2], "number")
    officer = _list(m[4], "officer", 1, 2)
    valid_from = EPOCH + timedelta(days=_int(m[6], "valid_from", 0, 200_000))
    statement_raw = m[9]
    if type(statement_raw) is int:
        entry = STATEMENTS.get(statement_raw)
        if entry is None:
            raise PayloadContentError("unknown statement code")
        statement = entry[0]
    else:
        statement = _untext(statement_raw, "statement")
    digest = m[11]
    if type(digest) is not bytes or len(digest) != DIGEST_BYTES:
        raise PayloadContentError("detail digest must be 16 bytes")
    delegating = None
    if 3 in m:
        code = _int(m[3], "delegating agency", 0, 999999)
        region = number.region[:2] + "0000" if code == 0 else _region(code, "delegating agency")
        delegating = _assemble(
            Agency, {"region": region, "name": agency_name(region) if agency_name else ""}
        )
    references = _unreferences(m[10]) if 10 in m else _NO_REFERENCES
    scope = None
    if 12 in m:
        scope = _SCOPES_BACK.get(m[12])
        if scope is None:
            raise PayloadContentError("unknown scope")
    conveyance = None
    if 15 in m:
        ctype_raw, ident = _list(m[15], "conveyance", 2, 2)
        if type(ctype_raw) is int:
            ctype = CONVEYANCE_TYPES.get(ctype_raw)
            if ctype is None:
                raise PayloadContentError("unknown conveyance code")
        else:
            ctype = _untext(ctype_raw, "conveyance")
        conveyance = _assemble(
            Conveyance, {"type": ctype, "identifier": _untext(ident, "conveyance")}
        )
    route = None
    if 16 in m:
        codes = [_region(v, "route") for v in _list(m[16], "route", 2, 7)]
        route = _assemble(
            Route,
            {"origin": codes[0], "destination": codes[1], "via": tuple(codes[2:]), "text": ""},
        )
    project = None
    if 21 in m:
        name, district, contractor, site = _list(m[21], "project", 4, 4)
        project = Project(
            _untext(name, "project"),
            _region(district, "project"),
            _untext(contractor, "project"),
            _untext(site, "project"),
        )
    return _assemble(
        Certificate,
        {
            "kind": kind,
            "number": number,
            "issuing_agency": _assemble(
                Agency,
                {
                    "region": number.region,
                    "name": agency_name(number.region) if agency_name else "",
                },
            ),
            "officer": _assemble(
                Officer,
                {
                    "name": _untext(officer[1], "officer") if len(officer) > 1 else "",
                    "number": _untext(officer[0], "officer"),
                },
            ),
            "issued_at": datetime.fromtimestamp(_int(m[5], "issued_at", 0, 2**40), UTC),
            "valid_from": valid_from,
            "valid_to": valid_from + timedelta(days=_int(m[7], "validity", 0, 4000)),
            "items": tuple(map(_unitem, _list(m[8], "items", 1, 10), _ITEM_NAMES)),
            "statement": statement,
            "delegating_agency": delegating,
            "references": references,
            "scope": scope,
            "consignor": _unparty(m[13], "consignor") if 13 in m else None,
            "consignee": _unparty(m[14], "consignee") if 14 in m else None,
            "agent": None,
            "origin": _untext(m[18], "origin") if 18 in m else "",
            "conveyance": conveyance,
            "route": route,
            "producer": _unparty(m[17], "producer") if 17 in m else None,
            "category": _untext(m[19], "category") if 19 in m else "",
            "requirements": _untext(m[20], "requirements") if 20 in m else "",
            "project": project,
            "salt": b"",
            "detail_digest": digest,
        },
    )


def encode_content(cert: Certificate) -> bytes:
    """The canonical CBOR bytes that are signed."""
    return cbor.dumps(to_payload_map(cert))


def decode_content(data: bytes, agency_name: Callable[[str], str] | None = None) -> Certificate:
    """Inverse of :func:`encode_content` for untrusted bytes."""
    return from_payload_map(
        cbor.strict_loads(data, max_depth=6, what="certificate content"), agency_name
    )


def full_record(cert: Certificate) -> dict[str, Any]:
    """Everything the registry keeps, as a document (agent's full ID included)."""
    doc = to_document(cert)
    doc.pop("detail_digest", None)
    if cert.agent is not None:
        doc["agent"] = {
            "name": cert.agent.name,
            "id_number": cert.agent.id_number,
            "phone": cert.agent.phone,
        }
    doc["items"] = [
        dict(d, remarks=it.remarks) for d, it in zip(doc["items"], cert.items, strict=True)
    ]
    doc["salt"] = cert.salt.hex()
    return doc


def detail_digest(cert: Certificate) -> bytes:
    """SHA-256 of the full record (with its salt), first 16 bytes."""
    return hashlib.sha256(_DIGEST_CONTEXT + cbor.dumps(full_record(cert))).digest()[:DIGEST_BYTES]


def record_matches(qr_cert: Certificate, record: Certificate) -> bool:
    """True when the registry's full ``record`` is the one the QR was signed for."""
    return to_payload_map(record) == to_payload_map(qr_cert)
