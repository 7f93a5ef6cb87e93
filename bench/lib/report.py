#!/usr/bin/env python3
"""Prints the table of scripts/bench from its results file (one JSON object a line).

    report.py RESULTS.jsonl

Records written by bench/run.sh:
  {"type": "run", "series": "me.gatehouse", "label": ..., "round": 1, "rps": ..., "p50_us": ...,
   "p99_us": ..., "non2xx": ..., "socket_errors": ..., "cmd": ...}      one wrk or driver run
  {"type": "value", "key": "rss.idle_empty", "label": ..., "value": ..., "unit": ..., "cmd": ...}
Every figure is printed with a reference [n] to the exact command in the list at the end.
Nothing here fails on a timing: a missed target prints "no".
"""
import json
import statistics
import sys

# (row label, series A, series B, least A/B ratio)
COMPARISONS = [
    ("GET /me: gatehouse / nginx", "me.gatehouse", "me.nginx", 0.9),
    ("POST /token/refresh: gatehouse / nginx", "refresh.gatehouse", "refresh.nginx", 0.8),
    # The ceiling of an Asio/Beast server here (bench/bare_beast.cpp), run in the same rounds:
    # what is left between it and gatehouse is gatehouse's own work.
    ("GET /me: gatehouse / bare Beast", "me.gatehouse", "me.bare", None),
    ("GET /me: bare Beast / nginx", "me.bare", "me.nginx", None),
    ("POST /token/refresh: gatehouse / bare Beast", "refresh.gatehouse", "refresh.bare", None),
    # Both servers on as many threads as cores, sharing them with wrk (part 1b of run.sh).
    ("GET /me: gatehouse / nginx, threads = cores", "cores.me", "cores.me_nginx", None),
    ("POST /token/refresh: gatehouse / nginx, threads = cores", "cores.refresh",
     "cores.refresh_nginx", None),
    ("POST /login: gatehouse / raw argon2id", "login.gatehouse", "login.argon2", 0.9),
    # The raw rate above is of the argon2id gatehouse runs; libsodium's next to it.
    ("raw argon2id: gatehouse's / libsodium", "login.argon2", "login.argon2_libsodium", None),
    # Node's @node-rs/argon2, which issue 7 measured as the fastest argon2id of a competing stack
    # on this kind of machine: gatehouse's may not be slower.
    ("raw argon2id: gatehouse's / Node @node-rs/argon2", "login.argon2", "login.argon2_node",
     1.0),
    ("GET /me: under login flood / unloaded", "flood.me_flooded", "flood.me_unloaded", 0.5),
    # API.md §11: a token read from a cookie costs at most 5% more than from the header.
    ("GET /me: by cookie / by header", "cookie.me_cookie", "cookie.me_header", 0.95),
    ("GET /me: 1M users+revocations / empty", "big.me", "big.me_empty", 0.9),
    ("POST /token/refresh: 1M / empty", "big.refresh", "big.refresh_empty", 0.9),
    ("GET /admin/users page: 1M users / 10", "big.admin_page", "admin10.admin_page", 0.9),
    # Issue 4: the same server on PostgreSQL and on SQLite (no target: a figure to report).
    ("POST /token/refresh: PostgreSQL / SQLite", "pg.refresh", "pg.refresh_sqlite", None),
    ("POST /login: PostgreSQL / SQLite", "pg.login", "pg.login_sqlite", None),
    # Issue 16: durable writes against the raw fsync rate of the same disk, same rounds. Group
    # commit is what lets a write cost less than one fsync.
    ("POST /logout/access (SQLite) / raw fsync", "durable.logout", "durable.fsync", 10.0),
    ("POST /logout/access (PostgreSQL) / raw fsync", "pg.logout", "pg.fsync", None),
    # Issue 16: a rotation (one durable compare-and-set per refresh) against a plain refresh on
    # the same store using as many sessions as the rotating run (the fair denominator: the
    # one-token row records a session's use at most once a second, so it writes nearly nothing);
    # the one-token ratio is kept beside it. PostgreSQL's own single-row commit rate with as many
    # connections as gatehouse's pool (pgbench, same cluster and rounds) is the ceiling of any
    # store that commits each rotation on its own; and PostgreSQL's plain refresh against
    # SQLite's (§9's bound still holds).
    ("POST /token/refresh: rotating / not, as many sessions (SQLite)", "rotation.sqlite_rotating",
     "rotation.sqlite_plain_many", 0.3),
    ("POST /token/refresh: rotating / not, as many sessions (PostgreSQL)",
     "rotation.pg_rotating", "rotation.pg_plain_many", 0.5),
    ("POST /token/refresh: rotating / not, one token (SQLite)", "rotation.sqlite_rotating",
     "rotation.sqlite_plain", None),
    ("POST /token/refresh: rotating / not, one token (PostgreSQL)", "rotation.pg_rotating",
     "rotation.pg_plain", None),
    ("POST /token/refresh rotating (PostgreSQL) / its commit rate", "rotation.pg_rotating",
     "rotation.pg_commit", None),
    ("POST /token/refresh, not rotating: PostgreSQL / SQLite", "rotation.pg_plain",
     "rotation.sqlite_plain", 0.8),
    ("POST /token/refresh, not rotating, sessions: PostgreSQL / SQLite",
     "rotation.pg_plain_many", "rotation.sqlite_plain_many", None),
    # Issue 19: 100 revocation streams open (revocations flowing to them) cost GET /me at most
    # 10%; their delivery delay is the single figure stream.delay_p99.
    ("GET /me: 100 revocation streams open / none", "stream.me_subscribed", "stream.me_plain",
     0.9),
    # Issue 19: recording events (one row in the same transaction as the change) costs login and
    # /logout/access at most 5%: against the same code built to write no event rows.
    ("POST /logout/access: with events / without events", "events.logout_on",
     "events.logout_off", 0.95),
    ("POST /login: with events / without events", "events.login_on", "events.login_off", 0.95),
]
# Extra conditions on one series' median p99 (microseconds).
P99_LIMITS = {"flood.me_flooded": 10000}
# (value key, "<" or ">", limit) for the single figures that have a target.
VALUE_TARGETS = {
    "rss.idle_empty": ("<", 30.0),
    "startup.big": ("<", 2000.0),
    "stream.delay_p99": ("<", 1000.0),
}


def fmt_ms(us):
    return "-" if us is None else f"{us / 1000:.2f}"


def main():
    records = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
    commands = []  # the n-th command is [n]

    def ref(cmd):
        if cmd not in commands:
            commands.append(cmd)
        return commands.index(cmd) + 1

    runs = [r for r in records if r["type"] == "run"]
    values = [r for r in records if r["type"] == "value"]
    for r in runs + values:
        r["ref"] = ref(r["cmd"])

    run_width = max([40] + [len(r["label"]) for r in runs])
    print("== Runs, in the order they ran ([n]: the command, listed at the end)")
    print(f"{'':5} {'series':{run_width}} {'round':>5} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8}  notes")
    for r in runs:
        notes = []
        if r.get("non2xx"):
            notes.append(f"{r['non2xx']} non-2xx")
        if r.get("socket_errors"):
            notes.append(f"{r['socket_errors']} socket errors")
        if r.get("note"):
            notes.append(r["note"])
        print(f"[{r['ref']:>3}] {r['label']:{run_width}} {r['round']:>5} {r['rps']:>9.1f} "
              f"{fmt_ms(r.get('p50_us')):>8} {fmt_ms(r.get('p99_us')):>8}  {'; '.join(notes)}")

    def series(name):
        return {r["round"]: r for r in runs if r["series"] == name}

    def median_of(rows, field):
        figures = [r[field] for r in rows.values() if r.get(field) is not None]
        return statistics.median(figures) if figures else None

    print()
    print("== Comparisons (A and B alternate in each round; medians over rounds; "
          "A/B = median of the per-round ratios)")
    width = max(len(label) for label, *_ in COMPARISONS)
    print(f"{'':{width}} {'A req/s':>9} {'p50':>6} {'p99':>7} | {'B req/s':>9} {'p50':>6} "
          f"{'p99':>7} | {'A/B':>5} {'target':>7} {'met':>4}  runs")
    for label, a_name, b_name, least in COMPARISONS:
        a, b = series(a_name), series(b_name)
        rounds = sorted(set(a) & set(b))
        if not rounds:
            print(f"{label:{width}} (not measured)")
            continue
        ratio = statistics.median(a[i]["rps"] / b[i]["rps"] for i in rounds if b[i]["rps"])
        target = f">={least:g}" if least is not None else "-"
        met = ratio >= least if least is not None else None
        a_p99 = median_of(a, "p99_us")
        if a_name in P99_LIMITS:
            target += f", p99<{P99_LIMITS[a_name] / 1000:g}ms"
            met = met and a_p99 is not None and a_p99 < P99_LIMITS[a_name]
        refs = ",".join(str(n) for n in sorted({x["ref"] for x in [*a.values(), *b.values()]}))
        print(f"{label:{width}} {median_of(a, 'rps'):>9.0f} {fmt_ms(median_of(a, 'p50_us')):>6} "
              f"{fmt_ms(a_p99):>7} | {median_of(b, 'rps'):>9.0f} "
              f"{fmt_ms(median_of(b, 'p50_us')):>6} {fmt_ms(median_of(b, 'p99_us')):>7} | "
              f"{ratio:>5.2f} {target:>7} {'-' if met is None else 'yes' if met else 'NO':>4}"
              f"  [{refs}]")
        print(f"{'':{width}}   A = {a[rounds[0]]['label']}; B = {b[rounds[0]]['label']}")

    print()
    print("== Single figures")
    for v in values:
        target, met = "", ""
        if v["key"] in VALUE_TARGETS:
            op, limit = VALUE_TARGETS[v["key"]]
            target = f"{op} {limit:g} {v['unit']}"
            met = "yes" if (v["value"] < limit if op == "<" else v["value"] > limit) else "NO"
        print(f"[{v['ref']:>3}] {v['label']:56} {v['value']:>10.1f} {v['unit']:<4} "
              f"{target:>14} {met:>4}")

    print()
    print("== Commands")
    for n, cmd in enumerate(commands, 1):
        print(f"[{n:>3}] {cmd}")


if __name__ == "__main__":
    main()
