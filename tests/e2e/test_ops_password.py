"""API.md §4: POST /password (fresh access token; old_password, new_password)."""

import pytest

from gatehouse_e2e import (
    REALM, assert_field_error, assert_message, assert_token_error, assert_tokens_pair, bearer,
    decode,
)

PW = "correct horse"
NEW_PW = "battery staple 42"


@pytest.fixture(scope="module")
def srv(module_server):
    return module_server


def change(srv, token, old, new, form=False):
    body = {"old_password": old, "new_password": new}
    if form:
        return srv.post("/password", headers=bearer(token), data=body)
    return srv.post("/password", headers=bearer(token), json=body)


def setup_user(srv, prefix="pw"):
    u, reg = srv.new_user(prefix, PW)
    r = srv.refresh(reg["refresh_token"])
    assert r.status_code == 200, r.text
    refreshed = r.json()["access_token"]
    r = srv.login(u, PW)
    assert r.status_code == 200, r.text
    login = r.json()
    return u, reg, refreshed, login


def assert_unchanged(srv, u, token):
    """The password is still PW and the token still works."""
    r = srv.me(token)
    assert r.status_code == 200, r.text
    assert srv.login(u, PW).status_code == 200
    assert_message(srv.login(u, NEW_PW), 401, "Wrong credentials")


@pytest.mark.parametrize("form", [False, True], ids=["json", "form"])
def test_password_change_with_registration_token(srv, form):
    u, reg, refreshed, login = setup_user(srv)
    r = change(srv, reg["access_token"], PW, NEW_PW, form=form)
    new = assert_tokens_pair(r, "Password changed")

    # passwords
    assert_message(srv.login(u, PW), 401, "Wrong credentials")
    assert_tokens_pair(srv.login(u, NEW_PW), f"Logged in as {u}")

    # every earlier token is revoked, the one used included
    for t in (reg["access_token"], refreshed, login["access_token"]):
        assert_token_error(srv.me(t), "Token has been revoked")
    for t in (reg["refresh_token"], login["refresh_token"]):
        assert_token_error(srv.refresh(t), "Token has been revoked")

    # the answered tokens work
    r = srv.me(new["access_token"])
    assert r.status_code == 200 and r.json()["username"] == u, r.text
    r = srv.refresh(new["refresh_token"])
    assert r.status_code == 200, r.text
    assert srv.me(r.json()["access_token"]).status_code == 200
    claims = decode(new["access_token"], srv.secret)
    assert claims["type"] == "access" and claims["sub"] == u and claims["fresh"] is True, claims
    assert decode(new["refresh_token"], srv.secret)["type"] == "refresh"


def test_password_change_with_login_token_and_then_again_with_the_answered_token(srv):
    u, reg, refreshed, login = setup_user(srv)
    r = change(srv, login["access_token"], PW, NEW_PW)
    first = assert_tokens_pair(r, "Password changed")
    # the token answered by a password change is fresh: it can change the password again
    third_pw = "third password!"
    r = change(srv, first["access_token"], NEW_PW, third_pw)
    second = assert_tokens_pair(r, "Password changed")
    assert_token_error(srv.me(first["access_token"]), "Token has been revoked")
    assert_token_error(srv.refresh(first["refresh_token"]), "Token has been revoked")
    assert srv.me(second["access_token"]).status_code == 200
    assert_message(srv.login(u, NEW_PW), 401, "Wrong credentials")
    assert srv.login(u, third_pw).status_code == 200


def test_password_change_leaves_other_users_alone(srv):
    u1, reg1, _, _ = setup_user(srv, "pwa")
    u2, reg2, refreshed2, login2 = setup_user(srv, "pwb")
    assert change(srv, reg1["access_token"], PW, NEW_PW).status_code == 200
    for t in (reg2["access_token"], refreshed2, login2["access_token"]):
        assert srv.me(t).status_code == 200
    assert srv.refresh(reg2["refresh_token"]).status_code == 200
    assert srv.login(u2, PW).status_code == 200


def test_refreshed_access_token_is_not_fresh(srv):
    u, reg, refreshed, login = setup_user(srv)
    r = change(srv, refreshed, PW, NEW_PW)
    assert_message(r, 401, "Fresh token required")
    www = r.headers.get("WWW-Authenticate", "")
    assert www.startswith("Bearer ") and 'error="invalid_token"' in www, www
    assert_unchanged(srv, u, refreshed)


def test_wrong_old_password(srv):
    u, reg, refreshed, login = setup_user(srv)
    assert_message(change(srv, reg["access_token"], "not the password", NEW_PW), 401,
                   "Wrong credentials")
    assert_unchanged(srv, u, reg["access_token"])
    assert srv.me(login["access_token"]).status_code == 200


@pytest.mark.parametrize("form", [False, True], ids=["json", "form"])
@pytest.mark.parametrize("field", ["old_password", "new_password"])
@pytest.mark.parametrize("how", ["empty", "missing"])
def test_blank_field(srv, form, field, how):
    u, reg, _, _ = setup_user(srv)
    body = {"old_password": PW, "new_password": NEW_PW}
    if how == "empty":
        body[field] = ""
    else:
        del body[field]
    kw = {"data": body} if form else {"json": body}
    r = srv.post("/password", headers=bearer(reg["access_token"]), **kw)
    assert_message(r, 400, f"{field}: This field cannot be blank")
    assert_unchanged(srv, u, reg["access_token"])


def test_new_password_too_short(srv):
    u, reg, _, _ = setup_user(srv)
    r = change(srv, reg["access_token"], PW, "short")
    assert_field_error(r, "new_password")
    assert_unchanged(srv, u, reg["access_token"])


def test_refresh_token_is_refused(srv):
    u, reg, _, _ = setup_user(srv)
    assert_token_error(change(srv, reg["refresh_token"], PW, NEW_PW), "Only access tokens are allowed")
    assert_unchanged(srv, u, reg["access_token"])


def test_missing_token(srv):
    r = srv.post("/password", json={"old_password": PW, "new_password": NEW_PW})
    assert_token_error(r, "Missing Authorization Header", www=REALM)
