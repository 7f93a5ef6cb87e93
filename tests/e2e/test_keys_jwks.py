"""Issue 5 / API.md §3-4: generated signing keys, the JWKS, and tokens verified with PyJWT
using only the served JWKS, for every algorithm."""

import time

import jwt
import pytest

import gatehouse_e2e as gh
from gatehouse_e2e import assert_json, assert_token_error, bearer
from keys_support import (
    ASYM_ALGS,
    JWKS_CACHE_CONTROL,
    JWKS_PATH,
    KEY_FILE_RE,
    PRIVATE_MEMBERS,
    assert_jwk_shape,
    claims_of,
    get_jwks,
    header_of,
    key_files,
    load_private_pem,
    mode,
    public_jwk,
    thumbprint,
    verify_with_jwks,
)
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

PW = "correct horse"


@pytest.fixture(scope="module", params=ASYM_ALGS)
def asym(request, tmp_path_factory):
    alg = request.param
    f = gh.Factory(tmp_path_factory.mktemp(f"jwks-{alg}"))
    started = int(time.time())
    srv = f(args=["--jwt-algorithm", alg], name=f"gatehouse({alg})")
    user, body = srv.new_user("jwks", PW)
    yield {"alg": alg, "srv": srv, "f": f, "user": user, "started": started,
           "access": body["access_token"], "refresh": body["refresh_token"]}
    f.close()


# -- the JWKS document -------------------------------------------------------------------------

def test_jwks_document(asym):
    srv, alg = asym["srv"], asym["alg"]
    r = srv.get(JWKS_PATH)
    assert r.status_code == 200, r.text
    ctype = r.headers.get("Content-Type", "").split(";")[0].strip().lower()
    # Choice: the contract's JSON content type, or RFC 7517's jwk-set+json.
    assert ctype in ("application/json", "application/jwk-set+json"), r.headers.get("Content-Type")
    assert r.headers.get("Cache-Control") == JWKS_CACHE_CONTROL, r.headers.get("Cache-Control")
    doc = r.json()
    assert set(doc) == {"keys"}, doc
    assert isinstance(doc["keys"], list) and len(doc["keys"]) == 1, doc
    jwk = doc["keys"][0]
    assert_jwk_shape(jwk, alg)
    assert not (set(jwk) & PRIVATE_MEMBERS)


def test_jwks_needs_no_credentials_and_ignores_them(asym):
    srv = asym["srv"]
    plain = srv.get(JWKS_PATH).json()
    with_garbage = srv.get(JWKS_PATH, headers={"Authorization": "Bearer garbage"})
    assert with_garbage.status_code == 200
    assert with_garbage.json() == plain


def test_tokens_header_alg_typ_kid(asym):
    kid = get_jwks(asym["srv"])["keys"][0]["kid"]
    for tok in (asym["access"], asym["refresh"]):
        h = header_of(tok)
        assert h.get("alg") == asym["alg"], h
        assert h.get("typ") == "JWT", h
        assert h.get("kid") == kid, (h, kid)


def test_access_and_refresh_verify_with_pyjwk_from_jwks(asym):
    srv, alg = asym["srv"], asym["alg"]
    acc = verify_with_jwks(srv, asym["access"], alg)
    ref = verify_with_jwks(srv, asym["refresh"], alg)
    assert acc["sub"] == ref["sub"] == asym["user"]
    assert acc["type"] == "access" and ref["type"] == "refresh"
    assert acc["fresh"] is True and ref["fresh"] is False
    assert acc["sid"] == ref["sid"]
    assert acc["jti"] != ref["jti"]
    for c in (acc, ref):
        assert {"sub", "type", "fresh", "jti", "sid", "iat", "nbf", "exp"} <= set(c), c
        assert "iss" not in c and "aud" not in c, c  # not configured


def test_access_and_refresh_verify_with_pyjwkclient(asym):
    srv, alg = asym["srv"], asym["alg"]
    client = jwt.PyJWKClient(srv.url(JWKS_PATH), cache_keys=False)
    for tok, ttype in ((asym["access"], "access"), (asym["refresh"], "refresh")):
        key = client.get_signing_key_from_jwt(tok)
        claims = jwt.decode(tok, key.key, algorithms=[alg])
        assert claims["type"] == ttype and claims["sub"] == asym["user"]


def test_refreshed_and_login_tokens_verify_with_jwks(asym):
    srv, alg = asym["srv"], asym["alg"]
    r = srv.refresh(asym["refresh"])
    got = assert_json(r, 200)
    c = verify_with_jwks(srv, got["access_token"], alg)
    assert c["fresh"] is False and c["type"] == "access" and c["sub"] == asym["user"]
    r = srv.login(asym["user"], PW)
    got = gh.assert_tokens_pair(r, f"Logged in as {asym['user']}")
    for tok in (got["access_token"], got["refresh_token"]):
        verify_with_jwks(srv, tok, alg)
        assert header_of(tok)["alg"] == alg


def test_gatehouse_accepts_its_own_tokens(asym):
    srv = asym["srv"]
    r = srv.me(asym["access"])
    assert_json(r, 200)
    assert r.json()["username"] == asym["user"]


def test_verification_with_the_wrong_algorithm_fails_in_pyjwt(asym):
    # Sanity for the check above: the signature really is of the announced algorithm.
    other = {"EdDSA": "ES256", "ES256": "EdDSA", "RS256": "ES256"}[asym["alg"]]
    key = jwt.PyJWK(get_jwks(asym["srv"])["keys"][0]).key
    with pytest.raises(jwt.PyJWTError):
        jwt.decode(asym["access"], key, algorithms=[other])


# -- the generated key file --------------------------------------------------------------------

@pytest.mark.sqlite_only  # inspects <data_dir>/keys
def test_generated_key_file(asym):
    srv, alg = asym["srv"], asym["alg"]
    files = key_files(srv.data_dir)
    assert len(files) == 1, files
    p = files[0]
    assert KEY_FILE_RE.match(p.name), p.name
    created = int(p.name.split("-")[0])
    assert asym["started"] - 5 <= created <= int(time.time()) + 1, (created, asym["started"])
    assert mode(p) == 0o600, oct(mode(p))
    assert mode(p.parent) == 0o700, oct(mode(p.parent))
    text = p.read_text()
    assert text.startswith("-----BEGIN PRIVATE KEY-----"), text[:40]  # PKCS#8
    key = load_private_pem(p)
    if alg == "EdDSA":
        assert isinstance(key, ed25519.Ed25519PrivateKey)
    elif alg == "ES256":
        assert isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == "secp256r1"
    else:
        assert isinstance(key, rsa.RSAPrivateKey) and key.key_size == 3072
    # the JWKS serves exactly this key's public half
    jwk = get_jwks(srv)["keys"][0]
    pub = public_jwk(key)
    assert {k: jwk[k] for k in pub} == pub
    assert jwk["kid"] == thumbprint(pub)


def test_restart_reuses_the_key(tmp_path):
    # EdDSA is enough here (cheap); the key is generated on FIRST start only.
    f = gh.Factory(tmp_path)
    try:
        srv = f(args=["--jwt-algorithm", "EdDSA"])
        user, body = srv.new_user("restart", PW)
        before = get_jwks(srv)
        files = key_files(srv.data_dir)
        assert srv.terminate() == 0
        srv.start()
        assert get_jwks(srv) == before
        assert key_files(srv.data_dir) == files
        assert_json(srv.me(body["access_token"]), 200)
        assert_json(srv.refresh(body["refresh_token"]), 200)
    finally:
        f.close()


# -- HS256 -------------------------------------------------------------------------------------

def test_hs256_jwks_is_empty_and_tokens_have_no_kid(server):
    r = server.get(JWKS_PATH)
    assert r.status_code == 200, r.text
    assert r.json() == {"keys": []}
    assert r.headers.get("Cache-Control") == JWKS_CACHE_CONTROL, r.headers.get("Cache-Control")
    _, body = server.new_user("hs", PW)
    for tok in (body["access_token"], body["refresh_token"]):
        h = header_of(tok)
        assert h == {"alg": "HS256", "typ": "JWT"}, h
        gh.decode(tok, server.secret)
    assert key_files(server.data_dir) == []


def test_explicit_hs256_flag_is_the_default(server_factory):
    srv = server_factory(args=["--jwt-algorithm", "HS256"])
    assert get_jwks(srv) == {"keys": []}
    _, body = srv.new_user("hs", PW)
    assert header_of(body["access_token"])["alg"] == "HS256"
    assert "kid" not in header_of(body["access_token"])


def test_jwks_wrong_method(asym):
    r = asym["srv"].post(JWKS_PATH)
    assert r.status_code == 405, r.text
    assert "GET" in r.headers.get("Allow", ""), r.headers.get("Allow")
