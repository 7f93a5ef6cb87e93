"""API.md §12: the admin API, claims, password reset without email and the registration switch.

Runs on SQLite, and on PostgreSQL in scripts/test's PostgreSQL list (GATEHOUSE_E2E_PG_URL)."""

import time
import urllib.parse

import pytest
import requests

from gatehouse_e2e import (FlaskResourceServer, assert_json, assert_message, assert_token_error,
                           assert_tokens_pair, bearer, decode, uname)

ADMIN = "an admin secret of at least thirty-two bytes"
PW = "correct horse"


def admin(srv, method, path, **kw):
    kw.setdefault("headers", {}).update(bearer(ADMIN))
    return srv.request(method, path, **kw)


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    import gatehouse_e2e as gh
    f = gh.Factory(tmp_path_factory.mktemp("admin"))
    try:
        yield f(args=["--admin-secret", ADMIN], name="gatehouse(admin)")
    finally:
        f.close()


def create(srv, name=None, claims=None, password=PW):
    name = name or uname("adm")
    body = {"username": name, "password": password}
    if claims is not None:
        body["claims"] = claims
    r = admin(srv, "POST", "/admin/users", json=body)
    assert r.status_code == 201, r.text
    return name, r.json()


# -- the secret ------------------------------------------------------------------------------

def test_admin_paths_answer_404_without_a_secret(server):
    for path in ["/admin/users", "/admin/users/x", "/admin/"]:
        assert_message(server.get(path, headers=bearer(ADMIN)), 404, "Not found")


def test_wrong_or_missing_admin_secret_answers_401(srv):
    assert_message(srv.get("/admin/users"), 401, "Invalid admin credentials")
    assert_message(srv.get("/admin/users", headers=bearer(ADMIN + "x")), 401,
                   "Invalid admin credentials")


def test_failed_admin_authentications_are_limited_per_address_but_the_secret_still_works(
        server_factory):
    s = server_factory(args=["--admin-secret", ADMIN, "--rate-limit-login-per-address", "3/15m"])
    statuses = [s.get("/admin/users", headers=bearer("wrong" * 8)).status_code for _ in range(5)]
    assert statuses[:3] == [401, 401, 401] and statuses[3:] == [429, 429], statuses
    r = s.get("/admin/users", headers=bearer("wrong" * 8))
    assert int(r.headers["Retry-After"]) >= 1
    for _ in range(20):  # successful calls are never limited
        assert admin(s, "GET", "/admin/users").status_code == 200


def test_admin_secret_under_32_bytes_refuses_the_start(server_factory):
    s = server_factory(args=["--admin-secret", "short secret"], start=False)
    s.start(wait=False)
    assert s.proc.wait(timeout=10) == 2


def refused_start(server_factory, setting, secret):
    """The last start's stderr, after asserting that `setting secret` refused it with exit 2."""
    s = server_factory(args=[setting, secret], start=False)
    s.start(wait=False)
    try:
        rc = s.proc.wait(timeout=15)
    except Exception:
        s.kill9()
        raise AssertionError(f"gatehouse started with {setting} {secret!r}")
    last = s.stderr_text().split("====")[-1]
    assert rc == 2, f"exit status {rc}\n{last}"
    return last


@pytest.mark.parametrize("setting", ["--admin-secret", "--introspection-secret"])
@pytest.mark.parametrize("secret", ["a" * 40, " " * 40, " " + ADMIN, ADMIN + " ", ADMIN + "\t"],
                         ids=["repeated-byte", "whitespace", "leading-space", "trailing-space",
                              "trailing-tab"])
def test_weak_or_padded_shared_secrets_refuse_the_start(server_factory, setting, secret):
    # Attacker round (issue 18, F6): these started; a padded secret can never be presented
    # (header values are trimmed), a repeated byte is no secret.
    last = refused_start(server_factory, setting, secret)
    assert setting[2:].replace("-", ".", 1).replace("-", "_") in last or setting[2:] in last, last
    assert "not one repeated byte, without whitespace at either end" in last, last


@pytest.mark.parametrize("setting", ["--admin-secret", "--introspection-secret", "--jwt-secret"])
@pytest.mark.parametrize("secret", ["ab" * 20, "abc" * 14, "p@ssw0rd" * 5, "hunter2" * 6 + "hun",
                                    ADMIN[:20] + "\x01" + ADMIN[20:],
                                    ADMIN[:20] + "\x1b" + ADMIN[20:],
                                    ADMIN[:20] + "\x7f" + ADMIN[20:]],
                         ids=["ab", "abc", "8-byte-unit", "7-byte-unit-cut-short", "ctrl-01",
                              "escape", "del"])
def test_repeated_units_and_control_characters_refuse_the_start(server_factory, setting, secret):
    # Attacker round (issue 18): a repeated multi-byte unit was accepted (the worth of the unit,
    # the length of a key), and so was a control character, which no header can carry.
    last = refused_start(server_factory, setting, secret)
    assert setting[2:].replace("-", ".", 1) in last, last
    assert "not a unit of up to 8 bytes repeated, without control characters" in last, last
    # Never the secret (the first line is the harness's own record of the command line).
    said = last.split("\n", 1)[1]
    assert secret not in said and secret[:20] not in said, said


def test_a_secret_with_a_long_period_still_starts(server_factory):
    s = server_factory(args=["--admin-secret", "0123456789abcdef" * 2])
    assert s.get("/admin/users", headers=bearer("0123456789abcdef" * 2)).status_code == 200


def test_bearer_credentials_take_one_or_more_spaces_as_rfc_6750_writes_them(srv):
    # RFC 6750 §2.1: credentials = "Bearer" 1*SP b64token. Two spaces are the grammar's own
    # (and Flask-JWT-Extended splits on whitespace too); a tab is no SP and matches nothing.
    for header in ["Bearer " + ADMIN, "Bearer  " + ADMIN, "bearer " + ADMIN]:
        r = srv.get("/admin/users", headers={"Authorization": header})
        assert r.status_code == 200, (header, r.text)
    for header in ["Bearer\t" + ADMIN, "Bearer \t" + ADMIN, "Bearer\t " + ADMIN,
                   "Bearer" + ADMIN, "Basic " + ADMIN]:
        assert_message(srv.get("/admin/users", headers={"Authorization": header}), 401,
                       "Invalid admin credentials")


# -- users -----------------------------------------------------------------------------------

def test_create_get_and_taken(srv):
    name, user = create(srv, claims={"roles": ["admin"]})
    assert user["username"] == name and user["disabled"] is False
    assert user["claims"] == {"roles": ["admin"]}
    assert user["created_at"].endswith("Z")
    r = admin(srv, "GET", f"/admin/users/{name.upper()}")
    assert_json(r, 200, user)
    # the 409 names the account as stored (§12), however the request spelled it
    r = admin(srv, "POST", "/admin/users", json={"username": name.upper(), "password": PW})
    assert_message(r, 409, f"User {name} already exists")
    # /registration echoes the caller's own spelling: an anonymous caller learns no more
    assert_message(srv.register(name.upper(), PW), 409, f"User {name.upper()} already exists")


def test_admin_create_and_patch_take_form_bodies(srv):
    # Attacker round (issue 18, F1): forms got 415 whose message named forms as accepted.
    # §1: every body may be a form; `claims` is then a JSON-encoded field, `disabled` a word.
    name = uname("form")
    r = admin(srv, "POST", "/admin/users",
              data={"username": name, "password": PW, "claims": '{"roles": ["ops"]}'})
    assert r.status_code == 201, r.text
    assert r.json()["claims"] == {"roles": ["ops"]}
    r = admin(srv, "PATCH", f"/admin/users/{name}", data={"disabled": "true", "claims": "{}"})
    assert r.status_code == 200, r.text
    assert r.json()["disabled"] is True and r.json()["claims"] == {}
    r = admin(srv, "PATCH", f"/admin/users/{name}", data={"disabled": "false"})
    assert r.status_code == 200 and r.json()["disabled"] is False
    assert srv.login(name, PW).status_code == 200
    assert_message(admin(srv, "PATCH", f"/admin/users/{name}", data={"disabled": "yes"}), 400,
                   "disabled: Must be true or false")
    for bad in ["not json", "[1]", '{"a": 1, "a": 2}', '{"sub": "x"}']:
        r = admin(srv, "PATCH", f"/admin/users/{name}", data={"claims": bad})
        assert r.status_code == 400 and r.json()["message"].startswith("claims: "), (bad, r.text)
    r = admin(srv, "PATCH", f"/admin/users/{name}", data="disabled=true&disabled=false",
              headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert_message(r, 400, "Malformed request body")
    r = admin(srv, "POST", "/admin/users", data="username=x", headers={"Content-Type": "text/plain"})
    assert_message(r, 415, "Content-Type must be application/json or "
                           "application/x-www-form-urlencoded")


def test_create_applies_the_input_rules(srv):
    r = admin(srv, "POST", "/admin/users", json={"username": "bad name", "password": PW})
    assert r.status_code == 400 and r.json()["message"].startswith("username:")
    r = admin(srv, "POST", "/admin/users", json={"username": uname(), "password": "short"})
    assert r.status_code == 400 and r.json()["message"].startswith("password:")


def test_unknown_user_answers_404(srv):
    for method in ["GET", "PATCH", "DELETE"]:
        r = admin(srv, method, "/admin/users/nobody-here", json={})
        assert_message(r, 404, "User not found")
    for action in ["logout", "password-reset"]:
        assert_message(admin(srv, "POST", f"/admin/users/nobody-here/{action}"), 404,
                       "User not found")


def test_usernames_in_paths_are_percent_decoded_and_bounded(srv):
    name, _ = create(srv, name=uname("a+b"))
    r = admin(srv, "GET", "/admin/users/" + urllib.parse.quote(name, safe=""))
    assert r.status_code == 200 and r.json()["username"] == name
    assert_message(admin(srv, "GET", "/admin/users/" + "%41" * 5000), 404, "User not found")
    assert_message(admin(srv, "GET", "/admin/users/%zz"), 404, "User not found")


def test_wrong_method_answers_405_with_allow(srv):
    r = admin(srv, "PUT", "/admin/users")
    assert r.status_code == 405 and r.headers["Allow"] == "GET, HEAD, POST"
    r = admin(srv, "HEAD", "/admin/users")
    assert r.status_code == 200 and r.content == b""


def test_listing_pages_by_cursor_with_a_case_insensitive_prefix(srv):
    prefix = uname("lst")
    names = sorted([f"{prefix}{i}" for i in range(5)] + [f"{prefix.upper()}Z"], key=str.lower)
    for n in names:
        create(srv, name=n)
    seen, after = [], None
    while True:
        params = {"prefix": prefix.upper(), "limit": 2}
        if after:
            params["after"] = after
        r = admin(srv, "GET", "/admin/users", params=params)
        assert r.status_code == 200, r.text
        body = r.json()
        seen += [u["username"] for u in body["users"]]
        after = body["next"]
        if after is None:
            break
        assert len(body["users"]) == 2
    assert seen == names


def test_listing_limit_bounds(srv):
    for bad in ["0", "1001", "x", "-1", ""]:
        r = admin(srv, "GET", "/admin/users", params={"limit": bad})
        assert_message(r, 400, "limit: Must be between 1 and 1000")
    assert admin(srv, "GET", "/admin/users", params={"limit": "1000"}).status_code == 200


def test_delete_refuses_every_token(srv):
    name, _ = create(srv)
    tokens = srv.login(name).json()
    r = admin(srv, "DELETE", f"/admin/users/{name.upper()}")
    assert_message(r, 200, f"User {name} was removed")
    assert_token_error(srv.me(tokens["access_token"]), "Token has been revoked")
    assert_token_error(srv.refresh(tokens["refresh_token"]), "Token has been revoked")
    assert_message(admin(srv, "GET", f"/admin/users/{name}"), 404, "User not found")


def test_admin_logout_refuses_every_token(srv):
    name, _ = create(srv)
    tokens = srv.login(name).json()
    assert_message(admin(srv, "POST", f"/admin/users/{name}/logout"), 200,
                   "All tokens have been revoked")
    assert_token_error(srv.me(tokens["access_token"]), "Token has been revoked")
    assert_token_error(srv.refresh(tokens["refresh_token"]), "Token has been revoked")
    assert srv.login(name).status_code == 200


# -- disable ---------------------------------------------------------------------------------

def test_disable_revokes_and_refuses_login_only_with_the_right_password(srv):
    name, _ = create(srv)
    tokens = srv.login(name).json()
    r = admin(srv, "PATCH", f"/admin/users/{name}", json={"disabled": True})
    assert r.status_code == 200 and r.json()["disabled"] is True
    assert_token_error(srv.me(tokens["access_token"]), "Token has been revoked")
    assert_token_error(srv.refresh(tokens["refresh_token"]), "Token has been revoked")
    assert_message(srv.login(name), 403, "Account disabled")
    assert_message(srv.login(name, "wrong password"), 401, "Wrong credentials")
    r = admin(srv, "PATCH", f"/admin/users/{name}", json={"disabled": False})
    assert r.json()["disabled"] is False
    assert_token_error(srv.me(tokens["access_token"]), "Token has been revoked")
    assert srv.login(name).status_code == 200


def test_right_passwords_of_a_disabled_account_are_not_counted_as_failures(server_factory):
    # Attacker round: ten 403s used to fill rate_limit.login_per_user, so enabling the account
    # left its owner at 429.
    srv = server_factory(args=["--admin-secret", ADMIN, "--rate-limit-login-per-user", "3/1m"])
    name, _ = create(srv)
    admin(srv, "PATCH", f"/admin/users/{name}", json={"disabled": True})
    for _ in range(6):
        assert_message(srv.login(name), 403, "Account disabled")
    admin(srv, "PATCH", f"/admin/users/{name}", json={"disabled": False})
    assert srv.login(name).status_code == 200


def test_right_password_racing_a_disable_answers_403_never_401(server_factory):
    # Attacker round (issue 18, F4): a login whose password was checked before the disable
    # landed lost its session insert and answered 401 Wrong credentials, counted as a failure.
    import concurrent.futures
    srv = server_factory(args=["--admin-secret", ADMIN])
    name, _ = create(srv)
    seen = []
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        for _ in range(5):
            admin(srv, "PATCH", f"/admin/users/{name}", json={"disabled": False})
            logins = [pool.submit(srv.login, name, PW) for _ in range(8)]
            time.sleep(0.03)
            admin(srv, "PATCH", f"/admin/users/{name}", json={"disabled": True})
            seen += [(f.result().status_code, f.result().json()["message"]) for f in logins]
    statuses = [status for status, _ in seen]
    assert 401 not in statuses, seen
    assert set(seen) <= {(200, f"Logged in as {name}"), (403, "Account disabled")}, seen


def test_valid_reset_code_racing_a_disable_answers_403_never_401(server_factory):
    # The same race for a reset: the code was valid when read, the disable landed while the
    # new password was hashed; the store's refusal is a disabled account, not a bad code.
    import concurrent.futures
    srv = server_factory(args=["--admin-secret", ADMIN])
    seen = []
    with concurrent.futures.ThreadPoolExecutor(12) as pool:
        for _ in range(4):
            users = [create(srv)[0] for _ in range(12)]
            codes = [reset_code(srv, name)["reset_code"] for name in users]
            attempts = [pool.submit(reset, srv, n, c) for n, c in zip(users, codes)]
            time.sleep(0.02)
            for name in users:
                admin(srv, "PATCH", f"/admin/users/{name}", json={"disabled": True})
            seen += [(f.result().status_code, f.result().json()["message"]) for f in attempts]
    assert {s for s, _ in seen} <= {200, 403}, seen
    assert all(m == "Account disabled" for s, m in seen if s == 403), seen


def test_patch_checks_its_fields(srv):
    name, _ = create(srv)
    r = admin(srv, "PATCH", f"/admin/users/{name}", json={"disabled": "yes"})
    assert_message(r, 400, "disabled: Must be true or false")
    r = admin(srv, "PATCH", f"/admin/users/{name}", data='{"claims": {"a": 1, "a": 2}}',
              headers={"Content-Type": "application/json"})
    assert_message(r, 400, "Malformed request body")


# -- a user's sessions (API.md §12, as §10) ----------------------------------------------------

def admin_sessions(srv, name):
    r = admin(srv, "GET", f"/admin/users/{name}/sessions")
    assert r.status_code == 200, r.text
    assert r.headers["Cache-Control"].startswith("no-store")
    return r.json()["sessions"]


def sid(srv, tokens):
    return decode(tokens["refresh_token"], srv.secret)["sid"]


def test_admin_lists_a_users_sessions_as_get_sessions_without_current(srv):
    name, _ = create(srv)
    a = srv.login(name).json()
    b = srv.post("/login", json={"username": name, "password": PW},
                 headers={"User-Agent": "tab-B/1.0"}).json()
    listed = admin_sessions(srv, name.upper())
    assert sorted(s["id"] for s in listed) == sorted([sid(srv, a), sid(srv, b)])
    mine = srv.get("/sessions", headers=bearer(b["access_token"])).json()["sessions"]
    assert [s["id"] for s in listed] == [s["id"] for s in mine]
    for theirs, ours in zip(listed, mine):
        assert set(theirs) == set(ours) - {"current"}
        assert theirs == {k: v for k, v in ours.items() if k != "current"}
    assert next(s for s in listed if s["id"] == sid(srv, b))["user_agent"] == "tab-B/1.0"
    assert admin(srv, "HEAD", f"/admin/users/{name}/sessions").status_code == 200


def test_admin_ends_one_session_of_a_user(srv):
    name, _ = create(srv)
    a = srv.login(name).json()
    b = srv.login(name).json()
    r = admin(srv, "DELETE", f"/admin/users/{name}/sessions/{sid(srv, a)}")
    assert_message(r, 200, "Session has been revoked")
    assert_token_error(srv.me(a["access_token"]), "Token has been revoked")
    assert_token_error(srv.refresh(a["refresh_token"]), "Token has been revoked")
    assert srv.me(b["access_token"]).status_code == 200
    assert [s["id"] for s in admin_sessions(srv, name)] == [sid(srv, b)]
    # Gone now, another user's, or not an id at all: the same 404.
    assert_message(admin(srv, "DELETE", f"/admin/users/{name}/sessions/{sid(srv, a)}"), 404,
                   "Session not found")
    other, _ = create(srv)
    c = srv.login(other).json()
    assert_message(admin(srv, "DELETE", f"/admin/users/{name}/sessions/{sid(srv, c)}"), 404,
                   "Session not found")
    assert srv.me(c["access_token"]).status_code == 200
    assert_message(admin(srv, "DELETE", f"/admin/users/{name}/sessions/nope"), 404,
                   "Session not found")


def test_admin_session_routes_of_an_unknown_user_and_wrong_methods(srv):
    assert_message(admin(srv, "GET", f"/admin/users/{uname('none')}/sessions"), 404,
                   "User not found")
    some = "0" * 8 + "-0000-0000-0000-" + "0" * 12
    assert_message(admin(srv, "DELETE", f"/admin/users/{uname('none')}/sessions/{some}"), 404,
                   "User not found")
    name, _ = create(srv)
    r = admin(srv, "DELETE", f"/admin/users/{name}/sessions")
    assert r.status_code == 405 and r.headers["Allow"] == "GET, HEAD"
    r = admin(srv, "GET", f"/admin/users/{name}/sessions/{some}")
    assert r.status_code == 405 and r.headers["Allow"] == "DELETE"
    assert srv.get(f"/admin/users/{name}/sessions").status_code == 401


@pytest.mark.parametrize("how", ["disable", "logout", "delete"])
def test_disable_logout_and_delete_end_every_session(srv, how):
    name, _ = create(srv)
    a = srv.login(name).json()
    b = srv.login(name).json()
    assert len(admin_sessions(srv, name)) == 2
    if how == "disable":
        assert admin(srv, "PATCH", f"/admin/users/{name}", json={"disabled": True}).ok
    elif how == "logout":
        assert admin(srv, "POST", f"/admin/users/{name}/logout").ok
    else:
        assert admin(srv, "DELETE", f"/admin/users/{name}").ok
    for t in (a, b):
        assert_token_error(srv.me(t["access_token"]), "Token has been revoked")
        assert_token_error(srv.refresh(t["refresh_token"]), "Token has been revoked")
    if how == "delete":
        assert_message(admin(srv, "GET", f"/admin/users/{name}/sessions"), 404, "User not found")
        return
    assert admin_sessions(srv, name) == []
    if how == "disable":
        admin(srv, "PATCH", f"/admin/users/{name}", json={"disabled": False})
    c = srv.login(name).json()
    assert [s["id"] for s in admin_sessions(srv, name)] == [sid(srv, c)]
    assert [s["id"] for s in srv.get("/sessions", headers=bearer(c["access_token"])).json()[
        "sessions"]] == [sid(srv, c)]


def test_claims_reach_rotated_access_tokens(server_factory):
    s = server_factory(args=["--admin-secret", ADMIN, "--jwt-refresh-rotation", "true"])
    name, _ = create(s, claims={"roles": ["a"]})
    tokens = s.login(name).json()
    rotated = s.refresh(tokens["refresh_token"]).json()
    assert decode(rotated["access_token"], s.secret)["roles"] == ["a"]
    assert "roles" not in decode(rotated["refresh_token"], s.secret)
    admin(s, "PATCH", f"/admin/users/{name}", json={"claims": {"roles": ["b"]}})
    again = s.refresh(rotated["refresh_token"]).json()
    assert decode(again["access_token"], s.secret)["roles"] == ["b"]


# -- claims ----------------------------------------------------------------------------------

@pytest.mark.parametrize("claims,reason", [
    ([1], "Must be a JSON object"),
    ("x", "Must be a JSON object"),
    ({"sub": "root"}, "'sub' is a reserved claim"),
    ({"csrf": "x"}, "'csrf' is a reserved claim"),
    ({"big": "x" * 4096}, "Must be at most 4096 bytes"),
    # An integer beyond 64 bits would come back rounded (attacker round 7).
    ({"org": 18446744073709551617}, "Numbers must fit in 64 bits"),
    ({"org": {"deep": [-12345678901234567890123]}}, "Numbers must fit in 64 bits"),
    ({"name": "a\u0000b"}, "Must not contain NUL characters"),
    ({"a\u0000b": 1}, "Must not contain NUL characters"),
])
def test_claims_are_checked(srv, claims, reason):
    name, _ = create(srv)
    r = admin(srv, "PATCH", f"/admin/users/{name}", json={"claims": claims})
    assert_message(r, 400, f"claims: {reason}")


def test_claim_numbers_within_64_bits_come_back_exactly(srv):
    name, _ = create(srv)
    claims = {"max": 18446744073709551615, "min": -9223372036854775808, "f": 0.5}
    r = admin(srv, "PATCH", f"/admin/users/{name}", json={"claims": claims})
    assert r.status_code == 200, r.text
    assert admin(srv, "GET", f"/admin/users/{name}").json()["claims"] == claims


def test_claims_go_into_access_tokens_not_refresh_tokens(srv):
    name, _ = create(srv)
    r = admin(srv, "PATCH", f"/admin/users/{name}", json={"claims": {"roles": ["editor"]}})
    assert r.json()["claims"] == {"roles": ["editor"]}
    tokens = srv.login(name).json()
    assert decode(tokens["access_token"], srv.secret)["roles"] == ["editor"]
    assert "roles" not in decode(tokens["refresh_token"], srv.secret)
    refreshed = srv.refresh(tokens["refresh_token"]).json()["access_token"]
    assert decode(refreshed, srv.secret)["roles"] == ["editor"]
    # A change reaches the next refresh; a PATCH replaces the claims whole.
    admin(srv, "PATCH", f"/admin/users/{name}", json={"claims": {"tier": 2}})
    refreshed = decode(srv.refresh(tokens["refresh_token"]).json()["access_token"], srv.secret)
    assert refreshed["tier"] == 2 and "roles" not in refreshed


def test_flask_jwt_extended_reads_the_claims_with_get_jwt(srv, tmp_path):
    name, _ = create(srv, claims={"roles": ["admin"], "org": {"id": 7}})
    rs = FlaskResourceServer(tmp_path / "flask", srv.secret)
    try:
        r = rs.get("/claims", srv.login(name).json()["access_token"])
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["roles"] == ["admin"] and body["org"] == {"id": 7} and body["sub"] == name
    finally:
        rs.stop()


# -- password reset --------------------------------------------------------------------------

def reset_code(srv, name):
    r = admin(srv, "POST", f"/admin/users/{name}/password-reset")
    assert r.status_code == 200, r.text
    assert r.headers["Cache-Control"].startswith("no-store")
    return r.json()


def reset(srv, name, code, new_password="a new password"):
    return srv.post("/password/reset",
                    json={"username": name, "code": code, "new_password": new_password})


def test_reset_code_changes_the_password_once_and_revokes_other_tokens(srv):
    name, _ = create(srv)
    old = srv.login(name).json()
    issued = reset_code(srv, name)
    assert issued["expires_at"].endswith("Z") and len(issued["reset_code"]) >= 40
    r = reset(srv, name.upper(), issued["reset_code"])
    fresh = assert_tokens_pair(r, "Password changed")
    assert srv.me(fresh["access_token"]).status_code == 200
    assert_token_error(srv.me(old["access_token"]), "Token has been revoked")
    assert srv.login(name, "a new password").status_code == 200
    assert_message(srv.login(name), 401, "Wrong credentials")
    assert_message(reset(srv, name, issued["reset_code"], "another password"), 401,
                   "Invalid or expired code")


def test_a_newer_code_replaces_an_older_one(srv):
    name, _ = create(srv)
    first = reset_code(srv, name)["reset_code"]
    second = reset_code(srv, name)["reset_code"]
    assert_message(reset(srv, name, first), 401, "Invalid or expired code")
    assert reset(srv, name, second).status_code == 200


def test_wrong_code_and_unknown_user_answer_the_same(srv):
    name, _ = create(srv)
    reset_code(srv, name)
    assert_message(reset(srv, name, "not-the-code"), 401, "Invalid or expired code")
    assert_message(reset(srv, uname("ghost"), "not-the-code"), 401, "Invalid or expired code")


def test_disabled_users_valid_code_answers_403_and_is_not_spent(srv):
    name, _ = create(srv)
    code = reset_code(srv, name)["reset_code"]
    admin(srv, "PATCH", f"/admin/users/{name}", json={"disabled": True})
    assert_message(reset(srv, name, code), 403, "Account disabled")
    admin(srv, "PATCH", f"/admin/users/{name}", json={"disabled": False})
    assert reset(srv, name, code).status_code == 200


def test_reset_checks_the_new_password(srv):
    name, _ = create(srv)
    code = reset_code(srv, name)["reset_code"]
    r = reset(srv, name, code, "short")
    assert r.status_code == 400 and r.json()["message"].startswith("new_password:")
    assert reset(srv, name, code).status_code == 200


def test_expired_code_answers_401(server_factory):
    s = server_factory(args=["--admin-secret", ADMIN, "--password-reset-ttl", "60"])
    name, _ = create(s)
    code = reset_code(s, name)
    assert code["expires_at"]
    # The store holds only the code's hash and its expiry; age it there instead of waiting.
    _age_reset_code(s, name)
    assert_message(reset(s, name, code["reset_code"]), 401, "Invalid or expired code")


def _age_reset_code(s, name):
    import gatehouse_e2e as gh
    sql = f"UPDATE users SET reset_expires_at = 1 WHERE username_key = '{name.lower()}'"
    if s.on_postgresql:
        gh.psql(s.database_url, sql)
    else:
        import sqlite3
        db = sqlite3.connect(s.data_dir / "gatehouse.db")
        db.execute(sql)
        db.commit()
        db.close()


def test_codes_are_stored_hashed(server_factory):
    s = server_factory(args=["--admin-secret", ADMIN])
    name, _ = create(s)
    code = reset_code(s, name)["reset_code"]
    import gatehouse_e2e as gh
    sql = f"SELECT reset_code_hash FROM users WHERE username_key = '{name.lower()}'"
    if s.on_postgresql:
        stored = gh.psql(s.database_url, sql)[0]
    else:
        import sqlite3
        db = sqlite3.connect(s.data_dir / "gatehouse.db")
        stored = db.execute(sql).fetchone()[0]
        db.close()
    assert stored and code not in stored and len(stored) == 64
    assert_message(reset(s, name, stored), 401, "Invalid or expired code")


def test_wrong_codes_count_in_the_login_per_user_bucket(server_factory):
    s = server_factory(args=["--admin-secret", ADMIN, "--rate-limit-login-per-user", "3/15m"])
    name, _ = create(s)
    reset_code(s, name)
    statuses = [reset(s, name, f"wrong-{i}").status_code for i in range(4)]
    assert statuses == [401, 401, 401, 429], statuses
    assert s.login(name).status_code == 429


# -- registration switch ---------------------------------------------------------------------

def test_registration_can_be_switched_off(server_factory):
    s = server_factory(args=["--admin-secret", ADMIN, "--registration-enabled", "false"])
    assert_message(s.register(uname()), 403, "Registration is disabled")
    name, _ = create(s)
    assert s.login(name).status_code == 200


# -- CORS preflights (API.md §11; attacker round 7: they answered 401) ---------------------------

ORIGIN = "https://console.example.com"


@pytest.fixture(scope="module")
def cors_srv(tmp_path_factory):
    import gatehouse_e2e as gh
    f = gh.Factory(tmp_path_factory.mktemp("admin-cors"))
    try:
        yield f(args=["--admin-secret", ADMIN, "--cors-allowed-origins", ORIGIN],
                name="gatehouse(admin cors)")
    finally:
        f.close()


def preflight(srv, path, origin=ORIGIN):
    return srv.request("OPTIONS", path, headers={"Origin": origin,
                                                 "Access-Control-Request-Method": "GET"})


@pytest.mark.parametrize("path,methods", [
    ("/admin/users", "GET, HEAD, POST, OPTIONS"),
    ("/admin/users/someone", "GET, HEAD, PATCH, DELETE, OPTIONS"),
    ("/admin/users/someone/sessions", "GET, HEAD, OPTIONS"),
    ("/admin/users/someone/sessions/abc", "DELETE, OPTIONS"),
    ("/admin/users/someone/logout", "POST, OPTIONS"),
    ("/admin/users/someone/password-reset", "POST, OPTIONS"),
    ("/admin/events", "GET, HEAD, OPTIONS"),
])
def test_admin_preflights_answer_by_the_paths_methods_without_credentials(cors_srv, path, methods):
    r = preflight(cors_srv, path)
    assert r.status_code == 204, (r.status_code, r.text)
    assert r.headers["Access-Control-Allow-Methods"] == methods
    assert r.headers["Access-Control-Allow-Origin"] == ORIGIN
    # The 405 names the same methods (one source for both).
    allow = methods.removesuffix(", OPTIONS")
    r = admin(cors_srv, "PUT", path)
    assert r.status_code == 405 and r.headers["Allow"] == allow, (r.status_code, r.text)


def test_admin_preflight_from_an_unlisted_origin_is_403(cors_srv):
    assert_message(preflight(cors_srv, "/admin/users", "https://evil.example"), 403,
                   "Origin not allowed")


@pytest.mark.sqlite_only  # the CLI on the server's data directory
def test_the_cli_refuses_claims_with_a_name_twice_as_the_api_does(srv):
    # Attacker round 9, F8: `gatehouse user claims` took {"a":1,"a":2} as {"a":2} while the
    # API answers 400; both now parse claims with the same strict rule.
    from keys_support import describe, run_cli
    name, _ = create(srv, claims={"roles": ["ops"]})
    p = run_cli(["user", "claims", name, '{"a": 1, "a": 2}', "--data-dir", str(srv.data_dir)])
    assert p.returncode != 0, describe(p)
    r = admin(srv, "PATCH", f"/admin/users/{name}", json={"claims": {"a": 1, "b": {"c": 2}}})
    assert r.status_code == 200, r.text
    p = run_cli(["user", "claims", name, '{"b": {"c": 1, "c": 2}}', "--data-dir",
                 str(srv.data_dir)])
    assert p.returncode != 0, describe(p)
    assert admin(srv, "GET", f"/admin/users/{name}").json()["claims"] == {"a": 1, "b": {"c": 2}}
