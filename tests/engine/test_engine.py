"""The engine: each step kind, errors and their kinds, retries, timeouts, dry runs, parallel lanes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import pytest

from runner.engine import dry_run_placeholder
from runner.language.templating import render_value
from tests.probe_robot import Probe
from tests.running import EventRecorder, WorkflowRunner
from tests.waiting import wait_until


def messages(recorder: EventRecorder) -> list[str]:
    return [e.message for e in recorder.of("log") if e.level == "info" and e.step is not None]


class TestActionSteps:
    def test_saved_result_is_available_to_later_steps(self, run_yaml: WorkflowRunner) -> None:
        outcome, recorder = run_yaml(
            """
name: save
steps:
  - probe.echo: {value: [1, 2, 3]}
    save: numbers
  - log: "total {{ numbers | sum }}"
"""
        )
        assert outcome.status == "succeeded"
        assert messages(recorder) == ["total 6"]

    def test_whole_expression_keeps_its_type(self, run_yaml: WorkflowRunner, probe: type[Probe]) -> None:
        outcome, _ = run_yaml(
            """
name: types
vars: {n: 41}
steps:
  - probe.echo: {value: "{{ vars.n + 1 }}"}
  - probe.echo: {value: "n={{ vars.n + 1 }}"}
"""
        )
        assert outcome.status == "succeeded"
        assert probe.calls == [("echo", 42), ("echo", "n=42")]

    def test_unexpected_python_error_becomes_an_application_error(self, run_yaml: WorkflowRunner) -> None:
        outcome, recorder = run_yaml("name: crash\nsteps:\n  - name: Planter\n    probe.crash: {}\n")
        assert outcome.status == "failed"
        [diagnostic] = outcome.diagnostics
        assert diagnostic.code == "application-error"
        assert "Planter" in diagnostic.message and "KeyError" in diagnostic.message
        assert diagnostic.span.line == 4
        [finished] = [e for e in recorder.of("step_finished") if e.status == "failed"]
        assert finished.error["kind"] == "application"

    def test_wrong_parameter_type_at_run_time_is_a_business_error(self, run_yaml: WorkflowRunner) -> None:
        outcome, _ = run_yaml(
            'name: t\nvars: {n: "beaucoup"}\nsteps:\n  - probe.write: {value: a, count: "{{ vars.n }}"}\n'
        )
        assert outcome.status == "failed"
        assert outcome.diagnostics[0].code == "business-error"
        assert "count" in outcome.diagnostics[0].message

    def test_on_error_continue_goes_on(self, run_yaml: WorkflowRunner) -> None:
        outcome, recorder = run_yaml(
            """
name: t
steps:
  - probe.refuse: {reason: non}
    on_error: continue
  - log: après
"""
        )
        assert outcome.status == "succeeded"
        assert "après" in messages(recorder)

    def test_on_error_steps_see_the_error(self, run_yaml: WorkflowRunner) -> None:
        outcome, recorder = run_yaml(
            """
name: t
steps:
  - name: Refuser
    probe.refuse: {reason: "SIRET invalide"}
    on_error:
      - log: "{{ error.step }}: {{ error.message }} ({{ error.kind }})"
"""
        )
        assert outcome.status == "succeeded"
        assert messages(recorder) == ["Refuser: SIRET invalide (business)"]


class TestConditions:
    def test_when_false_skips_the_step(self, run_yaml: WorkflowRunner, probe: type[Probe]) -> None:
        outcome, recorder = run_yaml(
            """
name: t
inputs: {mode: {type: string, default: test}}
steps:
  - probe.echo: {value: 1}
    when: inputs.mode == "prod"
  - probe.echo: {value: 2}
    when: "{{ inputs.mode == 'test' }}"
"""
        )
        assert outcome.status == "succeeded"
        assert probe.calls == [("echo", 2)]
        assert [e.status for e in recorder.of("step_finished")] == ["skipped", "succeeded"]

    def test_if_runs_one_branch(self, run_yaml: WorkflowRunner) -> None:
        outcome, recorder = run_yaml(
            """
name: t
vars: {montant: 1500}
steps:
  - if: vars.montant > 1000
    then:
      - log: gros
    else:
      - log: petit
  - if: vars.montant > 5000
    then:
      - log: énorme
    else:
      - log: normal
"""
        )
        assert outcome.status == "succeeded"
        assert messages(recorder) == ["gros", "normal"]


class TestLoops:
    def test_items_run_in_order_with_loop_variables(self, run_yaml: WorkflowRunner) -> None:
        outcome, recorder = run_yaml(
            """
name: t
steps:
  - for_each: [a, b, c]
    as: lettre
    key: lettre
    steps:
      - log: "{{ loop.number }}/{{ loop.total }} {{ lettre }}{{ ' fin' if loop.last else '' }}"
"""
        )
        assert outcome.status == "succeeded"
        assert messages(recorder) == ["1/3 a", "2/3 b", "3/3 c fin"]
        assert [e.key for e in recorder.of("item_finished")] == ["a", "b", "c"]
        assert outcome.counts["items_done"] == 3

    def test_what_an_item_saves_does_not_leak_into_the_next(self, run_yaml: WorkflowRunner) -> None:
        outcome, recorder = run_yaml(
            """
name: t
steps:
  - for_each: [1, 2]
    steps:
      - log: "{{ 'vu' if deja is defined else 'neuf' }}"
      - set: {deja: true}
"""
        )
        assert outcome.status == "succeeded"
        assert messages(recorder) == ["neuf", "neuf"]

    def test_a_failed_item_is_recorded_and_the_others_go_on(self, run_yaml: WorkflowRunner) -> None:
        outcome, recorder = run_yaml(
            """
name: t
steps:
  - for_each: [{ref: A1, ok: true}, {ref: A2, ok: false}, {ref: A3, ok: true}]
    as: dossier
    key: dossier.ref
    steps:
      - fail: "dossier {{ dossier.ref }} incomplet"
        when: not dossier.ok
"""
        )
        assert outcome.status == "completed_with_errors"
        assert outcome.exit_code == 3
        statuses = {e.key: e.status for e in recorder.of("item_finished")}
        assert statuses == {"A1": "done", "A2": "failed_business", "A3": "done"}
        assert "dossier A2 incomplet" in outcome.diagnostics[0].message

    def test_on_error_fail_stops_the_loop(self, run_yaml: WorkflowRunner) -> None:
        outcome, recorder = run_yaml(
            """
name: t
steps:
  - for_each: [1, 2, 3]
    on_error: fail
    steps:
      - fail: stop
        when: item == 2
"""
        )
        assert outcome.status == "failed"
        assert [e.status for e in recorder.of("item_finished")] == ["done", "failed_business"]

    def test_items_without_key_get_a_stable_content_key(self, run_yaml: WorkflowRunner) -> None:
        text = "name: t\nsteps:\n  - for_each: [{a: 1}, {a: 2}]\n    steps:\n      - log: x\n"
        _, first = run_yaml(text)
        _, second = run_yaml(text)
        keys = [e.key for e in first.of("item_finished")]
        assert keys == [e.key for e in second.of("item_finished")]
        assert len(set(keys)) == 2

    def test_for_each_over_something_else_than_a_list_fails_clearly(self, run_yaml: WorkflowRunner) -> None:
        outcome, _ = run_yaml(
            'name: t\nvars: {x: 3}\nsteps:\n  - for_each: "{{ vars.x }}"\n    steps:\n      - log: a\n'
        )
        assert outcome.status == "failed"
        assert "needs a list, got int" in outcome.diagnostics[0].message

    def test_parallel_lanes_run_every_item_once_with_their_own_robots(
        self, run_yaml: WorkflowRunner, probe: type[Probe]
    ) -> None:
        outcome, recorder = run_yaml(
            """
name: t
steps:
  - for_each: "{{ range(20) | list }}"
    parallel: 4
    key: item
    steps:
      - probe.echo: {value: "{{ item }}"}
"""
        )
        assert outcome.status == "succeeded"
        assert sorted(value for _, value in probe.calls) == list(range(20))
        assert sorted(int(e.key) for e in recorder.of("item_finished")) == list(range(20))
        lanes = {e.lane for e in recorder.of("item_finished")}
        assert lanes <= {1, 2, 3, 4}
        # A lane makes its robot when it takes its first item: one that the others beat to every item makes none.
        assert probe.created == len(lanes)
        assert probe.closed == probe.created


class TestTry:
    def test_recovery_steps_run_after_a_failure(self, run_yaml: WorkflowRunner) -> None:
        outcome, recorder = run_yaml(
            """
name: t
steps:
  - try:
      - log: avant
      - fail: cassé
      - log: jamais
    on_error:
      - log: "réparé après {{ error.message }}"
  - log: suite
"""
        )
        assert outcome.status == "succeeded"
        assert messages(recorder) == ["avant", "réparé après cassé", "suite"]

    def test_try_without_handler_fails_the_run(self, run_yaml: WorkflowRunner) -> None:
        outcome, _ = run_yaml("name: t\nsteps:\n  - try:\n      - fail: non\n")
        assert outcome.status == "failed"

    def test_try_continue(self, run_yaml: WorkflowRunner) -> None:
        outcome, recorder = run_yaml(
            "name: t\nsteps:\n  - try:\n      - fail: non\n    on_error: continue\n  - log: ok\n"
        )
        assert outcome.status == "succeeded"
        assert messages(recorder) == ["ok"]


class TestRetries:
    def test_application_errors_are_retried(self, run_yaml: WorkflowRunner, probe: type[Probe]) -> None:
        outcome, recorder = run_yaml(
            """
name: t
steps:
  - probe.flaky: {key: a, failures: 2}
    retry: {attempts: 3, delay: 0.01}
"""
        )
        assert outcome.status == "succeeded"
        assert [e.attempt for e in recorder.of("retry_scheduled")] == [1, 2]
        assert probe.calls.count(("flaky", "a")) == 3

    def test_retries_run_out(self, run_yaml: WorkflowRunner) -> None:
        outcome, recorder = run_yaml(
            "name: t\nsteps:\n  - probe.flaky: {key: b, failures: 5}\n    retry: {attempts: 2, delay: 0.01}\n"
        )
        assert outcome.status == "failed"
        assert len(recorder.of("retry_scheduled")) == 1
        assert outcome.diagnostics[0].code == "application-error"

    def test_business_errors_are_never_retried(self, run_yaml: WorkflowRunner, probe: type[Probe]) -> None:
        outcome, recorder = run_yaml(
            "name: t\nsteps:\n  - probe.refuse: {reason: non}\n    retry: {attempts: 5, delay: 0.01}\n"
        )
        assert outcome.status == "failed"
        assert recorder.of("retry_scheduled") == []
        assert probe.calls == [("refuse", "non")]

    def test_workflow_default_retry_applies(self, run_yaml: WorkflowRunner) -> None:
        outcome, recorder = run_yaml(
            "name: t\ndefaults: {retry: {attempts: 2, delay: 0.01}}\nsteps:\n  - probe.flaky: {key: c, failures: 1}\n"
        )
        assert outcome.status == "succeeded"
        assert len(recorder.of("retry_scheduled")) == 1

    def test_item_level_retry_reruns_the_item(self, run_yaml: WorkflowRunner, probe: type[Probe]) -> None:
        outcome, _ = run_yaml(
            """
name: t
steps:
  - for_each: [x]
    retry: {attempts: 2, delay: 0.01}
    steps:
      - probe.echo: {value: start}
      - probe.flaky: {key: item, failures: 1}
"""
        )
        assert outcome.status == "succeeded"
        assert probe.calls == [("echo", "start"), ("flaky", "item"), ("echo", "start"), ("flaky", "item")]


class TestTimeouts:
    @pytest.fixture(autouse=True)
    def abandoned_robots_closed(self, probe: type[Probe]) -> Iterator[None]:
        """A robot abandoned in the middle of its sleep closes when the sleep ends: not in a later test's counts."""
        yield
        wait_until(lambda: probe.closed == probe.created)

    def test_a_step_past_its_timeout_fails_as_a_timeout(self, run_yaml: WorkflowRunner) -> None:
        outcome, _ = run_yaml("name: t\nsteps:\n  - probe.sleep: {seconds: 1.5}\n    timeout: 0.2\n")
        assert outcome.status == "failed"
        assert outcome.diagnostics[0].code == "step-timeout"
        assert "within 0.2 s" in outcome.diagnostics[0].message

    def test_a_timeout_written_as_a_duration(self, run_yaml: WorkflowRunner) -> None:
        outcome, _ = run_yaml("name: t\nsteps:\n  - probe.sleep: {seconds: 1.5}\n    timeout: 300ms\n")
        assert outcome.status == "failed"
        assert "within 0.3 s" in outcome.diagnostics[0].message

    def test_the_robot_is_replaced_after_a_timeout(
        self, run_yaml: WorkflowRunner, probe: type[Probe]
    ) -> None:
        outcome, _ = run_yaml(
            """
name: t
steps:
  - probe.sleep: {seconds: 2}
    timeout: 0.1
    on_error: continue
  - probe.echo: {value: after}
"""
        )
        assert outcome.status == "succeeded"
        assert probe.created == 2


class TestStreamedItems:
    def test_a_loop_goes_through_a_streamed_collection_and_its_record_is_a_summary(
        self, run_yaml: WorkflowRunner, probe: type[Probe]
    ) -> None:
        outcome, recorder = run_yaml(
            "name: t\nsteps:\n  - probe.rows: {count: 40}\n    save: lignes\n"
            "  - for_each: '{{ lignes }}'\n    as: ligne\n    key: ligne.n\n"
            "    steps:\n      - probe.echo: {value: '{{ ligne.n }}'}\n"
        )
        assert outcome.status == "succeeded"
        assert [value for name, value in probe.calls if name == "echo"] == list(range(40))
        first = recorder.of("step_finished")[0]
        assert first.result == {"list_length": 40, "first": [{"n": 0}, {"n": 1}, {"n": 2}]}
        [loop] = recorder.of("loop_started")
        assert loop.total == 40

    def test_an_action_is_given_the_records_as_a_list(
        self, run_yaml: WorkflowRunner, probe: type[Probe]
    ) -> None:
        outcome, _ = run_yaml(
            "name: t\nsteps:\n  - probe.rows: {count: 3}\n    save: lignes\n"
            "  - probe.echo: {value: {toutes: '{{ lignes }}'}}\n"
        )
        assert outcome.status == "succeeded"
        assert probe.calls == [("echo", {"toutes": [{"n": 0}, {"n": 1}, {"n": 2}]})]
        assert isinstance(probe.calls[0][1]["toutes"], list)

    def test_the_summary_reads_only_the_first_elements(self) -> None:
        from runner.engine import summarize
        from tests.probe_robot import StreamedRows

        rows = StreamedRows(100_000)
        assert summarize(rows) == {"list_length": 100_000, "first": [{"n": 0}, {"n": 1}, {"n": 2}]}
        assert rows.made == 3


class TestDryRun:
    def test_actions_with_side_effects_are_not_called(
        self, run_yaml: WorkflowRunner, probe: type[Probe]
    ) -> None:
        outcome, recorder = run_yaml(
            "name: t\nsteps:\n  - probe.echo: {value: lu}\n  - probe.write: {value: écrit}\n", dry_run=True
        )
        assert outcome.status == "succeeded"
        assert probe.calls == [("echo", "lu")]
        assert [e.status for e in recorder.of("step_finished")] == ["succeeded", "skipped"]

    def test_a_skipped_action_saves_a_placeholder_of_its_type(
        self, run_yaml: WorkflowRunner, probe: type[Probe]
    ) -> None:
        outcome, recorder = run_yaml(
            "name: t\nsteps:\n  - probe.write: {value: écrit}\n    save: chemin\n"
            "  - log: '{{ chemin }} / {{ chemin | length }}'\n",
            dry_run=True,
        )
        assert outcome.status == "succeeded"
        assert messages(recorder) == ["(dry run) / 9"]

    def test_a_change_skipped_before_a_loop_is_followed_by_its_items(
        self, run_yaml: WorkflowRunner, probe: type[Probe], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # a desktop application not started (or a login not typed) before the loop: no item can look at it
        monkeypatch.setattr(probe, "reads_its_own_changes", True, raising=False)
        outcome, recorder = run_yaml(
            "name: t\nsteps:\n  - probe.write: {value: ouvrir}\n  - for_each: [1, 2]\n    steps:\n"
            "      - probe.echo: {value: lu}\n",
            dry_run=True,
        )
        assert outcome.status == "succeeded"
        assert probe.calls == []
        results = [e.result for e in recorder.of("step_finished")]
        assert [str(result).split(":")[0] for result in results[1:]] == ["not checked in a dry run"] * 2


class TestDryRunPlaceholders:
    @pytest.mark.parametrize(
        ("annotation", "placeholder"),
        [
            (list[dict[str, Any]], []),
            (str, "(dry run)"),
            (str | None, "(dry run)"),
            (Path, Path("(dry run)")),
            (dict[str, Any], {}),
            (int, 0),
            (bool, False),
            (type(None), None),
            (Literal["a", "b"], "a"),
        ],
    )
    def test_follows_the_return_annotation(self, annotation: Any, placeholder: Any) -> None:
        assert dry_run_placeholder(annotation) == placeholder
        assert isinstance(dry_run_placeholder(annotation), type(placeholder))

    def test_a_mapping_placeholder_reads_any_field_as_the_marker(self) -> None:
        record = dry_run_placeholder(dict[str, Any])
        assert render_value("{{ copie.updated }} lignes dans {{ copie.path }}", {"copie": record}) == (
            "(dry run) lignes dans (dry run)"
        )


class TestRobotsLifecycle:
    def test_one_robot_per_run_reused_and_closed(self, run_yaml: WorkflowRunner, probe: type[Probe]) -> None:
        outcome, _ = run_yaml(
            "name: t\nsteps:\n  - probe.echo: {value: 1}\n  - probe.echo: {value: 2}\n  - log: fin\n"
        )
        assert outcome.status == "succeeded"
        assert (probe.created, probe.closed) == (1, 1)

    def test_robots_are_closed_when_the_run_fails(self, run_yaml: WorkflowRunner, probe: type[Probe]) -> None:
        outcome, _ = run_yaml("name: t\nsteps:\n  - probe.echo: {value: 1}\n  - fail: non\n")
        assert outcome.status == "failed"
        assert probe.closed == 1

    def test_a_robot_keeps_its_own_thread(self, run_yaml: WorkflowRunner) -> None:
        _, recorder = run_yaml(
            "name: t\nsteps:\n  - probe.thread: {}\n    save: a\n  - probe.thread: {}\n    save: b\n  - log: '{{ a == b }}'\n"
        )
        assert messages(recorder) == ["True"]

    def test_robots_are_not_created_when_unused(self, run_yaml: WorkflowRunner, probe: type[Probe]) -> None:
        run_yaml("name: t\nsteps:\n  - log: rien\n")
        assert probe.created == 0


class TestDataIsNotTemplate:
    def test_a_value_holding_braces_is_not_rendered_again(
        self, run_yaml: WorkflowRunner, tmp_path: Path
    ) -> None:
        data = tmp_path / "rows.csv"
        data.write_text("nom;note\n{{ 7 * 7 }};{{ secrets }}\n", encoding="utf-8")
        outcome, recorder = run_yaml(
            f"""
name: t
steps:
  - data.read_csv: {{path: "{data}"}}
    save: rows
  - for_each: "{{{{ rows }}}}"
    as: row
    steps:
      - log: "nom={{{{ row.nom }}}} note={{{{ row.note }}}}"
"""
        )
        assert outcome.status == "succeeded", outcome.diagnostics
        assert messages(recorder) == ["nom={{ 7 * 7 }} note={{ secrets }}"]


class TestSecrets:
    def test_secret_values_never_reach_the_records(self, run_yaml: WorkflowRunner, tmp_path: Path) -> None:
        secret = "S3cr3t-Valeur!"
        outcome, _ = run_yaml(
            """
name: t
secrets: [mot_de_passe]
steps:
  - probe.login: {user: agent, password: "{{ secrets.mot_de_passe }}"}
  - log: "le mot de passe est {{ secrets.mot_de_passe }}"
  - fail: "échec avec {{ secrets.mot_de_passe | urlencode }}"
""",
            environ={"ROBO_SECRET_MOT_DE_PASSE": secret},
        )
        assert outcome.status == "failed"
        assert outcome.run_dir is not None
        audit = (outcome.run_dir / "audit.jsonl").read_text(encoding="utf-8")
        assert "le mot de passe est ***" in audit
        for form in (secret, "S3cr3t-Valeur%21"):
            assert form not in audit
            assert all(form not in d.message for d in outcome.diagnostics)
        db = (tmp_path / "logs" / "robo.db").read_bytes()
        assert secret.encode() not in db

    def test_a_missing_secret_stops_before_the_run(self, run_yaml: WorkflowRunner) -> None:
        outcome, recorder = run_yaml("name: t\nsecrets: [jeton]\nsteps:\n  - log: a\n")
        assert outcome.status == "invalid"
        assert "missing secret: jeton" in outcome.diagnostics[0].message
        assert "ROBO_SECRET_JETON" in (outcome.diagnostics[0].hint or "")
        assert recorder.events == []


class TestRunRecords:
    def test_audit_log_holds_every_event_with_positions(self, run_yaml: WorkflowRunner) -> None:
        outcome, recorder = run_yaml(
            "name: t\nsteps:\n  - name: Dire bonjour\n    probe.echo: {value: bonjour}\n"
        )
        assert outcome.run_dir is not None
        lines = [json.loads(line) for line in (outcome.run_dir / "audit.jsonl").read_text().splitlines()]
        assert [line["event"] for line in lines] == [e.kind for e in recorder.events]
        started = next(line for line in lines if line["event"] == "step_started")
        assert (started["name"], started["line"], started["params"]) == (
            "Dire bonjour",
            4,
            {"value": "bonjour"},
        )
        finished = next(line for line in lines if line["event"] == "step_finished")
        assert finished["result"] == "bonjour" and finished["duration"] >= 0
        assert (outcome.run_dir / "artifacts").is_dir()


class TestLoopResults:
    def test_collect_and_save_give_one_outcome_per_item(self, run_yaml: WorkflowRunner) -> None:
        outcome, recorder = run_yaml(
            """
name: t
steps:
  - for_each: [{ref: A, n: 1}, {ref: B, n: 0}, {ref: C, n: 3}]
    as: d
    key: d.ref
    save: resultats
    collect: {reference: "{{ d.ref }}", double: "{{ double }}"}
    steps:
      - fail: "zéro refusé"
        when: d.n == 0
      - set: {double: "{{ d.n * 2 }}"}
  - log: "{{ resultats | map(attribute='double') | list }} {{ resultats | map(attribute='status') | list }}"
"""
        )
        assert outcome.status == "completed_with_errors"
        assert messages(recorder) == [
            "[2, None, 6] ['done', 'failed_business', 'done']",
        ]

    def test_setup_runs_once_per_lane(self, run_yaml: WorkflowRunner, probe: type[Probe]) -> None:
        outcome, recorder = run_yaml(
            """
name: t
vars: {lanes: 3}
steps:
  - for_each: "{{ range(9) | list }}"
    parallel: "{{ vars.lanes }}"
    setup:
      - probe.write: {value: connexion}
        save: session
    steps:
      - probe.echo: {value: "{{ session }}-{{ item }}"}
"""
        )
        assert outcome.status == "succeeded"
        assert [c for c in probe.calls if c[0] == "write"] == [("write", "connexion")] * 3
        assert sorted(v for k, v in probe.calls if k == "echo") == sorted(f"connexion-{n}" for n in range(9))
        assert recorder.of("loop_started")[0].parallel == 3

    def test_setup_runs_once_without_lanes(self, run_yaml: WorkflowRunner, probe: type[Probe]) -> None:
        outcome, _ = run_yaml(
            "name: t\nsteps:\n  - for_each: [1, 2]\n    setup:\n      - probe.write: {value: s}\n    steps:\n      - probe.echo: {value: x}\n"
        )
        assert outcome.status == "succeeded"
        assert probe.calls == [("write", "s"), ("echo", "x"), ("echo", "x")]


class TestRefusedPreparation:
    def test_a_refused_recovery_stops_the_run_instead_of_failing_every_item(
        self, run_yaml: WorkflowRunner, probe: type[Probe]
    ) -> None:
        outcome, recorder = run_yaml(
            """
name: t
steps:
  - for_each: [a, b, c]
    key: item
    retry: {attempts: 2, delay: 0.01}
    recover:
      - probe.refuse: {reason: mot de passe refusé}
    steps:
      - probe.flaky: {key: "{{ item }}", failures: 1}
"""
        )
        assert outcome.status == "failed"
        assert [e.key for e in recorder.of("item_finished")] == ["a"]
        assert [key for name, key in probe.calls if name == "refuse"] == ["mot de passe refusé"]
        [diagnostic] = outcome.diagnostics
        assert "recovering was refused, the run stops: mot de passe refusé" in diagnostic.message

    def test_a_refused_login_in_an_item_stops_the_run(self, run_yaml: WorkflowRunner) -> None:
        outcome, recorder = run_yaml(
            """
name: t
steps:
  - for_each: [a, b, c]
    key: item
    steps:
      - probe.refuse_login: {reason: Identifiant ou mot de passe incorrect}
"""
        )
        assert outcome.status == "failed"
        assert [(e.key, e.status) for e in recorder.of("item_finished")] == [("a", "failed_business")]

    def test_a_login_refused_in_the_setup_of_parallel_lanes_is_tried_once(
        self, run_yaml: WorkflowRunner, probe: type[Probe]
    ) -> None:
        outcome, recorder = run_yaml(
            """
name: t
steps:
  - for_each: [a, b, c, d]
    key: item
    parallel: 3
    setup:
      - probe.refuse_login: {reason: Identifiant ou mot de passe incorrect}
    steps:
      - probe.echo: {value: "{{ item }}"}
"""
        )
        assert outcome.status == "failed"
        assert [name for name, _ in probe.calls] == ["refuse_login"]
        assert not recorder.of("item_finished")
