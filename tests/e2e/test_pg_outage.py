"""Issue 4: PostgreSQL down or restarting. The endpoints that need it answer 503 with Retry-After
and /readyz 503, while /me keeps verifying from memory and /healthz answers 200; when the database
is back, service resumes without restarting gatehouse and nothing acknowledged was lost.

The module runs its own throwaway cluster (scripts/pg-cluster in a directory and on a port of its
own) so that stopping it does not disturb the tests on GATEHOUSE_E2E_PG_URL's cluster. One outage
is played once (module fixture) and every test checks one observation of it.
"""

import re
import time
from pathlib import Path

import pytest
import requests

import gatehouse_e2e as gh
from keys_support import INTROSPECTION_SECRET
from gatehouse_e2e import assert_token_error, bearer, poll, uname
from pg_support import (
    PW, REVOCATION_BOUND, Cluster, can_run_own_cluster, free_port, instances, module_factory, requires_pg,
    revoke,
    time_until_refused,
)

pytestmark = [
    requires_pg,
    pytest.mark.skipif(not can_run_own_cluster(), reason="needs scripts/pg-cluster and PostgreSQL 15's binaries"),
]

DETECT = 5.0     # seconds for gatehouse to notice that the database is gone
RECOVER = 10.0   # "within a few seconds": the database is back, everything works again
RETRY_AFTER_RE = re.compile(r"^[1-9][0-9]*$")

DOWN_ENDPOINTS = ["registration", "login", "token/refresh", "password", "logout/access",
                  "logout/refresh", "logout/all", "token/revoke", "token/introspect"]
CALLER = ("resource-server", INTROSPECTION_SECRET)  # introspection.secret: RFC 7009 and 7662


def safe(fn):
    """fn() or the exception (a refused or dropped connection is an observation too)."""
    try:
        return fn()
    except requests.RequestException as e:
        return e


def status(r):
    return r.status_code if isinstance(r, requests.Response) else repr(r)


def show(r) -> str:
    if isinstance(r, requests.Response):
        return f"{r.status_code} {dict(r.headers)} {r.text!r}"
    return repr(r)


def until_status(fn, want: int, timeout: float):
    """Call fn() until it answers `want` or timeout passes; return (first answer, last answer)."""
    first = last = safe(fn)
    deadline = time.monotonic() + timeout
    while status(last) != want and time.monotonic() < deadline:
        time.sleep(0.1)
        last = safe(fn)
    return first, last


@pytest.fixture(scope="module")
def cluster():
    port = free_port()
    c = Cluster(Path(f"/tmp/gatehouse-pg-outage-{port}"), port)
    c.destroy()
    base = c.start()
    yield c, base
    c.destroy()


@pytest.fixture(scope="module")
def outage(cluster, tmp_path_factory):
    c, base = cluster
    with module_factory(tmp_path_factory, "pg-outage") as f:
        db = gh.pg_create_database(base)
        a, b = instances(f, database=db, args=["--introspection-secret", INTROSPECTION_SECRET])
        o = {"a": a, "b": b, "factory": f, "db": db}

        # -- before: acknowledged writes --------------------------------------------------------
        o["user"], o["user_tokens"] = a.new_user("before", PW)
        assert b.me(o["user_tokens"]["access_token"]).status_code == 200  # B has served it
        _, o["cold"] = a.new_user("cold", PW)                     # B never serves it before
        _, early = a.new_user("early", PW)                        # revoked, seen by B before the outage
        assert revoke(a, "logout/refresh", early).status_code == 200
        assert poll(lambda: b.me(early["access_token"]).status_code == 401, timeout=3)
        o["early"] = early
        _, spare = a.new_user("spare", PW)                        # tokens to log out during the outage
        o["spare"] = spare
        _, late = a.new_user("late", PW)                          # revoked right before the stop
        assert b.me(late["access_token"]).status_code == 200
        assert revoke(a, "logout/access", late).status_code == 200
        o["late"] = late

        # -- the database stops -------------------------------------------------------------------
        c.stop()
        down = {}
        down["registration"] = until_status(lambda: a.register(uname("down"), PW), 503, DETECT)
        down["readyz"] = until_status(lambda: a.get("/readyz"), 503, DETECT)
        down["readyz_b"] = until_status(lambda: b.get("/readyz"), 503, DETECT)
        down["login"] = until_status(lambda: a.login(o["user"], PW), 503, DETECT)
        down["token/refresh"] = until_status(lambda: a.refresh(spare["refresh_token"]), 503, DETECT)
        down["password"] = until_status(
            lambda: a.post("/password", headers=bearer(spare["access_token"]),
                           json={"old_password": PW, "new_password": "battery staple 42"}), 503, DETECT)
        down["logout/access"] = until_status(
            lambda: a.post("/logout/access", headers=bearer(spare["access_token"])), 503, DETECT)
        down["logout/refresh"] = until_status(
            lambda: a.post("/logout/refresh", headers=bearer(spare["refresh_token"])), 503, DETECT)
        down["logout/all"] = until_status(
            lambda: a.post("/logout/all", headers=bearer(spare["access_token"])), 503, DETECT)
        # Attacker round 15: RFC 7009 answered 200 {} here and revoked nothing, and introspection
        # called the valid token inactive. Validity is unknown while the feed is not followed.
        for endpoint in ("token/revoke", "token/introspect"):
            down[endpoint] = until_status(
                lambda e=endpoint: a.post(f"/{e}", data={"token": spare["access_token"]},
                                          auth=CALLER), 503, DETECT)
        down["me"] = [until_status(lambda s=s: s.me(o["user_tokens"]["access_token"]), 503, DETECT)
                      for s in (a, b)]
        down["me_cold_b"] = safe(lambda: b.me(o["cold"]["access_token"]))
        down["healthz"] = [safe(lambda: s.get("/healthz")) for s in (a, b)]
        down["me_early"] = [safe(lambda: s.me(early["access_token"])) for s in (a, b)]
        down["alive"] = [s.running() for s in (a, b)]
        o["down"] = down

        # -- the database starts again ------------------------------------------------------------
        c.start()
        t0 = time.monotonic()

        def works():
            for s in (a, b):
                if status(safe(lambda: s.get("/readyz"))) != 200:
                    return False
                if status(safe(lambda: s.register(uname("back"), PW))) != 200:
                    return False
            return True

        o["recovered"] = poll(works, timeout=RECOVER, interval=0.2)
        o["recovery_s"] = time.monotonic() - t0
        print(f"\ngatehouse: service back {o['recovery_s']:.2f}s after PostgreSQL started again "
              f"(recovered={o['recovered']})")
        o["alive_after"] = [s.running() for s in (a, b)]
        yield o


# -- while the database is down ------------------------------------------------------------------

def assert_503_retry_after(answers):
    """docs/api.md: 503 `Storage unavailable, try again shortly` with `Retry-After: 1`."""
    _, last = answers
    assert isinstance(last, requests.Response) and last.status_code == 503, show(last)
    ra = last.headers.get("Retry-After")
    assert ra is not None and RETRY_AFTER_RE.match(ra), f"Retry-After {ra!r}"
    assert ra == "1", f"Retry-After {ra!r}"
    body = gh.assert_json(last, 503)
    assert body == {"message": "Storage unavailable, try again shortly"}, body


@pytest.mark.parametrize("endpoint", DOWN_ENDPOINTS)
def test_endpoint_answers_503_with_retry_after_while_database_is_down(outage, endpoint):
    assert_503_retry_after(outage["down"][endpoint])


def test_first_registration_after_database_stops_answers_503_not_500(outage):
    first, _ = outage["down"]["registration"]
    assert status(first) == 503, show(first)


@pytest.mark.parametrize("which", ["readyz", "readyz_b"])
def test_readyz_answers_503_while_database_is_down(outage, which):
    _, last = outage["down"][which]
    assert status(last) == 503, show(last)
    assert last.json() == {"message": "Storage unavailable"}, show(last)


def test_me_with_a_valid_access_token_answers_503_while_database_is_down(outage):
    """API.md §9: cut off from the feed, an instance cannot know of a revocation written by
    another one, so past 1 s it vouches for no token: 503 with Retry-After, on A and on B."""
    for answers in outage["down"]["me"]:
        assert_503_retry_after(answers)


def test_me_of_a_user_the_instance_never_served_answers_503_while_database_is_down(outage):
    """/me needs created_at, which B does not hold for a user it has never served (docs/api.md):
    'storage down', 503 with Retry-After; never a token error or a 500."""
    r = outage["down"]["me_cold_b"]
    assert_503_retry_after((r, r))


def test_healthz_answers_200_while_database_is_down(outage):
    for r in outage["down"]["healthz"]:
        assert status(r) == 200, show(r)


def test_token_revoked_before_the_outage_is_refused_while_database_is_down(outage):
    for r in outage["down"]["me_early"]:
        assert status(r) == 401 and r.json() == {"message": "Token has been revoked"}, show(r)


def test_instances_keep_running_while_database_is_down(outage):
    assert outage["down"]["alive"] == [True, True]


# -- after the database is back --------------------------------------------------------------------

def test_service_resumes_within_10s_of_database_start_without_restarting_gatehouse(outage):
    assert outage["recovered"], f"not recovered {RECOVER}s after the database started"
    assert outage["alive_after"] == [True, True]


def test_user_registered_before_the_outage_logs_in_after_it(outage):
    for s in (outage["a"], outage["b"]):
        r = s.login(outage["user"], PW)
        assert r.status_code == 200, (s.name, r.status_code, r.text)


@pytest.mark.parametrize("which", ["early", "late"])
def test_revocation_acknowledged_before_the_outage_is_refused_after_it(outage, which):
    toks = outage[which]
    for s in (outage["a"], outage["b"]):
        # B may learn of the logout made right before the stop only once the database is back,
        # within the one-second bound.
        delay = time_until_refused(s, toks["access_token"], time.monotonic())
        assert delay is not None and delay < REVOCATION_BOUND, (s.name, delay)
        assert_token_error(s.me(toks["access_token"]), "Token has been revoked")


def test_session_logged_out_before_the_outage_cannot_refresh_after_it(outage):
    for s in (outage["a"], outage["b"]):
        assert_token_error(s.refresh(outage["early"]["refresh_token"]), "Token has been revoked")


@pytest.mark.parametrize("which", ["early", "late"])
def test_new_instance_after_the_outage_refuses_revocations_acknowledged_before_it(outage, which):
    c = outage["factory"](database=outage["db"], name="gatehouse(C)")
    assert_token_error(c.me(outage[which]["access_token"]), "Token has been revoked")


def test_revocation_on_a_is_refused_by_b_within_1s_after_database_restart(outage):
    a, b = outage["a"], outage["b"]
    _, reg = a.new_user("after", PW)
    assert b.me(reg["access_token"]).status_code == 200
    r = revoke(a, "logout/access", reg)
    t0 = time.monotonic()
    assert r.status_code == 200, r.text
    delay = time_until_refused(b, reg["access_token"], t0)
    assert delay is not None and delay < REVOCATION_BOUND, delay
