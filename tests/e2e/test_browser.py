"""API.md §11 in a real browser: headless Chromium loads docs/browser.md's page from another
origin of the same site (another port on localhost, served by http.server) and registers, logs
in, reads /me, refreshes, logs out with fetch(..., {credentials: "include"}); the same page on
an unlisted origin is refused. Also: the real Flask-JWT-Extended in cookie mode and gatehouse
accept each other's cookies, and CSRF refusals."""

from __future__ import annotations

import functools
import http.server
import json
import os
import re
import shutil
import subprocess
import threading
import time
from http.cookies import SimpleCookie
from pathlib import Path

import pytest
import requests
from flask import Flask, jsonify
from flask_jwt_extended import (JWTManager, create_access_token, create_refresh_token,
                                get_jwt_identity, jwt_required, set_access_cookies,
                                set_refresh_cookies)

from gatehouse_e2e import free_port

DOC = Path(__file__).resolve().parents[2] / "docs" / "browser.md"
PW = "correct horse battery"


def doc_page() -> str:
    """The ```html block of docs/browser.md: the test runs the documented page, not a copy."""
    blocks = re.findall(r"```html\n(.*?)```", DOC.read_text(), re.S)
    assert len(blocks) == 1, "docs/browser.md must hold exactly one html example"
    return blocks[0]


@pytest.fixture
def page_origin(tmp_path):
    """docs/browser.md's page served by http.server on its own port: http://localhost:<port>."""
    (tmp_path / "index.html").write_text(doc_page())
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    handler.log_message = lambda *a: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://localhost:{httpd.server_address[1]}"
    httpd.shutdown()


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    assert path, "chromium is not installed: scripts/install-deps test installs it"
    return path


def run_page(url: str, profile: Path) -> list:
    """Loads `url` in headless Chromium and returns what the page wrote into #result."""
    argv = [chromium(), "--headless", "--disable-gpu", f"--user-data-dir={profile}",
            "--no-first-run", "--virtual-time-budget=20000", "--dump-dom", url]
    if os.geteuid() == 0:
        # Chromium refuses to start as root with its sandbox on; CI runs the suite as root.
        argv.insert(1, "--no-sandbox")
    out = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    found = re.search(r'<pre id="result">(.*?)</pre>', out.stdout, re.S)
    assert found, f"no result in the page; chromium stderr:\n{out.stderr[-3000:]}"
    text = found.group(1).replace("&quot;", '"').replace("&amp;", "&")
    assert text != "running", f"the page did not finish; stderr:\n{out.stderr[-3000:]}"
    return json.loads(text)


def cookie_server(server_factory, origins: str, *extra: str):
    # cookies.secure stays true (the default): Chromium treats http://localhost as a secure
    # context and keeps Secure cookies from it.
    return server_factory(args=["--tokens-location", "cookies", "--cors-allowed-origins", origins,
                                *extra])


def test_page_on_a_listed_origin_runs_the_whole_session(server_factory, page_origin, tmp_path):
    srv = cookie_server(server_factory, page_origin)
    steps = run_page(f"{page_origin}/index.html?api=http://localhost:{srv.port}", tmp_path / "p")
    assert [s.get("status") for s in steps] == [200, 200, 200, 200, 200, 200, 401], steps
    assert steps[0]["body"]["message"].endswith("was created")
    assert "access_token" not in steps[0]["body"]  # cookies alone: no token in JSON
    assert steps[2]["body"]["username"] == steps[4]["body"]["username"]
    assert steps[3]["body"] == {"message": "Token refreshed"}
    assert steps[5]["body"] == {"message": "Refresh token has been revoked"}
    # logout/refresh cleared the cookies: the browser no longer sends any
    assert steps[6]["body"] == {"message": 'Missing cookie "access_token_cookie"'}


def test_page_on_an_unlisted_origin_is_refused_by_the_browser(server_factory, page_origin,
                                                              tmp_path):
    srv = cookie_server(server_factory, "http://localhost:1")
    steps = run_page(f"{page_origin}/index.html?api=http://localhost:{srv.port}", tmp_path / "p")
    assert len(steps) == 1 and "Failed to fetch" in steps[0]["error"], steps


# -- CSRF, over real HTTP -------------------------------------------------------------------

def registered(srv) -> requests.Session:
    s = requests.Session()
    r = s.post(srv.url("/registration"), json={"username": f"c{free_port()}", "password": PW})
    assert r.status_code == 200, r.text
    return s


def cookie_header(s: requests.Session) -> str:
    return "; ".join(f"{c.name}={c.value}" for c in s.cookies)


def test_cross_site_form_post_and_fetch_without_header_are_refused(server_factory):
    srv = cookie_server(server_factory, "http://localhost:1", "--cookies-secure", "false")
    s = registered(srv)
    jar = cookie_header(s)
    # what a form on another site makes the browser send: the cookies, a form body, no header
    r = requests.post(srv.url("/logout/refresh"), data={"a": "b"},
                      headers={"Cookie": jar, "Origin": "http://evil.example"})
    assert r.status_code == 401 and r.json() == {"message": "Missing CSRF token"}
    assert "Set-Cookie" not in r.headers  # a CSRF refusal clears nothing
    r = requests.post(srv.url("/logout/all"), headers={"Cookie": jar})
    assert r.status_code == 401 and r.json() == {"message": "Missing CSRF token"}
    r = requests.post(srv.url("/logout/all"), headers={"Cookie": jar, "X-CSRF-TOKEN": "nope"})
    assert r.json() == {"message": "CSRF double submit tokens do not match"}
    assert requests.get(srv.url("/me"), headers={"Cookie": jar}).status_code == 200


def test_cookie_attributes_are_those_of_section_11(server_factory):
    srv = cookie_server(server_factory, "http://localhost:1", "--cookies-domain", "localhost",
                        "--cookies-max-age", "1h", "--cookies-samesite", "Strict")
    r = requests.post(srv.url("/registration"), json={"username": f"a{free_port()}",
                                                      "password": PW})
    lines = r.raw.headers.getlist("Set-Cookie")
    names = [line.split("=", 1)[0] for line in lines]
    assert names == ["access_token_cookie", "csrf_access_token", "refresh_token_cookie",
                     "csrf_refresh_token"]
    for line in lines:
        attrs = line.split("; ")[1:]
        http_only = ["HttpOnly"] if line.split("=")[0].endswith("_cookie") else []
        assert attrs == ["Path=/", "Domain=localhost", "Max-Age=3600", "Secure", *http_only,
                         "SameSite=Strict"], line


# -- the real Flask-JWT-Extended in cookie mode ---------------------------------------------

def flask_cookie_app(secret: str) -> Flask:
    app = Flask("cookie_mode")
    app.config.update(JWT_SECRET_KEY=secret, JWT_TOKEN_LOCATION=["cookies"],
                      JWT_COOKIE_CSRF_PROTECT=True)
    JWTManager(app)

    @app.route("/protected", methods=["GET", "POST"])
    @jwt_required()
    def protected():
        return jsonify(identity=get_jwt_identity())

    @app.post("/mint/<name>")
    def mint(name):
        response = jsonify(ok=True)
        set_access_cookies(response, create_access_token(identity=name))
        set_refresh_cookies(response, create_refresh_token(identity=name))
        return response

    return app


def test_flask_in_cookie_mode_accepts_gatehouse_cookies(server_factory):
    srv = cookie_server(server_factory, "http://localhost:1")
    s = registered(srv)
    client = flask_cookie_app(srv.secret).test_client(use_cookies=False)
    jar = {"Cookie": cookie_header(s)}
    r = client.get("/protected", headers=jar)
    assert r.status_code == 200, r.get_data(as_text=True)
    r = client.post("/protected", headers=jar)
    assert r.status_code == 401  # Flask's own CSRF check: no header
    r = client.post("/protected",
                    headers={**jar, "X-CSRF-TOKEN": s.cookies["csrf_access_token"]})
    assert r.status_code == 200, r.get_data(as_text=True)


def test_gatehouse_accepts_cookies_set_by_flask(server_factory):
    srv = cookie_server(server_factory, "http://localhost:1")
    name = f"f{free_port()}"
    assert srv.post("/registration", json={"username": name, "password": PW}).status_code == 200
    minted = flask_cookie_app(srv.secret).test_client().post(f"/mint/{name}")
    cookies = SimpleCookie()
    for line in minted.headers.getlist("Set-Cookie"):
        cookies.load(line)
    jar = "; ".join(f"{k}={m.value}" for k, m in cookies.items())
    r = requests.get(srv.url("/me"), headers={"Cookie": jar})
    assert r.status_code == 200 and r.json()["username"] == name, r.text
    r = requests.post(srv.url("/token/refresh"),
                      headers={"Cookie": jar, "X-CSRF-TOKEN": cookies["csrf_refresh_token"].value})
    assert r.status_code == 200 and r.json() == {"message": "Token refreshed"}, r.text


# -- CORS headers and cookie clearing, over real HTTP ---------------------------------------

APP = "http://localhost:3000"


def test_cors_headers_on_every_answer_to_a_listed_origin(server_factory):
    srv = cookie_server(server_factory, f"{APP}, https://other.example")
    for method, path, status in [("GET", "/nope", 404), ("GET", "/me", 401),
                                 ("GET", "/login", 405), ("GET", "/healthz", 200)]:
        r = requests.request(method, srv.url(path), headers={"Origin": APP})
        assert r.status_code == status
        assert r.headers["Access-Control-Allow-Origin"] == APP
        assert r.headers["Access-Control-Allow-Credentials"] == "true"
        assert r.headers["Access-Control-Expose-Headers"] == "WWW-Authenticate, Retry-After"
        assert r.headers["Vary"] == "Origin"
    r = requests.get(srv.url("/healthz"), headers={"Origin": "http://evil.example"})
    assert r.headers["Vary"] == "Origin" and "Access-Control-Allow-Origin" not in r.headers
    r = requests.get(srv.url("/healthz"))
    assert r.headers["Vary"] == "Origin"


def test_preflight_per_path_and_403_for_an_unlisted_origin(server_factory):
    srv = cookie_server(server_factory, APP)
    pre = {"Origin": APP, "Access-Control-Request-Method": "POST"}
    # HEAD is one of /me's methods wherever GET is (docs/api.md)
    for path, methods in [("/me", "GET, HEAD, OPTIONS"), ("/token/refresh", "POST, OPTIONS")]:
        r = requests.options(srv.url(path), headers=pre)
        assert r.status_code == 204 and r.content == b""
        assert r.headers["Access-Control-Allow-Methods"] == methods
        assert r.headers["Access-Control-Allow-Headers"] == \
            "Authorization, Content-Type, X-CSRF-TOKEN"
        assert r.headers["Access-Control-Max-Age"] == "600"
        assert r.headers["Access-Control-Allow-Origin"] == APP
    r = requests.options(srv.url("/me"), headers={**pre, "Origin": APP + "/"})
    assert r.status_code == 403 and r.json() == {"message": "Origin not allowed"}
    assert not [h for h in r.headers if h.lower().startswith("access-control-")]


def transport_refusals(origin: str) -> list:
    """Requests the transport refuses from the head, before any route: (status, bytes)."""
    o = f"Origin: {origin}\r\n".encode()
    return [
        (400, b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + o +
         b"Content-Length: 1\r\nContent-Length: 1\r\n\r\nx"),
        (413, b"POST /login HTTP/1.1\r\nHost: x\r\n" + o +
         b"Content-Type: application/json\r\nContent-Length: 999999999\r\n\r\n"),
        (431, b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + o +
         b"X-Filler: " + b"f" * 70000 + b"\r\n\r\n"),
        (501, b"POST /login HTTP/1.1\r\nHost: x\r\n" + o +
         b"Transfer-Encoding: gzip, chunked\r\n\r\n"),
    ]


def test_transport_refusals_carry_the_cors_headers_of_routed_answers(server_factory):
    # Attacker round (issue 17, F4): 400/413/431/501 made before routing had no CORS headers
    # and no Vary: Origin, so a page could not read why its request failed.
    import gatehouse_e2e
    srv = cookie_server(server_factory, APP)
    for status, raw in transport_refusals(APP):
        (got, headers, _), = gatehouse_e2e.raw_http(srv.port, [raw])
        assert got == status, (status, headers)
        assert headers.get("access-control-allow-origin") == APP, (status, headers)
        assert headers.get("access-control-allow-credentials") == "true", (status, headers)
        assert headers.get("access-control-expose-headers") == \
            "WWW-Authenticate, Retry-After", (status, headers)
        assert headers.get("vary") == "Origin", (status, headers)
    for status, raw in transport_refusals("http://evil.example"):
        (got, headers, _), = gatehouse_e2e.raw_http(srv.port, [raw])
        assert got == status and headers.get("vary") == "Origin", (status, headers)
        assert not [h for h in headers if h.startswith("access-control-")], (status, headers)


def test_no_cors_headers_by_default(server):
    r = server.get("/healthz", headers={"Origin": APP})
    assert "Vary" not in r.headers and "Access-Control-Allow-Origin" not in r.headers


def test_revoked_cookie_answer_clears_its_pair(server_factory):
    srv = cookie_server(server_factory, APP, "--cookies-secure", "false")
    s = registered(srv)
    jar = cookie_header(s)
    r = requests.post(srv.url("/logout/access"),
                      headers={"Cookie": jar, "X-CSRF-TOKEN": s.cookies["csrf_access_token"]})
    assert r.status_code == 200
    cleared = r.raw.headers.getlist("Set-Cookie")
    assert [c.split(";")[0] for c in cleared] == ["access_token_cookie=", "csrf_access_token="]
    assert all("Max-Age=0" in c for c in cleared)
    r = requests.get(srv.url("/me"), headers={"Cookie": jar})  # the browser kept the old one
    assert r.json() == {"message": "Token has been revoked"}
    assert [c.split(";")[0] for c in r.raw.headers.getlist("Set-Cookie")] == \
        ["access_token_cookie=", "csrf_access_token="]


# -- cookies with refresh rotation (§10 and §11 together) -----------------------------------

def test_page_runs_the_whole_session_with_rotation_on(server_factory, page_origin, tmp_path):
    srv = cookie_server(server_factory, page_origin, "--jwt-refresh-rotation", "true")
    steps = run_page(f"{page_origin}/index.html?api=http://localhost:{srv.port}", tmp_path / "p")
    assert [s.get("status") for s in steps] == [200, 200, 200, 200, 200, 200, 401], steps
    # the page logged out with the refresh cookie the rotation set: it replaced the first one
    assert steps[5]["body"] == {"message": "Refresh token has been revoked"}


def refresh_by_cookie(srv, jar: dict) -> requests.Response:
    header = "; ".join(f"{k}={v}" for k, v in jar.items())
    return requests.post(srv.url("/token/refresh"),
                         headers={"Cookie": header, "X-CSRF-TOKEN": jar["csrf_refresh_token"]})


def set_cookies(r: requests.Response) -> dict:
    jar = SimpleCookie()
    for line in r.raw.headers.getlist("Set-Cookie"):
        jar.load(line)
    return {k: m.value for k, m in jar.items()}


def test_rotated_refresh_cookie_replaces_the_old_and_a_replay_gets_the_same_cookies(
        server_factory):
    srv = cookie_server(server_factory, "http://localhost:1", "--cookies-secure", "false",
                        "--jwt-refresh-rotation", "true", "--jwt-refresh-reuse-interval", "1s")
    r = requests.post(srv.url("/registration"), json={"username": f"r{free_port()}",
                                                      "password": PW})
    first = set_cookies(r)
    r = refresh_by_cookie(srv, first)
    assert r.status_code == 200, r.text
    second = set_cookies(r)
    # all four cookies are set again: a new refresh token with its own csrf value
    assert set(second) == {"access_token_cookie", "refresh_token_cookie",
                           "csrf_access_token", "csrf_refresh_token"}
    assert second["refresh_token_cookie"] != first["refresh_token_cookie"]
    # a replay inside the interval (a second tab) gets the identical cookies, csrf included
    again = refresh_by_cookie(srv, first)
    assert again.status_code == 200 and set_cookies(again) == second
    # the new refresh cookie works; after the interval, the old one revokes the session
    r = refresh_by_cookie(srv, second)
    assert r.status_code == 200, r.text
    third = set_cookies(r)
    time.sleep(2.1)  # past the interval, in whole seconds (docs/api.md)
    r = refresh_by_cookie(srv, first)
    assert r.status_code == 401 and r.json() == {"message": "Token has been revoked"}
    assert refresh_by_cookie(srv, third).status_code == 401  # the whole session ended


def test_rotation_refusing_a_reused_refresh_cookie_clears_its_pair(server_factory):
    # Review bug (issue 17): the store's refusal of a reuse went out without TokenRefusal, so
    # the dead refresh cookies stayed in the browser. §11: a `Token has been revoked` answer to
    # a cookie clears that token's pair, as every other revoked answer on /token/refresh does.
    srv = cookie_server(server_factory, "http://localhost:1", "--cookies-secure", "false",
                        "--jwt-refresh-rotation", "true", "--jwt-refresh-reuse-interval", "1s")
    r = requests.post(srv.url("/registration"), json={"username": f"c{free_port()}",
                                                      "password": PW})
    first = set_cookies(r)
    assert refresh_by_cookie(srv, first).status_code == 200
    time.sleep(2.1)  # past the interval: the store, not memory, finds the reuse
    r = refresh_by_cookie(srv, first)
    assert r.status_code == 401 and r.json() == {"message": "Token has been revoked"}
    cleared = r.raw.headers.getlist("Set-Cookie")
    assert [c.split(";")[0] for c in cleared] == ["refresh_token_cookie=", "csrf_refresh_token="]
    assert all("Max-Age=0" in c and "Path=/" in c and "SameSite=Lax" in c for c in cleared)
    # the same lines as the revoked answer of a refresh cookie refused before the store
    again = refresh_by_cookie(srv, first)
    assert again.status_code == 401
    assert again.raw.headers.getlist("Set-Cookie") == cleared


def set_cookie_lines(r) -> list[str]:
    return r.raw.headers.getlist("Set-Cookie")


def test_a_token_too_large_for_a_cookie_clears_the_pair_instead(server_factory):
    # Attacker round 9, F4: claims within §12's 4 KiB made a 5.9 KB access cookie, which a
    # browser drops silently while keeping the cookie it had: the next user of the page acted as
    # the previous one. The pair is cleared instead (and a warning logged).
    admin = "an admin secret of at least thirty-two bytes"
    srv = cookie_server(server_factory, "http://localhost:1", "--cookies-secure", "false",
                        "--admin-secret", admin)
    r = requests.post(srv.url("/admin/users"), headers={"Authorization": f"Bearer {admin}"},
                      json={"username": "big", "password": PW, "claims": {"r": "x" * 3500}})
    assert r.status_code == 201, r.text
    s = registered(srv)  # the previous user of this browser
    assert s.get(srv.url("/me")).status_code == 200
    r = s.post(srv.url("/login"), json={"username": "big", "password": PW})
    assert r.status_code == 200, r.text
    lines = set_cookie_lines(r)
    for line in lines:
        name_value = line.split(";", 1)[0]
        assert len(name_value) <= 4096, (len(name_value), line[:80])
    access = [line for line in lines if line.startswith("access_token_cookie=")]
    assert access and all("Max-Age=0" in line for line in access), access
    # the page is signed out, never signed in as the previous user
    r = s.get(srv.url("/me"))
    assert r.status_code == 401, r.text
    assert "too large for a browser cookie" in srv.stderr_text()
