"""Issue 5 / API.md §3: with jwt.issuer / jwt.audience configured, tokens carry iss/aud and
tokens without the right ones are refused ("Invalid token", inactive on introspection)."""

import time

import jwt
import pytest

import gatehouse_e2e as gh
from gatehouse_e2e import assert_json, assert_token_error
from keys_support import (
    INTROSPECTION_SECRET,
    assert_active,
    assert_inactive,
    claims_for,
    header_of,
    introspect,
    server_keys,
    sign_with,
    verify_with_jwks,
)

PW = "correct horse"
ISS = "https://auth.example.test"
AUD = "api://orders"
SECRET = "issuer-audience-test-secret-0123456789abcdef"


@pytest.fixture(scope="module", params=["HS256", "EdDSA"])
def ctx(request, tmp_path_factory):
    alg = request.param
    f = gh.Factory(tmp_path_factory.mktemp(f"issaud-{alg}"))
    args = ["--jwt-algorithm", alg, "--jwt-issuer", ISS, "--jwt-audience", AUD,
            "--introspection-secret", INTROSPECTION_SECRET]
    if alg == "HS256":
        args += ["--jwt-secret", SECRET]
    srv = f(args=args, name=f"gatehouse({alg})")
    user, body = srv.new_user("ia", PW)
    c = {"alg": alg, "srv": srv, "user": user,
         "access": body["access_token"], "refresh": body["refresh_token"]}
    if alg == "HS256":
        c["key"], c["kid"] = SECRET, None
    else:
        (c["kid"], c["key"]), = server_keys(srv.data_dir).items()
    yield c
    f.close()


def verify(ctx, token, **kw):
    if ctx["alg"] == "HS256":
        return jwt.decode(token, SECRET, algorithms=["HS256"], **kw)
    return verify_with_jwks(ctx["srv"], token, ctx["alg"], **kw)


def forge(ctx, ttype="access", **claims):
    """A token signed with the server's own key (secret or PEM) with chosen iss/aud."""
    payload = claims_for(ctx["user"], ttype)
    for k, v in claims.items():
        if v is None:
            payload.pop(k, None)
        else:
            payload[k] = v
    return sign_with(ctx["key"], ctx["alg"], payload, ctx["kid"])


def use(ctx, token, ttype="access"):
    srv = ctx["srv"]
    return srv.me(token) if ttype == "access" else srv.refresh(token)


# -- gatehouse tokens carry iss and aud ---------------------------------------------------------

def test_tokens_carry_iss_and_aud(ctx):
    for tok in (ctx["access"], ctx["refresh"]):
        claims = verify(ctx, tok, issuer=ISS, audience=AUD,
                        options={"require": ["iss", "aud", "exp", "iat"]})
        assert claims["iss"] == ISS
        # Choice: a single audience is written as a string (RFC 7519 allows either form)
        assert claims["aud"] == AUD or claims["aud"] == [AUD], claims["aud"]


def test_pyjwt_with_another_audience_or_issuer_refuses_them(ctx):
    with pytest.raises(jwt.InvalidAudienceError):
        verify(ctx, ctx["access"], issuer=ISS, audience="api://other")
    with pytest.raises(jwt.InvalidIssuerError):
        verify(ctx, ctx["access"], issuer="https://other.example", audience=AUD)


def test_refreshed_tokens_carry_iss_and_aud(ctx):
    r = ctx["srv"].refresh(ctx["refresh"])
    assert_json(r, 200)
    claims = verify(ctx, r.json()["access_token"], issuer=ISS, audience=AUD)
    assert claims["iss"] == ISS


def test_gatehouse_accepts_its_own_tokens(ctx):
    assert_json(ctx["srv"].me(ctx["access"]), 200)
    assert_active(introspect(ctx["srv"], ctx["access"]), ctx["access"], "access")


# -- minted tokens -------------------------------------------------------------------------------

@pytest.mark.parametrize("ttype", ["access", "refresh"])
def test_control_right_iss_and_aud_accepted(ctx, ttype):
    assert_json(use(ctx, forge(ctx, ttype, iss=ISS, aud=AUD), ttype), 200)


CASES = {
    "foreign-iss": {"iss": "https://evil.example.test", "aud": AUD},
    "iss-trailing-slash": {"iss": ISS + "/", "aud": AUD},
    "iss-case": {"iss": ISS.upper(), "aud": AUD},
    "no-iss": {"iss": None, "aud": AUD},
    "no-aud": {"iss": ISS, "aud": None},
    "foreign-aud": {"iss": ISS, "aud": "api://billing"},
    "aud-list-without-ours": {"iss": ISS, "aud": ["api://billing", "api://x"]},
    "neither": {"iss": None, "aud": None},
    "iss-not-string": {"iss": 42, "aud": AUD},
}


@pytest.mark.parametrize("ttype", ["access", "refresh"])
@pytest.mark.parametrize("case", list(CASES))
def test_wrong_iss_or_aud_refused(ctx, case, ttype):
    tok = forge(ctx, ttype, **CASES[case])
    assert_token_error(use(ctx, tok, ttype), "Invalid token")
    assert_inactive(introspect(ctx["srv"], tok))


def test_without_the_settings_tokens_need_no_iss_or_aud(server_factory):
    # Control for the module above: the same minted token without iss/aud is accepted by a
    # server that has no issuer/audience configured (so the refusals are about iss/aud).
    srv = server_factory(args=["--jwt-secret", SECRET])
    user, _ = srv.new_user("plain", PW)
    tok = sign_with(SECRET, "HS256", claims_for(user), None)
    assert_json(srv.me(tok), 200)
    _, body = srv.new_user("plain", PW)
    claims = jwt.decode(body["access_token"], SECRET, algorithms=["HS256"])
    assert "iss" not in claims and "aud" not in claims
