"""HTTP framing on the wire (API.md §8): the header limit counts the whole head, trailers count
with it and are never headers, chunk-size lines are bounded, Transfer-Encoding is a lone
`chunked` or refused, single fields are single, Host is required, Expect: 100-continue is
answered. After every attack the process is alive and serving.

Run: GATEHOUSE_BIN=build/dev/gatehouse python3 -m pytest tests/e2e/test_framing.py -q
"""

from __future__ import annotations

import socket
import subprocess
import time

import pytest

import gatehouse_e2e as gh
from abuse_support import Reader, connect, status_of, wait_closed

HEADER_LIMIT = 8192
SMUGGLED = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"


@pytest.fixture(scope="module")
def srv(module_server):
    return module_server


def exchange(port: int, data: bytes, timeout: float = 5):
    """Send data on a new connection; return (first response, socket, reader)."""
    s = connect(port, timeout=timeout)
    try:
        s.sendall(data)
    except (BrokenPipeError, ConnectionResetError):
        pass  # the server may answer and close before taking everything
    rd = Reader(s)
    return rd.read_response(), s, rd


def assert_alive(srv):
    assert srv.running(), f"gatehouse exited ({srv.proc.poll()})\n{srv.stderr_text()[-3000:]}"
    r = srv.get("/healthz", timeout=3)
    assert r.status_code == 200, r.status_code


def assert_answer_then_close(srv, data: bytes, status: int, message: str | None = None):
    """The first answer is `status` (JSON message), nothing after it is answered, then close."""
    resp, s, rd = exchange(srv.port, data)
    with s:
        assert resp.status == status, resp
        if message is not None:
            assert resp.json() == {"message": message}, resp
        how, more, _ = wait_closed(s, 4)
        assert status_of(rd.buf + more) is None, f"bytes after the answer: {(rd.buf + more)[:200]!r}"
        assert how in ("eof", "reset"), "connection left open after a refusal"
    assert_alive(srv)


def head_of(size: int, request_line: bytes = b"GET /healthz HTTP/1.1", extra: bytes = b"") -> bytes:
    """A head of exactly `size` bytes: request line, Host, `extra` lines, one padding field."""
    start = request_line + b"\r\nHost: x\r\n" + extra + b"X-Pad: "
    return start + b"a" * (size - len(start) - 4) + b"\r\n\r\n"


def chunked_get(trailer: bytes, path: bytes = b"/healthz", head_extra: bytes = b"") -> bytes:
    return (b"GET " + path + b" HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n" + head_extra
            + b"\r\n3\r\nabc\r\n0\r\n" + trailer + b"\r\n")


# -- the crash: a trailer field / header value over 64 KiB -------------------------------------

def test_trailer_field_of_65534_bytes_is_431_and_the_process_lives(srv):
    data = chunked_get(b"X-T: " + b"t" * 65534 + b"\r\n")
    resp, s, _ = exchange(srv.port, data)
    s.close()
    assert resp.status == 431, resp
    assert_alive(srv)


def test_header_value_over_64_kib_with_the_largest_limit_is_431(server_factory):
    srv = server_factory(name="gatehouse(header 65536)", args=["--limits-header-bytes", "65536"])
    resp, s, _ = exchange(srv.port, head_of(70000))
    s.close()
    assert resp.status == 431, resp
    assert_alive(srv)
    resp, s, _ = exchange(srv.port, head_of(65536))
    s.close()
    assert resp.status == 200, resp


@pytest.mark.parametrize("value", ["1023", "65537", "1048576"])
def test_header_limit_outside_1024_to_65536_refuses_the_start(tmp_path, value):
    argv = [gh.gatehouse_bin(), "serve", "--listen", f"127.0.0.1:{gh.free_port()}",
            "--data-dir", str(tmp_path / "d"), "--limits-header-bytes", value]
    p = subprocess.run(argv, env=gh.clean_env(), cwd=tmp_path, capture_output=True, timeout=15,
                       stdin=subprocess.DEVNULL)
    err = p.stderr.decode(errors="replace")
    assert p.returncode == 2, (p.returncode, err)
    assert "limits.header_bytes" in err, err


# -- the header limit counts the head as sent ----------------------------------------------------

@pytest.mark.parametrize("piece", [None, 700])
def test_head_of_exactly_the_limit_is_served_and_one_byte_more_is_431(srv, piece):
    for size, status in ((HEADER_LIMIT, 200), (HEADER_LIMIT + 1, 431)):
        data = head_of(size)
        assert len(data) == size
        s = connect(srv.port)
        with s:
            try:
                for i in range(0, len(data), piece or len(data)):
                    s.sendall(data[i:i + (piece or len(data))])
                    if piece:
                        time.sleep(0.002)
            except (BrokenPipeError, ConnectionResetError):
                pass
            assert Reader(s).read_response().status == status, (size, piece)
    assert_alive(srv)


def test_many_short_fields_over_the_limit_are_431(srv):
    extra = b"".join(b"X-H%04d: vv\r\n" % i for i in range(700))  # ~9.1 KB in short lines
    assert_answer_then_close(srv, head_of(len(extra) + 200, extra=extra), 431,
                             "Request header too large")


def test_long_request_line_counts_against_the_limit(srv):
    tail = b" HTTP/1.1\r\nHost: x\r\n\r\n"
    at = b"GET /healthz?" + b"q" * (HEADER_LIMIT - 13 - len(tail)) + tail
    assert len(at) == HEADER_LIMIT
    resp, s, _ = exchange(srv.port, at)
    s.close()
    assert resp.status == 200, resp
    over = b"GET /healthz?" + b"q" * (HEADER_LIMIT + 1 - 13 - len(tail)) + tail
    assert_answer_then_close(srv, over, 431)


# -- trailers ------------------------------------------------------------------------------------

def test_head_and_trailer_together_count_against_the_limit(srv):
    head_size = chunked_get(b"").index(b"\r\n\r\n") + 4
    room = HEADER_LIMIT - head_size
    fits = b"X-T: " + b"t" * (room - 7) + b"\r\n"
    resp, s, _ = exchange(srv.port, chunked_get(fits))
    s.close()
    assert resp.status == 200, resp
    over = b"X-T: " + b"t" * (room - 6) + b"\r\n"
    assert_answer_then_close(srv, chunked_get(over), 431, "Request header too large")


def test_authorization_in_a_trailer_does_not_authenticate(srv):
    _, tokens = srv.new_user("trailer")
    bearer = b"Authorization: Bearer " + tokens["access_token"].encode() + b"\r\n"
    resp, s, _ = exchange(srv.port, chunked_get(b"", path=b"/me", head_extra=bearer))
    s.close()
    assert resp.status == 200, resp  # the same token as a header field works
    resp, s, _ = exchange(srv.port, chunked_get(bearer, path=b"/me"))
    s.close()
    assert resp.status == 401, resp
    assert resp.json() == {"message": "Missing Authorization Header"}, resp


def test_content_type_in_a_trailer_counts_for_nothing(srv):
    body = b'{"username":"nobody-here","password":"correct horse"}'
    head = b"POST /login HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
    tail = b"%x\r\n" % len(body) + body + b"\r\n0\r\n"
    resp, s, _ = exchange(srv.port, head + b"Content-Type: application/json\r\n\r\n" + tail + b"\r\n")
    s.close()
    assert resp.status == 401, resp  # read as JSON: wrong credentials
    resp, s, _ = exchange(srv.port, head + b"\r\n" + tail + b"Content-Type: application/json\r\n\r\n")
    s.close()
    assert resp.status == 415, resp


def test_forwarded_for_in_a_trailer_does_not_pick_the_client(server_factory):
    srv = server_factory(name="gatehouse(proxy)",
                         args=["--trusted-proxies", "127.0.0.1", "--log-requests", "true"])
    for data in (chunked_get(b"", head_extra=b"X-Forwarded-For: 10.1.1.1\r\n"),
                 chunked_get(b"X-Forwarded-For: 10.2.2.2\r\n")):
        resp, s, _ = exchange(srv.port, data)
        s.close()
        assert resp.status == 200, resp
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and srv.stderr_text().count('"path":"/healthz"') < 3:
        time.sleep(0.05)
    log = srv.stderr_text()
    assert "10.1.1.1" in log, log[-2000:]  # control: the header field is believed
    assert "10.2.2.2" not in log, log[-2000:]


# -- chunk-size lines ----------------------------------------------------------------------------

def with_chunk_line(line: bytes) -> bytes:
    return (b"GET /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + line
            + b"\r\nabcd\r\n0\r\n\r\n")


def test_chunk_line_of_4096_bytes_is_served_and_4097_is_400(srv):
    at = b"4;e=" + b"x" * (4096 - 4)
    resp, s, _ = exchange(srv.port, with_chunk_line(at))
    s.close()
    assert resp.status == 200, resp
    assert_answer_then_close(srv, with_chunk_line(at + b"x"), 400, "Malformed request")


# -- 600 MB attempts: cut early, memory stays small ------------------------------------------------

def vm_kib(pid: int, key: str) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise AssertionError(f"{key} not in /proc/{pid}/status")


def flood(port: int, head: bytes, filler: bytes, total: int = 600 << 20) -> int:
    """Send head then `filler` repeatedly up to `total` bytes; return how much was taken."""
    s = connect(port, timeout=10)
    sent = 0
    with s:
        try:
            s.sendall(head)
            while sent < total:
                s.sendall(filler)
                sent += len(filler)
        except (BrokenPipeError, ConnectionResetError, socket.timeout):
            pass
    return sent


@pytest.mark.parametrize("kind", ["trailer", "extension"])
def test_600_mb_trailer_or_extension_is_cut_early_and_memory_stays_small(server_factory, kind):
    srv = server_factory(name=f"gatehouse(flood {kind})")
    pid = srv.proc.pid
    peak_before = vm_kib(pid, "VmHWM")
    head = b"POST /login HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    if kind == "trailer":
        head += b"0\r\n"
        filler = b"X-T: " + b"t" * (1 << 20) + b"\r\n"  # endless trailer lines
    else:
        head += b"4;e="
        filler = b"x" * (1 << 20)  # one endless chunk-size line
    sent = flood(srv.port, head, filler)
    assert sent < 64 << 20, f"{sent} bytes taken before the connection was cut"
    assert_alive(srv)
    grown = vm_kib(pid, "VmHWM") - peak_before
    assert grown < 32 << 10, f"peak RSS grew by {grown} KiB"


# -- Transfer-Encoding ---------------------------------------------------------------------------

@pytest.mark.parametrize("te_lines,status", [
    (b"Transfer-Encoding: gzip\r\n", 501),
    (b"Transfer-Encoding: xchunked\r\n", 501),
    (b"Transfer-Encoding: gzip, chunked\r\n", 501),
    (b"Transfer-Encoding: chunked, gzip\r\n", 400),
    (b"Transfer-Encoding: chunked, chunked\r\n", 400),
    (b"Transfer-Encoding: chunked;x=1\r\n", 400),
    (b"Transfer-Encoding: gzip,\r\n chunked\r\n", 400),  # obs-fold
    (b"Transfer-Encoding:\r\n\tchunked\r\n", 400),
    (b"Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n", 501),
    (b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n", 400),
])
def test_transfer_encoding_other_than_chunked_is_refused_and_nothing_after_it_answered(
        srv, te_lines, status):
    # The body is a request of its own: read as framed by a proxy that ignored the coding, it
    # would be answered (a desync). It must not be.
    data = (b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" + te_lines
            + b"\r\n" + SMUGGLED)
    assert_answer_then_close(srv, data, status)


def test_transfer_encoding_in_http_1_0_is_400(srv):
    data = b"POST /login HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + SMUGGLED
    assert_answer_then_close(srv, data, 400)


def test_chunked_is_still_served(srv):
    resp, s, _ = exchange(srv.port, chunked_get(b""))
    s.close()
    assert resp.status == 200, resp


# -- single fields, Host -------------------------------------------------------------------------

@pytest.mark.parametrize("lines", [
    b"Host: x\r\nHost: y\r\n",
    b"Host: x\r\nContent-Length: 2\r\nContent-Length: 2\r\n",
    b"Host: x\r\nContent-Type: application/json\r\nContent-Type: application/json\r\n",
    b"Host: x\r\nAuthorization: Bearer a\r\nauthorization: Bearer b\r\n",
])
def test_repeated_single_field_is_400_malformed(srv, lines):
    if b"Content-Length" not in lines:
        lines += b"Content-Length: 2\r\n"
    data = b"POST /login HTTP/1.1\r\n" + lines + b"\r\n{}"
    assert_answer_then_close(srv, data + SMUGGLED, 400, "Malformed request")


def test_http_1_1_without_host_is_400_and_1_0_is_served(srv):
    assert_answer_then_close(srv, b"GET /healthz HTTP/1.1\r\n\r\n", 400, "Malformed request")
    resp, s, _ = exchange(srv.port, b"GET /healthz HTTP/1.0\r\n\r\n")
    s.close()
    assert resp.status == 200, resp


# -- Expect: 100-continue --------------------------------------------------------------------------

def test_expect_100_continue_is_answered_before_the_body(srv):
    body = b'{"username":"nobody-at-all","password":"correct horse"}'
    s = connect(srv.port)
    with s:
        s.sendall(b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Expect: 100-continue\r\nContent-Length: %d\r\n\r\n" % len(body))
        rd = Reader(s)
        first = rd.read_response()
        assert first.status == 100, first
        assert first.raw_head == b"HTTP/1.1 100 Continue", first.raw_head
        s.sendall(body)
        final = rd.read_response()
        assert final.status == 401, final
        assert final.json() == {"message": "Wrong credentials"}


def test_expect_100_continue_with_a_body_over_the_limit_is_413_without_100(srv):
    s = connect(srv.port)
    with s:
        s.sendall(b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Expect: 100-continue\r\nContent-Length: 16385\r\n\r\n")
        resp = Reader(s).read_response()
        assert resp.status == 413, resp


def test_unknown_expectation_is_417(srv):
    data = (b"POST /login HTTP/1.1\r\nHost: x\r\nExpect: something-else\r\n"
            b"Content-Length: 2\r\n\r\n{}")
    assert_answer_then_close(srv, data, 417, "Expectation failed")
