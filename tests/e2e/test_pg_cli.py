"""Issue 4 / API.md §7: `gatehouse user add|list|remove --database <postgresql url>` works on the
database that running instances use, and they honour a removal within about a second."""

import json
import time

import pytest

from gatehouse_e2e import assert_message, assert_token_error, assert_tokens_pair
from pg_support import PW, REVOCATION_BOUND, assert_cli_ok, cli, instances, requires_pg, time_until_refused
from ops_support import describe

pytestmark = requires_pg


@pytest.fixture
def srv(server_factory):
    (a,) = instances(server_factory, 1)
    return a


def add(srv, tmp_path, name):
    return cli(["user", "add", name, "--password-stdin"], srv.database_url, tmp_path, input=PW + "\n")


def test_user_added_by_cli_on_the_database_logs_in_on_a_running_instance(srv, tmp_path):
    assert_cli_ok(add(srv, tmp_path, "cli.Carol"))
    assert_tokens_pair(srv.login("cli.Carol", PW), "Logged in as cli.Carol")


def test_user_add_by_cli_of_a_name_registered_on_an_instance_fails(srv, tmp_path):
    u, _ = srv.new_user("taken", PW)
    p = add(srv, tmp_path, u.upper())
    assert p.returncode == 1, describe(p)


def test_user_list_by_cli_shows_users_registered_on_an_instance(srv, tmp_path):
    names = [srv.new_user("listed", PW)[0] for _ in range(2)]
    p = cli(["user", "list", "--json"], srv.database_url, tmp_path)
    assert_cli_ok(p)
    assert sorted(o["username"] for o in json.loads(p.stdout)) == sorted(names), describe(p)


def test_user_removed_by_cli_has_its_token_refused_by_a_running_instance_within_1s(srv, tmp_path):
    u, reg = srv.new_user("rm", PW)
    assert srv.me(reg["access_token"]).status_code == 200
    p = cli(["user", "remove", u], srv.database_url, tmp_path)
    t0 = time.monotonic()
    assert_cli_ok(p)
    delay = time_until_refused(srv, reg["access_token"], t0)
    assert delay is not None and delay < REVOCATION_BOUND, delay
    assert_token_error(srv.refresh(reg["refresh_token"]), "Token has been revoked")


def test_user_removed_by_cli_can_no_longer_log_in(srv, tmp_path):
    u, _ = srv.new_user("rm", PW)
    assert_cli_ok(cli(["user", "remove", u], srv.database_url, tmp_path))
    assert_message(srv.login(u, PW), 401, "Wrong credentials")
