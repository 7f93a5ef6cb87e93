"""Acknowledged writes survive kill -9: users and revocations are durable once answered 200."""

import pytest

from gatehouse_e2e import assert_message, assert_token_error, bearer

PW = "durable password"
N_USERS = 10


@pytest.fixture
def crashed_and_restarted(server_factory):
    srv = server_factory()
    users = []
    for i in range(N_USERS):
        u = f"dur{i}_user"
        r = srv.register(u, PW)
        assert r.status_code == 200, r.text
        users.append({"name": u, **r.json()})
    # users 0-3: access token logged out; users 4-6: session logged out via refresh token
    # (with one extra refreshed access token each); users 7-9: untouched.
    for u in users[4:7]:
        r = srv.refresh(u["refresh_token"])
        assert r.status_code == 200, r.text
        u["extra_access"] = r.json()["access_token"]
    for u in users[0:4]:
        assert_message(srv.post("/logout/access", headers=bearer(u["access_token"])), 200,
                       "Access token has been revoked")
    for u in users[4:7]:
        assert_message(srv.post("/logout/refresh", headers=bearer(u["refresh_token"])), 200,
                       "Refresh token has been revoked")
    srv.kill9()  # at once, right after the last acknowledged write
    # restart on the same data dir (and so the same generated secret)
    srv2 = server_factory(start=False, data_dir=srv.data_dir, name="gatehouse(restarted)")
    srv2.start()
    return srv2, users


def test_registered_users_survive_kill_9(crashed_and_restarted):
    srv, users = crashed_and_restarted
    for u in users:
        r = srv.login(u["name"], PW)
        assert r.status_code == 200, (u["name"], r.status_code, r.text)
        assert r.json()["message"] == f"Logged in as {u['name']}"


def test_logged_out_access_tokens_stay_revoked_after_kill_9(crashed_and_restarted):
    srv, users = crashed_and_restarted
    for u in users[0:4]:
        assert_token_error(srv.me(u["access_token"]), "Token has been revoked")


def test_logged_out_sessions_stay_revoked_after_kill_9(crashed_and_restarted):
    srv, users = crashed_and_restarted
    for u in users[4:7]:
        assert_token_error(srv.refresh(u["refresh_token"]), "Token has been revoked")
        assert_token_error(srv.me(u["access_token"]), "Token has been revoked")
        assert_token_error(srv.me(u["extra_access"]), "Token has been revoked")


def test_unrevoked_tokens_still_work_after_kill_9(crashed_and_restarted):
    srv, users = crashed_and_restarted
    for u in users[7:10]:
        r = srv.me(u["access_token"])
        assert r.status_code == 200 and r.json()["username"] == u["name"], r.text
        assert srv.refresh(u["refresh_token"]).status_code == 200
    # only the access token was logged out for users 0-3: their refresh tokens still work
    for u in users[0:4]:
        r = srv.refresh(u["refresh_token"])
        assert r.status_code == 200, r.text
        assert srv.me(r.json()["access_token"]).status_code == 200
