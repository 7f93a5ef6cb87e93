"""Fixtures for the gatehouse end-to-end suite (run: /usr/bin/python3 -m pytest tests/e2e -q)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import gatehouse_e2e as gh  # noqa: E402


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        for srv in list(gh.LIVE_SERVERS):
            text = srv.stderr_text()
            if len(text) > 6000:
                text = "...\n" + text[-6000:]
            report.sections.append((f"{srv.name} stderr ({srv.stderr_path})", text))


@pytest.fixture
def server_factory(tmp_path):
    """Function-scoped: start any number of servers, each with its own data dir."""
    f = gh.Factory(tmp_path)
    yield f
    f.close()


@pytest.fixture
def server(server_factory):
    """A fresh server (generated secret) for tests where state matters."""
    return server_factory()


@pytest.fixture(scope="module")
def module_server(tmp_path_factory):
    """One server per test module (generated secret in <data_dir>/jwt-secret)."""
    f = gh.Factory(tmp_path_factory.mktemp("gatehouse"))
    srv = f(name="gatehouse(module)")
    yield srv
    f.close()
