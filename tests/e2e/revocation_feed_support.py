"""Helpers for the GET /revocations tests (API.md §12 "Revocations for resource servers"): the
secret, the JSON feed, and a Server-Sent Events reader on a thread."""

from __future__ import annotations

import threading
import time

import jwt
import requests

SECRET = "a revocations secret of at least 32 bytes"
ARGS = ["--revocations-secret", SECRET]


def auth(secret: str = SECRET) -> dict:
    return {"Authorization": f"Bearer {secret}"}


def feed(srv, secret: str = SECRET, **params) -> requests.Response:
    return srv.get("/revocations", headers=auth(secret), params=params)


def claims(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def matches(entry: dict, token: str) -> bool:
    """Whether the entry refuses the token, by the rule docs/api.md gives verifiers."""
    c = claims(token)
    if "jti" in entry:
        return entry["jti"] == c["jti"]
    if "sid" in entry:
        return entry["sid"] == c.get("sid")
    if entry.get("sub") != c["sub"].lower():
        return False
    cut = entry["revoked_before"]
    return c["iat"] < cut or ("sid" not in c and c["iat"] == cut)


class EventStream:
    """GET /revocations with Accept: text/event-stream, read on a thread: `events` holds
    (arrival monotonic time, id, data dict) in order; `ended` is set when the server closed."""

    def __init__(self, srv, *, after: str | None = None, last_event_id: str | None = None,
                 secret: str = SECRET):
        headers = {**auth(secret), "Accept": "text/event-stream"}
        if last_event_id is not None:
            headers["Last-Event-ID"] = last_event_id
        params = {"after": after} if after is not None else {}
        self.response = srv.get("/revocations", headers=headers, params=params, stream=True,
                                timeout=30)
        self.events: list[tuple[float, str, dict]] = []
        self.comments = 0
        self.ended = threading.Event()
        self._lock = threading.Lock()
        if self.response.status_code == 200:
            threading.Thread(target=self._read, daemon=True).start()
        else:
            self.ended.set()

    def _read(self):
        import json
        event_id, data = None, []
        try:
            for raw in self.response.iter_lines(chunk_size=1, decode_unicode=False):
                line = raw.decode()
                if line == "":
                    if data:
                        with self._lock:
                            self.events.append((time.monotonic(), event_id, json.loads("\n".join(data))))
                    event_id, data = None, []
                elif line.startswith(":"):
                    self.comments += 1
                elif line.startswith("id: "):
                    event_id = line[4:]
                elif line.startswith("data: "):
                    data.append(line[6:])
        except Exception:  # noqa: BLE001 - the test closed the response under the reader
            pass
        finally:
            self.ended.set()

    def snapshot(self) -> list[tuple[float, str, dict]]:
        with self._lock:
            return list(self.events)

    def wait_for(self, token: str, timeout: float = 3.0) -> float | None:
        """The arrival time of the first event refusing `token`, waiting up to timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for at, _, entry in self.snapshot():
                if matches(entry, token):
                    return at
            time.sleep(0.005)
        return None

    def close(self):
        self.response.close()
