"""API.md §1/§4 "Other HTTP answers": 404, 405 + Allow, 413, 415, content type, keep-alive."""

import json

import pytest

from gatehouse_e2e import (
    JSON_CT,
    assert_json,
    assert_message,
    assert_tokens_pair,
    raw_http,
    uname,
)

PW = "correct horse"
LIMIT = 16384


@pytest.fixture(scope="module")
def srv(module_server):
    return module_server


def assert_json_message(r, status):
    got = assert_json(r, status)
    # API.md fixes no message text for these answers; the body is still {"message": str}
    assert set(got) == {"message"} and isinstance(got["message"], str), got


# -- 404 -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("method,path", [("GET", "/nope"), ("POST", "/nope"), ("GET", "/"),
                                         ("GET", "/registration/extra"), ("DELETE", "/x/y/z")])
def test_unknown_path_is_404_not_found(srv, method, path):
    assert_message(srv.request(method, path), 404, "Not found")


# -- 405 -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("method,path,allowed", [
    ("GET", "/registration", "POST"),
    ("PUT", "/registration", "POST"),
    ("GET", "/login", "POST"),
    ("DELETE", "/login", "POST"),
    ("GET", "/logout/access", "POST"),
    ("GET", "/logout/refresh", "POST"),
    ("GET", "/token/refresh", "POST"),
    ("POST", "/me", "GET"),
    ("DELETE", "/me", "GET"),
    ("POST", "/healthz", "GET"),
])
def test_wrong_method_on_known_path_is_405_with_allow(srv, method, path, allowed):
    r = srv.request(method, path)
    assert_json_message(r, 405)
    allow = {m.strip().upper() for m in r.headers.get("Allow", "").split(",") if m.strip()}
    assert allowed in allow, r.headers.get("Allow")
    assert method not in allow, r.headers.get("Allow")


# -- 413 -------------------------------------------------------------------------------------------

def json_body_of(size: int, username: str) -> bytes:
    base = {"username": username, "password": PW, "pad": ""}
    n = size - len(json.dumps(base).encode())
    base["pad"] = "x" * n
    raw = json.dumps(base).encode()
    assert len(raw) == size
    return raw


def test_json_body_of_16385_bytes_is_413(srv):
    r = srv.post("/registration", data=json_body_of(LIMIT + 1, uname("big")),
                 headers={"Content-Type": "application/json"})
    assert_json_message(r, 413)


def test_form_body_of_16385_bytes_is_413(srv):
    raw = f"username={uname('bigf')}&password=correct+horse&pad=".encode()
    raw += b"x" * (LIMIT + 1 - len(raw))
    assert len(raw) == LIMIT + 1
    r = srv.post("/login", data=raw, headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert_json_message(r, 413)


def test_json_body_of_16384_bytes_is_accepted(srv):
    u = uname("edge")
    r = srv.post("/registration", data=json_body_of(LIMIT, u),
                 headers={"Content-Type": "application/json"})
    assert_tokens_pair(r, f"User {u} was created")


# -- 415 -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/registration", "/login"])
@pytest.mark.parametrize("ctype", ["text/plain", "application/xml", "multipart/form-data; boundary=x"])
def test_unsupported_content_type_is_415(srv, path, ctype):
    body = f'{{"username": "{uname("ct")}", "password": "{PW}"}}'.encode()
    r = srv.post(path, data=body, headers={"Content-Type": ctype})
    assert_json_message(r, 415)


# -- content type of answers -----------------------------------------------------------------------

def test_success_and_error_answers_are_application_json_utf8(srv):
    u = uname("ctype")
    rs = [
        srv.register(u),                      # 200
        srv.register(u),                      # 409
        srv.login(u, "wrong password"),       # 401
        srv.post("/login", json={}),          # 400
        srv.get("/me"),                       # 401
        srv.get("/nope"),                     # 404
    ]
    assert [r.status_code for r in rs] == [200, 409, 401, 400, 401, 404]
    for r in rs:
        assert r.headers.get("Content-Type") == JSON_CT, (r.status_code, r.headers)


# -- HTTP/1.1 keep-alive ---------------------------------------------------------------------------

def req(method, path, body=b"", ctype=None, extra=""):
    head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    if ctype:
        head += f"Content-Type: {ctype}\r\n"
    if body or method == "POST":
        head += f"Content-Length: {len(body)}\r\n"
    return (head + extra + "\r\n").encode() + body


def test_keep_alive_serves_several_requests_on_one_connection(srv):
    u = uname("ka")
    reg_body = json.dumps({"username": u, "password": PW}).encode()
    answers = raw_http(srv.port, [
        req("GET", "/healthz"),
        req("POST", "/registration", reg_body, "application/json"),
        req("POST", "/login", json.dumps({"username": u, "password": "bad password"}).encode(),
            "application/json"),
        req("POST", "/login", b"{oops", "application/json"),
        req("GET", "/nope"),
        req("GET", "/registration"),
        req("POST", "/login", f"username={u}&password=correct+horse".encode(),
            "application/x-www-form-urlencoded"),
    ])
    statuses = [a[0] for a in answers]
    assert statuses == [200, 200, 401, 400, 404, 405, 200], answers
    assert json.loads(answers[1][2])["message"] == f"User {u} was created"
    assert json.loads(answers[2][2]) == {"message": "Wrong credentials"}
    assert json.loads(answers[3][2]) == {"message": "Malformed request body"}
    assert json.loads(answers[4][2]) == {"message": "Not found"}
    assert json.loads(answers[6][2])["message"] == f"Logged in as {u}"
    for _, headers, _ in answers:
        assert headers.get("connection", "").lower() != "close", headers


def test_keep_alive_with_requests_session(srv):
    import requests

    with requests.Session() as s:
        socks = set()
        for _ in range(5):
            r = s.get(srv.url("/healthz"), timeout=10, stream=True)
            assert r.status_code == 200
            socks.add(r.raw._connection.sock.getsockname()[1] if r.raw._connection else None)
            r.content  # release the connection to the pool
        assert len(socks) == 1, socks


def test_healthz_is_200(srv):
    assert srv.get("/healthz").status_code == 200
