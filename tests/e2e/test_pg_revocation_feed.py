"""GET /revocations across instances (issue 19): two gatehouse instances on one PostgreSQL
database; a revocation made on A reaches a stream open on B within one second, and B's JSON
feed answers it."""

import threading
import time

import pytest
import requests

from gatehouse_e2e import bearer
from pg_support import PW, instances, module_factory, requires_pg
from revocation_feed_support import ARGS, EventStream, claims, feed, matches

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


# PostgreSQL hands out a feed entry's position (a sequence) before its transaction commits, so
# without the feed's turn (store/postgres/pg_statements.hpp, kTakeFeedTurn) entries of
# concurrent transactions commit out of position order, and a reader whose cursor passed a later
# entry never sees an earlier one committed after it read. Many logouts on both instances at
# once, while a reader pages with a small limit: every revoked jti must reach the reader.
WRITERS_PER_INSTANCE = 6
LOGOUTS_PER_WRITER = 30
BUSY_ARGS = ARGS + ["--rate-limit-revocation-per-user", "100000/1m",
                    "--rate-limit-refresh-per-user", "100000/1m"]


@pytest.fixture(scope="module")
def busy_ab(tmp_path_factory):
    with module_factory(tmp_path_factory, "pg-revfeed-order") as f:
        yield tuple(instances(f, args=BUSY_ARGS))


def logouts(srv, revoked: list, errors: list, start: threading.Barrier):
    """Registers one user, then LOGOUTS_PER_WRITER times: a refresh (a new access token, no
    password hashing) and /logout/access of it; each revoked jti goes into `revoked`."""
    try:
        _, reg = srv.new_user("order", PW)
        with requests.Session() as http:
            start.wait()
            for _ in range(LOGOUTS_PER_WRITER):
                r = http.post(srv.url("/token/refresh"), headers=bearer(reg["refresh_token"]),
                              timeout=10)
                assert r.status_code == 200, r.text
                access = r.json()["access_token"]
                r = http.post(srv.url("/logout/access"), headers=bearer(access), timeout=10)
                assert r.status_code == 200, r.text
                revoked.append(claims(access)["jti"])
    except BaseException as e:  # noqa: BLE001 - reported by the test
        errors.append(repr(e))


def test_a_paging_reader_sees_every_revocation_committed_concurrently(busy_ab):
    a, b = busy_ab
    cursor = feed(a, limit=1000).json()["cursor"]
    while True:  # the end of the feed as it is now
        page = feed(a, after=cursor, limit=1000).json()
        if not page["revocations"]:
            break
        cursor = page["cursor"]
    revoked, errors, seen = [], [], set()
    writers = [threading.Thread(target=logouts, args=(srv, revoked, errors, start))
               for start in [threading.Barrier(2 * WRITERS_PER_INSTANCE)]
               for srv in [a, b] * WRITERS_PER_INSTANCE]
    for t in writers:
        t.start()
    pages = 0
    readers = [a, b]
    while any(t.is_alive() for t in writers):
        page = feed(readers[pages % 2], after=cursor, limit=3).json()
        seen.update(e["jti"] for e in page["revocations"] if "jti" in e)
        cursor = page["cursor"]
        pages += 1
    for t in writers:
        t.join()
    assert not errors, errors
    while True:  # what committed after the last page
        page = feed(a, after=cursor, limit=1000).json()
        if not page["revocations"]:
            break
        seen.update(e["jti"] for e in page["revocations"] if "jti" in e)
        cursor = page["cursor"]
    assert len(revoked) == 2 * WRITERS_PER_INSTANCE * LOGOUTS_PER_WRITER
    missed = set(revoked) - seen
    assert not missed, f"{len(missed)} of {len(revoked)} revocations never reached the reader " \
                       f"({pages} pages read meanwhile)"
