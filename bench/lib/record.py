#!/usr/bin/env python3
"""Appends one record to the results file of scripts/bench (see report.py for the format).

    record.py run RESULTS --series S --label L --round N --cmd CMD < output_of_the_run
        takes the figures from the run's output: wrk's "BENCH_JSON {...}" line (bench/wrk/
        report.lua), the one JSON line of gatehouse_argon2_rate (hashes/s become req/s), or
        pgbench's "tps = ..." (transactions/s become req/s)
    record.py value RESULTS --key K --label L --value V --unit U --cmd CMD

Exits 1 when a run printed no figures (the run itself failed: not a timing).
"""
import argparse
import json
import sys


def figures_from(output):
    for line in output.splitlines():
        if line.startswith("BENCH_JSON "):
            return json.loads(line[len("BENCH_JSON "):])
        if line.startswith("{") and "hashes_per_s" in line:
            driver = json.loads(line)
            return {"rps": driver["hashes_per_s"], "p50_us": None, "p99_us": None,
                    "note": f"{driver['hashes']} hashes on {driver['threads']} threads"
                            f" in {driver['seconds']:.2f} s"}
    # pgbench (the PostgreSQL commit rate of run.sh part rotation): transactions/s as req/s.
    tps = [l for l in output.splitlines() if l.startswith("tps = ")]
    if tps:
        done = [l for l in output.splitlines() if l.startswith("number of transactions actually")]
        return {"rps": float(tps[-1].split()[2]), "p50_us": None, "p99_us": None,
                "note": "pgbench: " + (done[0].split(":")[-1].strip() if done else "?") +
                        " transactions"}
    return None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("kind", choices=["run", "value"])
    parser.add_argument("results")
    parser.add_argument("--series")
    parser.add_argument("--key")
    parser.add_argument("--label", required=True)
    parser.add_argument("--round", type=int)
    parser.add_argument("--value", type=float)
    parser.add_argument("--unit")
    parser.add_argument("--cmd", required=True)
    args = parser.parse_args()

    if args.kind == "run":
        output = sys.stdin.read()
        record = figures_from(output)
        if record is None:
            sys.exit(f"record.py: no figures in the output of: {args.cmd}\n{output}")
        record.update(type="run", series=args.series, label=args.label, round=args.round)
    else:
        record = {"type": "value", "key": args.key, "label": args.label, "value": args.value,
                  "unit": args.unit}
    record["cmd"] = args.cmd
    with open(args.results, "a") as results:
        results.write(json.dumps(record) + "\n")


if __name__ == "__main__":
    main()
