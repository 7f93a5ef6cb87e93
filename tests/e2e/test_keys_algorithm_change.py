"""Issue 15 item 4: changing jwt.algorithm is an explicit, staged step. A start whose
jwt.algorithm disagrees with the one kept with the keys is refused, naming both and the command;
`gatehouse keys rotate --jwt-algorithm <new>` publishes the new algorithm's key first, signs with
it after keys.publication_delay, and the old keys (the generated HS256 secret included) keep
verifying, across restarts, until their last token could have expired. Runs on SQLite, and on
PostgreSQL when GATEHOUSE_E2E_PG_URL is set (scripts/test's PostgreSQL list)."""

from __future__ import annotations

import time

import jwt

import gatehouse_e2e as gh
from keys_support import (
    claims_for,
    describe,
    header_of,
    hs256_raw,
    jwk_for,
    jwks_kids,
    public_pem,
    run_cli,
    verify_with_jwks,
)

PW = "correct horse"
MAX_AGE = 1
DELAY = 8  # longer than an RSA key generation on a loaded machine
STAGED = ["--jwks-max-age", f"{MAX_AGE}s", "--keys-publication-delay", f"{DELAY}s"]


def change(data_dir, alg: str) -> tuple[str, str]:
    p = run_cli(["keys", "rotate", "--data-dir", str(data_dir), "--jwt-algorithm", alg, *STAGED])
    assert p.returncode == 0, describe(p)
    kid = p.stdout.split("new signing key ", 1)[1].split(" ", 1)[0]
    return kid, p.stdout


def refused_start(data_dir, alg: str) -> str:
    p = run_cli(["serve", "--data-dir", str(data_dir), "--listen", f"127.0.0.1:{gh.free_port()}",
                 "--jwt-algorithm", alg, *STAGED])
    assert p.returncode == 2, describe(p)
    return p.stderr


def test_hs256_to_rs256_is_staged_and_old_tokens_keep_verifying(server_factory):
    srv = server_factory(args=STAGED)  # the default: HS256 with a generated secret
    user, old = srv.new_user("chg", PW)
    spare = srv.login(user, PW).json()
    assert header_of(old["access_token"])["alg"] == "HS256"

    kid, out = change(srv.data_dir, "RS256")
    assert "jwt.algorithm changes from HS256 to RS256" in out, out
    # Published first: the running server lists the new key, but still signs with HS256.
    assert gh.poll(lambda: kid in jwks_kids(srv), 2.0)
    early = srv.login(user, PW).json()["access_token"]
    assert header_of(early)["alg"] == "HS256"

    # After the delay the new key signs; the HS256 tokens from before still verify.
    time.sleep(DELAY + 1.5)
    new = srv.login(user, PW).json()["access_token"]
    assert header_of(new) == {"alg": "RS256", "typ": "JWT", "kid": kid}
    assert verify_with_jwks(srv, new, "RS256")["sub"] == user
    gh.assert_json(srv.me(old["access_token"]), 200)
    r = srv.refresh(old["refresh_token"])
    gh.assert_json(r, 200)
    assert header_of(r.json()["access_token"])["alg"] == "RS256"

    # The old flag at a restart is refused, naming both algorithms and the command.
    assert srv.terminate() == 0
    message = refused_start(srv.data_dir, "HS256")
    assert "jwt.algorithm is HS256, but the keys are RS256's" in message, message
    assert "gatehouse keys rotate --jwt-algorithm HS256" in message, message

    # A restart without the flag (or with the new one) signs RS256 and still takes the old ones.
    for args in (STAGED, ["--jwt-algorithm", "RS256", *STAGED]):
        again = server_factory(args=args, data_dir=srv.data_dir)
        gh.assert_json(again.me(old["access_token"]), 200)
        gh.assert_json(again.me(early), 200)
        assert header_of(again.login(user, PW).json()["access_token"])["kid"] == kid
        assert again.terminate() == 0
    again = server_factory(args=STAGED, data_dir=srv.data_dir)
    r = again.refresh(spare["refresh_token"])  # issued under HS256 before the change
    gh.assert_json(r, 200)
    assert header_of(r.json()["access_token"])["alg"] == "RS256"


def test_no_alg_confusion_while_both_kinds_of_key_verify(server_factory):
    srv = server_factory(args=STAGED)
    user, _ = srv.new_user("conf", PW)
    kid, _ = change(srv.data_dir, "RS256")
    assert gh.poll(lambda: kid in jwks_kids(srv), 2.0)
    public = jwt.algorithms.RSAAlgorithm.from_jwk(jwk_for(srv, kid))
    claims = claims_for(user)
    # The RSA public key's PEM used as an HMAC secret: refused under the RS256 kid and without one.
    for header in ({"alg": "HS256", "typ": "JWT", "kid": kid}, {"alg": "HS256", "typ": "JWT"}):
        forged = hs256_raw(header, claims, public_pem(public))
        gh.assert_json(srv.me(forged), 401)
    # A token MACed with the real secret but claiming RS256 under the RS256 kid: refused too.
    forged = hs256_raw({"alg": "RS256", "typ": "JWT", "kid": kid}, claims, srv.secret.encode())
    gh.assert_json(srv.me(forged), 401)
    # The real secret under HS256 still verifies (the old algorithm's key, during the change).
    gh.assert_json(srv.me(hs256_raw({"alg": "HS256", "typ": "JWT"}, claims, srv.secret.encode())), 200)


def test_eddsa_to_hs256_keeps_the_eddsa_tokens(server_factory):
    srv = server_factory(args=["--jwt-algorithm", "EdDSA", *STAGED])
    user, old = srv.new_user("back", PW)
    old_kid = header_of(old["access_token"])["kid"]
    assert srv.terminate() == 0
    assert "gatehouse keys rotate --jwt-algorithm ES256" in refused_start(srv.data_dir, "ES256")

    kid, out = change(srv.data_dir, "HS256")
    assert "jwt.algorithm changes from EdDSA to HS256" in out, out
    again = server_factory(args=STAGED, data_dir=srv.data_dir)
    assert header_of(again.login(user, PW).json()["access_token"])["kid"] == old_kid
    time.sleep(DELAY + 1.5)
    new = again.login(user, PW).json()["access_token"]
    assert header_of(new) == {"alg": "HS256", "typ": "JWT", "kid": kid}
    gh.assert_json(again.me(new), 200)
    gh.assert_json(again.me(old["access_token"]), 200)
    r = again.refresh(old["refresh_token"])
    gh.assert_json(r, 200)
    assert header_of(r.json()["access_token"])["alg"] == "HS256"
    assert old_kid in jwks_kids(again)  # the EdDSA key is still published while it verifies
