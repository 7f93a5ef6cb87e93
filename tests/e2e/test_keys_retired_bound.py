"""Issue 15 (attacker round 8, F1) / docs/api.md "Signing keys": a retired key vouches only for
what it signed. After `keys rotate --now` (the command for a leaked key) the old key keeps
verifying the tokens issued before the rotation, but a token it "signs" afterwards, one with an
`iat` later than its retirement (plus the documented 60 s leeway), an `exp` beyond its window,
or no `iat` at all, is `Invalid token`. Each refusal has a control: the same claims signed by
the new key are accepted, so the refusal is the retired key's bound and nothing else."""

import time

import jwt
import pytest

from gatehouse_e2e import assert_json, assert_token_error
from keys_support import (
    PICKUP_TIMEOUT,
    claims_for,
    header_of,
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

    refused = {
        "issued after the retirement": claims_for(user, iat=rotated_at + LEEWAY + 5),
        "expiring beyond the key's window": claims_for(user, iat=rotated_at - 5,
                                                        exp=rotated_at + TEN_YEARS),
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
