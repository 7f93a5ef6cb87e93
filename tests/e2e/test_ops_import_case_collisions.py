"""Issue 15, item 5: `import-flask` and names that differ only in case.

The Flask service kept `fiona` and `FIONA` apart (its UNIQUE column is case-sensitive);
gatehouse's names are unique without regard to ASCII case. Before: FIONA was merged into fiona
("1 already present", no name), could not log in with her password, and a Flask token with
sub=FIONA read as fiona. Now no member of such a group is imported, each is named on stderr,
the summary counts them, the exit status is 1 after the rest is imported, and after the
operator resolves the group in the copy (docs/operations.md) a second run imports it.
"""

import json
import re
import sqlite3
import time
import uuid

import jwt

import pytest

import gatehouse_e2e as gh
from gatehouse_e2e import assert_message, assert_tokens_pair
from ops_support import (assert_ok, build_flask_db, describe, dump_table, pbkdf2_sha256_hash,
                         run_cli, secret32)

FLASK_USERS = {  # the Flask service's rows, in rowid order: name -> password
    "fiona": "fiona's password",
    "harry": "harry's password",
    "FIONA": "FIONA's password",
    "george": "george's password",
    "Ivy": "ivy's password",
    "GEORGE": "GEORGE's password",
    "GeOrGe": "GeOrGe's password",
    "jane": "jane's password",  # collides with an account already in gatehouse: JANE
}
GROUPS = [["fiona", "FIONA"], ["george", "GEORGE", "GeOrGe"]]
CLEAN = ["harry", "Ivy"]


def flask_token_from_before(secret: str, sub: str, *, type_: str = "access") -> str:
    """A token the Flask service issued before the move (iat two minutes ago)."""
    now = int(time.time())
    payload = {"fresh": False, "iat": now - 120, "jti": str(uuid.uuid4()), "type": type_,
               "sub": sub, "nbf": now - 120, "exp": now + 3600}
    return jwt.encode(payload, secret, algorithm="HS256")


def gatehouse_users(data_dir) -> list[str]:
    p = run_cli(["user", "list", "--json"], data_dir=data_dir)
    assert_ok(p)
    text = p.stdout.strip()
    rows = json.loads(text) if text.startswith("[") else [json.loads(ln) for ln in text.splitlines()]
    return sorted(row["username"] for row in rows)


@pytest.fixture(scope="module")
def flask_import(tmp_path_factory):
    base = tmp_path_factory.mktemp("case")
    flask_db = base / "flask.db"
    build_flask_db(flask_db, [(u, pbkdf2_sha256_hash(pw)) for u, pw in FLASK_USERS.items()], [])
    data_dir = base / "data"
    assert_ok(run_cli(["user", "add", "JANE", "--password-stdin"], data_dir=data_dir,
                      input="JANE's own password\n"))
    first = run_cli(["import-flask", str(flask_db)], data_dir=data_dir)
    users_after_first = gatehouse_users(data_dir)
    second = run_cli(["import-flask", str(flask_db)], data_dir=data_dir)
    return dict(base=base, flask_db=flask_db, data_dir=data_dir, first=first, second=second,
                users_after_first=users_after_first, users_after_second=gatehouse_users(data_dir))


def not_imported_lines(p) -> list[str]:
    return [ln for ln in p.stderr.splitlines() if ln.startswith("not imported")]


def test_every_collision_is_named_and_none_of_a_group_is_imported(flask_import):
    p = flask_import["first"]
    assert p.returncode == 1, describe(p)  # the rest is in, but accounts are missing
    lines = not_imported_lines(p)
    assert len(lines) == 3, describe(p)
    for group in GROUPS:
        line = next((ln for ln in lines if group[0] in re.findall(r"[\w.@+-]+", ln)), None)
        assert line is not None, f"{group} not reported\n{describe(p)}"
        assert all(re.search(rf"(?<![\w.@+-]){re.escape(n)}(?![\w.@+-])", line) for n in group), line
        assert "case" in line
    jane = next(ln for ln in lines if " jane" in ln)
    assert "JANE" in jane and "case" in jane
    assert flask_import["users_after_first"] == sorted(CLEAN + ["JANE"])


def test_summary_counts_the_names_held_back(flask_import):
    out = flask_import["first"].stdout.strip()
    assert len(out.splitlines()) == 1, describe(flask_import["first"])
    assert int(re.search(r"\d+", out).group()) == len(CLEAN), out
    assert re.search(r"\b6 not imported\b", out), out
    assert re.search(r"\b0 already present\b", out), out


def test_a_second_run_changes_nothing_and_reports_them_again(flask_import):
    p = flask_import["second"]
    assert p.returncode == 1, describe(p)
    assert not_imported_lines(p) == not_imported_lines(flask_import["first"])
    assert flask_import["users_after_second"] == flask_import["users_after_first"]
    assert re.search(r"imported 0 users \(2 already present\b", p.stdout), p.stdout
    assert re.search(r"\b6 not imported\b", p.stdout), p.stdout


@pytest.fixture(scope="module")
def srv(flask_import, tmp_path_factory):
    secret = secret32()
    f = gh.Factory(tmp_path_factory.mktemp("case-srv"))
    s = f(name="gatehouse(case)", data_dir=flask_import["data_dir"], args=["--jwt-secret", secret])
    s.flask_secret = secret
    yield s
    f.close()


def test_nobody_of_a_group_can_log_in_or_use_a_flask_token(srv):
    for name in ["fiona", "FIONA", "george", "GEORGE", "jane"]:
        assert_message(srv.login(name, FLASK_USERS[name]), 401, "Wrong credentials")
        r = srv.me(flask_token_from_before(srv.flask_secret, name))
        assert r.status_code != 200, (name, r.status_code, r.text)
        r = srv.refresh(flask_token_from_before(srv.flask_secret, name, type_="refresh"))
        assert r.status_code != 200, (name, r.status_code, r.text)
    # the Flask service's tokens of names outside any group keep working
    assert srv.me(flask_token_from_before(srv.flask_secret, "harry")).status_code == 200
    assert_tokens_pair(srv.login("harry", FLASK_USERS["harry"]), "Logged in as harry")
    assert_tokens_pair(srv.login("JANE", "JANE's own password"), "Logged in as JANE")


def test_resolving_in_the_copy_then_importing_again(flask_import, tmp_path):
    """docs/operations.md: rename (or delete) in the copy, run the import again."""
    copy = tmp_path / "flask.db"
    copy.write_bytes(flask_import["flask_db"].read_bytes())
    data_dir = tmp_path / "data"
    assert run_cli(["import-flask", str(copy)], data_dir=data_dir).returncode == 1
    con = sqlite3.connect(copy)
    con.execute("UPDATE users SET username = 'fiona.2' WHERE username = 'FIONA'")
    con.execute("DELETE FROM users WHERE username IN ('GEORGE', 'GeOrGe')")
    con.commit()
    con.close()
    p = run_cli(["import-flask", str(copy)], data_dir=data_dir)
    assert_ok(p)
    assert not not_imported_lines(p), describe(p)
    assert int(re.search(r"\d+", p.stdout).group()) == 3, p.stdout  # fiona, fiona.2, george
    assert gatehouse_users(data_dir) == sorted(CLEAN + ["fiona", "fiona.2", "george", "jane"])
    secret = secret32()
    f = gh.Factory(tmp_path / "srv")
    try:
        s = f(name="gatehouse(resolved)", data_dir=data_dir, args=["--jwt-secret", secret])
        for name in ["fiona", "fiona.2", "george"]:
            assert_tokens_pair(s.login(name, FLASK_USERS["FIONA" if name == "fiona.2" else name]),
                               f"Logged in as {name}")
        # FIONA's token from the Flask service does not pass as fiona's after the move
        r = s.me(flask_token_from_before(secret, "FIONA"))
        assert r.status_code == 401, (r.status_code, r.text)
    finally:
        f.close()


def test_re_runs_keep_the_first_runs_cut(tmp_path):
    """A held-back name is cut once, at the first import that held it back: running the import
    again (twice here, each in a later second) leaves the cut as it was, so JANE's own token
    from after the first run stays good, and the Flask service's tokens of `jane` stay refused."""
    flask_db = tmp_path / "flask.db"
    build_flask_db(flask_db, [(u, pbkdf2_sha256_hash(pw)) for u, pw in FLASK_USERS.items()], [])
    data_dir = tmp_path / "data"
    assert_ok(run_cli(["user", "add", "JANE", "--password-stdin"], data_dir=data_dir,
                      input="JANE's own password\n"))
    assert run_cli(["import-flask", str(flask_db)], data_dir=data_dir).returncode == 1
    cuts = dump_table(data_dir, "user_revocations")
    assert len(cuts) == 3, cuts  # fiona, george, jane
    secret = secret32()
    f = gh.Factory(tmp_path / "srv")
    try:
        s = f(name="gatehouse(first run)", data_dir=data_dir, args=["--jwt-secret", secret])
        time.sleep(1.1)  # JANE's token is of a later second than the cut
        access = assert_tokens_pair(s.login("JANE", "JANE's own password"),
                                    "Logged in as JANE")["access_token"]
        s.stop()
        for _ in range(2):
            time.sleep(1.1)
            p = run_cli(["import-flask", str(flask_db)], data_dir=data_dir)
            assert p.returncode == 1, describe(p)
            assert dump_table(data_dir, "user_revocations") == cuts
        # A new server loads the cuts from the store, as every server does at start.
        s = f(name="gatehouse(after re-runs)", data_dir=data_dir, args=["--jwt-secret", secret])
        assert s.me(access).status_code == 200
        for name in ["jane", "fiona", "FIONA", "george"]:
            r = s.me(flask_token_from_before(secret, name))
            assert r.status_code == 401, (name, r.status_code, r.text)
    finally:
        f.close()
