"""Attacker round 10, C: data_dir holds the generated HS256 secret, the signing keys and the
SQLite database, so a data_dir that group or others can write to (or that another user owns)
refuses the start: such a user could replace `jwt-secret` and sign tokens. gatehouse makes the
directory 0700 itself; these are directories made otherwise."""

import os

import pytest

from keys_support import wait_exit

PW = "correct horse"


def start_refused(srv):
    srv.start(wait=False)
    rc, served = wait_exit(srv)
    assert rc == 2, f"exit status {rc}"
    assert not served, "gatehouse served from an unsafe data_dir"
    return srv.stderr_text()


@pytest.mark.parametrize("unsafe", [0o777, 0o770, 0o702])
def test_a_data_dir_others_can_write_refuses_the_start(server_factory, unsafe):
    srv = server_factory()
    srv.new_user("datadir", PW)
    assert srv.terminate() == 0
    srv.data_dir.chmod(unsafe)
    stderr = start_refused(srv)
    assert "data_dir" in stderr and "chmod 700" in stderr, stderr[-2000:]
    srv.data_dir.chmod(0o750)  # readable by the group is not a way in
    srv.start()
    assert srv.get("/healthz").status_code == 200


@pytest.mark.skipif(os.geteuid() != 0, reason="chown to another user needs root")
def test_a_data_dir_another_user_owns_refuses_the_start(server_factory):
    srv = server_factory()
    assert srv.terminate() == 0
    os.chown(srv.data_dir, 65534, 65534)  # nobody
    try:
        stderr = start_refused(srv)
        assert "data_dir" in stderr and "another user" in stderr, stderr[-2000:]
    finally:
        os.chown(srv.data_dir, 0, 0)
    srv.start()
    assert srv.get("/healthz").status_code == 200
