"""Brute-force limits hold across instances (API.md §9, issue 13 item 10): two instances on one
PostgreSQL database share the counts of rate_limit.login_per_user, login_per_address and
registration_per_address, so attempts alternated between them meet 429 after the same count
as on one instance.

Run: GATEHOUSE_E2E_PG_URL=postgresql://... /usr/bin/python3 -m pytest tests/e2e/test_pg_rate_limits.py -q
"""

from __future__ import annotations

import contextlib

import pytest

import gatehouse_e2e as gh
from abuse_support import Client, assert_message_json, limit_args, retry_after
from pg_support import PW, instances, module_factory, requires_pg

pytestmark = requires_pg

WRONG = "wrong password"


def assert_429(r, window_s: int) -> None:
    assert assert_message_json(r, 429) == "Too many attempts, try again later"
    assert retry_after(r) <= window_s


@contextlib.contextmanager
def clients(servers, source="127.0.0.1"):
    made = [Client(s, source) for s in servers]
    try:
        yield made
    finally:
        for c in made:
            c.close()


@pytest.fixture
def per_user(tmp_path_factory):
    with module_factory(tmp_path_factory, "pg-peruser") as f:
        yield instances(f, args=limit_args(rate_limit_login_per_user="4/15m"))


def test_failed_logins_alternated_between_instances_meet_429_after_the_limit(per_user):
    u, _ = per_user[0].new_user("bf", PW)
    with clients(per_user) as (a, b):
        for i in range(4):
            gh.assert_message((a, b)[i % 2].login(u, WRONG), 401, "Wrong credentials")
        assert_429(a.login(u, WRONG), 900)
        assert_429(b.login(u, WRONG), 900)
        assert_429(b.login(u, PW), 900)


def test_one_instance_alone_meets_429_after_the_same_count(per_user):
    u, _ = per_user[0].new_user("bf", PW)
    with clients(per_user[:1]) as (a,):
        for _ in range(4):
            gh.assert_message(a.login(u, WRONG), 401, "Wrong credentials")
        assert_429(a.login(u, WRONG), 900)


def test_a_login_on_one_instance_gives_its_attempt_back_on_both(per_user):
    u, _ = per_user[0].new_user("bf", PW)
    with clients(per_user) as (a, b):
        for c in (a, b, a):
            gh.assert_message(c.login(u, WRONG), 401, "Wrong credentials")
        gh.assert_tokens_pair(b.login(u, PW), f"Logged in as {u}")
        gh.assert_message(a.login(u, WRONG), 401, "Wrong credentials")
        assert_429(b.login(u, WRONG), 900)


def test_a_wrong_old_password_on_one_instance_counts_with_failed_logins_on_the_other(per_user):
    a_srv, b_srv = per_user
    u, reg = a_srv.new_user("bf", PW)
    with clients(per_user) as (a, b):
        for _ in range(3):
            gh.assert_message(b.login(u, WRONG), 401, "Wrong credentials")
        r = a.post("/password", headers=gh.bearer(reg["access_token"]),
                   json={"old_password": WRONG, "new_password": "battery staple 42"})
        gh.assert_message(r, 401, "Wrong credentials")
        assert_429(b.login(u, PW), 900)


def test_failures_spread_over_usernames_meet_the_shared_address_limit(tmp_path_factory):
    with module_factory(tmp_path_factory, "pg-peraddr") as f:
        servers = instances(f, args=limit_args(rate_limit_login_per_address="4/15m",
                                               rate_limit_login_per_user="0"))
        with clients(servers) as (a, b), clients(servers, "127.0.0.2") as (other, _):
            for i in range(4):
                gh.assert_message((a, b)[i % 2].login(gh.uname("spray"), WRONG), 401,
                                  "Wrong credentials")
            assert_429(a.login(gh.uname("spray"), WRONG), 900)
            assert_429(b.login(gh.uname("spray"), WRONG), 900)
            gh.assert_message(other.login(gh.uname("spray"), WRONG), 401, "Wrong credentials")


def test_registrations_alternated_between_instances_meet_the_shared_limit(tmp_path_factory):
    with module_factory(tmp_path_factory, "pg-reg") as f:
        servers = instances(f, args=limit_args(rate_limit_registration_per_address="3/1m"))
        with clients(servers) as (a, b):
            for i in range(3):
                u = gh.uname("reg")
                gh.assert_tokens_pair((a, b)[i % 2].register(u, PW), f"User {u} was created")
            assert_429(b.register(gh.uname("reg"), PW), 60)
            assert_429(a.register(gh.uname("reg"), PW), 60)
