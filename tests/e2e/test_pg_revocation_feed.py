"""GET /revocations across instances (issue 19): two gatehouse instances on one PostgreSQL
database; a revocation made on A reaches a stream open on B within one second, and B's JSON
feed answers it."""

import time

import pytest

from gatehouse_e2e import bearer
from pg_support import PW, instances, module_factory, requires_pg
from revocation_feed_support import ARGS, EventStream, feed, matches

pytestmark = requires_pg


@pytest.fixture(scope="module")
def ab(tmp_path_factory):
    with module_factory(tmp_path_factory, "pg-revfeed") as f:
        yield tuple(instances(f, args=ARGS))


@pytest.mark.parametrize("how", ["/logout/access", "/logout/refresh", "/logout/all"])
def test_revocation_on_a_reaches_a_stream_on_b_within_1s(ab, how):
    a, b = ab
    stream = EventStream(b)
    try:
        assert stream.response.status_code == 200
        time.sleep(0.3)
        _, reg = a.new_user("pgfeed", PW)
        token = reg["refresh_token"] if how == "/logout/refresh" else reg["access_token"]
        t0 = time.monotonic()
        assert a.post(how, headers=bearer(token)).status_code == 200
        at = stream.wait_for(reg["access_token"])
        assert at is not None and at - t0 < 1.0, f"{how}: {at and at - t0}"
        assert any(matches(e, reg["access_token"]) for e in feed(b, limit=1000).json()["revocations"])
    finally:
        stream.close()
