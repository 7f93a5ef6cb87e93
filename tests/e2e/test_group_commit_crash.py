"""Group commit (API.md §10, last point): many concurrent /logout/access share an fsync, and
each is on disk before its own 200. kill -9 in the middle of a storm of logouts, restart on the
same data dir (or database): every logout that was answered 200 is still in force."""

import threading

import requests

from gatehouse_e2e import assert_token_error, bearer

N_TOKENS = 1200
N_THREADS = 24


def access_tokens(srv, refresh_token: str, n: int) -> list[str]:
    with requests.Session() as s:
        out = []
        for _ in range(n):
            r = s.post(srv.url("/token/refresh"), headers=bearer(refresh_token), timeout=10)
            assert r.status_code == 200, r.text
            out.append(r.json()["access_token"])
        return out


def test_every_acknowledged_logout_survives_kill_9_mid_storm(server_factory):
    srv = server_factory(args=["--rate-limit-refresh-per-user", "0",
                               "--rate-limit-revocation-per-user", "0"])
    tokens = srv.register("storm_user", "storm password").json()
    pool = access_tokens(srv, tokens["refresh_token"], N_TOKENS)

    acknowledged: list[str] = []
    lock = threading.Lock()
    enough = threading.Event()

    def storm(mine: list[str]) -> None:
        with requests.Session() as s:
            for token in mine:
                try:
                    r = s.post(srv.url("/logout/access"), headers=bearer(token), timeout=10)
                except requests.RequestException:
                    return  # the server is gone
                if r.status_code == 200:
                    with lock:
                        acknowledged.append(token)
                        if len(acknowledged) >= N_TOKENS // 3:
                            enough.set()

    threads = [threading.Thread(target=storm, args=(pool[i::N_THREADS],))
               for i in range(N_THREADS)]
    for t in threads:
        t.start()
    enough.wait(timeout=60)
    srv.kill9()  # mid-storm: requests are in flight, batches are being committed
    for t in threads:
        t.join(timeout=30)
    with lock:
        answered = list(acknowledged)
    assert len(answered) >= N_TOKENS // 3
    assert len(answered) < N_TOKENS, "the storm ended before the kill: nothing was in flight"

    restarted = server_factory(start=False, data_dir=srv.data_dir, name="gatehouse(restarted)",
                               args=srv.extra_args)
    restarted.start()
    with requests.Session() as s:
        for token in answered:
            assert_token_error(s.get(restarted.url("/me"), headers=bearer(token), timeout=10),
                               "Token has been revoked")
    # the tokens of the storm that were never logged out still work: nothing was revoked wrongly
    untouched = access_tokens(restarted, tokens["refresh_token"], 1)[0]
    assert restarted.me(untouched).status_code == 200
