"""`for_each` loops: item keys checked before anything starts, and mistakes of the workflow told apart."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from runner.run import RunOptions, RunOutcome, run_workflow
from tests.probe_robot import Probe
from tests.running import EventRecorder, WorkflowRunner

ROWS = """[{ref: D1, nom: Ada}, {ref: D1, nom: Bea}, {ref: D2, nom: Cid}, {ref: D1, nom: Dan}]"""


def setup_started(recorder: EventRecorder) -> list[str]:
    return [e.name for e in recorder.of("step_started") if e.name == "Ouvrir le navigateur"]


def run_file(path: Path, **options: Any) -> tuple[RunOutcome, EventRecorder]:
    """Run (or resume) the workflow at `path` itself, with the logs that `run_yaml` uses."""
    recorder = EventRecorder()
    options.setdefault("logs_dir", path.parent / "logs")
    options.setdefault("environ", {})
    return run_workflow(path, RunOptions(extra_sinks=[recorder], **options)), recorder


def item_statuses(recorder: EventRecorder) -> dict[str, str]:
    return {e.key: e.status for e in recorder.of("item_finished")}


class TestItemKeys:
    def test_a_duplicate_key_stops_the_loop_before_setup_naming_the_items(
        self, run_yaml: WorkflowRunner, probe: type[Probe]
    ) -> None:
        outcome, recorder = run_yaml(
            f"""
name: t
steps:
  - for_each: {ROWS}
    as: dossier
    key: dossier.ref
    setup:
      - name: Ouvrir le navigateur
        probe.echo: {{value: ouvert}}
    steps:
      - probe.write: {{value: "{{{{ dossier.nom }}}}"}}
"""
        )
        assert outcome.status == "failed"
        [diagnostic] = outcome.diagnostics
        assert diagnostic.code == "business-error"
        assert "the loop's key is not unique: 'D1' is the key of items 1, 2 and 4" in diagnostic.message
        assert "nothing was done" in diagnostic.message
        assert diagnostic.hint is not None and "key_duplicates: number" in diagnostic.hint
        assert setup_started(recorder) == [] and probe.calls == []
        assert recorder.of("item_started") == [] and recorder.of("loop_started") == []

    def test_an_empty_key_stops_the_loop_naming_the_items(
        self, run_yaml: WorkflowRunner, probe: type[Probe]
    ) -> None:
        outcome, recorder = run_yaml(
            """
name: t
steps:
  - for_each: [{ref: D1}, {ref: ""}, {ref: D3}, {ref: null}, {ref: "  "}]
    as: dossier
    key: dossier.ref
    steps:
      - probe.write: {value: "{{ dossier.ref }}"}
"""
        )
        assert outcome.status == "failed"
        assert "the loop's key is empty for items 2, 4 and 5" in outcome.diagnostics[0].message
        assert probe.calls == [] and recorder.of("item_started") == []

    def test_identical_items_without_a_key_are_not_merged(
        self, run_yaml: WorkflowRunner, probe: type[Probe]
    ) -> None:
        outcome, _ = run_yaml(
            "name: t\nsteps:\n  - for_each: [a, b, a]\n    steps:\n      - probe.write: {value: x}\n"
        )
        assert outcome.status == "failed"
        assert "the loop has no key and some items are identical: items 1 and 3 are identical" in (
            outcome.diagnostics[0].message
        )
        assert probe.calls == []

    def test_key_duplicates_number_makes_keys_distinct_by_occurrence(
        self, run_yaml: WorkflowRunner, probe: type[Probe]
    ) -> None:
        outcome, recorder = run_yaml(
            f"""
name: t
steps:
  - for_each: {ROWS}
    as: dossier
    key: dossier.ref
    key_duplicates: number
    steps:
      - probe.write: {{value: "{{{{ dossier.nom }}}}"}}
"""
        )
        assert outcome.status == "succeeded", outcome.diagnostics
        assert item_statuses(recorder) == {"D1": "done", "D1#2": "done", "D2": "done", "D1#3": "done"}
        assert probe.calls == [("write", "Ada"), ("write", "Bea"), ("write", "Cid"), ("write", "Dan")]

    def test_numbered_keys_resume_the_failed_repeat_only(
        self, run_yaml: WorkflowRunner, probe: type[Probe], tmp_path: Path
    ) -> None:
        text = f"""
name: t
inputs:
  corrige: {{type: boolean, default: false}}
steps:
  - for_each: {ROWS}
    as: dossier
    key: dossier.ref
    key_duplicates: number
    steps:
      - fail: "{{{{ dossier.nom }}}} refusé"
        when: dossier.nom == 'Bea' and not inputs.corrige
      - probe.write: {{value: "{{{{ dossier.nom }}}}"}}
"""
        first, recorder = run_yaml(text)
        assert first.status == "completed_with_errors"
        assert item_statuses(recorder)["D1#2"] == "failed_business"
        probe.calls.clear()
        second, recorder = run_file(
            tmp_path / "workflow1.yaml", resume=first.run_id, inputs={"corrige": True}
        )
        assert second.status == "succeeded", second.diagnostics
        assert probe.calls == [("write", "Bea")]  # the repeat that failed, once; the others were done
        assert item_statuses(recorder) == {
            "D1": "skipped",
            "D1#2": "done",
            "D2": "skipped",
            "D1#3": "skipped",
        }

    def test_keys_are_read_in_a_first_pass_then_the_items_again(
        self, run_yaml: WorkflowRunner, probe: type[Probe]
    ) -> None:
        outcome, recorder = run_yaml(
            """
name: t
steps:
  - probe.stream: {rows: [{ref: A}, {ref: B}, {ref: C}]}
    save: lignes
  - for_each: "{{ lignes }}"
    as: ligne
    key: ligne.ref
    parallel: 2
    steps:
      - probe.write: {value: "{{ ligne.ref }}"}
"""
        )
        assert outcome.status == "succeeded", outcome.diagnostics
        assert sorted(item_statuses(recorder)) == ["A", "B", "C"]
        assert [stream.passes for stream in probe.streams] == [2]
        assert recorder.of("loop_started")[0].total == 3

    def test_a_key_naming_a_missing_field_is_a_workflow_error_before_setup(
        self, run_yaml: WorkflowRunner, probe: type[Probe]
    ) -> None:
        outcome, recorder = run_yaml(
            """
name: t
steps:
  - for_each: [{reference: D1}, {reference: D2}]
    as: dossier
    setup:
      - name: Ouvrir le navigateur
        probe.echo: {value: ouvert}
    key: dossier.ref
    steps:
      - probe.write: {value: x}
"""
        )
        assert outcome.status == "failed"
        [diagnostic] = outcome.diagnostics
        assert diagnostic.code == "workflow-error"
        assert "dossier has no field 'ref'" in diagnostic.message
        assert diagnostic.message.endswith("(the key of item 1: nothing was done)")
        assert "the fields of dossier are reference" in diagnostic.message
        assert diagnostic.span.line == 9  # the key's own line
        assert setup_started(recorder) == [] and probe.calls == []


class TestWorkflowBugs:
    def test_a_field_typo_fails_three_items_then_stops_the_run_at_the_template_line(
        self, run_yaml: WorkflowRunner, probe: type[Probe]
    ) -> None:
        rows = ", ".join(f"{{reference: D{n}, nom: N{n}, priorite: haute}}" for n in range(10))
        outcome, recorder = run_yaml(
            f"""
name: t
steps:
  - for_each: [{rows}]
    as: dossier
    key: dossier.reference
    retry: {{attempts: 3, delay: 0}}
    steps:
      - name: Saisir le nom
        probe.write:
          value: "{{{{ dossier.Nom }}}}"
"""
        )
        assert outcome.status == "failed"
        assert item_statuses(recorder) == {f"D{n}": "failed_workflow" for n in range(3)}
        assert recorder.of("retry_scheduled") == [] and probe.calls == []
        [diagnostic] = outcome.diagnostics
        assert diagnostic.code == "workflow-error"
        assert (
            "'Saisir le nom' failed: the same error on 3 items in a row, the run stops: "
            in diagnostic.message
        )
        assert (
            "dossier has no field 'Nom': did you mean 'nom'? the fields of dossier are reference, nom, priorite"
            in diagnostic.message
        )
        assert diagnostic.hint is not None and "fix the workflow, then resume" in diagnostic.hint
        assert (diagnostic.span.line, diagnostic.span.col) == (11, 18)  # the template, not the step
        item_errors = [e.error for e in recorder.of("item_finished")]
        assert all("did you mean 'nom'" in (error or "") for error in item_errors)

    def test_the_run_stopped_by_a_workflow_bug_resumes_once_the_workflow_is_fixed(
        self, run_yaml: WorkflowRunner, probe: type[Probe], tmp_path: Path
    ) -> None:
        text = """
name: t
steps:
  - for_each: [{nom: a1}, {nom: a2}, {nom: a3}, {nom: a4}, {nom: a5}, {nom: a6}]
    as: ligne
    key: ligne.nom
    steps:
      - probe.write: {value: "{{ ligne.Nom }}"}
"""
        first, recorder = run_yaml(text)
        assert first.status == "failed" and probe.calls == []
        assert len(recorder.of("item_finished")) == 3
        workflow = tmp_path / "workflow1.yaml"
        workflow.write_text(text.replace("ligne.Nom", "ligne.nom"), encoding="utf-8")
        second, recorder = run_file(workflow, resume=first.run_id)
        assert second.status == "succeeded", second.diagnostics
        assert sorted(value for _, value in probe.calls) == ["a1", "a2", "a3", "a4", "a5", "a6"]

    def test_different_errors_or_errors_apart_do_not_stop_the_run(
        self, run_yaml: WorkflowRunner, probe: type[Probe]
    ) -> None:
        outcome, recorder = run_yaml(
            """
name: t
steps:
  - for_each: [{n: 1}, {n: 2, x: a}, {n: 3}, {n: 4, x: a, y: b}, {n: 5}, {n: 6, x: a}, {n: 7}]
    as: ligne
    key: ligne.n
    steps:
      - probe.write: {value: "{{ ligne.x ~ ligne.y }}"}
"""
        )
        assert outcome.status == "completed_with_errors"
        statuses = item_statuses(recorder)
        assert [statuses[str(n)] for n in range(1, 8)] == [
            "failed_workflow", "failed_workflow", "failed_workflow", "done",
            "failed_workflow", "failed_workflow", "failed_workflow",
        ]  # fmt: skip
        assert probe.calls == [("write", "ab")]

    def test_parallel_out_of_range_is_a_workflow_error_before_setup(
        self, run_yaml: WorkflowRunner, probe: type[Probe]
    ) -> None:
        outcome, recorder = run_yaml(
            """
name: t
inputs:
  voies: {type: integer, default: 40}
steps:
  - for_each: [1, 2, 3]
    parallel: "{{ inputs.voies }}"
    setup:
      - name: Ouvrir le navigateur
        probe.echo: {value: ouvert}
    steps:
      - probe.write: {value: x}
"""
        )
        assert outcome.status == "failed"
        [diagnostic] = outcome.diagnostics
        assert diagnostic.code == "workflow-error"
        assert "parallel must be between 1 and 32, got 40" in diagnostic.message
        assert diagnostic.span.line == 7
        assert setup_started(recorder) == []

    def test_a_sandbox_refusal_is_a_workflow_error(
        self, run_yaml: WorkflowRunner, probe: type[Probe]
    ) -> None:
        outcome, recorder = run_yaml(
            "name: t\nsteps:\n  - probe.echo: {value: abc}\n    save: texte\n"
            '  - probe.write: {value: "{{ texte.__class__ }}"}\n    retry: {attempts: 3}\n'
        )
        assert outcome.status == "failed"
        assert outcome.diagnostics[0].code == "workflow-error"
        assert "refused by the sandbox" in outcome.diagnostics[0].message
        assert recorder.of("retry_scheduled") == []
        [failed] = [e for e in recorder.of("step_finished") if e.status == "failed"]
        assert failed.error["kind"] == "workflow"

    def test_an_item_failed_by_a_workflow_bug_is_checked_with_already_done_on_resume(
        self, run_yaml: WorkflowRunner, probe: type[Probe], tmp_path: Path
    ) -> None:
        text = """
name: t
steps:
  - for_each: [{ref: A}, {ref: B}]
    as: dossier
    key: dossier.ref
    steps:
      - probe.write: {value: "{{ dossier.ref }}"}
      - log: "{{ dossier.Ref }} saisi"
    already_done:
      - probe.echo: {value: true}
"""
        first, recorder = run_yaml(text)
        assert first.status == "completed_with_errors"
        assert item_statuses(recorder) == {"A": "failed_workflow", "B": "failed_workflow"}
        assert probe.calls == [("write", "A"), ("write", "B")]
        probe.calls.clear()
        workflow = tmp_path / "workflow1.yaml"
        workflow.write_text(text.replace("dossier.Ref", "dossier.ref"), encoding="utf-8")
        second, _ = run_file(workflow, resume=first.run_id)
        assert second.status == "succeeded", second.diagnostics
        assert probe.calls == [("echo", True), ("echo", True)]  # checked, not entered a second time


class TestNestedLoops:
    def test_an_inner_loop_keeps_the_items_of_each_outer_item_apart(
        self, run_yaml: WorkflowRunner, probe: type[Probe], tmp_path: Path
    ) -> None:
        text = """
name: t
inputs:
  corrige: {type: boolean, default: false}
steps:
  - for_each: [X, Y]
    as: service
    key: service
    steps:
      - for_each: [{ref: D1}]
        as: dossier
        key: dossier.ref
        on_error: fail
        steps:
          - fail: refusé
            when: service == 'X' and not inputs.corrige
          - probe.write: {value: "{{ service }}-{{ dossier.ref }}"}
"""
        first, recorder = run_yaml(text)
        assert first.status == "completed_with_errors"
        inner = {e.key: e.status for e in recorder.of("item_finished") if "." in e.loop}
        assert inner == {"X/D1": "failed_business", "Y/D1": "done"}
        assert probe.calls == [("write", "Y-D1")]
        probe.calls.clear()
        second, _ = run_file(tmp_path / "workflow1.yaml", resume=first.run_id, inputs={"corrige": True})
        assert second.status == "succeeded", second.diagnostics
        assert probe.calls == [("write", "X-D1")]  # not taken for Y's D1, which was done


class TestWorkflowBugsOutsideLoops:
    def test_a_mistake_in_vars_is_a_workflow_error_at_its_line(self, run_yaml: WorkflowRunner) -> None:
        outcome, _ = run_yaml(
            'name: t\ninputs:\n  dossier: {type: string, default: abc}\nvars:\n  x: "{{ inputs.dossier.nom }}"\n'
            'steps:\n  - log: "{{ vars.x }}"\n'
        )
        assert outcome.status == "failed"
        [diagnostic] = outcome.diagnostics
        assert diagnostic.code == "workflow-error"
        assert diagnostic.message == "vars.x: inputs.dossier is a text and has no attribute 'nom'"
        assert (diagnostic.span.line, diagnostic.span.col) == (5, 6)
