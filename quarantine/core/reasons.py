"""Reason codes of verdicts, with words for people in Chinese and English."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Final


class Severity(StrEnum):
    ERROR = "error"  # makes the verdict INVALID
    WARNING = "warning"  # shown to the user; the verdict stands
    INFO = "info"


@dataclass(frozen=True)
class Reason:
    code: str
    severity: Severity
    message_zh: str
    message_en: str
    detail: str = ""

    def as_dict(self) -> dict[str, str]:
        out = {
            "code": self.code,
            "severity": self.severity.value,
            "zh": self.message_zh,
            "en": self.message_en,
        }
        if self.detail:
            out["detail"] = self.detail
        return out


_E, _W, _I = Severity.ERROR, Severity.WARNING, Severity.INFO

CATALOGUE: Final = MappingProxyType(
    {
        "NOT_A_CERTIFICATE": (
            _E,
            "这不是检疫证书二维码",
            "This QR code is not a quarantine certificate",
        ),
        "BAD_SIGNATURE": (
            _E,
            "签名无效：证书内容被改动或伪造",
            "Bad signature: the content was altered or forged",
        ),
        "UNKNOWN_KEY": (_E, "签名密钥不在信任列表中", "The signing key is not on the trust list"),
        "KEY_OUTSIDE_WINDOW": (
            _E,
            "签发时间不在该密钥的有效期内",
            "Issued outside the signing key's validity window",
        ),
        "ISSUER_MISMATCH": (
            _E,
            "签名机关与证书签发地区不符",
            "The signing region does not match the issuing agency",
        ),
        "ISSUER_NOT_MEMBER": (
            _E,
            "签发时该地区不是互认成员",
            "The issuing region was not a member when it was issued",
        ),
        "ISSUED_IN_FUTURE": (_E, "签发时间晚于当前时间", "The issue time lies in the future"),
        "NOT_YET_VALID": (_E, "证书尚未生效", "The certificate is not yet valid"),
        "EXPIRED": (_E, "证书已过有效期", "The certificate has expired"),
        "REVOKED": (_E, "证书已被撤销", "The certificate has been revoked"),
        "SUPERSEDED": (
            _E,
            "证书已被换发的新证书取代",
            "The certificate was superseded by a re-issue",
        ),
        "SUSPENDED": (_E, "证书已被暂停使用", "The certificate is suspended"),
        "CLOSED": (
            _E,
            "货物已到达查验，证书已核销",
            "The load has arrived and the certificate is closed",
        ),
        "UNKNOWN_TO_REGISTRY": (
            _E,
            "登记系统中没有此证书",
            "The registry has no record of this certificate",
        ),
        "MALFORMED": (_E, "二维码内容已损坏或格式无效", "The QR content is damaged or malformed"),
        "UNKNOWN_HOST": (
            _W,
            "二维码网址不是已知的核验网址，请勿在该网站输入信息",
            "The QR's web address is not a known verification host",
        ),
        "TRUST_LIST_EXPIRED": (
            _W,
            "本机信任列表已过期，请更新",
            "The local trust list has expired; update it",
        ),
        "STATUS_STALE": (
            _W,
            "状态列表已过期，撤销状态可能不是最新",
            "The status list is stale; revocations may be missing",
        ),
        "STATUS_UNCHECKED": (
            _I,
            "未查询登记状态（离线核验）",
            "Registry status not checked (offline verification)",
        ),
        # Recognition between members of the federation (quarantine.core.recognition).
        "RECOGNISED": (_I, "本地区互认有效", "Recognised in this region"),
        "ORIGIN_NOT_MEMBER": (
            _E,
            "签发地区在该日不是互认成员",
            "The issuing region is not a member on that day",
        ),
        "REGION_NOT_MEMBER": (
            _E,
            "查询地区在该日不是互认成员",
            "The asking region is not a member on that day",
        ),
        "KIND_NOT_COVERED": (
            _E,
            "互认协议不包括此类记录",
            "The agreement does not cover this kind of record",
        ),
        "OPERATOR_BARRED": (
            _E,
            "经营者因信用监管被限制，不予互认",
            "An operator of the record is barred under joint credit supervision",
        ),
        "LOW_RISK_NO_REQUIREMENT": (
            _I,
            "低风险植物类别，无需植物检疫要求书",
            "Low-risk plant category: no requirement letter needed",
        ),
        "REQUIREMENT_LETTER_FOUND": (
            _I,
            "本地区有效的植物检疫要求书",
            "A valid requirement letter of this region exists",
        ),
        "REQUIREMENT_LETTER_MISSING": (
            _E,
            "没有本地区对该收货单位和类别有效的植物检疫要求书",
            "No valid requirement letter of this region for the consignee and category",
        ),
        "SHARED_DATA_STALE": (
            _W,
            "与签发地区节点的同步已超时，状态可能不是最新",
            "Data from the issuing region's node is stale; status may be out of date",
        ),
    }
)


@functools.lru_cache(maxsize=1024)
def reason(code: str, detail: str = "") -> Reason:
    """The catalogued reason ``code``; unknown codes count as malformed input."""
    severity, zh, en = CATALOGUE.get(code, CATALOGUE["MALFORMED"])
    return Reason(code, severity, zh, en, detail)
