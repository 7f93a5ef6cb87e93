"""Issue 15 item 8: introspection (RFC 7662) takes the caller secret as HTTP Basic client
credentials (RFC 6749 §2.3.1) as well as Bearer, follows token_type_hint as RFC 7662 §2.1
says (a wrong hint does not hide the token), and answers token_type, iss and aud."""

import base64
from urllib.parse import quote_plus

import pytest
import requests

import gatehouse_e2e as gh
from keys_support import INTROSPECTION_SECRET, assert_active, assert_inactive

ISSUER = "https://auth.example.test"
AUDIENCE = "orders-api"


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    f = gh.Factory(tmp_path_factory.mktemp("oauth-intro"))
    s = f(args=["--introspection-secret", INTROSPECTION_SECRET, "--jwt-issuer", ISSUER,
                "--jwt-audience", AUDIENCE])
    yield s
    f.close()


def basic(client_id: str, secret: str) -> str:
    pair = f"{quote_plus(client_id)}:{quote_plus(secret)}".encode()
    return "Basic " + base64.b64encode(pair).decode()


def introspect(srv, token, authorization, **fields):
    return requests.post(srv.url("/token/introspect"), data={"token": token, **fields},
                         headers={"Authorization": authorization}, timeout=10)


def test_basic_client_credentials_are_accepted(srv):
    _, tokens = srv.new_user("basic")
    r = requests.post(srv.url("/token/introspect"), data={"token": tokens["access_token"]},
                      auth=("any-resource-server", INTROSPECTION_SECRET), timeout=10)
    assert_active(r, tokens["access_token"], "access")


def test_basic_secret_is_form_decoded_and_bearer_still_works(srv):
    _, tokens = srv.new_user("basic")
    acc = tokens["access_token"]
    # RFC 6749 §2.3.1: id and secret are form-urlencoded before base64 ("-" stays as is).
    assert introspect(srv, acc, basic("rs:1 ü", INTROSPECTION_SECRET)).json()["active"] is True
    assert introspect(srv, acc, f"Bearer {INTROSPECTION_SECRET}").json()["active"] is True


@pytest.mark.parametrize("authorization", [
    basic("rs", INTROSPECTION_SECRET + "x"),
    basic("rs", INTROSPECTION_SECRET[:-1]),
    basic(INTROSPECTION_SECRET, ""),  # the secret as the id proves nothing
    "Basic " + base64.b64encode(INTROSPECTION_SECRET.encode()).decode(),  # no colon
    "Basic !!!notbase64",
    "Basic ",
    "Digest " + INTROSPECTION_SECRET,
])
def test_wrong_basic_credentials_are_401(srv, authorization):
    _, tokens = srv.new_user("basic")
    r = introspect(srv, tokens["access_token"], authorization)
    gh.assert_message(r, 401, "Invalid introspection credentials")


def test_token_type_iss_and_aud_are_answered(srv):
    _, tokens = srv.new_user("tt")
    for token, ttype in ((tokens["access_token"], "access"), (tokens["refresh_token"], "refresh")):
        got = assert_active(introspect(srv, token, f"Bearer {INTROSPECTION_SECRET}"), token, ttype)
        assert got["token_type"] == "Bearer", got
        assert got["iss"] == ISSUER and got["aud"] == AUDIENCE, got


@pytest.mark.parametrize("hint", ["access_token", "refresh_token", "something_else", ""])
def test_any_hint_finds_either_type(srv, hint):
    _, tokens = srv.new_user("hint")
    for token, ttype in ((tokens["access_token"], "access"), (tokens["refresh_token"], "refresh")):
        r = introspect(srv, token, f"Bearer {INTROSPECTION_SECRET}", token_type_hint=hint)
        assert assert_active(r, token, ttype)["type"] == ttype


def test_a_revoked_token_is_inactive_whatever_the_hint(srv):
    _, tokens = srv.new_user("hint")
    srv.post("/logout/refresh", headers=gh.bearer(tokens["refresh_token"]))
    for hint in ("access_token", "refresh_token"):
        r = introspect(srv, tokens["access_token"], f"Bearer {INTROSPECTION_SECRET}",
                       token_type_hint=hint)
        assert_inactive(r)


def test_no_iss_or_aud_when_not_configured(server_factory):
    srv = server_factory(args=["--introspection-secret", INTROSPECTION_SECRET])
    _, tokens = srv.new_user("plain")
    got = introspect(srv, tokens["access_token"], basic("rs", INTROSPECTION_SECRET)).json()
    assert got["active"] is True and got["token_type"] == "Bearer"
    assert "iss" not in got and "aud" not in got, got
