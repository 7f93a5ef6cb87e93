"""Helpers for the resource-server tests (issue 5): JWKS, signing keys, rotation, introspection.

Written from the contract (/work/shared/API.md §2-4), docs/api.md and issue 5 only, not from the
server's sources.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import stat
import subprocess
import time
import uuid
from pathlib import Path

import jwt
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

import gatehouse_e2e as gh

ASYM_ALGS = ["EdDSA", "ES256", "RS256"]
ALL_ALGS = ["HS256"] + ASYM_ALGS

JWKS_PATH = "/.well-known/jwks.json"
JWKS_CACHE_CONTROL = "public, max-age=300"
PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}

# exact members of one served JWK per algorithm
JWK_MEMBERS = {
    "EdDSA": {"kty", "crv", "x", "kid", "alg", "use"},
    "ES256": {"kty", "crv", "x", "y", "kid", "alg", "use"},
    "RS256": {"kty", "n", "e", "kid", "alg", "use"},
}
JWK_KTY = {"EdDSA": "OKP", "ES256": "EC", "RS256": "RSA"}
JWK_CRV = {"EdDSA": "Ed25519", "ES256": "P-256"}

KEY_FILE_RE = re.compile(r"^\d{10}-[0-9a-f]{8}\.pem$")
B64URL_RE = re.compile(r"^[A-Za-z0-9_-]+$")

INTROSPECTION_SECRET = "introspection-secret-0123456789"
ACTIVE_MEMBERS = {"active", "sub", "username", "type", "exp", "iat", "jti", "sid"}

CLI_TIMEOUT = 60
PICKUP_TIMEOUT = 3.0  # a running server picks up a rotated key within ~1 s


# -- base64url / JWS by hand ----------------------------------------------------------------

def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64u_decode(s: str) -> bytes:
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def b64u_json(obj) -> str:
    return b64u(json.dumps(obj, separators=(",", ":")).encode())


def header_of(token: str) -> dict:
    return json.loads(b64u_decode(token.split(".")[0]))


def claims_of(token: str) -> dict:
    return json.loads(b64u_decode(token.split(".")[1]))


def hs256_raw(header: dict, payload: dict, key: bytes) -> str:
    """HS256 JWS MACed with arbitrary key bytes (PyJWT refuses PEM keys for HMAC)."""
    signing_input = f"{b64u_json(header)}.{b64u_json(payload)}"
    mac = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64u(mac)}"


def unsigned(header: dict, payload: dict, signature: str = "") -> str:
    return f"{b64u_json(header)}.{b64u_json(payload)}.{signature}"


def claims_for(user: str, ttype: str = "access", ttl: int = 600, **extra) -> dict:
    now = int(time.time())
    c = {
        "fresh": False,
        "iat": now,
        "jti": str(uuid.uuid4()),
        "type": ttype,
        "sub": user,
        "nbf": now,
        "exp": now + ttl,
        "sid": str(uuid.uuid4()),
    }
    c.update(extra)
    return c


# -- keys ------------------------------------------------------------------------------------

def generate_key(kind: str):
    """kind: Ed25519 | P-256 | P-384 | RSA2048 | RSA1024 | RSA3072."""
    if kind == "Ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    if kind == "P-256":
        return ec.generate_private_key(ec.SECP256R1())
    if kind == "P-384":
        return ec.generate_private_key(ec.SECP384R1())
    if kind.startswith("RSA"):
        return rsa.generate_private_key(public_exponent=65537, key_size=int(kind[3:]))
    raise ValueError(kind)


KEY_KIND = {"EdDSA": "Ed25519", "ES256": "P-256", "RS256": "RSA2048"}

_KEY_CACHE: dict = {}


def cached_key(kind: str, slot: str = "default"):
    """Keys are cheap except RSA; reuse them within the test run (by kind and slot)."""
    k = (kind, slot)
    if k not in _KEY_CACHE:
        _KEY_CACHE[k] = generate_key(kind)
    return _KEY_CACHE[k]


def pkcs8_pem(key) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def write_key_file(path: Path, key) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pkcs8_pem(key))
    os.chmod(path, 0o600)
    return path


def int_b64u(n: int, length: int | None = None) -> str:
    length = length or (n.bit_length() + 7) // 8
    return b64u(n.to_bytes(length, "big"))


def public_jwk(key) -> dict:
    """The public JWK members (RFC 7517/7518/8037) of a private or public key, without kid/alg/use."""
    pub = key.public_key() if hasattr(key, "public_key") else key
    if isinstance(pub, ed25519.Ed25519PublicKey):
        raw = pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return {"kty": "OKP", "crv": "Ed25519", "x": b64u(raw)}
    if isinstance(pub, ec.EllipticCurvePublicKey):
        nums = pub.public_numbers()
        size = (pub.curve.key_size + 7) // 8
        crv = {"secp256r1": "P-256", "secp384r1": "P-384"}[pub.curve.name]
        return {"kty": "EC", "crv": crv, "x": int_b64u(nums.x, size), "y": int_b64u(nums.y, size)}
    if isinstance(pub, rsa.RSAPublicKey):
        nums = pub.public_numbers()
        return {"kty": "RSA", "n": int_b64u(nums.n), "e": int_b64u(nums.e)}
    raise TypeError(type(pub))


def thumbprint(jwk: dict) -> str:
    """RFC 7638 JWK thumbprint (SHA-256, base64url) from the required members."""
    required = {"OKP": ("crv", "kty", "x"), "EC": ("crv", "kty", "x", "y"), "RSA": ("e", "kty", "n")}
    members = {k: jwk[k] for k in required[jwk["kty"]]}
    canon = json.dumps(members, separators=(",", ":"), sort_keys=True).encode()
    return b64u(hashlib.sha256(canon).digest())


def public_pem(key) -> bytes:
    pub = key.public_key() if hasattr(key, "public_key") else key
    return pub.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def public_der(key) -> bytes:
    pub = key.public_key() if hasattr(key, "public_key") else key
    return pub.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def load_private_pem(path: Path):
    return serialization.load_pem_private_key(Path(path).read_bytes(), password=None)


def key_files(data_dir: Path) -> list[Path]:
    d = Path(data_dir) / "keys"
    if not d.is_dir():
        return []
    return sorted(p for p in d.iterdir() if p.suffix == ".pem")


def server_keys(data_dir: Path) -> dict:
    """kid (RFC 7638 thumbprint) -> private key object, for every PEM in <data_dir>/keys; in
    PostgreSQL mode for every asymmetric key (PEM) in the signing_keys table of the database that
    stands for data_dir (gatehouse_e2e.pg_database_for_data_dir)."""
    if gh.pg_mode():
        rows = gh.psql(gh.pg_database_for_data_dir(data_dir),
                       "SELECT replace(material, E'\\n', '~') FROM signing_keys WHERE algorithm IN ('EdDSA', 'ES256', 'RS256')")
        pems = [r.replace("~", "\n").encode() for r in rows]
    else:
        pems = [p.read_bytes() for p in key_files(data_dir)]
    out = {}
    for pem in pems:
        k = serialization.load_pem_private_key(pem, password=None)
        out[thumbprint(public_jwk(k))] = k
    return out


def sign_with(key, alg: str, payload: dict, kid: str | None, extra_headers: dict | None = None) -> str:
    headers = dict(extra_headers or {})
    if kid is not None:
        headers["kid"] = kid
    return jwt.encode(payload, key, algorithm=alg, headers=headers)


# -- JWKS ------------------------------------------------------------------------------------

def get_jwks(srv) -> dict:
    r = srv.get(JWKS_PATH)
    assert r.status_code == 200, (r.status_code, r.text)
    return r.json()


def jwks_kids(srv) -> list[str]:
    return [k.get("kid") for k in get_jwks(srv)["keys"]]


def jwk_for(srv, kid: str) -> dict:
    keys = [k for k in get_jwks(srv)["keys"] if k.get("kid") == kid]
    assert len(keys) == 1, f"kid {kid!r} listed {len(keys)} times in the JWKS"
    return keys[0]


def verify_with_jwks(srv, token: str, alg: str, **kw) -> dict:
    """Verify a gatehouse token using ONLY the served JWKS (PyJWK built from the entry for its kid)."""
    kid = header_of(token)["kid"]
    key = jwt.PyJWK(jwk_for(srv, kid))
    return jwt.decode(token, key.key, algorithms=[alg], **kw)


def assert_jwk_shape(jwk: dict, alg: str) -> None:
    assert set(jwk) == JWK_MEMBERS[alg], f"JWK members {sorted(jwk)} != {sorted(JWK_MEMBERS[alg])}"
    assert not (set(jwk) & PRIVATE_MEMBERS), jwk
    assert jwk["kty"] == JWK_KTY[alg], jwk
    assert jwk["alg"] == alg, jwk
    assert jwk["use"] == "sig", jwk
    if alg in JWK_CRV:
        assert jwk["crv"] == JWK_CRV[alg], jwk
    for m in ("x", "y", "n", "e", "kid"):
        if m in jwk:
            assert isinstance(jwk[m], str) and B64URL_RE.match(jwk[m]), (m, jwk[m])
    if alg == "EdDSA":
        assert len(b64u_decode(jwk["x"])) == 32, jwk
    elif alg == "ES256":
        # RFC 7518 §6.2.1.2: full 32-byte coordinates
        assert len(b64u_decode(jwk["x"])) == 32 and len(b64u_decode(jwk["y"])) == 32, jwk
    elif alg == "RS256":
        n = b64u_decode(jwk["n"])
        assert n[0] != 0, "RSA modulus has a leading zero octet (RFC 7518 §6.3.1.1)"
        e = int.from_bytes(b64u_decode(jwk["e"]), "big")
        assert e >= 3 and e % 2 == 1, jwk["e"]
    # the kid is the RFC 7638 thumbprint of the public JWK
    assert jwk["kid"] == thumbprint(jwk), (jwk["kid"], thumbprint(jwk))


# -- CLI / rotation --------------------------------------------------------------------------

def run_cli(args: list[str], *, cwd=None, timeout=CLI_TIMEOUT) -> subprocess.CompletedProcess:
    """gatehouse <args>; in PostgreSQL mode with `--database <the data dir's database>` added when
    args name a --data-dir and no --database (the storage a server on that data dir uses)."""
    args = list(args)
    data_dir = gh.flag_value(args, "--data-dir")
    if gh.pg_mode() and data_dir is not None and gh.flag_value(args, "--database") is None:
        args += ["--database", gh.pg_database_for_data_dir(data_dir)]
    return subprocess.run(
        [gh.gatehouse_bin()] + args,
        env=gh.clean_env(),
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def describe(p: subprocess.CompletedProcess) -> str:
    return f"exit {p.returncode}\nstdout: {p.stdout!r}\nstderr: {p.stderr!r}"


ROTATE_RE = re.compile(r"new signing key (\S+) \(")


def rotate(data_dir: Path, alg: str, *extra: str, staged: bool = False) -> str:
    """gatehouse keys rotate; return the new kid printed by it. Not staged: with --now, the new key
    signs at once (issue 15 item 3 made the plain command publish first and sign only after
    keys.publication_delay; these tests are about what happens once it signs)."""
    now = [] if staged else ["--now"]
    p = run_cli(["keys", "rotate", *now, "--data-dir", str(data_dir), "--jwt-algorithm", alg, *extra])
    assert p.returncode == 0, describe(p)
    m = ROTATE_RE.search(p.stdout + p.stderr)
    assert m, f"no 'new signing key <kid> (...)' line\n{describe(p)}"
    return m.group(1)


def key_second(path: Path) -> int:
    return int(Path(path).name.split("-")[0])


def wait_past_key_seconds(data_dir: Path) -> None:
    """Sleep until the clock is past the whole second of every key file (at most ~1 s), so the
    next rotation's key is strictly younger by its name. The same-second case has its own test."""
    if gh.pg_mode():  # the keys' creation seconds are in the signing_keys table
        rows = gh.psql(gh.pg_database_for_data_dir(data_dir),
                       "SELECT coalesce(max(created_at), 0) FROM signing_keys WHERE algorithm IN ('EdDSA', 'ES256', 'RS256')")
        newest = int(rows[0])
    else:
        newest = max((key_second(p) for p in key_files(data_dir)), default=0)
    while int(time.time()) <= newest:
        time.sleep(0.05)


poll = gh.poll  # one polling helper for the whole suite


def wait_exit(srv, timeout: float = 15.0) -> tuple[int | None, bool]:
    """Wait for a server that should fail to start; return (exit status, ever answered /healthz)."""
    served = False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rc = srv.proc.poll()
        if rc is not None:
            return rc, served
        try:
            if requests.get(srv.base + "/healthz", timeout=0.5).status_code == 200:
                served = True
        except requests.RequestException:
            pass
        time.sleep(0.05)
    srv.kill9()
    return None, served


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


# -- introspection ---------------------------------------------------------------------------

def introspect(srv, token: str | None, *, secret: str | None = INTROSPECTION_SECRET,
               hint: str | None = None, as_json: bool = False, headers: dict | None = None):
    h = dict(headers or {})
    if secret is not None:
        h["Authorization"] = f"Bearer {secret}"
    body = {}
    if token is not None:
        body["token"] = token
    if hint is not None:
        body["token_type_hint"] = hint
    if as_json:
        return srv.post("/token/introspect", json=body, headers=h)
    return srv.post("/token/introspect", data=body, headers=h)


def assert_inactive(r) -> None:
    gh.assert_json(r, 200, {"active": False})


def assert_active(r, token: str, ttype: str) -> dict:
    got = gh.assert_json(r, 200)
    assert got.get("active") is True, got
    assert ACTIVE_MEMBERS <= set(got), f"missing {sorted(ACTIVE_MEMBERS - set(got))} in {got}"
    claims = claims_of(token)
    assert got["type"] == ttype == claims["type"], got
    assert got["sub"] == claims["sub"] and got["username"] == claims["sub"], got
    for k in ("exp", "iat", "jti", "sid"):
        assert got[k] == claims[k], (k, got[k], claims[k])
    # any further member named like a claim must carry the claim's value
    for k in set(got) - ACTIVE_MEMBERS:
        if k in claims:
            assert got[k] == claims[k], (k, got[k], claims[k])
    assert r.headers.get("Cache-Control") == "no-store", r.headers.get("Cache-Control")
    return got


# -- HS256 rotation --------------------------------------------------------------------------

HS256_SECRET_FILE_RE = re.compile(r"^\d{10}-[0-9a-f]{8}\.hs256$")


def oct_thumbprint(secret: str) -> str:
    """RFC 7638 thumbprint of the oct JWK whose key bytes are the secret string's bytes."""
    canon = json.dumps({"k": b64u(secret.encode()), "kty": "oct"}, separators=(",", ":"))
    return b64u(hashlib.sha256(canon.encode()).digest())


def hs256_secret_files(data_dir: Path) -> list[Path]:
    d = Path(data_dir) / "keys"
    if not d.is_dir():
        return []
    return sorted(p for p in d.iterdir() if p.suffix == ".hs256")


def rotated_hs256_secrets(data_dir: Path) -> dict:
    """kid -> secret of every HS256 secret `keys rotate` made (not the first, kid-less one):
    files <data_dir>/keys/*.hs256 on SQLite, rows of signing_keys on PostgreSQL."""
    if gh.pg_mode():
        rows = gh.psql(gh.pg_database_for_data_dir(data_dir),
                       "SELECT material FROM signing_keys WHERE algorithm = 'HS256' AND kid <> 'hs256'")
        secrets = [r.strip() for r in rows]
    else:
        secrets = [p.read_text().strip() for p in hs256_secret_files(data_dir)]
    return {oct_thumbprint(s): s for s in secrets}
