"""API.md §4 / issue 6: GET /metrics in Prometheus text format, and its counters move."""

import uuid

import pytest

from gatehouse_e2e import bearer
from ops_support import Metrics, scrape

PW = "correct horse"

REQ = "gatehouse_http_requests_total"
DUR = "gatehouse_http_request_duration_seconds"
HASH_WAIT = "gatehouse_hash_wait_seconds"


@pytest.fixture(scope="module")
def srv(module_server):
    return module_server


def check_histogram(m: Metrics, name: str, **labels):
    """Buckets are cumulative, end with +Inf, and +Inf equals _count."""
    buckets = m.samples(name + "_bucket", **labels)
    assert buckets, f"no {name}_bucket samples with {labels}"
    groups = {}
    for s in buckets:
        key = tuple(sorted((k, v) for k, v in s.labels.items() if k != "le"))
        groups.setdefault(key, []).append(s)
    for key, ss in groups.items():
        les = [float(s.labels["le"]) for s in ss]
        assert float("inf") in les, (name, key, les)
        vals = [s.value for s in sorted(ss, key=lambda s: float(s.labels["le"]))]
        assert vals == sorted(vals), (name, key, vals)
        lab = dict(key)
        count = m.value(name + "_count", **lab)
        assert vals[-1] == count, (name, key, vals[-1], count)
        assert m.samples(name + "_sum", **lab), (name, key)


def test_metrics_format_and_families(srv):
    srv.new_user("met")  # at least one request, one hash, one store write
    m = scrape(srv)
    expected = {
        "gatehouse_http_requests": "counter",
        DUR: "histogram",
        "gatehouse_hash_queue_depth": "gauge",
        HASH_WAIT: "histogram",
        "gatehouse_rate_limited": "counter",
        "gatehouse_revoked_tokens": "gauge",
        "gatehouse_store_errors": "counter",
        "gatehouse_durable_writes": "counter",
        "gatehouse_durable_transactions": "counter",
    }
    for name, typ in expected.items():
        assert m.family(name).type == typ, (name, m.family(name).type)
    check_histogram(m, DUR)
    check_histogram(m, HASH_WAIT)
    assert m.samples("gatehouse_store_errors_total"), m.text
    assert m.samples("gatehouse_revoked_tokens"), m.text
    depth = m.samples("gatehouse_hash_queue_depth")
    assert depth and all(s.value >= 0 for s in depth), depth
    for s in m.samples("gatehouse_rate_limited_total"):
        assert s.labels.get("limit") in (
            "login_per_user", "login_per_address", "registration_per_address",
            "refresh_per_user", "revocation_per_user"), s
    for s in m.samples(REQ):
        assert set(s.labels) >= {"route", "status"}, s
        assert s.labels["status"].isdigit() and len(s.labels["status"]) == 3, s


def test_healthy_server_shows_no_store_errors_and_an_empty_hash_queue(server):
    server.new_user("met")
    m = scrape(server)
    assert m.value("gatehouse_store_errors_total") == 0, m.text
    assert m.value("gatehouse_hash_queue_depth") == 0, m.text


def test_request_counter_by_route_and_status(srv):
    u, reg = srv.new_user("met", PW)
    tok = reg["access_token"]
    before = scrape(srv)
    for _ in range(3):
        assert srv.me(tok).status_code == 200
    assert srv.me("not-a-token").status_code == 401
    assert srv.get("/no/such/path/" + uuid.uuid4().hex).status_code == 404
    after = scrape(srv)

    def delta(name, **labels):
        return after.value(name, **labels) - before.value(name, **labels)

    assert delta(REQ, route="/me", status="200") == 3, after.text
    assert delta(REQ, route="/me", status="401") == 1, after.text
    assert delta(REQ, route="other", status="404") == 1, after.text
    # the unknown path itself is not a label value
    assert not [s for s in after.samples(REQ) if s.labels.get("route", "").startswith("/no/")]
    # one latency observation per /me request
    assert delta(DUR + "_count", route="/me") == 4, after.text
    check_histogram(after, DUR, route="/me")


def test_login_counts_under_its_route_and_feeds_the_hash_histogram(srv):
    u, _ = srv.new_user("met", PW)
    before = scrape(srv)
    assert srv.login(u, PW).status_code == 200
    assert srv.login(u, "wrong password").status_code == 401
    after = scrape(srv)
    assert after.value(REQ, route="/login", status="200") - before.value(REQ, route="/login", status="200") == 1
    assert after.value(REQ, route="/login", status="401") - before.value(REQ, route="/login", status="401") == 1
    assert after.value(HASH_WAIT + "_count") - before.value(HASH_WAIT + "_count") >= 2, after.text


def test_revoked_gauge_grows_on_logout_access(srv):
    u, reg = srv.new_user("met", PW)
    before = scrape(srv).value("gatehouse_revoked_tokens")
    r = srv.post("/logout/access", headers=bearer(reg["access_token"]))
    assert r.status_code == 200, r.text
    after = scrape(srv).value("gatehouse_revoked_tokens")
    assert after - before == 1, (before, after)


@pytest.mark.sqlite_only  # PostgreSQL commits each write alone and reports no group commit
def test_durable_write_counters_count_a_logout_and_its_transaction(srv):
    """A /logout/access is one durable write of the SQLite group commit, committed in a
    transaction before its 200: both counters move (writes / transactions is the number of
    writes that shared an fsync, what scripts/bench records next to the raw fsync rate)."""
    u, reg = srv.new_user("met", PW)
    before = scrape(srv)
    r = srv.post("/logout/access", headers=bearer(reg["access_token"]))
    assert r.status_code == 200, r.text
    after = scrape(srv)
    writes = after.value("gatehouse_durable_writes_total") - before.value("gatehouse_durable_writes_total")
    transactions = (after.value("gatehouse_durable_transactions_total")
                    - before.value("gatehouse_durable_transactions_total"))
    assert writes >= 1, (before.text, after.text)
    assert 1 <= transactions <= writes, (writes, transactions)


def test_rate_limited_counter(server_factory):
    srv = server_factory(args=["--rate-limit-login-per-user", "2/15m"])
    u, _ = srv.new_user("met", PW)
    before = scrape(srv)
    assert srv.login(u, "wrong one 1").status_code == 401
    assert srv.login(u, "wrong one 2").status_code == 401
    r = srv.login(u, "wrong one 3")
    assert r.status_code == 429, (r.status_code, r.text)
    after = scrape(srv)
    name = "gatehouse_rate_limited_total"
    d = after.value(name, limit="login_per_user") - before.value(name, limit="login_per_user")
    assert d == 1, after.text
    assert after.value(REQ, route="/login", status="429") - before.value(REQ, route="/login", status="429") == 1
    for other in ("login_per_address", "registration_per_address"):
        assert after.value(name, limit=other) == before.value(name, limit=other), after.text
