"""API.md §8 (issue 13 items 6 and 7): process hygiene.

- A listen address already served (another gatehouse included) refuses the start, naming `listen`.
- Only SIGTERM/SIGINT end the process; SIGHUP reloads signing keys and is logged; SIGPIPE,
  SIGUSR1 and SIGUSR2 never end it, nor does its log reader going away.
- Out of file descriptors, accepts back off instead of spinning, and serving resumes when
  descriptors free up.
- Weak secrets and secret files that group or others can read refuse the start (exit 2).
- Every log line is valid JSON, whatever bytes a client put in the path.
"""

import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
import requests

import gatehouse_e2e as gh
from gatehouse_e2e import clean_env, free_port, gatehouse_bin, poll
from keys_support import generate_key, write_key_file
from ops_support import log_lines

START_TIMEOUT = 15


# -- listen ------------------------------------------------------------------------------------

def test_second_gatehouse_on_a_served_port_refuses_to_start(server_factory):
    first = server_factory()
    second = server_factory(port=first.port, start=False)
    second.start(wait=False)
    try:
        rc = second.proc.wait(timeout=START_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise AssertionError("a second gatehouse started on a port already served")
    assert rc != 0
    lines = log_lines(second)
    assert len(lines) == 1 and "listen" in lines[0], second.stderr_text()
    assert first.get("/healthz").status_code == 200


def test_a_port_served_by_another_program_refuses_the_start(server_factory):
    with socket.socket() as other:
        other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)  # would let a sharer in
        other.bind(("127.0.0.1", 0))
        other.listen()
        srv = server_factory(port=other.getsockname()[1], start=False)
        srv.start(wait=False)
        try:
            rc = srv.proc.wait(timeout=START_TIMEOUT)
        except subprocess.TimeoutExpired:
            raise AssertionError("gatehouse shared a port with another program")
        assert rc != 0 and "listen" in srv.stderr_text(), srv.stderr_text()


# -- signals -----------------------------------------------------------------------------------

# Every signal whose default action ends a process, but TERM and INT (and KILL/STOP, which
# cannot be caught). The attacker round found ALRM, IO, TRAP and others still fatal.
STRAY_SIGNALS = [signal.SIGPIPE, signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2, signal.SIGALRM,
                 signal.SIGVTALRM, signal.SIGPROF, signal.SIGIO, signal.SIGPWR, signal.SIGXCPU,
                 signal.SIGXFSZ, signal.SIGSTKFLT, signal.SIGTRAP]


@pytest.mark.parametrize("sig", STRAY_SIGNALS)
def test_only_term_and_int_end_the_process(server, sig):
    server.proc.send_signal(sig)
    time.sleep(0.3)
    assert server.running(), f"{sig!r} ended the process:\n{server.stderr_text()}"
    assert server.get("/healthz").status_code == 200
    if sig == signal.SIGHUP:
        assert poll(lambda: any("SIGHUP" in ln for ln in log_lines(server))), server.stderr_text()
    assert server.terminate() == 0


def test_sighup_reloads_rotated_keys(server_factory, tmp_path):
    from ops_support import run_cli
    srv = server_factory(args=["--jwt-algorithm", "EdDSA"])
    before = srv.get("/.well-known/jwks.json").json()
    rotated = run_cli(["keys", "rotate", "--jwt-algorithm", "EdDSA"], data_dir=srv.data_dir)
    assert rotated.returncode == 0, rotated.stderr
    srv.proc.send_signal(signal.SIGHUP)
    assert poll(lambda: len(srv.get("/.well-known/jwks.json").json()["keys"]) > len(before["keys"]))
    assert any("SIGHUP" in ln for ln in log_lines(srv)), srv.stderr_text()


def test_log_reader_going_away_does_not_end_it(tmp_path):
    port = free_port()
    argv = [gatehouse_bin(), "serve", "--listen", f"127.0.0.1:{port}", "--data-dir",
            str(tmp_path / "data"), "--hash-threads", "1", "--log-requests", "true"]
    proc = subprocess.Popen(argv, env=clean_env(), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        assert poll(lambda: _ok(base + "/healthz"), timeout=START_TIMEOUT)
        proc.stdout.close()  # the log reader exits: every later log write meets EPIPE
        for _ in range(20):
            _ok(base + "/healthz")
        assert proc.poll() is None, f"gatehouse ended ({proc.returncode}) when its log reader went"
        assert _ok(base + "/healthz")
        before = _cpu_ticks(proc.pid)
        time.sleep(1)
        assert _cpu_ticks(proc.pid) - before < 50, "writing to a closed log spins"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _ok(url) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


# -- descriptors -------------------------------------------------------------------------------

def _cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime (fields 14 and 15 of stat)


def test_out_of_descriptors_it_backs_off_and_recovers(server_factory):
    srv = server_factory(args=["--threads", "1"], start=False)
    plain = srv.argv
    srv.argv = lambda: ["prlimit", "--nofile=64:64", "--"] + plain()
    srv.start()
    assert any("descriptor" in ln for ln in log_lines(srv)), srv.stderr_text()
    held = []
    try:
        for _ in range(120):
            held.append(socket.create_connection(("127.0.0.1", srv.port), timeout=5))
        time.sleep(0.5)
        before = _cpu_ticks(srv.proc.pid)
        time.sleep(3)
        spent = _cpu_ticks(srv.proc.pid) - before
        hz = os.sysconf("SC_CLK_TCK")
        assert spent < hz, f"{spent / hz:.2f} s of CPU in 3 s with no descriptor left: it spins"
    finally:
        for s in held:
            s.close()
    assert poll(lambda: _ok(srv.base + "/healthz"), timeout=10), srv.stderr_text()
    assert srv.running()
    assert any("descriptor" in ln and "accept" in ln for ln in log_lines(srv)), srv.stderr_text()


# -- secrets -----------------------------------------------------------------------------------

def run_serve(tmp_path, args, data_dir=None):
    d = data_dir or tmp_path / "data"
    argv = [gatehouse_bin(), "serve", "--listen", f"127.0.0.1:{free_port()}",
            "--data-dir", str(d)] + args
    try:
        p = subprocess.run(argv, env=clean_env(), cwd=tmp_path, capture_output=True, timeout=15,
                           stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        raise AssertionError(f"gatehouse started: {argv}") from e
    return p


def assert_refused(p, naming: str):
    err = p.stderr.decode(errors="replace")
    assert p.returncode == 2, (p.returncode, err)
    lines = err.strip("\n").splitlines()
    assert len(lines) == 1 and naming in lines[0], err


def secret_file(tmp_path, contents: bytes, mode=0o600) -> Path:
    d = tmp_path / "data"
    d.mkdir(mode=0o700, exist_ok=True)
    path = d / "jwt-secret"
    path.write_bytes(contents)
    os.chmod(path, mode)
    return path


@pytest.mark.parametrize("secret", ["a" * 40, "z" * 64])
def test_a_repeated_byte_jwt_secret_refuses_the_start(tmp_path, secret):
    assert_refused(run_serve(tmp_path, ["--jwt-secret", secret]), "jwt.secret")


@pytest.mark.sqlite_only  # the jwt-secret file is the SQLite install's
@pytest.mark.parametrize("contents", [b"\0" * 40, b"short-secret\n", b"x" * 48 + b"\n"],
                         ids=["nul-bytes", "short", "repeated"])
def test_a_weak_jwt_secret_file_refuses_the_start(tmp_path, contents):
    path = secret_file(tmp_path, contents)
    assert_refused(run_serve(tmp_path, []), str(path))


@pytest.mark.sqlite_only
def test_a_jwt_secret_file_others_can_read_refuses_the_start(tmp_path):
    path = secret_file(tmp_path, os.urandom(24).hex().encode() + b"\n", 0o644)
    assert_refused(run_serve(tmp_path, []), str(path))


def test_a_private_key_file_others_can_read_refuses_the_start(tmp_path):
    key = write_key_file(tmp_path / "key.pem", generate_key("Ed25519"))
    os.chmod(key, 0o640)
    p = run_serve(tmp_path, ["--jwt-algorithm", "EdDSA", "--jwt-private-key-file", str(key)])
    assert_refused(p, str(key))


def test_a_config_file_setting_a_secret_others_can_read_refuses_the_start(tmp_path):
    cfg = tmp_path / "g.toml"
    cfg.write_text(f'[jwt]\nsecret = "{os.urandom(24).hex()}"\n')
    os.chmod(cfg, 0o644)
    assert_refused(run_serve(tmp_path, ["--config", str(cfg)]), str(cfg))
    os.chmod(cfg, 0o600)
    p = run_serve(tmp_path, ["--config", str(cfg), "--listen", "bad"])  # got past the mode check
    assert "listen" in p.stderr.decode(), p.stderr


# -- logs --------------------------------------------------------------------------------------

def test_invalid_utf8_in_a_path_still_logs_valid_json(server_factory):
    srv = server_factory(args=["--log-requests", "true"])
    with socket.create_connection(("127.0.0.1", srv.port), timeout=5) as s:
        s.sendall(b"GET /\xff\xfe/\xc3(x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        while s.recv(65536):
            pass
    assert poll(lambda: any("/" in ln and "x" in ln and "404" in ln for ln in log_lines(srv)))
    # Read as bytes: decoding with errors="replace" would hide exactly the bytes at issue.
    for line in srv.stderr_path.read_bytes().splitlines():
        if line.strip() and not line.startswith(b"==== start #"):
            json.loads(line)  # raises on a line that is not UTF-8 JSON
