"""Helpers for the gatehouse end-to-end suite: start/stop servers, HTTP calls, token minting.

Written from the contract (/work/shared/API.md) only, not from the server's sources.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import uuid
import warnings
from pathlib import Path

import jwt
import pytest
import requests

E2E_DIR = Path(__file__).resolve().parent
REPO_ROOT = E2E_DIR.parents[1]
DEFAULT_BIN = REPO_ROOT / "build" / "dev" / "gatehouse"
PYTHON = "/usr/bin/python3"

HTTP_TIMEOUT = 15  # seconds per request
READY_TIMEOUT = 10  # seconds to wait for /healthz

JSON_CT = "application/json; charset=utf-8"
REALM = 'Bearer realm="gatehouse"'
UUID4_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
RFC3339_RE = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$"
)

# Settings that are outside this suite's scope but would get in its way if the server
# already implements them: turn the rate limits off ("0" turns a limit off, API.md §7).
SCOPE_ENV = {
    "GATEHOUSE_RATE_LIMIT_LOGIN_PER_USER": "0",
    "GATEHOUSE_RATE_LIMIT_LOGIN_PER_ADDRESS": "0",
    "GATEHOUSE_RATE_LIMIT_REGISTRATION_PER_ADDRESS": "0",
    "GATEHOUSE_RATE_LIMIT_REFRESH_PER_USER": "0",
    "GATEHOUSE_RATE_LIMIT_REVOCATION_PER_USER": "0",
}

# Every server started during the current test (or alive for its module): its stderr is
# attached to the report of a failing test by conftest.py.
LIVE_SERVERS: list["Server"] = []

# -- PostgreSQL mode (issue 4) -------------------------------------------------------------------
# With GATEHOUSE_E2E_PG_URL set to a base URL ending in "/" (scripts/pg-cluster start prints one),
# every Server of a Factory gets a fresh database of its own (servers sharing a data dir share it)
# and is started with --database <base URL><db>, unless the test passed --database itself.

PG_URL_ENV = "GATEHOUSE_E2E_PG_URL"
PSQL_TIMEOUT = 30


def pg_base_url() -> str | None:
    """The base URL from GATEHOUSE_E2E_PG_URL (with a trailing "/"), or None: SQLite mode."""
    url = os.environ.get(PG_URL_ENV, "").strip()
    if not url:
        return None
    base, sep, query = url.partition("?")
    if not base.endswith("/"):
        base += "/"
    return base + sep + query


def pg_mode() -> bool:
    return pg_base_url() is not None


def pg_url(dbname: str, base: str | None = None) -> str:
    """<base URL><dbname>, keeping a query string of the base URL after the name."""
    base = base or pg_base_url()
    assert base, f"{PG_URL_ENV} is not set"
    head, sep, query = base.partition("?")
    if not head.endswith("/"):
        head += "/"
    return head + dbname + sep + query


def psql_bin() -> str:
    return os.environ.get("PSQL") or shutil.which("psql") or "/usr/bin/psql"


def psql(url: str, sql: str, timeout: float = PSQL_TIMEOUT) -> list[str]:
    """Run one SQL command with `psql -Atc`; return the output lines (fails on an SQL error)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    p = subprocess.run(
        [psql_bin(), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-Atc", sql],
        env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout,
    )
    if p.returncode != 0:
        raise AssertionError(f"psql {sql!r} on {url} failed ({p.returncode}): {p.stderr.strip()}")
    return [ln for ln in p.stdout.splitlines() if ln != ""]


def pg_create_database(base: str | None = None, prefix: str = "gh_") -> str:
    """CREATE DATABASE <prefix><random> (owned by the base URL's role); return its URL."""
    name = prefix + uuid.uuid4().hex[:16]
    psql(pg_url("postgres", base), f"CREATE DATABASE {name}")
    return pg_url(name, base)


def pg_dbname(url: str) -> str:
    return url.partition("?")[0].rsplit("/", 1)[1]


def pg_other_database(url: str, dbname: str) -> str:
    """The URL of another database on the same server as url."""
    head, sep, query = url.partition("?")
    return head.rsplit("/", 1)[0] + "/" + dbname + sep + query


def pg_drop_database(url: str) -> None:
    """DROP DATABASE ... WITH (FORCE): connections of killed servers may linger a moment.
    Tried three times; then a warning (the cluster is a throwaway one, a leftover does no harm)."""
    sql = f"DROP DATABASE IF EXISTS {pg_dbname(url)} WITH (FORCE)"
    for attempt in range(3):
        try:
            psql(pg_other_database(url, "postgres"), sql)
            return
        except (AssertionError, subprocess.TimeoutExpired) as e:
            error = e
            time.sleep(0.5)
    warnings.warn(f"could not drop {pg_dbname(url)}: {error}")


# PostgreSQL mode: the database that stands in for a data dir's SQLite file, so that servers and
# command-line runs (ops_support.run_cli) given the same data dir share storage as they would under
# SQLite. Databases made here for data dirs a test named are dropped at the end of the session.
_PG_DB_OF_DATA_DIR: dict[Path, str] = {}
_PG_SESSION_DATABASES: list[str] = []


def pg_database_for_data_dir(data_dir) -> str:
    """PG mode: the database of this data dir (created on first use)."""
    key = Path(data_dir).resolve()
    if key not in _PG_DB_OF_DATA_DIR:
        url = pg_create_database()
        _PG_SESSION_DATABASES.append(url)
        _PG_DB_OF_DATA_DIR[key] = url
    return _PG_DB_OF_DATA_DIR[key]


def pg_drop_session_databases() -> None:
    for url in _PG_SESSION_DATABASES:
        pg_drop_database(url)
    _PG_SESSION_DATABASES.clear()
    _PG_DB_OF_DATA_DIR.clear()


def flag_value(args: list[str], flag: str) -> str | None:
    """The value of `--flag v` or `--flag=v` in args (the last one wins), else None."""
    value = None
    for i, a in enumerate(args):
        if a == flag and i + 1 < len(args):
            value = args[i + 1]
        elif a.startswith(flag + "="):
            value = a.split("=", 1)[1]
    return value


def gatehouse_bin() -> str:
    return os.environ.get("GATEHOUSE_BIN") or str(DEFAULT_BIN)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def uname(prefix: str = "u") -> str:
    """A fresh username (valid characters, well under 64)."""
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


def clean_env(extra: dict | None = None) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEHOUSE_")}
    env.update(SCOPE_ENV)
    if extra:
        env.update(extra)
    return env


class ServerStartError(AssertionError):
    pass


class Server:
    """One gatehouse process with its own data dir and stderr file."""

    def __init__(
        self,
        workdir: Path,
        *,
        args: list[str] | None = None,
        env: dict | None = None,
        port: int | None = None,
        data_dir: Path | None = None,
        listen_flag: bool = True,
        data_dir_flag: bool = True,
        hash_threads: bool = True,
        name: str = "gatehouse",
        database: str | None = None,
    ):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.data_dir = Path(data_dir) if data_dir else self.workdir / "data"
        self.extra_args = list(args or [])
        self.env = clean_env(env)
        self.listen_flag = listen_flag
        self.data_dir_flag = data_dir_flag
        self.hash_threads = hash_threads
        self.name = name
        # --database <url> is added to the command line unless args hold --database already
        self.database = database
        self.proc: subprocess.Popen | None = None
        self.returncode: int | None = None
        self._starts = 0
        self.stderr_path = self.workdir / "stderr.log"

    # -- lifecycle -----------------------------------------------------------------
    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def argv(self) -> list[str]:
        argv = [gatehouse_bin(), "serve"]
        if self.listen_flag:
            argv += ["--listen", f"127.0.0.1:{self.port}"]
        if self.data_dir_flag:
            argv += ["--data-dir", str(self.data_dir)]
        if self.hash_threads:
            argv += ["--hash-threads", "2"]
        if self.database and flag_value(self.extra_args, "--database") is None:
            argv += ["--database", self.database]
        return argv + self.extra_args

    @property
    def database_url(self) -> str | None:
        """The storage URL on the command line (--database in args, else the database keyword)."""
        return flag_value(self.extra_args, "--database") or self.database

    @property
    def on_postgresql(self) -> bool:
        url = self.database_url or ""
        return url.startswith("postgresql://") or url.startswith("postgres://")

    def start(self, wait: bool = True) -> "Server":
        assert self.proc is None or self.proc.poll() is not None, "already running"
        self._starts += 1
        with open(self.stderr_path, "ab") as err:
            err.write(f"==== start #{self._starts}: {' '.join(self.argv())}\n".encode())
            err.flush()
            self.proc = subprocess.Popen(
                self.argv(),
                cwd=self.workdir,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=err,
                stderr=err,
            )
        self.returncode = None
        if self not in LIVE_SERVERS:
            LIVE_SERVERS.append(self)
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            rc = self.proc.poll()
            if rc is not None:
                raise ServerStartError(
                    f"gatehouse exited with {rc} before it was ready\n{self.stderr_text()}"
                )
            try:
                r = requests.get(self.base + "/healthz", timeout=1)
                if r.status_code == 200:
                    return
                last = f"status {r.status_code}"
            except requests.RequestException as e:  # not listening yet
                last = repr(e)
            time.sleep(0.05)
        raise ServerStartError(
            f"gatehouse not ready after {timeout}s ({last})\n{self.stderr_text()}"
        )

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def terminate(self, sig=signal.SIGTERM, timeout: float = 15) -> int:
        """Send sig and wait for the exit; return the exit status."""
        if self.proc is None:
            return self.returncode
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError(f"gatehouse did not exit within {timeout}s of {sig!r}")
        self.returncode = self.proc.returncode
        return self.returncode

    def kill9(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.returncode = self.proc.returncode if self.proc else None

    def stop(self) -> None:
        try:
            self.terminate()
        except AssertionError:
            pass

    def stderr_text(self) -> str:
        try:
            return self.stderr_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    # -- secrets -----------------------------------------------------------------
    @property
    def secret(self) -> str:
        """The HS256 key string: --jwt-secret if given; else the generated one, kept in
        <data_dir>/jwt-secret (SQLite) or in the database's signing_keys table (PostgreSQL)."""
        given = flag_value(self.extra_args, "--jwt-secret")
        if given is not None:
            return given
        if self.on_postgresql:
            rows = psql(self.database_url,
                        "SELECT material FROM signing_keys WHERE algorithm = 'HS256'")
            assert len(rows) == 1, f"expected one HS256 row in signing_keys, got {len(rows)}"
            return rows[0].strip()
        return (self.data_dir / "jwt-secret").read_text().strip()

    # -- HTTP --------------------------------------------------------------------
    def url(self, path: str) -> str:
        return self.base + path

    def request(self, method: str, path: str, **kw) -> requests.Response:
        kw.setdefault("timeout", HTTP_TIMEOUT)
        return requests.request(method, self.url(path), **kw)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, **kw):
        return self.request("POST", path, **kw)

    def register(self, username: str, password: str = "correct horse", form=False):
        if form:
            return self.post("/registration", data={"username": username, "password": password})
        return self.post("/registration", json={"username": username, "password": password})

    def login(self, username: str, password: str = "correct horse", form=False):
        if form:
            return self.post("/login", data={"username": username, "password": password})
        return self.post("/login", json={"username": username, "password": password})

    def new_user(self, prefix="u", password="correct horse") -> tuple[str, dict]:
        """Register a fresh user; return (username, response json)."""
        u = uname(prefix)
        r = self.register(u, password)
        assert r.status_code == 200, (r.status_code, r.text)
        return u, r.json()

    def me(self, token: str):
        return self.get("/me", headers=bearer(token))

    def refresh(self, refresh_token: str):
        return self.post("/token/refresh", headers=bearer(refresh_token))


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def decode(token: str, secret: str, **kw) -> dict:
    return jwt.decode(
        token,
        secret,
        algorithms=["HS256"],
        options={"verify_aud": False, **kw.pop("options", {})},
        **kw,
    )


def mint(secret, claims: dict | None = None, *, algorithm="HS256", headers=None, **overrides) -> str:
    """A token with Flask-JWT-Extended-4 style claims, overridable."""
    now = int(time.time())
    payload = {
        "sub": "nobody",
        "type": "access",
        "fresh": False,
        "jti": str(uuid.uuid4()),
        "sid": str(uuid.uuid4()),
        "iat": now,
        "nbf": now,
        "exp": now + 600,
    }
    if claims:
        payload.update(claims)
    payload.update(overrides)
    return jwt.encode(payload, secret, algorithm=algorithm, headers=headers)


def invalid_token_header(message: str) -> str:
    return f'Bearer error="invalid_token", error_description="{message}"'


def assert_json(r: requests.Response, status: int, body: dict | None = None) -> dict:
    """Exact status, JSON content type and (if given) exact body."""
    assert r.status_code == status, f"expected {status}, got {r.status_code}: {r.text!r}"
    assert r.headers.get("Content-Type") == JSON_CT, r.headers.get("Content-Type")
    try:
        got = r.json()
    except ValueError:
        raise AssertionError(f"body is not JSON: {r.text!r}")
    if body is not None:
        assert got == body, f"expected body {body!r}, got {got!r}"
    return got


def assert_message(r, status: int, message: str) -> None:
    assert_json(r, status, {"message": message})


def assert_field_error(r, field: str) -> None:
    """400 {"message": "<field>: <something>"} (only the prefix is fixed by API.md)."""
    got = assert_json(r, 400)
    assert set(got) == {"message"}, got
    assert isinstance(got["message"], str) and got["message"].startswith(f"{field}: "), got
    assert len(got["message"]) > len(field) + 2, got


def assert_400(r) -> None:
    got = assert_json(r, 400)
    assert set(got) == {"message"} and isinstance(got["message"], str), got


def assert_token_error(r, message: str, www: str | None = None) -> None:
    assert_message(r, 401, message)
    expected = www if www is not None else invalid_token_header(message)
    assert r.headers.get("WWW-Authenticate") == expected, r.headers.get("WWW-Authenticate")


def assert_tokens_pair(r, message: str) -> dict:
    got = assert_json(r, 200)
    assert set(got) == {"message", "access_token", "refresh_token"}, got
    assert got["message"] == message, got
    assert isinstance(got["access_token"], str) and got["access_token"].count(".") == 2
    assert isinstance(got["refresh_token"], str) and got["refresh_token"].count(".") == 2
    return got


def raw_http(port: int, requests_bytes: list[bytes], timeout=10) -> list[tuple[int, dict, bytes]]:
    """Send several requests over ONE TCP connection, one after the other; parse the answers.

    Each answer is read via Content-Length. Returns [(status, headers(lower-case), body)].
    """
    out = []
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        buf = b""
        for req in requests_bytes:
            s.sendall(req)
            while b"\r\n\r\n" not in buf:
                chunk = s.recv(65536)
                if not chunk:
                    raise AssertionError(f"connection closed before a response; got {buf!r}")
                buf += chunk
            head, buf = buf.split(b"\r\n\r\n", 1)
            lines = head.decode("latin-1").split("\r\n")
            status = int(lines[0].split()[1])
            headers = {}
            for line in lines[1:]:
                k, v = line.split(":", 1)
                headers[k.strip().lower()] = v.strip()
            def need(pred):
                nonlocal buf
                while not pred():
                    chunk = s.recv(65536)
                    if not chunk:
                        raise AssertionError("connection closed in the middle of a body")
                    buf += chunk

            if "chunked" in headers.get("transfer-encoding", "").lower():
                body = b""
                while True:
                    need(lambda: b"\r\n" in buf)
                    line, buf = buf.split(b"\r\n", 1)
                    size = int(line.split(b";")[0], 16)
                    need(lambda: len(buf) >= size + 2)
                    body, buf = body + buf[:size], buf[size + 2:]
                    if size == 0:
                        break
            else:
                n = int(headers.get("content-length", "0"))
                need(lambda: len(buf) >= n)
                body, buf = buf[:n], buf[n:]
            out.append((status, headers, body))
    return out


class FlaskResourceServer:
    """tests/e2e/flask_resource_server.py run as a subprocess."""

    def __init__(self, workdir: Path, secret: str):
        self.port = free_port()
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.log = self.workdir / "flask.log"
        env = dict(os.environ)
        env["FLASK_RS_SECRET"] = secret
        env["FLASK_RS_PORT"] = str(self.port)
        with open(self.log, "wb") as f:
            self.proc = subprocess.Popen(
                [PYTHON, str(E2E_DIR / "flask_resource_server.py")],
                env=env,
                cwd=self.workdir,
                stdout=f,
                stderr=f,
                stdin=subprocess.DEVNULL,
            )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"flask server exited:\n{self.log.read_text()}")
            try:
                requests.get(f"http://127.0.0.1:{self.port}/ping", timeout=1)
                return
            except requests.RequestException:
                time.sleep(0.1)
        raise AssertionError(f"flask server not ready:\n{self.log.read_text()}")

    def get(self, path, token):
        return requests.get(
            f"http://127.0.0.1:{self.port}{path}", headers=bearer(token), timeout=HTTP_TIMEOUT
        )

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _require_binary():
    b = gatehouse_bin()
    if not (os.path.isfile(b) and os.access(b, os.X_OK)):
        pytest.fail(f"gatehouse binary not found at {b} (set GATEHOUSE_BIN or build build/dev)")


class Factory:
    """Starts servers; in PostgreSQL mode also creates (and at close drops) their databases.

    PostgreSQL mode: a server gets a fresh database unless the call passes `database=<url>`
    (`database=None`: no --database at all) or `--database` in args; a server given the data dir
    of an earlier server or command-line run shares that one's database (as it would share the
    SQLite file; see pg_database_for_data_dir).
    """

    def __init__(self, base: Path):
        self.base = base
        self.servers: list[Server] = []
        self.n = 0
        self.databases: list[str] = []  # created here, dropped at close

    def new_database(self) -> str:
        """A fresh, empty PostgreSQL database (dropped at close); its URL."""
        url = pg_create_database()
        self.databases.append(url)
        return url

    def __call__(self, *, start=True, **kw) -> Server:
        _require_binary()
        self.n += 1
        if pg_mode() and "database" not in kw and flag_value(kw.get("args") or [], "--database") is None:
            dd = kw.get("data_dir")
            kw["database"] = pg_database_for_data_dir(dd) if dd else self.new_database()
        srv = Server(self.base / f"srv{self.n}", **kw)
        if pg_mode() and srv.on_postgresql:
            _PG_DB_OF_DATA_DIR.setdefault(srv.data_dir.resolve(), srv.database_url)
        self.servers.append(srv)
        if start:
            srv.start()
        return srv

    def close(self):
        for s in self.servers:
            s.stop()
            if s in LIVE_SERVERS:
                LIVE_SERVERS.remove(s)
        for url in self.databases:
            pg_drop_database(url)
            for key in [k for k, v in _PG_DB_OF_DATA_DIR.items() if v == url]:
                del _PG_DB_OF_DATA_DIR[key]
        self.databases.clear()


def poll(fn, timeout: float = 3.0, interval: float = 0.1):
    """Call fn() until it returns a truthy value or timeout passes; return the last value."""
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(interval)


def race_registrations(servers, names, password: str = "correct horse") -> list:
    """POST /registration of names[i] to servers[i % len(servers)], all released at once by a
    barrier; returns [(status, json) or ("error", repr)] in the order of names."""
    barrier = threading.Barrier(len(names))
    results = [None] * len(names)

    def worker(i):
        srv = servers[i % len(servers)]
        with requests.Session() as s:
            barrier.wait()
            try:
                r = s.post(srv.url("/registration"),
                           json={"username": names[i], "password": password},
                           timeout=HTTP_TIMEOUT * 4)
                results[i] = (r.status_code, r.json())
            except Exception as e:  # reported by the caller's assertion
                results[i] = ("error", repr(e))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(names))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results
