"""The Python helper of clients/python/gatehouse_revocations (issue 19): a resource server that
verifies gatehouse tokens offline, with the real Flask-JWT-Extended and with PyJWT, refuses a
logged-out token within one second, and again after gatehouse restarts."""

import sys
import threading
import time

import jwt
import pytest
from flask import Flask, jsonify
from flask_jwt_extended import JWTManager, get_jwt_identity, jwt_required
from werkzeug.serving import make_server

import gatehouse_e2e as gh
from gatehouse_e2e import bearer
from pg_support import module_factory
from revocation_feed_support import ARGS, SECRET

sys.path.insert(0, str(gh.REPO_ROOT / "clients" / "python" / "gatehouse_revocations"))
from gatehouse_revocations import (  # noqa: E402
    RevocationFollower, decode_unrevoked, use_with_flask_jwt_extended,
)

PW = "correct horse"
BOUND = 1.0


class FlaskApp:
    """A Flask + Flask-JWT-Extended resource server on a thread, using the helper."""

    def __init__(self, secret: str, follower: RevocationFollower):
        app = Flask(__name__)
        app.config["JWT_SECRET_KEY"] = secret
        app.config["JWT_TOKEN_LOCATION"] = ["headers"]
        use_with_flask_jwt_extended(JWTManager(app), follower)

        @app.get("/protected")
        @jwt_required()
        def protected():
            return jsonify(identity=get_jwt_identity())

        self.server = make_server("127.0.0.1", gh.free_port(), app, threaded=True)
        self.base = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def get(self, token):
        import requests
        return requests.get(self.base + "/protected", headers=bearer(token), timeout=5)


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    with module_factory(tmp_path_factory, "revclients") as f:
        srv = f(args=ARGS, name="gatehouse(revocations)")
        follower = RevocationFollower(srv.base, SECRET, reconnect_delay=0.2).start()
        assert follower.wait_connected(10)
        app = FlaskApp(srv.secret, follower)
        yield srv, follower, app
        app.server.shutdown()
        follower.stop()


def until_refused(check, t0, timeout=3.0):
    while time.monotonic() - t0 < timeout:
        if check():
            return time.monotonic() - t0
        time.sleep(0.005)
    return None


def revoke(srv, how, reg):
    token = reg["refresh_token"] if how == "/logout/refresh" else reg["access_token"]
    r = srv.post(how, headers=bearer(token))
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("how", ["/logout/access", "/logout/refresh", "/logout/all"])
def test_flask_jwt_extended_refuses_a_logged_out_token_within_1s(env, how):
    srv, _, app = env
    _, reg = srv.new_user("flask", PW)
    assert app.get(reg["access_token"]).status_code == 200
    t0 = time.monotonic()
    revoke(srv, how, reg)

    def refused():
        r = app.get(reg["access_token"])
        return r.status_code == 401 and r.json().get("msg") == "Token has been revoked"
    delay = until_refused(refused, t0)
    assert delay is not None and delay < BOUND, f"{how}: {delay}"


def test_flask_keeps_accepting_tokens_issued_after_logout_all(env):
    srv, _, app = env
    u, reg = srv.new_user("after", PW)
    revoke(srv, "/logout/all", reg)
    time.sleep(1.1)  # a new second: the cut refuses only earlier tokens
    fresh = srv.login(u, PW).json()["access_token"]
    time.sleep(0.5)
    assert app.get(fresh).status_code == 200
    assert app.get(reg["access_token"]).status_code == 401


def test_pyjwt_helper_refuses_a_logged_out_token_within_1s(env):
    srv, follower, _ = env
    _, reg = srv.new_user("pyjwt", PW)
    token = reg["access_token"]
    assert decode_unrevoked(token, srv.secret, follower, algorithms=["HS256"])["jti"]
    t0 = time.monotonic()
    revoke(srv, "/logout/access", reg)

    def refused():
        try:
            decode_unrevoked(token, srv.secret, follower, algorithms=["HS256"])
            return False
        except jwt.InvalidTokenError as e:
            return str(e) == "Token has been revoked"
    delay = until_refused(refused, t0)
    assert delay is not None and delay < BOUND, delay


def test_the_follower_recovers_after_gatehouse_restarts(env):
    srv, follower, app = env
    _, before = srv.new_user("restart", PW)
    assert srv.terminate() == 0
    srv.start()
    assert gh.poll(lambda: follower.connected, timeout=10)
    _, reg = srv.new_user("restart", PW)
    t0 = time.monotonic()
    revoke(srv, "/logout/access", reg)
    revoke(srv, "/logout/all", before)
    delay = until_refused(lambda: app.get(reg["access_token"]).status_code == 401, t0)
    assert delay is not None and delay < BOUND, delay
    assert until_refused(lambda: app.get(before["access_token"]).status_code == 401, t0) < BOUND
