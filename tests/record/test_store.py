"""The run store: runs, steps and items indexed by run, filters for `robo runs list`."""

from __future__ import annotations

from pathlib import Path

from runner.engine import PreviousItem, WorkItemLedger
from runner.events import ItemEffect, ItemFinished, ItemStarted, RunFinished, RunStarted, StepFinished
from runner.record import RunStore, RunStoreSink
from runner.review import reported, reported_runs


def test_a_run_is_indexed_with_its_steps_and_items(store_url: str, tmp_path: Path) -> None:
    store = RunStore(store_url)
    sink = RunStoreSink(store, tmp_path / "run", lambda: "f" * 64)
    sink.handle(RunStarted(run_id="r1", workflow="Saisie", workflow_file="w.yaml", inputs={"n": 1}))
    sink.handle(ItemStarted(run_id="r1", loop="steps[0]", key="A1", index=0))
    sink.handle(
        StepFinished(
            run_id="r1", step="steps[0].steps[0]", name="Saisir", status="succeeded", duration=0.1, item="A1"
        )
    )
    sink.handle(ItemFinished(run_id="r1", loop="steps[0]", key="A1", index=0, status="done", duration=0.2))
    sink.handle(RunFinished(run_id="r1", status="succeeded", duration=1.5, counts={"items_done": 1}))
    sink.close()

    record = store.get_run("r1")
    assert record is not None
    assert (record.status, record.workflow, record.inputs, record.last_hash) == (
        "succeeded",
        "Saisie",
        {"n": 1},
        "f" * 64,
    )
    assert [s["name"] for s in store.run_steps("r1")] == ["Saisir"]
    assert [(i["key"], i["status"]) for i in store.run_items("r1")] == [("A1", "done")]
    assert store.get_run("r") is not None  # a unique prefix is enough
    assert [r.id for r in store.list_runs(workflow="Saisie", statuses=["succeeded"])] == ["r1"]
    assert store.list_runs(workflow="Autre") == []
    store.close()


def _stored_items(url: str, run_id: str) -> list[tuple[str, str]]:
    other = RunStore(url)  # another connection, as another process would see it
    try:
        return [(item["key"], item["status"]) for item in other.run_items(run_id)]
    finally:
        other.close()


def test_an_item_is_committed_as_begun_before_its_steps_and_as_ended_before_the_next_item(
    store_url: str, tmp_path: Path
) -> None:
    store = RunStore(store_url)
    sink = RunStoreSink(store, tmp_path)
    sink.handle(RunStarted(run_id="r2", workflow="w", workflow_file="w.yaml", inputs={}))
    sink.handle(ItemStarted(run_id="r2", loop="l", key="k1", index=0))
    assert _stored_items(store_url, "r2") == [("k1", "in_progress")]
    sink.handle(StepFinished(run_id="r2", step="s", name="Lire", status="succeeded", duration=0.0, item="k1"))
    sink.handle(ItemFinished(run_id="r2", loop="l", key="k1", index=0, status="done", duration=0.0))
    # k1 changed nothing: its end waits for the next item (a crash now leaves it to do again, harmlessly)
    assert _stored_items(store_url, "r2") == [("k1", "in_progress")]
    assert store.run_steps("r2") == []
    sink.handle(ItemStarted(run_id="r2", loop="l", key="k2", index=1))
    assert _stored_items(store_url, "r2") == [("k1", "done"), ("k2", "in_progress")]
    assert [step["item"] for step in store.run_steps("r2")] == ["k1"]
    sink.handle(
        ItemFinished(run_id="r2", loop="l", key="k2", index=1, status="failed_business", duration=0.0)
    )
    sink.close()
    assert _stored_items(store_url, "r2") == [("k1", "done"), ("k2", "failed_business")]
    store.close()


def test_an_item_that_changed_something_is_committed_as_ended_at_once(store_url: str, tmp_path: Path) -> None:
    store = RunStore(store_url)
    sink = RunStoreSink(store, tmp_path)
    sink.handle(RunStarted(run_id="r4", workflow="w", workflow_file="w.yaml", inputs={}))
    sink.handle(ItemStarted(run_id="r4", loop="l", key="k1", index=0))
    for state in ("started", "done"):
        sink.handle(
            ItemEffect(
                run_id="r4", loop="l", key="k1", step="s", name="Envoyer", action="browser.click", state=state
            )
        )
        assert store.run_items("r4")[0]["effects"][-1]["state"] == state  # each committed before what follows
    sink.handle(ItemFinished(run_id="r4", loop="l", key="k1", index=0, status="done", duration=0.0))
    assert _stored_items(store_url, "r4") == [("k1", "done")]
    store.close()


def test_text_holding_a_nul_character_is_recorded_and_its_item_found_again(
    store_url: str, tmp_path: Path
) -> None:
    # PostgreSQL's text cannot hold NUL: a key or a message carrying one (read from a file, a page) must
    # neither crash the run's records nor hide an item from the ledger of a resumed run.
    store = RunStore(store_url)
    sink = RunStoreSink(store, tmp_path)
    key = "A\x001"
    sink.handle(RunStarted(run_id="r3", workflow="Saisie\x00", workflow_file="w.yaml", inputs={"k": key}))
    sink.handle(ItemStarted(run_id="r3", loop="l", key=key, index=0))
    sink.handle(
        StepFinished(
            run_id="r3",
            step="s",
            name="Saisir\x00",
            status="failed",
            duration=0.1,
            item=key,
            error={"message": "refusé\x00"},
        )
    )
    sink.handle(
        ItemFinished(
            run_id="r3",
            loop="l",
            key=key,
            index=0,
            status="failed_business",
            duration=0.1,
            error="refusé\x00",
        )
    )
    sink.handle(ItemStarted(run_id="r3", loop="l", key="B", index=1))
    sink.handle(
        ItemFinished(run_id="r3", loop="l", key="B", index=1, status="done", duration=0.1, outcome={"k": key})
    )
    sink.handle(
        RunFinished(run_id="r3", status="completed_with_errors", duration=1.0, counts={}, error="refusé\x00")
    )
    sink.close()
    ledger = WorkItemLedger(store, "w.yaml", "r3")
    assert ledger.previous("l", key) == PreviousItem("failed_business", None)
    assert ledger.previous("l", "B") == PreviousItem("done", {"k": key})
    assert ledger.previous("l", "A1") is None
    record = store.get_run("r3")
    assert record is not None and record.inputs == {"k": key} and (record.error or "").startswith("refusé")
    assert [row["error"][:6] for row in store.run_steps("r3")] == ["refusé"]
    store.close()


def test_a_workflow_of_a_long_name_is_recorded_whole(store_url: str, tmp_path: Path) -> None:
    name = "Saisie des demandes de subvention des associations sportives " * 5  # 305 characters
    store = RunStore(store_url)
    sink = RunStoreSink(store, tmp_path)
    sink.handle(RunStarted(run_id="r4", workflow=name, workflow_file="w.yaml", inputs={}))
    sink.handle(RunFinished(run_id="r4", status="succeeded", duration=1.0, counts={}))
    assert [run.workflow for run in store.list_runs(workflow=name)] == [name]
    store.close()


def test_the_store_gives_back_the_status_it_stores_and_the_reports_tell_a_dead_run_crashed(
    store_url: str, tmp_path: Path
) -> None:
    store = RunStore(store_url)
    sink = RunStoreSink(store, tmp_path)
    # pid 0: no process runs it, as after a kill -9 whose run never recorded its end
    sink.handle(RunStarted(run_id="r1", workflow="Saisie", workflow_file="w.yaml", inputs={}, pid=0))
    sink.close()
    try:
        record = store.get_run("r1")
        assert record is not None and record.status == "running"  # the store does not probe processes
        assert [r.status for r in store.list_runs()] == ["running"]
        assert reported(record).status == "crashed"
        assert [r.id for r in reported_runs(store, status="crashed")] == ["r1"]
        assert reported_runs(store, status="running") == []
    finally:
        store.close()
