"""Issuing: validate a certificate document, number it, salt it, sign it."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Protocol

from quarantine.core.document import from_document
from quarantine.core.keys import Signer
from quarantine.core.model import CHINA_TZ, Certificate, CertificateNumber
from quarantine.core.regions import RegionTable
from quarantine.core.signing import SignedCertificate, sign_certificate
from quarantine.core.validate import CertificateInvalid, validate
from quarantine.errors import InputError

_PLACEHOLDER = "000000-2000-000001"


class NumberRegistry(Protocol):
    """Hands out certificate numbers; a number is never handed out twice."""

    def allocate(self, region: str, year: int, now: datetime) -> CertificateNumber: ...

    def claim(self, number: CertificateNumber, now: datetime) -> None: ...


@dataclass(frozen=True)
class Draft:
    """A validated certificate that has no number yet (``wants_number``) or an unclaimed one."""

    certificate: Certificate
    wants_number: bool


def check(doc: Mapping[str, Any], regions: RegionTable, *, now: datetime) -> Draft:
    """Validate a document; nothing is claimed.  ``CertificateInvalid`` lists every problem."""
    body = dict(doc)
    body.setdefault("issued_at", now.astimezone(CHINA_TZ).isoformat(timespec="seconds"))
    wants_number = not body.get("number")
    if wants_number:
        body["number"] = _PLACEHOLDER
    cert = from_document(body)
    problems = validate(cert, regions)
    if wants_number:
        problems = [p for p in problems if not p.field.startswith("number")]
    if problems:
        raise CertificateInvalid(problems)
    return Draft(cert, wants_number)


def finalize(
    draft: Draft, numbers: NumberRegistry | None, *, now: datetime, salt: bytes | None = None
) -> Certificate:
    """Give the draft its number (allocated, or its own claimed) and its digest salt."""
    cert = draft.certificate
    if numbers is not None:
        if draft.wants_number:
            year = cert.issued_at.astimezone(CHINA_TZ).year
            cert = replace(cert, number=numbers.allocate(cert.issuing_agency.region, year, now))
        else:
            numbers.claim(cert.number, now)
    elif draft.wants_number:
        raise InputError(
            "NUMBER_REQUIRED",
            "缺少证书编号",
            "the certificate has no number and no number registry is configured",
        )
    return replace(cert, salt=salt if salt is not None else os.urandom(16))


def prepare(
    doc: Mapping[str, Any],
    regions: RegionTable,
    *,
    now: datetime,
    numbers: NumberRegistry | None = None,
    salt: bytes | None = None,
) -> Certificate:
    """A validated, numbered certificate with its digest salt (:func:`check` then :func:`finalize`).

    A document without ``number`` gets the next number of its issuing agency
    from ``numbers``; a document with one has it claimed there (refused if it
    was issued before).  Nothing is claimed unless the rest is valid.
    """
    return finalize(check(doc, regions, now=now), numbers, now=now, salt=salt)


def issue(
    cert: Certificate, signer: Signer, *, key_region: str, base_url: str
) -> SignedCertificate:
    """Sign ``cert`` with a key of its own province (``key_region`` is the key's region)."""
    if cert.number.region[:2] != key_region[:2]:
        raise InputError(
            "KEY_REGION_MISMATCH",
            "签名密钥不属于签发机关所在省份",
            f"a key of {key_region} cannot sign for {cert.number.region}",
        )
    return sign_certificate(cert, signer, base_url=base_url)
