"""Follow gatehouse's revocation feed (GET /revocations as Server-Sent Events) and keep the
revoked tokens in memory, so that a resource server verifying gatehouse tokens offline refuses
a logged-out token within a second.

    follower = RevocationFollower("http://gatehouse:8080", secret=os.environ["REVOCATIONS_SECRET"])
    follower.start()
    # Flask-JWT-Extended:
    use_with_flask_jwt_extended(jwt_manager, follower)
    # or PyJWT:
    claims = decode_unrevoked(token, key, follower, algorithms=["HS256"])

The set holds each entry until its `exp` (the last covered token's expiry), so its size is
bounded by the revocations of one token lifetime. The follower reconnects after any failure,
resuming with Last-Event-ID, so nothing is missed across a gatehouse restart or a network drop.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Callable, Optional

import requests

__all__ = ["RevocationFollower", "use_with_flask_jwt_extended", "decode_unrevoked"]

# gatehouse sends a comment every 15 s: a stream silent for longer is dead, reconnect.
_READ_TIMEOUT = 45.0
# An event is a few hundred bytes; a longer line is not gatehouse's.
_MAX_LINE = 64 * 1024


class RevocationFollower:
    """Follows GET /revocations on a daemon thread; `is_revoked(claims)` asks the set.

    `stale_after` (seconds, optional): when the stream has been down longer, `is_revoked`
    answers True for every token (fail closed) rather than accept tokens revoked meanwhile.
    """

    def __init__(self, base_url: str, secret: str, *, reconnect_delay: float = 1.0,
                 stale_after: Optional[float] = None,
                 on_error: Optional[Callable[[Exception], None]] = None,
                 clock: Callable[[], float] = time.time):
        self._url = base_url.rstrip("/") + "/revocations"
        self._secret = secret
        self._reconnect_delay = reconnect_delay
        self._stale_after = stale_after
        self._on_error = on_error
        self._clock = clock
        self._lock = threading.Lock()
        self._jtis: dict[str, int] = {}
        self._sids: dict[str, int] = {}
        self._users: dict[str, tuple[int, int]] = {}  # sub -> (revoked_before, exp)
        self._last_id: Optional[str] = None
        self._connected = threading.Event()
        self._caught_up = threading.Event()
        self._down_since: Optional[float] = time.monotonic()
        self._stop = threading.Event()
        self._response: Optional[requests.Response] = None
        self._thread: Optional[threading.Thread] = None
        self._last_prune = 0.0

    # -- the set -----------------------------------------------------------------------------

    def is_revoked(self, claims: dict) -> bool:
        """Whether gatehouse revoked the token with these (verified) claims."""
        now = self._clock()
        with self._lock:
            if self._stale_after is not None and self._down_since is not None and \
                    time.monotonic() - self._down_since > self._stale_after:
                return True
            if self._jtis.get(claims.get("jti", ""), 0) > now:
                return True
            sid = claims.get("sid")
            if sid and self._sids.get(sid, 0) > now:
                return True
            sub = claims.get("sub")
            user = self._users.get(_lower_ascii(sub)) if isinstance(sub, str) else None
        if user is None or user[1] <= now:
            return False
        iat = claims.get("iat", 0)
        return iat < user[0] or (not sid and iat == user[0])

    def apply(self, entry: dict) -> None:
        """Adds one feed entry (as GET /revocations answers it) to the set."""
        exp = int(entry.get("exp", 0))
        with self._lock:
            if "jti" in entry:
                self._jtis[entry["jti"]] = max(exp, self._jtis.get(entry["jti"], 0))
            elif "sid" in entry:
                self._sids[entry["sid"]] = max(exp, self._sids.get(entry["sid"], 0))
            elif "sub" in entry:
                old = self._users.get(entry["sub"], (0, 0))
                self._users[entry["sub"]] = (max(old[0], int(entry["revoked_before"])),
                                             max(old[1], exp))

    def prune(self) -> None:
        """Forgets entries that refuse nothing any more (done every minute while following)."""
        now = self._clock()
        with self._lock:
            for table in (self._jtis, self._sids):
                for key in [k for k, exp in table.items() if exp <= now]:
                    del table[key]
            for key in [k for k, v in self._users.items() if v[1] <= now]:
                del self._users[key]

    def __len__(self) -> int:
        with self._lock:
            return len(self._jtis) + len(self._sids) + len(self._users)

    # -- following ---------------------------------------------------------------------------

    def start(self) -> "RevocationFollower":
        self._thread = threading.Thread(target=self._run, name="gatehouse-revocations",
                                        daemon=True)
        self._thread.start()
        return self

    def wait_connected(self, timeout: float = 10.0) -> bool:
        """Waits until the stream is open (the backlog may still be arriving)."""
        return self._connected.wait(timeout)

    def stop(self) -> None:
        self._stop.set()
        response = self._response
        if response is not None:
            response.close()
        if self._thread is not None:
            self._thread.join(5)

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._follow()
            except Exception as error:  # any failure: reconnect, resuming after the last id
                if self._on_error is not None and not self._stop.is_set():
                    self._on_error(error)
            with self._lock:
                if self._down_since is None:
                    self._down_since = time.monotonic()
            self._connected.clear()
            self._stop.wait(self._reconnect_delay)

    def _follow(self) -> None:
        headers = {"Authorization": f"Bearer {self._secret}", "Accept": "text/event-stream"}
        if self._last_id is not None:
            headers["Last-Event-ID"] = self._last_id
        with requests.get(self._url, headers=headers, stream=True,
                          timeout=(10, _READ_TIMEOUT)) as response:
            self._response = response
            if self._stop.is_set():
                return
            response.raise_for_status()
            with self._lock:
                self._down_since = None
            self._connected.set()
            event_id, data = None, []
            for raw in response.iter_lines(chunk_size=None):
                if len(raw) > _MAX_LINE:
                    raise ValueError("an event line longer than gatehouse sends")
                line = raw.decode("utf-8")
                if line == "":
                    if data:
                        self.apply(json.loads("\n".join(data)))
                        if event_id is not None:
                            self._last_id = event_id
                    event_id, data = None, []
                    self._maybe_prune()
                elif line.startswith("id:"):
                    event_id = line[3:].lstrip(" ")
                elif line.startswith("data:"):
                    data.append(line[5:].lstrip(" "))

    def _maybe_prune(self) -> None:
        now = time.monotonic()
        if now - self._last_prune >= 60:
            self._last_prune = now
            self.prune()


def _lower_ascii(text: str) -> str:
    return "".join(c.lower() if "A" <= c <= "Z" else c for c in text)


def use_with_flask_jwt_extended(jwt_manager, follower: RevocationFollower) -> None:
    """Registers the follower as the JWTManager's token_in_blocklist_loader: a revoked token
    is answered 401 `Token has been revoked`, as gatehouse itself answers."""

    @jwt_manager.token_in_blocklist_loader
    def _revoked(_jwt_header, jwt_payload):
        return follower.is_revoked(jwt_payload)


def decode_unrevoked(token: str, key, follower: RevocationFollower, **decode_kwargs) -> dict:
    """jwt.decode (PyJWT) that also refuses a revoked token (jwt.InvalidTokenError)."""
    import jwt

    claims = jwt.decode(token, key, **decode_kwargs)
    if follower.is_revoked(claims):
        raise jwt.InvalidTokenError("Token has been revoked")
    return claims
