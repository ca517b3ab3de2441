"""Who runs a run: a resume claims it in the store, liveness survives pid reuse, a workflow has slots."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from sqlalchemy import update

from runner.events import Event, StepStarted
from runner.record import RunClaim, RunClaimant, RunStore, claim_run, runs
from runner.review import effective_status, reported_runs, still_running
from runner.run import RunOptions, run_workflow
from tests.running import WorkflowRunner, problems

LOOP = """
name: boucle
steps:
  - for_each: [a, b, c]
    key: item
    steps:
      - fail: "{{ 'refusé' if item == 'b' else '' }}"
        when: "item == 'b'"
"""


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    """A live process of this machine whose pid a crashed run's record can name."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    yield process
    process.kill()
    process.wait(timeout=30)


def store_of(tmp_path: Path) -> RunStore:
    return RunStore(f"sqlite:///{tmp_path / 'logs' / 'robo.db'}")


def left_running_by(store: RunStore, run_id: str, pid: int, created: float) -> None:
    """Records the run as running in process `pid` created at `created`, as a kill -9 leaves it."""
    with store.begin() as connection:
        connection.execute(
            update(runs)
            .where(runs.c.id == run_id)
            .values(
                status="running", pid=pid, host=socket.gethostname(), proc_started=created, finished_at=None
            )
        )


class TestPidReuse:
    def test_a_live_pid_with_another_create_time_is_a_crashed_run(
        self, run_yaml: WorkflowRunner, tmp_path: Path, sleeper: subprocess.Popen[bytes]
    ) -> None:
        first, _ = run_yaml(LOOP)
        assert first.run_id is not None
        store = store_of(tmp_path)
        created = psutil.Process(sleeper.pid).create_time()
        left_running_by(store, first.run_id, sleeper.pid, created - 3600)  # the run's process died long ago
        record = store.get_run(first.run_id)
        assert record is not None and effective_status(record) == "crashed"
        left_running_by(store, first.run_id, sleeper.pid, created)
        record = store.get_run(first.run_id)
        assert record is not None and effective_status(record) == "running"
        store.close()

    def test_runs_listed_by_status_are_listed_by_the_status_they_really_have(
        self, run_yaml: WorkflowRunner, tmp_path: Path, sleeper: subprocess.Popen[bytes]
    ) -> None:
        dead, _ = run_yaml(LOOP)
        alive, _ = run_yaml(LOOP)
        assert dead.run_id is not None and alive.run_id is not None
        store = store_of(tmp_path)
        created = psutil.Process(sleeper.pid).create_time()
        left_running_by(store, dead.run_id, sleeper.pid, created - 3600)
        left_running_by(store, alive.run_id, sleeper.pid, created)
        try:
            assert [r.id for r in reported_runs(store, status="crashed")] == [dead.run_id]
            assert [r.id for r in reported_runs(store, status="running")] == [alive.run_id]
        finally:
            store.close()

    def test_a_run_whose_pid_was_reused_can_be_resumed(
        self, run_yaml: WorkflowRunner, tmp_path: Path, sleeper: subprocess.Popen[bytes]
    ) -> None:
        first, _ = run_yaml(LOOP)
        assert first.run_id is not None and first.status == "completed_with_errors"
        store = store_of(tmp_path)
        created = psutil.Process(sleeper.pid).create_time()
        left_running_by(store, first.run_id, sleeper.pid, created - 3600)
        store.close()
        options = RunOptions(logs_dir=tmp_path / "logs", environ={}, resume=first.run_id)
        outcome = run_workflow(tmp_path / "workflow1.yaml", options)
        assert outcome.status == "completed_with_errors", outcome.diagnostics  # resumed, b refused again

    def test_a_resumed_run_goes_on_writing_in_its_own_folder(
        self, run_yaml: WorkflowRunner, tmp_path: Path
    ) -> None:
        # e.g. a run started by a version that named run folders otherwise
        first, _ = run_yaml(LOOP)
        assert first.run_id is not None and first.run_dir is not None
        older = tmp_path / "logs" / "ancien-nom" / first.run_id
        older.parent.mkdir(parents=True)
        first.run_dir.rename(older)
        store = store_of(tmp_path)
        with store.begin() as connection:
            connection.execute(update(runs).where(runs.c.id == first.run_id).values(run_dir=str(older)))
        store.close()
        before = (older / "audit.jsonl").read_text(encoding="utf-8")
        options = RunOptions(logs_dir=tmp_path / "logs", environ={}, resume=first.run_id)
        outcome = run_workflow(tmp_path / "workflow1.yaml", options)
        assert outcome.run_dir == older
        assert (older / "audit.jsonl").read_text(encoding="utf-8").startswith(before)
        assert not first.run_dir.exists()

    def test_a_run_still_going_is_not_resumed(
        self, run_yaml: WorkflowRunner, tmp_path: Path, sleeper: subprocess.Popen[bytes]
    ) -> None:
        first, _ = run_yaml(LOOP)
        assert first.run_id is not None
        store = store_of(tmp_path)
        left_running_by(store, first.run_id, sleeper.pid, psutil.Process(sleeper.pid).create_time())
        store.close()
        options = RunOptions(logs_dir=tmp_path / "logs", environ={}, resume=first.run_id)
        outcome = run_workflow(tmp_path / "workflow1.yaml", options)
        assert outcome.status == "invalid"
        message = outcome.diagnostics[0].message
        assert message == f"run {first.run_id} is still running (pid {sleeper.pid} on {socket.gethostname()})"


class TestClaims:
    def test_of_many_processes_resuming_one_run_at_once_one_wins(
        self, run_yaml: WorkflowRunner, tmp_path: Path
    ) -> None:
        first, _ = run_yaml(LOOP)
        assert first.run_id is not None
        stores = [store_of(tmp_path) for _ in range(6)]
        record = stores[0].get_run(first.run_id)
        assert record is not None
        start = threading.Barrier(len(stores))
        claims: list[RunClaim] = []

        def resume(store: RunStore, pid: int) -> None:
            claimant = RunClaimant(
                run_id=record.id,
                workflow=record.workflow,
                workflow_file=record.workflow_file,
                inputs={},
                pid=pid,
                host=socket.gethostname(),
                proc_started=None,
                resuming=record,
            )
            start.wait()
            claims.append(claim_run(store, claimant, still_running))

        threads = [threading.Thread(target=resume, args=(store, 1)) for store in stores]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for store in stores:
            store.close()
        assert sorted(claim.taken for claim in claims) == [False] * 5 + [True]
        assert {claim.conflict for claim in claims if not claim.taken} == {"run"}


class TestConcurrencyKey:
    def test_is_a_number_of_runs_or_unlimited(self) -> None:
        assert problems("name: t\nconcurrency: 2\nsteps:\n  - log: a\n") == []
        assert problems("name: t\nconcurrency: unlimited\nsteps:\n  - log: a\n") == []
        assert problems("name: t\nconcurrency: 0\nsteps:\n  - log: a\n") == [
            "2:14 wrong-type: 'concurrency' should be greater than or equal to 1"
        ]


class TestWorkflowSlots:
    def claimant(self, run_id: str, slots: int, pid: int) -> RunClaimant:
        return RunClaimant(
            run_id=run_id,
            workflow="w",
            workflow_file="/w.yaml",
            inputs={},
            pid=pid,
            host=socket.gethostname(),
            proc_started=psutil.Process(pid).create_time(),
            slots=tuple(f"/w.yaml#{slot}" for slot in range(1, slots + 1)),
        )

    def test_concurrency_n_lets_n_runs_go_and_refuses_the_next(
        self, tmp_path: Path, sleeper: subprocess.Popen[bytes]
    ) -> None:
        store = store_of(tmp_path)
        assert claim_run(store, self.claimant("r1", 2, sleeper.pid), still_running).taken
        assert claim_run(store, self.claimant("r2", 2, sleeper.pid), still_running).taken
        third = claim_run(store, self.claimant("r3", 2, sleeper.pid), still_running)
        assert not third.taken and third.conflict == "workflow"
        assert third.holder is not None and third.holder.id in {"r1", "r2"}
        sleeper.kill()
        sleeper.wait(timeout=30)
        assert claim_run(
            store, self.claimant("r3", 2, os.getpid()), still_running
        ).taken  # the holders' process is gone
        store.close()

    def test_a_crashed_run_resumed_after_another_run_took_its_slot_is_refused(
        self, tmp_path: Path, sleeper: subprocess.Popen[bytes]
    ) -> None:
        store = store_of(tmp_path)
        assert claim_run(store, self.claimant("r1", 1, sleeper.pid), still_running).taken
        sleeper.kill()
        sleeper.wait(timeout=30)
        crashed = store.get_run("r1")
        assert (
            crashed is not None
            and effective_status(crashed) == "crashed"
            and crashed.workflow_lock == "/w.yaml#1"
        )
        assert claim_run(
            store, self.claimant("r2", 1, os.getpid()), still_running
        ).taken  # a new run, started since
        resume = dataclasses.replace(self.claimant("r1", 1, os.getpid()), resuming=crashed)
        claim = claim_run(store, resume, still_running)
        assert not claim.taken and claim.conflict == "workflow"
        assert claim.holder is not None and claim.holder.id == "r2"
        assert effective_status(store.get_run("r1")) == "crashed"  # type: ignore[arg-type]  # left as it was
        store.close()


class BrokenSink:
    """A sink that fails at the first step: the run ends by an exception nobody expected."""

    def handle(self, event: Event) -> None:
        if isinstance(event, StepStarted):
            raise RuntimeError("sink broke")

    def close(self) -> None:
        pass


class TestAProcessThatLivesOn:
    def test_a_run_ended_by_an_unexpected_exception_gives_its_place_back(self, tmp_path: Path) -> None:
        workflow = tmp_path / "w.yaml"
        workflow.write_text("name: w\nsteps:\n  - log: a\n", encoding="utf-8")
        with contextlib.suppress(RuntimeError):  # raised, or turned into a crashed run: either way it ended
            run_workflow(
                workflow, RunOptions(logs_dir=tmp_path / "logs", environ={}, extra_sinks=[BrokenSink()])
            )
        again = run_workflow(workflow, RunOptions(logs_dir=tmp_path / "logs", environ={}))
        assert again.status == "succeeded", again.diagnostics
