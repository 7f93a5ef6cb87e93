"""API.md §12 Webhooks: every event POSTed in the Standard Webhooks format, received by a Node
receiver that verifies each signature with the npm `standardwebhooks` package; its `data` the
very item GET /admin/events answers for the event; at least once and in event order per URL,
retried after a failure with the same webhook-id, every event delivered after a restart, a slow
receiver does not hold requests up, the delivery metrics in /metrics, and neither the secret nor
the URL's credentials or query in the logs. Runs on SQLite and (scripts/test) on PostgreSQL."""

import base64
import json
import os
import secrets
import statistics
import subprocess
import time
from pathlib import Path

import pytest
import requests

import gatehouse_e2e as gh
from gatehouse_e2e import bearer

PW = "correct horse"
ADMIN = "an admin secret of at least thirty-two bytes"
REPO = Path(__file__).resolve().parents[2]
RECEIVER = REPO / "tests/e2e/webhooks/receiver.js"


def node_modules() -> str:
    path = os.environ.get("GATEHOUSE_WEBHOOKS_NODE_MODULES") or str(
        REPO / "build/e2e-webhooks/node_modules")
    assert Path(path, "standardwebhooks").is_dir(), (
        f"no standardwebhooks in {path}: scripts/test installs tests/e2e/webhooks "
        "(npm ci) into build/e2e-webhooks")
    return path


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


class Receiver:
    """receiver.js on its own port; `attempts()` reads what it logged."""

    def __init__(self, workdir: Path, secret: str, fail_first=0, delay_ms=0, port=None):
        self.port = port or gh.free_port()
        self.log = workdir / f"receiver-{self.port}.jsonl"
        self.args = [str(self.port), secret, str(self.log), str(fail_first), str(delay_ms)]
        self.proc = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def start(self) -> "Receiver":
        env = dict(os.environ, NODE_PATH=node_modules())
        self.proc = subprocess.Popen(["node", str(RECEIVER), *self.args], env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        line = self.proc.stdout.readline()
        assert line.startswith("listening"), line
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)

    def attempts(self) -> list[dict]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines() if line]

    def arrived(self) -> int:
        """How many requests have reached the receiver, answered or not yet."""
        arrivals = Path(str(self.log) + ".arrivals")
        return len(arrivals.read_text().splitlines()) if arrivals.exists() else 0

    def delivered(self) -> list[dict]:
        return [a for a in self.attempts() if a["verified"] and a["status"] < 300]

    def wait_delivered(self, count: int, timeout: float = 10) -> list[dict]:
        got = gh.poll(lambda: len(self.delivered()) >= count and self.delivered(), timeout)
        assert got and len(got) >= count, self.attempts()
        return got


@pytest.fixture
def receivers(tmp_path):
    made = []

    def make(secret, **kw):
        made.append(Receiver(tmp_path, secret, **kw))
        return made[-1]

    yield make
    for r in made:
        r.stop()


def webhook_server(server_factory, secret, *urls, extra=()):
    return server_factory(args=["--webhooks-url", ",".join(urls), "--webhooks-secret", secret,
                                "--admin-secret", ADMIN, *extra])


def admin_events(srv) -> list[dict]:
    """Every event of the log, oldest first, as GET /admin/events answers them."""
    events, after = [], "0"
    while True:
        r = srv.get("/admin/events", params={"after": after, "limit": 1000},
                    headers=bearer(ADMIN))
        assert r.status_code == 200, r.text
        page = r.json()
        if not page["events"]:
            return events
        events += page["events"]
        after = page["next"]


# API.md §12's delivery metrics, each with its Prometheus type.
WEBHOOK_METRICS = [("gatehouse_webhook_deliveries_total", "counter"),
                   ("gatehouse_webhook_failed_attempts_total", "counter"),
                   ("gatehouse_webhook_given_up_total", "counter"),
                   ("gatehouse_webhook_retries_pending", "gauge"),
                   ("gatehouse_webhook_lag_seconds", "gauge")]


def metric(srv, name) -> float:
    for line in srv.get("/metrics").text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not in /metrics")


def test_events_are_delivered_signed_in_order_to_every_url(server_factory, receivers):
    secret = new_secret()
    first, second = receivers(secret).start(), receivers(secret).start()
    srv = webhook_server(server_factory, secret, first.url, second.url)
    user = gh.uname("Wh")
    reg = srv.post("/registration", json={"username": user, "password": PW},
                   headers={"User-Agent": "webhooks-test/1"}).json()
    started = time.monotonic()  # the event is durable: the 200 came after it
    first.wait_delivered(1)
    first_delay = time.monotonic() - started
    assert srv.login(user, "wrong password").status_code == 401
    login = srv.login(user).json()
    assert srv.post("/logout/access", headers=bearer(login["access_token"])).status_code == 200
    assert srv.post("/logout/all", headers=bearer(reg["access_token"])).status_code == 200
    types = ["user.created", "login.failed", "login.succeeded", "token.revoked",
             "user.logged_out_everywhere"]
    for receiver in (first, second):
        got = receiver.wait_delivered(len(types))
        assert [a["type"] for a in got] == types, got
        assert all(a["verified"] for a in receiver.attempts()), receiver.attempts()
        ids = [a["data"]["id"] for a in got]
        assert ids == sorted(ids) and len(set(ids)) == len(ids), ids
        assert [a["id"] for a in got] == [f"evt_{i}" for i in ids]
        created = got[0]["data"]
        assert created["username"] == user and created["user_agent"] == "webhooks-test/1"
        assert created["client_address"] == "127.0.0.1" and created["sid"]
        assert created["at"].endswith("Z") and len(created["at"]) == 24, created
        assert got[0]["timestamp"] == created["at"]
        assert "sid" not in got[4]["data"]  # logged out everywhere: no one session
        assert not any(k in json.dumps(got) for k in ("password", PW, login["access_token"]))
        # One serializer: each `data` is the log's own item for the event, and no event is
        # missing.
        assert [a["data"] for a in got] == admin_events(srv)
    print(f"first delivery {first_delay * 1000:.0f} ms after the registration's answer")
    text = srv.get("/metrics").text
    for name, kind in WEBHOOK_METRICS:
        assert f"# TYPE {name} {kind}\n" in text and f"# HELP {name} " in text, name
    assert metric(srv, "gatehouse_webhook_deliveries_total") == 2 * len(types)
    assert metric(srv, "gatehouse_webhook_failed_attempts_total") == 0
    assert metric(srv, "gatehouse_webhook_given_up_total") == 0
    assert metric(srv, "gatehouse_webhook_retries_pending") == 0
    assert metric(srv, "gatehouse_webhook_lag_seconds") == 0


def test_webhooks_events_selects_types(server_factory, receivers):
    secret = new_secret()
    receiver = receivers(secret).start()
    srv = webhook_server(server_factory, secret, receiver.url,
                         extra=["--webhooks-events", "user.created, login.succeeded"])
    user, _ = srv.new_user("Sel")
    assert srv.login(user, "wrong password").status_code == 401
    assert srv.login(user).status_code == 200
    got = receiver.wait_delivered(2)
    time.sleep(0.5)
    assert [a["type"] for a in receiver.delivered()] == ["user.created", "login.succeeded"]


def test_a_failing_receiver_gets_retries_with_the_same_webhook_id(server_factory, receivers):
    secret = new_secret()
    receiver = receivers(secret, fail_first=2).start()
    srv = webhook_server(server_factory, secret, receiver.url)
    user, _ = srv.new_user("Retry")
    assert srv.login(user).status_code == 200
    got = receiver.wait_delivered(2, timeout=40)
    attempts = receiver.attempts()
    created = [a for a in attempts if a["id"] == got[0]["id"]]
    assert [a["status"] for a in created] == [500, 500, 204], attempts
    # After 1 s, then 5 s: never sooner; later only by as much as the machine is slow (bounded
    # by the schedule's next step, 30 s, so a busy machine does not fail the test).
    gaps = [(b["received_ms"] - a["received_ms"]) / 1000 for a, b in zip(created, created[1:])]
    assert 0.9 <= gaps[0] < 30 and 4.9 <= gaps[1] < 30, gaps
    # In order: the login's event waited behind the user's first event, then went through the
    # same failures.
    assert [a["type"] for a in got] == ["user.created", "login.succeeded"]
    assert [a["data"] for a in got] == admin_events(srv)
    logged_in = [a for a in attempts if a["id"] == got[1]["id"]]
    assert [a["status"] for a in logged_in] == [500, 500, 204], attempts
    assert logged_in[0]["received_ms"] >= created[-1]["at_ms"]
    assert metric(srv, "gatehouse_webhook_failed_attempts_total") == 4  # 2 per event
    assert metric(srv, "gatehouse_webhook_deliveries_total") == 2


def test_a_receiver_down_across_a_restart_gets_every_event_after(server_factory, receivers):
    secret = new_secret()
    receiver = receivers(secret)  # not started: its port refuses connections
    srv = webhook_server(server_factory, secret, receiver.url)
    user, _ = srv.new_user("Down")
    assert srv.login(user, "wrong password").status_code == 401
    assert srv.login(user).status_code == 200
    # The first event's attempt failed; it waits for its retry, the others behind it.
    assert gh.poll(lambda: metric(srv, "gatehouse_webhook_retries_pending") == 1, 10)
    assert metric(srv, "gatehouse_webhook_failed_attempts_total") >= 1
    assert metric(srv, "gatehouse_webhook_deliveries_total") == 0
    assert metric(srv, "gatehouse_webhook_lag_seconds") > 0
    before = admin_events(srv)
    assert srv.terminate() == 0
    receiver.start()
    srv.start()
    assert srv.login(user).status_code == 200
    logged = admin_events(srv)
    assert logged[:len(before)] == before and len(logged) == len(before) + 1
    got = receiver.wait_delivered(len(logged), timeout=20)
    # Nothing lost, nothing twice (no attempt had a 2xx before the restart), in order.
    assert [a["data"] for a in got] == logged, (got, logged)
    assert [a["type"] for a in got] == ["user.created", "login.failed", "login.succeeded",
                                        "login.succeeded"]
    assert metric(srv, "gatehouse_webhook_retries_pending") == 0


def measure(srv, user: str, token: str, seconds: float) -> tuple[list, list]:
    """/login and /me in turn for `seconds`: each call's (start, end) in wall-clock ms (the
    receiver's clock: the same machine)."""
    logins, mes = [], []
    with requests.Session() as http:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            start = time.time() * 1000
            assert http.post(srv.url("/login"), json={"username": user, "password": PW},
                             timeout=60).status_code == 200
            logins.append((start, time.time() * 1000))
            start = time.time() * 1000
            assert http.get(srv.url("/me"), headers=bearer(token), timeout=60).status_code == 200
            mes.append((start, time.time() * 1000))
    return logins, mes


def latencies(name: str, spans: list) -> str:
    ms = sorted(end - start for start, end in spans)
    return f"{name} n={len(ms)} p50={statistics.median(ms):.1f} ms max={ms[-1]:.1f} ms"


def test_a_slow_receiver_does_not_hold_up_login_or_me(server_factory, receivers):
    # The same measurement without webhooks, to read the other against (reported only: no
    # assertion here depends on how fast this machine is).
    plain = server_factory()
    user, body = plain.new_user("Base")
    base = measure(plain, user, body["access_token"], 5)
    assert plain.terminate() == 0
    secret = new_secret()
    receiver = receivers(secret, delay_ms=5000).start()
    srv = webhook_server(server_factory, secret, receiver.url)
    user, body = srv.new_user("Slow")
    assert gh.poll(lambda: receiver.arrived() >= 1, 15)  # a 5 s delivery is in progress
    slow = measure(srv, user, body["access_token"], 11)  # over at least two such deliveries
    print(f"without webhooks: {latencies('/login', base[0])}; {latencies('/me', base[1])}")
    print(f"5 s receiver:     {latencies('/login', slow[0])}; {latencies('/me', slow[1])}")
    # Every login recorded an event, so the receiver was never idle: deliveries ran back to
    # back. Were a request to wait for a delivery, none could start after a delivery reached the
    # receiver and be answered before that delivery was: some of each did.
    windows = [(a["received_ms"], a["at_ms"]) for a in receiver.attempts()]
    assert len(windows) >= 2, receiver.attempts()

    def within_a_delivery(spans):
        return [s for s in spans if any(r <= s[0] and s[1] <= a for r, a in windows)]

    assert within_a_delivery(slow[0]) and within_a_delivery(slow[1]), (windows, slow)
    got = receiver.wait_delivered(2, timeout=30)
    assert [a["type"] for a in got][:2] == ["user.created", "login.succeeded"]


def test_logs_show_neither_the_secret_nor_the_urls_credentials_or_query(server_factory,
                                                                        receivers):
    secret = new_secret()
    receiver = receivers(secret, fail_first=1).start()  # a failed attempt is logged with its URL
    url = (f"http://hook-user:hook-pass-7f3a@127.0.0.1:{receiver.port}/hooks"
           "?token=query-secret-9c1e#fragment-secret-2b8d")
    srv = webhook_server(server_factory, secret, url)
    srv.new_user("Safe")
    assert receiver.wait_delivered(1, timeout=20)[0]["type"] == "user.created"
    # The harness writes each command line (secret and all) above the server's own output.
    logs = "\n".join(line for line in srv.stderr_text().splitlines()
                     if not line.startswith("==== start"))
    assert "webhooks: attempt failed" in logs, logs
    shown = f'"http://127.0.0.1:{receiver.port}/hooks"'
    assert shown in logs, logs  # the URL as logs show it: scheme, host, port and path
    answers = srv.get("/metrics").text + json.dumps(admin_events(srv))
    for hidden in ("hook-user", "hook-pass-7f3a", "query-secret-9c1e", "fragment-secret-2b8d",
                   secret, secret[len("whsec_"):]):
        assert hidden not in logs and hidden not in answers, hidden


def test_a_url_libcurl_cannot_read_exits_2_without_echoing_it(tmp_path):
    # The authority ends at the first "/": the port would be "pass", so libcurl refuses it.
    url = "http://hook-user:pass/word-5d1c@127.0.0.1/hooks"
    p = subprocess.run([gh.gatehouse_bin(), "serve", "--listen", f"127.0.0.1:{gh.free_port()}",
                        "--data-dir", str(tmp_path / "d"), "--webhooks-url", url,
                        "--webhooks-secret", new_secret()],
                       env=gh.clean_env(), capture_output=True, timeout=20)
    err = p.stderr.decode(errors="replace") + p.stdout.decode(errors="replace")
    assert p.returncode == 2, (p.returncode, err)
    assert "webhooks.url" in err, err
    assert "hook-user" not in err and "word-5d1c" not in err, err


@pytest.mark.parametrize("args", [
    ["--webhooks-secret", "whsec_not*base64!"],
    ["--webhooks-secret", "whsec_" + base64.b64encode(b"short").decode()],
    ["--webhooks-secret", "whsec_" + base64.b64encode(bytes(32)).decode()],  # 32 NUL bytes
    ["--webhooks-secret", "whsec_" + base64.b64encode(b"hook" * 8).decode()],  # a word repeated
    ["--webhooks-secret", base64.b64encode(secrets.token_bytes(32)).decode()],
    ["--webhooks-url", "ftp://example.com/hook"],
    ["--webhooks-events", "user.created,no.such_type"],
])
def test_a_malformed_webhook_setting_exits_2_without_echoing_it(tmp_path, args):
    p = subprocess.run([gh.gatehouse_bin(), "serve", "--listen", f"127.0.0.1:{gh.free_port()}",
                        "--data-dir", str(tmp_path / "d"), *args],
                       env=gh.clean_env(), capture_output=True, timeout=20)
    err = p.stderr.decode(errors="replace")
    assert p.returncode == 2, (p.returncode, err)
    assert args[0][2:].replace("-", ".", 1) in err, err
    if "secret" in args[0]:
        assert args[1] not in err and args[1][6:] not in err, err


def test_webhooks_url_without_a_secret_exits_2(server_factory):
    srv = server_factory(start=False, args=["--webhooks-url", "http://127.0.0.1:9/hooks"])
    srv.start(wait=False)
    assert srv.proc.wait(timeout=20) == 2
    assert "webhooks.secret" in srv.stderr_text()


@pytest.mark.skipif(not gh.pg_mode(), reason="several instances share a PostgreSQL database")
def test_two_instances_on_postgresql_deliver_each_event_once_in_order(server_factory, receivers):
    secret = new_secret()
    receiver = receivers(secret).start()
    one = webhook_server(server_factory, secret, receiver.url)
    two = server_factory(database=one.database_url,
                         args=["--webhooks-url", receiver.url, "--webhooks-secret", secret])
    users = []
    for i in range(6):  # events recorded through both instances
        user, _ = (one if i % 2 == 0 else two).new_user("Two")
        users.append(user)
    got = receiver.wait_delivered(6, timeout=10)
    time.sleep(1)  # a second deliverer would have sent its copies by now
    got = receiver.delivered()
    assert [a["data"]["username"] for a in got] == users, got
    assert len({a["id"] for a in receiver.attempts()}) == len(receiver.attempts()) == 6
    # Whichever instance delivered, stopping it hands the URL to the other within about 2 s.
    owner = gh.psql(one.database_url, "SELECT owner FROM webhook_cursors")[0]
    holder, other = (one, two) if owner.endswith(f":{one.port}") else (two, one)
    assert holder.terminate() == 0
    user, _ = other.new_user("Two")
    assert receiver.wait_delivered(7, timeout=8)[-1]["data"]["username"] == user
