"""Overload: a full password-hash queue answers 503 + Retry-After at once, while token-only
endpoints keep answering (API.md §4; settings hash_threads, hash_queue).

Run: /usr/bin/python3 -m pytest tests/e2e/test_abuse_overload.py -q
"""

from __future__ import annotations

import http.client
import json
import threading
import time

import pytest

import gatehouse_e2e as gh

PW = "correct horse"
FLOOD = 30


def one_call(port, method, path, body=None, headers=None, timeout=15):
    """(status, headers, body bytes, seconds) on a fresh connection."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.connect()
        t0 = time.monotonic()
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        data = r.read()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, data, time.monotonic() - t0
    finally:
        conn.close()


@pytest.fixture
def overloaded(server_factory):
    # hash_threads=False: the suite's default --hash-threads 2 is left out
    srv = server_factory(name="gatehouse(hash 1/2)", hash_threads=False,
                         args=["--hash-threads", "1", "--hash-queue", "2"])
    users = []
    for _ in range(3):
        u, body = srv.new_user("ovl", PW)
        users.append((u, body))
    return srv, users


def test_full_hash_queue_answers_503_fast_while_tokens_keep_working(overloaded):
    srv, users = overloaded
    me_token = users[0][1]["access_token"]
    refresh_token = users[1][1]["refresh_token"]
    port = srv.port

    # the flood: half registrations, half logins with the right password, on
    # connections opened beforehand and released together
    jobs = []
    for i in range(FLOOD):
        if i % 2:
            body = json.dumps({"username": gh.uname("flood"), "password": PW})
            jobs.append(("/registration", body))
        else:
            u = users[i % 3][0]
            jobs.append(("/login", json.dumps({"username": u, "password": PW})))
    results = [None] * FLOOD
    conns = [http.client.HTTPConnection("127.0.0.1", port, timeout=20) for _ in range(FLOOD)]
    for c in conns:
        c.connect()
    barrier = threading.Barrier(FLOOD + 1)

    def fire(i):
        path, body = jobs[i]
        c = conns[i]
        barrier.wait()
        t0 = time.monotonic()
        try:
            c.request("POST", path, body=body, headers={"Content-Type": "application/json"})
            r = c.getresponse()
            data = r.read()
            results[i] = (path, r.status, {k.lower(): v for k, v in r.getheaders()}, data,
                          time.monotonic() - t0)
        except Exception as e:  # recorded, asserted below
            results[i] = (path, None, {}, repr(e).encode(), time.monotonic() - t0)
        finally:
            c.close()

    threads = [threading.Thread(target=fire, args=(i,)) for i in range(FLOOD)]
    for t in threads:
        t.start()

    # meanwhile: token-only endpoints, timed
    probes = []
    barrier.wait()
    flood_start = time.monotonic()
    time.sleep(0.02)
    while True:
        st, _, data, dt = one_call(port, "GET", "/me", headers=gh.bearer(me_token))
        probes.append(("/me", st, dt, data))
        st, _, data, dt = one_call(port, "POST", "/token/refresh", headers=gh.bearer(refresh_token))
        probes.append(("/token/refresh", st, dt, data))
        if not any(t.is_alive() for t in threads) or time.monotonic() - flood_start > 20:
            break
    for t in threads:
        t.join(30)

    statuses = [r[1] for r in results]
    assert None not in statuses, [r for r in results if r[1] is None]
    busy = [r for r in results if r[1] == 503]
    assert busy, f"no 503 among {FLOOD} hash jobs with 1 hash thread and a queue of 2: {statuses}"
    # the others did their job
    for path, status, _, data, _ in results:
        assert status in (200, 503), (path, status, data[:300])
    # every 503: Retry-After in whole seconds >= 1, a JSON message, and fast
    for path, status, headers, data, dt in busy:
        ra = headers.get("retry-after")
        assert ra is not None and ra.isdigit() and int(ra) >= 1, (path, headers)
        assert headers.get("content-type") == gh.JSON_CT, headers
        body = json.loads(data)
        assert set(body) == {"message"} and isinstance(body["message"], str) and body["message"], body
        assert PW not in body["message"]
        assert dt < 0.5, f"a 503 for {path} took {dt:.2f}s"

    # token-only endpoints kept answering 200 promptly during the flood
    assert len(probes) >= 2
    for path, st, dt, data in probes:
        assert st == 200, (path, st, data[:300])
        assert dt < 0.2, f"{path} took {dt:.3f}s during the flood"


def test_after_the_flood_hash_jobs_work_again(overloaded):
    srv, users = overloaded
    port = srv.port
    out = [None] * FLOOD

    def fire(i):
        out[i] = one_call(port, "POST", "/login",
                          body=json.dumps({"username": users[0][0], "password": PW}),
                          headers={"Content-Type": "application/json"})[0]

    threads = [threading.Thread(target=fire, args=(i,)) for i in range(FLOOD)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert set(out) <= {200, 503}, out
    # once the queue drains, one job at a time is served normally
    deadline = time.monotonic() + 10
    while True:
        r = srv.login(users[0][0], PW)
        if r.status_code == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    gh.assert_tokens_pair(r, f"Logged in as {users[0][0]}")
    u = gh.uname("later")
    gh.assert_tokens_pair(srv.register(u, PW), f"User {u} was created")
