"""API.md §1 deliberate differences: what /logout/access and /logout/refresh revoke."""

import pytest

from gatehouse_e2e import assert_message, assert_token_error, bearer, decode

PW = "correct horse"


@pytest.fixture(scope="module")
def srv(module_server):
    return module_server


def two_sessions(srv):
    """One user, session A from registration (+1 refreshed access), session B from login."""
    u, reg = srv.new_user("sess", PW)
    r = srv.refresh(reg["refresh_token"])
    assert r.status_code == 200, r.text
    a_extra = r.json()["access_token"]
    r = srv.login(u, PW)
    assert r.status_code == 200, r.text
    login = r.json()
    assert decode(reg["refresh_token"], srv.secret)["sid"] != decode(login["refresh_token"], srv.secret)["sid"]
    return {
        "user": u,
        "A_access": reg["access_token"], "A_access2": a_extra, "A_refresh": reg["refresh_token"],
        "B_access": login["access_token"], "B_refresh": login["refresh_token"],
    }


def test_logout_refresh_revokes_the_refresh_token(srv):
    s = two_sessions(srv)
    assert_message(srv.post("/logout/refresh", headers=bearer(s["A_refresh"])), 200,
                   "Refresh token has been revoked")
    assert_token_error(srv.refresh(s["A_refresh"]), "Token has been revoked")


def test_logout_refresh_revokes_every_access_token_of_the_same_sid(srv):
    s = two_sessions(srv)
    assert_message(srv.post("/logout/refresh", headers=bearer(s["A_refresh"])), 200,
                   "Refresh token has been revoked")
    assert_token_error(srv.me(s["A_access"]), "Token has been revoked")
    assert_token_error(srv.me(s["A_access2"]), "Token has been revoked")


def test_logout_refresh_leaves_other_sessions_alive(srv):
    s = two_sessions(srv)
    assert srv.post("/logout/refresh", headers=bearer(s["A_refresh"])).status_code == 200
    r = srv.me(s["B_access"])
    assert r.status_code == 200 and r.json()["username"] == s["user"], r.text
    r = srv.refresh(s["B_refresh"])
    assert r.status_code == 200, r.text
    assert srv.me(r.json()["access_token"]).status_code == 200


def test_logout_access_revokes_only_that_access_token(srv):
    s = two_sessions(srv)
    assert_message(srv.post("/logout/access", headers=bearer(s["A_access"])), 200,
                   "Access token has been revoked")
    assert_token_error(srv.me(s["A_access"]), "Token has been revoked")
    # same session's other access token, its refresh token, and the other session: alive
    assert srv.me(s["A_access2"]).status_code == 200
    r = srv.refresh(s["A_refresh"])
    assert r.status_code == 200, r.text
    assert srv.me(r.json()["access_token"]).status_code == 200
    assert srv.me(s["B_access"]).status_code == 200


def test_logout_access_twice_answers_revoked(srv):
    s = two_sessions(srv)
    assert srv.post("/logout/access", headers=bearer(s["B_access"])).status_code == 200
    assert_token_error(srv.post("/logout/access", headers=bearer(s["B_access"])),
                       "Token has been revoked")


def test_logout_refresh_twice_answers_revoked(srv):
    s = two_sessions(srv)
    assert srv.post("/logout/refresh", headers=bearer(s["B_refresh"])).status_code == 200
    assert_token_error(srv.post("/logout/refresh", headers=bearer(s["B_refresh"])),
                       "Token has been revoked")
