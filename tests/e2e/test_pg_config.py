"""Issue 4 / API.md §7: selecting PostgreSQL (flag, environment, config file), the connection pool
setting, and bad database settings."""

import threading
from collections import Counter

import pytest
import requests

from gatehouse_e2e import HTTP_TIMEOUT, assert_tokens_pair, uname
from keys_support import wait_exit
from ops_support import log_lines
from pg_support import PW, requires_pg

pytestmark = requires_pg

SECRET_PW = "s3cret-db-pw-7f1d"


def fails_to_start(server_factory, **kw):
    srv = server_factory(start=False, **kw)
    srv.start(wait=False)
    rc, served = wait_exit(srv)
    return srv, rc, served


# -- selecting PostgreSQL ---------------------------------------------------------------------

def test_database_from_the_environment_selects_postgresql(server_factory):
    a = server_factory(name="gatehouse(flag)")
    b = server_factory(name="gatehouse(env)", database=None, env={"GATEHOUSE_DATABASE": a.database_url})
    u, _ = a.new_user("env", PW)
    assert_tokens_pair(b.login(u, PW), f"Logged in as {u}")


def test_database_from_the_config_file_selects_postgresql(server_factory, tmp_path):
    a = server_factory(name="gatehouse(flag)")
    conf = tmp_path / "gatehouse.toml"
    conf.write_text(f'database = "{a.database_url}"\n')
    b = server_factory(name="gatehouse(config)", database=None, args=["--config", str(conf)])
    u, _ = a.new_user("conf", PW)
    assert_tokens_pair(b.login(u, PW), f"Logged in as {u}")


# -- the connection pool ----------------------------------------------------------------------

def test_pool_of_one_connection_serves_parallel_registrations(server_factory):
    srv = server_factory(args=["--database-pool-size", "1"])
    n = 16
    names = [uname("pool") for _ in range(n)]
    barrier = threading.Barrier(n)
    results = [None] * n

    def worker(i):
        barrier.wait()
        try:
            results[i] = srv.register(names[i], PW).status_code
        except requests.RequestException as e:
            results[i] = repr(e)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(HTTP_TIMEOUT * 4)
    assert Counter(results) == Counter({200: n}), results


@pytest.mark.parametrize("value", ["0", "-1", "abc"])
def test_bad_pool_size_stops_the_start_with_exit_2_naming_the_setting(server_factory, value):
    srv, rc, served = fails_to_start(server_factory, args=["--database-pool-size", value])
    assert rc == 2 and not served, (rc, srv.stderr_text())
    lines = log_lines(srv)
    assert len(lines) == 1 and "database_pool_size" in lines[0], lines


# -- bad database URLs ------------------------------------------------------------------------

@pytest.mark.parametrize("url", [
    "mysql://gatehouse:gatehouse@127.0.0.1:3306/gh",
    "postgresql://gatehouse:gatehouse@127.0.0.1:notaport/gh",
    "postgresql://gatehouse:gatehouse@127.0.0.1:5432/gh?sslmode=bogus",
], ids=["unsupported-scheme", "non-numeric-port", "bad-sslmode"])
def test_malformed_database_url_stops_the_start_with_exit_2_naming_the_setting(server_factory, url):
    """API.md §7: a bad setting stops the start with one line naming it, and exit status 2."""
    srv, rc, served = fails_to_start(server_factory, database=url)
    assert rc == 2 and not served, (rc, srv.stderr_text())
    lines = log_lines(srv)
    assert len(lines) == 1 and "database" in lines[0].lower(), lines


@pytest.mark.parametrize("url, exit_status", [
    (f"postgresql://gatehouse:{SECRET_PW}@[::1/gh", 2),           # a bad setting
    (f"postgresql://gatehouse:{SECRET_PW}@127.0.0.1:notaport/gh", 2),
    (f"postgresql://gatehouse:{SECRET_PW}@127.0.0.1:1/gh", 1),    # a valid one that cannot connect
], ids=["unterminated-ipv6", "non-numeric-port", "unreachable"])
def test_database_password_is_not_logged_when_the_start_fails(server_factory, url, exit_status):
    """docs/operations.md: passwords and secrets are never logged."""
    srv, rc, _ = fails_to_start(server_factory, database=url)
    assert rc == exit_status, (rc, srv.stderr_text())
    leaked = [ln for ln in log_lines(srv) if SECRET_PW in ln]
    assert not leaked, leaked
