"""API.md §10 with RFC 7662: under rotation, /token/introspect says what a refresh with the token
would do (issue 16, F3). The current refresh token is active; a used one is active only while a
refresh with it would still get the identical answer (within jwt.refresh_reuse_interval), and
inactive after; any token of a session that ended is inactive. Introspecting never ends a
session. Runs on SQLite, and on PostgreSQL with GATEHOUSE_E2E_PG_URL.
"""

import time

import pytest
import requests

import gatehouse_e2e as gh
from gatehouse_e2e import assert_token_error, bearer
from keys_support import INTROSPECTION_SECRET, assert_active, assert_inactive

INTERVAL = 2  # seconds: jwt.refresh_reuse_interval below


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    f = gh.Factory(tmp_path_factory.mktemp("rotation-intro"))
    s = f(args=["--jwt-refresh-rotation", "true", "--jwt-refresh-reuse-interval", f"{INTERVAL}s",
                "--rate-limit-refresh-per-user", "0", "--introspection-secret",
                INTROSPECTION_SECRET])
    yield s
    f.close()


def introspect(srv, token):
    return requests.post(srv.url("/token/introspect"), data={"token": token},
                         headers=bearer(INTROSPECTION_SECRET), timeout=10)


def refresh(srv, token):
    return requests.post(srv.url("/token/refresh"), headers=bearer(token), timeout=10)


def test_a_used_token_is_active_only_while_a_refresh_would_replay(srv):
    _, reg = srv.new_user("intro")
    used = reg["refresh_token"]
    assert_active(introspect(srv, used), used, "refresh")
    first = gh.assert_json(refresh(srv, used), 200)
    new = first["refresh_token"]
    assert_active(introspect(srv, new), new, "refresh")
    # Within the interval a refresh with the used token answers 200 (the same pair): active.
    assert_active(introspect(srv, used), used, "refresh")
    time.sleep(INTERVAL + 1.1)
    # After it a refresh would be a reuse: inactive, and looking did not end the session.
    assert_inactive(introspect(srv, used))
    assert_active(introspect(srv, new), new, "refresh")
    assert gh.assert_json(refresh(srv, new), 200)["refresh_token"]


def test_a_token_older_than_the_current_one_is_inactive_at_once(srv):
    _, reg = srv.new_user("intro")
    a = reg["refresh_token"]
    b = gh.assert_json(refresh(srv, a), 200)["refresh_token"]
    time.sleep(INTERVAL + 1.1)
    c = gh.assert_json(refresh(srv, b), 200)["refresh_token"]
    assert_inactive(introspect(srv, a))
    assert_active(introspect(srv, b), b, "refresh")  # within its interval
    assert_active(introspect(srv, c), c, "refresh")


@pytest.mark.parametrize("ender", ["logout_refresh", "delete", "reuse"])
def test_every_token_of_an_ended_session_is_inactive(srv, ender):
    _, reg = srv.new_user("intro")
    a = reg["refresh_token"]
    pair = gh.assert_json(refresh(srv, a), 200)
    b = pair["refresh_token"]
    if ender == "logout_refresh":
        gh.assert_json(srv.post("/logout/refresh", headers=bearer(b)), 200)
    elif ender == "delete":
        sid = gh.decode(b, srv.secret)["sid"]
        gh.assert_json(requests.delete(srv.url(f"/sessions/{sid}"),
                                       headers=bearer(pair["access_token"]), timeout=10), 200)
    else:
        time.sleep(INTERVAL + 1.1)
        assert_token_error(refresh(srv, a), "Token has been revoked")
    # Within the used token's interval too: a refresh with it would be refused.
    for token in (a, b):
        assert_inactive(introspect(srv, token))
        assert_token_error(refresh(srv, token), "Token has been revoked")


def test_without_rotation_a_refreshed_token_stays_active(server_factory):
    srv = server_factory(args=["--introspection-secret", INTROSPECTION_SECRET])
    _, reg = srv.new_user("intro")
    token = reg["refresh_token"]
    gh.assert_json(refresh(srv, token), 200)
    assert_active(introspect(srv, token), token, "refresh")
    gh.assert_json(srv.post("/logout/refresh", headers=bearer(token)), 200)
    assert_inactive(introspect(srv, token))
