"""Issue 13 items 7 and 9 / API.md §2, §4, §8:

- a `sub` that could never name an account (a control character such as NUL, or over 256
  bytes), in a token signed with the server's own secret, is `Invalid token` on every endpoint
  that takes a token, and `{"active": false}` at introspection;
- every answer that carries a token, and every introspection answer, has
  `Cache-Control: no-store` (RFC 6749 §5.1, RFC 7662 §4)."""

import pytest

import gatehouse_e2e as gh
from gatehouse_e2e import assert_json, assert_token_error, bearer
from keys_support import INTROSPECTION_SECRET, assert_inactive, claims_for, hs256_raw, introspect

PW = "correct horse"
HS256 = {"alg": "HS256", "typ": "JWT"}


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    f = gh.Factory(tmp_path_factory.mktemp("token-answers"))
    try:
        yield f(args=["--introspection-secret", INTROSPECTION_SECRET])
    finally:
        f.close()


def signed(srv, sub, ttype="access", **extra):
    """A token the server's own secret signed: only its sub can be wrong."""
    return hs256_raw(HS256, claims_for(sub, ttype, fresh=True, **extra), srv.secret.encode())


# Names no account can have: the store, the logs and the revocation set never see them.
BAD_SUBS = {
    "nul_inside": "ali\x00ce",
    "nul_only": "\x00",
    "nul_at_end": "alice\x00",
    "newline": "ali\nce",
    "tab": "ali\tce",
    "escape": "ali\x1bce",
    "delete": "ali\x7fce",
    "too_long": "a" * 257,
}

# (method, path, token type, extra request arguments)
TOKEN_ENDPOINTS = {
    "me": ("GET", "/me", "access", {}),
    "logout_access": ("POST", "/logout/access", "access", {}),
    "logout_refresh": ("POST", "/logout/refresh", "refresh", {}),
    "logout_all": ("POST", "/logout/all", "access", {}),
    "password": ("POST", "/password", "access",
                 {"data": {"old_password": PW, "new_password": "another horse"}}),
    "token_refresh": ("POST", "/token/refresh", "refresh", {}),
}


def test_the_control_token_is_accepted(srv):
    user, _ = srv.new_user("subctl", PW)
    assert_json(srv.me(signed(srv, user)), 200)
    r = srv.post("/token/refresh", headers=bearer(signed(srv, user, "refresh")))
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("endpoint", list(TOKEN_ENDPOINTS))
@pytest.mark.parametrize("case", list(BAD_SUBS))
def test_impossible_sub_is_invalid_token(srv, endpoint, case):
    method, path, ttype, kw = TOKEN_ENDPOINTS[endpoint]
    r = srv.request(method, path, headers=bearer(signed(srv, BAD_SUBS[case], ttype)), **kw)
    assert_token_error(r, "Invalid token")


@pytest.mark.parametrize("ttype", ["access", "refresh"])
@pytest.mark.parametrize("case", list(BAD_SUBS))
def test_impossible_sub_is_inactive_at_introspection(srv, case, ttype):
    assert_inactive(introspect(srv, signed(srv, BAD_SUBS[case], ttype)))


def test_server_still_serves(srv):
    user, body = srv.new_user("subafter", PW)
    assert_json(srv.me(body["access_token"]), 200)


# -- Cache-Control: no-store -----------------------------------------------------------------

def assert_no_store(r, status=200):
    assert r.status_code == status, r.text
    assert r.headers.get("Cache-Control") == "no-store", dict(r.headers)
    assert r.headers.get("Pragma") == "no-cache", dict(r.headers)


def test_token_answers_are_not_stored(srv):
    name = gh.uname("nostore")
    reg = srv.register(name, PW)
    assert_no_store(reg)
    login = srv.login(name, PW)
    assert_no_store(login)
    refresh = srv.refresh(login.json()["refresh_token"])
    assert_no_store(refresh)
    changed = srv.post("/password", headers=bearer(login.json()["access_token"]),
                       data={"old_password": PW, "new_password": "another horse"})
    assert_no_store(changed)
    assert "access_token" in changed.json()


def test_introspection_answers_are_not_stored(srv):
    user, body = srv.new_user("nostorei", PW)
    assert introspect(srv, body["access_token"]).headers.get("Cache-Control") == "no-store"
    r = introspect(srv, "not-a-token")
    assert_inactive(r)
    assert r.headers.get("Cache-Control") == "no-store", dict(r.headers)


def test_answers_without_tokens_are_unchanged(srv):
    # the header is for token answers, not every answer (the JWKS keeps its own caching)
    user, body = srv.new_user("nostorem", PW)
    assert "Cache-Control" not in srv.me(body["access_token"]).headers
    assert "Cache-Control" not in srv.login(user, "wrong password").headers
