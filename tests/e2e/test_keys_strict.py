"""Issue 5 / API.md §2-3, RFC 8725: strict verification under the asymmetric algorithms.

Every forged token below must be answered 401 "Invalid token" by a token-protected endpoint
and {"active": false} by introspection. Forgeries that need the server's private key read it
from <data_dir>/keys (that is how an attacker with the key, or a test, would sign).
"""

import hashlib
import json

import jwt
from jwt.algorithms import get_default_algorithms
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding

import gatehouse_e2e as gh
from gatehouse_e2e import assert_json, assert_token_error, bearer
from keys_support import (
    ASYM_ALGS,
    INTROSPECTION_SECRET,
    KEY_KIND,
    assert_inactive,
    b64u,
    b64u_decode,
    b64u_json,
    cached_key,
    claims_for,
    get_jwks,
    hs256_raw,
    introspect,
    public_der,
    public_jwk,
    public_pem,
    server_keys,
    sign_with,
    thumbprint,
    unsigned,
)

PW = "correct horse"


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    """One server per asymmetric algorithm, started on first use, shared by the module."""
    f = gh.Factory(tmp_path_factory.mktemp("strict"))
    cache = {}

    def get(alg):
        if alg not in cache:
            srv = f(args=["--jwt-algorithm", alg, "--introspection-secret", INTROSPECTION_SECRET],
                    name=f"gatehouse({alg})")
            user, body = srv.new_user("strict", PW)
            keys = server_keys(srv.data_dir)
            assert len(keys) == 1, keys
            kid, key = next(iter(keys.items()))
            jwk = get_jwks(srv)["keys"][0]
            assert jwk["kid"] == kid
            cache[alg] = {"alg": alg, "srv": srv, "user": user, "kid": kid, "key": key,
                          "jwk": jwk, "access": body["access_token"],
                          "refresh": body["refresh_token"]}
        return cache[alg]

    yield get
    f.close()


@pytest.fixture(params=ASYM_ALGS)
def ctx(request, servers):
    # every algorithm by default; tests that apply to some only parametrize ctx indirectly
    return servers(request.param)


def header(ctx, alg=None, kid="server", **extra):
    h = {"alg": alg or ctx["alg"], "typ": "JWT"}
    if kid == "server":
        h["kid"] = ctx["kid"]
    elif kid is not None:
        h["kid"] = kid
    h.update(extra)
    return h


def raw_sign(key, alg, header: dict, payload: dict) -> str:
    """A JWS with any header (PyJWT validates headers it writes)."""
    signing_input = f"{b64u_json(header)}.{b64u_json(payload)}".encode()
    sig = get_default_algorithms()[alg].sign(signing_input, key)
    return f"{signing_input.decode()}.{b64u(sig)}"


def refused(ctx, token, ttype="access"):
    """401 Invalid token where a token of this type is required, and inactive on introspection."""
    srv = ctx["srv"]
    if ttype == "access":
        r = srv.me(token)
    else:
        r = srv.refresh(token)
    assert_token_error(r, "Invalid token")
    assert_inactive(introspect(srv, token))


# -- controls: the forging machinery works ---------------------------------------------------------

@pytest.mark.parametrize("ttype", ["access", "refresh"])
def test_control_token_signed_with_server_key_is_accepted(ctx, ttype):
    tok = sign_with(ctx["key"], ctx["alg"], claims_for(ctx["user"], ttype), ctx["kid"])
    if ttype == "access":
        assert_json(ctx["srv"].me(tok), 200)
    else:
        assert_json(ctx["srv"].refresh(tok), 200)


# -- algorithm confusion: HS256 MACed with public key material ----------------------------------

def confusion_keys(ctx):
    jwk = ctx["jwk"]
    pem = public_pem(ctx["key"])
    keys = {
        "public-pem": pem,
        "public-pem-no-newline": pem.rstrip(b"\n"),
        "public-der": public_der(ctx["key"]),
        "jwk-json": json.dumps(jwk).encode(),
        "jwks-document": ctx["srv"].get("/.well-known/jwks.json").content,
        "kid": ctx["kid"].encode(),
    }
    if "x" in jwk:
        keys["raw-x"] = b64u_decode(jwk["x"])
        keys["x-b64u-text"] = jwk["x"].encode()
    if "n" in jwk:
        keys["raw-n"] = b64u_decode(jwk["n"])
    return keys


_COMMON = ["public-pem", "public-pem-no-newline", "public-der", "jwk-json", "jwks-document", "kid"]
CONFUSION = {
    "EdDSA": _COMMON + ["raw-x", "x-b64u-text"],
    "ES256": _COMMON + ["raw-x", "x-b64u-text"],
    "RS256": _COMMON + ["raw-n"],
}


@pytest.mark.parametrize("ctx, which",
                         [(a, w) for a in ASYM_ALGS for w in CONFUSION[a]], indirect=["ctx"])
@pytest.mark.parametrize("with_kid", [True, False], ids=["kid", "no-kid"])
def test_hs256_macd_with_public_key_material_is_refused(ctx, which, with_kid):
    keys = confusion_keys(ctx)
    h = header(ctx, alg="HS256", kid="server" if with_kid else None)
    refused(ctx, hs256_raw(h, claims_for(ctx["user"]), keys[which]))


def test_hs256_refresh_token_macd_with_public_pem_is_refused(ctx):
    h = header(ctx, alg="HS256")
    refused(ctx, hs256_raw(h, claims_for(ctx["user"], "refresh"), public_pem(ctx["key"])), "refresh")


def test_hs256_with_any_secret_is_refused(ctx):
    tok = jwt.encode(claims_for(ctx["user"]), "s" * 40, algorithm="HS256",
                     headers={"kid": ctx["kid"]})
    refused(ctx, tok)


# -- alg none / empty or missing signature ------------------------------------------------------

@pytest.mark.parametrize("alg_value", ["none", "None", "NONE", "nOnE"])
def test_alg_none_is_refused(ctx, alg_value):
    refused(ctx, unsigned(header(ctx, alg=alg_value), claims_for(ctx["user"])))


def test_configured_alg_with_empty_signature_is_refused(ctx):
    refused(ctx, unsigned(header(ctx), claims_for(ctx["user"])))


def test_alg_none_with_real_signature_attached_is_refused(ctx):
    good = sign_with(ctx["key"], ctx["alg"], claims_for(ctx["user"]), ctx["kid"])
    sig = good.split(".")[2]
    refused(ctx, unsigned(header(ctx, alg="none"), claims_for(ctx["user"]), sig))


def test_missing_alg_is_refused(ctx):
    # validly signed by the server's key, but the header names no algorithm (RFC 7515 §4.1.1)
    h = {"typ": "JWT", "kid": ctx["kid"]}
    refused(ctx, raw_sign(ctx["key"], ctx["alg"], h, claims_for(ctx["user"])))


# -- kid ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("bad_kid", ["unknown-kid", "", "../../etc/passwd", "A" * 43])
def test_server_key_with_unknown_kid_is_refused(ctx, bad_kid):
    tok = sign_with(ctx["key"], ctx["alg"], claims_for(ctx["user"]), bad_kid)
    refused(ctx, tok)


@pytest.mark.parametrize("bad_kid", [12345, None, ["x"], {"kid": "x"}],
                         ids=["number", "null", "list", "object"])
def test_non_string_kid_is_refused(ctx, bad_kid):
    h = {"alg": ctx["alg"], "typ": "JWT", "kid": bad_kid}
    refused(ctx, raw_sign(ctx["key"], ctx["alg"], h, claims_for(ctx["user"])))


def test_control_raw_signer(ctx):
    # the hand-made signer produces tokens the server accepts (with its kid)
    h = {"alg": ctx["alg"], "typ": "JWT", "kid": ctx["kid"]}
    assert_json(ctx["srv"].me(raw_sign(ctx["key"], ctx["alg"], h, claims_for(ctx["user"]))), 200)


def test_other_key_of_right_type_with_server_kid_is_refused(ctx):
    other = cached_key(KEY_KIND[ctx["alg"]], "attacker")
    refused(ctx, sign_with(other, ctx["alg"], claims_for(ctx["user"]), ctx["kid"]))
    refused(ctx, sign_with(other, ctx["alg"], claims_for(ctx["user"], "refresh"), ctx["kid"]),
            "refresh")


def test_other_key_with_its_own_kid_is_refused(ctx):
    other = cached_key(KEY_KIND[ctx["alg"]], "attacker")
    okid = thumbprint(public_jwk(other))
    refused(ctx, sign_with(other, ctx["alg"], claims_for(ctx["user"]), okid))


@pytest.mark.parametrize("kid_choice", ["server", "attacker"])
def test_embedded_jwk_header_is_not_trusted(ctx, kid_choice):
    # RFC 8725 §3.10 / CVE-2018-0114 style: the token carries its own verification key.
    other = cached_key(KEY_KIND[ctx["alg"]], "attacker")
    ojwk = public_jwk(other)
    kid = ctx["kid"] if kid_choice == "server" else thumbprint(ojwk)
    tok = sign_with(other, ctx["alg"], claims_for(ctx["user"]), kid,
                    extra_headers={"jwk": dict(ojwk, kid=kid, alg=ctx["alg"], use="sig")})
    refused(ctx, tok)


def test_jku_header_is_not_followed(ctx):
    other = cached_key(KEY_KIND[ctx["alg"]], "attacker")
    tok = sign_with(other, ctx["alg"], claims_for(ctx["user"]), ctx["kid"],
                    extra_headers={"jku": "http://127.0.0.1:9/jwks.json"})
    refused(ctx, tok)


# -- other asymmetric algorithms than the configured one -------------------------------------------

OTHER_ALGS = {
    "EdDSA": ["ES256", "RS256", "ES384"],
    "ES256": ["EdDSA", "RS256", "ES384", "ES512", "ES256K"],
    "RS256": ["EdDSA", "ES256", "RS384", "RS512", "PS256"],
}


@pytest.mark.parametrize("ctx, other_alg",
                         [(a, o) for a in ASYM_ALGS for o in OTHER_ALGS[a]], indirect=["ctx"])
def test_other_algorithm_is_refused(ctx, other_alg):
    # Sign with the server's own key where the algorithm can use it (RS384/RS512/PS256 with
    # the server's RSA key, ES384/ES512 over P-256 if PyJWT allows), else with a fresh key of
    # the family the algorithm needs; the header names the server's kid.
    key = None
    if other_alg.startswith(("RS", "PS")) and ctx["alg"] == "RS256":
        key = ctx["key"]
    elif other_alg.startswith("ES") and ctx["alg"] == "ES256":
        key = ctx["key"]
    if key is None:
        kind = {"ES256": "P-256", "ES384": "P-384", "ES512": "P-384", "RS256": "RSA2048",
                "EdDSA": "Ed25519", "ES256K": "P-256"}[other_alg]
        key = cached_key(kind, "attacker")
    try:
        tok = sign_with(key, other_alg, claims_for(ctx["user"]), ctx["kid"])
    except Exception as e:  # PyJWT refuses this key/alg pairing: forge the header instead
        good = sign_with(ctx["key"], ctx["alg"], claims_for(ctx["user"]), ctx["kid"])
        _, payload, sig = good.split(".")
        tok = f"{b64u_json(header(ctx, alg=other_alg))}.{payload}.{sig}"
    refused(ctx, tok)


def test_real_signature_under_relabelled_alg_is_refused(ctx):
    # The server's own valid signature, but the header claims another algorithm: the header is
    # signed too, so this is a bad signature whatever the verifier does with the alg.
    other = {"EdDSA": "ES256", "ES256": "EdDSA", "RS256": "PS256"}[ctx["alg"]]
    good = sign_with(ctx["key"], ctx["alg"], claims_for(ctx["user"]), ctx["kid"])
    _, payload, sig = good.split(".")
    refused(ctx, f"{b64u_json(header(ctx, alg=other))}.{payload}.{sig}")


@pytest.mark.parametrize("ctx", ["ES256"], indirect=True)
def test_es256_der_signature_is_refused(ctx):
    # RFC 7518 §3.4: ES256 signatures are the 64-byte R||S, not ASN.1 DER.
    h = b64u_json(header(ctx))
    p = b64u_json(claims_for(ctx["user"]))
    der = ctx["key"].sign(f"{h}.{p}".encode(), ec.ECDSA(hashes.SHA256()))
    refused(ctx, f"{h}.{p}.{b64u(der)}")


@pytest.mark.parametrize("ctx", ["ES256"], indirect=True)
def test_ecdsa_zero_signature_is_refused(ctx):
    h = b64u_json(header(ctx))
    p = b64u_json(claims_for(ctx["user"]))
    refused(ctx, f"{h}.{p}.{b64u(bytes(64))}")  # r = s = 0 ("psychic signatures")


def test_tampered_payload_is_refused(ctx):
    good = sign_with(ctx["key"], ctx["alg"], claims_for(ctx["user"]), ctx["kid"])
    h, _, sig = good.split(".")
    other = claims_for("someone_else")
    refused(ctx, f"{h}.{b64u_json(other)}.{sig}")


def test_tampered_real_token_is_refused(ctx):
    tok = ctx["access"]
    h, p, sig = tok.split(".")
    raw = bytearray(b64u_decode(sig))
    raw[len(raw) // 2] ^= 0x01
    refused(ctx, f"{h}.{p}.{b64u(bytes(raw))}")
    # and the untouched one still works
    assert_json(ctx["srv"].me(tok), 200)
