"""Who may see which statistics (pure policy, table-tested).

- an admin sees every region's counts (administrators keep the federation's
  statistics, DESIGN §1);
- an inspector sees the counts of its own region: a provincial token its
  province, a district token its district;
- issuers and the public see none.

The scope is a region code the queries are limited to (``None``: every region).
"""

from __future__ import annotations

from quarantine.services.authz import Forbidden, Principal, Role


def stats_scope(who: Principal) -> str | None:
    """The region ``who`` may count in (``None`` = all); ``Forbidden`` for other roles."""
    if who.role is Role.ADMIN:
        return None
    if who.role is Role.INSPECTOR and len(who.region) == 6 and who.region.isdigit():
        return who.region
    raise Forbidden(
        "STATS_FORBIDDEN",
        "统计数据仅供检查员和管理员查看",
        f"statistics are for inspector and admin tokens, not a {who.role.value} token",
    )
