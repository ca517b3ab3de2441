"""Run claims in the store: whether a slot's holder still runs is the caller's answer, never a probe of the store."""

from __future__ import annotations

from runner.record import RunClaimant, RunRecord, RunStore, claim_run


def claimant(run_id: str) -> RunClaimant:
    # pid 0: no process has it, so a store that probed processes would always find the holder gone
    return RunClaimant(
        run_id=run_id,
        workflow="w",
        workflow_file="/w.yaml",
        inputs={},
        pid=0,
        host="",
        proc_started=None,
        slots=("/w.yaml#1",),
    )


def test_a_slot_is_taken_from_its_holder_only_when_the_caller_says_the_holder_no_longer_runs(
    store_url: str,
) -> None:
    store = RunStore(store_url)
    asked: list[str] = []

    def still_running(record: RunRecord) -> bool:
        asked.append(record.id)
        return True

    try:
        assert claim_run(store, claimant("r1"), still_running).taken
        refused = claim_run(store, claimant("r2"), still_running)
        assert not refused.taken and refused.conflict == "workflow"
        assert refused.holder is not None and refused.holder.id == "r1"
        assert asked == ["r1"]
        assert claim_run(store, claimant("r3"), lambda record: False).taken
        assert store.get_run("r3").workflow_lock == "/w.yaml#1"  # type: ignore[union-attr]
        assert store.get_run("r1").workflow_lock is None  # type: ignore[union-attr]
    finally:
        store.close()
