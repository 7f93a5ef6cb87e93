"""Helpers for the tests of the Python revocation helper (clients/python/gatehouse_revocations):
a Flask-JWT-Extended resource server using it, the revocations a user can be given (the three
logouts and an admin disable, API.md §12), and the wait for a token to be refused."""

from __future__ import annotations

import contextlib
import sys
import threading
import time

import jwt

import requests
from flask import Flask, jsonify
from flask_jwt_extended import JWTManager, get_jwt_identity, jwt_required
from werkzeug.serving import make_server

import gatehouse_e2e as gh
from gatehouse_e2e import bearer
from revocation_feed_support import ARGS, SECRET

sys.path.insert(0, str(gh.REPO_ROOT / "clients" / "python" / "gatehouse_revocations"))
from gatehouse_revocations import (  # noqa: E402
    RevocationFollower, decode_unrevoked, use_with_flask_jwt_extended,
)

ADMIN = "an admin secret of at least thirty-two bytes"
CLIENT_ARGS = ARGS + ["--admin-secret", ADMIN]
# Every way §12 names for the helpers to follow: "admin disable" is PATCH /admin/users/{name}.
REVOCATIONS = ["/logout/access", "/logout/refresh", "/logout/all", "admin disable"]
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
        return requests.get(self.base + "/protected", headers=bearer(token), timeout=5)

    def refuses(self, token) -> bool:
        r = self.get(token)
        return r.status_code == 401 and r.json().get("msg") == "Token has been revoked"


def revoke(srv, how: str, username: str, reg: dict):
    """Revokes the tokens of `reg` (a /registration answer of `username`) the way `how` says."""
    if how == "admin disable":
        r = srv.request("PATCH", f"/admin/users/{username}", json={"disabled": True},
                        headers=bearer(ADMIN))
    else:
        token = reg["refresh_token"] if how == "/logout/refresh" else reg["access_token"]
        r = srv.post(how, headers=bearer(token))
    assert r.status_code == 200, r.text


def until_refused(check, t0, timeout=3.0):
    """Seconds from t0 until check() holds (polled every 5 ms), or None after `timeout`."""
    while time.monotonic() - t0 < timeout:
        if check():
            return time.monotonic() - t0
        time.sleep(0.005)
    return None


@contextlib.contextmanager
def resource_server(follow, key: str):
    """A follower of `follow`'s stream and a FlaskApp verifying with `key`: (follower, app)."""
    follower = RevocationFollower(follow.base, SECRET, reconnect_delay=0.2).start()
    assert follower.wait_connected(10)
    app = FlaskApp(key, follower)
    try:
        yield follower, app
    finally:
        app.server.shutdown()
        follower.stop()


def pyjwt_refuses(token: str, key: str, follower: RevocationFollower) -> bool:
    """Whether the PyJWT helper refuses `token` as revoked."""
    try:
        decode_unrevoked(token, key, follower, algorithms=["HS256"])
        return False
    except jwt.InvalidTokenError as e:
        return str(e) == "Token has been revoked"
