"""Issue 15, item 1: every snippet of README.md and docs/*.md runs as pasted.

Each fenced block is a snippet: `sh`/`bash`/`shell` blocks run in bash, `python` blocks with
/usr/bin/python3, `js`/`mjs` blocks with node. The blocks of one document run in order, in one
working directory, against one gatehouse on the embedded defaults whose data dir is
`gatehouse-data` in that directory (what `scripts/run` gives a reader in the clone). What a
reader would do by hand is what the test does, with these differences, all on the test's side:

- the server listens on a free port: `localhost:5000` and `127.0.0.1:5000` in a snippet are
  rewritten to it (and rate limits are off, as in the rest of the suite);
- shell blocks run with `set -e -o pipefail` on a terminal (a pty, through `script`) that answers
  every password prompt with the same password; variables a shell block sets are seen by the
  later shell blocks of its document, as in one terminal session; `curl` gets `--fail-with-body`,
  so an HTTP error answer fails the snippet instead of printing quietly;
- `gatehouse` on the PATH is the binary under test; `python3` is /usr/bin/python3; Node finds the
  packages tests/e2e/node pins (scripts/test installs them; $GATEHOUSE_SNIPPETS_NODE_MODULES);
  Python finds the repository's helper `clients/python/gatehouse_revocations` (PYTHONPATH) and
  Node its helper `clients/node/gatehouse-revocations` (copied into the working directory's
  node_modules), as if the reader had installed them as the README says.

Markers, HTML comments on the lines right above a fence (invisible when the Markdown is shown):

    <!-- snippet: skip REASON -->    not run (installs packages, needs systemd, ...); REASON required
    <!-- snippet: file NAME -->      written to NAME in the working directory, not run: a later
                                     block runs it
    <!-- snippet: server ARGS -->    from this block on, gatehouse runs as `serve ARGS` (restarted
                                     on the same data dir, as a reader restarts `scripts/run ARGS`;
                                     a --jwt-algorithm other than the kept one is changed to first
                                     with `gatehouse keys rotate --now --jwt-algorithm`, as the
                                     README tells the reader)

Blocks in other languages (`toml`, `json`, `text`, none) are examples, not snippets. The test
prints, per document, how many snippets ran and which were skipped and why.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import gatehouse_e2e as gh

DOCUMENTS = [gh.REPO_ROOT / "README.md", *sorted((gh.REPO_ROOT / "docs").glob("*.md"))]
LANGUAGES = {"sh": "shell", "bash": "shell", "shell": "shell", "python": "python",
             "py": "python", "js": "node", "mjs": "node", "javascript": "node"}
# html: docs/browser.md's page, which test_browser.py loads in headless Chromium.
EXAMPLE_LANGUAGES = {"", "toml", "json", "text", "ini", "http", "console-output", "html"}
# The README's revocation helper, importable by the snippets as if pip-installed.
PYTHON_HELPER = gh.REPO_ROOT / "clients" / "python" / "gatehouse_revocations"
NODE_HELPER = gh.REPO_ROOT / "clients" / "node" / "gatehouse-revocations"
SNIPPET_TIMEOUT = 90  # seconds per snippet
TERMINAL_PASSWORD = "snippet test password"
NODE_MODULES_ENV = "GATEHOUSE_SNIPPETS_NODE_MODULES"
REQUIRE_ALL_ENV = "GATEHOUSE_SNIPPETS_REQUIRE_ALL"  # scripts/test: a missing language fails

FENCE_RE = re.compile(r"^ {0,3}```\s*([\w+-]*)\s*$")
MARKER_RE = re.compile(r"^\s*<!--\s*snippet:\s*(\w+)\s*(.*?)\s*-->\s*$")


@dataclass
class Snippet:
    document: str
    line: int  # of the opening fence, 1-based
    language: str  # the fence's info string
    code: str
    markers: dict = field(default_factory=dict)

    @property
    def kind(self) -> str | None:
        return LANGUAGES.get(self.language)

    @property
    def where(self) -> str:
        return f"{self.document}:{self.line} ({self.language})"


def parse(text: str, document: str) -> list[Snippet]:
    """Every fenced block of a Markdown text, with the snippet markers right above it."""
    lines = text.splitlines()
    out, i = [], 0
    while i < len(lines):
        m = FENCE_RE.match(lines[i])
        if not m:
            i += 1
            continue
        markers, j = {}, i - 1
        while j >= 0 and MARKER_RE.match(lines[j]):
            name, value = MARKER_RE.match(lines[j]).groups()
            markers[name] = value
            j -= 1
        end = i + 1
        while end < len(lines) and not re.match(r"^ {0,3}```\s*$", lines[end]):
            end += 1
        assert end < len(lines), f"{document}:{i + 1}: fence never closed"
        out.append(Snippet(document, i + 1, m.group(1).lower(), "\n".join(lines[i + 1:end]) + "\n",
                           markers))
        i = end + 1
    return out


# -- running one document ---------------------------------------------------------------------

SHELL_RUNNER = r"""
set -e -o pipefail
__before=$(compgen -v)
[ -f .snippet-state ] && source .snippet-state   # what earlier shell blocks of the document set
source "$1"
for __name in $(compgen -v); do
  case "$__name" in __* | BASH* | _ | COLUMNS | LINES | PIPESTATUS | OLDPWD | PWD) continue ;; esac
  grep -qx -- "$__name" <<<"$__before" || declare -p "$__name"
done >.snippet-state.new
mv .snippet-state.new .snippet-state
"""


@dataclass
class Outcome:
    snippet: Snippet
    status: str  # "ran", "skipped", "written", "example"
    detail: str = ""


class SnippetFailed(AssertionError):
    pass


class DocumentRun:
    """The working directory, PATH shims and server that one document's snippets share."""

    def __init__(self, workdir: Path, name: str):
        self.workdir = workdir
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.name = name
        self.server: gh.Server | None = None
        self.server_args: list[str] | None = None
        self.port = gh.free_port()
        self.shims = workdir.parent / f"{workdir.name}-bin"
        self._make_shims()
        node_modules = os.environ.get(NODE_MODULES_ENV) or str(
            gh.REPO_ROOT / "build" / "e2e-node" / "node_modules")
        self.node_modules = Path(node_modules) if Path(node_modules).is_dir() else None
        if self.node_modules:  # ESM resolves packages from the script's directory upwards
            self._install_node_packages()

    def _install_node_packages(self) -> None:
        """The pinned packages, and the repository's Node helper copied in as `npm install
        ./clients/node/gatehouse-revocations` would put it (a copy, so that its own `import
        "jose"` resolves from here)."""
        installed = self.workdir / "node_modules"
        installed.mkdir()
        for package in self.node_modules.iterdir():
            (installed / package.name).symlink_to(package)
        shutil.copytree(NODE_HELPER, installed / NODE_HELPER.name)

    def _make_shims(self) -> None:
        self.shims.mkdir(parents=True, exist_ok=True)
        (self.shims / "gatehouse").symlink_to(Path(gh.gatehouse_bin()).resolve())
        (self.shims / "python3").symlink_to(gh.PYTHON)
        curl = shutil.which("curl") or "/usr/bin/curl"
        wrapper = self.shims / "curl"
        wrapper.write_text(f'#!/bin/sh\nexec {shlex.quote(curl)} --fail-with-body "$@"\n')
        wrapper.chmod(0o755)

    def env(self) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GATEHOUSE_")}
        env["PATH"] = f"{self.shims}:{env.get('PATH', '/usr/bin:/bin')}"
        env.pop("ACCESS_TOKEN", None)
        env.pop("NODE_PATH", None)
        env.pop("REVOCATIONS_SECRET", None)
        env["PYTHONPATH"] = str(PYTHON_HELPER)
        return env

    def ensure_server(self, args: list[str]) -> None:
        if self.server is not None and self.server.running() and args == self.server_args:
            return
        if self.server is not None:
            self.server.stop()
        self.change_algorithm(args)
        self.server = gh.Server(self.workdir, args=args, port=self.port,
                                data_dir=self.workdir / "gatehouse-data", name=f"gatehouse({self.name})")
        self.server.start()
        self.server_args = args

    def change_algorithm(self, args: list[str]) -> None:
        alg = gh.flag_value(args, "--jwt-algorithm")
        kept = self.workdir / "gatehouse-data" / "jwt-algorithm"
        if alg is None or not kept.exists() or kept.read_text().strip() == alg:
            return
        p = subprocess.run([gh.gatehouse_bin(), "keys", "rotate", "--now", "--data-dir",
                            str(kept.parent), "--jwt-algorithm", alg],
                           capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, p.stderr

    def close(self) -> None:
        if self.server is not None:
            self.server.stop()
            if self.server in gh.LIVE_SERVERS:
                gh.LIVE_SERVERS.remove(self.server)

    def rewrite(self, code: str) -> str:
        return re.sub(r"\b(localhost|127\.0\.0\.1):5000\b", rf"\g<1>:{self.port}", code)

    def run(self, snippets: list[Snippet]) -> list[Outcome]:
        outcomes, args = [], []
        for n, snippet in enumerate(snippets):
            if "server" in snippet.markers:
                args = shlex.split(snippet.markers["server"])
            outcomes.append(self.run_one(n, snippet, args))
        for o in outcomes:  # a file snippet counts only when a later block that ran uses it
            if o.status == "written":
                users = [u for u in outcomes if u.status == "ran" and u.snippet.line > o.snippet.line
                         and o.detail in u.snippet.code]
                if not users:
                    raise SnippetFailed(f"{o.snippet.where}: {o.detail} is run by no later snippet")
                o.detail += f", run by the block at line {users[0].snippet.line}"
        return outcomes

    def run_one(self, n: int, snippet: Snippet, args: list[str]) -> Outcome:
        if snippet.kind is None:
            assert snippet.language in EXAMPLE_LANGUAGES, (
                f"{snippet.where}: unknown fence language; add it to LANGUAGES (to run it) or "
                f"EXAMPLE_LANGUAGES in {Path(__file__).name}")
            return Outcome(snippet, "example")
        if "skip" in snippet.markers:
            assert snippet.markers["skip"], f"{snippet.where}: `snippet: skip` needs a reason"
            return Outcome(snippet, "skipped", snippet.markers["skip"])
        code = self.rewrite(snippet.code)
        if "file" in snippet.markers:
            (self.workdir / snippet.markers["file"]).write_text(code)
            return Outcome(snippet, "written", snippet.markers["file"])
        if snippet.kind == "node" and self.node_modules is None:
            if os.environ.get(REQUIRE_ALL_ENV):
                raise SnippetFailed(f"{snippet.where}: no Node packages ({NODE_MODULES_ENV})")
            return Outcome(snippet, "skipped", "Node packages not installed (scripts/test does)")
        self.ensure_server(args)
        self.execute(n, snippet, code)
        return Outcome(snippet, "ran")

    def execute(self, n: int, snippet: Snippet, code: str) -> None:
        suffix = {"shell": ".sh", "python": ".py", "node": ".mjs"}[snippet.kind]
        path = self.workdir / f".snippet-{n}{suffix}"
        path.write_text(code)
        if snippet.kind == "shell":
            runner = self.workdir / ".snippet-runner.sh"
            runner.write_text(SHELL_RUNNER)
            command = f"bash {shlex.quote(str(runner))} {shlex.quote(str(path))}"
            argv = ["script", "-q", "-e", "-c", command, "/dev/null"]
            answers = (TERMINAL_PASSWORD + "\n") * 40
        else:
            argv = [gh.PYTHON if snippet.kind == "python" else "node", str(path)]
            answers = ""
        try:
            p = subprocess.run(argv, cwd=self.workdir, env=self.env(), input=answers, text=True,
                               capture_output=True, timeout=SNIPPET_TIMEOUT)
        except subprocess.TimeoutExpired as e:
            raise SnippetFailed(f"{snippet.where}: no end after {SNIPPET_TIMEOUT}s\n{e.stdout}")
        if p.returncode != 0:
            server_log = self.server.stderr_text()[-3000:] if self.server else ""
            raise SnippetFailed(
                f"{snippet.where} failed (exit {p.returncode}):\n--- snippet ---\n{code}"
                f"--- output ---\n{p.stdout}{p.stderr}\n--- server stderr (end) ---\n{server_log}")


def run_document(text: str, name: str, workdir: Path) -> list[Outcome]:
    run = DocumentRun(workdir, name)
    try:
        return run.run(parse(text, name))
    finally:
        run.close()


def summary(name: str, outcomes: list[Outcome]) -> str:
    counts = {}
    for o in outcomes:
        counts[o.status] = counts.get(o.status, 0) + 1
    ran = [o for o in outcomes if o.status == "ran"]
    kinds = {}
    for o in ran:
        kinds[o.snippet.kind] = kinds.get(o.snippet.kind, 0) + 1
    by_kind = ", ".join(f"{v} {k}" for k, v in sorted(kinds.items()))
    lines = [f"snippets of {name}: {len(ran)} ran" + (f" ({by_kind})" if by_kind else "") + ", "
             + f"{counts.get('written', 0)} files run by later ones, "
             + f"{counts.get('skipped', 0)} skipped, {counts.get('example', 0)} examples (not code)"]
    for o in outcomes:
        detail = f": {o.detail}" if o.detail else ""
        lines.append(f"  {o.snippet.where:<34} {o.status}{detail}")
    return "\n".join(lines)


# -- the tests --------------------------------------------------------------------------------

@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: str(p.relative_to(gh.REPO_ROOT)))
def test_every_snippet_runs_as_pasted(document, tmp_path, capsys):
    name = str(document.relative_to(gh.REPO_ROOT))
    outcomes = run_document(document.read_text(), name, tmp_path / "work")
    with capsys.disabled():
        print("\n" + summary(name, outcomes))
    code = [o for o in outcomes if o.snippet.kind is not None]
    assert all(o.status in ("ran", "written", "skipped") for o in code)


def test_the_readme_runs_shell_python_and_node_snippets(tmp_path):
    """The README's try-it and resource-server snippets are run, not skipped."""
    snippets = parse((gh.REPO_ROOT / "README.md").read_text(), "README.md")
    runnable = [s for s in snippets if s.kind and "skip" not in s.markers]
    assert {s.kind for s in runnable} == {"shell", "python", "node"}, [s.where for s in runnable]


BROKEN_TRY_IT = """
```sh
curl -s localhost:5000/registration -H 'Content-Type: application/json' \\
     -d '{"username": "alice", "password": "correct horse"}'
curl -s localhost:5000/login -d 'username=alice&password=correct+horse'
curl -s localhost:5000/me -H "Authorization: Bearer $ACCESS_TOKEN"
```
"""


def test_a_broken_snippet_fails_the_test(tmp_path):
    """The README's "Try it" as it was ($ACCESS_TOKEN never set): /me answers 401, so it fails."""
    with pytest.raises(SnippetFailed, match=r"exit 22"):
        run_document(BROKEN_TRY_IT, "broken.md", tmp_path / "work")


def test_markers_are_honoured(tmp_path):
    text = ("<!-- snippet: skip needs systemd -->\n```sh\nexit 1\n```\n"
            "<!-- snippet: file hello.py -->\n```python\nprint('hello from a file')\n```\n"
            "```sh\npython3 hello.py | grep -q 'hello from a file'\nGREETING=hi\n```\n"
            "```sh\n[ \"$GREETING\" = hi ]\n```\n"
            "```toml\nlisten = \"127.0.0.1:5000\"\n```\n")
    outcomes = run_document(text, "markers.md", tmp_path / "work")
    assert [o.status for o in outcomes] == ["skipped", "written", "ran", "ran", "example"]
