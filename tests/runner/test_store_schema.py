"""The run store's tables are created once, whoever opens a new store first."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from runner.store import RunStore
from tests.conftest import STORES
from tests.postgres import PostgresServer


def open_together(url: str, openers: int) -> list[BaseException]:
    """Opens the store from several threads released at the same instant; the errors they met."""
    start = threading.Barrier(openers)
    errors: list[BaseException] = []

    def open_store() -> None:
        start.wait()
        try:
            RunStore(url).close()
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=open_store) for _ in range(openers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


@pytest.fixture(params=STORES)
def new_store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[], str]:
    """Makes the URL of a store nobody opened yet: a new SQLite file, or a new PostgreSQL database."""
    names = itertools.count()
    if request.param == "sqlite":
        return lambda: f"sqlite:///{tmp_path / f'robo-{next(names)}.db'}"
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return lambda: server.url(server.create_database())


def test_many_openers_of_a_new_store_at_the_same_moment_all_succeed(new_store_url: Callable[[], str]) -> None:
    for _ in range(10):
        url = new_store_url()
        assert open_together(url, 6) == []
        store = RunStore(url)
        assert store.list_runs() == []
        store.close()
