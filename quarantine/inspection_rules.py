"""The deployment's inspection rules: reuse-alert limits and credit rules.

``QUARANTINE_INSPECTION_RULES`` names a TOML (``.toml``) or JSON file; without it
the built-in defaults apply (``core.reuse.ReusePolicy()``, ``core.credit.DEFAULT_RULES``).
The file is read and checked here (the core does no file I/O); the pure rules get
the values.  Both sections and every key are optional; unknown keys are refused::

    [reuse]
    max_speed_kmh = 100           # IMPOSSIBLE_TRAVEL above this speed
    distance_slack_km = 25        # taken off per district centre used
    base_scans = 2                # TOO_MANY_SCANS: base_scans + scans_per_route_place × places
    scans_per_route_place = 2
    same_inspection_minutes = 30  # scans at one checkpoint within this count once
    expiry_grace_minutes = 5      # SCANNED_AFTER_EXPIRY after the end of validity + grace

    [credit]
    watch_days = 365              # WATCH: violations within this many days

    [[credit.rules]]              # replaces the whole default table when given
    severity = "SEVERE"           # at least this severity (MINOR, SERIOUS, SEVERE or 1-3)
    count = 1                     # this many within window_days
    window_days = 365
    bar_days = 365                # bar from the day of the last of them

Entry points call :func:`configure` with their settings at start-up (a bad file stops
them with ``INSPECTION_RULES_UNREADABLE`` or ``INSPECTION_RULES_INVALID``, words in
Chinese and English); the services read :func:`current`.  A process that configured
nothing reads ``QUARANTINE_INSPECTION_RULES`` from the environment on first use.  The
rules are one set per process (a node runs in processes of its own); explicit
``policy``/``rules`` arguments of the services override them.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from quarantine.core.credit import (
    DEFAULT_RULES,
    WATCH_DAYS,
    CreditRule,
    credit_rules_from_mapping,
    describe_rule,
)
from quarantine.core.reuse import ALERT_RULES, ReusePolicy, rules_invalid
from quarantine.errors import EnvironmentProblem, InputError
from quarantine.settings import Settings

#: Largest rules file read, in bytes.
MAX_RULES_FILE: int = 64 * 1024


@dataclass(frozen=True)
class InspectionRules:
    """The limits of the reuse alerts and the credit rules in force."""

    policy: ReusePolicy = field(default_factory=ReusePolicy)
    credit: tuple[CreditRule, ...] = DEFAULT_RULES
    watch_days: int = WATCH_DAYS
    #: Whether a deployment's file set them (``False``: the built-in defaults).
    configured: bool = False


DEFAULTS = InspectionRules()


def from_document(doc: Mapping[str, Any]) -> InspectionRules:
    """The rules of a parsed file (``reuse`` and ``credit`` tables); ``InputError`` when bad."""
    unknown = sorted(set(doc) - {"reuse", "credit"})
    if unknown:
        raise rules_invalid(
            f"含未知部分：{', '.join(unknown)}（可用：reuse, credit）",
            f"unknown sections: {', '.join(unknown)} (known: reuse, credit)",
        )
    reuse, credit = doc.get("reuse", {}), doc.get("credit", {})
    for name, section in (("reuse", reuse), ("credit", credit)):
        if not isinstance(section, Mapping):
            raise rules_invalid(f"{name} 须为表（对象）", f"{name} must be a table (object)")
    try:
        policy = ReusePolicy.from_mapping(reuse)
    except ValueError as exc:  # limits that contradict each other
        raise rules_invalid(f"reuse：{exc}", f"reuse: {exc}") from None
    rules, watch = credit_rules_from_mapping(credit)
    return InspectionRules(policy, rules, watch, configured=True)


def load(path: Path | None) -> InspectionRules:
    """The rules of the file at ``path`` (TOML when it ends in ``.toml``, else JSON);
    the defaults when ``None``.  ``EnvironmentProblem`` when the file is unreadable or bad."""
    if path is None:
        return DEFAULTS
    try:
        raw = path.read_bytes()
        if len(raw) > MAX_RULES_FILE:
            raise ValueError(f"larger than {MAX_RULES_FILE} bytes")
        text = raw.decode("utf-8")
        if path.suffix.lower() == ".toml":
            import tomllib

            doc: object = tomllib.loads(text)
        else:
            doc = json.loads(text)
        if not isinstance(doc, dict):
            raise ValueError("not a table (object)")
    except (OSError, ValueError) as exc:  # tomllib.TOMLDecodeError and JSON errors too
        raise EnvironmentProblem(
            "INSPECTION_RULES_UNREADABLE",
            f"无法读取检查规则文件 {path}：{exc}",
            f"cannot read the inspection rules file {path}: {exc}",
        ) from None
    try:
        return from_document(doc)
    except InputError as exc:
        raise EnvironmentProblem(
            exc.code, f"{exc.message_zh}（{path}）", f"{exc.message_en} ({path})"
        ) from None


_lock = threading.Lock()
_in_force: dict[str, InspectionRules] = {}  # "rules" → those in force in this process


def install(rules: InspectionRules | None) -> None:
    """Put ``rules`` in force for this process (``None``: read the environment again)."""
    with _lock:
        if rules is None:
            _in_force.pop("rules", None)
        else:
            _in_force["rules"] = rules


def configure(settings: Settings) -> InspectionRules:
    """Read and check the rules file of ``settings`` and put its rules in force."""
    rules = load(settings.inspection_rules)
    install(rules)
    return rules


def current() -> InspectionRules:
    """The rules in force: those configured, else the environment's, else the defaults."""
    found = _in_force.get("rules")
    if found is None:
        with _lock:
            found = _in_force.get("rules")
            if found is None:
                found = _in_force["rules"] = load(Settings.from_env().inspection_rules)
    return found


def as_dict(rules: InspectionRules) -> dict[str, Any]:
    """The rules in force as inspectors read them (API and CLI)."""
    limits = rules.policy.as_mapping()
    speed, slack = limits["max_speed_kmh"], limits["distance_slack_km"]
    grace = limits["expiry_grace_minutes"]
    window = limits["same_inspection_minutes"]
    base, per = limits["base_scans"], limits["scans_per_route_place"]
    raised = {
        "SCANNED_AFTER_CLOSED": ("到达核销后仍被扫描", "scanned after the arrival closed it"),
        "PLATE_MISMATCH": ("车牌与证书不符", "the plate differs from the certificate's"),
        "IMPOSSIBLE_TRAVEL": (
            f"两次扫描间速度超过 {speed:g} km/h（用区县中心点时每处减 {slack:g} km）",
            f"speed between two scans over {speed:g} km/h "
            f"({slack:g} km less per district centre used)",
        ),
        "SCANNED_AFTER_EXPIRY": (
            f"有效期结束 {grace:g} 分钟后仍被扫描",
            f"scanned over {grace:g} minutes after the end of validity",
        ),
        "TOO_MANY_SCANS": (
            f"查验次数超过 {base} + {per} × 路线地点数（同一检查站 {window} 分钟内计一次）",
            f"more inspections than {base} + {per} × places on the route "
            f"(one checkpoint within {window} minutes counts once)",
        ),
    }
    return {
        "configured": rules.configured,
        "reuse": {
            "limits": limits,
            "rules": [
                {
                    "rule": code,
                    "zh": words[0],
                    "en": words[1],
                    "raised_when_zh": raised[code][0],
                    "raised_when_en": raised[code][1],
                }
                for code, words in ALERT_RULES.items()
            ],
        },
        "credit": {
            "watch_days": rules.watch_days,
            "rules": [
                {
                    "severity": r.severity.name,
                    "count": r.count,
                    "window_days": r.window_days,
                    "bar_days": r.bar_days,
                    "zh": describe_rule(r)[0],
                    "en": describe_rule(r)[1],
                }
                for r in rules.credit
            ],
        },
    }


__all__ = [
    "DEFAULTS",
    "InspectionRules",
    "as_dict",
    "configure",
    "current",
    "from_document",
    "install",
    "load",
]
