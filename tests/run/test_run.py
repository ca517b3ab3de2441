"""A run's final status, as the run store, the audit log and the report keep it: never better than the truth."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from runner.events import Event, ItemStarted
from runner.record import AUDIT_LOG_NAME, RunStore, verify_audit_log
from runner.run import RunOptions, RunOutcome, run_workflow
from tests.probe_robot import Probe
from tests.running import EventRecorder

LOOP = """
name: trois
steps:
  - for_each: [a, b, c]
    key: item
    steps:
      - probe.write: {value: "{{ item }}"}
"""


class ExplodingSink:
    """A sink that raises `error` when the second item starts: an error escaping from inside the run."""

    def __init__(self, error: BaseException) -> None:
        self.error = error
        self.items = 0

    def handle(self, event: Event) -> None:
        if isinstance(event, ItemStarted):
            self.items += 1
            if self.items == 2:
                raise self.error

    def close(self) -> None:
        pass


def run_with(tmp_path: Path, sink: ExplodingSink) -> RunOutcome:
    workflow = tmp_path / "trois.yaml"
    workflow.write_text(LOOP, encoding="utf-8")
    return run_workflow(workflow, RunOptions(logs_dir=tmp_path / "logs", environ={}, extra_sinks=[sink]))


def stored(tmp_path: Path, run_id: str) -> tuple[str, list[dict[str, Any]], str]:
    store = RunStore(f"sqlite:///{tmp_path / 'logs' / 'robo.db'}")
    try:
        record = store.get_run(run_id)
        assert record is not None and record.run_dir is not None
        verdict = verify_audit_log(Path(record.run_dir) / AUDIT_LOG_NAME, record.last_hash)
        assert verdict.intact, verdict
        report = (Path(record.run_dir) / "report.html").read_text(encoding="utf-8")
        return record.status, store.run_items(run_id), report
    finally:
        store.close()


class TestUnexpectedErrors:
    @pytest.mark.parametrize("error", [MemoryError(), RecursionError("maximum recursion depth exceeded")])
    def test_an_error_escaping_into_the_run_ends_it_crashed(
        self, probe: type[Probe], tmp_path: Path, error: BaseException
    ) -> None:
        outcome = run_with(tmp_path, ExplodingSink(error))
        assert outcome.status == "crashed" and outcome.exit_code == 70
        [diagnostic] = outcome.diagnostics
        assert diagnostic.code == "internal-error" and type(error).__name__ in diagnostic.message
        assert outcome.run_id is not None
        status, items, report = stored(tmp_path, outcome.run_id)
        assert status == "crashed"
        assert [item["status"] for item in items] == ["done", "in_progress"]  # b: checked by a resume
        assert "Crashed" in report and "Succeeded" not in report

    def test_a_keyboard_interrupt_in_process_ends_the_run_interrupted_and_it_resumes(
        self, probe: type[Probe], tmp_path: Path
    ) -> None:
        outcome = run_with(tmp_path, ExplodingSink(KeyboardInterrupt()))
        assert outcome.status == "interrupted" and outcome.exit_code == 130
        assert outcome.run_id is not None
        status, _, report = stored(tmp_path, outcome.run_id)
        assert status == "interrupted" and "Interrupted" in report
        recorder = EventRecorder()
        resumed = run_workflow(
            tmp_path / "trois.yaml",
            RunOptions(logs_dir=tmp_path / "logs", environ={}, extra_sinks=[recorder], resume=outcome.run_id),
        )
        assert resumed.status == "succeeded"
        assert [e.key for e in recorder.of("item_finished") if e.status == "done"] == ["b", "c"]


class TestRunFolder:
    """A run is filed under `logs/<slug of the workflow's name>/<run-id>`, whatever the name."""

    @pytest.mark.parametrize(
        "name", ["../..", "..", "日本語", "---", "/etc/cron.d", "a/../../b", "Rapport " * 30, "２０２４"]
    )
    def test_the_run_folder_is_a_readable_direct_child_of_the_logs_folder(
        self, tmp_path: Path, name: str
    ) -> None:
        workflow = tmp_path / "flow.yaml"
        workflow.write_text(f"name: {json.dumps(name)}\nsteps:\n  - log: bonjour\n", encoding="utf-8")
        logs = tmp_path / "logs"
        outcome = run_workflow(workflow, RunOptions(logs_dir=logs, environ={}))
        assert outcome.status == "succeeded", outcome.diagnostics
        assert outcome.run_dir is not None and outcome.run_id is not None
        assert outcome.run_dir.name == outcome.run_id
        folder = outcome.run_dir.parent
        assert folder.parent == logs.resolve()
        assert 0 < len(folder.name) <= 60
        assert any("a" <= char <= "z" for char in folder.name)
        assert sorted(path.name for path in tmp_path.iterdir()) == ["flow.yaml", "logs"]
