"""Issue 15, items 2 and 11: the developer scripts.

- scripts/run installs only what building and running need (scripts/install-deps run), says what
  it is doing and how long the build took; scripts/test adds the test tools.
- scripts/test gives each run a PostgreSQL cluster of its own (scripts/pg-cluster new: a fresh
  directory and a free port) and destroys only that one.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

import gatehouse_e2e as gh
from pg_support import can_run_own_cluster

SCRIPTS = gh.REPO_ROOT / "scripts"
PSQL_TIMEOUT = 30

# Packages only testing needs: none may be in the run set (a real host must not get a compiler
# toolchain for sanitizers, a test framework, or a PostgreSQL server it then starts).
TEST_ONLY = {
    "clang", "libclang-rt-14-dev", "libgtest-dev", "libgmock-dev", "libbenchmark-dev",
    "postgresql", "postgresql-15", "postgresql-client", "python3-pytest", "python3-requests",
    "python3-jwt", "python3-python-flask-jwt-extended", "python3-prometheus-client",
    "nodejs", "npm",
}
TEST_ONLY_PATTERNS = [r"^clang", r"^llvm", r"^postgresql(-\d+)?$", r"gtest|gmock|googletest",
                      r"^python3-", r"^nodejs$|^npm$"]


def package_list(which: str) -> list[str]:
    p = subprocess.run(["bash", str(SCRIPTS / "install-deps"), "--list", which],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    return p.stdout.split()


# -- item 2: two package sets ----------------------------------------------------------------------

def test_run_set_holds_no_test_only_package():
    run = package_list("run")
    assert run, "empty run set"
    assert not set(run) & TEST_ONLY, sorted(set(run) & TEST_ONLY)
    for pattern in TEST_ONLY_PATTERNS:
        hits = [p for p in run if re.search(pattern, p)]
        assert not hits, f"test-only packages in the run set: {hits}"
    # what the build links (CMakeLists.txt) is there, PostgreSQL's client library included
    assert {"g++", "cmake", "ninja-build", "libpq-dev", "libsqlite3-dev", "libsodium-dev"} <= set(run)


def test_test_set_adds_the_test_tools():
    run, test = package_list("run"), package_list("test")
    assert set(run) <= set(test)
    assert {"clang", "libgtest-dev", "postgresql", "python3-pytest", "nodejs"} <= set(test)


def shim(directory: Path, name: str, body: str) -> None:
    path = directory / name
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(0o755)


def test_scripts_run_installs_the_run_set_only_and_reports_progress(tmp_path):
    """scripts/run on a machine where nothing is installed (dpkg-query finds nothing): apt-get is
    asked for exactly the run set, every step is announced and the build time printed, and the
    built binary is started with the arguments given. apt-get, cmake and the binary are stand-ins
    that record their arguments."""
    repo = tmp_path / "clone"
    (repo / "scripts").mkdir(parents=True)
    for name in ("run", "install-deps"):
        shutil.copy2(SCRIPTS / name, repo / "scripts" / name)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "calls.log"
    shim(bin_dir, "dpkg-query", "exit 1")
    shim(bin_dir, "apt-get", f'echo "apt-get $*" >>{log}')
    shim(bin_dir, "sudo", 'exec "$@"')
    shim(bin_dir, "cmake", f'''echo "cmake $*" >>{log}
if [ "$1" = --build ]; then
  mkdir -p build/release
  printf '#!/bin/sh\\necho "gatehouse $*" >>{log}\\n' >build/release/gatehouse
  chmod 755 build/release/gatehouse
fi''')
    env = dict(os.environ, PATH=f"{bin_dir}:/usr/bin:/bin")
    p = subprocess.run(["bash", str(repo / "scripts" / "run"), "--listen", "127.0.0.1:9"],
                       cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr
    calls = log.read_text().splitlines()
    installs = [c for c in calls if c.startswith("apt-get") and " install " in c]
    assert len(installs) == 1, calls
    asked = [a for a in installs[0].split()[1:] if not a.startswith("-") and a != "install"]
    assert sorted(asked) == sorted(package_list("run")), asked
    assert calls[-1] == "gatehouse serve --listen 127.0.0.1:9", calls
    out = p.stdout
    for announced in ("installing", "apt-get update", "configuring", "building gatehouse",
                      "the first build", "starting"):
        assert announced in out, f"{announced!r} not announced:\n{out}"
    assert re.search(r"built build/release/gatehouse in \d+ s", out), out


def test_dry_run_installs_nothing(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim(bin_dir, "dpkg-query", "exit 1")
    shim(bin_dir, "apt-get", "echo apt-get must not run; exit 1")
    env = dict(os.environ, PATH=f"{bin_dir}:/usr/bin:/bin")
    p = subprocess.run(["bash", str(SCRIPTS / "install-deps"), "--dry-run", "run"], env=env,
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0 and "would install" in p.stdout, p.stdout + p.stderr
    assert "apt-get must not run" not in p.stdout


# -- item 11: a PostgreSQL cluster per test run ----------------------------------------------------

def test_scripts_test_uses_a_cluster_of_its_own():
    """scripts/test starts its cluster with `pg-cluster new` and destroys only that directory:
    no start, stop or destroy of the shared default cluster (/tmp/gatehouse-pg)."""
    text = (SCRIPTS / "test").read_text()
    calls = re.findall(r"scripts/pg-cluster\s+([^\n|)']*)", text)
    assert calls, "scripts/test no longer uses scripts/pg-cluster?"
    for call in calls:
        words = call.split()
        assert words[0] in ("new", "destroy"), f"scripts/test calls pg-cluster {call!r}"
        if words[0] == "destroy":
            assert words[1] == '"$pg_dir"', call
    assert "/tmp/gatehouse-pg" not in text


def pg_cluster(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(SCRIPTS / "pg-cluster"), *args], capture_output=True,
                          text=True, timeout=180, env=env)


def answers(url: str) -> bool:
    p = subprocess.run([gh.psql_bin(), "-X", "-Atc", "SELECT 1", url + "postgres"],
                       capture_output=True, text=True, timeout=PSQL_TIMEOUT)
    return p.returncode == 0 and p.stdout.strip() == "1"


@pytest.mark.skipif(not can_run_own_cluster(), reason="needs PostgreSQL 15's binaries")
def test_two_runs_get_separate_clusters_and_stop_only_their_own():
    default_before = pg_cluster("status").returncode  # 0: someone runs the default cluster
    made = []
    try:
        for _ in range(2):
            p = pg_cluster("new")
            assert p.returncode == 0, p.stdout + p.stderr
            directory, url = p.stdout.strip().splitlines()[0], p.stdout.strip().splitlines()[-1]
            made.append((directory, url))
        (dir_a, url_a), (dir_b, url_b) = made
        assert dir_a != dir_b and url_a != url_b
        assert dir_a.startswith("/tmp/gatehouse-pg.") and dir_a != "/tmp/gatehouse-pg"
        assert answers(url_a) and answers(url_b)
        assert pg_cluster("destroy", dir_a).returncode == 0
        assert not Path(dir_a).exists()
        assert answers(url_b), "destroying one run's cluster stopped the other's"
    finally:
        for directory, _ in made:
            pg_cluster("destroy", directory)
    assert pg_cluster("status").returncode == default_before  # the shared one is untouched
