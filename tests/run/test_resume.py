"""Work items and resume: a resumed run does only what is not done, and never an item twice."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.record import RunStore, default_store_url
from runner.run import RunOptions, run_workflow
from tests.probe_robot import Probe
from tests.running import EventRecorder, WorkflowRunner

LOOP = """
name: reprise
steps:
  - for_each: [a, b, c, d]
    key: item
    save: resultats
    collect: {lettre: "{{ item }}", echo: "{{ echo }}"}
    steps:
      - probe.flaky: {key: "{{ item }}", failures: "{{ 1 if item == 'c' else 0 }}"}
      - probe.echo: {value: "{{ item | upper }}"}
        save: echo
  - log: "{{ resultats | map(attribute='echo') | join(',') }}"
"""


def resume(tmp_path: Path, workflow: Path, run_id: str) -> tuple[str, EventRecorder]:
    recorder = EventRecorder()
    outcome = run_workflow(
        workflow, RunOptions(logs_dir=tmp_path / "logs", environ={}, extra_sinks=[recorder], resume=run_id)
    )
    return outcome.status, recorder


@pytest.mark.usefixtures("store_in_env")  # on SQLite, then on PostgreSQL
class TestResume:
    def test_only_unfinished_items_run_again_and_outcomes_are_kept(
        self, run_yaml: WorkflowRunner, probe: type[Probe], tmp_path: Path
    ) -> None:
        first, _ = run_yaml(LOOP)
        assert first.status == "completed_with_errors"
        assert first.run_id is not None
        probe.calls.clear()
        status, recorder = resume(tmp_path, tmp_path / "workflow1.yaml", first.run_id)
        assert status == "succeeded"
        assert [c for c in probe.calls if c[0] == "echo"] == [("echo", "C")]
        finished = {e.key: e.status for e in recorder.of("item_finished")}
        assert finished == {"a": "skipped", "b": "skipped", "c": "done", "d": "skipped"}
        # Outcomes of items done by the first attempt are reused, so the saved list is complete.
        assert [e.message for e in recorder.of("log") if e.step] == ["A,B,C,D"]
        store = RunStore(default_store_url(tmp_path / "logs"))
        assert {row["key"]: row["status"] for row in store.run_items(first.run_id)} == dict.fromkeys(
            "abcd", "done"
        )
        assert store.get_run(first.run_id).status == "succeeded"  # type: ignore[union-attr]
        store.close()

    def test_a_succeeded_run_is_not_resumed(self, run_yaml: WorkflowRunner, tmp_path: Path) -> None:
        first, _ = run_yaml("name: t\nsteps:\n  - log: a\n")
        assert first.run_id is not None
        status, _ = resume(tmp_path, tmp_path / "workflow1.yaml", first.run_id)
        assert status == "invalid"

    def test_an_unknown_run_is_a_clear_error(self, run_yaml: WorkflowRunner, tmp_path: Path) -> None:
        (tmp_path / "w.yaml").write_text("name: t\nsteps:\n  - log: a\n", encoding="utf-8")
        outcome = run_workflow(
            tmp_path / "w.yaml", RunOptions(logs_dir=tmp_path / "logs", environ={}, resume="nope")
        )
        assert outcome.status == "invalid"
        assert "there is no run 'nope' to resume" in outcome.diagnostics[0].message

    def test_an_interrupted_item_is_checked_before_it_is_done_again(
        self, run_yaml: WorkflowRunner, probe: type[Probe], tmp_path: Path
    ) -> None:
        text = """
name: verifie
steps:
  - for_each: [a, b]
    key: item
    already_done:
      - probe.echo: {value: "{{ item == 'a' }}"}
    steps:
      - probe.write: {value: "{{ item }}"}
"""
        first, _ = run_yaml(text)
        assert first.run_id is not None
        # As a crash would leave it: item a recorded as started, never finished.
        store = RunStore(default_store_url(tmp_path / "logs"))
        store.upsert_item(first.run_id, "steps[0]", "a", status="in_progress", position=0)
        store.upsert_item(first.run_id, "steps[0]", "b", status="in_progress", position=1)
        from sqlalchemy import update

        from runner.record import runs

        with store.begin() as connection:
            connection.execute(update(runs).where(runs.c.id == first.run_id).values(status="running", pid=0))
        store.close()
        probe.calls.clear()
        status, recorder = resume(tmp_path, tmp_path / "workflow1.yaml", first.run_id)
        assert status == "succeeded"
        assert [c for c in probe.calls if c[0] == "write"] == [("write", "b")]  # a was found already done
        assert any("item a was already done" in e.message for e in recorder.of("log"))


class TestRecover:
    def test_recover_steps_run_before_each_retry(self, run_yaml: WorkflowRunner, probe: type[Probe]) -> None:
        outcome, _ = run_yaml(
            """
name: t
steps:
  - probe.flaky: {key: session, failures: 2}
    retry: {attempts: 3, delay: 0.01}
    recover:
      - probe.write: {value: reconnexion}
"""
        )
        assert outcome.status == "succeeded"
        assert probe.calls == [
            ("flaky", "session"),
            ("write", "reconnexion"),
            ("flaky", "session"),
            ("write", "reconnexion"),
            ("flaky", "session"),
        ]


class TestTimeLimits:
    def test_a_run_past_its_time_limit_stops_between_steps_and_can_resume(
        self, run_yaml: WorkflowRunner
    ) -> None:
        outcome, _ = run_yaml(
            """
name: t
defaults: {run_timeout: 0.3}
steps:
  - for_each: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
    steps:
      - probe.sleep: {seconds: 0.1}
"""
        )
        assert outcome.status == "interrupted"
        assert outcome.exit_code == 130
        assert outcome.diagnostics[0].code == "run-timeout"
        assert "--resume" in (outcome.diagnostics[0].hint or "")
        assert 1 <= outcome.counts["items_done"] < 10
