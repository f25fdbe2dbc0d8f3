"""Joint credit supervision (共推信用监管): an operator's violations → a credit status.

Violations are recorded by any member region against an operator (identified
by its quarantine registration number, 检疫登记号) and shared like other
records.  A configurable table of :class:`CreditRule` turns the violations an
operator had up to a day into its status on that day:

* ``BARRED`` - mutual recognition of the operator's records is refused until
  ``barred_through`` (inclusive, China dates);
* ``WATCH`` - recorded violations inside the look-back window, no bar;
* ``GOOD`` - nothing inside the window.

Default table (:data:`DEFAULT_RULES`): one severe violation within 365 days
bars for 365 days from its day; three serious-or-worse violations within 365
days bar for 180 days from the day of the third.  Only violations dated on or
before the day asked about count, so asking about a past day gives the answer
that held then.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import IntEnum, StrEnum
from types import MappingProxyType
from typing import Final

from quarantine.core.model import CHINA_TZ
from quarantine.core.recognition import BarPeriod
from quarantine.core.reuse import checked_number, rules_invalid


class ViolationKind(StrEnum):
    FORGED = "FORGED"  # 伪造、变造证书
    REUSE = "REUSE"  # 一证多用
    GOODS_MISMATCH = "GOODS_MISMATCH"  # 货证不符
    PEST_FOUND = "PEST_FOUND"  # 发现检疫性有害生物
    MISSING_CERTIFICATE = "MISSING_CERTIFICATE"  # 无证调运


VIOLATION_WORDS: Final = MappingProxyType(
    {
        ViolationKind.FORGED: ("伪造或变造证书", "Forged or altered certificate"),
        ViolationKind.REUSE: ("一证多用", "Certificate reused for several loads"),
        ViolationKind.GOODS_MISMATCH: ("货证不符", "Goods do not match the certificate"),
        ViolationKind.PEST_FOUND: ("发现检疫性有害生物", "Quarantine pest found"),
        ViolationKind.MISSING_CERTIFICATE: ("无证调运", "Moved without a certificate"),
    }
)


class ViolationSeverity(IntEnum):
    MINOR = 1  # 一般
    SERIOUS = 2  # 较重
    SEVERE = 3  # 严重


SEVERITY_WORDS: Final = MappingProxyType(
    {
        ViolationSeverity.MINOR: ("一般", "minor"),
        ViolationSeverity.SERIOUS: ("较重", "serious"),
        ViolationSeverity.SEVERE: ("严重", "severe"),
    }
)


class CreditLevel(StrEnum):
    GOOD = "GOOD"
    WATCH = "WATCH"
    BARRED = "BARRED"


LEVEL_WORDS: Final = MappingProxyType(
    {
        CreditLevel.GOOD: ("信用良好", "Good standing"),
        CreditLevel.WATCH: ("重点关注", "Under watch"),
        CreditLevel.BARRED: ("暂停互认", "Mutual recognition suspended"),
    }
)


@dataclass(frozen=True)
class Violation:
    """One recorded violation."""

    id: str  # unique across the federation, e.g. ``330000:17``
    operator: str  # the operator's registration number
    region: str  # region that recorded it
    kind: ViolationKind
    severity: ViolationSeverity
    at: datetime  # aware
    evidence: str = ""
    certificate: str = ""  # the certificate concerned, if any

    @property
    def day(self) -> date:
        return self.at.astimezone(CHINA_TZ).date()


@dataclass(frozen=True)
class CreditRule:
    """``count`` violations of at least ``severity`` within ``window_days`` bar
    the operator for ``bar_days`` counted from the day of the last of them."""

    severity: ViolationSeverity
    count: int
    window_days: int
    bar_days: int

    def __post_init__(self) -> None:
        if self.count < 1 or self.window_days < 1 or self.bar_days < 1:
            raise ValueError("count, window_days and bar_days must be ≥ 1")


DEFAULT_RULES: Final = (
    CreditRule(ViolationSeverity.SEVERE, 1, 365, 365),
    CreditRule(ViolationSeverity.SERIOUS, 3, 365, 180),
)
#: Violations older than this no longer put an operator under watch.
WATCH_DAYS: Final = 365
#: Upper bound of every day count in a deployment's credit rules (about 10 years).
MAX_RULE_DAYS: Final = 3660
_RULE_KEYS: Final = ("severity", "count", "window_days", "bar_days")


def _rule_severity(value: object, field: str) -> ViolationSeverity:
    if isinstance(value, str) and value.upper() in ViolationSeverity.__members__:
        return ViolationSeverity[value.upper()]
    if type(value) is int and value in {int(s) for s in ViolationSeverity}:
        return ViolationSeverity(value)
    raise rules_invalid(
        f"{field} 须为 MINOR、SERIOUS 或 SEVERE（1–3），而非 {value!r}",
        f"{field} must be MINOR, SERIOUS or SEVERE (1-3), not {value!r}",
    )


def credit_rules_from_mapping(
    doc: Mapping[str, object], where: str = "credit"
) -> tuple[tuple[CreditRule, ...], int]:
    """Credit rules and the watch window from a deployment's settings (``[credit]``).

    ``rules``: a list of tables with ``severity`` (``MINOR``/``SERIOUS``/``SEVERE`` or
    1-3), ``count``, ``window_days`` and ``bar_days``; it replaces the whole default
    table when given (``[]``: violations never bar).  ``watch_days``: the window of
    ``WATCH``.  Raises ``InputError`` ``INSPECTION_RULES_INVALID`` naming the field.
    """
    unknown = sorted(set(doc) - {"rules", "watch_days"})
    if unknown:
        raise rules_invalid(
            f"{where} 含未知字段：{', '.join(unknown)}（可用：rules, watch_days）",
            f"{where} has unknown fields: {', '.join(unknown)} (known: rules, watch_days)",
        )
    watch = WATCH_DAYS
    if "watch_days" in doc:
        watch = int(
            checked_number(doc["watch_days"], f"{where}.watch_days", True, 1, MAX_RULE_DAYS)
        )
    if "rules" not in doc:
        return DEFAULT_RULES, watch
    raw = doc["rules"]
    if not isinstance(raw, list | tuple):
        raise rules_invalid(f"{where}.rules 须为规则列表", f"{where}.rules must be a list of rules")
    rules: list[CreditRule] = []
    for i, item in enumerate(raw):
        field = f"{where}.rules[{i}]"
        if not isinstance(item, Mapping):
            raise rules_invalid(f"{field} 须为表（对象）", f"{field} must be a table (object)")
        missing = [k for k in _RULE_KEYS if k not in item]
        extra = sorted(set(item) - set(_RULE_KEYS))
        if missing or extra:
            raise rules_invalid(
                f"{field} 须恰有字段 {', '.join(_RULE_KEYS)}"
                + (f"，缺少 {', '.join(missing)}" if missing else "")
                + (f"，多出 {', '.join(extra)}" if extra else ""),
                f"{field} must have exactly the fields {', '.join(_RULE_KEYS)}"
                + (f"; missing {', '.join(missing)}" if missing else "")
                + (f"; unknown {', '.join(extra)}" if extra else ""),
            )
        rules.append(
            CreditRule(
                _rule_severity(item["severity"], f"{field}.severity"),
                int(checked_number(item["count"], f"{field}.count", True, 1, 100)),
                int(
                    checked_number(
                        item["window_days"], f"{field}.window_days", True, 1, MAX_RULE_DAYS
                    )
                ),
                int(checked_number(item["bar_days"], f"{field}.bar_days", True, 1, MAX_RULE_DAYS)),
            )
        )
    return tuple(rules), watch


def describe_rule(rule: CreditRule) -> tuple[str, str]:
    """One line in Chinese and English saying what ``rule`` does."""
    zh_sev, en_sev = SEVERITY_WORDS[rule.severity]
    worse_zh = "" if rule.severity is ViolationSeverity.SEVERE else "及以上"
    worse_en = "" if rule.severity is ViolationSeverity.SEVERE else " or worse"
    return (
        f"{rule.window_days} 天内 {rule.count} 次{zh_sev}{worse_zh}违规：自最后一次之日起"
        f"暂停互认 {rule.bar_days} 天",
        f"{rule.count} {en_sev}{worse_en} violation(s) within {rule.window_days} days: "
        f"mutual recognition suspended for {rule.bar_days} days from the day of the last",
    )


@dataclass(frozen=True)
class CreditStatus:
    operator: str
    on: date
    level: CreditLevel
    barred_through: date | None = None
    #: The violations behind the level (the bar's, else those under watch).
    because: tuple[Violation, ...] = ()

    @property
    def barred(self) -> bool:
        return self.level is CreditLevel.BARRED

    def explain(self) -> tuple[str, str]:
        """One line in Chinese and English saying why."""
        zh, en = LEVEL_WORDS[self.level]
        if self.barred_through is not None:
            zh += f"，至 {self.barred_through.isoformat()}（含）"
            en += f" through {self.barred_through.isoformat()}"
        if self.because:
            kinds_zh = "、".join(VIOLATION_WORDS[v.kind][0] for v in self.because)
            kinds_en = "; ".join(VIOLATION_WORDS[v.kind][1] for v in self.because)
            zh += f"：{kinds_zh}"
            en += f": {kinds_en}"
        return zh, en


def _bar(
    rule: CreditRule, violations: Sequence[Violation], on: date
) -> tuple[date, tuple[Violation, ...]] | None:
    """The latest bar ``rule`` puts in force on ``on``, if any."""
    relevant = sorted(
        (v for v in violations if v.severity >= rule.severity and v.day <= on),
        key=lambda v: (v.day, v.id),
    )
    best: tuple[date, tuple[Violation, ...]] | None = None
    for end in range(rule.count - 1, len(relevant)):
        group = relevant[end - rule.count + 1 : end + 1]
        last_day = group[-1].day
        if (last_day - group[0].day).days >= rule.window_days:
            continue  # not within one window
        through = last_day + timedelta(days=rule.bar_days - 1)
        if through >= on and (best is None or through > best[0]):
            best = (through, tuple(group))
    return best


def credit_status(
    operator: str,
    violations: Iterable[Violation],
    on: date,
    rules: Sequence[CreditRule] = DEFAULT_RULES,
    watch_days: int = WATCH_DAYS,
) -> CreditStatus:
    """The operator's credit status on day ``on`` (China date)."""
    own = [v for v in violations if v.operator == operator]
    bars = [b for rule in rules if (b := _bar(rule, own, on)) is not None]
    if bars:
        through, group = max(bars, key=lambda b: b[0])
        return CreditStatus(operator, on, CreditLevel.BARRED, through, group)
    recent = tuple(
        sorted(
            (v for v in own if v.day <= on and (on - v.day).days < watch_days),
            key=lambda v: (v.day, v.id),
        )
    )
    if recent:
        return CreditStatus(operator, on, CreditLevel.WATCH, None, recent)
    return CreditStatus(operator, on, CreditLevel.GOOD)


def bar_periods(
    operator: str,
    violations: Iterable[Violation],
    rules: Sequence[CreditRule] = DEFAULT_RULES,
) -> list[BarPeriod]:
    """Every period in which ``rules`` bar ``operator``, for the recognition rules.

    A period runs from the day of the last violation of a qualifying group to the
    end of its bar (inclusive), so ``any(p.covers(d))`` holds exactly when
    :func:`credit_status` says ``BARRED`` on ``d``.  Periods carry the region that
    recorded the last violation and its kind as the reason.
    """
    own = [v for v in violations if v.operator == operator]
    periods: set[BarPeriod] = set()
    for rule in rules:
        relevant = sorted(
            (v for v in own if v.severity >= rule.severity), key=lambda v: (v.day, v.id)
        )
        for end in range(rule.count - 1, len(relevant)):
            group = relevant[end - rule.count + 1 : end + 1]
            last = group[-1]
            if (last.day - group[0].day).days >= rule.window_days:
                continue
            through = last.day + timedelta(days=rule.bar_days - 1)
            periods.add(BarPeriod(last.day, through, last.region, last.kind.value))
    return sorted(periods, key=lambda p: (p.start, p.end or p.start, p.region, p.reason))
