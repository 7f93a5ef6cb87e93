"""API.md §6 / issue 6: gatehouse import-flask <the Flask service's SQLite file>."""

import re
import sqlite3
import uuid

import pytest

from gatehouse_e2e import assert_message, assert_token_error, assert_tokens_pair
from ops_support import (
    assert_failed, assert_ok, build_flask_db, describe, dump_table, flask_token,
    pbkdf2_hash_with_dot, pbkdf2_sha256_hash, run_cli, secret32, stored_hash,
)

USERS = {  # username -> password
    "alice": "alice password",
    "Bob.Builder": "b0b's pässwörd",  # mixed case name, non-ASCII password
    "carol@example.com": "carol password",
    "dave": "dave password",
    "erin": "erin password",
    "frank": "abc12",  # the Flask service had no minimum; /login applies none either
}


def first_int(text):
    m = re.search(r"\d+", text)
    return int(m.group()) if m else None


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    """A Flask database, imported twice into a fresh data dir; row dumps around the 2nd run."""
    base = tmp_path_factory.mktemp("import")
    hashes = {
        "alice": pbkdf2_sha256_hash(USERS["alice"]),
        "Bob.Builder": pbkdf2_hash_with_dot(USERS["Bob.Builder"], where="salt"),
        "carol@example.com": pbkdf2_hash_with_dot(USERS["carol@example.com"], where="checksum"),
        "dave": pbkdf2_sha256_hash(USERS["dave"], rounds=20000),
        "erin": pbkdf2_sha256_hash(USERS["erin"]),
        "frank": pbkdf2_sha256_hash(USERS["frank"]),
    }
    assert "." in hashes["Bob.Builder"].split("$")[3]
    assert "." in hashes["carol@example.com"].split("$")[4]
    revoked = [str(uuid.uuid4()) for _ in range(3)]
    flask_db = base / "flask.db"
    build_flask_db(flask_db, list(hashes.items()), revoked)
    data_dir = base / "data"

    first = run_cli(["import-flask", str(flask_db)], data_dir=data_dir)
    assert_ok(first)
    users_1 = dump_table(data_dir, "users")
    revs_1 = dump_table(data_dir, "revocations")
    second = run_cli(["import-flask", str(flask_db)], data_dir=data_dir)
    assert_ok(second)
    users_2 = dump_table(data_dir, "users")
    revs_2 = dump_table(data_dir, "revocations")
    return dict(base=base, flask_db=flask_db, data_dir=data_dir, revoked=revoked, hashes=hashes,
                first=first, second=second, users=(users_1, users_2), revs=(revs_1, revs_2))


@pytest.fixture(scope="module")
def secret():
    return secret32()


@pytest.fixture(scope="module")
def srv(imported, secret, tmp_path_factory):
    import gatehouse_e2e as gh
    f = gh.Factory(tmp_path_factory.mktemp("import-srv"))
    s = f(name="gatehouse(import)", data_dir=imported["data_dir"], args=["--jwt-secret", secret])
    yield s
    f.close()


def test_import_summary(imported):
    out = imported["first"].stdout.strip()
    assert out and len(out.splitlines()) == 1, describe(imported["first"])
    assert first_int(out) == len(USERS), describe(imported["first"])
    assert str(len(imported["revoked"])) in re.findall(r"\d+", out), describe(imported["first"])


def test_second_import_changes_nothing(imported):
    users_1, users_2 = imported["users"]
    revs_1, revs_2 = imported["revs"]
    assert len(users_1) == len(USERS)
    assert len(revs_1) >= len(imported["revoked"])
    assert users_1 == users_2
    assert revs_1 == revs_2
    out = imported["second"].stdout.strip()
    assert out and len(out.splitlines()) == 1, describe(imported["second"])
    assert first_int(out) == 0, f"second run should report 0 new: {out!r}"


@pytest.mark.parametrize("name", list(USERS))
def test_old_password_logs_in_and_is_rehashed_to_argon2id(srv, imported, name):
    assert_message(srv.login(name, "not " + USERS[name]), 401, "Wrong credentials")
    r = srv.login(name, USERS[name])
    tok = assert_tokens_pair(r, f"Logged in as {name}")
    h = stored_hash(imported["data_dir"], name)
    assert h.startswith("$argon2id$"), h[:20]
    r = srv.me(tok["access_token"])
    assert r.status_code == 200 and r.json()["username"] == name, r.text
    # after the re-hash: the same password still works, a wrong one still does not
    assert_tokens_pair(srv.login(name, USERS[name]), f"Logged in as {name}")
    assert_message(srv.login(name, USERS[name] + "x"), 401, "Wrong credentials")
    assert stored_hash(imported["data_dir"], name).startswith("$argon2id$")


def test_imported_name_is_case_insensitive_for_registration(srv):
    assert srv.register("ALICE", "something else").status_code == 409


def test_flask_tokens_revoked_there_stay_revoked(srv, imported, secret):
    for jti in imported["revoked"]:
        assert_token_error(srv.me(flask_token(secret, "alice", jti=jti)), "Token has been revoked")
        t = flask_token(secret, "alice", type_="refresh", jti=jti, ttl=3600)
        assert_token_error(srv.refresh(t), "Token has been revoked")


def test_flask_token_not_revoked_is_accepted(srv, secret):
    r = srv.me(flask_token(secret, "erin", fresh=True))
    assert r.status_code == 200 and r.json()["username"] == "erin", r.text
    r = srv.refresh(flask_token(secret, "erin", type_="refresh", ttl=3600))
    assert r.status_code == 200, r.text
    assert srv.me(r.json()["access_token"]).status_code == 200


# -- files that are not a Flask database -----------------------------------------------

def test_text_file_is_refused(tmp_path):
    f = tmp_path / "notes.txt"
    f.write_text("this is not a database\n" * 50)
    assert_failed(run_cli(["import-flask", str(f)], data_dir=tmp_path / "data"))


def test_sqlite_without_the_tables_is_refused(tmp_path):
    f = tmp_path / "empty.db"
    con = sqlite3.connect(str(f))
    con.execute("CREATE TABLE something_else (x INTEGER)")
    con.commit()
    con.close()
    assert_failed(run_cli(["import-flask", str(f)], data_dir=tmp_path / "data"))


def test_empty_sqlite_file_is_refused(tmp_path):
    f = tmp_path / "zero.db"
    sqlite3.connect(str(f)).close()  # a 0-byte file is a valid, empty SQLite database
    assert_failed(run_cli(["import-flask", str(f)], data_dir=tmp_path / "data"))


def test_missing_file_is_refused_and_not_created(tmp_path):
    f = tmp_path / "missing" / "flask.db"
    g = tmp_path / "flask-missing.db"
    assert_failed(run_cli(["import-flask", str(f)], data_dir=tmp_path / "data"))
    assert_failed(run_cli(["import-flask", str(g)], data_dir=tmp_path / "data"))
    assert not f.exists() and not f.parent.exists()
    assert not g.exists()


def test_refused_import_leaves_the_store_empty(tmp_path):
    f = tmp_path / "notes.txt"
    f.write_text("nope")
    data_dir = tmp_path / "data"
    assert_failed(run_cli(["import-flask", str(f)], data_dir=data_dir))
    p = run_cli(["user", "list", "--json"], data_dir=data_dir)
    assert_ok(p)
    assert p.stdout.strip() == "[]", describe(p)


def test_import_needs_a_file_argument(tmp_path):
    p = run_cli(["import-flask"], data_dir=tmp_path / "data")
    assert p.returncode == 2, describe(p)


def test_names_no_token_could_carry_are_skipped(tmp_path):
    """docs/api.md: a token whose sub holds a control character or is over 256 bytes is
    `Invalid token`, so an account so named could never use one: the import skips it."""
    names = ["grace", "ctl\x01name", "new\nline", "del\x7fete", "g" * 257, "h" * 256]
    flask_db = tmp_path / "flask.db"
    build_flask_db(flask_db, [(n, pbkdf2_sha256_hash("grace password")) for n in names], [])
    data_dir = tmp_path / "data"
    p = run_cli(["import-flask", str(flask_db)], data_dir=data_dir)
    assert_ok(p)
    assert first_int(p.stdout) == 2, describe(p)
    rows = dump_table(data_dir, "users")
    assert len(rows) == 2, rows
    assert any("grace" in str(r) for r in rows) and any("h" * 256 in str(r) for r in rows), rows
