"""Password rules under abuse: configurable minimum length, 1024-byte maximum, deny list
(API.md §5; settings password.min_length, password_deny_list).

Run: /usr/bin/python3 -m pytest tests/e2e/test_abuse_passwords.py -q
"""

from __future__ import annotations

import pytest

import gatehouse_e2e as gh


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    base = tmp_path_factory.mktemp("pw")
    deny = base / "deny.txt"
    deny.write_text("Password123\nletmein-please\n")
    f = gh.Factory(base)
    s = f(name="gatehouse(min 10, deny list)",
          args=["--password-min-length", "10", "--password-deny-list", str(deny)])
    yield s
    f.close()


def assert_password_error(r, field="password"):
    gh.assert_field_error(r, field)
    assert "Password123".lower() not in r.text.lower()


def register(srv, pw):
    return srv.register(gh.uname("pw"), pw)


def ok(srv, pw):
    u = gh.uname("pw")
    gh.assert_tokens_pair(srv.register(u, pw), f"User {u} was created")
    return u


def test_password_of_9_bytes_is_400_with_min_length_10(srv):
    r = register(srv, "a" * 9)
    assert_password_error(r)
    assert "a" * 9 not in r.text


def test_password_of_10_bytes_is_accepted_with_min_length_10(srv):
    ok(srv, "b" * 10)


def test_min_length_counts_bytes(srv):
    # API.md §5: lengths are bytes of UTF-8. 4 x 2-byte + 1 = 9 bytes; 5 x 2-byte = 10.
    assert_password_error(register(srv, "\u00e9" * 4 + "x"))
    ok(srv, "\u00e9" * 5)


def test_password_of_1025_bytes_is_400(srv):
    r = register(srv, "c" * 1025)
    assert_password_error(r)
    assert "c" * 100 not in r.text


def test_password_of_1024_bytes_is_accepted(srv):
    ok(srv, "d" * 1024)


@pytest.mark.parametrize("pw", ["password123", "PASSWORD123", "Password123", "pAsSwOrD123",
                                "LETMEIN-PLEASE"])
def test_deny_listed_password_is_400_ignoring_ascii_case(srv, pw):
    r = register(srv, pw)
    assert_password_error(r)
    assert pw not in r.text


@pytest.mark.parametrize("pw", ["password1234", "xpassword123", "password123 "])
def test_deny_list_matches_whole_passwords_only(srv, pw):
    # Choice: the deny list refuses exact passwords (ignoring ASCII case), not substrings,
    # and a trailing space makes another password.
    ok(srv, pw)


def test_login_with_a_refused_password_creates_nothing(srv):
    u = gh.uname("pw")
    assert_password_error(srv.register(u, "password123"))
    gh.assert_message(srv.login(u, "password123"), 401, "Wrong credentials")
    # the name is still free
    gh.assert_tokens_pair(srv.register(u, "a good passphrase"), f"User {u} was created")


def test_password_change_to_a_deny_listed_or_short_password_is_400(srv):
    # Choice: the same rules hold for the new password of POST /password (field
    # new_password, API.md §4).
    u = gh.uname("pw")
    body = srv.register(u, "a good passphrase").json()
    auth = gh.bearer(body["access_token"])
    for bad in ["PASSWORD123", "short9byt"]:
        r = srv.post("/password", json={"old_password": "a good passphrase", "new_password": bad},
                     headers=auth)
        gh.assert_field_error(r, "new_password")
    # the old password still works
    gh.assert_tokens_pair(srv.login(u, "a good passphrase"), f"Logged in as {u}")
