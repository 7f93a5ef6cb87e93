"""API.md §1: the five base endpoints, every row of both tables, JSON and form bodies."""

import pytest

import gatehouse_e2e as gh
from gatehouse_e2e import (
    assert_400,
    assert_field_error,
    assert_json,
    assert_message,
    assert_tokens_pair,
    bearer,
    decode,
    uname,
)

PW = "correct horse"
KINDS = ["json", "form"]


def send(srv, path, fields: dict, kind: str):
    if kind == "json":
        return srv.post(path, json=fields)
    return srv.post(path, data=fields)


@pytest.fixture(scope="module")
def srv(module_server):
    return module_server


@pytest.fixture(scope="module")
def known_user(srv):
    u, _ = srv.new_user("known", PW)
    return u


# -- 1. POST /registration ---------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
def test_registration_success_returns_message_and_both_tokens(srv, kind):
    u = uname("reg")
    r = send(srv, "/registration", {"username": u, "password": PW}, kind)
    body = assert_tokens_pair(r, f"User {u} was created")
    a = decode(body["access_token"], srv.secret)
    f = decode(body["refresh_token"], srv.secret)
    assert (a["sub"], a["type"]) == (u, "access")
    assert (f["sub"], f["type"]) == (u, "refresh")


@pytest.mark.parametrize("kind", KINDS)
def test_registration_taken_username_is_409(srv, known_user, kind):
    r = send(srv, "/registration", {"username": known_user, "password": "another password"}, kind)
    assert_message(r, 409, f"User {known_user} already exists")


@pytest.mark.parametrize("kind", KINDS)
def test_registration_taken_username_in_other_ascii_case_is_409(srv, known_user, kind):
    other = known_user.upper()
    assert other != known_user
    r = send(srv, "/registration", {"username": other, "password": "another password"}, kind)
    got = assert_json(r, 409)
    # API.md: "User <username> already exists"; silent on whether <username> is the name as
    # requested or as stored, so either is accepted.
    assert got in ({"message": f"User {other} already exists"},
                   {"message": f"User {known_user} already exists"}), got


# -- 2. POST /login ------------------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
def test_login_success_returns_message_and_both_tokens(srv, known_user, kind):
    r = send(srv, "/login", {"username": known_user, "password": PW}, kind)
    body = assert_tokens_pair(r, f"Logged in as {known_user}")
    a = decode(body["access_token"], srv.secret)
    f = decode(body["refresh_token"], srv.secret)
    assert (a["sub"], a["type"], f["sub"], f["type"]) == (known_user, "access", known_user, "refresh")


@pytest.mark.parametrize("kind", KINDS)
def test_login_wrong_password_is_401_wrong_credentials(srv, known_user, kind):
    r = send(srv, "/login", {"username": known_user, "password": "not the password"}, kind)
    assert_message(r, 401, "Wrong credentials")


@pytest.mark.parametrize("kind", KINDS)
def test_login_unknown_user_is_401_wrong_credentials(srv, kind):
    r = send(srv, "/login", {"username": uname("ghost"), "password": PW}, kind)
    assert_message(r, 401, "Wrong credentials")


# -- required fields missing or blank (both endpoints, both body kinds) --------------------

@pytest.mark.parametrize("path", ["/registration", "/login"])
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("field", ["username", "password"])
def test_missing_field_is_400_cannot_be_blank(srv, path, kind, field):
    fields = {"username": uname("miss"), "password": PW}
    del fields[field]
    r = send(srv, path, fields, kind)
    assert_message(r, 400, f"{field}: This field cannot be blank")


@pytest.mark.parametrize("path", ["/registration", "/login"])
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("field", ["username", "password"])
def test_blank_field_is_400_cannot_be_blank(srv, path, kind, field):
    fields = {"username": uname("blank"), "password": PW}
    fields[field] = ""
    r = send(srv, path, fields, kind)
    assert_message(r, 400, f"{field}: This field cannot be blank")


# -- invalid fields on registration --------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    "bad",
    ["bad name", "bad/name", "semi;colon", "quote'd", "\u00fcnicode", "tab\tname"],
    ids=["space", "slash", "semicolon", "quote", "non-ascii", "tab"],
)
def test_registration_username_with_bad_characters_is_400(srv, kind, bad):
    r = send(srv, "/registration", {"username": bad, "password": PW}, kind)
    assert_field_error(r, "username")


@pytest.mark.parametrize("kind", KINDS)
def test_registration_username_of_65_chars_is_400(srv, kind):
    r = send(srv, "/registration", {"username": "a" * 65, "password": PW}, kind)
    assert_field_error(r, "username")


@pytest.mark.parametrize("kind", KINDS)
def test_registration_password_of_7_bytes_is_400(srv, kind):
    r = send(srv, "/registration", {"username": uname("short"), "password": "1234567"}, kind)
    assert_field_error(r, "password")


# -- malformed bodies ----------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/registration", "/login"])
@pytest.mark.parametrize(
    "raw",
    [b'{"username": "x", "password": ', b'{"username": "x", "password": "abcdefghi"} trailing',
     b"{username: 'x'}", b""],
    ids=["truncated", "trailing-garbage", "not-json", "empty"],
)
def test_malformed_json_body_is_400_malformed(srv, path, raw):
    r = srv.post(path, data=raw, headers={"Content-Type": "application/json"})
    assert_message(r, 400, "Malformed request body")


@pytest.mark.parametrize("path", ["/registration", "/login"])
@pytest.mark.parametrize("raw", [b"[]", b'"a string"', b"42", b"null"],
                         ids=["array", "string", "number", "null"])
def test_json_body_that_is_not_an_object_is_400(srv, path, raw):
    # API.md gives no message for valid JSON that is not an object; only 400 is asserted.
    r = srv.post(path, data=raw, headers={"Content-Type": "application/json"})
    assert_400(r)


@pytest.mark.parametrize("path", ["/registration", "/login"])
def test_form_body_with_bad_percent_escape_is_400(srv, path):
    # Strict parsers call this "Malformed request body"; lenient ones (like the original
    # Werkzeug) keep "%zz" literally, which is then a bad username: both are 400.
    r = srv.post(path, data=b"username=ab%zz&password=abcdefghij",
                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    got = assert_json(r, 400)
    assert got == {"message": "Malformed request body"} or (
        set(got) == {"message"} and got["message"].startswith("username: ")), got


def test_json_content_type_with_charset_parameter_is_accepted(srv):
    u = uname("cs")
    r = srv.post("/registration", data=f'{{"username":"{u}","password":"{PW}"}}'.encode(),
                 headers={"Content-Type": "application/json; charset=utf-8"})
    assert_tokens_pair(r, f"User {u} was created")


# -- 3./4./5. logout/access, logout/refresh, token/refresh ---------------------------------

BODIES = {
    "no-body": {},
    "json-body": {"json": {}},
    "form-body": {"data": {"unused": "1"}},
}


@pytest.fixture
def session_tokens(srv, known_user):
    r = srv.login(known_user, PW)
    return assert_tokens_pair(r, f"Logged in as {known_user}")


@pytest.mark.parametrize("body", list(BODIES))
def test_logout_access_success(srv, session_tokens, body):
    r = srv.post("/logout/access", headers=bearer(session_tokens["access_token"]), **BODIES[body])
    assert_message(r, 200, "Access token has been revoked")


@pytest.mark.parametrize("body", list(BODIES))
def test_logout_refresh_success(srv, session_tokens, body):
    r = srv.post("/logout/refresh", headers=bearer(session_tokens["refresh_token"]), **BODIES[body])
    assert_message(r, 200, "Refresh token has been revoked")


@pytest.mark.parametrize("body", list(BODIES))
def test_token_refresh_success_returns_only_an_access_token(srv, known_user, session_tokens, body):
    r = srv.post("/token/refresh", headers=bearer(session_tokens["refresh_token"]), **BODIES[body])
    got = assert_json(r, 200)
    assert set(got) == {"access_token"}, got
    claims = decode(got["access_token"], srv.secret)
    assert (claims["sub"], claims["type"]) == (known_user, "access")


def test_me_returns_username_and_created_at(srv):
    import datetime as dt

    before = dt.datetime.now(dt.timezone.utc)
    u, body = srv.new_user("me")
    after = dt.datetime.now(dt.timezone.utc)
    r = srv.me(body["access_token"])
    got = assert_json(r, 200)
    assert set(got) == {"username", "created_at"}, got
    assert got["username"] == u
    assert gh.RFC3339_RE.match(got["created_at"]), got["created_at"]
    created = dt.datetime.fromisoformat(got["created_at"].replace("z", "Z").replace("t", "T"))
    assert before - dt.timedelta(seconds=2) <= created <= after + dt.timedelta(seconds=2), (
        before, created, after)


def test_healthz_is_200(srv):
    assert srv.get("/healthz").status_code == 200
