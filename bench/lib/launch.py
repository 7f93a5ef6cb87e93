#!/usr/bin/env python3
"""Starts a server in the background and waits until it answers.

    launch.py --log FILE --ready-url URL -- COMMAND...

Prints one line of JSON, {"pid": ..., "startup_ms": ...}: the time from just before exec to
the first 200 from URL (polled every 2 ms), then exits, leaving the server running in its
own session (the caller stops it by pid). Exits 1 if the server dies or takes over 120 s.
"""
import argparse
import http.client
import json
import subprocess
import sys
import time
import urllib.parse


def answers_200(url):
    parts = urllib.parse.urlsplit(url)
    try:
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=1)
        connection.request("GET", parts.path or "/")
        ok = connection.getresponse().status == 200
        connection.close()
        return ok
    except OSError:
        return False


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--log", required=True)
    parser.add_argument("--ready-url", required=True)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command

    with open(args.log, "ab") as log:
        start = time.perf_counter()
        server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL, start_new_session=True)
    while not answers_200(args.ready_url):
        if server.poll() is not None:
            sys.exit(f"launch.py: {command[0]} exited with {server.returncode} (log: {args.log})")
        if time.perf_counter() - start > 120:
            server.kill()
            sys.exit(f"launch.py: {args.ready_url} not ready after 120 s")
        time.sleep(0.002)
    elapsed_ms = (time.perf_counter() - start) * 1000
    print(json.dumps({"pid": server.pid, "startup_ms": round(elapsed_ms, 1)}))


if __name__ == "__main__":
    main()
