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
    assert events(srv, after=last["next"]) == {"events": [], "next": last["next"]}


def test_a_cursor_beyond_the_newest_event_comes_back_as_the_newest_id(srv):
    # Attacker round (issue 19): `after` beyond the last id was echoed back, so a poller holding
    # a cursor from a restored or other database waited silently until the ids passed it.
    # docs/api.md: accepted as "nothing newer yet", but `next` is the highest id ever given.
    srv.new_user("EvM", PW)  # at least one event, whichever tests ran before
    newest = int(all_events(srv)[-1]["id"])
    again = events(srv, after="999999999999")
    assert again == {"events": [], "next": str(newest)}, again
    name, _ = srv.new_user("EvN", PW)  # the poller sees what is recorded from then on
    got = events(srv, after=again["next"])["events"]
    assert [(e["type"], e["username"]) for e in got] == [("user.created", name)], got


def test_a_cursor_beyond_the_newest_on_an_empty_log_comes_back_as_0(server_factory):
    s = server_factory(args=["--admin-secret", ADMIN])
    r = admin(s, "GET", "/admin/events", params={"after": "42"})
    assert r.status_code == 200 and r.json() == {"events": [], "next": "0"}, r.text


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


# -- attacker round (issue 19) ---------------------------------------------------------------

def throttled_events(srv, **params):
    return [e for e in all_events(srv, type="login.throttled", **params)]


def test_hammering_past_the_per_user_limit_records_one_throttled_event(server_factory):
    # One unauthenticated client grew the database by 3.8 MB/s: every 429 was an event. Now the
    # first refusal of a key in its limit's period records one, the rest of the period none.
    s = server_factory(args=["--admin-secret", ADMIN, "--rate-limit-login-per-user", "2/15m",
                             "--rate-limit-login-per-address", "0"])
    name, _ = s.new_user("EvT", PW)
    statuses = [s.login(name, "wrong password").status_code for _ in range(202)]
    assert statuses[:2] == [401, 401] and set(statuses[2:]) == {429}, statuses
    got = throttled_events(s, username=name)
    assert len(got) == 1, got
    check_fields(got[0], "login.throttled", name)
    # Another username from the same address is another key: its own one event.
    other = uname("EvU")
    assert {s.login(other, "x").status_code for _ in range(30)} == {401, 429}
    assert len(throttled_events(s, username=other)) == 1
    assert len(throttled_events(s)) == 2
    # Every 429 is still counted in the metrics.
    metrics = s.get("/metrics").text
    counted = [line for line in metrics.splitlines()
               if line.startswith("gatehouse_rate_limited_total") and "login_per_user" in line]
    assert counted and float(counted[0].split()[-1]) >= 200 + 28, counted


def test_hammering_past_the_per_address_limit_records_one_throttled_event(server_factory):
    s = server_factory(args=["--admin-secret", ADMIN, "--rate-limit-login-per-address", "3/15m"])
    names = [uname("EvX") for _ in range(203)]
    statuses = [s.login(n, "wrong").status_code for n in names]
    assert statuses[:3] == [401] * 3 and set(statuses[3:]) == {429}, statuses
    got = throttled_events(s)
    assert len(got) == 1, got
    assert got[0]["username"] == names[3]


def test_a_new_period_records_the_keys_next_throttled_event(server_factory):
    # 1/2s: a refused key records again once its limit's period has passed, not before.
    s = server_factory(args=["--admin-secret", ADMIN, "--rate-limit-login-per-user", "1/2s",
                             "--rate-limit-login-per-address", "0"])
    name, _ = s.new_user("EvW", PW)
    started = time.monotonic()
    refused = 0
    while time.monotonic() - started < 5.0:
        refused += s.login(name, "wrong password").status_code == 429
    elapsed = time.monotonic() - started
    got = throttled_events(s, username=name)
    assert refused > 10, refused
    assert 2 <= len(got) <= int(elapsed / 2) + 1, (len(got), elapsed)


def test_a_username_cut_to_the_bound_is_found_by_the_name_as_typed(srv):
    # F5: the event keeps the first 256 bytes; the filter cut nothing (and refused a name over
    # 256 bytes), so the name as typed found nothing.
    prefix = uname("EvLong")
    typed = prefix + "é" * 300  # 600 bytes and more
    assert srv.login(typed, "wrong password").status_code == 401
    got = all_events(srv, username=typed)
    assert [e["type"] for e in got] == ["login.failed"], got
    kept = got[0]["username"]
    assert typed.startswith(kept) and 254 <= len(kept.encode()) <= 256, len(kept.encode())
    # ASCII case ignored as before (only ASCII: "É" is not "é").
    assert all_events(srv, username=prefix.upper() + typed[len(prefix):]) == got
    assert all_events(srv, username=kept) == got  # the name as the log shows it, too


def test_control_and_bidi_characters_in_a_typed_name_are_replaced(srv):
    # Controls and bidi overrides were kept as typed, so a log reader saw a forged line or a
    # reordered name. docs/api.md: each becomes U+FFFD, then the cut to 256 bytes.
    prefix = uname("EvCtl")
    typed = prefix + "\x01\x1b[31m\u202eevil\u2066\u2069\u200f\x7f\u0085\u2028end"
    assert srv.login(typed, "wrong password").status_code == 401
    got = all_events(srv, username=typed)
    assert [e["type"] for e in got] == ["login.failed"], got
    f = "\ufffd"
    assert got[0]["username"] == prefix + f + f + "[31m" + f + "evil" + f * 5 + f + "end", got
    # The cut falls after the replacement: the bound holds in bytes.
    padded = prefix + "p" * (250 - len(prefix)) + "\x01" * 5
    assert srv.login(padded, "wrong password").status_code == 401
    got = all_events(srv, username=padded)
    assert [e["username"] for e in got] == [padded[:250] + f + f], got
