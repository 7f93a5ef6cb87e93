"""API.md §3: a Flask-JWT-Extended 4 service holding the same key accepts gatehouse tokens
unchanged, and gatehouse accepts tokens that Flask-JWT-Extended 4 minted."""

import pytest
from flask import Flask
from flask_jwt_extended import JWTManager, create_access_token, create_refresh_token

from gatehouse_e2e import FlaskResourceServer, assert_json, assert_message, bearer, decode

PW = "correct horse"


@pytest.fixture(scope="module")
def srv(module_server):
    return module_server


@pytest.fixture(scope="module")
def user(srv):
    u, body = srv.new_user("flask", PW)
    return {"name": u, **body}


@pytest.fixture(scope="module")
def flask_rs(srv, tmp_path_factory):
    rs = FlaskResourceServer(tmp_path_factory.mktemp("flask"), srv.secret)
    yield rs
    rs.stop()


@pytest.fixture(scope="module")
def flask_app(srv):
    app = Flask("minting")
    app.config["JWT_SECRET_KEY"] = srv.secret
    app.config["JWT_TOKEN_LOCATION"] = ["headers"]
    JWTManager(app)
    return app


# -- gatehouse tokens at a Flask resource server -------------------------------------------

def test_flask_accepts_gatehouse_access_token(flask_rs, user):
    r = flask_rs.get("/protected", user["access_token"])
    assert r.status_code == 200, r.text
    assert r.json() == {"identity": user["name"], "type": "access", "fresh": True}


def test_flask_accepts_gatehouse_refreshed_access_token(srv, flask_rs, user):
    r = srv.refresh(user["refresh_token"])
    assert r.status_code == 200, r.text
    r = flask_rs.get("/protected", r.json()["access_token"])
    assert r.status_code == 200, r.text
    assert r.json() == {"identity": user["name"], "type": "access", "fresh": False}


def test_flask_accepts_gatehouse_refresh_token_on_refresh_route(flask_rs, user):
    r = flask_rs.get("/refresh-only", user["refresh_token"])
    assert r.status_code == 200, r.text
    assert r.json() == {"identity": user["name"], "type": "refresh"}


def test_flask_refuses_gatehouse_refresh_token_on_access_route(flask_rs, user):
    r = flask_rs.get("/protected", user["refresh_token"])
    # Flask-JWT-Extended 4's own answer for the wrong token type
    assert r.status_code == 422, r.text
    assert r.json() == {"msg": "Only non-refresh tokens are allowed"}


def test_flask_refuses_gatehouse_access_token_on_refresh_route(flask_rs, user):
    r = flask_rs.get("/refresh-only", user["access_token"])
    assert r.status_code == 422, r.text
    assert r.json() == {"msg": "Only refresh tokens are allowed"}


# -- Flask-JWT-Extended tokens at gatehouse -------------------------------------------------

def test_gatehouse_accepts_flask_access_token_on_me(srv, flask_app, user):
    with flask_app.app_context():
        tok = create_access_token(identity=user["name"])
    r = srv.me(tok)
    got = assert_json(r, 200)
    assert got["username"] == user["name"] and set(got) == {"username", "created_at"}, got


def test_gatehouse_accepts_flask_fresh_access_token_on_me(srv, flask_app, user):
    with flask_app.app_context():
        tok = create_access_token(identity=user["name"], fresh=True)
    r = srv.me(tok)
    assert assert_json(r, 200)["username"] == user["name"]


def test_gatehouse_accepts_flask_refresh_token_on_token_refresh(srv, flask_app, user):
    with flask_app.app_context():
        tok = create_refresh_token(identity=user["name"])
    r = srv.refresh(tok)
    got = assert_json(r, 200)
    assert set(got) == {"access_token"}, got
    c = decode(got["access_token"], srv.secret)
    assert (c["sub"], c["type"], c["fresh"]) == (user["name"], "access", False)
    assert srv.me(got["access_token"]).status_code == 200


def test_gatehouse_refuses_flask_refresh_token_on_me(srv, flask_app, user):
    with flask_app.app_context():
        tok = create_refresh_token(identity=user["name"])
    r = srv.me(tok)
    assert_message(r, 401, "Only access tokens are allowed")


def test_gatehouse_refuses_flask_access_token_on_token_refresh(srv, flask_app, user):
    with flask_app.app_context():
        tok = create_access_token(identity=user["name"])
    r = srv.refresh(tok)
    assert_message(r, 401, "Only refresh tokens are allowed")


def test_flask_access_token_can_be_logged_out_at_gatehouse(srv, flask_app, user):
    with flask_app.app_context():
        tok = create_access_token(identity=user["name"])
    assert_message(srv.post("/logout/access", headers=bearer(tok)), 200,
                   "Access token has been revoked")
    assert_message(srv.me(tok), 401, "Token has been revoked")
