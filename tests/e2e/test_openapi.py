"""GET /openapi.json serves docs/openapi.json, and the suite's answer check (openapi_check.py,
installed by conftest.py) fails a test when gatehouse answers something the document does not
describe (API.md §12 "OpenAPI")."""

from __future__ import annotations

import json
import os
import subprocess

import openapi_check
import gatehouse_e2e as gh

DOC = openapi_check.DEFAULT_DOC


def test_served_document_is_docs_openapi_json_byte_for_byte(module_server):
    r = module_server.get("/openapi.json")
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/json"
    assert r.content == DOC.read_bytes()
    assert r.json()["openapi"].startswith("3.1.")


def test_other_methods_of_openapi_json_answer_405(module_server):
    r = module_server.post("/openapi.json", json={})
    gh.assert_message(r, 405, "Method not allowed")
    assert r.headers["Allow"] == "GET, HEAD"


def _answer(method, path, status, headers, body):
    raw = json.dumps(body).encode() if not isinstance(body, bytes) else body
    return openapi_check.Answer(method, path, status, list(headers.items()), raw, "test")


JSON = {"Content-Type": gh.JSON_CT}


def test_the_check_refuses_what_the_document_does_not_describe():
    doc = openapi_check.Document(DOC)
    ok = _answer("POST", "/login", 401, JSON, {"message": "Wrong credentials"})
    assert doc.problems(ok) == []
    cases = {
        "status 418": _answer("POST", "/login", 418, JSON, {"message": "x"}),
        "another message": _answer("POST", "/login", 401, JSON, {"message": "Nope"}),
        "an extra field": _answer("GET", "/me", 200, JSON,
                                  {"username": "a", "created_at": "2026-01-01T00:00:00Z", "x": 1}),
        "a missing WWW-Authenticate": _answer("GET", "/me", 401, JSON, {"message": "Invalid token"}),
        "a missing Retry-After": _answer("POST", "/login", 429, JSON,
                                         {"message": "Too many attempts, try again later"}),
        "a Retry-After of 0": _answer("POST", "/login", 429, {**JSON, "Retry-After": "0"},
                                      {"message": "Too many attempts, try again later"}),
        "a token answer without no-store": _answer(
            "POST", "/token/refresh", 200, JSON, {"access_token": "a.b.c"}),
        "an unknown path's 200": _answer("GET", "/nope", 200, JSON, {"message": "Not found"}),
        "another method's 200": _answer("PUT", "/me", 200, JSON, {"message": "x"}),
        "a 405 without Allow": _answer("PUT", "/me", 405, JSON, {"message": "Method not allowed"}),
        "text where JSON is described": _answer("GET", "/healthz", 200,
                                                {"Content-Type": "text/plain"}, b"ok"),
        "a body on HEAD": _answer("HEAD", "/healthz", 200, JSON, {"status": "ok"}),
        "a body that is not JSON": _answer("GET", "/healthz", 200, JSON, b"{"),
    }
    for what, answer in cases.items():
        assert doc.problems(answer), f"{what} passed the check: {answer}"


def test_an_undescribed_answer_fails_the_test_that_received_it(tmp_path):
    """The whole chain: the suite run against a document without GET /me's 200 fails the test
    that got one, naming the answer; against docs/openapi.json the same test passes."""
    doc = json.loads(DOC.read_bytes())
    del doc["paths"]["/me"]["get"]["responses"]["200"]
    narrowed = tmp_path / "openapi.json"
    narrowed.write_text(json.dumps(doc))
    target = f"{__file__}::test_me_answers_200"

    def run(document):
        env = dict(os.environ, **{openapi_check.DOC_PATH_ENV: str(document)})
        return subprocess.run([gh.PYTHON, "-m", "pytest", target, "-q"],
                              env=env, capture_output=True, text=True, timeout=120)

    failed = run(narrowed)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "1 failed" in failed.stdout, failed.stdout
    assert "GET /me 200 is not described" not in failed.stdout  # the message names the status
    assert "GET /me: status 200 is not described" in failed.stdout, failed.stdout
    passed = run(DOC)
    assert passed.returncode == 0, passed.stdout + passed.stderr


def test_me_answers_200(server):
    _, body = server.new_user("oa")
    gh.assert_json(server.me(body["access_token"]), 200)
