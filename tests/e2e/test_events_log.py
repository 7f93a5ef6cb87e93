"""API.md §12 Events: each call records its one event durably, read here from the database."""

import sqlite3

import pytest

import gatehouse_e2e as gh
from gatehouse_e2e import bearer, decode

PW = "correct horse"


def events(srv, username_key):
    """(type, username, sid, client_address, user_agent) of the user's events, in id order."""
    sql = ("SELECT type, username, sid, client_address, user_agent FROM events "
           f"WHERE username_key = '{username_key}' ORDER BY id")
    if srv.on_postgresql:
        rows = gh.psql(srv.database_url, sql)
        return [tuple(row.split("|")) for row in rows if row]
    with sqlite3.connect(srv.data_dir / "gatehouse.db") as db:
        return list(db.execute(sql))


def test_each_call_records_its_event_with_sid_address_and_user_agent(server):
    user = gh.uname("Ev")
    ua = {"User-Agent": "events-test/1"}
    reg = server.post("/registration", json={"username": user, "password": PW}, headers=ua).json()
    reg_sid = decode(reg["access_token"], server.secret)["sid"]
    assert server.post("/login", json={"username": user, "password": "wrong password"}).status_code == 401
    login = server.post("/login", json={"username": user, "password": PW}, headers=ua).json()
    login_sid = decode(login["access_token"], server.secret)["sid"]
    assert server.post("/logout/access", headers=bearer(login["access_token"])).status_code == 200
    assert server.post("/logout/refresh", headers=bearer(login["refresh_token"])).status_code == 200
    assert server.post("/logout/all", headers=bearer(reg["access_token"])).status_code == 200

    got = events(server, user.lower())
    assert [e[0] for e in got] == ["user.created", "login.failed", "login.succeeded",
                                   "token.revoked", "session.revoked", "user.logged_out_everywhere"]
    assert got[0][2] == reg_sid and got[2][2] == login_sid and got[4][2] == login_sid
    assert all(e[1] == user for e in got)
    assert all(e[3] == "127.0.0.1" for e in got)
    assert got[0][4] == "events-test/1" and got[2][4] == "events-test/1"


def test_a_throttled_login_records_login_throttled(server_factory):
    srv = server_factory(args=["--rate-limit-login-per-user", "1/15m"])
    user, _ = srv.new_user("thr", PW)
    assert srv.login(user, "wrong password").status_code == 401
    assert srv.login(user, "wrong password").status_code == 429
    assert [e[0] for e in events(srv, user.lower())] == ["user.created", "login.failed",
                                                         "login.throttled"]
