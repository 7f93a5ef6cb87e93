"""API.md §8 / issue 15 item 6 (attacker round 9, F3): a private key that group or others can
read refuses the start, as jwt-secret and jwt.private_key_file already did: also the keys that
gatehouse generates and rotates in <data_dir>/keys, and a keys directory that group or others
can write to (anyone could plant a key there)."""

import pytest

from keys_support import key_files, mode, rotate, wait_exit

PW = "correct horse"


def start_refused(srv):
    srv.start(wait=False)
    rc, served = wait_exit(srv)
    assert rc is not None and rc != 0, f"exit status {rc}"
    assert not served, "gatehouse served with an unsafe key file"
    return srv.stderr_text()


@pytest.mark.sqlite_only  # the keys are files only on SQLite
@pytest.mark.parametrize("alg,suffix", [("EdDSA", ".pem"), ("HS256", ".hs256")])
def test_a_key_file_others_can_read_refuses_the_start(server_factory, alg, suffix):
    srv = server_factory(args=["--jwt-algorithm", alg])
    srv.new_user("modes", PW)
    rotate(srv.data_dir, alg)
    assert srv.terminate() == 0
    keys = sorted((srv.data_dir / "keys").glob("*" + suffix))
    assert keys and all(mode(k) == 0o600 for k in keys), [(k, oct(mode(k))) for k in keys]
    keys[0].chmod(0o644)  # the retired key, which still verifies
    stderr = start_refused(srv)
    assert keys[0].name in stderr and "chmod 600" in stderr, stderr[-2000:]
    keys[0].chmod(0o600)
    srv.start()  # and once it is private again, the start goes on
    assert srv.get("/healthz").status_code == 200


@pytest.mark.sqlite_only
def test_a_keys_directory_others_can_write_refuses_the_start(server_factory):
    srv = server_factory(args=["--jwt-algorithm", "EdDSA"])
    assert key_files(srv.data_dir)
    assert srv.terminate() == 0
    (srv.data_dir / "keys").chmod(0o777)
    stderr = start_refused(srv)
    assert "chmod 700" in stderr, stderr[-2000:]
    (srv.data_dir / "keys").chmod(0o755)  # readable names only: the keys themselves are 0600
    srv.start()
    assert srv.get("/healthz").status_code == 200


@pytest.mark.sqlite_only
def test_a_key_file_others_can_read_added_while_running_is_not_loaded(server_factory):
    # Attacker round 10, B: the mode check ran at start only; a 0666 key copied into the
    # directory of a running server was loaded and signed.
    from keys_support import cached_key, header_of, poll, thumbprint, public_jwk, write_key_file
    import time
    srv = server_factory(args=["--jwt-algorithm", "EdDSA"])
    _, body = srv.new_user("planted", PW)
    kid = header_of(body["access_token"])["kid"]
    planted = cached_key("Ed25519", "planted")
    path = write_key_file(srv.data_dir / "keys" / f"{int(time.time()):010d}-00000009.pem", planted)
    path.chmod(0o666)
    srv.signal_hup() if hasattr(srv, "signal_hup") else None
    assert poll(lambda: "not loaded" in srv.stderr_text(), 10, 0.2), srv.stderr_text()[-2000:]
    r = srv.refresh(body["refresh_token"])
    assert r.status_code == 200 and header_of(r.json()["access_token"])["kid"] == kid
    assert thumbprint(public_jwk(planted)) not in [k["kid"] for k in srv.get(
        "/.well-known/jwks.json").json()["keys"]]


@pytest.mark.sqlite_only
def test_a_keys_directory_others_can_write_while_running_loads_nothing_new(server_factory):
    # Issue 14: the start and a reload apply one rule to the keys directory and its files; a
    # directory that became writable to group or others is where anyone could have planted a
    # key, so a reload loads no new key from it, private file or not, and warns.
    from keys_support import cached_key, header_of, poll, thumbprint, public_jwk, write_key_file
    import time
    srv = server_factory(args=["--jwt-algorithm", "EdDSA"])
    _, body = srv.new_user("open-dir", PW)
    kid = header_of(body["access_token"])["kid"]
    keys = srv.data_dir / "keys"
    keys.chmod(0o777)
    planted = cached_key("Ed25519", "planted in an open directory")
    path = write_key_file(keys / f"{int(time.time()):010d}-00000009.pem", planted)
    assert mode(path) == 0o600
    assert poll(lambda: "not loaded" in srv.stderr_text() and "chmod 700" in srv.stderr_text(),
                10, 0.2), srv.stderr_text()[-2000:]
    r = srv.refresh(body["refresh_token"])
    assert r.status_code == 200 and header_of(r.json()["access_token"])["kid"] == kid
    assert thumbprint(public_jwk(planted)) not in [k["kid"] for k in srv.get(
        "/.well-known/jwks.json").json()["keys"]]
    keys.chmod(0o700)
