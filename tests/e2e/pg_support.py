"""Helpers for the PostgreSQL / many-instances tests (tests/e2e/test_pg_*.py, issue 4).

Written from the contract (/work/shared/API.md) and issue 4 only, not from the server's sources.
The tests run only when GATEHOUSE_E2E_PG_URL holds a base URL such as the one
`scripts/pg-cluster start` prints (postgresql://gatehouse:gatehouse@127.0.0.1:55432/).
"""

from __future__ import annotations

import contextlib
import os
import socket
import statistics
import subprocess
import time
from pathlib import Path

import pytest
import requests

import gatehouse_e2e as gh
from ops_support import describe, is_revoked, run_cli

PW = "correct horse"
NEW_PW = "battery staple 42"

PG_CLUSTER = gh.REPO_ROOT / "scripts" / "pg-cluster"
PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))

REVOCATION_BOUND = 1.0  # issue 4: refused by every other instance within one second
POLL_INTERVAL = 0.005   # seconds between two /me calls when measuring the delay
DELAY_REPORT = Path(os.environ.get("GATEHOUSE_PG_DELAY_REPORT", "/tmp/gatehouse-pg-revocation-delay.txt"))

requires_pg = pytest.mark.skipif(
    not gh.pg_mode(), reason=f"{gh.PG_URL_ENV} is not set (PostgreSQL tests)"
)


# -- instances ------------------------------------------------------------------------------------

@contextlib.contextmanager
def module_factory(tmp_path_factory, name: str):
    """A Factory for a module fixture that is closed (servers stopped, databases dropped) also
    when the fixture's own setup fails."""
    f = gh.Factory(tmp_path_factory.mktemp(name))
    try:
        yield f
    finally:
        f.close()


def instances(factory, n: int = 2, *, args=(), database: str | None = None, start: bool = True):
    """n servers (A, B, ...) on one database (a fresh one unless given), each its own data dir."""
    db = database or factory.new_database()
    return [
        factory(database=db, args=list(args), name=f"gatehouse({chr(ord('A') + i)})", start=start)
        for i in range(n)
    ]


def start_together(servers) -> None:
    """Start all servers at the same moment (no waiting in between), then wait for each."""
    for s in servers:
        s.start(wait=False)
    for s in servers:
        s.wait_ready(timeout=30)


# -- revocation -----------------------------------------------------------------------------------

def revoke(srv, how: str, tokens: dict, password: str = PW) -> requests.Response:
    """Revoke on srv by one of the four ways; tokens is a registration/login answer."""
    if how == "logout/access":
        return srv.post("/logout/access", headers=gh.bearer(tokens["access_token"]))
    if how == "logout/refresh":
        return srv.post("/logout/refresh", headers=gh.bearer(tokens["refresh_token"]))
    if how == "logout/all":
        return srv.post("/logout/all", headers=gh.bearer(tokens["access_token"]))
    if how == "password":
        return srv.post("/password", headers=gh.bearer(tokens["access_token"]),
                        json={"old_password": password, "new_password": NEW_PW})
    raise ValueError(how)


REVOCATIONS = ["logout/access", "logout/refresh", "logout/all", "password"]


def time_until_refused(srv, token: str, t0: float, timeout: float = 3.0,
                       session: requests.Session | None = None) -> float | None:
    """Poll srv's /me with token every POLL_INTERVAL until it answers 'Token has been revoked';
    return the time since t0 (monotonic), or None when it still accepts it after timeout."""
    get = (session or requests).get
    url = srv.url("/me")
    headers = gh.bearer(token)
    while True:
        r = get(url, headers=headers, timeout=gh.HTTP_TIMEOUT)
        now = time.monotonic()
        if is_revoked(r):
            return now - t0
        assert r.status_code == 200, f"unexpected answer while polling: {r.status_code} {r.text}"
        if now - t0 > timeout:
            return None
        time.sleep(POLL_INTERVAL)


def measure_cross_instance_delay(a, b, how: str, session: requests.Session) -> float | None:
    """Register on A, see the access token accepted on B, revoke it on A (how), and return the
    time from A's 200 to B's first 'Token has been revoked' on /me (None: not within 3 s)."""
    _, reg = a.new_user("delay", PW)
    token = reg["access_token"]
    r = session.get(b.url("/me"), headers=gh.bearer(token), timeout=gh.HTTP_TIMEOUT)
    assert r.status_code == 200, (r.status_code, r.text)
    r = revoke(a, how, reg)
    t0 = time.monotonic()
    assert r.status_code == 200, (how, r.status_code, r.text)
    return time_until_refused(b, token, t0, session=session)


def summary(delays: list[float | None]) -> dict:
    done = [d for d in delays if d is not None]
    return {
        "n": len(delays),
        "refused_within_3s": len(done),
        "median_ms": round(statistics.median(done) * 1000, 1) if done else None,
        "p90_ms": round(sorted(done)[int(0.9 * (len(done) - 1))] * 1000, 1) if done else None,
        "max_ms": round(max(done) * 1000, 1) if done else None,
    }


# -- command line -----------------------------------------------------------------------------------

def cli(args: list[str], database: str, tmp_path: Path, input: str | None = None):
    """gatehouse <args> --database <url>, with a data dir of its own (nothing shared by files)."""
    return run_cli([*args, "--database", database], data_dir=tmp_path / "cli-data",
                   cwd=tmp_path, input=input)


def assert_cli_ok(p: subprocess.CompletedProcess) -> None:
    assert p.returncode == 0, describe(p)


# -- a cluster of the module's own (for the outage tests) ------------------------------------------

def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """A throwaway cluster managed by scripts/pg-cluster in its own directory and port, so that
    stopping it does not disturb the other tests' cluster."""

    def __init__(self, directory: Path, port: int):
        self.dir = Path(directory)
        self.port = port

    def _run(self, cmd: str, timeout: float = 120) -> subprocess.CompletedProcess:
        env = dict(os.environ, GATEHOUSE_PG_PORT=str(self.port))
        return subprocess.run(["bash", str(PG_CLUSTER), cmd, str(self.dir)], env=env,
                              capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)

    def start(self) -> str:
        p = self._run("start")
        assert p.returncode == 0, f"pg-cluster start failed: {p.stdout}{p.stderr}"
        return p.stdout.strip().splitlines()[-1]

    def stop(self) -> None:
        p = self._run("stop")
        assert p.returncode == 0, f"pg-cluster stop failed: {p.stdout}{p.stderr}"

    def destroy(self) -> None:
        self._run("destroy")

    def log(self) -> str:
        try:
            return (self.dir / "server.log").read_text(errors="replace")[-4000:]
        except OSError:
            return ""


def can_run_own_cluster() -> bool:
    return PG_CLUSTER.is_file() and (PG_BIN / "pg_ctl").is_file() and (PG_BIN / "initdb").is_file()
