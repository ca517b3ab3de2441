"""Every step kind is declared once, in `runner.language.steps`, and every part of Rob'O knows all of them.

A kind forgotten in one place (the parser, `robo schema`, the validator, the engine, the language reference)
makes one of these fail.
"""

from __future__ import annotations

import functools
import re
import typing
from pathlib import Path

import pytest

from runner.language import load_workflow_text, validate_document
from runner.language import workflow_schema as _workflow_schema
from runner.language.parser import ACTION_KEYS, KIND_KEYS
from runner.language.steps import COMMON_KEYS, STEP_KINDS, ActionStep, Step, StepBase
from tests.running import WorkflowRunner, problems

KINDS = list(STEP_KINDS.values())
DOCS = Path(__file__).resolve().parents[2] / "docs" / "workflow-language.md"


@functools.cache
def workflow_schema() -> dict[str, typing.Any]:
    return _workflow_schema()


def _kind_id(kind: type[StepBase]) -> str:
    return kind.kind


def _structured_schemas() -> list[dict[str, typing.Any]]:
    return [s for s in workflow_schema()["$defs"]["Step"]["anyOf"] if s["required"][0] in STEP_KINDS]


def _workflow(example: str) -> str:
    return "name: t\nsteps:\n  - " + example + "\n"


class TestEveryStepKindIsDeclaredEverywhere:
    def test_the_step_union_is_the_registry_plus_actions(self) -> None:
        assert set(typing.get_args(Step)) == {ActionStep, *KINDS}

    def test_each_kind_is_registered_under_its_own_key(self) -> None:
        assert all(key == kind.kind for key, kind in STEP_KINDS.items())

    def test_the_parser_knows_every_kind(self) -> None:
        assert set(KIND_KEYS) == set(STEP_KINDS)

    def test_the_schema_has_one_step_schema_per_kind(self) -> None:
        assert sorted(s["required"][0] for s in _structured_schemas()) == sorted(STEP_KINDS)

    @pytest.mark.parametrize("kind", KINDS, ids=_kind_id)
    def test_its_schema_lists_exactly_its_keys(self, kind: type[StepBase]) -> None:
        schema = next(s for s in _structured_schemas() if s["required"][0] == kind.kind)
        assert set(schema["properties"]) == kind.yaml_keys()
        assert kind.kind in kind.yaml_keys() and set(COMMON_KEYS) <= kind.yaml_keys()

    @pytest.mark.parametrize("kind", KINDS, ids=_kind_id)
    def test_its_schema_requires_its_required_keys(self, kind: type[StepBase]) -> None:
        schema = next(s for s in _structured_schemas() if s["required"][0] == kind.kind)
        required = {f.alias or name for name, f in kind.model_fields.items() if f.is_required()}
        assert set(schema["required"]) == required - {"span", "path"}

    def test_the_action_step_schema_lists_the_action_step_keys(self) -> None:
        action = next(s for s in workflow_schema()["$defs"]["Step"]["anyOf"] if s["required"] == ["data.set"])
        assert set(action["properties"]) == {"data.set", *COMMON_KEYS, *ACTION_KEYS}
        assert set(ACTION_KEYS) == ActionStep.yaml_keys() - {"robot", "action", "params", *COMMON_KEYS}

    @pytest.mark.parametrize("kind", KINDS, ids=_kind_id)
    def test_its_example_is_of_its_kind_and_validates(self, kind: type[StepBase]) -> None:
        assert kind.example.startswith(f"{kind.kind}:")
        assert problems(_workflow(kind.example)) == []

    @pytest.mark.parametrize("kind", KINDS, ids=_kind_id)
    def test_its_example_runs(self, kind: type[StepBase], run_yaml: WorkflowRunner) -> None:
        outcome, events = run_yaml(_workflow(kind.example))
        errors = [e.error for e in events.of("step_finished") if e.error]
        if kind.kind == "fail":  # its example stops the run as a business failure, with its own message
            assert outcome.status == "failed"
            assert [(e["kind"], e["message"]) for e in errors] == [("business", "Dossier incomplet")]
        else:
            assert outcome.status == "succeeded", errors
            assert outcome.diagnostics == []

    @pytest.mark.parametrize("kind", KINDS, ids=_kind_id)
    def test_every_required_field_has_a_placeholder(self, kind: type[StepBase]) -> None:
        required = {name for name, f in kind.model_fields.items() if f.is_required()} - {"span", "path"}
        assert set(kind.placeholders) == required
        assert set(kind.missing_hints) <= kind.yaml_keys()

    @pytest.mark.parametrize("kind", [ActionStep, *KINDS], ids=_kind_id)
    def test_the_engine_and_validator_implement_it(self, kind: type[StepBase]) -> None:
        assert "run" in vars(kind) and "check" in vars(kind)  # not StepBase's, which refuse

    @pytest.mark.parametrize("kind", KINDS, ids=_kind_id)
    def test_the_language_reference_documents_it(self, kind: type[StepBase]) -> None:
        assert re.search(rf"^###.*`{re.escape(kind.kind)}`", DOCS.read_text(encoding="utf-8"), re.M)

    @pytest.mark.parametrize("kind", KINDS, ids=_kind_id)
    def test_a_missing_required_key_is_named_with_its_hint(self, kind: type[StepBase]) -> None:
        alone = kind.example.split("\n", 1)[0]  # the kind's own key and value only
        result = validate_document(load_workflow_text(_workflow(alone), "w.yaml"))
        missing = {(d.message, d.hint) for d in result.diagnostics if d.code == "missing-key"}
        required = {f.alias or name for name, f in kind.model_fields.items() if f.is_required()}
        expected = {
            (
                f"{'an' if kind.kind[0] in 'aeio' else 'a'} '{kind.kind}' step needs the key '{key}'",
                kind.missing_hints.get(key),
            )
            for key in required - {"span", "path", kind.kind}
        }
        assert missing == expected
        assert all(hint for _, hint in expected), "each required key needs a hint"
