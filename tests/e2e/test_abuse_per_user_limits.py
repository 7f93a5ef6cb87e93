"""One account's refreshes and revocations are limited (API.md §9, issue 13 item 8):
rate_limit.refresh_per_user (default 120/1m) and rate_limit.revocation_per_user (default 60/1m),
"0" off; past them 429 with Retry-After.

Run: /usr/bin/python3 -m pytest tests/e2e/test_abuse_per_user_limits.py -q
"""

from __future__ import annotations

import pytest

import gatehouse_e2e as gh
from abuse_support import assert_message_json, retry_after
from pg_support import NEW_PW, PW

PER_USER_ENV = ("GATEHOUSE_RATE_LIMIT_REFRESH_PER_USER", "GATEHOUSE_RATE_LIMIT_REVOCATION_PER_USER")


def assert_429(r, window_s: int) -> None:
    assert assert_message_json(r, 429) == "Too many attempts, try again later"
    assert retry_after(r) <= window_s


def login(srv, u: str) -> dict:
    r = srv.login(u, PW)
    assert r.status_code == 200, r.text
    return r.json()


def access_tokens(srv, refresh_token: str, n: int) -> list[str]:
    out = []
    for _ in range(n):
        r = srv.refresh(refresh_token)
        assert r.status_code == 200, r.text
        out.append(r.json()["access_token"])
    return out


@pytest.fixture(scope="module")
def limited(tmp_path_factory):
    f = gh.Factory(tmp_path_factory.mktemp("peruser"))
    yield f(name="gatehouse(refresh 3/1m, revocation 2/1m)",
            args=["--rate-limit-refresh-per-user", "3/1m",
                  "--rate-limit-revocation-per-user", "2/1m"])
    f.close()


# -- refresh -----------------------------------------------------------------------------------

def test_fourth_refresh_of_a_user_is_429_with_retry_after(limited):
    _, reg = limited.new_user("rf")
    access_tokens(limited, reg["refresh_token"], 3)
    assert_429(limited.refresh(reg["refresh_token"]), 60)


def test_refresh_limit_counts_every_session_of_the_user(limited):
    # Keyed by the user, not the token: a second login does not open a new budget.
    u, reg = limited.new_user("rf")
    access_tokens(limited, reg["refresh_token"], 2)
    other_session = login(limited, u)
    access_tokens(limited, other_session["refresh_token"], 1)
    assert_429(limited.refresh(other_session["refresh_token"]), 60)


def test_refresh_limit_of_one_user_leaves_other_users_alone(limited):
    _, a = limited.new_user("rf")
    _, b = limited.new_user("rf")
    access_tokens(limited, a["refresh_token"], 3)
    assert_429(limited.refresh(a["refresh_token"]), 60)
    access_tokens(limited, b["refresh_token"], 3)


def test_refresh_limit_does_not_touch_revocations(limited):
    _, reg = limited.new_user("rf")
    access_tokens(limited, reg["refresh_token"], 3)
    assert_429(limited.refresh(reg["refresh_token"]), 60)
    r = limited.post("/logout/all", headers=gh.bearer(reg["access_token"]))
    gh.assert_message(r, 200, "All tokens have been revoked")


def rate_limited(srv, limit: str) -> float:
    text = srv.get("/metrics").text
    prefix = f'gatehouse_rate_limited_total{{limit="{limit}"}} '
    lines = [line for line in text.splitlines() if line.startswith(prefix)]
    assert len(lines) == 1, text
    return float(lines[0][len(prefix):])


def test_refused_refreshes_and_revocations_are_counted_in_the_metrics(limited):
    _, reg = limited.new_user("met")
    refresh_before = rate_limited(limited, "refresh_per_user")
    revocation_before = rate_limited(limited, "revocation_per_user")
    access_tokens(limited, reg["refresh_token"], 3)
    assert_429(limited.refresh(reg["refresh_token"]), 60)
    assert rate_limited(limited, "refresh_per_user") == refresh_before + 1
    assert rate_limited(limited, "revocation_per_user") == revocation_before


# -- revocations -------------------------------------------------------------------------------

def revoke(srv, how: str, tokens: dict):
    if how == "logout/access":
        return srv.post("/logout/access", headers=gh.bearer(tokens["access_token"]))
    if how == "logout/refresh":
        return srv.post("/logout/refresh", headers=gh.bearer(tokens["refresh_token"]))
    if how == "logout/all":
        return srv.post("/logout/all", headers=gh.bearer(tokens["access_token"]))
    return srv.post("/password", headers=gh.bearer(tokens["access_token"]),
                    json={"old_password": PW, "new_password": NEW_PW})


@pytest.mark.parametrize("how", ["logout/access", "logout/refresh", "logout/all", "password"])
def test_third_revocation_of_a_user_is_429_whatever_its_kind(limited, how):
    u, reg = limited.new_user("rv")
    for tokens in (login(limited, u), login(limited, u)):
        r = limited.post("/logout/access", headers=gh.bearer(tokens["access_token"]))
        gh.assert_message(r, 200, "Access token has been revoked")
    third = login(limited, u)
    assert_429(revoke(limited, how, third), 60)
    # Refused, so nothing was revoked: the tokens still work.
    assert limited.me(third["access_token"]).status_code == 200


def test_revocation_limit_of_one_user_leaves_other_users_alone(limited):
    u, _ = limited.new_user("rv")
    v, _ = limited.new_user("rv")
    for _ in range(2):
        assert revoke(limited, "logout/access", login(limited, u)).status_code == 200
    assert_429(revoke(limited, "logout/all", login(limited, u)), 60)
    gh.assert_message(revoke(limited, "logout/all", login(limited, v)), 200,
                      "All tokens have been revoked")


# -- defaults and off ----------------------------------------------------------------------------

@pytest.fixture
def defaults(server_factory):
    """A server with both per-user limits at their defaults (the suite turns them off)."""
    srv = server_factory(start=False, name="gatehouse(per-user limits at defaults)")
    for name in PER_USER_ENV:
        srv.env.pop(name, None)
    return srv.start()


def test_refresh_default_is_120_a_minute(defaults):
    _, reg = defaults.new_user("d")
    access_tokens(defaults, reg["refresh_token"], 120)
    assert_429(defaults.refresh(reg["refresh_token"]), 60)


def test_revocation_default_is_60_a_minute(defaults):
    _, reg = defaults.new_user("d")
    tokens = access_tokens(defaults, reg["refresh_token"], 61)
    for token in tokens[:60]:
        r = defaults.post("/logout/access", headers=gh.bearer(token))
        assert r.status_code == 200, r.text
    assert_429(defaults.post("/logout/access", headers=gh.bearer(tokens[60])), 60)


def test_zero_turns_both_limits_off(server_factory):
    srv = server_factory(args=["--rate-limit-refresh-per-user", "0",
                               "--rate-limit-revocation-per-user", "0"])
    _, reg = srv.new_user("off")
    tokens = access_tokens(srv, reg["refresh_token"], 130)
    for token in tokens[:70]:
        assert srv.post("/logout/access", headers=gh.bearer(token)).status_code == 200
