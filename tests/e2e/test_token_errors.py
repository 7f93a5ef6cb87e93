"""API.md §2: every bad-token answer on every token-protected endpoint."""

import base64
import json
import time
import uuid

import jwt
import pytest

from gatehouse_e2e import REALM, assert_token_error, bearer, mint, uname

PW = "correct horse"

# path -> (method, token type it requires)
ENDPOINTS = {
    "/me": ("GET", "access"),
    "/logout/access": ("POST", "access"),
    "/logout/refresh": ("POST", "refresh"),
    "/token/refresh": ("POST", "refresh"),
}


@pytest.fixture(scope="module")
def ctx(module_server):
    srv = module_server
    u, body = srv.new_user("tok", PW)
    return {"srv": srv, "user": u, "access": body["access_token"], "refresh": body["refresh_token"]}


def call(ctx, path, headers):
    method, _ = ENDPOINTS[path]
    return ctx["srv"].request(method, path, headers=headers)


def good_claims(ctx, ttype):
    return {"sub": ctx["user"], "type": ttype, "fresh": False}


def b64(obj) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()


path_params = pytest.mark.parametrize("path", list(ENDPOINTS))


# -- missing / not Bearer ---------------------------------------------------------------------

@path_params
def test_missing_authorization_header(ctx, path):
    r = call(ctx, path, {})
    assert_token_error(r, "Missing Authorization Header", REALM)


@path_params
def test_basic_authorization_header_counts_as_missing(ctx, path):
    r = call(ctx, path, {"Authorization": "Basic dXNlcjpwYXNzd29yZA=="})
    assert_token_error(r, "Missing Authorization Header", REALM)


@path_params
def test_bearer_without_token_counts_as_missing(ctx, path):
    # Choice: "Bearer" alone is "not `Bearer <token>`" -> the missing-header answer, whose
    # WWW-Authenticate is the realm form.
    r = call(ctx, path, {"Authorization": "Bearer"})
    assert_token_error(r, "Missing Authorization Header", REALM)


# -- Invalid token ------------------------------------------------------------------------------

@path_params
@pytest.mark.parametrize("garbage", ["garbage", "aaa.bbb.ccc", "..", "e30.e30.", "x" * 300],
                         ids=["word", "three-parts", "dots", "empty-json", "long"])
def test_garbage_token_is_invalid(ctx, path, garbage):
    r = call(ctx, path, {"Authorization": f"Bearer {garbage}"})
    assert_token_error(r, "Invalid token")


@path_params
def test_token_signed_with_another_secret_is_invalid(ctx, path):
    ttype = ENDPOINTS[path][1]
    tok = mint("another-secret-of-at-least-32-bytes!!", good_claims(ctx, ttype))
    r = call(ctx, path, bearer(tok))
    assert_token_error(r, "Invalid token")


@path_params
def test_token_with_tampered_payload_is_invalid(ctx, path):
    ttype = ENDPOINTS[path][1]
    real = ctx["access"] if ttype == "access" else ctx["refresh"]
    h, p, s = real.split(".")
    claims = json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))
    claims["sub"] = uname("evil")
    r = call(ctx, path, bearer(f"{h}.{b64(claims)}.{s}"))
    assert_token_error(r, "Invalid token")


@path_params
def test_alg_none_token_is_invalid(ctx, path):
    ttype = ENDPOINTS[path][1]
    tok = mint(None, good_claims(ctx, ttype), algorithm="none")
    r = call(ctx, path, bearer(tok))
    assert_token_error(r, "Invalid token")


@path_params
def test_alg_none_header_with_a_real_signature_is_invalid(ctx, path):
    ttype = ENDPOINTS[path][1]
    real = ctx["access"] if ttype == "access" else ctx["refresh"]
    _, p, s = real.split(".")
    r = call(ctx, path, bearer(f"{b64({'alg': 'none', 'typ': 'JWT'})}.{p}.{s}"))
    assert_token_error(r, "Invalid token")


@path_params
@pytest.mark.parametrize("alg", ["HS384", "HS512"])
def test_other_hmac_algorithm_with_the_right_secret_is_invalid(ctx, path, alg):
    ttype = ENDPOINTS[path][1]
    tok = mint(ctx["srv"].secret, good_claims(ctx, ttype), algorithm=alg)
    r = call(ctx, path, bearer(tok))
    assert_token_error(r, "Invalid token")


# -- time -----------------------------------------------------------------------------------------

@path_params
def test_expired_token(ctx, path):
    ttype = ENDPOINTS[path][1]
    now = int(time.time())
    tok = mint(ctx["srv"].secret, good_claims(ctx, ttype), iat=now - 3600, nbf=now - 3600,
               exp=now - 60)
    r = call(ctx, path, bearer(tok))
    assert_token_error(r, "Token has expired")


@path_params
def test_token_not_yet_valid(ctx, path):
    ttype = ENDPOINTS[path][1]
    now = int(time.time())
    tok = mint(ctx["srv"].secret, good_claims(ctx, ttype), iat=now, nbf=now + 3600,
               exp=now + 7200)
    r = call(ctx, path, bearer(tok))
    assert_token_error(r, "Token not yet valid")


def test_token_minted_with_right_secret_and_claims_is_accepted(ctx):
    # Control for the cases above: the same minting with nothing wrong works.
    tok = mint(ctx["srv"].secret, good_claims(ctx, "access"))
    r = ctx["srv"].me(tok)
    assert r.status_code == 200, r.text


# -- revoked -------------------------------------------------------------------------------------

@path_params
def test_revoked_token(ctx, path):
    srv = ctx["srv"]
    ttype = ENDPOINTS[path][1]
    if ttype == "access":
        r = srv.refresh(ctx["refresh"])
        assert r.status_code == 200, r.text
        tok = r.json()["access_token"]
        r = srv.post("/logout/access", headers=bearer(tok))
    else:
        r = srv.login(ctx["user"], PW)
        assert r.status_code == 200, r.text
        tok = r.json()["refresh_token"]
        r = srv.post("/logout/refresh", headers=bearer(tok))
    assert r.status_code == 200, r.text
    r = call(ctx, path, bearer(tok))
    assert_token_error(r, "Token has been revoked")


# -- wrong token type ----------------------------------------------------------------------------

@path_params
def test_wrong_token_type(ctx, path):
    ttype = ENDPOINTS[path][1]
    if ttype == "access":
        tok, msg = ctx["refresh"], "Only access tokens are allowed"
    else:
        tok, msg = ctx["access"], "Only refresh tokens are allowed"
    r = call(ctx, path, bearer(tok))
    assert_token_error(r, msg)
