"""Issue 15 item 10: start-up says where a generated secret or generated key was written
(the path, never the secret), and a built-in list of common passwords is refused while no
password.deny_list is configured (an empty file turns refusing off)."""

import subprocess

import pytest

import gatehouse_e2e as gh


@pytest.mark.sqlite_only
def test_first_start_says_where_the_generated_secret_went(server_factory):
    srv = server_factory()
    path = srv.data_dir / "jwt-secret"
    text = srv.stderr_text()
    assert "generated a new HS256 secret" in text and str(path) in text, text
    assert srv.secret not in text
    srv.stop()
    srv.start()  # reused, not generated again
    assert srv.stderr_text().count("generated a new HS256 secret") == 1


@pytest.mark.sqlite_only
def test_first_start_says_where_the_generated_key_went(server_factory):
    srv = server_factory(args=["--jwt-algorithm", "EdDSA"])
    text = srv.stderr_text()
    keys = srv.data_dir / "keys"
    assert "generated the first EdDSA signing key" in text and str(keys) in text, text
    (pem,) = list(keys.glob("*.pem"))
    body = pem.read_text().splitlines()[1]  # a line of the private key's base64
    assert body not in text


@pytest.mark.parametrize("pw", ["password123", "Password1", "QWERTY123", "iloveyou", "12345678",
                                "1q2w3e4r"])
def test_common_passwords_are_refused_by_default(module_server, pw):
    r = module_server.register(gh.uname("common"), pw)
    gh.assert_message(r, 400, "password: Too common, choose another")


def test_an_uncommon_password_registers_by_default(module_server):
    u = gh.uname("common")
    gh.assert_tokens_pair(module_server.register(u, "password123 but longer"),
                          f"User {u} was created")


def test_a_configured_deny_list_replaces_the_built_in_one(server_factory, tmp_path):
    empty = tmp_path / "none.txt"
    empty.write_text("")
    srv = server_factory(args=["--password-deny-list", str(empty)])
    u = gh.uname("common")
    gh.assert_tokens_pair(srv.register(u, "password123"), f"User {u} was created")


def test_user_add_refuses_a_common_password_by_default(server_factory):
    srv = server_factory()
    r = subprocess.run([gh.gatehouse_bin(), "user", "add", gh.uname("cli"), "--data-dir",
                        str(srv.data_dir), *(["--database", srv.database_url]
                                             if srv.database_url else [])],
                       input="qwerty123\n", capture_output=True, text=True, timeout=30)
    assert r.returncode != 0 and "Too common" in r.stderr, (r.returncode, r.stderr)
