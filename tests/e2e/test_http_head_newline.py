"""Issue 15 item 10: HEAD is served wherever GET is (RFC 9110 §9.3.2: GET's status and headers,
no body), and every JSON answer ends with a newline as Flask's jsonify writes it."""

import socket

import pytest

from gatehouse_e2e import JSON_CT, bearer

GET_PATHS = ["/healthz", "/readyz", "/.well-known/jwks.json", "/metrics"]


@pytest.fixture(scope="module")
def srv(module_server):
    return module_server


def read_head(s: socket.socket, buf: bytes) -> tuple[bytes, bytes]:
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(65536)
        assert chunk, f"closed before an answer; got {buf!r}"
        buf += chunk
    head, rest = buf.split(b"\r\n\r\n", 1)
    return head, rest


def headers_of(head: bytes) -> tuple[int, dict]:
    lines = head.decode("latin-1").split("\r\n")
    fields = {}
    for line in lines[1:]:
        name, value = line.split(":", 1)
        fields[name.strip().lower()] = value.strip()
    return int(lines[0].split()[1]), fields


def head_then_get(port: int, path: str, extra: str = "") -> tuple[tuple[int, dict], bytes]:
    """HEAD then GET on one connection: the GET's status line must follow the HEAD's headers
    directly, which also proves that no body was sent for the HEAD."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(f"HEAD {path} HTTP/1.1\r\nHost: x\r\n{extra}\r\n"
                  f"GET {path} HTTP/1.1\r\nHost: x\r\n{extra}\r\n".encode())
        head, rest = read_head(s, b"")
        while len(rest) < 9:
            rest += s.recv(65536)
        return headers_of(head), rest


@pytest.mark.parametrize("path", GET_PATHS)
def test_head_answers_like_get_without_a_body(srv, path):
    (status, fields), rest = head_then_get(srv.port, path)
    got = srv.get(path)
    assert status == got.status_code == 200
    assert rest.startswith(b"HTTP/1.1 200"), rest[:80]
    assert fields["content-type"] == got.headers["Content-Type"]
    if path != "/metrics":  # the metrics text grows between the two requests
        assert int(fields["content-length"]) == len(got.content)
    assert fields.get("cache-control") == got.headers.get("Cache-Control")


def test_head_of_a_protected_get_checks_the_token(srv):
    _, tokens = srv.new_user("head")
    (status, fields), rest = head_then_get(srv.port, "/me",
                                           f"Authorization: Bearer {tokens['access_token']}\r\n")
    assert status == 200 and rest.startswith(b"HTTP/1.1 200")
    assert int(fields["content-length"]) == len(srv.me(tokens["access_token"]).content)
    (status, fields), _ = head_then_get(srv.port, "/me")
    assert status == 401 and fields["www-authenticate"].startswith("Bearer")


def test_head_of_a_post_route_is_405_and_get_routes_allow_head(srv):
    r = srv.request("HEAD", "/login")
    assert r.status_code == 405 and r.content == b""
    assert r.headers["Allow"] == "POST"
    r = srv.post("/me")
    assert {m.strip() for m in r.headers["Allow"].split(",")} == {"GET", "HEAD"}


@pytest.mark.parametrize("method,path", [("GET", "/healthz"), ("GET", "/nope"),
                                         ("POST", "/login"), ("GET", "/.well-known/jwks.json")])
def test_json_answers_end_with_a_newline(srv, method, path):
    r = srv.request(method, path, data={"username": "nobody-here", "password": "x" * 9})
    assert r.headers["Content-Type"] == JSON_CT
    assert r.content.endswith(b"}\n"), r.content
    assert r.content.count(b"\n") == 1
    assert int(r.headers["Content-Length"]) == len(r.content)


def test_token_answers_end_with_a_newline(srv):
    user, tokens = srv.new_user("nl")
    r = srv.login(user)
    assert r.content.endswith(b"}\n")
    r = srv.me(tokens["access_token"])
    assert r.content.endswith(b"}\n")
    r = srv.post("/logout/access", headers=bearer(tokens["access_token"]))
    assert r.content == b'{"message":"Access token has been revoked"}\n'
