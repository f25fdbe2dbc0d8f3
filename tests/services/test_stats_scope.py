"""Who may see which statistics: admins everything, inspectors their own region."""

from __future__ import annotations

import pytest

from quarantine.services.authz import PUBLIC, Forbidden, Principal, Role
from quarantine.services.stats import stats_scope


@pytest.mark.parametrize(
    ("who", "scope"),
    [
        (Principal(Role.ADMIN, "310000", "a"), None),
        (Principal(Role.ADMIN, "320000", "a"), None),
        (Principal(Role.INSPECTOR, "320000", "i"), "320000"),
        (Principal(Role.INSPECTOR, "310115", "i"), "310115"),
    ],
)
def test_allowed(who: Principal, scope: str | None) -> None:
    assert stats_scope(who) == scope


@pytest.mark.parametrize(
    "who",
    [
        PUBLIC,
        Principal(Role.ISSUER, "310000", "s"),
        Principal(Role.INSPECTOR, "", "i"),  # no region: nothing to limit to
        Principal(Role.INSPECTOR, "31011x", "i"),
    ],
)
def test_refused(who: Principal) -> None:
    with pytest.raises(Forbidden) as exc:
        stats_scope(who)
    assert exc.value.code == "STATS_FORBIDDEN"
