"""API.md §10, refresh-token rotation under attack (issue 16's adversarial harness).

Each test attacks one promise: N concurrent refreshes of one token all get the identical answer;
a replay inside the reuse interval gets it too, after the interval it revokes the whole session
and records `refresh_token.reused`; older lineages are refused; a refresh racing the end of its
session never leaves a live token; kill -9 during a refresh storm loses no acknowledged answer and
revives no used token; two instances on one PostgreSQL agree.

Short by default (CI). GATEHOUSE_ROTATION_ROUNDS=<n> runs n rounds of each randomized attack
(default 3); the counts are printed (pytest -s) as "rotation-harness: ..." lines.
"""

from __future__ import annotations

import os
import random
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

import gatehouse_e2e as gh
from gatehouse_e2e import FlaskResourceServer, assert_token_error, bearer, decode, psql
from ops_support import run_cli
from pg_support import Cluster, can_run_own_cluster, free_port, instances, requires_pg

PW = "correct horse"
INTERVAL = 2  # seconds: jwt.refresh_reuse_interval of the servers below
ROUNDS = int(os.environ.get("GATEHOUSE_ROTATION_ROUNDS", "3"))
ROTATING = ["--jwt-refresh-rotation", "true", "--jwt-refresh-reuse-interval", f"{INTERVAL}s",
            "--rate-limit-refresh-per-user", "0"]


def report(what: str, **counts) -> None:
    print(f"rotation-harness: {what}: " + ", ".join(f"{k}={v}" for k, v in counts.items()))


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    f = gh.Factory(tmp_path_factory.mktemp("rotation"))
    try:
        yield f(args=ROTATING, name="gatehouse(rotating)")
    finally:
        f.close()


def refresh(srv, token, session=None):
    return (session or requests).post(srv.url("/token/refresh"), headers=bearer(token), timeout=30)


def reuse_events(srv, sid: str) -> list[tuple]:
    """The recorded refresh_token.reused events of a session: (type, username, sid)."""
    if srv.on_postgresql:
        rows = psql(srv.database_url, f"SELECT type || '|' || username || '|' || sid FROM events "
                                      f"WHERE sid = '{sid}' AND type = 'refresh_token.reused' "
                                      f"ORDER BY id")
        return [tuple(r.split("|")) for r in rows]
    db = sqlite3.connect(str(srv.data_dir / "gatehouse.db"), timeout=10)
    try:
        return db.execute("SELECT type, username, sid FROM events WHERE sid = ? "
                          "AND type = 'refresh_token.reused' ORDER BY id", (sid,)).fetchall()
    finally:
        db.close()


def concurrent(n, fn):
    barrier = threading.Barrier(n)

    def run(i):
        barrier.wait()
        return fn(i)

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(run, range(n)))


def one_answer(answers) -> dict:
    """Every concurrent refresh of one token answered 200 with the same body; that body."""
    assert all(a.status_code == 200 for a in answers), [a.text for a in answers]
    bodies = {a.text for a in answers}
    assert len(bodies) == 1, bodies
    return answers[0].json()


# -- the shape of a rotated answer ------------------------------------------------------------------

def test_rotation_answers_a_new_pair_in_the_same_session_with_the_same_exp(srv, tmp_path):
    user, reg = srv.new_user("rot", PW)
    r = refresh(srv, reg["refresh_token"])
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"access_token", "refresh_token"}
    assert r.headers.get("Cache-Control", "").startswith("no-store")
    old = decode(reg["refresh_token"], srv.secret)
    new = decode(body["refresh_token"], srv.secret)
    assert new["type"] == "refresh" and new["sid"] == old["sid"] and new["sub"] == user
    assert new["jti"] != old["jti"] and new["exp"] == old["exp"]
    access = decode(body["access_token"], srv.secret)
    assert access["type"] == "access" and access["fresh"] is False and access["sid"] == old["sid"]
    # The real Flask-JWT-Extended takes the rotated tokens as its own.
    flask = FlaskResourceServer(tmp_path / "flask", srv.secret)
    try:
        got = flask.get("/refresh-only", body["refresh_token"])
        assert got.status_code == 200 and got.json() == {"identity": user, "type": "refresh"}
        assert flask.get("/protected", body["access_token"]).status_code == 200
    finally:
        flask.stop()
    assert refresh(srv, body["refresh_token"]).status_code == 200


# -- concurrency: N refreshes of one token ------------------------------------------------------------

@pytest.mark.parametrize("n", [2, 16])
def test_concurrent_refreshes_of_one_token_all_get_the_identical_answer(srv, n):
    for _ in range(ROUNDS):
        _, reg = srv.new_user("conc", PW)
        answer = one_answer(concurrent(n, lambda i: refresh(srv, reg["refresh_token"])))
        assert refresh(srv, answer["refresh_token"]).status_code == 200
        assert srv.me(answer["access_token"]).status_code == 200
    report(f"concurrent x{n}", rounds=ROUNDS, refreshes=ROUNDS * n, distinct_answers=ROUNDS)


# -- replays inside and outside the interval, stale lineages ---------------------------------------

def test_replay_inside_the_interval_gets_the_identical_answer_even_after_the_new_token_was_used(srv):
    _, reg = srv.new_user("rep", PW)
    first = refresh(srv, reg["refresh_token"])
    assert first.status_code == 200
    second = refresh(srv, first.json()["refresh_token"])  # the answered token is used in turn
    assert second.status_code == 200
    again = refresh(srv, reg["refresh_token"])
    assert again.status_code == 200 and again.text == first.text
    again2 = refresh(srv, first.json()["refresh_token"])
    assert again2.text == second.text


def test_replay_after_the_interval_revokes_the_whole_session_and_records_the_event(srv):
    user, reg = srv.new_user("reuse", PW)
    sid = decode(reg["refresh_token"], srv.secret)["sid"]
    first = refresh(srv, reg["refresh_token"]).json()
    time.sleep(INTERVAL + 1.1)
    assert_token_error(refresh(srv, reg["refresh_token"]), "Token has been revoked")
    # The thief's copy and the rightful holder's new pair are all dead.
    assert_token_error(refresh(srv, first["refresh_token"]), "Token has been revoked")
    assert_token_error(srv.me(first["access_token"]), "Token has been revoked")
    assert_token_error(srv.me(reg["access_token"]), "Token has been revoked")
    assert reuse_events(srv, sid) == [("refresh_token.reused", user, sid)]
    # Presented again: refused, and no second event (the session is already gone).
    assert_token_error(refresh(srv, reg["refresh_token"]), "Token has been revoked")
    assert len(reuse_events(srv, sid)) == 1


def test_a_stale_lineage_is_reuse(srv):
    """A -> B -> C, each after the interval; A or B presented later revokes the session."""
    for stale_index in (0, 1):
        _, reg = srv.new_user("stale", PW)
        chain = [reg["refresh_token"]]
        for _ in range(2):
            time.sleep(INTERVAL + 1.1)
            r = refresh(srv, chain[-1])
            assert r.status_code == 200, r.text
            chain.append(r.json()["refresh_token"])
        if stale_index == len(chain) - 2:  # used just now: wait its interval out
            time.sleep(INTERVAL + 1.1)
        assert_token_error(refresh(srv, chain[stale_index]), "Token has been revoked")
        assert_token_error(refresh(srv, chain[-1]), "Token has been revoked")


def test_other_sessions_of_the_user_survive_a_reuse(srv):
    user, reg = srv.new_user("other", PW)
    other = srv.login(user, PW).json()
    refresh(srv, reg["refresh_token"])
    time.sleep(INTERVAL + 1.1)
    assert refresh(srv, reg["refresh_token"]).status_code == 401
    assert refresh(srv, other["refresh_token"]).status_code == 200


# -- refresh racing the end of its session ------------------------------------------------------------

@pytest.mark.parametrize("ender", ["delete", "logout_all", "logout_refresh"])
def test_refresh_racing_the_end_of_its_session_leaves_no_live_token(srv, ender):
    outcomes = {"refresh_first": 0, "end_first": 0}
    for _ in range(ROUNDS * 2):
        user, reg = srv.new_user("race", PW)
        sid = decode(reg["refresh_token"], srv.secret)["sid"]
        other = srv.login(user, PW).json()  # the hand that ends session A

        def act(i):
            if i == 0:
                return refresh(srv, reg["refresh_token"])
            if ender == "delete":
                return srv.request("DELETE", f"/sessions/{sid}", headers=bearer(other["access_token"]))
            if ender == "logout_all":
                return srv.post("/logout/all", headers=bearer(reg["access_token"]))
            return srv.post("/logout/refresh", headers=bearer(reg["refresh_token"]))

        got_refresh, got_end = concurrent(2, act)
        assert got_end.status_code == 200, got_end.text
        outcomes["refresh_first" if got_refresh.status_code == 200 else "end_first"] += 1
        live = [reg["refresh_token"]]
        if got_refresh.status_code == 200:
            live += [got_refresh.json()["refresh_token"]]
            assert_token_error(srv.me(got_refresh.json()["access_token"]), "Token has been revoked")
        else:
            assert_token_error(got_refresh, "Token has been revoked")
        for token in live:
            assert_token_error(refresh(srv, token), "Token has been revoked")
    report(f"race with {ender}", **outcomes)


# -- kill -9 during a refresh storm ----------------------------------------------------------------------

class Chain:
    """One client refreshing its session again and again, remembering what was acknowledged."""

    def __init__(self, refresh_token):
        self.current = refresh_token  # the refresh token last answered to us
        self.used: list[tuple[str, str]] = []  # (token presented, answer body) acknowledged
        self.in_flight = False

    def step(self, srv, stop: threading.Event, session):
        while not stop.is_set():
            try:
                r = refresh(srv, self.current, session)
            except requests.RequestException:
                return  # the server died mid-request: this one was never acknowledged
            if r.status_code != 200:
                raise AssertionError(f"refresh refused during the storm: {r.status_code} {r.text}")
            self.used.append((self.current, r.text))
            self.current = r.json()["refresh_token"]


def test_kill_9_during_a_refresh_storm_keeps_every_acknowledged_answer(server_factory):
    srv = server_factory(args=["--jwt-refresh-rotation", "true", "--jwt-refresh-reuse-interval",
                               "10s", "--rate-limit-refresh-per-user", "0"])
    rng = random.Random(int(os.environ.get("GATEHOUSE_ROTATION_SEED", time.time())))
    totals = {"rounds": 0, "acknowledged": 0, "replayed_identically": 0, "used_refused": 0}
    for _ in range(ROUNDS):
        chains = [Chain(srv.new_user("k9", PW)[1]["refresh_token"]) for _ in range(6)]
        stop = threading.Event()
        threads = [threading.Thread(target=c.step, args=(srv, stop, requests.Session()))
                   for c in chains]
        for t in threads:
            t.start()
        time.sleep(rng.uniform(0.2, 1.5))
        srv.kill9()
        stop.set()
        for t in threads:
            t.join(30)
        srv.start()
        totals["rounds"] += 1
        for c in chains:
            totals["acknowledged"] += len(c.used)
            if c.used:
                # Within the interval, across the restart: the last acknowledged answer again.
                presented, body = c.used[-1]
                r = refresh(srv, presented)
                assert r.status_code == 200 and r.text == body, (r.status_code, r.text)
                totals["replayed_identically"] += 1
            # The token answered as current works (rotated now, or its in-flight use replayed).
            r = refresh(srv, c.current)
            assert r.status_code == 200, r.text
            c.used.append((c.current, r.text))
            c.current = r.json()["refresh_token"]
        time.sleep(10 + 1.1)
        for c in chains:
            # A used token stays used after kill -9 and restart: refused, and the session with it.
            if len(c.used) >= 2:
                assert_token_error(refresh(srv, c.used[0][0]), "Token has been revoked")
                assert_token_error(refresh(srv, c.current), "Token has been revoked")
                totals["used_refused"] += 1
    report("kill -9 storm", **totals)


# -- backup and restore --------------------------------------------------------------------------------

@pytest.mark.sqlite_only
def test_a_restored_backup_revives_used_tokens_until_sessions_end_all(server_factory, tmp_path):
    """docs/api.md, 'Restoring a backup': a copy taken before a rotation knows nothing of it, so
    the token used after the backup would work again once; `gatehouse sessions end-all` after the
    restore ends every session, and no used token (nor any other) comes back."""
    srv = server_factory(args=ROTATING)
    _, reg = srv.new_user("bak", PW)
    db = srv.data_dir / "gatehouse.db"
    backup = tmp_path / "backup.db"

    def copy(source, target):
        a, b = sqlite3.connect(str(source)), sqlite3.connect(str(target))
        a.backup(b)
        a.close()
        b.close()

    copy(db, backup)
    r = refresh(srv, reg["refresh_token"])
    assert r.status_code == 200
    srv.stop()
    pristine = tmp_path / "pristine.db"
    copy(backup, pristine)  # to show what the restore alone would do

    def restore(source):
        for suffix in ("", "-wal", "-shm"):
            p = srv.data_dir / f"gatehouse.db{suffix}"
            if p.exists():
                p.unlink()
        copy(source, db)
        db.chmod(0o600)

    # The restore alone: the copy's current token is the one used after it was taken.
    restore(pristine)
    srv.start()
    time.sleep(INTERVAL + 1.1)
    assert refresh(srv, reg["refresh_token"]).status_code == 200  # revived: what the docs warn of
    srv.stop()
    # The documented procedure: restore, then end every session before serving.
    restore(backup)
    done = run_cli(["sessions", "end-all"], data_dir=srv.data_dir)
    assert done.returncode == 0 and done.stdout.strip() == "ended 1 sessions", done
    srv.start()
    assert_token_error(refresh(srv, reg["refresh_token"]), "Token has been revoked")
    assert_token_error(refresh(srv, r.json()["refresh_token"]), "Token has been revoked")
    assert_token_error(srv.me(r.json()["access_token"]), "Token has been revoked")


# -- two instances on one PostgreSQL ------------------------------------------------------------------

@requires_pg
def test_two_instances_refreshing_one_session_agree(server_factory):
    a, b = instances(server_factory, 2, args=ROTATING)
    for _ in range(ROUNDS * 3):
        _, reg = a.new_user("ab", PW)
        answer = one_answer(
            concurrent(8, lambda i: refresh(a if i % 2 else b, reg["refresh_token"])))
        assert refresh(b, answer["refresh_token"]).status_code == 200  # the answer works on B
    # A reuse on one instance: the session's tokens are refused by the other within 1 s.
    _, reg = a.new_user("ab", PW)
    answer = refresh(a, reg["refresh_token"]).json()
    time.sleep(INTERVAL + 1.1)
    assert_token_error(refresh(b, reg["refresh_token"]), "Token has been revoked")
    assert gh.poll(lambda: a.me(answer["access_token"]).status_code == 401, timeout=1.0)
    assert_token_error(refresh(a, answer["refresh_token"]), "Token has been revoked")
    report("two instances", rounds=ROUNDS * 3, refreshes=ROUNDS * 3 * 8)


# -- a PostgreSQL restart in the middle of a refresh storm --------------------------------------------

@requires_pg
@pytest.mark.skipif(not can_run_own_cluster(), reason="needs PostgreSQL server binaries")
def test_postgresql_restart_mid_storm_keeps_every_acknowledged_answer(server_factory):
    """Two instances refresh while their PostgreSQL stops and starts again: refreshes in the gap
    answer 503 (never a 200 that is lost); afterwards every acknowledged answer is replayed
    identically, every current token works, and a used one is refused after the interval."""
    port = free_port()
    cluster = Cluster(Path(f"/tmp/gatehouse-pg-rotation-{port}"), port)
    cluster.destroy()
    base = cluster.start()
    try:
        db = gh.pg_create_database(base)
        interval = 30
        servers = instances(server_factory, 2, database=db, args=[
            "--jwt-refresh-rotation", "true", "--jwt-refresh-reuse-interval", f"{interval}s",
            "--rate-limit-refresh-per-user", "0"])
        chains = [Chain(servers[0].new_user("pgr", PW)[1]["refresh_token"]) for _ in range(4)]
        stop = threading.Event()

        def storm(c, srv):
            session = requests.Session()
            while not stop.is_set():
                try:
                    r = refresh(srv, c.current, session)
                except requests.RequestException:
                    continue
                if r.status_code == 503:
                    continue  # the database is away: nothing acknowledged
                assert r.status_code == 200, r.text
                c.used.append((c.current, r.text))
                c.current = r.json()["refresh_token"]

        errors = []

        def run(c, srv):
            try:
                storm(c, srv)
            except AssertionError as e:
                errors.append(e)

        threads = [threading.Thread(target=run, args=(c, servers[i % 2]))
                   for i, c in enumerate(chains)]
        for t in threads:
            t.start()
        time.sleep(1.0)
        cluster.stop()
        time.sleep(1.0)
        cluster.start()
        assert gh.poll(lambda: servers[0].get("/readyz").status_code == 200, timeout=15)
        time.sleep(1.0)
        stop.set()
        for t in threads:
            t.join(30)
        assert not errors, errors
        for i, c in enumerate(chains):
            other = servers[(i + 1) % 2]
            if c.used:
                presented, body = c.used[-1]
                r = refresh(other, presented)
                assert r.status_code == 200 and r.text == body, (r.status_code, r.text)
            assert refresh(other, c.current).status_code == 200
        report("postgresql restart mid-storm",
               acknowledged=sum(len(c.used) for c in chains))
    finally:
        cluster.destroy()
