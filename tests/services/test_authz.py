"""The role and region policy, as a table."""

from __future__ import annotations

import pytest

from quarantine.services.authz import (
    PUBLIC,
    Action,
    Forbidden,
    Principal,
    Role,
    allowed,
    covers,
    require,
)

JS_ISSUER = Principal(Role.ISSUER, "320000", "t1")
SH_ISSUER = Principal(Role.ISSUER, "310000", "t2")
PUDONG_ISSUER = Principal(Role.ISSUER, "310115", "t3")
INSPECTOR = Principal(Role.INSPECTOR, "310000", "t4")
SH_ADMIN = Principal(Role.ADMIN, "310000", "t5")


@pytest.mark.parametrize(
    ("who", "action", "region", "ok"),
    [
        (PUBLIC, Action.VERIFY, "", True),
        (PUBLIC, Action.READ, "", False),
        (PUBLIC, Action.ISSUE, "310000", False),
        (JS_ISSUER, Action.CHANGE_STATUS, "310115", False),  # Jiangsu cannot revoke Shanghai
        (JS_ISSUER, Action.CHANGE_STATUS, "320583", True),
        (SH_ISSUER, Action.ISSUE, "310115", True),
        (PUDONG_ISSUER, Action.ISSUE, "310115", True),
        (PUDONG_ISSUER, Action.ISSUE, "310112", False),
        (PUDONG_ISSUER, Action.CHANGE_STATUS, "310000", False),
        (INSPECTOR, Action.ISSUE, "310000", False),  # an inspector cannot issue
        (INSPECTOR, Action.RECORD_INSPECTION, "330109", True),
        (INSPECTOR, Action.READ, "", True),
        (INSPECTOR, Action.CHANGE_STATUS, "310000", False),
        (SH_ADMIN, Action.MANAGE, "310000", True),
        (SH_ADMIN, Action.MANAGE, "320000", False),
        (SH_ADMIN, Action.ISSUE, "310000", False),
        (SH_ISSUER, Action.ISSUE, "", False),
    ],
)
def test_policy(who: Principal, action: Action, region: str, ok: bool) -> None:
    assert allowed(who, action, region) is ok
    if ok:
        require(who, action, region)
    else:
        with pytest.raises(Forbidden) as info:
            require(who, action, region)
        assert info.value.code == "FORBIDDEN"


@pytest.mark.parametrize(
    ("own", "target", "ok"),
    [
        ("310000", "310115", True),
        ("320500", "320583", True),
        ("320500", "320100", False),
        ("310115", "310115", True),
        ("310115", "310000", False),
    ],
)
def test_covers(own: str, target: str, ok: bool) -> None:
    assert covers(own, target) is ok
