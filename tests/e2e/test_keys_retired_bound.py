"""Issue 15 (attacker round 8, F1) / docs/api.md "Signing keys": a retired key vouches only for
what it signed. After `keys rotate --now` (the command for a leaked key) the old key keeps
verifying the tokens issued before the rotation, but a token it "signs" afterwards, one with an
`iat` later than its retirement (plus the documented 60 s leeway) or no `iat` at all, is
`Invalid token`. Each refusal has a control: the same claims signed by the new key are
accepted, so the refusal is the retired key's bound and nothing else. Once its window has
closed the key is deleted, so a restart with longer token lifetimes cannot bring it back
(attacker round 9, F1)."""

import time

import jwt
import pytest

from gatehouse_e2e import assert_json, assert_token_error
from keys_support import (
    PICKUP_TIMEOUT,
    claims_for,
    header_of,
    jwks_kids,
    poll,
    rotate,
    rotated_hs256_secrets,
    server_keys,
    sign_with,
)

PW = "correct horse"
LEEWAY = 60  # kRetiredKeyLeeway, docs/api.md
TEN_YEARS = 10 * 365 * 86400


def signing_kid_becomes(srv, refresh_token, kid):
    def attempt():
        r = srv.refresh(refresh_token)
        assert r.status_code == 200, r.text
        return header_of(r.json()["access_token"]).get("kid") == kid

    assert poll(attempt, PICKUP_TIMEOUT, 0.1), f"the server does not sign with {kid} yet"


def rotate_now(srv, alg):
    """Returns (old signer, new signer, rotation second): each signer signs a claims dict."""
    if alg == "HS256":
        old_secret = srv.secret
        old = lambda claims: jwt.encode(claims, old_secret, algorithm="HS256")  # noqa: E731
    else:
        (old_kid, old_key), = server_keys(srv.data_dir).items()
        old = lambda claims: sign_with(old_key, alg, claims, old_kid)  # noqa: E731
    rotated_at = int(time.time())
    kid = rotate(srv.data_dir, alg)
    if alg == "HS256":
        new_secret = rotated_hs256_secrets(srv.data_dir)[kid]
        new = lambda claims: jwt.encode(claims, new_secret, algorithm="HS256",  # noqa: E731
                                        headers={"kid": kid})
    else:
        new_key = server_keys(srv.data_dir)[kid]
        new = lambda claims: sign_with(new_key, alg, claims, kid)  # noqa: E731
    return old, new, rotated_at, kid


@pytest.mark.parametrize("alg", ["HS256", "EdDSA"])
def test_a_retired_key_verifies_only_tokens_issued_before_its_retirement(server_factory, alg):
    srv = server_factory(args=["--jwt-algorithm", alg])
    user, body = srv.new_user("retired", PW)
    issued_before = body["access_token"]
    old, new, rotated_at, kid = rotate_now(srv, alg)
    signing_kid_becomes(srv, body["refresh_token"], kid)

    # what the old key signed before it retired still verifies
    assert_json(srv.me(issued_before), 200)
    r = srv.refresh(body["refresh_token"])
    assert_json(r, 200)
    back_then = claims_for(user, iat=rotated_at - 5, nbf=rotated_at - 5)
    assert_json(srv.me(old(back_then)), 200)

    # a far exp is not refused as such: the key's window (then its deletion) ends the token
    assert_json(srv.me(old(claims_for(user, iat=rotated_at - 5, exp=rotated_at + TEN_YEARS))), 200)

    refused = {
        "issued after the retirement": claims_for(user, iat=rotated_at + LEEWAY + 5),
        "without iat": {k: v for k, v in claims_for(user).items() if k != "iat"},
    }
    for why, claims in refused.items():
        assert_json(srv.me(new(claims)), 200)  # the new key may sign exactly these claims
        r = srv.me(old(claims))
        assert r.status_code == 401, (why, r.status_code, r.text)
        assert_token_error(r, "Invalid token")
    # a refresh token the old key mints after retiring does not refresh either
    late_refresh = claims_for(user, "refresh", iat=rotated_at + LEEWAY + 5)
    assert_token_error(srv.refresh(old(late_refresh)), "Invalid token")


@pytest.mark.sqlite_only  # looks at <data_dir>/keys and <data_dir>/jwt-secret
@pytest.mark.parametrize("alg", ["HS256", "EdDSA"])
def test_a_key_whose_window_closed_is_deleted_and_a_longer_ttl_does_not_revive_it(
        server_factory, alg):
    short = ["--jwt-algorithm", alg, "--jwt-access-ttl", "4s", "--jwt-refresh-ttl", "8s"]
    srv = server_factory(args=short)
    user, body = srv.new_user("closed", PW)
    old, new, rotated_at, kid = rotate_now(srv, alg)
    signing_kid_becomes(srv, body["refresh_token"], kid)
    old_file = (srv.data_dir / "jwt-secret") if alg == "HS256" else None
    if alg != "HS256":
        (old_kid,) = [k for k in server_keys(srv.data_dir) if k != kid]
    # the window: the successor has signed for the longest lifetime (8 s); then the key goes
    assert poll(lambda: (not old_file.exists()) if old_file else
                old_kid not in server_keys(srv.data_dir), 20, 0.2), "the closed key is still there"
    back_then = claims_for(user, iat=rotated_at - 5, nbf=rotated_at - 5, ttl=30 * 86400)
    assert_token_error(srv.me(old(back_then)), "Invalid token")

    # a restart with a 30-day refresh lifetime would reopen the window of a key still on disk
    assert srv.terminate() == 0
    srv.extra_args = ["--jwt-algorithm", alg, "--jwt-refresh-ttl", "30d"]
    srv.start()
    assert_token_error(srv.me(old(back_then)), "Invalid token")
    if alg != "HS256":
        assert old_kid not in jwks_kids(srv)
    else:
        # no new secret is generated in its place: one would verify tokens it never signed
        # (attacker round 10, A)
        assert not old_file.exists()
        assert "generated a new HS256 secret" not in srv.stderr_text().split("deleted a signing key")[-1]
    assert_json(srv.me(new(claims_for(user))), 200)
