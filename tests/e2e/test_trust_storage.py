"""API.md §8 (issue 13 item 6): storage that goes away under a running server is noticed.

The SQLite file deleted or replaced under a running server: writes answer 503 `Storage
unavailable, try again shortly` with Retry-After, /readyz answers 503, the cause is logged, and a
200 is never given for a write that would be lost. Creating a new, empty database is logged with
its path, so a restart that finds the file gone says so.
"""

import json
import os
import shutil
import subprocess
import time

import pytest

import gatehouse_e2e as gh
from gatehouse_e2e import bearer, poll
from ops_support import log_lines, scrape

pytestmark = pytest.mark.sqlite_only  # the SQLite file is what goes away

UNAVAILABLE = {"message": "Storage unavailable, try again shortly"}


def db_path(srv):
    return srv.data_dir / "gatehouse.db"


def assert_unavailable(r):
    assert r.status_code == 503, (r.status_code, r.text)
    assert r.json() == UNAVAILABLE, r.text
    assert r.headers.get("Retry-After", "").isdigit(), r.headers


def break_storage(srv, how: str):
    db = db_path(srv)
    if how == "deleted":
        os.unlink(db)
    else:  # replaced: another file (a copy, so a valid database) put at the same path
        copy = db.with_name("copy.db")
        shutil.copyfile(db, copy)
        os.replace(copy, db)


@pytest.mark.parametrize("how", ["deleted", "replaced"])
def test_writes_and_readyz_answer_503_and_the_cause_is_logged(server, how):
    user, tokens = server.new_user("store")
    other = server.login(user).json()
    assert server.get("/readyz").status_code == 200
    break_storage(server, how)

    assert_unavailable(server.post("/logout/access", headers=bearer(tokens["access_token"])))
    assert_unavailable(server.post("/logout/refresh", headers=bearer(other["refresh_token"])))
    assert_unavailable(server.register("after_" + user))
    r = server.get("/readyz")
    assert r.status_code == 503, (r.status_code, r.text)
    lines = [ln for ln in log_lines(server) if str(db_path(server)) in ln and how in ln]
    assert lines, "no log line names the database and what happened:\n" + server.stderr_text()
    for line in lines:
        json.loads(line)
    # The server never recreates the file while running.
    if how == "deleted":
        assert not db_path(server).exists()


def test_a_new_empty_database_is_logged_with_its_path(server_factory):
    srv = server_factory()
    created = [ln for ln in log_lines(srv) if "created a new, empty database at" in ln]
    assert len(created) == 1, srv.stderr_text()
    assert str(db_path(srv)) in created[0], created[0]
    srv.terminate()
    srv.start()
    created = [ln for ln in log_lines(srv) if "created a new, empty database at" in ln]
    assert len(created) == 1, "a restart on an existing database logged a new one:\n" + srv.stderr_text()


def test_restart_after_the_file_went_logs_the_new_empty_database(server):
    server.new_user("gone")
    os.unlink(db_path(server))
    assert server.terminate() == 0
    server.start()
    created = [ln for ln in log_lines(server) if "created a new, empty database at" in ln]
    assert len(created) == 2, server.stderr_text()


def test_readyz_recovers_when_the_same_file_comes_back(server):
    db = db_path(server)
    aside = db.with_name("aside.db")
    os.rename(db, aside)
    assert server.get("/readyz").status_code == 503
    os.rename(aside, db)  # the very file the server opened: nothing was lost
    assert poll(lambda: server.get("/readyz").status_code == 200, timeout=15)
    server.new_user("back")


@pytest.fixture
def small_disk(tmp_path):
    """A 2 MiB tmpfs (root only: skipped where mounting is not allowed)."""
    mount = tmp_path / "small"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)],
                      capture_output=True).returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def fill(path):
    """Writes zeros into `path` until the disk is full."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT)
    try:
        while os.write(fd, b"\0" * 4096) > 0:
            pass
    except OSError:
        pass
    finally:
        os.close(fd)


def test_a_full_disk_answers_503_readyz_503_logged_and_recovers(small_disk):
    factory = gh.Factory(small_disk)
    try:
        srv = factory()
        users = [srv.new_user("full") for _ in range(3)]
        fill(small_disk / "fill")
        # A commit that cannot reach the disk is "storage unavailable", never 500 or 200.
        for _, tokens in users:
            assert_unavailable(srv.post("/logout/all", headers=bearer(tokens["access_token"])))
        assert srv.get("/readyz").status_code == 503
        assert any("storage unavailable" in ln for ln in log_lines(srv)), srv.stderr_text()
        os.unlink(small_disk / "fill")
        assert poll(lambda: srv.get("/readyz").status_code == 200, timeout=15)
        r = srv.post("/logout/all", headers=bearer(users[0][1]["access_token"]))
        assert r.status_code == 200, r.text
    finally:
        factory.close()


def test_readyz_stays_503_until_writes_have_not_failed_for_5_s(small_disk):
    """Attacker round 14 F2: on a nearly full disk small commits still fit between failing ones,
    and each success turned /readyz back to 200, so it flapped. A success now clears a failure
    only 5 s after the last one (docs/api.md, "Storage")."""
    factory = gh.Factory(small_disk)
    try:
        srv = factory()
        users = [srv.new_user("settle") for _ in range(2)]
        fill(small_disk / "fill")
        assert_unavailable(srv.post("/logout/all", headers=bearer(users[0][1]["access_token"])))
        failed_at = time.monotonic()
        os.unlink(small_disk / "fill")
        r = srv.post("/logout/all", headers=bearer(users[1][1]["access_token"]))
        assert r.status_code == 200, r.text  # writes reach the disk again ...
        statuses = []
        while time.monotonic() - failed_at < 3:
            statuses.append(srv.get("/readyz").status_code)  # ... but it is not ready yet
            time.sleep(0.2)
        assert set(statuses) == {503}, statuses
        assert poll(lambda: srv.get("/readyz").status_code == 200, timeout=15)
    finally:
        factory.close()


def store_errors(srv) -> float:
    return scrape(srv).value("gatehouse_store_errors_total")


def current_session(srv, tokens) -> dict:
    r = srv.get("/sessions", headers=bearer(tokens["access_token"]))
    assert r.status_code == 200, r.text
    return [s for s in r.json()["sessions"] if s["current"]][0]


def test_a_full_disk_is_not_ready_before_any_write_fails(small_disk):
    """Issue 16 F6: /readyz looks at the free space of the disk holding the database (one
    statvfs), so a full disk is 503 at once, not only after some request's write failed."""
    factory = gh.Factory(small_disk)
    try:
        srv = factory()
        srv.new_user("room")
        assert srv.get("/readyz").status_code == 200
        fill(small_disk / "fill")
        r = srv.get("/readyz")
        assert r.status_code == 503, (r.status_code, r.text)
        assert any("disk holding the database is full" in ln for ln in log_lines(srv)), \
            srv.stderr_text()
        os.unlink(small_disk / "fill")
        assert poll(lambda: srv.get("/readyz").status_code == 200, timeout=15)
        assert any("has room" in ln for ln in log_lines(srv)), srv.stderr_text()
    finally:
        factory.close()


def test_a_refresh_on_a_full_disk_answers_200_and_its_lost_use_is_counted_and_logged(small_disk):
    """Issue 16 F6 (docs/api.md, sessions): without rotation the token is valid and checked from
    memory, so the refresh answers 200; the session use it records after its answer cannot be
    written: that loss counts in gatehouse_store_errors_total, is logged, and /readyz is 503
    until a write succeeds again."""
    factory = gh.Factory(small_disk)
    try:
        srv = factory()
        _, tokens = srv.new_user("fullref")
        time.sleep(1.1)  # uses are recorded in whole seconds
        assert store_errors(srv) == 0
        fill(small_disk / "fill")
        r = srv.refresh(tokens["refresh_token"])
        assert r.status_code == 200, r.text
        assert poll(lambda: store_errors(srv) >= 1, timeout=5), scrape(srv).text
        assert poll(lambda: any("session use was not recorded" in ln for ln in log_lines(srv)),
                    timeout=5), srv.stderr_text()
        assert srv.get("/readyz").status_code == 503
        listed = current_session(srv, tokens)
        assert listed["last_used_at"] == listed["created_at"], listed  # the use was lost
        os.unlink(small_disk / "fill")
        assert poll(lambda: srv.get("/readyz").status_code == 200, timeout=15)
        assert srv.refresh(tokens["refresh_token"]).status_code == 200
        assert poll(lambda: current_session(srv, tokens)["last_used_at"] > listed["created_at"],
                    timeout=5), current_session(srv, tokens)
    finally:
        factory.close()
