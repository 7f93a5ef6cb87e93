"""Issue 14: one rule deletes a key whose verification window has closed (its successor began
signing longer ago than the longest token lifetime). `gatehouse keys rotate` deletes exactly the
keys that a server deletes, the generated HS256 secret (<data_dir>/jwt-secret) included: the
command used to keep it, while a server deleted it.

Two copies of one data dir, in which a key's window has closed: the command runs on one, a
server starts on the other; both must have deleted the same keys."""

import shutil
import time

import pytest

from keys_support import rotate

# The longest token lifetime: a replaced key's window closes this long after its successor
# began signing.
TTL = ["--jwt-access-ttl", "1s", "--jwt-refresh-ttl", "2s"]
WINDOW = 2


def keys_kept(data_dir):
    """The names of the keys in data_dir: <data_dir>/keys/*, and jwt-secret if it is there."""
    names = {p.name for p in (data_dir / "keys").iterdir()} if (data_dir / "keys").is_dir() else set()
    return names | ({"jwt-secret"} if (data_dir / "jwt-secret").exists() else set())


@pytest.mark.sqlite_only  # the keys and the generated secret are files only on SQLite
@pytest.mark.parametrize("alg", ["HS256", "EdDSA"])
def test_keys_rotate_deletes_the_keys_a_server_deletes(server_factory, tmp_path, alg):
    args = ["--jwt-algorithm", alg, *TTL]
    first = server_factory(args=args)  # the first key: jwt-secret, or an EdDSA key
    assert first.terminate() == 0
    rotate(first.data_dir, alg, *TTL)  # signs now: the first key retires
    time.sleep(WINDOW + 1.5)           # and its window closes
    before = keys_kept(first.data_dir)
    copy = tmp_path / "copy"
    shutil.copytree(first.data_dir, copy)

    rotate(first.data_dir, alg, *TTL)
    by_command = before - keys_kept(first.data_dir)
    server_factory(data_dir=copy, args=args)  # a start loads the keys as a reload does
    by_server = before - keys_kept(copy)

    assert by_server, f"the server deleted nothing of {sorted(before)}"
    assert by_command == by_server, (sorted(by_command), sorted(by_server))
    if alg == "HS256":
        assert by_server == {"jwt-secret"}
