"""Fixtures for the gatehouse end-to-end suite (run: /usr/bin/python3 -m pytest tests/e2e -q)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import gatehouse_e2e as gh  # noqa: E402
import openapi_check  # noqa: E402

# Every answer from gatehouse is checked against docs/openapi.json (openapi_check.py says what
# records and what is exempt); installed before the test modules import gatehouse_e2e's names.
openapi_check.install(gh)


def _checking_answers(runtest):
    def run():  # what setup received is checked with the test
        try:
            runtest()
        except BaseException:
            openapi_check.take_recorded()  # the test's own failure is the one to report
            raise
        openapi_check.check_recorded()
    return run


def pytest_collection_modifyitems(config, items):
    """Each test fails when gatehouse answered it something docs/openapi.json does not describe.
    PostgreSQL mode (GATEHOUSE_E2E_PG_URL set): skip the tests marked sqlite_only."""
    for item in items:
        if isinstance(item, pytest.Function):
            item.runtest = _checking_answers(item.runtest)
    if not gh.pg_mode():
        return
    skip = pytest.mark.skip(reason=f"sqlite_only: {gh.PG_URL_ENV} is set (PostgreSQL mode)")
    for item in items:
        if item.get_closest_marker("sqlite_only") is not None:
            item.add_marker(skip)


def pytest_sessionfinish(session, exitstatus):
    try:  # answers after the last test's call (its teardown)
        openapi_check.check_recorded()
    except AssertionError as e:
        print(f"\n{e}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    gh.pg_drop_session_databases()  # PostgreSQL mode: databases standing in for named data dirs


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
    try:
        yield f(name="gatehouse(module)")
    finally:
        f.close()  # also when the start failed (PostgreSQL mode: drops the database)
