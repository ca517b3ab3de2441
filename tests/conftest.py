"""Shared pytest fixtures."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

import robots
from tests.console.world import console_browser, console_world  # noqa: F401  (the console's Must-show tests)
from tests.e2e.conftest import bot  # noqa: F401  (a bot that runs workflows against the mock intranet)
from tests.mock_desktop.fixtures import mock_desktop, xvfb_display  # noqa: F401  (fixtures are found by name)
from tests.mock_intranet.fixtures import (  # noqa: F401  (fixtures are found by name)
    intranet_account,
    intranet_agent,
    intranet_test_api,
    intranet_url,
    mock_intranet,
    mock_intranet_server,
    smtp_endpoint,
)
from tests.postgres import PostgresServer, running_server
from tests.probe_robot import Probe
from tests.running import WorkflowRunner

STORES = ["sqlite", "postgresql"]

# The tests assert English texts whatever the machine's locale (a developer's LANG=fr_FR.UTF-8 included), in this
# process and in the `robo` processes they start; tests/test_translations.py sets the language it checks.
os.environ["ROBO_LANG"] = "en"


# Session-scoped fixtures that take tens of seconds to build (real runs): the tests that use them, whatever their
# module, go to one worker, which builds it once (else each worker running one of them builds its own).
BUILT_ONCE = ("console_world",)


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist's own, which reads the groups (else it sees none)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """`make test` runs the tests on pytest-xdist workers (`--dist loadgroup`): the tests of a module that share
    a module-scoped fixture go to one worker as a group, and so do the tests that share one parameter of a
    parametrized session-scoped fixture (a server per parameter), so that each is built once, not once per worker;
    the tests that use a fixture of `BUILT_ONCE` form one group across their modules."""
    for item in items:
        info = getattr(item, "_fixtureinfo", None)
        if info is None:
            continue
        once = [name for name in BUILT_ONCE if name in info.name2fixturedefs]
        if once:
            item.add_marker(pytest.mark.xdist_group("|".join(once)))
            continue
        shared = [
            (name, definition.scope)
            for name, definitions in info.name2fixturedefs.items()
            for definition in definitions
            if definition.scope == "module" or (definition.scope == "session" and definition.params)
        ]
        if not shared:
            continue
        params = getattr(getattr(item, "callspec", None), "params", {})
        key = [item.nodeid.split("::")[0]]
        key += [f"{name}={params[name]}" for name, scope in shared if scope == "session" and name in params]
        item.add_marker(pytest.mark.xdist_group("|".join(key)))


@pytest.fixture(autouse=True)
def audit_key_file(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test signs audit logs with a key of its own (created at first use), never the user's real one; the
    `robo` processes a test starts inherit it."""
    from runner.record import AUDIT_KEY_VARIABLE

    path = tmp_path_factory.mktemp("audit-key") / "audit.key"
    monkeypatch.setenv(AUDIT_KEY_VARIABLE, str(path))
    return path


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One throwaway PostgreSQL server for the whole session (started on first use, stopped at the end)."""
    with running_server() as server:
        if server is None:
            message = "PostgreSQL is not installed here: run 'make sysdeps' (Debian's postgresql)"
            if os.environ.get("CI"):
                pytest.fail(message)
            pytest.skip(message)
        yield server


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """The SQLAlchemy URL of a new, empty PostgreSQL database, dropped after the test."""
    name = postgres_server.create_database()
    yield postgres_server.url(name)
    postgres_server.drop_database(name)


@pytest.fixture(params=STORES)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A new, empty run store: a SQLite file, then a PostgreSQL database (the test runs once on each)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'robo.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def store_in_env(store_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """`store_url` as `ROBO_STORE_URL`, the store every run of the test (and `default_store_url`) uses."""
    monkeypatch.setenv("ROBO_STORE_URL", store_url)
    return store_url


@pytest.fixture
def probe() -> Iterator[type[Probe]]:
    robots.BUILTIN_ROBOTS["probe"] = "tests.probe_robot:Probe"
    robots.robot_class.cache_clear()
    Probe.reset()
    yield Probe
    del robots.BUILTIN_ROBOTS["probe"]
    robots.robot_class.cache_clear()


@pytest.fixture
def run_yaml(tmp_path: Path, probe: type[Probe]) -> WorkflowRunner:
    return WorkflowRunner(tmp_path)
