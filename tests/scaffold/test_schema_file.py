"""The published JSON Schema (`schema/robo.schema.json`): up to date, named by every example workflow's first line,
accepting every example, and carrying what an editor shows: every action's name (completion) and the documentation
of each action and parameter (hover)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from ruamel.yaml import YAML

from robots import robot_class, robot_names
from runner.language import SCHEMA_COMMENT, SCHEMA_FILE, schema_text
from runner.scaffold import TEMPLATES
from tests.running import ROOT

PUBLISHED = ROOT / "schema" / SCHEMA_FILE
SHIPPED = sorted((ROOT / "workflows").glob("*.yaml"))
TEMPLATE_WORKFLOWS = {name: Path(str(t.folder() / t.workflow)) for name, t in TEMPLATES.items()}
EXAMPLES = [*SHIPPED, *TEMPLATE_WORKFLOWS.values()]


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    published: dict[str, Any] = json.loads(PUBLISHED.read_text(encoding="utf-8"))
    return published


def _named_schema(workflow: Path) -> str:
    first = workflow.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith(SCHEMA_COMMENT), f"{workflow}: its first line does not name the schema"
    return first.removeprefix(SCHEMA_COMMENT)


def _action_properties(schema: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each action's parameters schema, by the action's name as a step writes it."""
    return {
        key: value
        for alternative in schema["$defs"]["Step"]["anyOf"]
        for key, value in alternative.get("properties", {}).items()
        if "." in key
    }


def test_the_published_schema_is_the_current_one() -> None:
    assert PUBLISHED.read_text(encoding="utf-8") == schema_text(), (
        "schema/robo.schema.json is stale: run `make schema` and commit it"
    )


@pytest.mark.parametrize("workflow", SHIPPED, ids=[path.name for path in SHIPPED])
def test_each_shipped_workflow_names_the_published_schema_by_a_relative_path(workflow: Path) -> None:
    named = _named_schema(workflow)
    assert not named.startswith(("/", "http")), "a path relative to the workflow, for a clone anywhere"
    assert (workflow.parent / named).resolve() == PUBLISHED.resolve()


@pytest.mark.parametrize("name", sorted(TEMPLATE_WORKFLOWS))
def test_each_template_names_the_schema_written_beside_it(name: str) -> None:
    assert _named_schema(TEMPLATE_WORKFLOWS[name]) == SCHEMA_FILE


@pytest.mark.parametrize("workflow", EXAMPLES, ids=[path.name for path in EXAMPLES])
def test_each_example_is_valid_against_the_published_schema(schema: dict[str, Any], workflow: Path) -> None:
    validator = jsonschema.Draft202012Validator(schema)
    data = YAML(typ="safe", pure=True).load(workflow.read_text(encoding="utf-8"))
    assert [error.message[:200] for error in validator.iter_errors(data)] == []


def test_a_misspelt_action_in_an_example_is_refused(schema: dict[str, Any]) -> None:
    validator = jsonschema.Draft202012Validator(schema)
    text = (
        TEMPLATE_WORKFLOWS["saisie"]
        .read_text(encoding="utf-8")
        .replace("browser.fill_form:", "browser.fil_form:")
    )
    assert list(validator.iter_errors(YAML(typ="safe", pure=True).load(text)))


def test_every_action_is_offered_for_completion_with_its_documentation(schema: dict[str, Any]) -> None:
    actions = _action_properties(schema)
    expected = {
        f"{robot}.{name}": spec
        for robot in robot_names()
        for name, spec in robot_class(robot).action_specs().items()
    }
    assert set(actions) == set(expected)
    for qualified, spec in expected.items():
        description = actions[qualified]["description"]
        assert description.startswith(spec.summary), qualified
        parameters = actions[qualified]["properties"]
        assert set(parameters) >= set(spec.parameters), qualified
        for parameter in spec.parameters.values():
            shown = parameters[parameter.name].get("description", "")
            assert shown, f"{qualified}: parameter {parameter.name} has no description"
            assert shown == parameter.description, f"{qualified}.{parameter.name}"
