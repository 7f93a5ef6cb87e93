"""Issue 5 / API.md §4: POST /token/introspect (RFC 7662), protected by introspection.secret."""

import time

import jwt
import pytest

import gatehouse_e2e as gh
from gatehouse_e2e import assert_json, assert_message, bearer, mint
from keys_support import (
    INTROSPECTION_SECRET,
    assert_active,
    assert_inactive,
    claims_of,
    introspect,
)

PW = "correct horse"
INTRO_ARGS = ["--introspection-secret", INTROSPECTION_SECRET]


@pytest.fixture(scope="module", params=["HS256", "EdDSA"])
def srv(request, tmp_path_factory):
    alg = request.param
    f = gh.Factory(tmp_path_factory.mktemp(f"intro-{alg}"))
    s = f(args=["--jwt-algorithm", alg, *INTRO_ARGS], name=f"gatehouse({alg})")
    s.alg = alg
    yield s
    f.close()


def fresh_pair(srv, prefix="in"):
    user, body = srv.new_user(prefix, PW)
    return user, body["access_token"], body["refresh_token"]


# -- active --------------------------------------------------------------------------------------

def test_active_access_token(srv):
    user, acc, _ = fresh_pair(srv)
    got = assert_active(introspect(srv, acc), acc, "access")
    assert got["username"] == user


def test_active_refresh_token(srv):
    user, _, ref = fresh_pair(srv)
    got = assert_active(introspect(srv, ref), ref, "refresh")
    assert got["username"] == user


def test_refreshed_access_token_is_active(srv):
    _, _, ref = fresh_pair(srv)
    acc2 = srv.refresh(ref).json()["access_token"]
    got = assert_active(introspect(srv, acc2), acc2, "access")
    assert got["sid"] == claims_of(ref)["sid"]


def test_json_body_is_accepted(srv):
    _, acc, _ = fresh_pair(srv)
    assert_active(introspect(srv, acc, as_json=True), acc, "access")


@pytest.mark.parametrize("hint", ["access_token", "refresh_token"])
def test_token_type_hint_accepted_either_way(srv, hint):
    # RFC 7662 §2.1: a hint that does not fit the token does not change the answer.
    _, acc, ref = fresh_pair(srv)
    assert_active(introspect(srv, acc, hint=hint), acc, "access")
    assert_active(introspect(srv, ref, hint=hint), ref, "refresh")


def test_token_type_hint_with_json_body(srv):
    _, acc, _ = fresh_pair(srv)
    assert_active(introspect(srv, acc, hint="access_token", as_json=True), acc, "access")


def test_introspection_does_not_use_up_the_token(srv):
    _, acc, ref = fresh_pair(srv)
    for _ in range(3):
        assert_active(introspect(srv, acc), acc, "access")
        assert_active(introspect(srv, ref), ref, "refresh")
    assert_json(srv.me(acc), 200)
    assert_json(srv.refresh(ref), 200)


# -- revoked -------------------------------------------------------------------------------------

def test_logout_access_revokes_that_access_token_only(srv):
    _, acc, ref = fresh_pair(srv)
    assert_message(srv.post("/logout/access", headers=bearer(acc)), 200,
                   "Access token has been revoked")
    assert_inactive(introspect(srv, acc))
    assert_active(introspect(srv, ref), ref, "refresh")


def test_logout_refresh_revokes_the_session(srv):
    _, acc, ref = fresh_pair(srv)
    acc2 = srv.refresh(ref).json()["access_token"]
    assert_message(srv.post("/logout/refresh", headers=bearer(ref)), 200,
                   "Refresh token has been revoked")
    assert_inactive(introspect(srv, ref))
    assert_inactive(introspect(srv, acc))    # same sid
    assert_inactive(introspect(srv, acc2))   # same sid


def test_logout_all_revokes_every_session(srv):
    user, acc, ref = fresh_pair(srv)
    r = srv.login(user, PW)
    other = gh.assert_tokens_pair(r, f"Logged in as {user}")
    r = srv.post("/logout/all", headers=bearer(acc))
    assert r.status_code == 200, r.text
    for tok in (acc, ref, other["access_token"], other["refresh_token"]):
        assert_inactive(introspect(srv, tok))


def test_other_users_tokens_stay_active_after_logout_all(srv):
    _, acc, _ = fresh_pair(srv, "a")
    _, acc_b, ref_b = fresh_pair(srv, "b")
    assert srv.post("/logout/all", headers=bearer(acc)).status_code == 200
    assert_active(introspect(srv, acc_b), acc_b, "access")
    assert_active(introspect(srv, ref_b), ref_b, "refresh")


# -- garbage and foreign -------------------------------------------------------------------------

@pytest.mark.parametrize("garbage", ["garbage", "a.b.c", "e30.e30.", "x" * 300,
                                     "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."],
                         ids=["word", "three-parts", "empty-json", "long", "alg-none"])
def test_garbage_is_inactive(srv, garbage):
    assert_inactive(introspect(srv, garbage))


def test_hs256_token_with_another_secret_is_inactive(srv):
    user, acc, _ = fresh_pair(srv)
    forged = jwt.encode(claims_of(acc), "another-secret-" + "x" * 32, algorithm="HS256")
    assert_inactive(introspect(srv, forged))


def test_token_of_another_gatehouse_is_inactive(srv, server_factory):
    other = server_factory(args=["--jwt-algorithm", srv.alg, *INTRO_ARGS], name="gatehouse(other)")
    _, acc, ref = fresh_pair(other)
    assert_active(introspect(other, acc), acc, "access")  # control: active where it was issued
    assert_inactive(introspect(srv, acc))
    assert_inactive(introspect(srv, ref))


def test_tampered_token_is_inactive(srv):
    user, acc, _ = fresh_pair(srv)
    h, p, s = acc.split(".")
    s2 = ("A" if s[0] != "A" else "B") + s[1:]
    assert_inactive(introspect(srv, f"{h}.{p}.{s2}"))


# -- the caller ----------------------------------------------------------------------------------

def assert_401_json(r):
    got = assert_json(r, 401)
    assert set(got) == {"message"} and isinstance(got["message"], str) and got["message"], got


@pytest.mark.parametrize("auth", [
    None,
    "Bearer wrong-secret-0123456789",
    "Bearer " + INTROSPECTION_SECRET + "x",
    "Bearer " + INTROSPECTION_SECRET[:-1],
    "Basic " + INTROSPECTION_SECRET,
    INTROSPECTION_SECRET,
    "Bearer",
], ids=["missing", "wrong", "longer", "shorter", "basic-scheme", "no-scheme", "bearer-empty"])
def test_wrong_or_missing_caller_secret(srv, auth):
    _, acc, _ = fresh_pair(srv)
    headers = {} if auth is None else {"Authorization": auth}
    r = introspect(srv, acc, secret=None, headers=headers)
    assert_401_json(r)
    assert "active" not in r.text


def test_a_user_token_is_not_a_caller_credential(srv):
    _, acc, _ = fresh_pair(srv)
    assert_401_json(introspect(srv, acc, secret=acc))


def test_wrong_secret_checked_before_token_field(srv):
    # Choice: without valid caller credentials nothing about the body is revealed.
    assert_401_json(introspect(srv, None, secret="wrong-secret-0123456789"))


@pytest.mark.parametrize("as_json", [False, True], ids=["form", "json"])
def test_missing_token_field(srv, as_json):
    assert_message(introspect(srv, None, as_json=as_json), 400, "token: This field cannot be blank")


@pytest.mark.parametrize("as_json", [False, True], ids=["form", "json"])
def test_blank_token_field_is_inactive(srv, as_json):
    # RFC 7662 §2.2: a token that is not active, whatever the reason, is {"active": false};
    # only a request without the field at all is malformed (above).
    r = introspect(srv, "", as_json=as_json)
    assert_inactive(r)
    assert r.headers.get("Cache-Control") == "no-store", r.headers


def test_get_is_not_allowed(srv):
    r = srv.get("/token/introspect", headers=bearer(INTROSPECTION_SECRET))
    assert r.status_code == 405, r.text
    assert "POST" in r.headers.get("Allow", "")


# -- expired ---------------------------------------------------------------------------------------

def test_expired_tokens_are_inactive(server_factory):
    srv = server_factory(args=["--jwt-access-ttl", "1s", "--jwt-refresh-ttl", "2s", *INTRO_ARGS])
    _, acc, ref = fresh_pair(srv)
    a_exp, r_exp = claims_of(acc)["exp"], claims_of(ref)["exp"]
    assert a_exp - claims_of(acc)["iat"] == 1 and r_exp - claims_of(ref)["iat"] == 2
    # docs/api.md: no leeway on exp, a token is never honoured past it
    while time.time() < a_exp + 1.2:
        time.sleep(0.1)
    assert_inactive(introspect(srv, acc))
    while time.time() < r_exp + 1.2:
        time.sleep(0.1)
    assert_inactive(introspect(srv, ref))


# -- configuration ---------------------------------------------------------------------------------

@pytest.mark.parametrize("auth", [None, INTROSPECTION_SECRET], ids=["no-auth", "with-secret"])
def test_absent_without_the_setting(server, auth):
    _, body = server.new_user("noint", PW)
    headers = {} if auth is None else bearer(auth)
    r = server.post("/token/introspect", data={"token": body["access_token"]}, headers=headers)
    assert_message(r, 404, "Not found")


def test_setting_by_environment(server_factory):
    srv = server_factory(env={"GATEHOUSE_INTROSPECTION_SECRET": INTROSPECTION_SECRET})
    _, acc, _ = fresh_pair(srv)
    assert_active(introspect(srv, acc), acc, "access")


def test_short_introspection_secret_stops_the_start(server_factory):
    # API.md §7: a bad setting stops the start with exit status 2 and one line naming it.
    srv = server_factory(start=False, args=["--introspection-secret", "x" * 15])
    srv.start(wait=False)
    try:
        rc = srv.proc.wait(timeout=15)
    except Exception:
        srv.kill9()
        raise AssertionError("gatehouse started with a 15-byte introspection secret")
    assert rc == 2, f"exit status {rc}\n{srv.stderr_text()}"
    assert "introspection" in srv.stderr_text().split("====")[-1], srv.stderr_text()


def test_sixteen_byte_secret_is_enough(server_factory):
    secret = "0123456789abcdef"  # 16 bytes; one repeated byte is refused (API.md §12 rule)
    srv = server_factory(args=["--introspection-secret", secret])
    _, acc, _ = fresh_pair(srv)
    assert_active(introspect(srv, acc, secret=secret), acc, "access")
