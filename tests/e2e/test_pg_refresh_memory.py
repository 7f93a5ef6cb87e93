"""Issue 16: the non-rotating refresh on PostgreSQL is answered from memory, fed by the
revocation feed, and still holds §9's cross-instance bound: a session ended on A, or a claims
change made on A, is seen by a refresh on B within 1 s (B had the user cached before)."""

import time

import pytest

import gatehouse_e2e as gh
from gatehouse_e2e import assert_token_error, bearer
from pg_support import instances, module_factory, requires_pg

pytestmark = requires_pg

ADMIN = "an admin secret of at least thirty-two bytes"
BOUND = 1.0


@pytest.fixture(scope="module")
def ab(tmp_path_factory):
    with module_factory(tmp_path_factory, "pg-refresh-memory") as f:
        yield tuple(instances(f, args=["--admin-secret", ADMIN, "--rate-limit-refresh-per-user",
                                       "0"]))


def until(fn, timeout):
    end = time.monotonic() + timeout
    while True:
        if fn():
            return time.monotonic()
        if time.monotonic() > end:
            return None
        time.sleep(0.02)


@pytest.mark.parametrize("how", ["delete", "logout_refresh"])
def test_a_session_ended_on_a_is_refused_by_b_within_the_bound(ab, how):
    a, b = ab
    name, tokens = a.new_user("mem")
    gh.assert_json(b.post("/token/refresh", headers=bearer(tokens["refresh_token"])), 200)
    if how == "delete":
        sid = gh.decode(tokens["refresh_token"], a.secret)["sid"]
        r = a.request("DELETE", f"/sessions/{sid}", headers=bearer(tokens["access_token"]))
    else:
        r = a.post("/logout/refresh", headers=bearer(tokens["refresh_token"]))
    gh.assert_json(r, 200)
    acked = time.monotonic()
    refused = until(lambda: b.post("/token/refresh", headers=bearer(tokens["refresh_token"]))
                    .status_code == 401, BOUND + 0.5)
    assert refused is not None and refused - acked <= BOUND, (refused, acked)
    assert_token_error(b.post("/token/refresh", headers=bearer(tokens["refresh_token"])),
                       "Token has been revoked")


def test_a_claims_change_on_a_reaches_refreshes_on_b_within_the_bound(ab):
    a, b = ab
    name, tokens = a.new_user("mem")
    first = gh.assert_json(b.post("/token/refresh", headers=bearer(tokens["refresh_token"])), 200)
    assert "plan" not in gh.decode(first["access_token"], a.secret)
    r = a.request("PATCH", f"/admin/users/{name}", json={"claims": {"plan": "gold"}},
                  headers=bearer(ADMIN))
    assert r.status_code == 200, r.text
    acked = time.monotonic()

    def has_claim():
        got = b.post("/token/refresh", headers=bearer(tokens["refresh_token"])).json()
        return gh.decode(got["access_token"], a.secret).get("plan") == "gold"

    seen = until(has_claim, BOUND + 0.5)
    assert seen is not None and seen - acked <= BOUND, (seen, acked)
