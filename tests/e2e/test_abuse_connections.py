"""Slow clients, idle connections and the connection cap (API.md §7 limits.read_timeout,
limits.idle_timeout, limits.max_connections).

Run: /usr/bin/python3 -m pytest tests/e2e/test_abuse_connections.py -q
"""

from __future__ import annotations

import time

import pytest
import requests

from abuse_support import Reader, connect, http_request, status_of, wait_closed

READ_TIMEOUT = 2.0
SLACK = 3.0  # "dropped by ~5 s" for a 2 s read_timeout


@pytest.fixture(scope="module")
def slow_srv(tmp_path_factory):
    import gatehouse_e2e as gh

    f = gh.Factory(tmp_path_factory.mktemp("slow"))
    srv = f(name="gatehouse(read-timeout 2s)",
            args=["--limits-read-timeout", "2s", "--limits-idle-timeout", "2s"])
    yield srv
    f.close()


def assert_dropped(sock, started: float, what: str, limit=READ_TIMEOUT + SLACK, earliest=1.5):
    """The server closes sock within limit seconds of started, with at most a 408 answer."""
    how, data, _ = wait_closed(sock, max(0.1, started + limit + 0.5 - time.monotonic()))
    elapsed = time.monotonic() - started
    assert how in ("eof", "reset"), f"{what}: still open after {elapsed:.1f}s"
    assert elapsed <= limit, f"{what}: dropped only after {elapsed:.1f}s"
    # Choice: closing at once would break honest slow clients; the timeout is 2 s.
    assert elapsed >= earliest, f"{what}: dropped after only {elapsed:.2f}s"
    # Choice: the server may say 408 before closing, nothing else.
    assert data == b"" or status_of(data) == 408, f"{what}: unexpected answer {data[:200]!r}"


def timed_get(url, timeout=2.0) -> float:
    t0 = time.monotonic()
    r = requests.get(url, timeout=timeout)
    dt = time.monotonic() - t0
    assert r.status_code == 200, r.status_code
    return dt


# -- 3. slow clients -------------------------------------------------------------------

def test_stalled_request_head_does_not_block_others_and_is_dropped(slow_srv):
    s = connect(slow_srv.port, timeout=10)
    with s:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # half a head, then nothing
        t0 = time.monotonic()
        times = [timed_get(slow_srv.url("/healthz")) for _ in range(50)]
        assert max(times) < 1.0, f"slowest request during the stall took {max(times):.2f}s"
        assert time.monotonic() - t0 < READ_TIMEOUT, "the 50 requests did not fit in the stall"
        assert_dropped(s, t0, "stalled head")


def test_fifty_stalled_heads_do_not_block_others_and_are_all_dropped(slow_srv):
    socks = [connect(slow_srv.port, timeout=10) for _ in range(50)]
    try:
        for s in socks:
            s.sendall(b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Ty")
        t0 = time.monotonic()
        times = [timed_get(slow_srv.url("/healthz")) for _ in range(50)]
        assert max(times) < 1.0, f"slowest request during the stall took {max(times):.2f}s"
        for i, s in enumerate(socks):
            assert_dropped(s, t0, f"stalled head #{i}")
    finally:
        for s in socks:
            s.close()


def test_dripping_request_head_is_dropped_within_read_timeout(slow_srv):
    # Choice: read_timeout bounds the whole request ("time to receive a whole request once
    # it has begun"), so a slowloris that sends a byte every 0.25 s is still dropped.
    head = b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"X-Slow: " + b"s" * 200
    s = connect(slow_srv.port, timeout=10)
    with s:
        t0 = time.monotonic()
        closed = False
        for b in head:
            try:
                s.sendall(bytes([b]))
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
            how, data, _ = wait_closed(s, 0.25)
            if how != "timeout":
                closed = True
                assert data == b"" or status_of(data) == 408, data[:200]
                break
            if time.monotonic() - t0 > READ_TIMEOUT + SLACK + 1:
                break
        elapsed = time.monotonic() - t0
        assert closed, f"a dripping client was kept for {elapsed:.1f}s"
        assert elapsed <= READ_TIMEOUT + SLACK, f"dropped only after {elapsed:.1f}s"


def test_stalled_body_is_dropped(slow_srv):
    s = connect(slow_srv.port, timeout=10)
    with s:
        s.sendall(http_request("POST", "/login", {"Content-Type": "application/json",
                                                  "Content-Length": "100"}) + b'{"username"')
        t0 = time.monotonic()
        assert timed_get(slow_srv.url("/healthz")) < 1.0
        assert_dropped(s, t0, "stalled body")


# -- 4. idle keep-alive -------------------------------------------------------------------

def test_idle_keep_alive_connection_is_closed_after_idle_timeout(slow_srv):
    s = connect(slow_srv.port, timeout=10)
    with s:
        s.sendall(http_request("GET", "/healthz"))
        resp = Reader(s).read_response()
        assert resp.status == 200
        assert "close" not in resp.headers.get("connection", "").lower(), resp.headers
        t0 = time.monotonic()
        how, data, _ = wait_closed(s, 6)
        elapsed = time.monotonic() - t0
        assert how in ("eof", "reset"), "idle connection still open after 6 s (idle_timeout 2s)"
        assert data == b"", data[:200]
        assert 1.5 <= elapsed <= 4.0, f"closed after {elapsed:.2f}s, idle_timeout is 2s"


def test_active_keep_alive_connection_is_not_cut(slow_srv):
    # Requests every 1.2 s (< idle_timeout 2s) on one connection for ~5 s: all answered.
    s = connect(slow_srv.port, timeout=10)
    with s:
        rd = Reader(s)
        for i in range(5):
            s.sendall(http_request("GET", "/healthz"))
            assert rd.read_response().status == 200, f"request {i}"
            time.sleep(1.2)
        s.sendall(http_request("GET", "/healthz"))
        assert rd.read_response().status == 200


def test_silent_new_connection_is_closed(slow_srv):
    # Choice: a connection that never sends a byte is closed by read_timeout or
    # idle_timeout (both 2s here), whichever the server applies.
    s = connect(slow_srv.port, timeout=10)
    with s:
        t0 = time.monotonic()
        how, data, _ = wait_closed(s, 6)
        elapsed = time.monotonic() - t0
        assert how in ("eof", "reset"), "a silent connection is still open after 6 s"
        assert data == b"" or status_of(data) == 408, data[:200]
        assert elapsed <= 2.0 + SLACK


# -- 5. connection cap ------------------------------------------------------------------

def test_connection_cap_refuses_the_21st_and_recovers(server_factory):
    srv = server_factory(name="gatehouse(max 20)", args=["--limits-max-connections", "20"])
    time.sleep(0.5)  # the readiness probe's connection is gone
    keep = connect(srv.port, timeout=5)
    keep_rd = Reader(keep)
    keep.sendall(http_request("GET", "/healthz"))
    assert keep_rd.read_response().status == 200
    idle = [connect(srv.port, timeout=5) for _ in range(19)]  # 20 open with `keep`
    extra = None
    try:
        time.sleep(0.5)
        # the 21st: refused or closed without an HTTP answer
        try:
            extra = connect(srv.port, timeout=3)
        except ConnectionRefusedError:
            extra = None
        if extra is not None:
            try:
                extra.sendall(http_request("GET", "/healthz"))
            except (BrokenPipeError, ConnectionResetError):
                pass
            how, data, _ = wait_closed(extra, 3)
            assert status_of(data) is None, f"the 21st connection got an HTTP answer: {data[:200]!r}"
            assert how in ("eof", "reset"), "the 21st connection was neither refused nor closed"

        # the open keep-alive connection is still served
        for _ in range(3):
            keep.sendall(http_request("GET", "/healthz"))
            assert keep_rd.read_response().status == 200

        for s in idle[:5]:
            s.close()
        deadline = time.monotonic() + 3
        while True:
            try:
                r = requests.get(srv.url("/healthz"), timeout=1)
                assert r.status_code == 200
                break
            except (requests.ConnectionError, requests.Timeout):
                assert time.monotonic() < deadline, "no new connection served after closing 5"
                time.sleep(0.1)
        # and several new ones, one after the other
        for _ in range(5):
            assert requests.get(srv.url("/healthz"), timeout=2).status_code == 200
    finally:
        keep.close()
        for s in idle:
            s.close()
        if extra is not None:
            extra.close()
