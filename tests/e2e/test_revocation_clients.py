"""The Python helper of clients/python/gatehouse_revocations (issue 19): a resource server that
verifies gatehouse tokens offline, with the real Flask-JWT-Extended and with PyJWT, refuses a
token within one second of its logout (each of the three) or of its user's admin disable, and
again after gatehouse restarts. test_pg_revocation_clients.py runs the same with two instances on
PostgreSQL."""

import time

import pytest

import gatehouse_e2e as gh
from pg_support import module_factory
from revocation_clients_support import (
    BOUND, CLIENT_ARGS, REVOCATIONS, pyjwt_refuses, resource_server, revoke, until_refused,
)

from gatehouse_revocations import decode_unrevoked  # noqa: E402 (on the path)

PW = "correct horse"


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    with module_factory(tmp_path_factory, "revclients") as f:
        srv = f(args=CLIENT_ARGS, name="gatehouse(revocations)")
        with resource_server(srv, srv.secret) as (follower, app):
            yield srv, follower, app


@pytest.mark.parametrize("how", REVOCATIONS)
def test_flask_jwt_extended_refuses_a_revoked_token_within_1s(env, how):
    srv, _, app = env
    name, reg = srv.new_user("flask", PW)
    assert app.get(reg["access_token"]).status_code == 200
    t0 = time.monotonic()
    revoke(srv, how, name, reg)
    delay = until_refused(lambda: app.refuses(reg["access_token"]), t0)
    assert delay is not None and delay < BOUND, f"{how}: {delay}"


def test_flask_keeps_accepting_tokens_issued_after_logout_all(env):
    srv, _, app = env
    u, reg = srv.new_user("after", PW)
    revoke(srv, "/logout/all", u, reg)
    time.sleep(1.1)  # a new second: the cut refuses only earlier tokens
    fresh = srv.login(u, PW).json()["access_token"]
    time.sleep(0.5)
    assert app.get(fresh).status_code == 200
    assert app.get(reg["access_token"]).status_code == 401


@pytest.mark.parametrize("how", REVOCATIONS)
def test_pyjwt_helper_refuses_a_revoked_token_within_1s(env, how):
    srv, follower, _ = env
    name, reg = srv.new_user("pyjwt", PW)
    token = reg["access_token"]
    assert decode_unrevoked(token, srv.secret, follower, algorithms=["HS256"])["jti"]
    t0 = time.monotonic()
    revoke(srv, how, name, reg)
    delay = until_refused(lambda: pyjwt_refuses(token, srv.secret, follower), t0)
    assert delay is not None and delay < BOUND, f"{how}: {delay}"


def test_the_follower_recovers_after_gatehouse_restarts(env):
    srv, follower, app = env
    before_name, before = srv.new_user("restart", PW)
    assert srv.terminate() == 0
    srv.start()
    assert gh.poll(lambda: follower.connected, timeout=10)
    name, reg = srv.new_user("restart", PW)
    t0 = time.monotonic()
    revoke(srv, "/logout/access", name, reg)
    revoke(srv, "/logout/all", before_name, before)
    delay = until_refused(lambda: app.get(reg["access_token"]).status_code == 401, t0)
    assert delay is not None and delay < BOUND, delay
    assert until_refused(lambda: app.get(before["access_token"]).status_code == 401, t0) < BOUND
