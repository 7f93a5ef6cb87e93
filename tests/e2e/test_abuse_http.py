"""Hostile HTTP framing: header and body limits, 404/405/415, pipelining, malformed framing,
random garbage. API.md §4 "Other HTTP answers", §7 limits.* settings.

Run: /usr/bin/python3 -m pytest tests/e2e/test_abuse_http.py -q
"""

from __future__ import annotations

import concurrent.futures
import json
import random
import socket
import time

import pytest

import gatehouse_e2e as gh
from abuse_support import (
    Reader,
    assert_message_json,
    connect,
    http_request,
    status_of,
    wait_closed,
)

PW = "correct horse"
BODY_LIMIT = 16384
HEADER_LIMIT = 8192


@pytest.fixture(scope="module")
def srv(module_server):
    return module_server


def send_and_read(port, data: bytes, timeout=5):
    """Send data on a new connection; return (first response, socket, reader)."""
    s = connect(port, timeout=timeout)
    s.sendall(data)
    rd = Reader(s)
    return rd.read_response(), s, rd


def assert_closed_after(s: socket.socket, rd: Reader, timeout=3):
    """Nothing more arrives and the server closes the connection."""
    how, data, _ = wait_closed(s, timeout)
    assert rd.buf + data == b"", f"unexpected bytes after the answer: {(rd.buf + data)[:200]!r}"
    assert how in ("eof", "reset"), f"connection still open {timeout}s after the answer"


def assert_serving(srv):
    r = srv.get("/healthz", timeout=2)
    assert r.status_code == 200, r.status_code


# -- 1. header block limit --------------------------------------------------------------

def test_header_block_over_8_kib_is_431_then_close(srv):
    req = http_request("GET", "/healthz", {"X-Big": "a" * (HEADER_LIMIT + 800)})
    resp, s, rd = send_and_read(srv.port, req)
    with s:
        assert resp.status == 431, resp
        assert_closed_after(s, rd)
    assert_serving(srv)


def test_many_small_headers_over_8_kib_is_431_then_close(srv):
    headers = {f"X-H{i:04d}": "v" * 20 for i in range(400)}  # ~12 KB in 400 short lines
    resp, s, rd = send_and_read(srv.port, http_request("GET", "/healthz", headers))
    with s:
        assert resp.status == 431, resp
        assert_closed_after(s, rd)


def test_header_block_well_under_8_kib_is_served(srv):
    # Choice: "header block" may or may not count the request line and final CRLF, so
    # this stays ~300 bytes under the limit.
    req = http_request("GET", "/healthz", {"X-Big": "a" * (HEADER_LIMIT - 400)})
    assert len(req) < HEADER_LIMIT - 250
    resp, s, rd = send_and_read(srv.port, req)
    s.close()
    assert resp.status == 200, resp


def test_huge_header_line_sent_in_pieces_is_431(srv):
    # The limit must hold when the block arrives in many small reads, too.
    s = connect(srv.port)
    with s:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ")
        try:
            for _ in range(40):
                s.sendall(b"b" * 512)
                time.sleep(0.005)
            s.sendall(b"\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer and close before the end: that's fine
        resp = Reader(s).read_response()
        assert resp.status == 431, resp


# -- 1. body limit ------------------------------------------------------------------------

def padded_json(total: int) -> bytes:
    base = {"username": gh.uname("big"), "password": PW, "pad": ""}
    raw = json.dumps(base, separators=(",", ":")).encode()
    body = json.dumps({**base, "pad": "x" * (total - len(raw))}, separators=(",", ":")).encode()
    assert len(body) == total
    return body


def test_json_body_of_16385_bytes_is_413_json(srv):
    body = padded_json(BODY_LIMIT + 1)
    r = srv.post("/login", data=body, headers={"Content-Type": "application/json"})
    assert_message_json(r, 413)


def test_json_body_of_16384_bytes_is_not_413(srv):
    body = padded_json(BODY_LIMIT)
    r = srv.post("/login", data=body, headers={"Content-Type": "application/json"})
    assert r.status_code != 413
    # an unknown user: the ordinary wrong-credentials answer (API.md §1)
    gh.assert_message(r, 401, "Wrong credentials")


def test_huge_content_length_is_413_without_waiting_for_the_body(srv):
    # Choice: a declared Content-Length over the limit is refused from the head alone;
    # the server must not wait (read_timeout, 10 s by default) for 1 TB to arrive.
    s = connect(srv.port, timeout=3)
    with s:
        s.sendall(http_request("POST", "/login", {"Content-Type": "application/json",
                                                  "Content-Length": str(10**12)}))
        t0 = time.monotonic()
        resp = Reader(s).read_response()
        assert resp.status == 413, resp
        assert time.monotonic() - t0 < 2
        assert resp.headers.get("content-type") == gh.JSON_CT, resp.headers


def test_chunked_body_over_the_limit_is_not_accepted(srv):
    # Choice: a server that takes chunked bodies must answer 413 once the decoded body
    # passes 16384 bytes; one that does not take them may answer 411 or 501. Never 2xx,
    # and never a hang.
    s = connect(srv.port, timeout=5)
    with s:
        s.sendall(http_request("POST", "/login", {"Content-Type": "application/json",
                                                  "Transfer-Encoding": "chunked"}))
        try:
            chunk = b"x" * 4096
            for _ in range(6):  # 24 KiB
                s.sendall(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
            s.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        resp = Reader(s).read_response()
        assert resp.status in (413, 411, 501), resp
    assert_serving(srv)


# -- 2. 415 / 404 / 405 ------------------------------------------------------------------

@pytest.mark.parametrize("ctype", ["text/plain", "application/xml", "application/octet-stream",
                                   "multipart/form-data; boundary=x"])
@pytest.mark.parametrize("path", ["/registration", "/login"])
def test_unsupported_content_type_with_body_is_415(srv, path, ctype):
    body = json.dumps({"username": gh.uname("ct"), "password": PW})
    r = srv.post(path, data=body, headers={"Content-Type": ctype})
    assert_message_json(r, 415)


@pytest.mark.parametrize("path", [
    "/nope",
    "/" + "a" * 4000,
    "/healthz%00",
    "/healthz/../../etc/passwd",
    "/%2e%2e/%2e%2e/etc/passwd",
    "/login;.css",
])
def test_unknown_path_is_404_not_found(srv, path):
    s = connect(srv.port)
    with s:
        s.sendall(http_request("GET", path))
        resp = Reader(s).read_response()
    assert resp.status == 404, resp
    assert resp.headers.get("content-type") == gh.JSON_CT
    assert resp.json() == {"message": "Not found"}


@pytest.mark.parametrize("method,path,allowed", [
    ("GET", "/login", "POST"),
    ("PUT", "/registration", "POST"),
    ("DELETE", "/healthz", "GET"),
    ("PATCH", "/me", "GET"),
])
def test_wrong_method_is_405_with_allow(srv, method, path, allowed):
    r = srv.request(method, path)
    assert_message_json(r, 405)
    allow = {m.strip().upper() for m in r.headers.get("Allow", "").split(",") if m.strip()}
    assert allowed in allow and method not in allow, r.headers.get("Allow")


# -- 6. pipelining ---------------------------------------------------------------------

def test_pipelined_requests_are_answered_in_order(srv):
    data = (http_request("GET", "/healthz") + http_request("GET", "/nope")
            + http_request("GET", "/healthz"))
    s = connect(srv.port)
    with s:
        s.sendall(data)  # all three in one write
        rd = Reader(s)
        statuses = [rd.read_response().status for _ in range(3)]
    assert statuses == [200, 404, 200]


def test_pipelined_post_bodies_are_not_mixed_up(srv):
    u = gh.uname("pipe")
    reg = json.dumps({"username": u, "password": PW}).encode()
    bad = json.dumps({"username": u, "password": "wrong password"}).encode()
    ct = {"Content-Type": "application/json"}
    data = (http_request("POST", "/registration", ct, reg)
            + http_request("POST", "/login", ct, bad)
            + http_request("POST", "/login", ct, reg))
    s = connect(srv.port, timeout=10)
    with s:
        s.sendall(data)
        rd = Reader(s)
        got = [rd.read_response() for _ in range(3)]
    assert [g.status for g in got] == [200, 401, 200], got
    assert got[0].json()["message"] == f"User {u} was created"
    assert got[1].json() == {"message": "Wrong credentials"}
    assert got[2].json()["message"] == f"Logged in as {u}"


# -- malformed framing (RFC 9112 §6) ----------------------------------------------------

@pytest.mark.parametrize("cl", [["5", "6"], ["abc"], ["-1"], ["1e3"], ["+5"], ["5, 6"],
                                ["99999999999999999999999999"]])
def test_bad_content_length_is_400_then_close(srv, cl):
    # RFC 9112 §6.3 (5): an invalid Content-Length is an unrecoverable error: 400, then close.
    # (A number past every limit may instead be 413; both are refusals, then close.)
    lines = ["POST /login HTTP/1.1", "Host: x", "Content-Type: application/json"]
    lines += [f"Content-Length: {v}" for v in cl]
    data = ("\r\n".join(lines) + "\r\n\r\n").encode() + b'{"a":"b"}'
    resp, s, rd = send_and_read(srv.port, data)
    with s:
        allowed = (400, 413) if cl == ["99999999999999999999999999"] else (400,)
        assert resp.status in allowed, resp
        rd.buf = b""  # whatever of our body the server did not read is not a second request
        how, _, _ = wait_closed(s, 3)
        assert how in ("eof", "reset"), "connection kept open after a bad Content-Length"
    assert_serving(srv)


def test_content_length_with_transfer_encoding_is_closed_after_the_answer(srv):
    # RFC 9112 §6.1: a server may reject it or use Transfer-Encoding alone, but must close
    # the connection afterwards (request smuggling).
    body = b'{"username":"a","password":"b"}'
    smuggled = http_request("GET", "/healthz")
    data = (b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\nTransfer-Encoding: chunked\r\n\r\n" % (len(body) + 5)
            + b"0\r\n\r\n" + smuggled)
    resp, s, rd = send_and_read(srv.port, data)
    with s:
        assert resp.status in (400, 401, 411, 501), resp
        how, more, _ = wait_closed(s, 3)
        assert status_of(rd.buf + more) is None, f"a smuggled request was answered: {rd.buf + more!r}"
        assert how in ("eof", "reset")


@pytest.mark.parametrize("te", ["gzip", "chunked, gzip", "identity", "chunked\x0b"])
def test_transfer_encoding_not_ending_in_chunked_is_refused_then_close(srv, te):
    # RFC 9112 §6.3 (4): 400 (or 501 for a coding not understood), then close.
    data = (b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: " + te.encode() + b"\r\n\r\n" + b'{"a":"b"}')
    resp, s, rd = send_and_read(srv.port, data)
    with s:
        assert resp.status in (400, 501), resp
        rd.buf = b""
        how, _, _ = wait_closed(s, 3)
        assert how in ("eof", "reset")


# -- 7. garbage ----------------------------------------------------------------------------

METHODS = [b"GET", b"POST", b"PUT", b"DELETE", b"HEAD", b"OPTIONS", b"PATCH", b"TRACE",
           b"CONNECT", b"PRI", b"get", b"G\x00T"]
PATHS = [b"/healthz", b"/login", b"/registration", b"/me", b"/token/refresh", b"*",
         b"http://x/login", b"/%", b"/\xff\xfe", b"", b"//" * 50]
BAD_CHUNKS = [b"zz\r\n", b"-1\r\n", b"fffffffffffffffffffffffff\r\nabc", b"5\r\nab\r\n",
              b"3\r\nabcdef\r\n0\r\n\r\n", b"4;ext=" + b"e" * 600 + b"\r\nabcd\r\n",
              b"0\r\nX-Trailer: " + b"t" * 900 + b"\r\n\r\n", b"\r\n\r\n", b"8000000000000000\r\n",
              b"1\r\na", b"0x10\r\n" + b"a" * 16 + b"\r\n0\r\n\r\n", b" 5\r\nabcde\r\n0\r\n\r\n"]


def garbage(rng: random.Random) -> bytes:
    n = rng.randint(1, 2000)
    kind = rng.randrange(8)
    if kind == 0:  # binary junk
        data = rng.randbytes(n)
    elif kind == 1:  # a method name, then junk
        data = rng.choice(METHODS) + b" " + rng.choice(PATHS) + b" " + rng.randbytes(n)
    elif kind == 2:  # a huge header line
        data = (b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-" + rng.choice([b"A", b"\xff", b":"]) * n
                + b"\r\n\r\n")
    elif kind == 3:  # bad chunked encoding
        data = (b"POST " + rng.choice([b"/login", b"/registration"]) + b" HTTP/1.1\r\nHost: x\r\n"
                b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                + rng.choice(BAD_CHUNKS) + rng.randbytes(rng.randrange(50)))
    elif kind == 4:  # a valid request with random bytes flipped
        body = json.dumps({"username": "g" * rng.randint(1, 80), "password": "x" * rng.randint(1, 80)}).encode()
        data = bytearray(b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                         b"Content-Length: %d\r\n\r\n" % len(body) + body)
        for _ in range(rng.randint(1, 8)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        data = bytes(data)
    elif kind == 5:  # odd lengths and versions
        cl = rng.choice([b"-1", b"18446744073709551616", b"1" * 40, b"0x10", b"", b"5 5", b"\xff"])
        ver = rng.choice([b"HTTP/1.1", b"HTTP/9.9", b"HTTP/1.1.1", b"HTTP/", b"HTTP/0.9", b"HTXP/1.1"])
        data = (b"POST /login " + ver + b"\r\nHost: x\r\nContent-Length: " + cl
                + b"\r\nContent-Type: application/json\r\n\r\n" + rng.randbytes(rng.randrange(100)))
    elif kind == 6:  # many headers, bare LFs, obs-fold, no colon
        sep = rng.choice([b"\r\n", b"\n", b"\r"])
        lines = [b"GET /healthz HTTP/1.1", b"Host: x"]
        for i in range(rng.randint(1, 300)):
            lines.append(rng.choice([b"X-%d: v" % i, b" folded", b"nocolon", b": empty", b"Bad Name: v",
                                     b"X\x00: v", b"Host: y"]))
        data = sep.join(lines) + sep + sep
    else:  # a truncated request: the server waits for the rest
        data = http_request("POST", "/registration", {"Content-Type": "application/json"},
                            b'{"username":"abc","password":"correct horse"}')
        data = data[: rng.randint(1, len(data) - 1)]
    if rng.random() < 0.5:
        data = data[:n]
    return data or b"\x00"


def throw(port: int, data: bytes) -> tuple[str, bytes]:
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=1)
    except OSError as e:
        return f"connect:{type(e).__name__}", b""
    try:
        s.settimeout(0.2)
        try:
            s.sendall(data)
        except OSError as e:
            return f"send:{type(e).__name__}", b""
        got = b""
        deadline = time.monotonic() + 0.2
        while time.monotonic() < deadline:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                return "timeout", got
            except OSError as e:
                return f"recv:{type(e).__name__}", got
            if not chunk:
                return "eof", got
            got += chunk
        return "timeout", got
    finally:
        s.close()


def test_2000_garbage_connections_leave_the_server_serving(server_factory):
    srv = server_factory(name="gatehouse(garbage)")
    rng = random.Random(20240601)
    payloads = [garbage(rng) for _ in range(2000)]
    t0 = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=24) as pool:
        results = list(pool.map(lambda d: throw(srv.port, d), payloads))
    elapsed = time.monotonic() - t0
    assert elapsed < 60, f"the garbage run took {elapsed:.1f}s"

    connect_failures = [r for r, _ in results if r.startswith("connect:")]
    assert not connect_failures, f"{len(connect_failures)} connects failed, e.g. {connect_failures[:5]}"
    statuses = [status_of(d) for _, d in results if d]
    assert 500 not in statuses, "a garbage request got 500"
    for _, d in results:
        low = d.lower()
        assert b"traceback" not in low and b"what():" not in low and b"std::" not in low, d[:300]

    assert srv.running(), f"gatehouse died:\n{srv.stderr_text()[-3000:]}"
    r = srv.get("/healthz", timeout=2)
    assert r.status_code == 200
    u = gh.uname("after")
    gh.assert_tokens_pair(srv.register(u, PW), f"User {u} was created")
    gh.assert_tokens_pair(srv.login(u, PW), f"Logged in as {u}")


# -- 8. hostile JSON and form bodies -----------------------------------------------------

def J(s: str | bytes) -> tuple[bytes, str]:
    return (s.encode() if isinstance(s, str) else s), "application/json"


def F(s: bytes) -> tuple[bytes, str]:
    return s, "application/x-www-form-urlencoded"


U = '"username":"hostile_user"'
P = '"password":"correct horse"'

BAD_BODIES = {
    # invalid UTF-8
    "utf8_ff_in_username": J(b'{"username":"ab\xff","password":"correct horse"}'),
    "utf8_ff_in_password": J(b'{"username":"hostile_user","password":"correct \xffhorse"}'),
    "utf8_overlong_slash": J(b'{"username":"a\xc0\xafb","password":"correct horse"}'),
    "utf8_encoded_surrogate": J(b'{"username":"hostile_user","password":"correct \xed\xa0\x80horse"}'),
    "utf8_truncated_sequence": J(b'{"username":"hostile_user","password":"correct horse\xe2\x82"}'),
    "utf8_outside_strings": J(b'{\xff"username":"hostile_user","password":"correct horse"}'),
    # NUL
    "raw_nul_in_username": J(b'{"username":"a\x00b","password":"correct horse"}'),
    "escaped_nul_in_username": J('{"username":"a\\u0000b",' + P + '}'),
    "escaped_nul_in_password": J('{' + U + ',"password":"correct\\u0000horse"}'),
    "nul_after_body": J(b'{"username":"hostile_user","password":"correct horse"}\x00'),
    # lone surrogate escapes (choice: not valid Unicode, so invalid text: 400)
    "lone_surrogate_escape_username": J('{"username":"a\\ud800b",' + P + '}'),
    "lone_low_surrogate_escape_password": J('{' + U + ',"password":"correct horse\\udc00"}'),
    # duplicate keys
    "duplicate_username": J('{"username":"a","username":"b",' + P + '}'),
    "duplicate_password": J('{' + U + ',"password":"correct horse","password":"other pass"}'),
    "duplicate_same_value": J('{' + U + ',' + U + ',' + P + '}'),
    "duplicate_by_escape": J('{' + U + ',"user\\u006eame":"other",' + P + '}'),
    # non-string values
    "username_number": J('{"username":123,' + P + '}'),
    "username_null": J('{"username":null,' + P + '}'),
    "username_true": J('{"username":true,' + P + '}'),
    "username_array": J('{"username":["a"],' + P + '}'),
    "username_object": J('{"username":{"a":"b"},' + P + '}'),
    "password_number": J('{' + U + ',"password":12345678901}'),
    "password_array": J('{' + U + ',"password":["correct horse"]}'),
    # not an object
    "body_array": J('[' + '{' + U + ',' + P + '}' + ']'),
    "body_string": J('"username=hostile_user"'),
    "body_number": J('42'),
    "body_null": J('null'),
    # deep nesting within 16 KiB
    "deep_arrays_closed_top_level": J('[' * 8000 + ']' * 8000),
    "deep_arrays_unclosed_10000": J('[' * 10000),
    "deep_arrays_in_username": J('{"username":' + '[' * 7000 + ']' * 7000 + ',' + P + '}'),
    "deep_objects_in_username": J('{"username":' + '{"a":' * 2600 + '1' + '}' * 2600 + ',' + P + '}'),
    "deep_unclosed_objects": J('{"a":' * 3200),
    # huge numbers
    "huge_exponent_username": J('{"username":1e999999,' + P + '}'),
    "huge_exponent_body": J('1e999999'),
    "negative_huge_exponent_password": J('{' + U + ',"password":-1e-999999}'),
    "400_digit_integer_username": J('{"username":' + '9' * 400 + ',' + P + '}'),
    "400_digit_negative_password": J('{' + U + ',"password":-' + '7' * 400 + '}'),
    # syntax
    "truncated": J('{' + U + ',"password":"corr'),
    "missing_comma": J('{' + U + ' ' + P + '}'),
    "trailing_comma": J('{' + U + ',' + P + ',}'),
    "single_quotes": J("{'username':'hostile_user','password':'correct horse'}"),
    "trailing_garbage": J('{' + U + ',' + P + '}x'),
    "two_documents": J('{' + U + ',' + P + '}{}'),
    "unterminated_long_string": J('{"username":"' + 'a' * 16000),
    "nan_value": J('{"username":NaN,' + P + '}'),
    "comment": J('{/*c*/' + U + ',' + P + '}'),
    # form bodies
    "form_ff": F(b"username=ab%FF&password=correct+horse"),
    "form_raw_ff": F(b"username=ab\xff&password=correct+horse"),
    "form_nul": F(b"username=a%00b&password=correct+horse"),
    "form_duplicate": F(b"username=a&username=b&password=correct+horse"),
    "form_bad_percent": F(b"username=ab%zz&password=correct+horse"),
    "form_truncated_percent": F(b"username=hostile_user&password=correct+horse%"),
}


@pytest.mark.parametrize("path", ["/registration", "/login"])
@pytest.mark.parametrize("case", list(BAD_BODIES))
def test_hostile_body_is_400_quickly(srv, path, case):
    body, ctype = BAD_BODIES[case]
    assert len(body) <= BODY_LIMIT, len(body)
    t0 = time.monotonic()
    r = srv.post(path, data=body, headers={"Content-Type": ctype}, timeout=5)
    elapsed = time.monotonic() - t0
    msg = assert_message_json(r, 400)
    assert "correct horse" not in msg and "correct+horse" not in msg, msg
    assert elapsed < 1.0, f"answered after {elapsed:.2f}s"
    assert_serving(srv)


def test_hostile_bodies_leave_the_server_serving(srv):
    assert srv.running()
    u = gh.uname("body")
    gh.assert_tokens_pair(srv.register(u, PW), f"User {u} was created")
    gh.assert_tokens_pair(srv.login(u, PW), f"Logged in as {u}")
