"""Every step kind is declared once, in `runner.language.steps`, and every part of Rob'O knows all of them.

A kind forgotten in one place (the parser, `robo schema`, the validator, the engine, the language reference)
makes one of these fail.
"""

from __future__ import annotations

import functools
import importlib
import re
import sys
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from runner.engine import Engine
from runner.language import load_workflow_text, register_step_kind, validate_document
from runner.language import workflow_schema as _workflow_schema
from runner.language.parser import ACTION_KEYS
from runner.language.steps import COMMON_KEYS, STEP_KINDS, ActionStep, Step, StepBase, StepRunner
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

    def test_the_parser_names_every_kind_when_a_step_has_none(self) -> None:
        [found] = problems(_workflow("lgo: Bonjour"))
        assert found.endswith("one of " + ", ".join(STEP_KINDS)), found

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


NOTE_KIND = '''
"""A step kind of its own, in a module of its own: `note` writes a message."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field

from runner.language import register_step_kind
from runner.language.steps import Scope, StepBase, StepChecker, StepRunner


@register_step_kind
class NoteStep(StepBase):
    kind: ClassVar[str] = "note"
    placeholders: ClassVar[dict[str, Any]] = {"message": ""}
    example: ClassVar[str] = "note: Bonjour"
    message: str = Field(alias="note", description="What to note.")

    def check(self, checker: StepChecker, scope: set[str], broken: frozenset[str]) -> set[str]:
        checker.check_templates(self.message, (*self.path, self.kind), scope)
        return scope

    def run(self, runner: StepRunner, scope: Scope, lane: Any, item: str | None) -> None:
        with runner.recorded(self, lane, item):
            runner.report(self, "info", "noted: " + str(runner.render(self, self.message, scope, item, "note")), item)
'''


@pytest.fixture
def note_kind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[type[StepBase]]:
    """The `note` kind, registered by importing its module (written here: no module of Rob'O is edited)."""
    (tmp_path / "note_kind_module.py").write_text(NOTE_KIND, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        module = importlib.import_module("note_kind_module")
        yield module.NoteStep
    finally:
        STEP_KINDS.pop("note", None)
        sys.modules.pop("note_kind_module", None)


class TestANewKindIsOneModule:
    """Adding a kind is writing its module: the parser, the validator, the schema and the engine take it from
    the registry."""

    def test_it_is_registered_under_its_key(self, note_kind: type[StepBase]) -> None:
        assert STEP_KINDS["note"] is note_kind

    def test_it_parses_and_validates(self, note_kind: type[StepBase]) -> None:
        assert problems(_workflow("note: Bonjour")) == []
        assert problems(_workflow("note: Bonjour\n    colour: red")) == [
            "4:5 unknown-key: a 'note' step has no key 'colour'"
        ]

    def test_a_misspelt_key_is_told_the_new_kind(self, note_kind: type[StepBase]) -> None:
        result = validate_document(load_workflow_text(_workflow("noet: Bonjour"), "w.yaml"))
        [found] = result.diagnostics
        assert found.message.endswith(", fail, note") and found.hint == "did you mean 'note'?", found

    def test_its_own_check_runs(self, note_kind: type[StepBase]) -> None:
        found = problems(_workflow("note: '{{ nobody }}'"))
        assert len(found) == 1 and "nobody" in found[0], found

    def test_it_is_in_the_schema(self, note_kind: type[StepBase]) -> None:
        steps = _workflow_schema()["$defs"]["Step"]["anyOf"]
        note = [s for s in steps if s["required"][0] == "note"]
        assert note == [
            {
                "type": "object",
                "required": ["note"],
                "properties": {
                    "name": note[0]["properties"]["name"],
                    "id": note[0]["properties"]["id"],
                    "when": note[0]["properties"]["when"],
                    "note": {"type": "string", "description": "What to note."},
                },
                "additionalProperties": False,
            }
        ]

    def test_it_runs_and_is_recorded_like_any_step(
        self, note_kind: type[StepBase], run_yaml: WorkflowRunner
    ) -> None:
        text = (
            "name: t\nvars: {who: Ada}\nsteps:\n  - note: 'Bonjour {{ vars.who }}'\n  - note: '{{ 1 / 0 }}'\n"
        )
        outcome, events = run_yaml(text)
        assert [e.message for e in events.of("log") if e.step is not None] == ["noted: Bonjour Ada"]
        assert [(e.step, e.status) for e in events.of("step_finished")] == [
            ("steps[0]", "succeeded"),
            ("steps[1]", "failed"),
        ]
        assert outcome.status == "failed"

    @pytest.mark.parametrize("key", ["log", "crm.note", ""])
    def test_a_key_taken_or_not_a_kind_key_is_refused(self, key: str) -> None:
        class Again(StepBase):
            kind: ClassVar[str] = key

        with pytest.raises(ValueError, match="a step kind needs a key of its own"):
            register_step_kind(Again)
        assert STEP_KINDS["log"] is not Again

    def test_it_is_gone_once_unregistered(self) -> None:
        assert "note" not in STEP_KINDS  # the fixture's registration does not leak into the other tests


class TestTheEngineKnowsNoKind:
    """The engine offers every kind the same API; it has a method of its own only for actions and loops."""

    @pytest.mark.parametrize("api", [Engine, StepRunner], ids=["Engine", "StepRunner"])
    def test_no_method_is_named_after_a_kind(self, api: type[object]) -> None:
        words = {word for kind in STEP_KINDS for word in kind.split("_")}
        named = [name for name in vars(api) if words & set(name.split("_"))]
        assert named == []  # `execute_action` and `execute_loop` name the engine's core, not a kind's key
