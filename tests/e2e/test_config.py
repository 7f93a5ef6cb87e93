"""API.md §7: settings from flag > environment > TOML file > default; bad settings exit 2."""

import socket
import subprocess

import pytest
import requests

from gatehouse_e2e import clean_env, decode, free_port, gatehouse_bin

PW = "correct horse"


def ttls(srv):
    """(access exp-iat, refresh exp-iat) of a fresh registration on srv."""
    _, body = srv.new_user("ttl")
    a = decode(body["access_token"], srv.secret)
    f = decode(body["refresh_token"], srv.secret)
    return a["exp"] - a["iat"], f["exp"] - f["iat"]


def write_toml(path, text):
    path.write_text(text)
    return str(path)


# -- precedence, observed in token lifetimes -------------------------------------------------

def test_ttls_default_to_30m_and_30d(server_factory):
    assert ttls(server_factory()) == (1800, 2592000)


def test_ttls_from_toml_file(server_factory, tmp_path):
    cfg = write_toml(tmp_path / "g.toml", '[jwt]\naccess_ttl = "2m"\nrefresh_ttl = "2h"\n')
    assert ttls(server_factory(args=["--config", cfg])) == (120, 7200)


def test_env_overrides_toml(server_factory, tmp_path):
    cfg = write_toml(tmp_path / "g.toml", '[jwt]\naccess_ttl = "2m"\n')
    srv = server_factory(args=["--config", cfg], env={"GATEHOUSE_JWT_ACCESS_TTL": "180"})
    assert ttls(srv)[0] == 180


def test_env_alone_sets_refresh_ttl(server_factory):
    srv = server_factory(env={"GATEHOUSE_JWT_REFRESH_TTL": "3h"})
    assert ttls(srv) == (1800, 10800)


def test_flag_overrides_env_and_toml(server_factory, tmp_path):
    cfg = write_toml(tmp_path / "g.toml", '[jwt]\naccess_ttl = "2m"\n')
    srv = server_factory(args=["--config", cfg, "--jwt-access-ttl", "4m"],
                         env={"GATEHOUSE_JWT_ACCESS_TTL": "180"})
    assert ttls(srv)[0] == 240


@pytest.mark.parametrize("args,expected", [
    (["--jwt-access-ttl=15m"], (900, 2592000)),
    (["--jwt-access-ttl", "1h"], (3600, 2592000)),
    (["--jwt-access-ttl", "45"], (45, 2592000)),
    (["--jwt-refresh-ttl", "3d"], (1800, 259200)),
    (["--jwt-refresh-ttl=90s"], (1800, 90)),
], ids=["equals-15m", "1h", "plain-seconds", "3d", "equals-90s"])
def test_duration_flags_and_suffixes(server_factory, args, expected):
    assert ttls(server_factory(args=args)) == expected


# -- listen and data_dir ------------------------------------------------------------------------

def serves(port):
    try:
        return requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
    except requests.RequestException:
        return False


def refused(port):
    with socket.socket() as s:
        s.settimeout(2)
        return s.connect_ex(("127.0.0.1", port)) != 0


def test_listen_from_env(server_factory):
    port = free_port()
    srv = server_factory(listen_flag=False, port=port, env={"GATEHOUSE_LISTEN": f"127.0.0.1:{port}"})
    assert serves(srv.port)


def test_listen_from_toml(server_factory, tmp_path):
    port = free_port()
    cfg = write_toml(tmp_path / "g.toml", f'listen = "127.0.0.1:{port}"\n')
    srv = server_factory(listen_flag=False, port=port, args=["--config", cfg])
    assert serves(srv.port)


def test_listen_env_overrides_toml(server_factory, tmp_path):
    p_env, p_toml = free_port(), free_port()
    cfg = write_toml(tmp_path / "g.toml", f'listen = "127.0.0.1:{p_toml}"\n')
    srv = server_factory(listen_flag=False, port=p_env, args=["--config", cfg],
                         env={"GATEHOUSE_LISTEN": f"127.0.0.1:{p_env}"})
    assert serves(p_env) and refused(p_toml)


def test_listen_flag_overrides_env(server_factory):
    p_flag, p_env = free_port(), free_port()
    srv = server_factory(port=p_flag, env={"GATEHOUSE_LISTEN": f"127.0.0.1:{p_env}"})
    assert serves(p_flag) and refused(p_env)


@pytest.mark.sqlite_only  # looks for <data_dir>/jwt-secret
def test_data_dir_from_env(server_factory, tmp_path):
    d = tmp_path / "envdata"
    srv = server_factory(data_dir_flag=False, data_dir=d, env={"GATEHOUSE_DATA_DIR": str(d)})
    assert (d / "jwt-secret").is_file()
    u, body = srv.new_user("dd")
    assert decode(body["access_token"], srv.secret)["sub"] == u


@pytest.mark.sqlite_only  # looks for <data_dir>/jwt-secret
def test_data_dir_from_toml(server_factory, tmp_path):
    d = tmp_path / "tomldata"
    cfg = write_toml(tmp_path / "g.toml", f'data_dir = "{d}"\n\n[jwt]\naccess_ttl = "2m"\n')
    srv = server_factory(data_dir_flag=False, data_dir=d, args=["--config", cfg])
    assert (d / "jwt-secret").is_file()
    assert ttls(srv)[0] == 120


@pytest.mark.sqlite_only  # looks for <data_dir>/jwt-secret
def test_data_dir_flag_overrides_env(server_factory, tmp_path):
    d_flag, d_env = tmp_path / "flagdata", tmp_path / "envdata2"
    server_factory(data_dir=d_flag, env={"GATEHOUSE_DATA_DIR": str(d_env)})
    assert (d_flag / "jwt-secret").is_file()
    assert not (d_env / "jwt-secret").exists()


@pytest.mark.sqlite_only  # looks for <data_dir>/jwt-secret
def test_data_dir_default_is_gatehouse_data_in_working_dir(server_factory):
    srv = server_factory(data_dir_flag=False)
    assert (srv.workdir / "gatehouse-data" / "jwt-secret").is_file()


# -- bad settings -----------------------------------------------------------------------------------

def run_bad(tmp_path, args, env=None):
    d = tmp_path / "bad-data"
    argv = [gatehouse_bin(), "serve", "--listen", f"127.0.0.1:{free_port()}",
            "--data-dir", str(d)] + args
    try:
        p = subprocess.run(argv, env=clean_env(env), cwd=tmp_path, capture_output=True,
                           timeout=15, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        raise AssertionError(f"gatehouse kept running with a bad setting: {argv}") from e
    return p


@pytest.mark.parametrize("how", ["flag-equals", "flag", "env", "toml"])
def test_bad_access_ttl_exits_2_with_one_line_naming_the_setting(tmp_path, how):
    args, env = [], None
    if how == "flag-equals":
        args = ["--jwt-access-ttl=banana"]
    elif how == "flag":
        args = ["--jwt-access-ttl", "banana"]
    elif how == "env":
        env = {"GATEHOUSE_JWT_ACCESS_TTL": "banana"}
    else:
        args = ["--config", write_toml(tmp_path / "bad.toml", '[jwt]\naccess_ttl = "banana"\n')]
    p = run_bad(tmp_path, args, env)
    err = p.stderr.decode(errors="replace")
    assert p.returncode == 2, (p.returncode, err)
    lines = err.strip("\n").splitlines()
    assert len(lines) == 1, err
    assert "jwt.access_ttl" in lines[0], err


def test_bad_refresh_ttl_exits_2_naming_it(tmp_path):
    p = run_bad(tmp_path, ["--jwt-refresh-ttl=12parsecs"])
    err = p.stderr.decode(errors="replace")
    assert p.returncode == 2, (p.returncode, err)
    lines = err.strip("\n").splitlines()
    assert len(lines) == 1 and "jwt.refresh_ttl" in lines[0], err


def test_short_jwt_secret_exits_2_naming_it(tmp_path):
    p = run_bad(tmp_path, ["--jwt-secret", "only-31-bytes-long-secret-12345"])
    err = p.stderr.decode(errors="replace")
    assert p.returncode == 2, (p.returncode, err)
    lines = err.strip("\n").splitlines()
    assert len(lines) == 1 and "jwt.secret" in lines[0], err


# Attacker rounds 9 (F6) and 10 (D): cookies.domain went into every Set-Cookie line as given, so
# `example.com;Path=/x` added attributes of its own and `.` or `a..b` named no host; SameSite=None
# without Secure made browsers drop every cookie.
@pytest.mark.parametrize("args,setting", [
    (["--cookies-domain", "example.com;Path=/x; SameSite=None"], "cookies.domain"),
    (["--cookies-domain", "example.com "], "cookies.domain"),
    (["--cookies-domain", "."], "cookies.domain"),
    (["--cookies-domain", "a..b"], "cookies.domain"),
    (["--cookies-domain", "example.com."], "cookies.domain"),
    (["--cookies-domain", "-example.com"], "cookies.domain"),
    (["--cookies-domain", "example-.com"], "cookies.domain"),
    (["--cookies-domain", "a" * 64 + ".com"], "cookies.domain"),
    (["--tokens-location", "cookies", "--cookies-samesite", "None", "--cookies-secure", "false"],
     "cookies.samesite"),
])
def test_cookie_settings_a_browser_would_misread_refuse_the_start(tmp_path, args, setting):
    p = run_bad(tmp_path, args)
    err = p.stderr.decode(errors="replace")
    assert p.returncode == 2, (p.returncode, err)
    assert setting in err, err
