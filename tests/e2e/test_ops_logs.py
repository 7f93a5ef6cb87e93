"""Issue 6: logs are one JSON object per line (stderr not a terminal) and never carry secrets."""

import re
import uuid

from gatehouse_e2e import bearer
from ops_support import jsonl, log_lines


def test_startup_line_and_json_lines(server):
    lines = log_lines(server)
    assert lines, "no log line at start-up"
    jsonl(lines)
    port = str(server.port)
    startup = [ln for ln in lines if re.search(rf"\b{port}\b", ln)]
    assert startup, f"no start-up line mentions port {port}:\n" + "\n".join(lines)
    store = "postgresql" if server.on_postgresql else "sqlite"
    assert any(store in ln and "HS256" in ln for ln in startup), "\n".join(startup)


def test_logs_never_carry_passwords_tokens_hashes_or_the_secret(server):
    pw = "Pw-" + uuid.uuid4().hex  # distinctive
    new_pw = "NewPw-" + uuid.uuid4().hex
    wrong_pw = "WrongPw-" + uuid.uuid4().hex
    secrets = [pw, new_pw, wrong_pw]
    tokens = []

    u, reg = server.new_user("log", pw)
    tokens += [reg["access_token"], reg["refresh_token"]]
    r = server.login(u, pw)
    assert r.status_code == 200, r.text
    tokens += [r.json()["access_token"], r.json()["refresh_token"]]
    r = server.login(u, pw, form=True)
    assert r.status_code == 200, r.text
    login2 = r.json()
    tokens += [login2["access_token"], login2["refresh_token"]]
    assert server.login(u, wrong_pw).status_code == 401
    assert server.me(reg["access_token"]).status_code == 200
    r = server.refresh(reg["refresh_token"])
    assert r.status_code == 200, r.text
    tokens.append(r.json()["access_token"])
    assert server.post("/logout/access", headers=bearer(reg["access_token"])).status_code == 200
    assert server.me(reg["access_token"]).status_code == 401  # revoked token presented again
    r = server.post("/password", headers=bearer(login2["access_token"]),
                    json={"old_password": pw, "new_password": new_pw})
    assert r.status_code == 200, r.text
    tokens += [r.json()["access_token"], r.json()["refresh_token"]]
    assert server.me(login2["access_token"]).status_code == 401
    assert server.login(u, new_pw).status_code == 200
    # a user that does not exist, and a token with a bad signature
    assert server.login("nobody_" + uuid.uuid4().hex[:8], pw).status_code == 401
    forged = tokens[0][:-4] + ("AAAA" if not tokens[0].endswith("AAAA") else "BBBB")
    tokens.append(forged)
    assert server.me(forged).status_code == 401

    jwt_secret = server.secret
    server.stop()  # flushes everything
    lines = log_lines(server)
    assert lines
    jsonl(lines)
    text = "\n".join(lines)
    for s in secrets:
        assert s not in text, "a password appears in the log"
    for t in tokens:
        assert t not in text, f"a token appears in the log: {t[:20]}…"
    assert "$argon2id$" not in text, "a password hash appears in the log"
    assert jwt_secret not in text, "the jwt secret appears in the log"


def test_explicit_secret_is_not_logged(server_factory):
    secret = "explicit-secret-" + uuid.uuid4().hex
    srv = server_factory(args=["--jwt-secret", secret])
    u, reg = srv.new_user("log")
    assert srv.me(reg["access_token"]).status_code == 200
    srv.stop()
    lines = log_lines(srv)  # drops the suite's own "==== start: <argv>" lines
    jsonl(lines)
    assert secret not in "\n".join(lines)
