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


def test_readyz_503_when_storage_is_down():
    # Tests run as root: chmod does not make the database unreadable. The running server keeps
    # its SQLite file open (unlinking or replacing it changes nothing for it), it holds a
    # shared lock on the WAL database so no other process can take an exclusive one, and this
    # build refuses postgresql:// URLs at start-up. No reliable way to break storage under a
    # running server from outside was found.
    pytest.skip("no reliable way to make SQLite storage fail under a running server as root")
