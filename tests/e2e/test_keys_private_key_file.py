"""Issue 5: `--jwt-private-key-file` (jwt.private_key_file): a key made by the operator is the
signing key; a key of the wrong type stops the start."""

import jwt
import pytest

import gatehouse_e2e as gh
from gatehouse_e2e import assert_json
from keys_support import (
    ASYM_ALGS,
    KEY_KIND,
    assert_jwk_shape,
    cached_key,
    get_jwks,
    header_of,
    public_jwk,
    thumbprint,
    verify_with_jwks,
    wait_exit,
    write_key_file,
)

PW = "correct horse"


@pytest.mark.parametrize("alg", ASYM_ALGS)
def test_operator_key_is_used(server_factory, tmp_path, alg):
    key = cached_key(KEY_KIND[alg], "operator")
    path = write_key_file(tmp_path / "operator" / f"{alg}.pem", key)
    srv = server_factory(args=["--jwt-algorithm", alg, "--jwt-private-key-file", str(path)])

    doc = get_jwks(srv)
    assert len(doc["keys"]) == 1, doc
    jwk = doc["keys"][0]
    assert_jwk_shape(jwk, alg)
    pub = public_jwk(key)
    assert {k: jwk[k] for k in pub} == pub, (jwk, pub)
    kid = thumbprint(pub)
    assert jwk["kid"] == kid

    user, body = srv.new_user("pkf", PW)
    for tok, ttype in ((body["access_token"], "access"), (body["refresh_token"], "refresh")):
        h = header_of(tok)
        assert h == {"alg": alg, "typ": "JWT", "kid": kid}, h
        # with the operator's own public key ...
        claims = jwt.decode(tok, key.public_key(), algorithms=[alg])
        assert claims["sub"] == user and claims["type"] == ttype
        # ... and with the served JWKS only
        verify_with_jwks(srv, tok, alg)
    assert_json(srv.me(body["access_token"]), 200)

    # a token the operator signs with the same key is accepted (it is the server's key)
    own = jwt.encode(dict(jwt.decode(body["access_token"], key.public_key(), algorithms=[alg]),
                          jti="11111111-2222-4333-8444-555555555555"),
                     key, algorithm=alg, headers={"kid": kid})
    assert_json(srv.me(own), 200)


def test_operator_key_survives_restart(server_factory, tmp_path):
    key = cached_key("Ed25519", "operator")
    path = write_key_file(tmp_path / "operator" / "ed.pem", key)
    srv = server_factory(args=["--jwt-algorithm", "EdDSA", "--jwt-private-key-file", str(path)])
    _, body = srv.new_user("pkf", PW)
    before = get_jwks(srv)
    assert srv.terminate() == 0
    srv.start()
    assert get_jwks(srv) == before
    assert_json(srv.me(body["access_token"]), 200)


def test_two_servers_sharing_the_key_accept_each_others_tokens(server_factory, tmp_path):
    key = cached_key("P-256", "operator")
    path = write_key_file(tmp_path / "operator" / "p256.pem", key)
    args = ["--jwt-algorithm", "ES256", "--jwt-private-key-file", str(path)]
    a = server_factory(args=args, name="gatehouse(a)")
    b = server_factory(args=args, name="gatehouse(b)")
    assert get_jwks(a) == get_jwks(b)
    user, body = a.new_user("share", PW)
    # b has no such user: /token/refresh does not need the user row, /me would answer 404
    r = b.refresh(body["refresh_token"])
    assert_json(r, 200)
    assert header_of(r.json()["access_token"])["kid"] == header_of(body["access_token"])["kid"]


MISMATCHED = [
    ("EdDSA", "P-256"),
    ("EdDSA", "RSA2048"),
    ("ES256", "Ed25519"),
    ("ES256", "P-384"),
    ("ES256", "RSA2048"),
    ("RS256", "Ed25519"),
    ("RS256", "P-256"),
    ("RS256", "RSA1024"),  # RSA below 2048 bits
]


@pytest.mark.parametrize("alg, kind", MISMATCHED, ids=[f"{a}-{k}" for a, k in MISMATCHED])
def test_wrong_key_type_stops_the_start(server_factory, tmp_path, alg, kind):
    path = write_key_file(tmp_path / "operator" / f"{kind}.pem", cached_key(kind, "wrong"))
    srv = server_factory(start=False,
                         args=["--jwt-algorithm", alg, "--jwt-private-key-file", str(path)])
    srv.start(wait=False)
    rc, served = wait_exit(srv)
    assert rc is not None, f"gatehouse kept running with a {kind} key for {alg}"
    assert rc != 0, f"exit status {rc}"
    assert not served, "gatehouse answered /healthz with a key of the wrong type"


@pytest.mark.parametrize("content", ["missing", "garbage", "public-key"])
def test_unusable_key_file_stops_the_start(server_factory, tmp_path, content):
    # Choice (facts only cover the wrong type): a missing, unparseable or public-only PEM
    # also stops the start with a non-zero status.
    from keys_support import public_pem
    path = tmp_path / "operator" / "key.pem"
    path.parent.mkdir(parents=True, exist_ok=True)
    if content == "garbage":
        path.write_text("-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n")
    elif content == "public-key":
        path.write_bytes(public_pem(cached_key("Ed25519", "operator")))
    if path.exists():
        path.chmod(0o600)
    srv = server_factory(start=False,
                         args=["--jwt-algorithm", "EdDSA", "--jwt-private-key-file", str(path)])
    srv.start(wait=False)
    rc, served = wait_exit(srv)
    assert rc is not None and rc != 0, f"exit status {rc}"
    assert not served
