"""The Node helper of clients/node/gatehouse-revocations (issue 19): a Node resource server
verifying gatehouse tokens offline with jose's jwtVerify refuses a token within one second of
each logout and of an admin disable, on SQLite and with two gatehouse instances on PostgreSQL
(the revocation made on A, the Node server following B), and again after gatehouse restarts.
The Node server is tests/e2e/revocation_node_server.mjs with the helper copied beside it and
the jose that tests/e2e/node pins (scripts/test installs it)."""

import os
import shutil
import subprocess
import time
from pathlib import Path

import jwt
import pytest
import requests

import gatehouse_e2e as gh
from gatehouse_e2e import bearer
from pg_support import PW, instances, module_factory, revoke
from revocation_feed_support import ARGS, SECRET

ADMIN = "an admin secret of at least thirty-two bytes"
BOUND = 1.0


def node_modules() -> Path | None:
    path = Path(os.environ.get("GATEHOUSE_SNIPPETS_NODE_MODULES")
                or gh.REPO_ROOT / "build" / "e2e-node" / "node_modules")
    return path if (path / "jose").is_dir() and shutil.which("node") else None


class NodeResourceServer:
    def __init__(self, workdir: Path, follow: "gh.Server", jwt_secret: str):
        shutil.copytree(gh.REPO_ROOT / "clients" / "node" / "gatehouse-revocations",
                        workdir / "gatehouse-revocations")
        shutil.copy(gh.E2E_DIR / "revocation_node_server.mjs", workdir / "server.mjs")
        (workdir / "node_modules").symlink_to(node_modules())
        self.base = f"http://127.0.0.1:{gh.free_port()}"
        env = {**os.environ, "GATEHOUSE_URL": follow.base, "REVOCATIONS_SECRET": SECRET,
               "JWT_SECRET": jwt_secret, "PORT": self.base.rsplit(":", 1)[1]}
        self.process = subprocess.Popen(["node", "server.mjs"], cwd=workdir, env=env)
        assert gh.poll(self.ready, timeout=15), "the Node resource server did not follow the feed"

    def ready(self) -> bool:
        try:
            return requests.get(self.base + "/ready", timeout=2).status_code == 200
        except requests.ConnectionError:
            return False

    def get(self, token) -> requests.Response:
        return requests.get(self.base + "/protected", headers=bearer(token), timeout=5)

    def close(self):
        self.process.terminate()
        self.process.wait(10)


@pytest.fixture(scope="module", params=["sqlite", "two instances"])
def env(request, tmp_path_factory):
    if node_modules() is None:
        pytest.skip("node and tests/e2e/node's jose are not installed (scripts/test installs them)")
    if request.param == "two instances" and not gh.pg_mode():
        pytest.skip(f"{gh.PG_URL_ENV} is not set (PostgreSQL tests)")
    args = ARGS + ["--admin-secret", ADMIN]
    with module_factory(tmp_path_factory, "nodeclient") as f:
        if request.param == "sqlite":
            a = b = f(args=args, name="gatehouse(revocations)")
        else:
            a, b = instances(f, args=args)
        node = NodeResourceServer(tmp_path_factory.mktemp("node"), b, a.secret)
        yield a, b, node
        node.close()


def until(check, t0, timeout=3.0):
    while time.monotonic() - t0 < timeout:
        if check():
            return time.monotonic() - t0
        time.sleep(0.005)
    return None


def refused(node, token) -> bool:
    r = node.get(token)
    return r.status_code == 401 and r.json()["msg"] == "Token has been revoked"


@pytest.mark.parametrize("how", ["logout/access", "logout/refresh", "logout/all", "disable"])
def test_node_jose_refuses_a_revoked_token_within_1s(env, how):
    a, _, node = env
    user, reg = a.new_user("node", PW)
    assert node.get(reg["access_token"]).status_code == 200
    t0 = time.monotonic()
    if how == "disable":
        r = a.request("PATCH", f"/admin/users/{user}", json={"disabled": True},
                      headers=bearer(ADMIN))
    else:
        r = revoke(a, how, reg)
    assert r.status_code == 200, r.text
    delay = until(lambda: refused(node, reg["access_token"]), t0)
    assert delay is not None and delay < BOUND, f"{how}: {delay}"


def test_node_keeps_accepting_other_tokens(env):
    a, _, node = env
    _, kept = a.new_user("kept", PW)
    _, gone = a.new_user("gone", PW)
    assert revoke(a, "logout/access", gone).status_code == 200
    assert until(lambda: refused(node, gone["access_token"]), time.monotonic()) is not None
    r = node.get(kept["access_token"])
    assert r.status_code == 200, r.text
    assert r.json()["sub"] == jwt.decode(kept["access_token"], options={"verify_signature": False})["sub"]


def test_node_follower_recovers_after_gatehouse_restarts(env):
    a, b, node = env
    _, before = a.new_user("restart", PW)
    assert b.terminate() == 0
    b.start()
    assert gh.poll(node.ready, timeout=15)
    _, reg = a.new_user("restart", PW)
    t0 = time.monotonic()
    assert revoke(a, "logout/access", reg).status_code == 200
    assert revoke(a, "logout/all", before).status_code == 200
    delay = until(lambda: refused(node, reg["access_token"]), t0)
    assert delay is not None and delay < BOUND, delay
    delay = until(lambda: refused(node, before["access_token"]), t0)
    assert delay is not None and delay < BOUND, delay
