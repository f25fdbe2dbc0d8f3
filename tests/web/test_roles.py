"""Who may do what over the API: roles bound to regions, tokens, and no guessing of objects."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from quarantine.settings import Settings
from tests.web.pg import Api, open_api, sample

ROOT = "/api/v1/certificates"
UNKNOWN_SH = "310112-2026-999999"


@pytest.fixture
def api(settings: Settings, tmp_path: Path) -> Iterator[Api]:
    with open_api(settings, tmp_path) as a:
        yield a


@pytest.fixture
def tokens(api: Api) -> dict[str, dict[str, str]]:
    return {
        "sh_issuer": api.token("issuer", "310000"),
        "minhang_issuer": api.token("issuer", "310112"),
        "pudong_issuer": api.token("issuer", "310115"),
        "js_issuer": api.token("issuer", "320000"),
        "inspector": api.token("inspector", "320583"),
        "sh_admin": api.token("admin", "310000"),
        "public": {},
    }


@pytest.fixture
def sh_cert(api: Api, tokens: dict[str, dict[str, str]]) -> dict[str, Any]:
    """A Shanghai (Minhang 310112) transport certificate."""
    return api.issue(tokens["sh_issuer"], sample("transport-intra"))


def status_change(action: str) -> dict[str, Any]:
    if action == "supersede":
        return {"reason": "更正", "certificate": sample("transport-intra")}
    return {"reason": "原因"}


@pytest.mark.parametrize(
    ("who", "action", "status"),
    [
        ("js_issuer", "revoke", 403),  # a Jiangsu issuer cannot revoke a Shanghai certificate
        ("js_issuer", "suspend", 403),
        ("js_issuer", "reinstate", 403),
        ("js_issuer", "supersede", 403),
        ("pudong_issuer", "revoke", 403),  # a district issuer: its own district only
        ("inspector", "revoke", 403),
        ("sh_admin", "revoke", 403),
        ("public", "revoke", 401),
        ("minhang_issuer", "suspend", 200),
        ("sh_issuer", "revoke", 200),  # the province covers its districts
        ("sh_issuer", "supersede", 201),
    ],
)
def test_status_changes_by_role_and_region(
    api: Api,
    tokens: dict[str, dict[str, str]],
    sh_cert: dict[str, Any],
    who: str,
    action: str,
    status: int,
) -> None:
    response = api.client.post(
        f"{ROOT}/{sh_cert['number']}/{action}", json=status_change(action), headers=tokens[who]
    )
    assert response.status_code == status, response.text
    if status >= 400:
        code = "TOKEN_REQUIRED" if status == 401 else "FORBIDDEN"
        assert response.json()["error"]["code"] == code
        detail = api.client.get(f"{ROOT}/{sh_cert['number']}", headers=tokens["sh_issuer"])
        assert detail.json()["status"] == "VALID" and detail.json()["events"] == []


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("sh_issuer", 201),
        ("minhang_issuer", 201),
        ("pudong_issuer", 403),  # 310115 may not issue for 310112
        ("js_issuer", 403),
        ("inspector", 403),  # an inspector cannot issue
        ("sh_admin", 403),
        ("public", 401),
    ],
)
def test_issue_by_role_and_region(
    api: Api, tokens: dict[str, dict[str, str]], who: str, status: int
) -> None:
    response = api.client.post(ROOT, json=sample("transport-intra"), headers=tokens[who])
    assert response.status_code == status, response.text
    if status == 403:
        # Nothing was issued and no number was used up.
        assert api.issue(tokens["sh_issuer"], sample("transport-intra"))["number"].endswith(
            "-000001"
        )


def test_an_inspector_is_refused_before_the_document_is_read(
    api: Api, tokens: dict[str, dict[str, str]]
) -> None:
    response = api.client.post(ROOT, json={"kind": "nonsense"}, headers=tokens["inspector"])
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("inspector", 200),
        ("js_issuer", 200),  # reading is federation-wide
        ("sh_admin", 200),
        ("public", 401),  # the public cannot read; it can only verify
    ],
)
def test_reading_and_searching(
    api: Api, tokens: dict[str, dict[str, str]], sh_cert: dict[str, Any], who: str, status: int
) -> None:
    number = sh_cert["number"]
    for path in (f"{ROOT}/{number}", ROOT, f"{ROOT}/{number}/qr.svg", f"{ROOT}/{number}/print"):
        response = api.client.get(path, headers=tokens[who])
        assert response.status_code == status, path
    assert api.verify(sh_cert["qr_text"])["verdict"] == "VALID"  # the public verifies


@pytest.mark.parametrize(
    ("who", "status"),
    [("inspector", 200), ("sh_issuer", 403), ("sh_admin", 403), ("public", 401)],
)
def test_recording_arrival(
    api: Api, tokens: dict[str, dict[str, str]], sh_cert: dict[str, Any], who: str, status: int
) -> None:
    response = api.client.post(
        f"{ROOT}/{sh_cert['number']}/arrival", json={"accepted": True}, headers=tokens[who]
    )
    assert response.status_code == status, response.text
    response = api.client.post(
        f"{ROOT}/{sh_cert['number']}/reinspections",
        json={"result": "PASSED"},
        headers=tokens[who],
    )
    assert response.status_code == (201 if status == 200 else status)


def test_a_revoked_token_is_refused(api: Api, sh_cert: dict[str, Any]) -> None:
    token_id, headers = api.token_with_id("inspector", "310000")
    assert api.client.get(f"{ROOT}/{sh_cert['number']}", headers=headers).status_code == 200
    api.revoke_token(token_id)
    response = api.client.get(f"{ROOT}/{sh_cert['number']}", headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "INVALID_TOKEN"
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(
    "header",
    ["Bearer nope", "Basic dXNlcjpwdw==", "Bearer ", "Bearer " + "x" * 500, "token"],
)
def test_bad_authorization_headers(api: Api, sh_cert: dict[str, Any], header: str) -> None:
    response = api.client.get(f"{ROOT}/{sh_cert['number']}", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "INVALID_TOKEN"


def test_no_object_is_reachable_by_guessing(
    api: Api, tokens: dict[str, dict[str, str]], sh_cert: dict[str, Any]
) -> None:
    """Another region's issuer learns nothing: the same 403 for a real and an unknown number."""
    js = tokens["js_issuer"]
    real = api.client.post(f"{ROOT}/{sh_cert['number']}/revoke", json={"reason": "x"}, headers=js)
    guess = api.client.post(f"{ROOT}/{UNKNOWN_SH}/revoke", json={"reason": "x"}, headers=js)
    assert real.status_code == guess.status_code == 403
    assert real.json()["error"]["code"] == guess.json()["error"]["code"] == "FORBIDDEN"
    # The public learns nothing either.
    for number in (sh_cert["number"], UNKNOWN_SH):
        assert api.client.get(f"{ROOT}/{number}").status_code == 401
        assert api.client.post(f"{ROOT}/{number}/revoke", json={"reason": "x"}).status_code == 401
    # Only numbers are identifiers: there are no surrogate ids to walk.
    for path in (f"{ROOT}/1", f"{ROOT}/0001", f"{ROOT}/tok_1"):
        assert api.client.get(path, headers=tokens["inspector"]).status_code == 422
    # The issuer of the region gets 404 for a number that does not exist.
    missing = api.client.post(
        f"{ROOT}/{UNKNOWN_SH}/revoke", json={"reason": "x"}, headers=tokens["sh_issuer"]
    )
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "CERTIFICATE_NOT_FOUND"
