"""The run store's tables are created once, whoever opens a new store first."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Column, MetaData, Table, create_engine, insert, inspect

from runner.events import ItemFinished, ItemStarted, RunFinished, RunStarted
from runner.record import RunStore, RunStoreSink, metadata
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


# Tables a migration after the baseline creates: no store made before Alembic had them.
AFTER_THE_BASELINE = {"users", "fleet_workers", "fleet_loops"}


def test_a_store_made_by_an_older_version_gets_the_columns_added_since(store_url: str) -> None:
    # An older store: the same tables without any of their optional columns, and a run recorded then.
    older = MetaData()
    for table in metadata.sorted_tables:
        if table.name in AFTER_THE_BASELINE:
            continue
        Table(
            table.name,
            older,
            *(Column(c.name, c.type, primary_key=c.primary_key) for c in table.columns if not c.nullable),
        )
    engine = create_engine(store_url)
    older.create_all(engine)
    with engine.begin() as connection:
        connection.execute(
            insert(older.tables["runs"]).values(
                id="r0",
                workflow="Saisie",
                workflow_file="w.yaml",
                status="succeeded",
                started_at="2026-01-01",
            )
        )
    engine.dispose()

    store = RunStore(store_url)
    try:
        present = {
            table.name: {c["name"] for c in inspect(store.engine).get_columns(table.name)}
            for table in metadata.sorted_tables
        }
        assert present == {table.name: {c.name for c in table.columns} for table in metadata.sorted_tables}
        old_run = store.get_run("r0")
        assert old_run is not None and (old_run.inputs, old_run.counts) == ({}, {})
        sink = RunStoreSink(store, Path("run"), lambda: "f" * 64)
        sink.handle(
            RunStarted(run_id="r1", workflow="Saisie", workflow_file="w.yaml", inputs={"n": [1, "é"]})
        )
        sink.handle(ItemStarted(run_id="r1", loop="l", key="k", index=0))
        sink.handle(
            ItemFinished(
                run_id="r1", loop="l", key="k", index=0, status="done", duration=0.1, outcome={"a": 1}
            )
        )
        sink.handle(RunFinished(run_id="r1", status="succeeded", duration=1.0, counts={"items_done": 1}))
        record = store.get_run("r1")
        assert record is not None and (record.inputs, record.counts, record.last_hash) == (
            {"n": [1, "é"]},
            {"items_done": 1, "items_failed": 0, "items_to_check": 0},  # counted from the items
            "f" * 64,
        )
        assert [(i["key"], i["outcome"]) for i in store.run_items("r1")] == [("k", {"a": 1})]
    finally:
        store.close()
