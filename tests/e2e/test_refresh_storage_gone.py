"""Issue 16 F2: without rotation a refresh records its session's use after its answer
(docs/api.md: `last_used_at` is approximate), but never on storage known to be gone. With the
SQLite database file deleted or replaced under the running server, a refresh of a session
answers 503 `Storage unavailable, try again shortly` (as every write does, test_trust_storage)
within 10 ms of the file going,
and answers 200 again once the very file is back.
"""

import os
import shutil

import pytest

from gatehouse_e2e import assert_json, bearer, poll

pytestmark = pytest.mark.sqlite_only  # the SQLite file is what goes away

UNAVAILABLE = {"message": "Storage unavailable, try again shortly"}


def refresh(srv, token):
    return srv.post("/token/refresh", headers=bearer(token))


@pytest.mark.parametrize("how", ["deleted", "replaced", "all files deleted"])
def test_a_refresh_on_a_lost_database_file_answers_503(server, how):
    _, tokens = server.new_user("gone")
    assert_json(refresh(server, tokens["refresh_token"]), 200)
    db = server.data_dir / "gatehouse.db"
    if how == "replaced":
        copy = db.with_name("copy.db")
        shutil.copyfile(db, copy)
        os.replace(copy, db)
    else:
        names = ["gatehouse.db"] + (["gatehouse.db-wal", "gatehouse.db-shm"]
                                    if how == "all files deleted" else [])
        for name in names:
            if (server.data_dir / name).exists():
                os.unlink(server.data_dir / name)
    # the server looks at the file at most every 10 ms on this path (docs/api.md)
    assert poll(lambda: refresh(server, tokens["refresh_token"]).status_code == 503, timeout=1)
    for _ in range(3):
        r = refresh(server, tokens["refresh_token"])
        assert r.status_code == 503, (r.status_code, r.text)
        assert r.json() == UNAVAILABLE, r.text
        assert r.headers.get("Retry-After", "").isdigit(), r.headers


def test_a_refresh_answers_again_when_the_same_file_comes_back(server):
    _, tokens = server.new_user("back")
    db = server.data_dir / "gatehouse.db"
    aside = db.with_name("aside.db")
    os.rename(db, aside)
    assert poll(lambda: refresh(server, tokens["refresh_token"]).status_code == 503, timeout=1)
    os.rename(aside, db)  # the very file the server opened: nothing was lost
    assert poll(lambda: refresh(server, tokens["refresh_token"]).status_code == 200, timeout=5)
