"""Issue 13 item 9 / API.md §3: `gatehouse keys rotate` on the default HS256 install.

The generated secret (<data_dir>/jwt-secret, or the database's on PostgreSQL) keeps verifying
the tokens it signed (they carry no kid, like Flask-JWT-Extended's) until they expire; the new
secret signs, with a kid, from the next reload of a running server; a restart keeps both.
A jwt.secret set in the configuration is the operator's: rotate refuses it."""

import time

import jwt
import pytest

import gatehouse_e2e as gh
from gatehouse_e2e import FlaskResourceServer, assert_json, assert_token_error
from keys_support import (
    HS256_SECRET_FILE_RE,
    PICKUP_TIMEOUT,
    claims_for,
    describe,
    hs256_raw,
    hs256_secret_files,
    header_of,
    mode,
    poll,
    rotate,
    rotated_hs256_secrets,
    run_cli,
)

PW = "correct horse"


def new_signing_kid(srv, refresh_token, kid):
    """Poll /token/refresh until the access token it mints carries kid; return that token."""
    last = {}

    def attempt():
        r = srv.refresh(refresh_token)
        assert r.status_code == 200, r.text
        tok = r.json()["access_token"]
        last["header"] = header_of(tok)
        return tok if last["header"].get("kid") == kid else None

    tok = poll(attempt, PICKUP_TIMEOUT, 0.1)
    assert tok, f"new tokens still have header {last.get('header')} {PICKUP_TIMEOUT}s after rotating"
    return tok


def flask_made(secret, user, ttype="access"):
    """A token as Flask-JWT-Extended writes it: no kid, no sid."""
    c = claims_for(user, ttype)
    del c["sid"]
    return jwt.encode(c, secret, algorithm="HS256")


def test_rotate_default_hs256_keeps_old_tokens_and_signs_with_a_kid(server_factory, tmp_path):
    srv = server_factory()
    old_secret = srv.secret
    user, body = srv.new_user("hsrot", PW)
    old_access, old_refresh = body["access_token"], body["refresh_token"]
    assert header_of(old_access) == {"alg": "HS256", "typ": "JWT"}
    flask_access = flask_made(old_secret, user)
    flask_refresh = flask_made(old_secret, user, "refresh")

    kid = rotate(srv.data_dir, "HS256")
    secrets = rotated_hs256_secrets(srv.data_dir)
    assert list(secrets) == [kid], (kid, list(secrets))
    new_secret = secrets[kid]
    assert new_secret != old_secret and len(new_secret) >= 32
    if not gh.pg_mode():
        files = hs256_secret_files(srv.data_dir)
        assert len(files) == 1 and HS256_SECRET_FILE_RE.match(files[0].name), files
        assert mode(files[0]) == 0o600, oct(mode(files[0]))
        assert (srv.data_dir / "jwt-secret").read_text().strip() == old_secret

    # the running server signs with the new secret, naming it
    new_access = new_signing_kid(srv, old_refresh, kid)
    assert header_of(new_access) == {"alg": "HS256", "typ": "JWT", "kid": kid}
    assert jwt.decode(new_access, new_secret, algorithms=["HS256"])["sub"] == user
    assert_json(srv.me(new_access), 200)
    login = srv.login(user, PW)
    assert login.status_code == 200, login.text
    assert header_of(login.json()["refresh_token"]).get("kid") == kid

    def old_tokens_work():
        for tok in (old_access, flask_access):
            assert_json(srv.me(tok), 200)
        for tok in (old_refresh, flask_refresh):
            r = srv.refresh(tok)
            assert r.status_code == 200, r.text

    old_tokens_work()

    # a Flask resource server given the new secret accepts the new tokens
    rs = FlaskResourceServer(tmp_path / "flask", new_secret)
    try:
        r = rs.get("/protected", new_access)
        assert r.status_code == 200 and r.json()["identity"] == user, r.text
    finally:
        rs.stop()

    # a restart keeps both secrets and keeps signing with the new one
    srv.stop()
    srv.start()
    old_tokens_work()
    assert_json(srv.me(new_access), 200)
    again = srv.refresh(old_refresh).json()["access_token"]
    assert header_of(again).get("kid") == kid


def test_second_rotation_keeps_the_first_rotated_secret(server_factory):
    srv = server_factory()
    user, body = srv.new_user("hsrot2", PW)
    first = rotate(srv.data_dir, "HS256")
    tok1 = new_signing_kid(srv, body["refresh_token"], first)
    second = rotate(srv.data_dir, "HS256")
    assert second != first
    tok2 = new_signing_kid(srv, body["refresh_token"], second)
    for tok in (body["access_token"], tok1, tok2):
        assert_json(srv.me(tok), 200)

    secrets = rotated_hs256_secrets(srv.data_dir)
    assert set(secrets) == {first, second}
    # a kid picks its secret: the second secret under the first kid, or an unknown kid, fails
    claims = claims_for(user)
    mixed = hs256_raw({"alg": "HS256", "typ": "JWT", "kid": first}, claims, secrets[second].encode())
    assert_token_error(srv.me(mixed), "Invalid token")
    unknown = hs256_raw({"alg": "HS256", "typ": "JWT", "kid": "nope"}, claims, secrets[second].encode())
    assert_token_error(srv.me(unknown), "Invalid token")
    # the generated secret with a kid it never had is no token of ours either
    named = hs256_raw({"alg": "HS256", "typ": "JWT", "kid": first}, claims, srv_first_secret(srv))
    assert_token_error(srv.me(named), "Invalid token")
    # the newest secret without its kid is not the kid-less generated secret
    bare = hs256_raw({"alg": "HS256", "typ": "JWT"}, claims, secrets[second].encode())
    assert_token_error(srv.me(bare), "Invalid token")


def srv_first_secret(srv) -> bytes:
    if gh.pg_mode():
        rows = gh.psql(srv.database_url, "SELECT material FROM signing_keys WHERE kid = 'hs256'")
        return rows[0].strip().encode()
    return (srv.data_dir / "jwt-secret").read_text().strip().encode()


def test_generated_secret_stops_verifying_after_its_window(server_factory):
    """Access 2 s / refresh 3 s: the generated secret verifies while the secret that replaced
    it is younger than 3 s, then its tokens are "Invalid token"."""
    ttls = ["--jwt-access-ttl", "2s", "--jwt-refresh-ttl", "3s"]
    srv = server_factory(args=ttls)
    old_secret = srv_first_secret(srv).decode()
    user, body = srv.new_user("hsdrop", PW)
    while time.time() % 1 > 0.2:  # rotate just after a whole second: the window is then ~3 s
        time.sleep(0.02)
    kid = rotate(srv.data_dir, "HS256", *ttls)
    new_signing_kid(srv, body["refresh_token"], kid)

    def old_token():  # valid by exp for a minute: only the closed window can refuse it
        return jwt.encode(claims_for(user, ttl=60), old_secret, algorithm="HS256")

    assert_json(srv.me(old_token()), 200)
    dropped = poll(lambda: srv.me(old_token()).status_code == 401, 8.0, 0.2)
    assert dropped, "a token of the replaced secret still verifies 8 s after a 3 s window"
    assert_token_error(srv.me(old_token()), "Invalid token")
    # the rotated secret still signs and verifies
    r = srv.login(user, PW)
    assert r.status_code == 200, r.text
    assert header_of(r.json()["access_token"]).get("kid") == kid
    assert_json(srv.me(r.json()["access_token"]), 200)


def test_rotate_refuses_a_configured_jwt_secret(tmp_path):
    data_dir = tmp_path / "data"
    secret = "configured-secret-" + "k" * 32
    p = run_cli(["keys", "rotate", "--data-dir", str(data_dir), "--jwt-secret", secret])
    assert p.returncode == 1, describe(p)
    lines = (p.stdout + p.stderr).strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gatehouse: "), describe(p)
    assert "jwt.secret" in lines[0], describe(p)
    assert secret not in p.stdout + p.stderr
    assert hs256_secret_files(data_dir) == []
    if gh.pg_mode():  # refused before the database was touched: not even the schema is there
        url = gh.pg_database_for_data_dir(data_dir)
        if gh.psql(url, "SELECT to_regclass('signing_keys') IS NOT NULL") == ["t"]:
            assert rotated_hs256_secrets(data_dir) == {}


def test_configured_jwt_secret_ignores_rotated_secrets(server_factory):
    """A jwt.secret set later wins: gatehouse signs with exactly it, no kid."""
    srv = server_factory()
    user, _ = srv.new_user("hscfg", PW)
    rotate(srv.data_dir, "HS256")
    srv.stop()
    configured = "configured-secret-" + "c" * 32
    srv2 = server_factory(data_dir=srv.data_dir, args=["--jwt-secret", configured])
    r = srv2.login(user, PW)
    assert r.status_code == 200, r.text
    tok = r.json()["access_token"]
    assert header_of(tok) == {"alg": "HS256", "typ": "JWT"}
    assert jwt.decode(tok, configured, algorithms=["HS256"])["sub"] == user
