"""API.md §5: input rules for username, password and request bodies."""

import json
import random
import string

import pytest

from gatehouse_e2e import (
    assert_400,
    assert_field_error,
    assert_json,
    assert_message,
    assert_tokens_pair,
    decode,
    uname,
)

PW = "correct horse"
JSON_H = {"Content-Type": "application/json"}
FORM_H = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.fixture(scope="module")
def srv(module_server):
    return module_server


def rand_letters(n=10):
    return "".join(random.choice(string.ascii_letters) for _ in range(n))


# -- username ----------------------------------------------------------------------------------

def test_username_is_echoed_as_first_given(srv):
    u = "MiXeD.Case_" + rand_letters()
    r = srv.register(u)
    body = assert_tokens_pair(r, f"User {u} was created")
    assert decode(body["access_token"], srv.secret)["sub"] == u
    assert srv.me(body["access_token"]).json()["username"] == u


def test_login_ignores_ascii_case_and_echoes_stored_name(srv):
    u = "CaseLogin." + rand_letters()
    assert srv.register(u).status_code == 200
    for variant in (u.lower(), u.upper(), u.swapcase()):
        r = srv.login(variant)
        body = assert_tokens_pair(r, f"Logged in as {u}")
        assert decode(body["access_token"], srv.secret)["sub"] == u


def test_login_other_case_with_wrong_password_is_401(srv):
    u = "CaseWrong." + rand_letters()
    assert srv.register(u).status_code == 200
    assert_message(srv.login(u.upper(), "wrong password"), 401, "Wrong credentials")


def test_username_of_64_chars_is_accepted(srv):
    u = ("u64_" + rand_letters(60))[:64]
    assert len(u) == 64
    assert_tokens_pair(srv.register(u), f"User {u} was created")


def test_username_of_1_char_is_accepted(srv):
    u = "Q"  # no other test in this module registers a one-character name
    assert_tokens_pair(srv.register(u), f"User {u} was created")
    assert_tokens_pair(srv.login("q"), f"Logged in as {u}")


def test_username_with_every_allowed_character_class(srv):
    u = "Az09._@+-" + rand_letters(6)
    assert_tokens_pair(srv.register(u), f"User {u} was created")
    assert_tokens_pair(srv.login(u), f"Logged in as {u}")


# -- password length in bytes ----------------------------------------------------------------------

def test_password_of_1024_bytes_is_accepted(srv):
    u, pw = uname("pw1024"), "p" * 1024
    assert_tokens_pair(srv.register(u, pw), f"User {u} was created")
    assert_tokens_pair(srv.login(u, pw), f"Logged in as {u}")


def test_password_of_1025_bytes_is_400(srv):
    assert_field_error(srv.register(uname("pw1025"), "p" * 1025), "password")


def test_password_limit_counts_utf8_bytes_not_characters(srv):
    pw = "\u00e9" * 513  # 513 characters, 1026 bytes
    assert_field_error(srv.register(uname("pwutf8"), pw), "password")


def test_password_of_8_utf8_bytes_in_4_characters_is_accepted(srv):
    u, pw = uname("pw8b"), "\u00e9" * 4  # 4 characters, 8 bytes
    assert_tokens_pair(srv.register(u, pw), f"User {u} was created")
    assert_tokens_pair(srv.login(u, pw, form=True), f"Logged in as {u}")


# -- unknown and duplicate fields ------------------------------------------------------------------

def test_unknown_json_fields_are_ignored(srv):
    u = uname("unk")
    r = srv.post("/registration", json={"username": u, "password": PW, "email": "a@b.c",
                                        "remember": "yes"})
    assert_tokens_pair(r, f"User {u} was created")
    r = srv.post("/login", json={"username": u, "password": PW, "otp": "123456"})
    assert_tokens_pair(r, f"Logged in as {u}")


def test_unknown_form_fields_are_ignored(srv):
    u = uname("unkf")
    r = srv.post("/registration", data={"username": u, "password": PW, "email": "a@b.c"})
    assert_tokens_pair(r, f"User {u} was created")
    r = srv.post("/login", data={"username": u, "password": PW, "otp": "123456"})
    assert_tokens_pair(r, f"Logged in as {u}")


@pytest.mark.parametrize("path", ["/registration", "/login"])
@pytest.mark.parametrize("field", ["username", "password"])
def test_duplicate_json_key_is_400(srv, path, field):
    u = uname("dupj")
    other = {"username": f'"{u}"', "password": f'"{PW}"'}
    other_field = "password" if field == "username" else "username"
    raw = (f'{{"{field}": "{u if field == "username" else PW}", '
           f'"{other_field}": {other[other_field]}, '
           f'"{field}": "{u + "x" if field == "username" else PW + "x"}"}}')
    json.loads(raw)  # valid JSON apart from the duplicate
    r = srv.post(path, data=raw.encode(), headers=JSON_H)
    assert_400(r)


@pytest.mark.parametrize("path", ["/registration", "/login"])
@pytest.mark.parametrize("field", ["username", "password"])
def test_duplicate_form_field_is_400(srv, path, field):
    u = uname("dupf")
    if field == "username":
        raw = f"username={u}&password=correct+horse&username={u}x"
    else:
        raw = f"username={u}&password=correct+horse&password=correct+horsex"
    r = srv.post(path, data=raw.encode(), headers=FORM_H)
    assert_400(r)


@pytest.mark.parametrize("path", ["/registration", "/login"])
@pytest.mark.parametrize("field", ["username", "password"])
@pytest.mark.parametrize("value", [12345678, None, ["abcdefghij"], {"a": "abcdefghij"}, True, 1.5],
                         ids=["number", "null", "array", "object", "bool", "float"])
def test_non_string_value_is_400_for_that_field(srv, path, field, value):
    fields = {"username": uname("nonstr"), "password": PW}
    fields[field] = value
    r = srv.post(path, json=fields)
    assert_field_error(r, field)


# -- NUL bytes and invalid UTF-8 -------------------------------------------------------------------

@pytest.mark.parametrize("field", ["username", "password"])
def test_nul_byte_in_json_field_is_400(srv, field):
    fields = {"username": uname("nul"), "password": PW}
    fields[field] = fields[field][:4] + "\u0000" + fields[field][4:]
    raw = json.dumps(fields)
    assert "\\u0000" in raw
    assert_400(srv.post("/registration", data=raw.encode(), headers=JSON_H))


@pytest.mark.parametrize("field", ["username", "password"])
def test_nul_byte_in_form_field_is_400(srv, field):
    u = uname("nulf")
    raw = f"username={u}&password=correct+horse"
    raw = raw.replace(f"{field}=", f"{field}=ab%00", 1)
    assert_400(srv.post("/registration", data=raw.encode(), headers=FORM_H))


@pytest.mark.parametrize("field", ["username", "password"])
def test_invalid_utf8_in_json_string_is_400(srv, field):
    u = uname("utf")
    vals = {"username": u.encode(), "password": PW.encode()}
    vals[field] = vals[field] + b"\xff\xfe"
    raw = b'{"username": "' + vals["username"] + b'", "password": "' + vals["password"] + b'"}'
    assert_400(srv.post("/registration", data=raw, headers=JSON_H))


@pytest.mark.parametrize("field", ["username", "password"])
@pytest.mark.parametrize("how", ["percent-encoded", "raw-byte"])
def test_invalid_utf8_in_form_field_is_400(srv, field, how):
    u = uname("utff")
    bad = b"%C3%28" if how == "percent-encoded" else b"\xc3\x28"
    vals = {"username": u.encode(), "password": b"correct+horse"}
    vals[field] = vals[field] + bad
    raw = b"username=" + vals["username"] + b"&password=" + vals["password"]
    assert_400(srv.post("/registration", data=raw, headers=FORM_H))


def test_invalid_utf8_outside_strings_in_json_is_400(srv):
    raw = b'{"username": "x", "password": "abcdefghij", "\xff": "y"}'
    assert_400(srv.post("/login", data=raw, headers=JSON_H))


# -- form encoding ------------------------------------------------------------------------------------

def test_form_body_percent_decoding_and_plus_as_space(srv):
    tail = rand_letters(8)
    raw = f"username=a%2Bb%40c.{tail}&password=pass+word%21%20%C3%A9"
    r = srv.post("/registration", data=raw.encode(), headers=FORM_H)
    u = f"a+b@c.{tail}"
    assert_tokens_pair(r, f"User {u} was created")
    # the password was "pass word! é": log in with it through JSON
    assert_tokens_pair(srv.login(u, "pass word! \u00e9"), f"Logged in as {u}")


def test_form_literal_plus_in_username_must_be_percent_encoded(srv):
    # a raw '+' in a form value is a space -> invalid username character
    tail = rand_letters(8)
    raw = f"username=a+b.{tail}&password=correct+horse"
    assert_field_error(srv.post("/registration", data=raw.encode(), headers=FORM_H), "username")
