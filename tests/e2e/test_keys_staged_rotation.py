"""Issue 15 item 3: staged key rotation. `gatehouse keys rotate` publishes the next key at once
and signs with it only after keys.publication_delay, longer than the JWKS max-age (jwks.max_age),
so a resource server that caches the key set no longer than it may never meets an unknown kid.
Checked with the real Node `jose` (createRemoteJWKSet + jwtVerify), the client the issue names."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from pathlib import Path

import pytest

import gatehouse_e2e as gh
from keys_support import (
    JWKS_PATH,
    ROTATE_RE,
    describe,
    header_of,
    jwks_kids,
    poll,
    rotate,
    run_cli,
    verify_with_jwks,
    wait_past_key_seconds,
)

PW = "correct horse"
MAX_AGE = 2  # seconds: short, so the test runs in seconds; the rule is the same at 5m / 6m
DELAY = 5
STAGED = ["--jwt-algorithm", "EdDSA", "--jwks-max-age", f"{MAX_AGE}s",
          "--keys-publication-delay", f"{DELAY}s"]
SIGNS_FROM_RE = re.compile(r"sign with it from (\S+) \(in (\d+) s")

# A resource server as the jose documentation writes one: createRemoteJWKSet, then jwtVerify for
# each token read from stdin; one line out per token ("ok <kid>" or "refused <code>").
VERIFIER = """
import { createRemoteJWKSet, jwtVerify } from 'jose';
import readline from 'node:readline';
const [url, cacheMaxAge] = process.argv.slice(2);
const jwks = createRemoteJWKSet(new URL(url), { cacheMaxAge: Number(cacheMaxAge) });
const lines = readline.createInterface({ input: process.stdin });
for await (const token of lines) {
  try {
    const { protectedHeader } = await jwtVerify(token, jwks);
    console.log(`ok ${protectedHeader.kid}`);
  } catch (err) {
    console.log(`refused ${err.code || err.name}`);
  }
}
"""


def node_modules() -> Path | None:
    path = Path(os.environ.get("GATEHOUSE_SNIPPETS_NODE_MODULES")
                or gh.REPO_ROOT / "build" / "e2e-node" / "node_modules")
    return path if (path / "jose").is_dir() else None


class JoseVerifier:
    def __init__(self, tmp_path: Path, jwks_url: str, cache_max_age_ms: int):
        modules = node_modules()
        if modules is None:
            if os.environ.get("GATEHOUSE_SNIPPETS_REQUIRE_ALL"):
                pytest.fail("no Node jose (scripts/test installs tests/e2e/node into build/e2e-node)")
            pytest.skip("Node jose not installed (scripts/test does)")
        workdir = tmp_path / f"jose-{cache_max_age_ms}"
        workdir.mkdir()
        (workdir / "node_modules").symlink_to(modules)
        (workdir / "verify.mjs").write_text(VERIFIER)
        self.proc = subprocess.Popen(["node", str(workdir / "verify.mjs"), jwks_url,
                                      str(cache_max_age_ms)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def verify(self, token: str) -> str:
        self.proc.stdin.write(token + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline().strip()
        assert line, "the jose verifier ended"
        return line

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=10)


def kid_of(token: str) -> str:
    return header_of(token)["kid"]


def staged_rotate(data_dir: Path, *extra: str) -> tuple[str, subprocess.CompletedProcess]:
    p = run_cli(["keys", "rotate", "--data-dir", str(data_dir), *STAGED, *extra])
    assert p.returncode == 0, describe(p)
    m = ROTATE_RE.search(p.stdout)
    assert m, describe(p)
    return m.group(1), p


def test_jose_verifies_every_new_token_across_a_staged_rotation(server_factory, tmp_path):
    srv = server_factory(args=STAGED)
    _, body = srv.new_user("jose", PW)
    old_kid = kid_of(body["access_token"])
    jose = JoseVerifier(tmp_path, srv.base + JWKS_PATH, MAX_AGE * 1000)
    try:
        seen = []
        rotated_at = None
        new_kid = None
        switched_at = None
        deadline = time.monotonic() + DELAY + 10
        while time.monotonic() < deadline:
            token = srv.refresh(body["refresh_token"]).json()["access_token"]
            verdict = jose.verify(token)
            seen.append((kid_of(token), verdict))
            assert verdict == f"ok {kid_of(token)}", f"jose refused a new token: {seen[-5:]}"
            if rotated_at is None and len(seen) >= 4:
                wait_past_key_seconds(srv.data_dir)
                new_kid, _ = staged_rotate(srv.data_dir)
                rotated_at = time.monotonic()
                assert poll(lambda: new_kid in jwks_kids(srv), 3.0), "not published at once"
            if new_kid and kid_of(token) == new_kid and switched_at is None:
                switched_at = time.monotonic()
            if switched_at and time.monotonic() > switched_at + 2:
                break
            time.sleep(0.2)
        assert switched_at is not None, f"never signed with {new_kid}: {seen[-3:]}"
        # signing moved only after the delay (key times are whole seconds)
        assert switched_at - rotated_at >= DELAY - 1.2, switched_at - rotated_at
        kids = [kid for kid, _ in seen]
        assert kids[0] == old_kid and kids[-1] == new_kid
        # once switched, no token of the old key again
        assert old_kid not in kids[kids.index(new_kid):]
        # the old key's tokens keep verifying, in gatehouse and for jose
        assert jose.verify(body["access_token"]) == f"ok {old_kid}"
        gh.assert_json(srv.me(body["access_token"]), 200)
    finally:
        jose.close()


def test_jose_refuses_a_key_that_signs_before_it_could_fetch_it(server_factory, tmp_path):
    """The failure staging prevents (the control): `keys rotate --now` signs at once, and jose,
    which fetched the key set moments ago, refuses the new kid for its 30 s cool-down."""
    srv = server_factory(args=STAGED)
    _, body = srv.new_user("jnow", PW)
    jose = JoseVerifier(tmp_path, srv.base + JWKS_PATH, 60_000)
    try:
        assert jose.verify(body["access_token"]).startswith("ok ")
        wait_past_key_seconds(srv.data_dir)
        new_kid, _ = staged_rotate(srv.data_dir, "--now")

        def new_token():
            tok = srv.refresh(body["refresh_token"]).json()["access_token"]
            return tok if kid_of(tok) == new_kid else None

        token = poll(new_token, 3.0, 0.1)
        assert token, "the server did not sign with the --now key"
        assert jose.verify(token) == "refused ERR_JWKS_NO_MATCHING_KEY"
    finally:
        jose.close()


def test_cli_stage_survives_a_restart_and_is_shared_through_the_keys(server_factory):
    srv = server_factory(args=STAGED)
    _, body = srv.new_user("stage", PW)
    old_kid = kid_of(body["access_token"])
    wait_past_key_seconds(srv.data_dir)
    before = int(time.time())
    new_kid, p = staged_rotate(srv.data_dir)
    m = SIGNS_FROM_RE.search(p.stdout)
    assert m, describe(p)
    assert int(m.group(2)) == DELAY, describe(p)
    assert "published now" in p.stdout, describe(p)
    # published at once, verifying, not signing
    assert poll(lambda: new_kid in jwks_kids(srv), 3.0)
    assert sorted(jwks_kids(srv)) == sorted([old_kid, new_kid])
    assert kid_of(srv.refresh(body["refresh_token"]).json()["access_token"]) == old_kid
    # a restart inside the stage keeps it (it is stored with the keys, not in memory)
    assert srv.terminate() == 0
    srv.start()
    assert sorted(jwks_kids(srv)) == sorted([old_kid, new_kid])
    if time.time() < before + DELAY - 1:
        assert kid_of(srv.refresh(body["refresh_token"]).json()["access_token"]) == old_kid

    def signing():
        return kid_of(srv.refresh(body["refresh_token"]).json()["access_token"])

    assert poll(lambda: signing() == new_kid, DELAY + 3, 0.2)
    assert time.time() >= before + DELAY - 1
    gh.assert_json(srv.me(body["access_token"]), 200)
    verify_with_jwks(srv, body["access_token"], "EdDSA")


@pytest.mark.parametrize("settings, why", [
    (["--jwks-max-age", "10m"], "keys.publication_delay"),
    (["--jwks-max-age", "5s", "--keys-publication-delay", "5s"], "keys.publication_delay"),
])
def test_a_delay_not_longer_than_the_max_age_is_refused(tmp_path, settings, why):
    for command in (["serve"], ["keys", "rotate"]):
        p = run_cli([*command, "--data-dir", str(tmp_path / "d"), "--listen", "127.0.0.1:1",
                     *settings])
        assert p.returncode == 2, describe(p)
        lines = p.stderr.strip().splitlines()
        assert len(lines) == 1 and why in lines[0] and "jwks.max_age" in lines[0], describe(p)


def test_jwks_cache_control_follows_the_setting(server_factory):
    srv = server_factory(args=STAGED)
    r = srv.get(JWKS_PATH)
    assert r.headers["Cache-Control"] == f"public, max-age={MAX_AGE}"


def test_hs256_rotation_is_staged_too(server_factory):
    srv = server_factory(args=["--jwks-max-age", "1s", "--keys-publication-delay", "3s"])
    _, body = srv.new_user("hsstage", PW)
    assert "kid" not in header_of(body["access_token"])
    p = run_cli(["keys", "rotate", "--data-dir", str(srv.data_dir), "--jwks-max-age", "1s",
                 "--keys-publication-delay", "3s"])
    assert p.returncode == 0, describe(p)
    kid = ROTATE_RE.search(p.stdout).group(1)

    def signing_kid():
        return header_of(srv.refresh(body["refresh_token"]).json()["access_token"]).get("kid")

    assert signing_kid() is None  # the generated secret still signs
    assert poll(lambda: signing_kid() == kid, 6.0, 0.2)
    gh.assert_json(srv.me(body["access_token"]), 200)
