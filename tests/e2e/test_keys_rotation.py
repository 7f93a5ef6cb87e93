"""Issue 5 / API.md §3: `gatehouse keys rotate` while the server runs; previous keys verify
until their window closes, then drop out of the JWKS and stop verifying."""

import time

import pytest

import gatehouse_e2e as gh
from gatehouse_e2e import assert_json, assert_token_error
from keys_support import (
    ASYM_ALGS,
    KEY_FILE_RE,
    PICKUP_TIMEOUT,
    assert_jwk_shape,
    claims_for,
    ROTATE_RE,
    describe,
    key_second,
    load_private_pem,
    wait_past_key_seconds,
    get_jwks,
    header_of,
    jwks_kids,
    key_files,
    mode,
    poll,
    public_jwk,
    rotate,
    run_cli,
    server_keys,
    sign_with,
    thumbprint,
    verify_with_jwks,
)

PW = "correct horse"


def kid_of(token):
    return header_of(token)["kid"]


def wait_signing_kid(srv, refresh_token, kid, timeout=PICKUP_TIMEOUT):
    """Poll /token/refresh until the access token it mints carries kid; return that token."""
    last = {}

    def attempt():
        r = srv.refresh(refresh_token)
        assert r.status_code == 200, r.text
        tok = r.json()["access_token"]
        last["kid"] = kid_of(tok)
        return tok if last["kid"] == kid else None

    tok = poll(attempt, timeout, 0.1)
    assert tok, f"new tokens still carry kid {last.get('kid')!r} {timeout}s after the rotation (want {kid!r})"
    return tok


@pytest.mark.sqlite_only  # inspects <data_dir>/keys
@pytest.mark.parametrize("alg", ASYM_ALGS)
def test_rotate_while_serving(server_factory, alg):
    srv = server_factory(args=["--jwt-algorithm", alg])
    user, body = srv.new_user("rot", PW)
    old_access, old_refresh = body["access_token"], body["refresh_token"]
    old_kid = kid_of(old_access)
    assert jwks_kids(srv) == [old_kid]

    wait_past_key_seconds(srv.data_dir)
    new_kid = rotate(srv.data_dir, alg)
    assert new_kid != old_kid

    # the new key is on disk like the first one, and the printed kid is its thumbprint
    files = key_files(srv.data_dir)
    assert len(files) == 2, files
    for p in files:
        assert KEY_FILE_RE.match(p.name), p.name
        assert mode(p) == 0o600, (p, oct(mode(p)))
    assert set(server_keys(srv.data_dir)) == {old_kid, new_kid}

    # the running server picks it up: new tokens carry the new kid
    refreshed = wait_signing_kid(srv, old_refresh, new_kid)
    verify_with_jwks(srv, refreshed, alg)
    assert_json(srv.me(refreshed), 200)

    got = gh.assert_tokens_pair(srv.login(user, PW), f"Logged in as {user}")
    for tok in (got["access_token"], got["refresh_token"]):
        assert kid_of(tok) == new_kid
        assert header_of(tok)["alg"] == alg
        verify_with_jwks(srv, tok, alg)

    # the JWKS lists both keys
    doc = get_jwks(srv)
    assert sorted(k["kid"] for k in doc["keys"]) == sorted([old_kid, new_kid]), doc
    for k in doc["keys"]:
        assert_jwk_shape(k, alg)

    # tokens of the old key keep working and still verify against the JWKS
    assert_json(srv.me(old_access), 200)
    verify_with_jwks(srv, old_access, alg)
    verify_with_jwks(srv, old_refresh, alg)
    r = srv.refresh(old_refresh)
    assert_json(r, 200)
    assert kid_of(r.json()["access_token"]) == new_kid


def test_rotate_twice_lists_three_keys_and_restart_signs_with_newest(server_factory):
    alg = "EdDSA"
    srv = server_factory(args=["--jwt-algorithm", alg])
    user, body = srv.new_user("rot2", PW)
    k1 = kid_of(body["access_token"])
    wait_past_key_seconds(srv.data_dir)
    k2 = rotate(srv.data_dir, alg)
    wait_past_key_seconds(srv.data_dir)
    k3 = rotate(srv.data_dir, alg)
    assert len({k1, k2, k3}) == 3
    tok = wait_signing_kid(srv, body["refresh_token"], k3)
    assert sorted(jwks_kids(srv)) == sorted([k1, k2, k3])

    assert srv.terminate() == 0
    srv.start()
    assert sorted(jwks_kids(srv)) == sorted([k1, k2, k3])
    r = srv.refresh(body["refresh_token"])
    assert_json(r, 200)
    assert kid_of(r.json()["access_token"]) == k3
    assert_json(srv.me(body["access_token"]), 200)
    assert_json(srv.me(tok), 200)


def test_rotate_before_first_start(tmp_path, server_factory):
    # Facts silent on a data dir the server never used: either the rotation succeeds and the
    # server then signs with that key, or it fails cleanly (non-zero, one "gatehouse: " line).
    data_dir = tmp_path / "fresh-data"
    p = run_cli(["keys", "rotate", "--data-dir", str(data_dir), "--jwt-algorithm", "EdDSA"])
    if p.returncode != 0:
        lines = (p.stdout + p.stderr).strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("gatehouse: "), describe(p)
        return
    m = ROTATE_RE.search(p.stdout + p.stderr)
    assert m, describe(p)
    srv = server_factory(args=["--jwt-algorithm", "EdDSA"], data_dir=data_dir)
    _, body = srv.new_user("pre", PW)
    assert kid_of(body["access_token"]) == m.group(1)
    assert m.group(1) in jwks_kids(srv)


@pytest.mark.sqlite_only  # inspects <data_dir>/keys
def test_rotation_in_the_same_second_as_the_previous_key(server_factory):
    """Several rotations within one second: the server must switch to the key printed last, and
    the key files' names must sort in the order the keys were made (the server signs with the
    name that sorts last)."""
    alg = "EdDSA"
    srv = server_factory(args=["--jwt-algorithm", alg])
    user, body = srv.new_user("tie", PW)
    while time.time() % 1 > 0.3:  # start right after a second boundary
        time.sleep(0.02)
    printed = [rotate(srv.data_dir, alg) for _ in range(3)]
    by_kid = {thumbprint(public_jwk(load_private_pem(p))): p for p in key_files(srv.data_dir)}
    same_second = [by_kid[k] for k in printed if key_second(by_kid[k]) == key_second(by_kid[printed[0]])]
    assert len(same_second) >= 2, "the rotations did not share a second; rerun"
    assert [p.name for p in same_second] == sorted(p.name for p in same_second), \
        "key file names do not sort in creation order"
    tok = wait_signing_kid(srv, body["refresh_token"], printed[-1])
    assert_json(srv.me(tok), 200)
    assert printed[-1] in jwks_kids(srv)


# HS256 rotation (the default install) and its refusal of a configured jwt.secret:
# test_keys_hs256_rotation.py.


def test_old_key_drops_out_after_its_window(server_factory):
    """EdDSA with access 2 s / refresh 3 s: the previous key verifies while its successor is
    younger than 3 s, then leaves the JWKS and its tokens are "Invalid token"."""
    alg = "EdDSA"
    ttls = ["--jwt-access-ttl", "2s", "--jwt-refresh-ttl", "3s"]
    srv = server_factory(args=["--jwt-algorithm", alg, *ttls])
    user, _ = srv.new_user("drop", PW)
    keys = server_keys(srv.data_dir)
    assert len(keys) == 1
    old_kid, old_key = next(iter(keys.items()))

    wait_past_key_seconds(srv.data_dir)
    while time.time() % 1 > 0.2:  # rotate just after a whole second: the window is then ~3 s
        time.sleep(0.02)
    t_rot = time.monotonic()
    new_kid = rotate(srv.data_dir, alg, *ttls)
    # picked up: the JWKS lists the new key
    assert poll(lambda: new_kid in jwks_kids(srv), PICKUP_TIMEOUT), \
        f"{new_kid} not in the JWKS {PICKUP_TIMEOUT}s after the rotation: {jwks_kids(srv)}"

    # A token signed by the old key (read from the data dir), valid by exp for a minute.
    def old_token():
        return sign_with(old_key, alg, claims_for(user, ttl=60), old_kid)

    # Inside the window (the successor is younger than 3 s): still verifying and listed.
    assert old_kid in jwks_kids(srv)
    assert_json(srv.me(old_token()), 200)
    elapsed = time.monotonic() - t_rot
    assert elapsed < 2.5, f"too slow to check inside the window ({elapsed:.1f}s)"

    got = gh.assert_tokens_pair(srv.login(user, PW), f"Logged in as {user}")
    assert kid_of(got["access_token"]) == new_kid

    # The window closes 3 s after the rotation (+ the ~0.5 s re-check).
    gone = poll(lambda: old_kid not in jwks_kids(srv), 8.0, 0.1)
    dropped_after = time.monotonic() - t_rot
    assert gone, f"old key {old_kid} still in the JWKS {dropped_after:.1f}s after the rotation"
    # not before the window could have closed (key times may be whole seconds: >= 2.8 s)
    assert dropped_after >= 2.5, f"old key dropped after only {dropped_after:.1f}s"

    assert jwks_kids(srv) == [new_kid]
    assert_token_error(srv.me(old_token()), "Invalid token")
    # the signing key is untouched
    got = gh.assert_tokens_pair(srv.login(user, PW), f"Logged in as {user}")
    assert kid_of(got["access_token"]) == new_kid
    assert_json(srv.me(got["access_token"]), 200)
    verify_with_jwks(srv, got["access_token"], alg)


def test_dropped_key_stays_dropped_after_restart(server_factory):
    # Choice: after a restart past the window, the old key neither verifies nor is listed
    # (the window is a property of the key times on disk, not of the process).
    alg = "EdDSA"
    ttls = ["--jwt-access-ttl", "1s", "--jwt-refresh-ttl", "1s"]
    srv = server_factory(args=["--jwt-algorithm", alg, *ttls])
    user, _ = srv.new_user("drop2", PW)
    (old_kid, old_key), = server_keys(srv.data_dir).items()
    wait_past_key_seconds(srv.data_dir)
    new_kid = rotate(srv.data_dir, alg, *ttls)
    assert poll(lambda: jwks_kids(srv) == [new_kid], 6.0, 0.2), jwks_kids(srv)
    assert srv.terminate() == 0
    srv.start()
    assert jwks_kids(srv) == [new_kid]
    tok = sign_with(old_key, alg, claims_for(user, ttl=60), old_kid)
    assert_token_error(srv.me(tok), "Invalid token")
