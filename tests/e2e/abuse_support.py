"""Helpers for the hostile-input and abuse tests (tests/e2e/test_abuse_*.py).

Written from the contract (/work/shared/API.md) only, not from the server's sources.
Servers are started with gatehouse_e2e.Factory (the suite's own helper); this module adds
raw-socket HTTP, client source addresses on 127/8 and hand-made JWS.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import time

import requests
from requests.adapters import HTTPAdapter

import gatehouse_e2e as gh

# The three rate limits at their documented defaults (API.md §7). gatehouse_e2e turns them
# off through the environment for the rest of the suite; a flag beats the environment, so
# a test that wants "default limits unless said" passes these.
DEFAULT_LIMIT_FLAGS = {
    "--rate-limit-login-per-user": "10/15m",
    "--rate-limit-login-per-address": "100/15m",
    "--rate-limit-registration-per-address": "30/1m",
}


def limit_args(**overrides) -> list[str]:
    """Flags for the three rate limits: defaults, with overrides by flag name sans '--'.

    limit_args(rate_limit_login_per_user="5/15m") -> [..., "--rate-limit-login-per-user", "5/15m", ...]
    """
    flags = dict(DEFAULT_LIMIT_FLAGS)
    for k, v in overrides.items():
        flags["--" + k.replace("_", "-")] = v
    out: list[str] = []
    for k, v in flags.items():
        out += [k, v]
    return out


# -- client source addresses -----------------------------------------------------------
class SourceAddressAdapter(HTTPAdapter):
    """A requests adapter whose connections leave from a given local address."""

    def __init__(self, source: str, **kw):
        self._source = source
        super().__init__(**kw)

    def init_poolmanager(self, connections, maxsize, block=False, **kw):
        kw["source_address"] = (self._source, 0)
        super().init_poolmanager(connections, maxsize, block=block, **kw)


class Client:
    """HTTP calls to one server from one client address (127.0.0.1, .2, .3 ...)."""

    def __init__(self, srv: gh.Server, source: str = "127.0.0.1"):
        self.srv = srv
        self.source = source
        self.session = requests.Session()
        adapter = SourceAddressAdapter(source)
        self.session.mount("http://", adapter)

    def request(self, method, path, **kw) -> requests.Response:
        kw.setdefault("timeout", gh.HTTP_TIMEOUT)
        return self.session.request(method, self.srv.url(path), **kw)

    def post(self, path, **kw):
        return self.request("POST", path, **kw)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def login(self, username, password, headers=None):
        return self.post("/login", json={"username": username, "password": password}, headers=headers)

    def register(self, username, password="correct horse", headers=None):
        return self.post(
            "/registration", json={"username": username, "password": password}, headers=headers
        )

    def close(self):
        self.session.close()


def retry_after(r) -> int:
    """The Retry-After header as whole seconds (asserts the format of API.md §4)."""
    v = r.headers.get("Retry-After")
    assert v is not None, f"no Retry-After on {r.status_code}: {dict(r.headers)}"
    assert v.isdigit(), f"Retry-After is not whole seconds: {v!r}"
    n = int(v)
    assert n >= 1, f"Retry-After below 1: {v!r}"
    return n


def assert_message_json(r, status: int) -> str:
    """Exact status, application/json; charset=utf-8, body {"message": <non-empty str>}."""
    got = gh.assert_json(r, status)
    assert set(got) == {"message"} and isinstance(got["message"], str) and got["message"], got
    return got["message"]


# -- raw sockets -----------------------------------------------------------------------
def connect(port: int, source: str | None = None, timeout: float = 5) -> socket.socket:
    kw = {"source_address": (source, 0)} if source else {}
    return socket.create_connection(("127.0.0.1", port), timeout=timeout, **kw)


class Response:
    def __init__(self, status: int, reason: str, headers: dict, body: bytes, raw_head: bytes):
        self.status = status
        self.reason = reason
        self.headers = headers  # lower-case names
        self.body = body
        self.raw_head = raw_head

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return f"<Response {self.status} {self.headers} {self.body[:200]!r}>"


class Reader:
    """Reads successive HTTP/1.1 responses from one socket."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.buf = b""

    def _more(self, what: str) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"connection closed while reading {what}; have {self.buf[:300]!r}")
        self.buf += chunk

    def read_response(self, head_request: bool = False) -> Response:
        while b"\r\n\r\n" not in self.buf:
            self._more("a response head")
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        assert parts[0].startswith("HTTP/1."), f"not an HTTP response: {head[:200]!r}"
        status = int(parts[1])
        reason = parts[2] if len(parts) > 2 else ""
        headers: dict[str, str] = {}
        for line in lines[1:]:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
        if head_request or status in (204, 304) or 100 <= status < 200:
            return Response(status, reason, headers, b"", head)
        if "chunked" in headers.get("transfer-encoding", "").lower():
            body = b""
            while True:
                while b"\r\n" not in self.buf:
                    self._more("a chunk size")
                line, self.buf = self.buf.split(b"\r\n", 1)
                size = int(line.split(b";")[0], 16)
                while len(self.buf) < size + 2:
                    self._more("a chunk")
                body, self.buf = body + self.buf[:size], self.buf[size + 2:]
                if size == 0:
                    break
        elif "content-length" in headers:
            n = int(headers["content-length"])
            while len(self.buf) < n:
                self._more("a body")
            body, self.buf = self.buf[:n], self.buf[n:]
        else:  # delimited by close
            while True:
                try:
                    chunk = self.sock.recv(65536)
                except ConnectionResetError:
                    break
                if not chunk:
                    break
                self.buf += chunk
            body, self.buf = self.buf, b""
        return Response(status, reason, headers, body, head)


def wait_closed(sock: socket.socket, timeout: float) -> tuple[str, bytes, float]:
    """Read until the peer closes or timeout passes.

    Returns (how, data, elapsed): how is "eof", "reset" or "timeout"; data is whatever
    arrived before that.
    """
    start = time.monotonic()
    deadline = start + timeout
    data = b""
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return "timeout", data, time.monotonic() - start
        sock.settimeout(left)
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            return "timeout", data, time.monotonic() - start
        except (ConnectionResetError, ConnectionAbortedError):
            return "reset", data, time.monotonic() - start
        if not chunk:
            return "eof", data, time.monotonic() - start
        data += chunk


def status_of(data: bytes) -> int | None:
    """The status code of the first response in data, or None."""
    if not data.startswith(b"HTTP/1."):
        return None
    try:
        return int(data.split(b" ", 2)[1])
    except (IndexError, ValueError):
        return None


def http_request(method: str, path: str, headers: dict | None = None, body: bytes = b"",
                 host: str = "gatehouse.test") -> bytes:
    h = {"Host": host}
    given = {k.lower() for k in (headers or {})}
    if (body or method in ("POST", "PUT", "PATCH")) and not given & {"content-length", "transfer-encoding"}:
        h["Content-Length"] = str(len(body))
    h.update(headers or {})
    lines = [f"{method} {path} HTTP/1.1"] + [f"{k}: {v}" for k, v in h.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


# -- hand-made JWS ---------------------------------------------------------------------
def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64json(obj) -> str:
    return b64url(json.dumps(obj, separators=(",", ":")).encode())


def hs_sign(secret: str, signing_input: str, digest=hashlib.sha256) -> str:
    return b64url(hmac.new(secret.encode(), signing_input.encode("latin-1"), digest).digest())


def jws(secret: str, header_part: str, payload_part: str, digest=hashlib.sha256) -> str:
    """header.payload.signature with the HMAC computed over exactly the given parts."""
    si = f"{header_part}.{payload_part}"
    return f"{si}.{hs_sign(secret, si, digest)}"


def claims_for(username, **overrides) -> dict:
    """A full set of valid access-token claims for username, overridable."""
    import uuid

    now = int(time.time())
    c = {
        "sub": username,
        "type": "access",
        "fresh": False,
        "jti": str(uuid.uuid4()),
        "sid": str(uuid.uuid4()),
        "iat": now,
        "nbf": now,
        "exp": now + 600,
    }
    c.update(overrides)
    return c
