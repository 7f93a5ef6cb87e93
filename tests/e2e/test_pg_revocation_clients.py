"""The Python helper of clients/python/gatehouse_revocations with two gatehouse instances on one
PostgreSQL database (issue 19): the helper follows B's stream, the revocations (each logout, an
admin disable) are made on A, and the real Flask-JWT-Extended and PyJWT refuse the token within
one second."""

import time

import pytest

from pg_support import PW, instances, module_factory, requires_pg
from revocation_clients_support import (
    BOUND, CLIENT_ARGS, REVOCATIONS, pyjwt_refuses, resource_server, revoke, until_refused,
)

from gatehouse_revocations import decode_unrevoked  # noqa: E402 (on the path)

pytestmark = requires_pg


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    with module_factory(tmp_path_factory, "pg-revclients") as f:
        a, b = instances(f, args=CLIENT_ARGS)
        with resource_server(b, a.secret) as (follower, app):
            yield a, follower, app


@pytest.mark.parametrize("how", REVOCATIONS)
def test_a_revocation_on_a_is_refused_by_helpers_following_b_within_1s(env, how):
    a, follower, app = env
    name, reg = a.new_user("pgclient", PW)
    token = reg["access_token"]
    assert app.get(token).status_code == 200
    assert decode_unrevoked(token, a.secret, follower, algorithms=["HS256"])["jti"]
    t0 = time.monotonic()
    revoke(a, how, name, reg)
    delay = until_refused(lambda: app.refuses(token) and pyjwt_refuses(token, a.secret, follower),
                          t0)
    assert delay is not None and delay < BOUND, f"{how}: {delay}"
