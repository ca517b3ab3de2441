"""The work-item ledger's rules: an item that may have been entered is never done again blindly."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import robots
from runner.cli import app
from runner.events import Effect, EffectState, Event, ItemStatus, StepStarted, touching
from runner.language import load_workflow_text, validate_document
from runner.record import AUDIT_LOG_NAME, RunStore, verify_audit_log
from runner.run import RunOptions, RunOutcome, run_workflow
from tests.probe_robot import Probe
from tests.running import EventRecorder, WorkflowRunner, problems

# Item b is sent, then a step after the send fails (as a template typo in a `log` after a submit would).
FAILS_AFTER_THE_SEND = """
name: envoi
inputs:
  failing: {type: list, default: [b]}
steps:
  - for_each: [a, b, c]
    key: item
    steps:
      - probe.echo: {value: "{{ item }}"}
      - probe.submit: {value: "{{ item }}"}
      - log: "{{ item }} sent"
      - fail: typo after the send
        when: item in inputs.failing
"""
FIXED: dict[str, Any] = {"failing": []}

CHECKED = """
    already_done:
      - probe.echo: {value: "{{ item == 'b' }}"}
"""


def store_of(tmp_path: Path) -> RunStore:
    return RunStore(f"sqlite:///{tmp_path / 'logs' / 'robo.db'}")


def items_of(tmp_path: Path, run_id: str) -> dict[str, dict[str, Any]]:
    store = store_of(tmp_path)
    try:
        return {row["key"]: row for row in store.run_items(run_id)}
    finally:
        store.close()


def resume(tmp_path: Path, workflow: Path, run_id: str, **options: Any) -> tuple[RunOutcome, EventRecorder]:
    recorder = EventRecorder()
    outcome = run_workflow(
        workflow,
        RunOptions(logs_dir=tmp_path / "logs", environ={}, extra_sinks=[recorder], resume=run_id, **options),
    )
    return outcome, recorder


def sent(probe: type[Probe]) -> list[str]:
    return [value for name, value in probe.calls if name == "submit"]


class TestAnItemThatFailsAfterAChange:
    def test_without_already_done_it_is_to_check_naming_the_change(
        self, run_yaml: WorkflowRunner, tmp_path: Path
    ) -> None:
        first, recorder = run_yaml(FAILS_AFTER_THE_SEND)
        assert first.status == "completed_with_errors" and first.run_id
        finished = {event.key: event for event in recorder.of("item_finished")}
        assert finished["b"].status == ItemStatus.TO_CHECK
        assert "entered? check b" in finished["b"].error and "probe.submit" in finished["b"].error
        assert "typo after the send" in finished["b"].error  # and what failed then
        row = items_of(tmp_path, first.run_id)["b"]
        assert row["status"] == ItemStatus.TO_CHECK
        assert [effect["state"] for effect in row["effects"]] == ["started", "done"]
        assert first.counts["items_to_check"] == 1 and first.counts["items_failed"] == 0

    def test_a_retry_does_not_enter_it_again_and_the_run_is_not_a_success(
        self, run_yaml: WorkflowRunner, probe: type[Probe], tmp_path: Path
    ) -> None:
        first, _ = run_yaml(FAILS_AFTER_THE_SEND)
        assert first.run_id
        probe.calls.clear()
        outcome, recorder = resume(tmp_path, tmp_path / "workflow1.yaml", first.run_id)
        assert sent(probe) == []
        assert outcome.status == "completed_with_errors"
        assert {e.key: e.status for e in recorder.of("item_finished")} == {
            "a": "skipped",
            "b": "to_check",
            "c": "skipped",
        }
        assert items_of(tmp_path, first.run_id)["b"]["status"] == ItemStatus.TO_CHECK
        assert "robo runs mark" in (outcome.diagnostics[0].hint or "")

    def test_with_already_done_a_retry_checks_it_first_whatever_its_failed_status(
        self, run_yaml: WorkflowRunner, probe: type[Probe], tmp_path: Path
    ) -> None:
        first, recorder = run_yaml(FAILS_AFTER_THE_SEND + CHECKED)
        assert first.run_id
        # A check can tell: the item keeps its failed status (here: refused), with its changes recorded.
        assert {e.key: e.status for e in recorder.of("item_finished")}["b"] == ItemStatus.FAILED_BUSINESS
        assert touching(Effect.from_dict(e) for e in items_of(tmp_path, first.run_id)["b"]["effects"])
        probe.calls.clear()
        outcome, recorder = resume(tmp_path, tmp_path / "workflow1.yaml", first.run_id)
        assert ("echo", True) in probe.calls  # the check ran, and said it is entered
        assert sent(probe) == []
        assert outcome.status == "succeeded"
        assert any("item b was already done" in e.message for e in recorder.of("log"))

    def test_force_does_it_again(self, run_yaml: WorkflowRunner, probe: type[Probe], tmp_path: Path) -> None:
        first, _ = run_yaml(FAILS_AFTER_THE_SEND)
        assert first.run_id
        probe.calls.clear()
        outcome, recorder = resume(
            tmp_path, tmp_path / "workflow1.yaml", first.run_id, inputs=FIXED, force=True
        )
        assert sent(probe) == ["b"]
        assert outcome.status == "succeeded"
        assert any("done again, as --force asks" in e.message for e in recorder.of("log"))

    def test_an_item_refused_before_any_change_is_done_again_as_before(
        self, run_yaml: WorkflowRunner, probe: type[Probe], tmp_path: Path
    ) -> None:
        text = """
name: refus
steps:
  - for_each: [a, b]
    key: item
    steps:
      - probe.submit: {value: "{{ item }}", refused: "{{ item == 'b' }}"}
"""
        first, recorder = run_yaml(text)
        assert first.run_id
        assert {e.key: e.status for e in recorder.of("item_finished")}["b"] == ItemStatus.FAILED_BUSINESS
        assert [e["state"] for e in items_of(tmp_path, first.run_id)["b"]["effects"]] == [
            "started",
            "refused",
        ]
        probe.calls.clear()
        resume(tmp_path, tmp_path / "workflow1.yaml", first.run_id)
        assert sent(probe) == ["b"]  # refused: nothing was entered, so it is simply done again


class TestRetriesWithinARun:
    LOST = """
name: perdu
steps:
  - for_each: [a]
    key: item
    retry: {attempts: 3, delay: 0.01}
    steps:
      - probe.submit: {value: "{{ item }}", lost: true}
"""

    def test_an_item_lost_after_a_send_is_not_retried_blindly(
        self, run_yaml: WorkflowRunner, probe: type[Probe]
    ) -> None:
        outcome, recorder = run_yaml(self.LOST)
        assert sent(probe) == ["a"]
        assert [e.status for e in recorder.of("item_finished")] == [ItemStatus.TO_CHECK]
        assert outcome.status == "completed_with_errors"

    def test_with_already_done_it_is_checked_before_each_retry(
        self, run_yaml: WorkflowRunner, probe: type[Probe]
    ) -> None:
        outcome, _ = run_yaml(self.LOST + "    already_done:\n      - probe.echo: {value: false}\n")
        assert sent(probe) == ["a", "a", "a"]
        assert [c for c in probe.calls if c[0] == "echo"] == [("echo", False), ("echo", False)]
        assert outcome.status == "completed_with_errors"

    STEP_DEFAULTS = """
name: perdu
defaults:
  retry: {attempts: 3, delay: 0.01}
steps:
  - probe.submit: {value: x, lost: true}
  - probe.flaky: {key: lu, failures: 1}
"""

    def test_the_default_retry_does_not_send_again_a_step_that_may_have_gone_through(
        self, run_yaml: WorkflowRunner, probe: type[Probe]
    ) -> None:
        outcome, recorder = run_yaml(self.STEP_DEFAULTS)
        assert sent(probe) == ["x"]
        assert recorder.of("retry_scheduled") == []
        assert outcome.status == "failed"

    def test_a_step_that_asks_for_retries_itself_gets_them_and_reading_steps_keep_the_defaults(
        self, run_yaml: WorkflowRunner, probe: type[Probe]
    ) -> None:
        workflow = self.STEP_DEFAULTS.replace(
            "lost: true}", "lost: true}\n    retry: {attempts: 2, delay: 0.01}\n    on_error: continue"
        )
        outcome, recorder = run_yaml(workflow)
        assert sent(probe) == ["x", "x"]
        assert [e.step for e in recorder.of("retry_scheduled")] == ["steps[0]", "steps[1]"]
        assert outcome.status == "succeeded"


class _StoreReader:
    """A sink after the run store: what another process reading the store sees when each step starts."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.seen: dict[str, list[str]] = {}

    def handle(self, event: Event) -> None:
        if isinstance(event, StepStarted) and event.item is not None:
            store = RunStore(self.url)
            try:
                rows = {row["key"]: row for row in store.run_items(event.run_id)}
            finally:
                store.close()
            effects = rows[event.item]["effects"] or []
            self.seen[f"{event.item}:{event.step}"] = [effect["state"] for effect in effects]

    def close(self) -> None:
        pass


class TestTheLedgerCommitsAtOnce:
    def test_a_change_is_in_the_store_before_the_next_step_starts(
        self, run_yaml: WorkflowRunner, tmp_path: Path
    ) -> None:
        reader = _StoreReader(f"sqlite:///{tmp_path / 'logs' / 'robo.db'}")
        workflow = tmp_path / "envoi.yaml"
        workflow.write_text(FAILS_AFTER_THE_SEND, encoding="utf-8")
        options = RunOptions(logs_dir=tmp_path / "logs", environ={}, extra_sinks=[reader], inputs=FIXED)
        outcome = run_workflow(workflow, options)
        assert outcome.status == "succeeded"
        assert reader.seen["a:steps[0].steps[1]"] == []  # the send has not started yet
        assert reader.seen["a:steps[0].steps[2]"] == ["started", "done"]

    def test_a_crash_during_a_change_leaves_the_item_to_check(
        self, run_yaml: WorkflowRunner, probe: type[Probe], tmp_path: Path
    ) -> None:
        first, _ = run_yaml(FAILS_AFTER_THE_SEND, inputs=FIXED)
        assert first.run_id
        from sqlalchemy import update

        from runner.record import items, runs

        # As a kill -9 while b was being sent leaves it: started, never finished.
        store = store_of(tmp_path)
        with store.begin() as connection:
            connection.execute(update(runs).where(runs.c.id == first.run_id).values(status="running", pid=0))
            connection.execute(
                update(items)
                .where(items.c.run_id == first.run_id, items.c.key == "b")
                .values(status="in_progress", effects=None)
            )
        store.record_effect(
            first.run_id,
            "steps[0]",
            "b",
            Effect("steps[0].steps[1]", "probe.submit", "probe.submit", EffectState.STARTED),
        )
        store.close()
        probe.calls.clear()
        outcome, recorder = resume(tmp_path, tmp_path / "workflow1.yaml", first.run_id)
        assert sent(probe) == []
        assert {e.key: e.status for e in recorder.of("item_finished")}["b"] == ItemStatus.TO_CHECK
        assert outcome.status == "completed_with_errors"

    def test_a_dry_run_records_no_change(self, run_yaml: WorkflowRunner, tmp_path: Path) -> None:
        outcome, recorder = run_yaml(FAILS_AFTER_THE_SEND, dry_run=True)
        assert outcome.run_id and not recorder.of("item_effect")
        assert all(not row["effects"] for row in items_of(tmp_path, outcome.run_id).values())


class TestMarking:
    def mark(self, tmp_path: Path, *args: str) -> Any:
        return CliRunner().invoke(
            app, ["runs", "mark", *args, "--logs", str(tmp_path / "logs"), "--by", "agent"]
        )

    def test_done_and_redo_are_recorded_and_followed_by_the_next_retry(
        self, run_yaml: WorkflowRunner, probe: type[Probe], tmp_path: Path
    ) -> None:
        first, _ = run_yaml(FAILS_AFTER_THE_SEND, inputs={"failing": ["a", "b"]})
        assert first.run_id
        assert self.mark(tmp_path, first.run_id, "a", "--done", "--comment", "saisi, n° 4521").exit_code == 0
        result = self.mark(tmp_path, first.run_id, "b", "--redo")
        assert result.exit_code == 0, result.output
        rows = items_of(tmp_path, first.run_id)
        assert rows["a"]["status"] == ItemStatus.DONE and "marked done by agent" in rows["a"]["error"]
        assert rows["a"]["error"].endswith(": saisi, n° 4521")
        assert rows["b"]["status"] == ItemStatus.PENDING and rows["b"]["effects"] == []
        store = store_of(tmp_path)
        record = store.get_run(first.run_id)
        store.close()
        assert record is not None and record.run_dir
        log = Path(record.run_dir) / AUDIT_LOG_NAME
        assert verify_audit_log(log, record.last_hash).intact
        assert '"event":"item_marked"' in log.read_text(encoding="utf-8")
        assert '"comment":"saisi, n° 4521"' in log.read_text(encoding="utf-8")
        probe.calls.clear()
        outcome, _ = resume(tmp_path, tmp_path / "workflow1.yaml", first.run_id, inputs=FIXED)
        assert sent(probe) == ["b"]
        assert outcome.status == "succeeded"

    def test_a_mark_is_refused_on_a_tampered_audit_log_which_is_left_as_it_is(
        self, run_yaml: WorkflowRunner, tmp_path: Path
    ) -> None:
        first, _ = run_yaml(FAILS_AFTER_THE_SEND, inputs={"failing": ["a", "b"]})
        assert first.run_id and first.run_dir
        log = first.run_dir / AUDIT_LOG_NAME
        lines = log.read_bytes().splitlines(keepends=True)
        log.write_bytes(b"".join(lines[:2] + lines[3:]))
        before = log.read_bytes()
        result = self.mark(tmp_path, first.run_id, "a", "--done")
        assert result.exit_code == 1
        assert "fails verification, so nothing more is written to it" in result.output
        assert "line 3: record 4 is here in place of record 3" in result.output
        assert log.read_bytes() == before
        assert items_of(tmp_path, first.run_id)["a"]["status"] == ItemStatus.TO_CHECK

    def test_a_key_that_is_not_there_is_a_clear_error(self, run_yaml: WorkflowRunner, tmp_path: Path) -> None:
        first, _ = run_yaml(FAILS_AFTER_THE_SEND)
        assert first.run_id
        result = self.mark(tmp_path, first.run_id, "zz", "--done")
        assert result.exit_code == 1
        assert "has no item 'zz'" in result.output and "the items to check are: b" in result.output
        assert self.mark(tmp_path, first.run_id, "b").exit_code == 2


@pytest.mark.parametrize(
    ("robot", "changing", "repeatable"),
    [
        (
            "browser",
            {"click", "fill_form", "upload", "download", "press", "accept_dialog"},
            {"save_session"},
        ),
        ("email", {"send", "read"}, {"move", "create_folder"}),
        ("excel", {"create_workbook", "append_rows"}, {"write_rows", "write_cell", "update_rows"}),
        ("files", {"move", "copy", "rename", "delete", "zip", "unzip", "file_by_rules"}, {"make_folder"}),
        ("http", {"post"}, {"download"}),
        ("data", set(), {"write_csv", "write_json"}),
        ("pdf", {"split"}, {"merge", "fill_form"}),
        ("word", {"replace_text", "append_paragraph", "append_table"}, {"render_template", "to_pdf"}),
    ],
)
def test_the_actions_that_change_the_outside_world(
    robot: str, changing: set[str], repeatable: set[str]
) -> None:
    """Filling a page changes nothing; a click may submit; writing the same file again makes no duplicate."""
    specs = robots.robot_class(robot).action_specs()
    assert {name for name, spec in specs.items() if spec.may_enter_twice} == changing
    assert {name for name, spec in specs.items() if spec.side_effects and spec.idempotent} == repeatable


class TestValidateWarns:
    def test_a_loop_that_changes_things_without_already_done(self) -> None:
        text = """name: t
steps:
  - for_each: [a]
    steps:
      - if: "true"
        then:
          - try:
              - http.post: {url: "https://x.example/api"}
"""
        assert problems(text) == [
            (
                "3:5 no-already-done: this for_each has a step that changes things (http.post at line 8) and no"
                " 'already_done': an item that fails after it is left to check by a person, never done again"
                " automatically"
            )
        ]
        result = validate_document(load_workflow_text(text, "w.yaml"))
        assert result.ok and [d.severity for d in result.diagnostics] == ["warning"]
        assert "already_done:" in (result.diagnostics[0].hint or "")

    def test_no_warning_with_already_done_or_without_a_change(self) -> None:
        checked = "name: t\nsteps:\n  - for_each: [a]\n    steps:\n      - http.post: {url: u}\n"
        checked += "    already_done:\n      - http.get: {url: u}\n"
        assert problems(checked) == []
        reading = (
            "name: t\nsteps:\n  - for_each: [a]\n    steps:\n      - browser.fill: {label: Nom, value: x}\n"
        )
        assert problems(reading) == []
        rewriting = (
            "name: t\nsteps:\n  - for_each: [a]\n    steps:\n      - data.write_json: {data: 1, path: x}\n"
        )
        assert problems(rewriting) == []

    def test_robo_validate_shows_the_warning_and_succeeds(self, tmp_path: Path) -> None:
        (tmp_path / "w.yaml").write_text(
            "name: t\nsteps:\n  - for_each: [a]\n    steps:\n      - files.move: {source: a, target: b}\n",
            encoding="utf-8",
        )
        result = CliRunner().invoke(app, ["validate", str(tmp_path / "w.yaml")])
        assert result.exit_code == 0
        assert "w.yaml:3:5: warning[no-already-done]" in result.output
        assert "w.yaml: ok" in result.output


class TestReportAdvice:
    """The report's advice depends on whether the item may be entered, not only on the kind of error."""

    def report_of(self, outcome: RunOutcome) -> str:
        assert outcome.report is not None
        return " ".join(outcome.report.read_text(encoding="utf-8").split())

    def test_refused_before_any_change(self, run_yaml: WorkflowRunner) -> None:
        outcome, _ = run_yaml(
            "name: t\nsteps:\n  - for_each: [a]\n    key: item\n    steps:\n"
            "      - probe.submit: {value: x, refused: true}\n"
        )
        report = self.report_of(outcome)
        assert "The data was refused before anything was entered: correct it" in report
        assert "may have been entered" not in report

    def test_failed_after_a_change_with_already_done(self, run_yaml: WorkflowRunner) -> None:
        outcome, _ = run_yaml(FAILS_AFTER_THE_SEND + CHECKED)
        report = self.report_of(outcome)
        assert "It may have been entered: it failed after 'probe.submit' had started a change" in report
        assert "correct it, then run the item again" not in report

    def test_failed_after_a_change_without_already_done(self, run_yaml: WorkflowRunner) -> None:
        outcome, _ = run_yaml(FAILS_AFTER_THE_SEND)
        report = self.report_of(outcome)
        assert "Items to check (1): they may have been entered" in report
        assert f"robo runs mark {outcome.run_id} b --done" in report
        assert "1 to check: they may have been entered" in report  # the headline
        assert "correct it, then run the item again" not in report


def test_a_schedule_notification_counts_the_items_to_check() -> None:
    from runner.schedule import RunSummary, body_text

    run = RunSummary(
        workflow="Saisie",
        schedule="saisie/matin",
        status="completed_with_errors",
        counts={"steps": 12, "items_done": 2, "items_failed": 0, "items_to_check": 3},
    )
    assert "items: 2 done, 0 failed, 3 to check (maybe entered)" in body_text(run, "failure")


# A loop that enters each item (a submit) and keeps what it gave.
ENTERS = """
name: saisie
steps:
  - for_each: [a, b, c]
    key: item
    collect:
      numero: "N-{{ item }}"
    steps:
      - probe.submit: {value: "{{ item }}"}
"""


CHECKED_ENTERS = ENTERS + "    already_done:\n      - probe.echo: {value: \"{{ item != 'b' }}\"}\n"


class TestASecondRunOfTheSameWorkflow:
    """A plain new run over the same data (by mistake, or a daily job over a growing sheet) enters nothing twice."""

    @staticmethod
    def run_file(tmp_path: Path, text: str, **options: Any) -> tuple[RunOutcome, EventRecorder]:
        workflow = tmp_path / "saisie.yaml"
        workflow.write_text(text, encoding="utf-8")
        recorder = EventRecorder()
        options.setdefault("environ", {})
        outcome = run_workflow(
            workflow, RunOptions(logs_dir=tmp_path / "logs", extra_sinks=[recorder], **options)
        )
        return outcome, recorder

    def test_without_already_done_they_are_done_again_and_the_loop_says_so_once(
        self, probe: type[Probe], tmp_path: Path
    ) -> None:
        # Nothing can tell whether they are still to do: a copy into each run's own folder is; so as before.
        first, _ = self.run_file(tmp_path, ENTERS)
        assert first.status == "succeeded" and sent(probe) == ["a", "b", "c"]
        second, recorder = self.run_file(tmp_path, ENTERS)
        assert second.status == "succeeded"
        assert sent(probe) == ["a", "b", "c", "a", "b", "c"]
        warnings = [event.message for event in recorder.of("log") if event.level == "warning"]
        assert len(warnings) == 1 and f"entered by run {first.run_id}" in warnings[0]
        assert "'already_done'" in warnings[0]

    def test_force_enters_them_again_without_checking(self, probe: type[Probe], tmp_path: Path) -> None:
        self.run_file(tmp_path, CHECKED_ENTERS)
        again, _ = self.run_file(tmp_path, CHECKED_ENTERS, force=True)
        assert again.status == "succeeded"
        assert sent(probe) == ["a", "b", "c", "a", "b", "c"]
        assert [name for name, _ in probe.calls].count("echo") == 0  # no check ran

    def test_with_already_done_they_are_checked_and_skipped_with_what_they_gave(
        self, probe: type[Probe], tmp_path: Path
    ) -> None:
        first, _ = self.run_file(tmp_path, CHECKED_ENTERS)
        assert first.status == "succeeded"
        second, recorder = self.run_file(tmp_path, CHECKED_ENTERS)
        assert second.status == "succeeded"
        # a and c are found entered; b is not (its check says so), so it is entered again.
        assert sent(probe) == ["a", "b", "c", "b"]
        finished = {event.key: event for event in recorder.of("item_finished")}
        assert finished["a"].status == ItemStatus.SKIPPED and finished["c"].status == ItemStatus.SKIPPED
        assert finished["b"].status == ItemStatus.DONE
        assert finished["a"].outcome["numero"] == "N-a"  # what the earlier run gave is kept
        logs = [event.message for event in recorder.of("log")]
        assert f"item a was entered by run {first.run_id}: not entered again" in logs

    def test_a_loop_that_changes_nothing_runs_again_as_before(
        self, probe: type[Probe], tmp_path: Path
    ) -> None:
        reads = ENTERS.replace("probe.submit", "probe.echo")
        self.run_file(tmp_path, reads)
        second, recorder = self.run_file(tmp_path, reads)
        assert second.status == "succeeded"
        assert {event.status for event in recorder.of("item_finished")} == {ItemStatus.DONE}

    def test_a_dry_run_entered_nothing(self, probe: type[Probe], tmp_path: Path) -> None:
        self.run_file(tmp_path, CHECKED_ENTERS, dry_run=True)
        real, recorder = self.run_file(tmp_path, CHECKED_ENTERS)
        assert real.status == "succeeded" and sent(probe) == ["a", "b", "c"]
        assert {event.status for event in recorder.of("item_finished")} == {ItemStatus.DONE}

    def test_an_item_a_person_marked_redo_is_entered_again(self, probe: type[Probe], tmp_path: Path) -> None:
        first, _ = self.run_file(tmp_path, CHECKED_ENTERS)
        assert first.run_id
        marked = CliRunner().invoke(
            app, ["runs", "mark", first.run_id, "b", "--redo", "--logs", str(tmp_path / "logs")]
        )
        assert marked.exit_code == 0, marked.output
        _second, recorder = self.run_file(tmp_path, CHECKED_ENTERS)
        finished = {event.key: event.status for event in recorder.of("item_finished")}
        # b is no longer "entered" (the person said it is not): entered again without asking its check.
        assert finished == {"a": ItemStatus.SKIPPED, "b": ItemStatus.DONE, "c": ItemStatus.SKIPPED}
        assert sent(probe) == ["a", "b", "c", "b"]


# The list comes from a file, as mails come from a folder: an item done just before a kill may have left it.
FROM_A_LIST = """
name: courrier
steps:
  - data.read_json: {path: liste.json}
    save: courriers
  - for_each: "{{ courriers }}"
    as: courrier
    key: courrier.id
    steps:
      - probe.submit: {value: "{{ courrier.id }}"}
      - for_each: "{{ courrier.pieces }}"
        as: piece
        key: piece
        steps:
          - probe.submit: {value: "{{ courrier.id }}/{{ piece }}"}
"""


class TestAnInterruptedItemNoLongerInTheList:
    """An item a killed session left in progress, which the resumed loop no longer has (a mail it had moved out of
    the folder it reads just before the kill), is left to check, not in progress for ever under a run that says
    it succeeded."""

    @staticmethod
    def killed_during(tmp_path: Path, run_id: str, keys: dict[str, str | None]) -> None:
        """The store as a kill leaves it: the run running, each of `keys` in progress, with a change started by the
        step named (None: none started)."""
        from sqlalchemy import update

        from runner.record import items, runs

        store = store_of(tmp_path)
        with store.begin() as connection:
            connection.execute(update(runs).where(runs.c.id == run_id).values(status="running", pid=0))
            for key in keys:
                connection.execute(
                    update(items)
                    .where(items.c.run_id == run_id, items.c.key == key)
                    .values(status="in_progress", effects=None)
                )
        for key, step in keys.items():
            if step is not None:
                loop = "steps[1].steps[1]" if "/" in key else "steps[1]"
                effect = Effect(step, "Envoyer", "probe.submit", EffectState.STARTED)
                store.record_effect(run_id, loop, key, effect)
        store.close()

    def write(self, tmp_path: Path, mails: dict[str, list[str]]) -> None:
        rows = [{"id": key, "pieces": pieces} for key, pieces in mails.items()]
        (tmp_path / "liste.json").write_text(json.dumps(rows), encoding="utf-8")

    def m2_moved_away(self, run_yaml: WorkflowRunner, tmp_path: Path, step: str | None) -> str:
        """A run of m1 and m2 killed during m2 (its change started by `step`), m2 then gone from the list; its id."""
        self.write(tmp_path, {"m1": [], "m2": []})
        first, _ = run_yaml(FROM_A_LIST)
        assert first.run_id
        self.killed_during(tmp_path, first.run_id, {"m2": step})
        self.write(tmp_path, {"m1": []})
        return first.run_id

    def test_it_and_the_items_inside_it_are_to_check_and_the_run_says_so(
        self, run_yaml: WorkflowRunner, probe: type[Probe], tmp_path: Path
    ) -> None:
        self.write(tmp_path, {"m1": ["a.pdf"], "m2": ["b.pdf", "c.pdf"], "m3": []})
        first, _ = run_yaml(FROM_A_LIST)
        assert first.run_id and first.status == "succeeded"
        self.killed_during(
            tmp_path, first.run_id, {"m2": "steps[1].steps[0]", "m2/c.pdf": "steps[1].steps[1].steps[0]"}
        )
        self.write(tmp_path, {"m1": ["a.pdf"], "m3": []})  # m2 was moved away just before the kill
        probe.calls.clear()

        outcome, recorder = resume(tmp_path, tmp_path / "workflow1.yaml", first.run_id)

        assert sent(probe) == []  # m1 and m3 were done; m2 is not in the list any more
        finished = {e.key: e for e in recorder.of("item_finished")}
        assert finished["m2"].status == finished["m2/c.pdf"].status == ItemStatus.TO_CHECK
        assert "check m2: the run was interrupted while doing it, after 'Envoyer' had started a change" in (
            finished["m2"].error or ""
        )
        assert "no longer among the loop's items" in (finished["m2/c.pdf"].error or "")
        assert outcome.status == "completed_with_errors"
        stored = items_of(tmp_path, first.run_id)
        assert {key: row["status"] for key, row in stored.items()} == {
            "m1": "done",
            "m1/a.pdf": "done",
            "m2": "to_check",
            "m2/b.pdf": "done",
            "m2/c.pdf": "to_check",
            "m3": "done",
        }

    def test_a_later_session_still_says_it_is_to_check_and_how_to_close_it(
        self, run_yaml: WorkflowRunner, probe: type[Probe], tmp_path: Path
    ) -> None:
        run_id = self.m2_moved_away(run_yaml, tmp_path, "steps[1].steps[0]")
        resumed, _ = resume(tmp_path, tmp_path / "workflow1.yaml", run_id)
        assert resumed.status == "completed_with_errors"

        again, recorder = resume(tmp_path, tmp_path / "workflow1.yaml", run_id)

        finished = {e.key: e for e in recorder.of("item_finished")}
        assert finished["m2"].status == ItemStatus.TO_CHECK
        assert "after 'Envoyer' had started a change" in (finished["m2"].error or "")
        assert again.status == "completed_with_errors"
        hints = [d.hint or "" for d in again.diagnostics]
        assert any(f"robo runs mark {run_id} m2 --done" in hint for hint in hints), hints

    def test_a_dry_run_leaves_the_run_s_items_as_they_are(
        self, run_yaml: WorkflowRunner, probe: type[Probe], tmp_path: Path
    ) -> None:
        run_id = self.m2_moved_away(run_yaml, tmp_path, "steps[1].steps[0]")

        resume(tmp_path, tmp_path / "workflow1.yaml", run_id, dry_run=True)

        assert items_of(tmp_path, run_id)["m2"]["status"] == "in_progress"

    def test_one_interrupted_before_any_change_is_to_check_too(
        self, run_yaml: WorkflowRunner, probe: type[Probe], tmp_path: Path
    ) -> None:
        run_id = self.m2_moved_away(run_yaml, tmp_path, None)

        outcome, recorder = resume(tmp_path, tmp_path / "workflow1.yaml", run_id)

        finished = {e.key: e for e in recorder.of("item_finished")}
        assert finished["m2"].status == ItemStatus.TO_CHECK
        assert (finished["m2"].error or "").startswith(
            "check m2: the run was interrupted while doing it, and it is"
        )
        assert outcome.status == "completed_with_errors"

    def test_one_still_in_the_list_is_done_as_before_and_a_fresh_run_has_none(
        self, run_yaml: WorkflowRunner, probe: type[Probe], tmp_path: Path
    ) -> None:
        self.write(tmp_path, {"m1": [], "m2": []})
        first, _ = run_yaml(FROM_A_LIST)
        assert first.run_id
        self.killed_during(tmp_path, first.run_id, {"m2": None})  # interrupted before its change: done again
        probe.calls.clear()

        outcome, recorder = resume(tmp_path, tmp_path / "workflow1.yaml", first.run_id)

        assert sent(probe) == ["m2"]
        assert outcome.status == "succeeded"
        assert all(e.status != ItemStatus.TO_CHECK for e in recorder.of("item_finished"))

    def test_the_ledger_leaves_behind_only_what_this_session_did_not_go_through_in_this_loop_once(
        self,
    ) -> None:
        from runner.engine import WorkItemLedger

        class Rows:
            """A run store after a killed session: in loop l, b and c in progress, d and e to check, c's and a's
            pieces in progress in the loop inside l; a sibling loop l2 with a piece in progress under a key like
            c's."""

            def run_items(self, run_id: str) -> list[dict[str, Any]]:
                statuses = {
                    ("l", "a"): "done",
                    ("l", "b"): "in_progress",
                    ("l", "c"): "in_progress",
                    ("l", "d"): "to_check",
                    ("l", "e"): "to_check",
                    ("l.steps[1]", "c/x.pdf"): "in_progress",
                    ("l.steps[1]", "a/z.pdf"): "in_progress",
                    ("l2", "c/y.pdf"): "in_progress",
                }
                return [
                    {"loop": loop, "key": key, "status": status} for (loop, key), status in statuses.items()
                ]

            def as_stored(self, text: str) -> str:
                return text

            def entered_items(self, workflow_file: str, *, excluding: str) -> list[dict[str, Any]]:
                return []

        ledger = WorkItemLedger(Rows(), "w.yaml", "r1")
        for key in ("a", "b", "e"):  # the items this session's list still has (a found done: not gone inside)
            ledger.previous("l", key)
        left = ledger.left_behind("l")
        assert [(loop, key) for loop, key, _item in left] == [
            ("l", "c"),
            ("l", "d"),
            ("l.steps[1]", "c/x.pdf"),
        ]
        assert ledger.left_behind("l") == []
