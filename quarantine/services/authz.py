"""Who may do what: roles bound to a region (pure policy, table-tested).

- the public (no token) may only verify;
- an inspector reads, searches, verifies and records re-inspections, arrivals and scans,
  anywhere in the federation;
- an issuer issues, revokes, supersedes, suspends and reinstates certificates of its
  own region only (a district issuer: its district; a provincial issuer: its province);
- an admin manages tokens and keys of its own region (a provincial admin: its province).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from quarantine.errors import QuarantineError


class Role(StrEnum):
    PUBLIC = "public"
    INSPECTOR = "inspector"
    ISSUER = "issuer"
    ADMIN = "admin"


class Action(StrEnum):
    VERIFY = "verify"
    READ = "read"
    RECORD_INSPECTION = "record_inspection"  # re-inspection, arrival, scan
    ISSUE = "issue"
    CHANGE_STATUS = "change_status"  # revoke, supersede, suspend, reinstate
    MANAGE = "manage"  # tokens and keys


_ALLOWED: dict[Role, frozenset[Action]] = {
    Role.PUBLIC: frozenset({Action.VERIFY}),
    Role.INSPECTOR: frozenset({Action.VERIFY, Action.READ, Action.RECORD_INSPECTION}),
    Role.ISSUER: frozenset({Action.VERIFY, Action.READ, Action.ISSUE, Action.CHANGE_STATUS}),
    Role.ADMIN: frozenset({Action.VERIFY, Action.READ, Action.MANAGE}),
}
#: Actions limited to the principal's own region.
_REGIONAL = frozenset({Action.ISSUE, Action.CHANGE_STATUS, Action.MANAGE})


class Forbidden(QuarantineError):
    """The principal may not do this."""


@dataclass(frozen=True)
class Principal:
    role: Role
    region: str = ""
    token_id: str = ""

    @property
    def actor(self) -> str:
        return f"{self.role.value}:{self.token_id}" if self.token_id else self.role.value


PUBLIC = Principal(Role.PUBLIC)


def covers(own: str, target: str) -> bool:
    """A province code covers its districts; a district covers itself."""
    if own == target:
        return True
    if own.endswith("0000"):
        return target[:2] == own[:2]
    if own.endswith("00"):
        return target[:4] == own[:4]
    return False


def allowed(principal: Principal, action: Action, region: str = "") -> bool:
    if action not in _ALLOWED[principal.role]:
        return False
    if action in _REGIONAL:
        return bool(region) and covers(principal.region, region)
    return True


def require(principal: Principal, action: Action, region: str = "") -> None:
    """Raise ``Forbidden`` unless ``principal`` may do ``action`` in ``region``."""
    if not allowed(principal, action, region):
        where = f" {region}" if region else ""
        raise Forbidden(
            "FORBIDDEN",
            f"无权执行此操作（{principal.role.value}{where}）",
            f"a {principal.role.value} token of {principal.region or '-'} may not {action.value}{where}",
        )
