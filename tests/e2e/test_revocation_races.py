"""API.md §9: a call that revokes holds against the requests that race it.

Each test makes the race likely (many requests in flight when the revoking call starts, over
several rounds) and then checks every token any racing request obtained: none may be accepted
after the revoking call answered 200. Run on SQLite, and on PostgreSQL (one instance and two
instances on one database) when GATEHOUSE_E2E_PG_URL is set.
"""

import threading
import time
import uuid

import pytest
import requests

import jwt

from gatehouse_e2e import HTTP_TIMEOUT, assert_token_error, bearer, pg_mode, uname
from pg_support import instances

OLD_PW = "old password 1"
NEW_PW = "new password 2"
ROUNDS = 6
RACERS = 6


# The racers send far more attempts than the brute-force limits allow; they are not the subject.
NO_LIMITS = ["--rate-limit-login-per-user", "0", "--rate-limit-login-per-address", "0",
             "--rate-limit-refresh-per-user", "0", "--rate-limit-revocation-per-user", "0"]


@pytest.fixture(params=["one instance", "two instances"])
def pair(request, server_factory):
    """(where the revoking call goes, where the racing requests go)."""
    if request.param == "one instance":
        srv = server_factory(args=NO_LIMITS)
        return srv, srv
    if not pg_mode():
        pytest.skip("two instances share a database on PostgreSQL")
    a, b = instances(server_factory, args=NO_LIMITS)
    return a, b


def run_racers(target, request_once, start_revoking):
    """RACERS threads call request_once(session) in a loop; once all are running,
    start_revoking() runs; they stop a moment after it returns. Returns what each call gave."""
    results, lock = [], threading.Lock()
    stop = threading.Event()
    running = threading.Barrier(RACERS + 1)

    def racer():
        with requests.Session() as s:
            running.wait()
            while not stop.is_set():
                outcome = request_once(s)
                with lock:
                    results.append(outcome)

    threads = [threading.Thread(target=racer) for _ in range(RACERS)]
    for t in threads:
        t.start()
    running.wait()
    # Logins/refreshes are in flight when the revocation starts, and one has already answered
    # 200 (else there is no race to check): on a slow build (ASan) the first answer can take
    # longer than a fixed pause, which made the round a false failure.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with lock:
            if any(outcome[0] == 200 for outcome in results):
                break
        time.sleep(0.01)
    revoking = start_revoking()
    time.sleep(0.3)   # and some are answered after it
    stop.set()
    for t in threads:
        t.join()
    return revoking, results


def test_logins_that_checked_the_old_password_get_no_token_that_survives_the_change(pair):
    changer, racer_srv = pair
    survivors = []
    for _ in range(ROUNDS):
        u = uname("pwrace")
        r = changer.register(u, OLD_PW)
        assert r.status_code == 200, r.text
        fresh = r.json()["access_token"]

        def login(s):
            r = s.post(racer_srv.url("/login"), json={"username": u, "password": OLD_PW},
                       timeout=HTTP_TIMEOUT)
            return r.status_code, (r.json() if r.status_code == 200 else None)

        def change():
            return changer.post("/password", headers=bearer(fresh),
                                json={"old_password": OLD_PW, "new_password": NEW_PW})

        changed, logins = run_racers(racer_srv, login, change)
        assert changed.status_code == 200, changed.text
        assert {status for status, _ in logins} <= {200, 401, 429}, logins
        issued = [body for status, body in logins if status == 200]
        assert issued, "no login succeeded before the change: the race was not run"
        time.sleep(1.1)  # the other instance applies the change within 1 s (§9)
        for body in issued:
            for srv in {changer, racer_srv}:
                if srv.me(body["access_token"]).status_code == 200:
                    survivors.append((u, srv.name, "access"))
                if srv.refresh(body["refresh_token"]).status_code == 200:
                    survivors.append((u, srv.name, "refresh"))
        assert changer.login(u, NEW_PW).status_code == 200
    assert not survivors, f"tokens of the old password outlived the change: {survivors}"


def test_refreshes_in_flight_during_logout_all_mint_no_token_that_survives_it(pair):
    revoker, racer_srv = pair
    survivors = []
    for _ in range(ROUNDS):
        u = uname("allrace")
        r = revoker.register(u, OLD_PW)
        assert r.status_code == 200, r.text
        tokens = r.json()

        def refresh(s):
            r = s.post(racer_srv.url("/token/refresh"), headers=bearer(tokens["refresh_token"]),
                       timeout=HTTP_TIMEOUT)
            return r.status_code, (r.json() if r.status_code == 200 else None)

        def logout_all():
            return revoker.post("/logout/all", headers=bearer(tokens["access_token"]))

        done, refreshes = run_racers(racer_srv, refresh, logout_all)
        assert done.status_code == 200, done.text
        assert {status for status, _ in refreshes} <= {200, 401, 429}, refreshes
        minted = [body["access_token"] for status, body in refreshes if status == 200]
        assert minted, "no refresh succeeded before the logout: the race was not run"
        time.sleep(1.1)
        for token in minted:
            for srv in {revoker, racer_srv}:
                r = srv.me(token)
                if r.status_code == 200:
                    survivors.append((u, srv.name))
                else:
                    assert_token_error(r, "Token has been revoked")
    assert not survivors, f"access tokens minted during /logout/all outlived it: {survivors}"


def test_login_right_after_logout_all_gets_tokens_that_work(server):
    """The same second as a logout-everywhere: the new session is not caught by it."""
    u, body = server.new_user("again", OLD_PW)
    access = body["access_token"]
    for _ in range(10):
        assert server.post("/logout/all", headers=bearer(access)).status_code == 200
        r = server.login(u, OLD_PW)
        assert r.status_code == 200, r.text
        access = r.json()["access_token"]
        assert server.me(access).status_code == 200
        assert server.refresh(r.json()["refresh_token"]).status_code == 200


def flask_token(secret, username, kind):
    """A token as Flask-JWT-Extended 4 writes it (no sid), issued this second."""
    now = int(time.time())
    claims = {"fresh": False, "iat": now, "jti": str(uuid.uuid4()), "type": kind,
              "sub": username, "nbf": now, "exp": now + 600}
    return jwt.encode(claims, secret, algorithm="HS256")


@pytest.mark.parametrize("revoke", ["logout_all", "password"])
def test_flask_tokens_of_the_same_second_fall_with_a_user_wide_revocation(server, revoke):
    """Tokens without a sid (Flask-made) issued in the second of the revocation: no session can
    name them, so the user-wide cut covers their own second too."""
    u, body = server.new_user("flask", OLD_PW)
    access, refresh = (flask_token(server.secret, u, kind) for kind in ("access", "refresh"))
    if revoke == "logout_all":
        r = server.post("/logout/all", headers=bearer(body["access_token"]))
    else:
        r = server.post("/password", headers=bearer(body["access_token"]),
                        json={"old_password": OLD_PW, "new_password": NEW_PW})
    assert r.status_code == 200, r.text
    assert_token_error(server.me(access), "Token has been revoked")
    assert_token_error(server.refresh(refresh), "Token has been revoked")
