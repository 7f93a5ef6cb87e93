# GET /admin/users page latency with 10 and with 1,000,000 users seeded into SQLite (one index
# range per page: the two must match). Run: GATEHOUSE_BIN=build/dev/gatehouse /usr/bin/python3 bench/admin_list.py
import os, sqlite3, subprocess, time, sys, statistics, requests
BIN = os.environ.get("GATEHOUSE_BIN", "build/dev/gatehouse")
ADMIN = "an admin secret of at least thirty-two bytes"
def serve(d, port):
    p = subprocess.Popen([BIN, "serve", "--listen", f"127.0.0.1:{port}", "--data-dir", d, "--admin-secret", ADMIN, "--threads", "1"], stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1); return p
        except Exception: time.sleep(0.1)
    return p
def seed(d, n, port):
    p = serve(d, port); p.terminate(); p.wait()
    db = sqlite3.connect(f"{d}/gatehouse.db")
    db.executemany("INSERT INTO users (username, username_key, password_hash, created_at) VALUES (?,?,?,?)",
                   ((f"user{i}", f"user{i}", "$argon2id$x", 1700000000) for i in range(n)))
    db.commit(); db.close()
def measure(d, port, label):
    p = serve(d, port)
    s = requests.Session(); h = {"Authorization": f"Bearer {ADMIN}"}
    for name, params in [("first page", {"limit": 100}), ("page after user5", {"limit": 100, "after": "user5"}),
                         ("prefix user9 page", {"limit": 100, "prefix": "USER9"}), ("prefix no match", {"limit": 100, "prefix": "zzz"})]:
        times = []
        for _ in range(200):
            t = time.perf_counter(); r = s.get(f"http://127.0.0.1:{port}/admin/users", params=params, headers=h); times.append(time.perf_counter() - t)
            assert r.status_code == 200, r.text
        print(f"{label:10} {name:20} median {statistics.median(times)*1e3:.2f} ms  p99 {sorted(times)[197]*1e3:.2f} ms  users={len(r.json()['users'])}")
    p.terminate(); p.wait()
for n, port in [(10, 47811), (1000000, 47812)]:
    d = f"{os.environ.get("BENCH_DIR", "/tmp/admin-bench")}/d{n}"; os.makedirs(d, exist_ok=True)
    t = time.time(); seed(d, n, port); print(f"seeded {n} users in {time.time()-t:.1f}s")
    measure(d, port, f"{n} users")
