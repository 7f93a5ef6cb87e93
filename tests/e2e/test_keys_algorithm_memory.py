"""Issue 15 item 4 (the part done): jwt.algorithm is kept with the keys. A restart without
--jwt-algorithm keeps the algorithm the keys were made for instead of silently falling back to
HS256 (which made every token `Invalid token`, 30-day refresh tokens included), and
`keys rotate` needs no --jwt-algorithm."""

import gatehouse_e2e as gh
from keys_support import ROTATE_RE, describe, header_of, jwks_kids, run_cli

PW = "correct horse"


def test_restart_without_the_flag_keeps_the_algorithm_of_the_keys(server_factory):
    first = server_factory(args=["--jwt-algorithm", "EdDSA"])
    _, body = first.new_user("keep", PW)
    kid = header_of(body["access_token"])["kid"]
    assert first.terminate() == 0

    again = server_factory(args=[], data_dir=first.data_dir)
    gh.assert_json(again.me(body["access_token"]), 200)
    r = again.refresh(body["refresh_token"])
    gh.assert_json(r, 200)
    assert header_of(r.json()["access_token"]) == {"alg": "EdDSA", "typ": "JWT", "kid": kid}
    assert jwks_kids(again) == [kid]

    # keys rotate without --jwt-algorithm rotates the EdDSA keys
    p = run_cli(["keys", "rotate", "--now", "--data-dir", str(again.data_dir)])
    assert p.returncode == 0, describe(p)
    assert "(EdDSA)" in p.stdout, describe(p)
    new_kid = ROTATE_RE.search(p.stdout).group(1)
    assert gh.poll(lambda: new_kid in jwks_kids(again), 3.0)


def test_an_explicit_change_is_kept_for_the_next_start(server_factory):
    # A change is `keys rotate --jwt-algorithm` (test_keys_algorithm_change.py); a start with
    # another jwt.algorithm is refused instead of switching (it used to switch with a warning).
    first = server_factory(args=["--jwt-algorithm", "EdDSA"])
    assert first.terminate() == 0
    p = run_cli(["keys", "rotate", "--now", "--data-dir", str(first.data_dir),
                 "--jwt-algorithm", "ES256"])
    assert p.returncode == 0, describe(p)
    assert "jwt.algorithm changes from EdDSA to ES256" in p.stdout, describe(p)
    changed = server_factory(args=["--jwt-algorithm", "ES256"], data_dir=first.data_dir)
    _, body = changed.new_user("change", PW)
    assert changed.terminate() == 0
    again = server_factory(args=[], data_dir=first.data_dir)
    gh.assert_json(again.me(body["access_token"]), 200)
    assert header_of(body["access_token"])["alg"] == "ES256"


def test_the_default_hs256_install_stays_hs256(server_factory):
    first = server_factory()
    _, body = first.new_user("hs", PW)
    assert first.terminate() == 0
    again = server_factory(args=[], data_dir=first.data_dir)
    gh.assert_json(again.me(body["access_token"]), 200)
    assert again.get("/.well-known/jwks.json").json() == {"keys": []}
