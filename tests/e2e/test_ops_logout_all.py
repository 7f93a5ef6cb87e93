"""API.md §4: POST /logout/all revokes every token of the user issued until now."""

import time

import pytest

from gatehouse_e2e import REALM, assert_message, assert_token_error, assert_tokens_pair, bearer
from ops_support import is_revoked, poll

PW = "correct horse"


@pytest.fixture(scope="module")
def srv(module_server):
    return module_server


def user_with_sessions(srv, prefix="all"):
    """Session A from registration (+ one refreshed, not fresh, access token), B from login."""
    u, reg = srv.new_user(prefix, PW)
    r = srv.refresh(reg["refresh_token"])
    assert r.status_code == 200, r.text
    refreshed = r.json()["access_token"]
    r = srv.login(u, PW)
    assert r.status_code == 200, r.text
    login = r.json()
    return u, {
        "A_access": reg["access_token"], "A_refresh": reg["refresh_token"],
        "A_refreshed_access": refreshed,
        "B_access": login["access_token"], "B_refresh": login["refresh_token"],
    }


def assert_all_revoked(srv, toks):
    for name, t in toks.items():
        if name.endswith("refresh"):
            assert_token_error(srv.refresh(t), "Token has been revoked")
        else:
            assert_token_error(srv.me(t), "Token has been revoked")


@pytest.mark.parametrize("which", ["A_access", "A_refreshed_access", "B_access"])
def test_logout_all_with_any_access_token_revokes_every_token(srv, which):
    u, toks = user_with_sessions(srv)
    r = srv.post("/logout/all", headers=bearer(toks[which]))
    assert_message(r, 200, "All tokens have been revoked")
    assert_all_revoked(srv, toks)
    # and /logout/all itself no longer takes the old tokens
    assert_token_error(srv.post("/logout/all", headers=bearer(toks["B_access"])),
                       "Token has been revoked")


def test_logout_all_leaves_other_users_alone(srv):
    u1, toks1 = user_with_sessions(srv, "all1")
    u2, toks2 = user_with_sessions(srv, "all2")
    assert srv.post("/logout/all", headers=bearer(toks1["A_access"])).status_code == 200
    assert_all_revoked(srv, toks1)
    for name in ("A_access", "A_refreshed_access", "B_access"):
        r = srv.me(toks2[name])
        assert r.status_code == 200 and r.json()["username"] == u2, (name, r.text)
    for name in ("A_refresh", "B_refresh"):
        r = srv.refresh(toks2[name])
        assert r.status_code == 200, (name, r.text)


def test_login_right_after_logout_all_works(srv):
    u, toks = user_with_sessions(srv)
    assert srv.post("/logout/all", headers=bearer(toks["A_access"])).status_code == 200
    t0 = time.monotonic()
    r = srv.login(u, PW)
    elapsed = time.monotonic() - t0
    new = assert_tokens_pair(r, f"Logged in as {u}")
    assert elapsed < 5, f"login after /logout/all took {elapsed:.2f}s"
    r = srv.me(new["access_token"])
    assert r.status_code == 200 and r.json()["username"] == u, r.text
    r = srv.refresh(new["refresh_token"])
    assert r.status_code == 200, r.text
    assert srv.me(r.json()["access_token"]).status_code == 200
    # the earlier tokens stay revoked
    assert_all_revoked(srv, toks)


def test_logout_all_many_times_in_a_row(srv):
    """logout/all, login, logout/all, login...: each fresh login's tokens work, older ones don't."""
    u, reg = srv.new_user("allrep", PW)
    access = reg["access_token"]
    old = [reg["access_token"]]
    for _ in range(3):
        assert_message(srv.post("/logout/all", headers=bearer(access)), 200,
                       "All tokens have been revoked")
        r = srv.login(u, PW)
        assert r.status_code == 200, r.text
        access = r.json()["access_token"]
        assert srv.me(access).status_code == 200, "fresh login token refused"
        for t in old:
            assert_token_error(srv.me(t), "Token has been revoked")
        old.append(access)


def test_logout_all_refuses_refresh_token(srv):
    u, toks = user_with_sessions(srv)
    assert_token_error(srv.post("/logout/all", headers=bearer(toks["A_refresh"])),
                       "Only access tokens are allowed")
    # nothing was revoked
    assert srv.me(toks["A_access"]).status_code == 200


def test_logout_all_without_token(srv):
    r = srv.post("/logout/all")
    assert_token_error(r, "Missing Authorization Header", www=REALM)


def test_logout_all_holds_on_another_instance(server_factory):
    """Contract §4 "on every instance": two servers on one SQLite data dir."""
    a = server_factory(name="gatehouse(A)")
    b = server_factory(name="gatehouse(B)", data_dir=a.data_dir)
    u, reg = a.new_user("allinst", PW)
    assert b.me(reg["access_token"]).status_code == 200
    assert a.post("/logout/all", headers=bearer(reg["access_token"])).status_code == 200
    r = poll(lambda: is_revoked(b.me(reg["access_token"])) or None, timeout=3)
    assert r, f"instance B still accepts the token: {b.me(reg['access_token']).text}"
    assert is_revoked(b.refresh(reg["refresh_token"]))
