"""Issue 4: nothing acknowledged is lost when an instance is killed (-9) right after it answered:
the other instance and the restarted one refuse the logged-out tokens; its users stay."""

import time

import pytest

from gatehouse_e2e import assert_token_error
from pg_support import NEW_PW, PW, REVOCATION_BOUND, instances, module_factory, requires_pg, revoke

pytestmark = requires_pg


@pytest.fixture(scope="module")
def killed(tmp_path_factory):
    """On A: 12 registrations; then 3 users each logged out by logout/access, logout/refresh,
    logout/all and a password change; kill -9 of A at once after the last 200."""
    with module_factory(tmp_path_factory, "pg-kill") as f:
        a, b = instances(f)
        users = []
        for i in range(12):
            u, reg = a.new_user(f"k{i}", PW)
            users.append({"name": u, "how": ["logout/access", "logout/refresh", "logout/all", "password"][i % 4],
                          **reg})
        for u in users:
            r = revoke(a, u["how"], u)
            assert r.status_code == 200, (u["how"], r.status_code, r.text)
        a.kill9()
        t_kill = time.monotonic()
        yield a, b, users, t_kill


def test_other_instance_refuses_access_tokens_logged_out_right_before_kill_9(killed):
    _, b, users, t_kill = killed
    time.sleep(max(0.0, t_kill + REVOCATION_BOUND - time.monotonic()))
    for u in users:
        assert_token_error(b.me(u["access_token"]), "Token has been revoked")


def test_other_instance_refuses_refresh_tokens_logged_out_right_before_kill_9(killed):
    _, b, users, _ = killed
    for u in users:
        if u["how"] != "logout/access":
            assert_token_error(b.refresh(u["refresh_token"]), "Token has been revoked")


def test_restarted_instance_refuses_tokens_logged_out_right_before_kill_9(killed):
    a, _, users, _ = killed
    if not a.running():
        a.start()
    for u in users:
        assert_token_error(a.me(u["access_token"]), "Token has been revoked")
        if u["how"] != "logout/access":
            assert_token_error(a.refresh(u["refresh_token"]), "Token has been revoked")


def test_users_registered_right_before_kill_9_log_in_on_the_other_instance(killed):
    _, b, users, _ = killed
    for u in users:
        pw = NEW_PW if u["how"] == "password" else PW
        r = b.login(u["name"], pw)
        assert r.status_code == 200, (u["name"], r.status_code, r.text)


def test_access_logout_only_leaves_the_refresh_token_working_after_kill_9(killed):
    _, b, users, _ = killed
    for u in users:
        if u["how"] == "logout/access":
            r = b.refresh(u["refresh_token"])
            assert r.status_code == 200, r.text
            assert b.me(r.json()["access_token"]).status_code == 200
