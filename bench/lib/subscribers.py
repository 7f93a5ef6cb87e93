#!/usr/bin/env python3
"""Issue 19's stream row: N revocation streams open while a load runs, and how long a
revocation takes to reach every one of them.

    subscribers.py --port P --secret S --refresh-token-file F --subscribers 100
                   --per-second 2 --delays-out FILE -- WRK COMMAND...

Opens N `GET /revocations` Server-Sent Events streams (one selector thread reads them all),
waits until each has its first byte, then runs the command (wrk against GET /me) and, while
it runs, revokes an access token `--per-second` times a second (POST /logout/access with a
token made beforehand by refreshing F). Each revocation's delay to each stream (from just
before its POST to the arrival of its event) is appended to --delays-out in milliseconds, one
a line; a revocation that did not reach a stream within 5 s after the command ended counts as
5000. The command's own output is printed unchanged (bench/lib/record.py reads it).
"""
import argparse
import base64
import json
import selectors
import socket
import subprocess
import sys
import threading
import time
import urllib.request

MISSED_MS = 5000.0


def post(port, path, token):
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method="POST",
                                     headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read() or b"{}")


def jti_of(token):
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["jti"]


class Streams:
    """N open streams; arrivals[jti] = arrival times (monotonic), one per stream."""

    def __init__(self, port, secret, n):
        self.selector = selectors.DefaultSelector()
        self.arrivals = {}
        self.started = 0
        self.lock = threading.Lock()
        request = (f"GET /revocations HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer "
                   f"{secret}\r\nAccept: text/event-stream\r\n\r\n").encode()
        for _ in range(n):
            s = socket.create_connection(("127.0.0.1", port))
            s.sendall(request)
            s.setblocking(False)
            self.selector.register(s, selectors.EVENT_READ, {"buffer": b"", "started": False})
        self.done = False
        self.thread = threading.Thread(target=self.read, daemon=True)
        self.thread.start()

    def read(self):
        while not self.done:
            for key, _ in self.selector.select(timeout=0.2):
                self.take(key)

    def take(self, key):
        try:
            data = key.fileobj.recv(65536)
        except BlockingIOError:
            return
        now = time.monotonic()
        state = key.data
        if not data:
            self.selector.unregister(key.fileobj)
            return
        if not state["started"]:
            state["started"] = True
            with self.lock:
                self.started += 1
        lines = (state["buffer"] + data).split(b"\n")
        state["buffer"] = lines.pop()
        for line in lines:
            if line.startswith(b"data: "):
                jti = json.loads(line[6:]).get("jti")
                if jti:
                    with self.lock:
                        self.arrivals.setdefault(jti, []).append(now)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--refresh-token-file", required=True)
    parser.add_argument("--subscribers", type=int, default=100)
    parser.add_argument("--per-second", type=float, default=2.0)
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--delays-out", required=True)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command

    refresh = open(args.refresh_token_file).read().strip()
    count = int(args.seconds * args.per_second) + 2
    tokens = [post(args.port, "/token/refresh", refresh)["access_token"] for _ in range(count)]

    streams = Streams(args.port, args.secret, args.subscribers)
    deadline = time.monotonic() + 10
    while streams.started < args.subscribers and time.monotonic() < deadline:
        time.sleep(0.01)
    if streams.started < args.subscribers:
        sys.exit(f"only {streams.started} of {args.subscribers} streams opened")

    load = subprocess.Popen(" ".join(command), shell=True, stdout=subprocess.PIPE, text=True)
    sent = {}
    interval = 1.0 / args.per_second
    time.sleep(interval)
    for token in tokens:
        if load.poll() is not None:
            break
        sent[jti_of(token)] = time.monotonic()
        post(args.port, "/logout/access", token)
        time.sleep(interval)
    output, _ = load.communicate()
    time.sleep(1)
    end = time.monotonic() + 5
    while time.monotonic() < end and any(
            len(streams.arrivals.get(jti, [])) < args.subscribers for jti in sent):
        time.sleep(0.05)
    streams.done = True

    with open(args.delays_out, "a") as out:
        for jti, t0 in sent.items():
            arrivals = streams.arrivals.get(jti, [])
            for at in arrivals:
                out.write(f"{(at - t0) * 1000:.2f}\n")
            for _ in range(args.subscribers - len(arrivals)):
                out.write(f"{MISSED_MS}\n")
    sys.stdout.write(output)
    sys.exit(load.returncode)


if __name__ == "__main__":
    main()
