"""Issue 15 items 8 and 9, with a real OAuth client (Authlib): RFC 8414 metadata at
/.well-known/oauth-authorization-server, RFC 7662 introspection and RFC 7009 revocation
(POST /token/revoke, 200 for any token) with HTTP Basic client credentials."""

import os

import pytest
import requests

import gatehouse_e2e as gh
from keys_support import INTROSPECTION_SECRET

authlib = pytest.importorskip("authlib", reason="python3-authlib (scripts/install-deps test)")
from authlib.integrations.requests_client import OAuth2Session  # noqa: E402
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata  # noqa: E402

# The tests' server is plain HTTP on loopback; Authlib otherwise insists on https issuers.
os.environ["AUTHLIB_INSECURE_TRANSPORT"] = "1"


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    f = gh.Factory(tmp_path_factory.mktemp("oauth"))
    s = f(args=["--introspection-secret", INTROSPECTION_SECRET, "--jwt-algorithm", "EdDSA"],
          start=False)
    s.extra_args += ["--jwt-issuer", s.base]  # the issuer is gatehouse's own URL
    s.start()
    yield s
    f.close()


@pytest.fixture()
def client(srv):
    meta = srv.get("/.well-known/oauth-authorization-server").json()
    session = OAuth2Session("orders-api", INTROSPECTION_SECRET,
                            token_endpoint_auth_method="client_secret_basic")
    session.metadata = meta
    yield session
    session.close()


def test_metadata_is_valid_rfc8414(srv):
    r = srv.get("/.well-known/oauth-authorization-server")
    assert r.status_code == 200 and r.headers["Content-Type"] == gh.JSON_CT
    meta = AuthorizationServerMetadata(r.json())
    meta.validate_issuer()
    meta.validate_jwks_uri()
    meta.validate_introspection_endpoint()
    meta.validate_revocation_endpoint()
    meta.validate_introspection_endpoint_auth_methods_supported()
    meta.validate_revocation_endpoint_auth_methods_supported()
    assert meta["issuer"] == srv.base
    assert meta["introspection_endpoint"] == srv.base + "/token/introspect"
    assert meta["revocation_endpoint"] == srv.base + "/token/revoke"
    assert meta["token_signing_alg_values_supported"] == ["EdDSA"]
    keys = requests.get(meta["jwks_uri"], timeout=10).json()["keys"]
    assert keys and keys[0]["alg"] == "EdDSA"


def test_authlib_introspects_and_revokes_an_access_token(srv, client):
    user, tokens = srv.new_user("authlib")
    acc = tokens["access_token"]
    meta = client.metadata
    got = client.introspect_token(meta["introspection_endpoint"], token=acc).json()
    assert got["active"] is True and got["sub"] == user and got["iss"] == srv.base
    r = client.revoke_token(meta["revocation_endpoint"], token=acc, token_type_hint="access_token")
    assert r.status_code == 200
    assert client.introspect_token(meta["introspection_endpoint"], token=acc).json() == {
        "active": False}
    gh.assert_token_error(srv.me(acc), "Token has been revoked")
    # the session's refresh token is untouched by revoking one access token
    assert srv.refresh(tokens["refresh_token"]).status_code == 200


def test_revoking_a_refresh_token_ends_its_session(srv, client):
    _, tokens = srv.new_user("authlib")
    r = client.revoke_token(client.metadata["revocation_endpoint"], token=tokens["refresh_token"])
    assert r.status_code == 200
    gh.assert_token_error(srv.refresh(tokens["refresh_token"]), "Token has been revoked")
    gh.assert_token_error(srv.me(tokens["access_token"]), "Token has been revoked")


def test_revoking_a_refresh_token_ends_its_session_as_a_logout_does(srv, client):
    """The session is ended, not only refused: GET /sessions no longer lists it (§10)."""
    user, tokens = srv.new_user("authlib")
    other = srv.post("/login", json={"username": user, "password": "correct horse"}).json()
    listed = srv.get("/sessions", headers=gh.bearer(other["access_token"])).json()["sessions"]
    assert len(listed) == 2
    r = client.revoke_token(client.metadata["revocation_endpoint"], token=tokens["refresh_token"])
    assert r.status_code == 200
    listed = srv.get("/sessions", headers=gh.bearer(other["access_token"])).json()["sessions"]
    assert [s["current"] for s in listed] == [True]
    assert srv.refresh(other["refresh_token"]).status_code == 200


@pytest.mark.parametrize("token", ["", "not-a-token", "a.b.c"])
def test_unknown_tokens_answer_200(srv, client, token):
    r = client.revoke_token(client.metadata["revocation_endpoint"], token=token,
                            token_type_hint="refresh_token")
    assert r.status_code == 200 and r.json() == {}
    assert r.headers["Cache-Control"] == "no-store"


def test_revoking_twice_answers_200_both_times(srv, client):
    _, tokens = srv.new_user("authlib")
    for _ in range(2):
        r = client.revoke_token(client.metadata["revocation_endpoint"], token=tokens["access_token"])
        assert r.status_code == 200


def test_revocation_needs_the_caller_secret(srv):
    _, tokens = srv.new_user("authlib")
    r = requests.post(srv.url("/token/revoke"), data={"token": tokens["access_token"]},
                      auth=("orders-api", "wrong-secret-0123456789"), timeout=10)
    gh.assert_message(r, 401, "Invalid introspection credentials")
    r = requests.post(srv.url("/token/revoke"), data={"token": tokens["access_token"]}, timeout=10)
    assert r.status_code == 401
    assert srv.me(tokens["access_token"]).status_code == 200
    r = requests.post(srv.url("/token/revoke"), data={},
                      headers=gh.bearer(INTROSPECTION_SECRET), timeout=10)
    gh.assert_message(r, 400, "token: This field cannot be blank")


def test_without_issuer_url_or_secret_the_endpoints_are_404(server_factory):
    srv = server_factory()
    gh.assert_message(srv.get("/.well-known/oauth-authorization-server"), 404, "Not found")
    gh.assert_message(srv.post("/token/revoke", data={"token": "x"}), 404, "Not found")
    srv2 = server_factory(args=["--jwt-issuer", "https://auth.example.test/"])
    meta = srv2.get("/.well-known/oauth-authorization-server").json()
    assert meta["issuer"] == "https://auth.example.test/"
    assert meta["jwks_uri"] == "https://auth.example.test/.well-known/jwks.json"
    assert "revocation_endpoint" not in meta and "introspection_endpoint" not in meta
