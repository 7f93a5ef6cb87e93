"""API.md §7 / issue 6: gatehouse version, --help, user add|list|remove|passwd."""

import json
import re

import pytest

from gatehouse_e2e import RFC3339_RE, assert_message, assert_tokens_pair
from ops_support import assert_failed, assert_ok, describe, is_revoked, poll, run_cli

PW = "cli password 1"
NEW_PW = "cli password 2"


@pytest.fixture
def data_dir(tmp_path):
    return tmp_path / "data"


def add(data_dir, name, pw=PW, flag=True, cwd=None):
    args = ["user", "add", name] + (["--password-stdin"] if flag else [])
    return run_cli(args, data_dir=data_dir, input=pw + "\n", cwd=cwd)


def assert_created(p, name):
    assert_ok(p)
    assert f"created user {name}" in p.stdout.splitlines(), describe(p)


# -- version and help ------------------------------------------------------------------

def test_version(tmp_path):
    p = run_cli(["version"], cwd=tmp_path)
    assert_ok(p)
    assert re.fullmatch(r"gatehouse \d+\.\d+\.\d+\n?", p.stdout), describe(p)


@pytest.mark.parametrize("argv", [
    ["--help"],
    ["serve", "--help"],
    ["user", "--help"],
    ["user", "add", "--help"],
    ["user", "list", "--help"],
    ["user", "remove", "--help"],
    ["user", "passwd", "--help"],
    ["import-flask", "--help"],
    ["version", "--help"],
], ids=lambda a: " ".join(a))
def test_help(tmp_path, argv):
    p = run_cli(argv, cwd=tmp_path)
    assert_ok(p)
    assert "Usage" in p.stdout + p.stderr, describe(p)
    assert not (tmp_path / "gatehouse-data").exists(), "--help touched the default data dir"


# -- user add --------------------------------------------------------------------------

def test_user_add_then_server_logs_in(server_factory, data_dir, tmp_path):
    assert_created(add(data_dir, "Carol.A"), "Carol.A")
    assert_created(add(data_dir, "dave", pw=NEW_PW, flag=False), "dave")  # stdin is a pipe
    srv = server_factory(data_dir=data_dir)
    assert_tokens_pair(srv.login("Carol.A", PW), "Logged in as Carol.A")
    assert_tokens_pair(srv.login("dave", NEW_PW), "Logged in as dave")
    assert_message(srv.login("dave", PW), 401, "Wrong credentials")
    # registration of the same name (any case) is taken
    assert srv.register("carol.a", "whatever123").status_code == 409
    # a user added while the server runs can log in at once
    assert_created(add(data_dir, "erin"), "erin")
    assert_tokens_pair(srv.login("erin", PW), "Logged in as erin")
    r = srv.me(srv.login("erin", PW).json()["access_token"])
    assert r.status_code == 200 and r.json()["username"] == "erin", r.text


def test_user_add_duplicate(data_dir):
    assert_created(add(data_dir, "frank"), "frank")
    assert_failed(add(data_dir, "frank"))
    assert_failed(add(data_dir, "FRANK"))  # unique without regard to ASCII case


def test_user_add_short_password(data_dir):
    assert_failed(add(data_dir, "gina", pw="short"), contains="password")
    p = run_cli(["user", "list", "--json"], data_dir=data_dir)
    assert_ok(p)
    assert json.loads(p.stdout) == [], describe(p)


def test_password_with_nul_byte_is_refused_by_add_and_passwd(data_dir):
    # No HTTP client can send a NUL byte in a password (400), so the CLI must not store one.
    assert_failed(add(data_dir, "nul_user", pw="pass\0word123"), contains="NUL")
    assert_created(add(data_dir, "nul_user"), "nul_user")
    assert_failed(run_cli(["user", "passwd", "nul_user", "--password-stdin"], data_dir=data_dir,
                          input="pass\0word123\n"), contains="NUL")


@pytest.mark.parametrize("name", ["a b", "x" * 65, "semi;colon"])
def test_user_add_bad_username(data_dir, name):
    assert_failed(add(data_dir, name))


def test_user_add_missing_name_is_bad_usage(data_dir):
    p = run_cli(["user", "add", "--password-stdin"], data_dir=data_dir, input=PW + "\n")
    assert p.returncode == 2, describe(p)


# -- user list -------------------------------------------------------------------------

def test_user_list_text_and_json(data_dir):
    names = ["henry", "Iris@example.com"]
    for n in names:
        assert_created(add(data_dir, n), n)
    p = run_cli(["user", "list"], data_dir=data_dir)
    assert_ok(p)
    lines = p.stdout.splitlines()
    assert len(lines) == 2, describe(p)
    seen = {}
    for ln in lines:
        parts = ln.split("\t")
        assert len(parts) == 2, ln
        assert RFC3339_RE.match(parts[1]), ln
        seen[parts[0]] = parts[1]
    assert set(seen) == set(names), seen

    p = run_cli(["user", "list", "--json"], data_dir=data_dir)
    assert_ok(p)
    arr = json.loads(p.stdout)
    assert isinstance(arr, list) and len(arr) == 2, arr
    for obj in arr:
        assert set(obj) == {"username", "created_at"}, obj
        assert RFC3339_RE.match(obj["created_at"]), obj
    assert {o["username"]: o["created_at"] for o in arr} == seen


# -- user passwd -----------------------------------------------------------------------

def test_user_passwd_with_running_server(server_factory, data_dir):
    srv = server_factory(data_dir=data_dir)
    u, reg = srv.new_user("pw", PW)
    login = srv.login(u, PW).json()
    p = run_cli(["user", "passwd", u, "--password-stdin"], data_dir=data_dir, input=NEW_PW + "\n")
    assert_ok(p)
    for t in (reg["access_token"], login["access_token"]):
        assert poll(lambda: is_revoked(srv.me(t)), timeout=3), srv.me(t).text
    for t in (reg["refresh_token"], login["refresh_token"]):
        assert poll(lambda: is_revoked(srv.refresh(t)), timeout=3), srv.refresh(t).text
    assert_message(srv.login(u, PW), 401, "Wrong credentials")
    new = assert_tokens_pair(srv.login(u, NEW_PW), f"Logged in as {u}")
    assert srv.me(new["access_token"]).status_code == 200


def test_user_passwd_short_or_unknown(data_dir):
    assert_created(add(data_dir, "jack"), "jack")
    assert_failed(run_cli(["user", "passwd", "jack", "--password-stdin"], data_dir=data_dir,
                          input="short\n"), contains="password")
    assert_failed(run_cli(["user", "passwd", "nobody_here", "--password-stdin"], data_dir=data_dir,
                          input=NEW_PW + "\n"))


# -- user remove -----------------------------------------------------------------------

def test_user_remove_with_running_server(server_factory, data_dir):
    srv = server_factory(data_dir=data_dir)
    u, reg = srv.new_user("rm", PW)
    other, other_reg = srv.new_user("keep", PW)
    assert srv.me(reg["access_token"]).status_code == 200
    p = run_cli(["user", "remove", u], data_dir=data_dir)
    assert_ok(p)
    ok = poll(lambda: is_revoked(srv.me(reg["access_token"])), timeout=3)
    r = srv.me(reg["access_token"])
    assert ok, (r.status_code, r.text)
    assert r.headers.get("WWW-Authenticate") == \
        'Bearer error="invalid_token", error_description="Token has been revoked"', r.headers
    assert poll(lambda: is_revoked(srv.refresh(reg["refresh_token"])), timeout=3)
    assert_message(srv.login(u, PW), 401, "Wrong credentials")
    assert_failed(run_cli(["user", "remove", u], data_dir=data_dir))
    # the other user is untouched
    assert srv.me(other_reg["access_token"]).status_code == 200
    assert srv.login(other, PW).status_code == 200
    p = run_cli(["user", "list", "--json"], data_dir=data_dir)
    assert_ok(p)
    assert [o["username"] for o in json.loads(p.stdout)] == [other], p.stdout


def test_user_remove_unknown(data_dir):
    assert_created(add(data_dir, "kate"), "kate")
    assert_failed(run_cli(["user", "remove", "nobody_here"], data_dir=data_dir))


# -- settings --------------------------------------------------------------------------

@pytest.mark.parametrize("argv", [
    ["user", "list", "--jwt-access-ttl=banana"],
    ["user", "list", "--jwt-access-ttl", "banana"],
    ["user", "remove", "x", "--jwt-access-ttl=banana"],
])
def test_bad_setting_on_storage_command_exits_2(data_dir, argv):
    p = run_cli(argv, data_dir=data_dir)
    assert p.returncode == 2, describe(p)
    assert "access" in p.stderr.lower() and "ttl" in p.stderr.lower(), describe(p)


def test_unknown_option_exits_2(data_dir):
    p = run_cli(["user", "list", "--no-such-option"], data_dir=data_dir)
    assert p.returncode == 2, describe(p)
