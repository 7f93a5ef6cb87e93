"""A disabled user's refresh mints nothing, whatever the token's date (attacker round 9, F2).

Disabling revokes every token issued before the disable. A refresh token dated after it can
only be a forgery made with a leaked key (a retired key still verifies tokens whose iat falls
within its 60 s leeway after rotation); before this rule such a token refreshed, because refresh
checked the user's revocation cut and not the disabled flag. The test forges one with the
server's own HS256 secret (the same position as a leaked key), with and without the user
cached on the refreshing server, and on the rotating path. Introspection applies the same rule
(attacker round 11, F3: it answered such a token active).

Runs on SQLite, and on PostgreSQL in scripts/test's PostgreSQL list (GATEHOUSE_E2E_PG_URL)."""

import time
import uuid

import jwt
import pytest

import gatehouse_e2e as gh
from gatehouse_e2e import bearer, decode

ADMIN = "an admin secret of at least thirty-two bytes"
INTROSPECTION = "an introspection secret of thirty-two bytes"
PW = "correct horse"


@pytest.fixture(scope="module", params=["plain", "rotating"])
def srv(request, tmp_path_factory):
    f = gh.Factory(tmp_path_factory.mktemp("disabled-refresh"))
    args = ["--admin-secret", ADMIN, "--introspection-secret", INTROSPECTION]
    if request.param == "rotating":
        args += ["--jwt-refresh-rotation", "true"]
    try:
        yield f(args=args, name=f"gatehouse(disable, {request.param})")
    finally:
        f.close()


def forged_after(srv, refresh_token: str, *, keep_sid: bool) -> str:
    """The refresh token's claims, dated now (after the disable), a new jti, signed with the
    server's secret as a leaked key would sign them."""
    claims = decode(refresh_token, srv.secret)
    now = int(time.time())
    claims.update(jti=str(uuid.uuid4()), iat=now, nbf=now)
    if not keep_sid:
        claims.pop("sid", None)
    header = jwt.get_unverified_header(refresh_token)
    return jwt.encode(claims, srv.secret, algorithm="HS256",
                      headers={k: v for k, v in header.items() if k == "kid"})


@pytest.mark.parametrize("cached", [True, False])
def test_a_refresh_token_dated_after_a_disable_refreshes_nothing(srv, cached):
    """Also after a /me with a forged access token (attacker round 11, F3: /me cached the
    disabled user, and the refresh path then minted from the cache)."""
    user, reg = srv.new_user("disabled", PW)
    if cached:  # the refreshing server has the user in its cache
        assert srv.post("/token/refresh", headers=bearer(reg["refresh_token"])).status_code == 200
    r = srv.request("PATCH", f"/admin/users/{user}", json={"disabled": True},
                    headers=bearer(ADMIN))
    assert r.status_code == 200, r.text
    time.sleep(1.1)  # a new second: the forged iat is after the disable's cut
    forged_access = forged_after(srv, reg["access_token"], keep_sid=False)
    r = srv.get("/me", headers=bearer(forged_access))
    assert (r.status_code, r.json()) == (401, {"message": "Token has been revoked"}), r.text
    forged = forged_after(srv, reg["refresh_token"], keep_sid=False)
    r = srv.post("/token/refresh", headers=bearer(forged))
    assert (r.status_code, r.json()) == (401, {"message": "Token has been revoked"}), r.text
    for token in (forged_access, forged):
        assert introspect(srv, token) == {"active": False}


def introspect(srv, token: str) -> dict:
    r = srv.post("/token/introspect", data={"token": token}, headers=bearer(INTROSPECTION))
    assert r.status_code == 200, r.text
    return r.json()


def test_an_enabled_users_forged_control_token_still_refreshes(srv):
    """The control: the same forgery for a user who is not disabled is accepted, so the test
    above refuses because of the disable and not because the forgery is malformed."""
    _, reg = srv.new_user("enabled", PW)
    time.sleep(1.1)
    forged = forged_after(srv, reg["refresh_token"], keep_sid=False)
    assert introspect(srv, forged)["active"] is True
    r = srv.post("/token/refresh", headers=bearer(forged))
    assert r.status_code == 200, r.text
    assert introspect(srv, forged_after(srv, reg["access_token"], keep_sid=False))["active"] is True
