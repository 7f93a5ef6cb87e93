"""Helpers for the account/operations tests (tests/e2e/test_ops_*.py).

Written from the contract (/work/shared/API.md §4, §6, §7), docs/api.md and issue 6 only,
not from the server's sources. Servers are started with gatehouse_e2e.Factory; this module
adds the command line, Prometheus parsing, log reading and a Flask-service database builder.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import sqlite3
import subprocess
import time
import uuid
from pathlib import Path

import jwt
from prometheus_client.parser import text_string_to_metric_families

import gatehouse_e2e as gh

CLI_TIMEOUT = 30  # seconds per command


# -- command line ----------------------------------------------------------------------

def run_cli(args: list[str], *, data_dir: Path | None = None, input: str | None = None,
            cwd: Path | None = None, extra_env: dict | None = None,
            timeout: float = CLI_TIMEOUT) -> subprocess.CompletedProcess:
    """Run `gatehouse <args> [--data-dir <data_dir>]`; stdin is `input` (a pipe) or /dev/null.

    The environment is the suite's (no GATEHOUSE_* of the caller's, rate limits off).
    PostgreSQL mode (GATEHOUSE_E2E_PG_URL): also `--database <the data dir's database>`, unless
    args hold --database, so that a server started on the same data dir sees the same storage.
    """
    argv = [gh.gatehouse_bin(), *args]
    if data_dir is not None:
        argv += ["--data-dir", str(data_dir)]
        if gh.pg_mode() and gh.flag_value(list(args), "--database") is None:
            argv += ["--database", gh.pg_database_for_data_dir(data_dir)]
    kw = dict(
        env=gh.clean_env(extra_env),
        cwd=str(cwd) if cwd else None,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if input is None:
        kw["stdin"] = subprocess.DEVNULL
    else:
        kw["input"] = input
    return subprocess.run(argv, **kw)


def describe(p: subprocess.CompletedProcess) -> str:
    return f"argv={p.args!r}\nexit={p.returncode}\nstdout={p.stdout!r}\nstderr={p.stderr!r}"


def assert_ok(p: subprocess.CompletedProcess) -> None:
    assert p.returncode == 0, describe(p)


def assert_failed(p: subprocess.CompletedProcess, *, contains: str | None = None) -> str:
    """Exit 1 with exactly one line 'gatehouse: …' on stderr; return that line."""
    assert p.returncode == 1, describe(p)
    lines = p.stderr.splitlines()
    assert len(lines) == 1, "expected one line on stderr\n" + describe(p)
    line = lines[0]
    assert line.startswith("gatehouse: ") and len(line) > len("gatehouse: "), describe(p)
    if contains is not None:
        assert contains.lower() in line.lower(), describe(p)
    return line


# -- polling ---------------------------------------------------------------------------

poll = gh.poll  # one polling helper for the whole suite


def is_revoked(r) -> bool:
    return r.status_code == 401 and r.headers.get("Content-Type") == gh.JSON_CT and \
        r.json() == {"message": "Token has been revoked"}


# -- Prometheus ------------------------------------------------------------------------

class Metrics:
    """One parsed /metrics answer."""

    def __init__(self, text: str):
        self.text = text
        self.families = {f.name: f for f in text_string_to_metric_families(text)}

    def family(self, name: str):
        assert name in self.families, f"no metric family {name!r} in:\n{self.text}"
        return self.families[name]

    def samples(self, sample_name: str, **labels) -> list:
        """Samples with this name whose labels include `labels`."""
        out = []
        for f in self.families.values():
            for s in f.samples:
                if s.name == sample_name and all(s.labels.get(k) == v for k, v in labels.items()):
                    out.append(s)
        return out

    def value(self, sample_name: str, **labels) -> float:
        """Sum of the matching samples (0 when none: a labelled counter may not exist yet)."""
        return sum(s.value for s in self.samples(sample_name, **labels))


def scrape(srv) -> Metrics:
    r = srv.get("/metrics")
    assert r.status_code == 200, (r.status_code, r.text)
    ct = r.headers.get("Content-Type", "")
    assert ct.startswith("text/plain; version=0.0.4"), ct
    return Metrics(r.text)


# -- logs ------------------------------------------------------------------------------

def log_lines(srv) -> list[str]:
    """The server's stderr lines, without the '==== start #n: <argv>' lines the suite writes."""
    return [ln for ln in srv.stderr_text().splitlines()
            if ln.strip() and not ln.startswith("==== start #")]


# -- the Flask service's database ------------------------------------------------------

def ab64(data: bytes) -> str:
    """passlib's adapted base64: standard alphabet, '+' -> '.', no '=' padding."""
    return base64.b64encode(data).decode().rstrip("=").replace("+", ".")


def pbkdf2_sha256_hash(password: str, *, rounds: int = 29000, salt: bytes | None = None) -> str:
    salt = os.urandom(16) if salt is None else salt
    dk = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, rounds, 32)
    return f"$pbkdf2-sha256${rounds}${ab64(salt)}${ab64(dk)}"


def pbkdf2_hash_with_dot(password: str, *, where: str, rounds: int = 29000) -> str:
    """A hash whose salt ('salt') or checksum ('checksum') ab64 text contains '.' (was '+')."""
    for _ in range(1000):
        h = pbkdf2_sha256_hash(password, rounds=rounds)
        _, _, _, salt_txt, sum_txt = h.split("$")
        if "." in (salt_txt if where == "salt" else sum_txt):
            return h
    raise AssertionError("could not find a salt giving a '.'")  # practically impossible


FLASK_SCHEMA = """
CREATE TABLE users (id INTEGER PRIMARY KEY, username VARCHAR(120) UNIQUE NOT NULL,
                    password VARCHAR(120) NOT NULL);
CREATE TABLE revoked_tokens (id INTEGER PRIMARY KEY, jti VARCHAR(120));
"""


def build_flask_db(path: Path, users: list[tuple[str, str]], revoked_jtis: list[str]) -> None:
    """users: [(username, passlib hash)]."""
    con = sqlite3.connect(str(path))
    try:
        con.executescript(FLASK_SCHEMA)
        con.executemany("INSERT INTO users (username, password) VALUES (?, ?)", users)
        con.executemany("INSERT INTO revoked_tokens (jti) VALUES (?)", [(j,) for j in revoked_jtis])
        con.commit()
    finally:
        con.close()


def flask_token(secret: str, sub: str, *, type_: str = "access", fresh=False,
                jti: str | None = None, ttl: int = 900) -> str:
    """A token as Flask-JWT-Extended 4 writes it: fresh, iat, jti, type, sub, nbf, exp; no sid."""
    now = int(time.time())
    payload = {
        "fresh": fresh,
        "iat": now,
        "jti": jti or str(uuid.uuid4()),
        "type": type_,
        "sub": sub,
        "nbf": now,
        "exp": now + ttl,
    }
    return jwt.encode(payload, secret, algorithm="HS256")


def gatehouse_db(data_dir: Path) -> Path:
    return Path(data_dir) / "gatehouse.db"


def db_query(db: Path, sql: str, params=()) -> list[tuple]:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


def sql_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def stored_hash(data_dir: Path, username: str) -> str:
    """The users row's password_hash, from the data dir's SQLite file or (PostgreSQL mode) from
    the database standing in for it (same table and columns)."""
    if gh.pg_mode():
        rows = [(r,) for r in gh.psql(gh.pg_database_for_data_dir(data_dir),
                                      "SELECT password_hash FROM users WHERE username_key = "
                                      f"lower({sql_literal(username)})")]
    else:
        rows = db_query(gatehouse_db(data_dir),
                        "SELECT password_hash FROM users WHERE username_key = lower(?)", (username,))
    assert len(rows) == 1, rows
    return rows[0][0]


def dump_table(data_dir: Path, table: str) -> list:
    """Every row of a table (SQLite: tuples; PostgreSQL mode: psql's 'a|b|c' lines), sorted."""
    if gh.pg_mode():
        return sorted(gh.psql(gh.pg_database_for_data_dir(data_dir), f"SELECT * FROM {table}"))
    return sorted(db_query(gatehouse_db(data_dir), f"SELECT * FROM {table}"), key=repr)


def secret32() -> str:
    return "ops-" + uuid.uuid4().hex + uuid.uuid4().hex[:8]


def jsonl(lines: list[str]) -> list[dict]:
    out = []
    for ln in lines:
        try:
            obj = json.loads(ln)
        except ValueError:
            raise AssertionError(f"log line is not JSON: {ln!r}")
        assert isinstance(obj, dict), f"log line is not a JSON object: {ln!r}"
        out.append(obj)
    return out
