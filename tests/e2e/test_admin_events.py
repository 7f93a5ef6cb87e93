"""API.md §12 Events through GET /admin/events: every event type after its action, with the
fields §12 gives; cursor paging while events are added; filters; bad parameters; the secret.

Runs on SQLite, and on PostgreSQL in scripts/test's PostgreSQL list (GATEHOUSE_E2E_PG_URL)."""

import re
import threading
import time

import pytest

import gatehouse_e2e as gh
from gatehouse_e2e import assert_message, bearer, decode, uname

ADMIN = "an admin secret of at least thirty-two bytes"
PW = "correct horse"
UA = {"User-Agent": "admin-events-test/1"}
AT = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def admin(srv, method, path, **kw):
    kw.setdefault("headers", {}).update(bearer(ADMIN))
    kw["headers"].update(UA)
    return srv.request(method, path, **kw)


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    f = gh.Factory(tmp_path_factory.mktemp("admin-events"))
    try:
        yield f(args=["--admin-secret", ADMIN, "--jwt-refresh-rotation", "true",
                      "--jwt-refresh-reuse-interval", "2s", "--rate-limit-login-per-user", "3/15m"],
                name="gatehouse(admin-events)")
    finally:
        f.close()


def events(srv, **params):
    r = admin(srv, "GET", "/admin/events", params=params)
    assert r.status_code == 200, r.text
    body = r.json()
    assert isinstance(body["next"], str)
    return body


def all_events(srv, **params):
    """Every event matching `params`, page by page, oldest first."""
    out, after = [], "0"
    while True:
        page = events(srv, after=after, limit=1000, **params)
        if not page["events"]:
            return out
        out += page["events"]
        after = page["next"]


def check_fields(event, type_, username, sid=None, address="127.0.0.1", agent=None):
    assert event["type"] == type_, event
    assert isinstance(event["id"], int) and event["id"] > 0
    assert AT.match(event["at"]), event["at"]
    assert event["username"] == username
    if sid is None:
        assert "sid" not in event, event
    else:
        assert event["sid"] == sid, event
    assert event["client_address"] == address
    if agent is not None:
        assert event["user_agent"] == agent
    allowed = {"id", "type", "at", "username", "sid", "client_address", "user_agent"}
    assert set(event) <= allowed, event


def test_every_event_type_appears_after_its_action_with_its_fields(srv):
    name = uname("EvA")
    key = name.lower()
    ua = UA["User-Agent"]

    reg = srv.post("/registration", json={"username": name, "password": PW}, headers=UA).json()
    reg_sid = decode(reg["access_token"], srv.secret)["sid"]
    assert srv.post("/login", json={"username": name, "password": "wrong one"}).status_code == 401
    login = srv.post("/login", json={"username": name, "password": PW}, headers=UA).json()
    login_sid = decode(login["access_token"], srv.secret)["sid"]
    assert srv.post("/logout/access", headers=bearer(login["access_token"])).status_code == 200
    # Rotation: the first refresh token, presented again after its interval, is a reuse.
    rotated = srv.post("/token/refresh", headers=bearer(login["refresh_token"]))
    assert rotated.status_code == 200, rotated.text
    time.sleep(3.5)  # past the 2 s reuse interval, counted in whole seconds
    assert srv.post("/token/refresh", headers=bearer(login["refresh_token"])).status_code == 401
    # A second session, ended by the owner; a third, ended by the admin.
    s2 = srv.post("/login", json={"username": name, "password": PW}).json()
    s2_sid = decode(s2["access_token"], srv.secret)["sid"]
    assert srv.post("/logout/refresh", headers=bearer(s2["refresh_token"])).status_code == 200
    s3 = srv.post("/login", json={"username": name, "password": PW}).json()
    s3_sid = decode(s3["access_token"], srv.secret)["sid"]
    assert admin(srv, "DELETE", f"/admin/users/{key}/sessions/{s3_sid}").status_code == 200
    assert srv.post("/logout/all", headers=bearer(reg["access_token"])).status_code == 200
    assert admin(srv, "POST", f"/admin/users/{key}/logout").status_code == 200
    fresh = srv.post("/login", json={"username": name, "password": PW}).json()
    r = srv.post("/password", json={"old_password": PW, "new_password": "another password"},
                headers=bearer(fresh["access_token"]))
    assert r.status_code == 200, r.text
    assert admin(srv, "PATCH", f"/admin/users/{key}", json={"claims": {"roles": ["a"]}}).ok
    assert admin(srv, "PATCH", f"/admin/users/{key}", json={"disabled": True}).ok
    assert admin(srv, "PATCH", f"/admin/users/{key}", json={"disabled": False}).ok
    code = admin(srv, "POST", f"/admin/users/{key}/password-reset").json()["reset_code"]
    r = srv.post("/password/reset",
                 json={"username": name, "code": code, "new_password": "third password"})
    assert r.status_code == 200, r.text
    for _ in range(3):
        srv.post("/login", json={"username": name, "password": "wrong again"})
    assert admin(srv, "DELETE", f"/admin/users/{key}").status_code == 200

    got = all_events(srv, username=name.upper())
    types = [e["type"] for e in got]
    assert types[:4] == ["user.created", "login.failed", "login.succeeded", "token.revoked"], types
    assert types[-1] == "user.removed", types
    by_type = {}
    for e in got:
        by_type.setdefault(e["type"], []).append(e)
    check_fields(by_type["user.created"][0], "user.created", name, reg_sid, agent=ua)
    check_fields(by_type["login.failed"][0], "login.failed", name)
    check_fields(by_type["login.succeeded"][0], "login.succeeded", name, login_sid, agent=ua)
    check_fields(by_type["token.revoked"][0], "token.revoked", name, login_sid)
    check_fields(by_type["refresh_token.reused"][0], "refresh_token.reused", name, login_sid)
    sessions = [e["sid"] for e in by_type["session.revoked"]]
    assert s2_sid in sessions and s3_sid in sessions
    admin_end = [e for e in by_type["session.revoked"] if e["sid"] == s3_sid][0]
    check_fields(admin_end, "session.revoked", name, s3_sid, agent=ua)
    assert len(by_type["user.logged_out_everywhere"]) == 2
    for e in by_type["user.logged_out_everywhere"]:
        check_fields(e, "user.logged_out_everywhere", name)
    assert len(by_type["password.changed"]) == 2
    for t in ["user.claims_changed", "user.disabled", "user.enabled",
              "password.reset_requested", "user.removed"]:
        assert len(by_type[t]) == 1, (t, types)
        check_fields(by_type[t][0], t, name, agent=ua)
    assert by_type["login.throttled"], types
    # Order: the admin changes came in this order, and ids increase.
    order = [t for t in types if t in ("user.claims_changed", "user.disabled", "user.enabled",
                                       "password.reset_requested", "user.removed")]
    assert order == ["user.claims_changed", "user.disabled", "user.enabled",
                     "password.reset_requested", "user.removed"]
    ids = [e["id"] for e in got]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    # Never a password, a hash, a token or a code.
    text = str(got)
    for secret in [PW, "another password", "third password", code, reg["access_token"]]:
        assert secret not in text


def test_admin_create_records_one_user_created_event(srv):
    name = uname("EvC")
    r = admin(srv, "POST", "/admin/users",
              json={"username": name, "password": PW, "claims": {"roles": ["x"]}})
    assert r.status_code == 201, r.text
    got = all_events(srv, username=name)
    assert [e["type"] for e in got] == ["user.created"]
    check_fields(got[0], "user.created", name, agent=UA["User-Agent"])


def test_paging_by_cursor_covers_every_event_once_while_events_are_added(srv):
    name, _ = srv.new_user("EvP", PW)
    stop = threading.Event()

    def add():
        while not stop.is_set():
            srv.post("/login", json={"username": name, "password": PW})

    writers = [threading.Thread(target=add) for _ in range(2)]
    for t in writers:
        t.start()
    seen, after = [], "0"
    try:
        for _ in range(40):
            page = events(srv, after=after, limit=3, username=name)
            seen += [e["id"] for e in page["events"]]
            after = page["next"]
            time.sleep(0.05)
    finally:
        stop.set()
        for t in writers:
            t.join()
    while True:
        page = events(srv, after=after, limit=3, username=name)
        if not page["events"]:
            assert page["next"] == after
            break
        seen += [e["id"] for e in page["events"]]
        after = page["next"]
    every = [e["id"] for e in all_events(srv, username=name)]
    assert len(every) > 5
    assert seen == every


def test_filters_by_type_and_username(srv):
    a, _ = srv.new_user("EvF", PW)
    b, _ = srv.new_user("EvG", PW)
    srv.post("/login", json={"username": a, "password": PW})
    logins = all_events(srv, type="login.succeeded", username=a)
    assert logins and all(e["type"] == "login.succeeded" and e["username"] == a for e in logins)
    created = all_events(srv, type="user.created")
    names = {e["username"] for e in created}
    assert {a, b} <= names and all(e["type"] == "user.created" for e in created)
    assert all_events(srv, username=uname("nobody")) == []


@pytest.mark.parametrize("query, message", [
    ("after=abc", "after: Not a cursor this server gave"),
    ("after=-1", "after: Not a cursor this server gave"),
    ("after=99999999999999999999", "after: Not a cursor this server gave"),
    ("after=%zz", "after: Not a cursor this server gave"),
    ("limit=0", "limit: Must be between 1 and 1000"),
    ("limit=1001", "limit: Must be between 1 and 1000"),
    ("limit=x", "limit: Must be between 1 and 1000"),
    ("type=user.nothing", "type: Not an event type"),
    ("username=" + "a" * 257, "username: Must be at most 256 bytes"),
])
def test_bad_parameters_answer_400(srv, query, message):
    r = admin(srv, "GET", "/admin/events?" + query)
    assert r.status_code == 400, r.text
    field, reason = message.split(": ", 1)
    assert r.json() == {"message": {field: [reason]}} or r.json().get("message") == message, r.text


def test_an_empty_page_hands_the_cursor_back(srv):
    last = events(srv, after="0", limit=1000)
    while last["events"]:
        last = events(srv, after=last["next"], limit=1000)
    again = events(srv, after="999999999999")
    assert again == {"events": [], "next": "999999999999"}


def test_head_and_other_methods(srv):
    r = admin(srv, "HEAD", "/admin/events")
    assert r.status_code == 200 and r.content == b""
    r = admin(srv, "POST", "/admin/events", json={})
    assert r.status_code == 405 and r.headers["Allow"] == "GET, HEAD"


def test_without_the_secret(srv, server):
    assert_message(srv.get("/admin/events"), 401, "Invalid admin credentials")
    assert_message(srv.get("/admin/events", headers=bearer(ADMIN + "x")), 401,
                   "Invalid admin credentials")
    assert_message(server.get("/admin/events", headers=bearer(ADMIN)), 404, "Not found")
