"""API.md §3: the claims and header of gatehouse tokens, checked with PyJWT and the key."""

import time

import jwt
import pytest

from gatehouse_e2e import UUID4_RE, bearer, decode, uname

PW = "correct horse"
CLAIMS = {"sub", "type", "fresh", "jti", "sid", "iat", "nbf", "exp"}


@pytest.fixture(scope="module")
def srv(module_server):
    return module_server


@pytest.fixture(scope="module")
def reg(srv):
    """A registration: (username, t_before, t_after, access claims, refresh claims, raw)."""
    u = uname("claims")
    t0 = int(time.time())
    r = srv.register(u, PW)
    t1 = int(time.time()) + 1
    assert r.status_code == 200, r.text
    body = r.json()
    return {
        "user": u, "t0": t0, "t1": t1, "body": body,
        "access": decode(body["access_token"], srv.secret),
        "refresh": decode(body["refresh_token"], srv.secret),
    }


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


@pytest.mark.parametrize("which", ["access_token", "refresh_token"])
def test_header_is_hs256_jwt(reg, which):
    h = jwt.get_unverified_header(reg["body"][which])
    assert h.get("alg") == "HS256" and h.get("typ") == "JWT", h
    assert set(h) <= {"alg", "typ", "kid"}, h


@pytest.mark.parametrize("which", ["access", "refresh"])
def test_claim_set_is_exactly_the_flask_jwt_extended_set_plus_sid(reg, which):
    # Choice: with no issuer/audience configured, no claims beyond the §3 table.
    assert set(reg[which]) == CLAIMS, reg[which]


@pytest.mark.parametrize("which", ["access", "refresh"])
def test_claim_types_and_values(reg, which):
    c = reg[which]
    assert c["sub"] == reg["user"]
    assert c["type"] == which
    assert isinstance(c["fresh"], bool)
    assert isinstance(c["jti"], str) and UUID4_RE.match(c["jti"]), c["jti"]
    assert isinstance(c["sid"], str) and UUID4_RE.match(c["sid"]), c["sid"]
    for k in ("iat", "nbf", "exp"):
        assert is_int(c[k]), (k, c[k])
    assert c["nbf"] == c["iat"]
    assert reg["t0"] - 1 <= c["iat"] <= reg["t1"], (reg["t0"], c["iat"], reg["t1"])


def test_access_token_lifetime_default_is_30_minutes(reg):
    assert reg["access"]["exp"] - reg["access"]["iat"] == 1800


def test_refresh_token_lifetime_default_is_30_days(reg):
    assert reg["refresh"]["exp"] - reg["refresh"]["iat"] == 2592000


def test_registration_access_token_is_fresh(reg):
    assert reg["access"]["fresh"] is True


def test_refresh_token_is_not_fresh(reg):
    assert reg["refresh"]["fresh"] is False


def test_login_access_token_is_fresh_and_refresh_token_not(srv, reg):
    r = srv.login(reg["user"], PW)
    assert r.status_code == 200, r.text
    assert decode(r.json()["access_token"], srv.secret)["fresh"] is True
    assert decode(r.json()["refresh_token"], srv.secret)["fresh"] is False


def test_refreshed_access_token_is_not_fresh(srv, reg):
    r = srv.refresh(reg["body"]["refresh_token"])
    assert r.status_code == 200, r.text
    c = decode(r.json()["access_token"], srv.secret)
    assert c["fresh"] is False
    assert c["type"] == "access" and c["sub"] == reg["user"]
    assert set(c) == CLAIMS and c["exp"] - c["iat"] == 1800


def test_registration_tokens_share_one_sid(reg):
    assert reg["access"]["sid"] == reg["refresh"]["sid"]


def test_refreshed_access_tokens_share_the_refresh_token_sid(srv, reg):
    sids = set()
    for _ in range(3):
        r = srv.refresh(reg["body"]["refresh_token"])
        assert r.status_code == 200, r.text
        sids.add(decode(r.json()["access_token"], srv.secret)["sid"])
    assert sids == {reg["refresh"]["sid"]}


def test_each_login_is_a_new_sid(srv, reg):
    sids = {reg["refresh"]["sid"]}
    for _ in range(2):
        r = srv.login(reg["user"], PW)
        assert r.status_code == 200, r.text
        a = decode(r.json()["access_token"], srv.secret)
        f = decode(r.json()["refresh_token"], srv.secret)
        assert a["sid"] == f["sid"]
        sids.add(f["sid"])
    assert len(sids) == 3


def test_jti_unique_across_tokens(srv, reg):
    jtis = [reg["access"]["jti"], reg["refresh"]["jti"]]
    for _ in range(5):
        r = srv.refresh(reg["body"]["refresh_token"])
        assert r.status_code == 200, r.text
        jtis.append(decode(r.json()["access_token"], srv.secret)["jti"])
    r = srv.login(reg["user"], PW)
    jtis += [decode(r.json()[k], srv.secret)["jti"] for k in ("access_token", "refresh_token")]
    assert len(jtis) == len(set(jtis)) == 9


def test_me_works_with_refreshed_access_token(srv, reg):
    r = srv.refresh(reg["body"]["refresh_token"])
    r = srv.me(r.json()["access_token"])
    assert r.status_code == 200 and r.json()["username"] == reg["user"], r.text


def test_explicit_jwt_secret_is_the_literal_hs256_key(server_factory):
    secret = "s3cr3t-literal-key-0123456789-abcdefgh"  # 38 bytes
    srv = server_factory(args=["--jwt-secret", secret])
    u, body = srv.new_user("lit")
    c = jwt.decode(body["access_token"], secret.encode(), algorithms=["HS256"])
    assert c["sub"] == u
    # a token we mint with the literal string is accepted
    now = int(time.time())
    tok = jwt.encode({"sub": u, "type": "access", "fresh": False, "jti": "0d5b8b8e-9c1c-4f65-b1a8-2c6a1f1f7a10",
                      "iat": now, "nbf": now, "exp": now + 60}, secret, algorithm="HS256")
    assert srv.me(tok).status_code == 200
