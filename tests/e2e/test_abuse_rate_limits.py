"""Brute force: login and registration rate limits, client addresses, X-Forwarded-For
(API.md §4 429 + Retry-After, §7 rate_limit.*, trusted_proxies).

Other client addresses are made by binding the client socket to 127.0.0.2 / 127.0.0.3.
Limits not named by a test are at their documented defaults.

Run: /usr/bin/python3 -m pytest tests/e2e/test_abuse_rate_limits.py -q
"""

from __future__ import annotations

import pytest

import gatehouse_e2e as gh
from abuse_support import Client, assert_message_json, limit_args, retry_after

PW = "correct horse"
WRONG = "wrong password"


def assert_wrong(r):
    gh.assert_message(r, 401, "Wrong credentials")


def assert_429(r, window_s: int) -> None:
    msg = assert_message_json(r, 429)
    assert PW not in msg and WRONG not in msg
    n = retry_after(r)
    assert n <= window_s, f"Retry-After {n}s is longer than the {window_s}s window"


def assert_logged_in(r, u):
    gh.assert_tokens_pair(r, f"Logged in as {u}")


@pytest.fixture
def clients():
    made = []

    def make(srv, source="127.0.0.1"):
        c = Client(srv, source)
        made.append(c)
        return c

    yield make
    for c in made:
        c.close()


# -- per (username, address) ------------------------------------------------------------

@pytest.fixture(scope="module")
def user_limited(tmp_path_factory):
    f = gh.Factory(tmp_path_factory.mktemp("peruser"))
    srv = f(name="gatehouse(login_per_user 5/15m)",
            args=limit_args(rate_limit_login_per_user="5/15m"))
    yield srv
    f.close()


def exhaust_user(c: Client, u: str, n=5):
    for i in range(n):
        r = c.login(u, WRONG)
        assert r.status_code == 401, f"failure {i + 1}: {r.status_code} {r.text}"
        assert_wrong(r)


def test_sixth_failed_login_for_a_user_is_429_with_retry_after(user_limited, clients):
    c = clients(user_limited)
    u, _ = user_limited.new_user("bf")
    exhaust_user(c, u)
    assert_429(c.login(u, WRONG), 900)


def test_limited_user_still_logs_in_from_another_address(user_limited, clients):
    here, there = clients(user_limited), clients(user_limited, "127.0.0.2")
    u, _ = user_limited.new_user("bf")
    exhaust_user(here, u)
    assert_429(here.login(u, WRONG), 900)
    assert_logged_in(there.login(u, PW), u)
    # and a wrong password from there is an ordinary failure, not 429
    assert_wrong(there.login(u, WRONG))


def test_right_password_is_429_while_limited(user_limited, clients):
    c = clients(user_limited)
    u, _ = user_limited.new_user("bf")
    exhaust_user(c, u)
    assert_429(c.login(u, PW), 900)


def test_per_user_limit_ignores_username_case(user_limited, clients):
    # Choice: usernames are unique without regard to ASCII case and login ignores it
    # (API.md §5), so changing the case of the name does not open a new budget.
    c = clients(user_limited)
    u, _ = user_limited.new_user("bf")
    exhaust_user(c, u.lower())
    assert_429(c.login(u.upper(), WRONG), 900)
    assert_429(c.login(u.upper(), PW), 900)


def test_per_user_limit_counts_unknown_usernames_the_same(user_limited, clients):
    # Choice: an unknown user is limited like a real one, or the 429 would reveal which
    # names exist (API.md §1: unknown user and wrong password answer the same).
    c = clients(user_limited)
    ghost = gh.uname("ghost")
    exhaust_user(c, ghost)
    assert_429(c.login(ghost, WRONG), 900)


def test_limit_on_one_user_leaves_other_users_alone(user_limited, clients):
    c = clients(user_limited)
    u, _ = user_limited.new_user("bf")
    v, _ = user_limited.new_user("bf")
    exhaust_user(c, u)
    assert_429(c.login(u, WRONG), 900)
    assert_wrong(c.login(v, WRONG))
    assert_logged_in(c.login(v, PW), v)


# -- per address --------------------------------------------------------------------------

@pytest.fixture
def address_limited(server_factory):
    return server_factory(name="gatehouse(login_per_address 5/15m)",
                          args=limit_args(rate_limit_login_per_address="5/15m",
                                          rate_limit_login_per_user="0"))


def spread_failures(c: Client, n=5):
    for i in range(n):
        r = c.login(gh.uname(f"spray{i}"), WRONG)
        assert r.status_code == 401, f"failure {i + 1}: {r.status_code} {r.text}"
        assert_wrong(r)


def test_failures_spread_over_usernames_hit_the_address_limit(address_limited, clients):
    c = clients(address_limited)
    spread_failures(c)
    assert_429(c.login(gh.uname("spray5"), WRONG), 900)


def test_address_limit_leaves_other_addresses_alone(address_limited, clients):
    here, there = clients(address_limited), clients(address_limited, "127.0.0.2")
    u, _ = address_limited.new_user("addr")
    spread_failures(here)
    assert_429(here.login(gh.uname("spray5"), WRONG), 900)
    assert_wrong(there.login(gh.uname("other"), WRONG))
    assert_logged_in(there.login(u, PW), u)


def test_right_password_is_429_from_a_limited_address(address_limited, clients):
    # Choice: like the per-user limit, a limited address gets 429 whatever it sends.
    c = clients(address_limited)
    u, _ = address_limited.new_user("addr")
    spread_failures(c)
    assert_429(c.login(u, PW), 900)


# -- registration -----------------------------------------------------------------------

def test_fourth_registration_from_one_address_is_429(server_factory, clients):
    srv = server_factory(name="gatehouse(registration 3/1m)",
                         args=limit_args(rate_limit_registration_per_address="3/1m"))
    here, there = clients(srv), clients(srv, "127.0.0.2")
    for i in range(3):
        u = gh.uname("reg")
        gh.assert_tokens_pair(here.register(u, PW), f"User {u} was created")
    assert_429(here.register(gh.uname("reg"), PW), 60)
    u = gh.uname("reg")
    gh.assert_tokens_pair(there.register(u, PW), f"User {u} was created")


# -- X-Forwarded-For --------------------------------------------------------------------

def test_forged_xff_does_not_escape_the_per_user_limit(server_factory, clients):
    srv = server_factory(args=limit_args(rate_limit_login_per_user="3/15m"))
    c = clients(srv)
    u, _ = srv.new_user("xff")
    for i in range(3):
        assert_wrong(c.login(u, WRONG, headers={"X-Forwarded-For": f"203.0.113.{i + 1}"}))
    assert_429(c.login(u, WRONG, headers={"X-Forwarded-For": "203.0.113.99"}), 900)


def test_forged_xff_does_not_escape_the_per_address_limit(server_factory, clients):
    srv = server_factory(args=limit_args(rate_limit_login_per_address="3/15m",
                                         rate_limit_login_per_user="0"))
    c = clients(srv)
    for i in range(3):
        assert_wrong(c.login(gh.uname("x"), WRONG, headers={"X-Forwarded-For": f"198.51.100.{i + 1}"}))
    assert_429(c.login(gh.uname("x"), WRONG, headers={"X-Forwarded-For": "198.51.100.99"}), 900)


@pytest.fixture
def behind_proxy(server_factory):
    return server_factory(name="gatehouse(trusted 127.0.0.1)",
                          args=limit_args(rate_limit_login_per_user="3/15m")
                          + ["--trusted-proxies", "127.0.0.1"])


def test_trusted_proxy_xff_entry_is_what_is_limited(behind_proxy, clients):
    c = clients(behind_proxy)
    u, _ = behind_proxy.new_user("xff")
    a = {"X-Forwarded-For": "203.0.113.7"}
    for _ in range(3):
        assert_wrong(c.login(u, WRONG, headers=a))
    assert_429(c.login(u, WRONG, headers=a), 900)
    assert_429(c.login(u, PW, headers=a), 900)


def test_trusted_proxy_distinct_xff_are_distinct_clients(behind_proxy, clients):
    c = clients(behind_proxy)
    u, _ = behind_proxy.new_user("xff")
    a = {"X-Forwarded-For": "203.0.113.7"}
    for _ in range(3):
        assert_wrong(c.login(u, WRONG, headers=a))
    assert_429(c.login(u, WRONG, headers=a), 900)
    assert_wrong(c.login(u, WRONG, headers={"X-Forwarded-For": "203.0.113.8"}))
    assert_logged_in(c.login(u, PW, headers={"X-Forwarded-For": "203.0.113.9"}), u)


def test_untrusted_peer_xff_is_ignored_when_proxies_are_configured(behind_proxy, clients):
    c = clients(behind_proxy, "127.0.0.2")  # not a trusted proxy
    u, _ = behind_proxy.new_user("xff")
    for i in range(3):
        assert_wrong(c.login(u, WRONG, headers={"X-Forwarded-For": f"203.0.113.{i + 20}"}))
    assert_429(c.login(u, WRONG, headers={"X-Forwarded-For": "203.0.113.99"}), 900)


def test_trusted_proxy_forged_leftmost_xff_entries_do_not_escape(behind_proxy, clients):
    # Choice: the client is the rightmost X-Forwarded-For entry that is not a trusted
    # proxy. A proxy appends the address it saw, so entries left of it are whatever the
    # client sent and must not open a new budget.
    c = clients(behind_proxy)
    u, _ = behind_proxy.new_user("xff")
    for i in range(3):
        h = {"X-Forwarded-For": f"10.9.9.{i + 1}, 198.51.100.50"}
        assert_wrong(c.login(u, WRONG, headers=h))
    assert_429(c.login(u, WRONG, headers={"X-Forwarded-For": "10.9.9.99, 198.51.100.50"}), 900)
