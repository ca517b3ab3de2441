"""The run store's tables are created once, whoever opens a new store first."""

from __future__ import annotations

import threading
from pathlib import Path

from runner.store import RunStore


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


def test_many_openers_of_a_new_store_at_the_same_moment_all_succeed(tmp_path: Path) -> None:
    for round_number in range(15):
        url = f"sqlite:///{tmp_path / f'robo-{round_number}.db'}"
        assert open_together(url, 6) == []
        store = RunStore(url)
        assert store.list_runs() == []
        store.close()
