"""API.md §4: GET /readyz answers 200 when storage answers, else 503."""

import pytest

from gatehouse_e2e import JSON_CT


def test_readyz_ok(server):
    r = server.get("/readyz")
    assert r.status_code == 200, (r.status_code, r.text)
    assert r.headers.get("Content-Type") == JSON_CT, r.headers.get("Content-Type")
    assert isinstance(r.json(), dict), r.text


def test_readyz_ok_after_traffic(server):
    server.new_user("ready")
    r = server.get("/readyz")
    assert r.status_code == 200, (r.status_code, r.text)
    r.json()


def test_readyz_refuses_other_methods(server):
    r = server.post("/readyz")
    assert r.status_code == 405, (r.status_code, r.text)
    assert "GET" in r.headers.get("Allow", ""), r.headers


@pytest.mark.sqlite_only  # PostgreSQL going away: test_pg_outage.py
def test_readyz_503_when_storage_is_down(server):
    # Deleting the SQLite file under the running server (API.md §8; more in test_trust_storage.py).
    (server.data_dir / "gatehouse.db").unlink()
    r = server.get("/readyz")
    assert r.status_code == 503, (r.status_code, r.text)
    assert r.headers.get("Content-Type") == JSON_CT, r.headers.get("Content-Type")
    assert r.headers.get("Retry-After", "").isdigit(), r.headers
