"""Uniqueness under concurrency: parallel registrations of one username."""

import random
import string
from collections import Counter

from gatehouse_e2e import race_registrations, uname

N = 50


def race(srv, names):
    return race_registrations([srv], names)


def test_50_parallel_registrations_of_one_username_exactly_one_wins(server):
    u = uname("race")
    results = race(server, [u] * N)
    statuses = Counter(s for s, _ in results)
    assert statuses == Counter({200: 1, 409: N - 1}), results
    for status, body in results:
        if status == 200:
            assert body["message"] == f"User {u} was created"
        else:
            assert body == {"message": f"User {u} already exists"}
    r = server.login(u)
    assert r.status_code == 200, r.text


def test_50_parallel_registrations_differing_in_ascii_case_exactly_one_wins(server):
    letters = "".join(random.choice(string.ascii_lowercase) for _ in range(16))
    base = "case." + letters
    # 50 distinct case variants of one name: bit k of i upper-cases letter k
    names = [
        "case." + "".join(c.upper() if (i >> k) & 1 else c for k, c in enumerate(letters))
        for i in range(N)
    ]
    assert len(set(names)) == N
    results = race(server, names)
    statuses = Counter(s for s, _ in results)
    assert statuses == Counter({200: 1, 409: N - 1}), results
    winner = names[[s for s, _ in results].index(200)]
    r = server.login(base.upper())
    assert r.status_code == 200 and r.json()["message"] == f"Logged in as {winner}", r.text
