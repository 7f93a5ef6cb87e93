"""Process lifecycle: signals, the generated secret file, restarts, real token expiry."""

import json
import signal
import socket
import stat
import time

import pytest

from gatehouse_e2e import Factory, assert_token_error, bearer, decode

PW = "correct horse"


# -- signals ----------------------------------------------------------------------------------------

def test_sigterm_exits_0(server):
    assert server.get("/healthz").status_code == 200
    assert server.terminate(signal.SIGTERM) == 0


def test_sigint_exits_0(server):
    assert server.get("/healthz").status_code == 200
    assert server.terminate(signal.SIGINT) == 0


def test_sigterm_drains_in_flight_registrations(server):
    """Registrations already received (argon2id takes tens of ms each, 2 hash threads) all
    get their answers after SIGTERM, and the process then exits 0."""
    n = 4
    conns = []
    try:
        for i in range(n):
            s = socket.create_connection(("127.0.0.1", server.port), timeout=15)
            conns.append(s)
            # make sure this connection is accepted and being served before the signal
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            first = s.recv(65536)
            assert first.startswith(b"HTTP/1.1 200"), first
        for i, s in enumerate(conns):
            body = json.dumps({"username": f"drain_user{i}", "password": PW}).encode()
            s.sendall((f"POST /registration HTTP/1.1\r\nHost: x\r\n"
                       f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
                       ).encode() + body)
        time.sleep(0.01)
        server.proc.send_signal(signal.SIGTERM)
        answers = []
        for i, s in enumerate(conns):
            data = b""
            try:
                while b"was created" not in data:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    data += chunk
            except OSError as e:
                data += f" <{e!r}>".encode()
            answers.append(data)
    finally:
        for s in conns:
            s.close()
    for i, data in enumerate(answers):
        assert data.startswith(b"HTTP/1.1 200"), (i, data)
        assert f"User drain_user{i} was created".encode() in data, (i, data)
    # wait for the exit the first SIGTERM started (server.terminate() would send a second one,
    # which may end a shutdown still closing its database connections)
    assert server.proc.wait(timeout=15) == 0


# -- the generated secret ----------------------------------------------------------------------------

@pytest.mark.sqlite_only  # under PostgreSQL the generated secret is kept in the database
def test_generated_secret_file_has_mode_0600(server):
    st = (server.data_dir / "jwt-secret").stat()
    assert stat.S_IMODE(st.st_mode) == 0o600, oct(st.st_mode)


def test_generated_secret_is_at_least_32_bytes(server):
    assert len(server.secret.encode()) >= 32, len(server.secret)


def test_generated_secret_differs_per_data_dir(server_factory):
    a, b = server_factory(), server_factory()
    assert a.secret != b.secret


def test_generated_secret_is_reused_across_restarts(server_factory):
    srv = server_factory()
    secret = srv.secret
    u, body = srv.new_user("restart")
    assert srv.terminate() == 0
    srv.start()
    assert srv.secret == secret
    r = srv.me(body["access_token"])
    assert r.status_code == 200 and r.json()["username"] == u, r.text
    r = srv.refresh(body["refresh_token"])
    assert r.status_code == 200, r.text
    assert decode(r.json()["access_token"], secret)["sub"] == u
    assert srv.login(u, PW).status_code == 200


def test_revocation_survives_a_clean_restart(server_factory):
    srv = server_factory()
    u, body = srv.new_user("restart2")
    assert srv.post("/logout/refresh", headers=bearer(body["refresh_token"])).status_code == 200
    assert srv.terminate() == 0
    srv.start()
    assert_token_error(srv.refresh(body["refresh_token"]), "Token has been revoked")
    assert_token_error(srv.me(body["access_token"]), "Token has been revoked")


# -- real expiry with short TTLs ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def short_ttl(tmp_path_factory):
    f = Factory(tmp_path_factory.mktemp("shortttl"))
    srv = f(args=["--jwt-access-ttl", "2s", "--jwt-refresh-ttl", "5s"], name="gatehouse(short ttl)")
    u, body = srv.new_user("short")
    a = decode(body["access_token"], srv.secret)
    fr = decode(body["refresh_token"], srv.secret)
    assert a["exp"] - a["iat"] == 2 and fr["exp"] - fr["iat"] == 5
    # both work right away
    assert srv.me(body["access_token"]).status_code == 200
    yield srv, body, a["exp"], fr["exp"]
    f.close()


def sleep_until(t):
    d = t - time.time()
    if d > 0:
        time.sleep(d)


def test_access_token_expires_after_its_ttl_plus_at_most_10s_leeway(short_ttl):
    srv, body, a_exp, _ = short_ttl
    sleep_until(a_exp + 11)
    assert_token_error(srv.me(body["access_token"]), "Token has expired")


def test_refresh_token_expires_after_its_ttl_plus_at_most_10s_leeway(short_ttl):
    srv, body, _, r_exp = short_ttl
    sleep_until(r_exp + 11)
    assert_token_error(srv.refresh(body["refresh_token"]), "Token has expired")
