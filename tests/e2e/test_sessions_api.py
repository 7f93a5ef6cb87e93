"""API.md §10: sessions as records (GET /sessions, DELETE /sessions/{id}, session.idle_timeout),
and how ending one answers (§2: 'Token has been revoked')."""

import time
import uuid

import jwt
import pytest
import requests

from gatehouse_e2e import assert_message, assert_token_error, bearer, decode, poll

PW = "correct horse"


@pytest.fixture(scope="module")
def srv(module_server):
    return module_server


def sessions(srv, access, **headers):
    r = srv.get("/sessions", headers={**bearer(access), **headers})
    assert r.status_code == 200, r.text
    assert r.headers.get("Cache-Control", "").startswith("no-store")
    return r.json()["sessions"]


def login(srv, user, ua=None):
    headers = {"User-Agent": ua} if ua is not None else {}
    r = srv.post("/login", json={"username": user, "password": PW}, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


def test_listing_shows_each_session_with_its_fields_most_recent_first(srv):
    user, reg = srv.new_user("ls", PW)
    time.sleep(1.1)
    b = login(srv, user, ua="tab-B/1.0")
    listed = sessions(srv, b["access_token"])
    assert [s["id"] for s in listed] == [decode(b["refresh_token"], srv.secret)["sid"],
                                         decode(reg["refresh_token"], srv.secret)["sid"]]
    first = listed[0]
    assert set(first) == {"id", "created_at", "last_used_at", "expires_at", "client_address",
                          "user_agent", "current"}
    assert first["current"] is True and listed[1]["current"] is False
    assert first["user_agent"] == "tab-B/1.0"
    assert first["client_address"] == "127.0.0.1"
    claims = decode(b["refresh_token"], srv.secret)
    assert first["expires_at"] == time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(claims["exp"]))
    assert first["created_at"] == first["last_used_at"]


def test_a_refresh_moves_the_session_to_the_front_with_its_latest_use(srv):
    user, reg = srv.new_user("lu", PW)
    b = login(srv, user, ua="B")
    time.sleep(1.1)
    r = srv.post("/token/refresh", headers={**bearer(reg["refresh_token"]), "User-Agent": "A2"})
    assert r.status_code == 200, r.text
    sid_a = decode(reg["refresh_token"], srv.secret)["sid"]

    def moved():
        listed = sessions(srv, b["access_token"])
        return listed if listed[0]["id"] == sid_a else None

    listed = poll(moved, timeout=3)
    assert listed, sessions(srv, b["access_token"])
    assert listed[0]["user_agent"] == "A2"
    assert listed[0]["last_used_at"] > listed[0]["created_at"]


def test_user_agent_is_cut_to_256_bytes_on_a_character_boundary(srv):
    user, _ = srv.new_user("ua", PW)
    ua = "a" * 255 + "é" + "tail"  # é is 2 bytes: bytes 256-257; cut keeps 255
    r = requests.post(srv.url("/login"), json={"username": user, "password": PW},
                      headers={"User-Agent": ua.encode("utf-8")}, timeout=10)
    assert r.status_code == 200, r.text
    listed = sessions(srv, r.json()["access_token"])
    mine = [s for s in listed if s["current"]][0]
    assert mine["user_agent"] == "a" * 255
    ua2 = "b" * 254 + "é" + "x"  # fits exactly: 256 bytes kept
    r = requests.post(srv.url("/login"), json={"username": user, "password": PW},
                      headers={"User-Agent": ua2.encode("utf-8")}, timeout=10)
    mine = [s for s in sessions(srv, r.json()["access_token"]) if s["current"]][0]
    assert mine["user_agent"] == "b" * 254 + "é"


def current_user_agent(srv, user, ua: bytes) -> str:
    """Logs in with the raw User-Agent bytes `ua`; the user agent GET /sessions lists for it."""
    r = requests.post(srv.url("/login"), json={"username": user, "password": PW},
                      headers={"User-Agent": ua}, timeout=10)
    assert r.status_code == 200, r.text
    return [s for s in sessions(srv, r.json()["access_token"]) if s["current"]][0]["user_agent"]


@pytest.mark.parametrize("ua, expected", [
    # Each byte that is not UTF-8 is U+FFFD (3 bytes): 85 fit in 256. Cut before the
    # replacement, 256 bytes of 0xFF became 768 (and "a" + 255 of them 766).
    (b"\xff" * 300, "\ufffd" * 85),
    (b"a" + b"\xff" * 255, "a" + "\ufffd" * 85),
    (b"\x80" * 256, "\ufffd" * 85),  # lone continuation bytes: once cut back to ""
    # A multi-byte character across byte 256 is left out whole, after the replacement.
    (b"\xff" * 84 + "\u00e9\u20ac".encode(), "\ufffd" * 84 + "\u00e9"),
    (b"x" * 254 + "\u20ac".encode(), "x" * 254),
    (b"x" * 252 + "\U0001f600".encode(), "x" * 252 + "\U0001f600"),
    # TAB is replaced too (the HTTP parser refuses other control characters in a field: 400).
    (b"a\tb" + b"\xff" * 90, "a\ufffdb" + "\ufffd" * 83),
], ids=["ff", "a-ff", "continuation", "ff-then-2-and-3-byte", "3-byte-across", "4-byte-fits",
        "tab"])
def test_user_agent_is_valid_utf8_of_at_most_256_bytes_after_replacement(srv, ua, expected):
    user, _ = srv.new_user("ua8", PW)
    got = current_user_agent(srv, user, ua)
    assert got == expected, (len(got.encode()), got[:20])
    assert len(got.encode("utf-8")) <= 256


def test_a_refresh_records_the_user_agent_the_same_way(srv):
    user, reg = srv.new_user("uar", PW)
    r = srv.post("/token/refresh", headers={**bearer(reg["refresh_token"]), "User-Agent": b"\xfe" * 400})
    assert r.status_code == 200, r.text

    def recorded():
        mine = [s for s in sessions(srv, reg["access_token"]) if s["current"]][0]
        return mine["user_agent"] if mine["user_agent"].startswith("\ufffd") else None

    assert poll(recorded, timeout=3) == "\ufffd" * 85


def test_no_user_agent_is_recorded_as_empty(srv):
    user, _ = srv.new_user("noua", PW)
    import http.client
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
    body = f'{{"username": "{user}", "password": "{PW}"}}'
    conn.request("POST", "/login", body=body, headers={"Content-Type": "application/json"})
    import json
    tokens = json.loads(conn.getresponse().read())
    conn.close()
    mine = [s for s in sessions(srv, tokens["access_token"], **{"User-Agent": "x"}) if s["current"]][0]
    assert mine["user_agent"] == ""


def test_delete_ends_the_session_and_its_tokens(srv):
    user, reg = srv.new_user("del", PW)
    b = login(srv, user)
    sid_a = decode(reg["refresh_token"], srv.secret)["sid"]
    r = srv.request("DELETE", f"/sessions/{sid_a}", headers=bearer(b["access_token"]))
    assert_message(r, 200, "Session has been revoked")
    assert_token_error(srv.refresh(reg["refresh_token"]), "Token has been revoked")
    assert_token_error(srv.me(reg["access_token"]), "Token has been revoked")
    assert [s["id"] for s in sessions(srv, b["access_token"])] == [
        decode(b["refresh_token"], srv.secret)["sid"]]
    # Ended: a second DELETE finds nothing.
    r = srv.request("DELETE", f"/sessions/{sid_a}", headers=bearer(b["access_token"]))
    assert_message(r, 404, "Session not found")
    assert srv.me(b["access_token"]).status_code == 200


def test_delete_of_unknown_malformed_or_another_users_session_is_404(srv):
    _, mine = srv.new_user("own", PW)
    _, theirs = srv.new_user("oth", PW)
    their_sid = decode(theirs["refresh_token"], srv.secret)["sid"]
    for sid in [str(uuid.uuid4()), "not-a-session", their_sid, "x" * 5000]:
        r = srv.request("DELETE", f"/sessions/{sid}", headers=bearer(mine["access_token"]))
        assert_message(r, 404, "Session not found")
    # a deeper path is no route, with or without a token
    for headers in [bearer(mine["access_token"]), {}]:
        assert_message(srv.request("DELETE", "/sessions/a/b", headers=headers), 404, "Not found")
    assert srv.me(theirs["access_token"]).status_code == 200


def test_sessions_needs_an_access_token(srv):
    _, reg = srv.new_user("tok", PW)
    assert_token_error(srv.get("/sessions", headers=bearer(reg["refresh_token"])),
                       "Only access tokens are allowed")
    r = srv.request("DELETE", f"/sessions/{uuid.uuid4()}")
    assert r.status_code == 401
    assert srv.post("/sessions").status_code == 405


def test_logout_refresh_and_logout_all_end_sessions(srv):
    user, reg = srv.new_user("lo", PW)
    b = login(srv, user)
    c = login(srv, user)
    assert srv.post("/logout/refresh", headers=bearer(reg["refresh_token"])).status_code == 200
    assert len(sessions(srv, b["access_token"])) == 2
    assert srv.post("/logout/all", headers=bearer(b["access_token"])).status_code == 200
    d = login(srv, user)
    assert [s["id"] for s in sessions(srv, d["access_token"])] == [
        decode(d["refresh_token"], srv.secret)["sid"]]
    assert_token_error(srv.refresh(c["refresh_token"]), "Token has been revoked")


def test_a_flask_token_without_sid_is_no_session(srv):
    user, reg = srv.new_user("fl", PW)
    now = int(time.time())
    flask_refresh = jwt.encode({"sub": user, "type": "refresh", "fresh": False,
                                "jti": str(uuid.uuid4()), "iat": now, "nbf": now,
                                "exp": now + 600}, srv.secret, algorithm="HS256")
    r = srv.refresh(flask_refresh)
    assert r.status_code == 200 and set(r.json()) == {"access_token"}, r.text
    listed = sessions(srv, reg["access_token"])
    assert len(listed) == 1


def test_idle_timeout_ends_an_unused_session(server_factory):
    srv = server_factory(args=["--session-idle-timeout", "2s"])
    user, reg = srv.new_user("idle", PW)
    b = login(srv, user)
    for _ in range(4):  # B stays used
        time.sleep(0.7)
        assert srv.refresh(b["refresh_token"]).status_code == 200
    # The sweep runs once a second on whole seconds: an idle session ends between `timeout` and
    # about `timeout` + 2 s after its last use. A 4.4 s wait ends A for sure; B (idle at most
    # 1.6 s, two whole seconds at most) stays.
    time.sleep(1.6)
    assert_token_error(srv.refresh(reg["refresh_token"]), "Token has been revoked")
    assert_token_error(srv.me(reg["access_token"]), "Token has been revoked")
    assert [s["id"] for s in sessions(srv, b["access_token"])] == [
        decode(b["refresh_token"], srv.secret)["sid"]]


def test_unknown_session_ids_do_not_spend_the_owners_revocation_budget(server_factory):
    # Attacker round: a stolen access token deleting made-up ids used to spend
    # rate_limit.revocation_per_user, so the owner's DELETE of the thief's session got 429.
    srv = server_factory(args=["--rate-limit-revocation-per-user", "3/1m"])
    user = f"budget{uuid.uuid4().hex[:8]}"
    r = srv.post("/registration", json={"username": user, "password": PW})
    owner = r.json()
    thief = login(srv, user)
    for _ in range(10):
        r = srv.request("DELETE", f"/sessions/{uuid.uuid4()}", headers=bearer(thief["access_token"]))
        assert_message(r, 404, "Session not found")
    thief_sid = decode(thief["access_token"], srv.secret)["sid"]
    r = srv.request("DELETE", f"/sessions/{thief_sid}", headers=bearer(owner["access_token"]))
    assert_message(r, 200, "Session has been revoked")
    assert srv.get("/me", headers=bearer(thief["access_token"])).status_code == 401
