"""`robo runs show` of a run whose loop a fleet's workers did: each item with the worker that did it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runner.events import ItemStatus, RunFinished, RunStarted
from runner.record import ItemLeases, RunStore, RunStoreSink
from runner.review import print_run


def recorded_by_workers(store: RunStore) -> None:
    sink = RunStoreSink(store, Path("run"), lambda: "0" * 64)
    sink.handle(RunStarted(run_id="r1", workflow="Saisie", workflow_file="saisie.yaml", inputs={}))
    leases = ItemLeases(store)
    leases.enqueue("r1", "steps[1]", [("REF-1", 0, {}), ("REF-2", 1, {})])
    for worker in ("bot-compta-1", "bot-<b>2</b>"):
        [lease] = leases.claim("r1", "steps[1]", worker, 1, 60)
        leases.begin(lease)
        leases.finish(lease, ItemStatus.DONE)
    sink.handle(RunFinished(run_id="r1", status="succeeded", duration=1.0, counts={}))


def test_each_item_shows_the_worker_that_did_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines: list[str] = []
    with RunStore(f"sqlite:///{tmp_path / 'robo.db'}") as store:
        recorded_by_workers(store)
        assert print_run(store, "r1", lines.append, lines.append, fmt="text") == 0
        text = capsys.readouterr().out
        assert "worker" in text and "bot-compta-1" in text and "bot-<b>2</b>" in text  # as written, no markup
        shown: list[str] = []
        print_run(store, "r1", shown.append, shown.append, fmt="json")
    items = json.loads("\n".join(shown))["items"]
    assert [item["worker"] for item in items] == ["bot-compta-1", "bot-<b>2</b>"]


def test_a_run_done_on_one_machine_has_no_worker_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines: list[str] = []
    with RunStore(f"sqlite:///{tmp_path / 'robo.db'}") as store:
        sink = RunStoreSink(store, Path("run"), lambda: "0" * 64)
        sink.handle(RunStarted(run_id="r1", workflow="Saisie", workflow_file="saisie.yaml", inputs={}))
        store.upsert_item("r1", "steps[1]", "REF-1", position=0, status=ItemStatus.DONE)
        sink.handle(RunFinished(run_id="r1", status="succeeded", duration=1.0, counts={}))
        print_run(store, "r1", lines.append, lines.append, fmt="text")
    text = capsys.readouterr().out
    assert "REF-1" in text and "worker" not in text
